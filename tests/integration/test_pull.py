"""
Integration tests of `beian-sync pull` (sync-tool/README.md, "## pull")
against tests/mock/provider.py, and end to end with nginx.

    python3 -m unittest discover -s tests/integration -v

Binaries: BEIAN_SYNC, BEIAN_MODULE, NGINX_BIN (see support.py).  Every test
starts its own mock on a free loopback port and works in its own temp dir.
"""

import copy
import email.utils
import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import unittest

import support
from support import (INSTANCE, OTHER, SECRET_ID, SECRET_KEY, Mock,
                     base_records, check_hosts, dump, expected_dump,
                     fingerprint, info, rec)


class PullCase(unittest.TestCase):
    """A temp dir (HOME inside it), a mock serving base_records(), and
    helpers.  Every run of beian-sync is checked for secrets in its output
    and for a JSON report consistent with its exit code."""

    AUTOSTART = True
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        if not support.pull_available():
            raise AssertionError("%s has no `pull` (set BEIAN_SYNC)"
                                 % support.BEIAN_SYNC)

    def setUp(self):
        support.workdir(self, "beian-pull-")
        # sync-tool/README.md: key, token "and the SecretId too"
        self.secrets = [SECRET_KEY, SECRET_ID]
        self.records = base_records()
        self.mock = None
        if self.AUTOSTART:
            self.start_mock(records=self.records)
        self.addCleanup(self.assert_files_clean)

    def start_mock(self, **kw):
        self.mock = Mock(self.tmp, **kw)
        self.addCleanup(self.mock.stop)
        return self.mock

    # -- running pull

    def pull(self, creds="env", env=None, extra=(), run_timeout=90, **opts):
        """beian-sync pull with test defaults; opts override flags
        (page_size=..., a value of None drops the flag, True is a bare
        flag)."""
        flags = {"endpoint": self.mock.url, "instance-id": INSTANCE,
                 "out": self.out, "timeout": 2, "retries": 3,
                 "page-size": 10, "metadata-url": self.mock.url,
                 "json": True}
        for k, v in opts.items():
            flags[k.replace("_", "-")] = v
        argv = [support.BEIAN_SYNC, "pull"]
        for k, v in flags.items():
            if v is None or v is False:
                continue
            argv += ["--" + k] if v is True else ["--" + k, str(v)]
        e = {}
        if creds == "env":
            e = {"TENCENTCLOUD_SECRET_ID": SECRET_ID,
                 "TENCENTCLOUD_SECRET_KEY": SECRET_KEY}
        elif creds == "flags":
            argv += ["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY]
        e.update(env or {})
        r = support.run(argv + list(extra), support.clean_env(self.home, e),
                        run_timeout)
        self.assert_no_secrets(r.stdout + r.stderr, r)
        if flags.get("json"):
            self.assertIsNotNone(r.report, "no JSON report on stdout: %r"
                                 % r)
            self.assertEqual(r.report.get("exit_code"), r.rc, r)
            self.assertEqual(r.report.get("ok"), r.rc == 0, r)
        return r

    def initial(self, **opts):
        """A good first pull; the snapshot's fingerprint."""
        r = self.pull(**opts)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), expected_dump(self.records))
        self.mock.reset()
        return fingerprint(self.out)

    # -- assertions

    def assert_no_secrets(self, text, ctx=None):
        for s in self.secrets:
            self.assertNotIn(s, text, "a secret leaked: %r" % (ctx,))

    def assert_files_clean(self):
        """No secret in any file written (the inputs that hold them by
        design excepted) and no stray temp file next to the snapshot."""
        inputs = {os.path.join(self.tmp, "beian.conf"),
                  os.path.join(self.home, ".tencentcloud", "credentials")}
        for path, data in support.tree_bytes(self.tmp, skip=inputs):
            for s in self.secrets:
                self.assertNotIn(s.encode(), data,
                                 "secret found in %s" % path)
        if os.path.isdir(self.snapdir):
            self.assertLessEqual(
                set(os.listdir(self.snapdir)),
                {"snapshot.mdb", "snapshot.mdb.lock"},
                "stray files next to the snapshot")

    def assert_untouched(self, before, r):
        self.assertEqual(fingerprint(self.out), before,
                         "the old snapshot changed: %r" % r)
        self.assertLessEqual(set(os.listdir(self.snapdir)),
                             {"snapshot.mdb", "snapshot.mdb.lock"})

    def restart(self):
        """Back to no snapshot, base records, no faults, empty logs (for
        subtests sharing a mock)."""
        if os.path.exists(self.out):
            os.unlink(self.out)
        self.mock.reset()
        self.mock.set_records(self.records)

    def offsets(self, log):
        return [e["offset"] for e in log]

    def passes(self, log):
        """Number of passes: requests at Offset 0."""
        return sum(1 for e in log if e["offset"] == 0)

    def pages(self, records=None, size=10):
        n = len(self.records if records is None else records)
        return max(1, -(-n // size))

    def fails_with_fault(self, name, rc=2, times=99, after=0, opts=None,
                         **params):
        """Good initial pull, arm the fault, pull again: exit rc and the old
        snapshot byte-identical.  Returns (result, mock log)."""
        before = self.initial()
        self.mock.fault(name, times=times, after=after, **params)
        r = self.pull(**(opts or {}))
        self.assertEqual(r.rc, rc, r)
        self.assert_untouched(before, r)
        log = self.mock.log()
        self.assertEqual(r.report["requests"], len(log), r)
        return r, log

    def recovers_from_fault(self, name, times=1, after=0, opts=None,
                            **params):
        """Good initial pull, new records, a fault that clears within the
        budget: exit 0, the new records in place.  Returns (result, log)."""
        self.initial()
        new = copy.deepcopy(self.records)
        new.append(rec("recovered.com", "闽ICP备2024001234号-1", "web-rec"))
        self.mock.set_records(new)
        self.mock.fault(name, times=times, after=after, **params)
        r = self.pull(**(opts or {}))
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), expected_dump(new))
        self.assertTrue(r.report["changed"], r)
        log = self.mock.log()
        self.assertEqual(r.report["requests"], len(log), r)
        self.assertEqual(r.report["pages"], self.pages(new), r)
        return r, log


# ======================================================================
# The request, the report, unchanged content
# ======================================================================

