/*
 * beian-sync: RFC 3339 and safe display of untrusted text.
 */

#include "unit.h"

#include <stdio.h>

#include "util.h"


static int
parse(const char *s, int64_t *sec, int32_t *ns)
{
    return sync_rfc3339_parse(s, strlen(s), sec, ns);
}


static void
test_rfc3339_valid(void **state)
{
    int64_t  s;
    int32_t  ns;

    (void) state;

    assert_int_equal(parse("1970-01-01T00:00:00Z", &s, &ns), 0);
    assert_int_equal(s, 0);
    assert_int_equal(parse("2024-05-01T08:00:00+08:00", &s, &ns), 0);
    assert_int_equal(s, 1714521600);
    assert_int_equal(parse("2024-04-30T19:00:00-05:00", &s, &ns), 0);
    assert_int_equal(s, 1714521600);
    assert_int_equal(parse("2024-05-01t00:00:00z", &s, &ns), 0);
    assert_int_equal(s, 1714521600);
    assert_int_equal(parse("2024-02-29T12:00:00Z", &s, &ns), 0);
    assert_int_equal(parse("2000-02-29T00:00:00Z", &s, &ns), 0);
    assert_int_equal(s, 951782400);
    assert_int_equal(parse("1969-12-31T23:59:59Z", &s, &ns), 0);
    assert_int_equal(s, -1);
    assert_int_equal(parse("2016-12-31T23:59:60Z", &s, &ns), 0);
    assert_int_equal(s, 1483228799);            /* a leap second */

    assert_int_equal(parse("2024-05-01T00:00:00.123456789123Z", &s, &ns), 0);
    assert_int_equal(ns, 123456789);
    assert_int_equal(parse("2024-05-01T00:00:00.5+00:00", &s, &ns), 0);
    assert_int_equal(ns, 500000000);
}


static void
test_rfc3339_invalid(void **state)
{
    size_t   i;
    int64_t  s;
    int32_t  ns;

    static const char *const  bad[] = {
        "", "2024-05-01", "2024-05-01T00:00:00", "2024-05-01 00:00:00Z",
        "2024-05-01T00:00Z", "2024-5-01T00:00:00Z", "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z", "2024-04-31T00:00:00Z",
        "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2024-05-01T24:00:00Z", "2024-05-01T00:60:00Z",
        "2024-05-01T00:00:61Z", "2024-05-01T00:00:00.Z",
        "2024-05-01T00:00:00+8:00", "2024-05-01T00:00:00+0800",
        "2024-05-01T00:00:00+24:00", "2024-05-01T00:00:00+08:60",
        "2024-05-01T00:00:00Z ", " 2024-05-01T00:00:00Z",
        "2024-05-01T00:00:00ZZ", "２０２４-05-01T00:00:00Z",
        "+2024-05-01T00:00:00Z", "2024-05-01T00:00:00UTC",
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &s, &ns) == 0) {
            fail_msg("accepted \"%s\"", bad[i]);
        }
    }
}


static void
test_rfc3339_format(void **state)
{
    char  out[32];

    (void) state;

    sync_rfc3339_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    sync_rfc3339_format(1714521600, out);
    assert_string_equal(out, "2024-05-01T00:00:00Z");
}


static void
test_display(void **state)
{
    char  out[16];

    (void) state;

    assert_string_equal(sync_display(out, sizeof(out), "abc", 3), "abc");
    assert_string_equal(sync_display(out, sizeof(out), "a\nb\x1b\x7f", 5),
                        "a?b??");
    assert_string_equal(sync_display(out, sizeof(out), "a\0b", 3), "a?b");
    /* 15 bytes fit exactly; 16 are cut to 12 + "..." */
    assert_string_equal(sync_display(out, sizeof(out), "123456789012345",
                                     15), "123456789012345");
    assert_string_equal(sync_display(out, sizeof(out), "1234567890123456",
                                     16), "123456789012...");
    /* never half a character: 例 is 3 bytes */
    assert_string_equal(sync_display(out, sizeof(out),
                                     "1234567890例例例", 19),
                        "1234567890...");
    assert_string_equal(sync_display(out, sizeof(out), "例例例例例例", 18),
                        "例例例例...");
    assert_string_equal(sync_display(out, 1, "abc", 3), "");
}


static void
test_arena(void **state)
{
    size_t         i;
    char          *p[3000];
    sync_arena_t   a = { 0 };
    static char    big[3 << 20];

    (void) state;

    for (i = 0; i < 3000; i++) {
        char  s[32];

        snprintf(s, sizeof(s), "string-%zu", i);
        p[i] = sync_arena_strndup(&a, s, strlen(s));
        assert_non_null(p[i]);
    }
    /* larger than a chunk */
    memset(big, 'x', sizeof(big));
    assert_non_null(sync_arena_strndup(&a, big, sizeof(big)));

    assert_string_equal(p[0], "string-0");
    assert_string_equal(p[2999], "string-2999");
    sync_arena_free(&a);
    assert_null(a.head);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_rfc3339_valid),
        cmocka_unit_test(test_rfc3339_invalid),
        cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_display),
        cmocka_unit_test(test_arena),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
