/*
 * beian-sync: the command line (sync-tool/README.md).
 *
 *   pull   provider -> snapshot (+ reload nginx)
 *   build  provider-shaped JSON -> snapshot, offline
 *   check  the module's verdict per host, from the core alone
 *   info   the snapshot's meta
 *   dump   domain <TAB> ICP number, sorted
 */

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <idn2.h>

#include "beian.h"
#include "config.h"
#include "doc.h"
#include "http.h"
#include "icp.h"
#include "publish.h"
#include "pull.h"
#include "records.h"
#include "report.h"
#include "util.h"


static const char  usage_main[] =
    "usage: beian-sync {pull|build|check|info|dump} [OPTION...] ARG... "
    "(COMMAND --help for each; -V for the version)";

static const char  usage_build[] =
    "usage: beian-sync build --records FILE --instance-id ID --out SNAPSHOT "
    "[--strict] [--force] [--max-shrink PCT] [--source TEXT] [--json] "
    "[--quiet]";

static const char  usage_pull[] =
    "usage: beian-sync pull [--config FILE] [--instance-id ID|auto] "
    "[--out SNAPSHOT]\n"
    "                       [--endpoint URL] [--action NAME] [--version V] "
    "[--service S] [--region R]\n"
    "                       [--secret-id ID] [--secret-key KEY] "
    "[--session-token T]\n"
    "                       [--reload-pid PIDFILE] [--max-shrink PCT] "
    "[--force]\n"
    "                       [--timeout SEC] [--retries N] [--page-size N] "
    "[--ca-file FILE]\n"
    "                       [--metadata-url URL] [--json] [--quiet]";

static const char  usage_check[] =
    "usage: beian-sync check --snapshot SNAPSHOT [--no-subdomains] "
    "[--ip-host allow|block] HOST...";

static const char  usage_info[] =
    "usage: beian-sync info --snapshot SNAPSHOT";

static const char  usage_dump[] =
    "usage: beian-sync dump --snapshot SNAPSHOT";


static int
usage_error(const char *usage, const char *fmt, ...)
{
    va_list  ap;

    fputs("beian-sync: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s\n", usage);
    return SYNC_EXIT_USAGE;
}


/* getopt_long() with ':' first: say exactly which option was wrong. */
static int
bad_option(const char *usage, int c, char **argv)
{
    const char  *opt = argv[optind - 1];

    if (c == ':') {
        return usage_error(usage, "option %s needs an argument", opt);
    }
    if (optopt != 0) {
        return usage_error(usage, "unknown option -%c", optopt);
    }
    return usage_error(usage, "unknown option %s", opt);
}


/* Output written to a pipe or a full disk: say so and fail. */
static int
flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "beian-sync: writing standard output: %s\n",
                strerror(errno ? errno : EIO));
        return SYNC_EXIT_IO;
    }
    return SYNC_EXIT_OK;
}


static beian_snap_t *
open_snapshot(const char *path)
{
    beian_snap_t  *snap;
    char           err[BEIAN_ERR_MAX];

    snap = beian_snap_open(path, err, sizeof(err));
    if (snap == NULL) {
        fprintf(stderr, "beian-sync: %s\n", err);
    }
    return snap;
}


/*
 * Arguments of the commands that take only --snapshot (info, dump).
 * Returns the opened snapshot, or NULL with *rc set (help printed: 0).
 */
static beian_snap_t *
snapshot_only(int argc, char **argv, const char *usage, const char **path,
    int *rc)
{
    int  c;

    static const struct option  opts[] = {
        { "snapshot", required_argument, NULL, 's' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    *path = NULL;

    while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': *path = optarg; break;
        case 'h':
            printf("%s\n", usage);
            *rc = flush_stdout();
            return NULL;
        default:
            *rc = bad_option(usage, c, argv);
            return NULL;
        }
    }

    if (*path == NULL) {
        *rc = usage_error(usage, "--snapshot is required");
        return NULL;
    }
    if (optind < argc) {
        *rc = usage_error(usage, "unexpected argument \"%s\"", argv[optind]);
        return NULL;
    }

    *rc = SYNC_EXIT_IO;
    return open_snapshot(*path);
}


