/*
 * beian-sync: pull's options.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "config.h"
#include "kv.h"
#include "records.h"
#include "util.h"


/* A config file is a few lines; more is not a config file. */
#define CONFIG_MAX  (64 * 1024)

typedef enum {
    T_STR = 0,
    T_UINT,
    T_BOOL,
    T_LIST
} key_type_t;

typedef struct {
    const char  *name;
    key_type_t   type;
    size_t       off;
    unsigned     min;
    unsigned     max;
    unsigned     secret:1;          /* never echoed; file must be 0600 */
    unsigned     token:1;           /* a header value: a plain token */
} key_t_;

#define STR(k, f, tok)  { k, T_STR, offsetof(sync_pull_conf_t, f), 0, 0, 0, tok }
#define NUM(k, f, a, b) { k, T_UINT, offsetof(sync_pull_conf_t, f), a, b, 0, 0 }
#define BOOL(k, f)      { k, T_BOOL, offsetof(sync_pull_conf_t, f), 0, 1, 0, 0 }
#define SECRET(k, f)    { k, T_STR, offsetof(sync_pull_conf_t, f), 0, 0, 1, 1 }

/* In sync_key_t order. */
static const key_t_  keys[SYNC_KEY_N] = {
    STR("source", source, 0),
    STR("endpoint", endpoint, 0),
    STR("action", action, 1),
    STR("api-version", api_version, 1),
    STR("service", service, 1),
    STR("region", region, 1),
    STR("instance-id", instance_id, 0),
    STR("out", out, 0),
    STR("reload-pid", reload_pid, 0),
    NUM("max-shrink", max_shrink, 0, 100),
    BOOL("force", force),
    BOOL("allow-shared-dir", allow_shared_dir),
    NUM("timeout", timeout, 1, 3600),
    NUM("retries", retries, 0, 20),
    NUM("page-size", page_size, 1, 100),
    STR("ca-file", ca_file, 0),
    STR("metadata-url", metadata_url, 0),
    SECRET("secret-id", secret_id),
    SECRET("secret-key", secret_key),
    SECRET("session-token", session_token),
    BOOL("json", json),
    BOOL("quiet", quiet),
    { "domain", T_LIST, offsetof(sync_pull_conf_t, domains), 0, 0, 0, 0 },
    STR("domains-from", domains_from, 0),
    STR("nginx", nginx, 0),
    STR("nginx-conf", nginx_conf, 0),
    NUM("concurrency", concurrency, 1, 64),
};


const char *
sync_key_name(sync_key_t k)
{
    return k < SYNC_KEY_N ? keys[k].name : "?";
}


void
sync_pull_conf_init(sync_pull_conf_t *c)
{
    memset(c, 0, sizeof(*c));
    c->max_shrink = 50;
    c->timeout = 30;
    c->retries = 4;
    c->page_size = 100;
    c->concurrency = 8;
}


static char **
str_field(sync_pull_conf_t *c, const key_t_ *k)
{
    return (char **) ((char *) c + k->off);
}


