/*
 * beian-sync pull: what is pull's own (page consistency, API error codes,
 * the reload signal, backoff); the rest is build's, tested with it.
 */

#include "unit.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "http.h"
#include "pages.h"
#include "reload.h"


/* A page: TotalCount and n records d<first>...d<first+n-1>. */
static json_t *
page(long long total, size_t first, size_t n)
{
    size_t   i;
    char     d[64];
    json_t  *set = json_array();

    for (i = 0; i < n; i++) {
        snprintf(d, sizeof(d), "d%zu.example.com", first + i);
        json_array_append_new(set, json_pack("{s:s, s:s}", "Domain", d,
                                             "WebsiteId", "web-1"));
    }
    return json_pack("{s:I, s:o, s:s}", "TotalCount", (json_int_t) total,
                     "DomainSet", set, "RequestId", "r");
}


static int
check(sync_pages_t *p, json_t *pg, char *err)
{
    int  rc = sync_pages_check(p, pg, err, 512);

    json_decref(pg);
    return rc;
}


static void
test_pages_good(void **state)
{
    char          err[512];
    sync_pages_t  p;

    (void) state;

    sync_pages_init(&p, 10);
    assert_false(sync_pages_done(&p));
    assert_int_equal(check(&p, page(25, 0, 10), err), 0);
    assert_int_equal(p.received, 10);
    assert_false(sync_pages_done(&p));
    assert_int_equal(check(&p, page(25, 10, 10), err), 0);
    assert_int_equal(check(&p, page(25, 20, 5), err), 0);
    assert_true(sync_pages_done(&p));
    assert_int_equal(p.pages, 3);
    sync_pages_free(&p);

    /* providers cap their page size below Limit: a short page that is
     * not the last is normal, the next Offset is what arrived */
    sync_pages_init(&p, 10);
    assert_int_equal(check(&p, page(25, 0, 7), err), 0);
    assert_int_equal(p.received, 7);
    assert_false(sync_pages_done(&p));
    assert_int_equal(check(&p, page(25, 7, 7), err), 0);
    assert_int_equal(check(&p, page(25, 14, 7), err), 0);
    assert_int_equal(check(&p, page(25, 21, 4), err), 0);
    assert_true(sync_pages_done(&p));
    assert_int_equal(p.pages, 4);
    sync_pages_free(&p);

    /* nothing at all is one empty page */
    sync_pages_init(&p, 10);
    assert_int_equal(check(&p, page(0, 0, 0), err), 0);
    assert_true(sync_pages_done(&p));
    sync_pages_free(&p);

    /* the same domain twice on one page (two websites, or a duplicate
     * record) is the accumulator's business, not an inconsistency */
    sync_pages_init(&p, 10);
    assert_int_equal(check(&p, page(20, 0, 10), err), 0);
    assert_int_equal(check(&p, page(20, 10, 10), err), 0);
    sync_pages_free(&p);
}


static void
test_pages_inconsistent(void **state)
{
    size_t        i;
    char          err[512];
    json_t       *pg;
    sync_pages_t  p;

    /* with Limit 10: an optional good first page page(first_total, 0, 10),
     * then page(total, first, n), refused with msg */
    static const struct {
        long long    first_total;       /* 0: no first page */
        long long    total;
        size_t       first, n;
        const char  *msg;
    } bad[] = {
        { 25, 26, 10, 10, "TotalCount changed from 25 to 26" },
        { 25, 25, 10,  0, "is empty" },
        { 15, 15, 10,  6, "more than TotalCount 15" },
        {  0, 30,  0, 11, "more than Limit 10" },
        /* a record that moved on to the next page */
        { 25, 25,  9, 10, "DomainSet[10] (d9.example.com, website web-1) "
                          "was already on an earlier page" },
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sync_pages_init(&p, 10);
        if (bad[i].first_total) {
            assert_int_equal(check(&p, page(bad[i].first_total, 0, 10), err),
                             0);
        }
        assert_int_equal(check(&p, page(bad[i].total, bad[i].first,
                                        bad[i].n), err), 1);
        if (strstr(err, bad[i].msg) == NULL) {
            fail_msg("message \"%s\" lacks \"%s\"", err, bad[i].msg);
        }
        sync_pages_free(&p);
    }

    /* malformed pages are not inconsistencies: -1 */
    sync_pages_init(&p, 10);
    pg = json_pack("{s:s, s:[]}", "TotalCount", "3", "DomainSet");
    assert_int_equal(check(&p, pg, err), -1);
    assert_non_null(strstr(err, "\"TotalCount\" is a string"));
    pg = json_pack("{s:i, s:{}}", "TotalCount", 3, "DomainSet");
    assert_int_equal(check(&p, pg, err), -1);
    pg = json_pack("{s:i}", "TotalCount", -1);
    assert_int_equal(check(&p, pg, err), -1);
    pg = json_pack("{s:i}", "TotalCount", 3);
    assert_int_equal(check(&p, pg, err), -1);
    assert_non_null(strstr(err, "\"DomainSet\" is missing"));
    sync_pages_free(&p);
}


