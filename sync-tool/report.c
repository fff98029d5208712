/*
 * beian-sync: the run report.
 */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "report.h"


/* Shorter strings would mangle ordinary text, and no real secret is. */
#define SECRET_MIN   6
#define SECRETS_MAX  8

static char    *secrets[SECRETS_MAX];
static size_t   nsecrets;
/* requests in flight on several threads scrub their messages while one of
 * them may register refreshed credentials */
static pthread_mutex_t  secrets_mutex = PTHREAD_MUTEX_INITIALIZER;


const char *const sync_reject_names[SYNC_REJ_N] = {
    "not_object",
    "duplicate_key",
    "missing_field",
    "wrong_type",
    "nul_byte",
    "domain_wildcard",
    "domain_idna",
    "domain_syntax",
    "domain_public_suffix",
    "icp_number",
    "website_id",
    "filing_status",
    "access_status",
    "updated_at",
};

const char *const sync_skip_names[SYNC_SKIP_N] = {
    "filing_pending",
    "filing_cancelled",
    "access_pending",
    "access_cancelled",
    "not_bound_here",
    "not_filed",
    "not_landed",
    "banned",
};


/*
 * A JSON string from text that may not be UTF-8 (file names, messages
 * quoting them): jansson refuses such text, so bytes >= 0x80 become '?'
 * then.  NULL stays NULL ("s:o?" packs it as null).
 */
static json_t *
jstr(const char *s)
{
    size_t   i, n;
    char    *copy;
    json_t  *v;

    if (s == NULL) {
        return NULL;
    }

    v = json_string(s);
    if (v != NULL) {
        return v;
    }

    n = strlen(s);
    copy = malloc(n + 1);
    if (copy == NULL) {
        return NULL;
    }
    for (i = 0; i <= n; i++) {
        copy[i] = ((unsigned char) s[i] >= 0x80) ? '?' : s[i];
    }
    v = json_string(copy);
    free(copy);
    return v;
}


void
sync_secret_add(const char *secret)
{
    size_t  i;

    if (secret == NULL || strlen(secret) < SECRET_MIN) {
        return;
    }

    pthread_mutex_lock(&secrets_mutex);

    for (i = 0; i < nsecrets; i++) {
        if (strcmp(secrets[i], secret) == 0) {
            pthread_mutex_unlock(&secrets_mutex);
            return;
        }
    }

    /* refreshed temporary credentials: keep the newest, forget the
     * oldest (it has expired) */
    if (nsecrets == SECRETS_MAX) {
        OPENSSL_cleanse(secrets[0], strlen(secrets[0]));
        free(secrets[0]);
        memmove(secrets, secrets + 1, (SECRETS_MAX - 1) * sizeof(char *));
        nsecrets--;
    }

    secrets[nsecrets] = strdup(secret);
    if (secrets[nsecrets] != NULL) {
        nsecrets++;
    }

    pthread_mutex_unlock(&secrets_mutex);
}


void
sync_secret_scrub(char *text)
{
    char    *p;
    size_t   i, n;

    pthread_mutex_lock(&secrets_mutex);

    for (i = 0; i < nsecrets; i++) {
        n = strlen(secrets[i]);
        while ((p = strstr(text, secrets[i])) != NULL) {
            /* "***" is shorter than any secret: in place */
            memcpy(p, "***", 3);
            memmove(p + 3, p + n, strlen(p + n) + 1);
        }
    }

    pthread_mutex_unlock(&secrets_mutex);
}


void
sync_secrets_clear(void)
{
    size_t  i;

    pthread_mutex_lock(&secrets_mutex);
    for (i = 0; i < nsecrets; i++) {
        OPENSSL_cleanse(secrets[i], strlen(secrets[i]));
        free(secrets[i]);
        secrets[i] = NULL;
    }
    nsecrets = 0;
    pthread_mutex_unlock(&secrets_mutex);
}


void
sync_report_init(sync_report_t *r, const char *command, FILE *diag,
    int quiet)
{
    memset(r, 0, sizeof(*r));
    r->command = command;
    r->diag = diag;
    r->quiet = quiet;
    r->total_count = -1;
    /* NULL on allocation failure: the lists are then just not kept */
    r->warnings = json_array();
    r->rejects = json_array();
}


void
sync_report_free(sync_report_t *r)
{
    json_decref(r->warnings);
    json_decref(r->rejects);
    json_decref(r->detail);
    r->warnings = NULL;
    r->rejects = NULL;
    r->detail = NULL;
}


