#!/usr/bin/env python3
"""Instructions per request: the gate against the same nginx without it,
counted by callgrind, not timed.

nginx runs as one process (master_process off) under
`valgrind --tool=callgrind --cache-sim=yes`, collecting only inside
ngx_process_events_and_timers (the event loop: accept, read, parse, the
phases, the response; not startup).  One keepalive connection sends a fixed
sequence of requests.  Each case runs twice, with BASE and with BASE +
REQUESTS requests, and the difference divided by REQUESTS is the cost of a
request (connection setup, first touches and lazy binding cancel out).
Every case runs against the gate's configuration and against `beian off`
(module loaded, no phase handler) with the same hosts:

  extra    = gate - off            instructions per request the gate adds
  ratio    = extra / off           against nginx's own work
  LL miss  = simulated last-level cache misses per request (ILmr+DLmr+DLmw)

Cases: filed exact, filed subdomain (www.<filed>), random filed
subdomains, random unfiled hosts in report mode (lookup, no page; with
the top-K table of blocked hosts, the default, and without it) and in
enforce mode (lookup and the built-in page), an IP literal, an exempt host.
Data: bench/gen.py for N domains (default 1,000,000), beian-sync build.
The last line holds the cases the budget covers (the check every request
pays: filed exact, filed subdomain, random unfiled without the table)
against BUDGET.

    python3 bench/insn.py --bin build [--n N] [--work DIR]
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from common import NGINX, free_port, log  # noqa: E402
import bench  # noqa: E402

INSTANCE = "lhins-bench001"
BUDGET = 300
BUDGET_CASES = ("filed exact", "filed subdomain (www.)",
                "random unfiled, report: the check (beian_top_blocked 0)")
EVENTS_LINE = re.compile(r"^events:\s*(.*)$", re.M)
TOTALS_LINE = re.compile(r"^(?:summary|totals):\s*(.*)$", re.M)


def env(name, default):
    v = os.environ.get(name, "")
    return v if v else default


def conf(bindir, work, snap, port, kind):
    """bench.py's configuration of that kind, as one process in the
    foreground; "exempt": the gate with localhost exempt."""
    text = bench.conf("gate" if kind == "exempt" else kind,
                      {"bin": bindir, "work": work}, port, 1, snap, pin=False)
    text = text.replace("\nworker_processes 1;",
                        "\ndaemon off;\nmaster_process off;", 1)
    if kind == "exempt":
        text = text.replace("beian on;", "beian on; beian_exempt_host "
                            "localhost;", 1)
    return text


def read_response(sock, buf):
    """Reads one response off a keepalive connection; returns (status,
    the bytes after it)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    n = int(m.group(1)) if m else 0
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed")
        rest += chunk
    return status, rest[n:]


def send_sequence(port, hosts, want):
    deadline = time.monotonic() + 60
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=120)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    buf = b""
    try:
        for h in hosts:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: " + h.encode()
                         + b"\r\n\r\n")
            status, buf = read_response(sock, buf)
            if status != want:
                raise RuntimeError("host %s: status %d, expected %d"
                                   % (h, status, want))
    finally:
        sock.close()


