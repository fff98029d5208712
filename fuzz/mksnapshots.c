/*
 * Writes the seed corpus of the "snapshot" fuzz target:
 *
 *   build/fuzz/mksnapshots fuzz/corpus/snapshot
 *
 * LMDB always writes pages of the OS page size (4 KiB), so the smallest
 * real snapshot is 20 KiB and mostly zeros: a poor seed.  LMDB reads any
 * page size its meta page names, so the seeds here are laid out by hand
 * with 512-byte pages, the same structures beian_snap_write() produces
 * (two meta pages, a main tree naming "domains" and "meta", a record per
 * domain), including a branch level and a three-level tree.  Each file is
 * checked by reading it back through beian_snap_open() before it is kept.
 *
 * The indexed seeds also carry the hash index ("index" database, one value
 * under BEIAN_INDEX_KEY).  Its bytes are the writer's own: the same entries
 * go through beian_snap_write() into a scratch file, and the value is
 * copied out of it with LMDB, then laid into the 512-byte pages inline in
 * its leaf node if it fits there, else on overflow pages as LMDB does.
 */

#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beian_write.h"
#include "index.h"


/* LMDB 0.9 on-disk format (liblmdb's mdb.c), 64-bit little-endian. */
#define PAGEHDRSZ   16
#define NODESIZE    8
#define P_BRANCH    0x01
#define P_LEAF      0x02
#define P_OVERFLOW  0x04
#define P_META      0x08
#define F_BIGDATA   0x01
#define F_SUBDATA   0x02
#define P_INVALID   (~(uint64_t) 0)
#define MDB_MAGIC   0xBEEFC0DEu
#define DB_SIZE     48                  /* sizeof(MDB_db) */
#define MAXPAGES    64

typedef struct {
    uint32_t  pad;                      /* the page size, in FREE_DBI */
    uint16_t  flags;
    uint16_t  depth;
    uint64_t  branch_pages, leaf_pages, overflow_pages, entries, root;
} db_t;

typedef struct {
    const void  *key;
    size_t       klen;
    const void  *data;                  /* F_BIGDATA: the overflow page
                                           number, 8 bytes */
    size_t       dlen;
    unsigned     flags;
} item_t;

static unsigned char  file[MAXPAGES * 512];
static size_t         psize = 512, npages;


static void
put16(unsigned char *p, unsigned v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
}


static void
put_n(unsigned char *p, uint64_t v, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        p[i] = (v >> (8 * i)) & 0xff;
    }
}


static unsigned char *
page(uint64_t pgno)
{
    return file + pgno * psize;
}


static uint64_t
page_new(unsigned flags)
{
    unsigned char  *p;

    if (npages == MAXPAGES) {
        fprintf(stderr, "mksnapshots: too many pages\n");
        exit(1);
    }

    p = page(npages);
    memset(p, 0, psize);
    put_n(p, npages, 8);                /* mp_pgno */
    put16(p + 10, flags);               /* mp_flags */
    put16(p + 12, PAGEHDRSZ);           /* mp_lower */
    put16(p + 14, (unsigned) psize);    /* mp_upper */
    return npages++;
}


static unsigned
get16(const unsigned char *p)
{
    return p[0] | (unsigned) p[1] << 8;
}


/* Appends a node (LMDB's layout: lo, hi, flags, ksize, key, data); for a
 * branch node lo/hi/flags hold the child's page number instead, and a
 * F_BIGDATA node holds the value's size and its first overflow page. */
static int
node_add(uint64_t pgno, const item_t *it, uint64_t child)
{
    unsigned char  *p = page(pgno), *n;
    unsigned        lower = get16(p + 12), upper = get16(p + 14);
    size_t          size, dsize;
    int             branch = get16(p + 10) & P_BRANCH;

    dsize = branch ? 0 : (it->flags & F_BIGDATA) ? 8 : it->dlen;
    size = NODESIZE + it->klen + dsize;
    size = (size + 1) & ~(size_t) 1;
    if (lower + 2 + size > upper) {
        return -1;
    }

    upper -= (unsigned) size;
    n = p + upper;
    if (branch) {
        put_n(n, child, 4);             /* mn_lo, mn_hi */
        put16(n + 4, (unsigned) (child >> 32));
    } else {
        put_n(n, it->dlen, 4);
        put16(n + 4, it->flags);
    }
    put16(n + 6, (unsigned) it->klen);
    memcpy(n + NODESIZE, it->key, it->klen);
    if (!branch) {
        memcpy(n + NODESIZE + it->klen, it->data, dsize);
    }

    put16(p + lower, upper);
    put16(p + 12, lower + 2);
    put16(p + 14, upper);
    return 0;
}


