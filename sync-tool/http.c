/*
 * beian-sync: libcurl, configured for a client that talks to one API and
 * must never be talked into anything else.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "report.h"
#include "util.h"


struct sync_http_s {
    CURL        *curl;              /* kept: connections are reused */
    unsigned     timeout;
    const char  *ca_file;
};


static int  curl_ready;


int
sync_http_global_init(char *err, size_t err_len)
{
    CURLcode  rc;

    if (curl_ready) {
        return 0;
    }

    rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(err, err_len, "curl_global_init: %s",
                 curl_easy_strerror(rc));
        return -1;
    }

    curl_ready = 1;
    return 0;
}


void
sync_http_global_cleanup(void)
{
    if (curl_ready) {
        curl_global_cleanup();
        curl_ready = 0;
    }
}


sync_http_t *
sync_http_new(unsigned timeout, const char *ca_file)
{
    sync_http_t  *h;

    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        return NULL;
    }

    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        free(h);
        return NULL;
    }

    h->timeout = timeout;
    h->ca_file = ca_file;
    return h;
}


void
sync_http_free(sync_http_t *h)
{
    if (h) {
        curl_easy_cleanup(h->curl);
        free(h);
    }
}


void
sync_http_resp_free(sync_http_resp_t *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}


int
sync_http_status_retryable(long status)
{
    return status == 429 || (status >= 500 && status <= 599);
}


static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    char              *p;
    size_t             n = size * nmemb, want;
    sync_http_resp_t  *r = arg;

    if (n > r->max - r->len) {
        r->too_large = 1;
        return 0;                           /* aborts: CURLE_WRITE_ERROR */
    }

    if (r->len + n + 1 > r->size) {
        want = r->size ? r->size : 16384;
        while (want < r->len + n + 1) {
            want *= 2;
        }
        p = realloc(r->body, want);
        if (p == NULL) {
            return 0;
        }
        r->body = p;
        r->size = want;
    }

    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}


/* Retry-After: delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
static size_t
on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    long               v;
    char               buf[64], *p, *end;
    size_t             n = size * nmemb, k;
    time_t             t;
    sync_http_resp_t  *r = arg;

    static const char  name[] = "retry-after:";

    if (n <= sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1))
    {
        return n;
    }

    k = n - (sizeof(name) - 1);
    if (k >= sizeof(buf)) {
        return n;
    }
    memcpy(buf, data + sizeof(name) - 1, k);
    buf[k] = '\0';

    for (p = buf; *p == ' ' || *p == '\t'; p++) { /* void */ }
    for (end = p + strlen(p);
         end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ');
         end--)
    {
        end[-1] = '\0';
    }

    if (*p >= '0' && *p <= '9') {
        errno = 0;
        v = strtol(p, &end, 10);
        if (errno == 0 && *end == '\0') {
            r->retry_after = v;
        } else if (errno == ERANGE) {
            r->retry_after = SYNC_RETRY_AFTER_MAX + 1;
        }
        return n;
    }

    t = curl_getdate(p, NULL);
    if (t != -1) {
        v = (long) (t - time(NULL));
        r->retry_after = v > 0 ? v : 0;
    }
    return n;
}


/* Network trouble a later attempt may not meet. */
static int
transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
#if LIBCURL_VERSION_NUM >= 0x074a00
    case CURLE_HTTP3:
#endif
        return 1;
    default:
        return 0;
    }
}


#define SET(opt, val)                                                        \
    if ((rc = curl_easy_setopt(h->curl, opt, val)) != CURLE_OK) goto setopt


