/*
 * beian core, the public header: verdicts, host normalization, the match
 * rule, reading a snapshot and the TLS ClientHello's server name.
 *
 * Plain C with no nginx dependency, compiled into both the nginx module and
 * beian-sync so that `beian-sync check HOST` and nginx always agree.  The
 * writer's side is in core/beian_write.h, the index layout in core/index.h;
 * the nginx modules include neither.
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

/*
 * Whether d is an IPv4 address in the one form a host may give it (what
 * inet_pton(AF_INET) takes): four decimal numbers 0..255, without leading
 * zeros, between single dots.  "127.1", "0x7f.0.0.1" and "01.2.3.4" are
 * not.
 */
int beian_ipv4_check(const char *d, size_t len);


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
 * Exact lookup: 1 found, 0 absent, -1 corrupt.  rec may be NULL when only
 * the verdict counts: the record is then not read at all.
 */
int beian_snap_get(const beian_snap_t *snap, const char *key, size_t len,
    beian_rec_t *rec);

/*
 * Looks up suffixes of name in turn, name + start[i] for i = 0 .. n - 1
 * (start ascending: the longest first), the first found ending it: its i,
 * rec filled as by beian_snap_get(), or -1 if none is.  A corrupt value
 * counts as absent.  With the hash index and rec NULL, one pass over the
 * name hashes every suffix.  At most BEIAN_LABELS_MAX (more: -1).
 */
int beian_snap_get_suffix(const beian_snap_t *snap, const char *name,
    size_t len, const uint8_t *start, size_t n, beian_rec_t *rec);

/* Calls fn for every domain in key order; stops early if fn returns != 0. */
typedef int (*beian_snap_iter_pt)(const char *domain, size_t len,
    const beian_rec_t *rec, void *data);
int beian_snap_foreach(const beian_snap_t *snap, beian_snap_iter_pt fn,
    void *data, char *err, size_t err_len);


/* Matching options: what beian_subdomains and beian_ip_host say. */
#define BEIAN_MATCH_SUBDOMAINS  0x01
#define BEIAN_MATCH_IP_BLOCK    0x02
/* The status alone, what a gate asks per request: m->domain and m->rec
 * are left empty, and the first filed suffix found ends the search. */
#define BEIAN_MATCH_NO_RECORD   0x04
/* For beian_host_verdict(): the caller vouches that the host is in the
 * form nginx leaves a request's host in (ngx_http_validate_host():
 * lowercase, no port, no trailing dot), so the rules are checked only
 * once a suffix is found filed.  A host that breaks the promise may be
 * judged unfiled, never filed. */
#define BEIAN_MATCH_CLEAN       0x08

