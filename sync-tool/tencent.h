/*
 * beian-sync: Tencent Cloud's per-domain filing status, the call behind
 * source = tencent and `beian-sync status` (sync-tool/README.md,
 * "source = tencent").
 *
 * POST https://ba.tencentcloudapi.com, X-TC-Action DescribeDomainIcpStatus,
 * X-TC-Version 2020-07-20, TC3 service "ba", body {"Domain": "example.com"}
 * -> {"Response": {"GovStatus": bool, "LandedStatus": bool, "AuditTicket":
 * bool, "Ban": bool, "RequestId": "..."}}.  Not in Tencent's published API
 * reference: every field is checked, and an answer of another shape is a
 * provider failure, never a guess.
 */

#ifndef SYNC_TENCENT_H
#define SYNC_TENCENT_H

#include <stddef.h>

#include <jansson.h>

#include "api.h"
#include "names.h"


typedef struct {
    const sync_name_t  *name;           /* the registrable domain asked */
    int                 gov;            /* GovStatus: MIIT filing approved */
    int                 landed;         /* LandedStatus: access-registered
                                           at Tencent Cloud */
    int                 audit;          /* AuditTicket: a ticket is open */
    int                 ban;            /* Ban: the domain is blocked */
    char                request_id[128];
    int                 rc;             /* exit code; 0: answered */
    char                err[BEIAN_SYNC_MSG_MAX];
} sync_icp_status_t;

/*
 * Decodes one answer: the four flags must be JSON booleans and RequestId
 * a string.  0, or -1 with err naming what is wrong.
 */
int sync_tencent_decode(const json_t *root, sync_icp_status_t *st,
    char *err, size_t err_len);

/* -1 if the gate allows the domain (GovStatus && LandedStatus && !Ban),
 * else the sync_skip_t that says why not (banned first). */
int sync_tencent_verdict(const sync_icp_status_t *st);

/*
 * Asks about each st[i].name, each once, with at most concurrency
 * requests in flight (threads with a connection each; retries as for
 * every request).  After a failure no new request starts.  Returns 0, or
 * the exit code of the first domain (in st's order) that failed, with its
 * message in err.
 */
int sync_tencent_ask(sync_api_t *api, sync_icp_status_t *st, size_t n,
    unsigned concurrency, char *err, size_t err_len);

#endif /* SYNC_TENCENT_H */
