#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""replay_grid: the replay (bench/replay.py) over a grid of budgets and
trace selections, every pass side by side in each cell, reported as one
table with issue 14's criteria checked per cell for each agentcg pass
against the bare kernel (a).

Cells (--cells picks some, by name):
  paper        the AgentCgroup paper's experiment (replay.py --paper):
               HIGH dask-11628, two LOW github3.py-673, 100 MB baselines,
               50x, B = 1100M
  paper-1300   the same at B = 1300M (the paper's latency point)
  top3-0.9     the 3 largest traces at 50x, B = 0.9 x the sum of peaks
               (no pressure expected: (c) must cost nothing)
  SEL-F        8 traces at 20x, B = F x the sum of their peaks, for F in
               0.6, 0.45, 0.3 and SEL in top, r1, r2, r3 (random seeds 1-3)

The criteria, for each pass that runs agentcg's containment (c, cf, cr,
...) against (a), per cell:
  kills        its kills (calls and interpreters) <= (a)'s
  complete     its completed traces >= (a)'s
  high         no high-priority kill but calls the fit: line says cannot
               fit next to the baselines
  interp       no interpreter lost (where the baselines fit in B)
  high-p95     every high-priority trace's p95 call slowdown <= 1.1
  better       strictly fewer kills or more completed traces where (a)
               lost anything

Each cell's replay output and JSON go to OUT/<cell>.txt/.json; the table
to OUT/table.md and stdout. A cell takes about (traces x their alone
length) + (passes x the longest trace) / speed: 10-20 minutes for 8
traces at 20x with 6 passes on a 2-core machine; the whole grid several
hours. Needs root.

Cells already in --out from an earlier run stay in its table: a grid can
be run a few cells at a time.

