/*
 * Snapshot reader (DESIGN.md §3).
 *
 * The file is never modified in place (writers rename a new one over it),
 * so it is opened with MDB_NOLOCK and one read transaction is kept for the
 * life of the handle: a lookup is a single mdb_get() with no allocation.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     /* memfd_create(), F_ADD_SEALS */
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>

#include "beian.h"


struct beian_snap_s {
    struct stat    src;                 /* identity of the file copied */
    MDB_env       *env;
    MDB_txn       *txn;
    MDB_dbi        domains;
    beian_meta_t   meta;

    /* the optional hash index ("index" database, key "hash-v2") */
    const unsigned char  *ix_filter;    /* NULL: no index, use the tree */
    const unsigned char  *ix_lines;
    const unsigned char  *ix_long;
    const unsigned char  *ix_recs;
    uint64_t              ix_seed;
    uint32_t              ix_blocks;
    uint32_t              ix_homes;
    uint32_t              ix_nlines;
    uint32_t              ix_long_len;
    uint32_t              ix_recs_len;
};


/*
 * Hash index: the value of key "hash-v2" in the optional "index" database,
 * written with the domains in the same transaction.  LMDB keeps a large
 * value in contiguous overflow pages, so the table is one read-only piece
 * of the mapping.  Native byte order, like LMDB itself:
 *
 *   header   48 bytes: u64 magic BEIAN_INDEX_MAGIC, u64 seed, u64 count
 *            (= meta record_count), u32 filter blocks
 *            (BEIAN_INDEX_BLOCKS(count)), u32 home lines, u32 lines,
 *            u32 long-key bytes, u32 record bytes, u32 0.  48, so that after
 *            LMDB's 16-byte page header the rest starts on a cache line
 *   filter   blocks of 64 bytes: a blocked Bloom filter, a key's
 *            BEIAN_INDEX_FILTER_BITS bits all in one block
 *   lines    64 bytes each: byte 0, how many lines after this one hold keys
 *            whose home it is (0-255); from byte 1 entries, until a 0 byte
 *            or the end: u8 length, the domain, u32 offset of its record;
 *            or for a domain over 58 bytes, 0xff, u8 length, u32 offset in
 *            the long keys, u32 record offset
 *   long     the long domains' bytes
 *   records  a 0 byte, then the v1 records of "domains" (0x01, icp length,
 *            icp, website id length, website id)
 *
 * Why this shape: per request the gate needs a verdict, not the record,
 * and what it costs is cache misses.  A miss reads one filter block (10
 * bits per domain: 1.2 MiB at a million, small enough to stay in cache)
 * and ends there 99 times in 100; a hit reads that block and the key's
 * home line (its spill lines rarely); the record only when asked for.
 * The header is checked at open (O(1)); every offset is checked on lookup,
 * so a damaged table can make a lookup fail (-1) or miss (0) but never
 * read outside its value.  Snapshots without it, or with an index of
 * another version, are read through the tree.
 */
#define BEIAN_IX_HDR      48

_Static_assert(sizeof(beian_index_hdr_t) == BEIAN_IX_HDR, "index header");


static void
fail(char *err, size_t err_len, const char *path, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    n = snprintf(err, err_len, "snapshot \"%s\": ", path);
    if (n < 0 || (size_t) n >= err_len) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(err + n, err_len - (size_t) n, fmt, ap);
    va_end(ap);
}


uint64_t
beian_key_hash(uint64_t seed, const char *key, size_t len)
{
    size_t                i;
    uint64_t              h, w;
    const unsigned char  *p = (const unsigned char *) key;

    /* multiply-xorshift per 8-byte word: a domain of 13 bytes is 2 steps */
    h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

    for ( ; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }

    /* the tail, 0 to 7 bytes; the length is already in h */
    for (w = 0, i = 0; i < len; i++) {
        w |= (uint64_t) p[i] << (8 * i);
    }
    h = (h ^ w) * 0x94d049bb133111ebULL;

    /* the murmur3 finalizer: every output bit depends on every input bit */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


/* Reads meta key into buf as a NUL-terminated string; 0 or an LMDB error. */
static int
meta_get(MDB_txn *txn, MDB_dbi dbi, const char *key, char *buf, size_t size)
{
    int      rc;
    MDB_val  k, v;

    k.mv_data = (void *) key;
    k.mv_size = strlen(key);

    rc = mdb_get(txn, dbi, &k, &v);
    if (rc != 0) {
        return rc;
    }

    if (v.mv_size >= size || memchr(v.mv_data, '\0', v.mv_size) != NULL) {
        return MDB_BAD_VALSIZE;
    }

    memcpy(buf, v.mv_data, v.mv_size);
    buf[v.mv_size] = '\0';
    return 0;
}


/*
 * Structural check of the whole file, before LMDB reads any of it.
 *
 * liblmdb trusts its file: a page number, node offset or size taken from a
 * damaged file makes it read outside the mapping (SIGBUS, SIGSEGV), divide
 * by a zero page size, abort() on an internal assertion or loop forever;
 * fuzz/fuzz_snapshot.c finds each of these within seconds.  A snapshot is
 * small and never changes, so we map it ourselves and walk every page LMDB
 * can reach from the meta page it is going to pick, checking everything
 * its read paths rely on: pages inside the file, reached once, of the
 * right kind; nodes inside their page; keys in order within the bounds
 * the branch pages promise (so iteration and lookup agree); counts equal
 * to what the trees record.  Cost: one pass over the file at open.
 *
 * The layout is LMDB 0.9's on-disk format (liblmdb's mdb.c), in native
 * byte order, for 64-bit builds.
 */

#define LM_PAGEHDRSZ   16               /* pgno 8, pad 2, flags 2, lower 2,
                                           upper 2 (or overflow count 4) */
#define LM_NODESIZE    8                /* lo 2, hi 2, flags 2, ksize 2 */
#define LM_P_BRANCH    0x01
#define LM_P_LEAF      0x02
#define LM_P_OVERFLOW  0x04
#define LM_P_META      0x08
#define LM_F_BIGDATA   0x01
#define LM_F_SUBDATA   0x02
#define LM_MAGIC       0xBEEFC0DEu
#define LM_VERSION     1
#define LM_DB_SIZE     48               /* MDB_db */
#define LM_META_SIZE   152              /* MDB_meta after the page header */
#define LM_MAX_DEPTH   32               /* CURSOR_STACK */
#define LM_INVALID     (~(uint64_t) 0)  /* P_INVALID: an empty tree */

/* 32-bit LMDB has 4-byte page numbers and pointers in its meta page */
_Static_assert(sizeof(size_t) == 8, "lm_check() reads the 64-bit layout");

typedef struct {
    unsigned    flags, depth;
    uint64_t    branch, leaf, overflow, entries, root;
} lm_db_t;

typedef struct {
    const unsigned char  *p;            /* NULL: unbounded */
    size_t                n;
} lm_key_t;

typedef struct {
    const unsigned char  *map;
    uint64_t              psize;
    uint64_t              last;         /* last page number in use */
    unsigned char        *seen;         /* one bit per page */
    lm_db_t               count;        /* of the tree being walked */
    const char           *path;
    char                 *err;
    size_t                err_len;
} lm_walk_t;


static unsigned
lm16(const unsigned char *p)
{
    uint16_t  v;

    memcpy(&v, p, sizeof(v));
    return v;
}


static uint64_t
lm32(const unsigned char *p)
{
    uint32_t  v;

    memcpy(&v, p, sizeof(v));
    return v;
}


static uint64_t
lm64(const unsigned char *p)
{
    uint64_t  v;

    memcpy(&v, p, sizeof(v));
    return v;
}


static void
lm_db(const unsigned char *p, lm_db_t *db)
{
    db->flags = lm16(p + 4);
    db->depth = lm16(p + 6);
    db->branch = lm64(p + 8);
    db->leaf = lm64(p + 16);
    db->overflow = lm64(p + 24);
    db->entries = lm64(p + 32);
    db->root = lm64(p + 40);
}


/* LMDB's default key order (mdb_cmp_memn): bytes, then length. */
int
beian_domain_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int  rc;

    rc = memcmp(a, b, alen < blen ? alen : blen);
    return rc ? rc : (alen > blen) - (alen < blen);
}