class TestRequests(PullCase):

    def test_first_pull_pages_signed_requests_and_report(self):
        r = self.pull()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), expected_dump(self.records))
        rep = r.report
        n = len(self.records)
        self.assertEqual(rep["pages"], self.pages())
        self.assertEqual(rep["requests"], self.pages())
        self.assertEqual(rep["retries"], 0)
        self.assertEqual(rep["records_seen"], n)
        self.assertEqual(rep["total_count"], n)
        self.assertEqual(rep["domains"], len(expected_dump(self.records)))
        self.assertIs(rep["changed"], True)
        self.assertIs(rep["reloaded"], False)
        self.assertIsNone(rep["reload_pid"])
        self.assertEqual(rep["credentials"], "env")
        self.assertEqual(rep["added"], rep["domains"])
        self.assertEqual(rep["removed"], 0)
        log = self.mock.log()
        self.assertEqual(self.offsets(log), list(range(0, n, 10)))
        for e in log:
            self.assertTrue(e["signature_ok"], e)
            self.assertEqual(e["status"], 200, e)
            self.assertEqual(e["limit"], 10)
            self.assertEqual(e["instance_id"], INSTANCE)
            self.assertEqual(e["action"], "DescribeInstanceBeianDomains")
            self.assertEqual(e["version"], "2020-03-24")
            self.assertEqual(e["content_type"],
                             "application/json; charset=utf-8")
            self.assertEqual(e["host"], "127.0.0.1:%d" % self.mock.port)
            self.assertRegex(e["user_agent"] or "", r"^beian-sync/\S+")
            self.assertIsNone(e["region"])
            self.assertFalse(e["token_sent"])
            self.assertEqual(e["secret_id"], SECRET_ID)
            self.assertLessEqual(abs(int(e["timestamp"]) - e["time"]), 5)
            body = json.loads(e["body"])
            self.assertEqual(sorted(body), ["InstanceId", "Limit", "Offset"])
        meta = info(self.out)
        self.assertEqual(meta["instance_id"], INSTANCE)
        self.assertEqual(meta["record_count"], str(rep["domains"]))
        self.assertEqual(meta["digest_verified"], "yes")
        self.assertEqual(fingerprint(self.out)["mode"], 0o644)

    def test_idn_domain_and_subdomains_are_served(self):
        self.assertEqual(self.pull().rc, 0)
        got = check_hosts(self.out, ["xn--fsqu00a.xn--fiqs8s",
                                     "www.alpha.com", "alpha.com.evil.net",
                                     "notalpha.com", "zeta.com"])
        self.assertEqual(got, {"xn--fsqu00a.xn--fiqs8s": "filed",
                               "www.alpha.com": "filed",
                               "alpha.com.evil.net": "unfiled",
                               "notalpha.com": "unfiled",
                               "zeta.com": "unfiled"})

    def test_region_action_version_service_are_configurable(self):
        self.mock.stop()
        self.start_mock(records=self.records,
                        args=["--action", "ListBeian", "--version",
                              "2024-01-01", "--service", "beian"])
        r = self.pull(region="ap-guangzhou", action="ListBeian",
                      api_version="2024-01-01", service="beian",
                      page_size=100)
        self.assertEqual(r.rc, 0, r)
        log = self.mock.log()
        self.assertEqual(len(log), 1)
        self.assertEqual((log[0]["region"], log[0]["action"],
                          log[0]["version"], log[0]["limit"]),
                         ("ap-guangzhou", "ListBeian", "2024-01-01", 100))
        self.mock.reset()
        r = self.pull(region="", action="ListBeian",
                      api_version="2024-01-01", service="beian",
                      page_size=100)
        self.assertEqual(r.rc, 0, r)
        self.assertIsNone(self.mock.log()[0]["region"], "an empty region "
                          "unsets it")

    def test_wrong_service_is_a_signature_failure(self):
        r = self.pull(service="cvm")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("AuthFailure.SignatureFailure", r.stderr)
        self.assertEqual(len(self.mock.log()), 1)
        self.assertFalse(os.path.exists(self.out))

    def test_unchanged_content_writes_nothing(self):
        before = self.initial()
        time.sleep(0.05)
        r = self.pull()
        self.assertEqual(r.rc, 0, r)
        self.assertIs(r.report["changed"], False)
        self.assertIs(r.report["written"], False)
        self.assertEqual(r.report["added"], 0)
        self.assertEqual(r.report["removed"], 0)
        self.assertEqual(fingerprint(self.out), before)

    def test_unknown_instance_is_a_provider_error(self):
        r = self.pull(instance_id="lhins-nothere1")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("ResourceNotFound.InstanceIdNotFound", r.stderr)
        self.assertFalse(os.path.exists(self.out))

    def test_usage_errors(self):
        before = self.initial()
        for opts, why in (({"endpoint": "http://example.com"},
                           "plain http to a non-loopback host"),
                          ({"page_size": 101}, "page size over 100"),
                          ({"page_size": 0}, "page size 0"),
                          ({"retries": 21}, "retries over 20"),
                          ({"timeout": 0}, "timeout 0"),
                          ({"region": "ap guangzhou"}, "a blank in a header"),
                          ({"endpoint": self.mock.url + "/v1"}, "a path"),
                          ({"out": None}, "no --out"),
                          ({"instance_id": None}, "no --instance-id")):
            r = self.pull(**opts)
            self.assertEqual(r.rc, 1, "%s: %r" % (why, r))
            self.assert_untouched(before, r)
        self.assertEqual(self.mock.log(), [])


# ======================================================================
# Faults after a good pull: exit codes, retries, the old snapshot stays
# ======================================================================

