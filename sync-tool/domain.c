/*
 * beian-sync: a record's Domain to the snapshot's key form.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <libpsl.h>

#include "domain.h"


/* Longest input worth handing to libidn2: a 253-byte A-label form cannot
 * come from much more than this, and idn2 work grows with the input. */
#define DOMAIN_INPUT_MAX  1024


/*
 * The Public Suffix List, from libpsl: the newest of its built-in copy and
 * the one Debian's publicsuffix package keeps up to date.  Loaded once,
 * before any thread starts (sync_domain_psl_check()).  Only the ICANN
 * section counts: a filing is for a domain under a registry's suffix
 * (com.cn, gov.cn, bj.cn, 公司.cn ...); private suffixes (hosting
 * providers' own) are registrable names of their owners.
 */
static const psl_ctx_t *
psl(void)
{
    static int               loaded;
    static const psl_ctx_t  *ctx;

    if (!loaded) {
        loaded = 1;
        ctx = psl_latest(NULL);
        if (ctx == NULL) {
            ctx = psl_builtin();
        }
    }
    return ctx;
}


int
sync_domain_psl_check(char *err, size_t err_len)
{
    if (psl() == NULL) {
        snprintf(err, err_len, "no Public Suffix List: libpsl has no "
                 "built-in list and none was found (install Debian's "
                 "publicsuffix package)");
        return -1;
    }
    return 0;
}


static int
is_suffix(const char *d)
{
    /* without a list every name is a suffix: nothing is admitted */
    return psl() == NULL
           || psl_is_public_suffix2(psl(), d, PSL_TYPE_ICANN) != 0;
}


int
sync_domain_public_suffix(const char *d, size_t len)
{
    char  buf[BEIAN_DOMAIN_MAX + 1];

    if (len > BEIAN_DOMAIN_MAX) {
        return 0;
    }
    memcpy(buf, d, len);
    buf[len] = '\0';
    return is_suffix(buf);
}


int
sync_domain_registrable(const char *d, size_t len, char *out,
    size_t *out_len)
{
    size_t  i, prev;
    char    buf[BEIAN_DOMAIN_MAX + 1];

    if (len == 0 || len > BEIAN_DOMAIN_MAX) {
        return -1;
    }
    memcpy(buf, d, len);
    buf[len] = '\0';

    /* the first suffix from the left that is public is the longest one;
     * the registrable domain is it and the label before it */
    for (i = 0, prev = 0; ; ) {
        if (is_suffix(buf + i)) {
            if (i == 0) {
                return -1;
            }
            *out_len = len - prev;
            memcpy(out, buf + prev, *out_len);
            out[*out_len] = '\0';
            return 0;
        }
        prev = i;
        while (i < len && buf[i] != '.') {
            i++;
        }
        if (i == len) {
            return -1;
        }
        i++;
    }
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
