/*
 * beian-sync pull: provider -> snapshot (sync-tool/README.md, "pull").
 *
 * The source named by `source` (source.h) collects the records; from there
 * on every source goes through exactly what `build` uses: sync_acc_finish()
 * and sync_publish(); then nginx is told (reload.h).
 */

#ifndef SYNC_PULL_H
#define SYNC_PULL_H

#include "config.h"
#include "report.h"


/*
 * The whole command: lock, credentials, instance id, pages, validation
 * and admission, guards, write, reload.  The resolved instance id
 * replaces "auto" in c.  Fills rep (which must stay alive for printing:
 * its strings point into c) and returns the exit code.
 */
int sync_pull(sync_pull_conf_t *c, sync_report_t *rep);

#endif /* SYNC_PULL_H */
