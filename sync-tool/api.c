/*
 * beian-sync: one signed API call with retries, shared by every source.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "api.h"
#include "tc3.h"
#include "util.h"


/* ---- API error codes ---------------------------------------------- */

static int
code_is(const char *code, const char *name)
{
    size_t  n = strlen(name);

    /* the name itself or one of its sub-codes ("Name.Sub") */
    return strncmp(code, name, n) == 0 && (code[n] == '\0' || code[n] == '.');
}


sync_api_class_t
sync_api_error_class(const char *code)
{
    if (strcmp(code, "AuthFailure.SignatureExpire") == 0) {
        return SYNC_API_RESIGN;
    }

    if (code_is(code, "RequestLimitExceeded")
        || code_is(code, "InternalError")
        || strcmp(code, "ResourceUnavailable") == 0)
    {
        return SYNC_API_RETRY;
    }

    return SYNC_API_FATAL;
}


const char *
sync_api_error_hint(const char *code)
{
    static const struct {
        const char  *code;
        const char  *hint;
    } hints[] = {
        { "AuthFailure.SecretIdNotFound",
          "the SecretId is unknown or disabled" },
        { "AuthFailure.InvalidSecretId",
          "the SecretId is malformed" },
        { "AuthFailure.SignatureFailure",
          "the signature does not verify: is the secret key the one of "
          "this SecretId?" },
        { "AuthFailure.SignatureExpire",
          "the request's timestamp is too far from the provider's clock: "
          "check the system clock (NTP)" },
        { "AuthFailure.TokenFailure",
          "the session token is invalid or has expired" },
        { "AuthFailure.InvalidAuthorization",
          "the Authorization header was refused" },
        { "AuthFailure.UnauthorizedOperation",
          "these credentials may not call this action (CAM policy)" },
        { "UnauthorizedOperation",
          "these credentials may not call this action (CAM policy)" },
        { "InvalidAction",
          "the endpoint does not know this action (--action, "
          "--api-version, --endpoint, --source)" },
        { "InvalidParameter",
          "the provider refused the request's parameters (--instance-id?)" },
        { "ResourceNotFound",
          "the provider does not know this instance (--instance-id?)" },
    };

    size_t  i;

    for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
        if (code_is(code, hints[i].code)) {
            return hints[i].hint;
        }
    }

    if (code_is(code, "AuthFailure")) {
        return "authentication failed";
    }
    return NULL;
}



/* ---- requests ---------------------------------------------------- */

