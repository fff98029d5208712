/*
 * The host scanner shared inside the core: beian_host_parse() (core/host.c)
 * and beian_host_verdict() (core/snapshot.c, beside the index it probes)
 * take the common host with it.  Not part of the public header.
 *
 * The common case, in one pass over the bytes: a host of at most
 * BEIAN_FAST_MAX bytes of [a-z0-9.-] only, so already lowercase and
 * without a port (what nginx hands over).  beian_scan() checks every byte
 * against the allowed ranges 16 (SSE2) or 8 (portable) at a time and
 * returns the dots and hyphens as bitmaps, one bit per byte, from which
 * beian_scan_domain() gets the domain rules without another pass.
 * Anything else takes the byte-by-byte rule (core/host.c).
 */

#ifndef BEIAN_SCAN_H
#define BEIAN_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "beian.h"
#include "bytes.h"


/* Longest host the scan takes: its bitmaps, with one bit before the name
 * and one after it, fit 64 bits. */
#define BEIAN_FAST_MAX  62

#if defined(__SSE2__) && !defined(BEIAN_NO_SIMD)

#include <emmintrin.h>

/* The allowed bytes, dots and hyphens of the 16 bytes in v. */
static inline __attribute__((always_inline)) unsigned
beian_classify(__m128i v, unsigned *dot, unsigned *dash)
{
    __m128i  dg, al, dt, ds;

    /* signed compares: bytes over 0x7f are negative, never allowed */
    dg = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                       _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), v));
    al = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                       _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), v));
    dt = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
    ds = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));

    *dot = (unsigned) _mm_movemask_epi8(dt);
    *dash = (unsigned) _mm_movemask_epi8(ds);

    return (unsigned) _mm_movemask_epi8(
               _mm_or_si128(_mm_or_si128(dg, al), _mm_or_si128(dt, ds)));
}

/* The len (1 .. 15) bytes at p in a vector, zeros above: two overlapping
 * 8-byte reads, or fewer, never a byte outside them. */
static inline __attribute__((always_inline)) __m128i
beian_load_short(const unsigned char *p, size_t len)
{
    uint64_t  lo, hi;

    if (len >= 8) {
        memcpy(&lo, p, 8);
        memcpy(&hi, p + len - 8, 8);
        /* the bytes after the first 8, in two shifts: 8 .. 56 bits, or
         * 64 for none */
        hi >>= 8 * (16 - len) - 1;
        hi >>= 1;

    } else {
        lo = beian_load_tail(p, len);
        hi = 0;
    }

    return _mm_unpacklo_epi64(_mm_cvtsi64_si128((long long) lo),
                              _mm_cvtsi64_si128((long long) hi));
}

/* beian_scan() of the len (1 .. 15) bytes in v. */
static inline __attribute__((always_inline)) int
beian_scan_short(__m128i v, size_t len, uint64_t *dots, uint64_t *dashes)
{
    unsigned  ok, dt, ds;

    ok = beian_classify(v, &dt, &ds);
    if ((ok | (~0u << len)) != ~0u) {
        return -1;
    }

    *dots = dt;
    *dashes = ds;
    return 0;
}

/*
 * 0 with the bitmaps, -1 if a byte is not allowed.  len 1 ..
 * BEIAN_FAST_MAX.  Up to 15 bytes: one vector of them.  Longer: 16 at a
 * time, the last 16 overlapping the ones before (the same bits again).
 */
static inline __attribute__((always_inline)) int
beian_scan(const unsigned char *p, size_t len, uint64_t *dots,
    uint64_t *dashes)
{
    size_t    i;
    unsigned  ok, dt, ds;

    if (len < 16) {
        return beian_scan_short(beian_load_short(p, len), len, dots, dashes);
    }

    *dots = 0;
    *dashes = 0;

    for (i = 0; ; i += 16) {
        if (i + 16 > len) {
            i = len - 16;
        }

        ok = beian_classify(_mm_loadu_si128((const __m128i *) (const void *)
                                            (p + i)),
                            &dt, &ds);
        if (ok != 0xffffu) {
            return -1;
        }

        *dots |= (uint64_t) dt << i;
        *dashes |= (uint64_t) ds << i;

        if (i + 16 == len) {
            return 0;
        }
    }
}

/*
 * A host scanned more than once (beian_host_verdict() with
 * BEIAN_MATCH_CLEAN): one under 16 bytes is loaded once, into a
 * beian_scan_keep_t, for every step below.
 */
typedef __m128i  beian_scan_keep_t;

