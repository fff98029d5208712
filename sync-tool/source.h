/*
 * beian-sync: where a pull's records come from, behind one seam.
 *
 * A source fills an accumulator (records.h) and counts what it saw in the
 * run's report; everything after that is the same for every source and
 * for `build`: sync_acc_finish() merges, sync_publish() guards and writes,
 * pull.c reloads nginx.  A new source is one file with a collect function
 * and one line in the table in source.c.
 */

#ifndef SYNC_SOURCE_H
#define SYNC_SOURCE_H

#include "api.h"
#include "config.h"
#include "records.h"
#include "report.h"


typedef struct {
    sync_pull_conf_t  *c;           /* instance id resolved */
    sync_report_t     *rep;
    sync_api_t        *api;         /* credentials resolved */
    char               err[BEIAN_SYNC_MSG_MAX];
} sync_source_run_t;

typedef struct {
    const char  *name;              /* the value of `source` */

    /*
     * Collects every record the source has for the instance into a new
     * accumulator (*acc; the caller frees it), counted in run->rep.
     * Returns an exit code, with run->err on failure: then nothing of
     * what was collected may be published.
     */
    int        (*collect)(sync_source_run_t *run, sync_acc_t **acc);
} sync_source_t;

/* The source of that name, or NULL. */
const sync_source_t *sync_source_find(const char *name);

/* The sources (source_records.c, source_tencent.c). */
int sync_source_records(sync_source_run_t *run, sync_acc_t **acc);
int sync_source_tencent(sync_source_run_t *run, sync_acc_t **acc);

#endif /* SYNC_SOURCE_H */
