/*
 * beian-sync: the tencent source's candidates (server_names, registrable
 * domains through libpsl, domain lines), the answer it accepts, and the
 * one key = value reader.
 */

#include "unit.h"

#include <stdio.h>

#include "domain.h"
#include "kv.h"
#include "names.h"
#include "report.h"
#include "tencent.h"


static void
test_registrable(void **state)
{
    size_t  i, len;
    char    out[BEIAN_DOMAIN_MAX + 1];

    static const struct {
        const char  *in;
        const char  *out;           /* NULL: a public suffix itself */
    } cases[] = {
        { "www.sub.example.org", "example.org" },
        { "example.org", "example.org" },
        { "img.shop.com.cn", "shop.com.cn" },
        { "a.b.c.example.com.cn", "example.com.cn" },
        { "www.example.co.uk", "example.co.uk" },
        { "x.gov.cn", "x.gov.cn" },
        { "www.xn--fsqu00a.xn--fiqs8s", "xn--fsqu00a.xn--fiqs8s" },
        { "shop.bj.cn", "shop.bj.cn" },
        /* private suffixes are their owners' names, not registries' */
        { "foo.github.io", "github.io" },
        /* an unlisted TLD is a public suffix: the "*" rule */
        { "a.b.unlistedtld", "b.unlistedtld" },
        { "com.cn", NULL },
        { "cn", NULL },
        { "xn--55qx5d.cn", NULL },                  /* 公司.cn */
        { "co.uk", NULL },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].out == NULL) {
            if (sync_domain_registrable(cases[i].in, strlen(cases[i].in),
                                        out, &len) != -1)
            {
                fail_msg("%s: %s, not a public suffix", cases[i].in, out);
            }
            continue;
        }
        assert_int_equal(sync_domain_registrable(cases[i].in,
                                                 strlen(cases[i].in), out,
                                                 &len), 0);
        if (strcmp(out, cases[i].out) != 0 || len != strlen(out)) {
            fail_msg("%s: %s, expected %s", cases[i].in, out, cases[i].out);
        }
    }
}


static void
test_server_name_domain(void **state)
{
    size_t       i;
    const char  *why;
    char         out[BEIAN_DOMAIN_MAX + 2];

    static const struct {
        const char  *in;
        const char  *out;           /* NULL: skipped ... */
        const char  *why;           /* ... for this reason */
    } cases[] = {
        { "example.com", "example.com", NULL },
        { ".example.com", "example.com", NULL },
        { "*.example.com", "example.com", NULL },
        { "Example.COM.", "Example.COM.", NULL },   /* normalized later */
        { "例子.中国", "例子.中国", NULL },
        { "~^www\\.(.+)$", NULL, "regular expression" },
        { "_", NULL, "catch-all" },
        { "", NULL, "empty" },
        { "localhost", NULL, "single label" },
        { "localhost.", NULL, "single label" },
        { "$hostname", NULL, "variable" },
        { "127.0.0.1", NULL, "IP address" },
        { "[::1]", NULL, "IP address" },
        { "[zz]", NULL, "not a domain" },
        { "www.example.*", NULL, "wildcard" },
        { "a.*.example.com", NULL, "wildcard" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].out != NULL) {
            assert_non_null(sync_server_name_domain(cases[i].in, out, &why));
            assert_string_equal(out, cases[i].out);
            continue;
        }
        assert_null(sync_server_name_domain(cases[i].in, out, &why));
        if (why == NULL || strstr(why, cases[i].why) == NULL) {
            fail_msg("%s: \"%s\", expected \"%s\"", cases[i].in,
                     why ? why : "(none)", cases[i].why);
        }
    }
}


typedef struct {
    char    names[16][64];
    size_t  n;
} seen_t;


static int
seen(const char *name, size_t line, void *data)
{
    seen_t  *s = data;

    (void) line;
    assert_true(s->n < 16);
    snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", name);
    return 0;
}


