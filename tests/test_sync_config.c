/*
 * beian-sync pull: options from flags and the config file, URL rules.
 */

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"


static char  dir[64];
static char  path[128];


static int
setup(void **state)
{
    (void) state;

    if (unit_mkdtemp(dir, sizeof(dir), "/tmp/beian-config-XXXXXX") != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/beian-sync.conf", dir);
    return 0;
}


static int
teardown(void **state)
{
    (void) state;

    return unit_rm_rf(dir);
}


static void
write_conf(const char *text, mode_t mode)
{
    unit_write_file(path, text);
    assert_int_equal(chmod(path, mode), 0);
}


static int
set(sync_pull_conf_t *c, const char *k, const char *v, char *err)
{
    return sync_pull_conf_set(c, k, v, SYNC_FROM_FLAG, err, 512);
}


static void
test_set_values(void **state)
{
    char              err[512];
    sync_pull_conf_t  c;

    (void) state;

    sync_pull_conf_init(&c);
    assert_int_equal(c.max_shrink, 50);
    assert_int_equal(c.timeout, 30);
    assert_int_equal(c.retries, 4);
    assert_int_equal(c.page_size, 100);

    assert_int_equal(set(&c, "page-size", "100", err), 0);
    assert_int_equal(set(&c, "page-size", "1", err), 0);
    assert_int_equal(c.page_size, 1);
    assert_int_equal(set(&c, "page-size", "101", err), -1);
    assert_non_null(strstr(err, "page-size \"101\""));
    assert_int_equal(set(&c, "page-size", "0", err), -1);
    assert_int_equal(set(&c, "page-size", "-5", err), -1);
    assert_int_equal(set(&c, "page-size", "10x", err), -1);
    assert_int_equal(set(&c, "page-size", "", err), -1);
    assert_int_equal(set(&c, "timeout", "0", err), -1);
    assert_int_equal(set(&c, "retries", "0", err), 0);
    assert_int_equal(set(&c, "max-shrink", "100", err), 0);
    assert_int_equal(set(&c, "max-shrink", "101", err), -1);

    assert_int_equal(set(&c, "force", "yes", err), 0);
    assert_int_equal(c.force, 1);
    assert_int_equal(set(&c, "force", "OFF", err), 0);
    assert_int_equal(c.force, 0);
    assert_int_equal(set(&c, "force", "maybe", err), -1);

    assert_int_equal(set(&c, "no-such-key", "1", err), -1);
    assert_non_null(strstr(err, "unknown key"));

    /* header values: a CR/LF would inject a header */
    assert_int_equal(set(&c, "action", "Describe\r\nX-Evil: 1", err), -1);
    assert_int_equal(set(&c, "region", "ap guangzhou", err), -1);
    assert_int_equal(set(&c, "region", "", err), 0);
    assert_null(c.region);
    assert_int_equal(set(&c, "region", "ap-guangzhou", err), 0);
    assert_string_equal(c.region, "ap-guangzhou");
    assert_int_equal(set(&c, "out", "/tmp/a\nb", err), -1);

    /* a secret's value is never echoed, not even when it is wrong */
    assert_int_equal(set(&c, "secret-key", "top secret value", err), -1);
    assert_null(strstr(err, "top secret"));
    assert_non_null(strstr(err, "secret-key"));

    sync_pull_conf_free(&c);
}


static void
test_flags_beat_file(void **state)
{
    char              err[512];
    sync_pull_conf_t  c;

    (void) state;

    sync_pull_conf_init(&c);
    assert_int_equal(set(&c, "timeout", "7", err), 0);
    assert_int_equal(set(&c, "region", "ap-beijing", err), 0);

    write_conf("timeout = 99\nregion = ap-shanghai\nretries = 9\n", 0644);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), 0);

    assert_int_equal(c.timeout, 7);
    assert_string_equal(c.region, "ap-beijing");
    assert_int_equal(c.retries, 9);
    assert_int_equal(c.from[SYNC_KEY_TIMEOUT], SYNC_FROM_FLAG);
    assert_int_equal(c.from[SYNC_KEY_RETRIES], SYNC_FROM_CONFIG);

    /* and the other way round: a flag after the file still wins */
    assert_int_equal(set(&c, "retries", "2", err), 0);
    assert_int_equal(c.retries, 2);

    sync_pull_conf_free(&c);
}


