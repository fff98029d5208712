/*
 * beian core, the writer's side: building, digesting and writing snapshots
 * (core/snapshot_write.c) and the integrity checks on an opened one.  For
 * beian-sync, the tests, the fuzz tools and the benchmarks; the nginx
 * modules include core/beian.h only.
 */

#ifndef BEIAN_WRITE_H
#define BEIAN_WRITE_H

#include "beian.h"

#if defined __GNUC__
#pragma GCC visibility push(hidden)
#endif


/* Whether the opened snapshot has a hash index (else lookups use the tree). */
int beian_snap_has_index(const beian_snap_t *snap);


/*
 * For beian-sync's integrity checks: the stored index value as it is (0,
 * or -1 without one this build reads), every entry it holds, bucket by
 * bucket, whether a lookup would reach it or not (-1 with err at one that
 * does not decode), and the "index" database's entry whatever its version
 * (its key and value; 0, or -1 when there is none), which the content
 * digest covers.
 */
int beian_snap_index_raw(const beian_snap_t *snap, const unsigned char **p,
    size_t *len);
int beian_snap_index_entry(const beian_snap_t *snap, const char **key,
    size_t *key_len, const unsigned char **p, size_t *len);
int beian_snap_index_foreach(const beian_snap_t *snap, beian_snap_iter_pt fn,
    void *data, char *err, size_t err_len);


/* The entries a snapshot is written from. */
typedef struct {
    char        *domain;                /* normalized ASCII */
    size_t       domain_len;
    char        *icp;
    char        *website_id;
} beian_entry_t;

/* Domain key order as LMDB stores it: bytes, then length. */
int beian_domain_cmp(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Sorts entries by domain.  Returns the number of entries left after
 * removing exact duplicates (same domain, ICP number and website id);
 * entries for one domain with different records are kept adjacent and are
 * the caller's to resolve.
 */
size_t beian_entries_sort(beian_entry_t *e, size_t n);

/*
 * The content digest, "sha256:<hex>", over everything a reader uses: the
 * instance id, the sorted entries, and the hash index value the writer
 * derives from them (when it writes one).  0, or -1 (out of memory: out
 * is then "").
 */
int beian_entries_digest(const char *instance_id, const beian_entry_t *e,
    size_t n, char out[72]);

/*
 * The same digest over a snapshot as it is: its instance id, the records
 * of its tree and its stored index value, byte for byte.  Equal to the
 * meta digest only if nothing a reader uses was changed.  0, or -1 with
 * err.
 */
int beian_snap_digest(const beian_snap_t *snap, char out[72], char *err,
    size_t err_len);

/*
 * The hash index value beian_snap_write() writes for these sorted, unique
 * entries, in *buf (malloc()ed; free it), or *len 0 when it writes none.
 * 0, or -1 when out of memory.
 */
int beian_index_build(const beian_entry_t *e, size_t n, unsigned char **buf,
    size_t *len);

/*
 * Writes a new snapshot: temp file in the target directory, fsync, rename
 * over path, fsync the directory.  entries must be sorted and unique.
 * Returns 0; 1 when the file is in place but the directory fsync failed
 * (err holds the warning); or -1 with err filled, path untouched.
 */
int beian_snap_write(const char *path, const beian_meta_t *meta,
    const beian_entry_t *e, size_t n, char *err, size_t err_len);

/*
 * Removes temp files a killed writer left next to path (".NAME.tmp.XXXXXX").
 * Only while holding the writers' lock: then no live writer owns one.
 * Returns how many were removed, or -1.
 */
int beian_snap_clean_temps(const char *path);

#if defined __GNUC__
#pragma GCC visibility pop
#endif

#endif /* BEIAN_WRITE_H */
