/*
 * beian-sync dump: domain <TAB> ICP number, sorted.
 */

#include <stdio.h>

#include "cli.h"
#include "util.h"


static const char  usage_dump[] =
    "usage: beian-sync dump -s|--snapshot SNAPSHOT [-h|--help] "
    "[-V|--version]";

static int
print_entry(const char *domain, size_t len, const beian_rec_t *rec,
    void *data)
{
    char  icp[BEIAN_ICP_MAX + 4];

    (void) data;

    printf("%.*s\t%s\n", (int) len, domain,
           sync_display(icp, sizeof(icp), rec->icp, rec->icp_len));
    return ferror(stdout) ? 1 : 0;
}


int
sync_cmd_dump(int argc, char **argv)
{
    int            c, rc = SYNC_EXIT_OK;
    const char    *path = NULL;
    beian_snap_t  *snap;
    char           err[BEIAN_ERR_MAX];

    snap = sync_snapshot_only(argc, argv, usage_dump, &path, &rc);
    if (snap == NULL) {
        return rc;
    }
    rc = SYNC_EXIT_OK;

    /* domain keys are ASCII and LMDB keeps them in byte order: sorted */
    if (beian_snap_foreach(snap, print_entry, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "beian-sync: %s: %s\n", path, err);
        rc = SYNC_EXIT_REFUSED;
    }

    beian_snap_close(snap);

    c = sync_flush_stdout();
    return rc != SYNC_EXIT_OK ? rc : c;
}
