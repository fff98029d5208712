/*
 * beian-sync: the names this instance serves, as the operator declares
 * them for the tencent source: `domain = NAME [ICP]` lines, and the
 * server_names of `nginx -T` (domains-from = nginx).  Each name becomes
 * its registrable domain, asked about once.
 */

#ifndef SYNC_NAMES_H
#define SYNC_NAMES_H

#include <stddef.h>

#include <jansson.h>

#include "beian_write.h"
#include "config.h"


/* One registrable domain to ask about. */
typedef struct {
    char    domain[BEIAN_DOMAIN_MAX + 1];   /* A-labels */
    size_t  domain_len;
    char    icp[BEIAN_ICP_MAX + 1];         /* from a domain line; "" */
    char    names[256];                     /* the names that led here,
                                               for messages ("www.a.com,
                                               a.com") */
} sync_name_t;

typedef struct {
    sync_name_t  *v;
    size_t        n;
    size_t        size;
    json_t       *skipped;      /* [{"name", "reason"}]: server_names that
                                   are not domains */
} sync_names_t;

/*
 * The candidates of a pull: c's domain lines (a name that is not a
 * domain, a public suffix, an ICP number that is not one, or two numbers
 * for one registrable domain: -1, a configuration error) and, with
 * domains-from = nginx, the server_names of `nginx -T` (non-domains are
 * listed in skipped; nginx failing is -1).  Sorted by domain, each once.
 * 0, or -1 with err; an empty result is the caller's to refuse.
 */
int sync_names_collect(const sync_pull_conf_t *c, sync_names_t *out,
    char *err, size_t err_len);

/*
 * Adds one name (normalized, reduced to its registrable domain) with an
 * optional ICP number.  0; 1 when it is not a domain (why says why); -1
 * when out of memory or the ICP numbers of one registrable domain differ
 * (err).
 */
int sync_names_add(sync_names_t *l, const char *name, const char *icp,
    const char **why, char *err, size_t err_len);

/* Sorts and merges the list; -1 with err when ICP numbers conflict. */
int sync_names_finish(sync_names_t *l, char *err, size_t err_len);

void sync_names_free(sync_names_t *l);

/*
 * The server_name arguments found in an `nginx -T` dump, in order, each
 * passed to fn with its line.  Comments, quotes and escapes as nginx
 * reads them.  0, or what fn returned when not 0.
 */
typedef int (*sync_server_name_pt)(const char *name, size_t line,
    void *data);
int sync_nginx_server_names(const char *dump, size_t len,
    sync_server_name_pt fn, void *data);

/*
 * A server_name argument to a domain name, or NULL with why: regex
 * (~...), "_", a variable, "localhost" and other single labels, an IP
 * literal, a wildcard anywhere but a leading "*." ; ".example.com" and
 * "*.example.com" give example.com.  out holds BEIAN_DOMAIN_MAX + 1.
 */
const char *sync_server_name_domain(const char *name, char *out,
    const char **why);

#endif /* SYNC_NAMES_H */
