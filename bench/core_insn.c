/*
 * The core's per-request work, alone, for callgrind: what the modules call
 * for a host (beian_host_parse, then beian_match_host with subdomains and
 * the verdict only), over the hosts of a file, in a loop that callgrind
 * collects (--toggle-collect=measure).  bench/core_insn.py runs it twice,
 * with two loop counts, and divides the difference.
 *
 *   core-insn SNAPSHOT HOSTFILE CALLS [PREFIX]
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
measure(const beian_snap_t *snap, size_t calls)
{
    size_t              i, j, filed;
    beian_host_t        h;
    beian_match_t       m;
    beian_host_class_t  cls;
    char                buf[BEIAN_HOST_MAX + 1];

    filed = 0;
    for (i = 0; i < calls; i++) {
        j = i % nhosts;
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
    size_t         calls, n;
    const char    *prefix;
    beian_snap_t  *snap;
    char           err[BEIAN_ERR_MAX], line[BEIAN_HOST_MAX + 1];

    if (argc < 4) {
        fprintf(stderr, "usage: core-insn SNAPSHOT HOSTFILE CALLS "
                "[PREFIX]\n");
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
    printf("filed %zu of %zu\n", measure(snap, calls), calls);

    beian_snap_close(snap);
    return 0;
}
