/*
 * Snapshot reader (DESIGN.md §3).
 *
 * The file is never modified in place (writers rename a new one over it),
 * so it is opened with MDB_NOLOCK and one read transaction is kept for the
 * life of the handle: a lookup is a single mdb_get() with no allocation.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "beian.h"


struct beian_snap_s {
    MDB_env       *env;
    MDB_txn       *txn;
    MDB_dbi        domains;
    beian_meta_t   meta;
};


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
    int          rc;
    MDB_dbi      dbi;
    uint64_t     v;
    char         buf[32];
    size_t       i;
    beian_meta_t *m = &s->meta;

    static const char *const required[] = {
        "schema_version", "instance_id", "generated_at", "source",
        "record_count", "digest"
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

    for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        char  *dst = buf;
        size_t size = sizeof(buf);

        if (strcmp(required[i], "instance_id") == 0) {
            dst = m->instance_id;
            size = sizeof(m->instance_id);
        } else if (strcmp(required[i], "source") == 0) {
            dst = m->source;
            size = sizeof(m->source);
        } else if (strcmp(required[i], "digest") == 0) {
            dst = m->digest;
            size = sizeof(m->digest);
        }

        rc = meta_get(s->txn, dbi, required[i], dst, size);
        if (rc == MDB_NOTFOUND) {
            fail(err, err_len, path, "missing meta key \"%s\"", required[i]);
            return -1;
        }
        if (rc != 0) {
            fail(err, err_len, path, "bad meta value for \"%s\"",
                 required[i]);
            return -1;
        }

        if (dst != buf) {
            continue;
        }

        if (parse_u64(buf, &v) != 0) {
            fail(err, err_len, path, "meta \"%s\" is not a number: \"%s\"",
                 required[i], buf);
            return -1;
        }

        if (strcmp(required[i], "schema_version") == 0) {
            if (v != BEIAN_SCHEMA_VERSION) {
                fail(err, err_len, path, "unknown schema version %" PRIu64
                     " (this build reads %d)", v, BEIAN_SCHEMA_VERSION);
                return -1;
            }
            m->schema_version = (unsigned) v;

        } else if (strcmp(required[i], "generated_at") == 0) {
            m->generated_at = (int64_t) v;

        } else {
            m->record_count = v;
        }
    }

    return 0;
}


beian_snap_t *
beian_snap_open(const char *path, char *err, size_t err_len)
{
    int            rc;
    unsigned int   flags;
    struct stat    st;
    MDB_envinfo    info;
    MDB_stat       ms;
    beian_snap_t  *s;

    if (stat(path, &st) != 0) {
        fail(err, err_len, path, "%s", strerror(errno));
        return NULL;
    }

    if (!S_ISREG(st.st_mode)) {
        fail(err, err_len, path, "not a regular file");
        return NULL;
    }

    if (st.st_size == 0) {
        fail(err, err_len, path, "empty file (0 bytes)");
        return NULL;
    }

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        fail(err, err_len, path, "out of memory");
        return NULL;
    }

    rc = mdb_env_create(&s->env);
    if (rc == 0) {
        rc = mdb_env_set_maxdbs(s->env, 2);
    }
    if (rc == 0) {
        rc = mdb_env_open(s->env, path,
                          MDB_RDONLY | MDB_NOLOCK | MDB_NOSUBDIR, 0);
    }

    if (rc != 0) {
        if (rc == MDB_INVALID || rc == EINVAL) {
            fail(err, err_len, path, "not an LMDB file");
        } else if (rc == MDB_VERSION_MISMATCH) {
            fail(err, err_len, path, "written by an incompatible LMDB "
                 "version");
        } else {
            fail(err, err_len, path, "%s", mdb_strerror(rc));
        }
        goto failed;
    }

    /* pages past the end of a truncated file would SIGBUS on access */
    mdb_env_info(s->env, &info);
    mdb_env_stat(s->env, &ms);
    if ((uint64_t) st.st_size
        < ((uint64_t) info.me_last_pgno + 1) * ms.ms_psize)
    {
        fail(err, err_len, path, "truncated: %lld bytes, the file needs "
             "%" PRIu64, (long long) st.st_size,
             ((uint64_t) info.me_last_pgno + 1) * ms.ms_psize);
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
     * Cheap structural checks, no walk: our values are a few hundred bytes
     * and never need overflow pages, and every page counted must be in the
     * file.
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
    int  fd;

    if (mdb_env_get_fd(snap->env, &fd) != 0) {
        return -1;
    }

    return fstat(fd, st);
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


int
beian_snap_get(const beian_snap_t *snap, const char *key, size_t len,
    beian_rec_t *rec)
{
    int      rc;
    MDB_val  k, v;

    k.mv_data = (void *) key;
    k.mv_size = len;

    rc = mdb_get(snap->txn, snap->domains, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    if (rc != 0 || decode_rec(&v, rec) != 0) {
        return -1;
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
