/*
 * beian-sync pull: the provider -> snapshot (+ reload nginx).  Options are
 * the config file's keys (config.c); the work is in pull.c.
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "http.h"
#include "icp.h"
#include "pull.h"
#include "util.h"


static const char  usage_pull[] =
    "usage: beian-sync pull [-c|--config FILE] [--source tencent|records] "
    "[--instance-id ID|auto]\n"
    "                       [--out SNAPSHOT] [--domain \"NAME [ICP]\"]... "
    "[--domains-from nginx]\n"
    "                       [--nginx PATH] [--nginx-conf FILE] "
    "[--concurrency N]\n"
    "                       [--endpoint URL] [--action NAME] "
    "[--api-version V] [--service S] [--region R]\n"
    "                       [--secret-id ID] [--secret-key KEY] "
    "[--session-token T]\n"
    "                       [--reload-pid PIDFILE] [--max-shrink PCT] "
    "[--force] [--allow-shared-dir]\n"
    "                       [--timeout SEC] [--retries N] [--page-size N] "
    "[--ca-file FILE]\n"
    "                       [--metadata-url URL] [--json] [-q|--quiet] "
    "[-h|--help] [-V|--version]";

int
sync_cmd_pull(int argc, char **argv)
{
    int                c, idx, rc, json;
    const char        *config = NULL;
    sync_report_t      rep;
    sync_pull_conf_t   conf;
    char               err[BEIAN_SYNC_MSG_MAX], usage[BEIAN_SYNC_MSG_MAX];
    char               flag_err[BEIAN_SYNC_MSG_MAX - 8];

    /* every key but config is set through sync_pull_conf_set(), by the
     * same name the config file uses */
    static const struct option  opts[] = {
        { "config",        required_argument, NULL, 'c' },
        { "endpoint",      required_argument, NULL, 'k' },
        { "action",        required_argument, NULL, 'k' },
        { "api-version",   required_argument, NULL, 'k' },
        { "service",       required_argument, NULL, 'k' },
        { "region",        required_argument, NULL, 'k' },
        { "instance-id",   required_argument, NULL, 'k' },
        { "out",           required_argument, NULL, 'k' },
        { "reload-pid",    required_argument, NULL, 'k' },
        { "max-shrink",    required_argument, NULL, 'k' },
        { "force",         no_argument,       NULL, 'k' },
        { "allow-shared-dir", no_argument,    NULL, 'k' },
        { "timeout",       required_argument, NULL, 'k' },
        { "retries",       required_argument, NULL, 'k' },
        { "page-size",     required_argument, NULL, 'k' },
        { "ca-file",       required_argument, NULL, 'k' },
        { "metadata-url",  required_argument, NULL, 'k' },
        { "secret-id",     required_argument, NULL, 'k' },
        { "secret-key",    required_argument, NULL, 'k' },
        { "session-token", required_argument, NULL, 'k' },
        { "json",          no_argument,       NULL, 'k' },
        { "source",        required_argument, NULL, 'k' },
        { "domain",        required_argument, NULL, 'k' },
        { "domains-from",  required_argument, NULL, 'k' },
        { "nginx",         required_argument, NULL, 'k' },
        { "nginx-conf",    required_argument, NULL, 'k' },
        { "concurrency",   required_argument, NULL, 'k' },
        { "quiet",         no_argument,       NULL, 'q' },
        { "help",          no_argument,       NULL, 'h' },
        { "version",       no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };

    sync_pull_conf_init(&conf);
    usage[0] = '\0';

    /* on a bad option, go on reading the others: --json may follow, and
     * it wants the error as a report too */
    while ((c = getopt_long(argc, argv, ":c:qhV", opts, &idx)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;

        case 'q':
        case 'k':
            if (sync_conf_flag(&conf, opts, c, idx, optarg, flag_err,
                               sizeof(flag_err)) != 0
                && usage[0] == '\0')
            {
                snprintf(usage, sizeof(usage), "%s", flag_err);
            }
            break;

        case 'h':
            sync_pull_conf_free(&conf);
            printf("%s\n", usage_pull);
            return sync_flush_stdout();

        case 'V':
            sync_pull_conf_free(&conf);
            return sync_version();

        default:
            if (usage[0] != '\0') {
                break;
            }
            sync_option_problem(c, argv, usage, sizeof(usage));
            break;
        }
    }

    if (usage[0] == '\0' && optind < argc) {
        snprintf(usage, sizeof(usage), "unexpected argument \"%s\"",
                 argv[optind]);
    }

    json = (int) conf.json;

    if (usage[0] != '\0') {
        rc = sync_usage_error(usage_pull, "%s", usage);
        if (json) {
            /* no diag: the message was just printed */
            sync_report_init(&rep, "pull", NULL, 1);
            rep.pull = 1;
            sync_report_error(&rep, rc, "%s", usage);
            (void) sync_finish_report(&rep, rc, json);
            sync_report_free(&rep);
        }
        sync_pull_conf_free(&conf);
        return rc;
    }

    /* flags win over the file whatever the order: the file is read last
     * and does not override them */
    rc = SYNC_EXIT_OK;
    if (config != NULL
        && sync_pull_conf_load(&conf, config, err, sizeof(err)) != 0)
    {
        rc = SYNC_EXIT_USAGE;
    }
    if (rc == SYNC_EXIT_OK
        && sync_pull_conf_finish(&conf, 0, err, sizeof(err)) != 0)
    {
        rc = SYNC_EXIT_USAGE;
    }

    json = (int) conf.json;
    sync_report_init(&rep, "pull", stderr, (int) conf.quiet);
    rep.pull = 1;

    if (rc != SYNC_EXIT_OK) {
        /* a configuration problem: said, in the JSON report too */
        sync_report_error(&rep, rc, "%s", err);
    } else {
        rc = sync_pull(&conf, &rep);
    }

    rc = sync_finish_report(&rep, rc, json);

    sync_report_free(&rep);
    sync_pull_conf_free(&conf);
    sync_secrets_clear();
    sync_icp_cleanup();
    sync_http_global_cleanup();
    return rc;
}
