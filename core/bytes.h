/*
 * Byte helpers shared inside the core (host scanner, index hash and key
 * compare).  Not part of the public header.
 */

#ifndef BEIAN_BYTES_H
#define BEIAN_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>


/*
 * n <= 8 bytes at p as a number, byte i in bits 8i..8i+7 (little-endian),
 * read without touching a byte outside them: the hash's tail, and the host
 * scanner's last word.
 */
static inline uint64_t
beian_load_tail(const unsigned char *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t  a, b;

    /* overlapping reads: the bytes both hold are the same */
    if (n >= 4) {
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        return a | (uint64_t) b << (8 * (n - 4));
    }

    if (n == 0) {
        return 0;
    }

    return p[0] | (uint64_t) p[n / 2] << (8 * (n / 2))
           | (uint64_t) p[n - 1] << (8 * (n - 1));
#else
    size_t    i;
    uint64_t  w;

    for (w = 0, i = 0; i < n; i++) {
        w |= (uint64_t) p[i] << (8 * i);
    }

    return w;
#endif
}

#endif /* BEIAN_BYTES_H */
