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
 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beian.h"


/* LMDB 0.9 on-disk format (liblmdb's mdb.c), 64-bit little-endian. */
#define PAGEHDRSZ   16
#define NODESIZE    8
#define P_BRANCH    0x01
#define P_LEAF      0x02
#define P_META      0x08
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
    const void  *data;
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
 * branch node lo/hi/flags hold the child's page number instead. */
static int
node_add(uint64_t pgno, const item_t *it, uint64_t child)
{
    unsigned char  *p = page(pgno), *n;
    unsigned        lower = get16(p + 12), upper = get16(p + 14);
    size_t          size;
    int             branch = get16(p + 10) & P_BRANCH;

    size = NODESIZE + it->klen + (branch ? 0 : it->dlen);
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
        memcpy(n + NODESIZE + it->klen, it->data, it->dlen);
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


/* Writes a snapshot of the given domains to dir/name; 0 or -1. */
static int
snapshot(const char *dir, const char *name, const char *const *domains,
    size_t n)
{
    int             fd;
    size_t          i, vlen;
    db_t            ddb, mdb, main_db, empty;
    item_t          dom[64], meta[6], sub[2];
    beian_entry_t   e[64];
    beian_meta_t    bm;
    beian_snap_t   *s;
    beian_rec_t     rec;
    char            path[4096], err[BEIAN_ERR_MAX], count[32], icp[64][48];
    char            web[64][16];
    unsigned char   val[64][96], dbv[2][DB_SIZE];

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

    /* the main database names the two, each value an MDB_db */
    put_db(dbv[0], &ddb);
    put_db(dbv[1], &mdb);
    sub[0] = (item_t) { "domains", 7, dbv[0], DB_SIZE, F_SUBDATA };
    sub[1] = (item_t) { "meta", 4, dbv[1], DB_SIZE, F_SUBDATA };
    tree(sub, 2, &main_db);

    /* meta 0 is the empty first commit, meta 1 the snapshot, as in a
     * file beian_snap_write() wrote */
    memset(&empty, 0, sizeof(empty));
    empty.root = P_INVALID;
    meta_page(0, &empty, 1, 0);
    meta_page(1, &main_db, npages - 1, 1);

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd == -1 || write(fd, file, npages * psize)
                    != (ssize_t) (npages * psize) || close(fd) != 0)
    {
        perror(path);
        return -1;
    }

    /* read back as the module would */
    s = beian_snap_open(path, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "mksnapshots: %s\n", err);
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (beian_snap_get(s, e[i].domain, e[i].domain_len, &rec) != 1
            || rec.icp_len != strlen(e[i].icp)
            || memcmp(rec.icp, e[i].icp, rec.icp_len) != 0)
        {
            fprintf(stderr, "mksnapshots: %s: %s not found\n", path,
                    e[i].domain);
            beian_snap_close(s);
            return -1;
        }
    }
    beian_snap_close(s);

    printf("%s: %zu domains, %zu pages of %zu bytes, depth %u\n", path, n,
           npages, psize, ddb.depth);
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

    if (snapshot(dir, "tiny.seed", tiny, 3) != 0
        || snapshot(dir, "empty.seed", tiny, 0) != 0
        || snapshot(dir, "branch.seed", many, sizeof(many) / sizeof(*many))
           != 0
        || snapshot(dir, "deep.seed", deep, sizeof(deep) / sizeof(*deep))
           != 0)
    {
        return 1;
    }

    return 0;
}