static inline __attribute__((always_inline)) beian_scan_keep_t
beian_scan_keep(const unsigned char *p, size_t len)
{
    return len < 16 ? beian_load_short(p, len) : _mm_setzero_si128();
}

/* The dots alone, of any bytes (len 1 .. BEIAN_FAST_MAX). */
static inline __attribute__((always_inline)) uint64_t
beian_scan_dots(const unsigned char *p, size_t len, beian_scan_keep_t keep)
{
    size_t    i;
    uint64_t  dots;
    __m128i   dot;

    dot = _mm_set1_epi8('.');

    if (len < 16) {
        return (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(keep, dot));
    }

    dots = 0;

    for (i = 0; ; i += 16) {
        if (i + 16 > len) {
            i = len - 16;
        }

        dots |= (uint64_t) (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(
                    _mm_loadu_si128((const __m128i *) (const void *) (p + i)),
                    dot))
                << i;

        if (i + 16 == len) {
            return dots;
        }
    }
}

/* beian_scan(), of a host kept. */
static inline __attribute__((always_inline)) int
beian_scan_again(const unsigned char *p, size_t len, beian_scan_keep_t keep,
    uint64_t *dots, uint64_t *dashes)
{
    if (len >= 16) {
        return beian_scan(p, len, dots, dashes);
    }

    return beian_scan_short(keep, len, dots, dashes);
}

/*
 * Whether the host p (len 1 .. BEIAN_FAST_MAX, kept) is the name at a:
 * len bytes followed by zeros, BEIAN_FAST_MAX bytes in all.
 */
static inline __attribute__((always_inline)) int
beian_scan_same(const unsigned char *a, const unsigned char *p, size_t len,
    beian_scan_keep_t keep)
{
    size_t   i;
    __m128i  x;

    if (len < 16) {
        x = _mm_loadu_si128((const __m128i *) (const void *) a);
        return _mm_movemask_epi8(_mm_cmpeq_epi8(x, keep)) == 0xffff;
    }

    for (i = 0; ; i += 16) {
        if (i + 16 > len) {
            i = len - 16;
        }

        x = _mm_cmpeq_epi8(
                _mm_loadu_si128((const __m128i *) (const void *) (a + i)),
                _mm_loadu_si128((const __m128i *) (const void *) (p + i)));
        if (_mm_movemask_epi8(x) != 0xffff) {
            return 0;
        }

        if (i + 16 == len) {
            return 1;
        }
    }
}

/* Writes the host p (len 1 .. BEIAN_FAST_MAX, kept) at a as
 * beian_scan_same() reads it: fixed-size stores, no call. */
static inline __attribute__((always_inline)) void
beian_scan_store(unsigned char *a, const unsigned char *p, size_t len,
    beian_scan_keep_t keep)
{
    size_t   i;
    __m128i  z;

    z = _mm_setzero_si128();

    /* zeros up to BEIAN_FAST_MAX, the last 16 overlapping */
    _mm_storeu_si128((__m128i *) (void *) (a + 16), z);
    _mm_storeu_si128((__m128i *) (void *) (a + 32), z);
    _mm_storeu_si128((__m128i *) (void *) (a + BEIAN_FAST_MAX - 16), z);

    if (len < 16) {
        _mm_storeu_si128((__m128i *) (void *) a, keep);
        return;
    }

    for (i = 0; ; i += 16) {
        if (i + 16 > len) {
            i = len - 16;
        }

        _mm_storeu_si128((__m128i *) (void *) (a + i),
                         _mm_loadu_si128((const __m128i *) (const void *)
                                         (p + i)));

        if (i + 16 == len) {
            return;
        }
    }
}

#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__

#define ONES        0x0101010101010101ULL
#define HIGH        0x8080808080808080ULL
#define AT_LEAST(w, c)  ((w) + ONES * (0x80 - (c)))     /* high bit: >= c */
#define ABOVE(w, c)     ((w) + ONES * (0x7f - (c)))     /* high bit: > c */

/* The high bits of m (bits 7, 15, ... 63) as 8 bits, byte i at bit i. */
#define GATHER(m)   (((((m) & HIGH) >> 7) * 0x0102040810204080ULL) >> 56)

/*
 * The same, 8 bytes at a time in a uint64_t: once no byte has its high
 * bit, adding at most 0x53 to each cannot carry into the next, so one
 * addition per bound tells every byte whether it is at or above it.
 */
