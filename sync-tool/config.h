/*
 * beian-sync: the options of `pull`, from flags and a config file with the
 * same keys (sync-tool/README.md, "pull").  One table says what each key
 * is; main.c only maps its flags onto sync_pull_conf_set().
 */

#ifndef SYNC_CONFIG_H
#define SYNC_CONFIG_H

#include <stddef.h>

#include "version.h"


#define BEIAN_SYNC_VERSION  BEIAN_VERSION

/* The defaults of each source (sync_pull_conf_finish()). */
#define SYNC_RECORDS_ENDPOINT   "https://lighthouse.tencentcloudapi.com"
#define SYNC_RECORDS_ACTION     "DescribeInstanceBeianDomains"
#define SYNC_RECORDS_VERSION    "2020-03-24"
#define SYNC_RECORDS_SERVICE    "lighthouse"
#define SYNC_TENCENT_ENDPOINT   "https://ba.tencentcloudapi.com"
#define SYNC_TENCENT_ACTION     "DescribeDomainIcpStatus"
#define SYNC_TENCENT_VERSION    "2020-07-20"
#define SYNC_TENCENT_SERVICE    "ba"
#define SYNC_DEFAULT_METADATA   "http://metadata.tencentyun.com"
#define SYNC_DEFAULT_NGINX      "/usr/sbin/nginx"

#define SYNC_URL_MAX            512

/* Where a value came from: a flag beats the config file beats the
 * default, whatever the order they are read in. */
typedef enum {
    SYNC_FROM_DEFAULT = 0,
    SYNC_FROM_CONFIG,
    SYNC_FROM_FLAG
} sync_from_t;

typedef enum {
    SYNC_KEY_SOURCE = 0,
    SYNC_KEY_ENDPOINT,
    SYNC_KEY_ACTION,
    SYNC_KEY_API_VERSION,
    SYNC_KEY_SERVICE,
    SYNC_KEY_REGION,
    SYNC_KEY_INSTANCE_ID,
    SYNC_KEY_OUT,
    SYNC_KEY_RELOAD_PID,
    SYNC_KEY_MAX_SHRINK,
    SYNC_KEY_FORCE,
    SYNC_KEY_ALLOW_SHARED_DIR,
    SYNC_KEY_TIMEOUT,
    SYNC_KEY_RETRIES,
    SYNC_KEY_PAGE_SIZE,
    SYNC_KEY_CA_FILE,
    SYNC_KEY_METADATA_URL,
    SYNC_KEY_SECRET_ID,
    SYNC_KEY_SECRET_KEY,
    SYNC_KEY_SESSION_TOKEN,
    SYNC_KEY_JSON,
    SYNC_KEY_QUIET,
    SYNC_KEY_DOMAIN,
    SYNC_KEY_DOMAINS_FROM,
    SYNC_KEY_NGINX,
    SYNC_KEY_NGINX_CONF,
    SYNC_KEY_CONCURRENCY,
    SYNC_KEY_N
} sync_key_t;

typedef struct {
    /* the keys; strings are NULL when unset (region: none) */
    char          *source;              /* "records" or "tencent" */
    char          *endpoint;
    char          *action;
    char          *api_version;
    char          *service;
    char          *region;
    char          *instance_id;         /* "auto" or lhins-... */
    char          *out;
    char          *reload_pid;
    unsigned       max_shrink;
    unsigned       force;
    unsigned       allow_shared_dir;    /* publish into a directory others
                                           may write */
    unsigned       timeout;
    unsigned       retries;
    unsigned       page_size;
    char          *ca_file;
    char          *metadata_url;
    char          *secret_id;
    char          *secret_key;
    char          *session_token;
    unsigned       json;
    unsigned       quiet;
    char         **domains;             /* "NAME [ICP]", in order */
    size_t         ndomains;
    char          *domains_from;        /* "nginx" */
    char          *nginx;
    char          *nginx_conf;
    unsigned       concurrency;         /* requests in flight (tencent) */

    sync_from_t    from[SYNC_KEY_N];
    const char    *config;              /* the file read, if any */

    /* derived by sync_pull_conf_finish() */
    char           url[SYNC_URL_MAX];       /* scheme://host[:port]/ */
    char           host[SYNC_URL_MAX];      /* the Host header: host[:port] */
    char           metadata[SYNC_URL_MAX];  /* base, no trailing '/' */
    char           meta_source[256];        /* snapshot meta "source" */
} sync_pull_conf_t;

/* The key's name ("page-size") and whether it names a secret. */
const char *sync_key_name(sync_key_t k);

void sync_pull_conf_init(sync_pull_conf_t *c);

/* Wipes the secrets and frees the strings. */
void sync_pull_conf_free(sync_pull_conf_t *c);

/*
 * Sets a key by name ("page-size", as the long flag without "--").  A
 * value from a lower source than the one already set is ignored.  "domain"
 * is a list: each value is added (flags replace the file's list).  0, or
 * -1 with err saying why: `KEY "VALUE": problem` (never the value of a
 * secret).  Booleans take true/false, yes/no, on/off, 1/0.
 */
int sync_pull_conf_set(sync_pull_conf_t *c, const char *key,
    const char *value, sync_from_t from, char *err, size_t err_len);

/*
 * Reads a config file: `key = value` lines, `#` comments (a whole line,
 * or from a `#` after a blank), a value may be "double-quoted".  Refused:
 * a file that is not regular, is group- or world-writable, is owned by
 * neither root nor the current user, or holds secret-key or
 * session-token and is group- or world-readable; an unknown or repeated
 * key (but "domain", which is a list).  0, or -1 with err ("FILE:LINE: ...").
 */
int sync_pull_conf_load(sync_pull_conf_t *c, const char *path, char *err,
    size_t err_len);

/*
 * After flags and file: fills the defaults (the source's endpoint,
 * action, api-version and service), checks what needs all keys (required
 * ones, URLs, credentials given in pairs) and derives url, host and
 * metadata.  With status set (beian-sync status), instance-id and out are
 * optional and the source is tencent.  0, or -1 with err.
 */
int sync_pull_conf_finish(sync_pull_conf_t *c, int status, char *err,
    size_t err_len);

/*
 * URL rules, exposed for the tests.  An endpoint: http or https, a host,
 * no user info, path "/" or none, no query or fragment; http only for a
 * loopback host (127.0.0.0/8, ::1, localhost).  Fills the normalized URL
 * and the Host header value.  A metadata base: http or https for any host
 * (the real service is plain http on a link-local name), a path prefix
 * allowed.  0, or -1 with err.
 */
int sync_endpoint_parse(const char *url, char *norm, char *host,
    char *err, size_t err_len);
int sync_metadata_parse(const char *url, char *base, char *err,
    size_t err_len);

/* Whether a URL host (as curl gives it: "[::1]" for IPv6) is loopback. */
int sync_host_is_loopback(const char *host);

#endif /* SYNC_CONFIG_H */