/* A B-tree over sorted items, bottom up; fills *db. */
static void
tree(const item_t *items, size_t n, db_t *db)
{
    size_t    i, nlevel, nnext;
    uint64_t  level[MAXPAGES], next[MAXPAGES];
    item_t    sep, first[MAXPAGES], nfirst[MAXPAGES];

    memset(db, 0, sizeof(*db));
    db->entries = n;
    db->root = P_INVALID;
    if (n == 0) {
        return;
    }

    nlevel = 0;
    for (i = 0; i < n; i++) {
        if (nlevel == 0 || node_add(level[nlevel - 1], &items[i], 0) != 0) {
            first[nlevel] = items[i];
            level[nlevel++] = page_new(P_LEAF);
            if (node_add(level[nlevel - 1], &items[i], 0) != 0) {
                fprintf(stderr, "mksnapshots: item too big\n");
                exit(1);
            }
        }
    }
    db->leaf_pages = nlevel;
    db->depth = 1;

    /* branch levels: a node per child, keyed by its first key (the
     * leftmost key is empty, as LMDB writes it).  LMDB asserts that a
     * branch page has two keys or more, so children are spread evenly
     * over as many pages as a greedy fill would need. */
    while (nlevel > 1) {
        size_t  k = 1, used = 0, size, j, end;

        for (i = 0; i < nlevel; i++) {
            size = ((NODESIZE + (used ? first[i].klen : 0) + 1) & ~1) + 2;
            if (used + size > psize - PAGEHDRSZ) {
                k++;
                used = 0;
                size = NODESIZE + 2;
            }
            used += size;
        }

        nnext = 0;
        for (j = 0, i = 0; j < k; j++) {
            end = nlevel * (j + 1) / k;
            nfirst[nnext] = first[i];
            next[nnext++] = page_new(P_BRANCH);
            for (used = 0; i < end; i++, used++) {
                sep = first[i];
                sep.klen = used ? sep.klen : 0;
                if (node_add(next[nnext - 1], &sep, level[i]) != 0) {
                    fprintf(stderr, "mksnapshots: branch overflow\n");
                    exit(1);
                }
            }
        }
        memcpy(level, next, nnext * sizeof(level[0]));
        memcpy(first, nfirst, nnext * sizeof(first[0]));
        nlevel = nnext;
        db->branch_pages += nnext;
        db->depth++;
    }

    db->root = level[0];
}


static void
put_db(unsigned char *p, const db_t *db)
{
    put_n(p, db->pad, 4);
    put16(p + 4, db->flags);
    put16(p + 6, db->depth);
    put_n(p + 8, db->branch_pages, 8);
    put_n(p + 16, db->leaf_pages, 8);
    put_n(p + 24, db->overflow_pages, 8);
    put_n(p + 32, db->entries, 8);
    put_n(p + 40, db->root, 8);
}


static void
meta_page(uint64_t pgno, const db_t *main_db, uint64_t last, uint64_t txnid)
{
    unsigned char  *m = page(pgno) + PAGEHDRSZ;
    db_t            free_db;

    memset(&free_db, 0, sizeof(free_db));
    free_db.pad = (uint32_t) psize;
    free_db.flags = 0x4008;             /* what liblmdb records here */
    free_db.root = P_INVALID;

    put_n(m, MDB_MAGIC, 4);
    put_n(m + 4, 1, 4);                 /* MDB_DATA_VERSION */
    put_n(m + 16, 1 << 20, 8);          /* mm_mapsize */
    put_db(m + 24, &free_db);
    put_db(m + 24 + DB_SIZE, main_db);
    put_n(m + 24 + 2 * DB_SIZE, last, 8);
    put_n(m + 32 + 2 * DB_SIZE, txnid, 8);
}