static void
test_file_syntax(void **state)
{
    size_t            i;
    char              err[512];
    sync_pull_conf_t  c;

    /* refused files, and what the message says (NULL: not checked) */
    static const struct { const char *text, *msg; } bad[] = {
        { "timeout = 5\nnonsense\n", ":2: expected \"key = value\"" },
        { "timeout = 5\ntimeout = 6\n",
          ":2: timeout is set twice (first on line 1)" },
        { "\n\nbogus-key = 1\n", ":3: unknown key \"bogus-key\"" },
        { "config = /etc/other.conf\n", NULL },
        { "page-size = 500\n", ":1: page-size \"500\"" },
    };

    (void) state;

    /* the shipped example's style: aligned inline comments */
    sync_pull_conf_init(&c);
    write_conf("# a comment\n"
               "\n"
               "instance-id = auto                  # from the metadata\n"
               "out=/var/lib/beian/snapshot.mdb\n"
               "  reload-pid\t=  /run/nginx.pid  \r\n"
               "endpoint = \"https://example.com/#not-a-comment\"\n"
               "force = true\n"
               "json = no\n", 0644);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), 0);
    assert_string_equal(c.instance_id, "auto");
    assert_string_equal(c.out, "/var/lib/beian/snapshot.mdb");
    assert_string_equal(c.reload_pid, "/run/nginx.pid");
    assert_string_equal(c.endpoint, "https://example.com/#not-a-comment");
    assert_int_equal(c.force, 1);
    assert_int_equal(c.json, 0);
    assert_string_equal(c.config, path);
    sync_pull_conf_free(&c);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sync_pull_conf_init(&c);
        write_conf(bad[i].text, 0644);
        assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), -1);
        if (bad[i].msg != NULL && strstr(err, bad[i].msg) == NULL) {
            fail_msg("message \"%s\" lacks \"%s\"", err, bad[i].msg);
        }
        sync_pull_conf_free(&c);
    }

    sync_pull_conf_init(&c);
    assert_int_equal(sync_pull_conf_load(&c, "/nonexistent/beian.conf", err,
                                         sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/beian.conf"));
    assert_int_equal(sync_pull_conf_load(&c, dir, err, sizeof(err)), -1);
    sync_pull_conf_free(&c);
}


static void
test_file_permissions(void **state)
{
    char              err[512];
    sync_pull_conf_t  c;

    static const char  with_secret[] =
        "secret-id = AKIDconfig0001\nsecret-key = sk-config-secret-0001\n";

    (void) state;

    /* a secret readable by others: refused, and nothing applied */
    sync_pull_conf_init(&c);
    write_conf(with_secret, 0640);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "holds a secret"));
    assert_null(strstr(err, "sk-config-secret"));
    assert_null(c.secret_id);
    assert_null(c.secret_key);

    write_conf(with_secret, 0604);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), -1);

    write_conf(with_secret, 0600);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), 0);
    assert_string_equal(c.secret_key, "sk-config-secret-0001");
    assert_int_equal(c.from[SYNC_KEY_SECRET_KEY], SYNC_FROM_CONFIG);
    sync_pull_conf_free(&c);

    /* a session token is a secret too */
    sync_pull_conf_init(&c);
    write_conf("session-token = tok-0001-abcdef\n", 0644);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), -1);
    sync_pull_conf_free(&c);

    /* no secret: may be world-readable, never writable by others */
    sync_pull_conf_init(&c);
    write_conf("secret-id = AKIDconfig0001\ntimeout = 3\n", 0644);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), 0);
    sync_pull_conf_free(&c);

    sync_pull_conf_init(&c);
    write_conf("timeout = 3\n", 0664);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "writable"));
    write_conf("timeout = 3\n", 0646);
    assert_int_equal(sync_pull_conf_load(&c, path, err, sizeof(err)), -1);
    sync_pull_conf_free(&c);
}


