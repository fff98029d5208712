"""
Helpers for the beian-sync pull integration tests: the mock provider as a
child process, running beian-sync, snapshot fingerprints, a fake nginx
master that records SIGHUP, and a real nginx with the module.

Standard library only.  Binaries come from the environment:
  BEIAN_SYNC    (default build/beian-sync)
  BEIAN_MODULE  (default build/ngx_http_beian_module.so)
  NGINX_BIN     (default /usr/sbin/nginx)
"""

import hashlib
import http.client
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MOCK_DIR = os.path.join(ROOT, "tests", "mock")
MOCK = os.path.join(MOCK_DIR, "provider.py")
sys.path.insert(0, MOCK_DIR)
import provider  # noqa: E402  (the mock's generator and signer)


def _bin(var, default):
    p = os.environ.get(var) or os.path.join(ROOT, default)
    return os.path.abspath(p) if not os.path.isabs(p) else p


BEIAN_SYNC = _bin("BEIAN_SYNC", "build/beian-sync")
BEIAN_MODULE = _bin("BEIAN_MODULE", "build/ngx_http_beian_module.so")
NGINX_BIN = os.environ.get("NGINX_BIN") or "/usr/sbin/nginx"

INSTANCE = "lhins-test0001"
OTHER = "lhins-other042"
SECRET_ID = "AKIDintegration0001"
SECRET_KEY = "sk-INTEGRATION-do-not-print-7f3a9c21e05b"


def pull_available():
    """Whether the beian-sync under test has `pull`."""
    try:
        p = subprocess.run([BEIAN_SYNC, "pull", "--help"],
                           capture_output=True, text=True, timeout=10)
    except OSError:
        return False
    return p.returncode == 0 and "--endpoint" in p.stdout + p.stderr


# ---- records ---------------------------------------------------------

def rec(domain, icp, website, filing="FILED", access="ACCESSED",
        instances=(INSTANCE,), updated="2024-03-18T10:21:07+08:00"):
    return {"Domain": domain, "IcpNumber": icp, "WebsiteId": website,
            "FilingStatus": filing, "AccessStatus": access,
            "InstanceIds": list(instances), "UpdatedAt": updated}


def base_records():
    """A small realistic filing set for INSTANCE: named subjects the
    lifecycle tests change, plus generated filler so that a one-subject
    change is a small shrink.  34 records; pages of 10 -> 4 pages."""
    named = [
        # subject 京ICP备12345678号: two websites
        rec("alpha.com", "京ICP备12345678号-1", "web-alpha1"),
        rec("alpha.net", "京ICP备12345678号-1", "web-alpha1"),
        rec("alpha-shop.cn", "京ICP备12345678号-2", "web-alpha2"),
        # subject 粤ICP备2023012345号: a website with two domains, an IDN one
        rec("beta.com.cn", "粤ICP备2023012345号-1", "web-beta1",
            instances=(OTHER, INSTANCE)),
        rec("beta-blog.com", "粤ICP备2023012345号-1", "web-beta1",
            instances=(OTHER, INSTANCE)),
        rec("例子.中国", "粤ICP备2023012345号-3", "web-beta3"),
        # a commercial licence
        rec("gamma.org", "沪B2-20230417-1", "web-gamma1"),
        # access registration pending here: not allowed yet
        rec("delta.com", "浙ICP备20180001号-1", "web-delta1",
            access="PENDING"),
        # filed and accessed, bound to this instance and another one
        rec("epsilon.cn", "蜀ICP备2021000001号-1", "web-eps1",
            instances=(INSTANCE, OTHER)),
        # filed elsewhere, not bound here
        rec("zeta.com", "苏ICP备19000001号-1", "web-zeta1",
            instances=(OTHER,)),
    ]
    return named + provider.generate_records(24, INSTANCE, seed=3)


def idna(domain):
    d = domain.lower().rstrip(".")
    return d.encode("idna").decode("ascii") if not d.isascii() else d


def expected_dump(records, instance=INSTANCE):
    """{domain: icp} the contract admits (no conflicts in our fixtures)."""
    return {idna(r["Domain"]): r["IcpNumber"]
            for r in provider.admitted(records, instance)}


