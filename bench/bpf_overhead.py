#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bpf_overhead: what the BPF programs cost a fork/exec-heavy tool call.

The same workloads run as tool calls (call.run) under an agentcgd with the
BPF programs loaded ("on") and under one with "bpf": false ("off"), and
with no daemon at all ("bare", run directly by this script), in
interleaved rounds. Each round starts the daemon of its mode, makes one
untimed warm-up call, runs the timed workloads and stops the daemon, so at
most one daemon (and, for "on", one set of attached programs) exists at a
time. Rounds alternate the order: on, off, bare / bare, off, on / ...

Workloads (wall times measured by the workload itself, build/bench/forkexec):
  forkexec  fork + execv(/bin/true) + waitpid, N times (default 20000)
  cbuild    `gcc -O2 -c` of userspace/common/*.c, one file after the other
            (a snapshot copied at start, so concurrent edits do not matter),
            --build-reps times per round

Usage: bench/bpf_overhead.py [--build DIR] [--rounds R] [-n N]
                             [--build-reps K] [--json FILE]
Needs root. See bench/README.md.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfbench as bb  # noqa: E402

MODES = ("on", "off", "bare")
WORKLOADS = ("forkexec", "cbuild")
INTENT = {"memory": "1G", "memory_max": "1G", "pids": 1024, "timeout": "10m"}
SESSION = "/t1/overhead"


def parse_wall(out):
    for tok in out.split():
        if tok.startswith("wall_us="):
            return int(tok.split("=", 1)[1])
    raise ValueError(f"no wall_us in workload output: {out!r}")


def run_bare(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"bare run failed ({p.returncode}): {p.stdout} {p.stderr}")
    return {"wall_us": parse_wall(p.stdout)}


def proc_cpu_ms(pid):
    """utime + stime of a process, ms (clock ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def run_call(client, argv, cwd, daemon_pid=None):
    d0 = proc_cpu_ms(daemon_pid) if daemon_pid else None
    res = client.call("call.run", {"path": SESSION, "argv": argv, "cwd": cwd, "intent": INTENT},
                      timeout=900)
    ex = res.get("exit", {})
    if ex.get("code") != 0:
        raise RuntimeError(f"call failed: exit {ex}, verdict {res['verdict'].get('summary')}, "
                           f"stderr {res.get('stderr', '')[:400]!r}")
    u = res.get("usage", {})
    return {"wall_us": parse_wall(res.get("stdout", "")), "call_wall_us": u.get("wall_us"),
            "daemon_cpu_ms": proc_cpu_ms(daemon_pid) - d0 if daemon_pid else None,
            "cpu_us": (u.get("cpu_user_us") or 0) + (u.get("cpu_system_us") or 0),
            "forks": u.get("forks"), "processes_total": res.get("processes_total")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bb.add_common_args(ap)
    ap.add_argument("--rounds", type=int, default=6, help="rounds per mode (default 6)")
    ap.add_argument("-n", type=int, default=20000, help="forkexec processes per run (default 20000)")
    ap.add_argument("--build-reps", type=int, default=3, help="cbuild runs per round (default 3)")
    ap.add_argument("--attr-n", type=int, default=5000,
                    help="processes of the attribution call (0: skip it; default 5000)")
    ap.add_argument("--json", help="write every sample and the summary to this file")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bpf_overhead: needs root (it starts agentcgd)")
    bb.install_cleanup()

    work = bb.make_workdir("agentcg-bpfbench-ovh-")
    bins = bb.Binaries(a.build, work, a.bench_bin)
    forkexec = bins.path("forkexec")
    # Snapshot of the sources the C build compiles.
    src = os.path.join(work, "src")
    os.makedirs(os.path.join(src, "userspace/common"))
    shutil.copytree(os.path.join(bb.REPO, "include"), os.path.join(src, "include"))
    files = sorted(glob.glob(os.path.join(bb.REPO, "userspace/common/*.c")))
    for f in files:
        shutil.copy2(f, os.path.join(src, "userspace/common"))
    obj = os.path.join(work, "obj")
    os.makedirs(obj)
    for d in (src, obj):
        os.chmod(d, 0o755)
    script = ("set -e; for f in userspace/common/*.c; do b=${f##*/}; "
              f"gcc -O2 -Iinclude -D_GNU_SOURCE -c \"$f\" -o {obj}/${{b%.c}}.o; done")
    argvs = {
        "forkexec": [forkexec, "-n", str(a.n), "/bin/true"],
        "cbuild": [forkexec, "-n", "1", "/bin/sh", "-c", script],
    }

    m = bb.machine()
    m["daemon"] = a.daemon_desc or f"agentcgd from {a.build}"
    print("== bpf_overhead: fork/exec-heavy tool calls with and without the BPF programs")
    bb.print_machine(m)
    print(f"workloads: forkexec = {a.n} x fork+execv(/bin/true)+waitpid; cbuild = gcc -O2 -c of "
          f"{len(files)} files (userspace/common/*.c), serially, x{a.build_reps} per round")
    print(f"rounds: {a.rounds} per mode, order alternating (on, off, bare / bare, off, on); "
          f"each daemon round: start agentcgd, 1 warm-up call, timed calls, SIGTERM")
    print(f"calls: call.run {SESSION} intent {json.dumps(INTENT)}")
    sys.stdout.flush()

    samples = {w: {mo: [] for mo in MODES} for w in WORKLOADS}
    daemon_bpf = []
    t_start = time.monotonic()
    try:
        # one untimed bare warm-up of both workloads (page cache, gcc)
        run_bare(argvs["forkexec"][:2] + ["1000", "/bin/true"], src)
        run_bare(argvs["cbuild"], src)
        for r in range(a.rounds):
            order = ["on", "off", "bare"] if r % 2 == 0 else ["bare", "off", "on"]
            for mode in order:
                d = None
                try:
                    if mode != "bare":
                        d = bb.Daemon(bins.agentcgd, a.config, mode == "on", f"{mode}{r}", work).start()
                        c = d.client()
                        c.call("call.run", {"path": SESSION, "argv": ["/bin/true"], "intent": INTENT})
                    for w in WORKLOADS:
                        reps = a.build_reps if w == "cbuild" else 1
                        for _ in range(reps):
                            s = run_bare(argvs[w], src) if mode == "bare" else run_call(c, argvs[w], src, d.proc.pid)
                            s["round"] = r
                            samples[w][mode].append(s)
                    if d:
                        info = c.call("daemon.info", {})
                        if mode == "on":
                            daemon_bpf.append(info.get("bpf", {}))
                        c.close()
                finally:
                    if d and d.stop():
                        raise RuntimeError("cgroups left behind")
            fe = {mo: samples["forkexec"][mo][-1]["wall_us"] / 1e3 for mo in MODES}
            bb.log(f"round {r + 1}/{a.rounds} ({', '.join(order)}): forkexec ms "
                   + " ".join(f"{mo}={fe[mo]:.0f}" for mo in MODES)
                   + f"  [{time.monotonic() - t_start:.0f} s]")
        attr = attribute(a, bins, work, src) if a.attr_n > 0 else None
    except KeyboardInterrupt:
        bb.log("bpf_overhead: interrupted")
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)

    summary = report(a, samples, daemon_bpf)
    if attr:
        summary["attribution"] = report_attr(a, attr, summary)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": m, "args": vars(a), "samples": samples, "daemon_bpf": daemon_bpf,
                       "summary": summary}, f, indent=1)
    return 0


