#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What agentcg-sh costs a coding agent: `bash -c CMD` with the real bash
and through agentcg-sh (the farm first in PATH, a call of a running
agentcgd), interleaved round by round so both see the same machine, and
`agentcg run -- bash -c CMD` beside them. Prints p50/p95/mean per command
and side, and the ratios and added milliseconds of the wrapper.

    shell_bench.py AGENTCGD AGENTCG AGENTCG_SH [-n N] [--warmup W] [--json FILE]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = [
    ("true", "true"),
    ("pipeline", "ls /usr/bin | sort | head -3 >/dev/null"),
    ("python3 -c pass", "/usr/bin/python3 -c pass"),
]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("agentcgd")
    ap.add_argument("agentcg")
    ap.add_argument("agentcg_sh")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--json")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="agentcg-shell-bench-")
    farm = os.path.join(tmp, "farm")
    os.mkdir(farm)
    os.symlink(os.path.realpath(a.agentcg_sh), os.path.join(farm, "bash"))
    sock = os.path.join(tmp, "agentcgd.sock")
    cfg = os.path.join(tmp, "agentcgd.json")
    with open(cfg, "w") as f:
        json.dump({"socket_mode": "0600", "tenants": {"bench": {"memory_max": "4G", "pids": 4096,
                                                               "users": ["*"]}}}, f)
    log = open(os.path.join(tmp, "log"), "w")
    d = subprocess.Popen([a.agentcgd, "--config", cfg, "--root", "agentcg-shell-bench-%d" % os.getpid(),
                          "--socket", sock], stdout=log, stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 60
        while subprocess.run([a.agentcg, "--socket", sock, "info"], capture_output=True).returncode:
            if time.monotonic() > end or d.poll() is not None:
                sys.exit("shell_bench: agentcgd did not start: " + open(log.name).read()[-2000:])
            time.sleep(0.05)
        subprocess.run([a.agentcg, "--socket", sock, "session", "create", "/bench/sh"], check=True,
                       capture_output=True)
        base = dict(os.environ, AGENTCG_SOCKET=sock, AGENTCG_SESSION="/bench/sh")
        sides = {
            "bash": (["bash", "-c"], base),
            "agentcg-sh": (["bash", "-c"], dict(base, PATH=farm + ":" + base["PATH"])),
            "agentcg run": ([a.agentcg, "run", "--", "bash", "-c"], base),
        }
        out = {}
        for name, cmd in COMMANDS:
            times = {s: [] for s in sides}
            for i in range(a.warmup + a.n):
                for side, (argv, env) in sides.items():
                    t0 = time.perf_counter()
                    r = subprocess.run(argv + [cmd], env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    dt = (time.perf_counter() - t0) * 1000
                    if r.returncode != 0:
                        sys.exit("shell_bench: %s %r failed: %s" % (side, cmd, r.stderr[-500:]))
                    if i >= a.warmup:
                        times[side].append(dt)
            out[name] = times
            b = times["bash"]
            print("%-16s %-12s %8s %8s %8s" % (name, "side", "p50 ms", "p95 ms", "mean ms"))
            for side, xs in times.items():
                print("%-16s %-12s %8.2f %8.2f %8.2f" % ("", side, pct(xs, 50), pct(xs, 95),
                                                        statistics.mean(xs)))
            w = times["agentcg-sh"]
            print("%-16s agentcg-sh / bash: p50 %.2fx (+%.2f ms), p95 %.2fx (+%.2f ms)" % (
                "", pct(w, 50) / pct(b, 50), pct(w, 50) - pct(b, 50),
                pct(w, 95) / pct(b, 95), pct(w, 95) - pct(b, 95)))
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"n": a.n, "warmup": a.warmup, "samples_ms": out}, f)
    finally:
        d.terminate()
        d.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if d.returncode != 0:
        sys.exit("shell_bench: agentcgd exited %d" % d.returncode)


if __name__ == "__main__":
    main()
