/*
 * beian-sync: a record's Domain to the snapshot's key form.
 */

#ifndef SYNC_DOMAIN_H
#define SYNC_DOMAIN_H

#include <stddef.h>

#include "beian_write.h"


typedef enum {
    SYNC_DOMAIN_OK = 0,
    SYNC_DOMAIN_WILDCARD,       /* "*.example.com" */
    SYNC_DOMAIN_IDNA,           /* U-labels or A-labels libidn2 refuses */
    SYNC_DOMAIN_SYNTAX,         /* beian_domain_check() refuses, "ab--c" */
    SYNC_DOMAIN_PUBLIC_SUFFIX   /* "com.cn", "github.io": too much */
} sync_domain_rc_t;

/*
 * U-labels to A-labels (libidn2, IDNA2008 with UTS #46 non-transitional
 * mapping), lowercase, one trailing dot stripped, then the core's syntax
 * check, IDNA2008's label rules (an "xn--" label must be a valid A-label,
 * no other label has "--" in positions 3 and 4) and the public suffix
 * check.  in must be NUL-terminated at len.
 * out holds BEIAN_DOMAIN_MAX + 1 bytes.  On failure why says what is
 * wrong (static text or why's buffer).
 */
sync_domain_rc_t sync_domain_normalize(const char *in, size_t len,
    char *out, size_t *out_len, const char **why, char *buf, size_t size);

/* 1 if the normalized domain is a suffix under which the public
 * registers names (a TLD, "com.cn", "bj.cn", "github.io", ...: both
 * sections of the Public Suffix List, ICANN and private, through libpsl;
 * every name when no list could be loaded). */
int sync_domain_public_suffix(const char *d, size_t len);

/* Whether libpsl has a list: 0, or -1 with err saying what to install.
 * Call before starting threads (the list is loaded once). */
int sync_domain_psl_check(char *err, size_t err_len);

/*
 * The registrable domain of a normalized domain: its longest public
 * suffix and one label more ("www.sub.example.org" -> "example.org",
 * "img.shop.com.cn" -> "shop.com.cn", "www.foo.github.io" ->
 * "foo.github.io").  out holds BEIAN_DOMAIN_MAX + 1
 * bytes.  0, or -1 when the domain is itself a public suffix.
 */
int sync_domain_registrable(const char *d, size_t len, char *out,
    size_t *out_len);

#endif /* SYNC_DOMAIN_H */
