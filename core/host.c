/*
 * Host normalization and the match rule (docs/matching.md).
 */

#include <arpa/inet.h>
#include <string.h>

#include "beian.h"
#include "bytes.h"


const char *const beian_status_names[BEIAN_NSTATUS] = {
    "filed", "unfiled", "exempt", "ip", "nohost", "off"
};


/* A port after a host: digits only, none at all allowed ("host:"). */
static int
port_ok(const char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }

    return 1;
}


static beian_host_class_t
beian_ipv6_literal(const char *h, size_t len, char *out, size_t *out_len)
{
    char         buf[BEIAN_HOST_MAX + 1];
    size_t       i, n;
    const char  *end;
    unsigned char  addr[16];

    end = memchr(h, ']', len);
    if (end == NULL) {
        return BEIAN_HOST_INVALID;
    }

    /* whatever follows "]" must be a port */
    if (end + 1 < h + len
        && (end[1] != ':'
            || !port_ok(end + 2, (size_t) (h + len - end) - 2)))
    {
        return BEIAN_HOST_INVALID;
    }

    n = (size_t) (end - h) + 1;
    for (i = 0; i < n; i++) {
        out[i] = (h[i] >= 'A' && h[i] <= 'Z') ? (char) (h[i] | 0x20) : h[i];
    }
    out[n] = '\0';
    *out_len = n;

    /*
     * inet_pton rejects zone ids ("%25eth0"): they never name a site.  It
     * would stop at a NUL byte, so "[::1\0x]" must not get that far.
     */
    if (memchr(out + 1, '\0', n - 2) != NULL) {
        return BEIAN_HOST_INVALID;
    }

    memcpy(buf, out + 1, n - 2);
    buf[n - 2] = '\0';

    return inet_pton(AF_INET6, buf, addr) == 1 ? BEIAN_HOST_IP
                                               : BEIAN_HOST_INVALID;
}


/* The rule in full, for any bytes: into out, a copy. */
static beian_host_class_t
normalize_slow(const char *host, size_t len, char *out, size_t *out_len)
{
    size_t          i, n;
    const char     *colon;
    unsigned char   c;
    int             numeric;
    unsigned char   addr[4];

    *out_len = 0;
    out[0] = '\0';

    if (len == 0) {
        return BEIAN_HOST_NONE;
    }

    if (len > BEIAN_HOST_MAX) {
        return BEIAN_HOST_INVALID;
    }

    if (host[0] == '[') {
        return beian_ipv6_literal(host, len, out, out_len);
    }

    /*
     * The port follows the first colon, as nginx reads it, and is dropped;
     * one that is not a number ("example.com:evil.com") makes the whole
     * host invalid, as nginx 1.29.4 and later and the server name rule
     * have it.
     */
    colon = memchr(host, ':', len);
    n = colon ? (size_t) (colon - host) : len;

    if (colon && !port_ok(colon + 1, len - n - 1)) {
        return BEIAN_HOST_INVALID;
    }

    numeric = 1;
    for (i = 0; i < n; i++) {
        c = (unsigned char) host[i];
        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }
        if (c != '.' && (c < '0' || c > '9')) {
            numeric = 0;
        }
        out[i] = (char) c;
    }

    if (n > 0 && out[n - 1] == '.') {
        n--;
    }
    out[n] = '\0';
    *out_len = n;

    if (n == 0) {
        return BEIAN_HOST_INVALID;
    }

    if (numeric) {
        /* only a strict dotted quad is an address; "127.1" is nothing */
        return inet_pton(AF_INET, out, addr) == 1 ? BEIAN_HOST_IP
                                                  : BEIAN_HOST_INVALID;
    }

    return beian_domain_check(out, n) ? BEIAN_HOST_INVALID
                                      : BEIAN_HOST_DOMAIN;
}


/*
 * The common case, in one pass over the bytes: a host of at most
 * FAST_MAX bytes of [a-z0-9.-] only, so already lowercase and without a
 * port (what nginx hands over).  scan() checks every byte against the
 * allowed ranges 16 (SSE2) or 8 (portable) at a time and returns the dots
 * and hyphens as bitmaps, one bit per byte, from which parse_fast()
 * gets the domain rules without another pass.  Anything else goes to
 * normalize_slow().
 */

/* Longest host parse_fast() takes: its bitmaps, with one bit before the
 * name and one after it, fit 64 bits. */
#define FAST_MAX  62

#if defined(__SSE2__) && !defined(BEIAN_NO_SIMD)

#include <emmintrin.h>

/* The allowed bytes, dots and hyphens of the 16 bytes in v. */
static inline unsigned
classify(__m128i v, unsigned *dot, unsigned *dash)
{
    __m128i  dg, al, dt, ds;

    /* signed compares: bytes over 0x7f are negative, never allowed */
    dg = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                       _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), v));
    al = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                       _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), v));
    dt = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
    ds = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));

    *dot = (unsigned) _mm_movemask_epi8(dt);
    *dash = (unsigned) _mm_movemask_epi8(ds);

    return (unsigned) _mm_movemask_epi8(
               _mm_or_si128(_mm_or_si128(dg, al), _mm_or_si128(dt, ds)));
}

