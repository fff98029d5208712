/*
 * beian-sync status: asks the provider now, for each DOMAIN, what the gate
 * will do after the next pull, next to what the local snapshot says today.
 * What an operator runs when a site is blocked.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "config.h"
#include "domain.h"
#include "names.h"
#include "report.h"
#include "tencent.h"
#include "util.h"


static const char  usage_status[] =
    "usage: beian-sync status [-c|--config FILE] [--snapshot SNAPSHOT] "
    "[--json] DOMAIN...\n"
    "                         [--endpoint URL] [--action NAME] "
    "[--api-version V] [--service S] [--region R]\n"
    "                         [--secret-id ID] [--secret-key KEY] "
    "[--session-token T]\n"
    "                         [--timeout SEC] [--retries N] "
    "[--concurrency N] [--ca-file FILE]\n"
    "                         [--metadata-url URL] [-q|--quiet] "
    "[-h|--help] [-V|--version]";


/* What the snapshot in place says about a host today. */
static const char *
today(beian_snap_t *snap, const char *host, char *out, size_t size)
{
    size_t               len;
    beian_match_t        m;
    beian_status_t       st;
    beian_host_class_t   cls;
    char                 h[BEIAN_HOST_MAX + 1];

    if (snap == NULL) {
        return "none";
    }

    cls = beian_host_normalize(host, strlen(host), h, &len);
    st = beian_match(snap, cls, h, len, BEIAN_MATCH_SUBDOMAINS, &m);
    if (st == BEIAN_FILED) {
        snprintf(out, size, "filed (%.*s)", (int) m.domain_len, m.domain);
        return out;
    }
    return beian_status_names[st];
}


static const sync_icp_status_t *
find(const sync_icp_status_t *st, size_t n, const char *domain)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(st[i].name->domain, domain) == 0) {
            return &st[i];
        }
    }
    return NULL;
}


