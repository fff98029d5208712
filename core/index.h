/*
 * The snapshot's hash index and the v1 record: their layout, in one place.
 *
 * Included by the writer (core/snapshot_write.c), the reader
 * (core/snapshot.c) and the tests and fuzz tools that build or damage
 * index values; not by the nginx modules (core/beian.h is theirs).  The
 * format is specified in docs/snapshot-format.md.
 *
 * The index is the value of key BEIAN_INDEX_KEY in the optional "index"
 * database, written with the domains in the same transaction.  LMDB keeps a
 * large value in contiguous overflow pages, so the table is one read-only
 * piece of the mapping.  Native byte order, like LMDB itself:
 *
 *   header   BEIAN_INDEX_HDR (48) bytes, beian_index_hdr_t: u64 magic
 *            BEIAN_INDEX_MAGIC, u64 seed, u64 count (= meta record_count),
 *            u32 filter words (BEIAN_INDEX_WORDS(count)), u32 home buckets,
 *            u32 buckets, u32 key bytes, u32 record bytes, u32 0.  48, so
 *            that after LMDB's 16-byte page header the rest starts on a
 *            cache line
 *   filter   u64 words, a whole number of lines: a Bloom filter of one word
 *            per key, BEIAN_INDEX_FILTER_BITS bits of it (a pattern,
 *            beian_index_pattern())
 *   buckets  BEIAN_INDEX_LINE bytes each, beian_index_bucket_t: 4 slots of
 *            u32 check (the low half of the key's hash), u32 key offset,
 *            u32 record offset, u8 key length (0: an empty slot), and the
 *            spill: how many buckets after this one hold keys whose home
 *            it is (0 .. BEIAN_INDEX_SPILL_MAX)
 *   keys     BEIAN_INDEX_KEYS_PAD zero bytes, then every domain's bytes
 *   records  a 0 byte (offset 0 is no record's), then v1 records
 *
 * A v1 record (also every value of the "domains" database): BEIAN_REC_V1,
 * u8 icp length, icp, u8 website id length, website id.
 *
 * The hash (beian_index_hash()) is chained over 8-byte words from the
 * key's end, so the suffixes of a host share their words: one pass over a
 * host gives every candidate's hash (beian_snap_get_suffix()).
 *
 * Why this shape: per request the gate needs a verdict, not the record, and
 * what it costs is instructions and cache misses.  A miss reads one filter
 * word (12 bits per domain: 1.5 MiB at a million, small enough to stay in
 * cache), one load and one compare, and ends there 99 times in 100; a
 * hit reads that word, its home bucket (4 checks compared at once) and the
 * key's bytes; the record only when asked for.  The header is checked at
 * open (O(1)); every offset is checked on lookup, so a damaged table can
 * make a lookup fail (-1) or miss (0) but never read outside its value.
 *
 * WHAT MUST CHANGE TOGETHER.  The hash (beian_index_hash(), its steps and
 * constants, the word order), the filter word and bits
 * (beian_index_word(), beian_index_pattern(), beian_index_mask_of(),
 * BEIAN_INDEX_WORDS()), the home
 * bucket and check (beian_index_home(), beian_index_check()), the bucket
 * size and layout, the keys' padding, the header and the record layout are
 * one format: a file written with one and read with another gives wrong
 * answers, not errors.  Any change to any of them needs a new index
 * version: a new BEIAN_INDEX_KEY and BEIAN_INDEX_MAGIC, written by the new
 * writer.  Readers look up only the key they know, so a module that meets
 * a version it does not know finds no index and answers from the "domains"
 * tree (as for a snapshot without one); the _Static_assert()s below hold
 * the size relations that must stay true within a version.
 */

#ifndef BEIAN_INDEX_H
#define BEIAN_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "beian.h"
#include "bytes.h"

#if defined __GNUC__
#pragma GCC visibility push(hidden)
#endif


#define BEIAN_INDEX_KEY         "hash-v3"
#define BEIAN_INDEX_MAGIC       0x3378696e61696562ULL   /* "beianix3" */

/* Bytes in the header and in a bucket (a cache line). */
#define BEIAN_INDEX_HDR         48
#define BEIAN_INDEX_LINE        64

/* The filter: about 12 bits per domain in u64 words, a whole number of
 * lines; 4 bits of a word per key, one of BEIAN_INDEX_MASKS patterns
 * (beian_index_pattern()): about 1% false hits. */
