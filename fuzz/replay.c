/*
 * Runs a fuzz target's LLVMFuzzerTestOneInput() over files, without
 * libFuzzer: `make fuzz-replay` replays the committed corpus and the
 * regression inputs in an ordinary (sanitized) build, so a fixed crash
 * stays fixed.
 *
 *   replay-TARGET FILE|DIR...
 */

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"


/* Present when built with a sanitizer (it is, in make fuzz-replay). */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static size_t       replayed;
static const char  *current;


/* Name the input that failed: sanitizer reports and aborts do not. */
static void
say_current(void)
{
    static const char  msg[] = "replay: failed on input ";

    if (current != NULL) {
        (void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void) !write(STDERR_FILENO, current, strlen(current));
        (void) !write(STDERR_FILENO, "\n", 1);
    }
}


static void
on_abort(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}


static int
replay_file(const char *path)
{
    FILE     *f;
    long      size;
    uint8_t  *buf;

    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        if (f) {
            fclose(f);
        }
        return -1;
    }

    /* exactly size bytes, as libFuzzer passes them: overreads are caught */
    buf = malloc(size ? (size_t) size : 1);
    if (buf == NULL
        || fread(buf, 1, (size_t) size, f) != (size_t) size)
    {
        fprintf(stderr, "replay: %s: read error\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);

    current = path;
    LLVMFuzzerTestOneInput(buf, (size_t) size);
    current = NULL;
    free(buf);
    replayed++;
    return 0;
}


static int
visible(const struct dirent *e)
{
    return e->d_name[0] != '.';
}


static int
replay(const char *path)
{
    int              i, n, rc = 0;
    struct stat      st;
    struct dirent  **list;
    char             sub[4096];

    if (stat(path, &st) != 0) {
        /* an empty regressions/ directory is not in git: nothing to do */
        return errno == ENOENT ? 0 : -1;
    }

    if (!S_ISDIR(st.st_mode)) {
        return replay_file(path);
    }

    n = scandir(path, &list, visible, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }

    for (i = 0; i < n; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", path, list[i]->d_name);
        if (replay(sub) != 0) {
            rc = -1;
        }
        free(list[i]);
    }
    free(list);
    return rc;
}


int
main(int argc, char **argv)
{
    int  i, rc = 0;

    signal(SIGABRT, on_abort);
    if (__sanitizer_set_death_callback != NULL) {
        __sanitizer_set_death_callback(say_current);
    }

    for (i = 1; i < argc; i++) {
        if (replay(argv[i]) != 0) {
            rc = 1;
        }
    }

    printf("%s: %zu inputs replayed\n", argv[0], replayed);
    return rc;
}