static void
test_nginx_dump(void **state)
{
    size_t  i;
    seen_t  s;

    /* what nginx -T prints: each file after a comment naming it */
    static const char  dump[] =
        "# configuration file /etc/nginx/nginx.conf:\n"
        "http {\n"
        "    server_name_in_redirect off;\n"
        "    map $host $x { default 0; server_name 1; }\n"
        "    server { server_name a.com \"b.com\" 'c.com'; }\n"
        "    server {\n"
        "        # server_name commented.com;\n"
        "        set $server_name x;\n"
        "        server_name d.com#not-a-comment\n"
        "                    e.com # a comment\n"
        "                    ~^f\\.com$ g\\\"h;\n"
        "        location / { return 200 \"server_name no.com;\"; }\n"
        "    }\n"
        "}\n"
        "# configuration file /etc/nginx/sites/x.conf:\n"
        "server{server_name i.com;}\n";

    static const char *const  want[] = {
        "1",                    /* a map entry named so: harmless */
        "a.com", "b.com", "c.com", "d.com#not-a-comment", "e.com",
        "~^f\\.com$", "g\"h", "i.com",
    };

    (void) state;

    memset(&s, 0, sizeof(s));
    assert_int_equal(sync_nginx_server_names(dump, sizeof(dump) - 1, seen,
                                             &s), 0);
    assert_int_equal(s.n, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < s.n; i++) {
        assert_string_equal(s.names[i], want[i]);
    }
}


static void
test_names_list(void **state)
{
    const char    *why;
    char           err[512];
    sync_names_t   l;

    (void) state;

    memset(&l, 0, sizeof(l));
    assert_int_equal(sync_names_add(&l, "www.Example.org.", NULL, &why, err,
                                    sizeof(err)), 0);
    assert_int_equal(sync_names_add(&l, "example.org", "京ICP备12345678号-1",
                                    &why, err, sizeof(err)), 0);
    assert_int_equal(sync_names_add(&l, "img.shop.com.cn", NULL, &why, err,
                                    sizeof(err)), 0);
    assert_int_equal(sync_names_add(&l, "com.cn", NULL, &why, err,
                                    sizeof(err)), 1);
    assert_non_null(strstr(why, "public suffix"));
    assert_int_equal(sync_names_add(&l, "bad..name", NULL, &why, err,
                                    sizeof(err)), 1);
    assert_int_equal(sync_names_finish(&l, err, sizeof(err)), 0);

    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].domain, "example.org");
    assert_string_equal(l.v[0].icp, "京ICP备12345678号-1");
    assert_non_null(strstr(l.v[0].names, "www.example.org"));
    assert_string_equal(l.v[1].domain, "shop.com.cn");
    assert_string_equal(l.v[1].icp, "");

    /* one registrable domain, two numbers */
    assert_int_equal(sync_names_add(&l, "a.example.org", "粤B2-20090059-5",
                                    &why, err, sizeof(err)), 0);
    assert_int_equal(sync_names_finish(&l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "two ICP numbers"));
    sync_names_free(&l);
}


