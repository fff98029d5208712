/*
 * beian-sync: writing the snapshot behind the safety guards.
 */

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "publish.h"


#define INST  "lhins-test0001"

static char  dir[64];
static char  snap[128];


static int
setup(void **state)
{
    (void) state;

    if (unit_mkdtemp(dir, sizeof(dir), "/tmp/beian-publish-XXXXXX") != 0) {
        return -1;
    }
    snprintf(snap, sizeof(snap), "%s/snapshot.mdb", dir);
    return 0;
}


static int
teardown(void **state)
{
    (void) state;

    return unit_rm_rf(dir);
}


/* n entries "d0.example.com" ... from offset first, sorted. */
static beian_entry_t *
entries(size_t first, size_t n)
{
    size_t          i;
    beian_entry_t  *e = calloc(n ? n : 1, sizeof(*e));

    for (i = 0; i < n; i++) {
        char  d[64];

        snprintf(d, sizeof(d), "d%05zu.example.com", first + i);
        e[i].domain = strdup(d);
        e[i].domain_len = strlen(d);
        e[i].icp = strdup("京ICP备12345678号-1");
        e[i].website_id = strdup("web-a");
    }
    return e;
}


static void
entries_free(beian_entry_t *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(e[i].domain);
        free(e[i].icp);
        free(e[i].website_id);
    }
    free(e);
}


static int
publish(size_t first, size_t n, unsigned max_shrink, int force,
    sync_report_t *rep)
{
    int              rc;
    beian_entry_t   *e = entries(first, n);
    sync_publish_t   p = { snap, INST, "test", max_shrink, force, 0 };

    sync_report_init(rep, "test", NULL, 1);
    rc = sync_publish(&p, e, n, rep);
    entries_free(e, n);
    return rc;
}


static size_t
snapshot_domains(void)
{
    size_t         n;
    beian_snap_t  *s;
    char           err[BEIAN_ERR_MAX];

    s = beian_snap_open(snap, err, sizeof(err));
    assert_non_null(s);
    n = (size_t) beian_snap_meta(s)->record_count;
    beian_snap_close(s);
    return n;
}


