/*
 * beian-sync build: provider-shaped JSON -> snapshot, offline.
 */

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "doc.h"
#include "icp.h"
#include "publish.h"
#include "records.h"
#include "util.h"


static const char  usage_build[] =
    "usage: beian-sync build -r|--records FILE -i|--instance-id ID "
    "-o|--out SNAPSHOT\n"
    "                        [--strict] [--force] [--max-shrink PCT] "
    "[--source TEXT]\n"
    "                        [--allow-shared-dir] [--json] [-q|--quiet] "
    "[-h|--help] [-V|--version]";

int
sync_cmd_build(int argc, char **argv)
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
        { "allow-shared-dir", no_argument,  NULL, 'A' },
        { "json",        no_argument,       NULL, 'j' },
        { "quiet",       no_argument,       NULL, 'q' },
        { "help",        no_argument,       NULL, 'h' },
        { "version",     no_argument,       NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };

    memset(&p, 0, sizeof(p));
    p.max_shrink = 50;
    source[0] = '\0';

    while ((c = getopt_long(argc, argv, ":r:i:o:qhV", opts, NULL)) != -1) {
        switch (c) {
        case 'r': records = optarg; break;
        case 'i': p.instance_id = optarg; break;
        case 'o': p.snapshot = optarg; break;
        case 'S': strict = 1; break;
        case 'f': p.force = 1; break;
        case 'A': p.allow_shared_dir = 1; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;

        case 's':
            if (strlen(optarg) >= sizeof(source)) {
                return sync_usage_error(usage_build, "--source: longer "
                                        "than %zu bytes",
                                        sizeof(source) - 1);
            }
            if (sync_has_control(optarg)) {
                return sync_usage_error(usage_build, "--source: control "
                                        "characters are not allowed");
            }
            strcpy(source, optarg);
            break;

        case 'm':
            if (sync_parse_uint(optarg, 0, 100, &p.max_shrink) != 0) {
                return sync_usage_error(usage_build, "--max-shrink "
                                        "\"%s\": expected a percentage "
                                        "0..100", optarg);
            }
            break;

        case 'h':
            printf("%s\n", usage_build);
            return sync_flush_stdout();

        case 'V':
            return sync_version();

        default:
            return sync_bad_option(usage_build, c, argv);
        }
    }

    if (optind < argc) {
        return sync_usage_error(usage_build, "unexpected argument \"%s\"",
                                argv[optind]);
    }
    if (records == NULL) {
        return sync_usage_error(usage_build, "--records FILE is required");
    }
    if (p.instance_id == NULL) {
        return sync_usage_error(usage_build, "--instance-id ID is required");
    }
    if (p.snapshot == NULL) {
        return sync_usage_error(usage_build, "--out SNAPSHOT is required");
    }

    msg = sync_instance_id_check(p.instance_id);
    if (msg != NULL) {
        return sync_usage_error(usage_build, "--instance-id \"%s\": %s",
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

    rc = sync_lock(p.snapshot, p.allow_shared_dir, &lock_fd, &rep);
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

    rc = sync_finish_report(&rep, rc, json);

    sync_acc_free(acc);
    sync_report_free(&rep);
    sync_icp_cleanup();
    if (lock_fd != -1) {
        close(lock_fd);
    }
    return rc;
}