usage: replay_grid.py [--cells a,b] [--modes a,c,...] [--second] [--out DIR] [--lock FILE]"""
import argparse
import contextlib
import datetime
import fcntl
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def cells(pool):
    out = [("paper", ["--paper"]), ("paper-1300", ["--paper", "--budget", "1300M"]),
           ("top3-0.9", ["--select", "top", "--traces", "3", "--speed", "50",
                         "--budget-frac", "0.9", "--pool", pool])]
    for frac in ("0.6", "0.45", "0.3"):
        for sel in ("top", "r1", "r2", "r3"):
            sel_args = (["--select", "top"] if sel == "top" else
                        ["--select", "random", "--seed", sel[1:]])
            out.append((f"{sel}-{frac}", sel_args + ["--traces", "8", "--speed", "20",
                                                     "--budget-frac", frac, "--pool", pool]))
    return out


def infeasible_high(js):
    """High-priority calls the fit: line names: planned peak above B minus
    every baseline."""
    room = js.get("room_for_calls") or 0
    n = 0
    for ag in js.get("plan", []):
        if ag.get("priority") == "high":
            n += sum(1 for c in ag.get("calls", []) if c.get("peak_mib", 0) * (1 << 20) > room)
    return n


def high_trace_p95(res, alone):
    """Worst per-trace p95 call slowdown among high-priority traces (calls
    that finished ok and took >= 0.2 s alone, as the replay's table)."""
    worst = None
    for o in res.get("agents", []):
        if o.get("priority") != "high":
            continue
        xs = []
        for r in o.get("calls", []):
            a = alone.get((o["trace"], r["idx"]))
            if r.get("category") == "ok" and a and a >= 0.2:
                xs.append(r["wall_s"] / a)
        if xs:
            xs.sort()
            p = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
            worst = p if worst is None else max(worst, p)
    return worst


def judge(js):
    """Rows (mode, figures..., verdicts) of one cell."""
    R = js["results"]
    alone = {}
    for o in R.get("alone", {}).get("agents", []):
        for r in o.get("calls", []):
            if r.get("category") == "ok":
                alone[(o["trace"], r["idx"])] = r["wall_s"]
    room = js.get("room_for_calls") or 0
    base_fit = room >= 0
    inf_high = infeasible_high(js)
    a = R.get("a", {}).get("summary", {}).get("all") if "summary" in R.get("a", {}) else None
    rows = []
    for mode, res in R.items():
        if mode == "alone" or "summary" not in res:
            continue
        g = res["summary"]["all"]
        h = res["summary"].get("high") or {}
        row = {"mode": mode, "kills": g["kills"], "calls_killed": g["killed"],
               "interp": g["sessions_killed"], "complete": g["completed"], "traces": g["traces"],
               "high_kills": h.get("kills", 0), "high_p95": high_trace_p95(res, alone),
               "alloc_p95": h.get("alloc_p95_ms"), "checks": {}}
        contain = (res.get("config") or {}).get("containment", {}).get("enabled")
        if contain and a:
            ck = row["checks"]
            ck["kills"] = g["kills"] <= a["kills"]
            ck["complete"] = g["completed"] >= a["completed"]
            ck["high"] = h.get("kills", 0) <= inf_high
            ck["interp"] = (g["sessions_killed"] == 0) if base_fit else True
            ck["high-p95"] = row["high_p95"] is None or row["high_p95"] <= 1.1
            lost = a["kills"] > 0 or a["completed"] < a["traces"]
            ck["better"] = (not lost) or g["kills"] < a["kills"] or g["completed"] > a["completed"]
        rows.append(row)
    return rows


def fmt(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}"


def table(done):
    lines = ["| cell | B | pass | kills (calls + interpreters) | high kills (cannot fit) | "
             "complete | high p95 call slowdown (worst trace) | high p95 alloc ms | "
             "criteria vs (a) |",
             "|---|---:|---|---|---:|---:|---:|---:|---|"]
    for name, js in done:
        budget = js.get("budget") or 0
        inf = infeasible_high(js)
        for r in judge(js):
            ck = r["checks"]
            crit = "-" if not ck else ("**all met**" if all(ck.values()) else
                                       "missed: " + ", ".join(k for k, v in ck.items() if not v))
            lines.append(f"| {name} | {budget / (1 << 20):.0f}M | {r['mode']} | {r['kills']} "
                         f"({r['calls_killed']} + {r['interp']}) | {r['high_kills']} ({inf}) | "
                         f"{r['complete']}/{r['traces']} | {fmt(r['high_p95'])} | "
                         f"{fmt(r['alloc_p95'])} | {crit} |")
    return "\n".join(lines)


@contextlib.contextmanager
def held(path):
    """An exclusive flock(2) on path for the block (nothing without a path)."""
    if not path:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--cells", default=None, help="comma list of cell names (default: all)")
    ap.add_argument("--modes", default="a,c,cf,cr,d10,d60",
                    help="passes in every cell (default a,c,cf,cr,d10,d60)")
    ap.add_argument("--second", action="store_true",
                    help="the second, disjoint selection: traces from the odd half of the "
                         "files (the first grid draws from the even half; the paper cells keep "
                         "their traces)")
    ap.add_argument("--out", default=None, help="results dir (default bench/results/DATE_REV_grid)")
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--lock", default=None,
                    help="flock this file around each cell, so other heavy work on the "
                         "machine can take turns between cells but never runs during one")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("replay_grid: needs root (the replay runs agentcgd)")
    pool = "odd" if a.second else "even"
    all_cells = cells(pool)
    want = [c.strip() for c in a.cells.split(",")] if a.cells else [n for n, _ in all_cells]
    unknown = [w for w in want if w not in dict(all_cells)]
    if unknown:
        sys.exit(f"replay_grid: unknown cells {unknown}; known: "
                 + ", ".join(n for n, _ in all_cells))
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "unknown"
    out = a.out or os.path.join(HERE, "results", f"{datetime.date.today()}_{rev}_grid"
                                + ("_second" if a.second else ""))
    os.makedirs(out, exist_ok=True)
    tracealloc = os.path.join(a.build, "bench", "tracealloc")
    if not os.access(tracealloc, os.X_OK):
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-D_GNU_SOURCE",
                        os.path.join(HERE, "tracealloc.c"), "-o", tracealloc], check=True)
    # cells of an earlier run into the same --out stay in its table
    done = []
    for name, _ in all_cells:
        js = os.path.join(out, name + ".json")
        if name not in want and os.path.exists(js):
            with open(js) as f:
                done.append((name, json.load(f)))
    t0 = time.monotonic()
    for i, (name, args) in enumerate(c for c in all_cells if c[0] in want):
        txt, js = os.path.join(out, name + ".txt"), os.path.join(out, name + ".json")
        print(f"replay_grid: cell {i + 1}/{len(want)} {name} ({time.monotonic() - t0:.0f} s "
              f"so far) ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, os.path.join(HERE, "replay.py"), "--build", a.build,
               "--tracealloc", tracealloc, "--modes", a.modes, "--json", js,
               "--alone-cache", os.path.join(out, "alone-cache.json")] + args
        with open(txt, "w") as f, held(a.lock):
            r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
        if r.returncode != 0 or not os.path.exists(js):
            print(f"replay_grid: cell {name} failed (exit {r.returncode}); see {txt}",
                  file=sys.stderr)
            continue
        with open(js) as f:
            done.append((name, json.load(f)))
        t = table(done)
        with open(os.path.join(out, "table.md"), "w") as f:
            f.write(t + "\n")
    print(table(done))
    print(f"\nreplay_grid: {len(done)} of {len(want)} cells in {time.monotonic() - t0:.0f} s; "
          f"raw: {out}", file=sys.stderr)
    return 0 if len(done) == len(want) else 1


if __name__ == "__main__":
    sys.exit(main())
