/*
 * Lookup microbenchmark for the core: what the module does per request
 * (beian_host_normalize + beian_match with subdomains on, the verdict
 * only, as the module asks for it) against a real
 * snapshot, for lists of hosts given in files.
 *
 *   bench-lookup SNAPSHOT ROUNDS ITERS NAME=HOSTFILE...
 *
 * Rounds alternate between the host lists; each round walks ITERS hosts of
 * one list in file order (the lists are random samples).  Prints one JSON
 * object per list: median and min ns per lookup over the rounds and the
 * share of hosts that matched.
 *
 * It measures the core as built: with the snapshot's hash index when the
 * snapshot has one (beian-sync writes it), the B-tree otherwise.
 */

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "beian_write.h"


typedef struct {
    const char  *name;
    char       **host;
    size_t      *len;
    size_t       n;
    double      *ns;
    double       hit;
} list_t;




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


/*
 * The machine's latency of one dependent random read in a buffer of mib
 * MiB (a pointer chase over a random cycle of cache lines): what a lookup
 * that must read a line no cache holds pays at least.
 */
static double
chase_ns(size_t mib)
{
    size_t     i, j, n, t, *perm;
    uint64_t   x = 0x9e3779b97f4a7c15ULL;
    double     t0, t1;
    void     **buf, **p;

    n = (mib << 20) / 64;
    buf = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    perm = malloc(n * sizeof(size_t));
    if (buf == MAP_FAILED || perm == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        perm[i] = i;
    }
    for (i = n - 1; i > 0; i--) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        j = (size_t) (x % (i + 1));
        t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (i = 0; i < n; i++) {
        buf[perm[i] * 8] = &buf[perm[(i + 1) % n] * 8];
    }
    free(perm);

    p = &buf[0];
    for (i = 0; i < n; i++) {
        p = *p;
    }

    t0 = now_ns();
    for (i = 0; i < 2000000; i++) {
        p = *p;
    }
    t1 = now_ns();

    munmap(buf, mib << 20);
    return p == NULL ? -1 : (t1 - t0) / 2000000;
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
    int             i, nl, rounds, r;
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

    /* the floor under any lookup that misses every cache */
    printf("{\"list\": \"memory\", \"l2_1mib_ns\": %.1f, "
           "\"dram_256mib_ns\": %.1f}\n", chase_ns(1), chase_ns(256));

    printf("{\"list\": \"index\", \"present\": %s}\n",
           beian_snap_has_index(snap) ? "true" : "false");

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
        }
        lists[i].hit = (double) hits / (double) lists[i].n;
    }

    for (r = 0; r < rounds; r++) {
        for (i = 0; i < nl; i++) {
            list_t  *l = &lists[(i + r) % nl];

            j = 0;
            t0 = now_ns();
            for (k = 0; k < iters; k++) {
                cls = beian_host_normalize(l->host[j], l->len[j], buf, &n);
                sink += beian_match(snap, cls, buf, n,
                                    BEIAN_MATCH_SUBDOMAINS
                                    | BEIAN_MATCH_NO_RECORD, &m);
                if (++j == l->n) {
                    j = 0;
                }
            }
            t1 = now_ns();
            l->ns[r] = (t1 - t0) / (double) iters;
        }
    }

    for (i = 0; i < nl; i++) {
        qsort(lists[i].ns, (size_t) rounds, sizeof(double), cmp_double);
        printf("{\"list\": \"%s\", \"hosts\": %zu, \"matched\": %.4f, "
               "\"ns_median\": %.1f, \"ns_min\": %.1f, \"rounds\": %d, "
               "\"iters\": %ld}\n", lists[i].name, lists[i].n, lists[i].hit,
               lists[i].ns[rounds / 2], lists[i].ns[0], rounds, iters);
    }

    beian_snap_close(snap);
    return sink == (size_t) -1;
}