static int
item_cmp(const void *a, const void *b)
{
    const item_t  *x = a, *y = b;

    return beian_domain_cmp(x->key, x->klen, y->key, y->klen);
}


/*
 * The hash index beian_snap_write() writes for these sorted entries: a
 * snapshot of them in a scratch directory, its "index" value copied out.
 * Returns a malloc'd copy and its size in *len, or NULL.
 */
static unsigned char *
index_value(const beian_meta_t *bm, const beian_entry_t *e, size_t n,
    size_t *len)
{
    int             rc;
    MDB_env        *env = NULL;
    MDB_txn        *txn = NULL;
    MDB_dbi         dbi;
    MDB_val         k, v;
    const char     *tmp;
    unsigned char  *out = NULL;
    char            dir[4096], path[4096 + 16], err[BEIAN_ERR_MAX];

    tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/mksnapshots.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror(dir);
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/index.mdb", dir);

    if (beian_snap_write(path, bm, e, n, err, sizeof(err)) != 0) {
        fprintf(stderr, "mksnapshots: %s\n", err);
        goto done;
    }

    k.mv_data = (void *) BEIAN_INDEX_KEY;
    k.mv_size = sizeof(BEIAN_INDEX_KEY) - 1;

    if ((rc = mdb_env_create(&env)) != 0
        || (rc = mdb_env_set_maxdbs(env, 3)) != 0
        || (rc = mdb_env_open(env, path, MDB_RDONLY | MDB_NOLOCK
                                         | MDB_NOSUBDIR, 0)) != 0
        || (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0
        || (rc = mdb_dbi_open(txn, "index", 0, &dbi)) != 0
        || (rc = mdb_get(txn, dbi, &k, &v)) != 0)
    {
        fprintf(stderr, "mksnapshots: %s: the writer's index: %s\n", path,
                mdb_strerror(rc));
        goto done;
    }

    out = malloc(v.mv_size);
    if (out == NULL) {
        perror("malloc");
        goto done;
    }
    memcpy(out, v.mv_data, v.mv_size);
    *len = v.mv_size;

done:

    if (txn != NULL) {
        mdb_txn_abort(txn);
    }
    if (env != NULL) {
        mdb_env_close(env);
    }
    unlink(path);
    rmdir(dir);
    return out;
}


/*
 * The "index" database holding value under BEIAN_INDEX_KEY: inline in its
 * leaf node if that fits the page, else on overflow pages (LMDB's layout:
 * a page header whose last 4 bytes count the pages, then the value).
 */
static void
index_db(const unsigned char *value, size_t len, db_t *db)
{
    size_t         novf;
    uint64_t       first;
    item_t         it;
    unsigned char  pgno[8];

    it = (item_t) { BEIAN_INDEX_KEY, sizeof(BEIAN_INDEX_KEY) - 1, value, len,
                    0 };
    novf = 0;

    if (((NODESIZE + it.klen + len + 1) & ~(size_t) 1) + 2
        > psize - PAGEHDRSZ)
    {
        novf = (PAGEHDRSZ + len + psize - 1) / psize;
        if (npages + novf > MAXPAGES) {
            fprintf(stderr, "mksnapshots: too many pages\n");
            exit(1);
        }

        first = page_new(P_OVERFLOW);
        memset(page(first + 1), 0, (novf - 1) * psize);
        npages += novf - 1;
        put_n(page(first) + 12, novf, 4);         /* mp_pages */
        memcpy(page(first) + PAGEHDRSZ, value, len);

        put_n(pgno, first, 8);
        it.data = pgno;
        it.flags = F_BIGDATA;
    }

    tree(&it, 1, db);
    db->overflow_pages = novf;
}


/* Writes a snapshot of the given domains to dir/name, with the hash
 * index if indexed; 0 or -1. */
static int
snapshot(const char *dir, const char *name, const char *const *domains,
    size_t n, int indexed)
{
    int             fd, ok;
    size_t          i, vlen, nsub, ixlen = 0;
    db_t            ddb, mdb, idb, main_db, empty;
    item_t          dom[64], meta[6], sub[3];
    beian_entry_t   e[64];
    beian_meta_t    bm;
    beian_snap_t   *s;
    beian_rec_t     rec;
    char            path[4096], err[BEIAN_ERR_MAX], count[32], icp[64][48];
    char            web[64][16];
    unsigned char   val[64][96], dbv[3][DB_SIZE], *ix = NULL;

    static const char *const  absent[] = {
        "absent.example.com", "unfiled.net", "filed.cn.example", "com",
    };

    npages = 0;
    page_new(P_META);
    page_new(P_META);

    for (i = 0; i < n; i++) {
        snprintf(icp[i], sizeof(icp[i]),
                 "\xe4\xba\xac" "ICP\xe5\xa4\x87%08zu\xe5\x8f\xb7-%zu",
                 20240000 + i, i % 3 + 1);
        snprintf(web[i], sizeof(web[i]), "web-%03zu", i % 5);
        e[i].domain = (char *) domains[i];
        e[i].domain_len = strlen(domains[i]);
        e[i].icp = icp[i];
        e[i].website_id = web[i];

        /* the record: version 1, icp length, icp, id length, id */
        vlen = 0;
        val[i][vlen++] = 1;
        val[i][vlen++] = (unsigned char) strlen(icp[i]);
        memcpy(val[i] + vlen, icp[i], strlen(icp[i]));
        vlen += strlen(icp[i]);
        val[i][vlen++] = (unsigned char) strlen(web[i]);
        memcpy(val[i] + vlen, web[i], strlen(web[i]));
        vlen += strlen(web[i]);

        dom[i] = (item_t) { domains[i], strlen(domains[i]), val[i], vlen, 0 };
    }
    qsort(dom, n, sizeof(dom[0]), item_cmp);
    n = beian_entries_sort(e, n);

    memset(&bm, 0, sizeof(bm));
    snprintf(bm.instance_id, sizeof(bm.instance_id), "lhins-fuzz0001");
    snprintf(bm.source, sizeof(bm.source), "fuzz seed %s", name);
    beian_entries_digest(bm.instance_id, e, n, bm.digest);
    snprintf(count, sizeof(count), "%zu", n);

    /* the meta database, in key order */
#define M(k, v)  (item_t) { k, sizeof(k) - 1, v, strlen(v), 0 }
    meta[0] = M("digest", bm.digest);
    meta[1] = M("generated_at", "1700000000");
    meta[2] = M("instance_id", bm.instance_id);
    meta[3] = M("record_count", count);
    meta[4] = M("schema_version", "1");
    meta[5] = M("source", bm.source);

    tree(dom, n, &ddb);
    tree(meta, 6, &mdb);

    /* the main database names the two (three), each value an MDB_db, in
     * key order */
    nsub = 0;
    put_db(dbv[nsub], &ddb);
    sub[nsub] = (item_t) { "domains", 7, dbv[nsub], DB_SIZE, F_SUBDATA };
    nsub++;
    if (indexed) {
        ix = index_value(&bm, e, n, &ixlen);
        if (ix == NULL) {
            return -1;
        }
        index_db(ix, ixlen, &idb);
        put_db(dbv[nsub], &idb);
        sub[nsub] = (item_t) { "index", 5, dbv[nsub], DB_SIZE, F_SUBDATA };
        nsub++;
    }
    put_db(dbv[nsub], &mdb);
    sub[nsub] = (item_t) { "meta", 4, dbv[nsub], DB_SIZE, F_SUBDATA };
    nsub++;
    tree(sub, nsub, &main_db);

    /* meta 0 is the empty first commit, meta 1 the snapshot, as in a
     * file beian_snap_write() wrote */
    memset(&empty, 0, sizeof(empty));
    empty.root = P_INVALID;
    meta_page(0, &empty, 1, 0);
    meta_page(1, &main_db, npages - 1, 1);

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    free(ix);
    if (fd == -1 || write(fd, file, npages * psize)
                    != (ssize_t) (npages * psize) || close(fd) != 0)
    {
        perror(path);
        return -1;
    }

    /* read back as the module would: through the index if there is one */
    s = beian_snap_open(path, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "mksnapshots: %s\n", err);
        return -1;
    }
    if (!beian_snap_has_index(s) != !indexed) {
        fprintf(stderr, "mksnapshots: %s: %s hash index\n", path,
                indexed ? "no" : "an unexpected");
        beian_snap_close(s);
        return -1;
    }
    for (i = 0; i < n; i++) {
        ok = beian_snap_get(s, e[i].domain, e[i].domain_len, &rec) == 1
             && rec.icp_len == strlen(e[i].icp)
             && memcmp(rec.icp, e[i].icp, rec.icp_len) == 0
             && rec.website_id_len == strlen(e[i].website_id)
             && memcmp(rec.website_id, e[i].website_id,
                       rec.website_id_len) == 0
             && beian_snap_get(s, e[i].domain, e[i].domain_len, NULL) == 1;
        if (!ok) {
            fprintf(stderr, "mksnapshots: %s: %s not found\n", path,
                    e[i].domain);
            beian_snap_close(s);
            return -1;
        }
    }
    for (i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        if (beian_snap_get(s, absent[i], strlen(absent[i]), &rec) != 0
            || beian_snap_get(s, absent[i], strlen(absent[i]), NULL) != 0)
        {
            fprintf(stderr, "mksnapshots: %s: %s found\n", path, absent[i]);
            beian_snap_close(s);
            return -1;
        }
    }
    beian_snap_close(s);

    printf("%s: %zu domains, %zu pages of %zu bytes, depth %u", path, n,
           npages, psize, ddb.depth);
    if (indexed) {
        printf(", index of %zu bytes %s", ixlen,
               idb.overflow_pages ? "on overflow pages" : "inline");
    }
    printf("\n");
    return 0;
}