static int
lm_cmp(lm_key_t a, lm_key_t b)
{
    return beian_domain_cmp((const char *) a.p, a.n, (const char *) b.p, b.n);
}


static int
lm_bad(lm_walk_t *w, uint64_t pgno, const char *why)
{
    fail(w->err, w->err_len, w->path, "corrupt: %s (page %" PRIu64 ")",
         why, pgno);
    return -1;
}


/* A page LMDB may reach: in the file, not a meta page, reached once. */
static const unsigned char *
lm_page(lm_walk_t *w, uint64_t pgno, uint64_t npages)
{
    uint64_t  i;

    if (pgno < 2 || pgno > w->last || npages > w->last - pgno + 1) {
        lm_bad(w, pgno, "page number out of range");
        return NULL;
    }

    for (i = pgno; i < pgno + npages; i++) {
        if (w->seen[i / 8] & (1u << (i % 8))) {
            lm_bad(w, i, "page reached twice");
            return NULL;
        }
        w->seen[i / 8] |= 1u << (i % 8);
    }

    if (lm64(w->map + pgno * w->psize) != pgno) {
        lm_bad(w, pgno, "page header names another page");
        return NULL;
    }

    return w->map + pgno * w->psize;
}


/* Node i of a checked page, and its key (bounds checked by lm_nodes). */
static const unsigned char *
lm_node(const unsigned char *p, unsigned i, lm_key_t *key)
{
    const unsigned char  *node = p + lm16(p + LM_PAGEHDRSZ + 2 * i);

    key->p = node + LM_NODESIZE;
    key->n = lm16(node + 6);
    return node;
}


/*
 * Every node header and key inside the page, keys strictly increasing
 * within [lo, hi).  A branch page's first key is never compared (LMDB
 * leaves it empty): its child holds what is below the second.
 */
static int
lm_nodes(lm_walk_t *w, uint64_t pgno, const unsigned char *p, unsigned n,
    unsigned upper, int branch, lm_key_t lo, lm_key_t hi)
{
    unsigned   i, off;
    lm_key_t   key, first = { NULL, 0 }, prev = { NULL, 0 };

    for (i = 0; i < n; i++) {
        off = lm16(p + LM_PAGEHDRSZ + 2 * i);
        if (off < upper || off % 2 != 0 || off + LM_NODESIZE > w->psize
            || off + LM_NODESIZE + lm16(p + off + 6) > w->psize)
        {
            return lm_bad(w, pgno, "node out of its page");
        }

        lm_node(p, i, &key);
        if (branch && i == 0) {
            continue;
        }

        if (prev.p != NULL && lm_cmp(key, prev) <= 0) {
            return lm_bad(w, pgno, "keys out of order");
        }
        if (first.p == NULL) {
            first = key;
        }
        prev = key;
    }

    /* strictly increasing: the ends alone decide whether all are in
     * [lo, hi) */
    if (first.p != NULL
        && ((lo.p != NULL && lm_cmp(first, lo) < 0)
            || (hi.p != NULL && lm_cmp(prev, hi) >= 0)))
    {
        return lm_bad(w, pgno, "keys out of order");
    }

    return 0;
}


static int lm_tree(lm_walk_t *w, const lm_db_t *db, int main_db);


