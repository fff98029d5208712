/*
 * beian-sync: the snapshot write, behind the safety guards.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "publish.h"


/*
 * The directory the snapshot is published in: root's or ours, and no one
 * else's to write, unless allowed explicitly.  Local safety refusals here
 * and below are exit 3, a safety guard: nothing is wrong with the disk,
 * the place is not safe to publish in (whoever may write the directory may
 * plant a lock, a symlink or a snapshot of their own there).
 */
static int
check_dir(const char *snapshot, int allow_shared, sync_report_t *rep)
{
    size_t        len;
    const char   *slash;
    struct stat   st;
    char          dir[4096];

    slash = strrchr(snapshot, '/');
    len = slash == NULL ? 1 : (size_t) (slash - snapshot);
    if (len >= sizeof(dir)) {
        sync_report_error(rep, SYNC_EXIT_IO, "%s: path too long", snapshot);
        return SYNC_EXIT_IO;
    }
    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        memcpy(dir, snapshot, len ? len : 1);
        dir[len ? len : 1] = '\0';
    }

    if (stat(dir, &st) != 0) {
        sync_report_error(rep, SYNC_EXIT_IO, "snapshot directory %s: %s",
                          dir, strerror(errno));
        return SYNC_EXIT_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        sync_report_error(rep, SYNC_EXIT_IO, "snapshot directory %s: not a "
                          "directory", dir);
        return SYNC_EXIT_IO;
    }

    if (allow_shared) {
        return SYNC_EXIT_OK;
    }

    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        sync_report_error(rep, SYNC_EXIT_REFUSED, "snapshot directory %s is "
                          "owned by uid %ld, neither root nor the user "
                          "running beian-sync (uid %ld): that user could "
                          "replace the snapshot; publish into a directory "
                          "of root's or your own, or pass "
                          "--allow-shared-dir", dir, (long) st.st_uid,
                          (long) geteuid());
        return SYNC_EXIT_REFUSED;
    }

    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        sync_report_error(rep, SYNC_EXIT_REFUSED, "snapshot directory %s is "
                          "%s-writable (mode %04o): other users could plant "
                          "a lock, a symlink or a snapshot of their own "
                          "there; chmod go-w it, or pass --allow-shared-dir",
                          dir, (st.st_mode & S_IWOTH) ? "world" : "group",
                          (unsigned) (st.st_mode & 07777));
        return SYNC_EXIT_REFUSED;
    }

    return SYNC_EXIT_OK;
}


/* A file found at a path we publish to: a regular file of our own. */
static int
check_own_file(int fd, const char *what, const char *path, sync_report_t *rep)
{
    struct stat  st;

    if (fstat(fd, &st) != 0) {
        sync_report_error(rep, SYNC_EXIT_IO, "%s %s: %s", what, path,
                          strerror(errno));
        return SYNC_EXIT_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        sync_report_error(rep, SYNC_EXIT_REFUSED, "%s %s is not a regular "
                          "file: refusing to use it; remove it", what, path);
        return SYNC_EXIT_REFUSED;
    }
    if (st.st_uid != geteuid()) {
        sync_report_error(rep, SYNC_EXIT_REFUSED, "%s %s is owned by uid %ld, "
                          "not by the user running beian-sync (uid %ld): "
                          "refusing to use another user's file; check who "
                          "put it there, then remove it", what, path,
                          (long) st.st_uid, (long) geteuid());
        return SYNC_EXIT_REFUSED;
    }
    return SYNC_EXIT_OK;
}


