/*
 * beian-sync pull, source = tencent: Tencent Cloud's own word on each
 * declared domain (tencent.h), admitted iff GovStatus && LandedStatus &&
 * !Ban.  Any domain whose status cannot be read fails the whole pull: a
 * partial allowlist is never published.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "names.h"
#include "source.h"
#include "tencent.h"
#include "util.h"


/* The flags and the verdict of one domain, for the JSON report. */
static json_t *
status_json(const sync_icp_status_t *st, int verdict)
{
    return json_pack("{s:s, s:s, s:s?, s:b, s:b, s:b, s:b, s:s, s:s}",
                     "domain", st->name->domain,
                     "names", st->name->names,
                     "icp", st->name->icp[0] ? st->name->icp : NULL,
                     "GovStatus", st->gov,
                     "LandedStatus", st->landed,
                     "AuditTicket", st->audit,
                     "Ban", st->ban,
                     "RequestId", st->request_id,
                     "verdict", verdict < 0 ? "allowed"
                                            : sync_skip_names[verdict]);
}


/* "a (x), b (y)" of the skipped server_names, cut to fit. */
static void
skipped_text(const json_t *skipped, char *out, size_t size)
{
    size_t   i, len = 0;
    json_t  *v;

    out[0] = '\0';
    json_array_foreach(skipped, i, v) {
        if (len + 8 >= size) {
            break;
        }
        len += (size_t) snprintf(out + len, size - len, "%s%s (%s)",
                                 i ? ", " : "",
                                 json_string_value(json_object_get(v, "name")),
                                 json_string_value(json_object_get(v,
                                                                   "reason")));
        if (len >= size) {
            len = size - 1;
        }
    }
}


int
sync_source_tencent(sync_source_run_t *run, sync_acc_t **out)
{
    int                  rc, verdict;
    size_t               i, nicp = 0, len;
    json_t              *asked = NULL;
    sync_acc_t          *acc = NULL;
    sync_names_t         names;
    sync_report_t       *rep = run->rep;
    sync_icp_status_t   *st = NULL;
    char                 text[BEIAN_SYNC_MSG_MAX], noicp[600];

    *out = NULL;

    if (sync_domain_psl_check(run->err, sizeof(run->err)) != 0) {
        return SYNC_EXIT_IO;
    }

    /* the names are the operator's declaration: a wrong one is theirs */
    if (sync_names_collect(run->c, &names, run->err, sizeof(run->err))
        != 0)
    {
        sync_names_free(&names);
        return SYNC_EXIT_USAGE;
    }

    if (json_array_size(names.skipped) > 0) {
        skipped_text(names.skipped, text, sizeof(text));
        sync_report_warn(rep, "%zu server_name%s skipped (not domains): %s",
                         json_array_size(names.skipped),
                         json_array_size(names.skipped) == 1 ? "" : "s",
                         text);
    }

    if (names.n == 0) {
        snprintf(run->err, sizeof(run->err), "no domain to ask about: the "
                 "domain lines and nginx's server_names hold no "
                 "registrable domain");
        rc = SYNC_EXIT_USAGE;
        goto done;
    }

    st = calloc(names.n, sizeof(*st));
    acc = sync_acc_new(run->c->instance_id, rep);
    asked = json_array();
    if (st == NULL || acc == NULL || asked == NULL) {
        snprintf(run->err, sizeof(run->err), "out of memory");
        rc = SYNC_EXIT_IO;
        goto done;
    }
    for (i = 0; i < names.n; i++) {
        st[i].name = &names.v[i];
    }

    rc = sync_tencent_ask(run->api, st, names.n, run->c->concurrency,
                          run->err, sizeof(run->err));
    if (rc != SYNC_EXIT_OK) {
        goto done;
    }

    noicp[0] = '\0';
    len = 0;

    for (i = 0; i < names.n; i++) {
        rep->seen++;
        rep->valid++;

        verdict = sync_tencent_verdict(&st[i]);
        json_array_append_new(asked, status_json(&st[i], verdict));

        if (st[i].audit) {
            sync_report_warn(rep, "%s: a verification ticket is open "
                             "(AuditTicket; RequestId %s)", st[i].name->domain,
                             st[i].request_id);
        }

        if (verdict >= 0) {
            rep->skipped[verdict]++;
            rep->skipped_total++;
            sync_report_warn(rep, "%s: not allowed, %s (GovStatus %s, "
                             "LandedStatus %s, Ban %s; RequestId %s; from "
                             "%s)", st[i].name->domain,
                             sync_skip_names[verdict],
                             st[i].gov ? "true" : "false",
                             st[i].landed ? "true" : "false",
                             st[i].ban ? "true" : "false",
                             st[i].request_id, st[i].name->names);
            continue;
        }

        /* one website per registrable domain: the 5-website warning
         * counts them */
        if (sync_acc_put(acc, st[i].name->domain, st[i].name->domain_len,
                         st[i].name->icp, st[i].name->domain, i) != 0)
        {
            snprintf(run->err, sizeof(run->err), "out of memory");
            rc = SYNC_EXIT_IO;
            goto done;
        }

        if (st[i].name->icp[0] == '\0') {
            nicp++;
            if (len + st[i].name->domain_len + 3 < sizeof(noicp)) {
                len += (size_t) snprintf(noicp + len, sizeof(noicp) - len,
                                         "%s%s", len ? ", " : "",
                                         st[i].name->domain);
            }
        }
    }

    if (nicp > 0) {
        sync_report_warn(rep, "%zu filed domain%s without an ICP number "
                         "($beian_icp stays empty; add it to the domain "
                         "line): %s", nicp, nicp == 1 ? "" : "s", noicp);
    }

    json_decref(rep->detail);
    rep->detail = json_pack("{s:s, s:o, s:O}", "source", "tencent",
                            "asked", asked, "skipped_names", names.skipped);
    asked = NULL;

    *out = acc;
    acc = NULL;
    rc = SYNC_EXIT_OK;

done:

    json_decref(asked);
    sync_acc_free(acc);
    free(st);
    sync_names_free(&names);
    return rc;
}