/* A value on overflow pages: all of it inside them. */
static int
lm_overflow(lm_walk_t *w, uint64_t pgno, uint64_t size)
{
    uint64_t              n, have;
    const unsigned char  *p;

    n = (LM_PAGEHDRSZ + size + w->psize - 1) / w->psize;
    if (size > w->last * w->psize) {
        return lm_bad(w, pgno, "value larger than the file");
    }

    p = lm_page(w, pgno, n);
    if (p == NULL) {
        return -1;
    }

    have = lm32(p + 12);
    if (lm16(p + 10) != LM_P_OVERFLOW || have != n) {
        return lm_bad(w, pgno, "bad overflow page");
    }

    w->count.overflow += n;
    return 0;
}


/* The page at depth (1: the root) of a tree levels deep, keys in
 * [lo, hi), and everything below it. */
static int
lm_walk_page(lm_walk_t *w, uint64_t pgno, unsigned depth, unsigned levels,
    lm_key_t lo, lm_key_t hi, int main_db)
{
    unsigned              i, n, lower, upper, kind, flags;
    uint64_t              size, child;
    lm_db_t               sub;
    lm_key_t              key, next;
    const unsigned char  *p, *node;

    p = lm_page(w, pgno, 1);
    if (p == NULL) {
        return -1;
    }

    kind = lm16(p + 10);
    lower = lm16(p + 12);
    upper = lm16(p + 14);

    if (kind != LM_P_BRANCH && kind != LM_P_LEAF) {
        return lm_bad(w, pgno, "not a branch or leaf page");
    }
    if ((kind == LM_P_LEAF) != (depth == levels)) {
        return lm_bad(w, pgno, "tree depth differs from its record");
    }
    if (lower < LM_PAGEHDRSZ || (lower - LM_PAGEHDRSZ) % 2 != 0
        || lower > upper || upper > w->psize)
    {
        return lm_bad(w, pgno, "bad free-space bounds");
    }

    /* LMDB asserts that a branch page has two keys or more */
    n = (lower - LM_PAGEHDRSZ) / 2;
    if (n < (kind == LM_P_BRANCH ? 2u : 1u)) {
        return lm_bad(w, pgno, "too few keys");
    }

    if (lm_nodes(w, pgno, p, n, upper, kind == LM_P_BRANCH, lo, hi) != 0) {
        return -1;
    }

    if (kind == LM_P_BRANCH) {
        w->count.branch++;

        for (i = 0; i < n; i++) {
            /* child i holds [key i, key i+1); the ends are ours */
            node = lm_node(p, i, &key);
            if (i + 1 < n) {
                lm_node(p, i + 1, &next);
            } else {
                next = hi;
            }
            child = lm16(node) | (uint64_t) lm16(node + 2) << 16
                    | (uint64_t) lm16(node + 4) << 32;

            if (lm_walk_page(w, child, depth + 1, levels, i ? key : lo,
                             next, main_db) != 0)
            {
                return -1;
            }
        }
        return 0;
    }

    w->count.leaf++;

    for (i = 0; i < n; i++) {
        node = lm_node(p, i, &key);
        flags = lm16(node + 4);
        size = lm16(node) | (uint64_t) lm16(node + 2) << 16;
        w->count.entries++;

        if (main_db) {
            /* the main tree only names databases: their MDB_db records */
            if (flags != LM_F_SUBDATA || size != LM_DB_SIZE
                || (size_t) (key.p - p) + key.n + size > w->psize)
            {
                return lm_bad(w, pgno, "main database entry is not a "
                              "named database");
            }
            lm_db(key.p + key.n, &sub);
            if (lm_tree(w, &sub, 0) != 0) {
                return -1;
            }

        } else if (flags == 0) {
            if ((size_t) (key.p - p) + key.n + size > w->psize) {
                return lm_bad(w, pgno, "value out of its page");
            }

        } else if (flags == LM_F_BIGDATA
                   && (size_t) (key.p - p) + key.n + 8 <= w->psize)
        {
            if (lm_overflow(w, lm64(key.p + key.n), size) != 0) {
                return -1;
            }

        } else {
            return lm_bad(w, pgno, "unexpected node flags");
        }
    }

    return 0;
}


/* Walks one tree; its record's counts must be what the walk finds. */
static int
lm_tree(lm_walk_t *w, const lm_db_t *db, int main_db)
{
    lm_db_t   outer = w->count;
    lm_key_t  none = { NULL, 0 };
    int       rc = 0;

    /* our databases are plain: no DUPSORT, INTEGERKEY, REVERSEKEY... */
    if (db->flags != 0) {
        return lm_bad(w, db->root, "database with unexpected flags");
    }

    if (db->root == LM_INVALID) {
        if (db->depth != 0 || db->entries != 0 || db->branch != 0
            || db->leaf != 0 || db->overflow != 0)
        {
            return lm_bad(w, 0, "empty database with non-zero counts");
        }
        return 0;
    }

    if (db->depth < 1 || db->depth > LM_MAX_DEPTH) {
        return lm_bad(w, db->root, "tree depth out of range");
    }

    memset(&w->count, 0, sizeof(w->count));
    if (lm_walk_page(w, db->root, 1, db->depth, none, none, main_db) != 0) {
        return -1;
    }

    if (w->count.entries != db->entries || w->count.branch != db->branch
        || w->count.leaf != db->leaf || w->count.overflow != db->overflow)
    {
        rc = lm_bad(w, db->root, "database counts differ from its pages");
    }

    w->count = outer;
    return rc;
}


/* The meta page at offset off, if it looks like one; see mdb.c. */
static const unsigned char *
lm_meta(const unsigned char *map, uint64_t size, uint64_t off)
{
    const unsigned char  *p = map + off;

    if (off > size || size - off < LM_PAGEHDRSZ + LM_META_SIZE
        || !(lm16(p + 10) & LM_P_META)
        || lm32(p + LM_PAGEHDRSZ) != LM_MAGIC)
    {
        return NULL;
    }
    return p;
}