STATS = "/proc/sys/kernel/bpf_stats_enabled"


def attribute(a, bins, work, src):
    """Where the time of the "on" mode goes: one forkexec call of
    --attr-n processes under a bpf daemon with kernel.bpf_stats_enabled=1
    (restored afterwards); run_cnt and run_time_ns of each of the daemon's
    programs before and after. Untimed: the stats cost time themselves."""
    try:
        with open(STATS) as f:
            old = f.read().strip()
    except OSError:
        bb.log("bpf_overhead: no kernel.bpf_stats_enabled, no attribution")
        return None
    d = bb.Daemon(bins.agentcgd, a.config, True, "attr", work).start()
    try:
        c = d.client()
        c.call("call.run", {"path": SESSION, "argv": ["/bin/true"], "intent": INTENT})
        with open(STATS, "w") as f:
            f.write("1")
        try:
            before = bb.bpf_prog_stats(d.proc.pid)
            irq0 = bb.irq_counts()
            s = run_call(c, [bins.path("forkexec"), "-n", str(a.attr_n), "/bin/true"], src)
            irq1 = bb.irq_counts()
            after = bb.bpf_prog_stats(d.proc.pid)
        finally:
            with open(STATS, "w") as f:
                f.write(old)
        c.close()
    finally:
        if d.stop():
            raise RuntimeError("cgroups left behind")
    if before is None or after is None:
        bb.log("bpf_overhead: no bpftool, no attribution")
        return None
    progs = []
    for pid_, p in sorted(after.items(), key=lambda kv: kv[1]["name"]):
        q = before.get(pid_, {"run_cnt": 0, "run_time_ns": 0})
        progs.append({"name": p["name"], "runs": p["run_cnt"] - q["run_cnt"],
                      "ns": p["run_time_ns"] - q["run_time_ns"]})
    # the same interrupt counts for the same call without a daemon
    irq2 = bb.irq_counts()
    run_bare([bins.path("forkexec"), "-n", str(a.attr_n), "/bin/true"], src)
    irq3 = bb.irq_counts()
    irqs = {k: {"on": irq1[k] - irq0[k], "bare": irq3[k] - irq2[k]} for k in irq1}
    return {"n": a.attr_n, "wall_us": s["wall_us"], "progs": progs, "irqs": irqs}


