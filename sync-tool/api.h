/*
 * beian-sync: one signed Tencent Cloud API 3.0 call, with the retries the
 * README lists, for every source (sync-tool/README.md, "Retries").
 *
 * A sync_api_t is shared by every request of a run, also by the requests
 * that a source has in flight at once from several threads: credentials
 * (refreshed from the metadata service when they near expiry) and the
 * report's counters are behind its mutex.  Each thread brings its own
 * HTTP handle and response buffer (sync_api_conn_t).
 */

#ifndef SYNC_API_H
#define SYNC_API_H

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "creds.h"
#include "http.h"
#include "report.h"


/* What an API error code calls for (README, "Retries"). */
typedef enum {
    SYNC_API_FATAL = 0,         /* fail at once, exit 2 */
    SYNC_API_RETRY,             /* back off and try again */
    SYNC_API_RESIGN             /* sign again with a fresh timestamp, once */
} sync_api_class_t;

sync_api_class_t sync_api_error_class(const char *code);

/* A hint for an error code people meet when setting up, or NULL. */
const char *sync_api_error_hint(const char *code);


typedef struct {
    const sync_pull_conf_t  *c;         /* url, host, action, api version,
                                           service, region, retries */
    sync_report_t           *rep;       /* requests, retries; retry notes */
    sync_creds_t             creds;
    sync_metadata_t          md;
    sync_backoff_t           backoff;
    pthread_mutex_t          mutex;     /* creds, md, rep counters */
} sync_api_t;

/* One thread's connection: its own handle and response buffer. */
typedef struct {
    sync_http_t        *http;
    sync_http_resp_t    resp;
} sync_api_conn_t;

/* 0, or -1 (out of memory). */
int sync_api_init(sync_api_t *api, const sync_pull_conf_t *c,
    sync_report_t *rep);
void sync_api_free(sync_api_t *api);

/* A connection with the run's timeout and CA file: 0, or -1. */
int sync_api_conn_init(sync_api_conn_t *conn, const sync_pull_conf_t *c);
void sync_api_conn_free(sync_api_conn_t *conn);

/*
 * POSTs body, signed for the current second, retried on network errors,
 * 5xx, 429 and retryable API codes.  what names the request in messages
 * ("page at Offset 100", "DescribeDomainIcpStatus example.com").  On
 * success 0, *root the decoded body (a {"Response": {...}} without
 * Error) and conn->resp its bytes; otherwise an exit code and err (the
 * provider's Code, Message and RequestId when it said any).
 */
int sync_api_call(sync_api_t *api, sync_api_conn_t *conn, const char *what,
    const char *body, size_t body_len, json_t **root, char *err,
    size_t err_len);

/* A string member of a JSON object, made safe for display; "" if not a
 * string. */
void sync_json_str(const json_t *o, const char *k, char *out, size_t size);

#endif /* SYNC_API_H */
