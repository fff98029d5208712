/*
 * beian-sync pull: provider -> snapshot (docs/providers.md;
 * sync-tool/README.md, "pull").
 *
 * Pages are fetched and checked here; their records go through exactly
 * what `build` uses: sync_doc_parse() with sync_acc_add as the callback
 * and the page's Offset as index_base, then sync_acc_finish() and
 * sync_publish().  Only checks that need more than one page (TotalCount
 * steady, no short page, no record twice) live in this file.
 */

#ifndef SYNC_PULL_H
#define SYNC_PULL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "report.h"


/* What an API error code calls for (README, "Retries"). */
typedef enum {
    SYNC_API_FATAL = 0,         /* fail at once, exit 2 */
    SYNC_API_RETRY,             /* back off and try again */
    SYNC_API_RESIGN             /* sign again with a fresh timestamp, once */
} sync_api_class_t;

sync_api_class_t sync_api_error_class(const char *code);

/* A hint for an error code people meet when setting up, or NULL. */
const char *sync_api_error_hint(const char *code);


/* The pagination of one pass. */
typedef struct {
    size_t    limit;            /* Limit of every request */
    int64_t   total;            /* the first page's TotalCount; -1 before */
    size_t    received;         /* records so far: the next Offset */
    size_t    pages;
    json_t   *seen;             /* Domain + WebsiteId of earlier pages */
} sync_pages_t;

void sync_pages_init(sync_pages_t *p, size_t limit);
void sync_pages_free(sync_pages_t *p);

/*
 * Checks the next page, given as the decoded "Response" object, against
 * the pages before it, and counts it in.  0 ok; 1 the pages do not add
 * up (TotalCount changed, a page longer than Limit, more records than
 * TotalCount, an empty or short page before the end, a Domain+WebsiteId
 * seen on an earlier page): the pass must start over; -1 the page is
 * malformed (TotalCount or DomainSet missing or of the wrong type).
 */
int sync_pages_check(sync_pages_t *p, const json_t *response, char *err,
    size_t err_len);

/* All TotalCount records arrived. */
int sync_pages_done(const sync_pages_t *p);


/*
 * SIGHUP to the pid in pidfile: a positive decimal integer (and a
 * newline), naming a process that exists (kill(pid, 0)).  *pid is set
 * once read.  SYNC_EXIT_OK, or SYNC_EXIT_IO with err.
 */
int sync_reload(const char *pidfile, long *pid, char *err, size_t err_len);


/*
 * The whole command: lock, credentials, instance id, pages, validation
 * and admission, guards, write, reload.  The resolved instance id
 * replaces "auto" in c.  Fills rep (which must stay alive for printing:
 * its strings point into c) and returns the exit code.
 */
int sync_pull(sync_pull_conf_t *c, sync_report_t *rep);

#endif /* SYNC_PULL_H */
