/*
 * beian-sync: ICP filing and licence numbers.
 */

#include "unit.h"

#include <stdio.h>

#include "icp.h"


static const char *
check(const char *s)
{
    static char  why[256];

    return sync_icp_check(s, strlen(s), why, sizeof(why));
}


#define VALID(s)                                                             \
    do {                                                                     \
        const char *why_ = check(s);                                         \
        if (why_ != NULL) {                                                  \
            fail_msg("refused \"%s\": %s", (s), why_);                       \
        }                                                                    \
    } while (0)

#define INVALID(s)                                                           \
    do {                                                                     \
        if (check(s) == NULL) {                                              \
            fail_msg("accepted \"%s\"", (s));                                \
        }                                                                    \
    } while (0)


static void
test_table(void **state)
{
    size_t  i, j;

    (void) state;

    /* 31 mainland provincial-level divisions, one code point each */
    assert_int_equal(sizeof(sync_icp_provinces)
                     / sizeof(sync_icp_provinces[0]), 31);

    for (i = 0; i < SYNC_ICP_NPROVINCES; i++) {
        assert_int_equal(strlen(sync_icp_provinces[i].filing), 3);
        assert_int_equal(strlen(sync_icp_provinces[i].licence), 3);
        for (j = 0; j < i; j++) {
            assert_string_not_equal(sync_icp_provinces[i].filing,
                                    sync_icp_provinces[j].filing);
            assert_string_not_equal(sync_icp_provinces[i].licence,
                                    sync_icp_provinces[j].licence);
        }
    }
}


static void
test_every_province(void **state)
{
    size_t       i;
    char         s[64];
    const char  *f, *l;

    static const char *const  filing[] = {
        "ICP备12345678号", "ICP备12345678号-1", "ICP备2023012345号",
        "ICP备2023012345号-27", "ICP证030173号", "ICP证030173号-1",
        "ICP证1234567890号",
    };
    static const char *const  licence[] = {
        "B1-20090059", "B2-20090059", "B2-20090059-5", "B1-20180001-999",
        "ICP证160061号",
    };
    static const char *const  bad[] = {
        "ICP备1234567号", "ICP备123456789号", "ICP备12345678901号",
        "ICP备12345678", "ICP备12345678号-0", "ICP备12345678号-01",
        "ICP备12345678号-1000", "ICP备12345678号-", "ICP备12345678号1",
        "icp备12345678号", "ICP备１２３４５６７８号", "ICP备 12345678号",
        "ICP证12345号", "ICP证12345678901号", "ICP证030173",
        "B2-2009005", "B2-200900591", "B3-20090059", "B2_20090059",
        "B2-20090059号", "B2-20090059-0", "b2-20090059",
    };

    (void) state;

    for (i = 0; i < SYNC_ICP_NPROVINCES; i++) {
        f = sync_icp_provinces[i].filing;
        l = sync_icp_provinces[i].licence;

        for (size_t k = 0; k < sizeof(filing) / sizeof(filing[0]); k++) {
            snprintf(s, sizeof(s), "%s%s", f, filing[k]);
            VALID(s);
        }
        for (size_t k = 0; k < sizeof(licence) / sizeof(licence[0]); k++) {
            snprintf(s, sizeof(s), "%s%s", l, licence[k]);
            VALID(s);
        }
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            snprintf(s, sizeof(s), "%s%s", f, bad[k]);
            INVALID(s);
            snprintf(s, sizeof(s), "%s%s", l, bad[k]);
            INVALID(s);
        }
    }
}


static void
test_real_numbers(void **state)
{
    (void) state;

    VALID("京ICP备12345678号-1");
    VALID("粤B2-20090059-5");
    VALID("京ICP证030173号");
    VALID("京ICP证030173号-1");
    VALID("蜀ICP备2025156360号-2");
    VALID("川B2-20100027");
    VALID("陇ICP备2021003158号-1");
    VALID("浙B2-20080224-1");
    VALID("沪ICP备13002172号-3");
}


/* Sichuan files as 蜀 and is licensed as 川; Gansu as 陇 and 甘. */
static void
test_two_abbreviations(void **state)
{
    (void) state;

    assert_string_equal(check("川ICP备12345678号-1"),
                        "Sichuan filing numbers start with 蜀, not 川");
    assert_string_equal(check("甘ICP备12345678号"),
                        "Gansu filing numbers start with 陇, not 甘");
    assert_string_equal(check("蜀B2-20180596"),
                        "Sichuan licence numbers start with 川, not 蜀");
    assert_string_equal(check("陇B1-20180596"),
                        "Gansu licence numbers start with 甘, not 陇");

    /* the older licence form is seen with either */
    VALID("川ICP证160061号");
    VALID("蜀ICP证16030308号");
    VALID("甘ICP证030173号");
    VALID("陇ICP证030173号");
}


static void
test_not_a_province(void **state)
{
    (void) state;

    /* Hong Kong, Macau and Taiwan do not file; neither do made-up ones */
    INVALID("港ICP备12345678号");
    INVALID("澳ICP备12345678号");
    INVALID("台ICP备12345678号");
    INVALID("中ICP备12345678号");
    INVALID("ICP备12345678号");
    INVALID("B2-20090059");
    assert_non_null(strstr(check("港ICP备12345678号"),
                           "province abbreviation (found \"港\")"));
    assert_non_null(strstr(check("XICP备12345678号"), "found \"X\""));
}


static void
test_whole_string(void **state)
{
    const char  *why;
    char         buf[64];

    (void) state;

    INVALID("京ICP备12345678号-1\n");
    INVALID("京ICP备12345678号-1 ");
    INVALID(" 京ICP备12345678号-1");
    INVALID("京ICP备12345678号-1京ICP备12345678号-1");
    INVALID("see 京ICP备12345678号-1");

    /* an embedded NUL: the length, not strlen, decides */
    assert_non_null(sync_icp_check("京ICP备12345678号\0-1", 23, buf,
                                   sizeof(buf)));

    why = check("");
    assert_string_equal(why, "empty");

    why = sync_icp_check("\xe4ICP备12345678号", 17, buf, sizeof(buf));
    assert_string_equal(why, "not valid UTF-8");

    why = check("京ICP备123号");
    assert_non_null(strstr(why, "malformed"));
}


int
main(void)
{
    int  rc;

    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_every_province),
        cmocka_unit_test(test_real_numbers),
        cmocka_unit_test(test_two_abbreviations),
        cmocka_unit_test(test_not_a_province),
        cmocka_unit_test(test_whole_string),
    };

    rc = cmocka_run_group_tests(tests, NULL, NULL);
    sync_icp_cleanup();
    return rc;
}