void
sync_report_reject(sync_report_t *r, const sync_pos_t *pos,
    const char *domain, size_t domain_len, sync_reject_t why,
    const char *detail)
{
    json_t  *o;
    size_t   n;
    char     d[96], msg[BEIAN_SYNC_MSG_MAX];

    r->rejected[why]++;
    n = r->rejected_total++;

    if (domain) {
        sync_display(d, sizeof(d), domain, domain_len);
        sync_secret_scrub(d);
    }
    sync_display(msg, sizeof(msg), detail, strlen(detail));
    sync_secret_scrub(msg);

    if (r->diag && (!r->quiet || r->strict) && n < SYNC_REPORT_PRINT_MAX) {
        fprintf(r->diag, "%s:%zu: %s[%zu]%s%s%s: %s [%s]\n", pos->source,
                pos->line, pos->array, pos->index, domain ? " (" : "",
                domain ? d : "", domain ? ")" : "", msg,
                sync_reject_names[why]);
    }

    if (r->rejects == NULL || n >= SYNC_REPORT_KEEP) {
        return;
    }

    o = json_pack("{s:o?, s:I, s:I, s:o?, s:s, s:o?}",
                  "source", jstr(pos->source),
                  "line", (json_int_t) pos->line,
                  "index", (json_int_t) pos->index,
                  "domain", jstr(domain ? d : NULL),
                  "reason", sync_reject_names[why],
                  "detail", jstr(msg));
    if (o) {
        json_array_append_new(r->rejects, o);
    }
}


void
sync_report_warn(sync_report_t *r, const char *fmt, ...)
{
    va_list  ap;
    char     msg[BEIAN_SYNC_MSG_MAX];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sync_secret_scrub(msg);

    if (r->diag && !r->quiet && r->nwarnings < SYNC_REPORT_PRINT_MAX) {
        fprintf(r->diag, "beian-sync: warning: %s\n", msg);
    }

    if (r->warnings && r->nwarnings < SYNC_REPORT_KEEP) {
        json_array_append_new(r->warnings, jstr(msg));
    }
    r->nwarnings++;
}


void
sync_report_error(sync_report_t *r, int exit_code, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
    sync_secret_scrub(r->error);

    r->exit_code = exit_code;

    if (r->diag) {
        fprintf(r->diag, "beian-sync: %s\n", r->error);
    }
}


static void
print_counts(FILE *f, const char *label, size_t total, const size_t *c,
    const char *const *names, size_t n)
{
    size_t       i;
    const char  *sep = " (";

    fprintf(f, "  %-14s %zu", label, total);
    for (i = 0; i < n; i++) {
        if (c[i]) {
            fprintf(f, "%s%s %zu", sep, names[i], c[i]);
            sep = ", ";
        }
    }
    fprintf(f, "%s\n", total ? ")" : "");
}


void
sync_report_text(const sync_report_t *r)
{
    FILE  *f = r->diag;

    if (f == NULL) {
        return;
    }

    if (r->rejected_total > SYNC_REPORT_PRINT_MAX && (!r->quiet || r->strict))
    {
        fprintf(f, "beian-sync: %zu more rejected records not shown\n",
                r->rejected_total - SYNC_REPORT_PRINT_MAX);
    }

    if (r->quiet) {
        return;
    }

    if (r->nwarnings > SYNC_REPORT_PRINT_MAX) {
        fprintf(f, "beian-sync: %zu more warnings not shown\n",
                r->nwarnings - SYNC_REPORT_PRINT_MAX);
    }

    fprintf(f, "beian-sync %s: instance %s\n", r->command,
            r->instance_id ? r->instance_id : "-");
    if (r->pull) {
        fprintf(f, "  %-14s %zu page%s, %zu request%s, %zu retr%s "
                "(credentials: %s)\n", "provider", r->pages,
                r->pages == 1 ? "" : "s", r->requests,
                r->requests == 1 ? "" : "s", r->retries,
                r->retries == 1 ? "y" : "ies",
                r->credentials ? r->credentials : "-");
    }
    fprintf(f, "  %-14s %zu", "records", r->seen);
    if (r->total_count >= 0) {
        fprintf(f, " (TotalCount %lld)", (long long) r->total_count);
    }
    fprintf(f, "\n");
    print_counts(f, "rejected", r->rejected_total, r->rejected,
                 sync_reject_names, SYNC_REJ_N);
    print_counts(f, "not admitted", r->skipped_total, r->skipped,
                 sync_skip_names, SYNC_SKIP_N);
    fprintf(f, "  %-14s %zu\n", "admitted", r->admitted);

    if (r->merged) {
        fprintf(f, "  %-14s %zu duplicates, %zu conflicts\n", "merged",
                r->duplicates, r->conflicts);
        fprintf(f, "  %-14s %zu in %zu websites\n", "domains", r->domains,
                r->websites);
    }
    fprintf(f, "  %-14s %zu\n", "warnings", r->nwarnings);

    if (r->digest[0]) {
        fprintf(f, "  %-14s %s\n", "digest", r->digest);
    }

    if (r->exit_code != 0 && !r->written) {
        fprintf(f, "  %-14s failed, nothing written\n", "snapshot");

    } else if (r->snapshot) {
        fprintf(f, "  %-14s %s: %s", "snapshot", r->snapshot,
                r->written ? "written" : "unchanged");
        if (r->have_old) {
            fprintf(f, " (+%zu -%zu, was %zu domains)", r->added, r->removed,
                    r->old_domains);
        }
        fprintf(f, "\n");
    }

    if (r->pull && r->reloaded) {
        fprintf(f, "  %-14s SIGHUP sent to pid %ld\n", "reload",
                r->reload_pid);
    }
}


