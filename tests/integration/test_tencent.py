"""beian-sync pull with source = tencent, and beian-sync status, against the
mock's `ba` service (DescribeDomainIcpStatus, with its own TC3 check for
service "ba"): admission reasons, IDN, registrable reduction, domain lines
and `domains-from = nginx` on a real `nginx -T`, every fault leaving the old
snapshot byte-identical, requests in flight at once, and nginx end to end.
"""

import json
import os
import time
import unittest

import support
from support import (INSTANCE, NGINX_BIN, SECRET_ID, SECRET_KEY, Mock,
                     dump, fingerprint, info)

T, F = True, False


def flags(gov, landed, audit=False, ban=False):
    return {"GovStatus": gov, "LandedStatus": landed, "AuditTicket": audit,
            "Ban": ban}


ICP_A = "京ICP备12345678号-1"
ICP_B = "粤B2-20090059-5"

# the mock's answers; a domain it does not know is not filed
STATUSES = {
    "allowed.com": flags(T, T),
    "notfiled.com": flags(F, F),
    "notlanded.com": flags(T, F),
    "banned.com": flags(T, T, ban=T),
    "audit.com": flags(T, T, audit=T),
    "example.org": flags(T, T),
    "shop.com.cn": flags(T, T),
    "xn--fsqu00a.xn--fiqs8s": flags(T, T),          # 例子.中国
}


class TencentCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        support.workdir(self, "beian-tc-")
        self.mock = Mock(self.tmp)
        self.addCleanup(self.mock.stop)
        self.mock.ba(STATUSES)

    def config(self, lines, name="beian.conf"):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write("source = tencent\n" + "".join(l + "\n" for l in lines))
        os.chmod(path, 0o600)
        return path

    def env(self, creds=True):
        return support.clean_env(self.home, {
            "TENCENTCLOUD_SECRET_ID": SECRET_ID,
            "TENCENTCLOUD_SECRET_KEY": SECRET_KEY} if creds else {})

    def pull(self, lines, *extra, timeout=2, retries=2, creds=True):
        """creds False: none in the environment, the metadata service's."""
        conf = self.config(lines)
        argv = [support.BEIAN_SYNC, "pull", "--config", conf,
                "--endpoint", self.mock.url, "--instance-id", INSTANCE,
                "--out", self.out, "--timeout", str(timeout),
                "--retries", str(retries), "--metadata-url", self.mock.url,
                "--json"] + list(extra)
        r = support.run(argv, self.env(creds), 120)
        for s in (SECRET_KEY, SECRET_ID):
            self.assertNotIn(s, r.stdout + r.stderr)
        self.assertIsNotNone(r.report, r)
        self.assertEqual(r.report["exit_code"], r.rc, r)
        return r

    def status(self, *args, conf_lines=()):
        argv = [support.BEIAN_SYNC, "status", "--endpoint", self.mock.url,
                "--timeout", "2", "--retries", "1"]
        if conf_lines:
            argv += ["--config", self.config(conf_lines, "status.conf")]
        return support.run(argv + list(args), self.env(), 60)

    def asked(self):
        return sorted(e["domain"] for e in self.mock.log())


