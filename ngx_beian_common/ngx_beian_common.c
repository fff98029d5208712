/*
 * nginx glue shared by the http and the stream beian modules (see
 * ngx_beian_common.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <idn2.h>

#include "ngx_beian_common.h"
#include "version.h"


/*
 * An exempt name with bytes beyond ASCII, as its A-label form (libidn2,
 * IDNA2008): a browser never sends "例子.internal", it sends
 * "xn--fsqu00a.internal".  ASCII names are kept as they are.
 */
static ngx_int_t
ngx_beian_exempt_ascii(ngx_conf_t *cf, ngx_str_t *value, ngx_str_t *directive,
    ngx_str_t *ascii)
{
    int          rc;
    char        *a;
    ngx_uint_t   i;

    *ascii = *value;

    for (i = 0; i < value->len; i++) {
        if (value->data[i] >= 0x80) {
            break;
        }
    }

    if (i == value->len) {
        return NGX_OK;
    }

    /* the configuration's words end in a NUL */
    rc = idn2_to_ascii_8z((char *) value->data, &a, IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid host name \"%V\" in \"%V\" directive "
                           "(IDNA2008: %s)", value, directive,
                           idn2_strerror(rc));
        return NGX_ERROR;
    }

    ascii->len = ngx_strlen(a);
    ascii->data = ngx_pnalloc(cf->pool, ascii->len + 1);
    if (ascii->data != NULL) {
        ngx_memcpy(ascii->data, a, ascii->len + 1);
    }

    idn2_free(a);

    return ascii->data ? NGX_OK : NGX_ERROR;
}


/*
 * Why an exempt name (ascii, normalized: norm, n bytes) is no name a
 * request carries, or says more than an exemption does; NULL if it is
 * fit.  A port would be dropped (an exemption holds on every port); an
 * empty label, a "/" (an address block), spaces, a lone "~" never come
 * in a Host; a "*" was meant as a pattern and would exempt itself alone.
 */
static const char *
ngx_beian_exempt_unfit(ngx_str_t *ascii, const char *norm, size_t n)
{
    u_char      c, *p, *end;
    ngx_uint_t  colons;

    static const char  *host = "a name, or an address: 127.0.0.1, [::1]; "
                               "a regex starts with \"~\"";

    p = ascii->data;
    end = p + ascii->len;
    colons = 0;

    for ( ; p < end; p++) {
        c = *p;

        if (c <= 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '*') {
            return host;
        }

        colons += (c == ':');
    }

    if (ascii->data[0] == '[') {
        /* after the address: nothing, or a port */
        p = ngx_strlchr(ascii->data, end, ']');
        if (p != NULL && p + 1 < end && p[1] == ':') {
            return "no port: an exemption holds on every port";
        }

    } else if (colons > 1) {
        return "an IPv6 address is written in brackets: [::1]";

    } else if (colons == 1) {
        return "no port: an exemption holds on every port";
    }

    if (n == 0 || norm[0] == '.' || ngx_strstr(norm, "..") != NULL
        || (n == 1 && norm[0] == '~'))
    {
        return host;
    }

    return NULL;
}


#if (NGX_PCRE)

/* Why an exemption regex run on probe is a slip: matched (matched), or
 * failed to run; NULL: no match. */
static const char *
ngx_beian_regex_slip(ngx_regex_t *re, ngx_str_t *probe, const char *matched)
{
    ngx_int_t  n;

    n = ngx_regex_exec(re, probe, NULL, 0);

    if (n == NGX_REGEX_NO_MATCHED) {
        return NULL;
    }

    return (n >= 0) ? matched : "fails to run (a PCRE limit?), so it would "
                                "exempt nothing";
}

#endif