static void
test_decode(void **state)
{
    char               err[512];
    json_t            *j;
    sync_name_t        name;
    sync_icp_status_t  st;

    (void) state;

    memset(&name, 0, sizeof(name));
    strcpy(name.domain, "example.org");
    memset(&st, 0, sizeof(st));
    st.name = &name;

    j = json_pack("{s:{s:b, s:b, s:b, s:b, s:s}}", "Response",
                  "GovStatus", 1, "LandedStatus", 0, "AuditTicket", 1,
                  "Ban", 0, "RequestId", "r-1");
    assert_int_equal(sync_tencent_decode(j, &st, err, sizeof(err)), 0);
    assert_true(st.gov && !st.landed && st.audit && !st.ban);
    assert_string_equal(st.request_id, "r-1");
    assert_int_equal(sync_tencent_verdict(&st), SYNC_SKIP_NOT_LANDED);
    st.ban = 1;
    assert_int_equal(sync_tencent_verdict(&st), SYNC_SKIP_BANNED);
    st.ban = 0;
    st.gov = 0;
    assert_int_equal(sync_tencent_verdict(&st), SYNC_SKIP_NOT_FILED);
    st.gov = st.landed = 1;
    assert_int_equal(sync_tencent_verdict(&st), -1);
    json_decref(j);

    /* every field checked, never guessed */
    j = json_pack("{s:{s:b, s:s, s:b, s:b, s:s}}", "Response",
                  "GovStatus", 1, "LandedStatus", "true", "AuditTicket", 0,
                  "Ban", 0, "RequestId", "r-2");
    assert_int_equal(sync_tencent_decode(j, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"LandedStatus\" is a string"));
    assert_non_null(strstr(err, "RequestId r-2"));
    json_decref(j);

    j = json_pack("{s:{s:b, s:b, s:b, s:s}}", "Response", "GovStatus", 1,
                  "LandedStatus", 1, "AuditTicket", 0, "RequestId", "r-3");
    assert_int_equal(sync_tencent_decode(j, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"Ban\" is missing"));
    json_decref(j);

    j = json_pack("{s:{s:b, s:b, s:b, s:b}}", "Response", "GovStatus", 1,
                  "LandedStatus", 1, "AuditTicket", 0, "Ban", 0);
    assert_int_equal(sync_tencent_decode(j, &st, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"RequestId\" is missing"));
    json_decref(j);
}


typedef struct {
    char    got[512];
} kv_seen_t;


static int
kv_seen(const sync_kv_t *kv, void *data, char *err, size_t err_len)
{
    kv_seen_t  *s = data;
    size_t      len = strlen(s->got);

    (void) err;
    (void) err_len;
    snprintf(s->got + len, sizeof(s->got) - len, "%zu[%s]%s=%s;", kv->line,
             kv->section, kv->key, kv->value);
    return 0;
}


static void
test_kv(void **state)
{
    char       buf[256], err[256];
    kv_seen_t  s;

    (void) state;

    memset(&s, 0, sizeof(s));
    strcpy(buf, "# head\n a = 1 \nb=\"x #y\"  # c\nc = d#e\n\n");
    assert_int_equal(sync_kv_parse("config", "f", buf, strlen(buf), 0,
                                   kv_seen, &s, err, sizeof(err)), 0);
    assert_string_equal(s.got, "2[]a=1;3[]b=x #y;4[]c=d#e;");

    /* sections and ';' comments where asked for */
    memset(&s, 0, sizeof(s));
    strcpy(buf, "; c\n[default]\nsecret_id = X\n[ other ] # c\nk = v\n");
    assert_int_equal(sync_kv_parse("credentials file", "f", buf, strlen(buf),
                                   SYNC_KV_SECTIONS | SYNC_KV_SEMICOLON,
                                   kv_seen, &s, err, sizeof(err)), 0);
    assert_string_equal(s.got, "3[default]secret_id=X;5[other]k=v;");

    strcpy(buf, "a = 1\n[default]\n");
    assert_int_equal(sync_kv_parse("config", "f", buf, strlen(buf), 0,
                                   kv_seen, &s, err, sizeof(err)), -1);
    assert_string_equal(err, "config f:2: expected \"key = value\"");

    strcpy(buf, "[default\n");
    assert_int_equal(sync_kv_parse("credentials file", "f", buf, strlen(buf),
                                   SYNC_KV_SECTIONS, kv_seen, &s, err,
                                   sizeof(err)), -1);
    assert_string_equal(err, "credentials file f:1: expected \"[section]\"");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_registrable),
        cmocka_unit_test(test_server_name_domain),
        cmocka_unit_test(test_nginx_dump),
        cmocka_unit_test(test_names_list),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_kv),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