sync_http_rc_t
sync_http_request(sync_http_t *h, const char *url,
    const struct curl_slist *headers, const char *body, size_t body_len,
    size_t max, sync_http_resp_t *r, char *err, size_t err_len)
{
    long              status = 0, connect;
    CURLcode          rc;
    const char       *method = body ? "POST" : "GET";
    sync_http_rc_t    ret;
    char              errbuf[CURL_ERROR_SIZE];

    r->status = 0;
    r->len = 0;
    r->max = max;
    r->too_large = 0;
    r->retry_after = -1;
    if (r->body) {
        r->body[0] = '\0';
    }
    errbuf[0] = '\0';

    connect = h->timeout < SYNC_HTTP_CONNECT_MAX ? (long) h->timeout
                                                 : SYNC_HTTP_CONNECT_MAX;

    /* every option, every time: nothing leaks from the last request but
     * the connection cache */
    curl_easy_reset(h->curl);

    SET(CURLOPT_URL, url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT, connect);
    SET(CURLOPT_TIMEOUT, (long) h->timeout);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file) {
        SET(CURLOPT_CAINFO, h->ca_file);
    }
    SET(CURLOPT_USERAGENT, "beian-sync/" BEIAN_SYNC_VERSION);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, r);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, r);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) max);

    if (body) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDS, body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
    } else {
        SET(CURLOPT_HTTPGET, 1L);
    }

    rc = curl_easy_perform(h->curl);
    (void) curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    r->status = status;

    if (rc == CURLE_OK) {
        ret = SYNC_HTTP_OK;
        goto done;
    }

    if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, err_len, "%s %s: the response is larger than %zu "
                 "bytes (%s)", method, url, max, curl_easy_strerror(rc));
        ret = SYNC_HTTP_FAILED;
        goto done;
    }

    /* errbuf repeats the code's text or adds the detail (host, errno) */
    snprintf(err, err_len, "%s %s: %s%s%s%s", method, url,
             curl_easy_strerror(rc), errbuf[0] ? " (" : "", errbuf,
             errbuf[0] ? ")" : "");

    if (rc == CURLE_PEER_FAILED_VERIFICATION) {
        /* never retried, never worked around */
        snprintf(err + strlen(err), err_len - strlen(err), "; the server's "
                 "certificate does not verify (--ca-file to use another CA "
                 "bundle)");
    }

    ret = transient(rc) ? SYNC_HTTP_TRANSIENT : SYNC_HTTP_FAILED;
    goto done;

setopt:

    snprintf(err, err_len, "%s %s: curl_easy_setopt: %s", method, url,
             curl_easy_strerror(rc));
    ret = SYNC_HTTP_FAILED;

done:

    /* the error buffer must not outlive this frame inside the handle */
    (void) curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, NULL);
    if (ret != SYNC_HTTP_OK) {
        sync_secret_scrub(err);
    }
    return ret;
}


void
sync_backoff_init(sync_backoff_t *b)
{
    char           *end;
    const char     *s;
    unsigned long   v;

    b->base_ms = 1000;

    s = getenv("BEIAN_SYNC_BACKOFF_MS");
    if (s != NULL && *s >= '0' && *s <= '9') {
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno == 0 && *end == '\0' && v <= 60000) {
            b->base_ms = (unsigned) v;
        }
    }

    b->cap_ms = 30 * b->base_ms;
}


static uint32_t
random32(void)
{
    uint32_t         v;
    struct timespec  ts;

    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t) sizeof(v)) {
        return v;
    }

    /* no entropy yet (early boot): jitter only needs to differ by host */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t) ts.tv_nsec ^ (uint32_t) getpid() * 2654435761u;
}


unsigned
sync_backoff_delay_ms(const sync_backoff_t *b, unsigned attempt)
{
    uint64_t  ceiling;

    ceiling = (uint64_t) b->base_ms << (attempt < 20 ? attempt : 20);
    if (ceiling > b->cap_ms) {
        ceiling = b->cap_ms;
    }

    /* full jitter: many instances on one schedule must not retry in step */
    return (unsigned) (random32() % (ceiling + 1));
}


unsigned
sync_retry_wait_ms(const sync_backoff_t *b, unsigned attempt,
    long retry_after)
{
    unsigned  wait = sync_backoff_delay_ms(b, attempt);

    if (retry_after >= 0 && (unsigned) retry_after * 1000u > wait) {
        wait = (unsigned) retry_after * 1000u;
    }
    return wait;
}


void
sync_sleep_ms(unsigned ms)
{
    struct timespec  ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long) (ms % 1000) * 1000000L;

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { /* void */ }
}


int
sync_http_get(sync_http_t *h, const char *url, unsigned retries,
    const sync_backoff_t *b, size_t max, sync_http_resp_t *r, char *err,
    size_t err_len)
{
    unsigned        attempt;
    sync_http_rc_t  rc;

    for (attempt = 0; ; attempt++) {
        rc = sync_http_request(h, url, NULL, NULL, 0, max, r, err, err_len);

        if (rc == SYNC_HTTP_FAILED) {
            return -1;
        }
        if (rc == SYNC_HTTP_OK && !sync_http_status_retryable(r->status)) {
            return 0;
        }
        if (rc == SYNC_HTTP_OK) {
            snprintf(err, err_len, "GET %s: HTTP status %ld", url, r->status);
        }

        if (attempt >= retries) {
            snprintf(err + strlen(err), err_len - strlen(err), " (after %u "
                     "retr%s)", retries, retries == 1 ? "y" : "ies");
            return -1;
        }

        if (r->retry_after > SYNC_RETRY_AFTER_MAX) {
            snprintf(err + strlen(err), err_len - strlen(err), "; "
                     "Retry-After %ld s is more than %d s", r->retry_after,
                     SYNC_RETRY_AFTER_MAX);
            return -1;
        }

        sync_sleep_ms(sync_retry_wait_ms(b, attempt, r->retry_after));
    }
}