static void
free_str(char **s)
{
    if (*s != NULL) {
        OPENSSL_cleanse(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}


void
sync_pull_conf_free(sync_pull_conf_t *c)
{
    size_t  i;

    for (i = 0; i < SYNC_KEY_N; i++) {
        if (keys[i].type == T_STR) {
            free_str(str_field(c, &keys[i]));
        }
    }

    for (i = 0; i < c->ndomains; i++) {
        free(c->domains[i]);
    }
    free(c->domains);
    c->domains = NULL;
    c->ndomains = 0;
}


/* "NAME" or "NAME ICP-NUMBER", added to the list. */
static int
add_domain(sync_pull_conf_t *c, const char *value, char *err,
    size_t err_len)
{
    char   **l, shown[96], *v;
    size_t   i, words = 0;

    sync_display(shown, sizeof(shown), value, strlen(value));

    for (i = 0; value[i]; i++) {
        if (value[i] != ' ' && value[i] != '\t'
            && (i == 0 || value[i - 1] == ' ' || value[i - 1] == '\t'))
        {
            words++;
        }
    }
    if (words < 1 || words > 2 || sync_has_control(value)) {
        snprintf(err, err_len, "domain \"%s\": expected a name and, "
                 "optionally, its ICP number (domain = example.com "
                 "京ICP备12345678号-1)", shown);
        return -1;
    }

    l = realloc(c->domains, (c->ndomains + 1) * sizeof(char *));
    if (l == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    c->domains = l;

    v = strdup(value);
    if (v == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    c->domains[c->ndomains++] = v;
    return 0;
}


static int
parse_bool(const char *s, unsigned *out)
{
    static const char *const  yes[] = { "true", "yes", "on", "1" };
    static const char *const  no[] = { "false", "no", "off", "0" };
    size_t                    i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}


int
sync_pull_conf_set(sync_pull_conf_t *c, const char *key, const char *value,
    sync_from_t from, char *err, size_t err_len)
{
    size_t         i;
    char         **s, shown[96];
    unsigned      *u, v;
    const key_t_  *k = NULL;

    for (i = 0; i < SYNC_KEY_N; i++) {
        if (strcmp(keys[i].name, key) == 0) {
            k = &keys[i];
            break;
        }
    }

    if (k == NULL) {
        snprintf(err, err_len, "unknown key \"%s\"",
                 sync_display(shown, sizeof(shown), key, strlen(key)));
        return -1;
    }

    if (from < c->from[i]) {
        return 0;
    }

    sync_display(shown, sizeof(shown), value, strlen(value));

    switch (k->type) {

    case T_LIST:
        /* a higher source replaces the list; the same one adds to it */
        if (from > c->from[i]) {
            for (v = 0; v < c->ndomains; v++) {
                free(c->domains[v]);
            }
            c->ndomains = 0;
        }
        if (add_domain(c, value, err, err_len) != 0) {
            return -1;
        }
        break;

    case T_UINT:
        if (sync_parse_uint(value, k->min, k->max, &v) != 0) {
            snprintf(err, err_len, "%s \"%s\": expected an integer %u..%u",
                     k->name, shown, k->min, k->max);
            return -1;
        }
        *(unsigned *) ((char *) c + k->off) = v;
        break;

    case T_BOOL:
        u = (unsigned *) ((char *) c + k->off);
        if (parse_bool(value, u) != 0) {
            snprintf(err, err_len, "%s \"%s\": expected true or false",
                     k->name, shown);
            return -1;
        }
        break;

    case T_STR:
        if (k->secret) {
            if (!sync_is_token(value, strlen(value))) {
                snprintf(err, err_len, "%s: expected printable ASCII "
                         "without blanks (value not shown)", k->name);
                return -1;
            }
        } else if (k->token) {
            /* region may be empty: no X-TC-Region header */
            if (!(value[0] == '\0' && i == SYNC_KEY_REGION)
                && !sync_is_token(value, strlen(value)))
            {
                snprintf(err, err_len, "%s \"%s\": expected printable "
                         "ASCII without blanks", k->name, shown);
                return -1;
            }
        } else if (value[0] == '\0' || sync_has_control(value)) {
            snprintf(err, err_len, "%s \"%s\": expected a non-empty value "
                     "without control characters", k->name, shown);
            return -1;
        }

        s = str_field(c, k);
        free_str(s);
        if (value[0] != '\0') {
            *s = strdup(value);
            if (*s == NULL) {
                snprintf(err, err_len, "out of memory");
                return -1;
            }
        }
        break;
    }

    c->from[i] = from;
    return 0;
}


typedef struct {
    size_t       line;
    const char  *key;
    const char  *value;
} entry_t;

typedef struct {
    entry_t  *e;
    size_t    n;
    size_t    size;
} entries_t;


static int
conf_entry(const sync_kv_t *kv, void *data, char *err, size_t err_len)
{
    entries_t  *l = data;

    (void) err;
    (void) err_len;

    /* one entry per line at most: sized for them all */
    if (l->n == l->size) {
        return -1;
    }
    l->e[l->n].line = kv->line;
    l->e[l->n].key = kv->key;
    l->e[l->n].value = kv->value;
    l->n++;
    return 0;
}


int
sync_pull_conf_load(sync_pull_conf_t *c, const char *path, char *err,
    size_t err_len)
{
    int           rc, secret = 0;
    char         *buf = NULL;
    char          msg[BEIAN_SYNC_MSG_MAX];
    size_t        len = 0, i, j, n, lines;
    entry_t      *e = NULL;
    entries_t     l;
    struct stat   st;

    memset(&l, 0, sizeof(l));

    rc = sync_read_private("config", path, S_IWGRP | S_IWOTH, CONFIG_MAX,
                           &buf, &len, &st, err, err_len);
    if (rc != 0) {
        if (rc == 1) {
            snprintf(err, err_len, "config %s: %s", path, strerror(ENOENT));
        }
        rc = -1;
        goto done;
    }
    rc = -1;

    for (i = 0, lines = 1; i < len; i++) {
        lines += buf[i] == '\n';
    }
    l.e = calloc(lines, sizeof(entry_t));
    l.n = 0;
    l.size = lines;
    if (l.e == NULL) {
        snprintf(err, err_len, "out of memory");
        goto done;
    }

    if (sync_kv_parse("config", path, buf, len, 0, conf_entry, &l, err,
                      err_len) != 0)
    {
        goto done;
    }
    e = l.e;
    n = l.n;

    for (i = 0; i < n; i++) {
        if (strcmp(e[i].key, "config") == 0) {
            snprintf(err, err_len, "%s:%zu: \"config\" cannot be set in a "
                     "config file", path, e[i].line);
            goto done;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(e[i].key, e[j].key) == 0
                && strcmp(e[i].key, "domain") != 0)
            {
                snprintf(err, err_len, "%s:%zu: %s is set twice (first on "
                         "line %zu)", path, e[i].line, e[i].key, e[j].line);
                goto done;
            }
        }
        if (strcmp(e[i].key, "secret-key") == 0
            || strcmp(e[i].key, "session-token") == 0)
        {
            secret = 1;
        }
    }

    /* before applying anything: never use a secret others can read */
    if (secret && (st.st_mode & (S_IRGRP | S_IROTH))) {
        snprintf(err, err_len, "config %s: refused, it holds a secret and is "
                 "group- or world-readable (chmod 600 %s)", path, path);
        goto done;
    }

    for (i = 0; i < n; i++) {
        if (sync_pull_conf_set(c, e[i].key, e[i].value, SYNC_FROM_CONFIG,
                               msg, sizeof(msg)) != 0)
        {
            snprintf(err, err_len, "%s:%zu: %s", path, e[i].line, msg);
            goto done;
        }
    }

    c->config = path;
    rc = 0;

done:

    free(l.e);
    if (buf) {
        OPENSSL_cleanse(buf, CONFIG_MAX + 1);
        free(buf);
    }
    return rc;
}


int
sync_host_is_loopback(const char *host)
{
    size_t           n;
    unsigned char    a4[4];
    struct in6_addr  a6;
    char             buf[64];

    if (strcasecmp(host, "localhost") == 0) {
        return 1;
    }

    if (inet_pton(AF_INET, host, a4) == 1) {
        return a4[0] == 127;
    }

    n = strlen(host);
    if (n >= 2 && n - 2 < sizeof(buf) && host[0] == '[' && host[n - 1] == ']')
    {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) == 1) {
            return IN6_IS_ADDR_LOOPBACK(&a6);
        }
    }

    return 0;
}


typedef struct {
    char  *scheme;
    char  *host;
    char  *port;
    char  *path;
    char  *query;
    char  *fragment;
    char  *user;
    char  *password;
} url_parts_t;


static void
url_parts_free(url_parts_t *p)
{
    curl_free(p->scheme);
    curl_free(p->host);
    curl_free(p->port);
    curl_free(p->path);
    curl_free(p->query);
    curl_free(p->fragment);
    curl_free(p->user);
    curl_free(p->password);
    memset(p, 0, sizeof(*p));
}


/* Splits a URL with curl's own parser: what is checked is what curl will
 * connect to.  Echoes the URL in messages only without user info. */
static int
url_split(const char *what, const char *url, url_parts_t *p, char *err,
    size_t err_len)
{
    char       shown[128];
    CURLU     *u;
    CURLUcode  rc;

    memset(p, 0, sizeof(*p));
    sync_display(shown, sizeof(shown), url, strlen(url));
    if (strchr(url, '@') != NULL) {
        strcpy(shown, "(not shown)");
    }

    u = curl_url();
    if (u == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc != CURLUE_OK) {
        snprintf(err, err_len, "%s \"%s\": not a valid URL (%s)", what, shown,
                 curl_url_strerror(rc));
        curl_url_cleanup(u);
        return -1;
    }

    (void) curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0);
    (void) curl_url_get(u, CURLUPART_HOST, &p->host, 0);
    (void) curl_url_get(u, CURLUPART_PORT, &p->port, 0);
    (void) curl_url_get(u, CURLUPART_PATH, &p->path, 0);
    (void) curl_url_get(u, CURLUPART_QUERY, &p->query, 0);
    (void) curl_url_get(u, CURLUPART_FRAGMENT, &p->fragment, 0);
    (void) curl_url_get(u, CURLUPART_USER, &p->user, 0);
    (void) curl_url_get(u, CURLUPART_PASSWORD, &p->password, 0);
    curl_url_cleanup(u);

    if (p->scheme == NULL || p->host == NULL || p->host[0] == '\0') {
        snprintf(err, err_len, "%s \"%s\": no host", what, shown);
        goto fail;
    }
    if (strcmp(p->scheme, "https") != 0 && strcmp(p->scheme, "http") != 0) {
        snprintf(err, err_len, "%s \"%s\": only https:// (or http:// where "
                 "allowed) is supported", what, shown);
        goto fail;
    }
    if (p->user != NULL || p->password != NULL) {
        snprintf(err, err_len, "%s: user info in the URL is not supported",
                 what);
        goto fail;
    }
    if (p->query != NULL || p->fragment != NULL) {
        snprintf(err, err_len, "%s \"%s\": no query or fragment allowed",
                 what, shown);
        goto fail;
    }
    if (strlen(p->host) + (p->port ? strlen(p->port) : 0)
        + (p->path ? strlen(p->path) : 0) + 16 > SYNC_URL_MAX)
    {
        snprintf(err, err_len, "%s: URL too long", what);
        goto fail;
    }

    return 0;

fail:

    url_parts_free(p);
    return -1;
}


