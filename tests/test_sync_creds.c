/*
 * beian-sync pull: credentials in README order (flags / config file,
 * environment, ~/.tencentcloud/credentials, metadata service), instance
 * id from the metadata service, and secrets kept out of messages.
 *
 * The metadata service is a forked child answering canned responses on a
 * loopback port; it counts credential requests, so refreshes show.
 */

#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "report.h"


#define ROLE  "BeianRole"

/* what the fake metadata service does */
typedef enum {
    MD_GOOD = 0,            /* role, credentials (1 h), instance id */
    MD_SHORT,               /* credentials that expire in 60 s */
    MD_NO_ROLE,             /* 404 on the role listing */
    MD_BAD_JSON,            /* Code "Failure" */
    MD_BAD_INSTANCE,        /* instance-id is garbage */
    MD_ERROR                /* 500 on everything */
} md_mode_t;

static char             dir[64];
static pid_t            server;
static int              port;
static sync_backoff_t   backoff = { 1, 30 };


static void
unset_env(void)
{
    unsetenv("TENCENTCLOUD_SECRET_ID");
    unsetenv("TENCENTCLOUD_SECRET_KEY");
    unsetenv("TENCENTCLOUD_SESSION_TOKEN");
}


static int
setup(void **state)
{
    (void) state;

    if (unit_mkdtemp(dir, sizeof(dir), "/tmp/beian-creds-XXXXXX") != 0) {
        return -1;
    }
    unset_env();
    server = 0;
    return 0;
}


static void
stop_server(void)
{
    int  st;

    if (server > 0) {
        kill(server, SIGTERM);
        waitpid(server, &st, 0);
        server = 0;
    }
}


static int
teardown(void **state)
{
    (void) state;

    stop_server();
    sync_secrets_clear();
    unset_env();
    return unit_rm_rf(dir);
}


static void
respond(int fd, int status, const char *body)
{
    char  head[256];
    int   n;

    n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu"
                 "\r\nConnection: close\r\n\r\n", status, strlen(body));
    if (write(fd, head, (size_t) n) < 0 || write(fd, body, strlen(body)) < 0)
    {
        return;
    }
}


static void
serve(int ls, md_mode_t mode)
{
    int     fd, creds = 0;
    char    req[4096], path[512], body[1024];
    size_t  len;
    ssize_t n;

    for ( ;; ) {
        fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            continue;
        }

        len = 0;
        while (len < sizeof(req) - 1
               && (n = read(fd, req + len, sizeof(req) - 1 - len)) > 0)
        {
            len += (size_t) n;
            req[len] = '\0';
            if (strstr(req, "\r\n\r\n")) {
                break;
            }
        }
        req[len] = '\0';
        path[0] = '\0';
        (void) sscanf(req, "GET %511s", path);

        if (mode == MD_ERROR) {
            respond(fd, 500, "oops");

        } else if (strcmp(path, "/latest/meta-data/instance-id") == 0) {
            respond(fd, 200, mode == MD_BAD_INSTANCE ? "i-am-not-an-id\n"
                                                     : "lhins-meta0001\n");

        } else if (strcmp(path, "/latest/meta-data/cam/security-credentials/")
                   == 0)
        {
            if (mode == MD_NO_ROLE) {
                respond(fd, 404, "not found");
            } else {
                respond(fd, 200, ROLE "\n");
            }

        } else if (strcmp(path, "/latest/meta-data/cam/security-credentials/"
                                ROLE) == 0)
        {
            creds++;
            snprintf(body, sizeof(body),
                     "{\"TmpSecretId\": \"AKIDtmp%04d\", \"TmpSecretKey\": "
                     "\"tmp-secret-key-%04d\", \"Token\": \"tmp-token-%04d\", "
                     "\"ExpiredTime\": %lld, \"Expiration\": \"x\", "
                     "\"Code\": \"%s\"}", creds, creds, creds,
                     (long long) time(NULL) + (mode == MD_SHORT ? 60 : 3600),
                     mode == MD_BAD_JSON ? "Failure" : "Success");
            respond(fd, 200, body);

        } else {
            respond(fd, 404, "no such path");
        }

        close(fd);
    }
}


static void
start_server(md_mode_t mode)
{
    int                 ls, one = 1;
    socklen_t           sl;
    struct sockaddr_in  sa;

    ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *) &sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 16), 0);
    sl = sizeof(sa);
    assert_int_equal(getsockname(ls, (struct sockaddr *) &sa, &sl), 0);
    port = ntohs(sa.sin_port);

    server = fork();
    assert_true(server >= 0);
    if (server == 0) {
        serve(ls, mode);
        _exit(0);
    }
    close(ls);
}


typedef struct {
    sync_http_t      *http;
    sync_metadata_t   md;
    char              base[64];
} md_t;