static json_t *
counts(const size_t *c, const char *const *names, size_t n)
{
    size_t   i;
    json_t  *o = json_object();

    for (i = 0; o && i < n; i++) {
        json_object_set_new(o, names[i], json_integer((json_int_t) c[i]));
    }
    return o;
}


int
sync_report_json(const sync_report_t *r, FILE *out)
{
    int      rc;
    json_t  *o, *more, *prev = NULL;

    if (r->have_old) {
        prev = json_pack("{s:I, s:I, s:I}",
                         "domains", (json_int_t) r->old_domains,
                         "added", (json_int_t) r->added,
                         "removed", (json_int_t) r->removed);
    }

    o = json_pack("{s:s, s:b, s:i, s:o?,"
                  " s:o?, s:o?, s:o?, s:o?,"
                  " s:o?, s:o?,"
                  " s:I, s:I, s:I,"
                  " s:I, s:o?, s:I, s:o?,"
                  " s:I, s:I, s:I, s:I,"
                  " s:o?, s:b, s:b, s:o?,"
                  " s:I, s:O?, s:O?}",
                  "command", r->command,
                  "ok", r->exit_code == 0,
                  "exit_code", r->exit_code,
                  "error", jstr(r->error[0] ? r->error : NULL),
                  "instance_id", jstr(r->instance_id),
                  "records_file", jstr(r->records),
                  "snapshot", jstr(r->snapshot),
                  "source", jstr(r->source),
                  "total_count", r->total_count >= 0
                      ? json_integer(r->total_count) : NULL,
                  "request_id", jstr(r->request_id[0] ? r->request_id
                                                        : NULL),
                  "records_seen", (json_int_t) r->seen,
                  "records_valid", (json_int_t) r->valid,
                  "records_admitted", (json_int_t) r->admitted,
                  "rejected_total", (json_int_t) r->rejected_total,
                  "rejected", counts(r->rejected, sync_reject_names,
                                     SYNC_REJ_N),
                  "not_admitted_total", (json_int_t) r->skipped_total,
                  "not_admitted", counts(r->skipped, sync_skip_names,
                                         SYNC_SKIP_N),
                  "duplicates", (json_int_t) r->duplicates,
                  "conflicts", (json_int_t) r->conflicts,
                  "domains", (json_int_t) r->domains,
                  "websites", (json_int_t) r->websites,
                  "digest", jstr(r->digest[0] ? r->digest : NULL),
                  "changed", r->changed,
                  "written", r->written,
                  "previous", prev,
                  "warnings_total", (json_int_t) r->nwarnings,
                  "warnings", r->warnings,
                  "rejects", r->rejects);
    if (o == NULL) {
        return -1;
    }

    if (r->detail != NULL
        && json_object_set(o, "source_detail", r->detail) != 0)
    {
        json_decref(o);
        return -1;
    }

    if (r->pull) {
        more = json_pack("{s:I, s:I, s:I, s:I, s:I, s:b, s:o, s:o?}",
                         "pages", (json_int_t) r->pages,
                         "requests", (json_int_t) r->requests,
                         "retries", (json_int_t) r->retries,
                         "added", (json_int_t) r->added,
                         "removed", (json_int_t) r->removed,
                         "reloaded", r->reloaded,
                         "reload_pid", r->reload_pid > 0
                             ? json_integer(r->reload_pid) : json_null(),
                         "credentials", jstr(r->credentials));
        if (more == NULL || json_object_update(o, more) != 0) {
            json_decref(more);
            json_decref(o);
            return -1;
        }
        json_decref(more);
    }

    rc = json_dumpf(o, out, JSON_INDENT(2));
    json_decref(o);
    if (rc != 0 || fputc('\n', out) == EOF) {
        return -1;
    }
    return 0;
}