/* host[:port], lowercase, the port omitted when it is the scheme's. */
static void
host_port(const url_parts_t *p, char *out)
{
    char  *c;

    if (p->port != NULL
        && !(strcmp(p->scheme, "https") == 0 && strcmp(p->port, "443") == 0)
        && !(strcmp(p->scheme, "http") == 0 && strcmp(p->port, "80") == 0))
    {
        sprintf(out, "%s:%s", p->host, p->port);
    } else {
        strcpy(out, p->host);
    }

    for (c = out; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char) (*c - 'A' + 'a');
        }
    }
}


int
sync_endpoint_parse(const char *url, char *norm, char *host, char *err,
    size_t err_len)
{
    url_parts_t  p;

    if (url_split("endpoint", url, &p, err, err_len) != 0) {
        return -1;
    }

    if (p.path != NULL && strcmp(p.path, "/") != 0 && p.path[0] != '\0') {
        snprintf(err, err_len, "endpoint: the API is at \"/\"; a path "
                 "(\"%s\") is not supported", p.path);
        goto fail;
    }

    /* plain http only where nothing can listen in */
    if (strcmp(p.scheme, "http") == 0 && !sync_host_is_loopback(p.host)) {
        snprintf(err, err_len, "endpoint: http:// is only allowed for a "
                 "loopback host (127.0.0.0/8, ::1, localhost), not \"%s\"; "
                 "use https://", p.host);
        goto fail;
    }

    host_port(&p, host);
    if ((size_t) snprintf(norm, SYNC_URL_MAX, "%s://%s/", p.scheme, host)
        >= SYNC_URL_MAX)
    {
        snprintf(err, err_len, "endpoint: URL too long");
        goto fail;
    }
    url_parts_free(&p);
    return 0;

fail:

    url_parts_free(&p);
    return -1;
}


