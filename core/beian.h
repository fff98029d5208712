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
#include <string.h>
#include <time.h>
#include <sys/stat.h>


/*
 * The core is compiled into each nginx module (http, stream), and nginx
 * may load both into one process: each keeps its own copy, none of its
 * symbols binds to the other module's.
 */
#if defined __GNUC__
#pragma GCC visibility push(hidden)
#endif


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

/* Most labels a domain can have: "a.b.c...", 253 bytes. */
#define BEIAN_LABELS_MAX        (BEIAN_DOMAIN_MAX / 2 + 1)

/* A host as beian_host_parse() leaves it for beian_match_host(). */
typedef struct {
    const char  *name;              /* normalized: the input itself when it
                                       already was (no copy), else buf */
    size_t       len;               /* not NUL-terminated */
    unsigned     nlabels;           /* domains only: */
    uint8_t      label[BEIAN_LABELS_MAX];  /* where each label starts */
} beian_host_t;

/*
 * The same normalization and class as beian_host_normalize(), in one pass
 * over the bytes, without a copy for a host that is already normalized
 * (what nginx hands over: lowercase, no port, no trailing dot), and with
 * the label starts the match needs.  buf (BEIAN_HOST_MAX + 1 bytes) is
 * used only when the host must be rewritten; h->name may point into host.
 */
beian_host_class_t beian_host_parse(const char *host, size_t len,
    char *buf, beian_host_t *h);

/*
 * A server name from a ClientHello (name NULL: none was sent).  RFC 6066:
 * a DNS host name, never with a port or as an address literal, never
 * empty; so a ':' or '[' in it, or an empty one, names nothing
 * (BEIAN_HOST_INVALID) instead of being cut down like a Host header.
 * Otherwise as beian_host_parse().
 */
beian_host_class_t beian_sni_parse(const char *name, size_t len, char *buf,
    beian_host_t *h);

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
 * transaction open for its lifetime.
 *
 * What is mapped is never the file but a private copy of it in sealed
 * memory (beian_snap_copy()): a file overwritten, truncated, corrupted or
 * removed in place cannot change what an open handle reads, nor crash the
 * process.  Files over BEIAN_SNAP_COPY_MAX bytes are refused.
 */
beian_snap_t *beian_snap_open(const char *path, char *err, size_t err_len);

#define BEIAN_SNAP_COPY_MAX     ((off_t) 1 << 30)
#define BEIAN_SNAP_COPY_BUF     (1024 * 1024)

/*
 * The copy alone: a memfd (close-on-exec) sealed against writing, growing
 * and shrinking, with the bytes of path; src is the identity of the file
 * that was copied.  The file changing while it is read is an error.
 * Returns the descriptor, or -1 with err set.
 */
int beian_snap_copy(const char *path, struct stat *src, char *err,
    size_t err_len);

/*
 * Opens the snapshot in a copy made by beian_snap_copy() (fd stays the
 * caller's; path and src name it).  checked: the copy was validated by an
 * earlier open, in this process or before fork(); sealed, it still holds
 * those bytes, so the structural walk is skipped.  An unsealed descriptor
 * is always walked.
 */
beian_snap_t *beian_snap_open_copy(int fd, const char *path,
    const struct stat *src, int checked, char *err, size_t err_len);

/* Whether two stats name the same, unmodified file. */
int beian_snap_same_file(const struct stat *a, const struct stat *b);
void beian_snap_close(beian_snap_t *snap);

/* Identity of the file copied (not of whatever the path names now). */
int beian_snap_fstat(const beian_snap_t *snap, struct stat *st);
const beian_meta_t *beian_snap_meta(const beian_snap_t *snap);

/*
 * The optional hash index (named database "index", one value under key
 * "hash-v2"; layout in snapshot.c): written by beian_snap_write() with the
 * domains, used by beian_snap_get() when present.  Writer and readers must
 * agree on the hash and on how it picks a filter block, filter bits and a
 * home line, so those live here and nowhere else.
 */
#define BEIAN_INDEX_KEY     "hash-v2"
#define BEIAN_INDEX_MAGIC   0x3278696e61696562ULL   /* "beianix2" */

