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
 *            u32 filter blocks (BEIAN_INDEX_BLOCKS(count)), u32 home lines,
 *            u32 lines, u32 long-key bytes, u32 record bytes, u32 0.  48, so
 *            that after LMDB's 16-byte page header the rest starts on a
 *            cache line
 *   filter   blocks of BEIAN_INDEX_LINE (64) bytes: a blocked Bloom filter,
 *            a key's BEIAN_INDEX_FILTER_BITS bits all in one block
 *   lines    BEIAN_INDEX_LINE bytes each: byte 0, how many lines after this
 *            one hold keys whose home it is (0 .. BEIAN_INDEX_SPILL_MAX);
 *            from byte 1 entries, until a 0 byte or the end of the line:
 *              short  u8 length, the domain, u32 record offset
 *                     (BEIAN_INDEX_SHORT_SIZE(length) bytes), for a domain
 *                     of at most BEIAN_INDEX_INLINE_MAX bytes
 *              long   BEIAN_INDEX_LONG_MARK (0xff), u8 length, u32 offset
 *                     in the long keys, u32 record offset
 *                     (BEIAN_INDEX_LONG_SIZE bytes), for a longer one
 *   long     the long domains' bytes
 *   records  a 0 byte (offset 0 is no record's), then v1 records
 *
 * A v1 record (also every value of the "domains" database): BEIAN_REC_V1,
 * u8 icp length, icp, u8 website id length, website id.
 *
 * Why this shape: per request the gate needs a verdict, not the record, and
 * what it costs is cache misses.  A miss reads one filter block (10 bits per
 * domain: 1.2 MiB at a million, small enough to stay in cache) and ends
 * there 99 times in 100; a hit reads that block and the key's home line
 * (its spill lines rarely); the record only when asked for.  The header is
 * checked at open (O(1)); every offset is checked on lookup, so a damaged
 * table can make a lookup fail (-1) or miss (0) but never read outside its
 * value.
 *
 * WHAT MUST CHANGE TOGETHER.  The hash (beian_index_hash(), with its
 * constants), the block and home pick (beian_index_block(),
 * beian_index_home()), the filter bits (BEIAN_INDEX_FILTER_BITS,
 * beian_index_bit()), the bits per key in BEIAN_INDEX_BLOCKS(), the line
 * size, the header and the entry and record layouts are one format: a file
 * written with one and read with another gives wrong answers, not errors.
 * Any change to any of them needs a new index version: a new
 * BEIAN_INDEX_KEY and BEIAN_INDEX_MAGIC, written by the new writer.
 * Readers look up only the key they know, so a module that meets a version
 * it does not know finds no index and answers from the "domains" tree (as
 * for a snapshot without one); the _Static_assert()s below hold the size
 * relations that must stay true within a version.
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


#define BEIAN_INDEX_KEY         "hash-v2"
#define BEIAN_INDEX_MAGIC       0x3278696e61696562ULL   /* "beianix2" */

/* Bytes in the header, in a filter block and in a line. */
#define BEIAN_INDEX_HDR         48
#define BEIAN_INDEX_LINE        64

/* Filter blocks of 512 bits: about 10 bits per domain, 1% false hits. */
#define BEIAN_INDEX_KEY_BITS    10
#define BEIAN_INDEX_BLOCKS(count)                                           \
    ((count) * BEIAN_INDEX_KEY_BITS / (BEIAN_INDEX_LINE * 8) + 1)
#define BEIAN_INDEX_FILTER_BITS 6

/* Line entries. */
#define BEIAN_INDEX_INLINE_MAX  58      /* longest domain kept in its line */
#define BEIAN_INDEX_LONG_MARK   0xff    /* first byte of a long entry */
#define BEIAN_INDEX_LONG_SIZE   10      /* mark, u8 length, u32, u32 */
#define BEIAN_INDEX_SHORT_SIZE(klen)  (5 + (klen))  /* u8, key, u32 */
#define BEIAN_INDEX_SPILL_MAX   255     /* byte 0 of a home line */

/* The golden ratio in 64 bits: the hash's length mix, the filter bits'
 * multiplier and the writer's seeds. */
#define BEIAN_INDEX_GOLDEN      0x9e3779b97f4a7c15ULL

/* Records. */
#define BEIAN_REC_V1            1
#define BEIAN_REC_MIN           3       /* version, two lengths */


/* The index value's first BEIAN_INDEX_HDR bytes. */
typedef struct {
    uint64_t  magic;
    uint64_t  seed;
    uint64_t  count;                    /* = meta record_count */
    uint32_t  blocks;                   /* BEIAN_INDEX_BLOCKS(count) */
    uint32_t  homes;
    uint32_t  lines;
    uint32_t  long_len;
    uint32_t  recs_len;
    uint32_t  zero;
} beian_index_hdr_t;


_Static_assert(sizeof(beian_index_hdr_t) == BEIAN_INDEX_HDR,
               "the header struct is the header");
_Static_assert((16 + BEIAN_INDEX_HDR) % BEIAN_INDEX_LINE == 0,
               "after LMDB's page header, the filter starts on a line");
_Static_assert(BEIAN_INDEX_LINE * 8 == 512,
               "beian_index_bit() picks one of 512 bits (9 bits each)");
_Static_assert(9 * BEIAN_INDEX_FILTER_BITS <= 64,
               "beian_index_bit() takes every filter bit from one hash");
_Static_assert(1 + BEIAN_INDEX_SHORT_SIZE(BEIAN_INDEX_INLINE_MAX)
               == BEIAN_INDEX_LINE,
               "the longest short entry fills a line after byte 0");
_Static_assert(1 + BEIAN_INDEX_LONG_SIZE <= BEIAN_INDEX_LINE,
               "a long entry fits a line after byte 0");
_Static_assert(BEIAN_INDEX_INLINE_MAX < BEIAN_INDEX_LONG_MARK
               && BEIAN_DOMAIN_MAX < BEIAN_INDEX_LONG_MARK,
               "no domain length reads as the long-entry mark");
_Static_assert(BEIAN_INDEX_SPILL_MAX <= UINT8_MAX,
               "the spill count is one byte");
_Static_assert(BEIAN_ICP_MAX <= UINT8_MAX && BEIAN_WEBSITE_ID_MAX <= UINT8_MAX,
               "record field lengths are one byte each");


/* Seeded 64-bit hash of a key, 8 bytes per step (for the core's others:
 * beian_key_hash()). */
static inline __attribute__((always_inline)) uint64_t
beian_index_hash(uint64_t seed, const char *key, size_t len)
{
    uint64_t              h, w;
    const unsigned char  *p = (const unsigned char *) key;

    /* multiply-xorshift per 8-byte word: a domain of 13 bytes is 2 steps */
    h = seed ^ (len * BEIAN_INDEX_GOLDEN);

    for ( ; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }

    /*
     * The tail, 0 to 7 bytes, byte i in bits 8i..; the length is already
     * in h.  A key of 8 bytes or more has them as the top of its last 8.
     */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (len != 0 && p != (const unsigned char *) key) {
        memcpy(&w, p + len - 8, 8);
        w >>= 8 * (8 - len);

    } else
#endif
    {
        w = beian_load_tail(p, len);
    }

    h = (h ^ w) * 0x94d049bb133111ebULL;

    /* the murmur3 finalizer: every output bit depends on every input bit */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}

/* The same, out of line (core/snapshot.c). */
uint64_t beian_key_hash(uint64_t seed, const char *key, size_t len);


/* x scaled onto [0, n): the high half of a 32 x 32 bit product. */
static inline uint32_t
beian_index_range(uint32_t x, uint32_t n)
{
    return (uint32_t) (((uint64_t) x * n) >> 32);
}

/* A key's filter block (high hash bits) and home line (low ones). */
#define beian_index_block(h, blocks)                                        \
    beian_index_range((uint32_t) ((h) >> 32), blocks)
#define beian_index_home(h, homes)                                          \
    beian_index_range((uint32_t) (h), homes)

/* Bit i (0 .. BEIAN_INDEX_FILTER_BITS - 1) of a key in its 512-bit block. */
static inline unsigned
beian_index_bit(uint64_t h, unsigned i)
{
    return (unsigned) ((h * BEIAN_INDEX_GOLDEN) >> (64 - 9 - 9 * i)) & 511;
}

/* Bytes of the whole index value with these header fields. */
static inline uint64_t
beian_index_size(uint64_t blocks, uint64_t lines, uint64_t long_len,
    uint64_t recs_len)
{
    return BEIAN_INDEX_HDR + (blocks + lines) * BEIAN_INDEX_LINE + long_len
           + recs_len;
}


/* Bytes a line entry of a domain of len bytes takes. */
static inline size_t
beian_index_entry_size(size_t len)
{
    return len > BEIAN_INDEX_INLINE_MAX ? BEIAN_INDEX_LONG_SIZE
                                        : BEIAN_INDEX_SHORT_SIZE(len);
}

/*
 * Writes the line entry at e: short, with the key inline, or long, with
 * the key at koff in the long keys (the caller copies it there).
 */
static inline void
beian_index_entry_put(unsigned char *e, const char *key, size_t len,
    uint32_t koff, uint32_t roff)
{
    if (len > BEIAN_INDEX_INLINE_MAX) {
        e[0] = BEIAN_INDEX_LONG_MARK;
        e[1] = (unsigned char) len;
        memcpy(e + 2, &koff, 4);
        memcpy(e + 6, &roff, 4);

    } else {
        e[0] = (unsigned char) len;
        memcpy(e + 1, key, len);
        memcpy(e + 1 + len, &roff, 4);
    }
}

/* A short entry's record offset; its key is at e + 1, e[0] bytes. */
static inline uint32_t
beian_index_short_roff(const unsigned char *e)
{
    uint32_t  roff;

    memcpy(&roff, e + 1 + e[0], 4);
    return roff;
}

/* A long entry's key offset and record offset; its length is e[1]. */
static inline void
beian_index_long_get(const unsigned char *e, uint32_t *koff, uint32_t *roff)
{
    memcpy(koff, e + 2, 4);
    memcpy(roff, e + 6, 4);
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
