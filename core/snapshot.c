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
#include "scan.h"


/*
 * A host beian_host_verdict_clean() found filed, by its length mod
 * BEIAN_RECENT: a request names the same few hosts again and again, and
 * one of them is known at the cost of a compare.  The handle's own, like
 * its read transaction: one process uses it, a new snapshot starts empty.
 */
#define BEIAN_RECENT  8

typedef struct {
    unsigned char  name[BEIAN_FAST_MAX];        /* zeros after the name */
    uint8_t        len;                         /* 0: none */
    uint8_t        flags;                       /* its subdomain rule */
} beian_recent_t;

_Static_assert(sizeof(beian_recent_t) == 64, "a recent host is a line");


/* The filter's patterns (beian_index_pattern()), the same for every
 * snapshot: computed at the first index opened. */
static uint64_t  index_masks[BEIAN_INDEX_MASKS];
static int       index_masks_ready;


struct beian_snap_s {
    struct stat    src;                 /* identity of the file copied */
    MDB_env       *env;
    MDB_txn       *txn;
    MDB_dbi        domains;
    beian_meta_t   meta;

    /* the optional hash index ("index" database, key "hash-v3") */
    const unsigned char  *ix_filter;    /* NULL: no index, use the tree */
    const unsigned char  *ix_buckets;
    const unsigned char  *ix_keys;
    const unsigned char  *ix_recs;
    uint64_t              ix_seed;
    uint32_t              ix_words;
    uint32_t              ix_homes;
    uint32_t              ix_nbuckets;
    uint32_t              ix_keys_len;
    uint32_t              ix_recs_len;

    /* the "index" database's one entry, of any version (for the digest) */
    MDB_val               ix_any_key;
    MDB_val               ix_any;

    /* filed hosts the clean path judged lately: a page of their own */
    beian_recent_t       *recent;
};

/* under malloc's large bins (chunks of 1024 bytes and up): see
 * beian_snap_open_copy() */