/* Filter blocks of 512 bits: about 10 bits per domain, 1% false hits. */
#define BEIAN_INDEX_BLOCKS(count)   ((count) * 10 / 512 + 1)
#define BEIAN_INDEX_FILTER_BITS     6
/* Bytes in a filter block and in a line. */
#define BEIAN_INDEX_LINE            64

/* The index value's first 48 bytes. */
typedef struct {
    uint64_t  magic;
    uint64_t  seed;
    uint64_t  count;                    /* = meta record_count */
    uint32_t  blocks;                   /* BEIAN_INDEX_BLOCKS(count) */
    uint32_t  homes;
    uint32_t  lines;
    uint32_t  long_len;
    uint32_t  recs_len;
    uint32_t  zero;
} beian_index_hdr_t;

/* Seeded 64-bit hash of a key, 8 bytes per step. */
uint64_t beian_key_hash(uint64_t seed, const char *key, size_t len);

/*
 * n < 8 bytes at p as a number, byte i in bits 8i..8i+7 (little-endian),
 * read without touching a byte outside them: the hash's tail, and the host
 * scanner's last word.
 */
static inline uint64_t
beian_load_tail(const unsigned char *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t  a, b;

    /* overlapping reads: the bytes both hold are the same */
    if (n >= 4) {
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return a | (uint64_t) b << (8 * (n - 4));
    }

    if (n == 0) {
        return 0;
    }

    return p[0] | (uint64_t) p[n / 2] << (8 * (n / 2))
           | (uint64_t) p[n - 1] << (8 * (n - 1));
#else
    size_t    i;
    uint64_t  w;

    for (w = 0, i = 0; i < n; i++) {
        w |= (uint64_t) p[i] << (8 * i);
    }

    return w;
#endif
}

/* x scaled onto [0, n): the high half of a 32 x 32 bit product. */
static inline uint32_t
beian_index_range(uint32_t x, uint32_t n)
{
    return (uint32_t) (((uint64_t) x * n) >> 32);
}

/* A key's filter block (high hash bits) and home line (low ones). */
#define beian_index_block(h, blocks)  beian_index_range((uint32_t) ((h) >> 32), \
                                                        blocks)
#define beian_index_home(h, homes)    beian_index_range((uint32_t) (h), homes)

/* Bit i (0 .. BEIAN_INDEX_FILTER_BITS - 1) of a key in its 512-bit block. */
static inline unsigned
beian_index_bit(uint64_t h, unsigned i)
{
    return (unsigned) ((h * 0x9e3779b97f4a7c15ULL) >> (64 - 9 - 9 * i)) & 511;
}

/* Whether the opened snapshot has a hash index (else lookups use the tree). */
int beian_snap_has_index(const beian_snap_t *snap);

/*
 * Exact lookup: 1 found, 0 absent, -1 corrupt.  rec may be NULL when only
 * the verdict counts: the record is then not read at all.
 */
int beian_snap_get(const beian_snap_t *snap, const char *key, size_t len,
    beian_rec_t *rec);

/*
 * Looks up suffixes of name in turn, name + start[i] for i = 0 .. n - 1,
 * the first found ending it: its i, rec filled as by beian_snap_get(), or
 * -1 if none is.  A corrupt value counts as absent.  With the hash index
 * the keys' cache misses overlap.  At most BEIAN_LABELS_MAX (more: -1).
 */
int beian_snap_get_suffix(const beian_snap_t *snap, const char *name,
    size_t len, const uint8_t *start, size_t n, beian_rec_t *rec);

/* Calls fn for every domain in key order; stops early if fn returns != 0. */
typedef int (*beian_snap_iter_pt)(const char *domain, size_t len,
    const beian_rec_t *rec, void *data);
int beian_snap_foreach(const beian_snap_t *snap, beian_snap_iter_pt fn,
    void *data, char *err, size_t err_len);

/*
 * For beian-sync's integrity checks: the stored index value as it is (0,
 * or -1 without one), and every entry it holds, line by line, whether a
 * lookup would reach it or not (-1 with err at one that does not decode).
 */
int beian_snap_index_raw(const beian_snap_t *snap, const unsigned char **p,
    size_t *len);
int beian_snap_index_foreach(const beian_snap_t *snap, beian_snap_iter_pt fn,
    void *data, char *err, size_t err_len);


