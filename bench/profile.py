#!/usr/bin/env python3
"""Profiles the nginx worker under load with perf (cpu-clock sampling, so it
works without hardware counters, e.g. in a VM).

    python3 bench/profile.py --bin build --snapshot S.mdb --hosts HOSTS.txt \\
        [--kind gate|off|report] [--seconds 8] [--warmup 6] [--out DIR]

Starts nginx (1 worker pinned to core 0) with the bench configuration,
drives it with wrk on core 1 (a different Host per request from HOSTS),
records the worker with `perf record -e cpu-clock -g`, and prints the top
of `perf report` by shared object and by symbol.  Loopback only, bounded.
"""

import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Nginx, free_port, log  # noqa: E402
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--snapshot", required=True)
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--kind", default="gate")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--warmup", type=float, default=6,
                    help="seconds of load before recording")
    ap.add_argument("--out", default="/tmp/beian-profile")
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    os.chmod(a.out, 0o755)
    d = {"bin": os.path.abspath(a.bin)}
    port = free_port()
    inst = Nginx("profile-" + a.kind, a.out, bench.conf(
        a.kind, d, port, 1, os.path.abspath(a.snapshot)), 1)
    wrk = None
    try:
        inst.start(port=port)
        w = inst.workers()[0]
        wrk = subprocess.Popen(
            ["taskset", "-c", "1", "wrk", "-t1", "-c50",
             "-d%ds" % int(a.warmup + a.seconds + 3), "-s",
             os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "hosts.lua"), "http://127.0.0.1:%d/" % port, "--",
             os.path.abspath(a.hosts)], stdout=subprocess.DEVNULL)
        time.sleep(a.warmup)
        data = os.path.join(a.out, "perf-%s.data" % a.kind)
        log("recording worker %d for %g s" % (w, a.seconds))
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-g",
                        "-o", data, "-p", str(w), "--", "sleep",
                        str(a.seconds)], check=True, timeout=a.seconds + 60,
                       stderr=subprocess.DEVNULL)
    finally:
        if wrk is not None:
            wrk.wait(timeout=60)
        inst.stop()
    for sort in ("dso", "dso,sym"):
        r = subprocess.run(["perf", "report", "-i", data, "--no-children",
                            "--stdio", "-g", "none", "--percent-limit", "1",
                            "--sort", sort], capture_output=True, text=True,
                           timeout=120)
        print("## perf report --sort %s (%s)" % (sort, a.kind))
        print("\n".join(ln for ln in r.stdout.splitlines()
                        if ln.strip() and not ln.startswith("#")))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