class TestAdmission(TencentCase):

    def test_every_reason(self):
        r = self.pull(["domain = allowed.com %s" % ICP_A,
                       "domain = notfiled.com", "domain = notlanded.com",
                       "domain = banned.com", "domain = audit.com"])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), {"allowed.com": ICP_A,
                                          "audit.com": ""})
        rep = r.report
        self.assertEqual(rep["records_seen"], 5)
        self.assertEqual(rep["records_admitted"], 2)
        self.assertEqual({k: v for k, v in rep["not_admitted"].items() if v},
                         {"not_filed": 1, "not_landed": 1, "banned": 1})
        log = {e["domain"]: e["request_id"] for e in self.mock.log()}
        for d, why in (("notfiled.com", "not_filed"),
                       ("notlanded.com", "not_landed"),
                       ("banned.com", "banned")):
            self.assertRegex(r.stderr, r"%s: not allowed, %s .*RequestId %s"
                             % (d, why, log[d]))
        self.assertIn("audit.com: a verification ticket is open", r.stderr)
        self.assertIn("1 filed domain without an ICP number", r.stderr)
        self.assertRegex(r.stderr, r"without an ICP number.*: audit\.com")
        # every request signed for service ba, action and version right
        for e in self.mock.log():
            self.assertTrue(e["signature_ok"], e)
            self.assertEqual((e["action"], e["version"]),
                             ("DescribeDomainIcpStatus", "2020-07-20"))
        detail = {a["domain"]: a for a in rep["source_detail"]["asked"]}
        self.assertEqual(detail["banned.com"]["verdict"], "banned")
        self.assertEqual(detail["allowed.com"]["icp"], ICP_A)
        self.assertEqual(info(self.out)["index_verified"], "yes")

    def test_registrable_domains_and_idn(self):
        r = self.pull(["domain = www.sub.example.org",
                       "domain = example.org %s" % ICP_A,
                       "domain = img.shop.com.cn", "domain = 例子.中国 %s" % ICP_B])
        self.assertEqual(r.rc, 0, r)
        # each registrable domain asked once, as A-labels
        self.assertEqual(self.asked(), ["example.org", "shop.com.cn",
                                        "xn--fsqu00a.xn--fiqs8s"])
        self.assertEqual(dump(self.out), {"example.org": ICP_A,
                                          "shop.com.cn": "",
                                          "xn--fsqu00a.xn--fiqs8s": ICP_B})
        got = support.check_hosts(self.out, ["www.sub.example.org",
                                             "img.shop.com.cn",
                                             "other.com.cn"])
        self.assertEqual(got, {"www.sub.example.org": "filed",
                               "img.shop.com.cn": "filed",
                               "other.com.cn": "unfiled"})

    def test_cam_role_credentials(self):
        # the instance's role through the metadata service: temporary
        # credentials, sent with their token, accepted by the ba side
        r = self.pull(["domain = allowed.com", "domain = example.org"],
                      "--instance-id", "auto", creds=False)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.report["credentials"], "metadata")
        self.assertEqual(r.report["instance_id"], INSTANCE)
        log = self.mock.log()
        self.assertEqual(len(log), 2)
        for e in log:
            self.assertTrue(e["token_sent"] and e["signature_ok"], e)
        for c in self.mock._call("/__mock/issued"):
            self.assertNotIn(c["key"], r.stdout + r.stderr)
            self.assertNotIn(c["token"], r.stdout + r.stderr)

    def test_more_than_five_registrable_domains_warn(self):
        names = ["site%d.com" % i for i in range(6)]
        self.mock.ba({n: flags(T, T) for n in names})
        r = self.pull(["domain = www.%s" % n for n in names])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.report["websites"], 6)
        self.assertIn("6 websites are bound", r.stderr)

    def test_configuration_errors_exit_1(self):
        before = None
        for lines, msg in (
                (["domain = com.cn"], "a public suffix"),
                (["domain = example.org 京ICP备123号"], "ICP number"),
                (["domain = example.org %s" % ICP_A,
                  "domain = www.example.org %s" % ICP_B],
                 "two ICP numbers"),
                (["domain = bad_name!.com"], "domain \"bad_name!.com\""),
                ([], "needs the names to ask about")):
            with self.subTest(lines=lines):
                r = self.pull(lines)
                self.assertEqual(r.rc, 1, r)
                self.assertIn(msg, r.stderr)
                self.assertEqual(self.mock.log(), [])
                self.assertFalse(os.path.exists(self.out))
        del before

    def test_status_change_flips_the_snapshot(self):
        lines = ["domain = allowed.com", "domain = notlanded.com"]
        self.assertEqual(self.pull(lines).rc, 0)
        self.assertEqual(sorted(dump(self.out)), ["allowed.com"])
        self.mock.ba({"notlanded.com": flags(T, T)})
        r = self.pull(lines)
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.report["changed"])
        self.assertEqual(sorted(dump(self.out)), ["allowed.com",
                                                  "notlanded.com"])
        # unchanged: no new file
        before = fingerprint(self.out)
        r = self.pull(lines)
        self.assertEqual(r.rc, 0, r)
        self.assertFalse(r.report["changed"])
        self.assertEqual(fingerprint(self.out), before)