class TestRetriableFaults(PullCase):

    def test_5xx_clear_within_budget(self):
        for code in (500, 502, 503):
            with self.subTest(code=code):
                self.restart()
                # the second page fails twice, then answers
                r, log = self.recovers_from_fault("http%d" % code, times=2,
                                                  after=1)
                self.assertEqual(self.offsets(log)[:5], [0, 10, 10, 10, 20])
                self.assertEqual([e["status"] for e in log[:4]],
                                 [200, code, code, 200])
                self.assertEqual(r.report["retries"], 2)
                self.assertEqual(self.passes(log), 1,
                                 "a failed request is retried alone")

    def test_retry_budget_is_retries_after_the_first_attempt(self):
        r, log = self.recovers_from_fault("http503", times=2,
                                          opts={"retries": 2})
        self.assertEqual(self.offsets(log)[:3], [0, 0, 0])
        self.restart()
        r, log = self.fails_with_fault("http503", times=3,
                                       opts={"retries": 2})
        self.assertEqual(len(log), 3, log)

    def test_5xx_persistent_fails_with_2(self):
        r, log = self.fails_with_fault("http502", opts={"retries": 2})
        self.assertEqual(len(log), 3)
        self.assertIn("502", r.stderr)

    def test_429_waits_retry_after(self):
        r, log = self.recovers_from_fault("http429", retry_after=1, after=1)
        self.assertEqual([e["status"] for e in log[:3]], [200, 429, 200])
        gap = log[2]["time"] - log[1]["time"]
        self.assertGreaterEqual(gap, 0.95, "retried %.3fs after a 429 with "
                                "Retry-After: 1" % gap)

    def test_429_retry_after_as_http_date(self):
        when = email.utils.formatdate(time.time() + 3, usegmt=True)
        r, log = self.recovers_from_fault("http429", retry_after=when)
        self.assertEqual([e["status"] for e in log[:2]], [429, 200])
        gap = log[1]["time"] - log[0]["time"]
        self.assertGreaterEqual(gap, 1.9, "retried %.3fs after a 429 with "
                                "Retry-After: %s" % (gap, when))

    def test_429_persistent_fails_with_2(self):
        r, log = self.fails_with_fault("http429", retry_after=0,
                                       opts={"retries": 1})
        self.assertEqual(len(log), 2)

    def test_retryable_api_errors_clear_within_budget(self):
        for code in ("RequestLimitExceeded",
                     "RequestLimitExceeded.UinLimitExceeded",
                     "InternalError", "InternalError.DescribeFailed",
                     "ResourceUnavailable"):
            with self.subTest(code=code):
                self.restart()
                r, log = self.recovers_from_fault("error", code=code,
                                                  times=2)
                self.assertEqual([e["code"] for e in log[:3]],
                                 [code, code, None])
                self.assertEqual(r.report["retries"], 2)

    def test_retryable_api_error_persistent_fails_with_2(self):
        r, log = self.fails_with_fault("InternalError", opts={"retries": 2})
        self.assertEqual(len(log), 3)
        self.assertIn("InternalError", r.stderr)

    def test_timeout_is_retried(self):
        r, log = self.recovers_from_fault("slow", seconds=3,
                                          opts={"timeout": 1})
        self.assertEqual(self.offsets(log)[:2], [0, 0])
        self.assertGreaterEqual(r.elapsed, 0.9)

    def test_timeout_persistent_fails_with_2(self):
        r, log = self.fails_with_fault("slow", seconds=3,
                                       opts={"timeout": 1, "retries": 1})
        self.assertEqual(len(log), 2)
        self.assertLess(r.elapsed, 8)

    def test_dropped_connection_is_retried(self):
        # on the first, fresh connection: on a reused keepalive connection
        # libcurl itself resends a request that got no answer at all, and
        # the tool never sees the failure
        r, log = self.recovers_from_fault("drop", times=1)
        self.assertEqual(self.offsets(log)[:3], [0, 0, 10])
        self.assertEqual(r.report["retries"], 1)

    def test_dropped_connection_persistent_fails_with_2(self):
        self.fails_with_fault("drop", opts={"retries": 1})

    def test_connection_refused_fails_with_2(self):
        before = self.initial()
        port = support.free_port()
        r = self.pull(endpoint="http://127.0.0.1:%d" % port, retries=1)
        self.assertEqual(r.rc, 2, r)
        self.assert_untouched(before, r)

    def test_signature_expire_is_resigned_once(self):
        r, log = self.recovers_from_fault("AuthFailure.SignatureExpire")
        self.assertEqual([e["code"] for e in log[:2]],
                         ["AuthFailure.SignatureExpire", None])
        self.assertEqual(self.offsets(log)[:2], [0, 0])
        self.assertGreaterEqual(int(log[1]["timestamp"]),
                                int(log[0]["timestamp"]))
        self.assertEqual(len(log), self.pages() + 1)

    def test_clock_skew_within_300s_is_accepted(self):
        self.mock.clock(250)
        r = self.pull()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(self.mock.log()), self.pages())

    def test_clock_skew_over_300s_real_signature_expire(self):
        # not an injected error: the mock's own timestamp check refuses
        # both the request and its re-signed copy
        before = self.initial()
        self.mock.clock(-400)
        r = self.pull()
        self.assertEqual(r.rc, 2, r)
        self.assert_untouched(before, r)
        log = self.mock.log()
        self.assertEqual([e["auth_error"] for e in log],
                         ["AuthFailure.SignatureExpire"] * 2)
        self.assertIn("AuthFailure.SignatureExpire", r.stderr)
        self.assertIn(log[-1]["request_id"], r.stderr)

    def test_signature_expire_twice_fails(self):
        r, log = self.fails_with_fault("AuthFailure.SignatureExpire",
                                       times=2)
        self.assertEqual(len(log), 2, "re-signed once, then fail: %r" % log)
        self.assertIn("AuthFailure.SignatureExpire", r.stderr)


class TestFatalFaults(PullCase):

    def assert_fails_fast(self, code, message=None):
        message = message or provider_message(code)
        r, log = self.fails_with_fault("error", code=code, message=message)
        self.assertEqual(len(log), 1, "%s must not be retried" % code)
        self.assertEqual(log[0]["code"], code)
        self.assertIn(code, r.stderr)
        self.assertIn(log[0]["request_id"], r.stderr)
        self.assertIn(message, r.stderr)
        self.assertNotIn("\n  records ", "\n" + r.stderr,
                         "a run failing before any record prints only the "
                         "error")
        return r

    def test_auth_failures_fail_fast_with_code_message_request_id(self):
        for code in ("AuthFailure.SecretIdNotFound",
                     "AuthFailure.SignatureFailure",
                     "AuthFailure.TokenFailure",
                     "AuthFailure.UnauthorizedOperation",
                     "UnauthorizedOperation"):
            with self.subTest(code=code):
                self.restart()
                self.assert_fails_fast(code)

    def test_other_error_codes_fail_fast(self):
        self.assert_fails_fast("InvalidParameterValue.Limit",
                               "Limit is out of range [mock]")

    def test_unknown_secret_id_fails_fast(self):
        before = self.initial()
        r = self.pull(creds=None, secret_id="AKIDnobody", secret_key="k" * 32)
        self.assertEqual(r.rc, 2, r)
        self.assert_untouched(before, r)
        log = self.mock.log()
        self.assertEqual(len(log), 1)
        self.assertIn("AuthFailure.SecretIdNotFound", r.stderr)
        self.assertIn(log[0]["request_id"], r.stderr)

    def test_wrong_key_fails_fast_and_is_not_printed(self):
        wrong = "sk-WRONG-key-never-printed-4d5e6f"
        self.secrets.append(wrong)
        before = self.initial()
        r = self.pull(creds=None, secret_id=SECRET_ID, secret_key=wrong)
        self.assertEqual(r.rc, 2, r)
        self.assert_untouched(before, r)
        self.assertEqual(len(self.mock.log()), 1)
        self.assertIn("AuthFailure.SignatureFailure", r.stderr)

    # A bad document is not in the README's retry list: no retry.

    def test_truncated_body(self):
        self.fails_with_fault("truncated", opts={"retries": 1})

    def test_invalid_json(self):
        r, log = self.fails_with_fault("invalid_json", opts={"retries": 1})
        self.assertEqual(len(log), 1)

    def test_body_not_an_object(self):
        r, log = self.fails_with_fault("not_object", opts={"retries": 1})
        self.assertEqual(len(log), 1)

    def test_total_count_as_string(self):
        r, log = self.fails_with_fault("total_string", opts={"retries": 1})
        self.assertEqual(len(log), 1)
        self.assertIn("TotalCount", r.stderr)

    def test_domain_set_as_object(self):
        r, log = self.fails_with_fault("domainset_object",
                                       opts={"retries": 1})
        self.assertEqual(len(log), 1)
        self.assertIn("DomainSet", r.stderr)

    def test_http_4xx_fails_fast(self):
        r, log = self.fails_with_fault("http", status=404,
                                       opts={"retries": 2})
        self.assertEqual(len(log), 1)

    def test_redirect_is_not_followed(self):
        r, log = self.fails_with_fault("http", status=302,
                                       location=self.mock.url + "/",
                                       opts={"retries": 2})
        self.assertEqual(len(log), 1)
        self.assertIn("302", r.stderr)

    def test_retry_after_over_300s_fails_instead_of_stalling(self):
        r, log = self.fails_with_fault("http429", retry_after=301)
        self.assertEqual(len(log), 1)
        self.assertLess(r.elapsed, 5)

    def test_oversized_body(self):
        r, log = self.fails_with_fault("oversized", mib=17,
                                       opts={"retries": 1, "timeout": 10})
        self.assertEqual(len(log), 1)
        self.assertLess(r.elapsed, 20)

    def test_oversized_fault_on_a_later_page(self):
        self.fails_with_fault("oversized", after=2, mib=17,
                              opts={"retries": 0, "timeout": 10})

    def test_record_with_a_number_domain_is_rejected_not_fatal(self):
        # sync-tool/README.md: a record breaking a rule is rejected and
        # counted (wrong_type); the run goes on with the valid ones.
        self.initial()
        self.mock.fault("domain_number", times=1, index=0)
        r = self.pull()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.report["rejected"]["wrong_type"], 1)
        self.assertRegex(r.stderr, r"Offset=0:\d+: DomainSet\[0\].*"
                         r"\[wrong_type\]")
        want = expected_dump(self.records)
        del want["alpha.com"]
        self.assertEqual(dump(self.out), want)
        self.assertEqual(r.report["removed"], 1)


