/*
 * beian-sync: the command line (sync-tool/README.md).
 *
 *   pull    provider -> snapshot (+ reload nginx)        cmd_pull.c
 *   build   provider-shaped JSON -> snapshot, offline    cmd_build.c
 *   status  the provider's word on domains, now          cmd_status.c
 *   check   the module's verdict per host                cmd_check.c
 *   info    the snapshot's meta, verified                cmd_info.c
 *   dump    domain <TAB> ICP number, sorted              cmd_dump.c
 */

#include <stdio.h>
#include <string.h>

#include "cli.h"


static const char  usage_main[] =
    "usage: beian-sync {pull|build|status|check|info|dump} [OPTION...] "
    "ARG...\n"
    "       beian-sync -h|--help | -V|--version (COMMAND --help for each)";

static const struct {
    const char  *name;
    int        (*run)(int argc, char **argv);
} commands[] = {
    { "pull",   sync_cmd_pull },
    { "build",  sync_cmd_build },
    { "status", sync_cmd_status },
    { "check",  sync_cmd_check },
    { "info",   sync_cmd_info },
    { "dump",   sync_cmd_dump },
};


int
main(int argc, char **argv)
{
    size_t       i;
    const char  *cmd;

    if (argc < 2) {
        return sync_usage_error(usage_main, "no command given");
    }

    cmd = argv[1];

    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        return sync_version();
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        printf("%s\n", usage_main);
        return sync_flush_stdout();
    }

    /* each command parses its own options, argv[0] being its name */
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(cmd, commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }

    return sync_usage_error(usage_main, "unknown command \"%s\"", cmd);
}
