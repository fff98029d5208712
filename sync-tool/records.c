/*
 * beian-sync: RECORD validation and admission.
 *
 * Every rule lives in one place: field shape in field(), each value's own
 * rule in its checker below, admission in sync_record_admit(), merging in
 * sync_acc_finish().
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "icp.h"
#include "records.h"
#include "util.h"


/* An admitted record, kept until finish. */
typedef struct {
    beian_entry_t   e;                  /* strings in the arena */
    int64_t         updated_at;         /* INT64_MIN when absent */
    int32_t         updated_nsec;
    size_t          index;              /* DomainSet index, for messages */
} acc_item_t;

struct sync_acc_s {
    const char      *instance_id;
    sync_report_t   *rep;
    sync_arena_t     arena;
    acc_item_t      *items;
    size_t           nitems;
    size_t           size;
    beian_entry_t   *entries;
};


static const char *const filing_names[] = { "FILED", "PENDING", "CANCELLED" };
static const char *const access_names[] = { "ACCESSED", "PENDING",
                                            "CANCELLED" };


const char *
sync_instance_id_check(const char *id)
{
    size_t       i, n;
    const char  *rest;

    static const char  expect[] = "expected \"lhins-\" or \"ins-\" followed "
        "by 8 or more lowercase letters and digits (e.g. lhins-abcd1234)";

    if (strncmp(id, "lhins-", 6) == 0) {
        rest = id + 6;
    } else if (strncmp(id, "ins-", 4) == 0) {
        rest = id + 4;
    } else {
        return expect;
    }

    n = strlen(rest);
    if (n < 8) {
        return expect;
    }

    /* it is stored in the snapshot's meta, 63 bytes at most */
    if (strlen(id) >= sizeof(((beian_meta_t *) 0)->instance_id)) {
        return "longer than 63 bytes";
    }

    for (i = 0; i < n; i++) {
        if (!((rest[i] >= 'a' && rest[i] <= 'z')
              || (rest[i] >= '0' && rest[i] <= '9')))
        {
            return expect;
        }
    }

    return NULL;
}


/*
 * A string field: 1 present, 0 absent (optional, or null when optional),
 * -1 invalid with the reason set.  Strings with a NUL inside are refused
 * here once for all fields: C code downstream would see them cut short.
 */
static int
field(const json_t *rec, const char *key, int required, const char **s,
    size_t *len, sync_reject_t *reason, char *why, size_t why_len)
{
    json_t  *v = json_object_get(rec, key);

    if (v == NULL || (!required && json_is_null(v))) {
        if (!required) {
            return 0;
        }
        *reason = SYNC_REJ_MISSING_FIELD;
        snprintf(why, why_len, "missing \"%s\"", key);
        return -1;
    }

    if (!json_is_string(v)) {
        *reason = SYNC_REJ_WRONG_TYPE;
        snprintf(why, why_len, "\"%s\" is %s, expected a string", key,
                 sync_json_type(v));
        return -1;
    }

    *s = json_string_value(v);
    *len = json_string_length(v);

    if (memchr(*s, '\0', *len) != NULL) {
        *reason = SYNC_REJ_NUL_BYTE;
        snprintf(why, why_len, "\"%s\" contains a NUL byte", key);
        return -1;
    }

    return 1;
}


static int
status(const char *s, size_t len, const char *const *names, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            return (int) i;
        }
    }
    return -1;
}


#define FAIL(r, ...)                                                         \
    do {                                                                     \
        *reason = (r);                                                       \
        snprintf(why, why_len, __VA_ARGS__);                                 \
        return -1;                                                           \
    } while (0)