_Static_assert(sizeof(struct beian_snap_s) <= 1000, "a small handle");


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
    int          rc;
    MDB_dbi      dbi;
    MDB_val      k, v;
    MDB_stat     ms;
    MDB_cursor  *cur;
    uint64_t   over;
    unsigned   flags;
    uint32_t   i;
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

    /* its one entry, of whichever version: the digest covers it */
    rc = mdb_cursor_open(s->txn, dbi, &cur);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        mdb_cursor_close(cur);
    }
    if (rc != 0) {
        fail(err, err_len, path, "index: cannot read its entry: %s",
             mdb_strerror(rc));
        return -1;
    }

    s->ix_any_key = k;
    s->ix_any = v;

    /* another version's index (an older or a newer writer): the tree
     * answers */
    if (k.mv_size != sizeof(BEIAN_INDEX_KEY) - 1
        || memcmp(k.mv_data, BEIAN_INDEX_KEY, k.mv_size) != 0)
    {
        return 0;
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
     * The sizes: filter and home buckets are the writer's for this many
     * records, spill buckets follow the homes, and filter, buckets, keys
     * and records fill the value exactly (u32 terms: nothing wraps in u64).
     */
    if (hdr.count != s->meta.record_count
        || hdr.words != BEIAN_INDEX_WORDS(s->meta.record_count)
        || hdr.homes != BEIAN_INDEX_HOMES(s->meta.record_count)
        || hdr.buckets < hdr.homes
        || hdr.buckets - hdr.homes > BEIAN_INDEX_SPILL_MAX || hdr.zero != 0
        || hdr.keys_len < BEIAN_INDEX_KEYS_PAD
        || hdr.recs_len < 1 || (hdr.recs_len - 1) / BEIAN_REC_MIN < hdr.count
        || beian_index_size(hdr.words, hdr.buckets, hdr.keys_len,
                            hdr.recs_len) != v.mv_size)
    {
        fail(err, err_len, path, "index sizes do not fit: %" PRIu64
             " records, %u filter words, %u buckets (%u home), %u key "
             "and %u record bytes in a value of %zu; meta says %" PRIu64
             " records", hdr.count, hdr.words, hdr.buckets, hdr.homes,
             hdr.keys_len, hdr.recs_len, v.mv_size, s->meta.record_count);
        return -1;
    }

    /* read with memcpy(): a small value inline in its leaf is unaligned */
    s->ix_filter = (const unsigned char *) v.mv_data + BEIAN_INDEX_HDR;
    s->ix_buckets = s->ix_filter + (size_t) hdr.words * 8;
    s->ix_keys = s->ix_buckets + (size_t) hdr.buckets * BEIAN_INDEX_LINE;
    s->ix_recs = s->ix_keys + hdr.keys_len;
    s->ix_seed = hdr.seed;
    s->ix_words = hdr.words;
    s->ix_homes = hdr.homes;
    s->ix_nbuckets = hdr.buckets;
    s->ix_keys_len = hdr.keys_len;
    s->ix_recs_len = hdr.recs_len;

    if (!index_masks_ready) {
        for (i = 0; i < BEIAN_INDEX_MASKS; i++) {
            index_masks[i] = beian_index_pattern(i);
        }
        index_masks_ready = 1;
    }

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

    /*
     * The memory of filed hosts in a page of its own, the handle small: a
     * chunk over 1 KB freed on the heap (the master validates every
     * snapshot it loads) would lie in malloc's large bins for good, and
     * every request's pool would then take malloc's longer path in the
     * workers it forks (~10 instructions, bench/RESULTS.md).
     */
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fail(err, err_len, path, "out of memory");
        return NULL;
    }

    s->recent = mmap(NULL, BEIAN_RECENT * sizeof(beian_recent_t),
                     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (s->recent == MAP_FAILED) {
        s->recent = NULL;
        fail(err, err_len, path, "out of memory");
        goto failed;
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

    if (snap->recent) {
        munmap(snap->recent, BEIAN_RECENT * sizeof(beian_recent_t));
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


#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define BEIAN_WIDE  1

/*
 * The same for n = 1 .. 253 bytes where 8 bytes end at a + n and at b + n
 * (a key of the key area, after its padding; the end of a host of 8 bytes
 * or more): whole 8-byte loads, overlapping, none outside.
 */
static inline int
key_eq_wide(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t    i;
    uint64_t  x, y;

    if (n <= 8) {
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return ((x ^ y) >> (64 - 8 * n)) == 0;
    }

    for (i = 0; i + 8 < n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) {
            return 0;
        }
    }

    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
}

#else
#define BEIAN_WIDE  0
#define key_eq_wide  key_eq
#endif


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


/* Whether the filter may hold the key of hash h: its bits all set. */
static inline int
index_maybe(const beian_snap_t *snap, uint64_t h)
{
    uint64_t  w, m;

    memcpy(&w, snap->ix_filter
               + (size_t) beian_index_word(h, snap->ix_words) * 8, 8);
    m = index_masks[beian_index_mask_of(h)];

    return (w & m) == m;
}


/* Bucket fields (beian_index_bucket_t), read with memcpy(): a small
 * index value, inline in its leaf, is not aligned. */
#define B_KOFF   16
#define B_ROFF   32
#define B_LEN    48
#define B_SPILL  52

/* The slots of bucket b whose check is c, as bits 0 .. 3. */
#if defined(__SSE2__) && !defined(BEIAN_NO_SIMD)

#include <emmintrin.h>

static inline unsigned
slots_of(const unsigned char *b, uint32_t c)
{
    __m128i  v;

    v = _mm_loadu_si128((const __m128i *) (const void *) b);

    return (unsigned) _mm_movemask_ps(_mm_castsi128_ps(
               _mm_cmpeq_epi32(v, _mm_set1_epi32((int) c))));
}

#else

static inline unsigned
slots_of(const unsigned char *b, uint32_t c)
{
    unsigned  i, m;
    uint32_t  x;

    for (m = 0, i = 0; i < BEIAN_INDEX_SLOTS; i++) {
        memcpy(&x, b + 4 * i, 4);
        m |= (unsigned) (x == c) << i;
    }

    return m;
}

#endif


/*
 * The slot of key (len bytes, of hash h) in its home bucket or the spill
 * after it: 1 found (*roff its record), 0 absent, -1 corrupt.  wide: the
 * key is the end of a host of 8 bytes or more (key_eq_wide()).
 */
static inline __attribute__((always_inline)) int
index_find(const beian_snap_t *snap, uint64_t h, const unsigned char *key,
    size_t len, int wide, uint32_t *roff)
{
    unsigned              m, i;
    uint32_t              home, last, koff;
    const unsigned char  *b, *end;

    home = beian_index_home(h, snap->ix_homes);
    b = snap->ix_buckets + (size_t) home * BEIAN_INDEX_LINE;
    end = NULL;

    for ( ;; ) {
        for (m = slots_of(b, beian_index_check(h)); m != 0; m &= m - 1) {
            i = (unsigned) __builtin_ctz(m);
            if (b[B_LEN + i] != len) {
                continue;
            }

            /* inside the key area, after its padding (len equals a u8
             * here: koff + len cannot wrap) */
            memcpy(&koff, b + B_KOFF + 4 * i, 4);
            if (koff < BEIAN_INDEX_KEYS_PAD
                || (size_t) koff + len > snap->ix_keys_len)
            {
                return -1;
            }

            if (wide ? key_eq_wide(snap->ix_keys + koff, key, len)
                     : key_eq(snap->ix_keys + koff, key, len))
            {
                memcpy(roff, b + B_ROFF + 4 * i, 4);
                return 1;
            }
        }

        /* not in its home: in the home's spill, if any */
        if (end == NULL) {
            last = home + b[B_SPILL];
            if (last >= snap->ix_nbuckets) {
                return -1;
            }
            end = snap->ix_buckets + (size_t) last * BEIAN_INDEX_LINE;
        }

        if (b == end) {
            return 0;
        }

        b += BEIAN_INDEX_LINE;
    }
}


/* Lookup of key, of hash h: 1 found, 0 absent, -1 corrupt. */
static inline __attribute__((always_inline)) int
index_get(const beian_snap_t *snap, uint64_t h, const unsigned char *key,
    size_t len, int wide, beian_rec_t *rec)
{
    int       rc;
    uint32_t  roff;

    /* most misses end here, in a filter that stays in cache */
    if (!index_maybe(snap, h)) {
        return 0;
    }

    rc = index_find(snap, h, key, len, wide, &roff);
    if (rc != 1 || rec == NULL) {
        return rc;
    }

    return index_rec(snap, roff, rec) == 0 ? 1 : -1;
}


int
beian_snap_get(const beian_snap_t *snap, const char *key, size_t len,
    beian_rec_t *rec)
{
    int          rc;
    MDB_val      k, v;
    beian_rec_t  unused;

    if (snap->ix_filter != NULL) {
        return index_get(snap, beian_index_hash(snap->ix_seed, key, len),
                         (const unsigned char *) key, len, 0, rec);
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


/* The low i bytes of a word. */
static const uint64_t  low_bytes[8] = {
    0, 0xff, 0xffff, 0xffffff, 0xffffffffULL, 0xffffffffffULL,
    0xffffffffffffULL, 0xffffffffffffffULL
};


/*
 * The hash of the suffix at st of a name p of len bytes (at most
 * BEIAN_DOMAIN_MAX), one step of a pass from the right: *s holds the
 * state after the whole words from p + *rest to the end (*rest >= st, a
 * multiple of 8 away from len; the pass starts with the seed and len).
 * The words down to st are folded into *s; the rest - st (0 .. 7) bytes
 * at st are the partial word (beian_index_hash()): the low ones of the 8
 * from st, or for a suffix under 8 bytes the top of the name's last 8 (a
 * shift mod 64).  8 bytes must be readable before the name's end (a
 * name of 8 bytes or more; a shorter one copied to the end of 8); every
 * load ends at or before it.
 */
static inline __attribute__((always_inline)) uint64_t
suffix_hash(const unsigned char *p, size_t len, size_t st, size_t *rest,
    uint64_t *s)
{
    size_t    k;
    uint64_t  t, w;

    while (*rest >= st + 8) {
        *rest -= 8;
        memcpy(&w, p + *rest, 8);
        *s = beian_index_chunk(*s, w);
    }

    t = *s;
    k = *rest - st;

    if (k != 0) {
        if (len - st >= 8) {
            memcpy(&w, p + st, 8);
            w &= low_bytes[k];

        } else {
            memcpy(&w, p + len - 8, 8);
            w >>= (0 - 8 * k) & 63;
        }

        t = beian_index_chunk(t, w);
    }

    return beian_index_fin(t ^ (len - st));
}


/*
 * The verdict with the index, for a name of 8 .. 253 bytes: the suffixes
 * at start[0 .. n) (ascending) from the shortest, each hash from the
 * state of the one before (suffix_hash()).  Each is probed as its hash is
 * known, so the last one found is the longest, the match: its i, or -1.
 * any: the first one found will do (the verdict alone needs no more than
 * one filed suffix); it ends the search.
 */
static inline __attribute__((always_inline)) int
suffix_find(const beian_snap_t *snap, const unsigned char *p, size_t len,
    const uint8_t *start, size_t n, int any)
{
    int       found;
    size_t    j, st, rest;
    uint32_t  roff;
    uint64_t  s, h;

    found = -1;
    s = snap->ix_seed;
    rest = len;

    for (j = n; j-- > 0; ) {
        st = start[j];
        h = suffix_hash(p, len, st, &rest, &s);

        if (index_maybe(snap, h)
            && index_find(snap, h, p + st, len - st, 1, &roff) == 1)
        {
            found = (int) j;

            if (any) {
                break;
            }
        }
    }

    return found;
}


int
beian_snap_get_suffix(const beian_snap_t *snap, const char *name,
    size_t len, const uint8_t *start, size_t n, beian_rec_t *rec)
{
    size_t  i;

    if (n > BEIAN_LABELS_MAX) {
        return -1;
    }

    /* the verdict alone, with the index: one pass; else each on its own */
    if (rec == NULL && snap->ix_filter != NULL && BEIAN_WIDE && len >= 8
        && len <= BEIAN_DOMAIN_MAX)
    {
        return suffix_find(snap, (const unsigned char *) name, len, start,
                           n, 0);
    }

    for (i = 0; i < n; i++) {
        if (beian_snap_get(snap, name + start[i], len - start[i], rec) == 1) {
            return (int) i;
        }
    }

    return -1;
}


/*
 * The match rule for a parsed host (docs/matching.md); here, beside the
 * suffix lookups, so that a verdict is one call.
 */
beian_status_t
beian_match_host(const beian_snap_t *snap, beian_host_class_t cls,
    const beian_host_t *h, unsigned flags, beian_match_t *m)
{
    int     i;
    size_t  nc;

    m->rec.icp = NULL;
    m->rec.icp_len = 0;
    m->rec.website_id = NULL;
    m->rec.website_id_len = 0;
    m->domain = NULL;
    m->domain_len = 0;

    /* a checked domain is never longer, nor has more labels */
    if (cls != BEIAN_HOST_DOMAIN || snap == NULL
        || h->len > BEIAN_DOMAIN_MAX || h->nlabels - 2 > BEIAN_LABELS_MAX - 2)
    {
        switch (cls) {
        case BEIAN_HOST_NONE:
            return m->status = BEIAN_NOHOST;
        case BEIAN_HOST_IP:
            return m->status = BEIAN_IP;
        default:
            return m->status = BEIAN_UNFILED;
        }
    }

    /* the candidates: the host, then with subdomains each parent suffix
     * on a label boundary, down to two labels */
    nc = (flags & BEIAN_MATCH_SUBDOMAINS) ? h->nlabels - 1 : 1;

    /* a corrupt value never allows: treated as absent */
    if ((flags & BEIAN_MATCH_NO_RECORD) && snap->ix_filter != NULL
        && BEIAN_WIDE && h->len >= 8)
    {
        i = suffix_find(snap, (const unsigned char *) h->name, h->len,
                        h->label, nc, 1);

    } else {
        i = beian_snap_get_suffix(snap, h->name, h->len, h->label, nc,
                                  (flags & BEIAN_MATCH_NO_RECORD) ? NULL
                                                                  : &m->rec);
        if (i < 0) {
            m->rec.icp = NULL;
            m->rec.icp_len = 0;
            m->rec.website_id = NULL;
            m->rec.website_id_len = 0;
        }
    }

    if (i < 0) {
        return m->status = BEIAN_UNFILED;
    }

    /* the status alone: the filed suffix found is not the match */
    if (!(flags & BEIAN_MATCH_NO_RECORD)) {
        m->domain = h->name + h->label[i];
        m->domain_len = h->len - h->label[i];
    }

    return m->status = BEIAN_FILED;
}



/*
 * beian_host_verdict() for any host: the parse and the match, each in
 * full.  Out of line, for the common host's path keeps a small frame.
 */
static __attribute__((noinline)) beian_verdict_t
verdict_slow(const beian_snap_t *snap, const char *host, size_t len,
    unsigned flags, char *buf)
{
    beian_host_t        h;
    beian_match_t       m;
    beian_verdict_t     v;
    beian_host_class_t  cls;

    cls = beian_host_parse(host, len, buf, &h);

    v.status = beian_match_host(snap, cls, &h, flags | BEIAN_MATCH_NO_RECORD,
                                &m);
    v.name = (cls == BEIAN_HOST_INVALID) ? NULL : h.name;
    v.len = (uint32_t) h.len;

    return v;
}


/*
 * Whether a suffix of the host p (n bytes, 1 .. BEIAN_FAST_MAX, its label
 * boundaries dots, not 0) is filed: the candidates are taken from dots,
 * from the shortest (two labels) to the host itself, each hash a step of
 * one pass from the right (suffix_hash()), until one is found.  A host
 * under 8 bytes is judged from a copy at the end of 8 bytes of buf, so
 * that every load may take the 8 ending at a key's end.
 */
static inline __attribute__((always_inline)) int
verdict_probe(const beian_snap_t *snap, const unsigned char *p, size_t n,
    uint64_t dots, unsigned flags, char *buf)
{
    size_t    st, rest;
    uint32_t  roff;
    uint64_t  c, s, h, w;

    if (n < 8) {
        w = beian_load_tail(p, n) << (8 * (8 - n));
        memcpy(buf, &w, 8);
        p = (const unsigned char *) buf + 8 - n;
    }

    /* the candidates' starts: the host's, and with subdomains each one
     * after a dot but the last (two labels at least) */
    c = 1;
    if (flags & BEIAN_MATCH_SUBDOMAINS) {
        c |= (dots << 1) & ~((uint64_t) 1 << (64 - __builtin_clzll(dots)));
    }

    s = snap->ix_seed;
    rest = n;

    do {
        st = (size_t) (63 - __builtin_clzll(c));
        c ^= (uint64_t) 1 << st;

        h = suffix_hash(p, n, st, &rest, &s);

        /* a corrupt slot never allows: treated as absent */
        if (index_maybe(snap, h)
            && index_find(snap, h, p + st, n - st, 1, &roff) == 1)
        {
            return 1;
        }
    } while (c != 0);

    return 0;
}


/*
 * The verdict on a host the domain rules did not pass (rc: what
 * beian_scan_domain() said, or -1 for a host the scan left to the full
 * rule; n: its length without a trailing dot): the full rule for -1, else
 * unfiled, naming nothing.  Out of line: the common hosts never come here.
 */
static __attribute__((noinline)) beian_verdict_t
verdict_not_domain(const beian_snap_t *snap, const char *host, size_t len,
    unsigned flags, char *buf, int rc, size_t n)
{
    beian_verdict_t  v;

    if (rc < 0) {
        return verdict_slow(snap, host, len, flags, buf);
    }

    v.name = NULL;
    v.len = (uint32_t) n;
    v.status = BEIAN_UNFILED;

    return v;
}


/* The common host, checked as it is scanned (core/scan.h). */
static __attribute__((noinline)) beian_verdict_t
verdict_strict(const beian_snap_t *snap, const char *host, size_t len,
    unsigned flags, char *buf)
{
    int                   rc;
    size_t                n;
    uint64_t              dots, dashes;
    beian_verdict_t       v;
    const unsigned char  *p = (const unsigned char *) host;

    n = len;
    rc = -1;

    if (beian_scan(p, len, &dots, &dashes) == 0) {
        rc = beian_scan_domain(p, len, &dots, dashes, &n);
    }

    if (rc != BEIAN_HOST_DOMAIN) {
        return verdict_not_domain(snap, host, len, flags, buf, rc, n);
    }

    v.name = host;
    v.len = (uint32_t) n;
    v.status = verdict_probe(snap, p, n, dots, flags, buf) ? BEIAN_FILED
                                                           : BEIAN_UNFILED;

    return v;
}


static beian_verdict_t verdict_found(beian_snap_t *snap, const char *host,
    size_t len, unsigned flags, char *buf, beian_scan_keep_t keep);
static beian_verdict_t verdict_clean_last(const beian_snap_t *snap,
    const char *host, size_t len, unsigned flags, char *buf);

/* The last bytes of a host in nginx's form that the clean path leaves to
 * the full rule: an address's ("1.2.3.4", "[::1]"), a trailing dot. */
static const unsigned char  clean_last[256] = {
    ['.'] = 1, [']'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1
};


/*
 * The common host under BEIAN_MATCH_CLEAN: the dots alone are found, and
 * the host is checked once a suffix is found filed (the candidates were
 * the ones a valid domain has, so a valid one is filed, an invalid one
 * not).  An address ("1.2.3.4", "[::1]") or a trailing dot takes the full
 * rule (clean_last).  A host found filed is remembered (beian_recent_t).
 */
beian_verdict_t
beian_host_verdict_clean(beian_snap_t *snap, const char *host, size_t len,
    unsigned flags, char *buf)
{
    unsigned              sub;
    uint64_t              dots;
    beian_recent_t       *r;
    beian_verdict_t       v;
    beian_scan_keep_t     keep;
    const unsigned char  *p = (const unsigned char *) host;

    if (snap == NULL || snap->ix_filter == NULL || !BEIAN_WIDE
        || len - 1 >= BEIAN_FAST_MAX)
    {
        return verdict_slow(snap, host, len, flags, buf);
    }

    if (clean_last[p[len - 1]]) {
        return verdict_clean_last(snap, host, len, flags, buf);
    }

    v.name = host;
    v.len = (uint32_t) len;
    v.status = BEIAN_FILED;

    keep = beian_scan_keep(p, len);
    sub = flags & BEIAN_MATCH_SUBDOMAINS;

    r = &snap->recent[len % BEIAN_RECENT];
    if (r->len == len && r->flags == sub
        && beian_scan_same(r->name, p, len, keep))
    {
        return v;
    }

    v.status = BEIAN_UNFILED;

    dots = beian_scan_dots(p, len, keep);

    if (dots == 0 || !verdict_probe(snap, p, len, dots, flags, buf)) {
        return v;
    }

    return verdict_found(snap, host, len, flags, buf, keep);
}


/*
 * A host in nginx's form whose last byte is in clean_last: an IPv4 address
 * as nginx hands it over (it dropped any port), or the full rule.
 */
static __attribute__((noinline)) beian_verdict_t
verdict_clean_last(const beian_snap_t *snap, const char *host, size_t len,
    unsigned flags, char *buf)
{
    beian_verdict_t  v;

    if (beian_ipv4_check(host, len)) {
        v.name = host;
        v.len = (uint32_t) len;
        v.status = BEIAN_IP;
        return v;
    }

    return verdict_slow(snap, host, len, flags, buf);
}


/*
 * The clean path once a filed suffix was found: the host is checked now,
 * and a valid one is remembered.  Out of line: the probe loop beside it
 * keeps its registers.
 */
static __attribute__((noinline)) beian_verdict_t
verdict_found(beian_snap_t *snap, const char *host, size_t len,
    unsigned flags, char *buf, beian_scan_keep_t keep)
{
    int                   rc;
    size_t                n;
    uint64_t              dots, dashes;
    beian_recent_t       *r;
    beian_verdict_t       v;
    const unsigned char  *p = (const unsigned char *) host;

    n = len;
    rc = -1;

    if (beian_scan_again(p, len, keep, &dots, &dashes) == 0) {
        rc = beian_scan_domain(p, len, &dots, dashes, &n);
    }

    if (rc != BEIAN_HOST_DOMAIN) {
        return verdict_not_domain(snap, host, len, flags, buf, rc, n);
    }

    r = &snap->recent[len % BEIAN_RECENT];
    beian_scan_store(r->name, p, len, keep);
    r->len = (uint8_t) len;
    r->flags = (uint8_t) (flags & BEIAN_MATCH_SUBDOMAINS);

    v.name = host;
    v.len = (uint32_t) len;
    v.status = BEIAN_FILED;

    return v;
}


/* Any host: the common one (up to BEIAN_FAST_MAX bytes, with the index)
 * checked as it is scanned. */
beian_verdict_t
beian_host_verdict_strict(beian_snap_t *snap, const char *host, size_t len,
    unsigned flags, char *buf)
{
    if (snap == NULL || snap->ix_filter == NULL || !BEIAN_WIDE
        || len - 1 >= BEIAN_FAST_MAX)
    {
        return verdict_slow(snap, host, len, flags, buf);
    }

    return verdict_strict(snap, host, len, flags, buf);
}


/* Whether the name is [a-z0-9.-] alone (core/scan.h for the common one). */
int
beian_host_plain(const char *name, size_t len)
{
    size_t    i;
    uint64_t  dots, dashes;

    if (len - 1 < BEIAN_FAST_MAX) {
        return beian_scan((const unsigned char *) name, len, &dots, &dashes)
               == 0;
    }

    for (i = 0; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '-' || name[i] == '.'))
        {
            return 0;
        }
    }

    return 1;
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
    *len = (size_t) beian_index_size(snap->ix_words, snap->ix_nbuckets,
                                     snap->ix_keys_len, snap->ix_recs_len);
    return 0;
}


int
beian_snap_index_entry(const beian_snap_t *snap, const char **key,
    size_t *key_len, const unsigned char **p, size_t *len)
{
    if (snap->ix_any.mv_data == NULL) {
        return -1;
    }

    *key = snap->ix_any_key.mv_data;
    *key_len = snap->ix_any_key.mv_size;
    *p = snap->ix_any.mv_data;
    *len = snap->ix_any.mv_size;
    return 0;
}


/*
 * Every key the index holds, bucket by bucket and slot by slot in storage
 * order, whether or not a lookup would reach it: what the index could
 * answer, to be held against the tree.  -1 with err at the first slot that
 * does not decode.
 */
int
beian_snap_index_foreach(const beian_snap_t *snap, beian_snap_iter_pt fn,
    void *data, char *err, size_t err_len)
{
    size_t                len;
    unsigned              i;
    uint32_t              b, koff, roff;
    beian_rec_t           rec;
    const unsigned char  *p;

    for (b = 0; snap->ix_filter != NULL && b < snap->ix_nbuckets; b++) {
        p = snap->ix_buckets + (size_t) b * BEIAN_INDEX_LINE;

        for (i = 0; i < BEIAN_INDEX_SLOTS; i++) {
            len = p[B_LEN + i];
            if (len == 0) {
                continue;
            }

            memcpy(&koff, p + B_KOFF + 4 * i, 4);
            memcpy(&roff, p + B_ROFF + 4 * i, 4);

            if (koff < BEIAN_INDEX_KEYS_PAD || koff > snap->ix_keys_len
                || len > snap->ix_keys_len - koff
                || index_rec(snap, roff, &rec) != 0)
            {
                snprintf(err, err_len, "index bucket %" PRIu32 ", slot %u: "
                         "an entry that does not decode", b, i);
                return -1;
            }

            if (fn((const char *) snap->ix_keys + koff, len, &rec, data)
                != 0)
            {
                return 0;
            }
        }
    }

    return 0;
}
