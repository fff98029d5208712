/*
 * beian-sync pull.
 *
 * A run is: lock, credentials, instance id, then passes.  A pass fetches
 * Offset 0, L, 2L, ... until TotalCount records arrived; every request is
 * retried on its own (network, 5xx, 429, retryable API codes), and a pass
 * whose pages do not add up starts over from Offset 0.  Each page is
 * decoded once with jansson to decide all that before any of its records
 * reaches the accumulator, so a retried request never leaves half a page
 * behind; only a complete pass is merged, guarded and written.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "creds.h"
#include "doc.h"
#include "http.h"
#include "publish.h"
#include "pull.h"
#include "records.h"
#include "tc3.h"
#include "util.h"


/* The outcome of a pass that is not an exit code. */
#define PASS_OK          0
#define PASS_RESTART    -1

typedef struct {
    sync_pull_conf_t   *c;
    sync_report_t      *rep;
    sync_http_t        *http;
    sync_backoff_t      backoff;
    sync_metadata_t     md;
    sync_creds_t        creds;
    sync_http_resp_t    resp;
    char                err[BEIAN_SYNC_MSG_MAX];
} pull_t;


/* ---- API error codes --------------------------------------------- */

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
          "the endpoint does not know this action (--action, --version, "
          "--endpoint)" },
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


/* ---- pagination checks ------------------------------------------- */

void
sync_pages_init(sync_pages_t *p, size_t limit)
{
    memset(p, 0, sizeof(*p));
    p->limit = limit;
    p->total = -1;
    p->seen = json_object();
}


void
sync_pages_free(sync_pages_t *p)
{
    json_decref(p->seen);
    p->seen = NULL;
}


int
sync_pages_done(const sync_pages_t *p)
{
    return p->total >= 0 && p->received >= (size_t) p->total;
}


/* "Domain\x1fWebsiteId" of a record, when both are strings. */
static int
record_key(const json_t *rec, char *buf, size_t size, size_t *len)
{
    size_t   dn, wn;
    json_t  *d, *w;

    d = json_object_get(rec, "Domain");
    w = json_object_get(rec, "WebsiteId");
    if (!json_is_string(d) || !json_is_string(w)) {
        return -1;
    }

    dn = json_string_length(d);
    wn = json_string_length(w);
    if (dn + wn + 2 > size) {
        return -1;                  /* invalid anyway: the validator says */
    }

    memcpy(buf, json_string_value(d), dn);
    buf[dn] = '\x1f';
    memcpy(buf + dn + 1, json_string_value(w), wn);
    *len = dn + 1 + wn;
    buf[*len] = '\0';
    return 0;
}


int
sync_pages_check(sync_pages_t *p, const json_t *response, char *err,
    size_t err_len)
{
    size_t    i, n, off = p->received, klen;
    int64_t   tc;
    json_t   *v, *set, *rec;
    char      key[1024], d[96], w[96];

    v = json_object_get(response, "TotalCount");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, err_len, "page at Offset %zu: \"TotalCount\" is %s, "
                 "expected a non-negative integer", off,
                 v ? (json_is_integer(v) ? "negative" : sync_json_type(v))
                   : "missing");
        return -1;
    }
    tc = json_integer_value(v);

    set = json_object_get(response, "DomainSet");
    if (!json_is_array(set)) {
        snprintf(err, err_len, "page at Offset %zu: \"DomainSet\" is %s, "
                 "expected an array", off,
                 set ? sync_json_type(set) : "missing");
        return -1;
    }
    n = json_array_size(set);

    if (p->total < 0) {
        p->total = tc;

    } else if (tc != p->total) {
        snprintf(err, err_len, "TotalCount changed from %lld to %lld at "
                 "Offset %zu", (long long) p->total, (long long) tc, off);
        return 1;
    }

    if (n > p->limit) {
        snprintf(err, err_len, "the page at Offset %zu holds %zu records, "
                 "more than Limit %zu", off, n, p->limit);
        return 1;
    }
    if (off + n > (size_t) p->total) {
        snprintf(err, err_len, "the page at Offset %zu brings %zu records, "
                 "more than TotalCount %lld", off, off + n,
                 (long long) p->total);
        return 1;
    }
    if (n == 0 && off < (size_t) p->total) {
        snprintf(err, err_len, "the page at Offset %zu is empty, %lld "
                 "records short of TotalCount %lld", off,
                 (long long) p->total - (long long) off,
                 (long long) p->total);
        return 1;
    }
    if (n < p->limit && off + n < (size_t) p->total) {
        snprintf(err, err_len, "the page at Offset %zu holds %zu of %zu "
                 "records but is not the last (TotalCount %lld)", off, n,
                 p->limit, (long long) p->total);
        return 1;
    }

    /* a record inserted or removed while paging shifts the rest: the same
     * record shows up again on the next page, or one is skipped */
    json_array_foreach(set, i, rec) {
        if (record_key(rec, key, sizeof(key), &klen) != 0) {
            continue;
        }
        if (p->seen && json_object_getn(p->seen, key, klen) != NULL) {
            *strchr(key, '\x1f') = '\0';
            snprintf(err, err_len, "DomainSet[%zu] (%s, website %s) was "
                     "already on an earlier page", off + i,
                     sync_display(d, sizeof(d), key, strlen(key)),
                     sync_display(w, sizeof(w), key + strlen(key) + 1,
                                  klen - strlen(key) - 1));
            return 1;
        }
    }

    json_array_foreach(set, i, rec) {
        if (p->seen && record_key(rec, key, sizeof(key), &klen) == 0) {
            (void) json_object_setn_new(p->seen, key, klen, json_true());
        }
    }

    p->received += n;
    p->pages++;
    return 0;
}


