/*
 * beian-sync pull: lock, credentials, instance id, the source, then the
 * same merge, guards and write as build, and the reload signal.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "http.h"
#include "publish.h"
#include "pull.h"
#include "records.h"
#include "reload.h"
#include "source.h"
#include "util.h"


static int
fail(sync_report_t *rep, int rc, const char *msg)
{
    sync_report_error(rep, rc, "%s", msg);
    return rc;
}


int
sync_pull(sync_pull_conf_t *c, sync_report_t *rep)
{
    int                   rc, lock_fd = -1, api_ready = 0;
    char                 *id;
    size_t                n = 0;
    sync_acc_t           *acc = NULL;
    beian_entry_t        *entries = NULL;
    sync_publish_t        p;
    sync_api_t            api;
    sync_source_run_t     run;
    const sync_source_t  *src;
    char                  iid[sizeof(((beian_meta_t *) 0)->instance_id)];

    memset(&run, 0, sizeof(run));
    run.c = c;
    run.rep = rep;
    run.api = &api;

    rep->pull = 1;
    rep->snapshot = c->out;
    rep->source = c->meta_source;
    rep->instance_id = strcmp(c->instance_id, "auto") ? c->instance_id
                                                      : NULL;

    src = sync_source_find(c->source);
    if (src == NULL) {
        return fail(rep, SYNC_EXIT_USAGE, "unknown source");
    }

    /* two runs never interleave; the second one fails at once */
    rc = sync_lock(c->out, (int) c->allow_shared_dir, &lock_fd, rep);
    if (rc != SYNC_EXIT_OK) {
        /* 3: another run holds the lock, or an unsafe place; 4: I/O */
        rep->exit_code = rc;
        goto done;
    }

    if (sync_http_global_init(run.err, sizeof(run.err)) != 0) {
        rc = fail(rep, SYNC_EXIT_IO, run.err);
        goto done;
    }

    if (sync_api_init(&api, c, rep) != 0) {
        rc = fail(rep, SYNC_EXIT_IO, "curl_easy_init failed");
        goto done;
    }
    api_ready = 1;

    rc = sync_creds_resolve(&api.creds, c, NULL, &api.md, run.err,
                            sizeof(run.err));
    if (rc != SYNC_EXIT_OK) {
        rc = fail(rep, rc, run.err);
        goto done;
    }
    rep->credentials = api.creds.source;

    if (strcmp(c->instance_id, "auto") == 0) {
        rc = sync_metadata_instance_id(&api.md, iid, sizeof(iid), run.err,
                                       sizeof(run.err));
        if (rc != SYNC_EXIT_OK) {
            rc = fail(rep, rc, run.err);
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

    rc = src->collect(&run, &acc);
    if (rc != SYNC_EXIT_OK) {
        rc = fail(rep, rc, run.err);
        goto done;
    }

    if (sync_acc_finish(acc, &entries, &n) != 0) {
        rc = fail(rep, SYNC_EXIT_IO, "merging the records failed (out of "
                  "memory?)");
        goto done;
    }

    memset(&p, 0, sizeof(p));
    p.snapshot = c->out;
    p.instance_id = c->instance_id;
    p.source = c->meta_source;
    p.max_shrink = c->max_shrink;
    p.force = c->force;
    p.allow_shared_dir = (int) c->allow_shared_dir;

    rc = sync_publish(&p, entries, n, rep);
    if (rc != SYNC_EXIT_OK) {
        goto done;
    }

    /* nginx learns of a new file only; an unchanged one needs nothing */
    if (rep->written && c->reload_pid) {
        rc = sync_reload(c->reload_pid, &rep->reload_pid, run.err,
                         sizeof(run.err));
        if (rc != SYNC_EXIT_OK) {
            sync_report_error(rep, rc, "the new snapshot %s is in place, but "
                              "nginx was not told: %s", c->out, run.err);
            goto done;
        }
        rep->reloaded = 1;
    }

done:

    sync_acc_free(acc);
    if (api_ready) {
        sync_api_free(&api);
    }
    if (lock_fd != -1) {
        close(lock_fd);
    }
    return rc;
}