def report_attr(a, attr, summary):
    n = attr["n"]
    print()
    print(f"attribution: one forkexec call of {n} processes under a bpf daemon with "
          f"kernel.bpf_stats_enabled=1 (then restored); the daemon's programs:")
    print()
    print("| program | runs | runs per process | ns per run | us per process |")
    print("|---|---:|---:|---:|---:|")
    tot = 0
    for p in attr["progs"]:
        per = p["ns"] / n / 1e3
        tot += per
        print(f"| {p['name']} | {p['runs']} | {p['runs'] / n:.1f} | "
              f"{p['ns'] / p['runs'] if p['runs'] else 0:.0f} | {per:.2f} |")
    fe = summary["forkexec"]
    diff = (fe["on"]["median_ms"] - fe["off"]["median_ms"]) * 1e3 / a.n
    print(f"| total | | | | {tot:.2f} |")
    print()
    print(f"in the programs: {tot:.1f} us per fork+exec+exit of /bin/true; measured on - off: "
          f"{diff:.1f} us per process (medians), of {fe['off']['median_ms'] * 1e3 / a.n:.0f} us")
    print("interrupts per process during that call (all CPUs; bare = the same run without a "
          "daemon): " + ", ".join(f"{k} {v['on'] / n:.2f} (bare {v['bare'] / n:.2f})"
                                  for k, v in attr["irqs"].items())
          + "  [IWI = IRQ work: what a ring buffer wakeup raises]")
    attr["us_per_process_in_programs"] = tot
    attr["us_per_process_on_minus_off"] = diff
    return attr


def report(a, samples, daemon_bpf):
    summary = {}
    print()
    print("wall time of the workload as it measures itself (ms); n = runs")
    print()
    print("| workload | mode | n | median | p90 | min | max |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for w in WORKLOADS:
        summary[w] = {}
        for mo in MODES:
            xs = [s["wall_us"] / 1e3 for s in samples[w][mo]]
            summary[w][mo] = {"n": len(xs), "median_ms": bb.median(xs), "p90_ms": bb.pct(xs, 90),
                              "min_ms": min(xs), "max_ms": max(xs)}
            print(f"| {w} | {mo} | {len(xs)} | {bb.fmt(bb.median(xs))} | {bb.fmt(bb.pct(xs, 90))} | "
                  f"{bb.fmt(min(xs))} | {bb.fmt(max(xs))} |")
    print()
    print("ratios of the medians; 'paired' = median over rounds of that round's on/off ratio")
    print("(each round has one on and one off run of the same workload, minutes apart at most)")
    print()
    print("| workload | on/off | slowdown on vs off | paired on/off | off/bare | on/bare | target <= 2% |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for w in WORKLOADS:
        med = {mo: summary[w][mo]["median_ms"] for mo in MODES}
        ratio = med["on"] / med["off"]
        paired = []
        for r in range(a.rounds):
            on = [s["wall_us"] for s in samples[w]["on"] if s["round"] == r]
            off = [s["wall_us"] for s in samples[w]["off"] if s["round"] == r]
            if on and off:
                paired.append(bb.median(on) / bb.median(off))
        pr = bb.median(paired)
        slow = (ratio - 1) * 100
        verdict = "met" if slow <= 2.0 else "NOT met"
        summary[w].update({"ratio_on_off": ratio, "slowdown_pct": slow, "paired_ratio": pr,
                           "paired_ratios": paired, "off_bare": med["off"] / med["bare"],
                           "on_bare": med["on"] / med["bare"], "target_2pct": verdict})
        print(f"| {w} | {ratio:.4f} | {slow:+.2f}% | {pr:.4f} ({(pr - 1) * 100:+.2f}%) | "
              f"{med['off'] / med['bare']:.4f} | {med['on'] / med['bare']:.4f} | {verdict} |")
    print()
    print("per-round on/off ratios: " + "; ".join(
        f"{w}: " + " ".join(f"{x:.3f}" for x in summary[w]["paired_ratios"]) for w in WORKLOADS))
    # what the "on" daemon saw: processes tracked, ring buffer losses
    on = samples["forkexec"]["on"]
    procs = [s.get("processes_total") for s in on]
    cpu_on = bb.median([s["cpu_us"] / 1e3 for s in samples["forkexec"]["on"]])
    cpu_off = bb.median([s["cpu_us"] / 1e3 for s in samples["forkexec"]["off"]])
    lost = sum(b.get("lost_records", 0) for b in daemon_bpf)
    recs = sum(b.get("records", 0) for b in daemon_bpf)
    print(f"forkexec calls with bpf on: processes_total per call {procs} (forks counted {[s.get('forks') for s in on]}); "
          f"ring buffer records {recs}, lost {lost} over all 'on' daemons")
    dcpu = {mo: bb.median([s["daemon_cpu_ms"] for s in samples["forkexec"][mo]]) for mo in ("on", "off")}
    print(f"forkexec call CPU (cgroup user+system, median ms): on {cpu_on:.0f}, off {cpu_off:.0f}; "
          f"the daemon's own CPU during the call (median ms): on {dcpu['on']:.0f}, off {dcpu['off']:.0f}")
    summary["forkexec_call_cpu_ms"] = {"on": cpu_on, "off": cpu_off}
    summary["forkexec_daemon_cpu_ms"] = dcpu
    summary["bpf_records"] = recs
    summary["bpf_lost_records"] = lost
    return summary


if __name__ == "__main__":
    sys.exit(main())