/* ---- reload ------------------------------------------------------- */

int
sync_reload(const char *pidfile, long *pid, char *err, size_t err_len)
{
    int       fd;
    char      buf[32], *end;
    ssize_t   n;
    long      v;

    *pid = 0;

    fd = open(pidfile, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, err_len, "reload-pid %s: %s", pidfile, strerror(errno));
        return SYNC_EXIT_IO;
    }
    do {
        n = read(fd, buf, sizeof(buf) - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);

    if (n < 0) {
        snprintf(err, err_len, "reload-pid %s: %s", pidfile, strerror(errno));
        return SYNC_EXIT_IO;
    }
    buf[n] = '\0';

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    {
        buf[--n] = '\0';
    }

    errno = 0;
    v = (buf[0] >= '1' && buf[0] <= '9') ? strtol(buf, &end, 10) : 0;
    if (v <= 0 || errno != 0 || *end != '\0' || v > 0x7fffffffL) {
        snprintf(err, err_len, "reload-pid %s: does not hold a process id "
                 "(a positive integer)", pidfile);
        return SYNC_EXIT_IO;
    }
    *pid = v;

    if (kill((pid_t) v, 0) != 0) {
        snprintf(err, err_len, "reload-pid %s: %s", pidfile,
                 errno == ESRCH
                     ? "no such process: is nginx running?"
                     : "not permitted to signal it (run beian-sync as "
                       "root or as nginx's user)");
        return SYNC_EXIT_IO;
    }

    if (kill((pid_t) v, SIGHUP) != 0) {
        snprintf(err, err_len, "reload-pid %s: SIGHUP to pid %ld: %s",
                 pidfile, v, strerror(errno));
        return SYNC_EXIT_IO;
    }

    return SYNC_EXIT_OK;
}


/* ---- one request -------------------------------------------------- */

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


/* The signed headers of one request, for the current second. */
static struct curl_slist *
request_headers(pull_t *pl, const char *body, size_t body_len)
{
    int                  nomem = 0;
    int64_t              now = (int64_t) time(NULL);
    sync_tc3_t           t;
    struct curl_slist   *l = NULL;
    sync_pull_conf_t    *c = pl->c;
    char                 auth[SYNC_TC3_AUTH_MAX];

    t.secret_id = pl->creds.id;
    t.secret_key = pl->creds.key;
    t.service = c->service;
    t.host = c->host;
    t.content_type = SYNC_TC3_CONTENT_TYPE;
    t.payload = body;
    t.payload_len = body_len;
    t.timestamp = now;

    if (sync_tc3_authorization(&t, auth, sizeof(auth)) != 0) {
        return NULL;
    }

    /* the Host and Content-Type sent are the ones signed */
    l = add_header(l, &nomem, "Content-Type: %s", SYNC_TC3_CONTENT_TYPE);
    l = add_header(l, &nomem, "Host: %s", c->host);
    l = add_header(l, &nomem, "X-TC-Action: %s", c->action);
    l = add_header(l, &nomem, "X-TC-Version: %s", c->version);
    l = add_header(l, &nomem, "X-TC-Timestamp: %lld", (long long) now);
    if (c->region) {
        l = add_header(l, &nomem, "X-TC-Region: %s", c->region);
    }
    if (pl->creds.token[0]) {
        l = add_header(l, &nomem, "X-TC-Token: %s", pl->creds.token);
    }
    l = add_header(l, &nomem, "Authorization: %s", auth);
    l = add_header(l, &nomem, "Expect:");
    l = add_header(l, &nomem, "Accept: application/json");

    if (nomem) {
        free_headers(l);
        return NULL;
    }
    return l;
}