#define BEIAN_INDEX_KEY_BITS    12
#define BEIAN_INDEX_WORDS(count)                                            \
    (8 * ((count) * BEIAN_INDEX_KEY_BITS / (BEIAN_INDEX_LINE * 8) + 1))
#define BEIAN_INDEX_FILTER_BITS 4
#define BEIAN_INDEX_MASKS       1024

/* Buckets: 4 slots; homes for 3 keys each (3/4 full). */
#define BEIAN_INDEX_SLOTS       4
#define BEIAN_INDEX_HOMES(count)  ((count) / 3 + 1)
#define BEIAN_INDEX_SPILL_MAX   255

/* Zero bytes before the first key: 8 bytes end at or after the start of
 * the key area, so a key's last 8 bytes are always readable. */
#define BEIAN_INDEX_KEYS_PAD    8

/* The hash's multipliers: per 8 bytes of a label, and the finish. */
#define BEIAN_INDEX_MUL         0x9e3779b97f4a7c15ULL
#define BEIAN_INDEX_FIN         0xbf58476d1ce4e5b9ULL

/* Records. */
#define BEIAN_REC_V1            1
#define BEIAN_REC_MIN           3       /* version, two lengths */


/* The index value's first BEIAN_INDEX_HDR bytes. */
typedef struct {
    uint64_t  magic;
    uint64_t  seed;
    uint64_t  count;                    /* = meta record_count */
    uint32_t  words;                    /* BEIAN_INDEX_WORDS(count) */
    uint32_t  homes;                    /* BEIAN_INDEX_HOMES(count) */
    uint32_t  buckets;                  /* homes .. homes + spill max */
    uint32_t  keys_len;
    uint32_t  recs_len;
    uint32_t  zero;
} beian_index_hdr_t;

/* A bucket, one line. */
typedef struct {
    uint32_t  check[BEIAN_INDEX_SLOTS];     /* beian_index_check() */
    uint32_t  koff[BEIAN_INDEX_SLOTS];      /* in the key area */
    uint32_t  roff[BEIAN_INDEX_SLOTS];      /* in the record area */
    uint8_t   len[BEIAN_INDEX_SLOTS];       /* the key's; 0: empty */
    uint8_t   spill;                        /* as a home bucket */
    uint8_t   zero[11];
} beian_index_bucket_t;


_Static_assert(sizeof(beian_index_hdr_t) == BEIAN_INDEX_HDR,
               "the header struct is the header");
_Static_assert(sizeof(beian_index_bucket_t) == BEIAN_INDEX_LINE,
               "a bucket is a line");
_Static_assert((16 + BEIAN_INDEX_HDR) % BEIAN_INDEX_LINE == 0,
               "after LMDB's page header, the filter starts on a line");
_Static_assert(BEIAN_INDEX_WORDS(0) * 8 % BEIAN_INDEX_LINE == 0,
               "the buckets start on a line");
_Static_assert(BEIAN_INDEX_MASKS == 1 << 10,
               "beian_index_mask_of() takes the top 10 bits");
_Static_assert(BEIAN_DOMAIN_MAX <= UINT8_MAX,
               "a key length is one byte");
_Static_assert(BEIAN_INDEX_SPILL_MAX <= UINT8_MAX,
               "the spill count is one byte");
_Static_assert(BEIAN_ICP_MAX <= UINT8_MAX && BEIAN_WEBSITE_ID_MAX <= UINT8_MAX,
               "record field lengths are one byte each");


/*
 * The hash, in steps, over 8-byte words aligned to the key's end: the
 * state starts as the seed; each whole word of the key, from the last 8
 * bytes leftwards, is folded in by a multiply and a rotation
 * (beian_index_chunk()); then the 1 to 7 bytes left at the key's start, if
 * any, as one more word (byte i in bits 8i.., zero-extended); the hash is
 * beian_index_fin() of the state and the length.  Every suffix of a name
 * shares the words of the shorter ones, so one pass from the right gives
 * every candidate's hash (beian_snap_get_suffix()), each a partial word and
 * a finish away from the last.
 */
static inline uint64_t
beian_index_chunk(uint64_t s, uint64_t w)
{
    s = (s ^ w) * BEIAN_INDEX_MUL;
    return s << 32 | s >> 32;
}

static inline uint64_t
beian_index_fin(uint64_t s)
{
    s ^= s >> 32;
    s *= BEIAN_INDEX_FIN;
    return s ^ (s >> 29);
}

/* The hash of a whole key of any bytes (the writer, exact lookups, and
 * beian_key_hash() for the core's others). */
