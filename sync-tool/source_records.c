/*
 * beian-sync pull, source = records: the paginated records contract.
 *
 * A pass fetches Offset 0, then on from the records received, until
 * TotalCount records arrived; every request is retried on its own
 * (api.c), and a pass whose pages do not add up starts over from Offset
 * 0.  Each page is decoded once with jansson to decide all that before
 * any of its records reaches the accumulator, so a retried request never
 * leaves half a page behind; only a complete pass is handed on.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc.h"
#include "pages.h"
#include "source.h"
#include "util.h"


/* The outcome of a pass that is not an exit code. */
#define PASS_OK          0
#define PASS_RESTART    -1


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
 * PASS_OK, PASS_RESTART (run->err says why), or an exit code.
 */
static int
run_pass(sync_source_run_t *run, sync_api_conn_t *conn, sync_acc_t *acc,
    sync_report_t *pass_rep)
{
    int             rc;
    size_t          offset;
    json_t         *root = NULL, *resp;
    sync_doc_t      doc;
    sync_doc_rc_t   drc;
    sync_pages_t    pages;
    size_t          body_len;
    char            label[48], what[64], body[256];

    sync_pages_init(&pages, run->c->page_size);
    if (pages.seen == NULL) {
        snprintf(run->err, sizeof(run->err), "out of memory");
        return SYNC_EXIT_IO;
    }

    do {
        offset = pages.received;

        /* instance ids are [a-z0-9-]: nothing to escape */
        body_len = (size_t) snprintf(body, sizeof(body),
                                     "{\"InstanceId\":\"%s\",\"Offset\":"
                                     "%zu,\"Limit\":%u}", run->c->instance_id,
                                     offset, run->c->page_size);
        snprintf(what, sizeof(what), "page at Offset %zu", offset);

        rc = sync_api_call(run->api, conn, what, body, body_len, &root,
                           run->err, sizeof(run->err));
        if (rc != SYNC_EXIT_OK) {
            goto done;
        }

        resp = json_object_get(root, "Response");
        rc = sync_pages_check(&pages, resp, run->err, sizeof(run->err));
        if (rc != 0) {
            rc = rc > 0 ? PASS_RESTART : SYNC_EXIT_PROVIDER;
            goto done;
        }
        json_decref(root);
        root = NULL;

        /* the same reader, validation and admission as build */
        snprintf(label, sizeof(label), "Offset=%zu", offset);
        drc = sync_doc_parse(conn->resp.body, conn->resp.len, label, offset,
                             sync_acc_add, acc, &doc, run->err,
                             sizeof(run->err));

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
            snprintf(run->err, sizeof(run->err), "out of memory");
            rc = SYNC_EXIT_IO;
            goto done;
        }

        pass_rep->total_count = pages.total;
        memcpy(pass_rep->request_id, doc.request_id,
               sizeof(pass_rep->request_id));
        run->rep->pages = pages.pages;

    } while (!sync_pages_done(&pages));

    rc = PASS_OK;

done:

    json_decref(root);
    sync_pages_free(&pages);
    return rc;
}




/* ---- the source --------------------------------------------------- */

int
sync_source_records(sync_source_run_t *run, sync_acc_t **out)
{
    int               rc;
    char             *buf = NULL;
    size_t            buf_len = 0;
    unsigned          pass;
    FILE             *mem;
    sync_acc_t       *acc = NULL;
    sync_report_t     pass_rep, *rep = run->rep;
    sync_api_conn_t   conn;
    char              msg[BEIAN_SYNC_MSG_MAX];

    *out = NULL;
    memset(&pass_rep, 0, sizeof(pass_rep));

    if (sync_api_conn_init(&conn, run->c) != 0) {
        snprintf(run->err, sizeof(run->err), "curl_easy_init failed");
        return SYNC_EXIT_IO;
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

        acc = sync_acc_new(run->c->instance_id, &pass_rep);
        if (acc == NULL) {
            if (mem) {
                fclose(mem);
            }
            snprintf(run->err, sizeof(run->err), "out of memory");
            rc = SYNC_EXIT_IO;
            goto done;
        }

        rc = run_pass(run, &conn, acc, &pass_rep);

        if (mem) {
            fclose(mem);
        }

        if (rc == PASS_OK) {
            if (buf && buf_len && rep->diag) {
                fwrite(buf, 1, buf_len, rep->diag);
            }
            adopt(rep, &pass_rep);
            /* merged into the run's report from here on */
            sync_acc_set_report(acc, rep);
            break;
        }

        if (rc != PASS_RESTART) {
            goto done;
        }

        if (pass >= run->c->retries) {
            snprintf(msg, sizeof(msg), "the provider's pages did not add up "
                     "in %u pass%s, the last time: %.800s", pass + 1,
                     pass ? "es" : "", run->err);
            snprintf(run->err, sizeof(run->err), "%s", msg);
            rc = SYNC_EXIT_PROVIDER;
            goto done;
        }

        sync_report_warn(rep, "the provider's pages do not add up (%s): "
                         "starting over from Offset 0", run->err);
        rep->retries++;
        sync_sleep_ms(sync_backoff_delay_ms(&run->api->backoff, pass));
    }

    *out = acc;
    acc = NULL;

done:

    sync_acc_free(acc);
    sync_report_free(&pass_rep);
    free(buf);
    sync_api_conn_free(&conn);
    return rc;
}