char *
ngx_beian_exempt_add(ngx_conf_t *cf, ngx_beian_exempt_t *ex, ngx_str_t *value,
    ngx_str_t *directive)
{
    size_t       n;
    ngx_str_t   *name, ascii;
    const char  *why;
    char         buf[BEIAN_HOST_MAX + 1];

    if (value->len > 1 && value->data[0] == '~') {
#if (NGX_PCRE)
        ngx_str_t              probe;
        ngx_regex_t          **re;
        ngx_regex_compile_t    rc;
        u_char                 errstr[NGX_MAX_CONF_ERRSTR];

        if (value->data[1] == '*') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"~*\" in \"%V\" directive: hosts are "
                               "matched in lower case, write \"~\"",
                               directive);
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

        rc.pattern.data = value->data + 1;
        rc.pattern.len = value->len - 1;
        rc.pool = cf->pool;
        rc.err.len = NGX_MAX_CONF_ERRSTR;
        rc.err.data = errstr;

        if (ngx_regex_compile(&rc) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
            return NGX_CONF_ERROR;
        }

        /*
         * One that matches the empty string matches every host unless it
         * is anchored, and then no host ("~^health|", "~x*", "~^$"); one
         * that matches a name nobody would exempt matches nearly every
         * host ("~^health$|\b", "~.", "~(?!$)"); one that fails to run
         * (a PCRE limit) exempts nothing.  A slip each time.
         */
        ngx_str_set(&probe, "");
        why = ngx_beian_regex_slip(rc.regex, &probe, "matches the empty "
                                   "string, so every host or none");

        if (why == NULL) {
            ngx_str_set(&probe, "zq7k3x9.w4v2jm8");
            why = ngx_beian_regex_slip(rc.regex, &probe, "matches a made-up "
                                       "name (zq7k3x9.w4v2jm8), so nearly "
                                       "every host: anchor it");
        }

        if (why != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "regex \"%V\" in \"%V\" directive %s",
                               value, directive, why);
            return NGX_CONF_ERROR;
        }

        if (ex->regex == NULL) {
            ex->regex = ngx_array_create(cf->pool, 2, sizeof(ngx_regex_t *));
            if (ex->regex == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        re = ngx_array_push(ex->regex);
        if (re == NULL) {
            return NGX_CONF_ERROR;
        }

        *re = rc.regex;

        return NGX_CONF_OK;
#else
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "using regex \"%V\" requires PCRE library", value);
        return NGX_CONF_ERROR;
#endif
    }

    /*
     * Kept as the gate will see the name: normalized, and an IDN in its
     * A-labels, which is what browsers send.  A name no request can carry
     * (an empty label, a lone "~") or one meant as a pattern
     * ("*.internal", which would exempt only that literal name) is refused.
     */
    if (ngx_beian_exempt_ascii(cf, value, directive, &ascii) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    (void) beian_host_normalize((char *) ascii.data, ascii.len, buf, &n);

    why = ngx_beian_exempt_unfit(&ascii, buf, n);
    if (why != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid host name \"%V\" in \"%V\" directive "
                           "(%s)", value, directive, why);
        return NGX_CONF_ERROR;
    }

    if (ex->names == NULL) {
        ex->names = ngx_array_create(cf->pool, 4, sizeof(ngx_str_t));
        if (ex->names == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    name = ngx_array_push(ex->names);
    if (name == NULL) {
        return NGX_CONF_ERROR;
    }

    name->len = n;
    name->data = ngx_pnalloc(cf->pool, n);
    if (name->data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(name->data, buf, n);

    return NGX_CONF_OK;
}


ngx_int_t
ngx_beian_exempt_find(ngx_beian_exempt_t *ex, char *host, size_t len)
{
    ngx_str_t   *name;
    ngx_uint_t   i;

    if (ex->names) {
        name = ex->names->elts;
        for (i = 0; i < ex->names->nelts; i++) {
            if (name[i].len == len && ngx_memcmp(name[i].data, host, len) == 0)
            {
                return 1;
            }
        }
    }

#if (NGX_PCRE)
    if (ex->regex) {
        ngx_str_t      s;
        ngx_regex_t  **re = ex->regex->elts;

        s.data = (u_char *) host;
        s.len = len;

        for (i = 0; i < ex->regex->nelts; i++) {
            if (ngx_regex_exec(re[i], &s, NULL, 0) >= 0) {
                return 1;
            }
        }
    }
#endif

    return 0;
}


/* a server's own list, names and regexes together, replaces the inherited
 * one */
void
ngx_beian_exempt_merge(ngx_beian_exempt_t *conf, ngx_beian_exempt_t *prev)
{
    if (conf->names == NULL
#if (NGX_PCRE)
        && conf->regex == NULL
#endif
       )
    {
        *conf = *prev;
    }
}


char *
ngx_beian_check_parse(ngx_conf_t *cf, ngx_command_t *cmd, ngx_msec_t *check)
{
    ngx_str_t  *value;

    if (*check != NGX_CONF_UNSET_MSEC) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        *check = 0;
        return NGX_CONF_OK;
    }

    *check = ngx_parse_time(&value[1], 0);
    if (*check == (ngx_msec_t) NGX_ERROR || *check == 0) {
        /* 0 would read as "off" */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive "
                           "(an interval, such as 30s, or off)",
                           &value[1], &cmd->name);
        *check = NGX_CONF_UNSET_MSEC;
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_beian_snap_parse(ngx_conf_t *cf, ngx_beian_snap_conf_t *sc)
{
    ngx_str_t  *value;

    if (sc->path.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "requires a file name";
    }

    sc->path = value[1];
    sc->copy = NGX_INVALID_FILE;
    sc->conf_file = cf->conf_file->file.name;
    sc->conf_line = cf->conf_file->line;

    if (ngx_conf_full_name(cf->cycle, &sc->path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "if_missing=block") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\", "
                               "the only one is \"if_missing=block\"",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        sc->if_missing_block = 1;
    }

    return NGX_CONF_OK;
}


/*
 * The master's sealed copies, one per configuration cycle still alive,
 * oldest first, each with the identity of the file it was made from.  A
 * worker forked after a reload inherits the descriptors of older cycles
 * too; it closes them (ngx_beian_snap_drop_copies()), or their memory would
 * live as long as it does.  Each module has its own list (this file is
 * compiled into each).
 */
typedef struct {
    ngx_fd_t                    fd;
    struct stat                 src;
} ngx_beian_copy_t;

static ngx_beian_copy_t  *ngx_beian_copies;
static ngx_uint_t         ngx_beian_ncopies;


static void
ngx_beian_copy_cleanup(void *data)
{
    ngx_fd_t  *fd = data;

    ngx_uint_t  i;

    /* not in the list: a worker closed it already (drop_copies) */
    for (i = 0; i < ngx_beian_ncopies; i++) {
        if (ngx_beian_copies[i].fd == *fd) {
            ngx_memmove(&ngx_beian_copies[i], &ngx_beian_copies[i + 1],
                        (ngx_beian_ncopies - i - 1)
                        * sizeof(ngx_beian_copy_t));
            ngx_beian_ncopies--;
            (void) close(*fd);
            break;
        }
    }

    *fd = NGX_INVALID_FILE;
}


/* Makes fd (from src) this configuration's copy, closed with its pool. */
static ngx_int_t
ngx_beian_keep_copy(ngx_conf_t *cf, ngx_beian_snap_conf_t *sc, ngx_fd_t fd,
    struct stat *src)
{
    ngx_beian_copy_t    *copies;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    copies = ngx_alloc((ngx_beian_ncopies + 1) * sizeof(ngx_beian_copy_t),
                       cf->log);
    if (cln == NULL || copies == NULL) {
        ngx_free(copies);
        return NGX_ERROR;
    }

    if (ngx_beian_ncopies) {
        ngx_memcpy(copies, ngx_beian_copies,
                   ngx_beian_ncopies * sizeof(ngx_beian_copy_t));
    }

    ngx_free(ngx_beian_copies);
    ngx_beian_copies = copies;
    ngx_beian_copies[ngx_beian_ncopies].fd = fd;
    ngx_beian_copies[ngx_beian_ncopies].src = *src;
    ngx_beian_ncopies++;

    sc->copy = fd;
    sc->validated = *src;
    cln->handler = ngx_beian_copy_cleanup;
    cln->data = &sc->copy;

    return NGX_OK;
}


/*
 * Checked at the end of the http or stream block, where nginx would name
 * that line: errors name the beian_snapshot directive's instead.
 */
static ngx_int_t ngx_beian_snap_check_conf(ngx_conf_t *cf,
    ngx_beian_snap_conf_t *sc);


/*
 * Whether this process is "nginx -s stop|quit|reopen": it reads the
 * configuration only to find the master's pid file, and must signal the
 * master whatever the snapshot has become (the master serves the one it
 * checked).  "-s reload" still checks the file: its exit code is how an
 * operator, or systemctl reload, learns that the master will refuse the
 * new configuration.  nginx keeps the signal's name to itself, so it is
 * read from the command line as nginx reads it: "-s NAME" or "-sNAME",
 * after any flags in the same argument.
 */
static ngx_int_t
ngx_beian_signal_only(void)
{
    char     *p, *arg, *val, *end, *sig;
    ssize_t   n;
    ngx_fd_t  fd;
    char      cmd[4096];

    /* "-t -s quit" tests the configuration: the file too */
    if (ngx_process != NGX_PROCESS_SIGNALLER || ngx_test_config) {
        return 0;
    }

    fd = ngx_open_file("/proc/self/cmdline", NGX_FILE_RDONLY, NGX_FILE_OPEN,
                       0);
    if (fd == NGX_INVALID_FILE) {
        return 0;
    }

    n = read(fd, cmd, sizeof(cmd) - 1);
    (void) ngx_close_file(fd);

    if (n <= 0) {
        return 0;
    }

    cmd[n] = '\0';
    end = cmd + n;

#define ngx_beian_next_arg(a)  ((a) + ngx_strlen(a) + 1)

    sig = NULL;

    /* after argv[0]: flags, and options whose value is the rest of their
     * argument or the next one; the last "-s" is the one nginx sends */
    for (arg = ngx_beian_next_arg(cmd); arg < end;
         arg = ngx_beian_next_arg(arg))
    {
        if (arg[0] != '-') {
            continue;
        }

        for (p = arg + 1; *p; p++) {
            if (ngx_strchr("cegps", *p) == NULL) {
                continue;
            }

            val = p[1] ? p + 1 : ngx_beian_next_arg(arg);

            if (*p == 's') {
                sig = (val < end) ? val : NULL;
            }

            if (val != p + 1) {
                arg = val;
            }

            break;
        }
    }

#undef ngx_beian_next_arg

    return sig != NULL && ngx_strcmp(sig, "reload") != 0;
}


ngx_int_t
ngx_beian_snap_validate(ngx_conf_t *cf, ngx_beian_snap_conf_t *sc)
{
    ngx_int_t   rc;
    ngx_str_t   name;
    ngx_uint_t  line;

    if (ngx_beian_signal_only()) {
        return NGX_OK;
    }

    name = cf->conf_file->file.name;
    line = cf->conf_file->line;

    if (sc->conf_file.len) {
        cf->conf_file->file.name = sc->conf_file;
        cf->conf_file->line = sc->conf_line;
    }

    rc = ngx_beian_snap_check_conf(cf, sc);

    cf->conf_file->file.name = name;
    cf->conf_file->line = line;

    return rc;
}


static ngx_int_t
ngx_beian_snap_check_conf(ngx_conf_t *cf, ngx_beian_snap_conf_t *sc)
{
    ngx_fd_t          fd;
    struct stat       src;
    beian_snap_t     *snap;
    ngx_file_info_t   fi;
    char              err[BEIAN_ERR_MAX];

    if (sc->if_missing_block
        && ngx_file_info(sc->path.data, &fi) == NGX_FILE_ERROR
        && ngx_errno == NGX_ENOENT)
    {
        if (ngx_beian_ncopies == 0) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "beian: snapshot \"%V\" does not exist yet, "
                               "every domain is blocked until beian-sync "
                               "writes it (if_missing=block)", &sc->path);
            return NGX_OK;
        }

        /*
         * a reload: the running configuration's copy, the newest, goes on
         * (its identity copied out: keep_copy() moves the list)
         */
        src = ngx_beian_copies[ngx_beian_ncopies - 1].src;
        fd = fcntl(ngx_beian_copies[ngx_beian_ncopies - 1].fd,
                   F_DUPFD_CLOEXEC, 0);
        if (fd == -1 || ngx_beian_keep_copy(cf, sc, fd, &src) != NGX_OK) {
            if (fd != -1) {
                (void) close(fd);
            }
            return NGX_ERROR;
        }

        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "beian: snapshot \"%V\" does not exist, keeping "
                           "the running configuration's snapshot "
                           "(if_missing=block)", &sc->path);
        return NGX_OK;
    }

    fd = beian_snap_copy((char *) sc->path.data, &src, err, sizeof(err));
    if (fd == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "beian: %s", err);
        return NGX_ERROR;
    }

    /* closed again: an LMDB env must not be inherited across fork() */
    snap = beian_snap_open_copy(fd, (char *) sc->path.data, &src, 0, err,
                                sizeof(err));
    if (snap == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "beian: %s", err);
        (void) close(fd);
        return NGX_ERROR;
    }

    beian_snap_close(snap);

    if (ngx_beian_keep_copy(cf, sc, fd, &src) != NGX_OK) {
        (void) close(fd);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_beian_snap_drop_copies(ngx_beian_snap_conf_t *sc)
{
    ngx_uint_t  i, n;

    n = 0;

    for (i = 0; i < ngx_beian_ncopies; i++) {
        if (sc && ngx_beian_copies[i].fd == sc->copy) {
            ngx_beian_copies[n++] = ngx_beian_copies[i];
        } else {
            (void) close(ngx_beian_copies[i].fd);
        }
    }

    ngx_beian_ncopies = n;
}


void
ngx_beian_snap_load(ngx_cycle_t *cycle, ngx_beian_snap_conf_t *sc,
    ngx_beian_snap_state_t *st, ngx_beian_snap_stats_t *stats)
{
    ngx_err_t            e;
    ngx_uint_t           level;
    ngx_atomic_uint_t    old;
    struct stat          fi;
    beian_snap_t        *snap;
    const beian_meta_t  *meta;
    char                 err[BEIAN_ERR_MAX];

    /*
     * A worker starts on its configuration's snapshot: the master's copy,
     * checked when the configuration was read.  So every worker, a
     * respawned one too, agrees with the others whatever the file has
     * become since; the self-check moves on from there.  Sealed, it needs
     * no second check.
     */
    if (sc->copy != NGX_INVALID_FILE && st->copy_cycle != cycle) {
        st->copy_cycle = cycle;

        snap = beian_snap_open_copy(sc->copy, (char *) sc->path.data,
                                    &sc->validated, 1, err, sizeof(err));
        if (snap) {
            goto loaded;
        }

        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "beian: %s; trying the file", err);
    }

    if (stat((char *) sc->path.data, &fi) != 0) {
        e = ngx_errno;

        if (st->failed.st_ino != 0 || st->snap) {
            /* a missing file is no news while we hold a snapshot */
            return;
        }

        st->failed.st_ino = (ino_t) -1;
        level = (sc->if_missing_block && e == NGX_ENOENT) ? NGX_LOG_WARN
                                                          : NGX_LOG_ALERT;
        ngx_log_error(level, cycle->log, e,
                      "beian: snapshot \"%V\" not loaded: every domain is "
                      "blocked until it is", &sc->path);
        return;
    }

    if ((st->snap && beian_snap_same_file(&fi, &st->loaded))
        || beian_snap_same_file(&fi, &st->failed))
    {
        return;
    }

    /* any other file: a copy of our own, checked whatever it looks like */
    snap = beian_snap_open((char *) sc->path.data, err, sizeof(err));

    if (snap == NULL) {
        st->failed = fi;
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0, "beian: %s; %s", err,
                      st->snap ? "keeping the previous snapshot"
                               : "every domain is blocked");

        /* every worker refuses the same file: count it once */
        old = stats ? stats->refused : 0;

        if (stats && old != (ngx_atomic_uint_t) fi.st_ino
            && ngx_atomic_cmp_set(&stats->refused, old,
                                  (ngx_atomic_uint_t) fi.st_ino))
        {
            ngx_atomic_fetch_add(&stats->reload_failures, 1);
        }
        return;
    }