static void
test_write_then_unchanged(void **state)
{
    sync_report_t  rep;
    struct stat    st1, st2;

    (void) state;

    assert_int_equal(publish(0, 10, 50, 0, &rep), SYNC_EXIT_OK);
    assert_int_equal(rep.written, 1);
    assert_int_equal(rep.changed, 1);
    assert_int_equal(rep.have_old, 0);
    assert_true(strncmp(rep.digest, "sha256:", 7) == 0);
    sync_report_free(&rep);
    assert_int_equal(snapshot_domains(), 10);
    assert_int_equal(stat(snap, &st1), 0);

    /* the same content: nothing written, the file is the same one */
    assert_int_equal(publish(0, 10, 50, 0, &rep), SYNC_EXIT_OK);
    assert_int_equal(rep.written, 0);
    assert_int_equal(rep.changed, 0);
    sync_report_free(&rep);
    assert_int_equal(stat(snap, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino);

    /* a change: counts against the old snapshot */
    assert_int_equal(publish(5, 10, 50, 0, &rep), SYNC_EXIT_OK);
    assert_int_equal(rep.written, 1);
    assert_int_equal(rep.have_old, 1);
    assert_int_equal(rep.old_domains, 10);
    assert_int_equal(rep.added, 5);
    assert_int_equal(rep.removed, 5);
    sync_report_free(&rep);
}


static void
test_empty_refused(void **state)
{
    sync_report_t  rep;

    (void) state;

    assert_int_equal(publish(0, 0, 50, 0, &rep), SYNC_EXIT_REFUSED);
    assert_non_null(strstr(rep.error, "empty snapshot"));
    sync_report_free(&rep);
    assert_int_equal(access(snap, F_OK), -1);

    assert_int_equal(publish(0, 0, 50, 1, &rep), SYNC_EXIT_OK);
    assert_int_equal(rep.written, 1);
    sync_report_free(&rep);
    assert_int_equal(snapshot_domains(), 0);
}


static void
test_shrink_guard(void **state)
{
    sync_report_t  rep;

    (void) state;

    assert_int_equal(publish(0, 100, 50, 0, &rep), SYNC_EXIT_OK);
    sync_report_free(&rep);

    /* 100 -> 49 is more than half gone */
    assert_int_equal(publish(0, 49, 50, 0, &rep), SYNC_EXIT_REFUSED);
    assert_non_null(strstr(rep.error, "remove 51 of the 100 domains"));
    sync_report_free(&rep);
    assert_int_equal(snapshot_domains(), 100);

    /* as many domains, 51 of them others: more than half gone too */
    assert_int_equal(publish(51, 100, 50, 0, &rep), SYNC_EXIT_REFUSED);
    assert_non_null(strstr(rep.error, "remove 51 of the 100 domains"));
    sync_report_free(&rep);
    assert_int_equal(snapshot_domains(), 100);

    /* 50 others for 50: exactly half gone, allowed; then back */
    assert_int_equal(publish(50, 100, 50, 0, &rep), SYNC_EXIT_OK);
    sync_report_free(&rep);
    assert_int_equal(publish(0, 100, 50, 0, &rep), SYNC_EXIT_OK);
    sync_report_free(&rep);

    /* exactly half is allowed */
    assert_int_equal(publish(0, 50, 50, 0, &rep), SYNC_EXIT_OK);
    sync_report_free(&rep);
    assert_int_equal(snapshot_domains(), 50);

    /* --max-shrink 0: any shrink refused; growing is fine */
    assert_int_equal(publish(0, 49, 0, 0, &rep), SYNC_EXIT_REFUSED);
    sync_report_free(&rep);
    assert_int_equal(publish(0, 60, 0, 0, &rep), SYNC_EXIT_OK);
    sync_report_free(&rep);

    /* --force */
    assert_int_equal(publish(0, 1, 50, 1, &rep), SYNC_EXIT_OK);
    sync_report_free(&rep);
    assert_int_equal(snapshot_domains(), 1);
}


static void
test_unusable_old_replaced(void **state)
{
    FILE           *f;
    sync_report_t   rep;

    (void) state;

    f = fopen(snap, "w");
    fputs("not an LMDB file, just some bytes long enough to be looked at\n",
          f);
    fclose(f);

    assert_int_equal(publish(0, 3, 50, 0, &rep), SYNC_EXIT_OK);
    assert_int_equal(rep.written, 1);
    assert_int_equal(rep.nwarnings, 1);
    assert_non_null(strstr(json_string_value(json_array_get(rep.warnings,
                           0)), "replacing an unusable snapshot"));
    sync_report_free(&rep);
    assert_int_equal(snapshot_domains(), 3);
}


static void
test_lock(void **state)
{
    int             fd1, fd2;
    sync_report_t   rep;

    (void) state;

    sync_report_init(&rep, "test", NULL, 1);
    assert_int_equal(sync_lock(snap, 0, &fd1, &rep), SYNC_EXIT_OK);
    assert_int_equal(sync_lock(snap, 0, &fd2, &rep), SYNC_EXIT_REFUSED);
    assert_int_equal(fd2, -1);
    assert_non_null(strstr(rep.error, "another beian-sync"));
    close(fd1);
    assert_int_equal(sync_lock(snap, 0, &fd2, &rep), SYNC_EXIT_OK);
    close(fd2);
    sync_report_free(&rep);

    /* a directory that does not exist is a local I/O failure */
    sync_report_init(&rep, "test", NULL, 1);
    assert_int_equal(sync_lock("/nonexistent-dir/x.mdb", 0, &fd1, &rep),
                     SYNC_EXIT_IO);
    sync_report_free(&rep);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_write_then_unchanged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_empty_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrink_guard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_old_replaced, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
