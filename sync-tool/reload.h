/*
 * beian-sync: telling nginx that a new snapshot is in place.
 */

#ifndef SYNC_RELOAD_H
#define SYNC_RELOAD_H

#include <stddef.h>


/*
 * SIGHUP to the pid in pidfile: a positive decimal integer (and a
 * newline), naming a process that exists (kill(pid, 0)).  *pid is set
 * once read.  SYNC_EXIT_OK, or SYNC_EXIT_IO with err.
 */
int sync_reload(const char *pidfile, long *pid, char *err, size_t err_len);

#endif /* SYNC_RELOAD_H */