static int
lm_check(lm_walk_t *w, uint64_t size)
{
    uint64_t              psize, need;
    lm_db_t               main_db;
    const unsigned char  *m0, *m1, *m;

    /* mdb_env_read_header(): meta 0 at 0, meta 1 one page size further
     * (meta 0's), the one with the larger txnid wins */
    m0 = lm_meta(w->map, size, 0);
    m1 = m0 ? lm_meta(w->map, size, lm32(m0 + LM_PAGEHDRSZ + 24)) : NULL;
    if (m0 == NULL || m1 == NULL) {
        fail(w->err, w->err_len, w->path, "not an LMDB file");
        return -1;
    }

    if (lm32(m0 + LM_PAGEHDRSZ + 4) != LM_VERSION
        || lm32(m1 + LM_PAGEHDRSZ + 4) != LM_VERSION)
    {
        fail(w->err, w->err_len, w->path, "written by an incompatible LMDB "
             "version");
        return -1;
    }

    m = lm64(m1 + LM_PAGEHDRSZ + 128) > lm64(m0 + LM_PAGEHDRSZ + 128)
        ? m1 : m0;

    /* LMDB divides by it, and finds meta 1 with it (as mdb_env_pick_meta()
     * does later): both metas must agree on a sane page size */
    psize = lm32(m + LM_PAGEHDRSZ + 24);
    if (psize < 512 || psize > 32768 || (psize & (psize - 1)) != 0
        || psize != lm32(m0 + LM_PAGEHDRSZ + 24)
        || psize != lm32(m1 + LM_PAGEHDRSZ + 24)
        || lm64(m0) != 0 || lm64(m1) != 1)
    {
        fail(w->err, w->err_len, w->path, "corrupt: bad meta pages "
             "(page size %" PRIu64 ")", psize);
        return -1;
    }

    /* pages past the end of a truncated file would SIGBUS on access */
    w->psize = psize;
    w->last = lm64(m + LM_PAGEHDRSZ + 120);
    if (w->last >= size / psize) {
        need = w->last < UINT64_MAX / psize - 1 ? (w->last + 1) * psize
                                                : UINT64_MAX;
        fail(w->err, w->err_len, w->path, "truncated: %" PRIu64 " bytes, "
             "the file needs %" PRIu64, size, need);
        return -1;
    }

    w->seen = calloc(w->last / 8 + 1, 1);
    if (w->seen == NULL) {
        fail(w->err, w->err_len, w->path, "out of memory");
        return -1;
    }

    lm_db(m + LM_PAGEHDRSZ + 24 + LM_DB_SIZE, &main_db);
    return lm_tree(w, &main_db, 1);
}


int
beian_snap_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino
           && a->st_size == b->st_size
           && a->st_mtim.tv_sec == b->st_mtim.tv_sec
           && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}


/*
 * Readers never map the snapshot file itself: nginx workers would die of
 * SIGBUS if it were truncated under them, and LMDB trusts what it maps.
 * The file is copied with read(2) into sealed memory (a memfd that can no
 * longer be written, grown or shrunk); the copy is what gets checked and
 * mapped, so nothing later done to the file can change or unmap it.
 */
int
beian_snap_copy(const char *path, struct stat *src, char *err,
    size_t err_len)
{
    int           fd, mfd;
    char         *buf;
    off_t         done;
    ssize_t       n = 0, w;
    struct stat   after;

    /* O_NONBLOCK: a FIFO put there must not hang us in open() */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd == -1) {
        fail(err, err_len, path, "%s", strerror(errno));
        return -1;
    }

    mfd = -1;
    buf = NULL;

    if (fstat(fd, src) != 0) {
        fail(err, err_len, path, "%s", strerror(errno));
        goto failed;
    }
    if (!S_ISREG(src->st_mode)) {
        fail(err, err_len, path, "not a regular file");
        goto failed;
    }
    if (src->st_size == 0) {
        fail(err, err_len, path, "empty file (0 bytes)");
        goto failed;
    }
    if (src->st_size > BEIAN_SNAP_COPY_MAX) {
        fail(err, err_len, path, "%jd bytes, over the limit of %jd",
             (intmax_t) src->st_size, (intmax_t) BEIAN_SNAP_COPY_MAX);
        goto failed;
    }

    mfd = memfd_create("beian-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd == -1) {
        fail(err, err_len, path, "memfd_create: %s", strerror(errno));
        goto failed;
    }

    /* the memory now, as an error, not as SIGBUS or the OOM killer later */
    errno = posix_fallocate(mfd, 0, src->st_size);
    if (errno != 0) {
        fail(err, err_len, path, "no memory for a copy of %jd bytes: %s",
             (intmax_t) src->st_size, strerror(errno));
        goto failed;
    }

    buf = malloc(BEIAN_SNAP_COPY_BUF);
    if (buf == NULL) {
        fail(err, err_len, path, "out of memory");
        goto failed;
    }

    /* one byte past the size: a file that grows is being written */
    for (done = 0; done <= src->st_size; done += n) {
        n = read(fd, buf, BEIAN_SNAP_COPY_BUF);
        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n <= 0) {
            break;
        }
        if (done + n > src->st_size) {
            done += n;
            break;
        }
        for (w = 0; w < n; ) {
            ssize_t  k = pwrite(mfd, buf + w, (size_t) (n - w), done + w);
            if (k == -1 && errno != EINTR) {
                fail(err, err_len, path, "copy: %s", strerror(errno));
                goto failed;
            }
            w += k > 0 ? k : 0;
        }
    }

    if (n == -1) {
        fail(err, err_len, path, "%s", strerror(errno));
        goto failed;
    }

    if (done != src->st_size || fstat(fd, &after) != 0
        || after.st_size != src->st_size
        || after.st_mtim.tv_sec != src->st_mtim.tv_sec
        || after.st_mtim.tv_nsec != src->st_mtim.tv_nsec)
    {
        fail(err, err_len, path, "changed while being read (written in "
             "place? beian-sync renames a new file over the old one)");
        goto failed;
    }

    if (fcntl(mfd, F_ADD_SEALS,
              F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    {
        fail(err, err_len, path, "sealing the copy: %s", strerror(errno));
        goto failed;
    }

    free(buf);
    close(fd);
    return mfd;

failed:
    free(buf);
    if (mfd != -1) {
        close(mfd);
    }
    close(fd);
    return -1;
}


/* Whether fd can no longer change: written, grown or shrunk. */
static int
sealed(int fd)
{
    int  want, seals;

    want = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
    seals = fcntl(fd, F_GET_SEALS);

    return seals != -1 && (seals & want) == want;
}


/*
 * Checks the copy in fd (unless checked says an earlier open did, and it is
 * sealed), and opens the LMDB environment on it through /proc/self/fd.
 * 0, or -1 with err set.
 */
static int
open_checked(beian_snap_t *s, int fd, const char *path, int checked,
    char *err, size_t err_len)
{
    int          rc, efd;
    void        *map;
    lm_walk_t    w;
    struct stat  st, est;
    char         fdpath[64];

    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        fail(err, err_len, path, "the copy: %s",
             st.st_size == 0 ? "empty" : strerror(errno));
        return -1;
    }

    /* a sealed copy has the very bytes checked before */
    if (!checked || !sealed(fd)) {
        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (map == MAP_FAILED) {
            fail(err, err_len, path, "mmap: %s", strerror(errno));
            return -1;
        }

        memset(&w, 0, sizeof(w));
        w.map = map;
        w.path = path;
        w.err = err;
        w.err_len = err_len;
        rc = lm_check(&w, (uint64_t) st.st_size);
        free(w.seen);
        munmap(map, (size_t) st.st_size);
        if (rc != 0) {
            return -1;
        }
    }

    snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);

    rc = mdb_env_create(&s->env);
    if (rc == 0) {
        rc = mdb_env_set_maxdbs(s->env, 3);
    }
    if (rc == 0) {
        rc = mdb_env_open(s->env, fdpath,
                          MDB_RDONLY | MDB_NOLOCK | MDB_NOSUBDIR, 0);
    }

    if (rc != 0) {
        if (rc == ENOENT) {
            fail(err, err_len, path, "cannot open its in-memory copy: "
                 "%s is missing (is /proc mounted?)", fdpath);
        } else if (rc == MDB_INVALID || rc == EINVAL) {
            fail(err, err_len, path, "not an LMDB file");
        } else if (rc == MDB_VERSION_MISMATCH) {
            fail(err, err_len, path, "written by an incompatible LMDB "
                 "version");
        } else {
            fail(err, err_len, path, "%s", mdb_strerror(rc));
        }
        return -1;
    }

    /* LMDB opened the copy we checked, not something else */
    if (mdb_env_get_fd(s->env, &efd) != 0 || fstat(efd, &est) != 0
        || est.st_dev != st.st_dev || est.st_ino != st.st_ino)
    {
        fail(err, err_len, path, "its copy changed while being opened");
        return -1;
    }

    return 0;
}