/* Matching options: what beian_subdomains and beian_ip_host say. */
#define BEIAN_MATCH_SUBDOMAINS  0x01
#define BEIAN_MATCH_IP_BLOCK    0x02
/* The verdict and the domain only: m->rec is left empty, unread. */
#define BEIAN_MATCH_NO_RECORD   0x04

typedef struct {
    beian_status_t  status;
    const char     *domain;             /* matched filed domain (in host) */
    size_t          domain_len;
    beian_rec_t     rec;                /* valid while snap is open; empty
                                           with BEIAN_MATCH_NO_RECORD */
} beian_match_t;

/*
 * The match rule: classify a normalized host, then look it up exactly and,
 * with BEIAN_MATCH_SUBDOMAINS, each parent suffix down to two labels.
 * snap may be NULL (no snapshot loaded): every domain is then unfiled.
 */
beian_status_t beian_match(const beian_snap_t *snap,
    beian_host_class_t cls, const char *host, size_t len, unsigned flags,
    beian_match_t *m);

/* The same for a host from beian_host_parse(): m->domain points into
 * h->name.  What nginx and `beian-sync check` call. */
beian_status_t beian_match_host(const beian_snap_t *snap,
    beian_host_class_t cls, const beian_host_t *h, unsigned flags,
    beian_match_t *m);

/* Whether a verdict lets the request through, in one place. */
static inline int
beian_allowed(beian_status_t status, unsigned flags)
{
    switch (status) {
    case BEIAN_FILED:
    case BEIAN_EXEMPT:
    case BEIAN_OFF:
        return 1;
    case BEIAN_IP:
    case BEIAN_NOHOST:
        return !(flags & BEIAN_MATCH_IP_BLOCK);
    default:
        return 0;
    }
}


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

/*
 * The content digest, "sha256:<hex>", over everything a reader uses: the
 * instance id, the sorted entries, and the hash index value the writer
 * derives from them (when it writes one).  0, or -1 (out of memory: out
 * is then "").
 */
int beian_entries_digest(const char *instance_id, const beian_entry_t *e,
    size_t n, char out[72]);

/*
 * The same digest over a snapshot as it is: its instance id, the records
 * of its tree and its stored index value, byte for byte.  Equal to the
 * meta digest only if nothing a reader uses was changed.  0, or -1 with
 * err.
 */
int beian_snap_digest(const beian_snap_t *snap, char out[72], char *err,
    size_t err_len);

/*
 * The hash index value beian_snap_write() writes for these sorted, unique
 * entries, in *buf (malloc()ed; free it), or *len 0 when it writes none.
 * 0, or -1 when out of memory.
 */
int beian_index_build(const beian_entry_t *e, size_t n, unsigned char **buf,
    size_t *len);

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


/*
 * The server name of a TLS ClientHello (core/hello.c), for the gates that
 * see raw bytes (stream) or an extension body (http, OpenSSL's ClientHello
 * callback).
 */
#define BEIAN_SNI_MAX       255         /* as OpenSSL, TLSEXT_MAXLEN_host_name */
/* Largest ClientHello message beian_tls_client_hello() gathers. */
#define BEIAN_HELLO_MAX     16384

typedef enum {
    BEIAN_SNI_FOUND = 0,                /* *name, *name_len set */
    BEIAN_SNI_NONE,                     /* a ClientHello without one */
    BEIAN_SNI_AGAIN,                    /* need more bytes */
    BEIAN_SNI_NOT_TLS,                  /* not a TLS handshake at all */
    BEIAN_SNI_BAD                       /* malformed, or too long */
} beian_sni_t;

/*
 * A server_name extension's body: FOUND with one host_name of 1..255 bytes
 * without NUL, else BAD.
 */
beian_sni_t beian_tls_sni_ext(const unsigned char *ext, size_t len,
    const unsigned char **name, size_t *name_len);

/*
 * The first bytes a client sent: TLS records carrying a ClientHello.  The
 * message is gathered into scratch (size bytes, BEIAN_HELLO_MAX is
 * enough for any sane client); *name points into scratch.
 */
beian_sni_t beian_tls_client_hello(const unsigned char *buf, size_t len,
    unsigned char *scratch, size_t size, const unsigned char **name,
    size_t *name_len);

#if defined __GNUC__
#pragma GCC visibility pop
#endif

#endif /* BEIAN_H */
