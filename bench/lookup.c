/*
 * Lookup microbenchmark for the core: what the module does per request
 * (beian_host_normalize + beian_match with subdomains on) against a real
 * snapshot, for lists of hosts given in files.
 *
 *   bench-lookup SNAPSHOT ROUNDS ITERS NAME=HOSTFILE...
 *
 * Rounds alternate between the host lists; each round walks ITERS hosts of
 * one list in file order (the lists are random samples).  Prints one JSON
 * object per list: median and min ns per lookup over the rounds and the
 * share of hosts that matched.
 *
 * With BENCH_INDEX=FILE in the environment it also measures a prototype of
 * a proposed hash index (see "Prototype" below): built from the snapshot
 * into FILE, mapped read-only like the snapshot, and looked up the same
 * way; its lists are printed as "idx-NAME".  The prototype is benchmark
 * code only, not the module's.
 */

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "beian.h"


typedef struct {
    const char  *name;
    char       **host;
    size_t      *len;
    size_t       n;
    double      *ns;
    double      *ns_idx;
    double       hit;
} list_t;




/*
 * Prototype: a static hash index of the snapshot's domains.
 *
 * File layout (little endian): u64 magic, u64 mask, u64 slots[mask + 1],
 * then entries.  A slot is (upper 32 bits of the key's hash << 32) |
 * (entry offset from the start of the entries), 0 if empty; an entry is
 * u8 key length, key, u8 ICP length, ICP, u8 website id length, website id.
 * Load factor <= 0.5, linear probing.  A miss costs one cache line of the
 * slot array, a hit one more for the entry: no tree descent.  All the
 * candidate suffixes of a host are hashed and their slots prefetched at
 * once, so their misses overlap.
 */

#define HIDX_MAGIC  0x3178646968616562ULL     /* "beaihdx1" */

/* BENCH_INDEX_PREFETCH=0 turns the prefetch of all candidates off */
static int  hidx_prefetch = 1;

typedef struct {
    uint64_t              mask;
    const uint64_t       *slot;
    const unsigned char  *ent;
    size_t                ent_len;
    size_t                map_len;
    void                 *map;
} hidx_t;

typedef struct {
    unsigned char  *buf;
    size_t          len, cap;
    uint64_t       *hash;
    uint32_t       *off;
    size_t          n, ncap;
} hidx_build_t;


static uint64_t
hidx_hash(const char *p, size_t n)
{
    size_t    i;
    uint64_t  h = 0xcbf29ce484222325ULL;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char) p[i];
        h *= 0x100000001b3ULL;
    }

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;

    return h;
}