def callgrind_run(work, name, bindir, snap, kind, hosts, want):
    """Counts of one nginx run that answers hosts: {event: total}."""
    d = os.path.join(work, "run", name)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    port = free_port()
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf(bindir, work, snap, port, kind))
    out = os.path.join(d, "callgrind.out")
    for p in (out, os.path.join(d, "nginx.pid")):
        if os.path.exists(p):
            os.unlink(p)

    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--cache-sim=yes",
         "--toggle-collect=ngx_process_events_and_timers",
         "--callgrind-out-file=" + out, NGINX, "-e",
         os.path.join(d, "error.log"), "-p", d, "-c",
         os.path.join(d, "nginx.conf")],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "vg.log"),
                                               "w"))
    try:
        # nginx writes its pid file once it is ready to run its loop
        deadline = time.monotonic() + 300
        while not os.path.exists(os.path.join(d, "nginx.pid")):
            if proc.poll() is not None:
                raise RuntimeError("%s: nginx exited, see %s" % (name, d))
            if time.monotonic() > deadline:
                raise RuntimeError("%s: nginx did not start" % name)
            time.sleep(0.2)
        send_sequence(port, hosts, want)
    finally:
        # QUIT, then TERM: both end nginx's loop and let callgrind write
        for sig in (signal.SIGQUIT, signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is not None:
                break
            proc.send_signal(sig)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log("%s: nginx still running after %s" % (name, sig.name))

    with open(out) as f:
        text = f.read()
    if not EVENTS_LINE.search(text):
        raise RuntimeError("%s: no callgrind counts in %s (nginx exit %s), "
                           "see %s" % (name, out, proc.returncode, d))
    events = EVENTS_LINE.search(text).group(1).split()
    totals = [int(x) for x in TOTALS_LINE.search(text).group(1).split()]
    return dict(zip(events, totals))


def per_request(work, name, bindir, snap, kind, hosts, want, base, n):
    """(instructions, LL misses) per request, by difference of two runs."""
    a = callgrind_run(work, name + "-base", bindir, snap, kind, hosts[:base],
                      want)
    b = callgrind_run(work, name, bindir, snap, kind, hosts[:base + n], want)

    def ll(c):
        return c.get("ILmr", 0) + c.get("DLmr", 0) + c.get("DLmw", 0)

    return (b["Ir"] - a["Ir"]) / n, (ll(b) - ll(a)) / n


def lines(path, k):
    with open(path) as f:
        out = [ln.strip() for ln in f if ln.strip()]
    return (out * (k // len(out) + 1))[:k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE),
                                                  "build"))
    ap.add_argument("--work", default=env("BENCH_WORK", ""))
    ap.add_argument("--n", type=int, default=int(env("INSN_N", "1000000")))
    ap.add_argument("--requests", type=int,
                    default=int(env("INSN_REQUESTS", "5000")))
    ap.add_argument("--base", type=int, default=int(env("INSN_BASE", "100")))
    ap.add_argument("--cases", default=env("INSN_CASES", ""),
                    help="case names separated by \";\" (default: all)")
    a = ap.parse_args()

    work = a.work or os.path.join(a.bin, "bench-insn")
    data = os.path.join(work, "data-%d" % a.n)
    os.makedirs(data, exist_ok=True)
    a.bin = os.path.abspath(a.bin)

    meta = os.path.join(data, "meta.json")
    if not (os.path.exists(meta) and json.load(open(meta)).get("n") == a.n):
        log("N=%d: generating data" % a.n)
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), "--n",
                        str(a.n), "--outdir", data, "--sample", "10000"],
                       check=True)
    snap = os.path.join(data, "snap.mdb")
    if not os.path.exists(snap):
        log("N=%d: building the snapshot" % a.n)
        subprocess.run([os.path.join(a.bin, "beian-sync"), "build", "--force",
                        "--quiet", "--records",
                        os.path.join(data, "records-a.json"),
                        "--instance-id", INSTANCE, "--out", snap],
                       check=True)

    k = a.base + a.requests
    fixed = lines(os.path.join(data, "hosts-fixed.txt"), 1)[0]
    cases = [
        ("filed exact", "gate", [fixed] * k, 200),
        ("filed subdomain (www.)", "gate", ["www." + fixed] * k, 200),
        ("random filed subdomains", "gate",
         lines(os.path.join(data, "hosts-sub.txt"), k), 200),
        ("random unfiled, report: the check and the top-K table", "report",
         lines(os.path.join(data, "hosts-unfiled.txt"), k), 200),
        ("random unfiled, report: the check (beian_top_blocked 0)",
         "report-notop",
         lines(os.path.join(data, "hosts-unfiled.txt"), k), 200),
        ("random unfiled, enforce", "gate",
         lines(os.path.join(data, "hosts-unfiled.txt"), k), 403),
        ("IP literal", "gate", ["127.0.0.1"] * k, 200),
        ("exempt", "exempt", ["localhost"] * k, 200),
    ]
    if a.cases:
        keep = set(a.cases.split(";"))
        cases = [c for c in cases if c[0] in keep]

    rows = []
    for i, (name, kind, hosts, want) in enumerate(cases):
        log("case %d/%d: %s" % (i + 1, len(cases), name))
        off_ir, off_ll = per_request(work, "c%d-off" % i, a.bin, snap, "off",
                                     hosts, 200, a.base, a.requests)
        on_ir, on_ll = per_request(work, "c%d-%s" % (i, kind), a.bin, snap,
                                   kind, hosts, want, a.base, a.requests)
        rows.append({"case": name, "off": off_ir, "gate": on_ir,
                     "extra": on_ir - off_ir,
                     "ratio": (on_ir - off_ir) / off_ir,
                     "ll_off": off_ll, "ll_gate": on_ll,
                     "ll_extra": on_ll - off_ll})
        log("  off %.0f, gate %.0f: %+.0f instructions per request "
            "(%+.1f%%), LL misses %+.2f" % (off_ir, on_ir, on_ir - off_ir,
                                            100 * (on_ir - off_ir) / off_ir,
                                            on_ll - off_ll))

    nginx_v = subprocess.run([NGINX, "-v"], capture_output=True,
                             text=True).stderr.strip()
    out = ["Instructions per request, callgrind (%s, N = %d domains, "
           "%d requests by difference of %d and %d per run, one keepalive "
           "connection, nginx single process)" % (nginx_v, a.n, a.requests,
                                                  a.base, a.base + a.requests),
           "",
           "| case | nginx alone (`beian off`) | with the gate | extra | "
           "ratio | LL misses alone | LL misses with the gate |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append("| %s | %.0f | %.0f | %+.0f | %+.1f%% | %.2f | %.2f |"
                   % (r["case"], r["off"], r["gate"], r["extra"],
                      100 * r["ratio"], r["ll_off"], r["ll_gate"]))
    # the budget: what every request's check may add (the page and the
    # table of blocked names are what a blocked request costs beyond it)
    checked = [r for r in rows if r["case"] in BUDGET_CASES]
    if checked:
        out += ["", "Budget, %d extra per request for the check: %s" % (
            BUDGET, ", ".join("%s %+.0f %s" % (
                r["case"], r["extra"],
                "within" if r["extra"] <= BUDGET else "OVER")
                for r in checked))]
    report = "\n".join(out) + "\n"
    with open(os.path.join(work, "insn.md"), "w") as f:
        f.write(report)
    with open(os.path.join(work, "insn.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print()
    print(report)


if __name__ == "__main__":
    main()