int
sync_record_validate(const json_t *rec, sync_record_t *r,
    sync_reject_t *reason, char *why, size_t why_len)
{
    int                rc, pending;
    size_t             i, len;
    json_t            *ids, *id;
    const char        *s, *msg;
    sync_domain_rc_t   drc;
    char               d[96], buf[BEIAN_SYNC_MSG_MAX / 2];

    static const sync_reject_t  domain_reasons[] = {
        [SYNC_DOMAIN_WILDCARD] = SYNC_REJ_DOMAIN_WILDCARD,
        [SYNC_DOMAIN_IDNA] = SYNC_REJ_DOMAIN_IDNA,
        [SYNC_DOMAIN_SYNTAX] = SYNC_REJ_DOMAIN_SYNTAX,
        [SYNC_DOMAIN_PUBLIC_SUFFIX] = SYNC_REJ_DOMAIN_PUBLIC_SUFFIX,
    };

    memset(r, 0, sizeof(*r));

    if (!json_is_object(rec)) {
        FAIL(SYNC_REJ_NOT_OBJECT, "record is %s, expected an object",
             sync_json_type(rec));
    }

    if (field(rec, "Domain", 1, &s, &len, reason, why, why_len) < 0) {
        return -1;
    }
    r->raw_domain = s;
    r->raw_domain_len = len;

    drc = sync_domain_normalize(s, len, r->domain, &r->domain_len, &msg,
                                buf, sizeof(buf));
    if (drc != SYNC_DOMAIN_OK) {
        FAIL(domain_reasons[drc], "Domain \"%s\": %s",
             sync_display(d, sizeof(d), s, len), msg);
    }

    if (field(rec, "FilingStatus", 1, &s, &len, reason, why, why_len) < 0) {
        return -1;
    }
    rc = status(s, len, filing_names, 3);
    if (rc < 0) {
        FAIL(SYNC_REJ_FILING_STATUS, "FilingStatus \"%s\": expected FILED, "
             "PENDING or CANCELLED", sync_display(d, sizeof(d), s, len));
    }
    r->filing = (sync_filing_t) rc;

    if (field(rec, "AccessStatus", 1, &s, &len, reason, why, why_len) < 0) {
        return -1;
    }
    rc = status(s, len, access_names, 3);
    if (rc < 0) {
        FAIL(SYNC_REJ_ACCESS_STATUS, "AccessStatus \"%s\": expected "
             "ACCESSED, PENDING or CANCELLED",
             sync_display(d, sizeof(d), s, len));
    }
    r->access = (sync_access_t) rc;

    /* a first filing still in progress has no number yet */
    pending = r->filing == SYNC_FILING_PENDING;
    rc = field(rec, "IcpNumber", !pending, &r->icp, &r->icp_len, reason, why,
               why_len);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0 || (pending && r->icp_len == 0)) {
        r->icp = "";
        r->icp_len = 0;
    } else {
        msg = sync_icp_check(r->icp, r->icp_len, buf, sizeof(buf));
        if (msg != NULL) {
            FAIL(SYNC_REJ_ICP_NUMBER, "IcpNumber \"%s\": %s",
                 sync_display(d, sizeof(d), r->icp, r->icp_len), msg);
        }
    }

    if (field(rec, "WebsiteId", 1, &r->website_id, &r->website_id_len,
              reason, why, why_len) < 0)
    {
        return -1;
    }
    /* ids are opaque tokens */
    if (r->website_id_len > BEIAN_WEBSITE_ID_MAX
        || !sync_is_token(r->website_id, r->website_id_len))
    {
        FAIL(SYNC_REJ_WEBSITE_ID, "WebsiteId \"%s\": expected 1 to %d "
             "printable ASCII characters without blanks",
             sync_display(d, sizeof(d), r->website_id, r->website_id_len),
             BEIAN_WEBSITE_ID_MAX);
    }

    ids = json_object_get(rec, "InstanceIds");
    if (ids == NULL) {
        FAIL(SYNC_REJ_MISSING_FIELD, "missing \"InstanceIds\"");
    }
    if (!json_is_array(ids)) {
        FAIL(SYNC_REJ_WRONG_TYPE, "\"InstanceIds\" is %s, expected an array "
             "of strings", sync_json_type(ids));
    }
    json_array_foreach(ids, i, id) {
        if (!json_is_string(id)) {
            FAIL(SYNC_REJ_WRONG_TYPE, "InstanceIds[%zu] is %s, expected a "
                 "string", i, sync_json_type(id));
        }
        if (memchr(json_string_value(id), '\0', json_string_length(id))) {
            FAIL(SYNC_REJ_NUL_BYTE, "InstanceIds[%zu] contains a NUL byte",
                 i);
        }
    }
    r->instance_ids = ids;

    /* optional: a record without it only loses conflicts (see finish) */
    rc = field(rec, "UpdatedAt", 0, &s, &len, reason, why, why_len);
    if (rc < 0) {
        return -1;
    }
    if (rc == 1) {
        if (sync_rfc3339_parse(s, len, &r->updated_at, &r->updated_nsec)
            != 0)
        {
            FAIL(SYNC_REJ_UPDATED_AT, "UpdatedAt \"%s\": not an RFC 3339 "
                 "date-time (e.g. 2024-05-01T08:00:00+08:00)",
                 sync_display(d, sizeof(d), s, len));
        }
        r->has_updated_at = 1;
    }

    return 0;
}