class TestFaults(TencentCase):
    """Any domain whose status cannot be read fails the whole pull with exit
    2; the old snapshot stays byte for byte."""

    LINES = ["domain = allowed.com", "domain = example.org",
             "domain = audit.com"]

    def initial(self):
        r = self.pull(self.LINES)
        self.assertEqual(r.rc, 0, r)
        self.mock.reset()
        # a change waiting: a pull that succeeds would write a new file
        self.mock.ba({"audit.com": flags(T, F)})
        return fingerprint(self.out)

    def fails(self, fault, msg, timeout=2, retries=2, **params):
        before = self.initial()
        self.mock.fault(fault, times=99, domain="example.org", **params)
        r = self.pull(self.LINES, timeout=timeout, retries=retries)
        self.assertEqual(r.rc, 2, r)
        self.assertRegex(r.stderr, msg)
        self.assertEqual(fingerprint(self.out), before)
        self.assertEqual(set(os.listdir(self.snapdir)),
                         {"snapshot.mdb", "snapshot.mdb.lock"})
        return r

    def test_http_5xx(self):
        r = self.fails("http503", r"example\.org: giving up after 2 retries"
                       r".*HTTP status 503")
        self.assertEqual(sum(e["domain"] == "example.org"
                             for e in self.mock.log()), 3)

    def test_error_envelope(self):
        self.fails("error", r"DescribeDomainIcpStatus example\.org: provider "
                   r"error UnauthorizedOperation: .*RequestId [0-9a-f-]{36}",
                   code="UnauthorizedOperation")

    def test_missing_field(self):
        self.fails("missing_field", r'example\.org: "LandedStatus" is '
                   r'missing, expected true or false \(RequestId [0-9a-f-]+\)',
                   field="LandedStatus")

    def test_string_true(self):
        self.fails("string_true", r'example\.org: "Ban" is a string, '
                   r'expected true or false \(RequestId [0-9a-f-]+\)',
                   field="Ban")

    def test_not_json(self):
        self.fails("invalid_json", r"example\.org: the response is not JSON")

    def test_slow_answer(self):
        self.fails("slow", r"example\.org: giving up after 0 retries.*"
                   r"(imeout|timed out)", timeout=1, retries=0, seconds=3)

    def test_rate_limit_once_recovers(self):
        before = self.initial()
        self.mock.fault("RequestLimitExceeded", times=1, domain="example.org")
        r = self.pull(self.LINES)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.report["retries"], 1)
        self.assertNotEqual(fingerprint(self.out), before)
        self.assertEqual(sorted(dump(self.out)), ["allowed.com",
                                                  "example.org"])


class TestConcurrency(TencentCase):

    def test_500_domains_in_seconds(self):
        names = ["d%03d.example%d.com" % (i, i) for i in range(500)]
        self.mock.ba({"example%d.com" % i: flags(T, i % 7 != 0)
                      for i in range(500)})
        self.mock.settings(ba_delay=0.02)
        r = self.pull(["domain = %s" % n for n in names], "--concurrency", "8")
        self.assertEqual(r.rc, 0, r)
        # 500 answers of 20 ms each: 10 s one at a time
        self.assertLess(r.elapsed, 6, r)
        print("\n500 domains, 20 ms each, 8 in flight: %.2f s" % r.elapsed)
        self.assertEqual(len(self.mock.log()), 500)
        self.assertEqual(len(dump(self.out)),
                         sum(1 for i in range(500) if i % 7 != 0))
        inflight = self.mock.ba_state()["inflight_max"]
        self.assertGreater(inflight, 1)
        self.assertLessEqual(inflight, 8)

    def test_failure_stops_the_rest(self):
        names = ["site%d.com" % i for i in range(40)]
        self.mock.ba({n: flags(T, T) for n in names})
        self.mock.settings(ba_delay=0.02)
        self.mock.fault("error", times=99, domain="site0.com",
                        code="InvalidParameter")
        r = self.pull(["domain = %s" % n for n in names],
                      "--concurrency", "2")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("site0.com", r.stderr)
        self.assertLess(len(self.mock.log()), 40)
        self.assertFalse(os.path.exists(self.out))


