/*
 * beian-sync: HTTP over libcurl for pull: one request at a time, bodies
 * into a growing buffer with a size cap, TLS always verified, redirects
 * never followed; and the backoff every retry in pull uses.
 */

#ifndef SYNC_HTTP_H
#define SYNC_HTTP_H

#include <stddef.h>

#include <curl/curl.h>


/* A provider page larger than this is a provider failure (README). */
#define SYNC_HTTP_BODY_MAX      (16u << 20)
/* Metadata answers are a few hundred bytes. */
#define SYNC_HTTP_META_MAX      (64u << 10)
/* The connect phase gets at most this much of --timeout. */
#define SYNC_HTTP_CONNECT_MAX   10
/* A longer Retry-After fails the request instead of hanging the run. */
#define SYNC_RETRY_AFTER_MAX    300

typedef struct {
    long     status;            /* HTTP status; 0 when none arrived */
    char    *body;              /* NUL-terminated; NULL when empty */
    size_t   len;
    size_t   size;
    size_t   max;
    int      too_large;
    long     retry_after;       /* seconds from Retry-After, -1 if none */
} sync_http_resp_t;

typedef enum {
    SYNC_HTTP_OK = 0,           /* a response arrived: see status */
    SYNC_HTTP_TRANSIENT,        /* connect, timeout, reset: retry */
    SYNC_HTTP_FAILED            /* TLS verification, size cap, local */
} sync_http_rc_t;

typedef struct sync_http_s  sync_http_t;

/* curl_global_init() once per process; 0 or -1 with err. */
int sync_http_global_init(char *err, size_t err_len);
void sync_http_global_cleanup(void);

/* timeout: seconds per request (connect + transfer); ca_file may be NULL
 * (the system store). */
sync_http_t *sync_http_new(unsigned timeout, const char *ca_file);
void sync_http_free(sync_http_t *h);

/*
 * One request: POST body when body is not NULL, GET otherwise.  headers
 * may be NULL.  The response replaces r's previous content (the buffer
 * is reused); bodies beyond max fail the request.  err gets a message
 * naming the method, the URL and curl's error (curl_easy_strerror and
 * the error buffer), with registered secrets scrubbed.
 */
sync_http_rc_t sync_http_request(sync_http_t *h, const char *url,
    const struct curl_slist *headers, const char *body, size_t body_len,
    size_t max, sync_http_resp_t *r, char *err, size_t err_len);

void sync_http_resp_free(sync_http_resp_t *r);

/* 5xx and 429: the provider may answer a retry. */
int sync_http_status_retryable(long status);


/*
 * Exponential backoff with full jitter: attempt n (0-based) waits a
 * uniformly random time in [0, min(cap, base * 2^n)].  base 1 s, cap
 * 30 s; the environment variable BEIAN_SYNC_BACKOFF_MS sets base in
 * milliseconds (cap stays 30 * base), for tests.
 */
typedef struct {
    unsigned  base_ms;
    unsigned  cap_ms;
} sync_backoff_t;

void sync_backoff_init(sync_backoff_t *b);
unsigned sync_backoff_delay_ms(const sync_backoff_t *b, unsigned attempt);
/* The backoff delay, or Retry-After (seconds, -1: none) when longer. */
unsigned sync_retry_wait_ms(const sync_backoff_t *b, unsigned attempt,
    long retry_after);
void sync_sleep_ms(unsigned ms);

/*
 * A GET retried like every provider request (transient errors, 5xx, 429
 * with Retry-After) up to retries times, for the metadata service.  0
 * with a response of any other status in r (the caller decides about
 * 404), or -1 with err.
 */
int sync_http_get(sync_http_t *h, const char *url, unsigned retries,
    const sync_backoff_t *b, size_t max, sync_http_resp_t *r, char *err,
    size_t err_len);

#endif /* SYNC_HTTP_H */