static void
md_open(md_t *m, unsigned retries)
{
    char  err[256];

    assert_int_equal(sync_http_global_init(err, sizeof(err)), 0);
    m->http = sync_http_new(5, NULL);
    assert_non_null(m->http);
    snprintf(m->base, sizeof(m->base), "http://127.0.0.1:%d", port);
    m->md.http = m->http;
    m->md.base = m->base;
    m->md.retries = retries;
    m->md.backoff = &backoff;
}


static void
write_file(const char *name, const char *text, mode_t mode)
{
    char  p[256];

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    unit_write_file(p, text);
    assert_int_equal(chmod(p, mode), 0);
}


static void
conf_with(sync_pull_conf_t *c, sync_from_t from)
{
    char  err[256];

    sync_pull_conf_init(c);
    assert_int_equal(sync_pull_conf_set(c, "secret-id", "AKIDflags0001",
                                        from, err, sizeof(err)), 0);
    assert_int_equal(sync_pull_conf_set(c, "secret-key", "sk-flags-0001",
                                        from, err, sizeof(err)), 0);
}


/* Resolves with dir as HOME; err holds 512 bytes. */
static int
resolve(sync_creds_t *cr, const sync_pull_conf_t *c,
    const sync_metadata_t *md, char *err)
{
    return sync_creds_resolve(cr, c, dir, md, err, 512);
}


static void
test_flags_then_env(void **state)
{
    char              err[512];
    sync_creds_t      cr;
    sync_pull_conf_t  c;

    (void) state;

    setenv("TENCENTCLOUD_SECRET_ID", "AKIDenv0001", 1);
    setenv("TENCENTCLOUD_SECRET_KEY", "sk-env-0001", 1);

    /* flags beat the environment */
    conf_with(&c, SYNC_FROM_FLAG);
    assert_int_equal(resolve(&cr, &c, NULL, err), 0);
    assert_string_equal(cr.source, "flags");
    assert_string_equal(cr.id, "AKIDflags0001");
    assert_string_equal(cr.key, "sk-flags-0001");
    assert_string_equal(cr.token, "");
    assert_int_equal(cr.expires, 0);
    sync_pull_conf_free(&c);

    conf_with(&c, SYNC_FROM_CONFIG);
    assert_int_equal(resolve(&cr, &c, NULL, err), 0);
    assert_string_equal(cr.source, "config");
    sync_pull_conf_free(&c);

    /* nothing given: the environment, with its token */
    setenv("TENCENTCLOUD_SESSION_TOKEN", "env-token-0001", 1);
    sync_pull_conf_init(&c);
    assert_int_equal(resolve(&cr, &c, NULL, err), 0);
    assert_string_equal(cr.source, "env");
    assert_string_equal(cr.id, "AKIDenv0001");
    assert_string_equal(cr.key, "sk-env-0001");
    assert_string_equal(cr.token, "env-token-0001");

    /* half a pair is a configuration error, not a reason to go on */
    unsetenv("TENCENTCLOUD_SECRET_KEY");
    assert_int_equal(resolve(&cr, &c, NULL, err), SYNC_EXIT_USAGE);
    assert_non_null(strstr(err, "TENCENTCLOUD_SECRET_ID is set but "
                                "TENCENTCLOUD_SECRET_KEY is not"));

    /* an empty variable counts as unset */
    setenv("TENCENTCLOUD_SECRET_ID", "", 1);
    assert_int_equal(resolve(&cr, &c, NULL, err), SYNC_EXIT_USAGE);
    assert_non_null(strstr(err, "no credentials"));

    /* a header-breaking value is refused without being shown */
    setenv("TENCENTCLOUD_SECRET_ID", "AKIDenv0001", 1);
    setenv("TENCENTCLOUD_SECRET_KEY", "bad key\r\nX: 1", 1);
    assert_int_equal(resolve(&cr, &c, NULL, err), SYNC_EXIT_USAGE);
    assert_null(strstr(err, "bad key"));

    sync_pull_conf_free(&c);
    sync_creds_clear(&cr);
}