static int
parse_u64(const char *s, uint64_t *out)
{
    char                *end;
    unsigned long long   v;

    if (*s < '0' || *s > '9') {
        return -1;
    }

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return -1;
    }

    *out = v;
    return 0;
}


static int
read_meta(beian_snap_t *s, const char *path, char *err, size_t err_len)
{
    int            rc;
    MDB_dbi        dbi;
    size_t         i;
    uint64_t       num[3];
    char           buf[32];
    beian_meta_t  *m = &s->meta;

    /* numbers first: an unknown schema version says the most */
    static const char *const  nums[3] = {
        "schema_version", "generated_at", "record_count"
    };

    const struct {
        const char  *key;
        char        *dst;
        size_t       size;
    } texts[] = {
        { "instance_id", m->instance_id, sizeof(m->instance_id) },
        { "source", m->source, sizeof(m->source) },
        { "digest", m->digest, sizeof(m->digest) },
    };

    rc = mdb_dbi_open(s->txn, "meta", 0, &dbi);
    if (rc == MDB_NOTFOUND) {
        fail(err, err_len, path, "missing \"meta\" database "
             "(not a beian snapshot)");
        return -1;
    }
    if (rc != 0) {
        fail(err, err_len, path, "cannot open \"meta\": %s", mdb_strerror(rc));
        return -1;
    }

    for (i = 0; i < 3 + sizeof(texts) / sizeof(texts[0]); i++) {
        const char  *key = i < 3 ? nums[i] : texts[i - 3].key;

        rc = i < 3 ? meta_get(s->txn, dbi, key, buf, sizeof(buf))
                   : meta_get(s->txn, dbi, key, texts[i - 3].dst,
                              texts[i - 3].size);
        if (rc == MDB_NOTFOUND) {
            fail(err, err_len, path, "missing meta key \"%s\"", key);
            return -1;
        }
        if (rc != 0) {
            fail(err, err_len, path, "bad meta value for \"%s\"", key);
            return -1;
        }

        if (i < 3 && parse_u64(buf, &num[i]) != 0) {
            fail(err, err_len, path, "meta \"%s\" is not a number: \"%s\"",
                 key, buf);
            return -1;
        }

        if (i == 0 && num[0] != BEIAN_SCHEMA_VERSION) {
            fail(err, err_len, path, "unknown schema version %" PRIu64
                 " (this build reads %d)", num[0], BEIAN_SCHEMA_VERSION);
            return -1;
        }
    }

    m->schema_version = (unsigned) num[0];
    m->generated_at = (int64_t) num[1];
    m->record_count = num[2];

    return 0;
}


/*
 * Maps the hash index if the snapshot has one, after checking its database
 * and header: O(1), no walk.  0 (s->ix_filter NULL: none, or a version this
 * reader does not know), or -1 with err.
 */
