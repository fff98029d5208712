#!/usr/bin/env python3
"""
Mock filing-record provider for beian-sync pull (sync-tool/README.md), Python 3
standard library only.

One loopback HTTP server answers four things:

  POST /                      the provider API: {"InstanceId","Offset","Limit"}
                              -> {"Response": {"TotalCount","DomainSet","RequestId"}}
                              or the Error envelope (HTTP 200), after checking
                              the TC3-HMAC-SHA256 signature (Tencent Cloud API
                              signature v3), X-TC-Action / X-TC-Version /
                              X-TC-Timestamp (300 s) and X-TC-Token.
  POST / with X-TC-Action: DescribeDomainIcpStatus
                              Tencent Cloud's per-domain filing status (the
                              `ba` service): {"Domain": "example.com"} ->
                              {"Response": {"GovStatus","LandedStatus",
                              "AuditTicket","Ban","RequestId"}}, with its own
                              signature check for service "ba" and version
                              2020-07-20.  A domain not set is not filed.
  GET  /latest/meta-data/...  a mock instance metadata service: instance-id,
                              cam/security-credentials/ (role name) and
                              cam/security-credentials/ROLE (temporary
                              credentials the API side accepts with the token).
  /__mock/...                 the control API (loopback clients only):
      GET  /__mock/health                 {"ok": true}
      GET  /__mock/records                the records served (JSON array)
      POST /__mock/records                swap them: a provider document, a
                                          JSON array, or {"generate": N,
                                          "seed": S}
      POST /__mock/fault                  {"fault": NAME, "times": N,
                                          "after": K, ...parameters};
                                          {"fault": null} clears all faults
      GET  /__mock/faults                 the faults still armed
      GET  /__mock/connections            {"accepted", "tls_failed"}: TCP
                                          connections, failed handshakes
      GET  /__mock/log                    every API request received (list)
      GET  /__mock/metadata-log           every metadata request received
      GET  /__mock/issued                 the temporary credentials issued so
                                          far (for tests grepping output)
      POST /__mock/metadata               {"role","ttl","rotate","instance_id",
                                          "fail","code","no_role"}: metadata
                                          behaviour (fail: an HTTP status for
                                          every path; code: the credentials'
                                          "Code"; no_role: 404 for the role)
      POST /__mock/clock                  {"offset": SECONDS}: the API side's
                                          clock runs that far ahead (a client
                                          clock skew, for SignatureExpire)
      POST /__mock/reset                  clear faults and logs (records stay)
      POST /__mock/settings               {"page_cap": N}: a page holds at most
                                          N records whatever Limit asks
                                          (providers cap page sizes; null:
                                          no cap); {"ba_delay": SECONDS}:
                                          each DescribeDomainIcpStatus answer
                                          waits that long
      POST /__mock/ba                     {"domains": {NAME: {"GovStatus":
                                          bool, ...}}, "replace": bool}: the
                                          ba statuses (missing flags false)
      GET  /__mock/ba                     the ba statuses, and "inflight_max":
                                          the most ba requests seen at once

Faults apply to the next `times` API requests that passed authentication and
validation and that the fault can apply to (page faults need a page after
the first, or the last page; a fault with "domain" only to
DescribeDomainIcpStatus for that domain; page faults never to ba, ba faults
never to pages), after skipping `after` of them.  Names:

  http500 http502 http503 http (status=,      an HTTP status, HTML body
                                location=)      (a redirect with location)
  http429 (retry_after=1)                     429 with Retry-After
  drop                                        close the connection, no answer
  slow (seconds=5)                            sleep, then answer normally
  truncated                                   Content-Length larger than the
                                              bytes sent, then close
  invalid_json                                a body that is not JSON
  not_object                                  a JSON body that is an array
  total_string                                "TotalCount": "N"
  domainset_object                            "DomainSet": {...}
  domain_number (index=0)                     one record's Domain is a number
  total_change (delta=1)                      TotalCount differs on a later page
  duplicate                                   a later page repeats the last
                                              record of the previous page
  short_page                                  a page that is not the last one
                                              lacks its last record
  long_page                                   a page that is not the last one
                                              has Limit + 1 records
  empty_page                                  a later page before the total
                                              is empty
  extra_records                               the last page has one record
                                              more than the total
  oversized (mib=17)                          a valid document over 16 MiB
  error (code=, message=)                     any Error envelope
  missing_field (field=GovStatus)             ba: one flag left out
  string_true (field=LandedStatus)            ba: one flag as the string "true"
  RequestLimitExceeded, InternalError, ResourceUnavailable,
  AuthFailure.SignatureExpire, AuthFailure.SecretIdNotFound,
  AuthFailure.SignatureFailure, AuthFailure.UnauthorizedOperation,
  UnauthorizedOperation, InvalidParameter, ...  shorthand for `error` with
                                              that code (see ERROR_MESSAGES)

Usage:
  provider.py [--port 0] [--credential ID:KEY]... [--records FILE |
              --generate N [--seed S]] [--instance-id lhins-test0001]
              [--tls-cert PEM [--tls-key PEM]] [--action A] [--version V]
              [--service S] [--max-skew 300] [--role R] [--tmp-ttl 7200]
  provider.py --selftest      the signer against Tencent's worked example,
                              then a live server round trip

Prints "PORT <n>" on stdout once listening; exits 0 on SIGTERM or SIGINT.
"""

import argparse
import datetime
import hashlib
import hmac
import http
import http.server
import json
import random
import secrets
import signal
import socket
import sys
import threading
import time
import uuid


DEFAULT_INSTANCE = "lhins-test0001"
DEFAULT_ACTION = "DescribeInstanceBeianDomains"
DEFAULT_VERSION = "2020-03-24"
DEFAULT_SERVICE = "lighthouse"
DEFAULT_ROLE = "BeianSyncRole"
BA_ACTION = "DescribeDomainIcpStatus"
BA_VERSION = "2020-07-20"
BA_SERVICE = "ba"
BA_FLAGS = ("GovStatus", "LandedStatus", "AuditTicket", "Ban")
ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW = 300
MAX_LIMIT = 100