static void
test_credentials_file(void **state)
{
    char              err[512], p[256];
    sync_creds_t      cr;
    sync_pull_conf_t  c;

    static const char  ini[] =
        "# Tencent Cloud credentials\n"
        "[other]\n"
        "secret_id = AKIDother0001\n"
        "secret_key = sk-other-0001\n"
        "\n"
        "[default]\n"
        "secret_id = AKIDfile0001\n"
        "; a comment\n"
        "secret_key =  sk-file-0001  \n";

    (void) state;

    snprintf(p, sizeof(p), "%s/.tencentcloud", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    sync_pull_conf_init(&c);

    write_file(".tencentcloud/credentials", ini, 0600);
    assert_int_equal(resolve(&cr, &c, NULL, err), 0);
    assert_string_equal(cr.source, "file");
    assert_string_equal(cr.id, "AKIDfile0001");
    assert_string_equal(cr.key, "sk-file-0001");

    /* the environment comes first */
    setenv("TENCENTCLOUD_SECRET_ID", "AKIDenv0001", 1);
    setenv("TENCENTCLOUD_SECRET_KEY", "sk-env-0001", 1);
    assert_int_equal(resolve(&cr, &c, NULL, err), 0);
    assert_string_equal(cr.source, "env");
    unsetenv("TENCENTCLOUD_SECRET_ID");
    unsetenv("TENCENTCLOUD_SECRET_KEY");

    /* readable by others: refused (not skipped) */
    write_file(".tencentcloud/credentials", ini, 0640);
    assert_int_equal(resolve(&cr, &c, NULL, err), SYNC_EXIT_USAGE);
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(strstr(err, "sk-file"));
    write_file(".tencentcloud/credentials", ini, 0604);
    assert_int_equal(resolve(&cr, &c, NULL, err), SYNC_EXIT_USAGE);

    /* no [default] pair */
    write_file(".tencentcloud/credentials", "[other]\nsecret_id = A\n",
               0600);
    assert_int_equal(resolve(&cr, &c, NULL, err), SYNC_EXIT_USAGE);
    assert_non_null(strstr(err, "no secret_id and secret_key in [default]"));

    write_file(".tencentcloud/credentials", "[default]\ngarbage\n", 0600);
    assert_int_equal(resolve(&cr, &c, NULL, err), SYNC_EXIT_USAGE);

    /* no file at all: on to the next source (none here) */
    snprintf(p, sizeof(p), "%s/.tencentcloud/credentials", dir);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(sync_creds_file(&cr, p, err, sizeof(err)), 1);
    assert_int_equal(resolve(&cr, &c, NULL, err), SYNC_EXIT_USAGE);
    assert_non_null(strstr(err, "no credentials"));

    sync_pull_conf_free(&c);
    sync_creds_clear(&cr);
}


static void
test_metadata_role(void **state)
{
    md_t              m;
    char              err[512];
    int64_t           exp;
    sync_creds_t      cr;
    sync_pull_conf_t  c;

    (void) state;

    start_server(MD_GOOD);
    md_open(&m, 0);
    sync_pull_conf_init(&c);

    assert_int_equal(resolve(&cr, &c, &m.md, err), 0);
    assert_string_equal(cr.source, "metadata");
    assert_string_equal(cr.role, ROLE);
    assert_string_equal(cr.id, "AKIDtmp0001");
    assert_string_equal(cr.key, "tmp-secret-key-0001");
    assert_string_equal(cr.token, "tmp-token-0001");
    assert_true(cr.expires > (int64_t) time(NULL) + 3000);

    /* far from expiry: nothing fetched */
    assert_int_equal(sync_creds_refresh(&cr, &m.md, (int64_t) time(NULL),
                                        err, sizeof(err)), 0);
    assert_string_equal(cr.id, "AKIDtmp0001");

    /* under five minutes left: fetched again */
    exp = cr.expires;
    assert_int_equal(sync_creds_refresh(&cr, &m.md, exp - 299, err,
                                        sizeof(err)), 0);
    assert_string_equal(cr.id, "AKIDtmp0002");
    assert_string_equal(cr.token, "tmp-token-0002");

    sync_http_free(m.http);
    sync_pull_conf_free(&c);
    sync_creds_clear(&cr);
}


static void
test_metadata_failures(void **state)
{
    md_t              m;
    char              err[512];
    sync_creds_t      cr;
    sync_pull_conf_t  c;

    (void) state;

    sync_pull_conf_init(&c);

    /* no role bound: a configuration problem, said plainly */
    start_server(MD_NO_ROLE);
    md_open(&m, 0);
    assert_int_equal(resolve(&cr, &c, &m.md, err), SYNC_EXIT_USAGE);
    assert_non_null(strstr(err, "no CAM role"));
    sync_http_free(m.http);
    stop_server();

    start_server(MD_BAD_JSON);
    md_open(&m, 0);
    assert_int_equal(resolve(&cr, &c, &m.md, err), SYNC_EXIT_PROVIDER);
    assert_non_null(strstr(err, "Failure"));
    assert_null(strstr(err, "tmp-secret-key"));
    sync_http_free(m.http);
    stop_server();

    /* 5xx is retried, then a provider (network) failure */
    start_server(MD_ERROR);
    md_open(&m, 2);
    assert_int_equal(resolve(&cr, &c, &m.md, err), SYNC_EXIT_PROVIDER);
    assert_non_null(strstr(err, "HTTP status 500 (after 2 retries)"));
    sync_http_free(m.http);
    stop_server();

    /* nobody listening */
    md_open(&m, 0);
    snprintf(m.base, sizeof(m.base), "http://127.0.0.1:1");
    assert_int_equal(resolve(&cr, &c, &m.md, err), SYNC_EXIT_PROVIDER);
    assert_non_null(strstr(err, "metadata service"));
    sync_http_free(m.http);

    sync_pull_conf_free(&c);
}


static void
test_metadata_json(void **state)
{
    char          err[256];
    sync_creds_t  cr;

    static const char *const  bad[] = {
        "not json",
        "[]",
        "{\"TmpSecretKey\": \"k-000001\", \"Token\": \"t\", "
        "\"ExpiredTime\": 1}",
        "{\"TmpSecretId\": \"AKID1\", \"TmpSecretKey\": \"k-000001\", "
        "\"Token\": \"t\", \"ExpiredTime\": \"1700000000\"}",
        "{\"TmpSecretId\": \"AKID1\", \"TmpSecretKey\": \"k y\", "
        "\"Token\": \"t\", \"ExpiredTime\": 1700000000}",
        "{\"TmpSecretId\": \"AKID1\", \"TmpSecretKey\": \"k-000001\", "
        "\"ExpiredTime\": 1700000000}",
    };

    static const char  good[] =
        "{\"TmpSecretId\": \"AKID1\", \"TmpSecretKey\": \"k-000001\", "
        "\"Token\": \"tok-1\", \"ExpiredTime\": 1700000000}";

    size_t  i;

    (void) state;

    memset(&cr, 0, sizeof(cr));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sync_creds_metadata_json(&cr, bad[i], strlen(bad[i]), err,
                                     sizeof(err)) == 0)
        {
            fail_msg("accepted %s", bad[i]);
        }
        assert_null(strstr(err, "k-000001"));
    }

    /* no Code is fine; ExpiredTime is what counts */
    assert_int_equal(sync_creds_metadata_json(&cr, good, strlen(good), err,
                                              sizeof(err)), 0);
    assert_int_equal(cr.expires, 1700000000);
    sync_creds_clear(&cr);
}