static void
str_member(const json_t *o, const char *k, char *out, size_t size)
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
describe_error(pull_t *pl, const json_t *root, const char *what, char *out,
    size_t size)
{
    const json_t  *e = envelope_error(root);
    const char    *hint;
    char           code[128], msg[512], rid[128];

    str_member(e, "Code", code, sizeof(code));
    str_member(e, "Message", msg, sizeof(msg));
    str_member(json_object_get(root, "Response"), "RequestId", rid,
               sizeof(rid));

    hint = sync_api_error_hint(code);

    snprintf(out, size, "%s: provider error %s: %s (RequestId %s)%s%s "
             "[credentials: %s]", what, code[0] ? code : "(no code)",
             msg[0] ? msg : "(no message)", rid[0] ? rid : "none",
             hint ? "; " : "", hint ? hint : "", pl->creds.source);
}


/*
 * POSTs one page, with the retries the README lists.  On success *root
 * is the decoded body (a {"Response": {...}} without Error) and
 * pl->resp holds its bytes; otherwise an exit code and pl->err.
 */
static int
fetch_page(pull_t *pl, size_t offset, json_t **root)
{
    int                 rc, resigned = 0;
    char                body[256], what[64], msg[BEIAN_SYNC_MSG_MAX];
    size_t              body_len;
    unsigned            attempt = 0, wait;
    long                retry_after;
    json_t             *j = NULL, *resp;
    json_error_t        je;
    const char         *code;
    sync_http_rc_t      hr;
    sync_report_t      *rep = pl->rep;
    sync_pull_conf_t   *c = pl->c;
    struct curl_slist  *headers;

    *root = NULL;
    snprintf(what, sizeof(what), "page at Offset %zu", offset);

    /* instance ids are [a-z0-9-]: nothing to escape */
    body_len = (size_t) snprintf(body, sizeof(body),
                                 "{\"InstanceId\":\"%s\",\"Offset\":%zu,"
                                 "\"Limit\":%u}", c->instance_id, offset,
                                 c->page_size);

    for ( ;; ) {
        /* the last attempt's answer, kept for its message until now */
        json_decref(j);
        j = NULL;

        rc = sync_creds_refresh(&pl->creds, &pl->md, (int64_t) time(NULL),
                                pl->err, sizeof(pl->err));
        if (rc != SYNC_EXIT_OK) {
            return rc;
        }

        headers = request_headers(pl, body, body_len);
        if (headers == NULL) {
            snprintf(pl->err, sizeof(pl->err), "cannot sign the request "
                     "(out of memory, or credentials too long)");
            return SYNC_EXIT_IO;
        }

        rep->requests++;
        hr = sync_http_request(pl->http, c->url, headers, body, body_len,
                               SYNC_HTTP_BODY_MAX, &pl->resp, msg,
                               sizeof(msg));
        free_headers(headers);

        retry_after = pl->resp.retry_after;

        if (hr == SYNC_HTTP_FAILED) {
            /* the report keeps BEIAN_SYNC_MSG_MAX bytes: bound msg */
            snprintf(pl->err, sizeof(pl->err), "%s: %.800s", what, msg);
            return SYNC_EXIT_PROVIDER;
        }

        if (hr == SYNC_HTTP_OK) {
            j = json_loadb(pl->resp.body ? pl->resp.body : "", pl->resp.len,
                           JSON_ALLOW_NUL, &je);

            if (sync_http_status_retryable(pl->resp.status)) {
                snprintf(msg, sizeof(msg), "HTTP status %ld",
                         pl->resp.status);
                if (envelope_error(j)) {
                    describe_error(pl, j, "", msg + strlen(msg),
                                   sizeof(msg) - strlen(msg));
                }
                goto retry;
            }

            if (pl->resp.status != 200) {
                snprintf(pl->err, sizeof(pl->err), "%s: %s returned HTTP "
                         "status %ld%s", what, c->url, pl->resp.status,
                         pl->resp.status >= 300 && pl->resp.status < 400
                         ? " (redirects are not followed)" : "");
                if (envelope_error(j)) {
                    describe_error(pl, j, "", pl->err + strlen(pl->err),
                                   sizeof(pl->err) - strlen(pl->err));
                }
                json_decref(j);
                return SYNC_EXIT_PROVIDER;
            }

            if (j == NULL) {
                snprintf(pl->err, sizeof(pl->err), "%s: the response is not "
                         "JSON (line %d, column %d: %s)%s", what, je.line,
                         je.column, je.text,
                         json_error_code(&je) == json_error_premature_end_of_input
                         ? "; truncated?" : "");
                return SYNC_EXIT_PROVIDER;
            }

            resp = json_object_get(j, "Response");
            if (!json_is_object(resp)) {
                snprintf(pl->err, sizeof(pl->err), "%s: the response has no "
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
            describe_error(pl, j, what, msg, sizeof(msg));

            switch (sync_api_error_class(code ? code : "")) {

            case SYNC_API_RESIGN:
                if (!resigned) {
                    /* a fresh timestamp at once: waiting would not help */
                    resigned = 1;
                    rep->retries++;
                    continue;
                }
                /* fall through */

            case SYNC_API_FATAL:
                snprintf(pl->err, sizeof(pl->err), "%s", msg);
                json_decref(j);
                return SYNC_EXIT_PROVIDER;

            case SYNC_API_RETRY:
                break;
            }
        }

    retry:

        if (attempt >= c->retries) {
            snprintf(pl->err, sizeof(pl->err), "%s: giving up after %u "
                     "retr%s: %.800s", what, c->retries,
                     c->retries == 1 ? "y" : "ies", msg);
            json_decref(j);
            return SYNC_EXIT_PROVIDER;
        }

        if (retry_after > SYNC_RETRY_AFTER_MAX) {
            snprintf(pl->err, sizeof(pl->err), "%s: the provider asks to "
                     "wait %ld s (Retry-After), more than %d s: giving up: "
                     "%.800s", what, retry_after, SYNC_RETRY_AFTER_MAX, msg);
            json_decref(j);
            return SYNC_EXIT_PROVIDER;
        }

        wait = sync_retry_wait_ms(&pl->backoff, attempt, retry_after);

        if (!rep->quiet && rep->diag) {
            sync_secret_scrub(msg);
            fprintf(rep->diag, "beian-sync: %s: %s; retry %u of %u in %u "
                    "ms\n", what, msg, attempt + 1, c->retries, wait);
        }

        attempt++;
        rep->retries++;
        sync_sleep_ms(wait);
    }
}


/* ---- a pass ------------------------------------------------------- */

/* Takes what a complete pass counted into the run's report. */
static void
adopt(sync_report_t *rep, sync_report_t *pass)
{
    size_t  i;

    rep->seen = pass->seen;
    rep->valid = pass->valid;
    rep->admitted = pass->admitted;
    rep->rejected_total = pass->rejected_total;
    memcpy(rep->rejected, pass->rejected, sizeof(rep->rejected));
    rep->skipped_total = pass->skipped_total;
    memcpy(rep->skipped, pass->skipped, sizeof(rep->skipped));
    rep->duplicates = pass->duplicates;
    rep->conflicts = pass->conflicts;
    rep->total_count = pass->total_count;
    memcpy(rep->request_id, pass->request_id, sizeof(rep->request_id));
    rep->domains = pass->domains;
    rep->websites = pass->websites;
    rep->merged = pass->merged;

    /* warnings of the run (restarts) first, then the pass's */
    for (i = 0; pass->warnings && i < json_array_size(pass->warnings); i++) {
        if (rep->warnings
            && json_array_size(rep->warnings) < SYNC_REPORT_KEEP)
        {
            json_array_append(rep->warnings,
                              json_array_get(pass->warnings, i));
        }
    }
    rep->nwarnings += pass->nwarnings;

    json_decref(rep->rejects);
    rep->rejects = pass->rejects;
    pass->rejects = NULL;
}


/*
 * One pass from Offset 0.  Records go to acc, counted in pass_rep.
 * PASS_OK, PASS_RESTART (pl->err says why), or an exit code.
 */
static int
run_pass(pull_t *pl, sync_acc_t *acc, sync_report_t *pass_rep)
{
    int             rc;
    size_t          offset;
    json_t         *root = NULL, *resp;
    sync_doc_t      doc;
    sync_doc_rc_t   drc;
    sync_pages_t    pages;
    char            label[48];

    sync_pages_init(&pages, pl->c->page_size);
    if (pages.seen == NULL) {
        snprintf(pl->err, sizeof(pl->err), "out of memory");
        return SYNC_EXIT_IO;
    }

    do {
        offset = pages.received;

        rc = fetch_page(pl, offset, &root);
        if (rc != SYNC_EXIT_OK) {
            goto done;
        }

        resp = json_object_get(root, "Response");
        rc = sync_pages_check(&pages, resp, pl->err, sizeof(pl->err));
        if (rc != 0) {
            rc = rc > 0 ? PASS_RESTART : SYNC_EXIT_PROVIDER;
            goto done;
        }
        json_decref(root);
        root = NULL;

        /* the same reader, validation and admission as build */
        snprintf(label, sizeof(label), "Offset=%zu", offset);
        drc = sync_doc_parse(pl->resp.body, pl->resp.len, label, offset,
                             sync_acc_add, acc, &doc, pl->err,
                             sizeof(pl->err));

        switch (drc) {
        case SYNC_DOC_OK:
            break;
        case SYNC_DOC_SYNTAX:
        case SYNC_DOC_PROVIDER:
        case SYNC_DOC_IO:
            rc = SYNC_EXIT_PROVIDER;
            goto done;
        case SYNC_DOC_NOMEM:
        case SYNC_DOC_STOPPED:
            snprintf(pl->err, sizeof(pl->err), "out of memory");
            rc = SYNC_EXIT_IO;
            goto done;
        }

        pass_rep->total_count = pages.total;
        memcpy(pass_rep->request_id, doc.request_id,
               sizeof(pass_rep->request_id));
        pl->rep->pages = pages.pages;

    } while (!sync_pages_done(&pages));

    rc = PASS_OK;

done:

    json_decref(root);
    sync_pages_free(&pages);
    return rc;
}


/* ---- the command -------------------------------------------------- */

static int
fail(sync_report_t *rep, int rc, const char *msg)
{
    sync_report_error(rep, rc, "%s", msg);
    return rc;
}


int
sync_pull(sync_pull_conf_t *c, sync_report_t *rep)
{
    int              rc, lock_fd = -1;
    char            *buf = NULL, *id;
    size_t           n = 0, buf_len = 0;
    unsigned         pass;
    FILE            *mem;
    sync_acc_t      *acc = NULL;
    beian_entry_t   *entries = NULL;
    sync_report_t    pass_rep;
    sync_publish_t   p;
    pull_t           pl;
    char             iid[sizeof(((beian_meta_t *) 0)->instance_id)];

    memset(&pl, 0, sizeof(pl));
    pl.c = c;
    pl.rep = rep;
    sync_backoff_init(&pl.backoff);

    rep->pull = 1;
    rep->snapshot = c->out;
    rep->source = c->source;
    rep->instance_id = strcmp(c->instance_id, "auto") ? c->instance_id
                                                      : NULL;
    memset(&pass_rep, 0, sizeof(pass_rep));

    /* two runs never interleave; the second one fails at once */
    rc = sync_lock(c->out, (int) c->allow_shared_dir, &lock_fd, rep);
    if (rc != SYNC_EXIT_OK) {
        /* 3: another run holds the lock (a guard); 4: the lock file */
        rep->exit_code = rc;
        goto done;
    }

    if (sync_http_global_init(pl.err, sizeof(pl.err)) != 0) {
        rc = fail(rep, SYNC_EXIT_IO, pl.err);
        goto done;
    }

    pl.http = sync_http_new(c->timeout, c->ca_file);
    if (pl.http == NULL) {
        rc = fail(rep, SYNC_EXIT_IO, "curl_easy_init failed");
        goto done;
    }

    pl.md.http = pl.http;
    pl.md.base = c->metadata;
    pl.md.retries = c->retries;
    pl.md.backoff = &pl.backoff;

    rc = sync_creds_resolve(&pl.creds, c, NULL, &pl.md, pl.err,
                            sizeof(pl.err));
    if (rc != SYNC_EXIT_OK) {
        rc = fail(rep, rc, pl.err);
        goto done;
    }
    rep->credentials = pl.creds.source;

    if (strcmp(c->instance_id, "auto") == 0) {
        rc = sync_metadata_instance_id(&pl.md, iid, sizeof(iid), pl.err,
                                       sizeof(pl.err));
        if (rc != SYNC_EXIT_OK) {
            rc = fail(rep, rc, pl.err);
            goto done;
        }
        id = strdup(iid);
        if (id == NULL) {
            rc = fail(rep, SYNC_EXIT_IO, "out of memory");
            goto done;
        }
        free(c->instance_id);
        c->instance_id = id;
        rep->instance_id = id;
    }

    for (pass = 0; ; pass++) {
        sync_acc_free(acc);
        sync_report_free(&pass_rep);
        free(buf);
        buf = NULL;

        /* a pass's rejects and warnings are shown only if it completes */
        mem = open_memstream(&buf, &buf_len);
        sync_report_init(&pass_rep, "pull", mem ? mem : rep->diag,
                         rep->quiet);

        acc = sync_acc_new(c->instance_id, &pass_rep);
        if (acc == NULL) {
            if (mem) {
                fclose(mem);
            }
            rc = fail(rep, SYNC_EXIT_IO, "out of memory");
            goto done;
        }

        rc = run_pass(&pl, acc, &pass_rep);

        if (rc == PASS_OK && sync_acc_finish(acc, &entries, &n) != 0) {
            snprintf(pl.err, sizeof(pl.err), "merging the records failed "
                     "(out of memory?)");
            rc = SYNC_EXIT_IO;
        }

        if (mem) {
            fclose(mem);
        }

        if (rc == PASS_OK) {
            if (buf && buf_len && rep->diag) {
                fwrite(buf, 1, buf_len, rep->diag);
            }
            adopt(rep, &pass_rep);
            break;
        }

        if (rc != PASS_RESTART) {
            rc = fail(rep, rc, pl.err);
            goto done;
        }

        if (pass >= c->retries) {
            sync_report_error(rep, rc = SYNC_EXIT_PROVIDER, "the provider's "
                              "pages did not add up in %u pass%s, the last "
                              "time: %s", pass + 1, pass ? "es" : "",
                              pl.err);
            goto done;
        }

        sync_report_warn(rep, "the provider's pages do not add up (%s): "
                         "starting over from Offset 0", pl.err);
        rep->retries++;
        sync_sleep_ms(sync_backoff_delay_ms(&pl.backoff, pass));
    }

    memset(&p, 0, sizeof(p));
    p.snapshot = c->out;
    p.instance_id = c->instance_id;
    p.source = c->source;
    p.max_shrink = c->max_shrink;
    p.force = c->force;
    p.allow_shared_dir = (int) c->allow_shared_dir;

    rc = sync_publish(&p, entries, n, rep);
    if (rc != SYNC_EXIT_OK) {
        goto done;
    }

    /* nginx learns of a new file only; an unchanged one needs nothing */
    if (rep->written && c->reload_pid) {
        rc = sync_reload(c->reload_pid, &rep->reload_pid, pl.err,
                         sizeof(pl.err));
        if (rc != SYNC_EXIT_OK) {
            sync_report_error(rep, rc, "the new snapshot %s is in place, but "
                              "nginx was not told: %s", c->out, pl.err);
            goto done;
        }
        rep->reloaded = 1;
    }

done:

    sync_acc_free(acc);
    sync_report_free(&pass_rep);
    free(buf);
    sync_http_resp_free(&pl.resp);
    sync_http_free(pl.http);
    sync_creds_clear(&pl.creds);
    if (lock_fd != -1) {
        close(lock_fd);
    }
    return rc;
}