def provider_message(code):
    import provider
    return provider.ERROR_MESSAGES[code]


class TestInconsistentPages(PullCase):
    """A pass that does not add up is retried from Offset 0 (one retry);
    after the retries, exit 2 and nothing written."""

    # long_page could hit page 0: after=1 puts every fault on a later
    # page, so a pass is seen to restart
    FAULTS = (("total_change", {}), ("duplicate", {}),
              ("long_page", {"after": 1}), ("empty_page", {}),
              ("extra_records", {}))

    def test_short_pages_are_normal(self):
        # providers cap their page size below Limit: Offset advances by
        # what arrived, in one pass
        self.mock.settings(page_cap=7)
        r = self.pull(page_size=10)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), expected_dump(self.records))
        offs = self.offsets(self.mock.log())
        self.assertEqual(offs, list(range(0, len(self.records), 7)))
        self.assertEqual(self.passes(self.mock.log()), 1)
        self.assertEqual(r.report["retries"], 0)

        # one page short by a record now and then: no restart either
        self.restart()
        self.mock.settings(page_cap=None)
        self.mock.fault("short_page", times=1, after=1)
        r = self.pull(page_size=10)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), expected_dump(self.records))
        log = self.mock.log()
        self.assertEqual(self.passes(log), 1, self.offsets(log))
        self.assertEqual(self.offsets(log)[:3], [0, 10, 19])

    def test_transient_inconsistency_restarts_the_pass(self):
        for name, params in self.FAULTS:
            with self.subTest(fault=name):
                self.restart()
                r, log = self.recovers_from_fault(name, times=1, **params)
                offs = self.offsets(log)
                self.assertEqual(self.passes(log), 2, offs)
                second = offs.index(0, 1)
                self.assertGreater(second, 1, offs)
                self.assertEqual(offs[second:],
                                 list(range(0, len(self.records) + 1, 10)))
                self.assertGreaterEqual(r.report["retries"], 1)

    def test_persistent_inconsistency_fails_with_2(self):
        for name, params in self.FAULTS:
            with self.subTest(fault=name):
                self.restart()
                r, log = self.fails_with_fault(name, opts={"retries": 2},
                                               **params)
                self.assertEqual(self.passes(log), 3, self.offsets(log))


# ======================================================================
# TLS: verification always on
# ======================================================================

@unittest.skipUnless(shutil.which("openssl"), "no openssl to make a cert")
class TestTLS(PullCase):
    AUTOSTART = False

    def tls_mock(self, san):
        cert, key = support.make_cert(self.tmp, "mock", san)
        self.cert = cert
        return self.start_mock(records=self.records, tls=(cert, key, cert))

    def test_https_with_ca_file(self):
        self.tls_mock("IP:127.0.0.1")
        r = self.pull(ca_file=self.cert)
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(self.mock.url.startswith("https://"))
        self.assertEqual(dump(self.out), expected_dump(self.records))
        self.assertTrue(all(e["signature_ok"] for e in self.mock.log()))

    def test_https_self_signed_refused_without_ca_file(self):
        self.tls_mock("IP:127.0.0.1")
        r = self.pull(retries=3)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("certificate", r.stderr.lower())
        # the pull's connections, plus this control request
        self.assertEqual(self.mock._call("/__mock/connections"),
                         {"accepted": 2, "tls_failed": 1},
                         "a certificate that does not verify fails at once")
        self.assertEqual(self.mock.log(), [], "a request went through an "
                         "unverified TLS connection")
        self.assertFalse(os.path.exists(self.out))

    def test_https_name_mismatch_refused(self):
        self.tls_mock("DNS:provider.example")
        r = self.pull(ca_file=self.cert, retries=3)
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(self.mock._call("/__mock/connections")["accepted"],
                         2, "a name that does not verify fails at once")
        self.assertEqual(self.mock.log(), [])
        self.assertFalse(os.path.exists(self.out))


# ======================================================================
# Safety guards
# ======================================================================