int
sync_record_admit(const sync_record_t *r, const char *instance_id)
{
    size_t   i, n = strlen(instance_id);
    json_t  *id;

    if (r->filing == SYNC_FILING_PENDING) {
        return SYNC_SKIP_FILING_PENDING;
    }
    if (r->filing == SYNC_FILING_CANCELLED) {
        return SYNC_SKIP_FILING_CANCELLED;
    }
    if (r->access == SYNC_ACCESS_PENDING) {
        return SYNC_SKIP_ACCESS_PENDING;
    }
    if (r->access == SYNC_ACCESS_CANCELLED) {
        return SYNC_SKIP_ACCESS_CANCELLED;
    }

    json_array_foreach(r->instance_ids, i, id) {
        if (json_string_length(id) == n
            && memcmp(json_string_value(id), instance_id, n) == 0)
        {
            return -1;
        }
    }

    return SYNC_SKIP_NOT_BOUND_HERE;
}


sync_acc_t *
sync_acc_new(const char *instance_id, sync_report_t *rep)
{
    sync_acc_t  *acc;

    acc = calloc(1, sizeof(*acc));
    if (acc == NULL) {
        return NULL;
    }

    acc->instance_id = instance_id;
    acc->rep = rep;
    return acc;
}


void
sync_acc_free(sync_acc_t *acc)
{
    if (acc == NULL) {
        return;
    }

    sync_arena_free(&acc->arena);
    free(acc->items);
    free(acc->entries);
    free(acc);
}


void
sync_acc_set_report(sync_acc_t *acc, sync_report_t *rep)
{
    acc->rep = rep;
}


/* The Domain of a record that failed validation, if it is a string. */
static const char *
shown_domain(const json_t *rec, size_t *len)
{
    json_t  *v = json_is_object(rec) ? json_object_get(rec, "Domain") : NULL;

    if (!json_is_string(v)) {
        return NULL;
    }
    *len = json_string_length(v);
    return json_string_value(v);
}


/* An admitted record into the accumulator: 0, or -1 out of memory. */
static int
acc_push(sync_acc_t *acc, const char *domain, size_t domain_len,
    const char *icp, size_t icp_len, const char *website_id,
    size_t website_id_len, int64_t updated_at, int32_t updated_nsec,
    size_t index)
{
    size_t       size;
    acc_item_t  *it;

    if (acc->nitems == acc->size) {
        size = acc->size ? acc->size * 2 : 1024;
        it = realloc(acc->items, size * sizeof(*it));
        if (it == NULL) {
            return -1;
        }
        acc->items = it;
        acc->size = size;
    }

    it = &acc->items[acc->nitems];
    it->e.domain = sync_arena_strndup(&acc->arena, domain, domain_len);
    it->e.domain_len = domain_len;
    it->e.icp = sync_arena_strndup(&acc->arena, icp, icp_len);
    it->e.website_id = sync_arena_strndup(&acc->arena, website_id,
                                          website_id_len);
    if (it->e.domain == NULL || it->e.icp == NULL || it->e.website_id == NULL)
    {
        return -1;
    }
    it->updated_at = updated_at;
    it->updated_nsec = updated_nsec;
    it->index = index;

    acc->nitems++;
    acc->rep->admitted++;
    return 0;
}


int
sync_acc_add(json_t *rec, const sync_pos_t *pos, void *data)
{
    int             skip;
    size_t          len = 0;
    const char     *d;
    sync_acc_t     *acc = data;
    sync_report_t  *rep = acc->rep;
    sync_record_t   r;
    sync_reject_t   reason;
    char            why[BEIAN_SYNC_MSG_MAX];

    rep->seen++;

    if (pos->defect) {
        d = shown_domain(rec, &len);
        sync_report_reject(rep, pos, d, len, SYNC_REJ_DUPLICATE_KEY,
                           pos->defect);
        return 0;
    }

    if (sync_record_validate(rec, &r, &reason, why, sizeof(why)) != 0) {
        sync_report_reject(rep, pos, r.raw_domain, r.raw_domain_len, reason,
                           why);
        return 0;
    }

    rep->valid++;

    skip = sync_record_admit(&r, acc->instance_id);
    if (skip >= 0) {
        rep->skipped[skip]++;
        rep->skipped_total++;
        return 0;
    }

    return acc_push(acc, r.domain, r.domain_len, r.icp, r.icp_len,
                    r.website_id, r.website_id_len,
                    r.has_updated_at ? r.updated_at : INT64_MIN,
                    r.updated_nsec, pos->index);
}


int
sync_acc_put(sync_acc_t *acc, const char *domain, size_t len,
    const char *icp, const char *website_id, size_t index)
{
    return acc_push(acc, domain, len, icp, strlen(icp), website_id,
                    strlen(website_id), INT64_MIN, 0, index);
}


/* Domain in the core's (LMDB's) key order. */
static int
domain_cmp(const beian_entry_t *x, const beian_entry_t *y)
{
    return beian_domain_cmp(x->domain, x->domain_len, y->domain,
                            y->domain_len);
}