ERROR_MESSAGES = {
    "AuthFailure.SecretIdNotFound":
        "The SecretId is not found, please ensure that your SecretId is "
        "correct.",
    "AuthFailure.SignatureFailure":
        "The provided credentials could not be validated. Please check your "
        "signature is correct.",
    "AuthFailure.SignatureExpire":
        "Signature expired. Timestamp and server time differ by more than "
        "300 seconds.",
    "AuthFailure.TokenFailure": "Token verification failed.",
    "AuthFailure.InvalidAuthorization":
        "The Authorization header is not valid.",
    "AuthFailure.UnauthorizedOperation":
        "The request is not authorized by CAM.",
    "UnauthorizedOperation": "You are not authorized to perform this "
                             "operation.",
    "RequestLimitExceeded": "Your current request times equals to `21` in "
                            "a second, which exceeds the frequency limit "
                            "`20` for a second.",
    "RequestLimitExceeded.UinLimitExceeded": "Request limit for the account "
                                             "exceeded.",
    "InternalError": "An internal error has occurred. Retry your request.",
    "InternalError.DescribeFailed": "Internal error: describe failed.",
    "ResourceUnavailable": "The resource is temporarily unavailable.",
    "InvalidParameter": "The parameter is invalid.",
    "InvalidParameterValue": "The parameter value is invalid.",
    "InvalidAction": "The requested action does not exist.",
    "NoSuchVersion": "The requested version does not exist.",
    "MissingParameter": "A required parameter is missing.",
    "ResourceNotFound.InstanceIdNotFound": "The instance does not exist.",
}

BODY_FAULTS = {
    "http500", "http502", "http503", "http", "http429", "drop", "slow",
    "truncated", "invalid_json", "not_object", "total_string",
    "domainset_object", "domain_number", "total_change", "duplicate",
    "short_page", "long_page", "empty_page", "extra_records", "oversized",
    "error", "missing_field", "string_true",
}
# faults about pages, and about ba answers: each applies to its own kind
PAGE_FAULTS = {"total_string", "domainset_object", "domain_number",
               "total_change", "duplicate", "short_page", "long_page",
               "empty_page", "extra_records"}
BA_FAULTS = {"missing_field", "string_true"}


# ---- Tencent Cloud API signature v3 -----------------------------------

def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def utc_date(timestamp):
    """The credential scope date: the UTC date of X-TC-Timestamp."""
    return time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))


def canonical_request(method, uri, query, headers, signed_headers, payload):
    """headers: lower-case name -> value.  Names and values are lower-cased
    and trimmed as the documentation says; signed_headers is the sorted
    list of names."""
    lines = "".join("%s:%s\n" % (name, headers.get(name, "").strip().lower())
                    for name in signed_headers)
    return "\n".join([method, uri, query, lines, ";".join(signed_headers),
                      sha256_hex(payload)])


def string_to_sign(timestamp, scope, creq):
    return "\n".join([ALGORITHM, str(timestamp), scope, sha256_hex(creq)])


def signing_key(secret_key, date, service):
    k = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k = _hmac(k, service)
    return _hmac(k, "tc3_request")


