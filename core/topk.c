/*
 * Space-saving heavy hitters (topk.h).  The region holds, after the
 * header, n entries, n + 1 count buckets (an increment may need a new
 * bucket before it frees the old one) and a power-of-two hash table of
 * entry indices.  Buckets form a list in ascending count order; each holds
 * the entries with exactly its count.  Every link is an index + 1, 0 for
 * none, so the region may sit at any address in any process.
 */

#include <string.h>

#include "bytes.h"
#include "topk.h"


#define E(t, i)     (&((beian_top_entry_t *) ((t) + 1))[(i) - 1])
#define B(t, i)     (&buckets(t)[(i) - 1])


static beian_top_bucket_t *
buckets(const beian_top_t *t)
{
    return (beian_top_bucket_t *) ((beian_top_entry_t *) (t + 1) + t->n);
}


static uint32_t *
slots(const beian_top_t *t)
{
    return (uint32_t *) (buckets(t) + t->n + 1);
}


static uint32_t
slot_count(uint32_t n)
{
    uint32_t  s;

    /* at least twice the entries: chains stay short */
    for (s = 4; s < 2 * n; s <<= 1) { /* void */ }

    return s;
}


size_t
beian_top_size(uint32_t n)
{
    return sizeof(beian_top_t) + (size_t) n * sizeof(beian_top_entry_t)
           + ((size_t) n + 1) * sizeof(beian_top_bucket_t)
           + (size_t) slot_count(n) * sizeof(uint32_t);
}


beian_top_t *
beian_top_init(void *mem, uint32_t n, uint64_t seed)
{
    uint32_t      i;
    beian_top_t  *t = mem;

    memset(mem, 0, beian_top_size(n));

    t->n = n;
    t->mask = slot_count(n) - 1;
    t->seed = seed;

    /* every bucket free, chained through next */
    for (i = 1; i <= n + 1; i++) {
        B(t, i)->next = (i <= n) ? i + 1 : 0;
    }
    t->free = 1;

    return t;
}


static uint32_t
bucket_new(beian_top_t *t, uint64_t count, uint32_t prev, uint32_t next)
{
    uint32_t             b;
    beian_top_bucket_t  *bk;

    b = t->free;                    /* never 0: see the region's layout */
    bk = B(t, b);
    t->free = bk->next;

    bk->count = count;
    bk->first = 0;
    bk->prev = prev;
    bk->next = next;

    if (prev) {
        B(t, prev)->next = b;
    } else {
        t->low = b;
    }

    if (next) {
        B(t, next)->prev = b;
    } else {
        t->high = b;
    }

    return b;
}


static void
bucket_attach(beian_top_t *t, uint32_t b, uint32_t e)
{
    beian_top_entry_t   *en = E(t, e);
    beian_top_bucket_t  *bk = B(t, b);

    en->bucket = b;
    en->prev = 0;
    en->next = bk->first;

    if (bk->first) {
        E(t, bk->first)->prev = e;
    }
    bk->first = e;

    en->count = bk->count;
}


/* Takes e out of its bucket; frees the bucket if that emptied it. */
static void
bucket_detach(beian_top_t *t, uint32_t e)
{
    uint32_t             b;
    beian_top_entry_t   *en = E(t, e);
    beian_top_bucket_t  *bk;

    b = en->bucket;
    bk = B(t, b);

    if (en->prev) {
        E(t, en->prev)->next = en->next;
    } else {
        bk->first = en->next;
    }

    if (en->next) {
        E(t, en->next)->prev = en->prev;
    }

    en->bucket = 0;

    if (bk->first) {
        return;
    }

    if (bk->prev) {
        B(t, bk->prev)->next = bk->next;
    } else {
        t->low = bk->next;
    }

    if (bk->next) {
        B(t, bk->next)->prev = bk->prev;
    } else {
        t->high = bk->prev;
    }

    bk->next = t->free;
    t->free = b;
}


/* count + 1: into the next bucket if it has that count, else a new one. */
static void
increment(beian_top_t *t, uint32_t e)
{
    uint32_t   b, next, to;
    uint64_t   c;

    b = E(t, e)->bucket;
    c = B(t, b)->count + 1;
    next = B(t, b)->next;

    to = (next && B(t, next)->count == c) ? next : bucket_new(t, c, b, next);

    bucket_detach(t, e);
    bucket_attach(t, to, e);
}


/*
 * The chain a host hashes to.  Seeded per table, so that names chosen to
 * collide must know the seed; a few multiplies, for this runs for every
 * blocked request.  Kept in the entry: an eviction finds the old host's
 * chain without hashing it again.
 */
static uint32_t
host_hash(const beian_top_t *t, const char *host, size_t len)
{
    uint64_t              h, w;
    const unsigned char  *p = (const unsigned char *) host;

    h = t->seed ^ len;

    for ( ; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }

    h = (h ^ beian_load_tail(p, len)) * 0xbf58476d1ce4e5b9ULL;

    return (uint32_t) (h >> 32);
}


void
beian_top_add(beian_top_t *t, const char *host, size_t len,
    const char *addr, size_t addr_len, int64_t now)
{
    uint32_t            e, hash, *link, *old;
    beian_top_entry_t  *en;

    if (len > BEIAN_TOP_HOST_MAX) {
        len = BEIAN_TOP_HOST_MAX;
    }

    if (addr_len > BEIAN_TOP_ADDR_MAX) {
        addr_len = BEIAN_TOP_ADDR_MAX;
    }

    t->total++;

    hash = host_hash(t, host, len);
    link = &slots(t)[hash & t->mask];

    for (e = *link; e; e = E(t, e)->hnext) {
        en = E(t, e);
        if (en->hash == hash && en->host_len == len
            && memcmp(en->host, host, len) == 0)
        {
            break;
        }
    }

    if (e == 0) {
        if (t->used < t->n) {
            e = ++t->used;
            en = E(t, e);
            en->error = 0;

            /* count 1: the lowest bucket, or a new one below it */
            if (t->low && B(t, t->low)->count == 1) {
                bucket_attach(t, t->low, e);
            } else {
                bucket_attach(t, bucket_new(t, 1, 0, t->low), e);
            }

        } else {
            /* the table is full: the host replaces one with the least
             * count, inheriting it as its possible overestimate */
            e = B(t, t->low)->first;
            en = E(t, e);

            old = &slots(t)[en->hash & t->mask];
            while (*old != e) {
                old = &E(t, *old)->hnext;
            }
            *old = en->hnext;

            en->error = en->count;
            increment(t, e);
        }

        memcpy(en->host, host, len);
        en->host_len = (uint8_t) len;
        en->hash = hash;
        en->first_seen = now;
        en->hnext = *link;
        *link = e;

    } else {
        increment(t, e);
    }

    memcpy(en->addr, addr, addr_len);
    en->addr_len = (uint8_t) addr_len;
    en->last_seen = now;
}


uint32_t
beian_top_sorted(const beian_top_t *t, uint32_t *idx)
{
    uint32_t  b, e, n;

    n = 0;

    for (b = t->high; b; b = B(t, b)->prev) {
        for (e = B(t, b)->first; e; e = E(t, e)->next) {
            idx[n++] = e - 1;
        }
    }

    return n;
}


const beian_top_entry_t *
beian_top_entry(const beian_top_t *t, uint32_t i)
{
    return E(t, i + 1);
}