static int
open_index(beian_snap_t *s, const char *path, const struct stat *st,
    char *err, size_t err_len)
{
    int        rc;
    MDB_dbi    dbi;
    MDB_val    k, v;
    MDB_stat   ms;
    size_t     size;
    uint64_t   over;
    unsigned   flags;
    beian_index_hdr_t  hdr;

    rc = mdb_dbi_open(s->txn, "index", 0, &dbi);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        fail(err, err_len, path, "index: cannot open its database: %s",
             mdb_strerror(rc));
        return -1;
    }

    /* one plain database with one value, on its overflow pages if large */
    rc = mdb_dbi_flags(s->txn, dbi, &flags);
    if (rc == 0) {
        rc = mdb_stat(s->txn, dbi, &ms);
    }
    if (rc != 0 || flags != 0 || ms.ms_entries != 1 || ms.ms_depth != 1
        || ms.ms_branch_pages != 0 || ms.ms_leaf_pages != 1
        || (uint64_t) (1 + ms.ms_overflow_pages) * ms.ms_psize
           > (uint64_t) st->st_size)
    {
        fail(err, err_len, path, "index database is not what beian-sync "
             "writes (flags 0x%x, %zu entries, %zu overflow pages)",
             rc == 0 ? flags : 0u, rc == 0 ? ms.ms_entries : (size_t) 0,
             rc == 0 ? ms.ms_overflow_pages : (size_t) 0);
        return -1;
    }

    k.mv_data = (void *) BEIAN_INDEX_KEY;
    k.mv_size = sizeof(BEIAN_INDEX_KEY) - 1;

    /* another version's index (a newer writer): the tree still answers */
    rc = mdb_get(s->txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        fail(err, err_len, path, "index: cannot read \"%s\": %s",
             BEIAN_INDEX_KEY, mdb_strerror(rc));
        return -1;
    }

    /* a value on overflow pages fills them; a small one needs none */
    over = (16 + (uint64_t) v.mv_size + ms.ms_psize - 1) / ms.ms_psize;
    if (ms.ms_overflow_pages != 0 && ms.ms_overflow_pages != over) {
        fail(err, err_len, path, "index value of %zu bytes on %zu overflow "
             "pages", v.mv_size, ms.ms_overflow_pages);
        return -1;
    }

    if (v.mv_size < BEIAN_IX_HDR) {
        fail(err, err_len, path, "index value too short (%zu bytes)",
             v.mv_size);
        return -1;
    }

    memcpy(&hdr, v.mv_data, sizeof(hdr));
    size = v.mv_size - BEIAN_IX_HDR;

    if (hdr.magic != BEIAN_INDEX_MAGIC) {
        fail(err, err_len, path, "index has a bad magic number "
             "(0x%016" PRIx64 ")", hdr.magic);
        return -1;
    }

    /*
     * The sizes: the filter is the writer's for this many records, spill
     * lines follow the home lines, and filter, lines, long keys and
     * records fill the value exactly (u32 terms: nothing wraps in u64).
     */
    if (hdr.count != s->meta.record_count
        || hdr.blocks != BEIAN_INDEX_BLOCKS(s->meta.record_count)
        || hdr.homes == 0 || hdr.lines < hdr.homes
        || hdr.lines - hdr.homes > 255 || hdr.zero != 0
        || hdr.recs_len < 1 || (hdr.recs_len - 1) / 3 < hdr.count
        || ((uint64_t) hdr.blocks + hdr.lines) * BEIAN_INDEX_LINE
           + hdr.long_len + hdr.recs_len != size)
    {
        fail(err, err_len, path, "index sizes do not fit: %" PRIu64
             " records, %u filter blocks, %u lines (%u home), %u long-key "
             "and %u record bytes in a value of %zu; meta says %" PRIu64
             " records", hdr.count, hdr.blocks, hdr.lines, hdr.homes,
             hdr.long_len, hdr.recs_len, v.mv_size, s->meta.record_count);
        return -1;
    }

    s->ix_filter = (const unsigned char *) v.mv_data + BEIAN_IX_HDR;
    s->ix_lines = s->ix_filter + (size_t) hdr.blocks * BEIAN_INDEX_LINE;
    s->ix_long = s->ix_lines + (size_t) hdr.lines * BEIAN_INDEX_LINE;
    s->ix_recs = s->ix_long + hdr.long_len;
    s->ix_seed = hdr.seed;
    s->ix_blocks = hdr.blocks;
    s->ix_homes = hdr.homes;
    s->ix_nlines = hdr.lines;
    s->ix_long_len = hdr.long_len;
    s->ix_recs_len = hdr.recs_len;

    return 0;
}


int
beian_snap_has_index(const beian_snap_t *snap)
{
    return snap->ix_filter != NULL;
}


beian_snap_t *
beian_snap_open(const char *path, char *err, size_t err_len)
{
    int            fd;
    struct stat    src;
    beian_snap_t  *s;

    fd = beian_snap_copy(path, &src, err, err_len);
    if (fd == -1) {
        return NULL;
    }

    /* LMDB holds its own descriptor of the copy */
    s = beian_snap_open_copy(fd, path, &src, 0, err, err_len);
    close(fd);

    return s;
}