class TestGuards(PullCase):

    def test_empty_result_refused_then_forced(self):
        before = self.initial()
        self.mock.set_records([])
        r = self.pull()
        self.assertEqual(r.rc, 3, r)
        self.assert_untouched(before, r)
        r = self.pull(force=True)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), {})
        self.assertEqual(check_hosts(self.out, ["alpha.com"]),
                         {"alpha.com": "unfiled"})

    def test_nothing_admitted_is_empty(self):
        before = self.initial()
        self.mock.set_records([dict(r, InstanceIds=[OTHER])
                               for r in self.records])
        r = self.pull()
        self.assertEqual(r.rc, 3, r)
        self.assert_untouched(before, r)

    def test_empty_first_pull_writes_nothing(self):
        self.mock.set_records([])
        r = self.pull()
        self.assertEqual(r.rc, 3, r)
        self.assertFalse(os.path.exists(self.out))

    def test_shrink_over_max_shrink_refused_then_forced(self):
        before = self.initial()
        keep = self.records[:10]         # 8 of 25 domains left: -68 %
        self.mock.set_records(keep)
        r = self.pull()
        self.assertEqual(r.rc, 3, r)
        self.assertIn("refusing to remove 17 of the 25 domains", r.stderr)
        self.assert_untouched(before, r)
        r = self.pull(max_shrink=80)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), expected_dump(keep))

    def test_shrink_forced(self):
        before = self.initial()
        keep = self.records[:10]
        self.mock.set_records(keep)
        r = self.pull(max_shrink=10)
        self.assertEqual(r.rc, 3, r)
        self.assert_untouched(before, r)
        r = self.pull(max_shrink=10, force=True)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), expected_dump(keep))

    def test_replaced_domains_refused_though_count_stays(self):
        # as many domains, most of them others: what another instance's
        # records or a wrong page look like
        before = self.initial()
        other = [dict(r, Domain="other%d-%s" % (i, r["Domain"]))
                 for i, r in enumerate(self.records)]
        self.mock.set_records(self.records[:3] + other[3:])
        r = self.pull()
        self.assertEqual(r.rc, 3, r)
        self.assertIn("refusing to remove", r.stderr)
        self.assert_untouched(before, r)
        r = self.pull(force=True)
        self.assertEqual(r.rc, 0, r)

    def test_shrink_within_max_shrink_passes(self):
        self.initial()
        keep = self.records[:-12]
        old, new = expected_dump(self.records), expected_dump(keep)
        self.assertLess((len(old) - len(new)) / len(old), 0.5)
        self.mock.set_records(keep)
        r = self.pull()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.report["removed"], len(old) - len(new))


# ======================================================================
# Credentials
# ======================================================================

class TestCredentials(PullCase):

    def write(self, path, text, mode):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def config(self, mode=0o600, secrets=True, extra=""):
        path = os.path.join(self.tmp, "beian.conf")
        text = "# beian-sync pull\nendpoint = %s\ninstance-id = %s\n" \
               "timeout = 2\n%s" % (self.mock.url, INSTANCE, extra)
        if secrets:
            text += "secret-id = %s\nsecret-key = %s\n" % (SECRET_ID,
                                                           SECRET_KEY)
        self.write(path, text, mode)
        return path

    def credentials_file(self, mode=0o600, key=SECRET_KEY):
        path = os.path.join(self.home, ".tencentcloud", "credentials")
        self.write(path, "[default]\nsecret_id = %s\nsecret_key = %s\n"
                   % (SECRET_ID, key), mode)
        os.chmod(os.path.dirname(path), 0o700)
        return path

    def assert_ok_from(self, r, source):
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.report["credentials"], source)
        self.assertEqual(dump(self.out), expected_dump(self.records))

    def test_flags(self):
        self.assert_ok_from(self.pull(creds="flags"), "flags")

    def test_env(self):
        self.assert_ok_from(self.pull(creds="env"), "env")

    def test_config_file(self):
        path = self.config()
        r = self.pull(creds=None, config=path, endpoint=None,
                      instance_id=None)
        self.assert_ok_from(r, "config")

    def test_config_file_readable_by_others_is_refused(self):
        for mode in (0o640, 0o604):
            with self.subTest(mode=oct(mode)):
                path = self.config(mode)
                r = self.pull(creds=None, config=path)
                self.assertEqual(r.rc, 1, r)
                self.assertIn(path, r.stderr)
                self.assertFalse(os.path.exists(self.out))
        self.assertEqual(self.mock.log(), [])

    def test_config_file_writable_by_others_is_refused(self):
        path = self.config(0o622, secrets=False)
        r = self.pull(creds="env", config=path)
        self.assertEqual(r.rc, 1, r)
        self.assertIn(path, r.stderr)
        self.assertEqual(self.mock.log(), [])

    def test_config_without_secrets_may_be_world_readable(self):
        path = self.config(0o644, secrets=False)
        self.assert_ok_from(self.pull(creds="env", config=path), "env")

    def test_flags_override_config(self):
        path = self.config(extra="page-size = 100\n")
        r = self.pull(creds=None, config=path, page_size=5)
        self.assert_ok_from(r, "config")
        self.assertEqual({e["limit"] for e in self.mock.log()}, {5})

    def test_tencentcloud_credentials_file(self):
        self.credentials_file()
        self.assert_ok_from(self.pull(creds=None), "file")

    def test_tencentcloud_credentials_file_readable_by_others(self):
        for mode in (0o644, 0o640, 0o604):
            with self.subTest(mode=oct(mode)):
                path = self.credentials_file(mode)
                r = self.pull(creds=None)
                self.assertEqual(r.rc, 1, r)
                self.assertIn(path, r.stderr)
        self.assertEqual(self.mock.log(), [])
        self.assertFalse(os.path.exists(self.out))

    def test_tencentcloud_credentials_file_without_the_pair(self):
        path = os.path.join(self.home, ".tencentcloud", "credentials")
        self.write(path, "[default]\nsecret_id = %s\n" % SECRET_ID, 0o600)
        r = self.pull(creds=None)
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.mock.log(), [])

    def test_env_half_a_pair_is_a_configuration_error(self):
        r = self.pull(creds=None, env={"TENCENTCLOUD_SECRET_ID": SECRET_ID})
        self.assertEqual(r.rc, 1, r)
        r = self.pull(creds=None, env={"TENCENTCLOUD_SECRET_KEY":
                                       SECRET_KEY})
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.mock.log(), [])

    def test_empty_env_counts_as_unset(self):
        self.credentials_file()
        r = self.pull(creds=None, env={"TENCENTCLOUD_SECRET_ID": "",
                                       "TENCENTCLOUD_SECRET_KEY": ""})
        self.assert_ok_from(r, "file")

    def test_config_unknown_key_names_file_and_line(self):
        path = self.config(extra="page_size = 10\n")
        r = self.pull(creds=None, config=path)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("%s:5" % path, r.stderr)      # comment, 3 keys, it
        self.assertEqual(self.mock.log(), [])

    def test_metadata_no_role_bound(self):
        self.mock.metadata(no_role=True)
        r = self.pull(creds=None)
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.mock.log(), [])

    def test_metadata_unusable_answer(self):
        self.mock.metadata(code="Failure")
        r = self.pull(creds=None)
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(self.mock.log(), [])

    def test_metadata_temporary_credentials_and_instance_id(self):
        tmp = self.mock.temporary_credentials()     # the ones pull gets
        self.secrets += [tmp["TmpSecretKey"], tmp["Token"]]
        self.mock.reset()
        r = self.pull(creds=None, instance_id="auto")
        self.assert_ok_from(r, "metadata")
        log = self.mock.log()
        self.assertTrue(all(e["secret_id"] == tmp["TmpSecretId"]
                            and e["token_sent"] and e["signature_ok"]
                            for e in log), log)
        paths = [e["path"] for e in self.mock.metadata_log()]
        self.assertIn("/latest/meta-data/instance-id", paths)
        self.assertIn("/latest/meta-data/cam/security-credentials/", paths)
        self.assertIn("/latest/meta-data/cam/security-credentials/"
                      "BeianSyncRole", paths)
        self.assertEqual(info(self.out)["instance_id"], INSTANCE)

    def test_metadata_credentials_refreshed_when_about_to_expire(self):
        self.mock.metadata(ttl=120, rotate=True)    # < 5 minutes left
        r = self.pull(creds=None)
        issued = self.mock._call("/__mock/issued")
        for c in issued:
            self.secrets += [c["key"], c["token"]]
        self.assert_no_secrets(r.stdout + r.stderr, r)
        self.assert_ok_from(r, "metadata")
        self.assertGreaterEqual(len(issued), 2, "credentials with 120 s "
                                "left were not fetched again")

    def test_metadata_failure_is_a_provider_failure(self):
        self.mock.metadata(fail=500)
        r = self.pull(creds=None, retries=1)
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(self.mock.log(), [])

    def test_session_token_from_env(self):
        tmp = self.mock.temporary_credentials()
        self.secrets += [tmp["TmpSecretKey"], tmp["Token"]]
        r = self.pull(creds=None, env={
            "TENCENTCLOUD_SECRET_ID": tmp["TmpSecretId"],
            "TENCENTCLOUD_SECRET_KEY": tmp["TmpSecretKey"],
            "TENCENTCLOUD_SESSION_TOKEN": tmp["Token"]})
        self.assert_ok_from(r, "env")
        self.assertTrue(all(e["token_sent"] for e in self.mock.log()))

    def test_precedence_flags_env_file_metadata(self):
        bad = "sk-BAD-lower-precedence-0a1b2c"
        self.secrets.append(bad)
        # flags beat env
        r = self.pull(creds="flags", env={"TENCENTCLOUD_SECRET_ID": SECRET_ID,
                                          "TENCENTCLOUD_SECRET_KEY": bad})
        self.assert_ok_from(r, "flags")
        # env beats the file
        self.credentials_file(key=bad)
        r = self.pull(creds="env")
        self.assert_ok_from(r, "env")
        # the file beats the metadata service
        self.credentials_file()
        self.mock.reset()
        r = self.pull(creds=None)
        self.assert_ok_from(r, "file")
        self.assertFalse(any("security-credentials" in e["path"]
                             for e in self.mock.metadata_log()))


