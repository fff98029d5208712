/*
 * beian-sync: DescribeDomainIcpStatus, asked for many domains at once.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "report.h"
#include "tencent.h"
#include "util.h"


static const char *const  flags[] = {
    "GovStatus", "LandedStatus", "AuditTicket", "Ban"
};


int
sync_tencent_decode(const json_t *root, sync_icp_status_t *st, char *err,
    size_t err_len)
{
    int      *out[4];
    size_t    i;
    json_t   *resp, *v;
    char      rid[128];

    out[0] = &st->gov;
    out[1] = &st->landed;
    out[2] = &st->audit;
    out[3] = &st->ban;

    resp = json_object_get(root, "Response");
    sync_json_str(resp, "RequestId", rid, sizeof(rid));

    for (i = 0; i < 4; i++) {
        v = json_object_get(resp, flags[i]);
        if (!json_is_boolean(v)) {
            snprintf(err, err_len, "DescribeDomainIcpStatus %s: \"%s\" is "
                     "%s, expected true or false (RequestId %s): the answer "
                     "is not what beian-sync knows, nothing is assumed",
                     st->name->domain, flags[i],
                     v ? sync_json_type(v) : "missing",
                     rid[0] ? rid : "none");
            return -1;
        }
        *out[i] = json_is_true(v);
    }

    v = json_object_get(resp, "RequestId");
    if (!json_is_string(v) || rid[0] == '\0') {
        snprintf(err, err_len, "DescribeDomainIcpStatus %s: \"RequestId\" "
                 "is %s, expected a string", st->name->domain,
                 v ? sync_json_type(v) : "missing");
        return -1;
    }
    memcpy(st->request_id, rid, sizeof(st->request_id));

    return 0;
}


int
sync_tencent_verdict(const sync_icp_status_t *st)
{
    if (st->ban) {
        return SYNC_SKIP_BANNED;
    }
    if (!st->gov) {
        return SYNC_SKIP_NOT_FILED;
    }
    if (!st->landed) {
        return SYNC_SKIP_NOT_LANDED;
    }
    return -1;
}


/* ---- the pool ----------------------------------------------------- */

typedef struct {
    sync_api_t          *api;
    sync_icp_status_t   *st;
    size_t               n;
    size_t               next;          /* the next domain to ask */
    int                  failed;        /* stop starting requests */
    pthread_mutex_t      mutex;
} pool_t;


static void
ask_one(pool_t *pool, sync_api_conn_t *conn, sync_icp_status_t *st)
{
    int      rc;
    json_t  *root;
    size_t   len;
    char     body[BEIAN_DOMAIN_MAX + 16], what[BEIAN_DOMAIN_MAX + 32];

    /* A-labels: [a-z0-9.-], nothing to escape */
    len = (size_t) snprintf(body, sizeof(body), "{\"Domain\":\"%s\"}",
                            st->name->domain);
    snprintf(what, sizeof(what), "DescribeDomainIcpStatus %s",
             st->name->domain);

    rc = sync_api_call(pool->api, conn, what, body, len, &root, st->err,
                       sizeof(st->err));
    if (rc == SYNC_EXIT_OK) {
        if (sync_tencent_decode(root, st, st->err, sizeof(st->err)) != 0) {
            rc = SYNC_EXIT_PROVIDER;
        }
        json_decref(root);
    }

    st->rc = rc;
}


static void *
worker(void *data)
{
    pool_t           *pool = data;
    size_t            i;
    sync_api_conn_t   conn;

    if (sync_api_conn_init(&conn, pool->api->c) != 0) {
        pthread_mutex_lock(&pool->mutex);
        pool->failed = 1;
        pthread_mutex_unlock(&pool->mutex);
        return (void *) 1;
    }

    for ( ;; ) {
        pthread_mutex_lock(&pool->mutex);
        if (pool->failed || pool->next == pool->n) {
            pthread_mutex_unlock(&pool->mutex);
            break;
        }
        i = pool->next++;
        pthread_mutex_unlock(&pool->mutex);

        ask_one(pool, &conn, &pool->st[i]);

        if (pool->st[i].rc != SYNC_EXIT_OK) {
            pthread_mutex_lock(&pool->mutex);
            pool->failed = 1;
            pthread_mutex_unlock(&pool->mutex);
        }
    }

    sync_api_conn_free(&conn);
    return NULL;
}


int
sync_tencent_ask(sync_api_t *api, sync_icp_status_t *st, size_t n,
    unsigned concurrency, char *err, size_t err_len)
{
    int         nomem = 0;
    void       *res;
    size_t      i, nt, started;
    pool_t      pool;
    pthread_t  *t;

    for (i = 0; i < n; i++) {
        st[i].rc = -1;                  /* not asked */
        st[i].err[0] = '\0';
    }

    memset(&pool, 0, sizeof(pool));
    pool.api = api;
    pool.st = st;
    pool.n = n;

    nt = concurrency < n ? concurrency : n;
    if (nt == 0) {
        return SYNC_EXIT_OK;
    }

    t = calloc(nt, sizeof(*t));
    if (t == NULL || pthread_mutex_init(&pool.mutex, NULL) != 0) {
        free(t);
        snprintf(err, err_len, "out of memory");
        return SYNC_EXIT_IO;
    }

    for (started = 0; started < nt; started++) {
        if (pthread_create(&t[started], NULL, worker, &pool) != 0) {
            break;
        }
    }

    /* with no thread at all, this one asks */
    if (started == 0) {
        res = worker(&pool);
        nomem = res != NULL;
    }

    for (i = 0; i < started; i++) {
        if (pthread_join(t[i], &res) == 0 && res != NULL) {
            nomem = 1;
        }
    }

    pthread_mutex_destroy(&pool.mutex);
    free(t);

    for (i = 0; i < n; i++) {
        if (st[i].rc > 0) {
            snprintf(err, err_len, "%s", st[i].err);
            return st[i].rc;
        }
    }

    if (nomem) {
        snprintf(err, err_len, "curl_easy_init failed");
        return SYNC_EXIT_IO;
    }

    for (i = 0; i < n; i++) {
        if (st[i].rc != SYNC_EXIT_OK) {
            snprintf(err, err_len, "%s: not asked", st[i].name->domain);
            return SYNC_EXIT_IO;
        }
    }

    return SYNC_EXIT_OK;
}
