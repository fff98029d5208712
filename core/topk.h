/*
 * The most frequent blocked hosts, in fixed memory: the space-saving
 * algorithm (Metwally, Agrawal, El Abbadi, 2005) with its stream-summary
 * structure.  Plain C on a caller-provided region (nginx puts it in shared
 * memory; the caller serializes calls), no pointers inside: indices only.
 *
 * Guarantees, for a table of N entries after T observations:
 *   - a host's count is never below its true count, and at most its
 *     error above it (count - error <= true <= count);
 *   - every host seen more than T / N times is in the table;
 *   - an observation costs O(1): a seeded hash lookup and a move to the
 *     neighbouring count bucket; nothing grows, whatever the hosts are.
 */

#ifndef BEIAN_TOPK_H
#define BEIAN_TOPK_H

#include <stddef.h>
#include <stdint.h>


#define BEIAN_TOP_HOST_MAX  253             /* longer hosts are cut */
#define BEIAN_TOP_ADDR_MAX  47              /* an IPv6 address, text */
#define BEIAN_TOP_MAX       100000          /* entries, at most */

typedef struct {
    uint64_t   count;
    uint64_t   error;
    int64_t    first_seen;                  /* unix seconds */
    int64_t    last_seen;
    uint32_t   hnext;                       /* hash chain, index + 1 */
    uint32_t   hash;                        /* of host: its chain */
    uint32_t   bucket;                      /* index + 1 */
    uint32_t   prev, next;                  /* in the bucket, index + 1 */
    uint8_t    host_len;
    uint8_t    addr_len;
    char       host[BEIAN_TOP_HOST_MAX];
    char       addr[BEIAN_TOP_ADDR_MAX];
} beian_top_entry_t;

typedef struct {
    uint64_t   count;
    uint32_t   first;                       /* entry, index + 1 */
    uint32_t   prev, next;                  /* buckets by count, index + 1 */
} beian_top_bucket_t;

typedef struct {
    uint32_t   n;                           /* capacity */
    uint32_t   used;
    uint32_t   mask;                        /* hash slots - 1 */
    uint32_t   low, high;                   /* buckets with the least and
                                               the most, index + 1 */
    uint32_t   free;                        /* free buckets, index + 1 */
    uint64_t   seed;
    uint64_t   total;                       /* observations */
} beian_top_t;

/* Bytes needed for n entries (1 <= n <= BEIAN_TOP_MAX). */
size_t beian_top_size(uint32_t n);

/* Lays out an empty table of n entries in mem (beian_top_size(n) bytes). */
beian_top_t *beian_top_init(void *mem, uint32_t n, uint64_t seed);

/* One observation of host (cut to BEIAN_TOP_HOST_MAX) from addr at now. */
void beian_top_add(beian_top_t *t, const char *host, size_t len,
    const char *addr, size_t addr_len, int64_t now);

/* The entries, most frequent first: fills idx (t->used of them). */
uint32_t beian_top_sorted(const beian_top_t *t, uint32_t *idx);

const beian_top_entry_t *beian_top_entry(const beian_top_t *t, uint32_t i);

#endif /* BEIAN_TOPK_H */
