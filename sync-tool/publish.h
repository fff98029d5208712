/*
 * beian-sync: turning merged entries into the snapshot, behind the safety
 * guards of sync-tool/README.md.  Shared by `build` and `pull`.
 */

#ifndef SYNC_PUBLISH_H
#define SYNC_PUBLISH_H

#include "beian.h"
#include "report.h"


typedef struct {
    const char  *snapshot;          /* the target path */
    const char  *instance_id;
    const char  *source;            /* meta "source" */
    unsigned     max_shrink;        /* percent of the old domains */
    int          force;             /* override the empty/shrink guards */
} sync_publish_t;

/*
 * One run at a time per snapshot: an flock()ed "SNAPSHOT.lock" next to it,
 * held until *fd is closed (or the process ends).  Returns an exit code;
 * on failure the report holds the error.
 */
int sync_lock(const char *snapshot, int *fd, sync_report_t *rep);

/*
 * Digest, compare with the snapshot in place, apply the guards (empty
 * result, shrink beyond max_shrink) and write.  An unchanged digest
 * writes nothing.  entries come from sync_acc_finish().  Fills the
 * report's digest, previous counts (without an old snapshot, every domain
 * is added), changed and written; returns an exit
 * code, the old snapshot untouched unless it is 0.
 */
int sync_publish(const sync_publish_t *p, beian_entry_t *entries, size_t n,
    sync_report_t *rep);

#endif /* SYNC_PUBLISH_H */
