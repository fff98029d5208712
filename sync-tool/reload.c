/*
 * beian-sync: SIGHUP to nginx's master after a new snapshot is in place.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "reload.h"
#include "report.h"
#include "util.h"


/* What nginx's master calls itself (it rewrites its command line). */
#define MASTER_TITLE  "nginx: master process"


static ssize_t
read_some(const char *path, char *buf, size_t size)
{
    int      fd, e;
    ssize_t  n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }
    do {
        n = read(fd, buf, size);
    } while (n < 0 && errno == EINTR);
    e = errno;
    close(fd);
    errno = e;
    return n;
}


/*
 * Whether pid is nginx's master: its command line starts with
 * MASTER_TITLE, or, unless it carries another title of nginx's ("nginx:
 * worker process"), its executable is a file named nginx (an nginx that
 * kept its own command line, master_process off; " (deleted)" once the
 * package was upgraded under it).  A stale pid file names whatever took
 * the pid over, pid 1 or a shell: that gets no SIGHUP.  0, or -1 with
 * what was found in what.
 */
static int
is_nginx_master(long pid, char *what, size_t what_len)
{
    int          titled;
    char         path[64], cmd[256], exe[4096], shown[160];
    const char  *base;
    ssize_t      n, m, i;

    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    n = read_some(path, cmd, sizeof(cmd) - 1);
    if (n < 0) {
        snprintf(what, what_len, "%s: %s", path, strerror(errno));
        return -1;
    }

    if ((size_t) n >= sizeof(MASTER_TITLE) - 1
        && memcmp(cmd, MASTER_TITLE, sizeof(MASTER_TITLE) - 1) == 0)
    {
        return 0;
    }

    /* a worker, the cache manager ...: nginx's, never the master; their
     * executable is nginx too, so the title decides */
    titled = (size_t) n >= sizeof("nginx: ") - 1
             && memcmp(cmd, "nginx: ", sizeof("nginx: ") - 1) == 0;

    snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
    m = titled ? -1 : readlink(path, exe, sizeof(exe) - 1);
    if (m > 0) {
        exe[m] = '\0';
        base = strrchr(exe, '/');
        base = base ? base + 1 : exe;
        if (strcmp(base, "nginx") == 0
            || strcmp(base, "nginx (deleted)") == 0)
        {
            return 0;
        }
    }

    /* the arguments are NUL-separated: show them blank-separated */
    for (i = 0; i < n; i++) {
        if (cmd[i] == '\0') {
            cmd[i] = ' ';
        }
    }
    while (n > 0 && cmd[n - 1] == ' ') {
        n--;
    }

    snprintf(what, what_len, "its command line is \"%s\"",
             sync_display(shown, sizeof(shown), cmd, (size_t) n));
    return -1;
}


int
sync_reload(const char *pidfile, long *pid, char *err, size_t err_len)
{
    int       pfd, rc;
    char      buf[32], *end, what[256];
    ssize_t   n;
    long      v;

    *pid = 0;

    n = read_some(pidfile, buf, sizeof(buf) - 1);
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

    /*
     * Hold the process by a pidfd before looking at it, so the signal goes
     * to the process that was checked or to none (the pid cannot be taken
     * over in between).  Kernels before 5.3 have no pidfd: plain kill().
     */
    pfd = -1;
#ifdef SYS_pidfd_open
    pfd = (int) syscall(SYS_pidfd_open, (pid_t) v, 0);
    if (pfd == -1 && errno != ENOSYS) {
        snprintf(err, err_len, "reload-pid %s: pid %ld: %s", pidfile, v,
                 errno == ESRCH ? "no such process: is nginx running?"
                                : strerror(errno));
        return SYNC_EXIT_IO;
    }
#endif

    if (pfd == -1 && kill((pid_t) v, 0) != 0) {
        snprintf(err, err_len, "reload-pid %s: %s", pidfile,
                 errno == ESRCH
                     ? "no such process: is nginx running?"
                     : "not permitted to signal it (run beian-sync as "
                       "root or as nginx's user)");
        return SYNC_EXIT_IO;
    }

    if (is_nginx_master(v, what, sizeof(what)) != 0) {
        snprintf(err, err_len, "reload-pid %s: pid %ld is not an nginx "
                 "master process (%s): a stale pid file? refusing to send "
                 "it SIGHUP", pidfile, v, what);
        rc = SYNC_EXIT_IO;
        goto done;
    }

    rc = SYNC_EXIT_OK;

#ifdef SYS_pidfd_send_signal
    if (pfd != -1) {
        if (syscall(SYS_pidfd_send_signal, pfd, SIGHUP, NULL, 0) != 0) {
            snprintf(err, err_len, "reload-pid %s: SIGHUP to pid %ld: %s",
                     pidfile, v,
                     errno == ESRCH ? "it has exited: is nginx running?"
                     : errno == EPERM ? "not permitted (run beian-sync as "
                                        "root or as nginx's user)"
                     : strerror(errno));
            rc = SYNC_EXIT_IO;
        }
        goto done;
    }
#endif

    if (kill((pid_t) v, SIGHUP) != 0) {
        snprintf(err, err_len, "reload-pid %s: SIGHUP to pid %ld: %s",
                 pidfile, v, strerror(errno));
        rc = SYNC_EXIT_IO;
    }

done:

    if (pfd != -1) {
        close(pfd);
    }
    return rc;
}
