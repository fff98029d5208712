/*
 * beian-sync: a record's Domain to the snapshot's key form.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "domain.h"


/* Longest input worth handing to libidn2: a 253-byte A-label form cannot
 * come from much more than this, and idn2 work grows with the input. */
#define DOMAIN_INPUT_MAX  1024


/*
 * Second-level names under .cn that are registries, not registrants
 * (the Public Suffix List's cn section, as A-labels).  A filing for one of
 * them would allow every *.com.cn site: no such filing is genuine.
 */
static const char *const cn_suffixes[] = {
    "ac", "com", "edu", "gov", "mil", "net", "org",
    "xn--55qx5d",                               /* 公司 */
    "xn--io0a7i",                               /* 网络 */
    "xn--od0alg",                               /* 網絡 */
    "ah", "bj", "cq", "fj", "gd", "gs", "gx", "gz", "ha", "hb", "he", "hi",
    "hk", "hl", "hn", "jl", "js", "jx", "ln", "mo", "nm", "nx", "qh", "sc",
    "sd", "sh", "sn", "sx", "tj", "tw", "xj", "xz", "yn", "zj",
};


int
sync_domain_public_suffix(const char *d, size_t len)
{
    size_t       i, l;
    const char  *dot;

    dot = memchr(d, '.', len);
    if (dot == NULL) {
        return 1;                               /* a TLD */
    }

    l = (size_t) (dot - d);
    if (len - l != 3 || memcmp(dot, ".cn", 3) != 0) {
        return 0;
    }

    for (i = 0; i < sizeof(cn_suffixes) / sizeof(cn_suffixes[0]); i++) {
        if (strlen(cn_suffixes[i]) == l && memcmp(cn_suffixes[i], d, l) == 0) {
            return 1;
        }
    }

    return 0;
}


sync_domain_rc_t
sync_domain_normalize(const char *in, size_t len, char *out,
    size_t *out_len, const char **why, char *buf, size_t size)
{
    int          rc;
    char        *a = NULL;
    size_t       i, n;
    const char  *src, *reason;
    char         tld[2 + BEIAN_LABEL_MAX];

    *out_len = 0;
    out[0] = '\0';

    if (len == 0) {
        *why = "empty";
        return SYNC_DOMAIN_SYNTAX;
    }

    if (len > DOMAIN_INPUT_MAX) {
        *why = "longer than 253 bytes";
        return SYNC_DOMAIN_SYNTAX;
    }

    if (memchr(in, '*', len) != NULL) {
        *why = "wildcards cannot be filed: list each name (subdomains of a "
               "filed domain are covered anyway)";
        return SYNC_DOMAIN_WILDCARD;
    }

    src = in;
    n = len;

    for (i = 0; i < len; i++) {
        if ((unsigned char) in[i] >= 0x80) {
            break;
        }
    }

    /* pure ASCII needs no IDNA mapping beyond lowercasing: spare idn2 */
    if (i < len) {
        rc = idn2_to_ascii_8z(in, &a, IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK) {
            snprintf(buf, size, "IDNA conversion failed: %s",
                     idn2_strerror(rc));
            *why = buf;
            return SYNC_DOMAIN_IDNA;
        }
        src = a;
        n = strlen(a);
    }

    if (n > 0 && src[n - 1] == '.') {
        n--;
    }

    if (n > BEIAN_DOMAIN_MAX) {
        idn2_free(a);
        *why = "longer than 253 bytes";
        return SYNC_DOMAIN_SYNTAX;
    }

    for (i = 0; i < n; i++) {
        out[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char) (src[i] | 0x20)
                                                 : src[i];
    }
    out[n] = '\0';
    idn2_free(a);

    reason = beian_domain_check(out, n);
    if (reason != NULL) {
        /* a well-formed lone label is a TLD: say so, not "single label" */
        if (n > 0 && n <= BEIAN_LABEL_MAX && memchr(out, '.', n) == NULL) {
            tld[0] = 'x';
            tld[1] = '.';
            memcpy(tld + 2, out, n);
            if (beian_domain_check(tld, n + 2) == NULL) {
                *why = "a top-level domain: filing it would allow every "
                       "site under it";
                return SYNC_DOMAIN_PUBLIC_SUFFIX;
            }
        }
        *why = reason;
        return SYNC_DOMAIN_SYNTAX;
    }

    if (sync_domain_public_suffix(out, n)) {
        snprintf(buf, size, "\"%.*s\" is a public suffix: filing it would "
                 "allow every site under it", (int) n, out);
        *why = buf;
        return SYNC_DOMAIN_PUBLIC_SUFFIX;
    }

    *out_len = n;
    return SYNC_DOMAIN_OK;
}
