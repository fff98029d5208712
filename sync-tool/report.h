/*
 * beian-sync: what a run saw and did, as text for people (stderr) and as
 * JSON for scripts (stdout, --json).
 */

#ifndef SYNC_REPORT_H
#define SYNC_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "doc.h"
#include "util.h"


/* Exit codes (sync-tool/README.md, a contract). */
#define SYNC_EXIT_OK        0
#define SYNC_EXIT_USAGE     1
#define SYNC_EXIT_PROVIDER  2       /* provider or network failure */
#define SYNC_EXIT_REFUSED   3       /* validation or a safety guard */
#define SYNC_EXIT_IO        4       /* local I/O */

/* Why a record is invalid: it is rejected (--strict refuses the run). */
typedef enum {
    SYNC_REJ_NOT_OBJECT = 0,
    SYNC_REJ_DUPLICATE_KEY,
    SYNC_REJ_MISSING_FIELD,
    SYNC_REJ_WRONG_TYPE,
    SYNC_REJ_NUL_BYTE,
    SYNC_REJ_DOMAIN_WILDCARD,
    SYNC_REJ_DOMAIN_IDNA,
    SYNC_REJ_DOMAIN_SYNTAX,
    SYNC_REJ_DOMAIN_PUBLIC_SUFFIX,
    SYNC_REJ_ICP_NUMBER,
    SYNC_REJ_WEBSITE_ID,
    SYNC_REJ_FILING_STATUS,
    SYNC_REJ_ACCESS_STATUS,
    SYNC_REJ_UPDATED_AT,
    SYNC_REJ_N
} sync_reject_t;

/* Why a valid record does not allow its domain here (sync-tool/README.md). */
typedef enum {
    SYNC_SKIP_FILING_PENDING = 0,
    SYNC_SKIP_FILING_CANCELLED,
    SYNC_SKIP_ACCESS_PENDING,
    SYNC_SKIP_ACCESS_CANCELLED,
    SYNC_SKIP_NOT_BOUND_HERE,
    /* the tencent source: DescribeDomainIcpStatus says */
    SYNC_SKIP_NOT_FILED,                /* GovStatus false */
    SYNC_SKIP_NOT_LANDED,               /* LandedStatus false */
    SYNC_SKIP_BANNED,                   /* Ban true */
    SYNC_SKIP_N
} sync_skip_t;

/* Stable identifiers: the keys of the JSON report. */
extern const char *const sync_reject_names[SYNC_REJ_N];
extern const char *const sync_skip_names[SYNC_SKIP_N];

/* Messages kept for the JSON report; the counts are always complete. */
#define SYNC_REPORT_KEEP       100
/* Reject lines printed to stderr before the rest are only counted. */
#define SYNC_REPORT_PRINT_MAX  1000

typedef struct {
    const char   *command;
    const char   *instance_id;
    const char   *records;          /* --records */
    const char   *snapshot;         /* --out */
    const char   *source;

    /* input */
    size_t        seen;             /* records read */
    size_t        valid;
    size_t        admitted;         /* valid records that allow a domain */
    size_t        rejected_total;
    size_t        rejected[SYNC_REJ_N];
    size_t        skipped_total;
    size_t        skipped[SYNC_SKIP_N];
    size_t        duplicates;       /* admitted records equal to another */
    size_t        conflicts;        /* domains admitted with different
                                       filings: the newest one kept */
    int64_t       total_count;      /* TotalCount, -1 when absent */
    char          request_id[128];

    /* result */
    size_t        domains;
    size_t        websites;         /* distinct WebsiteIds kept */
    char          digest[72];
    int           have_old;         /* an old snapshot was compared */
    size_t        old_domains;
    size_t        added;
    size_t        removed;
    int           changed;
    int           written;

    /* pull only (the JSON report has these keys when pull is set) */
    int           pull;
    size_t        pages;
    size_t        requests;         /* provider API requests sent */
    size_t        retries;          /* requests retried + passes restarted */
    const char   *credentials;      /* where they came from, never values */
    int           reloaded;
    long          reload_pid;       /* 0: none read */
    json_t       *detail;           /* the source's own part of the JSON
                                       report, under key "source_detail";
                                       owned, may be NULL */

    /* diagnostics */
    size_t        nwarnings;        /* all of them; the first KEEP kept */
    json_t       *warnings;         /* array of strings */
    json_t       *rejects;          /* array of objects */
    char          error[BEIAN_SYNC_MSG_MAX];
    int           exit_code;

    FILE         *diag;             /* NULL: nothing printed */
    int           quiet;            /* errors only */
    int           strict;           /* rejects are errors: printed */
    int           merged;           /* the result fields are set */
} sync_report_t;

void sync_report_init(sync_report_t *r, const char *command, FILE *diag,
    int quiet);
void sync_report_free(sync_report_t *r);

/* A rejected record: counted, printed as FILE:LINE: DomainSet[i] (domain):
 * reason, kept for the JSON report.  domain may be NULL. */
void sync_report_reject(sync_report_t *r, const sync_pos_t *pos,
    const char *domain, size_t domain_len, sync_reject_t why,
    const char *detail);

/* A warning: counted, printed (unless quiet), kept. */
void sync_report_warn(sync_report_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The run failed: printed always, kept for the JSON report. */
void sync_report_error(sync_report_t *r, int exit_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Secrets (key, token, id) that must never be printed: every message
 * that goes through the report (errors, warnings, rejects) has each
 * registered secret replaced by "***" before it is printed or kept.
 * The registry is process-wide; clear wipes the copies.
 */
void sync_secret_add(const char *secret);
void sync_secret_scrub(char *text);
void sync_secrets_clear(void);

/* The summary for people; nothing when quiet. */
void sync_report_text(const sync_report_t *r);

/* The machine-readable report, one JSON object and a newline. */
int sync_report_json(const sync_report_t *r, FILE *out);

#endif /* SYNC_REPORT_H */
