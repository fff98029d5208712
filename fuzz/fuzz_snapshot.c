/*
 * Fuzz target "snapshot": the snapshot reader (core/snapshot.c, and LMDB
 * under it) on damaged files.  The input is the whole file; the seeds are
 * valid snapshots (fuzz/mksnapshots.c).  Whatever the bytes, opening must
 * either refuse the file with a message or give a handle on which
 * iteration and lookups work without crashing, hanging or reading outside
 * the file: this is what an nginx worker does with whatever it finds at
 * its beian_snapshot path.
 */

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beian_write.h"
#include "fuzz.h"


static char  path[4096];


static const char *const hosts[] = {
    "example.com", "www.example.com", "a.b.filed.cn", "filed.cn",
    "xn--fiqs8s.cn", "unfiled.net", "com", "a", "127.0.0.1", "[::1]",
    "www.filed.cn", "x.www.filed.cn",
    "c.abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq.com",
    "www.a.abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0"
    ".com",
};


typedef struct {
    const beian_snap_t  *snap;
    size_t               seen;
    size_t               stop_at;
} walk_t;


/* Reads every byte handed out: they must be inside the mapping. */
static int
touch(const char *domain, size_t len, const beian_rec_t *rec, void *data)
{
    size_t         i;
    volatile char  sink = 0;

    for (i = 0; i < len; i++) {
        sink ^= domain[i];
    }
    for (i = 0; i < rec->icp_len; i++) {
        sink ^= rec->icp[i];
    }
    for (i = 0; i < rec->website_id_len; i++) {
        sink ^= rec->website_id[i];
    }

    (void) sink;
    ((walk_t *) data)->seen++;
    return 0;
}


static int
visit(const char *domain, size_t len, const beian_rec_t *rec, void *data)
{
    walk_t       *w = data;
    walk_t        scratch;
    beian_rec_t   again;

    memset(&scratch, 0, sizeof(scratch));
    (void) touch(domain, len, rec, &scratch);

    /*
     * a key found by iteration is found by lookup, with the same record;
     * with a hash index, lookups read the index's copy, which a damaged
     * file may not agree with: then only touch what a lookup hands out
     */
    if (beian_snap_has_index(w->snap)) {
        if (len <= BEIAN_HOST_MAX
            && beian_snap_get(w->snap, domain, len, &again) == 1)
        {
            (void) touch(domain, 0, &again, &scratch);
        }

    } else if (len <= BEIAN_HOST_MAX) {
        FUZZ_CHECK(beian_snap_get(w->snap, domain, len, &again) == 1
                   && again.icp == rec->icp
                   && again.icp_len == rec->icp_len
                   && again.website_id_len == rec->website_id_len,
                   "iterated key \"%.*s\" not found by lookup", (int) len,
                   domain);
    }

    return ++w->seen == w->stop_at;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  fd;
    size_t               i, n;
    walk_t               w;
    beian_snap_t        *snap;
    beian_match_t        m;
    struct stat          st;
    beian_host_class_t   cls;
    const beian_meta_t  *meta;
    char                 err[BEIAN_ERR_MAX], host[BEIAN_HOST_MAX + 1];

    if (path[0] == '\0') {
        snprintf(path, sizeof(path), "%s/snapshot.mdb", fuzz_tmpdir());
    }

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FUZZ_CHECK(fd != -1, "open %s", path);
    FUZZ_CHECK(write(fd, data, size) == (ssize_t) size, "write %s", path);
    close(fd);

    err[0] = '\0';
    snap = beian_snap_open(path, err, sizeof(err));
    if (snap == NULL) {
        /* refused with a message naming the file */
        FUZZ_CHECK(strncmp(err, "snapshot \"", 10) == 0
                   && strnlen(err, sizeof(err)) > 12, "message \"%s\"", err);
        return 0;
    }

    meta = beian_snap_meta(snap);
    FUZZ_CHECK(meta->schema_version == BEIAN_SCHEMA_VERSION, "schema");
    FUZZ_CHECK(strnlen(meta->instance_id, sizeof(meta->instance_id))
               < sizeof(meta->instance_id)
               && strnlen(meta->source, sizeof(meta->source))
                  < sizeof(meta->source)
               && strnlen(meta->digest, sizeof(meta->digest))
                  < sizeof(meta->digest), "meta strings");
    FUZZ_CHECK(beian_snap_fstat(snap, &st) == 0
               && st.st_size == (off_t) size, "fstat");

    memset(&w, 0, sizeof(w));
    w.snap = snap;
    if (beian_snap_foreach(snap, visit, &w, err, sizeof(err)) == 0) {
        FUZZ_CHECK(w.seen == meta->record_count,
                   "iterated %zu of %llu records", w.seen,
                   (unsigned long long) meta->record_count);
    }

    /* stopping early is clean too */
    memset(&w, 0, sizeof(w));
    w.snap = snap;
    w.stop_at = 1;
    beian_snap_foreach(snap, visit, &w, err, sizeof(err));

    /* every key the index hands out, inside the mapping */
    memset(&w, 0, sizeof(w));
    beian_snap_index_foreach(snap, touch, &w, err, sizeof(err));

    /* with the record, and the verdict alone (the index's one pass) */
    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        cls = beian_host_normalize(hosts[i], strlen(hosts[i]), host, &n);
        beian_match(snap, cls, host, n, BEIAN_MATCH_SUBDOMAINS, &m);
        beian_match(snap, cls, host, n, BEIAN_MATCH_SUBDOMAINS
                                        | BEIAN_MATCH_NO_RECORD, &m);
    }

    beian_snap_close(snap);
    return 0;
}
