#!/usr/bin/env python3
"""Request cost of two builds of the gate side by side (e.g. the tree and a
proposed patch), against the gate off, in one run with alternating rounds.

    python3 bench/compare.py --a-bin build --a-snapshot A.mdb \\
        --b-bin /tmp/patched/build --b-snapshot B.mdb \\
        --data WORK/n1000000/data [--rounds 7] [--duration 3] \\
        [--scenarios fixed,sub,unfiled]

A and B: module (BIN/ngx_http_beian_module.so) and snapshot (each build
reads its own snapshot format).  Host lists from --data (bench/gen.py).
Prints worker CPU per request and the per-round ratios to gate off.
Loopback only; bounded.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Nginx, cpu_ns, free_port, log, median, wrk  # noqa: E402
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a-bin", required=True)
    ap.add_argument("--a-snapshot", required=True)
    ap.add_argument("--b-bin", required=True)
    ap.add_argument("--b-snapshot", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--scenarios", default="fixed,sub,unfiled")
    ap.add_argument("--work", default="/tmp/beian-compare")
    a = ap.parse_args()

    os.makedirs(a.work, exist_ok=True)
    os.chmod(a.work, 0o755)
    kinds = {"off": (a.a_bin, a.a_snapshot, "off"),
             "A": (a.a_bin, a.a_snapshot, "gate"),
             "B": (a.b_bin, a.b_snapshot, "gate")}
    insts, ports = {}, {}
    with open(os.path.join(a.data, "hosts-fixed.txt")) as f:
        fixed = f.read().split()[0]
    try:
        for k, (b, snap, kind) in kinds.items():
            ports[k] = free_port()
            insts[k] = Nginx("cmp-" + k, a.work, bench.conf(
                kind, {"bin": os.path.abspath(b)}, ports[k], 1,
                os.path.abspath(snap)), 1)
            insts[k].start(port=ports[k])
        order0 = list(kinds)
        for sc in a.scenarios.split(","):
            kw = {"host": fixed} if sc == "fixed" else {
                "hosts_file": os.path.join(a.data, "hosts-%s.txt" % sc)}
            for k in order0:
                wrk(ports[k], 1.0, **kw)
            runs = {k: [] for k in order0}
            for r in range(a.rounds):
                order = order0[r % 3:] + order0[:r % 3]
                for k in order:
                    w = insts[k].workers()[0]
                    c0, _ = cpu_ns(w)
                    out = wrk(ports[k], a.duration, **kw)
                    c1, _ = cpu_ns(w)
                    runs[k].append((c1 - c0) / max(1, out["requests"]))
                    time.sleep(0.2)
            ra = [x / y for x, y in zip(runs["A"], runs["off"])]
            rb = [x / y for x, y in zip(runs["B"], runs["off"])]
            log("%-8s off %.2f µs | A %.2f µs, %.3fx (%.3f–%.3f) | "
                "B %.2f µs, %.3fx (%.3f–%.3f)" % (
                    sc, median(runs["off"]) / 1000,
                    median(runs["A"]) / 1000, median(ra), min(ra), max(ra),
                    median(runs["B"]) / 1000, median(rb), min(rb), max(rb)))
    finally:
        for i in insts.values():
            i.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