int
main(int argc, char **argv)
{
    static const char *const tiny[] = {
        "example.com", "filed.cn", "xn--fsqu00a.xn--fiqs8s",
    };
    static const char *const many[] = {
        "a.example.com", "b.example.com", "c.example.com", "example.com",
        "example.net", "example.org", "filed.cn", "www.filed.cn",
        "0.cn", "123.com", "x-y.example.co.uk", "xn--fiqs8s.cn",
        "shop.example.com.cn", "example.com.cn", "blog.filed.cn",
        "api.filed.cn", "static.filed.cn", "m.filed.cn", "news.example.org",
        "mail.example.net", "wiki.example.org", "dev.example.net",
        "cdn.example.com", "img.example.com",
    };
    static const char *const indexed[] = {
        "example.com", "filed.cn", "www.filed.cn", "xn--fiqs8s.cn",
        /* keys of 58, 59 and 69 bytes: whole words and a partial one */
        "b.abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop.com",
        "c.abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq.com",
        "a.abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0"
        ".com",
    };
    static const char *const deep[] = {
#define LONG "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0"
        "a." LONG ".com", "b." LONG ".com", "c." LONG ".com",
        "d." LONG ".com", "e." LONG ".com", "f." LONG ".com",
        "g." LONG ".com", "h." LONG ".com", "i." LONG ".com",
        "j." LONG ".com", "k." LONG ".com", "l." LONG ".com",
        "m." LONG ".com", "n." LONG ".com", "o." LONG ".com",
        "p." LONG ".com", "q." LONG ".com", "r." LONG ".com",
        "s." LONG ".com", "t." LONG ".com", "u." LONG ".com",
        "v." LONG ".com", "w." LONG ".com", "x." LONG ".com",
        "y." LONG ".com", "z." LONG ".com", "0." LONG ".com",
        "1." LONG ".com", "2." LONG ".com", "3." LONG ".com",
    };
    const char  *dir = argc > 1 ? argv[1] : ".";

    if (snapshot(dir, "tiny.seed", tiny, 3, 0) != 0
        || snapshot(dir, "empty.seed", tiny, 0, 0) != 0
        || snapshot(dir, "branch.seed", many, sizeof(many) / sizeof(*many),
                    0) != 0
        || snapshot(dir, "deep.seed", deep, sizeof(deep) / sizeof(*deep), 0)
           != 0
        || snapshot(dir, "indexed.seed", indexed,
                    sizeof(indexed) / sizeof(*indexed), 1) != 0
        || snapshot(dir, "indexed-small.seed", tiny, 3, 1) != 0)
    {
        return 1;
    }

    return 0;
}