loaded:

    beian_snap_close(st->snap);
    st->snap = snap;
    ngx_memzero(&st->failed, sizeof(struct stat));

    (void) beian_snap_fstat(snap, &st->loaded);

    meta = beian_snap_meta(snap);

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "beian: loaded snapshot \"%V\": %uL domains, instance %s, "
                  "generated at %L (beian gate " BEIAN_VERSION ")", &sc->path,
                  (uint64_t) meta->record_count, meta->instance_id,
                  (int64_t) meta->generated_at);

    if (stats) {
        stats->records = (ngx_atomic_uint_t) meta->record_count;
        stats->generated_at = (ngx_atomic_uint_t) meta->generated_at;
        stats->loaded_at = (ngx_atomic_uint_t) ngx_time();
    }
}


u_char *
ngx_beian_shown(u_char *dst, ngx_str_t *name)
{
    return (u_char *) ngx_escape_uri(dst, name->data,
                                     ngx_min(name->len, BEIAN_SNI_MAX),
                                     NGX_ESCAPE_URI_COMPONENT);
}


ngx_beian_stream_shm_t *
ngx_beian_stream_zone(void)
{
    ngx_uint_t               i;
    ngx_list_part_t         *part;
    ngx_shm_zone_t          *zone;
    ngx_beian_stream_shm_t  *shm;

    static ngx_str_t  name = ngx_string(NGX_BEIAN_STREAM_ZONE);

    part = &((ngx_cycle_t *) ngx_cycle)->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }
            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].shm.name.len == name.len
            && ngx_strncmp(zone[i].shm.name.data, name.data, name.len) == 0)
        {
            shm = zone[i].data;
            return (shm && shm->magic == NGX_BEIAN_STREAM_MAGIC) ? shm : NULL;
        }
    }
}


