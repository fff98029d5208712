/*
 * beian core: host normalization, the match rule and the snapshot format.
 *
 * Plain C with no nginx dependency, compiled into both the nginx module and
 * beian-sync so that `beian-sync check HOST` and nginx always agree.
 */

#ifndef BEIAN_H
#define BEIAN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>


/* Longest domain in presentation form without the trailing dot. */
#define BEIAN_DOMAIN_MAX        253
#define BEIAN_LABEL_MAX         63
/* Longest host we normalize: a domain plus ":port" or an IPv6 literal. */
#define BEIAN_HOST_MAX          320
#define BEIAN_ICP_MAX           128
#define BEIAN_WEBSITE_ID_MAX    128

#define BEIAN_SCHEMA_VERSION    1
#define BEIAN_ERR_MAX           512


/* Verdicts; the names are the values of $beian_status (contract). */
typedef enum {
    BEIAN_FILED = 0,
    BEIAN_UNFILED,
    BEIAN_EXEMPT,
    BEIAN_IP,
    BEIAN_NOHOST,
    BEIAN_OFF,
    BEIAN_NSTATUS
} beian_status_t;

extern const char *const beian_status_names[BEIAN_NSTATUS];


/* What a host is, after normalization. */
typedef enum {
    BEIAN_HOST_DOMAIN = 0,      /* syntactically valid ASCII domain name */
    BEIAN_HOST_IP,              /* IPv4 dotted quad or [IPv6] literal */
    BEIAN_HOST_NONE,            /* empty: HTTP/1.0 without Host */
    BEIAN_HOST_INVALID          /* anything else: never matches */
} beian_host_class_t;


/*
 * Normalizes a request host: lowercase, strip the port, strip one trailing
 * dot.  out must hold BEIAN_HOST_MAX + 1 bytes; it is NUL-terminated.
 */
beian_host_class_t beian_host_normalize(const char *host, size_t len,
    char *out, size_t *out_len);

/*
 * Checks an already lowercased ASCII domain: 2+ labels of [a-z0-9-],
 * 1..63 bytes each, no hyphen at either end, total <= 253, TLD not numeric.
 * Returns NULL if valid, else a static reason.
 */
const char *beian_domain_check(const char *d, size_t len);


/* One filing record as stored in the snapshot's domains database. */
typedef struct {
    const char  *icp;
    size_t       icp_len;
    const char  *website_id;
    size_t       website_id_len;
} beian_rec_t;

/* Snapshot meta (named database "meta"). */
typedef struct {
    unsigned     schema_version;
    char         instance_id[64];
    int64_t      generated_at;          /* unix seconds */
    char         source[256];
    uint64_t     record_count;
    char         digest[72];            /* "sha256:" + 64 hex */
} beian_meta_t;

typedef struct beian_snap_s  beian_snap_t;

/*
 * Opens and validates a snapshot read-only (MDB_RDONLY | MDB_NOLOCK |
 * MDB_NOSUBDIR).  On failure returns NULL and writes a message naming the
 * file and the reason into err.  The returned handle keeps one read
 * transaction open for its lifetime: the file is immutable.
 */
beian_snap_t *beian_snap_open(const char *path, char *err, size_t err_len);

/*
 * The same, but the whole-file structural check is skipped when the file is
 * the one known describes (device, inode, size, mtime): a file that an
 * earlier open in this process tree already checked.  Snapshots are never
 * modified in place, so identity stands for content.
 */
beian_snap_t *beian_snap_open_known(const char *path,
    const struct stat *known, char *err, size_t err_len);

/* Whether two stats name the same, unmodified file. */
int beian_snap_same_file(const struct stat *a, const struct stat *b);
void beian_snap_close(beian_snap_t *snap);

/* Identity of the opened file (not of whatever the path names now). */
int beian_snap_fstat(const beian_snap_t *snap, struct stat *st);
const beian_meta_t *beian_snap_meta(const beian_snap_t *snap);

/*
 * The optional hash index (named database "index", key "hash-v1"; layout
 * in snapshot.c): written by beian_snap_write() with the domains, used by
 * beian_snap_get() when present.  The key hash (FNV-1a 64 with a murmur3
 * finalizer) is the one the writer and every reader must agree on.
 */
#define BEIAN_INDEX_KEY     "hash-v1"
#define BEIAN_INDEX_MAGIC   0x3178696e61696562ULL   /* "beianix1" */

uint64_t beian_key_hash(const char *key, size_t len);

/* Whether the opened snapshot has a hash index (else lookups use the tree). */
int beian_snap_has_index(const beian_snap_t *snap);

/* Exact lookup: 1 found, 0 absent, -1 corrupt value (err filled). */
int beian_snap_get(const beian_snap_t *snap, const char *key, size_t len,
    beian_rec_t *rec);

/* Calls fn for every domain in key order; stops early if fn returns != 0. */
typedef int (*beian_snap_iter_pt)(const char *domain, size_t len,
    const beian_rec_t *rec, void *data);
int beian_snap_foreach(const beian_snap_t *snap, beian_snap_iter_pt fn,
    void *data, char *err, size_t err_len);


/* Matching options: what beian_subdomains and beian_ip_host say. */
#define BEIAN_MATCH_SUBDOMAINS  0x01
#define BEIAN_MATCH_IP_BLOCK    0x02

typedef struct {
    beian_status_t  status;
    const char     *domain;             /* matched filed domain (in host) */
    size_t          domain_len;
    beian_rec_t     rec;                /* valid while snap is open */
} beian_match_t;

/*
 * The match rule: classify a normalized host, then look it up exactly and,
 * with BEIAN_MATCH_SUBDOMAINS, each parent suffix down to two labels.
 * snap may be NULL (no snapshot loaded): every domain is then unfiled.
 */
beian_status_t beian_match(const beian_snap_t *snap,
    beian_host_class_t cls, const char *host, size_t len, unsigned flags,
    beian_match_t *m);

/* Whether a verdict lets the request through, in one place. */
int beian_allowed(beian_status_t status, unsigned flags);


/* Writer (beian-sync only). */
typedef struct {
    char        *domain;                /* normalized ASCII */
    size_t       domain_len;
    char        *icp;
    char        *website_id;
} beian_entry_t;

/* Domain key order as LMDB stores it: bytes, then length. */
int beian_domain_cmp(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Sorts entries by domain.  Returns the number of entries left after
 * removing exact duplicates (same domain, ICP number and website id);
 * entries for one domain with different records are kept adjacent and are
 * the caller's to resolve.
 */
size_t beian_entries_sort(beian_entry_t *e, size_t n);

/* "sha256:<hex>" over instance id and the sorted entries. */
void beian_entries_digest(const char *instance_id, const beian_entry_t *e,
    size_t n, char out[72]);

/*
 * Writes a new snapshot: temp file in the target directory, fsync, rename
 * over path, fsync the directory.  entries must be sorted and unique.
 * Returns 0; 1 when the file is in place but the directory fsync failed
 * (err holds the warning); or -1 with err filled, path untouched.
 */
int beian_snap_write(const char *path, const beian_meta_t *meta,
    const beian_entry_t *e, size_t n, char *err, size_t err_len);

/*
 * Removes temp files a killed writer left next to path (".NAME.tmp.XXXXXX").
 * Only while holding the writers' lock: then no live writer owns one.
 * Returns how many were removed, or -1.
 */
int beian_snap_clean_temps(const char *path);

#endif /* BEIAN_H */