int
sync_metadata_parse(const char *url, char *base, char *err, size_t err_len)
{
    size_t       n;
    url_parts_t  p;
    char         host[SYNC_URL_MAX];

    /* http for any host: the real service is http://metadata.tencentyun.com,
     * reachable only from the instance itself */
    if (url_split("metadata-url", url, &p, err, err_len) != 0) {
        return -1;
    }

    host_port(&p, host);
    if ((size_t) snprintf(base, SYNC_URL_MAX, "%s://%s%s", p.scheme, host,
                          p.path ? p.path : "") >= SYNC_URL_MAX)
    {
        snprintf(err, err_len, "metadata-url: URL too long");
        url_parts_free(&p);
        return -1;
    }

    n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        base[--n] = '\0';
    }

    url_parts_free(&p);
    return 0;
}


static int
set_default(sync_pull_conf_t *c, sync_key_t k, const char *value)
{
    char  err[64];

    if (*str_field(c, &keys[k]) != NULL) {
        return 0;
    }
    return sync_pull_conf_set(c, keys[k].name, value, SYNC_FROM_DEFAULT, err,
                              sizeof(err));
}


int
sync_pull_conf_finish(sync_pull_conf_t *c, int status, char *err,
    size_t err_len)
{
    int          tencent;
    const char  *msg;
    char         shown[96];

    if (status && c->source != NULL && strcmp(c->source, "tencent") != 0) {
        snprintf(err, err_len, "status asks the tencent source; the config "
                 "says source = %s", c->source);
        return -1;
    }
    if (set_default(c, SYNC_KEY_SOURCE, status ? "tencent" : "records")
        != 0)
    {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (strcmp(c->source, "tencent") != 0
        && strcmp(c->source, "records") != 0)
    {
        snprintf(err, err_len, "source \"%s\": expected tencent or records",
                 sync_display(shown, sizeof(shown), c->source,
                              strlen(c->source)));
        return -1;
    }
    tencent = strcmp(c->source, "tencent") == 0;

    if (set_default(c, SYNC_KEY_ENDPOINT, tencent ? SYNC_TENCENT_ENDPOINT
                                                  : SYNC_RECORDS_ENDPOINT)
        != 0
        || set_default(c, SYNC_KEY_ACTION, tencent ? SYNC_TENCENT_ACTION
                                                   : SYNC_RECORDS_ACTION)
           != 0
        || set_default(c, SYNC_KEY_API_VERSION,
                       tencent ? SYNC_TENCENT_VERSION : SYNC_RECORDS_VERSION)
           != 0
        || set_default(c, SYNC_KEY_SERVICE, tencent ? SYNC_TENCENT_SERVICE
                                                    : SYNC_RECORDS_SERVICE)
           != 0
        || set_default(c, SYNC_KEY_METADATA_URL, SYNC_DEFAULT_METADATA) != 0
        || set_default(c, SYNC_KEY_NGINX, SYNC_DEFAULT_NGINX) != 0)
    {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    if (c->domains_from != NULL && strcmp(c->domains_from, "nginx") != 0) {
        snprintf(err, err_len, "domains-from \"%s\": expected nginx",
                 sync_display(shown, sizeof(shown), c->domains_from,
                              strlen(c->domains_from)));
        return -1;
    }
    if (!tencent && (c->ndomains > 0 || c->domains_from != NULL)) {
        snprintf(err, err_len, "domain and domains-from are for source = "
                 "tencent; the records source asks for the instance's "
                 "records");
        return -1;
    }
    if (tencent && !status && c->ndomains == 0 && c->domains_from == NULL) {
        snprintf(err, err_len, "source = tencent needs the names to ask "
                 "about: domain = NAME [ICP] lines and/or domains-from = "
                 "nginx");
        return -1;
    }

    if (status) {
        goto optional;
    }

    if (c->instance_id == NULL) {
        snprintf(err, err_len, "instance-id is required (an id such as "
                 "lhins-abcd1234, or auto)");
        return -1;
    }
    if (strcmp(c->instance_id, "auto") != 0) {
        msg = sync_instance_id_check(c->instance_id);
        if (msg != NULL) {
            snprintf(err, err_len, "instance-id \"%s\": %s",
                     sync_display(shown, sizeof(shown), c->instance_id,
                                  strlen(c->instance_id)), msg);
            return -1;
        }
    }

    if (c->out == NULL) {
        snprintf(err, err_len, "out is required (the snapshot path)");
        return -1;
    }

optional:

    /* a half-given pair is a mistake, not a reason to look elsewhere */
    if ((c->secret_id == NULL) != (c->secret_key == NULL)) {
        snprintf(err, err_len, "%s is given without %s",
                 c->secret_id ? "secret-id" : "secret-key",
                 c->secret_id ? "secret-key" : "secret-id");
        return -1;
    }
    if (c->session_token != NULL && c->secret_id == NULL) {
        snprintf(err, err_len, "session-token is given without secret-id "
                 "and secret-key");
        return -1;
    }

    if (c->ca_file != NULL && access(c->ca_file, R_OK) != 0) {
        snprintf(err, err_len, "ca-file %s: %s", c->ca_file, strerror(errno));
        return -1;
    }

    if (sync_endpoint_parse(c->endpoint, c->url, c->host, err, err_len) != 0
        || sync_metadata_parse(c->metadata_url, c->metadata, err, err_len)
           != 0)
    {
        return -1;
    }

    /* what `info` shows as the snapshot's origin; a long one is cut */
    if ((size_t) snprintf(c->meta_source, sizeof(c->meta_source),
                          "pull:%s %s %s", c->url, c->action, c->api_version)
        >= sizeof(c->meta_source))
    {
        c->meta_source[sizeof(c->meta_source) - 4] = '\0';
        strcat(c->meta_source, "...");
    }

    return 0;
}