NGINX_T_CONF = """\
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    include {dir}/sites/*.conf;
    server {{
        listen 127.0.0.1:1;
        server_name example.org www.example.org "shop.com.cn"  # a comment
                    ~^(?<sub>.+)\\.regex\\.com$;
        # server_name commented.com;
    }}
}}
"""

SITE_CONF = """\
server {
    listen 127.0.0.1:1;
    server_name .wild.com *.star.net _ localhost 127.0.0.1 [::1]
                例子.中国 www.example.* $hostname;
}
"""


@unittest.skipUnless(os.path.exists(NGINX_BIN), "no nginx")
class TestDomainsFromNginx(TencentCase):

    def nginx_conf(self, site=SITE_CONF):
        d = os.path.join(self.tmp, "ngx")
        os.makedirs(os.path.join(d, "sites"), exist_ok=True)
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(NGINX_T_CONF.format(dir=d))
        with open(os.path.join(d, "sites", "a.conf"), "w",
                  encoding="utf-8") as f:
            f.write(site)
        return os.path.join(d, "nginx.conf")

    def test_server_names(self):
        self.mock.ba({"wild.com": flags(T, T), "star.net": flags(T, F)})
        conf = self.nginx_conf()
        r = self.pull(["domains-from = nginx", "nginx = %s" % NGINX_BIN,
                       "nginx-conf = %s" % conf])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.asked(), ["example.org", "shop.com.cn",
                                        "star.net", "wild.com",
                                        "xn--fsqu00a.xn--fiqs8s"])
        self.assertEqual(sorted(dump(self.out)),
                         ["example.org", "shop.com.cn", "wild.com",
                          "xn--fsqu00a.xn--fiqs8s"])
        skipped = {s["name"]: s["reason"]
                   for s in r.report["source_detail"]["skipped_names"]}
        self.assertEqual(set(skipped), {
            "~^(?<sub>.+)\\.regex\\.com$", "_", "localhost", "127.0.0.1",
            "[::1]", "www.example.*", "$hostname"})
        self.assertIn("regular expression", skipped["~^(?<sub>.+)\\.regex\\.com$"])
        self.assertIn("IP address", skipped["[::1]"])
        self.assertIn("7 server_names skipped", r.stderr)

    def test_with_domain_lines(self):
        conf = self.nginx_conf()
        r = self.pull(["domains-from = nginx", "nginx = %s" % NGINX_BIN,
                       "nginx-conf = %s" % conf, "domain = allowed.com", "domain = example.org %s"
                       % ICP_A])
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out)["example.org"], ICP_A)
        self.assertIn("allowed.com", dump(self.out))

    def test_nothing_but_non_domains_is_a_configuration_error(self):
        conf = self.nginx_conf()
        with open(conf, "w") as f:
            f.write("events {}\nhttp { server { listen 127.0.0.1:1; "
                    "server_name _ localhost; } }\n")
        r = self.pull(["domains-from = nginx", "nginx = %s" % NGINX_BIN,
                       "nginx-conf = %s" % conf])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("no domain to ask about", r.stderr)
        self.assertEqual(self.mock.log(), [])

    def test_nginx_failing_is_a_configuration_error(self):
        conf = self.nginx_conf(site="server { server_name x.com }\n")
        r = self.pull(["domains-from = nginx", "nginx = %s" % NGINX_BIN,
                       "nginx-conf = %s" % conf])
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.stderr, r"nginx\S* -T -c .* failed \(exit 1\).*"
                         r"emerg")
        r = self.pull(["domains-from = nginx", "nginx = /nonexistent/nginx"])
        self.assertEqual(r.rc, 1, r)
        self.assertIn("cannot run /nonexistent/nginx", r.stderr)
        self.assertFalse(os.path.exists(self.out))