/*
 * The end of build and pull: the text summary (not for a failure before
 * any record was read: the error says it all), the JSON report, stdout.
 */
static int
finish_report(sync_report_t *rep, int rc, int json)
{
    if (rc == SYNC_EXIT_OK || rep->seen > 0) {
        sync_report_text(rep);
    }

    if (json && sync_report_json(rep, stdout) != 0) {
        fprintf(stderr, "beian-sync: cannot write the JSON report\n");
        if (rc == SYNC_EXIT_OK) {
            rc = SYNC_EXIT_IO;
        }
    }

    if (flush_stdout() != SYNC_EXIT_OK && rc == SYNC_EXIT_OK) {
        rc = SYNC_EXIT_IO;
    }

    return rc;
}


/* ---- build -------------------------------------------------------- */

static int
cmd_build(int argc, char **argv)
{
    int              c, rc, lock_fd = -1, strict = 0, json = 0, quiet = 0;
    size_t           n = 0;
    const char      *records = NULL, *msg;
    sync_acc_t      *acc = NULL;
    beian_entry_t   *entries;
    sync_doc_t       doc;
    sync_doc_rc_t    drc;
    sync_report_t    rep;
    sync_publish_t   p;
    char             source[sizeof(((beian_meta_t *) 0)->source)];
    char             err[BEIAN_SYNC_MSG_MAX];

    static const struct option  opts[] = {
        { "records",     required_argument, NULL, 'r' },
        { "instance-id", required_argument, NULL, 'i' },
        { "out",         required_argument, NULL, 'o' },
        { "source",      required_argument, NULL, 's' },
        { "max-shrink",  required_argument, NULL, 'm' },
        { "strict",      no_argument,       NULL, 'S' },
        { "force",       no_argument,       NULL, 'f' },
        { "json",        no_argument,       NULL, 'j' },
        { "quiet",       no_argument,       NULL, 'q' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    memset(&p, 0, sizeof(p));
    p.max_shrink = 50;
    source[0] = '\0';

    while ((c = getopt_long(argc, argv, ":r:i:o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'r': records = optarg; break;
        case 'i': p.instance_id = optarg; break;
        case 'o': p.snapshot = optarg; break;
        case 'S': strict = 1; break;
        case 'f': p.force = 1; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;

        case 's':
            if (strlen(optarg) >= sizeof(source)) {
                return usage_error(usage_build, "--source: longer than %zu "
                                   "bytes", sizeof(source) - 1);
            }
            if (sync_has_control(optarg)) {
                return usage_error(usage_build, "--source: control "
                                   "characters are not allowed");
            }
            strcpy(source, optarg);
            break;

        case 'm':
            if (sync_parse_uint(optarg, 0, 100, &p.max_shrink) != 0) {
                return usage_error(usage_build, "--max-shrink \"%s\": "
                                   "expected a percentage 0..100", optarg);
            }
            break;

        case 'h':
            printf("%s\n", usage_build);
            return flush_stdout();

        default:
            return bad_option(usage_build, c, argv);
        }
    }

    if (optind < argc) {
        return usage_error(usage_build, "unexpected argument \"%s\"",
                           argv[optind]);
    }
    if (records == NULL) {
        return usage_error(usage_build, "--records FILE is required");
    }
    if (p.instance_id == NULL) {
        return usage_error(usage_build, "--instance-id ID is required");
    }
    if (p.snapshot == NULL) {
        return usage_error(usage_build, "--out SNAPSHOT is required");
    }

    msg = sync_instance_id_check(p.instance_id);
    if (msg != NULL) {
        return usage_error(usage_build, "--instance-id \"%s\": %s",
                           p.instance_id, msg);
    }

    if (source[0] == '\0') {
        snprintf(err, sizeof(err), "file:%s", records);
        sync_display(source, sizeof(source), err, strlen(err));
    }
    p.source = source;

    sync_report_init(&rep, "build", stderr, quiet);
    rep.strict = strict;
    rep.instance_id = p.instance_id;
    rep.records = records;
    rep.snapshot = p.snapshot;
    rep.source = source;

    rc = sync_lock(p.snapshot, &lock_fd, &rep);
    if (rc != SYNC_EXIT_OK) {
        goto done;
    }

    acc = sync_acc_new(p.instance_id, &rep);
    if (acc == NULL) {
        sync_report_error(&rep, SYNC_EXIT_IO, "out of memory");
        rc = SYNC_EXIT_IO;
        goto done;
    }

    drc = sync_doc_parse_file(records, sync_acc_add, acc, &doc, err,
                              sizeof(err));
    rep.total_count = doc.total_count;
    memcpy(rep.request_id, doc.request_id, sizeof(rep.request_id));

    switch (drc) {
    case SYNC_DOC_OK:
        break;
    case SYNC_DOC_SYNTAX:
        sync_report_error(&rep, rc = SYNC_EXIT_REFUSED, "%s", err);
        goto done;
    case SYNC_DOC_PROVIDER:
        sync_report_error(&rep, rc = SYNC_EXIT_PROVIDER, "%s", err);
        goto done;
    case SYNC_DOC_IO:
        sync_report_error(&rep, rc = SYNC_EXIT_IO, "%s", err);
        goto done;
    case SYNC_DOC_NOMEM:
    case SYNC_DOC_STOPPED:
        sync_report_error(&rep, rc = SYNC_EXIT_IO, "%s: out of memory",
                          records);
        goto done;
    }

    /* a saved page of a longer result would drop the other pages' sites */
    if (doc.total_count >= 0 && (size_t) doc.total_count != doc.records) {
        if (!p.force) {
            sync_report_error(&rep, rc = SYNC_EXIT_REFUSED, "%s: TotalCount "
                              "is %lld but DomainSet holds %zu records (one "
                              "page of a longer result?); --force builds "
                              "from what is there", records,
                              (long long) doc.total_count, doc.records);
            goto done;
        }
        sync_report_warn(&rep, "TotalCount is %lld but DomainSet holds %zu "
                         "records", (long long) doc.total_count,
                         doc.records);
    }

    if (strict && rep.rejected_total > 0) {
        sync_report_error(&rep, rc = SYNC_EXIT_REFUSED, "%zu invalid "
                          "record%s (--strict): nothing written",
                          rep.rejected_total,
                          rep.rejected_total == 1 ? "" : "s");
        goto done;
    }

    if (sync_acc_finish(acc, &entries, &n) != 0) {
        sync_report_error(&rep, rc = SYNC_EXIT_IO, "merging the records "
                          "failed (out of memory?)");
        goto done;
    }

    rc = sync_publish(&p, entries, n, &rep);

done:

    rc = finish_report(&rep, rc, json);

    sync_acc_free(acc);
    sync_report_free(&rep);
    sync_icp_cleanup();
    if (lock_fd != -1) {
        close(lock_fd);
    }
    return rc;
}


/* ---- pull --------------------------------------------------------- */

static int
cmd_pull(int argc, char **argv)
{
    int                c, idx, rc, json;
    const char        *config = NULL, *name, *value, *opt;
    sync_report_t      rep;
    sync_pull_conf_t   conf;
    char               err[BEIAN_SYNC_MSG_MAX], usage[BEIAN_SYNC_MSG_MAX];
    char               flag_err[BEIAN_SYNC_MSG_MAX - 8];

    /* every key but config is set through sync_pull_conf_set(), by the
     * same name the config file uses */
    static const struct option  opts[] = {
        { "config",        required_argument, NULL, 'c' },
        { "endpoint",      required_argument, NULL, 'k' },
        { "action",        required_argument, NULL, 'k' },
        { "version",       required_argument, NULL, 'k' },
        { "service",       required_argument, NULL, 'k' },
        { "region",        required_argument, NULL, 'k' },
        { "instance-id",   required_argument, NULL, 'k' },
        { "out",           required_argument, NULL, 'k' },
        { "reload-pid",    required_argument, NULL, 'k' },
        { "max-shrink",    required_argument, NULL, 'k' },
        { "force",         no_argument,       NULL, 'k' },
        { "timeout",       required_argument, NULL, 'k' },
        { "retries",       required_argument, NULL, 'k' },
        { "page-size",     required_argument, NULL, 'k' },
        { "ca-file",       required_argument, NULL, 'k' },
        { "metadata-url",  required_argument, NULL, 'k' },
        { "secret-id",     required_argument, NULL, 'k' },
        { "secret-key",    required_argument, NULL, 'k' },
        { "session-token", required_argument, NULL, 'k' },
        { "json",          no_argument,       NULL, 'k' },
        { "quiet",         no_argument,       NULL, 'q' },
        { "help",          no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    sync_pull_conf_init(&conf);
    usage[0] = '\0';

    /* on a bad option, go on reading the others: --json may follow, and
     * it wants the error as a report too */
    while ((c = getopt_long(argc, argv, ":qh", opts, &idx)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;

        case 'q':
        case 'k':
            /* -q has no long index */
            name = c == 'q' ? "quiet" : opts[idx].name;
            value = (c == 'k' && opts[idx].has_arg) ? optarg : "true";
            if (sync_pull_conf_set(&conf, name, value, SYNC_FROM_FLAG,
                                   flag_err, sizeof(flag_err)) != 0
                && usage[0] == '\0')
            {
                snprintf(usage, sizeof(usage), "--%s", flag_err);
            }
            break;

        case 'h':
            sync_pull_conf_free(&conf);
            printf("%s\n", usage_pull);
            return flush_stdout();

        default:
            if (usage[0] != '\0') {
                break;
            }
            opt = argv[optind - 1];
            if (c == ':') {
                snprintf(usage, sizeof(usage), "option %s needs an argument",
                         opt);
            } else if (optopt != 0) {
                snprintf(usage, sizeof(usage), "unknown option -%c", optopt);
            } else {
                snprintf(usage, sizeof(usage), "unknown option %s", opt);
            }
            break;
        }
    }

    if (usage[0] == '\0' && optind < argc) {
        snprintf(usage, sizeof(usage), "unexpected argument \"%s\"",
                 argv[optind]);
    }

    json = (int) conf.json;

    if (usage[0] != '\0') {
        rc = usage_error(usage_pull, "%s", usage);
        if (json) {
            /* no diag: the message was just printed */
            sync_report_init(&rep, "pull", NULL, 1);
            rep.pull = 1;
            sync_report_error(&rep, rc, "%s", usage);
            (void) finish_report(&rep, rc, json);
            sync_report_free(&rep);
        }
        sync_pull_conf_free(&conf);
        return rc;
    }

    /* flags win over the file whatever the order: the file is read last
     * and does not override them */
    rc = SYNC_EXIT_OK;
    if (config != NULL
        && sync_pull_conf_load(&conf, config, err, sizeof(err)) != 0)
    {
        rc = SYNC_EXIT_USAGE;
    }
    if (rc == SYNC_EXIT_OK
        && sync_pull_conf_finish(&conf, err, sizeof(err)) != 0)
    {
        rc = SYNC_EXIT_USAGE;
    }

    json = (int) conf.json;
    sync_report_init(&rep, "pull", stderr, (int) conf.quiet);
    rep.pull = 1;

    if (rc != SYNC_EXIT_OK) {
        /* a configuration problem: said, in the JSON report too */
        sync_report_error(&rep, rc, "%s", err);
    } else {
        rc = sync_pull(&conf, &rep);
    }

    rc = finish_report(&rep, rc, json);

    sync_report_free(&rep);
    sync_pull_conf_free(&conf);
    sync_secrets_clear();
    sync_icp_cleanup();
    sync_http_global_cleanup();
    return rc;
}


/* ---- check -------------------------------------------------------- */

static int
cmd_check(int argc, char **argv)
{
    int                  c, rc, allowed, all = 1;
    char                *a;
    unsigned             flags = BEIAN_MATCH_SUBDOMAINS;
    const char          *path = NULL;
    beian_snap_t        *snap;
    beian_match_t        m;
    beian_status_t       st;
    beian_host_t         parsed;
    beian_host_class_t   cls;
    char                 host[BEIAN_HOST_MAX + 1], shown[BEIAN_HOST_MAX + 4];
    char                 icp[BEIAN_ICP_MAX + 4];

    static const struct option  opts[] = {
        { "snapshot",      required_argument, NULL, 's' },
        { "no-subdomains", no_argument,       NULL, 'n' },
        { "ip-host",       required_argument, NULL, 'p' },
        { "help",          no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's': path = optarg; break;
        case 'n': flags &= ~(unsigned) BEIAN_MATCH_SUBDOMAINS; break;

        case 'p':
            if (strcmp(optarg, "allow") == 0) {
                flags &= ~(unsigned) BEIAN_MATCH_IP_BLOCK;
            } else if (strcmp(optarg, "block") == 0) {
                flags |= BEIAN_MATCH_IP_BLOCK;
            } else {
                return usage_error(usage_check, "--ip-host \"%s\": expected "
                                   "allow or block", optarg);
            }
            break;

        case 'h':
            printf("%s\n", usage_check);
            return flush_stdout();

        default:
            return bad_option(usage_check, c, argv);
        }
    }

    if (path == NULL) {
        return usage_error(usage_check, "--snapshot is required");
    }
    if (optind >= argc) {
        return usage_error(usage_check, "no HOST given");
    }

    snap = open_snapshot(path);
    if (snap == NULL) {
        return SYNC_EXIT_IO;
    }

    for ( ; optind < argc; optind++) {
        const char  *h = argv[optind];

        /* the verdict is the core's alone, exactly as nginx computes it */
        cls = beian_host_parse(h, strlen(h), host, &parsed);
        st = beian_match_host(snap, cls, &parsed, flags, &m);
        allowed = beian_allowed(st, flags);
        all &= allowed;

        if (st == BEIAN_FILED) {
            sync_display(icp, sizeof(icp), m.rec.icp, m.rec.icp_len);
        }

        printf("%s\t%s\t%.*s\t%s\n",
               sync_display(shown, sizeof(shown), h, strlen(h)),
               beian_status_names[st],
               st == BEIAN_FILED ? (int) m.domain_len : 1,
               st == BEIAN_FILED ? m.domain : "-",
               st == BEIAN_FILED ? icp : "-");

        /* browsers send A-labels: a U-label host never matches, say why */
        if (st == BEIAN_UNFILED && cls == BEIAN_HOST_INVALID
            && idn2_to_ascii_8z(h, &a, IDN2_NONTRANSITIONAL) == IDN2_OK)
        {
            if (strcmp(a, h) != 0) {
                fprintf(stderr, "beian-sync: note: %s is not an ASCII host "
                        "name; browsers send %s\n", shown, a);
            }
            idn2_free(a);
        }
    }

    beian_snap_close(snap);

    rc = flush_stdout();
    if (rc != SYNC_EXIT_OK) {
        return rc;
    }
    return all ? SYNC_EXIT_OK : SYNC_EXIT_REFUSED;
}


/* ---- info --------------------------------------------------------- */

typedef struct {
    sync_arena_t    arena;
    beian_entry_t  *e;
    size_t          n;
    size_t          size;
    int             nomem;
} collect_t;


static int
collect(const char *domain, size_t len, const beian_rec_t *rec, void *data)
{
    size_t          size;
    beian_entry_t  *e;
    collect_t      *c = data;

    if (c->n == c->size) {
        size = c->size ? c->size * 2 : 1024;
        e = realloc(c->e, size * sizeof(*e));
        if (e == NULL) {
            c->nomem = 1;
            return 1;
        }
        c->e = e;
        c->size = size;
    }

    e = &c->e[c->n];
    e->domain = sync_arena_strndup(&c->arena, domain, len);
    e->domain_len = len;
    e->icp = sync_arena_strndup(&c->arena, rec->icp, rec->icp_len);
    e->website_id = sync_arena_strndup(&c->arena, rec->website_id,
                                       rec->website_id_len);
    if (e->domain == NULL || e->icp == NULL || e->website_id == NULL) {
        c->nomem = 1;
        return 1;
    }

    c->n++;
    return 0;
}


/*
 * Whether the hash index, which nginx reads, says what the tree says: every
 * domain found, with the same record.  0, or -1 with the first difference
 * reported.
 */
static int
index_check(const beian_snap_t *snap, const char *path, const collect_t *col)
{
    int             rc;
    size_t          i;
    beian_rec_t     rec;
    beian_entry_t  *e;

    if (!beian_snap_has_index(snap)) {
        printf("index: none\n");
        return 0;
    }

    for (i = 0; i < col->n; i++) {
        e = &col->e[i];
        rc = beian_snap_get(snap, e->domain, e->domain_len, &rec);

        if (rc != 1 || rec.icp_len != strlen(e->icp)
            || memcmp(rec.icp, e->icp, rec.icp_len) != 0
            || rec.website_id_len != strlen(e->website_id)
            || memcmp(rec.website_id, e->website_id, rec.website_id_len)
               != 0)
        {
            printf("index_verified: no\n");
            fprintf(stderr, "beian-sync: %s: the hash index %s \"%s\"\n",
                    path, rc == 1 ? "has another record for"
                          : rc == 0 ? "does not find" : "is corrupt at",
                    e->domain);
            return -1;
        }
    }

    printf("index_verified: yes\n");
    return 0;
}


static int
cmd_info(int argc, char **argv)
{
    int                  c, rc = SYNC_EXIT_OK;
    const char          *path = NULL;
    beian_snap_t        *snap;
    collect_t            col;
    const beian_meta_t  *m;
    char                 t[32], src[sizeof(m->source) + 4];
    char                 digest[72], err[BEIAN_ERR_MAX];

    snap = snapshot_only(argc, argv, usage_info, &path, &rc);
    if (snap == NULL) {
        return rc;
    }
    rc = SYNC_EXIT_OK;

    m = beian_snap_meta(snap);
    sync_rfc3339_format(m->generated_at, t);

    printf("snapshot: %s\n", path);
    printf("schema_version: %u\n", m->schema_version);
    printf("instance_id: %s\n", m->instance_id);
    printf("generated_at: %lld\n", (long long) m->generated_at);
    printf("generated_at_utc: %s\n", t);
    printf("source: %s\n",
           sync_display(src, sizeof(src), m->source, strlen(m->source)));
    printf("record_count: %llu\n", (unsigned long long) m->record_count);
    printf("digest: %s\n", m->digest);

    /* recompute the digest from the content: proves the file whole */
    memset(&col, 0, sizeof(col));
    if (beian_snap_foreach(snap, collect, &col, err, sizeof(err)) != 0) {
        fprintf(stderr, "beian-sync: %s: %s\n", path, err);
        rc = SYNC_EXIT_REFUSED;
    } else if (col.nomem) {
        fprintf(stderr, "beian-sync: out of memory\n");
        rc = SYNC_EXIT_IO;
    } else {
        beian_entries_digest(m->instance_id, col.e, col.n, digest);
        printf("digest_verified: %s\n",
               strcmp(digest, m->digest) == 0 ? "yes" : "no");
        if (strcmp(digest, m->digest) != 0) {
            fprintf(stderr, "beian-sync: %s: the content's digest is %s, "
                    "not the recorded one\n", path, digest);
            rc = SYNC_EXIT_REFUSED;
        }

        if (index_check(snap, path, &col) != 0) {
            rc = SYNC_EXIT_REFUSED;
        }
    }

    free(col.e);
    sync_arena_free(&col.arena);
    beian_snap_close(snap);

    c = flush_stdout();
    return rc != SYNC_EXIT_OK ? rc : c;
}


/* ---- dump --------------------------------------------------------- */

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


static int
cmd_dump(int argc, char **argv)
{
    int            c, rc = SYNC_EXIT_OK;
    const char    *path = NULL;
    beian_snap_t  *snap;
    char           err[BEIAN_ERR_MAX];

    snap = snapshot_only(argc, argv, usage_dump, &path, &rc);
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

    c = flush_stdout();
    return rc != SYNC_EXIT_OK ? rc : c;
}


int
main(int argc, char **argv)
{
    const char  *cmd;

    if (argc < 2) {
        return usage_error(usage_main, "no command given");
    }

    cmd = argv[1];

    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("beian-sync %s\n", BEIAN_SYNC_VERSION);
        return flush_stdout();
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        printf("%s\n", usage_main);
        return flush_stdout();
    }

    /* each command parses its own options, argv[0] being its name */
    if (strcmp(cmd, "pull") == 0) {
        return cmd_pull(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "build") == 0) {
        return cmd_build(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "check") == 0) {
        return cmd_check(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "info") == 0) {
        return cmd_info(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "dump") == 0) {
        return cmd_dump(argc - 1, argv + 1);
    }
    return usage_error(usage_main, "unknown command \"%s\"", cmd);
}
