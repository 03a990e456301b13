#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""replay: N real agent traces at once on a memory budget below the sum of
their peaks, under three ways of running them, side by side in one run.

Each trace of ../shared/traces (one JSON per agent run: samples [t_s,
mem_mb, cpu_pct], calls [t_start, t_end, tool, bash_command]) becomes one
replayed agent:

- its framework baseline (the trace's 10th-percentile mem_mb, scaled) is
  held for the whole run by a stateful Python interpreter: session
  /replay/<agent>-py (lang python), one session.exec cell that allocates and
  touches a bytearray and keeps it in a global;
- each Bash call is one call.run in session /replay/<agent>-sh (a session
  with an interpreter takes no call.run): build/bench/tracealloc following
  the trace's mem_mb minus the baseline over the call's window, time
  compressed by --speed and scaled by --mem-scale, labelled with the
  command's first word (intent {"label": ...}, no memory declared);
- calls run one after the other; the trace's gap between two Bash calls
  (think time and the non-Bash tools), compressed, is slept after the
  previous call *ended*, so a slowdown pushes everything after it.

Passes, each with its own fresh agentcgd and config (tenant "replay"):
  alone  every trace by itself, one after the other, tenant budget "max":
         the per-call and per-trace baseline durations
  a      one shared budget B, no per-call limits, containment and adaptive
         off: the kernel OOM killer decides
  b      static per-agent limits (container style): the -sh session of each
         agent gets memory_max B/N minus the agent's baseline (the -py
         session holds the baseline), containment and adaptive off
  c      agentcg: "containment" and "adaptive" on, priorities passed
  c0     (not in the default --modes) c with adaptive off: containment only
In a, b, c the tenant's budget is B and the top-level "memory_budget" is B
(that key and "containment"/"adaptive" are left out when the daemon does
not know them yet: then c is skipped and a, b run without them).

Usage: bench/replay.py [--traces N] [--speed X] [--mem-scale S]
         [--budget SIZE | --budget-frac F] [--modes a,b,c] [--seed S]
         [--select top|random] [--priorities H,N,L] [--json FILE]
         [--plot FILE.png]
Needs root. See bench/README.md ("replay").
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfbench as bb  # noqa: E402
import replay_plot as rp  # noqa: E402

REPO = bb.REPO
TENANT = "replay"
MIB = 1 << 20
PRIOS = ("high", "normal", "low")
PAPER_TRACES = ("all_images_haiku__dask__dask-11628__attempt_1,"
                "all_images_haiku__sigmavirus24__github3.py-673__attempt_1,"
                "all_images_haiku__sigmavirus24__github3.py-673__attempt_1")
NEW_KEYS = ("memory_budget", "containment", "adaptive")

# The passes run on the shared budget. contain/adapt: the daemon's
# containment and adaptive intents; prio: priorities passed; freeze: the
# containment.freeze asked for (None: the daemon's default, "auto");
# retry: repeatable calls declare retry; oomd: (PSI line, threshold,
# seconds) of the userspace killer run beside the daemon.
MODES = {
    "a": dict(contain=False, adapt=False, prio=False,
              note="tenant B; no call limits; containment, adaptive off"),
    "b": dict(contain=False, adapt=False, prio=False,
              note="tenant B; each -sh session B/N - baseline; containment, adaptive off"),
    "c": dict(contain=True, adapt=True, prio=True,
              note="tenant B; containment (freeze auto), adaptive on; priorities passed"),
    "c0": dict(contain=True, adapt=False, prio=True,
               note="tenant B; containment on, adaptive off; priorities passed"),
    "cf": dict(contain=True, adapt=True, prio=True, freeze=True,
               note="tenant B; containment with freeze forced (the ladder of 2026-11), "
                    "adaptive on; priorities passed"),
    "cn": dict(contain=True, adapt=True, prio=True, extra={"forecast": False},
               note="c without the forecast hold (a call is held by the band only)"),
    "cw": dict(contain=True, adapt=True, prio=True,
               extra={"classes": {"low": {"cpu_weight": 10, "oom_score_adj": 650},
                                  "normal": {"cpu_weight": 100, "oom_score_adj": 600},
                                  "high": {"cpu_weight": 10000, "oom_score_adj": 100,
                                           "protect": True}}},
               note="c with CPU weights 10000/100/10 (high/normal/low) instead of 400/100/25"),
    "cp": dict(contain=True, adapt=True, prio=True, hint="p95",
               note="c, and every Bash call declares memory_hint: its label's p95 peak in "
                    "the other tasks' traces (leave-one-out history)"),
    "ch": dict(contain=True, adapt=True, prio=True, hint="class",
               note="c, and every Bash call declares memory_hint low/medium/high (the "
                    "daemon's memory_hints: 64M/256M/1G), the class of that same p95"),
    "cs": dict(contain=True, adapt=True, prio=True,
               extra={"classes": {"low": {"cpu_weight": 25, "oom_score_adj": 1000},
                                  "normal": {"cpu_weight": 100, "oom_score_adj": 950},
                                  "high": {"cpu_weight": 400, "oom_score_adj": 450,
                                           "protect": True}},
                      "interpreter_oom_score_offset": -450},
               note="c with class scores 1000/950/450 (low/normal/high), interpreters 0: "
                    "an interpreter goes after a high call unless 0.45 B larger"),
    "cnh": dict(contain=True, adapt=True, prio=True, extra={"forecast_high": False},
                note="c without the high forecast (a high call never waits, as before 2026-12-05 "
                     "evening)"),
    "cr": dict(contain=True, adapt=True, prio=True, retry=True,
               note="c, and repeatable calls (pytest, grep, git, ...) declare retry: 1"),
    "d60": dict(contain=False, adapt=False, prio=False, oomd=("full", 0.60, 30.0),
                note="a + a userspace killer as systemd-oomd's defaults: PSI full avg10 "
                     ">= 60% for 30 s kills the largest cgroup"),
    "d10": dict(contain=False, adapt=False, prio=False, oomd=("some", 0.10, 1.0),
                note="a + a fast userspace killer: PSI some over 1 s >= 10% for 1 s "
                     "kills the largest cgroup"),
}
# The memory_hint classes of pass ch, as the daemon's defaults.memory_hints
# (MiB): an agent's low/medium/high, sized for these traces' calls.
HINT_CLASSES = (("low", 64), ("medium", 256), ("high", 1024))
# --containment: more containment keys for the passes that run it
CONTAIN_EXTRA = {}
# Labels of commands an agent may simply run again (read-only or
# idempotent): they declare retry in pass cr.
REPEATABLE = {"pytest", "tox", "nox", "grep", "rg", "find", "ls", "cat", "head", "tail", "wc",
              "git", "make", "pip", "diff", "sed", "awk"}


def log(*a):
    bb.log("replay:", *a)


# ------------------------------------------------------------------ sizes

def parse_size(s):
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGTkmgt]?)i?[Bb]?\s*", str(s))
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {s!r} (bytes or K/M/G/T)")
    mult = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[m.group(2).upper()]
    return int(float(m.group(1)) * mult)


def hsize(b):
    if b is None:
        return "-"
    for unit, div in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if abs(b) >= div:
            return f"{b / div:.2f}{unit}" if unit == "G" else f"{b / div:.0f}{unit}"
    return f"{b}B"


# ------------------------------------------------------------------ traces

_SKIP_CMDS = {"cd", "source", ".", "export", "set", "unset", "env", "timeout", "nohup", "time",
              "sudo", "echo", "true", "mkdir", "rm", "for", "do", "then", "if"}


def label_of(cmd):
    """The command's first significant word: `cd /x && python -m pytest -q`
    is "pytest", `/tmp/venv/bin/python3 t.py` is "python", `pip3` is "pip"."""
    for seg in re.split(r"&&|\|\||;|\||\n", cmd):
        toks = seg.strip().split()
        while toks and ("=" in toks[0] and not toks[0].startswith("=")):
            toks = toks[1:]                       # VAR=value prefixes
        while toks and toks[0] in ("timeout", "nohup", "time", "env", "sudo"):
            toks = toks[1:]
            while toks and (re.fullmatch(r"[0-9.]+[smh]?", toks[0]) or toks[0].startswith("-")
                            or "=" in toks[0]):
                toks = toks[1:]
        if not toks or toks[0] in _SKIP_CMDS:
            continue
        word = os.path.basename(toks[0].strip("\"'()"))
        if re.fullmatch(r"python[0-9.]*", word):
            if len(toks) > 2 and toks[1] == "-m":
                word = toks[2]
            else:
                word = "python"
        elif re.fullmatch(r"pip[0-9.]*", word):
            word = "pip"
        word = re.sub(r"[^A-Za-z0-9_.-]", "_", word).lstrip(".")[:32]
        if word:
            return word
    return "bash"


def interp(samples, t):
    """mem_mb at time t, linear between samples."""
    if t <= samples[0][0]:
        return samples[0][1]
    lo, hi = 0, len(samples) - 1
    if t >= samples[hi][0]:
        return samples[hi][1]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if samples[mid][0] <= t:
            lo = mid
        else:
            hi = mid
    (t0, m0), (t1, m1) = samples[lo][:2], samples[hi][:2]
    return m0 if t1 <= t0 else m0 + (m1 - m0) * (t - t0) / (t1 - t0)


