/*
 * The core's per-request work, alone, for callgrind: what the modules call
 * for a host (beian_host_verdict() with subdomains, and BEIAN_MATCH_CLEAN
 * as the http module calls it for the host nginx resolved; "strict":
 * without it, as for other names; "split": the two steps it stands for,
 * beian_host_parse() then beian_match_host() with the verdict only), over
 * the hosts of a file, in a loop that callgrind collects
 * (--toggle-collect=measure).  bench/core_insn.py runs it twice, with two
 * loop counts, and divides the difference.
 *
 *   core-insn SNAPSHOT HOSTFILE CALLS [PREFIX [clean|strict|split]]
 *
 * The first 2000 hosts of HOSTFILE, each with PREFIX before it, in turn.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beian.h"


#define HOSTS  2000

static char    hosts[HOSTS][BEIAN_HOST_MAX + 1];
static size_t  lens[HOSTS];
static size_t  nhosts;


__attribute__((noinline)) static size_t
measure(beian_snap_t *snap, size_t calls, int split, unsigned flags)
{
    size_t              i, j, filed;
    beian_host_t        h;
    beian_match_t       m;
    beian_host_class_t  cls;
    char                buf[BEIAN_HOST_MAX + 1];

    filed = 0;
    for (i = 0; i < calls; i++) {
        j = i % nhosts;

        if (!split) {
            filed += beian_host_verdict(snap, hosts[j], lens[j], flags, buf)
                         .status
                     == BEIAN_FILED;
            continue;
        }

        cls = beian_host_parse(hosts[j], lens[j], buf, &h);
        filed += beian_match_host(snap, cls, &h,
                                  BEIAN_MATCH_SUBDOMAINS
                                  | BEIAN_MATCH_NO_RECORD, &m)
                 == BEIAN_FILED;
    }

    return filed;
}


int
main(int argc, char **argv)
{
    FILE          *f;
    int            split;
    size_t         calls, n;
    unsigned       flags;
    const char    *prefix, *mode;
    beian_snap_t  *snap;
    char           err[BEIAN_ERR_MAX], line[BEIAN_HOST_MAX + 1];

    if (argc < 4) {
        fprintf(stderr, "usage: core-insn SNAPSHOT HOSTFILE CALLS "
                "[PREFIX [clean|strict|split]]\n");
        return 2;
    }

    snap = beian_snap_open(argv[1], err, sizeof(err));
    if (snap == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }

    f = fopen(argv[2], "r");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }

    prefix = argc > 4 ? argv[4] : "";
    while (nhosts < HOSTS && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        n = (size_t) snprintf(hosts[nhosts], sizeof(hosts[0]), "%s%s",
                              prefix, line);
        if (n >= sizeof(hosts[0])) {
            continue;
        }
        lens[nhosts++] = n;
    }
    fclose(f);

    if (nhosts == 0) {
        fprintf(stderr, "%s: no hosts\n", argv[2]);
        return 1;
    }

    calls = strtoul(argv[3], NULL, 10);
    mode = argc > 5 ? argv[5] : "clean";
    split = strcmp(mode, "split") == 0;
    flags = BEIAN_MATCH_SUBDOMAINS
            | (strcmp(mode, "clean") == 0 ? BEIAN_MATCH_CLEAN : 0);
    printf("filed %zu of %zu\n", measure(snap, calls, split, flags), calls);

    beian_snap_close(snap);
    return 0;
}
