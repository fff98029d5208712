/*
 * beian-sync: what the subcommands share.
 */

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"


int
sync_usage_error(const char *usage, const char *fmt, ...)
{
    va_list  ap;

    fputs("beian-sync: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s\n", usage);
    return SYNC_EXIT_USAGE;
}


void
sync_option_problem(int c, char **argv, char *out, size_t size)
{
    const char  *opt = argv[optind - 1];

    if (c == ':') {
        snprintf(out, size, "option %s needs an argument", opt);
    } else if (optopt != 0 && strncmp(opt, "--", 2) == 0) {
        /* getopt_long() sets optopt to a long option's value when it was
         * given an argument it does not take */
        snprintf(out, size, "option %s takes no argument", opt);
    } else if (optopt != 0) {
        snprintf(out, size, "unknown option -%c", optopt);
    } else {
        snprintf(out, size, "unknown option %s", opt);
    }
}


int
sync_bad_option(const char *usage, int c, char **argv)
{
    char  msg[BEIAN_SYNC_MSG_MAX];

    sync_option_problem(c, argv, msg, sizeof(msg));
    return sync_usage_error(usage, "%s", msg);
}


int
sync_version(void)
{
    printf("beian-sync %s\n", BEIAN_SYNC_VERSION);
    return sync_flush_stdout();
}


int
sync_conf_flag(sync_pull_conf_t *c, const struct option *opts, int ch,
    int idx, const char *arg, char *err, size_t err_len)
{
    int          rc;
    const char  *name, *value;
    char         msg[BEIAN_SYNC_MSG_MAX];

    /* -q has no long index */
    name = ch == 'q' ? "quiet" : opts[idx].name;
    value = (ch == 'k' && opts[idx].has_arg) ? arg : "true";

    rc = sync_pull_conf_set(c, name, value, SYNC_FROM_FLAG, msg, sizeof(msg));
    if (rc != 0) {
        snprintf(err, err_len, "--%.1000s", msg);
    }
    return rc;
}


int
sync_flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "beian-sync: writing standard output: %s\n",
                strerror(errno ? errno : EIO));
        return SYNC_EXIT_IO;
    }
    return SYNC_EXIT_OK;
}


beian_snap_t *
sync_open_snapshot(const char *path)
{
    beian_snap_t  *snap;
    char           err[BEIAN_ERR_MAX];

    snap = beian_snap_open(path, err, sizeof(err));
    if (snap == NULL) {
        fprintf(stderr, "beian-sync: %s\n", err);
    }
    return snap;
}


beian_snap_t *
sync_snapshot_only(int argc, char **argv, const char *usage, const char **path,
    int *rc)
{
    int  c;

    static const struct option  opts[] = {
        { "snapshot", required_argument, NULL, 's' },
        { "help",     no_argument,       NULL, 'h' },
        { "version",  no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };

    *path = NULL;

    while ((c = getopt_long(argc, argv, ":s:hV", opts, NULL)) != -1) {
        switch (c) {
        case 's': *path = optarg; break;
        case 'h':
            printf("%s\n", usage);
            *rc = sync_flush_stdout();
            return NULL;
        case 'V':
            *rc = sync_version();
            return NULL;
        default:
            *rc = sync_bad_option(usage, c, argv);
            return NULL;
        }
    }

    if (*path == NULL) {
        *rc = sync_usage_error(usage, "--snapshot is required");
        return NULL;
    }
    if (optind < argc) {
        *rc = sync_usage_error(usage, "unexpected argument \"%s\"",
                               argv[optind]);
        return NULL;
    }

    *rc = SYNC_EXIT_IO;
    return sync_open_snapshot(*path);
}


int
sync_finish_report(sync_report_t *rep, int rc, int json)
{
    if (rc == SYNC_EXIT_OK || rep->seen > 0) {
        sync_report_text(rep);
    }

    if (json && sync_report_json(rep, stdout) != 0) {
        fprintf(stderr, "beian-sync: cannot write the JSON report\n");
        if (rc == SYNC_EXIT_OK) {
            rc = SYNC_EXIT_IO;
        }
    }

    if (sync_flush_stdout() != SYNC_EXIT_OK && rc == SYNC_EXIT_OK) {
        rc = SYNC_EXIT_IO;
    }

    return rc;
}