def mb_to_mib(mb, scale):
    return mb * 1e6 * scale / MIB


class Trace:
    """One trace, reduced to what the replay needs (times in real seconds of
    the trace; the replay divides by --speed)."""

    def __init__(self, path, baseline_mb=None):
        with open(path) as f:
            d = json.load(f)
        self.path = path
        self.name = os.path.basename(path)[:-5]
        self.task = d.get("task", self.name)
        self.samples = [(float(s[0]), float(s[1])) for s in d["samples"]]
        mem = sorted(m for _, m in self.samples)
        # the 10th percentile, held by the interpreter, the calls following
        # what is above it; or (--baseline-mb, as the AgentCgroup paper) a
        # baseline the interpreter holds on top of the whole trace, the
        # calls following all of mem_mb
        self.baseline_mb = mem[len(mem) // 10] if baseline_mb is None else float(baseline_mb)
        above = self.baseline_mb if baseline_mb is None else 0.0
        self.duration = self.samples[-1][0]
        self.calls = []                                  # Bash calls only
        for c in d["calls"]:
            a, b, tool, cmd = float(c[0]), float(c[1]), c[2], c[3] or ""
            if tool != "Bash":
                continue
            b = max(a, b)
            pts = [(a, interp(self.samples, a))]
            pts += [(t, m) for t, m in self.samples if a < t < b]
            pts.append((b, interp(self.samples, b)))
            excess = [(t, max(0.0, m - above)) for t, m in pts]
            self.calls.append({"start": a, "end": b, "label": label_of(cmd), "cmd": cmd[:80],
                               "excess": excess,
                               "peak_mb": max(m for _, m in excess)})
        self.calls.sort(key=lambda c: c["start"])
        self.bash_peak_mb = max((c["peak_mb"] for c in self.calls), default=0.0)
        self.peak_mb = self.baseline_mb + self.bash_peak_mb

    def plan(self, speed, scale):
        """The replay plan: per call the compressed gap before it (after the
        previous call's end), its tracealloc points (ms, MiB); and the tail."""
        out, prev_end = [], 0.0
        for i, c in enumerate(self.calls):
            gap = max(0.0, c["start"] - prev_end) / speed
            pts, last = [], None
            for t, m in c["excess"]:
                p = (round((t - c["start"]) / speed * 1000, 1), round(mb_to_mib(m, scale), 1))
                if last is not None and p[0] < last[0]:
                    p = (last[0], p[1])
                if p != last:
                    pts.append(p)
                last = p
            if len(pts) == 1:
                pts.append((pts[0][0], pts[0][1]))
            out.append({"idx": i, "label": c["label"], "gap_s": gap, "points": pts,
                        "window_s": (c["end"] - c["start"]) / speed,
                        "peak_mib": max(m for _, m in pts)})
            prev_end = max(prev_end, c["end"])
        tail = max(0.0, self.duration - prev_end) / speed
        return out, tail


def select_traces(tdir, n, how, seed, min_peak_mb, min_calls, baseline_mb=None, pool="all"):
    import random
    ts = []
    files = sorted(glob.glob(os.path.join(tdir, "*.json")))
    if pool != "all":   # two disjoint halves: every other file, by name
        files = files[0::2] if pool == "even" else files[1::2]
    for p in files:
        try:
            t = Trace(p, baseline_mb)
        except (OSError, ValueError, KeyError, IndexError) as e:
            log(f"skipping {p}: {e}")
            continue
        if len(t.calls) >= min_calls and t.bash_peak_mb >= min_peak_mb:
            ts.append(t)
    if len(ts) < n:
        sys.exit(f"replay: only {len(ts)} traces in {tdir} have >= {min_calls} Bash calls and a "
                 f"Bash-call peak >= {min_peak_mb} MB over their baseline; asked for {n}")
    if how == "top":
        ts.sort(key=lambda t: (-t.bash_peak_mb, t.name))
        chosen = ts[:n]
    else:
        ts.sort(key=lambda t: t.name)
        chosen = random.Random(seed).sample(ts, n)
    chosen.sort(key=lambda t: (-t.bash_peak_mb, t.name))
    return chosen, len(ts)


def label_history(tdir, baseline_mb, scale):
    """Every Bash call's peak (MiB over its baseline, as the replay runs it)
    in every trace of tdir, by label: {label: [(task, peak MiB)]}."""
    hist = {}
    for p in sorted(glob.glob(os.path.join(tdir, "*.json"))):
        try:
            t = Trace(p, baseline_mb)
        except (OSError, ValueError, KeyError, IndexError):
            continue
        for c in t.calls:
            hist.setdefault(c["label"], []).append((t.task, mb_to_mib(c["peak_mb"], scale)))
    return hist


def set_hints(agents, hist, min_n=3):
    """What each call could declare before it runs: its label's p95 peak over
    the calls of *other tasks* (leave-one-out: an agent never knows the run
    it is in, nor another run of the same task), and the hint class that
    covers it. Labels seen fewer than min_n times elsewhere get no hint.
    Returns (calls hinted, calls, calls whose peak the p95 hint covers)."""
    hinted = total = covered = 0
    for ag in agents:
        ag.hints = {}
        for c in ag.plan:
            total += 1
            xs = sorted(pk for task, pk in hist.get(c["label"], ()) if task != ag.trace.task)
            if len(xs) < min_n:
                continue
            p95 = max(1.0, xs[max(0, -(-len(xs) * 95 // 100) - 1)])
            cls = next((n for n, mib in HINT_CLASSES if p95 <= mib), HINT_CLASSES[-1][0])
            ag.hints[c["idx"]] = (int(p95 * MIB), cls)
            hinted += 1
            covered += c["peak_mib"] <= p95
    return hinted, total, covered


def assign_priorities(n, counts):
    """Spread the classes over the traces sorted by peak (largest first), so
    each class gets big and small ones: 2/4/2 of 8 is N H L N N H L N.
    Counts that do not add up to n are scaled to it."""
    h, nn, lo = counts
    tot = h + nn + lo
    if tot != n and tot > 0:
        h, lo = int(h * n / tot + 0.5), int(lo * n / tot + 0.5)
        h, lo = min(h, n), min(lo, n - min(h, n))
        nn = n - h - lo
    want = {"high": h, "normal": nn, "low": lo}
    got = {k: 0 for k in want}
    out = []
    for i in range(n):
        # the class furthest behind its share so far (ties: high, normal, low)
        best = max((k for k in PRIOS if got[k] < want[k]),
                   key=lambda k: (want[k] * (i + 1) / n - got[k], -PRIOS.index(k)))
        got[best] += 1
        out.append(best)
    return out


def nominal_overlay(agents, step=0.01):
    """What the agents would hold together if none were slowed: the sum of
    baselines and call curves on the alone schedule (bytes over time).
    Returns (peak bytes, list of values every `step` s)."""
    tl = []
    for ag in agents:
        segs, now = [], 0.0
        for c in ag.plan:
            now += c["gap_s"]
            segs.append((now, now + c["points"][-1][0] / 1000, c["points"]))
            now += c["window_s"]
        tl.append((ag.baseline_bytes, segs, now))
    end = max((x[2] for x in tl), default=0.0)
    vals = []
    idx = [0] * len(tl)
    for i in range(int(end / step) + 1):
        t = i * step
        total = 0.0
        for k, (base, segs, _) in enumerate(tl):
            total += base
            while idx[k] < len(segs) and segs[idx[k]][1] < t:
                idx[k] += 1
            if idx[k] < len(segs) and segs[idx[k]][0] <= t:
                st, _, pts = segs[idx[k]]
                rel = (t - st) * 1000
                for j in range(1, len(pts)):
                    if pts[j][0] >= rel:
                        (t0, m0), (t1, m1) = pts[j - 1], pts[j]
                        v = m0 if t1 <= t0 else m0 + (m1 - m0) * (rel - t0) / (t1 - t0)
                        total += v * MIB
                        break
        vals.append(total)
    return max(vals, default=0.0), vals


def above(vals, limit, step=0.01):
    """(seconds above limit, number of episodes) of an overlay."""
    t, ep, prev = 0.0, 0, False
    for v in vals:
        cur = v > limit
        if cur:
            t += step
            if not prev:
                ep += 1
        prev = cur
    return t, ep


# ------------------------------------------------------------------ daemon

def make_config(tenant_budget, new_keys, containment, adaptive, memory_budget, freeze=None,
                extra=None, hints=False):
    cfg = {
        "socket_mode": "0600",
        "output_limit": "64K",
        "call_pool": 2,
        "bpf": True,
        "interpreters": {"python": "python3", "bash": "bash",
                         "pool": {"python": 0, "bash": 0}},
        "defaults": {"memory": 0, "memory_max_factor": 1.5, "cpu": 0, "pids": 1024,
                     "timeout": "10m", "priority": "normal", "on_exceed": "kill"},
        "session_budget": {"memory_max": "max", "cpu": 0, "pids": 1024},
        "tenants_on_demand": False,
        "tenants": {TENANT: {"memory_max": tenant_budget if tenant_budget else "max",
                             "cpu": 0, "pids": 8192}},
    }
    if new_keys:
        if memory_budget:
            cfg["memory_budget"] = memory_budget
        cfg["containment"] = {"enabled": bool(containment)}
        if containment and freeze is not None:
            cfg["containment"]["freeze"] = freeze
        if containment and CONTAIN_EXTRA:
            cfg["containment"].update(CONTAIN_EXTRA)
        if containment and extra:
            cfg["containment"].update(extra)
        cfg["adaptive"] = {"enabled": bool(adaptive)}
        if hints:
            cfg["defaults"]["memory_hints"] = {n: f"{mib}M" for n, mib in HINT_CLASSES}
    return cfg


class ReplayDaemon(bb.Daemon):
    """bpfbench's throw-away daemon (start, SIGTERM stop by pid, leftover
    check) with this bench's config, root and socket."""

    def __init__(self, agentcgd, cfg, tag, workdir):
        # bpf False: use BPF when it loads, do not insist
        self.setup(agentcgd, cfg, False, tag, workdir, "replay")
        self.cfg = cfg
        self.cfg_text = json.dumps(cfg)
        self.children_seen = set()

    def note_children(self):
        """Remember the daemon's child processes (interpreters, calls, stubs)
        so that after the stop we can check that none is left."""
        if not self.proc:
            return
        pid = self.proc.pid
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    for c in f.read().split():
                        self.children_seen.add((int(c), _starttime(int(c))))
        except OSError:
            pass


def _starttime(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def alive_of(pairs):
    """Those (pid, starttime) still running as the same process."""
    out = []
    for pid, st in pairs:
        if st is not None and _starttime(pid) == st:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                out.append(pid)
    return out


def start_daemon(agentcgd, cfg, tag, workdir):
    """Start a daemon; (daemon, None) or (None, 'unknown key ...') when the
    daemon refuses one of the new keys."""
    d = ReplayDaemon(agentcgd, cfg, tag, workdir)
    try:
        d.start()
        return d, None
    except RuntimeError as e:
        msg = str(e)
        if "unknown key" in msg:
            line = next((l for l in msg.splitlines() if "unknown key" in l), msg)
            return None, line.strip()
        raise


# ------------------------------------------------------------------ agents

class Abort(Exception):
    pass


def classify(res, aborted=False):
    """(category, detail) of one call.run result:
    ok          exited 0, not stopped (an exceeded intent only reported is ok)
    failed      a non-zero exit with no kill
    killed_own  the OOM killer at the call's own or its session's limit
    killed_pressure  the OOM killer at the tenant budget, the root's
                memory_budget or the host
    stopped     stopped by the daemon (containment's kill, a timeout, ...)
                or killed by a signal nothing else explains
    frozen      still frozen at the end
    deadline    stopped by this bench: the pass's deadline or stall (stuck)"""
    v = res.get("verdict") or {}
    ex = res.get("exit") or {}
    if aborted and v.get("stopped_by") in ("operator", "disconnect", "shutdown", "client"):
        return "deadline", f"stopped_by={v.get('stopped_by')}"
    if ex.get("code") == 0 and "signal" not in ex and not v.get("stopped_by"):
        rep = [f.get("resource") for f in v.get("exceeded") or []]
        return "ok", ("reported: " + ",".join(rep)) if rep else ""
    oom = v.get("oom")
    if oom:
        lim = oom.get("limit") or {}
        lvl = lim.get("level", "call")
        own = lvl in ("call", "session")
        peak = (res.get("usage") or {}).get("memory_peak") or 0
        try:
            lb = int(lim.get("bytes"))
        except (TypeError, ValueError):
            lb = 0
        if own and lb and peak < 0.9 * lb:
            # the daemon names the call's own limit but the call was well
            # below it: an ancestor's limit (tenant, memory_budget) was hit
            return "killed_pressure", f"oom@{lvl}, peak {hsize(peak)} < limit {hsize(lb)}"
        return ("killed_own" if own else "killed_pressure"), f"oom@{lvl}"
    if v.get("stopped_by"):
        return "stopped", f"stopped_by={v.get('stopped_by')}"
    killed = [f for f in v.get("exceeded") or [] if f.get("action") == "killed"]
    for f in killed:
        r = f.get("resource")
        if r == "memory_max":
            lim = f.get("limit")
            own = lim not in (None, "max")
            return ("killed_own" if own else "killed_pressure"), "memory_max"
        if r in ("memory", "timeout", "cpu_time", "forks", "pids"):
            return "killed_own", r
        return "stopped", str(r)
    if v.get("frozen") or any(f.get("action") == "frozen" for f in v.get("exceeded") or []):
        return "frozen", "frozen"
    if "signal" in ex:
        return "stopped", f"signal {ex.get('signal_name') or ex.get('signal')}"
    return "failed", f"exit {ex.get('code')}"


class Agent:
    def __init__(self, i, trace, prio, plan, tail, baseline_bytes):
        self.i = i
        self.trace = trace
        self.prio = prio
        self.plan = plan
        self.tail = tail
        self.baseline_bytes = baseline_bytes
        self.hints = {}   # call idx -> (p95 bytes, class): what the agent could declare
        self.name = f"a{i}"
        self.py = f"/{TENANT}/{self.name}-py"
        self.sh = f"/{TENANT}/{self.name}-sh"


class Progress:
    """What each agent is doing ("call" or "idle"), and when anything last
    changed: a pass in which every unfinished agent has been inside a call
    for `stall_s` with nothing finishing anywhere is stuck."""

    def __init__(self):
        self.lock = threading.Lock()
        self.state = {}
        self.last = time.monotonic()

    def set(self, name, what):
        with self.lock:
            self.state[name] = what
            self.last = time.monotonic()

    def stuck_for(self):
        with self.lock:
            live = [w for w in self.state.values() if w != "done"]
            if not live or any(w != "call" for w in live):
                return 0.0
            return time.monotonic() - self.last


def run_agent(d, ag, mode, tracealloc, barrier, abort, out, sh_budget, prog=None):
    """One replayed agent: sessions, baseline cell, the calls, the final
    interpreter check. Fills out (a dict) as it goes."""
    prog = prog or Progress()
    prog.set(ag.name, "idle")
    out.update({"agent": ag.name, "trace": ag.trace.name, "priority": ag.prio, "calls": [],
                "interpreter": "unknown", "error": None})
    c = None
    try:
        c = d.client()
        c.sock.settimeout(None)
        mo = MODES.get(mode, {})
        pr = {"priority": ag.prio} if mo.get("prio") else {}
        c.call("session.create", dict({"path": ag.py, "lang": "python"}, **pr), timeout=60)
        sp = dict({"path": ag.sh}, **pr)
        if sh_budget:
            sp["budget"] = {"memory_max": int(sh_budget)}
        c.call("session.create", sp, timeout=60)
        n = int(ag.baseline_bytes)
        code = (f"b = bytearray({n})\n"
                "b[::4096] = b'\\x01' * len(range(0, len(b), 4096))\n"
                "len(b)")
        r = c.call("session.exec", {"path": ag.py, "code": code, "intent": {"label": "baseline"}},
                   timeout=120)
        if not r.get("ok") or r.get("value") != n:
            raise RuntimeError(f"baseline cell: {json.dumps(r)[:400]}")
        out["baseline_peak"] = (r.get("usage") or {}).get("memory_peak")
        if barrier is not None:
            barrier.wait(timeout=300)
        t0 = time.monotonic()
        out["t0"] = t0
        prev_end = t0
        for call in ag.plan:
            if abort.is_set():
                raise Abort()
            wake = prev_end + call["gap_s"]
            while True:
                left = wake - time.monotonic()
                if left <= 0:
                    break
                if abort.wait(min(left, 0.5)):
                    raise Abort()
            argv = [tracealloc, "--name", call["label"]] + [f"{t:g}:{m:g}" for t, m in
                                                           call["points"]]
            intent = {"label": call["label"]}
            if mo.get("prio"):
                intent["priority"] = ag.prio
            if mo.get("retry") and call["label"] in REPEATABLE:
                intent["retry"] = 1
            hint = ag.hints.get(call["idx"]) if mo.get("hint") else None
            if hint:
                intent["memory_hint"] = hint[0] if mo["hint"] == "p95" else hint[1]
            rec = {"idx": call["idx"], "label": call["label"], "peak_mib": call["peak_mib"],
                   "memory_hint": intent.get("memory_hint"),
                   "window_s": call["window_s"], "start_s": time.monotonic() - t0}
            ts = time.monotonic()
            started = []
            prog.set(ag.name, "call")
            try:
                # wait: queue for admission instead of being refused (only
                # calls with a memory reservation can be: adaptive intents)
                rid = c.send("call.run", {"path": ag.sh, "argv": argv, "intent": intent,
                                          "wait": True, "wait_timeout": "5m"})
                res = c.wait_reply(rid, None, on_note=lambda m: started.append(time.monotonic())
                                   if m.get("method") == "call.started" else None)
                te = time.monotonic()
                rec["queued_s"] = (started[0] - ts) if started else None
                rec["started"] = bool(started)
                cat, detail = classify(res, abort.is_set())
                u = res.get("usage") or {}
                rec.update({"wall_s": te - ts, "daemon_wall_s": (u.get("wall_us") or 0) / 1e6,
                            "category": cat, "detail": detail,
                            "status": (res.get("verdict") or {}).get("status"),
                            "summary": (res.get("verdict") or {}).get("summary", "")[:300],
                            "memory_peak": u.get("memory_peak"),
                            "containment": (res.get("verdict") or {}).get("containment"),
                            "retry": (res.get("verdict") or {}).get("retry"),
                            "admission": (res.get("verdict") or {}).get("admission"),
                            "oom": (res.get("verdict") or {}).get("oom"),
                            "stopped_by": (res.get("verdict") or {}).get("stopped_by"),
                            "intent": res.get("intent"),
                            "assumed": (res.get("intent") or {}).get("assumed"),
                            "limits": res.get("limits")})
                try:
                    ta = json.loads((res.get("stdout") or "").strip().splitlines()[-1])
                    rec["stall_ms"] = ta.get("stall_ms")
                    rec["alloc_hist"] = ta.get("alloc_hist")
                except (ValueError, IndexError):
                    pass
            except bb.RpcError as e:
                te = time.monotonic()
                rec.update({"wall_s": te - ts,
                            "category": "deadline" if abort.is_set() else "refused",
                            "detail": f"rpc {e.err.get('code')}",
                            "summary": str(e)[:300]})
            prev_end = te
            out["calls"].append(rec)
            prog.set(ag.name, "idle")
        # the rest of the trace: think time after the last Bash call
        wake = prev_end + ag.tail
        while time.monotonic() < wake:
            if abort.wait(min(wake - time.monotonic(), 0.5)):
                raise Abort()
        out["makespan_s"] = time.monotonic() - t0
        out["calls_done_s"] = prev_end - t0
        # did the interpreter (and its baseline) survive?
        try:
            r = c.call("session.exec", {"path": ag.py, "code": "len(b)",
                                        "intent": {"label": "check"}}, timeout=120)
            died = (r.get("session") or {}).get("interpreter") == "died"
            out["interpreter"] = "died" if died or r.get("value") != n else "alive"
            if r.get("value") != n and not died:
                out["interpreter_detail"] = json.dumps(r)[:300]
        except bb.RpcError as e:
            out["interpreter"] = "died" if e.err.get("code") == -32009 else "error"
            out["interpreter_detail"] = str(e)[:300]
    except Abort:
        out["error"] = f"aborted ({abort.why})" if getattr(abort, "why", None) else "aborted"
    except Exception as e:  # recorded; the pass goes on with the others
        out["error"] = f"{type(e).__name__}: {e}"[:500]
        if barrier is not None:
            barrier.abort()
    finally:
        prog.set(ag.name, "done")
        if c is not None:
            for p in (ag.sh, ag.py):
                try:
                    c.call("session.close", {"path": p}, timeout=30)
                except Exception:
                    pass
            c.close()


class Monitor(threading.Thread):
    """Samples the tenant's memory.current every `period` s (cg.stat), and
    with `agents` in the same tick each agent's two sessions (-py, -sh),
    read from their cgroup files (memory.current; v1 usage_in_bytes): the
    figure's stacked shares (--plot, replay_plot.py)."""

    def __init__(self, d, period=0.2, agents=None):
        super().__init__(daemon=True)
        self.d = d
        self.period = period
        self.stop_ev = threading.Event()
        self.samples = []
        self.t0 = time.monotonic()
        self.agents = agents or []
        self.columns = ["t"] + [f"{ag.name}-{k}" for ag in self.agents for k in ("py", "sh")]
        self.rows = []
        self.memdir, self.memfile = None, None

    def _session_mib(self, sess):
        if self.memdir is None:
            root = self.d.root_of("memory")
            if not root:
                return 0.0
            self.memdir = os.path.join(root, TENANT)
            self.memfile = ("memory.current" if os.path.exists(os.path.join(root, "memory.current"))
                            else "memory.usage_in_bytes")
        try:
            with open(os.path.join(self.memdir, sess, self.memfile)) as f:
                return round(int(f.read()) / MIB, 1)
        except (OSError, ValueError):
            return 0.0          # not created yet, or closed

    def agent_memory(self):
        """The per-agent samples for the JSON, at most rp.MAX_POINTS rows
        (peaks kept)."""
        return {"columns": self.columns, "unit": "MiB", "period_s": self.period,
                "samples": len(self.rows), "rows": rp.decimate(self.rows)}

    def run(self):
        try:
            c = self.d.client()
        except OSError:
            return
        try:
            while not self.stop_ev.is_set():
                try:
                    st = c.call("cg.stat", {"path": f"/{TENANT}"}, timeout=10)
                    cur = int((st.get("usage") or {}).get("memory.current") or 0)
                    self.samples.append((round(time.monotonic() - self.t0, 2), cur))
                except Exception:
                    pass
                if self.agents:
                    row = [round(time.monotonic() - self.t0, 2)]
                    for ag in self.agents:
                        row += [self._session_mib(f"{ag.name}-py"),
                                self._session_mib(f"{ag.name}-sh")]
                    self.rows.append(row)
                self.d.note_children()
                self.stop_ev.wait(self.period)
        finally:
            c.close()


class OomdKiller(threading.Thread):
    """Pass d: a userspace killer modelled on systemd-oomd and oomd, beside
    a daemon configured as in pass a. Every `period` s it reads the
    tenant cgroup's memory.pressure: with line "full" it takes avg10, as
    systemd-oomd does (ManagedOOMMemoryPressureLimit); with "some" the
    share of stalled time over the last second, from the total= counter
    (oomd's fast pressure rule). When that stays at or above `limit` for
    `duration` s without a break, it kills the largest cgroup under the
    tenant that holds processes (memory.current / v1 usage_in_bytes; a
    session's interpreter is a candidate like any call: systemd-oomd kills
    whole units), with cgroup.kill (else SIGKILL to each pid), waits 15 s
    (systemd-oomd's delay after an action) and counts the duration again."""

    def __init__(self, d, line, limit, duration, period=0.1, cooldown=15.0):
        super().__init__(daemon=True)
        info = d.info or {}
        roots = d.roots or []
        hybrid = info.get("backend") == "hybrid" and len(roots) > 1
        self.unified = os.path.join(roots[0], TENANT)
        self.memdir = os.path.join(roots[1] if hybrid else roots[0], TENANT)
        self.memfile = "memory.usage_in_bytes" if hybrid else "memory.current"
        self.line, self.limit, self.duration, self.period = line, limit, duration, period
        self.cooldown = cooldown  # systemd-oomd waits 15 s after acting (POST_ACTION_DELAY)
        self.stop_ev = threading.Event()
        self.kills = []       # (t, relative cgroup path, bytes, pressure)
        self.samples = []     # (t, total_us) of the chosen line
        self.t0 = time.monotonic()
        self.max_pressure = 0.0

    def pressure(self):
        try:
            with open(os.path.join(self.unified, "memory.pressure")) as f:
                for ln in f:
                    if ln.startswith(self.line + " "):
                        kv = dict(x.split("=") for x in ln.split()[1:])
                        return float(kv["avg10"]) / 100, int(kv["total"])
        except (OSError, ValueError, KeyError):
            pass
        return None, None

    def biggest(self):
        best, best_b = None, -1
        for dirpath, dirnames, filenames in os.walk(self.memdir):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    if not f.read().strip():
                        continue
                with open(os.path.join(dirpath, self.memfile)) as f:
                    b = int(f.read())
            except (OSError, ValueError):
                continue
            if b > best_b:
                best, best_b = os.path.relpath(dirpath, self.memdir), b
        return best, best_b

    def kill(self, rel):
        u = os.path.join(self.unified, rel)
        try:
            with open(os.path.join(u, "cgroup.kill"), "w") as f:
                f.write("1")
            return
        except OSError:
            pass
        for base in (u, os.path.join(self.memdir, rel)):
            try:
                with open(os.path.join(base, "cgroup.procs")) as f:
                    for pid in f.read().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except (ProcessLookupError, ValueError):
                            pass
            except OSError:
                pass

    def run(self):
        above_since = None
        quiet_until = 0.0
        while not self.stop_ev.wait(self.period):
            now = time.monotonic()
            if now < quiet_until:
                continue
            avg10, total = self.pressure()
            if total is None:
                continue
            self.samples.append((now, total))
            if self.line == "full":
                p = avg10
            else:
                old = [x for x in self.samples if x[0] <= now - 1.0]
                if not old:
                    continue
                t1, tot1 = old[-1]
                p = (total - tot1) / 1e6 / (now - t1)
                self.samples = [x for x in self.samples if x[0] > now - 2.0]
            self.max_pressure = max(self.max_pressure, p)
            if p < self.limit:
                above_since = None
                continue
            above_since = above_since if above_since is not None else now
            if now - above_since < self.duration:
                continue
            rel, b = self.biggest()
            above_since = None
            if rel is None:
                continue
            self.kill(rel)
            quiet_until = now + self.cooldown
            self.kills.append((round(now - self.t0, 2), rel, b, round(p, 3)))
            log(f"oomd: {self.line} pressure {p * 100:.0f}% for {self.duration:g} s: killed "
                f"{rel} ({hsize(b)})")


def tenant_peak(d):
    c = d.client()
    try:
        st = c.call("cg.stat", {"path": f"/{TENANT}"}, timeout=10)
        u = st.get("usage") or {}
        ev = (st.get("events") or {}).get("memory") or {}
        out = {"memory_peak": int(u.get("memory.peak") or 0),
               "memory_current": int(u.get("memory.current") or 0),
               "limit": (st.get("limits") or {}).get("memory.max"),
               "events": ev}
        try:
            info = c.call("daemon.info", {}, timeout=10)
            pr = info.get("pressure") or {}
            out["pressure_steps"] = pr.get("steps")
            out["calls_total"] = info.get("calls_total")
        except Exception:
            pass
        return out
    finally:
        c.close()


def run_pass(d, agents, mode, tracealloc, deadline_s, sh_budgets=None, together=True,
             stall_s=None, killer=None, record=None):
    """All agents at once (together) or one after the other (alone). A
    group is stopped (its sessions closed) after deadline_s, or once every
    unfinished agent has sat in a call for stall_s with nothing finishing.
    killer: an OomdKiller run for the pass. record: a dict that gets the
    per-agent memory samples (agent_memory) and the monotonic time their
    and the tenant's samples count from (samples_t0; the agents' t0 and
    the killer's kills are on the same clock)."""
    outs = [dict() for _ in agents]
    abort = threading.Event()
    abort.why = None
    mon = Monitor(d, agents=agents if record is not None else None)
    mon.start()
    if killer:
        killer.t0 = mon.t0      # its kills' times on the samples' clock
        killer.start()
    t_start = time.monotonic()
    try:
        groups = [list(range(len(agents)))] if together else [[i] for i in range(len(agents))]
        for g in groups:
            barrier = threading.Barrier(len(g)) if len(g) > 1 else None
            prog = Progress()
            ths = []
            for i in g:
                th = threading.Thread(target=run_agent, daemon=True,
                                      args=(d, agents[i], mode, tracealloc, barrier, abort,
                                            outs[i], (sh_budgets or {}).get(i), prog))
                th.start()
                ths.append(th)
            end = time.monotonic() + deadline_s
            while any(th.is_alive() for th in ths):
                time.sleep(0.25)
                now = time.monotonic()
                if now >= end:
                    abort.why = f"deadline of {deadline_s:.0f} s"
                elif stall_s and prog.stuck_for() >= stall_s:
                    abort.why = (f"stuck: every unfinished agent in a call, none finished for "
                                 f"{stall_s:.0f} s")
                if abort.why:
                    break
            if any(th.is_alive() for th in ths):
                log(f"pass {mode}: {abort.why}; closing the sessions")
                abort.set()
                c = d.client()
                try:
                    for i in g:
                        for p in (agents[i].sh, agents[i].py):
                            try:
                                c.call("session.close", {"path": p}, timeout=30)
                            except Exception:
                                pass
                finally:
                    c.close()
                for th in ths:
                    th.join(60)
                abort.clear()
    finally:
        mon.stop_ev.set()
        mon.join(5)
        if killer:
            killer.stop_ev.set()
            killer.join(5)
    wall = time.monotonic() - t_start
    if record is not None:
        record["samples_t0"] = mon.t0
        record["agent_memory"] = mon.agent_memory()
    return outs, mon.samples, wall


# ------------------------------------------------------------------ report

def pct(xs, p):
    return bb.pct(xs, p)


def f2(x, nd=2, suffix=""):
    return "-" if x is None else f"{x:.{nd}f}{suffix}"


def summarize(outs, alone_by_key, alone_span, room=None):
    """Per priority class (and "all"): counts, slowdowns, completion.
    room: the budget minus every agent's baseline; a killed call whose
    planned peak is larger could not have run whatever the policy (it is
    counted in killed_infeasible too)."""
    groups = {}
    for o in outs:
        for key in (o.get("priority", "?"), "all"):
            g = groups.setdefault(key, {"traces": 0, "calls": 0, "ok": 0, "killed_own": 0,
                                        "killed_pressure": 0, "stopped": 0, "failed": 0,
                                        "frozen": 0, "refused": 0, "not_run": 0, "deadline": 0,
                                        "contained": 0, "killed_infeasible": 0,
                                        "sessions_killed": 0, "completed": 0, "errors": 0,
                                        "call_slow": [], "trace_slow": [], "call_slow_mem": [],
                                        "call_slow_long": []})
            g["traces"] += 1
            planned = o.get("planned_calls", len(o.get("calls", [])))
            g["calls"] += planned
            g["not_run"] += planned - len(o.get("calls", []))
            for rec in o.get("calls", []):
                g[rec["category"]] = g.get(rec["category"], 0) + 1
                # runs killed before a retry are kills too (at the budget)
                g["killed_pressure"] += int((rec.get("retry") or {}).get("killed") or 0)
                g["retried"] = g.get("retried", 0) + (1 if rec.get("retry") else 0)
                if (room is not None and rec["category"] in ("killed_own", "killed_pressure",
                                                             "stopped")
                        and rec.get("peak_mib", 0) * MIB > room):
                    g["killed_infeasible"] += 1
                if rec.get("containment"):
                    g["contained"] += 1
                a = alone_by_key.get((o["trace"], rec["idx"]))
                if rec["category"] == "ok" and a:
                    s = rec["wall_s"] / a
                    g["call_slow"].append(s)
                if rec["category"] == "ok":
                    for b, k in rec.get("alloc_hist") or []:
                        g.setdefault("alloc_hist", {})
                        g["alloc_hist"][b] = g["alloc_hist"].get(b, 0) + k
                    if rec.get("peak_mib", 0) >= 64:
                        g["call_slow_mem"].append(s)
                    if a >= 0.2:
                        g["call_slow_long"].append(s)
            if o.get("interpreter") == "died":
                g["sessions_killed"] += 1
            if o.get("error"):
                g["errors"] += 1
            ok_all = (not o.get("error") and o.get("interpreter") == "alive"
                      and len(o.get("calls", [])) == planned
                      and all(r["category"] == "ok" for r in o.get("calls", [])))
            if ok_all:
                g["completed"] += 1
            a = alone_span.get(o["trace"])
            if o.get("makespan_s") and a:
                g["trace_slow"].append(o["makespan_s"] / a)
    for g in groups.values():
        g["killed"] = g["killed_own"] + g["killed_pressure"] + g["stopped"]
        g["kills"] = g["killed"] + g["sessions_killed"]
        for k in ("call_slow", "trace_slow", "call_slow_mem", "call_slow_long"):
            xs = g.pop(k)
            g[k] = {"n": len(xs), "p50": bb.median(xs), "p95": pct(xs, 95), "max": max(xs, default=None)}
        g["completion"] = g["completed"] / g["traces"] if g["traces"] else None
        g["alloc_p95_ms"] = hist_pct(g.pop("alloc_hist", {}), 95)
    return groups


def hist_pct(hist, p):
    """The p-th percentile (ms) of tracealloc's chunk-latency buckets
    (bucket b: 10^(b/20) .. 10^((b+1)/20) us; the bucket's geometric middle)."""
    n = sum(hist.values())
    if not n:
        return None
    want, seen = n * p / 100.0, 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= want:
            return 10 ** ((b + 0.5) / 20) / 1000.0
    return None


def print_table(results, modes_run, budget, n_agents):
    print("")
    print("| mode | prio | traces | calls | ok | killed: own limit / pressure (OOM) / by daemon "
          "| frozen / stuck | failed / refused / not run | interpreters killed | contained "
          "| call slowdown p50 | p95 | p95 of calls ≥ 0.2 s | p95 of calls ≥ 64M "
          "| trace slowdown p50 | p95 | completion |")
    print("|---|---|---:|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in modes_run:
        groups = results[m]["summary"]
        for p in PRIOS + ("all",):
            g = groups.get(p)
            if not g:
                continue
            cs, ts = g["call_slow"], g["trace_slow"]
            name = "**all**" if p == "all" else p
            print(f"| {m} | {name} | {g['traces']} | {g['calls']} | {g['ok']} | "
                  f"{g['killed']}: {g['killed_own']} / {g['killed_pressure']} / {g['stopped']} | "
                  f"{g['frozen']} / {g['deadline']} | {g['failed']} / {g['refused']} / "
                  f"{g['not_run']} | {g['sessions_killed']} | {g['contained']} | "
                  f"{f2(cs['p50'])} | {f2(cs['p95'])} | "
                  f"{f2(g['call_slow_long']['p95'])} | {f2(g['call_slow_mem']['p95'])} | "
                  f"{f2(ts['p50'])} | {f2(ts['p95'])} | "
                  f"{g['completed']}/{g['traces']} = {f2(g['completion'] * 100, 0)}% |")
    print("")
    print("| mode | run makespan s | tenant peak (memory.peak) | max sampled memory.current | "
          "budget | tenant memory events | ladder steps | calls that waited > 50 ms to start "
          "| config |")
    print("|---|---:|---:|---:|---:|---|---|---|---|")
    for m in modes_run:
        r = results[m]
        tp = r.get("tenant") or {}
        mx = max((s for _, s in r.get("memory_samples", [])), default=None)
        pk = tp.get("memory_peak")
        steps = tp.get("pressure_steps")
        waits = [rc.get("queued_s") for o in r.get("agents", []) for rc in o.get("calls", [])
                 if rc.get("queued_s") is not None and rc["queued_s"] > 0.05]
        never = sum(1 for o in r.get("agents", []) for rc in o.get("calls", [])
                    if rc.get("started") is False)
        print(f"| {m} | {r['run_makespan_s']:.1f} | {hsize(pk)}"
              + (f" ({pk / budget * 100:.0f}% of B)" if pk and budget else "") +
              f" | {hsize(mx)} | {hsize(r.get('budget'))} | {json.dumps(tp.get('events') or {})} | "
              f"{json.dumps(steps) if steps else '-'} | "
              f"{len(waits)} ({sum(waits):.1f} s in all)"
              + (f"; {never} never started" if never else "") +
              f" | {r.get('daemon_note', '')} |")


def print_targets(results, modes_run):
    print("")
    print("## Targets")
    print("")
    print("| target | measured | verdict |")
    print("|---|---|---|")

    def verdict(ok):
        return "**met**" if ok else "**NOT met**"

    for m in modes_run:
        g = results[m]["summary"].get("high")
        if not g:
            continue
        inf = g.get("killed_infeasible", 0)
        print(f"| ({m}) zero high-priority kills | {g['kills']} (calls {g['killed']}, "
              f"sessions {g['sessions_killed']})"
              + (f"; {inf} of the calls could not fit in B next to the baselines" if inf else "")
              + f" | {verdict(g['kills'] == 0)} |")
    for m in modes_run:
        g = results[m]["summary"].get("high")
        if not g:
            continue
        cs, ts = g["call_slow"]["p95"], g["trace_slow"]["p95"]
        ok = cs is not None and ts is not None and cs <= 1.1 and ts <= 1.1
        print(f"| ({m}) high-priority p95 slowdown ≤ 1.1× | calls {f2(cs)}×, traces {f2(ts)}× | "
              f"{verdict(ok)} |")
    for m in modes_run:
        g = results[m]["summary"].get("high")
        if g and g.get("alloc_p95_ms") is not None:
            print(f"| ({m}) high priority: p95 allocation latency (each 1 MiB chunk, calls "
                  f"that finished ok) | {g['alloc_p95_ms']:.2f} ms | - |")
    cs = [x for x in MODES if MODES[x]["contain"] and x in modes_run]
    others = [m for m in MODES if not MODES[m]["contain"] and m in modes_run]
    for x in cs:
        if not others:
            break
        kc = results[x]["summary"]["all"]["kills"]
        ko = {m: results[m]["summary"]["all"]["kills"] for m in others}
        ok = all(kc < v for v in ko.values())
        print(f"| strictly fewer kills in ({x}) than in {' and '.join(f'({m})' for m in others)} | "
              f"{x} {kc} vs " + ", ".join(f"{m} {v}" for m, v in ko.items()) +
              f" | {verdict(ok)} |")
    if not cs:
        print("| strictly fewer kills in (c) than in (a) and (b) | (c) not run | - |")


# ------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--traces", type=int, default=8, help="agents replayed at once (default 8)")
    ap.add_argument("--speed", type=float, default=20.0, help="time compression (default 20)")
    ap.add_argument("--mem-scale", type=float, default=1.0, help="memory scale (default 1.0)")
    ap.add_argument("--budget", type=parse_size, default=None,
                    help="the budget B (bytes or K/M/G/T); default --budget-frac of the sum of "
                         "the scaled peaks")
    ap.add_argument("--budget-frac", type=float, default=0.3,
                    help="B as a fraction of the sum of the scaled peaks (default 0.3: the "
                         "default traces' peaks rarely coincide, see README)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="do not touch the sum of the peaks once before the alone pass (on a VM "
                         "the first touch of guest memory is slow)")
    ap.add_argument("--modes", default="a,b,c",
                    help="which of " + ",".join(MODES) + " (default a,b,c; c0 = c with adaptive "
                         "off; cf = c with freeze forced; cr = c with retry on repeatable calls; "
                         "d60/d10 = a with a userspace PSI killer, see MODES in the source)")
    ap.add_argument("--seed", type=int, default=1, help="seed of --select random (default 1)")
    ap.add_argument("--select", choices=("top", "random"), default="top",
                    help="top: the N eligible traces with the largest Bash-call peaks (default); "
                         "random: N of them drawn with --seed")
    ap.add_argument("--priorities", default="2,4,2",
                    help="high,normal,low counts (default 2,4,2; scaled to N when they do not add up)")
    ap.add_argument("--min-peak-mb", type=float, default=100.0,
                    help="eligible: Bash-call peak over the baseline >= this (MB, default 100)")
    ap.add_argument("--min-calls", type=int, default=3, help="eligible: >= this many Bash calls")
    ap.add_argument("--traces-dir", default=os.path.join(os.path.dirname(REPO), "shared", "traces"))
    ap.add_argument("--build", default=os.path.join(REPO, "build"), help="dir with agentcgd")
    ap.add_argument("--tracealloc", default=os.path.join(REPO, "build", "bench", "tracealloc"))
    ap.add_argument("--no-new-keys", action="store_true",
                    help="leave memory_budget/containment/adaptive out of the configs (mode c "
                         "is then skipped); by default they are left out only when the daemon "
                         "refuses them")
    ap.add_argument("--alone-jobs", type=int, default=1,
                    help="alone pass: traces replayed at once (default 1: each by itself)")
    ap.add_argument("--deadline-factor", type=float, default=3.0,
                    help="a pass is stopped after this x the longest alone makespan + 60 s")
    ap.add_argument("--stall-s", type=float, default=None,
                    help="stop a pass once every unfinished agent has been inside a call for "
                         "this long with none finishing (default max(30, 5 x the longest alone "
                         "call); 0: never)")
    ap.add_argument("--json", help="write the plan, every call and the summary here")
    ap.add_argument("--plot", metavar="FILE.png", default=None,
                    help="draw the tenant's memory in each shared pass, side by side: each "
                         "agent's sessions stacked, B, kills, freezes, throttles, admission "
                         "holds, retries, lost interpreters (bench/replay_plot.py, matplotlib "
                         "from Debian: python3-matplotlib)")
    ap.add_argument("--trace-files", default=None,
                    help="the traces, by file name in --traces-dir (or path), comma-separated, "
                         "repeats allowed (one agent each); overrides --traces/--select")
    ap.add_argument("--prio-list", default=None,
                    help="the agents' priorities in order, e.g. high,low,low (with --trace-files)")
    ap.add_argument("--baseline-mb", type=float, default=None,
                    help="every agent's baseline, MB (default: its trace's 10th percentile)")
    ap.add_argument("--containment", default=None,
                    help="JSON object of more containment keys for the passes that run it "
                         "(e.g. '{\"hold_max\": \"10s\"}'), to try settings side by side")
    ap.add_argument("--run-infeasible", action="store_true",
                    help="run even when the baselines alone exceed B (by default such a "
                         "selection is reported as infeasible and nothing runs)")
    ap.add_argument("--alone-cache", default=None,
                    help="keep the alone pass in this JSON file and take it from there when the "
                         "traces, their plans, speed and tracealloc are the same")
    ap.add_argument("--pool", choices=("all", "even", "odd"), default="all",
                    help="choose among all traces, or one of two disjoint halves (every other "
                         "file by name), so a second grid runs on traces the first never saw")
    ap.add_argument("--paper", action="store_true",
                    help="the AgentCgroup paper's experiment: HIGH = all_images_haiku "
                         "dask-11628, LOW = two copies of all_images_haiku github3.py-673, "
                         "100 MB baselines, speed 50, B = 1100M (--budget overrides it), the "
                         "traces' MB read as MiB (--mem-scale 1.048576) as the paper's B/peaks")
    a = ap.parse_args()
    if a.plot:
        try:    # before a run of many minutes, not after
            rp.import_pyplot()
        except rp.PlotError as e:
            sys.exit(f"replay: --plot: {e}")
    if a.containment:
        try:
            CONTAIN_EXTRA.update(json.loads(a.containment))
        except ValueError as e:
            sys.exit(f"replay: --containment: {e}")
    if a.paper:
        a.trace_files = a.trace_files or PAPER_TRACES
        a.prio_list = a.prio_list or "high,low,low"
        a.baseline_mb = 100.0 if a.baseline_mb is None else a.baseline_mb
        a.speed = 50.0
        # the paper's MB are MiB: peaks 421/406 and B 1100 are then 0.89 of the sum, as there
        a.mem_scale = 1.048576
        a.budget = a.budget or parse_size("1100M")

    if os.geteuid() != 0:
        sys.exit("replay: needs root (it runs agentcgd)")
    modes = [m.strip() for m in a.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        sys.exit("replay: --modes takes a comma list of " + ", ".join(MODES))
    for path, what in ((os.path.join(a.build, "agentcgd"), "agentcgd"),
                       (a.tracealloc, "tracealloc")):
        if not os.access(path, os.X_OK):
            sys.exit(f"replay: no {what} at {path} (make all; bench/run_replay.sh builds both)")
    counts = [int(x) for x in a.priorities.split(",")]
    if len(counts) != 3:
        sys.exit("replay: --priorities takes H,N,L")

    if a.trace_files:
        traces = []
        for f in a.trace_files.split(","):
            f = f.strip()
            path = f if os.path.sep in f else os.path.join(a.traces_dir, f)
            if not path.endswith(".json"):
                path += ".json"
            traces.append(Trace(path, a.baseline_mb))
        n_eligible = len(traces)
    else:
        traces, n_eligible = select_traces(a.traces_dir, a.traces, a.select, a.seed,
                                           a.min_peak_mb, a.min_calls, a.baseline_mb, a.pool)
    if a.prio_list:
        prios = [x.strip() for x in a.prio_list.split(",")]
        if len(prios) != len(traces) or any(x not in PRIOS for x in prios):
            sys.exit("replay: --prio-list needs one of high, normal, low per trace")
    else:
        prios = assign_priorities(len(traces), counts)
    agents = []
    sum_peak = 0
    for i, (t, p) in enumerate(zip(traces, prios)):
        plan, tail = t.plan(a.speed, a.mem_scale)
        base = int(t.baseline_mb * 1e6 * a.mem_scale)
        agents.append(Agent(i, t, p, plan, tail, base))
        sum_peak += int(t.peak_mb * 1e6 * a.mem_scale)
    budget = a.budget or int(sum_peak * a.budget_frac)
    n = len(agents)
    room = budget - sum(ag.baseline_bytes for ag in agents)
    ov_peak, ov_vals = nominal_overlay(agents)
    ov_above, ov_episodes = above(ov_vals, budget)

    bb.install_cleanup()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    m = bb.machine()
    print("# Replay of real agent traces on a shared memory budget (bench/replay.py)")
    print("")
    bb.print_machine(m)
    if a.trace_files:
        print(f"traces:  {n} given (--trace-files{', --paper' if a.paper else ''}), priorities "
              f"{','.join(prios)}" + (f", baselines {a.baseline_mb:g} MB" if a.baseline_mb
                                      is not None else ""))
    else:
        print(f"traces:  {n} of {n_eligible} eligible in {a.traces_dir} (>= {a.min_calls} Bash "
              f"calls, Bash-call peak >= {a.min_peak_mb:g} MB over baseline), select {a.select}"
              + (f" seed {a.seed}" if a.select == "random" else "")
              + (f", pool {a.pool}" if a.pool != "all" else ""))
    print(f"replay:  speed {a.speed:g}x, mem-scale {a.mem_scale:g}, budget B = {hsize(budget)} "
          f"({budget / sum_peak * 100:.0f}% of the sum of the scaled peaks {hsize(sum_peak)}), "
          f"B/N = {hsize(budget // n)}")
    print(f"nominal: together, unslowed (the alone schedule overlaid), the agents would hold at "
          f"most {hsize(int(ov_peak))} ({ov_peak / sum_peak * 100:.0f}% of the sum of the peaks; "
          f"baselines {hsize(sum(ag.baseline_bytes for ag in agents))}); above B for "
          f"{ov_above:.1f} s in {ov_episodes} episodes" +
          (" -- B leaves no pressure" if ov_above == 0 else ""))
    big = [(ag, max(c["peak_mib"] for c in ag.plan) * MIB) for ag in agents if ag.plan]
    big = [(ag, pk) for ag, pk in big if pk > room]
    print(f"fit:     with every baseline held, B leaves {hsize(room)} for calls" +
          ("; larger calls cannot run without an OOM or a kill, whatever the policy: " +
           ", ".join(f"{ag.name} ({ag.prio}, {hsize(int(pk))})" for ag, pk in big)
           if big else ": every call fits alone"))
    if room < 0 and not a.run_infeasible:
        # no agent can even hold its baseline: every pass would fail at
        # once, after an alone pass of minutes that measures nothing
        print(f"infeasible: the baselines alone exceed B by {hsize(-room)}: no policy can run "
              f"this; nothing run (--run-infeasible runs it anyway)")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"machine": bb.machine(), "args": vars(a), "budget": budget,
                           "sum_peaks": sum_peak, "room_for_calls": room, "infeasible": True,
                           "plan": [{"agent": ag.name, "trace": ag.trace.name,
                                     "priority": ag.prio, "baseline_bytes": ag.baseline_bytes,
                                     "calls": []} for ag in agents],
                           "results": {}}, f, default=str)
        return 0
    if any(MODES[m].get("hint") for m in modes):
        hinted, total, covered = set_hints(agents, label_history(a.traces_dir, a.baseline_mb,
                                                                 a.mem_scale))
        print(f"hints:   {hinted} of {total} Bash calls have a label seen >= 3 times in other "
              f"tasks' traces: they declare memory_hint (cp: that p95; ch: the class of it, "
              + "/".join(f"{n} {mib}M" for n, mib in HINT_CLASSES) + f"); the p95 covers "
              f"{covered} of those {hinted} calls' peaks")
    print("")
    print("| agent | trace | priority | baseline | peak (baseline + largest call) | Bash calls | "
          "replayed s | labels |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for ag in agents:
        t = ag.trace
        labels = {}
        for c in ag.plan:
            labels[c["label"]] = labels.get(c["label"], 0) + 1
        lab = ", ".join(f"{k} {v}" for k, v in sorted(labels.items(), key=lambda x: -x[1])[:4])
        print(f"| {ag.name} | {t.task} ({t.path.split('__')[0].split('/')[-1]}) | {ag.prio} | "
              f"{hsize(ag.baseline_bytes)} | {hsize(int(t.peak_mb * 1e6 * a.mem_scale))} | "
              f"{len(ag.plan)} | {t.duration / a.speed:.1f} | {lab} |")
    sys.stdout.flush()

    results = {}
    new_keys = not a.no_new_keys
    leftovers = []
    status = 0
    daemons_all = []
    t_run = time.monotonic()
    work = bb.make_workdir("agentcg-replay-")
    try:
        os.chmod(work, 0o755)
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        os.chmod(bindir, 0o755)
        agentcgd = os.path.join(bindir, "agentcgd")
        tracealloc = os.path.join(bindir, "tracealloc")
        shutil.copy2(os.path.join(a.build, "agentcgd"), agentcgd)
        shutil.copy2(a.tracealloc, tracealloc)
        os.chmod(tracealloc, 0o755)

        if not a.no_warmup:
            # A VM's guest memory is slow the first time it is touched (the
            # host backs it then): touch the sum of the peaks once, outside
            # any daemon, so that the alone pass, which runs first, does not
            # pay for it. subprocess.run kills the child on ^C.
            import subprocess
            avail = 0
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        avail = int(line.split()[1]) * 1024
            wm = min(sum_peak, avail // 2) // MIB
            t = time.monotonic()
            subprocess.run([tracealloc, "0:0", f"1:{wm}", "2:0"], stdout=subprocess.DEVNULL,
                           check=False, timeout=300)
            log(f"warm-up: touched {wm} MiB once in {time.monotonic() - t:.1f} s")

        # ---- alone
        def start_mode(mode, tenant_b, contain, adapt, freeze=None, extra=None, hints=False):
            """A daemon for one pass: the new keys set (containment, adaptive
            as asked, memory_budget B when tenant_b) unless this daemon does
            not know them; then without them. (daemon, cfg, note), or (None,
            None, reason) when containment or adaptive is asked for."""
            nonlocal new_keys
            on = contain or adapt
            if new_keys:
                cfg = make_config(tenant_b, True, contain, adapt, tenant_b, freeze, extra, hints)
                d, err = start_daemon(agentcgd, cfg, mode, work)
                if d is not None:
                    daemons_all.append(d)
                    return d, cfg, ""
                log(f"{mode}: the daemon refuses the new keys ({err})")
                new_keys = False
                refused.append(err)
            if on:
                return None, None, refused[0] if refused else "--no-new-keys"
            cfg = make_config(tenant_b, False, False, False, None)
            d, err = start_daemon(agentcgd, cfg, mode, work)
            if d is None:
                raise RuntimeError(f"{mode}: the daemon refuses its config: {err}")
            daemons_all.append(d)
            return d, cfg, " (memory_budget, containment, adaptive left out)"

        refused = []
        alone_deadline = max(ag.trace.duration for ag in agents) / a.speed * a.deadline_factor + 60
        cache, ckey = {}, None
        if a.alone_cache:
            import hashlib
            h = hashlib.sha256()
            with open(a.tracealloc, "rb") as f:
                h.update(f.read())
            h.update(json.dumps([[ag.trace.name, ag.baseline_bytes, ag.plan, ag.tail]
                                 for ag in agents], sort_keys=True).encode())
            h.update(json.dumps([a.alone_jobs, a.speed, a.mem_scale]).encode())
            ckey = h.hexdigest()
            try:
                with open(a.alone_cache) as f:
                    cache = json.load(f)
            except (OSError, ValueError):
                cache = {}
        hit = cache.get(ckey) if ckey else None
        if hit:
            log(f"alone: from {a.alone_cache} (same traces, plan, speed and tracealloc)")
            outs, samples, wall, tp, cfg = (hit["outs"], hit["samples"], hit["wall"], hit["tp"],
                                            hit["cfg"])
            note = " (cached)"
        else:
            d, cfg, note = start_mode("alone", None, False, False)
            log(f"alone: {n} traces, {a.alone_jobs} at a time ...")
            outs = []
            try:
                if a.alone_jobs <= 1:
                    outs, samples, wall = run_pass(d, agents, "alone", tracealloc,
                                                   alone_deadline, together=False)
                else:
                    wall = 0
                    samples = []
                    for k in range(0, n, a.alone_jobs):
                        o, _, w = run_pass(d, agents[k:k + a.alone_jobs], "alone", tracealloc,
                                           alone_deadline, together=True)
                        outs += o
                        wall += w
                tp = tenant_peak(d)
            finally:
                leftovers += d.stop()
                leftovers += [f"process {p}" for p in alive_of(d.children_seen)]
            if ckey and all(not o.get("error") for o in outs):
                cache[ckey] = {"outs": outs, "samples": samples, "wall": wall, "tp": tp,
                               "cfg": cfg}
                tmp = a.alone_cache + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(cache, f)
                os.replace(tmp, a.alone_cache)
        for ag, o in zip(agents, outs):
            o["planned_calls"] = len(ag.plan)
        alone_by_key, alone_span = {}, {}
        for o in outs:
            if o.get("error"):
                log(f"alone: {o.get('agent')} {o.get('trace')}: {o['error']}")
            for rec in o.get("calls", []):
                if rec["category"] == "ok":
                    alone_by_key[(o["trace"], rec["idx"])] = rec["wall_s"]
            if o.get("makespan_s"):
                alone_span[o["trace"]] = o["makespan_s"]
        bad = [(o["trace"], r["idx"], r["summary"]) for o in outs for r in o.get("calls", [])
               if r["category"] != "ok"]
        results["alone"] = {"agents": outs, "run_makespan_s": wall, "tenant": tp,
                            "memory_samples": samples, "config": cfg,
                            "daemon_note": "tenant max; containment, adaptive off; one trace "
                                           f"at a time{note}",
                            "summary": summarize(outs, alone_by_key, alone_span),
                            "not_ok_calls": bad[:20], "budget": None}
        log(f"alone: done in {wall:.0f} s; {len(bad)} calls not ok" +
            (f" (e.g. {bad[0]})" if bad else ""))
        longest = max(alone_span.values(), default=max(ag.trace.duration for ag in agents) / a.speed)
        deadline = longest * a.deadline_factor + 60
        longest_call = max(alone_by_key.values(), default=10.0)
        stall = a.stall_s if a.stall_s is not None else max(30.0, 5 * longest_call)

        # ---- a, b, c
        for mode in modes:
            mo = MODES[mode]
            d, cfg, note = start_mode(mode, budget, mo["contain"], mo["adapt"], mo.get("freeze"),
                                      mo.get("extra"), bool(mo.get("hint")))
            if d is None:
                log(f"{mode}: skipped: this daemon does not take the new keys ({note})")
                results[mode] = {"skipped": f"this agentcgd does not take "
                                            f"{', '.join(NEW_KEYS)}: {note}"}
                continue
            note = mo["note"] + note
            killer = OomdKiller(d, *mo["oomd"]) if mo.get("oomd") else None
            sh_budgets = None
            if mode == "b":
                sh_budgets = {i: max(MIB * 8, budget // n - ag.baseline_bytes)
                              for i, ag in enumerate(agents)}
            log(f"{mode}: {n} agents at once, B = {hsize(budget)} ...")
            record = {}
            try:
                outs, samples, wall = run_pass(d, agents, mode, tracealloc, deadline,
                                               sh_budgets=sh_budgets, together=True,
                                               stall_s=stall or None, killer=killer,
                                               record=record)
                tp = tenant_peak(d)
                info = d.info or {}
            finally:
                leftovers += d.stop()
                leftovers += [f"process {p}" for p in alive_of(d.children_seen)]
            for ag, o in zip(agents, outs):
                o["planned_calls"] = len(ag.plan)
                if o.get("error"):
                    log(f"{mode}: {o.get('agent')} {o.get('trace')}: {o['error']}")
            summ = summarize(outs, alone_by_key, alone_span, room)
            results[mode] = {"agents": outs, "run_makespan_s": wall, "tenant": tp,
                             "memory_samples": samples, "summary": summ, "budget": budget,
                             "config": cfg, "daemon_note": note,
                             "sh_budgets": sh_budgets,
                             "bpf": (info.get("bpf") or {}).get("loaded")}
            if killer:
                results[mode]["oomd_kills"] = killer.kills
                results[mode]["oomd_max_pressure"] = killer.max_pressure
                summ["all"]["oomd_kills"] = len(killer.kills)
                log(f"{mode}: the userspace killer killed {len(killer.kills)} cgroups (highest "
                    f"pressure seen {killer.max_pressure * 100:.0f}%)")
            # the figure's data: each agent's memory, and what happened when
            results[mode].update(record)
            try:    # a bug in the figure's data must not end the run
                results[mode]["events"] = rp.events_of(results[mode])
                ev = rp.count(results[mode]["events"])
                log(f"{mode}: events: " + (", ".join(f"{k} {v}" for k, v in ev.items() if v)
                                           or "none"))
            except Exception as e:
                log(f"{mode}: events: failed: {type(e).__name__}: {e}")
            g = summ["all"]
            log(f"{mode}: done in {wall:.0f} s: {g['killed']} calls killed, "
                f"{g['sessions_killed']} interpreters died, {g['completed']}/{g['traces']} complete")
    except KeyboardInterrupt:
        log("interrupted; stopping the daemons")
        status = 130
    finally:
        for d in daemons_all:
            if d is not None and d.proc is not None:
                leftovers += d.stop()
                leftovers += [f"process {p}" for p in alive_of(d.children_seen)]
        errs = []
        for _ in range(3):
            shutil.rmtree(work, onerror=lambda f, path, e: errs.append(f"{path}: {e[1]}"))
            if not os.path.exists(work):
                break
            time.sleep(1)
        if os.path.exists(work):
            leftovers.append(f"{work} ({'; '.join(errs[:3])})")

    modes_run = [x for x in ("alone",) + tuple(MODES)
                 if x in results and "skipped" not in results[x]]
    if modes_run:
        print("")
        print("## Results")
        print("")
        print("Slowdown: wall time / the same call's (or trace's) time in the alone pass; calls "
              "that finished ok only. Trace slowdown: the agent's makespan (gaps and tail "
              "included) / alone. Completion: every call ok and the interpreter alive.")
        print_table(results, modes_run, budget, n)
        for x in MODES:
            if x in results and "skipped" in results[x]:
                print(f"\n({x}) skipped: {results[x]['skipped']}")
        print_targets(results, [x for x in modes_run if x != "alone"])
        # examples of what the kills looked like
        print("")
        for mo in modes_run:
            ex = {}
            for o in results[mo].get("agents", []):
                for r in o.get("calls", []):
                    if r["category"] != "ok" and r["category"] not in ex:
                        ex[r["category"]] = f"{o['agent']} call {r['idx']} ({r['label']}): " \
                                            f"{r.get('summary', '')[:200]}"
                if o.get("interpreter") not in ("alive", None) and "interpreter" not in ex:
                    ex["interpreter"] = f"{o['agent']}: {o.get('interpreter')} " \
                                        f"{o.get('interpreter_detail', '')[:160]}"
                if o.get("error") and "error" not in ex:
                    ex["error"] = f"{o['agent']}: {o['error'][:200]}"
            for k, v in ex.items():
                print(f"- ({mo}) {k}: {v}")
    print("")
    print(f"total: {time.monotonic() - t_run:.0f} s; cleanup: daemons stopped (SIGTERM by pid); "
          f"left behind: {leftovers or 'nothing'}")
    if a.json or a.plot:
        js = {"machine": m, "args": vars(a), "budget": budget, "sum_peaks": sum_peak,
              "nominal_peak": ov_peak, "nominal_above_s": ov_above, "room_for_calls": room,
              "nominal_episodes": ov_episodes,
              "plan": [{"agent": ag.name, "trace": ag.trace.name, "priority": ag.prio,
                        "baseline_bytes": ag.baseline_bytes,
                        "peak_bytes": int(ag.trace.peak_mb * 1e6 * a.mem_scale),
                        "calls": [{k: c[k] for k in ("idx", "label", "gap_s", "window_s",
                                                     "peak_mib")} for c in ag.plan],
                        "tail_s": ag.tail} for ag in agents],
              "results": results, "leftovers": leftovers}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(js, f, default=str)
        log(f"wrote {a.json}")
    if a.plot and rp.shared_modes(js):
        try:
            counts = rp.draw(js, a.plot, title=(f"{n} agents, B = {hsize(budget)}, speed "
                                                f"{a.speed:g}x" + (", --paper" if a.paper
                                                                   else "")))
            print(f"figure: {a.plot} (markers: " + "; ".join(
                f"({mo}) " + (", ".join(f"{k} {c[k]}" for k in rp.KINDS if c.get(k))
                              or "none")
                for mo, c in counts.items()) + ")")
        except Exception as e:      # the run's report and JSON stand; the figure can be redrawn
            log(f"--plot {a.plot} failed: {type(e).__name__}: {e}"
                + (f"; redraw: bench/replay_plot.py {a.json} {a.plot}" if a.json else ""))
            status = status or 1
    if leftovers:
        status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
