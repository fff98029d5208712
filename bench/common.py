"""Helpers shared by bench.py and soak.py: processes, nginx instances,
/proc readings, a tiny HTTP client, wrk.  Loopback only."""

import os
import re
import signal
import socket
import statistics
import subprocess
import time

NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
HERE = os.path.dirname(os.path.abspath(__file__))


def log(*a):
    print(time.strftime("[%H:%M:%S]"), *a, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---- /proc -------------------------------------------------------------

def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()       # fields from #3 (state) on


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if int(_stat_fields(int(d))[1]) == pid:
                out.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return sorted(out)


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def alive(pid):
    try:
        st = _stat_fields(pid)[0]
        return st != "Z"
    except (OSError, IndexError):
        return False


def cpu_ns(pid):
    """Time on CPU in ns (schedstat, precise) and utime+stime in ns
    (/proc/PID/stat, clock ticks)."""
    with open("/proc/%d/schedstat" % pid) as f:
        sched = int(f.read().split()[0])
    st = _stat_fields(pid)
    hz = os.sysconf("SC_CLK_TCK")
    ticks = int(st[11]) + int(st[12])          # utime, stime
    return sched, ticks * 1e9 / hz


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def smaps_rollup(pid):
    r = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 3 and p[0].endswith(":") and p[2] == "kB":
                r[p[0][:-1]] = int(p[1])
    r["Private"] = r.get("Private_Clean", 0) + r.get("Private_Dirty", 0)
    return r


# ---- HTTP --------------------------------------------------------------

def http_get(port, host, timeout=2.0, path="/"):
    """One request on a new connection: (status, body) or (None, error)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return None, str(e)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, host)).encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except OSError as e:
        return None, str(e)
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    if not m:
        return None, "no status line"
    return int(m.group(1)), body


def wait_status(port, host, want, timeout, interval=0.001):
    """Polls until a request for host gets status want; seconds or None."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        st, _ = http_get(port, host, timeout=1.0)
        if st == want:
            return time.monotonic() - t0
        time.sleep(interval)
    return None


# ---- nginx ---------------------------------------------------------------

class Nginx:
    """One nginx master with its workers, under its own prefix."""

    def __init__(self, name, root, conf, workers):
        self.name = name
        self.dir = os.path.join(root, name)
        self.conf_path = os.path.join(self.dir, "nginx.conf")
        self.pid_path = os.path.join(self.dir, "nginx.pid")
        self.err = os.path.join(self.dir, "error.log")
        self.nworkers = workers
        self.master = None
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        os.chmod(self.dir, 0o755)
        with open(self.conf_path, "w") as f:
            f.write(conf)

    def args(self, *extra):
        return [NGINX, "-e", self.err, "-p", self.dir, "-c",
                self.conf_path] + list(extra)

    def workers(self, shutting=False):
        if self.master is None:
            return []
        out = []
        for c in children(self.master):
            cl = cmdline(c)
            if "worker process" not in cl:
                continue
            if ("shutting down" in cl) == shutting:
                out.append(c)
        return out

    def all_children(self):
        return children(self.master) if self.master else []

    def start(self, timeout=180, port=None, probe_host="localhost"):
        try:
            os.unlink(self.pid_path)
        except FileNotFoundError:
            pass
        r = subprocess.run(self.args(), capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("%s: nginx failed to start: %s%s"
                               % (self.name, r.stdout, r.stderr))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(self.pid_path) as f:
                    self.master = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.01)
        if self.master is None:
            raise RuntimeError("%s: no pid file" % self.name)
        while time.monotonic() < deadline:
            if len(self.workers()) >= self.nworkers:
                break
            time.sleep(0.01)
        if port is not None:
            while time.monotonic() < deadline:
                st, _ = http_get(port, probe_host)
                if st is not None:
                    break
                time.sleep(0.01)
        return self

    def wait_old_workers_gone(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.workers(shutting=True) and \
                    len(self.workers()) == self.nworkers:
                return True
            time.sleep(0.01)
        return False

    def stop(self):
        if self.master is None:
            return
        pids = [self.master] + self.all_children()
        try:
            os.kill(self.master, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(alive(p) for p in pids):
            time.sleep(0.02)
        for p in pids:
            if alive(p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.master = None

    def log_problems(self, ignore=()):
        """Lines that signal a crash or a serious problem."""
        bad = []
        try:
            with open(self.err, errors="replace") as f:
                for line in f:
                    if ("exited on signal" in line or "[alert]" in line
                            or "[emerg]" in line or "[crit]" in line):
                        if not any(i in line for i in ignore):
                            bad.append(line.rstrip())
        except FileNotFoundError:
            pass
        return bad


# ---- wrk -----------------------------------------------------------------

def wrk(port, duration, host=None, hosts_file=None, conns=50, cpu="1",
        script=None, script_args=(), timeout_s=None, extra=()):
    """Runs wrk pinned to cpu; returns a dict with requests, rps, non2xx,
    errors and the raw output."""
    cmd = ["taskset", "-c", cpu, "wrk", "-t1", "-c%d" % conns,
           "-d%gs" % duration, "--timeout", "5s"] + list(extra)
    if host is not None:
        cmd += ["-H", "Host: " + host]
    if hosts_file is not None:
        script = os.path.join(HERE, "hosts.lua")
        script_args = (hosts_file,) + tuple(script_args)
    if script:
        cmd += ["-s", script]
    cmd.append("http://127.0.0.1:%d/" % port)
    if script_args:
        cmd += ["--"] + list(script_args)
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=timeout_s or duration + 60)
    out = r.stdout + r.stderr
    res = {"out": out, "rc": r.returncode}
    m = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    res["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    res["errors"] = sum(int(x) for x in m.groups()) if m else 0
    return res