# ---- files -----------------------------------------------------------

def fingerprint(path):
    """Bytes, inode and mtime: equal iff the file was not touched."""
    st = os.stat(path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"sha256": digest, "ino": st.st_ino, "mtime_ns": st.st_mtime_ns,
            "size": st.st_size, "mode": st.st_mode & 0o7777}


def tree_bytes(root, skip=()):
    """(path, bytes) of every regular file under root, except skip."""
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if p in skip or not os.path.isfile(p):
                continue
            try:
                with open(p, "rb") as fh:
                    out.append((p, fh.read()))
            except OSError:
                pass
    return out


def make_cert(d, name, san):
    """A self-signed certificate for san ("IP:127.0.0.1"); (cert, key)."""
    cert, key = os.path.join(d, name + ".pem"), os.path.join(d, name +
                                                               ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=beian mock " + name,
                    "-addext", "subjectAltName=" + san,
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stop_process(proc, sig, timeout):
    """Sends sig, waits up to timeout seconds, then kills; the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# ---- the mock --------------------------------------------------------

def workdir(case, prefix):
    """A temp dir for one test, removed after it, with HOME inside and an
    empty snapshot directory: sets case.tmp, .home, .snapdir and .out."""
    case.tmp = tempfile.mkdtemp(prefix=prefix)
    os.chmod(case.tmp, 0o755)
    case.addCleanup(shutil.rmtree, case.tmp, True)
    case.home = os.path.join(case.tmp, "home")
    os.mkdir(case.home, 0o700)
    case.snapdir = os.path.join(case.tmp, "snap")
    os.mkdir(case.snapdir, 0o755)
    case.out = os.path.join(case.snapdir, "snapshot.mdb")


class Mock:
    """tests/mock/provider.py on a free loopback port."""

    def __init__(self, workdir, records=None, generate=None,
                 credentials=((SECRET_ID, SECRET_KEY),), args=(),
                 tls=None):
        cmd = [sys.executable, MOCK, "--port", "0",
               "--instance-id", INSTANCE]
        self.ctx = None
        if tls is not None:                 # (cert, key, CA to trust)
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
            import ssl
            self.ctx = ssl.create_default_context(cafile=tls[2])
            self.ctx.check_hostname = False     # the control API pins the
                                                # cert; names are the test
        for cid, key in credentials:
            cmd += ["--credential", "%s:%s" % (cid, key)]
        if records is not None:
            path = os.path.join(workdir, "mock-records.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(records, f, ensure_ascii=False)
            cmd += ["--records", path]
        elif generate is not None:
            cmd += ["--generate", str(generate)]
        cmd += list(args)
        self.stderr = open(os.path.join(workdir, "mock.stderr"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        line = b""
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        if ready:
            line = self.proc.stdout.readline()
        if not line.startswith(b"PORT "):
            self.proc.kill()
            raise RuntimeError("mock did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http",
                                          self.port)

    def _call(self, path, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data,
                                     method="POST" if data is not None
                                     else "GET")
        with urllib.request.urlopen(req, timeout=20, context=self.ctx) as r:
            return json.loads(r.read())

    def set_records(self, records):
        return self._call("/__mock/records", records)

    def records(self):
        return self._call("/__mock/records")

    def fault(self, name, times=1, after=0, **params):
        spec = dict(params, fault=name, times=times, after=after)
        return self._call("/__mock/fault", spec)

    def clear_faults(self):
        return self._call("/__mock/fault", {"fault": None})

    def log(self):
        return self._call("/__mock/log")

    def metadata_log(self):
        return self._call("/__mock/metadata-log")

    def metadata(self, **settings):
        return self._call("/__mock/metadata", settings)

    def reset(self):
        return self._call("/__mock/reset", {})

    def ba(self, domains, replace=False):
        """The ba statuses: {name: {"GovStatus": True, ...}}."""
        return self._call("/__mock/ba", {"domains": domains,
                                         "replace": replace})

    def ba_state(self):
        return self._call("/__mock/ba", None)

    def settings(self, **kw):
        """page_cap=N, ba_delay=SECONDS."""
        return self._call("/__mock/settings", kw)

    def clock(self, offset):
        """The API side's clock runs offset seconds ahead of ours."""
        return self._call("/__mock/clock", {"offset": offset})

    def temporary_credentials(self):
        base = "/latest/meta-data/cam/security-credentials/"
        with urllib.request.urlopen(self.url + base, timeout=10,
                                    context=self.ctx) as r:
            role = r.read().decode()
        with urllib.request.urlopen(self.url + base + role, timeout=10,
                                    context=self.ctx) as r:
            return json.loads(r.read())

    def stop(self):
        rc = stop_process(self.proc, signal.SIGTERM, 10)
        self.proc.stdout.close()
        self.stderr.close()
        return rc


# ---- running beian-sync ----------------------------------------------

class Result:
    def __init__(self, argv, rc, stdout, stderr, elapsed):
        self.argv, self.rc, self.stdout, self.stderr = argv, rc, stdout, \
            stderr
        self.elapsed = elapsed
        self.report = None
        if stdout.strip().startswith("{"):
            try:
                self.report = json.loads(stdout)
            except ValueError:
                pass

    def __repr__(self):
        return "<exit %s in %.2fs>\n--- stdout\n%s\n--- stderr\n%s" % (
            self.rc, self.elapsed, self.stdout[-3000:], self.stderr[-3000:])


def clean_env(home, extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TENCENTCLOUD_")}
    env["HOME"] = home
    env["BEIAN_SYNC_BACKOFF_MS"] = "10"
    env.update(extra or {})
    return env


def run(argv, env, timeout=120, stdin=None):
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, env=env, timeout=timeout,
                       stdin=stdin if stdin is not None
                       else subprocess.DEVNULL)
    return Result(argv, p.returncode, p.stdout.decode("utf-8", "replace"),
                  p.stderr.decode("utf-8", "replace"),
                  time.monotonic() - t0)


def sync(*args, env=None, timeout=60):
    return run([BEIAN_SYNC] + [str(a) for a in args],
               env or clean_env(tempfile.gettempdir()), timeout)


def check_hosts(snapshot, hosts):
    """{host: status} from `beian-sync check`."""
    r = sync("check", "--snapshot", snapshot, *hosts)
    if r.rc not in (0, 3):
        raise AssertionError("check failed: %r" % r)
    out = {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        out[f[0]] = f[1]
    return out


def dump(snapshot):
    """{domain: icp} from `beian-sync dump`."""
    r = sync("dump", "--snapshot", snapshot)
    if r.rc != 0:
        raise AssertionError("dump failed: %r" % r)
    return dict(line.split("\t", 1) for line in r.stdout.splitlines()
                if line)


def info(snapshot):
    r = sync("info", "--snapshot", snapshot)
    if r.rc != 0:
        raise AssertionError("info failed: %r" % r)
    return dict(line.split(": ", 1) for line in r.stdout.splitlines()
                if ": " in line)


# ---- a fake nginx master ---------------------------------------------

FAKE_MASTER = r"""
import os, signal, sys, time
log, pidfile = sys.argv[1], sys.argv[2]
def hup(signum, frame):
    with open(log, "a") as f:
        f.write("HUP %f\n" % time.time())
signal.signal(signal.SIGHUP, hup)
with open(pidfile, "w") as f:
    f.write("%d\n" % os.getpid())
print("READY", flush=True)
while True:
    time.sleep(0.05)
"""


class FakeMaster:
    """A process that writes its pid file and counts SIGHUPs."""

    def __init__(self, workdir):
        self.log = os.path.join(workdir, "hup.log")
        self.pidfile = os.path.join(workdir, "fake-nginx.pid")
        self.proc = subprocess.Popen([sys.executable, "-c", FAKE_MASTER,
                                      self.log, self.pidfile],
                                     stdout=subprocess.PIPE)
        if self.proc.stdout.readline().strip() != b"READY":
            raise RuntimeError("fake master did not start")

    def hups(self, settle=0.3):
        time.sleep(settle)
        try:
            with open(self.log) as f:
                return len(f.read().splitlines())
        except FileNotFoundError:
            return 0

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def dead_pid():
    """The pid of a process that has exited and been reaped."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


# ---- real nginx ------------------------------------------------------

NGINX_CONF = """\
load_module {module};
worker_processes 2;
daemon off;
master_process on;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    keepalive_requests 1000;
    beian_snapshot {dir}/snapshot.mdb;
    server {{
        listen 127.0.0.1:{port};
        beian on;
        location / {{ return 200 "$beian_status\\n"; }}
    }}
}}
"""


class Nginx:
    def __init__(self, d):
        self.dir = d
        self.port = free_port()
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        os.chmod(os.path.join(d, "tmp"), 0o755)
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(module=BEIAN_MODULE, dir=d,
                                      port=self.port))
        os.chmod(os.path.join(d, "nginx.conf"), 0o644)
        self.pidfile = os.path.join(d, "nginx.pid")
        self.out = open(os.path.join(d, "nginx.stderr"), "wb")
        self.proc = subprocess.Popen([NGINX_BIN, "-p", d, "-c",
                                      os.path.join(d, "nginx.conf")],
                                     stdout=self.out, stderr=self.out)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: %s" % self.errors())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2) \
                    .close()
                if os.path.exists(self.pidfile):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nginx did not start: %s" % self.errors())

    def errors(self):
        out = []
        for name in ("nginx.stderr", "error.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") \
                        as f:
                    out.append(f.read()[-3000:])
            except OSError:
                pass
        return "\n".join(out)

    def get(self, host, path="/"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    def stop(self):
        rc = stop_process(self.proc, signal.SIGQUIT, 15)
        self.out.close()
        return rc


class Hammer:
    """Background requests against nginx while the snapshot changes: one
    thread on a keepalive connection, one opening a new connection per
    request, both cycling through hosts.  Records (time, kind, connection
    serial, host, status, body or error) for every request.

    A request on a reused keepalive connection that the server closed
    (idle keepalive closed by a gracefully exiting worker) gets no
    response at all; like any HTTP client (RFC 9112 §9.3.1) it is sent
    again on a new connection, and counted in `replayed`, not as a
    failure.  Anything else is a failure."""

    def __init__(self, port, hosts):
        self.port, self.hosts = port, list(hosts)
        self.results = []
        self.replayed = 0
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.conn_serial = 0
        self.threads = [threading.Thread(target=self._keepalive, daemon=True),
                        threading.Thread(target=self._fresh, daemon=True)]

    def _serial(self):
        with self.lock:
            self.conn_serial += 1
            return self.conn_serial

    def _record(self, kind, serial, host, status, body, error=None):
        with self.lock:
            self.results.append({"t": time.monotonic(), "kind": kind,
                                 "conn": serial, "host": host,
                                 "status": status, "body": body,
                                 "error": error})

    def _one(self, conn, host):
        conn.request("GET", "/", headers={"Host": host})
        r = conn.getresponse()
        return r.status, r.read(), r.getheader("Connection", "")

    def _keepalive(self):
        conn, serial, used, i = None, 0, 0, 0
        while not self.stop_flag.is_set():
            host = self.hosts[i % len(self.hosts)]
            i += 1
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                  timeout=5)
                serial, used = self._serial(), 0
            try:
                status, body, hdr = self._one(conn, host)
                used += 1
                self._record("keepalive", serial, host, status, body)
                if hdr.lower() == "close":
                    conn.close()
                    conn = None
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError, http.client.BadStatusLine) as e:
                conn.close()
                conn = None
                if used > 0:
                    with self.lock:
                        self.replayed += 1
                    i -= 1                  # the same host again
                    continue
                self._record("keepalive", serial, host, None, None, repr(e))
            except Exception as e:          # timeouts, refused, ...
                self._record("keepalive", serial, host, None, None, repr(e))
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(0.002)
        if conn is not None:
            conn.close()

    def _fresh(self):
        i = 0
        while not self.stop_flag.is_set():
            host = self.hosts[i % len(self.hosts)]
            i += 1
            serial = self._serial()
            conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                              timeout=5)
            try:
                status, body, _ = self._one(conn, host)
                self._record("new", serial, host, status, body)
            except Exception as e:
                self._record("new", serial, host, None, None, repr(e))
            finally:
                conn.close()
            time.sleep(0.002)

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(10)

    def snapshot(self):
        with self.lock:
            return list(self.results)