u_char *
ngx_beian_stream_metrics(u_char *p)
{
    ngx_uint_t               i;
    ngx_beian_stream_shm_t  *shm;

    shm = ngx_beian_stream_zone();
    if (shm == NULL) {
        return p;
    }

    p = ngx_sprintf(p,
        "# HELP beian_stream_connections_total Stream connections checked "
        "by the beian gate, by verdict and what was done.\n"
        "# TYPE beian_stream_connections_total counter\n");

    for (i = 0; i < BEIAN_NSTATUS; i++) {
        p = ngx_sprintf(p, "beian_stream_connections_total{status=\"%s\","
                        "action=\"accepted\"} %uA\n"
                        "beian_stream_connections_total{status=\"%s\","
                        "action=\"closed\"} %uA\n",
                        beian_status_names[i], shm->accepted[i],
                        beian_status_names[i], shm->closed[i]);
    }

    return ngx_sprintf(p,
        "# HELP beian_stream_would_close_total Stream connections let "
        "through by report mode that enforce mode would close.\n"
        "# TYPE beian_stream_would_close_total counter\n"
        "beian_stream_would_close_total %uA\n"
        "# HELP beian_stream_snapshot_records Domains in the stream "
        "snapshot last loaded.\n"
        "# TYPE beian_stream_snapshot_records gauge\n"
        "beian_stream_snapshot_records %uA\n"
        "# HELP beian_stream_snapshot_loaded_timestamp_seconds When a worker "
        "last loaded the stream snapshot.\n"
        "# TYPE beian_stream_snapshot_loaded_timestamp_seconds gauge\n"
        "beian_stream_snapshot_loaded_timestamp_seconds %uA\n"
        "# HELP beian_stream_snapshot_reload_failures_total Stream "
        "snapshots refused at reload or by the periodic check.\n"
        "# TYPE beian_stream_snapshot_reload_failures_total counter\n"
        "beian_stream_snapshot_reload_failures_total %uA\n",
        shm->would_close, shm->snap.records, shm->snap.loaded_at,
        shm->snap.reload_failures);
}


u_char *
ngx_beian_stream_metrics_json(u_char *p)
{
    ngx_uint_t               i;
    ngx_beian_stream_shm_t  *shm;

    shm = ngx_beian_stream_zone();
    if (shm == NULL) {
        return p;
    }

    p = ngx_sprintf(p, ",\"stream\":{\"connections\":{");

    for (i = 0; i < BEIAN_NSTATUS; i++) {
        p = ngx_sprintf(p, "%s\"%s\":{\"accepted\":%uA,\"closed\":%uA}",
                        i ? "," : "", beian_status_names[i],
                        shm->accepted[i], shm->closed[i]);
    }

    return ngx_sprintf(p, "},\"would_close\":%uA,\"snapshot_records\":%uA,"
                       "\"snapshot_loaded_at\":%uA,"
                       "\"snapshot_reload_failures\":%uA}",
                       shm->would_close, shm->snap.records,
                       shm->snap.loaded_at, shm->snap.reload_failures);
}