def signature(secret_key, date, service, sts):
    return hmac.new(signing_key(secret_key, date, service),
                    sts.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(secret_id, secret_key, service, host, payload, timestamp,
         content_type="application/json; charset=utf-8", method="POST"):
    """Returns (authorization, details) for a POST / with content-type;host
    signed.  A client for the self-test and for tests poking the mock."""
    date = utc_date(timestamp)
    scope = "%s/%s/tc3_request" % (date, service)
    creq = canonical_request(method, "/", "",
                             {"content-type": content_type, "host": host},
                             ["content-type", "host"], payload)
    sts = string_to_sign(timestamp, scope, creq)
    sig = signature(secret_key, date, service, sts)
    auth = "%s Credential=%s/%s, SignedHeaders=content-type;host, " \
           "Signature=%s" % (ALGORITHM, secret_id, scope, sig)
    return auth, {"canonical_request": creq, "string_to_sign": sts,
                  "signature": sig, "date": date}


def parse_authorization(value):
    """'TC3-HMAC-SHA256 Credential=ID/DATE/SVC/tc3_request,
    SignedHeaders=a;b, Signature=hex' -> dict, or raise ValueError."""
    algo, sep, rest = value.strip().partition(" ")
    if not sep or algo != ALGORITHM:
        raise ValueError("algorithm must be %s" % ALGORITHM)
    fields = {}
    for part in rest.split(","):
        k, eq, v = part.strip().partition("=")
        if not eq or not k or k in fields:
            raise ValueError("malformed field %r" % part.strip())
        fields[k] = v.strip()
    for k in ("Credential", "SignedHeaders", "Signature"):
        if k not in fields:
            raise ValueError("%s is missing" % k)
    cred = fields["Credential"].split("/")
    if len(cred) != 4 or cred[3] != "tc3_request" or not cred[0]:
        raise ValueError("Credential must be ID/DATE/SERVICE/tc3_request")
    signed = fields["SignedHeaders"].split(";")
    if signed != sorted(signed) or len(set(signed)) != len(signed) \
            or any(h != h.lower() or not h for h in signed):
        raise ValueError("SignedHeaders must be sorted lower-case names")
    if "content-type" not in signed or "host" not in signed:
        raise ValueError("SignedHeaders must include content-type and host")
    return {"secret_id": cred[0], "date": cred[1], "service": cred[2],
            "signed_headers": signed, "signature": fields["Signature"]}


# ---- records ----------------------------------------------------------

PROVINCES = "京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝蜀黔滇藏陕陇青宁新"
LICENCE = {"蜀": "川", "陇": "甘"}
WORDS = ["hua", "xin", "tian", "yun", "shu", "ke", "ji", "chuang", "zhi",
         "lian", "jia", "mei", "shan", "he", "feng", "long", "an", "tai",
         "kang", "bo", "rui", "sheng", "da", "tong", "hong", "jin", "ming",
         "cloud", "tech", "shop", "data", "net", "soft", "media", "edu"]
TLDS = ["com", "cn", "net", "com.cn", "org", "top", "xyz", "net.cn", "vip",
        "org.cn", "site", "tech", "cc", "club", "ltd"]


def _rfc3339(rng):
    t = rng.randrange(1546300800, 1735689600)       # 2019 .. 2024
    d = datetime.datetime.fromtimestamp(t, datetime.timezone(
        datetime.timedelta(hours=8)))
    return d.isoformat()


def generate_records(n, instance_id=DEFAULT_INSTANCE, seed=1):
    """n provider records, deterministic for (n, instance_id, seed): subjects
    (one ICP main number each) with 1-3 websites of 1-3 domains each; about
    88 % FILED + ACCESSED + bound to instance_id, the rest pending, cancelled
    or bound elsewhere.  Every record is valid under sync-tool/README.md."""
    rng = random.Random(seed)
    out = []
    subject = 0
    other = "lhins-%08x" % rng.getrandbits(32)
    while len(out) < n:
        subject += 1
        prov = PROVINCES[rng.randrange(len(PROVINCES))]
        if rng.random() < 0.08:
            main = "%sB2-%08d" % (LICENCE.get(prov, prov),
                                  rng.randrange(20000000, 20249999))
        elif rng.random() < 0.5:
            main = "%sICP备%04d%06d号" % (prov, rng.randrange(2010, 2025),
                                         rng.randrange(1000000))
        else:
            main = "%sICP备%08d号" % (prov, rng.randrange(10000000, 99999999))
        fate = rng.random()                 # the subject's fate
        for site in range(1, rng.randrange(1, 4) + 1):
            website_id = "web-%08x" % rng.getrandbits(32)
            r = rng.random() if fate > 0.02 else 0.0
            if r < 0.02:
                filing, access = "CANCELLED", "CANCELLED"
            elif r < 0.03:
                filing, access = "PENDING", "PENDING"
            elif r < 0.06:
                filing, access = "FILED", "PENDING"
            elif r < 0.08:
                filing, access = "FILED", "CANCELLED"
            else:
                filing, access = "FILED", "ACCESSED"
            icp = "" if filing == "PENDING" else "%s-%d" % (main, site)
            b = rng.random()
            if b < 0.03:
                ids = [other]
            elif b < 0.15:
                ids = [other, instance_id]
            else:
                ids = [instance_id]
            updated = _rfc3339(rng)
            for _ in range(rng.randrange(1, 4)):
                if len(out) >= n:
                    break
                name = "%s%s%x" % (WORDS[rng.randrange(len(WORDS))],
                                   WORDS[rng.randrange(len(WORDS))],
                                   len(out))
                domain = "%s.%s" % (name, TLDS[rng.randrange(len(TLDS))])
                if rng.random() < 0.05:
                    domain = "www." + domain
                rec = {"Domain": domain, "IcpNumber": icp,
                       "WebsiteId": website_id, "FilingStatus": filing,
                       "AccessStatus": access, "InstanceIds": list(ids),
                       "UpdatedAt": updated}
                out.append(rec)
    return out


def admitted(records, instance_id=DEFAULT_INSTANCE):
    """The records the contract admits (for tests' expectations)."""
    return [r for r in records
            if isinstance(r, dict) and r.get("FilingStatus") == "FILED"
            and r.get("AccessStatus") == "ACCESSED"
            and isinstance(r.get("InstanceIds"), list)
            and instance_id in r["InstanceIds"]]


def records_from_document(doc):
    """A provider document or a JSON array -> the list of records."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        resp = doc.get("Response", doc)
        if isinstance(resp, dict) and isinstance(resp.get("DomainSet"), list):
            return resp["DomainSet"]
    raise ValueError("expected a provider document {\"Response\": "
                     "{\"DomainSet\": [...]}} or a JSON array of records")


# ---- state ------------------------------------------------------------

class Fault:
    def __init__(self, spec):
        name = spec.get("fault")
        if not isinstance(name, str) or not name:
            raise ValueError("fault must be a non-empty string")
        if name not in BODY_FAULTS and name not in ERROR_MESSAGES:
            raise ValueError("unknown fault %r" % name)
        self.name = name
        self.times = int(spec.get("times", 1))
        self.after = int(spec.get("after", 0))
        self.params = dict(spec)
        if name in ERROR_MESSAGES:
            self.params.setdefault("code", name)
            self.name = "error"
        if self.name == "error" and not isinstance(self.params.get("code"),
                                                   str):
            raise ValueError("fault error needs a code")

    def applies(self, offset, limit, total, domain=None):
        n = self.name
        if domain is not None or "domain" in self.params:
            # a ba request (domain set) or a fault meant for one
            return domain is not None and n not in PAGE_FAULTS \
                and self.params.get("domain", domain) == domain
        if n in BA_FAULTS:
            return False
        if n in ("total_change", "duplicate", "empty_page"):
            return 0 < offset < total
        if n in ("short_page", "long_page"):
            return offset + limit < total
        if n == "extra_records":
            return offset < total <= offset + limit
        if n == "domain_number":
            return offset < total
        return True

    def describe(self):
        d = {k: v for k, v in self.params.items()}
        d.update({"fault": self.name, "times": self.times,
                  "after": self.after})
        return d


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.instance_id = args.instance_id
        self.action = args.action
        self.version = args.version
        self.service = args.service
        self.max_skew = args.max_skew
        self.clock_offset = 0.0     # added to the API side's clock
        self.credentials = {}       # id -> {"key", "token", "expires"}
        for c in args.credential or []:
            cid, sep, key = c.partition(":")
            if not sep or not cid or not key:
                raise SystemExit("--credential takes ID:KEY")
            self.credentials[cid] = {"key": key, "token": None,
                                     "expires": None}
        self.records = []
        self.faults = []
        self.log = []
        self.metadata_log = []
        self.meta = {"role": args.role, "ttl": args.tmp_ttl,
                     "rotate": False, "fail": None,
                     "instance_id": None, "code": "Success",
                     "no_role": False}
        self.connections = {"accepted": 0, "tls_failed": 0}
        self.tmp = None             # the current temporary credentials
        self.page_cap = None
        self.ba = {}                # domain -> {flag: bool}
        self.ba_delay = 0.0
        self.ba_inflight = 0
        self.ba_inflight_max = 0

    def take_fault(self, offset, limit, total, domain=None):
        """The fault for this request, if one is armed for it (the lock is
        held), counted down."""
        fault = None
        for f in self.faults:
            if f.times > 0 and f.applies(offset, limit, total, domain):
                if f.after > 0:
                    f.after -= 1
                    continue
                f.times -= 1
                fault = f
                break
        self.faults = [f for f in self.faults if f.times > 0]
        return fault

    # temporary credentials, issued by the metadata service
    def temporary(self):
        with self.lock:
            now = int(time.time())
            cur = self.tmp
            if cur is None or self.meta["rotate"] \
                    or cur["expires"] - now < 60:
                cid = "AKIDtmp" + secrets.token_hex(12)
                key = "tmpkey" + secrets.token_hex(16)
                token = "tmptoken-" + secrets.token_urlsafe(48)
                cur = {"id": cid, "key": key, "token": token,
                       "expires": now + int(self.meta["ttl"])}
                self.credentials[cid] = {"key": key, "token": token,
                                         "expires": cur["expires"]}
                self.tmp = cur
            return dict(cur)


# ---- the server -------------------------------------------------------

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "mock-provider/1"
    sys_version = ""

    def log_message(self, fmt, *args):      # quiet; the log is /__mock/log
        pass

    @property
    def state(self):
        return self.server.state

    # -- plumbing

    def _body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, body, ctype="application/json", headers=None):
        """Status line, headers and body in one write: with headers and
        body in two small segments, Nagle on this side and delayed ACK on
        the client's would add 40 ms to every answer."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        reason = http.HTTPStatus(status).phrase if status in \
            http.HTTPStatus._value2member_map_ else ""
        lines = ["HTTP/1.1 %d %s" % (status, reason),
                 "Server: %s" % self.server_version,
                 "Date: %s" % self.date_time_string(),
                 "Content-Type: %s" % ctype,
                 "Content-Length: %d" % len(body)]
        lines += ["%s: %s" % kv for kv in (headers or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(data + body if self.command != "HEAD" else data)

    def _json(self, status, obj, headers=None):
        self._send(status, json.dumps(obj, ensure_ascii=False), headers=headers)

    def _loopback(self):
        host = self.client_address[0]
        return host.startswith("127.") or host in ("::1", "::ffff:127.0.0.1")

    # -- routing

    def do_GET(self):
        try:
            self._route_get()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        try:
            self._route_post()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True

    def _route_get(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/latest/meta-data/"):
            return self._metadata(path)
        if path.startswith("/__mock/"):
            if not self._loopback():
                return self._json(403, {"error": "loopback only"})
            st = self.state
            with st.lock:
                if path == "/__mock/health":
                    obj = {"ok": True, "records": len(st.records)}
                elif path == "/__mock/records":
                    obj = st.records
                elif path == "/__mock/log":
                    obj = list(st.log)
                elif path == "/__mock/metadata-log":
                    obj = list(st.metadata_log)
                elif path == "/__mock/connections":
                    obj = dict(st.connections)
                elif path == "/__mock/ba":
                    obj = {"domains": dict(st.ba),
                           "inflight_max": st.ba_inflight_max}
                elif path == "/__mock/faults":
                    obj = [f.describe() for f in st.faults]
                elif path == "/__mock/issued":
                    obj = [{"id": k, "key": v["key"], "token": v["token"]}
                           for k, v in st.credentials.items()
                           if v["token"] is not None]
                else:
                    obj = None
            if obj is None:
                return self._json(404, {"error": "no such control path"})
            return self._json(200, obj)
        self._json(404, {"error": "not found"})

    def _route_post(self):
        path = self.path.split("?", 1)[0]
        body = self._body()
        if path == "/":
            return self._api(body)
        if path.startswith("/__mock/"):
            if not self._loopback():
                return self._json(403, {"error": "loopback only"})
            try:
                return self._control(path, body)
            except (ValueError, TypeError) as e:
                return self._json(400, {"error": str(e)})
        self._json(404, {"error": "not found"})

    # -- control API

    def _control(self, path, body):
        st = self.state
        obj = json.loads(body.decode("utf-8")) if body.strip() else {}
        if path == "/__mock/records":
            if isinstance(obj, dict) and "generate" in obj:
                recs = generate_records(int(obj["generate"]),
                                        obj.get("instance_id",
                                                st.instance_id),
                                        obj.get("seed", 1))
            else:
                recs = records_from_document(obj)
            with st.lock:
                st.records = recs
            return self._json(200, {"ok": True, "count": len(recs)})
        if path == "/__mock/fault":
            if obj.get("fault") is None:
                with st.lock:
                    st.faults = []
                return self._json(200, {"ok": True, "faults": 0})
            f = Fault(obj)
            with st.lock:
                st.faults.append(f)
                n = len(st.faults)
            return self._json(200, {"ok": True, "faults": n})
        if path == "/__mock/settings":
            with st.lock:
                if "page_cap" in obj:
                    st.page_cap = obj["page_cap"]
                if "ba_delay" in obj:
                    st.ba_delay = float(obj["ba_delay"])
            return self._json(200, {"ok": True})
        if path == "/__mock/ba":
            doms = obj.get("domains", {})
            if not isinstance(doms, dict):
                raise ValueError("domains must be an object")
            with st.lock:
                if obj.get("replace"):
                    st.ba = {}
                for name, flags in doms.items():
                    st.ba[name] = {k: bool(flags.get(k, False))
                                   for k in BA_FLAGS}
            return self._json(200, {"ok": True, "count": len(st.ba)})
        if path == "/__mock/clock":
            with st.lock:
                st.clock_offset = float(obj.get("offset", 0))
            return self._json(200, {"ok": True})
        if path == "/__mock/reset":
            with st.lock:
                st.faults = []
                st.log = []
                st.metadata_log = []
                st.connections = {"accepted": 0, "tls_failed": 0}
                st.ba_inflight_max = 0
            return self._json(200, {"ok": True})
        if path == "/__mock/metadata":
            with st.lock:
                for k in ("role", "ttl", "rotate", "fail", "instance_id",
                          "code", "no_role"):
                    if k in obj:
                        st.meta[k] = obj[k]
                if obj.get("expire_now") and st.tmp:
                    st.credentials.pop(st.tmp["id"], None)
                    st.tmp = None
            return self._json(200, {"ok": True})
        return self._json(404, {"error": "no such control path"})

    # -- metadata service

    def _metadata(self, path):
        st = self.state
        entry = {"time": time.time(), "path": path}
        with st.lock:
            fail = st.meta["fail"]
            role = st.meta["role"]
            code = st.meta["code"]
            no_role = st.meta["no_role"]
            iid = st.meta["instance_id"] or st.instance_id
            st.metadata_log.append(entry)
        if fail:
            entry["status"] = int(fail) if str(fail).isdigit() else 500
            return self._send(entry["status"], "metadata failure\n",
                              "text/plain")
        base = "/latest/meta-data/cam/security-credentials/"
        if path == "/latest/meta-data/instance-id":
            entry["status"] = 200
            return self._send(200, iid, "text/plain")
        if path.startswith(base) and no_role:
            entry["status"] = 404           # no CAM role bound
            return self._send(404, "not found\n", "text/plain")
        if path == base:
            entry["status"] = 200
            return self._send(200, role, "text/plain")
        if path.startswith(base) and path[len(base):] == role:
            if code != "Success":
                entry["status"] = 200
                return self._json(200, {"Code": code,
                                        "Message": "no credentials [mock]"})
            t = st.temporary()
            entry["status"] = 200
            return self._json(200, {
                "TmpSecretId": t["id"], "TmpSecretKey": t["key"],
                "Token": t["token"], "ExpiredTime": t["expires"],
                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                            time.gmtime(t["expires"])),
                "Code": "Success"})
        entry["status"] = 404
        return self._send(404, "not found\n", "text/plain")

    # -- the provider API

    def _api_error(self, entry, code, message=None, status=200):
        rid = str(uuid.uuid4())
        entry.update({"status": status, "code": code, "request_id": rid})
        self._json(status, {"Response": {
            "Error": {"Code": code,
                      "Message": message or ERROR_MESSAGES.get(code, code)},
            "RequestId": rid}})

    def _api(self, body):
        st = self.state
        h = {k.lower(): v for k, v in self.headers.items()}
        entry = {"time": time.time(), "offset": None, "limit": None,
                 "instance_id": None, "action": h.get("x-tc-action"),
                 "version": h.get("x-tc-version"),
                 "region": h.get("x-tc-region"),
                 "timestamp": h.get("x-tc-timestamp"),
                 "host": h.get("host"), "content_type": h.get("content-type"),
                 "user_agent": h.get("user-agent"),
                 "secret_id": None, "token_sent": "x-tc-token" in h,
                 "signature_ok": None, "auth_error": None, "fault": None,
                 "status": None, "code": None, "request_id": None,
                 "count": None, "body": body.decode("utf-8", "replace")[:500]}
        with st.lock:
            st.log.append(entry)

        try:
            req = json.loads(body.decode("utf-8"))
            if isinstance(req, dict):
                entry["offset"] = req.get("Offset")
                entry["limit"] = req.get("Limit")
                entry["instance_id"] = req.get("InstanceId")
                entry["domain"] = req.get("Domain")
        except (ValueError, UnicodeDecodeError):
            req = None

        if h.get("x-tc-action") == BA_ACTION:
            return self._ba(h, body, req, entry)

        code = self._authenticate(h, body, entry)
        if code:
            entry["auth_error"] = code
            return self._api_error(entry, code, entry.pop("_msg", None))

        if h.get("x-tc-action") != st.action:
            return self._api_error(entry, "InvalidAction",
                                   "action %r is not %s"
                                   % (h.get("x-tc-action"), st.action))
        if h.get("x-tc-version") != st.version:
            return self._api_error(entry, "NoSuchVersion",
                                   "version %r is not %s"
                                   % (h.get("x-tc-version"), st.version))
        if not h.get("content-type", "").lower().startswith(
                "application/json"):
            return self._api_error(entry, "InvalidParameter",
                                   "Content-Type must be application/json")
        if not isinstance(req, dict):
            return self._api_error(entry, "InvalidParameter",
                                   "the body is not a JSON object")
        for k in req:
            if k not in ("InstanceId", "Offset", "Limit"):
                return self._api_error(entry, "UnknownParameter",
                                       "unknown parameter %s" % k)
        iid, off, lim = req.get("InstanceId"), req.get("Offset"), \
            req.get("Limit")
        if not isinstance(iid, str):
            return self._api_error(entry, "MissingParameter" if iid is None
                                   else "InvalidParameter",
                                   "InstanceId must be a string")
        for name, v, lo, hi in (("Offset", off, 0, 1 << 62),
                                ("Limit", lim, 1, MAX_LIMIT)):
            if type(v) is not int or not lo <= v <= hi:
                return self._api_error(entry, "InvalidParameterValue",
                                       "%s must be an integer in %d..%d"
                                       % (name, lo, hi))
        if iid != st.instance_id:
            return self._api_error(entry, "ResourceNotFound."
                                   "InstanceIdNotFound",
                                   "instance %s does not exist" % iid)

        with st.lock:
            records = st.records
            total = len(records)
            fault = st.take_fault(off, lim, total)
        cap = st.page_cap
        page = records[off:off + (min(lim, cap) if cap else lim)]
        return self._answer(entry, fault, records, page, total, off, lim)

    def _ba(self, h, body, req, entry):
        """DescribeDomainIcpStatus, as Tencent's `ba` service answers it."""
        st = self.state
        code = self._authenticate(h, body, entry, BA_SERVICE)
        if code:
            entry["auth_error"] = code
            return self._api_error(entry, code, entry.pop("_msg", None))
        if h.get("x-tc-version") != BA_VERSION:
            return self._api_error(entry, "NoSuchVersion",
                                   "version %r is not %s"
                                   % (h.get("x-tc-version"), BA_VERSION))
        if not isinstance(req, dict) or set(req) != {"Domain"} \
                or not isinstance(req["Domain"], str):
            return self._api_error(entry, "InvalidParameter",
                                   'the body must be {"Domain": "NAME"}')
        domain = req["Domain"]
        with st.lock:
            fault = st.take_fault(None, None, None, domain)
            flags = dict(st.ba.get(domain, {k: False for k in BA_FLAGS}))
            st.ba_inflight += 1
            st.ba_inflight_max = max(st.ba_inflight_max, st.ba_inflight)
            delay = st.ba_delay
        try:
            if delay:
                time.sleep(delay)
            rid = str(uuid.uuid4())
            resp = dict(flags, RequestId=rid)
            entry.update({"status": 200, "request_id": rid})
            if fault is not None and fault.name in BA_FAULTS:
                entry["fault"] = fault.name
                field = fault.params.get("field", "GovStatus")
                if fault.name == "missing_field":
                    resp.pop(field, None)
                else:
                    resp[field] = "true"
                return self._json(200, {"Response": resp})
            if fault is not None:
                return self._answer(entry, fault, [], [], 0, 0, 0,
                                    ba=resp)
            return self._json(200, {"Response": resp})
        finally:
            with st.lock:
                st.ba_inflight -= 1

    def _authenticate(self, h, body, entry, service=None):
        """None if the request is authentic, else an error Code."""
        st = self.state
        service = service or st.service
        auth = h.get("authorization")
        if not auth:
            entry["_msg"] = "the Authorization header is missing"
            return "AuthFailure.InvalidAuthorization"
        try:
            a = parse_authorization(auth)
        except ValueError as e:
            entry["_msg"] = "Authorization: %s" % e
            return "AuthFailure.InvalidAuthorization"
        entry["secret_id"] = a["secret_id"]
        ts = h.get("x-tc-timestamp", "")
        if not ts.isdigit():
            entry["_msg"] = "X-TC-Timestamp must be unix seconds"
            return "MissingParameter" if not ts else "InvalidParameter"
        with st.lock:
            cred = st.credentials.get(a["secret_id"])
        if cred is None:
            return "AuthFailure.SecretIdNotFound"
        now = time.time() + st.clock_offset
        if abs(now - int(ts)) > st.max_skew:
            entry["_msg"] = "Signature expired: timestamp %s and server " \
                            "time %d differ by more than %d seconds" \
                            % (ts, int(now), st.max_skew)
            return "AuthFailure.SignatureExpire"
        if a["date"] != utc_date(ts):
            entry["signature_ok"] = False
            entry["_msg"] = "credential scope date %s is not the UTC date " \
                            "%s of X-TC-Timestamp" % (a["date"], utc_date(ts))
            return "AuthFailure.SignatureFailure"
        if a["service"] != service:
            entry["signature_ok"] = False
            entry["_msg"] = "credential scope service %s is not %s" \
                            % (a["service"], service)
            return "AuthFailure.SignatureFailure"
        creq = canonical_request(self.command, "/", "", h,
                                 a["signed_headers"], body)
        scope = "%s/%s/tc3_request" % (a["date"], a["service"])
        want = signature(cred["key"], a["date"], a["service"],
                         string_to_sign(ts, scope, creq))
        ok = hmac.compare_digest(want, a["signature"].lower())
        entry["signature_ok"] = ok
        if not ok:
            return "AuthFailure.SignatureFailure"
        if cred["token"] is None:
            if "x-tc-token" in h and h["x-tc-token"] != "":
                entry["_msg"] = "X-TC-Token sent with a permanent key"
                return "AuthFailure.TokenFailure"
        else:
            if h.get("x-tc-token") != cred["token"]:
                entry["_msg"] = "X-TC-Token is missing or wrong for " \
                                "temporary credentials"
                return "AuthFailure.TokenFailure"
            if cred["expires"] is not None and time.time() > cred["expires"]:
                entry["_msg"] = "the temporary credentials have expired"
                return "AuthFailure.TokenFailure"
        return None

    def _answer(self, entry, fault, records, page, total, off, lim, ba=None):
        rid = str(uuid.uuid4())
        resp = {"TotalCount": total, "DomainSet": page, "RequestId": rid}
        if ba is not None:
            resp = ba
        entry.update({"status": 200, "request_id": resp["RequestId"],
                      "count": None if ba is not None else len(page)})
        if fault is None:
            return self._json(200, {"Response": resp})

        name, p = fault.name, fault.params
        entry["fault"] = name if name != "error" else p["code"]
        if name == "error":
            return self._api_error(entry, p["code"], p.get("message"))
        if name in ("http500", "http502", "http503", "http"):
            status = int(p.get("status", name[4:] or 500))
            entry.update({"status": status, "count": None})
            extra = {"Location": p["location"]} if "location" in p else None
            return self._send(status, "<html><body><h1>%d</h1></body></html>"
                              % status, "text/html", extra)
        if name == "http429":
            entry.update({"status": 429, "count": None})
            return self._send(429, "<html><body>Too Many Requests</body>"
                              "</html>", "text/html",
                              {"Retry-After": str(p.get("retry_after", 1))})
        if name == "drop":
            entry.update({"status": None, "count": None})
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if name == "slow":
            time.sleep(float(p.get("seconds", 5)))
            return self._json(200, {"Response": resp})
        if name == "truncated":
            data = json.dumps({"Response": resp}).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data) + 4096))
            self.end_headers()
            self.wfile.write(data[:max(1, len(data) // 2)])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if name == "invalid_json":
            return self._send(200, '{"Response": {"TotalCount": %d, '
                              '"DomainSet": [{"Domain": "a.com",, ]'
                              % total)
        if name == "not_object":
            return self._json(200, [resp])
        if name == "total_string":
            resp["TotalCount"] = str(total)
            return self._json(200, {"Response": resp})
        if name == "domainset_object":
            resp["DomainSet"] = {str(i): r for i, r in enumerate(page)}
            return self._json(200, {"Response": resp})
        if name == "domain_number":
            i = int(p.get("index", 0))
            page = [dict(r) if isinstance(r, dict) else r for r in page]
            if i < len(page) and isinstance(page[i], dict):
                page[i]["Domain"] = int(p.get("value", 12345))
            resp["DomainSet"] = page
            return self._json(200, {"Response": resp})
        if name == "total_change":
            resp["TotalCount"] = total + int(p.get("delta", 1))
            return self._json(200, {"Response": resp})
        if name == "duplicate":
            resp["DomainSet"] = [records[off - 1]] + page[1:]
            return self._json(200, {"Response": resp})
        if name == "short_page":
            resp["DomainSet"] = page[:-1]
            entry["count"] = len(page) - 1
            return self._json(200, {"Response": resp})
        if name == "long_page":
            resp["DomainSet"] = records[off:off + lim + 1]
            entry["count"] = len(resp["DomainSet"])
            return self._json(200, {"Response": resp})
        if name == "empty_page":
            resp["DomainSet"] = []
            entry["count"] = 0
            return self._json(200, {"Response": resp})
        if name == "extra_records":
            extra = {"Domain": "extra-%s.com" % secrets.token_hex(4),
                     "IcpNumber": "京ICP备12345678号-9",
                     "WebsiteId": "web-extra", "FilingStatus": "FILED",
                     "AccessStatus": "ACCESSED",
                     "InstanceIds": [self.state.instance_id]}
            resp["DomainSet"] = page + [extra]
            entry["count"] = len(page) + 1
            return self._json(200, {"Response": resp})
        if name == "oversized":
            pad = int(float(p.get("mib", 17)) * 1024 * 1024)
            resp["Padding"] = "x" * pad
            return self._json(200, {"Response": resp})
        raise AssertionError("unhandled fault %s" % name)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    tls = None                  # an ssl.SSLContext with --tls-cert

    def finish_request(self, request, client_address):
        # the TLS handshake runs in the connection's thread, so a client
        # that gives up on our certificate never stalls the accept loop
        st = self.state
        with st.lock:
            st.connections["accepted"] += 1
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                with st.lock:
                    st.connections["tls_failed"] += 1
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass                    # clients hanging up are part of the tests


def make_server(args):
    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    Server.address_family = fam
    srv = Server((args.host, args.port), Handler)
    srv.state = State(args)
    if getattr(args, "tls_cert", None):
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key or args.tls_cert)
        srv.tls = ctx
    if args.records:
        with open(args.records, encoding="utf-8") as f:
            srv.state.records = records_from_document(json.load(f))
    elif args.generate is not None:
        srv.state.records = generate_records(args.generate, args.instance_id,
                                             args.seed)
    return srv


# ---- self-test ---------------------------------------------------------

# Tencent Cloud's worked example ("Signature v3", English API documentation,
# e.g. https://tencentcloud.com/document/product/406/35926 and its copies
# under every product; also the Chinese page cloud.tencent.com/document/api/
# 213/30654).  The English page publishes the intermediate values and the
# signature for SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE; the Chinese page
# masks the key as "Gu5t9xGARNpq86cd98joQYCN3*******" and its published
# signature 2230eefd... is what that literal masked string yields.
DOC_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
DOC_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
DOC_KEY_MASKED = "Gu5t9xGARNpq86cd98joQYCN3*******"
DOC_TIMESTAMP = 1551113065
DOC_PAYLOAD = ('{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"],'
               ' "Name": "instance-name"}]}')
DOC_HASHED_PAYLOAD = \
    "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
DOC_CANONICAL = ("POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
                 "host:cvm.tencentcloudapi.com\n\ncontent-type;host\n"
                 + DOC_HASHED_PAYLOAD)
DOC_HASHED_CANONICAL = \
    "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
DOC_STRING_TO_SIGN = ("TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/"
                      "tc3_request\n" + DOC_HASHED_CANONICAL)
DOC_SIGNATURE = \
    "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
DOC_SIGNATURE_MASKED = \
    "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
DOC_AUTHORIZATION = ("TC3-HMAC-SHA256 Credential=%s/2019-02-25/cvm/"
                     "tc3_request, SignedHeaders=content-type;host, "
                     "Signature=%s" % (DOC_ID, DOC_SIGNATURE))


def _request(port, path, body=None, headers=None, method=None):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method or ("POST" if body is not None else "GET"), path,
              body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


def signed_call(port, body, secret_id, secret_key, token=None,
                timestamp=None, service=DEFAULT_SERVICE,
                action=DEFAULT_ACTION, version=DEFAULT_VERSION):
    """POST / to a mock on port, signed like beian-sync signs; returns
    (http status, parsed JSON)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    body = body.encode("utf-8") if isinstance(body, str) else body
    ts = int(time.time()) if timestamp is None else timestamp
    host = "127.0.0.1:%d" % port
    auth, _ = sign(secret_id, secret_key, service, host, body, ts)
    h = {"Content-Type": "application/json; charset=utf-8", "Host": host,
         "X-TC-Action": action, "X-TC-Version": version,
         "X-TC-Timestamp": str(ts), "Authorization": auth}
    if token is not None:
        h["X-TC-Token"] = token
    status, _, data = _request(port, "/", body, h)
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data


def selftest():
    failures = []

    def check(what, got, want):
        ok = got == want
        print("%s %s" % ("ok  " if ok else "FAIL", what))
        if not ok:
            print("     got  %r\n     want %r" % (got, want))
            failures.append(what)

    # 1. the documented worked example, step by step
    check("doc: hashed payload", sha256_hex(DOC_PAYLOAD), DOC_HASHED_PAYLOAD)
    creq = canonical_request("POST", "/", "", {
        "content-type": "application/json; charset=utf-8",
        "host": "cvm.tencentcloudapi.com"}, ["content-type", "host"],
        DOC_PAYLOAD.encode())
    check("doc: canonical request", creq, DOC_CANONICAL)
    check("doc: hashed canonical request", sha256_hex(creq),
          DOC_HASHED_CANONICAL)
    check("doc: credential scope date (UTC, not UTC+8)",
          utc_date(DOC_TIMESTAMP), "2019-02-25")
    sts = string_to_sign(DOC_TIMESTAMP, "2019-02-25/cvm/tc3_request", creq)
    check("doc: string to sign", sts, DOC_STRING_TO_SIGN)
    check("doc: signature (SecretKey ...EXAMPLE)",
          signature(DOC_KEY, "2019-02-25", "cvm", sts), DOC_SIGNATURE)
    check("doc: signature (masked SecretKey of the Chinese page)",
          signature(DOC_KEY_MASKED, "2019-02-25", "cvm", sts),
          DOC_SIGNATURE_MASKED)
    auth, _ = sign(DOC_ID, DOC_KEY, "cvm", "cvm.tencentcloudapi.com",
                   DOC_PAYLOAD.encode(), DOC_TIMESTAMP)
    check("doc: Authorization header", auth, DOC_AUTHORIZATION)
    a = parse_authorization(DOC_AUTHORIZATION)
    check("parse Authorization", (a["secret_id"], a["date"], a["service"],
                                  a["signed_headers"], a["signature"]),
          (DOC_ID, "2019-02-25", "cvm", ["content-type", "host"],
           DOC_SIGNATURE))
    for bad in ("TC3-HMAC-SHA1 Credential=a/b/c/tc3_request, "
                "SignedHeaders=content-type;host, Signature=00",
                "TC3-HMAC-SHA256 Credential=a/b/c/tc3, "
                "SignedHeaders=content-type;host, Signature=00",
                "TC3-HMAC-SHA256 Credential=a/b/c/tc3_request, "
                "SignedHeaders=host, Signature=00",
                "TC3-HMAC-SHA256 Credential=a/b/c/tc3_request, "
                "SignedHeaders=host;content-type, Signature=00"):
        try:
            parse_authorization(bad)
            check("reject %r" % bad, "accepted", "ValueError")
        except ValueError:
            check("reject %r" % bad[:60], True, True)

    # 2. the generator
    g1, g2 = generate_records(500, seed=7), generate_records(500, seed=7)
    check("generate: deterministic", g1, g2)
    check("generate: count", len(g1), 500)
    check("generate: unique domains", len({r["Domain"] for r in g1}), 500)
    n_adm = len(admitted(g1))
    check("generate: most records admitted", 0.75 < n_adm / 500 < 0.97, True)

    # 3. a live server on a free port
    ns = argparse.Namespace(
        host="127.0.0.1", port=0, credential=["AKIDselftest:selftest-key"],
        records=None, generate=25, seed=1, instance_id=DEFAULT_INSTANCE,
        action=DEFAULT_ACTION, version=DEFAULT_VERSION,
        service=DEFAULT_SERVICE, max_skew=MAX_SKEW, role=DEFAULT_ROLE,
        tmp_ttl=7200)
    srv = make_server(ns)
    port = srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        body = {"InstanceId": DEFAULT_INSTANCE, "Offset": 10, "Limit": 10}
        st, r = signed_call(port, body, "AKIDselftest", "selftest-key")
        check("server: good signature -> a page",
              (st, r["Response"].get("TotalCount"),
               len(r["Response"].get("DomainSet", []))), (200, 25, 10))
        st, r = signed_call(port, body, "AKIDselftest", "wrong-key")
        check("server: wrong key -> SignatureFailure",
              r["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure")
        st, r = signed_call(port, body, "AKIDnobody", "selftest-key")
        check("server: unknown id -> SecretIdNotFound",
              r["Response"]["Error"]["Code"], "AuthFailure.SecretIdNotFound")
        st, r = signed_call(port, body, "AKIDselftest", "selftest-key",
                            timestamp=int(time.time()) - 400)
        check("server: old timestamp -> SignatureExpire",
              r["Response"]["Error"]["Code"], "AuthFailure.SignatureExpire")
        _request(port, "/__mock/clock", b'{"offset": 301}')
        st, r = signed_call(port, body, "AKIDselftest", "selftest-key")
        check("server: client clock 301 s behind -> SignatureExpire",
              r["Response"]["Error"]["Code"], "AuthFailure.SignatureExpire")
        _request(port, "/__mock/clock", b'{"offset": -299}')
        st, r = signed_call(port, body, "AKIDselftest", "selftest-key")
        check("server: client clock 299 s ahead -> accepted",
              "TotalCount" in r["Response"], True)
        _request(port, "/__mock/clock", b'{"offset": 0}')
        st, r = signed_call(port, body, "AKIDselftest", "selftest-key",
                            service="cvm")
        check("server: wrong service -> SignatureFailure",
              r["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure")
        st, r = signed_call(port, body, "AKIDselftest", "selftest-key",
                            action="Other")
        check("server: wrong action -> InvalidAction",
              r["Response"]["Error"]["Code"], "InvalidAction")
        st, r = signed_call(port, dict(body, Limit=101), "AKIDselftest",
                            "selftest-key")
        check("server: Limit 101 -> InvalidParameterValue",
              r["Response"]["Error"]["Code"], "InvalidParameterValue")
        st, r = signed_call(port, dict(body, InstanceId="lhins-other"),
                            "AKIDselftest", "selftest-key")
        check("server: other instance -> InstanceIdNotFound",
              r["Response"]["Error"]["Code"],
              "ResourceNotFound.InstanceIdNotFound")

        # tampered body: the signature covers the payload
        ts = int(time.time())
        host = "127.0.0.1:%d" % port
        good = json.dumps(body).encode()
        auth, _ = sign("AKIDselftest", "selftest-key", DEFAULT_SERVICE, host,
                       good, ts)
        h = {"Content-Type": "application/json; charset=utf-8",
             "X-TC-Action": DEFAULT_ACTION, "X-TC-Version": DEFAULT_VERSION,
             "X-TC-Timestamp": str(ts), "Authorization": auth}
        _, _, d = _request(port, "/", json.dumps(dict(body, Offset=0))
                           .encode(), h)
        check("server: tampered body -> SignatureFailure",
              json.loads(d)["Response"]["Error"]["Code"],
              "AuthFailure.SignatureFailure")

        # metadata service and temporary credentials
        st, _, d = _request(port, "/latest/meta-data/instance-id")
        check("metadata: instance id", (st, d.decode()),
              (200, DEFAULT_INSTANCE))
        st, _, role = _request(port,
                               "/latest/meta-data/cam/security-credentials/")
        check("metadata: role", role.decode(), DEFAULT_ROLE)
        st, _, d = _request(port, "/latest/meta-data/cam/security-"
                            "credentials/" + role.decode())
        tmp = json.loads(d)
        check("metadata: credentials fields",
              sorted(tmp), sorted(["TmpSecretId", "TmpSecretKey", "Token",
                                   "ExpiredTime", "Expiration", "Code"]))
        st, r = signed_call(port, body, tmp["TmpSecretId"],
                            tmp["TmpSecretKey"], token=tmp["Token"])
        check("server: temporary credentials with token",
              (st, "TotalCount" in r["Response"]), (200, True))
        st, r = signed_call(port, body, tmp["TmpSecretId"],
                            tmp["TmpSecretKey"])
        check("server: temporary credentials without token",
              r["Response"]["Error"]["Code"], "AuthFailure.TokenFailure")

        # faults and the log
        _request(port, "/__mock/fault", json.dumps(
            {"fault": "http429", "retry_after": 2, "times": 1}).encode())
        st, h429, _ = _request(port, "/", json.dumps(body).encode(), {
            "Content-Type": "application/json; charset=utf-8",
            "X-TC-Action": DEFAULT_ACTION, "X-TC-Version": DEFAULT_VERSION,
            "X-TC-Timestamp": str(int(time.time())),
            "Authorization": sign("AKIDselftest", "selftest-key",
                                  DEFAULT_SERVICE, host,
                                  json.dumps(body).encode(),
                                  int(time.time()))[0]})
        check("fault: 429 with Retry-After", (st, h429.get("Retry-After")),
              (429, "2"))
        _request(port, "/__mock/fault", json.dumps(
            {"fault": "total_string"}).encode())
        st, r = signed_call(port, body, "AKIDselftest", "selftest-key")
        check("fault: TotalCount as a string", r["Response"]["TotalCount"],
              "25")
        _request(port, "/__mock/fault", json.dumps(
            {"fault": "RequestLimitExceeded"}).encode())
        st, r = signed_call(port, body, "AKIDselftest", "selftest-key")
        check("fault: RequestLimitExceeded envelope",
              r["Response"]["Error"]["Code"], "RequestLimitExceeded")
        st, _, d = _request(port, "/__mock/log")
        log = json.loads(d)
        check("log: entries and no secrets",
              (len(log) >= 12, "selftest-key" not in d.decode(),
               tmp["Token"] not in d.decode(),
               tmp["TmpSecretKey"] not in d.decode()),
              (True, True, True, True))
    finally:
        srv.shutdown()
        srv.server_close()

    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


# ---- main --------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.
                                 RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--credential", action="append", metavar="ID:KEY")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--records", metavar="FILE")
    src.add_argument("--generate", type=int, metavar="N")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--instance-id", default=DEFAULT_INSTANCE)
    ap.add_argument("--action", default=DEFAULT_ACTION)
    ap.add_argument("--version", default=DEFAULT_VERSION)
    ap.add_argument("--service", default=DEFAULT_SERVICE)
    ap.add_argument("--max-skew", type=int, default=MAX_SKEW)
    ap.add_argument("--role", default=DEFAULT_ROLE)
    ap.add_argument("--tmp-ttl", type=int, default=7200,
                    help="lifetime of temporary credentials, seconds")
    ap.add_argument("--tls-cert", metavar="PEM",
                    help="serve HTTPS with this certificate (chain)")
    ap.add_argument("--tls-key", metavar="PEM",
                    help="its private key (default: in --tls-cert)")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args(argv)

    if args.selftest:
        return selftest()
    if args.host not in ("127.0.0.1", "::1", "localhost") \
            and not args.host.startswith("127."):
        ap.error("the mock listens on loopback only")

    srv = make_server(args)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