static int
hidx_put(hidx_build_t *b, const void *p, size_t n)
{
    while (b->len + n > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1 << 20;
        b->buf = realloc(b->buf, b->cap);
        if (b->buf == NULL) {
            return -1;
        }
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return 0;
}


static int
hidx_add(const char *domain, size_t len, const beian_rec_t *rec, void *data)
{
    hidx_build_t   *b = data;
    unsigned char   l;

    if (b->n == b->ncap) {
        b->ncap = b->ncap ? b->ncap * 2 : 1024;
        b->hash = realloc(b->hash, b->ncap * sizeof(uint64_t));
        b->off = realloc(b->off, b->ncap * sizeof(uint32_t));
        if (b->hash == NULL || b->off == NULL) {
            return -1;
        }
    }

    b->hash[b->n] = hidx_hash(domain, len);
    b->off[b->n] = (uint32_t) b->len;
    b->n++;

    l = (unsigned char) len;
    if (hidx_put(b, &l, 1) || hidx_put(b, domain, len)) {
        return -1;
    }
    l = (unsigned char) rec->icp_len;
    if (hidx_put(b, &l, 1) || hidx_put(b, rec->icp, rec->icp_len)) {
        return -1;
    }
    l = (unsigned char) rec->website_id_len;
    if (hidx_put(b, &l, 1)
        || hidx_put(b, rec->website_id, rec->website_id_len))
    {
        return -1;
    }
    return 0;
}


static int
hidx_create(beian_snap_t *snap, const char *path, hidx_t *x)
{
    int            fd;
    size_t         i, nslots, j;
    uint64_t      *slot, hdr[2], pad = 0;
    hidx_build_t   b;
    char           err[BEIAN_ERR_MAX];
    FILE          *f;

    memset(&b, 0, sizeof(b));
    /* offset 0 is "empty": start the entries with 8 bytes of padding */
    if (hidx_put(&b, &pad, 8) != 0
        || beian_snap_foreach(snap, hidx_add, &b, err, sizeof(err)) != 0)
    {
        fprintf(stderr, "index: %s\n", err);
        return -1;
    }

    for (nslots = 1024; nslots < 2 * b.n; nslots *= 2) { /* void */ }

    slot = calloc(nslots, sizeof(uint64_t));
    if (slot == NULL) {
        return -1;
    }

    for (i = 0; i < b.n; i++) {
        j = b.hash[i] & (nslots - 1);
        while (slot[j]) {
            j = (j + 1) & (nslots - 1);
        }
        slot[j] = (b.hash[i] & 0xffffffff00000000ULL) | b.off[i];
    }

    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    hdr[0] = HIDX_MAGIC;
    hdr[1] = nslots - 1;
    if (fwrite(hdr, sizeof(hdr), 1, f) != 1
        || fwrite(slot, sizeof(uint64_t), nslots, f) != nslots
        || fwrite(b.buf, 1, b.len, f) != b.len
        || fclose(f) != 0)
    {
        perror(path);
        return -1;
    }
    free(slot);
    free(b.buf);
    free(b.hash);
    free(b.off);

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        perror(path);
        return -1;
    }
    x->map_len = (size_t) lseek(fd, 0, SEEK_END);
    x->map = mmap(NULL, x->map_len, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (x->map == MAP_FAILED) {
        perror("mmap");
        return -1;
    }
    x->mask = ((const uint64_t *) x->map)[1];
    x->slot = (const uint64_t *) x->map + 2;
    x->ent = (const unsigned char *) (x->slot + x->mask + 1);
    x->ent_len = x->map_len - (size_t) (x->ent - (unsigned char *) x->map);
    return 0;
}


/* beian_match()'s rule on the index: 1 filed, 0 not. */
static int
hidx_match(const hidx_t *x, beian_host_class_t cls, const char *host,
    size_t len, unsigned flags, beian_match_t *m)
{
    int                   nc, i;
    size_t                n, clen[128];
    uint64_t              h[128], s, j;
    const char           *p, *dot, *cand[128];
    const unsigned char  *e;

    m->status = BEIAN_UNFILED;
    if (cls != BEIAN_HOST_DOMAIN) {
        return 0;
    }

    /* the host and, with subdomains, its parents down to two labels */
    p = host;
    n = len;
    nc = 0;
    for ( ;; ) {
        cand[nc] = p;
        clen[nc] = n;
        h[nc] = hidx_hash(p, n);
        if (hidx_prefetch) {
            __builtin_prefetch(&x->slot[h[nc] & x->mask]);
        }
        nc++;
        if (!(flags & BEIAN_MATCH_SUBDOMAINS) || nc == 128) {
            break;
        }
        dot = memchr(p, '.', n);
        if (dot == NULL) {
            break;
        }
        n -= (size_t) (dot + 1 - p);
        p = dot + 1;
        if (memchr(p, '.', n) == NULL) {
            break;
        }
    }

    for (i = 0; i < nc; i++) {
        for (j = h[i] & x->mask; (s = x->slot[j]) != 0; j = (j + 1) & x->mask)
        {
            if ((s >> 32) != (h[i] >> 32)) {
                continue;
            }
            e = x->ent + (uint32_t) s;
            if (e[0] == clen[i] && memcmp(e + 1, cand[i], clen[i]) == 0) {
                e += 1 + e[0];
                m->status = BEIAN_FILED;
                m->domain = cand[i];
                m->domain_len = clen[i];
                m->rec.icp = (const char *) e + 1;
                m->rec.icp_len = e[0];
                e += 1 + e[0];
                m->rec.website_id = (const char *) e + 1;
                m->rec.website_id_len = e[0];
                return 1;
            }
        }
    }

    return 0;
}

static double
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


static int
load(list_t *l, const char *path)
{
    FILE    *f;
    char     line[512];
    size_t   cap = 1024, n;

    f = fopen(path, "r");
    if (f == NULL) {
        perror(path);
        return -1;
    }

    l->host = malloc(cap * sizeof(char *));
    l->len = malloc(cap * sizeof(size_t));
    l->n = 0;

    while (l->host && l->len && fgets(line, sizeof(line), f)) {
        n = strcspn(line, "\r\n");
        if (n == 0) {
            continue;
        }
        if (l->n == cap) {
            cap *= 2;
            l->host = realloc(l->host, cap * sizeof(char *));
            l->len = realloc(l->len, cap * sizeof(size_t));
            if (l->host == NULL || l->len == NULL) {
                break;
            }
        }
        l->host[l->n] = strndup(line, n);
        l->len[l->n] = n;
        l->n++;
    }

    fclose(f);

    if (l->host == NULL || l->len == NULL || l->n == 0) {
        fprintf(stderr, "%s: no hosts\n", path);
        return -1;
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int             i, nl, rounds, r, use_idx, v;
    hidx_t          idx;
    beian_match_t   m2;
    const char     *idx_path;
    size_t          disagree = 0;
    long            iters, k;
    size_t          j, n, hits;
    double          t0, t1;
    list_t         *lists;
    beian_snap_t   *snap;
    beian_match_t   m;
    beian_host_class_t  cls;
    char            err[BEIAN_ERR_MAX], buf[BEIAN_HOST_MAX + 1];
    volatile size_t sink = 0;

    if (argc < 5) {
        fprintf(stderr, "usage: %s SNAPSHOT ROUNDS ITERS NAME=HOSTFILE...\n",
                argv[0]);
        return 1;
    }

    /* what a worker pays to (re)open the snapshot: median of 5 */
    {
        double  open_ns[5];

        for (r = 0; r < 5; r++) {
            t0 = now_ns();
            snap = beian_snap_open(argv[1], err, sizeof(err));
            t1 = now_ns();
            if (snap == NULL) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            open_ns[r] = t1 - t0;
            if (r < 4) {
                beian_snap_close(snap);
            }
        }
        qsort(open_ns, 5, sizeof(double), cmp_double);
        printf("{\"list\": \"open\", \"ms_median\": %.2f, "
               "\"ms_max\": %.2f}\n", open_ns[2] / 1e6, open_ns[4] / 1e6);
    }

    rounds = atoi(argv[2]);
    iters = atol(argv[3]);
    if (rounds < 1 || rounds > 1000 || iters < 1 || iters > 1000000000L) {
        fprintf(stderr, "bad ROUNDS or ITERS\n");
        return 1;
    }

    idx_path = getenv("BENCH_INDEX_PREFETCH");
    hidx_prefetch = !(idx_path && idx_path[0] == '0');
    idx_path = getenv("BENCH_INDEX");
    use_idx = idx_path != NULL && idx_path[0] != '\0';
    if (use_idx && hidx_create(snap, idx_path, &idx) != 0) {
        return 1;
    }

    nl = argc - 4;
    lists = calloc((size_t) nl, sizeof(list_t));

    for (i = 0; i < nl; i++) {
        char  *eq = strchr(argv[4 + i], '=');

        if (eq == NULL) {
            fprintf(stderr, "expected NAME=HOSTFILE: %s\n", argv[4 + i]);
            return 1;
        }
        *eq = '\0';
        lists[i].name = argv[4 + i];
        if (load(&lists[i], eq + 1) != 0) {
            return 1;
        }
        lists[i].ns = calloc((size_t) rounds, sizeof(double));
        lists[i].ns_idx = calloc((size_t) rounds, sizeof(double));

        /* share of matches, and a warm-up pass over the list */
        hits = 0;
        for (j = 0; j < lists[i].n; j++) {
            cls = beian_host_normalize(lists[i].host[j], lists[i].len[j],
                                       buf, &n);
            if (beian_match(snap, cls, buf, n, BEIAN_MATCH_SUBDOMAINS, &m)
                == BEIAN_FILED)
            {
                hits++;
            }
            if (use_idx) {
                /* the prototype must give the same verdict and match */
                hidx_match(&idx, cls, buf, n, BEIAN_MATCH_SUBDOMAINS, &m2);
                if (m2.status != m.status
                    || (m.status == BEIAN_FILED
                        && (m.domain != m2.domain
                            || m.rec.icp_len != m2.rec.icp_len
                            || memcmp(m.rec.icp, m2.rec.icp,
                                      m.rec.icp_len) != 0)))
                {
                    disagree++;
                }
            }
        }
        lists[i].hit = (double) hits / (double) lists[i].n;
    }

    for (r = 0; r < rounds; r++) {
        for (i = 0; i < nl; i++) {
            list_t  *l = &lists[(i + r) % nl];

            for (v = 0; v < 1 + use_idx; v++) {
                int  idx_first = (r & 1);
                int  the_idx = v ^ (use_idx ? idx_first : 0);

                j = 0;
                t0 = now_ns();
                if (!the_idx) {
                    for (k = 0; k < iters; k++) {
                        cls = beian_host_normalize(l->host[j], l->len[j],
                                                   buf, &n);
                        sink += beian_match(snap, cls, buf, n,
                                            BEIAN_MATCH_SUBDOMAINS, &m);
                        if (++j == l->n) {
                            j = 0;
                        }
                    }
                } else {
                    for (k = 0; k < iters; k++) {
                        cls = beian_host_normalize(l->host[j], l->len[j],
                                                   buf, &n);
                        sink += hidx_match(&idx, cls, buf, n,
                                           BEIAN_MATCH_SUBDOMAINS, &m);
                        if (++j == l->n) {
                            j = 0;
                        }
                    }
                }
                t1 = now_ns();
                (the_idx ? l->ns_idx : l->ns)[r] = (t1 - t0) / (double) iters;
            }
        }
    }

    for (i = 0; i < nl; i++) {
        qsort(lists[i].ns, (size_t) rounds, sizeof(double), cmp_double);
        printf("{\"list\": \"%s\", \"hosts\": %zu, \"matched\": %.4f, "
               "\"ns_median\": %.1f, \"ns_min\": %.1f, \"rounds\": %d, "
               "\"iters\": %ld}\n", lists[i].name, lists[i].n, lists[i].hit,
               lists[i].ns[rounds / 2], lists[i].ns[0], rounds, iters);
        if (use_idx) {
            qsort(lists[i].ns_idx, (size_t) rounds, sizeof(double),
                  cmp_double);
            printf("{\"list\": \"idx-%s\", \"hosts\": %zu, "
                   "\"matched\": %.4f, \"ns_median\": %.1f, "
                   "\"ns_min\": %.1f, \"rounds\": %d, \"iters\": %ld, "
                   "\"index_bytes\": %zu, \"disagree\": %zu}\n",
                   lists[i].name, lists[i].n, lists[i].hit,
                   lists[i].ns_idx[rounds / 2], lists[i].ns_idx[0], rounds,
                   iters, idx.map_len, disagree);
        }
    }

    beian_snap_close(snap);
    return sink == (size_t) -1;
}
