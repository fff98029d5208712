/*
 * nginx glue shared by ngx_http_beian_module and ngx_stream_beian_module:
 * what does not depend on the subsystem.  Every function takes its state
 * from the caller: both modules may be loaded into one nginx, each with its
 * own copy of this file.
 */

#ifndef _NGX_BEIAN_COMMON_H_INCLUDED_
#define _NGX_BEIAN_COMMON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "beian.h"


/* in each module its own copy, as the core (beian.h) */
#if defined __GNUC__
#pragma GCC visibility push(hidden)
#endif


/* The path every request takes, in one piece; the rare ones out of it. */
#if defined(__GNUC__)
#define ngx_beian_hot       inline __attribute__((always_inline))
#define ngx_beian_noinline  __attribute__((noinline))
#else
#define ngx_beian_hot       ngx_inline
#define ngx_beian_noinline
#endif


/* beian_exempt_host: names, kept normalized, and ~regexes */
typedef struct {
    ngx_array_t                *names;            /* of ngx_str_t */
#if (NGX_PCRE)
    ngx_array_t                *regex;            /* of ngx_regex_t * */
#endif
} ngx_beian_exempt_t;


/* beian_snapshot, as configured, and this configuration's copy of it */
typedef struct {
    ngx_str_t                   path;
    ngx_flag_t                  if_missing_block;
    ngx_fd_t                    copy;             /* the master's sealed copy,
                                                     NGX_INVALID_FILE: none */
    struct stat                 validated;        /* the file it came from */
    ngx_str_t                   conf_file;        /* where the directive */
    ngx_uint_t                  conf_line;        /* stands, for errors */
} ngx_beian_snap_conf_t;


/* Snapshot figures, in a module's shared memory. */
typedef struct {
    ngx_atomic_t                records;
    ngx_atomic_t                generated_at;
    ngx_atomic_t                loaded_at;
    ngx_atomic_t                reload_failures;
    ngx_atomic_t                refused;          /* inode last refused */
} ngx_beian_snap_stats_t;


/* A worker's snapshot. */
typedef struct {
    beian_snap_t               *snap;
    ngx_cycle_t                *copy_cycle;       /* whose copy it opened */
    struct stat                 loaded;           /* identity of snap */
    struct stat                 failed;           /* last refused file */
} ngx_beian_snap_state_t;


/*
 * The stream module's counters: a shared zone of this name, readable by
 * the http module's beian_metrics handler.
 */
#define NGX_BEIAN_STREAM_ZONE   "beian_stream_metrics"
#define NGX_BEIAN_STREAM_MAGIC  0x6d74736e61696562ULL  /* "beiansts" */

typedef struct {
    uint64_t                    magic;
    ngx_atomic_t                accepted[BEIAN_NSTATUS];
    ngx_atomic_t                closed[BEIAN_NSTATUS];
    ngx_atomic_t                would_close;
    ngx_beian_snap_stats_t      snap;
} ngx_beian_stream_shm_t;


char *ngx_beian_exempt_add(ngx_conf_t *cf, ngx_beian_exempt_t *ex,
    ngx_str_t *value, ngx_str_t *directive);
ngx_int_t ngx_beian_exempt_find(ngx_beian_exempt_t *ex, char *host,
    size_t len);

/*
 * Whether host is exempt; most servers exempt nothing, and pay no call.
 * No name (no Host, an empty server name) is never exempt, whatever a
 * regex would match.
 */
static ngx_inline ngx_int_t
ngx_beian_exempt_match(ngx_beian_exempt_t *ex, char *host, size_t len)
{
    if (len == 0) {
        return 0;
    }

#if (NGX_PCRE)
    if (ex->regex != NULL) {
        return ngx_beian_exempt_find(ex, host, len);
    }
#endif

    return ex->names != NULL && ngx_beian_exempt_find(ex, host, len);
}
/* a server without a list of its own inherits the enclosing one whole */
void ngx_beian_exempt_merge(ngx_beian_exempt_t *conf,
    ngx_beian_exempt_t *prev);

/* "beian_snapshot_check off | TIME" */
char *ngx_beian_check_parse(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_msec_t *check);

/* "beian_snapshot FILE [if_missing=block]"; sc->copy is set up too */
char *ngx_beian_snap_parse(ngx_conf_t *cf, ngx_beian_snap_conf_t *sc);
/*
 * In the master, for a configuration: reads the file into sealed memory,
 * checks the copy and keeps it for the configuration's workers (closed
 * with the cycle).  NGX_ERROR, logged, fails nginx -t and the reload.  A
 * missing file under if_missing=block is no error: the running
 * configuration's copy goes on, or there is none.
 */
ngx_int_t ngx_beian_snap_validate(ngx_conf_t *cf, ngx_beian_snap_conf_t *sc);
/* In a new worker: the copies of other configurations are closed. */
void ngx_beian_snap_drop_copies(ngx_beian_snap_conf_t *sc);
/*
 * In a worker: its configuration's copy first, then the file whenever it
 * changes, copied and checked; never fails (a refused file is logged once
 * and the previous snapshot stays).
 */
void ngx_beian_snap_load(ngx_cycle_t *cycle, ngx_beian_snap_conf_t *sc,
    ngx_beian_snap_state_t *st, ngx_beian_snap_stats_t *stats);

/* a name a client sent, for a log line: escaped, at most 255 bytes */
#define NGX_BEIAN_SHOWN_MAX  (3 * BEIAN_SNI_MAX)
u_char *ngx_beian_shown(u_char *dst, ngx_str_t *name);

/* the stream counters, for the http metrics handler */
#define NGX_BEIAN_STREAM_METRICS_MAX  (2048 + 2 * BEIAN_NSTATUS * 96)
u_char *ngx_beian_stream_metrics(u_char *p);
/* the same as members of a JSON object, with a leading comma, or nothing */
u_char *ngx_beian_stream_metrics_json(u_char *p);
/* the running cycle's stream counters, if the stream gate is on */
ngx_beian_stream_shm_t *ngx_beian_stream_zone(void);


#if defined __GNUC__
#pragma GCC visibility pop
#endif

#endif /* _NGX_BEIAN_COMMON_H_INCLUDED_ */
