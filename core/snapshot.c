/*
 * Snapshot reader (docs/snapshot-format.md).
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

#include "beian_write.h"
#include "index.h"
#include "lmdb_check.h"


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
 * The hash index (core/index.h): its header is checked at open (O(1)),
 * every offset on lookup, so a damaged table can make a lookup fail (-1)
 * or miss (0) but never read outside its value.  Snapshots without it, or
 * with an index of another version, are read through the tree.
 */


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
    return beian_index_hash(seed, key, len);
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
    char         why[BEIAN_ERR_MAX];
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

        rc = beian_lmdb_check(map, (uint64_t) st.st_size, why, sizeof(why));
        munmap(map, (size_t) st.st_size);
        if (rc != 0) {
            fail(err, err_len, path, "%s", why);
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

    if (v.mv_size < BEIAN_INDEX_HDR) {
        fail(err, err_len, path, "index value too short (%zu bytes)",
             v.mv_size);
        return -1;
    }

    memcpy(&hdr, v.mv_data, sizeof(hdr));

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
        || hdr.lines - hdr.homes > BEIAN_INDEX_SPILL_MAX || hdr.zero != 0
        || hdr.recs_len < 1 || (hdr.recs_len - 1) / BEIAN_REC_MIN < hdr.count
        || beian_index_size(hdr.blocks, hdr.lines, hdr.long_len,
                            hdr.recs_len) != v.mv_size)
    {
        fail(err, err_len, path, "index sizes do not fit: %" PRIu64
             " records, %u filter blocks, %u lines (%u home), %u long-key "
             "and %u record bytes in a value of %zu; meta says %" PRIu64
             " records", hdr.count, hdr.blocks, hdr.lines, hdr.homes,
             hdr.long_len, hdr.recs_len, v.mv_size, s->meta.record_count);
        return -1;
    }

    s->ix_filter = (const unsigned char *) v.mv_data + BEIAN_INDEX_HDR;
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

    /* checked before LMDB touches it: see core/lmdb_check.c */
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
     * every page counted must be in the file (core/lmdb_check.c has made
     * sure the counts are the real ones).
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
/* Whether n bytes at a and b are equal: memcmp() without the call. */
static inline int
key_eq(const unsigned char *a, const unsigned char *b, size_t n)
{
    uint64_t  x, y;

    for ( ; n >= 8; a += 8, b += 8, n -= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) {
            return 0;
        }
    }

    return beian_load_tail(a, n) == beian_load_tail(b, n);
}


/* The record at offset roff of the index's record bytes: 0, or -1. */
static int
index_rec(const beian_snap_t *snap, uint32_t roff, beian_rec_t *rec)
{
    size_t  n;

    if (roff == 0 || roff >= snap->ix_recs_len) {
        return -1;
    }

    n = beian_rec_span(snap->ix_recs + roff, snap->ix_recs_len - roff);

    return n != 0 ? beian_rec_get(snap->ix_recs + roff, n, rec) : -1;
}


/* The filter block of hash h. */
static inline const unsigned char *
index_block(const beian_snap_t *snap, uint64_t h)
{
    return snap->ix_filter
           + (size_t) beian_index_block(h, snap->ix_blocks) * BEIAN_INDEX_LINE;
}


/*
 * Lookup of key, of hash h, filter block f and home line home, in the
 * index: 1 found, 0 absent, -1 corrupt.
 */
static inline __attribute__((always_inline)) int
index_get(const beian_snap_t *snap, uint64_t h, const unsigned char *f,
    uint32_t home, const char *key, size_t len, beian_rec_t *rec)
{
    size_t                p, klen, end;
    unsigned              i, bit;
    uint32_t              line, last, koff, roff;
    const unsigned char  *l;

    /* most misses end here, in a block that stays in cache */

    for (i = 0; i < BEIAN_INDEX_FILTER_BITS; i++) {
        bit = beian_index_bit(h, i);
        if (!(f[bit >> 3] & (1U << (bit & 7)))) {
            return 0;
        }
    }

    l = snap->ix_lines + (size_t) home * BEIAN_INDEX_LINE;
    last = home + l[0];
    if (last >= snap->ix_nlines) {
        return -1;
    }

    for (line = home; line <= last; line++) {
        l = snap->ix_lines + (size_t) line * BEIAN_INDEX_LINE;

        /*
         * Entries until a 0 byte or the end of the line: a short one
         * (1 + klen + 4 bytes) of the key's length is compared first, the
         * rest stepped over; one that runs past the line is corrupt.
         */
        for (p = 1; p < BEIAN_INDEX_LINE; p = end) {
            klen = l[p];

            if (klen == len) {
                end = p + BEIAN_INDEX_SHORT_SIZE(klen);
                if (end > BEIAN_INDEX_LINE) {
                    return -1;
                }
                if (key_eq(l + p + 1, (const unsigned char *) key, len)) {
                    roff = beian_index_short_roff(l + p);
                    goto found;
                }
                continue;
            }

            if (klen == 0) {
                break;
            }

            if (klen != BEIAN_INDEX_LONG_MARK) {
                end = p + BEIAN_INDEX_SHORT_SIZE(klen);
                continue;
            }

            /* a long key: its bytes in the long keys */
            end = p + BEIAN_INDEX_LONG_SIZE;
            if (end > BEIAN_INDEX_LINE) {
                return -1;
            }
            if (l[p + 1] != len) {
                continue;
            }
            beian_index_long_get(l + p, &koff, &roff);
            if (koff > snap->ix_long_len || len > snap->ix_long_len - koff) {
                return -1;
            }
            if (key_eq(snap->ix_long + koff, (const unsigned char *) key,
                       len))
            {
                goto found;
            }
        }

        if (p > BEIAN_INDEX_LINE) {
            return -1;
        }
    }

    return 0;

found:

    if (rec == NULL) {
        return 1;
    }

    return index_rec(snap, roff, rec) == 0 ? 1 : -1;
}