/*
 * 0 with the bitmaps, -1 if a byte is not allowed.  len 1..FAST_MAX.  Up
 * to 16 bytes: one vector of them, zeros above (never a byte outside the
 * host: two overlapping 8-byte reads, or fewer).  Longer: 16 at a time, the
 * last 16 overlapping the ones before (the same bits again).
 */
static inline int
scan(const unsigned char *p, size_t len, uint64_t *dots, uint64_t *dashes)
{
    size_t    i;
    uint64_t  lo, hi;
    unsigned  ok, dt, ds;

    if (len <= 16) {
        if (len >= 8) {
            memcpy(&lo, p, 8);
            memcpy(&hi, p + len - 8, 8);
            hi = len > 8 ? hi >> 8 * (16 - len) : 0;

        } else {
            lo = beian_load_tail(p, len);
            hi = 0;
        }

        ok = classify(_mm_set_epi64x((long long) hi, (long long) lo),
                      &dt, &ds);
        if ((ok | (~0u << len)) != ~0u) {
            return -1;
        }

        *dots = dt;
        *dashes = ds;
        return 0;
    }

    *dots = 0;
    *dashes = 0;

    for (i = 0; ; i += 16) {
        if (i + 16 > len) {
            i = len - 16;
        }

        ok = classify(_mm_loadu_si128((const __m128i *) (const void *)
                                      (p + i)),
                      &dt, &ds);
        if (ok != 0xffffu) {
            return -1;
        }

        *dots |= (uint64_t) dt << i;
        *dashes |= (uint64_t) ds << i;

        if (i + 16 == len) {
            return 0;
        }
    }
}

#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__

#define ONES        0x0101010101010101ULL
#define HIGH        0x8080808080808080ULL
#define AT_LEAST(w, c)  ((w) + ONES * (0x80 - (c)))     /* high bit: >= c */
#define ABOVE(w, c)     ((w) + ONES * (0x7f - (c)))     /* high bit: > c */

/* The high bits of m (bits 7, 15, ... 63) as 8 bits, byte i at bit i. */
#define GATHER(m)   (((((m) & HIGH) >> 7) * 0x0102040810204080ULL) >> 56)

/*
 * The same, 8 bytes at a time in a uint64_t: once no byte has its high
 * bit, adding at most 0x53 to each cannot carry into the next, so one
 * addition per bound tells every byte whether it is at or above it.
 */
static inline int
scan(const unsigned char *p, size_t len, uint64_t *dots, uint64_t *dashes)
{
    size_t    i, n;
    uint64_t  w, valid, ok, dash, dot;

    *dots = 0;
    *dashes = 0;

    for (i = 0; i < len; i += 8) {
        n = len - i;
        if (n >= 8) {
            memcpy(&w, p + i, 8);
            valid = HIGH;

        } else {
            /* the last bytes: the top of the last 8 when there are 8 */
            if (len >= 8) {
                memcpy(&w, p + len - 8, 8);
                w >>= 8 * (8 - n);
            } else {
                w = beian_load_tail(p + i, n);
            }
            valid = HIGH >> (8 * (8 - n));
        }

        if (w & HIGH) {
            return -1;
        }

        dash = AT_LEAST(w, '-') & ~AT_LEAST(w, '.');
        dot = AT_LEAST(w, '.') & ~ABOVE(w, '.');
        ok = dash | dot | (AT_LEAST(w, '0') & ~ABOVE(w, '9'))
             | (AT_LEAST(w, 'a') & ~ABOVE(w, 'z'));

        if ((ok & valid) != valid) {
            return -1;
        }

        *dots |= GATHER(dot & valid) << i;
        *dashes |= GATHER(dash & valid) << i;
    }

    return 0;
}

#else

static inline int
scan(const unsigned char *p, size_t len, uint64_t *dots, uint64_t *dashes)
{
    (void) p;
    (void) len;
    (void) dots;
    (void) dashes;
    return -1;
}

#endif


