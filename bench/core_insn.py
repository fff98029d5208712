#!/usr/bin/env python3
"""Instructions per call of the core alone (beian_host_verdict(), what the
modules call per request, for the host nginx resolved and for any other,
and the parse and match it stands for, called apart), counted by callgrind
in process.

bench/core_insn.c loops over the hosts of a file; callgrind collects only
inside that loop.  Each case runs with BASE and with BASE + CALLS calls and
the difference over CALLS is the cost of one call (startup, first touches
and lazy binding cancel out).  The snapshot is built by this build's
beian-sync from the records make bench-insn generates (bench/gen.py).

    python3 bench/core_insn.py --bin build [--data DIR] [--snap FILE]
"""

import argparse
import os
import re
import subprocess
import sys

INSTANCE = "lhins-bench001"


def ir(binary, snap, hosts, calls, prefix, mode, out):
    subprocess.run(["valgrind", "--tool=callgrind", "--toggle-collect=measure",
                    "--callgrind-out-file=" + out, binary, snap, hosts,
                    str(calls), prefix, mode],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with open(out) as f:
        return int(re.search(r"^summary:\s+(\d+)", f.read(), re.M).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build")
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--data", default="",
                    help="bench/gen.py output (default BIN/bench-insn/data-N)")
    ap.add_argument("--snap", default="",
                    help="an existing snapshot (default: built into BIN)")
    ap.add_argument("--base", type=int, default=1000)
    ap.add_argument("--calls", type=int, default=10000)
    a = ap.parse_args()

    data = a.data or os.path.join(a.bin, "bench-insn", "data-%d" % a.n)
    if not os.path.exists(os.path.join(data, "hosts-fixed.txt")):
        subprocess.run([sys.executable,
                        os.path.join(os.path.dirname(__file__), "gen.py"),
                        "--n", str(a.n), "--outdir", data, "--sample",
                        "10000"], check=True)
    work = os.path.join(a.bin, "core-insn-work")
    os.makedirs(work, exist_ok=True)
    snap = a.snap
    if not snap:
        snap = os.path.join(work, "snap.mdb")
        subprocess.run([os.path.join(a.bin, "beian-sync"), "build", "--force",
                        "--quiet", "--records",
                        os.path.join(data, "records-a.json"), "--instance-id",
                        INSTANCE, "--out", snap], check=True)

    binary = os.path.join(a.bin, "core-insn")
    fixed = os.path.join(data, "hosts-fixed.txt")
    cases = [("filed subdomain (www.<filed>)", fixed, "www."),
             ("filed exact", fixed, ""),
             ("random unfiled", os.path.join(data, "hosts-unfiled.txt"), ""),
             ("random filed subdomains", os.path.join(data, "hosts-sub.txt"),
              "")]

    print("| case | beian_host_verdict(), clean | strict | parse, then "
          "match_host |")
    print("|---|---:|---:|---:|")
    for name, hosts, prefix in cases:
        out = os.path.join(work, "callgrind.out")
        row = []
        for mode in ("clean", "strict", "split"):
            x = ir(binary, snap, hosts, a.base, prefix, mode, out)
            y = ir(binary, snap, hosts, a.base + a.calls, prefix, mode, out)
            row.append(round((y - x) / a.calls))
        print("| %s | %d | %d | %d |" % (name, row[0], row[1], row[2]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
