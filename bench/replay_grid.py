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

Each cell's replay output and JSON go to OUT/<cell>.txt/.json, its figure
(bench/replay_plot.py: the tenant's memory per agent over each pass, with
kills, freezes, holds and retries marked) to OUT/<cell>.png; the table,
which links the figures, to OUT/table.md and stdout. --replot redraws the
figures and the table from OUT's JSONs without running anything. A cell takes about (traces x their alone
length) + (passes x the longest trace) / speed: 10-20 minutes for 8
traces at 20x with 6 passes on a 2-core machine; the whole grid several
hours. Needs root.

Cells already in --out from an earlier run stay in its table: a grid can
be run a few cells at a time.

usage: replay_grid.py [--cells a,b] [--modes a,c,...] [--second] [--out DIR]
                      [--lock FILE] [--no-plot] [--replot]"""
import argparse
import contextlib
import datetime
import fcntl
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import replay_plot as rp  # noqa: E402


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


def measured_room(js):
    """B minus every agent's interpreter as it was measured (the baseline
    cell's memory peak: the baseline and the interpreter itself, largest
    over the passes), or the fit: line's room (planned baselines only) when
    no pass measured it."""
    peaks = {}
    for mode, res in (js.get("results") or {}).items():
        for o in res.get("agents", []) if mode != "alone" else []:
            if o.get("baseline_peak"):
                peaks[o["agent"]] = max(peaks.get(o["agent"], 0), o["baseline_peak"])
    planned = js.get("room_for_calls") or 0
    if not peaks or len(peaks) < len(js.get("plan") or []):
        return planned
    return min(planned, (js.get("budget") or 0) - sum(peaks.values()))


def infeasible_high(js):
    """High-priority calls that cannot fit next to every interpreter (as
    measured: measured_room) under any policy."""
    room = measured_room(js)
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
    room = measured_room(js)
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
        if contain and a and room >= 0:
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


def table(done, figs=None):
    """figs: {cell: the figure's file name, in the table's directory}."""
    figs = figs or {}
    lines = ["| cell | B | pass | kills (calls + interpreters) | high kills (cannot fit) | "
             "complete | high p95 call slowdown (worst trace) | high p95 alloc ms | "
             "criteria vs (a) | figure |",
             "|---|---:|---|---|---:|---:|---:|---:|---|---|"]
    for name, js in done:
        budget = js.get("budget") or 0
        inf = infeasible_high(js)
        fig = f"[{figs[name]}]({figs[name]})" if figs.get(name) else "-"
        if (js.get("room_for_calls") or 0) < 0:
            lines.append(f"| {name} | {budget / (1 << 20):.0f}M | all | the baselines alone "
                         f"exceed B by {-js['room_for_calls'] / (1 << 20):.0f}M: no agent can "
                         f"start under any policy | | | | | - | {fig} |")
            continue
        if measured_room(js) < 0:
            lines.append(f"| {name} | {budget / (1 << 20):.0f}M | all | the interpreters with "
                         f"their baselines, as measured, exceed B by "
                         f"{-measured_room(js) / (1 << 20):.0f}M: one is lost under any policy; "
                         f"the passes below are not judged | | | | | - | {fig} |")
            fig = ""
        for r in judge(js):
            ck = r["checks"]
            crit = "-" if not ck else ("**all met**" if all(ck.values()) else
                                       "missed: " + ", ".join(k for k, v in ck.items() if not v))
            lines.append(f"| {name} | {budget / (1 << 20):.0f}M | {r['mode']} | {r['kills']} "
                         f"({r['calls_killed']} + {r['interp']}) | {r['high_kills']} ({inf}) | "
                         f"{r['complete']}/{r['traces']} | {fmt(r['high_p95'])} | "
                         f"{fmt(r['alloc_p95'])} | {crit} | {fig} |")
            fig = ""        # once per cell
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


def draw_cell(name, js, out):
    """OUT/<cell>.png from the cell's JSON; its file name, or None (said
    on stderr) when it could not be drawn."""
    png = os.path.join(out, name + ".png")
    title = (f"cell {name}: {len(js.get('plan') or [])} agents, B = "
             f"{(js.get('budget') or 0) / (1 << 20):.0f} MiB, speed "
             f"{(js.get('args') or {}).get('speed', 0):g}x")
    try:
        counts = rp.draw(js, png, title=title)
    except Exception as e:      # the cell's figures stand without it
        print(f"replay_grid: cell {name}: no figure: {type(e).__name__}: {e}", file=sys.stderr)
        return None
    print(f"replay_grid: cell {name}: figure {png} (" + "; ".join(
        f"({m}) " + (", ".join(f"{k} {v}" for k, v in c.items() if v and k in rp.KINDS)
                     or "no events") for m, c in counts.items()) + ")", file=sys.stderr)
    return os.path.basename(png)


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
    ap.add_argument("--no-plot", action="store_true",
                    help="no figures (they need Debian's python3-matplotlib)")
    ap.add_argument("--replot", action="store_true",
                    help="run nothing: redraw the figure of every cell whose JSON is in --out "
                         "and rewrite its table.md")
    a = ap.parse_args()
    if not a.no_plot:
        try:    # before hours of runs, not after
            rp.import_pyplot()
        except rp.PlotError as e:
            sys.exit(f"replay_grid: {e} (or --no-plot)")
    if a.replot:
        return replot(a)
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
    done, figs = [], {}
    for name, _ in all_cells:
        js = os.path.join(out, name + ".json")
        if name not in want and os.path.exists(js):
            with open(js) as f:
                done.append((name, json.load(f)))
            png = os.path.join(out, name + ".png")
            figs[name] = os.path.basename(png) if os.path.exists(png) else None
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
        if not a.no_plot:
            figs[name] = draw_cell(name, done[-1][1], out)
        t = table(done, figs)
        with open(os.path.join(out, "table.md"), "w") as f:
            f.write(t + "\n")
    print(table(done, figs))
    print(f"\nreplay_grid: {len(done)} of {len(want)} cells in {time.monotonic() - t0:.0f} s; "
          f"raw: {out}", file=sys.stderr)
    return 0 if len(done) == len(want) else 1


def replot(a):
    """--replot: the figures and table.md of an existing grid directory."""
    if not a.out or not os.path.isdir(a.out):
        sys.exit("replay_grid: --replot needs --out DIR, a grid's results directory")
    names = [n for n, _ in cells("even")]
    want = [c.strip() for c in a.cells.split(",")] if a.cells else names
    done, figs = [], {}
    for name in want:
        path = os.path.join(a.out, name + ".json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            done.append((name, json.load(f)))
        if not a.no_plot:
            figs[name] = draw_cell(name, done[-1][1], a.out)
    if not done:
        sys.exit(f"replay_grid: no cell's JSON in {a.out}")
    t = table(done, figs)
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(t + "\n")
    print(t)
    return 0 if all(figs.get(n) for n, _ in done) or a.no_plot else 1


if __name__ == "__main__":
    sys.exit(main())