# ======================================================================
# Filing lifecycle events (README, "Why"), each a change between two pulls
# ======================================================================

class TestLifecycle(PullCase):

    def event(self, mutate, gained=(), lost=(), **opts):
        self.initial()
        before = dump(self.out)
        new = copy.deepcopy(self.records)
        mutate(new)
        self.mock.set_records(new)
        r = self.pull(**opts)
        self.assertEqual(r.rc, 0, r)
        self.assertIs(r.report["changed"], True)
        after = dump(self.out)
        self.assertEqual(set(after) - set(before), set(gained))
        self.assertEqual(set(before) - set(after), set(lost))
        self.assertEqual(r.report["added"], len(gained))
        self.assertEqual(r.report["removed"], len(lost))
        hosts = []
        for d in list(gained) + list(lost):
            hosts += [d, "www." + d]
        got = check_hosts(self.out, hosts)
        for d in gained:
            self.assertEqual((got[d], got["www." + d]), ("filed", "filed"))
        for d in lost:
            self.assertEqual((got[d], got["www." + d]),
                             ("unfiled", "unfiled"))
        stayed = sorted(set(before) - set(lost))
        self.assertEqual(set(check_hosts(self.out, stayed).values()),
                         {"filed"})
        return r

    @staticmethod
    def find(records, domain):
        return next(r for r in records if r["Domain"] == domain)

    def test_first_filing(self):
        self.initial()
        self.assertEqual(check_hosts(self.out, ["newsite.com"]),
                         {"newsite.com": "unfiled"})
        self.mock.reset()
        os.unlink(self.out)
        self.event(lambda rs: rs.append(
            rec("newsite.com", "闽ICP备2024001234号-1", "web-new1")),
            gained={"newsite.com"})

    def test_access_filing_pending_then_approved(self):
        def approve(rs):
            self.find(rs, "delta.com")["AccessStatus"] = "ACCESSED"
        r = self.event(approve, gained={"delta.com"})
        self.assertEqual(dump(self.out)["delta.com"], "浙ICP备20180001号-1")

    def test_new_website(self):
        self.event(lambda rs: rs.append(
            rec("alpha-news.com", "京ICP备12345678号-3", "web-alpha3")),
            gained={"alpha-news.com"})

    def test_website_change_adds_and_removes_a_domain(self):
        def change(rs):
            rs.remove(self.find(rs, "beta-blog.com"))
            rs.append(rec("beta.cn", "粤ICP备2023012345号-1", "web-beta1",
                          instances=(OTHER, INSTANCE),
                          updated="2024-06-01T09:00:00+08:00"))
        self.event(change, gained={"beta.cn"}, lost={"beta-blog.com"})

    def test_subject_cancelled(self):
        def cancel(rs):
            for r in rs:
                if r["IcpNumber"].startswith("京ICP备12345678号"):
                    r["FilingStatus"] = "CANCELLED"
        r = self.event(cancel, lost={"alpha.com", "alpha.net",
                                     "alpha-shop.cn"}, max_shrink=100)
        self.assertGreaterEqual(r.report["not_admitted"]["filing_cancelled"],
                                3)

    def test_website_cancelled(self):
        def cancel(rs):
            self.find(rs, "alpha-shop.cn")["FilingStatus"] = "CANCELLED"
        self.event(cancel, lost={"alpha-shop.cn"})

    def test_access_cancelled(self):
        def cancel(rs):
            self.find(rs, "gamma.org")["AccessStatus"] = "CANCELLED"
        self.event(cancel, lost={"gamma.org"})

    def test_domain_moved_to_another_instance(self):
        def move(rs):
            self.find(rs, "epsilon.cn")["InstanceIds"] = [OTHER]
        r = self.event(move, lost={"epsilon.cn"})
        self.assertGreaterEqual(r.report["not_admitted"]["not_bound_here"],
                                2)

    def test_whole_subject_cancelled_with_large_shrink_needs_force(self):
        def cancel_most(rs):
            for r in rs[:22]:
                r["FilingStatus"] = "CANCELLED"
        self.initial()
        new = copy.deepcopy(self.records)
        cancel_most(new)
        self.mock.set_records(new)
        before = fingerprint(self.out)
        r = self.pull()
        self.assertEqual(r.rc, 3, r)
        self.assert_untouched(before, r)
        r = self.pull(force=True)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(dump(self.out), expected_dump(new))