/* Domain, then filing (ICP number, website), then the newest first. */
static int
item_cmp(const void *a, const void *b)
{
    int                rc;
    const acc_item_t  *x = a, *y = b;

    rc = domain_cmp(&x->e, &y->e);
    if (rc == 0) {
        rc = strcmp(x->e.icp, y->e.icp);
    }
    if (rc == 0) {
        rc = strcmp(x->e.website_id, y->e.website_id);
    }
    if (rc == 0) {
        rc = (x->updated_at < y->updated_at) - (x->updated_at > y->updated_at);
    }
    if (rc == 0) {
        rc = (x->updated_nsec < y->updated_nsec)
             - (x->updated_nsec > y->updated_nsec);
    }
    return rc;
}


static int
newer(const acc_item_t *x, const acc_item_t *y)
{
    return x->updated_at > y->updated_at
           || (x->updated_at == y->updated_at
               && x->updated_nsec > y->updated_nsec);
}


static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static const char *
when(const acc_item_t *it, char buf[32])
{
    if (it->updated_at == INT64_MIN) {
        return "no UpdatedAt";
    }
    sync_rfc3339_format(it->updated_at, buf);
    return buf;
}


static void
warn_conflict(sync_acc_t *acc, const acc_item_t *win, const acc_item_t *lose,
    size_t variants)
{
    char  t1[32], t2[32];

    sync_report_warn(acc->rep, "conflicting filings for %s: kept %s (website "
                     "%s, DomainSet[%zu], %s) over %s (website %s, "
                     "DomainSet[%zu], %s)%s", win->e.domain, win->e.icp,
                     win->e.website_id, win->index, when(win, t1),
                     lose->e.icp, lose->e.website_id, lose->index,
                     when(lose, t2),
                     variants > 2 ? " and others" : "");
}


int
sync_acc_finish(sync_acc_t *acc, beian_entry_t **entries, size_t *n)
{
    size_t           i, j, k, out, variants, nweb;
    acc_item_t      *items = acc->items, *win, *lose;
    char           **web;
    sync_report_t   *rep = acc->rep;

    *entries = NULL;
    *n = 0;

    free(acc->entries);
    acc->entries = malloc((acc->nitems ? acc->nitems : 1)
                          * sizeof(beian_entry_t));
    web = malloc((acc->nitems ? acc->nitems : 1) * sizeof(char *));
    if (acc->entries == NULL || web == NULL) {
        free(web);
        return -1;
    }

    if (acc->nitems > 0) {
        qsort(items, acc->nitems, sizeof(*items), item_cmp);
    }

    for (i = 0, out = 0; i < acc->nitems; i = j) {
        win = &items[i];
        lose = NULL;
        variants = 1;

        for (j = i + 1;
             j < acc->nitems && domain_cmp(&items[j].e, &items[i].e) == 0;
             j++)
        {
            if (strcmp(items[j].e.icp, items[j - 1].e.icp) == 0
                && strcmp(items[j].e.website_id, items[j - 1].e.website_id)
                   == 0)
            {
                rep->duplicates++;              /* an older copy */
                continue;
            }

            /* a different filing: strictly newer wins, so on a tie the
             * first in (ICP number, website) order stays */
            variants++;
            if (newer(&items[j], win)) {
                lose = win;
                win = &items[j];
            } else if (lose == NULL) {
                lose = &items[j];
            }
        }

        if (variants > 1) {
            rep->conflicts++;
            warn_conflict(acc, win, lose, variants);
        }

        acc->entries[out] = win->e;
        web[out] = win->e.website_id;
        out++;
    }

    /* the core sorts the same way and finds nothing left to merge */
    k = beian_entries_sort(acc->entries, out);
    if (k != out) {
        free(web);
        sync_report_warn(rep, "internal error: %zu entries merged by the "
                         "core", out - k);
        return -1;
    }

    qsort(web, out, sizeof(*web), str_cmp);
    for (i = 0, nweb = 0; i < out; i++) {
        if (i == 0 || strcmp(web[i], web[i - 1]) != 0) {
            nweb++;
        }
    }
    free(web);

    rep->domains = out;
    rep->websites = nweb;
    rep->merged = 1;

    if (nweb > SYNC_MAX_WEBSITES) {
        sync_report_warn(rep, "%zu websites are bound to instance %s; a "
                         "Lighthouse instance can have at most %d filed "
                         "websites: check the records", nweb,
                         acc->instance_id, SYNC_MAX_WEBSITES);
    }

    *entries = acc->entries;
    *n = out;
    return 0;
}
