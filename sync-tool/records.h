/*
 * beian-sync: RECORD validation and admission (sync-tool/README.md, "Record
 * rules", "Admission and merging").
 *
 * The accumulator is what a sync builds: sync_acc_add() is the callback
 * sync_doc_parse() calls per record, so `build` feeds it one file and
 * `pull` feeds it page after page; sync_acc_finish() then resolves
 * duplicates and conflicts into the snapshot's sorted, unique entries.
 */

#ifndef SYNC_RECORDS_H
#define SYNC_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "beian_write.h"
#include "doc.h"
#include "report.h"


/* At most this many filed websites may be bound to one Lighthouse
 * instance: more is a warning, the data is still taken as given. */
#define SYNC_MAX_WEBSITES  5

typedef enum {
    SYNC_FILING_FILED = 0,
    SYNC_FILING_PENDING,
    SYNC_FILING_CANCELLED
} sync_filing_t;

typedef enum {
    SYNC_ACCESS_ACCESSED = 0,
    SYNC_ACCESS_PENDING,
    SYNC_ACCESS_CANCELLED
} sync_access_t;

/* A valid RECORD.  The pointers borrow from the JSON value. */
typedef struct {
    const char     *raw_domain;         /* Domain as given, for messages */
    size_t          raw_domain_len;
    char            domain[BEIAN_DOMAIN_MAX + 1];   /* normalized */
    size_t          domain_len;
    const char     *icp;                /* "" for a PENDING filing */
    size_t          icp_len;
    const char     *website_id;
    size_t          website_id_len;
    sync_filing_t   filing;
    sync_access_t   access;
    const json_t   *instance_ids;       /* array of strings */
    int             has_updated_at;     /* UpdatedAt is optional */
    int64_t         updated_at;         /* unix seconds */
    int32_t         updated_nsec;
} sync_record_t;

/*
 * Validates one RECORD: 0, or -1 with the reason and a message naming the
 * field in why.  raw_domain is set as soon as Domain is known to be a
 * string, so a message about a later field can show it.
 */
int sync_record_validate(const json_t *rec, sync_record_t *r,
    sync_reject_t *reason, char *why, size_t why_len);

/* -1 if a valid record allows its domain on this instance, else why not
 * (a sync_skip_t). */
int sync_record_admit(const sync_record_t *r, const char *instance_id);

/* NULL if id looks like a Tencent Cloud instance id, else why not. */
const char *sync_instance_id_check(const char *id);


typedef struct sync_acc_s  sync_acc_t;

/* Counts and messages go to rep, which must outlive the accumulator. */
sync_acc_t *sync_acc_new(const char *instance_id, sync_report_t *rep);

/* The sync_record_pt of sync_doc_parse(); non-zero only when out of
 * memory. */
int sync_acc_add(json_t *rec, const sync_pos_t *pos, void *acc);

/*
 * A record a source has admitted itself (the tencent source decides from
 * the provider's flags, not from a RECORD): counted as admitted (seen
 * and valid are the source's to count), merged like any other.  0, or -1
 * when out of memory.
 */
int sync_acc_put(sync_acc_t *acc, const char *domain, size_t len,
    const char *icp, const char *website_id, size_t index);

/*
 * Resolves the admitted records into entries for beian_snap_write():
 * sorted by domain, one per domain.  The same domain with the same ICP
 * number and website is a duplicate; with different ones the record with
 * the latest UpdatedAt wins (a missing UpdatedAt is older than any; ties
 * go to the smallest ICP number, then website id) and a warning names the
 * conflict.  Also warns when more than SYNC_MAX_WEBSITES websites remain.
 * The entries point into the accumulator and are freed with it.  0, or
 * -1 when out of memory.
 */
int sync_acc_finish(sync_acc_t *acc, beian_entry_t **entries, size_t *n);

/* Counts and messages go to rep from now on (a pass's records adopted
 * into the run's report). */
void sync_acc_set_report(sync_acc_t *acc, sync_report_t *rep);

void sync_acc_free(sync_acc_t *acc);

#endif /* SYNC_RECORDS_H */