# ======================================================================
# Scale
# ======================================================================

class TestScale(PullCase):
    AUTOSTART = False

    def test_120000_records(self):
        n = 120000
        self.start_mock(generate=n)
        want = expected_dump(support.provider.generate_records(n, INSTANCE,
                                                               seed=1))
        r = self.pull(page_size=None, timeout=20, retries=2)
        self.assertEqual(r.rc, 0, r)
        rep = r.report
        self.assertEqual((rep["pages"], rep["requests"], rep["retries"]),
                         (1200, 1200, 0))
        self.assertEqual(rep["records_seen"], n)
        self.assertEqual(rep["total_count"], n)
        self.assertEqual(rep["rejected_total"], 0)
        self.assertEqual(rep["domains"], len(want))
        self.assertEqual(info(self.out)["record_count"], str(len(want)))
        log = self.mock.log()
        self.assertEqual(self.offsets(log), list(range(0, n, 100)))
        self.assertEqual({e["limit"] for e in log}, {100})
        sample = sorted(want)[::9973]
        self.assertEqual(set(check_hosts(self.out, sample).values()),
                         {"filed"})


# ======================================================================
# One run at a time
# ======================================================================

class TestLock(PullCase):

    def test_lock_held_elsewhere(self):
        before = self.initial()
        self.mock.set_records(self.records[:-1])
        holder = open(self.out + ".lock", "a")
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
        guard = threading.Lock()

        def release():
            with guard:
                if not holder.closed:
                    holder.close()
        released = threading.Timer(2.0, release)
        released.start()
        try:
            r = self.pull()
        finally:
            released.cancel()
            release()
        # sync-tool/README.md: "a second run exits 3 at once (a safety
        # guard)"
        self.assertEqual(r.rc, 3, r)
        self.assertLess(r.elapsed, 1.5, "did not fail at once")
        self.assertIn(self.out + ".lock", r.stderr)
        self.assert_untouched(before, r)
        self.assertEqual(self.mock.log(), [])

    def test_two_concurrent_pulls(self):
        self.initial()
        new = copy.deepcopy(self.records)
        new.append(rec("concurrent.com", "闽ICP备2024001234号-1", "web-cc"))
        self.mock.set_records(new)
        self.mock.fault("slow", times=1, seconds=1.5)
        results = {}

        def go(name):
            results[name] = self.pull(timeout=5)
        a = threading.Thread(target=go, args=("a",))
        b = threading.Thread(target=go, args=("b",))
        a.start()
        time.sleep(0.3)
        b.start()
        a.join(60)
        b.join(60)
        codes = sorted(r.rc for r in results.values())
        self.assertEqual(codes, [0, 3], results)
        for r in results.values():
            if r.rc == 3:
                self.assertIn(self.out + ".lock", r.stderr)
        self.assertEqual(sum(1 for r in results.values()
                             if r.rc == 0 and r.report["written"]), 1,
                         "exactly one run writes the new content")
        self.assertEqual(info(self.out)["digest_verified"], "yes")
        self.assertEqual(dump(self.out), expected_dump(new))


# ======================================================================
# --reload-pid
# ======================================================================

class TestReload(PullCase):

    def setUp(self):
        super().setUp()
        self.master = support.FakeMaster(self.tmp)
        self.addCleanup(self.master.stop)

    def test_sighup_once_on_change_never_when_unchanged(self):
        r = self.pull(reload_pid=self.master.pidfile)
        self.assertEqual(r.rc, 0, r)
        self.assertIs(r.report["reloaded"], True)
        self.assertEqual(r.report["reload_pid"], self.master.proc.pid)
        self.assertEqual(self.master.hups(), 1)
        r = self.pull(reload_pid=self.master.pidfile)
        self.assertEqual(r.rc, 0, r)
        self.assertIs(r.report["changed"], False)
        self.assertIs(r.report["reloaded"], False)
        self.assertEqual(self.master.hups(), 1)
        self.mock.set_records(self.records[:-1])
        r = self.pull(reload_pid=self.master.pidfile)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.master.hups(), 2)

    def failed_signal(self, pidfile_text):
        self.initial()
        new = self.records[:-1]
        self.mock.set_records(new)
        pidfile = os.path.join(self.tmp, "bad.pid")
        if pidfile_text is not None:
            with open(pidfile, "w") as f:
                f.write(pidfile_text)
        r = self.pull(reload_pid=pidfile)
        self.assertEqual(r.rc, 4, r)
        self.assertIn(pidfile, r.stderr)
        self.assertIn("in place", r.stderr)
        self.assertIs(r.report["reloaded"], False)
        # the new snapshot stays in place
        self.assertEqual(dump(self.out), expected_dump(new))
        self.assertEqual(self.master.hups(0), 0)
        return r

    def test_garbage_pid_file(self):
        self.failed_signal("nginx is not running\n")

    def test_empty_pid_file(self):
        self.failed_signal("")

    def test_missing_pid_file(self):
        self.failed_signal(None)

    def test_dead_pid(self):
        self.failed_signal("%d\n" % support.dead_pid())

    def test_pid_zero_or_negative_is_garbage(self):
        for text in ("0\n", "-1\n"):
            with self.subTest(pid=text.strip()):
                self.restart()
                self.failed_signal(text)

    # a stale pid file names whatever took the pid over: never signalled

    def not_nginx(self, pid):
        r = self.failed_signal("%d\n" % pid)
        self.assertIn("pid %d is not an nginx master process" % pid,
                      r.stderr)
        self.assertIn("stale pid file", r.stderr)
        return r

    def test_pid_of_another_program_is_refused(self):
        other = subprocess.Popen(["sleep", "300"])
        self.addCleanup(other.wait)
        self.addCleanup(other.kill)
        r = self.not_nginx(other.pid)
        self.assertIn('its command line is "sleep 300"', r.stderr)
        # SIGHUP would have ended it
        time.sleep(0.2)
        self.assertIsNone(other.poll(), "sleep was signalled")

    def test_pid_1_is_refused(self):
        self.not_nginx(1)

    def test_process_counting_hups_without_nginx_title_is_refused(self):
        for name, title in (("python", None),
                            ("worker", "nginx: worker process"),
                            ("lookalike", "nginx: master")):
            with self.subTest(name):
                self.restart()
                other = support.FakeMaster(self.tmp, title=title, name=name)
                self.addCleanup(other.stop)
                self.not_nginx(other.proc.pid)
                self.assertEqual(other.hups(), 0)