beian_snap_t *
beian_snap_open_copy(int fd, const char *path, const struct stat *src,
    int checked, char *err, size_t err_len)
{
    int            rc;
    unsigned int   flags;
    struct stat    st;
    MDB_stat       ms;
    beian_snap_t  *s;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fail(err, err_len, path, "out of memory");
        return NULL;
    }

    s->src = *src;

    /* checked before LMDB touches it: see lm_check() */
    if (open_checked(s, fd, path, checked, err, err_len) != 0
        || fstat(fd, &st) != 0)
    {
        goto failed;
    }

    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->txn);
    if (rc != 0) {
        fail(err, err_len, path, "%s", mdb_strerror(rc));
        goto failed;
    }

    if (read_meta(s, path, err, err_len) != 0) {
        goto failed;
    }

    rc = mdb_dbi_open(s->txn, "domains", 0, &s->domains);
    if (rc != 0) {
        fail(err, err_len, path, "missing \"domains\" database");
        goto failed;
    }

    rc = mdb_dbi_flags(s->txn, s->domains, &flags);
    if (rc != 0 || flags != 0) {
        fail(err, err_len, path, "\"domains\" has unexpected flags 0x%x "
             "(wrong schema)", flags);
        goto failed;
    }

    rc = mdb_stat(s->txn, s->domains, &ms);
    if (rc != 0 || ms.ms_entries != s->meta.record_count) {
        fail(err, err_len, path, "record count mismatch: meta says %" PRIu64
             ", \"domains\" holds %zu", s->meta.record_count,
             rc == 0 ? ms.ms_entries : (size_t) 0);
        goto failed;
    }

    /*
     * Our values are a few hundred bytes and never need overflow pages, and
     * every page counted must be in the file (lm_check() has made sure the
     * counts are the real ones).
     */
    if (ms.ms_overflow_pages != 0) {
        fail(err, err_len, path, "\"domains\" holds over-long values "
             "(%zu overflow pages)", ms.ms_overflow_pages);
        goto failed;
    }

    if ((uint64_t) (ms.ms_branch_pages + ms.ms_leaf_pages) * ms.ms_psize
        > (uint64_t) st.st_size
        || ms.ms_entries > (size_t) ms.ms_leaf_pages * (ms.ms_psize / 8)
        || ms.ms_depth > 16)
    {
        fail(err, err_len, path, "\"domains\" statistics do not fit the "
             "file (%zu entries, %zu pages, depth %u)", ms.ms_entries,
             ms.ms_branch_pages + ms.ms_leaf_pages, ms.ms_depth);
        goto failed;
    }

    /* after the "domains" checks: its overflow pages are the index's own */
    if (open_index(s, path, &st, err, err_len) != 0) {
        goto failed;
    }

    return s;

failed:
    beian_snap_close(s);
    return NULL;
}


void
beian_snap_close(beian_snap_t *snap)
{
    if (snap == NULL) {
        return;
    }

    if (snap->txn) {
        mdb_txn_abort(snap->txn);
    }

    if (snap->env) {
        mdb_env_close(snap->env);
    }

    free(snap);
}


int
beian_snap_fstat(const beian_snap_t *snap, struct stat *st)
{
    *st = snap->src;
    return 0;
}


const beian_meta_t *
beian_snap_meta(const beian_snap_t *snap)
{
    return &snap->meta;
}


/* Value v1: 0x01, icp length, icp, website id length, website id. */
static int
decode_rec(const MDB_val *v, beian_rec_t *rec)
{
    const unsigned char  *p = v->mv_data;
    size_t                n = v->mv_size, il, wl;

    if (n < 3 || p[0] != 1) {
        return -1;
    }

    il = p[1];
    if (2 + il + 1 > n) {
        return -1;
    }

    wl = p[2 + il];
    if (3 + il + wl != n) {
        return -1;
    }

    rec->icp = (const char *) p + 2;
    rec->icp_len = il;
    rec->website_id = (const char *) p + 3 + il;
    rec->website_id_len = wl;
    return 0;
}


/* Lookup of key, of hash h, in the index: 1 found, 0 absent, -1 corrupt. */
static int
index_get(const beian_snap_t *snap, uint64_t h, const char *key, size_t len,
    beian_rec_t *rec)
{
    size_t                p, klen, end;
    unsigned              i, bit;
    uint32_t              home, line, last, koff, roff;
    MDB_val               v;
    const unsigned char  *f, *l, *k, *r;

    /* most misses end here, in a block that stays in cache */
    f = snap->ix_filter
        + (size_t) beian_index_block(h, snap->ix_blocks) * BEIAN_INDEX_LINE;

    for (i = 0; i < BEIAN_INDEX_FILTER_BITS; i++) {
        bit = beian_index_bit(h, i);
        if (!(f[bit >> 3] & (1U << (bit & 7)))) {
            return 0;
        }
    }

    home = beian_index_home(h, snap->ix_homes);
    l = snap->ix_lines + (size_t) home * BEIAN_INDEX_LINE;
    last = home + l[0];
    if (last >= snap->ix_nlines) {
        return -1;
    }

    for (line = home; line <= last; line++) {
        l = snap->ix_lines + (size_t) line * BEIAN_INDEX_LINE;

        for (p = 1; p < BEIAN_INDEX_LINE && l[p] != 0; p = end) {
            if (l[p] == 0xff) {
                end = p + 10;
                if (end > BEIAN_INDEX_LINE) {
                    return -1;
                }
                klen = l[p + 1];
                memcpy(&koff, l + p + 2, 4);
                memcpy(&roff, l + p + 6, 4);
                if (klen != len) {
                    continue;
                }
                if (koff > snap->ix_long_len
                    || klen > snap->ix_long_len - koff)
                {
                    return -1;
                }
                k = snap->ix_long + koff;

            } else {
                klen = l[p];
                end = p + 5 + klen;
                if (end > BEIAN_INDEX_LINE) {
                    return -1;
                }
                if (klen != len) {
                    continue;
                }
                k = l + p + 1;
                memcpy(&roff, l + p + 1 + klen, 4);
            }

            if (memcmp(k, key, len) == 0) {
                goto found;
            }
        }
    }

    return 0;

found:

    if (rec == NULL) {
        return 1;
    }

    /* the record: 0x01, icp length, icp, website id length, id */
    if (roff == 0 || roff >= snap->ix_recs_len) {
        return -1;
    }

    r = snap->ix_recs + roff;
    p = snap->ix_recs_len - roff;
    if (p < 3 || 3 + (size_t) r[1] > p || 3 + (size_t) r[1] + r[2 + r[1]] > p)
    {
        return -1;
    }

    v.mv_data = (void *) r;
    v.mv_size = 3 + (size_t) r[1] + r[2 + r[1]];

    return decode_rec(&v, rec) == 0 ? 1 : -1;
}