int
sync_lock(const char *snapshot, int allow_shared, int *fd,
    sync_report_t *rep)
{
    int          rc;
    struct stat  st;
    char         path[4096];

    *fd = -1;

    if ((size_t) snprintf(path, sizeof(path), "%s.lock", snapshot)
        >= sizeof(path))
    {
        sync_report_error(rep, SYNC_EXIT_IO, "%s: path too long", snapshot);
        return SYNC_EXIT_IO;
    }

    rc = check_dir(snapshot, allow_shared, rep);
    if (rc != SYNC_EXIT_OK) {
        return rc;
    }

    /* never through a symlink: root would create or lock its target */
    *fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (*fd == -1) {
        if (errno == ELOOP) {
            sync_report_error(rep, SYNC_EXIT_REFUSED, "lock file %s is a "
                              "symbolic link: refusing to follow it; remove "
                              "it", path);
            return SYNC_EXIT_REFUSED;
        }
        sync_report_error(rep, SYNC_EXIT_IO, "lock file %s: %s", path,
                          strerror(errno));
        return SYNC_EXIT_IO;
    }

    rc = check_own_file(*fd, "lock file", path, rep);
    if (rc != SYNC_EXIT_OK) {
        goto failed;
    }

    /* flock() needs only read access: nobody else may open it */
    if (fstat(*fd, &st) == 0 && (st.st_mode & 077) != 0
        && fchmod(*fd, 0600) != 0)
    {
        sync_report_error(rep, rc = SYNC_EXIT_IO, "chmod lock file %s: %s",
                          path, strerror(errno));
        goto failed;
    }

    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            /* one run at a time is a safety guard: 3 */
            sync_report_error(rep, rc = SYNC_EXIT_REFUSED, "another "
                              "beian-sync is updating %s (%s is locked)",
                              snapshot, path);
            goto failed;
        }
        sync_report_error(rep, rc = SYNC_EXIT_IO, "lock %s: %s", path,
                          strerror(errno));
        goto failed;
    }

    /* holding the lock: any temp file next to the snapshot is a dead run's */
    (void) beian_snap_clean_temps(snapshot);

    return SYNC_EXIT_OK;

failed:

    close(*fd);
    *fd = -1;
    return rc;
}


/*
 * The snapshot in place: 1 opened, 0 none (or unusable: it is replaced,
 * with a warning), or an exit code: it is not ours to replace (3), or
 * cannot be read (4).
 */
static int
open_old(const char *path, beian_snap_t **snap, sync_report_t *rep)
{
    int   fd, rc;
    char  err[BEIAN_ERR_MAX];

    *snap = NULL;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT) {
            return 0;
        }
        if (errno == ELOOP) {
            sync_report_error(rep, SYNC_EXIT_REFUSED, "snapshot %s is a "
                              "symbolic link: refusing to replace it; publish "
                              "to the real path", path);
            return -SYNC_EXIT_REFUSED;
        }
        sync_report_error(rep, SYNC_EXIT_IO, "%s: %s", path, strerror(errno));
        return -SYNC_EXIT_IO;
    }
    rc = check_own_file(fd, "snapshot", path, rep);
    close(fd);
    if (rc != SYNC_EXIT_OK) {
        return -rc;
    }

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
    char                 err[BEIAN_ERR_MAX], digest[72];

    if (n == 0 && !p->force) {
        sync_report_error(rep, SYNC_EXIT_REFUSED, "no domain is admitted for "
                          "instance %s: refusing to write an empty snapshot "
                          "(--force writes it, blocking every host)",
                          p->instance_id);
        return SYNC_EXIT_REFUSED;
    }

    if (beian_entries_digest(p->instance_id, entries, n, rep->digest) != 0) {
        sync_report_error(rep, SYNC_EXIT_IO, "out of memory computing the "
                          "digest");
        return SYNC_EXIT_IO;
    }

    rc = open_old(p->snapshot, &old, rep);
    if (rc < 0) {
        return -rc;
    }

    if (old != NULL) {
        om = beian_snap_meta(old);

        /* the file as it is, not the digest it claims */
        if (beian_snap_digest(old, digest, err, sizeof(err)) != 0) {
            sync_report_warn(rep, "replacing %s: %s", p->snapshot, err);
            digest[0] = '\0';

        } else if (strcmp(digest, om->digest) != 0) {
            sync_report_warn(rep, "replacing %s: its content does not match "
                             "its digest (changed after it was written)",
                             p->snapshot);
        }

        if (!p->force && strcmp(digest, rep->digest) == 0
            && strcmp(om->digest, rep->digest) == 0)
        {
            /* same instance, entries and index: no new file, no reload */
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

        /*
         * A provider glitch looks like a big loss: refuse one.  The
         * domains gone count, not the difference in numbers: another
         * instance's records, or a page of others of the same size, would
         * replace the allowlist without shrinking it.
         */
        if (!p->force
            && rep->removed * 100 > (size_t) p->max_shrink * old_n)
        {
            sync_report_error(rep, SYNC_EXIT_REFUSED, "refusing to remove "
                              "%zu of the %zu domains in %s (more than "
                              "--max-shrink %u%%; %zu would be added, %zu in "
                              "all); --force writes it", rep->removed, old_n,
                              p->snapshot, p->max_shrink, rep->added, n);
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