class TestStatus(TencentCase):

    def setUp(self):
        super().setUp()
        r = self.pull(["domain = allowed.com", "domain = notlanded.com"])
        self.assertEqual(r.rc, 0, r)
        self.mock.reset()

    def rows(self, r):
        return {f[0]: f for f in (l.split("\t") for l in r.stdout.splitlines())}

    def test_all_allowed_exit_0(self):
        r = self.status("--snapshot", self.out, "www.allowed.com",
                        "img.shop.com.cn")
        self.assertEqual(r.rc, 0, r)
        rows = self.rows(r)
        self.assertEqual(rows["www.allowed.com"][1:8], [
            "asked allowed.com", "GovStatus true", "LandedStatus true",
            "AuditTicket false", "Ban false", "after the next pull: allowed",
            "snapshot today: filed (allowed.com)"])
        self.assertEqual(rows["img.shop.com.cn"][1], "asked shop.com.cn")
        self.assertEqual(rows["img.shop.com.cn"][7], "snapshot today: unfiled")
        self.assertRegex(rows["img.shop.com.cn"][8], r"RequestId [0-9a-f-]{36}")

    def test_one_blocked_exit_3(self):
        r = self.status("notlanded.com", "allowed.com",
                        conf_lines=["out = %s" % self.out])
        self.assertEqual(r.rc, 3, r)
        row = self.rows(r)["notlanded.com"]
        self.assertEqual(row[3], "LandedStatus false")
        self.assertEqual(row[6], "after the next pull: not_landed")
        # the snapshot is the config's out
        self.assertEqual(row[7], "snapshot today: unfiled")

    def test_json(self):
        r = self.status("--json", "banned.com")
        self.assertEqual(r.rc, 3, r)
        got = json.loads(r.stdout)
        self.assertEqual(got[0]["gate"], "banned")
        self.assertEqual(got[0]["snapshot"], "none")

    def test_provider_failure_exit_2(self):
        self.mock.fault("http500", times=99)
        r = self.status("allowed.com")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("HTTP status 500", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_usage(self):
        r = self.status()
        self.assertEqual(r.rc, 1, r)
        r = self.status("com.cn")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("a public suffix", r.stderr)


@unittest.skipUnless(os.path.exists(support.BEIAN_MODULE)
                     and os.path.exists(NGINX_BIN), "no nginx/module")
class TestNginxEndToEnd(TencentCase):
    """pull --reload-pid flips a domain in a running nginx when its
    LandedStatus changes at the provider; domains-from = nginx reads the
    running configuration."""

    def test_landed_status_change_reaches_nginx(self):
        ngx = os.path.join(self.tmp, "nginx")
        os.makedirs(ngx, 0o755)
        out = os.path.join(ngx, "snapshot.mdb")
        self.out = out
        lines = ["domain = allowed.com", "domain = notlanded.com"]
        self.assertEqual(self.pull(lines).rc, 0)

        n = support.Nginx(ngx)
        self.addCleanup(n.stop)
        # the running configuration names the sites
        with open(os.path.join(ngx, "nginx.conf")) as f:
            conf = f.read().replace("beian on;", "beian on;\n        "
                                    "server_name allowed.com "
                                    "www.notlanded.com;")
        with open(os.path.join(ngx, "nginx.conf"), "w") as f:
            f.write(conf)

        self.assertEqual(n.get("www.allowed.com"), (200, b"filed\n"))
        self.assertEqual(n.get("www.notlanded.com")[0], 403)

        self.mock.ba({"notlanded.com": flags(T, T)})
        # the nginx that runs it (under ASan, a wrapper that preloads it)
        nginx_lines = ["domains-from = nginx", "nginx = %s" % NGINX_BIN,
                       "nginx-conf = %s" % os.path.join(ngx, "nginx.conf")]
        r = self.pull(nginx_lines, "--reload-pid", n.pidfile)
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.report["reloaded"], r)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if n.get("www.notlanded.com") == (200, b"filed\n"):
                break
            time.sleep(0.1)
        self.assertEqual(n.get("www.notlanded.com"), (200, b"filed\n"),
                         n.errors())
        self.assertEqual(n.get("www.allowed.com"), (200, b"filed\n"))

        # and back: LandedStatus false again blocks it after the next pull
        self.mock.ba({"notlanded.com": flags(T, F)})
        r = self.pull(nginx_lines, "--reload-pid", n.pidfile)
        self.assertEqual(r.rc, 0, r)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if n.get("www.notlanded.com")[0] == 403:
                break
            time.sleep(0.1)
        self.assertEqual(n.get("www.notlanded.com")[0], 403, n.errors())
        self.assertEqual(n.get("www.allowed.com"), (200, b"filed\n"))


if __name__ == "__main__":
    unittest.main()
