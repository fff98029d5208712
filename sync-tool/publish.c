/*
 * beian-sync: the snapshot write, behind the safety guards.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "publish.h"


int
sync_lock(const char *snapshot, int *fd, sync_report_t *rep)
{
    char  path[4096];

    *fd = -1;

    if ((size_t) snprintf(path, sizeof(path), "%s.lock", snapshot)
        >= sizeof(path))
    {
        sync_report_error(rep, SYNC_EXIT_IO, "%s: path too long", snapshot);
        return SYNC_EXIT_IO;
    }

    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd == -1) {
        sync_report_error(rep, SYNC_EXIT_IO, "lock file %s: %s", path,
                          strerror(errno));
        return SYNC_EXIT_IO;
    }

    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            /* one run at a time is a safety guard (sync-tool/README.md): 3 */
            sync_report_error(rep, SYNC_EXIT_REFUSED, "another beian-sync "
                              "is updating %s (%s is locked)", snapshot,
                              path);
            close(*fd);
            *fd = -1;
            return SYNC_EXIT_REFUSED;
        }
        sync_report_error(rep, SYNC_EXIT_IO, "lock %s: %s", path,
                          strerror(errno));
        close(*fd);
        *fd = -1;
        return SYNC_EXIT_IO;
    }

    /* holding the lock: any temp file next to the snapshot is a dead run's */
    (void) beian_snap_clean_temps(snapshot);

    return SYNC_EXIT_OK;
}


/*
 * The snapshot in place: 1 opened, 0 none (or unusable: it is replaced,
 * with a warning), -1 it exists but cannot be read (an I/O error).
 */
static int
open_old(const char *path, beian_snap_t **snap, sync_report_t *rep)
{
    int   fd;
    char  err[BEIAN_ERR_MAX];

    *snap = NULL;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT) {
            return 0;
        }
        sync_report_error(rep, SYNC_EXIT_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);

    *snap = beian_snap_open(path, err, sizeof(err));
    if (*snap == NULL) {
        sync_report_warn(rep, "replacing an unusable snapshot: %s", err);
        return 0;
    }

    return 1;
}


int
sync_publish(const sync_publish_t *p, beian_entry_t *entries, size_t n,
    sync_report_t *rep)
{
    int                  rc;
    size_t               i, common, old_n;
    beian_rec_t          rec;
    beian_meta_t         meta;
    beian_snap_t        *old = NULL;
    const beian_meta_t  *om;
    char                 err[BEIAN_ERR_MAX];

    if (n == 0 && !p->force) {
        sync_report_error(rep, SYNC_EXIT_REFUSED, "no domain is admitted for "
                          "instance %s: refusing to write an empty snapshot "
                          "(--force writes it, blocking every host)",
                          p->instance_id);
        return SYNC_EXIT_REFUSED;
    }

    beian_entries_digest(p->instance_id, entries, n, rep->digest);

    rc = open_old(p->snapshot, &old, rep);
    if (rc < 0) {
        return SYNC_EXIT_IO;
    }

    if (old != NULL) {
        om = beian_snap_meta(old);

        if (strcmp(om->digest, rep->digest) == 0) {
            /* same instance and entries: no new file, no reload */
            beian_snap_close(old);
            rep->have_old = 1;
            rep->old_domains = n;
            return SYNC_EXIT_OK;
        }

        if (strcmp(om->instance_id, p->instance_id) != 0) {
            sync_report_warn(rep, "%s was built for instance %s, now for %s",
                             p->snapshot, om->instance_id, p->instance_id);
        }

        old_n = (size_t) om->record_count;
        for (i = 0, common = 0; i < n; i++) {
            if (beian_snap_get(old, entries[i].domain, entries[i].domain_len,
                               &rec) == 1)
            {
                common++;
            }
        }
        beian_snap_close(old);

        rep->have_old = 1;
        rep->old_domains = old_n;
        rep->added = n - common;
        rep->removed = old_n > common ? old_n - common : 0;

        /* a provider glitch looks like a shrink: refuse a big one */
        if (n < old_n && !p->force
            && (old_n - n) * 100 > (size_t) p->max_shrink * old_n)
        {
            sync_report_error(rep, SYNC_EXIT_REFUSED, "refusing to shrink "
                              "%s from %zu to %zu domains (more than "
                              "--max-shrink %u%%); --force writes it",
                              p->snapshot, old_n, n, p->max_shrink);
            return SYNC_EXIT_REFUSED;
        }
    }

    memset(&meta, 0, sizeof(meta));
    meta.schema_version = BEIAN_SCHEMA_VERSION;
    snprintf(meta.instance_id, sizeof(meta.instance_id), "%s",
             p->instance_id);
    meta.generated_at = (int64_t) time(NULL);
    snprintf(meta.source, sizeof(meta.source), "%s", p->source);
    meta.record_count = n;
    memcpy(meta.digest, rep->digest, sizeof(meta.digest));

    rc = beian_snap_write(p->snapshot, &meta, entries, n, err, sizeof(err));
    if (rc < 0) {
        sync_report_error(rep, SYNC_EXIT_IO, "%s", err);
        return SYNC_EXIT_IO;
    }
    if (rc > 0) {
        sync_report_warn(rep, "%s", err);
    }

    if (!rep->have_old) {
        rep->added = n;                 /* nothing to compare with */
    }
    rep->changed = 1;
    rep->written = 1;
    return SYNC_EXIT_OK;
}
