/*
 * Host normalization and the match rule (docs/matching.md).
 */

#include <arpa/inet.h>
#include <string.h>

#include "beian.h"
#include "bytes.h"
#include "scan.h"


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
        return beian_ipv4_check(out, n) ? BEIAN_HOST_IP : BEIAN_HOST_INVALID;
    }

    return beian_domain_check(out, n) ? BEIAN_HOST_INVALID
                                      : BEIAN_HOST_DOMAIN;
}


/* -1: for normalize_slow(); else the class, h->name the input itself
 * (core/scan.h). */
static inline __attribute__((always_inline)) int
parse_fast(const unsigned char *p, size_t len, beian_host_t *h)
{
    int       rc;
    size_t    n;
    uint8_t  *l;
    uint64_t  dots, dashes;

    if (len - 1 >= BEIAN_FAST_MAX
        || beian_scan(p, len, &dots, &dashes) != 0)
    {
        return -1;
    }

    rc = beian_scan_domain(p, len, &dots, dashes, &n);

    h->name = (const char *) p;
    h->len = n;
    h->nlabels = 0;

    if (rc != BEIAN_HOST_DOMAIN) {
        return rc;
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


int
beian_ipv4_check(const char *d, size_t len)
{
    size_t    i;
    unsigned  parts, v, digits;

    parts = 0;
    v = 0;
    digits = 0;

    for (i = 0; i <= len; i++) {

        if (i == len || d[i] == '.') {
            if (digits == 0 || v > 255) {
                return 0;
            }

            parts++;
            v = 0;
            digits = 0;
            continue;
        }

        /* a digit, not after a leading zero, at most three */
        if (d[i] < '0' || d[i] > '9' || (digits == 1 && v == 0)
            || ++digits > 3)
        {
            return 0;
        }

        v = v * 10 + (unsigned) (d[i] - '0');
    }

    return parts == 4;
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