typedef struct {
    beian_status_t  status;
    const char     *domain;             /* matched filed domain (in host);
                                           none with BEIAN_MATCH_NO_RECORD */
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

/*
 * The verdict a gate asks for, on a host as it came: the same as
 * beian_host_parse() then beian_match_host() with BEIAN_MATCH_NO_RECORD,
 * in one call, and for the common host (what nginx hands over: up to 62
 * bytes of [a-z0-9.-], with the index) in one pass that checks the rules,
 * finds the labels and hashes every candidate suffix together, with
 * nothing written but the result (tests/test_core.c and the host fuzzer
 * hold the two to the same answers).  name: the host judged, normalized
 * (in host, or in buf: BEIAN_HOST_MAX + 1 bytes), NULL for an invalid
 * one; with BEIAN_MATCH_CLEAN, an unfiled host's name is the host itself,
 * checked or not (beian_host_plain() tells).  Returned in registers.
 */
typedef struct {
    const char  *name;
    uint32_t     status;                /* beian_status_t */
    uint32_t     len;
} beian_verdict_t;

beian_verdict_t beian_host_verdict_clean(beian_snap_t *snap,
    const char *host, size_t len, unsigned flags, char *buf);
beian_verdict_t beian_host_verdict_strict(beian_snap_t *snap,
    const char *host, size_t len, unsigned flags, char *buf);

/* The two above as one call; a caller whose flags are known at compile
 * time (the gate's) calls the one it needs, without a test. */
static inline beian_verdict_t
beian_host_verdict(beian_snap_t *snap, const char *host, size_t len,
    unsigned flags, char *buf)
{
    return (flags & BEIAN_MATCH_CLEAN)
           ? beian_host_verdict_clean(snap, host, len, flags, buf)
           : beian_host_verdict_strict(snap, host, len, flags, buf);
}

/* Whether every byte of a name is one of [a-z0-9.-]: safe to show as it
 * is. */
int beian_host_plain(const char *name, size_t len);

/* Whether a verdict lets the request through, in one place: the verdicts
 * allowed under flags, as bits (1 << status). */
static inline unsigned
beian_allow_mask(unsigned flags)
{
    unsigned  allow;

    allow = (1u << BEIAN_FILED) | (1u << BEIAN_EXEMPT) | (1u << BEIAN_OFF);

    /* an address, or no name at all: as beian_ip_host says */
    if (!(flags & BEIAN_MATCH_IP_BLOCK)) {
        allow |= (1u << BEIAN_IP) | (1u << BEIAN_NOHOST);
    }

    return allow;
}

static inline int
beian_allowed(beian_status_t status, unsigned flags)
{
    return (beian_allow_mask(flags) >> status) & 1;
}


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

/* What a server's first bytes say about the client's next plaintext ones. */
typedef enum {
    BEIAN_SH_AGAIN = 0,                 /* fewer than BEIAN_SH_NEED bytes */
    BEIAN_SH_FINAL,                     /* a ServerHello that is not a
                                           HelloRetryRequest: no second
                                           ClientHello can follow */
    BEIAN_SH_RETRY,                     /* a HelloRetryRequest: one may */
    BEIAN_SH_OTHER                      /* anything else (an alert, a
                                           ServerHello in pieces, not TLS) */
} beian_sh_t;

/* Bytes beian_tls_server_hello() needs: record and handshake headers,
 * version, random. */
#define BEIAN_SH_NEED       (5 + 4 + 2 + 32)

beian_sh_t beian_tls_server_hello(const unsigned char *buf, size_t len);

/*
 * The client's bytes after its first ClientHello, walked record by record
 * and, inside handshake records, message by message (a message may span
 * records, and reads), so that a later ClientHello is found wherever its
 * pieces fall and handed over whole.
 */
#define BEIAN_WATCH_BUF     (5 + BEIAN_HELLO_MAX)

typedef struct {
    unsigned char  rec[5];              /* a record header, gathered */
    size_t         rec_len;
    size_t         rec_left;            /* its payload still to come */
    unsigned char  hs[4];               /* a handshake header, gathered */
    size_t         hs_len;
    size_t         msg_left;            /* the message's bytes to come */
    unsigned       hellos;              /* ClientHellos begun */
    unsigned       gather:1;            /* this message into buf */
    unsigned char *buf;                 /* BEIAN_WATCH_BUF bytes, the
                                           caller's; NULL until asked for */
    size_t         buf_len;
} beian_tls_watch_t;

typedef enum {
    BEIAN_WATCH_MORE = 0,               /* all bytes taken, nothing whole */
    BEIAN_WATCH_HELLO,                  /* a later ClientHello is whole in
                                           buf (one record, buf_len bytes):
                                           for beian_tls_client_hello() */
    BEIAN_WATCH_BUFFER,                 /* one begins: set buf, call again
                                           with the bytes after *used */
    BEIAN_WATCH_BAD                     /* not TLS records any more, or a
                                           ClientHello over BEIAN_HELLO_MAX */
} beian_watch_t;

/* Takes bytes p[0 .. len); *used: how many, up to what it returns for. */
beian_watch_t beian_tls_watch(beian_tls_watch_t *w, const unsigned char *p,
    size_t len, size_t *used);

#if defined __GNUC__
#pragma GCC visibility pop
#endif

#endif /* BEIAN_H */
