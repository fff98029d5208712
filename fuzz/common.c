/*
 * Helpers shared by the fuzz targets.
 */

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"


static char  tmpdir[PATH_MAX];


static void
remove_tmpdir(void)
{
    DIR            *d;
    struct dirent  *e;
    char            path[PATH_MAX + 256];

    d = opendir(tmpdir);
    if (d == NULL) {
        return;
    }

    /* flat: the targets only create files in it */
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
    }

    closedir(d);
    rmdir(tmpdir);
}


const char *
fuzz_tmpdir(void)
{
    const char  *base;

    if (tmpdir[0] != '\0') {
        return tmpdir;
    }

    /* fuzz/run.sh points TMPDIR into build/fuzz: a crash skips atexit */
    base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }

    snprintf(tmpdir, sizeof(tmpdir), "%s/beian-fuzz.XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL) {
        perror(tmpdir);
        exit(1);
    }

    atexit(remove_tmpdir);
    return tmpdir;
}
