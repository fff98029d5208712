/*
 * beian-sync: turning merged entries into the snapshot, behind the safety
 * guards of sync-tool/README.md ("build").  Shared by `build` and `pull`.
 */

#ifndef SYNC_PUBLISH_H
#define SYNC_PUBLISH_H

#include "beian_write.h"
#include "report.h"


typedef struct {
    const char  *snapshot;          /* the target path */
    const char  *instance_id;
    const char  *source;            /* meta "source" */
    unsigned     max_shrink;        /* percent of the old domains */
    int          force;             /* override the empty/shrink guards,
                                       and write even when unchanged */
    int          allow_shared_dir;  /* publish where others may write */
} sync_publish_t;

/*
 * One run at a time per snapshot: an flock()ed "SNAPSHOT.lock" next to it,
 * held until *fd is closed (or the process ends).  First the place is
 * checked: the directory must be root's or the running user's and not
 * group- or world-writable (unless allow_shared), the lock is opened
 * without following a symlink and must be a regular file of the running
 * user (made 0600).  Returns an exit code: 3 for a place that is not safe
 * or a lock another run holds, 4 for an I/O error; the report holds it.
 */
int sync_lock(const char *snapshot, int allow_shared, int *fd,
    sync_report_t *rep);

/*
 * Digest, compare with the snapshot in place, apply the guards (empty
 * result, shrink beyond max_shrink) and write.  An unchanged digest
 * writes nothing.  entries come from sync_acc_finish().  Fills the
 * report's digest, previous counts (without an old snapshot, every domain
 * is added), changed and written; returns an exit
 * code, the old snapshot untouched unless it is 0.  "Unchanged" means the
 * file in place, recomputed as it is (beian_snap_digest()), and its meta
 * digest both equal the new content's; --force always writes.  A snapshot
 * in place that is a symlink, not a regular file or another user's is
 * refused (3).
 */
int sync_publish(const sync_publish_t *p, beian_entry_t *entries, size_t n,
    sync_report_t *rep);

#endif /* SYNC_PUBLISH_H */