static void
test_instance_id(void **state)
{
    md_t   m;
    char   id[64], err[512];

    (void) state;

    start_server(MD_GOOD);
    md_open(&m, 0);
    assert_int_equal(sync_metadata_instance_id(&m.md, id, sizeof(id), err,
                                               sizeof(err)), 0);
    assert_string_equal(id, "lhins-meta0001");
    sync_http_free(m.http);
    stop_server();

    start_server(MD_BAD_INSTANCE);
    md_open(&m, 0);
    assert_int_equal(sync_metadata_instance_id(&m.md, id, sizeof(id), err,
                                               sizeof(err)),
                     SYNC_EXIT_PROVIDER);
    assert_non_null(strstr(err, "\"i-am-not-an-id\" is not an instance id"));
    sync_http_free(m.http);
}


/* Whatever a message quotes (a provider's echo, curl's error buffer), a
 * resolved secret never reaches the report. */
static void
test_secrets_scrubbed(void **state)
{
    char              err[512];
    sync_creds_t      cr;
    sync_report_t     rep;
    sync_pull_conf_t  c;

    (void) state;

    setenv("TENCENTCLOUD_SECRET_ID", "AKIDscrub0001", 1);
    setenv("TENCENTCLOUD_SECRET_KEY", "sk-scrub-secret-0001", 1);
    setenv("TENCENTCLOUD_SESSION_TOKEN", "tok-scrub-0001", 1);
    sync_pull_conf_init(&c);
    assert_int_equal(resolve(&cr, &c, NULL, err), 0);

    sync_report_init(&rep, "test", NULL, 1);
    sync_report_error(&rep, 2, "provider said: key sk-scrub-secret-0001, "
                      "token tok-scrub-0001, id AKIDscrub0001, "
                      "again sk-scrub-secret-0001.");
    assert_string_equal(rep.error, "provider said: key ***, token ***, id "
                        "***, again ***.");
    sync_report_warn(&rep, "warn sk-scrub-secret-0001");
    assert_string_equal(json_string_value(json_array_get(rep.warnings, 0)),
                        "warn ***");
    sync_report_free(&rep);

    sync_secrets_clear();
    strcpy(err, "sk-scrub-secret-0001");
    sync_secret_scrub(err);
    assert_string_equal(err, "sk-scrub-secret-0001");

    sync_pull_conf_free(&c);
    sync_creds_clear(&cr);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_flags_then_env, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_credentials_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metadata_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata_failures, setup,
                                        teardown),
        cmocka_unit_test(test_metadata_json),
        cmocka_unit_test_setup_teardown(test_instance_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_scrubbed, setup,
                                        teardown),
    };
    int  rc;

    rc = cmocka_run_group_tests(tests, NULL, NULL);
    sync_http_global_cleanup();
    return rc;
}