static inline __attribute__((always_inline)) int
beian_scan(const unsigned char *p, size_t len, uint64_t *dots,
    uint64_t *dashes)
{
    size_t    i, n;
    uint64_t  w, valid, ok, dash, dot;

    *dots = 0;
    *dashes = 0;

    for (i = 0; i < len; i += 8) {
        n = len - i;
        if (n >= 8) {
            memcpy(&w, p + i, 8);
            valid = HIGH;

        } else {
            /* the last bytes: the top of the last 8 when there are 8 */
            if (len >= 8) {
                memcpy(&w, p + len - 8, 8);
                w >>= 8 * (8 - n);
            } else {
                w = beian_load_tail(p + i, n);
            }
            valid = HIGH >> (8 * (8 - n));
        }

        if (w & HIGH) {
            return -1;
        }

        dash = AT_LEAST(w, '-') & ~AT_LEAST(w, '.');
        dot = AT_LEAST(w, '.') & ~ABOVE(w, '.');
        ok = dash | dot | (AT_LEAST(w, '0') & ~ABOVE(w, '9'))
             | (AT_LEAST(w, 'a') & ~ABOVE(w, 'z'));

        if ((ok & valid) != valid) {
            return -1;
        }

        *dots |= GATHER(dot & valid) << i;
        *dashes |= GATHER(dash & valid) << i;
    }

    return 0;
}

#else

static inline __attribute__((always_inline)) int
beian_scan(const unsigned char *p, size_t len, uint64_t *dots,
    uint64_t *dashes)
{
    (void) p;
    (void) len;
    (void) dots;
    (void) dashes;
    return -1;
}

#endif

#if !defined(__SSE2__) || defined(BEIAN_NO_SIMD)

typedef int  beian_scan_keep_t;

static inline __attribute__((always_inline)) beian_scan_keep_t
beian_scan_keep(const unsigned char *p, size_t len)
{
    (void) p;
    (void) len;

    return 0;
}

static inline __attribute__((always_inline)) uint64_t
beian_scan_dots(const unsigned char *p, size_t len, beian_scan_keep_t keep)
{
    size_t    i;
    uint64_t  dots;

    (void) keep;

    for (dots = 0, i = 0; i < len; i++) {
        dots |= (uint64_t) (p[i] == '.') << i;
    }

    return dots;
}

static inline __attribute__((always_inline)) int
beian_scan_again(const unsigned char *p, size_t len, beian_scan_keep_t keep,
    uint64_t *dots, uint64_t *dashes)
{
    (void) keep;

    return beian_scan(p, len, dots, dashes);
}

static inline __attribute__((always_inline)) int
beian_scan_same(const unsigned char *a, const unsigned char *p, size_t len,
    beian_scan_keep_t keep)
{
    (void) keep;

    return memcmp(a, p, len) == 0;
}

static inline __attribute__((always_inline)) void
beian_scan_store(unsigned char *a, const unsigned char *p, size_t len,
    beian_scan_keep_t keep)
{
    (void) keep;

    memset(a, 0, BEIAN_FAST_MAX);
    memcpy(a, p, len);
}

#endif


/*
 * The domain rules on a scanned host p of len bytes (1 .. BEIAN_FAST_MAX)
 * with its dots and dashes: BEIAN_HOST_DOMAIN with *n, its length without
 * one trailing dot, and *dots, its label boundaries (that dot gone);
 * BEIAN_HOST_INVALID; or -1 for the byte-by-byte rule (a last label
 * ending in a digit: all digits is an IPv4 address or nothing, and no
 * top-level domain of the Public Suffix List ends so).
 */
static inline __attribute__((always_inline)) int
beian_scan_domain(const unsigned char *p, size_t len, uint64_t *dots,
    uint64_t dashes, size_t *n)
{
    size_t    m;
    uint64_t  d, b;

    /* one trailing dot goes */
    m = len;
    d = *dots;
    if (d >> (m - 1)) {
        m--;
        d &= ~((uint64_t) 1 << m);
    }

    *n = m;
    *dots = d;

    /*
     * Invalid: one label (or nothing left), an empty label (two label
     * boundaries in a row: b has the dots one bit up, and a boundary
     * before the name and after it), a hyphen next to a boundary.  No
     * label can be over 63 bytes.
     */
    b = d << 1 | 1 | (uint64_t) 2 << m;
    if (d == 0 || (b & (b >> 1)) || (dashes << 1 & ((b << 1) | (b >> 1)))) {
        return BEIAN_HOST_INVALID;
    }

    if ((unsigned) (p[m - 1] - '0') < 10) {
        return -1;
    }

    return BEIAN_HOST_DOMAIN;
}

#endif /* BEIAN_SCAN_H */
