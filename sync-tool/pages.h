/*
 * beian-sync: the pagination of the records contract (sync-tool/README.md,
 * "Pagination").  Only checks that need more than one page (TotalCount
 * steady, no record twice, the pages adding up) live here; each page's
 * records go through build's reader.
 */

#ifndef SYNC_PAGES_H
#define SYNC_PAGES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>


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

#endif /* SYNC_PAGES_H */