int
beian_snap_get(const beian_snap_t *snap, const char *key, size_t len,
    beian_rec_t *rec)
{
    int          rc;
    uint64_t     h;
    MDB_val      k, v;
    beian_rec_t  unused;

    if (snap->ix_filter != NULL) {
        h = beian_index_hash(snap->ix_seed, key, len);
        return index_get(snap, h, index_block(snap, h),
                         beian_index_home(h, snap->ix_homes), key, len, rec);
    }

    k.mv_data = (void *) key;
    k.mv_size = len;

    rc = mdb_get(snap->txn, snap->domains, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    /* the tree has the value at hand: it is checked even when unwanted */
    if (rc != 0 || beian_rec_get(v.mv_data, v.mv_size, rec ? rec : &unused)
                   != 0)
    {
        return -1;
    }

    return 1;
}


int
beian_snap_get_suffix(const beian_snap_t *snap, const char *name,
    size_t len, const uint8_t *start, size_t n, beian_rec_t *rec)
{
    size_t                i;
    uint32_t              home[BEIAN_LABELS_MAX];
    uint64_t              h[BEIAN_LABELS_MAX];
    const unsigned char  *f[BEIAN_LABELS_MAX];

    if (n > BEIAN_LABELS_MAX) {
        return -1;
    }

    if (snap->ix_filter == NULL) {
        for (i = 0; i < n; i++) {
            if (beian_snap_get(snap, name + start[i], len - start[i], rec)
                == 1)
            {
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
        h[i] = beian_index_hash(snap->ix_seed, name + start[i], len - start[i]);
        f[i] = index_block(snap, h[i]);
        home[i] = beian_index_home(h[i], snap->ix_homes);
        __builtin_prefetch(f[i]);
        __builtin_prefetch(snap->ix_lines
                           + (size_t) home[i] * BEIAN_INDEX_LINE);
    }

    for (i = 0; i < n; i++) {
        if (index_get(snap, h[i], f[i], home[i], name + start[i],
                      len - start[i], rec)
            == 1)
        {
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
        if (beian_rec_get(v.mv_data, v.mv_size, &rec) != 0) {
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

    *p = snap->ix_filter - BEIAN_INDEX_HDR;
    *len = (size_t) beian_index_size(snap->ix_blocks, snap->ix_nlines,
                                     snap->ix_long_len, snap->ix_recs_len);
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
    size_t                p, end, klen;
    uint32_t              line, koff, roff;
    beian_rec_t           rec;
    const unsigned char  *l, *k;

    for (line = 0; snap->ix_filter != NULL && line < snap->ix_nlines; line++)
    {
        l = snap->ix_lines + (size_t) line * BEIAN_INDEX_LINE;

        for (p = 1; p < BEIAN_INDEX_LINE && l[p] != 0; p = end) {
            if (l[p] == BEIAN_INDEX_LONG_MARK) {
                end = p + BEIAN_INDEX_LONG_SIZE;
                if (end > BEIAN_INDEX_LINE) {
                    goto corrupt;
                }
                klen = l[p + 1];
                beian_index_long_get(l + p, &koff, &roff);
                if (koff > snap->ix_long_len
                    || klen > snap->ix_long_len - koff)
                {
                    goto corrupt;
                }
                k = snap->ix_long + koff;

            } else {
                klen = l[p];
                end = p + BEIAN_INDEX_SHORT_SIZE(klen);
                if (end > BEIAN_INDEX_LINE) {
                    goto corrupt;
                }
                k = l + p + 1;
                roff = beian_index_short_roff(l + p);
            }

            if (index_rec(snap, roff, &rec) != 0) {
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
