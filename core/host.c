/*
 * Host normalization and the match rule (docs/matching.md).
 */

#include <arpa/inet.h>
#include <string.h>

#include "beian.h"


const char *const beian_status_names[BEIAN_NSTATUS] = {
    "filed", "unfiled", "exempt", "ip", "nohost", "off"
};


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
    if (end + 1 < h + len && end[1] != ':') {
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


beian_host_class_t
beian_host_normalize(const char *host, size_t len, char *out, size_t *out_len)
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

    /* as nginx does: the port is whatever follows the first colon */
    colon = memchr(host, ':', len);
    n = colon ? (size_t) (colon - host) : len;

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
    int          i;
    size_t       nc, klen[BEIAN_SNAP_GET_MAX];
    const char  *p, *dot, *key[BEIAN_SNAP_GET_MAX];

    memset(m, 0, sizeof(*m));

    switch (cls) {
    case BEIAN_HOST_NONE:
        return m->status = BEIAN_NOHOST;
    case BEIAN_HOST_IP:
        return m->status = BEIAN_IP;
    case BEIAN_HOST_INVALID:
        return m->status = BEIAN_UNFILED;
    case BEIAN_HOST_DOMAIN:
        break;
    }

    m->status = BEIAN_UNFILED;

    /* a checked domain is never longer: that bounds key[] */
    if (snap == NULL || len > BEIAN_DOMAIN_MAX) {
        return m->status;
    }

    /* the candidates: the host, then with subdomains each parent suffix
     * on a label boundary, down to two labels */
    nc = 0;
    key[nc] = host;
    klen[nc++] = len;

    if (flags & BEIAN_MATCH_SUBDOMAINS) {
        for (p = host; (dot = memchr(p, '.', len - (size_t) (p - host)));
             p = dot + 1)
        {
            if (memchr(dot + 1, '.', len - (size_t) (dot + 1 - host))
                == NULL)
            {
                break;
            }
            key[nc] = dot + 1;
            klen[nc++] = len - (size_t) (dot + 1 - host);
        }
    }

    /* a corrupt value never allows: treated as absent */
    i = beian_snap_get_first(snap, key, klen, nc,
                             (flags & BEIAN_MATCH_NO_RECORD) ? NULL : &m->rec);
    if (i < 0) {
        memset(&m->rec, 0, sizeof(m->rec));
        return m->status;
    }

    m->status = BEIAN_FILED;
    m->domain = key[i];
    m->domain_len = klen[i];
    return m->status;
}


int
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