# ======================================================================
# End to end with nginx
# ======================================================================

@unittest.skipUnless(os.access(support.NGINX_BIN, os.X_OK),
                     "no nginx at %s" % support.NGINX_BIN)
class TestNginxEndToEnd(PullCase):

    def test_reload_under_load(self):
        self.assertTrue(os.path.exists(support.BEIAN_MODULE),
                        support.BEIAN_MODULE)
        ndir = os.path.join(self.tmp, "nginx")
        os.mkdir(ndir)
        os.chmod(ndir, 0o755)
        self.out = os.path.join(ndir, "snapshot.mdb")

        stay, new_host, gone = "alpha.com", "newsite.com", "gamma.org"
        r = self.pull()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(stat.S_IMODE(os.stat(self.out).st_mode), 0o644)

        nginx = support.Nginx(ndir)
        self.addCleanup(nginx.stop)
        self.assertEqual(nginx.get(stay), (200, b"filed\n"))
        self.assertEqual(nginx.get(new_host)[0], 403)
        self.assertEqual(nginx.get(gone), (200, b"filed\n"))

        hammer = support.Hammer(nginx.port, [stay, new_host, gone])
        hammer.start()
        try:
            time.sleep(0.5)
            new = copy.deepcopy(self.records)
            new.append(rec(new_host, "闽ICP备2024001234号-1", "web-new1"))
            next(x for x in new if x["Domain"] == gone)["AccessStatus"] = \
                "CANCELLED"
            self.mock.set_records(new)
            t_pull = time.monotonic()
            r = self.pull(reload_pid=os.path.join(ndir, "nginx.pid"))
            self.assertEqual(r.rc, 0, r)
            self.assertIs(r.report["reloaded"], True)
            # wait until both flips are seen on new connections
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if nginx.get(new_host)[0] == 200 and nginx.get(gone)[0] == 403:
                    break
                time.sleep(0.05)
            t_flip = time.monotonic()
            time.sleep(0.5)
        finally:
            hammer.stop()
        results = hammer.snapshot()

        self.assertEqual(nginx.get(new_host), (200, b"filed\n"))
        self.assertEqual(nginx.get(gone)[0], 403)
        self.assertEqual(nginx.get(stay), (200, b"filed\n"))

        failures = [x for x in results if x["error"] is not None
                    or x["status"] not in (200, 403)]
        self.assertEqual(failures, [], "requests failed during the reload "
                         "(nginx log: %s)" % nginx.errors()[-1500:])
        self.assertGreater(len(results), 200)
        old = {stay: 200, new_host: 403, gone: 200}
        now = {stay: 200, new_host: 200, gone: 403}
        for x in results:
            self.assertIn(x["status"], {old[x["host"]], now[x["host"]]}, x)
            if x["status"] == 200:
                self.assertEqual(x["body"], b"filed\n", x)
            else:
                self.assertIn(b"beian.miit.gov.cn", x["body"], x)
        # before the pull the old verdicts, after the flip the new ones;
        # on each connection the verdicts never go back
        for x in results:
            if x["t"] < t_pull:
                self.assertEqual(x["status"], old[x["host"]], x)
            if x["t"] > t_flip + 0.3 and x["kind"] == "new":
                self.assertEqual(x["status"], now[x["host"]], x)
        # a connection stays with one worker, and a worker with one
        # snapshot: one verdict per host on each keepalive connection
        by_conn = {}
        for x in ka_results(results):
            by_conn.setdefault((x["conn"], x["host"]), set()).add(
                x["status"])
        for key, statuses in by_conn.items():
            self.assertEqual(len(statuses), 1, (key, statuses))
        seen = {(x["host"], x["status"]) for x in results}
        for h in (new_host, gone):
            self.assertIn((h, old[h]), seen)
            self.assertIn((h, now[h]), seen)
        ka = [x for x in results if x["kind"] == "keepalive"]
        self.assertGreater(len(ka), 50)
        self.assertGreater(len({x["conn"] for x in results
                                if x["kind"] == "new"}), 50)

        self.assertEqual(nginx.stop(), 0)
        self.assertFalse(os.path.exists(os.path.join(ndir, "nginx.pid")))
        # a resent keepalive request hides nothing: no worker crashed
        with open(os.path.join(ndir, "error.log"), errors="replace") as f:
            errlog = f.read()
        for bad in ("exited on signal", "[alert]", "[crit]", "[emerg]"):
            self.assertNotIn(bad, errlog)
        self.assertIn("signal 1 (SIGHUP) received", errlog)
        sys.stderr.write("\n%d requests during the reload (%d on keepalive "
                         "connections, %d new connections), 0 failed; %d "
                         "keepalive request(s) resent after an idle close\n"
                         % (len(results), len(ka), len(results) - len(ka),
                            hammer.replayed))


    def test_master_signalled_worker_refused(self):
        ndir = os.path.join(self.tmp, "nginx")
        os.mkdir(ndir)
        os.chmod(ndir, 0o755)
        self.out = os.path.join(ndir, "snapshot.mdb")
        self.assertEqual(self.pull().rc, 0)
        nginx = support.Nginx(ndir)
        self.addCleanup(nginx.stop)
        with open(nginx.pidfile) as f:
            master = int(f.read())
        deadline = time.monotonic() + 10
        while len(support.children(master)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = support.children(master)
        self.assertEqual(len(workers), 2, workers)

        # a worker's pid: not the master, never signalled
        worker_pid = os.path.join(self.tmp, "worker.pid")
        with open(worker_pid, "w") as f:
            f.write("%d\n" % workers[0])
        self.mock.set_records(self.records[:-1])
        r = self.pull(reload_pid=worker_pid)
        self.assertEqual(r.rc, 4, r)
        self.assertIn("pid %d is not an nginx master process" % workers[0],
                      r.stderr)
        self.assertIn('"nginx: worker process"', r.stderr)
        self.assertEqual(dump(self.out), expected_dump(self.records[:-1]))
        self.assertEqual(sorted(support.children(master)), sorted(workers))

        # the master, by the pid file nginx wrote
        self.mock.set_records(self.records[:-2])
        r = self.pull(reload_pid=nginx.pidfile)
        self.assertEqual(r.rc, 0, r)
        self.assertIs(r.report["reloaded"], True)
        self.assertEqual(r.report["reload_pid"], master)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "signal 1 (SIGHUP) received" in nginx.errors():
                break
            time.sleep(0.05)
        self.assertIn("signal 1 (SIGHUP) received", nginx.errors())


def ka_results(results):
    return [x for x in results if x["kind"] == "keepalive"]


if __name__ == "__main__":
    unittest.main()
