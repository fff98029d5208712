/*
 * beian-sync: the pagination checks of the records contract.
 */

#include <stdio.h>
#include <string.h>

#include "doc.h"
#include "pages.h"
#include "util.h"


/* ---- pagination checks -------------------------------------------- */

void
sync_pages_init(sync_pages_t *p, size_t limit)
{
    memset(p, 0, sizeof(*p));
    p->limit = limit;
    p->total = -1;
    p->seen = json_object();
}


void
sync_pages_free(sync_pages_t *p)
{
    json_decref(p->seen);
    p->seen = NULL;
}


int
sync_pages_done(const sync_pages_t *p)
{
    return p->total >= 0 && p->received >= (size_t) p->total;
}


/* "Domain\x1fWebsiteId" of a record, when both are strings. */
static int
record_key(const json_t *rec, char *buf, size_t size, size_t *len)
{
    size_t   dn, wn;
    json_t  *d, *w;

    d = json_object_get(rec, "Domain");
    w = json_object_get(rec, "WebsiteId");
    if (!json_is_string(d) || !json_is_string(w)) {
        return -1;
    }

    dn = json_string_length(d);
    wn = json_string_length(w);
    if (dn + wn + 2 > size) {
        return -1;                  /* invalid anyway: the validator says */
    }

    memcpy(buf, json_string_value(d), dn);
    buf[dn] = '\x1f';
    memcpy(buf + dn + 1, json_string_value(w), wn);
    *len = dn + 1 + wn;
    buf[*len] = '\0';
    return 0;
}


int
sync_pages_check(sync_pages_t *p, const json_t *response, char *err,
    size_t err_len)
{
    size_t    i, n, off = p->received, klen;
    int64_t   tc;
    json_t   *v, *set, *rec;
    char      key[1024], d[96], w[96];

    v = json_object_get(response, "TotalCount");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, err_len, "page at Offset %zu: \"TotalCount\" is %s, "
                 "expected a non-negative integer", off,
                 v ? (json_is_integer(v) ? "negative" : sync_json_type(v))
                   : "missing");
        return -1;
    }
    tc = json_integer_value(v);

    set = json_object_get(response, "DomainSet");
    if (!json_is_array(set)) {
        snprintf(err, err_len, "page at Offset %zu: \"DomainSet\" is %s, "
                 "expected an array", off,
                 set ? sync_json_type(set) : "missing");
        return -1;
    }
    n = json_array_size(set);

    if (p->total < 0) {
        p->total = tc;

    } else if (tc != p->total) {
        snprintf(err, err_len, "TotalCount changed from %lld to %lld at "
                 "Offset %zu", (long long) p->total, (long long) tc, off);
        return 1;
    }

    if (n > p->limit) {
        snprintf(err, err_len, "the page at Offset %zu holds %zu records, "
                 "more than Limit %zu", off, n, p->limit);
        return 1;
    }
    if (off + n > (size_t) p->total) {
        snprintf(err, err_len, "the page at Offset %zu brings %zu records, "
                 "more than TotalCount %lld", off, off + n,
                 (long long) p->total);
        return 1;
    }
    if (n == 0 && off < (size_t) p->total) {
        snprintf(err, err_len, "the page at Offset %zu is empty, %lld "
                 "records short of TotalCount %lld", off,
                 (long long) p->total - (long long) off,
                 (long long) p->total);
        return 1;
    }
    /* a page shorter than Limit before the end is normal (providers cap
     * their page size): the next Offset is what arrived */

    /* a record inserted or removed while paging shifts the rest: the same
     * record shows up again on the next page, or one is skipped */
    json_array_foreach(set, i, rec) {
        if (record_key(rec, key, sizeof(key), &klen) != 0) {
            continue;
        }
        if (p->seen && json_object_getn(p->seen, key, klen) != NULL) {
            *strchr(key, '\x1f') = '\0';
            snprintf(err, err_len, "DomainSet[%zu] (%s, website %s) was "
                     "already on an earlier page", off + i,
                     sync_display(d, sizeof(d), key, strlen(key)),
                     sync_display(w, sizeof(w), key + strlen(key) + 1,
                                  klen - strlen(key) - 1));
            return 1;
        }
    }

    json_array_foreach(set, i, rec) {
        if (p->seen && record_key(rec, key, sizeof(key), &klen) == 0) {
            (void) json_object_setn_new(p->seen, key, klen, json_true());
        }
    }

    p->received += n;
    p->pages++;
    return 0;
}