int
beian_snap_get(const beian_snap_t *snap, const char *key, size_t len,
    beian_rec_t *rec)
{
    int          rc;
    MDB_val      k, v;
    beian_rec_t  unused;

    if (snap->ix_filter != NULL) {
        return index_get(snap, beian_key_hash(snap->ix_seed, key, len), key,
                         len, rec);
    }

    k.mv_data = (void *) key;
    k.mv_size = len;

    rc = mdb_get(snap->txn, snap->domains, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    /* the tree has the value at hand: it is checked even when unwanted */
    if (rc != 0 || decode_rec(&v, rec ? rec : &unused) != 0) {
        return -1;
    }

    return 1;
}


int
beian_snap_get_first(const beian_snap_t *snap, const char *const *key,
    const size_t *len, size_t n, beian_rec_t *rec)
{
    size_t    i;
    uint64_t  h[BEIAN_SNAP_GET_MAX];

    if (n > BEIAN_SNAP_GET_MAX) {
        return -1;
    }

    if (snap->ix_filter == NULL) {
        for (i = 0; i < n; i++) {
            if (beian_snap_get(snap, key[i], len[i], rec) == 1) {
                return (int) i;
            }
        }
        return -1;
    }

    /*
     * Hashed once; the filter block and home line of every key asked for
     * first (hints, never faults), so that their cache misses overlap
     * instead of queueing one after another.
     */
    for (i = 0; i < n; i++) {
        h[i] = beian_key_hash(snap->ix_seed, key[i], len[i]);
        __builtin_prefetch(snap->ix_filter
                           + (size_t) beian_index_block(h[i], snap->ix_blocks)
                             * BEIAN_INDEX_LINE);
        __builtin_prefetch(snap->ix_lines
                           + (size_t) beian_index_home(h[i], snap->ix_homes)
                             * BEIAN_INDEX_LINE);
    }

    for (i = 0; i < n; i++) {
        if (index_get(snap, h[i], key[i], len[i], rec) == 1) {
            return (int) i;
        }
    }

    return -1;
}


int
beian_snap_foreach(const beian_snap_t *snap, beian_snap_iter_pt fn,
    void *data, char *err, size_t err_len)
{
    int          rc;
    MDB_cursor  *cur;
    MDB_val      k, v;
    beian_rec_t  rec;

    rc = mdb_cursor_open(snap->txn, snap->domains, &cur);
    if (rc != 0) {
        snprintf(err, err_len, "cursor: %s", mdb_strerror(rc));
        return -1;
    }

    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    {
        if (decode_rec(&v, &rec) != 0) {
            snprintf(err, err_len, "corrupt record for \"%.*s\"",
                     (int) (k.mv_size > 253 ? 253 : k.mv_size),
                     (const char *) k.mv_data);
            mdb_cursor_close(cur);
            return -1;
        }

        if (fn(k.mv_data, k.mv_size, &rec, data) != 0) {
            break;
        }
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        snprintf(err, err_len, "%s", mdb_strerror(rc));
        return -1;
    }

    return 0;
}


/*
 * The stored index value as it is, for beian-sync's digest and its check
 * against the tree.  0, or -1 when the snapshot has none.
 */
int
beian_snap_index_raw(const beian_snap_t *snap, const unsigned char **p,
    size_t *len)
{
    if (snap->ix_filter == NULL) {
        return -1;
    }

    *p = snap->ix_filter - BEIAN_IX_HDR;
    *len = BEIAN_IX_HDR
           + ((size_t) snap->ix_blocks + snap->ix_nlines) * BEIAN_INDEX_LINE
           + snap->ix_long_len + snap->ix_recs_len;
    return 0;
}


/*
 * Every entry the index holds, line by line in storage order, whether or
 * not a lookup would reach it: what the index could answer, to be held
 * against the tree.  -1 with err at the first entry that does not decode.
 */
int
beian_snap_index_foreach(const beian_snap_t *snap, beian_snap_iter_pt fn,
    void *data, char *err, size_t err_len)
{
    size_t                p, end, klen, left;
    uint32_t              line, koff, roff;
    MDB_val               v;
    beian_rec_t           rec;
    const unsigned char  *l, *k, *r;

    for (line = 0; snap->ix_filter != NULL && line < snap->ix_nlines; line++)
    {
        l = snap->ix_lines + (size_t) line * BEIAN_INDEX_LINE;

        for (p = 1; p < BEIAN_INDEX_LINE && l[p] != 0; p = end) {
            if (l[p] == 0xff) {
                end = p + 10;
                if (end > BEIAN_INDEX_LINE) {
                    goto corrupt;
                }
                klen = l[p + 1];
                memcpy(&koff, l + p + 2, 4);
                memcpy(&roff, l + p + 6, 4);
                if (koff > snap->ix_long_len
                    || klen > snap->ix_long_len - koff)
                {
                    goto corrupt;
                }
                k = snap->ix_long + koff;

            } else {
                klen = l[p];
                end = p + 5 + klen;
                if (end > BEIAN_INDEX_LINE) {
                    goto corrupt;
                }
                k = l + p + 1;
                memcpy(&roff, l + p + 1 + klen, 4);
            }

            if (roff == 0 || roff >= snap->ix_recs_len) {
                goto corrupt;
            }
            r = snap->ix_recs + roff;
            left = snap->ix_recs_len - roff;
            if (left < 3 || 3 + (size_t) r[1] > left
                || 3 + (size_t) r[1] + r[2 + r[1]] > left)
            {
                goto corrupt;
            }
            v.mv_data = (void *) r;
            v.mv_size = 3 + (size_t) r[1] + r[2 + r[1]];
            if (decode_rec(&v, &rec) != 0) {
                goto corrupt;
            }

            if (fn((const char *) k, klen, &rec, data) != 0) {
                return 0;
            }
        }
    }

    return 0;

corrupt:

    snprintf(err, err_len, "index line %" PRIu32 ", byte %zu: an entry that "
             "does not decode", line, p);
    return -1;
}
