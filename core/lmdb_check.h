/*
 * The LMDB page check (core/lmdb_check.c), internal to the core: what
 * core/snapshot.c runs over a snapshot's bytes before liblmdb may read
 * them.
 */

#ifndef BEIAN_LMDB_CHECK_H
#define BEIAN_LMDB_CHECK_H

#include <stddef.h>
#include <stdint.h>

#if defined __GNUC__
#pragma GCC visibility push(hidden)
#endif

/*
 * Walks every page LMDB can reach in the size bytes at map (an LMDB 0.9
 * file, 64-bit layout).  0 when LMDB can read it safely; -1 with the reason
 * in err ("corrupt: ...", "truncated: ...", "not an LMDB file", ...).
 */
int beian_lmdb_check(const unsigned char *map, uint64_t size, char *err,
    size_t err_len);

#if defined __GNUC__
#pragma GCC visibility pop
#endif

#endif /* BEIAN_LMDB_CHECK_H */
