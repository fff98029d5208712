/*
 * beian-sync: the command line.  main.c dispatches to one sync_cmd_*() per
 * subcommand, each in its own file (cmd_*.c) with its own options and
 * usage; these are the pieces they share.
 */

#ifndef SYNC_CLI_H
#define SYNC_CLI_H

#include <getopt.h>

#include "beian_write.h"
#include "config.h"
#include "report.h"


/* The subcommands: argv[0] is the command's name.  Each returns an exit
 * code (report.h). */
int sync_cmd_pull(int argc, char **argv);
int sync_cmd_build(int argc, char **argv);
int sync_cmd_status(int argc, char **argv);
int sync_cmd_check(int argc, char **argv);
int sync_cmd_info(int argc, char **argv);
int sync_cmd_dump(int argc, char **argv);

/* "beian-sync: MESSAGE" and the usage on stderr: exit code 1. */
int sync_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* After getopt_long() with ':' first: which option was wrong, as a
 * message, and as a usage error (exit 1). */
void sync_option_problem(int c, char **argv, char *out, size_t size);
int sync_bad_option(const char *usage, int c, char **argv);

/* -V, --version, wherever they appear: the program's version. */
int sync_version(void);

/*
 * A flag that is a key of the config file (getopt_long() returned 'k',
 * opts[idx] naming it, or 'q' for -q): set in c from the flag.  0, or -1
 * with err ("--KEY ...: problem").
 */
int sync_conf_flag(sync_pull_conf_t *c, const struct option *opts, int ch,
    int idx, const char *arg, char *err, size_t err_len);

/* Output written to a pipe or a full disk: said, exit 4. */
int sync_flush_stdout(void);

/* Opens a snapshot or says why not on stderr. */
beian_snap_t *sync_open_snapshot(const char *path);

/*
 * Arguments of the commands that take only --snapshot (info, dump).
 * Returns the opened snapshot, or NULL with *rc set (help or version
 * printed: 0).
 */
beian_snap_t *sync_snapshot_only(int argc, char **argv, const char *usage,
    const char **path, int *rc);

/*
 * The end of build and pull: the text summary (not for a failure before
 * any record was read: the error says it all), the JSON report, stdout.
 */
int sync_finish_report(sync_report_t *rep, int rc, int json);

#endif /* SYNC_CLI_H */