int
sync_cmd_status(int argc, char **argv)
{
    int                       c, idx, rc, any_blocked = 0, verdict;
    int                       api_ready = 0, json_out = 0;
    char                    **asked = NULL;
    size_t                    i, n = 0;
    json_t                   *out = NULL;
    const char               *config = NULL, *snapshot = NULL, *why;
    beian_snap_t             *snap = NULL;
    sync_api_t                api;
    sync_names_t              names;
    sync_report_t             rep;
    sync_pull_conf_t          conf;
    sync_icp_status_t        *st = NULL;
    const sync_icp_status_t  *s;
    char                      err[BEIAN_SYNC_MSG_MAX];
    char                      now[BEIAN_DOMAIN_MAX + 16];

    static const struct option  opts[] = {
        { "config",        required_argument, NULL, 'c' },
        { "snapshot",      required_argument, NULL, 's' },
        { "json",          no_argument,       NULL, 'j' },
        { "endpoint",      required_argument, NULL, 'k' },
        { "action",        required_argument, NULL, 'k' },
        { "api-version",   required_argument, NULL, 'k' },
        { "service",       required_argument, NULL, 'k' },
        { "region",        required_argument, NULL, 'k' },
        { "secret-id",     required_argument, NULL, 'k' },
        { "secret-key",    required_argument, NULL, 'k' },
        { "session-token", required_argument, NULL, 'k' },
        { "timeout",       required_argument, NULL, 'k' },
        { "retries",       required_argument, NULL, 'k' },
        { "concurrency",   required_argument, NULL, 'k' },
        { "ca-file",       required_argument, NULL, 'k' },
        { "metadata-url",  required_argument, NULL, 'k' },
        { "quiet",         no_argument,       NULL, 'q' },
        { "help",          no_argument,       NULL, 'h' },
        { "version",       no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };

    sync_pull_conf_init(&conf);
    memset(&names, 0, sizeof(names));
    sync_report_init(&rep, "status", stderr, 0);

    while ((c = getopt_long(argc, argv, ":c:qhV", opts, &idx)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 's': snapshot = optarg; break;
        case 'j': json_out = 1; break;

        case 'q':
        case 'k':
            if (sync_conf_flag(&conf, opts, c, idx, optarg, err, sizeof(err))
                != 0)
            {
                rc = sync_usage_error(usage_status, "%s", err);
                goto done;
            }
            break;

        case 'h':
            printf("%s\n", usage_status);
            rc = sync_flush_stdout();
            goto done;

        case 'V':
            rc = sync_version();
            goto done;

        default:
            rc = sync_bad_option(usage_status, c, argv);
            goto done;
        }
    }

    if (optind >= argc) {
        rc = sync_usage_error(usage_status, "no DOMAIN given");
        goto done;
    }

    rc = SYNC_EXIT_USAGE;
    if ((config != NULL
         && sync_pull_conf_load(&conf, config, err, sizeof(err)) != 0)
        || sync_pull_conf_finish(&conf, 1, err, sizeof(err)) != 0)
    {
        fprintf(stderr, "beian-sync: %s\n", err);
        goto done;
    }
    rep.quiet = (int) conf.quiet;

    if (sync_domain_psl_check(err, sizeof(err)) != 0) {
        fprintf(stderr, "beian-sync: %s\n", err);
        rc = SYNC_EXIT_IO;
        goto done;
    }

    /* each DOMAIN, and the registrable domain it is asked as */
    n = (size_t) (argc - optind);
    asked = calloc(n, sizeof(char *));
    if (asked == NULL) {
        rc = SYNC_EXIT_IO;
        goto done;
    }
    for (i = 0; i < n; i++) {
        c = sync_names_add(&names, argv[optind + i], NULL, &why, err,
                           sizeof(err));
        if (c > 0) {
            rc = sync_usage_error(usage_status, "\"%s\": %s",
                                  argv[optind + i], why);
            goto done;
        }
        if (c < 0 || (asked[i] = strdup(names.v[names.n - 1].domain))
                     == NULL)
        {
            fprintf(stderr, "beian-sync: out of memory\n");
            rc = SYNC_EXIT_IO;
            goto done;
        }
    }
    if (sync_names_finish(&names, err, sizeof(err)) != 0) {
        fprintf(stderr, "beian-sync: %s\n", err);
        rc = SYNC_EXIT_IO;
        goto done;
    }

    rc = SYNC_EXIT_IO;
    st = calloc(names.n, sizeof(*st));
    if (st == NULL || sync_http_global_init(err, sizeof(err)) != 0) {
        fprintf(stderr, "beian-sync: %s\n", st ? err : "out of memory");
        goto done;
    }
    if (sync_api_init(&api, &conf, &rep) != 0) {
        fprintf(stderr, "beian-sync: curl_easy_init failed\n");
        goto done;
    }
    api_ready = 1;

    rc = sync_creds_resolve(&api.creds, &conf, NULL, &api.md, err,
                            sizeof(err));
    if (rc == SYNC_EXIT_OK) {
        for (i = 0; i < names.n; i++) {
            st[i].name = &names.v[i];
        }
        rc = sync_tencent_ask(&api, st, names.n, conf.concurrency, err,
                              sizeof(err));
    }
    if (rc != SYNC_EXIT_OK) {
        sync_secret_scrub(err);
        fprintf(stderr, "beian-sync: %s\n", err);
        goto done;
    }

    /* the snapshot is context: without one, the provider still answers */
    if (snapshot == NULL) {
        snapshot = conf.out;
    }
    if (snapshot != NULL && access(snapshot, F_OK) == 0) {
        snap = sync_open_snapshot(snapshot);
    }

    out = json_array();

    for (i = 0; i < n; i++) {
        s = find(st, names.n, asked[i]);
        verdict = sync_tencent_verdict(s);
        any_blocked |= verdict >= 0;

        if (json_out) {
            json_array_append_new(out, json_pack(
                "{s:s, s:s, s:b, s:b, s:b, s:b, s:s, s:s, s:s}",
                "domain", argv[optind + i], "asked", asked[i],
                "GovStatus", s->gov, "LandedStatus", s->landed,
                "AuditTicket", s->audit, "Ban", s->ban,
                "gate", verdict < 0 ? "allowed" : sync_skip_names[verdict],
                "snapshot", today(snap, argv[optind + i], now, sizeof(now)),
                "RequestId", s->request_id));
            continue;
        }

        printf("%s\tasked %s\tGovStatus %s\tLandedStatus %s\t"
               "AuditTicket %s\tBan %s\tafter the next pull: %s\t"
               "snapshot today: %s\tRequestId %s\n",
               argv[optind + i], asked[i],
               s->gov ? "true" : "false", s->landed ? "true" : "false",
               s->audit ? "true" : "false", s->ban ? "true" : "false",
               verdict < 0 ? "allowed" : sync_skip_names[verdict],
               today(snap, argv[optind + i], now, sizeof(now)),
               s->request_id);
    }

    if (json_out && (out == NULL
                     || json_dumpf(out, stdout, JSON_INDENT(2)) != 0
                     || fputc('\n', stdout) == EOF))
    {
        fprintf(stderr, "beian-sync: cannot write the JSON report\n");
        rc = SYNC_EXIT_IO;
        goto done;
    }

    rc = sync_flush_stdout();
    if (rc == SYNC_EXIT_OK && any_blocked) {
        rc = SYNC_EXIT_REFUSED;
    }

done:

    json_decref(out);
    beian_snap_close(snap);
    for (i = 0; asked != NULL && i < n; i++) {
        free(asked[i]);
    }
    free(asked);
    free(st);
    if (api_ready) {
        sync_api_free(&api);
    }
    sync_names_free(&names);
    sync_report_free(&rep);
    sync_pull_conf_free(&conf);
    sync_secrets_clear();
    sync_http_global_cleanup();
    return rc;
}
