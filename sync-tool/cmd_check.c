/*
 * beian-sync check: the module's verdict per host, from the core alone.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "cli.h"
#include "util.h"


static const char  usage_check[] =
    "usage: beian-sync check -s|--snapshot SNAPSHOT [--no-subdomains] "
    "[--ip-host allow|block] [--] HOST...\n"
    "       beian-sync check -h|--help | -V|--version";

int
sync_cmd_check(int argc, char **argv)
{
    int                  c, rc, allowed, all = 1;
    char                *a;
    beian_host_t         parsed;
    unsigned             flags = BEIAN_MATCH_SUBDOMAINS;
    const char          *path = NULL;
    beian_snap_t        *snap;
    beian_match_t        m;
    beian_status_t       st;
    beian_host_class_t   cls;
    char                 host[BEIAN_HOST_MAX + 1], shown[BEIAN_HOST_MAX + 4];
    char                 icp[BEIAN_ICP_MAX + 4];

    static const struct option  opts[] = {
        { "snapshot",      required_argument, NULL, 's' },
        { "no-subdomains", no_argument,       NULL, 'n' },
        { "ip-host",       required_argument, NULL, 'p' },
        { "help",          no_argument,       NULL, 'h' },
        { "version",       no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };

    while ((c = getopt_long(argc, argv, ":s:hV", opts, NULL)) != -1) {
        switch (c) {
        case 's': path = optarg; break;
        case 'n': flags &= ~(unsigned) BEIAN_MATCH_SUBDOMAINS; break;

        case 'p':
            if (strcmp(optarg, "allow") == 0) {
                flags &= ~(unsigned) BEIAN_MATCH_IP_BLOCK;
            } else if (strcmp(optarg, "block") == 0) {
                flags |= BEIAN_MATCH_IP_BLOCK;
            } else {
                return sync_usage_error(usage_check, "--ip-host \"%s\": "
                                        "expected allow or block", optarg);
            }
            break;

        case 'h':
            printf("%s\n", usage_check);
            return sync_flush_stdout();

        case 'V':
            return sync_version();

        default:
            return sync_bad_option(usage_check, c, argv);
        }
    }

    if (path == NULL) {
        return sync_usage_error(usage_check, "--snapshot is required");
    }
    if (optind >= argc) {
        return sync_usage_error(usage_check, "no HOST given");
    }

    snap = sync_open_snapshot(path);
    if (snap == NULL) {
        return SYNC_EXIT_IO;
    }

    for ( ; optind < argc; optind++) {
        const char  *h = argv[optind];

        /*
         * The verdict is the core's alone, from the call nginx makes
         * (beian_host_verdict()); the filed domain and its record from the
         * match with the record, which finds the longest filed suffix.
         */
        st = (beian_status_t) beian_host_verdict(snap, h, strlen(h), flags,
                                                 host).status;
        cls = beian_host_parse(h, strlen(h), host, &parsed);
        if (beian_match_host(snap, cls, &parsed, flags, &m) != st) {
            m.domain = NULL;
            m.domain_len = 0;
            m.rec.icp_len = 0;
        }
        allowed = beian_allowed(st, flags);
        all &= allowed;

        if (m.domain) {
            sync_display(icp, sizeof(icp), m.rec.icp, m.rec.icp_len);
        }

        printf("%s\t%s\t%.*s\t%s\n",
               sync_display(shown, sizeof(shown), h, strlen(h)),
               beian_status_names[st],
               m.domain ? (int) m.domain_len : 1,
               m.domain ? m.domain : "-",
               m.domain ? icp : "-");

        /* browsers send A-labels: a U-label host never matches, say why */
        if (st == BEIAN_UNFILED && cls == BEIAN_HOST_INVALID
            && idn2_to_ascii_8z(h, &a, IDN2_NONTRANSITIONAL) == IDN2_OK)
        {
            if (strcmp(a, h) != 0) {
                fprintf(stderr, "beian-sync: note: %s is not an ASCII host "
                        "name; browsers send %s\n", shown, a);
            }
            idn2_free(a);
        }
    }

    beian_snap_close(snap);

    rc = sync_flush_stdout();
    if (rc != SYNC_EXIT_OK) {
        return rc;
    }
    return all ? SYNC_EXIT_OK : SYNC_EXIT_REFUSED;
}
