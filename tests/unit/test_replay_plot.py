#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit test of bench/replay_plot.py, the replay's figures: a small
synthetic replay result with known events (kills by the kernel, the ladder
and the userspace killer, freezes, throttles, admission holds, a retry, a
stuck call, interpreters lost) goes through events_of and draw; the events
found, the markers drawn per pass and the PNG are checked. One pass has no
per-agent samples and no samples_t0, as the JSONs written before them: it
must still draw (the tenant's memory) with its events aligned on the
baselines. Needs Debian's python3-matplotlib (make deps installs it).

Usage: python3 tests/unit/test_replay_plot.py
Prints TAP-style lines and "# N passed, N failed (test_replay_plot.py)";
exits 1 if anything failed.
"""
import copy
import io
import json
import os
import sys
import tempfile
from contextlib import redirect_stdout

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import replay_plot as rp  # noqa: E402
import tap  # noqa: E402

MIB = 1 << 20


def check(desc, cond, why=""):
    if cond:
        tap.ok(desc)
    else:
        tap.nok(desc, why)


def call(idx, start, wall, cat="ok", queued=0.001, **kw):
    r = {"idx": idx, "label": "pytest", "start_s": start, "wall_s": wall, "queued_s": queued,
         "started": True, "category": cat, "containment": None, "admission": None,
         "retry": None, "stopped_by": None}
    r.update(kw)
    return r


def agent(name, prio, calls, interp="alive"):
    return {"agent": name, "trace": f"x__{name}__task-{name}__attempt_1", "priority": prio,
            "t0": 1001.0, "calls": calls, "interpreter": interp, "error": None,
            "baseline_peak": 100 * MIB, "calls_done_s": 12.0, "makespan_s": 14.0,
            "planned_calls": len(calls)}


def agent_memory(py_drop=None):
    """a0, a1, a2: 100 MiB interpreters, a0's calls a 0-300 MiB triangle;
    a2's interpreter gone from py_drop s on."""
    rows = []
    for i in range(201):
        t = i / 10
        a0sh = 300 - abs(t - 10) * 30 if 0 <= t <= 20 else 0
        a2py = 0.0 if py_drop is not None and t >= py_drop else 100.0
        rows.append([t, 100.0, round(a0sh, 1), 100.0, 20.0, a2py, 0.0])
    return {"columns": ["t", "a0-py", "a0-sh", "a1-py", "a1-sh", "a2-py", "a2-sh"],
            "unit": "MiB", "period_s": 0.1, "samples": len(rows), "rows": rows}


def tenant(step=0.5, until=15.0):
    return [[round(i * step, 2), min(300 * MIB, int(i * step * 300 * MIB))]
            for i in range(int(until / step) + 1)]


def summary(killed, interp, complete):
    return {"all": {"killed": killed, "sessions_killed": interp, "completed": complete,
                    "traces": 3}}


def result():
    R = {}
    R["alone"] = {"agents": [agent("a0", "high", [call(0, 1, 1)])], "memory_samples": []}
    # (a): the kernel kills a1's call 3 (ends at 1 + 4 + 2 = 7 s); a2's
    # interpreter is lost at 8 s (its session's memory falls)
    R["a"] = {"agents": [agent("a0", "high", [call(0, 1, 1)]),
                         agent("a1", "normal", [call(3, 4.0, 2.0, "killed_pressure",
                                                     oom={"limit": {"level": "daemon"}})]),
                         agent("a2", "low", [call(0, 1, 1)], interp="died")],
              "samples_t0": 1000.0, "agent_memory": agent_memory(py_drop=8.0),
              "memory_samples": tenant(), "summary": summary(1, 1, 1)}
    # (c): two holds, two frozen calls (one of them killed by the ladder),
    # one throttled
    R["c"] = {"agents": [agent("a0", "high", [
        call(1, 2.0, 3.0, queued=1.5, admission={"waited_ms": 1500,
                                                 "held_by": "memory pressure"})]),
        agent("a1", "normal", [call(2, 3.0, 1.0, queued=0.3),
                               call(5, 6.0, 2.0, containment={"frozen": 1, "frozen_ms": 900,
                                                              "throttled": 1,
                                                              "throttled_ms": 200})]),
        agent("a2", "low", [call(2, 2.0, 1.0, containment={"frozen": 0, "throttled": 1,
                                                           "throttled_ms": 300}),
                            call(4, 5.0, 3.0, "stopped", stopped_by="memory pressure",
                                 containment={"frozen": 1, "frozen_ms": 2000, "throttled": 0,
                                              "killed": True})])],
        "samples_t0": 1000.0, "agent_memory": agent_memory(),
        "memory_samples": tenant(), "summary": summary(1, 0, 2)}
    # (cr): a retried call (500 ms lost), a call stopped by the bench
    R["cr"] = {"agents": [agent("a0", "high", [call(0, 1.0, 2.0, queued=0.0, retry={
        "attempts": 2, "killed": 1, "lost_ms": 500})]),
        agent("a1", "normal", [call(0, 3.0, 30.0, "deadline")]),
        agent("a2", "low", [])],
        "samples_t0": 1000.0, "agent_memory": agent_memory(),
        "memory_samples": tenant(), "summary": summary(0, 0, 2)}
    # (d10), as written before samples_t0 and agent_memory: the userspace
    # killer kills a0's call at 6 s and a2's interpreter at 9.5 s
    R["d10"] = {"agents": [agent("a0", "high", [call(4, 4.0, 1.2, "stopped")]),
                           agent("a1", "normal", [call(0, 1, 1)]),
                           agent("a2", "low", [call(0, 1, 1)], interp="died")],
                "memory_samples": [[0.0, 0], [0.5, 150 * MIB], [1.0, 300 * MIB],
                                   [5.0, 400 * MIB], [12.0, 200 * MIB]],
                "oomd_kills": [[6.0, "a0-sh/call-9", 300 * MIB, 0.2],
                               [9.5, "a2-py", 100 * MIB, 0.3]],
                "summary": summary(1, 1, 1)}
    R["c0"] = {"skipped": "this agentcgd does not take containment"}
    R["b"] = {"agents": []}
    return {"budget": 450 * MIB, "args": {"speed": 20.0},
            "plan": [{"agent": "a0", "priority": "high", "trace": "x__a0__task-a0__attempt_1",
                      "baseline_bytes": 100 * MIB},
                     {"agent": "a1", "priority": "normal", "trace": "x__a1__t__attempt_1",
                      "baseline_bytes": 100 * MIB},
                     {"agent": "a2", "priority": "low", "trace": "x__a2__t__attempt_1",
                      "baseline_bytes": 100 * MIB}],
            "results": R}


WANT = {"a": {"kill": 1, "interpreter": 1},
        "c": {"hold": 2, "freeze": 2, "throttle": 1, "kill": 1},
        "cr": {"retry": 1, "stuck": 1},
        "d10": {"kill": 1, "interpreter": 1}}


def want(m):
    return {k: WANT[m].get(k, 0) for k in rp.KINDS}


def one(evs, **kw):
    got = [e for e in evs if all(e.get(k) == v for k, v in kw.items())]
    return got[0] if len(got) == 1 else None


def main():
    js = result()
    R = js["results"]
    check("shared passes: alone, skipped and empty ones left out",
          rp.shared_modes(js) == ["a", "c", "cr", "d10"], rp.shared_modes(js))
    ev = {m: rp.events_of(R[m]) for m in WANT}
    for m in WANT:
        check(f"({m}) events found: {WANT[m]}", rp.count(ev[m]) == want(m), rp.count(ev[m]))
    e = one(ev["a"], kind="kill")
    check("(a) the kernel's kill at the call's end, on the samples' clock",
          e and e["by"] == "oom" and e["agent"] == "a1" and abs(e["t"] - 7.0) < 1e-6, e)
    e = one(ev["a"], kind="interpreter")
    check("(a) the lost interpreter where its session's memory fell",
          e and e["agent"] == "a2" and e["how"] == "seen" and abs(e["t"] - 8.0) < 1e-6, e)
    e = one(ev["c"], kind="hold", agent="a0")
    check("(c) a hold spans the request to the start, with the verdict's admission",
          e and abs(e["t"] - 3.0) < 1e-6 and abs(e["t_end"] - 4.5) < 1e-6
          and e["waited_ms"] == 1500 and e["held_by"] == "memory pressure", e)
    e = one(ev["c"], kind="kill")
    check("(c) the ladder's kill is the ladder's", e and e["by"] == "ladder" and
          e["agent"] == "a2" and e["call"] == 4, e)
    e = one(ev["cr"], kind="retry")
    check("(cr) the retry after the killed run's lost time",
          e and abs(e["t"] - 2.5) < 1e-6 and e["attempts"] == 2, e)
    offs, how = rp.agent_offsets(R["d10"])
    check("(d10) no samples_t0: the start aligned where the tenant held the baselines",
          how != "exact" and abs(offs["a0"] - 1.0) < 1e-6, (offs, how))
    e = one(ev["d10"], kind="kill")
    check("(d10) the call's kill is the userspace killer's, at its time",
          e and e["by"] == "oomd" and e["agent"] == "a0" and abs(e["t"] - 6.0) < 1e-6, e)
    e = one(ev["d10"], kind="interpreter")
    check("(d10) the interpreter the userspace killer killed",
          e and e["how"] == "oomd" and abs(e["t"] - 9.5) < 1e-6, e)

    rows = [[i * 0.1, 1.0, 2.0] for i in range(10000)]
    rows[4321] = [432.1, 900.0, 2.0]
    d = rp.decimate(rows)
    check("decimate: at most MAX_POINTS rows, the peak kept, the ends kept",
          len(d) <= rp.MAX_POINTS and [432.1, 900.0, 2.0] in d and d[0] == rows[0]
          and d[-1][0] > 999.0, (len(d), d[:2], d[-1]))
    check("decimate: short series untouched", rp.decimate(rows[:50]) == rows[:50])

    try:
        rp.import_pyplot()
    except rp.PlotError as e:
        check("matplotlib imports (make deps installs python3-matplotlib)", False, e)
        return
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "fig.png")
        counts = rp.draw(copy.deepcopy(js), png)
        check("draw: one column per shared pass", list(counts) == ["a", "c", "cr", "d10"],
              list(counts))
        for m in WANT:
            got = {k: counts[m][k] for k in rp.KINDS}
            check(f"({m}) markers drawn: {WANT[m]}", got == want(m), got)
        check("agents stacked where sampled, the tenant alone where not",
              [counts[m]["stacked"] for m in ("a", "c", "cr", "d10")] == [3, 3, 3, 0],
              {m: counts[m]["stacked"] for m in counts})
        with open(png, "rb") as f:
            head = f.read(8)
        check("draw: a PNG", head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(png) > 10000,
              (head, os.path.getsize(png)))
        # stored events (replay.py writes them) are what gets drawn
        js2 = copy.deepcopy(js)
        js2["results"]["cr"]["events"] = [{"kind": "kill", "t": 3.0, "agent": "a1",
                                           "by": "ladder"}]
        c2 = rp.draw(js2, png, modes=["cr"])
        check("a pass's stored events are drawn, not recomputed",
              list(c2) == ["cr"] and c2["cr"]["kill"] == 1 and c2["cr"]["retry"] == 0, c2)
        # the command line, from a JSON file
        jpath = os.path.join(tmp, "r.json")
        with open(jpath, "w") as f:
            json.dump(js, f)
        out = io.StringIO()
        png2 = os.path.join(tmp, "sub", "cli.png")
        with redirect_stdout(out):
            rc = rp.main([jpath, png2, "--modes", "a,d10"])
        check("replay_plot.py RESULT.json OUT.png draws the passes asked for",
              rc == 0 and os.path.exists(png2) and "(a) kill 1, interpreter 1" in out.getvalue()
              and "(c)" not in out.getvalue(), out.getvalue())
        try:
            rp.draw({"results": {"alone": R["alone"], "c0": R["c0"]}}, png)
            check("no shared pass: a clear error", False, "drew anyway")
        except rp.PlotError as e:
            check("no shared pass: a clear error", "no shared pass" in str(e), e)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a crash is a failure, counted
        import traceback
        traceback.print_exc()
        check("the test ran to its end", False, f"{type(e).__name__}: {e}")
    sys.exit(tap.summary("test_replay_plot.py"))