static void
test_error_codes(void **state)
{
    size_t  i;

    static const char *const  retry[] = {
        "RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded",
        "InternalError", "InternalError.DescribeFailed",
        "ResourceUnavailable",
    };
    static const char *const  fatal[] = {
        "AuthFailure.SecretIdNotFound", "AuthFailure.SignatureFailure",
        "AuthFailure.TokenFailure", "AuthFailure", "UnauthorizedOperation",
        "UnauthorizedOperation.Foo", "InvalidParameter",
        "ResourceUnavailable.InstanceNotRunning", "InternalErrorX",
        "RequestLimitExceededly", "", "ResourceNotFound.InstanceIdNotFound",
    };

    (void) state;

    for (i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
        assert_int_equal(sync_api_error_class(retry[i]), SYNC_API_RETRY);
    }
    for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        if (sync_api_error_class(fatal[i]) != SYNC_API_FATAL) {
            fail_msg("%s is not fatal", fatal[i]);
        }
    }
    assert_int_equal(sync_api_error_class("AuthFailure.SignatureExpire"),
                     SYNC_API_RESIGN);

    assert_non_null(strstr(sync_api_error_hint("AuthFailure.SignatureExpire"),
                           "clock"));
    assert_non_null(sync_api_error_hint("AuthFailure.SomethingNew"));
    assert_non_null(strstr(sync_api_error_hint("UnauthorizedOperation.X"),
                           "CAM"));
    assert_null(sync_api_error_hint("LimitExceeded"));
}


static volatile sig_atomic_t  hups;

static void
on_hup(int sig)
{
    (void) sig;
    hups++;
}


static void
test_reload(void **state)
{
    long    pid;
    int     st;
    size_t  i;
    pid_t   child;
    char    path[64], buf[32], err[512];

    static const char *const  garbage[] = {
        "", "\n", "nginx\n", "0\n", "-1\n", "12x\n", " 12\n", "+12\n",
        "99999999999999999999\n", "1 2\n",
    };

    (void) state;

    strcpy(path, "/tmp/beian-pid-XXXXXX");
    st = mkstemp(path);
    assert_true(st >= 0);
    close(st);

    signal(SIGHUP, on_hup);
    snprintf(buf, sizeof(buf), "%ld\n", (long) getpid());
    unit_write_file(path, buf);
    assert_int_equal(sync_reload(path, &pid, err, sizeof(err)), 0);
    assert_int_equal(pid, (long) getpid());
    assert_int_equal(hups, 1);

    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        unit_write_file(path, garbage[i]);
        if (sync_reload(path, &pid, err, sizeof(err)) != SYNC_EXIT_IO) {
            fail_msg("accepted \"%s\"", garbage[i]);
        }
        assert_non_null(strstr(err, "does not hold a process id"));
    }

    /* a process that is gone */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        _exit(0);
    }
    waitpid(child, &st, 0);
    snprintf(buf, sizeof(buf), "%ld", (long) child);
    unit_write_file(path, buf);
    assert_int_equal(sync_reload(path, &pid, err, sizeof(err)), SYNC_EXIT_IO);
    assert_non_null(strstr(err, "no such process"));

    unlink(path);
    assert_int_equal(sync_reload(path, &pid, err, sizeof(err)), SYNC_EXIT_IO);
    assert_int_equal(hups, 1);
    signal(SIGHUP, SIG_DFL);
}


static void
test_backoff(void **state)
{
    unsigned        i, d;
    sync_backoff_t  b;

    (void) state;

    unsetenv("BEIAN_SYNC_BACKOFF_MS");
    sync_backoff_init(&b);
    assert_int_equal(b.base_ms, 1000);
    assert_int_equal(b.cap_ms, 30000);

    setenv("BEIAN_SYNC_BACKOFF_MS", "10", 1);
    sync_backoff_init(&b);
    assert_int_equal(b.base_ms, 10);
    assert_int_equal(b.cap_ms, 300);

    /* full jitter: within [0, min(cap, base * 2^n)] */
    for (i = 0; i < 200; i++) {
        d = sync_backoff_delay_ms(&b, i % 8);
        assert_true(d <= (10u << (i % 8)) && d <= 300);
    }
    assert_true(sync_backoff_delay_ms(&b, 1000) <= 300);

    setenv("BEIAN_SYNC_BACKOFF_MS", "junk", 1);
    sync_backoff_init(&b);
    assert_int_equal(b.base_ms, 1000);
    unsetenv("BEIAN_SYNC_BACKOFF_MS");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_pages_good),
        cmocka_unit_test(test_pages_inconsistent),
        cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_backoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