static struct curl_slist *
add_header(struct curl_slist *l, int *nomem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static struct curl_slist *
add_header(struct curl_slist *l, int *nomem, const char *fmt, ...)
{
    va_list             ap;
    struct curl_slist  *n;
    char                line[SYNC_CREDS_TOKEN_MAX + 64];

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    n = curl_slist_append(l, line);
    OPENSSL_cleanse(line, sizeof(line));
    if (n == NULL) {
        *nomem = 1;
        return l;
    }
    return n;
}


static void
free_headers(struct curl_slist *l)
{
    struct curl_slist  *p;

    for (p = l; p; p = p->next) {
        OPENSSL_cleanse(p->data, strlen(p->data));
    }
    curl_slist_free_all(l);
}


int
sync_api_init(sync_api_t *api, const sync_pull_conf_t *c, sync_report_t *rep)
{
    memset(api, 0, sizeof(*api));
    api->c = c;
    api->rep = rep;
    sync_backoff_init(&api->backoff);
    api->md.base = c->metadata;
    api->md.retries = c->retries;
    api->md.backoff = &api->backoff;

    if (pthread_mutex_init(&api->mutex, NULL) != 0) {
        return -1;
    }

    /* the metadata service gets a handle of its own */
    api->md.http = sync_http_new(c->timeout, c->ca_file);
    if (api->md.http == NULL) {
        pthread_mutex_destroy(&api->mutex);
        return -1;
    }

    return 0;
}


void
sync_api_free(sync_api_t *api)
{
    sync_http_free(api->md.http);
    api->md.http = NULL;
    sync_creds_clear(&api->creds);
    pthread_mutex_destroy(&api->mutex);
}


int
sync_api_conn_init(sync_api_conn_t *conn, const sync_pull_conf_t *c)
{
    memset(conn, 0, sizeof(*conn));
    conn->http = sync_http_new(c->timeout, c->ca_file);
    return conn->http != NULL ? 0 : -1;
}


void
sync_api_conn_free(sync_api_conn_t *conn)
{
    sync_http_resp_free(&conn->resp);
    sync_http_free(conn->http);
    conn->http = NULL;
}


/*
 * The signed headers of one request, for the current second, with the
 * credentials as they are now (refreshed first if they near expiry).
 * NULL with *rc and err set.
 */
static struct curl_slist *
request_headers(sync_api_t *api, const char *body, size_t body_len,
    const char **creds_source, int *rc, char *err, size_t err_len)
{
    int                      nomem = 0;
    int64_t                  now = (int64_t) time(NULL);
    sync_tc3_t               t;
    struct curl_slist       *l = NULL;
    const sync_pull_conf_t  *c = api->c;
    char                     auth[SYNC_TC3_AUTH_MAX];

    pthread_mutex_lock(&api->mutex);

    *rc = sync_creds_refresh(&api->creds, &api->md, now, err, err_len);
    if (*rc != SYNC_EXIT_OK) {
        pthread_mutex_unlock(&api->mutex);
        return NULL;
    }
    *creds_source = api->creds.source;

    t.secret_id = api->creds.id;
    t.secret_key = api->creds.key;
    t.service = c->service;
    t.host = c->host;
    t.content_type = SYNC_TC3_CONTENT_TYPE;
    t.payload = body;
    t.payload_len = body_len;
    t.timestamp = now;

    if (sync_tc3_authorization(&t, auth, sizeof(auth)) != 0) {
        nomem = 1;
    }

    /* the Host and Content-Type sent are the ones signed */
    l = add_header(l, &nomem, "Content-Type: %s", SYNC_TC3_CONTENT_TYPE);
    l = add_header(l, &nomem, "Host: %s", c->host);
    l = add_header(l, &nomem, "X-TC-Action: %s", c->action);
    l = add_header(l, &nomem, "X-TC-Version: %s", c->api_version);
    l = add_header(l, &nomem, "X-TC-Timestamp: %lld", (long long) now);
    if (c->region) {
        l = add_header(l, &nomem, "X-TC-Region: %s", c->region);
    }
    if (api->creds.token[0]) {
        l = add_header(l, &nomem, "X-TC-Token: %s", api->creds.token);
    }
    l = add_header(l, &nomem, "Authorization: %s", auth);
    l = add_header(l, &nomem, "Expect:");
    l = add_header(l, &nomem, "Accept: application/json");

    pthread_mutex_unlock(&api->mutex);
    OPENSSL_cleanse(auth, sizeof(auth));

    if (nomem) {
        free_headers(l);
        snprintf(err, err_len, "cannot sign the request (out of memory, or "
                 "credentials too long)");
        *rc = SYNC_EXIT_IO;
        return NULL;
    }
    return l;
}


void
sync_json_str(const json_t *o, const char *k, char *out, size_t size)
{
    json_t  *v = json_object_get(o, k);

    if (json_is_string(v)) {
        sync_display(out, size, json_string_value(v), json_string_length(v));
    } else {
        out[0] = '\0';
    }
}


/* An Error envelope, or NULL. */
static const json_t *
envelope_error(const json_t *root)
{
    json_t  *resp = json_object_get(root, "Response");

    return json_object_get(resp, "Error");
}


static void
describe_error(const json_t *root, const char *what, const char *creds,
    char *out, size_t size)
{
    const json_t  *e = envelope_error(root);
    const char    *hint;
    char           code[128], msg[512], rid[128];

    sync_json_str(e, "Code", code, sizeof(code));
    sync_json_str(e, "Message", msg, sizeof(msg));
    sync_json_str(json_object_get(root, "Response"), "RequestId", rid,
                  sizeof(rid));

    hint = sync_api_error_hint(code);

    snprintf(out, size, "%s: provider error %s: %s (RequestId %s)%s%s "
             "[credentials: %s]", what, code[0] ? code : "(no code)",
             msg[0] ? msg : "(no message)", rid[0] ? rid : "none",
             hint ? "; " : "", hint ? hint : "", creds ? creds : "none");
}


static void
count(sync_api_t *api, size_t *counter)
{
    pthread_mutex_lock(&api->mutex);
    (*counter)++;
    pthread_mutex_unlock(&api->mutex);
}


int
sync_api_call(sync_api_t *api, sync_api_conn_t *conn, const char *what,
    const char *body, size_t body_len, json_t **root, char *err,
    size_t err_len)
{
    int                      rc, resigned = 0;
    char                     msg[BEIAN_SYNC_MSG_MAX];
    unsigned                 attempt = 0, wait;
    long                     retry_after;
    json_t                  *j = NULL, *resp;
    json_error_t             je;
    const char              *code, *creds = NULL;
    sync_http_rc_t           hr;
    sync_report_t           *rep = api->rep;
    const sync_pull_conf_t  *c = api->c;
    struct curl_slist       *headers;

    *root = NULL;

    for ( ;; ) {
        /* the last attempt's answer, kept for its message until now */
        json_decref(j);
        j = NULL;

        headers = request_headers(api, body, body_len, &creds, &rc, err,
                                  err_len);
        if (headers == NULL) {
            return rc;
        }

        count(api, &rep->requests);
        hr = sync_http_request(conn->http, c->url, headers, body, body_len,
                               SYNC_HTTP_BODY_MAX, &conn->resp, msg,
                               sizeof(msg));
        free_headers(headers);

        retry_after = conn->resp.retry_after;

        if (hr == SYNC_HTTP_FAILED) {
            /* the report keeps BEIAN_SYNC_MSG_MAX bytes: bound msg */
            snprintf(err, err_len, "%s: %.800s", what, msg);
            return SYNC_EXIT_PROVIDER;
        }

        if (hr == SYNC_HTTP_OK) {
            j = json_loadb(conn->resp.body ? conn->resp.body : "",
                           conn->resp.len, JSON_ALLOW_NUL, &je);

            if (sync_http_status_retryable(conn->resp.status)) {
                snprintf(msg, sizeof(msg), "HTTP status %ld",
                         conn->resp.status);
                if (envelope_error(j)) {
                    describe_error(j, "", creds, msg + strlen(msg),
                                   sizeof(msg) - strlen(msg));
                }
                goto retry;
            }

            if (conn->resp.status != 200) {
                snprintf(err, err_len, "%s: %s returned HTTP status %ld%s",
                         what, c->url, conn->resp.status,
                         conn->resp.status >= 300 && conn->resp.status < 400
                         ? " (redirects are not followed)" : "");
                if (envelope_error(j)) {
                    describe_error(j, "", creds, err + strlen(err),
                                   err_len - strlen(err));
                }
                json_decref(j);
                return SYNC_EXIT_PROVIDER;
            }

            if (j == NULL) {
                snprintf(err, err_len, "%s: the response is not JSON (line "
                         "%d, column %d: %s)%s", what, je.line, je.column,
                         je.text,
                         json_error_code(&je)
                         == json_error_premature_end_of_input
                         ? "; truncated?" : "");
                return SYNC_EXIT_PROVIDER;
            }

            resp = json_object_get(j, "Response");
            if (!json_is_object(resp)) {
                snprintf(err, err_len, "%s: the response has no "
                         "\"Response\" object", what);
                json_decref(j);
                return SYNC_EXIT_PROVIDER;
            }

            if (envelope_error(j) == NULL) {
                *root = j;
                return SYNC_EXIT_OK;
            }

            code = json_string_value(json_object_get(envelope_error(j),
                                                     "Code"));
            describe_error(j, what, creds, msg, sizeof(msg));

            switch (sync_api_error_class(code ? code : "")) {

            case SYNC_API_RESIGN:
                if (!resigned) {
                    /* a fresh timestamp at once: waiting would not help */
                    resigned = 1;
                    count(api, &rep->retries);
                    continue;
                }
                /* fall through */

            case SYNC_API_FATAL:
                snprintf(err, err_len, "%s", msg);
                json_decref(j);
                return SYNC_EXIT_PROVIDER;

            case SYNC_API_RETRY:
                break;
            }
        }

    retry:

        if (attempt >= c->retries) {
            snprintf(err, err_len, "%s: giving up after %u retr%s: %.800s",
                     what, c->retries, c->retries == 1 ? "y" : "ies", msg);
            json_decref(j);
            return SYNC_EXIT_PROVIDER;
        }

        if (retry_after > SYNC_RETRY_AFTER_MAX) {
            snprintf(err, err_len, "%s: the provider asks to wait %ld s "
                     "(Retry-After), more than %d s: giving up: %.800s",
                     what, retry_after, SYNC_RETRY_AFTER_MAX, msg);
            json_decref(j);
            return SYNC_EXIT_PROVIDER;
        }

        wait = sync_retry_wait_ms(&api->backoff, attempt, retry_after);

        if (!rep->quiet && rep->diag) {
            sync_secret_scrub(msg);
            fprintf(rep->diag, "beian-sync: %s: %s; retry %u of %u in %u "
                    "ms\n", what, msg, attempt + 1, c->retries, wait);
        }

        attempt++;
        count(api, &rep->retries);
        sync_sleep_ms(wait);
    }
}