static void
test_finish(void **state)
{
    char              err[512];
    sync_pull_conf_t  c;

    (void) state;

    sync_pull_conf_init(&c);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "instance-id is required"));
    assert_int_equal(set(&c, "instance-id", "lhins-abcd1234", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "out is required"));
    assert_int_equal(set(&c, "out", "/tmp/x.mdb", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), 0);

    /* the defaults of the README table */
    assert_string_equal(c.endpoint, "https://lighthouse.tencentcloudapi.com");
    assert_string_equal(c.action, "DescribeInstanceBeianDomains");
    assert_string_equal(c.api_version, "2020-03-24");
    assert_string_equal(c.service, "lighthouse");
    assert_null(c.region);
    assert_string_equal(c.url, "https://lighthouse.tencentcloudapi.com/");
    assert_string_equal(c.host, "lighthouse.tencentcloudapi.com");
    assert_string_equal(c.metadata, "http://metadata.tencentyun.com");
    assert_string_equal(c.source, "records");
    assert_string_equal(c.meta_source, "pull:https://lighthouse."
                        "tencentcloudapi.com/ DescribeInstanceBeianDomains "
                        "2020-03-24");
    sync_pull_conf_free(&c);

    /* source = tencent: its own defaults, and names to ask about */
    sync_pull_conf_init(&c);
    assert_int_equal(set(&c, "source", "tencent", err), 0);
    assert_int_equal(set(&c, "instance-id", "lhins-abcd1234", err), 0);
    assert_int_equal(set(&c, "out", "/tmp/x.mdb", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs the names to ask about"));
    assert_int_equal(set(&c, "domain", "example.com", err), 0);
    assert_int_equal(set(&c, "domain", "shop.com.cn 京ICP备12345678号-1",
                         err), 0);
    assert_int_equal(c.ndomains, 2);
    assert_int_equal(set(&c, "domain", "a b c", err), -1);
    assert_non_null(strstr(err, "expected a name and, optionally, its ICP"));
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), 0);
    assert_string_equal(c.endpoint, "https://ba.tencentcloudapi.com");
    assert_string_equal(c.action, "DescribeDomainIcpStatus");
    assert_string_equal(c.api_version, "2020-07-20");
    assert_string_equal(c.service, "ba");
    assert_string_equal(c.nginx, "/usr/sbin/nginx");
    assert_int_equal(c.concurrency, 8);
    sync_pull_conf_free(&c);

    /* a flag's list replaces the file's; a bad source or domains-from */
    sync_pull_conf_init(&c);
    assert_int_equal(sync_pull_conf_set(&c, "domain", "a.com", SYNC_FROM_FLAG,
                                        err, sizeof(err)), 0);
    assert_int_equal(sync_pull_conf_set(&c, "domain", "b.com",
                                        SYNC_FROM_CONFIG, err, sizeof(err)),
                     0);
    assert_int_equal(c.ndomains, 1);
    assert_string_equal(c.domains[0], "a.com");
    assert_int_equal(set(&c, "source", "alibaba", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "expected tencent or records"));
    assert_int_equal(set(&c, "source", "records", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "are for source = tencent"));
    assert_int_equal(set(&c, "source", "tencent", err), 0);
    assert_int_equal(set(&c, "domains-from", "apache", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "domains-from \"apache\": expected nginx"));
    sync_pull_conf_free(&c);

    /* status needs neither instance-id nor out */
    sync_pull_conf_init(&c);
    assert_int_equal(sync_pull_conf_finish(&c, 1, err, sizeof(err)), 0);
    assert_string_equal(c.source, "tencent");
    sync_pull_conf_free(&c);

    sync_pull_conf_init(&c);
    assert_int_equal(set(&c, "out", "/tmp/x.mdb", err), 0);
    assert_int_equal(set(&c, "instance-id", "auto", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), 0);
    assert_int_equal(set(&c, "instance-id", "lhins-ABC", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "instance-id \"lhins-ABC\""));
    assert_int_equal(set(&c, "instance-id", "lhins-abcd1234", err), 0);

    /* credentials come in pairs */
    assert_int_equal(set(&c, "secret-id", "AKIDonly0001", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "secret-id is given without secret-key"));
    sync_pull_conf_free(&c);

    sync_pull_conf_init(&c);
    assert_int_equal(set(&c, "out", "/tmp/x.mdb", err), 0);
    assert_int_equal(set(&c, "instance-id", "auto", err), 0);
    assert_int_equal(set(&c, "session-token", "tok-0001-abcdef", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_int_equal(set(&c, "secret-id", "AKIDpair0001", err), 0);
    assert_int_equal(set(&c, "secret-key", "sk-pair-0001", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), 0);

    assert_int_equal(set(&c, "ca-file", "/nonexistent/ca.pem", err), 0);
    assert_int_equal(sync_pull_conf_finish(&c, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ca-file /nonexistent/ca.pem"));
    sync_pull_conf_free(&c);
}


static void
test_endpoint_rules(void **state)
{
    size_t  i;
    char    url[SYNC_URL_MAX], host[SYNC_URL_MAX], err[512];

    static const struct {
        const char  *in;
        const char  *url;
        const char  *host;
    } good[] = {
        { "https://lighthouse.tencentcloudapi.com",
          "https://lighthouse.tencentcloudapi.com/",
          "lighthouse.tencentcloudapi.com" },
        { "https://Lighthouse.TencentCloudAPI.com:443/",
          "https://lighthouse.tencentcloudapi.com/",
          "lighthouse.tencentcloudapi.com" },
        { "https://api.example.com:8443",
          "https://api.example.com:8443/", "api.example.com:8443" },
        { "http://127.0.0.1:8080", "http://127.0.0.1:8080/",
          "127.0.0.1:8080" },
        { "http://127.9.8.7/", "http://127.9.8.7/", "127.9.8.7" },
        { "http://localhost:9000", "http://localhost:9000/",
          "localhost:9000" },
        { "http://[::1]:9000/", "http://[::1]:9000/", "[::1]:9000" },
        { "http://127.0.0.1:80", "http://127.0.0.1/", "127.0.0.1" },
    };

    static const char *const  bad[] = {
        "http://example.com",               /* plain http, not loopback */
        "http://10.0.0.1:8080",
        "http://128.0.0.1",
        "http://[::2]:80",
        "http://localhost.example.com",
        "ftp://127.0.0.1/",
        "https://example.com/api",          /* the API is at "/" */
        "https://example.com/?a=b",
        "https://example.com/#frag",
        "not a url",
        "https://",
    };

    (void) state;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (sync_endpoint_parse(good[i].in, url, host, err, sizeof(err))
            != 0)
        {
            fail_msg("refused %s: %s", good[i].in, err);
        }
        assert_string_equal(url, good[i].url);
        assert_string_equal(host, good[i].host);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sync_endpoint_parse(bad[i], url, host, err, sizeof(err)) == 0) {
            fail_msg("accepted %s", bad[i]);
        }
    }

    /* user info is refused and never echoed: it would be a password */
    assert_int_equal(sync_endpoint_parse("https://u:hunter2@example.com/",
                                         url, host, err, sizeof(err)), -1);
    assert_null(strstr(err, "hunter2"));
}


static void
test_metadata_rules(void **state)
{
    char  base[SYNC_URL_MAX], err[512];

    (void) state;

    /* plain http to the real, non-loopback metadata service is fine */
    assert_int_equal(sync_metadata_parse("http://metadata.tencentyun.com",
                                         base, err, sizeof(err)), 0);
    assert_string_equal(base, "http://metadata.tencentyun.com");
    assert_int_equal(sync_metadata_parse("http://127.0.0.1:9000/", base, err,
                                         sizeof(err)), 0);
    assert_string_equal(base, "http://127.0.0.1:9000");
    assert_int_equal(sync_metadata_parse("https://md.example/prefix//", base,
                                         err, sizeof(err)), 0);
    assert_string_equal(base, "https://md.example/prefix");

    assert_int_equal(sync_metadata_parse("file:///etc/passwd", base, err,
                                         sizeof(err)), -1);
    assert_int_equal(sync_metadata_parse("http://h/?x=1", base, err,
                                         sizeof(err)), -1);
}


static void
test_loopback(void **state)
{
    (void) state;

    assert_true(sync_host_is_loopback("127.0.0.1"));
    assert_true(sync_host_is_loopback("127.255.255.254"));
    assert_true(sync_host_is_loopback("localhost"));
    assert_true(sync_host_is_loopback("LOCALHOST"));
    assert_true(sync_host_is_loopback("[::1]"));
    assert_false(sync_host_is_loopback("::1"));     /* curl gives brackets */
    assert_false(sync_host_is_loopback("[::]"));
    assert_false(sync_host_is_loopback("0.0.0.0"));
    assert_false(sync_host_is_loopback("126.0.0.1"));
    assert_false(sync_host_is_loopback("127.0.0.1.nip.io"));
    assert_false(sync_host_is_loopback("example.com"));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_set_values),
        cmocka_unit_test_setup_teardown(test_flags_beat_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_file_syntax, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_permissions, setup,
                                        teardown),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_endpoint_rules),
        cmocka_unit_test(test_metadata_rules),
        cmocka_unit_test(test_loopback),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
