/*
 * The LMDB page check: a structural check of the whole snapshot file,
 * before LMDB reads any of it (core/snapshot.c calls it at open).
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

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beian_write.h"
#include "lmdb_check.h"

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
    char                 *err;
    size_t                err_len;
} lm_walk_t;


static void
lm_fail(lm_walk_t *w, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(w->err, w->err_len, fmt, ap);
    va_end(ap);
}


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
    lm_fail(w, "corrupt: %s (page %" PRIu64 ")",
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
        lm_fail(w, "not an LMDB file");
        return -1;
    }

    if (lm32(m0 + LM_PAGEHDRSZ + 4) != LM_VERSION
        || lm32(m1 + LM_PAGEHDRSZ + 4) != LM_VERSION)
    {
        lm_fail(w, "written by an incompatible LMDB "
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
        lm_fail(w, "corrupt: bad meta pages "
             "(page size %" PRIu64 ")", psize);
        return -1;
    }

    /* pages past the end of a truncated file would SIGBUS on access */
    w->psize = psize;
    w->last = lm64(m + LM_PAGEHDRSZ + 120);
    if (w->last >= size / psize) {
        need = w->last < UINT64_MAX / psize - 1 ? (w->last + 1) * psize
                                                : UINT64_MAX;
        lm_fail(w, "truncated: %" PRIu64 " bytes, "
             "the file needs %" PRIu64, size, need);
        return -1;
    }

    w->seen = calloc(w->last / 8 + 1, 1);
    if (w->seen == NULL) {
        lm_fail(w, "out of memory");
        return -1;
    }

    lm_db(m + LM_PAGEHDRSZ + 24 + LM_DB_SIZE, &main_db);
    return lm_tree(w, &main_db, 1);
}


int
beian_lmdb_check(const unsigned char *map, uint64_t size, char *err,
    size_t err_len)
{
    int        rc;
    lm_walk_t  w;

    memset(&w, 0, sizeof(w));
    w.map = map;
    w.err = err;
    w.err_len = err_len;

    rc = lm_check(&w, size);
    free(w.seen);
    return rc;
}
