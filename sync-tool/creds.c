/*
 * beian-sync: credentials and identity for pull.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "creds.h"
#include "kv.h"
#include "records.h"
#include "report.h"
#include "util.h"


#define CREDS_FILE_MAX  (64 * 1024)

#define META_CREDS      "/latest/meta-data/cam/security-credentials/"
#define META_INSTANCE   "/latest/meta-data/instance-id"


void
sync_creds_clear(sync_creds_t *cr)
{
    OPENSSL_cleanse(cr, sizeof(*cr));
    memset(cr, 0, sizeof(*cr));
}


/* Copies a credential after checking it; 0 or -1 (never says the value). */
static int
take(char *dst, size_t size, const char *s, size_t len)
{
    if (!sync_is_token(s, len) || len >= size) {
        return -1;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}


/* Puts pre before the message in buf, cutting its end if need be. */
static void
prepend(char *buf, size_t size, const char *pre)
{
    size_t  n = strlen(pre), len = strlen(buf);

    if (n >= size) {
        return;
    }
    if (len > size - 1 - n) {
        len = size - 1 - n;
    }
    memmove(buf + n, buf, len);
    memcpy(buf, pre, n);
    buf[n + len] = '\0';
}


static void
register_secrets(const sync_creds_t *cr)
{
    sync_secret_add(cr->id);
    sync_secret_add(cr->key);
    sync_secret_add(cr->token);
}


typedef struct {
    const char  *path;
    char         id[SYNC_CREDS_ID_MAX];
    char         key[SYNC_CREDS_KEY_MAX];
} creds_file_t;


/* An entry of the credentials file: only [default] counts. */
static int
creds_entry(const sync_kv_t *kv, void *data, char *err, size_t err_len)
{
    char          *out;
    size_t         size;
    creds_file_t  *f = data;

    if (strcmp(kv->section, "default") != 0) {
        return 0;
    }

    if (strcmp(kv->key, "secret_id") == 0) {
        out = f->id;
        size = sizeof(f->id);
    } else if (strcmp(kv->key, "secret_key") == 0) {
        out = f->key;
        size = sizeof(f->key);
    } else {
        return 0;
    }

    if (take(out, size, kv->value, strlen(kv->value)) != 0) {
        snprintf(err, err_len, "credentials file %s:%zu: %s is not a plain "
                 "token (value not shown)", f->path, kv->line, kv->key);
        return -1;
    }
    return 0;
}


int
sync_creds_file(sync_creds_t *cr, const char *path, char *err,
    size_t err_len)
{
    int            rc;
    char          *buf = NULL;
    size_t         len = 0;
    struct stat    st;
    creds_file_t   f;

    memset(&f, 0, sizeof(f));
    f.path = path;

    /* holds a secret: no group or world access at all */
    rc = sync_read_private("credentials file", path,
                           S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH,
                           CREDS_FILE_MAX, &buf, &len, &st, err, err_len);
    if (rc != 0) {
        return rc;
    }
    rc = -1;

    /* INI: [section], key = value, # or ; comments */
    if (sync_kv_parse("credentials file", path, buf, len,
                      SYNC_KV_SECTIONS | SYNC_KV_SEMICOLON, creds_entry, &f,
                      err, err_len) != 0)
    {
        goto done;
    }

    if (f.id[0] == '\0' || f.key[0] == '\0') {
        snprintf(err, err_len, "credentials file %s: no secret_id and "
                 "secret_key in [default]", path);
        goto done;
    }

    memcpy(cr->id, f.id, sizeof(f.id));
    memcpy(cr->key, f.key, sizeof(f.key));
    cr->token[0] = '\0';
    cr->expires = 0;
    cr->source = "file";
    rc = 0;

done:

    if (buf) {
        OPENSSL_cleanse(buf, CREDS_FILE_MAX + 1);
        free(buf);
    }
    OPENSSL_cleanse(&f, sizeof(f));
    return rc;
}


static const char *
json_str(json_t *o, const char *k, size_t *len)
{
    json_t  *v = json_object_get(o, k);

    if (!json_is_string(v)) {
        return NULL;
    }
    *len = json_string_length(v);
    return json_string_value(v);
}


int
sync_creds_metadata_json(sync_creds_t *cr, const char *body, size_t len,
    char *err, size_t err_len)
{
    int            rc = -1;
    size_t         n;
    json_t        *o, *exp;
    const char    *s;
    json_error_t   e;
    char           shown[64];
    sync_creds_t   t;

    memset(&t, 0, sizeof(t));

    o = json_loadb(body, len, 0, &e);
    if (!json_is_object(o)) {
        snprintf(err, err_len, "not a JSON object (%s)",
                 o ? "other JSON" : e.text);
        goto done;
    }

    s = json_str(o, "Code", &n);
    if (json_object_get(o, "Code") != NULL
        && (s == NULL || n != 7 || memcmp(s, "Success", 7) != 0))
    {
        snprintf(err, err_len, "Code is \"%s\", not \"Success\"",
                 s ? sync_display(shown, sizeof(shown), s, n) : "?");
        goto done;
    }

    s = json_str(o, "TmpSecretId", &n);
    if (s == NULL || take(t.id, sizeof(t.id), s, n) != 0) {
        snprintf(err, err_len, "TmpSecretId missing or malformed");
        goto done;
    }
    s = json_str(o, "TmpSecretKey", &n);
    if (s == NULL || take(t.key, sizeof(t.key), s, n) != 0) {
        snprintf(err, err_len, "TmpSecretKey missing or malformed");
        goto done;
    }
    s = json_str(o, "Token", &n);
    if (s == NULL || take(t.token, sizeof(t.token), s, n) != 0) {
        snprintf(err, err_len, "Token missing or malformed");
        goto done;
    }

    exp = json_object_get(o, "ExpiredTime");
    if (!json_is_integer(exp) || json_integer_value(exp) <= 0) {
        snprintf(err, err_len, "ExpiredTime is not a positive integer "
                 "(unix seconds)");
        goto done;
    }
    t.expires = json_integer_value(exp);

    memcpy(cr->id, t.id, sizeof(t.id));
    memcpy(cr->key, t.key, sizeof(t.key));
    memcpy(cr->token, t.token, sizeof(t.token));
    cr->expires = t.expires;
    cr->source = "metadata";
    register_secrets(cr);
    rc = 0;

done:

    /* the decoded JSON held the secrets too */
    if (o) {
        const char  *k;
        json_t      *v;

        json_object_foreach(o, k, v) {
            if (json_is_string(v)) {
                OPENSSL_cleanse((char *) json_string_value(v),
                                json_string_length(v));
            }
        }
    }
    json_decref(o);
    OPENSSL_cleanse(&t, sizeof(t));
    return rc;
}


/* The role's credentials; cr->role is set.  Exit code. */
static int
metadata_role_creds(sync_creds_t *cr, const sync_metadata_t *md, char *err,
    size_t err_len)
{
    int               rc = SYNC_EXIT_PROVIDER;
    sync_http_resp_t  r;
    char              url[SYNC_URL_MAX + 256], msg[256];

    memset(&r, 0, sizeof(r));
    snprintf(url, sizeof(url), "%s" META_CREDS "%s", md->base, cr->role);

    if (sync_http_get(md->http, url, md->retries, md->backoff,
                      SYNC_HTTP_META_MAX, &r, err, err_len) != 0)
    {
        prepend(err, err_len, "metadata service: ");
        goto done;
    }
    if (r.status != 200) {
        snprintf(err, err_len, "metadata service: GET %s: HTTP status %ld",
                 url, r.status);
        goto done;
    }

    if (sync_creds_metadata_json(cr, r.body ? r.body : "", r.len, msg,
                                 sizeof(msg)) != 0)
    {
        snprintf(err, err_len, "metadata service: GET %s: %s", url, msg);
        goto done;
    }

    rc = SYNC_EXIT_OK;

done:

    if (r.body) {
        OPENSSL_cleanse(r.body, r.size);
    }
    sync_http_resp_free(&r);
    return rc;
}


/* The CAM role bound to the instance: exit code; 1 when there is none. */
static int
metadata_creds(sync_creds_t *cr, const sync_metadata_t *md, char *err,
    size_t err_len)
{
    int               rc = SYNC_EXIT_PROVIDER;
    char             *role, *nl;
    size_t            i;
    sync_http_resp_t  r;
    char              url[SYNC_URL_MAX + 64];

    memset(&r, 0, sizeof(r));
    snprintf(url, sizeof(url), "%s" META_CREDS, md->base);

    if (sync_http_get(md->http, url, md->retries, md->backoff,
                      SYNC_HTTP_META_MAX, &r, err, err_len) != 0)
    {
        prepend(err, err_len, "metadata service: ");
        goto done;
    }

    if (r.status == 404) {
        snprintf(err, err_len, "metadata service: no CAM role is bound to "
                 "this instance (GET %s: HTTP status 404)", url);
        rc = SYNC_EXIT_USAGE;
        goto done;
    }
    if (r.status != 200) {
        snprintf(err, err_len, "metadata service: GET %s: HTTP status %ld",
                 url, r.status);
        goto done;
    }

    /* one role per line; the first one */
    role = r.body ? r.body : (char *) "";
    nl = strchr(role, '\n');
    if (nl) {
        *nl = '\0';
    }
    role = sync_trim(role);

    for (i = 0; role[i]; i++) {
        if (!((role[i] >= 'a' && role[i] <= 'z')
              || (role[i] >= 'A' && role[i] <= 'Z')
              || (role[i] >= '0' && role[i] <= '9')
              || strchr("_+=,.@-", role[i]) != NULL))
        {
            break;
        }
    }
    if (i == 0 || role[i] != '\0' || i >= sizeof(cr->role)) {
        snprintf(err, err_len, "metadata service: GET %s: no usable role "
                 "name in the answer", url);
        goto done;
    }
    memcpy(cr->role, role, i + 1);

    rc = metadata_role_creds(cr, md, err, err_len);

done:

    sync_http_resp_free(&r);
    return rc;
}


int
sync_creds_resolve(sync_creds_t *cr, const sync_pull_conf_t *c,
    const char *home, const sync_metadata_t *md, char *err, size_t err_len)
{
    int          rc;
    const char  *id, *key, *token;
    char         path[4096];

    memset(cr, 0, sizeof(*cr));

    /* 1. flags and the config file (pairs were checked by conf_finish) */
    if (c->secret_id != NULL && c->secret_key != NULL) {
        if (take(cr->id, sizeof(cr->id), c->secret_id, strlen(c->secret_id))
            || take(cr->key, sizeof(cr->key), c->secret_key,
                    strlen(c->secret_key))
            || (c->session_token
                && take(cr->token, sizeof(cr->token), c->session_token,
                        strlen(c->session_token))))
        {
            snprintf(err, err_len, "secret-id, secret-key or session-token "
                     "is too long");
            sync_creds_clear(cr);
            return SYNC_EXIT_USAGE;
        }
        cr->source = (c->from[SYNC_KEY_SECRET_ID] == SYNC_FROM_FLAG
                      || c->from[SYNC_KEY_SECRET_KEY] == SYNC_FROM_FLAG)
                     ? "flags" : "config";
        register_secrets(cr);
        return SYNC_EXIT_OK;
    }

    /* 2. the environment */
    id = getenv("TENCENTCLOUD_SECRET_ID");
    key = getenv("TENCENTCLOUD_SECRET_KEY");
    token = getenv("TENCENTCLOUD_SESSION_TOKEN");
    if (id && *id == '\0') {
        id = NULL;
    }
    if (key && *key == '\0') {
        key = NULL;
    }

    if (id != NULL || key != NULL) {
        if (id == NULL || key == NULL) {
            snprintf(err, err_len, "%s is set but %s is not",
                     id ? "TENCENTCLOUD_SECRET_ID" : "TENCENTCLOUD_SECRET_KEY",
                     id ? "TENCENTCLOUD_SECRET_KEY"
                        : "TENCENTCLOUD_SECRET_ID");
            return SYNC_EXIT_USAGE;
        }
        if (take(cr->id, sizeof(cr->id), id, strlen(id))
            || take(cr->key, sizeof(cr->key), key, strlen(key))
            || (token && *token
                && take(cr->token, sizeof(cr->token), token, strlen(token))))
        {
            snprintf(err, err_len, "TENCENTCLOUD_SECRET_ID, _SECRET_KEY or "
                     "_SESSION_TOKEN is not a plain token of a usable "
                     "length (value not shown)");
            sync_creds_clear(cr);
            return SYNC_EXIT_USAGE;
        }
        cr->source = "env";
        register_secrets(cr);
        return SYNC_EXIT_OK;
    }

    /* 3. the credentials file */
    if (home == NULL) {
        home = getenv("HOME");
    }
    if (home != NULL && *home != '\0') {
        if ((size_t) snprintf(path, sizeof(path),
                              "%s/.tencentcloud/credentials", home)
            >= sizeof(path))
        {
            snprintf(err, err_len, "HOME is too long");
            return SYNC_EXIT_USAGE;
        }

        rc = sync_creds_file(cr, path, err, err_len);
        if (rc == 0) {
            register_secrets(cr);
            return SYNC_EXIT_OK;
        }
        if (rc < 0) {
            return SYNC_EXIT_USAGE;
        }
    }

    /* 4. the instance's CAM role */
    if (md == NULL) {
        snprintf(err, err_len, "no credentials: none in flags, the config "
                 "file, the environment or ~/.tencentcloud/credentials");
        return SYNC_EXIT_USAGE;
    }

    rc = metadata_creds(cr, md, err, err_len);
    if (rc != SYNC_EXIT_OK) {
        prepend(err, err_len, "no credentials: none in flags, the config "
                "file (secret-id, secret-key), the environment "
                "(TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY) or "
                "~/.tencentcloud/credentials, and ");
        sync_creds_clear(cr);
    }
    return rc;
}


int
sync_creds_refresh(sync_creds_t *cr, const sync_metadata_t *md, int64_t now,
    char *err, size_t err_len)
{
    if (cr->expires == 0 || cr->expires - now >= SYNC_CREDS_REFRESH
        || md == NULL)
    {
        return SYNC_EXIT_OK;
    }

    return metadata_role_creds(cr, md, err, err_len);
}


int
sync_metadata_instance_id(const sync_metadata_t *md, char *out, size_t size,
    char *err, size_t err_len)
{
    int               rc = SYNC_EXIT_PROVIDER;
    char             *id;
    const char       *why;
    sync_http_resp_t  r;
    char              url[SYNC_URL_MAX + 64], shown[96];

    memset(&r, 0, sizeof(r));
    snprintf(url, sizeof(url), "%s" META_INSTANCE, md->base);

    if (sync_http_get(md->http, url, md->retries, md->backoff,
                      SYNC_HTTP_META_MAX, &r, err, err_len) != 0)
    {
        prepend(err, err_len, "instance-id auto: metadata service: ");
        goto done;
    }
    if (r.status != 200) {
        snprintf(err, err_len, "instance-id auto: GET %s: HTTP status %ld",
                 url, r.status);
        goto done;
    }

    id = sync_trim(r.body ? r.body : (char *) "");
    why = sync_instance_id_check(id);
    if (why != NULL || strlen(id) >= size) {
        snprintf(err, err_len, "instance-id auto: GET %s: \"%s\" is not an "
                 "instance id: %s", url,
                 sync_display(shown, sizeof(shown), id, strlen(id)),
                 why ? why : "too long");
        goto done;
    }

    strcpy(out, id);
    rc = SYNC_EXIT_OK;

done:

    sync_http_resp_free(&r);
    return rc;
}
