/*
 * beian-sync: SIGHUP to nginx's master after a new snapshot is in place.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reload.h"
#include "report.h"


int
sync_reload(const char *pidfile, long *pid, char *err, size_t err_len)
{
    int       fd;
    char      buf[32], *end;
    ssize_t   n;
    long      v;

    *pid = 0;

    fd = open(pidfile, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, err_len, "reload-pid %s: %s", pidfile, strerror(errno));
        return SYNC_EXIT_IO;
    }
    do {
        n = read(fd, buf, sizeof(buf) - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);

    if (n < 0) {
        snprintf(err, err_len, "reload-pid %s: %s", pidfile, strerror(errno));
        return SYNC_EXIT_IO;
    }
    buf[n] = '\0';

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'
                     || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
    {
        buf[--n] = '\0';
    }

    errno = 0;
    v = (buf[0] >= '1' && buf[0] <= '9') ? strtol(buf, &end, 10) : 0;
    if (v <= 0 || errno != 0 || *end != '\0' || v > 0x7fffffffL) {
        snprintf(err, err_len, "reload-pid %s: does not hold a process id "
                 "(a positive integer)", pidfile);
        return SYNC_EXIT_IO;
    }
    *pid = v;

    if (kill((pid_t) v, 0) != 0) {
        snprintf(err, err_len, "reload-pid %s: %s", pidfile,
                 errno == ESRCH
                     ? "no such process: is nginx running?"
                     : "not permitted to signal it (run beian-sync as "
                       "root or as nginx's user)");
        return SYNC_EXIT_IO;
    }

    if (kill((pid_t) v, SIGHUP) != 0) {
        snprintf(err, err_len, "reload-pid %s: SIGHUP to pid %ld: %s",
                 pidfile, v, strerror(errno));
        return SYNC_EXIT_IO;
    }

    return SYNC_EXIT_OK;
}