/* -1: for normalize_slow(); else the class, h->name the input itself. */
static inline __attribute__((always_inline)) int
parse_fast(const unsigned char *p, size_t len, beian_host_t *h)
{
    size_t    n;
    uint8_t  *l;
    uint64_t  dots, dashes, b;

    if (len - 1 >= FAST_MAX || scan(p, len, &dots, &dashes) != 0) {
        return -1;
    }

    /* one trailing dot goes */
    n = len;
    if (dots >> (n - 1)) {
        n--;
        dots &= ~((uint64_t) 1 << n);
    }

    h->name = (const char *) p;
    h->len = n;
    h->nlabels = 0;

    /*
     * Invalid: one label (or nothing left), an empty label (two label
     * boundaries in a row: b has the dots one bit up, and a boundary
     * before the name and after it), a hyphen next to a boundary.  No
     * label can be over 63 bytes.
     */
    b = dots << 1 | 1 | (uint64_t) 2 << n;
    if (dots == 0 || (b & (b >> 1))
        || (dashes << 1 & ((b << 1) | (b >> 1))))
    {
        return BEIAN_HOST_INVALID;
    }

    /* a last label ending in a digit (all digits: an IPv4 address or
     * nothing; no top-level domain of the Public Suffix List ends so): for
     * the slow path, which knows */
    if ((unsigned) (p[n - 1] - '0') < 10) {
        return -1;
    }

    l = h->label;
    *l++ = 0;
    for ( ; dots; dots &= dots - 1) {
        *l++ = (uint8_t) (__builtin_ctzll(dots) + 1);
    }
    h->nlabels = (unsigned) (l - h->label);

    return BEIAN_HOST_DOMAIN;
}


/* Where the labels of a domain of at most 253 bytes start. */
static void
labels_of(beian_host_t *h)
{
    size_t  i;

    h->nlabels = 1;
    h->label[0] = 0;

    for (i = 0; i < h->len && i < BEIAN_DOMAIN_MAX; i++) {
        if (h->name[i] == '.') {
            h->label[h->nlabels++] = (uint8_t) (i + 1);
        }
    }
}


/* Out of line: the fast path keeps a small frame. */
static __attribute__((noinline)) beian_host_class_t
parse_slow(const char *host, size_t len, char *buf, beian_host_t *h)
{
    beian_host_class_t  cls;

    cls = normalize_slow(host, len, buf, &h->len);
    h->name = buf;
    h->nlabels = 0;

    if (cls == BEIAN_HOST_DOMAIN) {
        labels_of(h);
    }

    return cls;
}


beian_host_class_t
beian_host_parse(const char *host, size_t len, char *buf, beian_host_t *h)
{
    int  rc;

    rc = parse_fast((const unsigned char *) host, len, h);
    if (rc >= 0) {
        return (beian_host_class_t) rc;
    }

    return parse_slow(host, len, buf, h);
}


beian_host_class_t
beian_sni_parse(const char *name, size_t len, char *buf, beian_host_t *h)
{
    if (name == NULL) {
        return beian_host_parse("", 0, buf, h);
    }

    if (len == 0 || memchr(name, ':', len) != NULL
        || memchr(name, '[', len) != NULL)
    {
        h->name = name;
        h->len = len;
        h->nlabels = 0;
        return BEIAN_HOST_INVALID;
    }

    return beian_host_parse(name, len, buf, h);
}


beian_host_class_t
beian_host_normalize(const char *host, size_t len, char *out, size_t *out_len)
{
    beian_host_t        h;
    beian_host_class_t  cls;

    cls = beian_host_parse(host, len, out, &h);

    if (h.name != out) {
        memcpy(out, h.name, h.len);
    }
    out[h.len] = '\0';
    *out_len = h.len;

    return cls;
}


const char *
beian_domain_check(const char *d, size_t len)
{
    size_t   i, label, labels;
    int      tld_numeric;
    char     c;

    if (len == 0) {
        return "empty domain";
    }

    if (len > BEIAN_DOMAIN_MAX) {
        return "domain longer than 253 bytes";
    }

    label = 0;
    labels = 1;
    tld_numeric = 1;

    for (i = 0; i <= len; i++) {
        c = (i < len) ? d[i] : '.';

        if (c == '.') {
            if (label == 0) {
                return "empty label";
            }
            if (d[i - 1] == '-') {
                return "label ends with a hyphen";
            }
            if (i < len) {
                labels++;
                tld_numeric = 1;
            }
            label = 0;
            continue;
        }

        if (c == '-') {
            if (label == 0) {
                return "label starts with a hyphen";
            }
            tld_numeric = 0;

        } else if (c >= 'a' && c <= 'z') {
            tld_numeric = 0;

        } else if (c < '0' || c > '9') {
            return "invalid character (allowed: a-z 0-9 - .)";
        }

        if (++label > BEIAN_LABEL_MAX) {
            return "label longer than 63 bytes";
        }
    }

    if (labels < 2) {
        return "single-label name";
    }

    if (tld_numeric) {
        return "numeric top-level label";
    }

    return NULL;
}


beian_status_t
beian_match(const beian_snap_t *snap, beian_host_class_t cls,
    const char *host, size_t len, unsigned flags, beian_match_t *m)
{
    beian_host_t  h;

    h.name = host;
    h.len = len;
    h.nlabels = 0;

    if (cls == BEIAN_HOST_DOMAIN && len <= BEIAN_DOMAIN_MAX) {
        labels_of(&h);
    }

    return beian_match_host(snap, cls, &h, flags, m);
}


/* beian_match_host(), the rule for a parsed host: core/snapshot.c, beside
 * the suffix lookups it inlines. */