static inline __attribute__((always_inline)) uint64_t
beian_index_hash(uint64_t seed, const char *key, size_t len)
{
    size_t                n;
    uint64_t              s, w;
    const unsigned char  *p = (const unsigned char *) key;

    s = seed;

    for (n = len; n >= 8; n -= 8) {
        memcpy(&w, p + n - 8, 8);
        s = beian_index_chunk(s, w);
    }

    if (n != 0) {
        s = beian_index_chunk(s, beian_load_tail(p, n));
    }

    return beian_index_fin(s ^ len);
}

/* The same, out of line (core/snapshot.c). */
uint64_t beian_key_hash(uint64_t seed, const char *key, size_t len);


/* x scaled onto [0, n): the high half of a 32 x 32 bit product. */
static inline uint32_t
beian_index_range(uint32_t x, uint32_t n)
{
    return (uint32_t) (((uint64_t) x * n) >> 32);
}

/* A key's filter word and check (low hash bits), home bucket (high). */
#define beian_index_word(h, words)                                          \
    beian_index_range((uint32_t) (h), words)
#define beian_index_check(h)    ((uint32_t) (h))
#define beian_index_home(h, homes)                                          \
    beian_index_range((uint32_t) ((h) >> 32), homes)

/*
 * Filter pattern i (0 .. BEIAN_INDEX_MASKS - 1): the bits of a word a key
 * sets and a lookup tests, 4 of 64 (two may coincide), from the top 24
 * bits of a hash of i.  A key's pattern: beian_index_mask_of() (the top
 * 10 bits of its hash).  Readers keep the patterns in a table.
 */
static inline uint64_t
beian_index_pattern(uint32_t i)
{
    uint64_t  x;

    x = beian_index_fin((i + 1) * BEIAN_INDEX_MUL);

    return (uint64_t) 1 << (x >> 58) | (uint64_t) 1 << ((x >> 52) & 63)
           | (uint64_t) 1 << ((x >> 46) & 63)
           | (uint64_t) 1 << ((x >> 40) & 63);
}

#define beian_index_mask_of(h)  ((uint32_t) ((h) >> 54))

/* Bytes of the whole index value with these header fields. */
static inline uint64_t
beian_index_size(uint64_t words, uint64_t buckets, uint64_t keys_len,
    uint64_t recs_len)
{
    return BEIAN_INDEX_HDR + words * 8 + buckets * BEIAN_INDEX_LINE
           + keys_len + recs_len;
}


/* Bytes of the v1 record of these field lengths. */
static inline size_t
beian_rec_size(size_t icp_len, size_t wid_len)
{
    return BEIAN_REC_MIN + icp_len + wid_len;
}

/* Writes the v1 record at p (beian_rec_size() bytes); returns its size. */
static inline size_t
beian_rec_put(unsigned char *p, const char *icp, size_t icp_len,
    const char *wid, size_t wid_len)
{
    p[0] = BEIAN_REC_V1;
    p[1] = (unsigned char) icp_len;
    memcpy(p + 2, icp, icp_len);
    p[2 + icp_len] = (unsigned char) wid_len;
    memcpy(p + 3 + icp_len, wid, wid_len);

    return beian_rec_size(icp_len, wid_len);
}

/*
 * The length of the record starting at p, of which left bytes are there
 * (a record in the index's record bytes): its size as its length bytes
 * give it, or 0 when that runs past left.
 */
static inline size_t
beian_rec_span(const unsigned char *p, size_t left)
{
    if (left < BEIAN_REC_MIN || BEIAN_REC_MIN + (size_t) p[1] > left
        || beian_rec_size(p[1], p[2 + p[1]]) > left)
    {
        return 0;
    }

    return beian_rec_size(p[1], p[2 + p[1]]);
}

/* Decodes the v1 record of exactly n bytes at p into rec: 0, or -1. */
static inline int
beian_rec_get(const unsigned char *p, size_t n, beian_rec_t *rec)
{
    size_t  il, wl;

    if (n < BEIAN_REC_MIN || p[0] != BEIAN_REC_V1) {
        return -1;
    }

    il = p[1];
    if (2 + il + 1 > n) {
        return -1;
    }

    wl = p[2 + il];
    if (beian_rec_size(il, wl) != n) {
        return -1;
    }

    rec->icp = (const char *) p + 2;
    rec->icp_len = il;
    rec->website_id = (const char *) p + 3 + il;
    rec->website_id_len = wl;
    return 0;
}


#if defined __GNUC__
#pragma GCC visibility pop
#endif

#endif /* BEIAN_INDEX_H */
