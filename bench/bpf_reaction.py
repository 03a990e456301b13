#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bpf_reaction: how fast a tool call is stopped once it crosses its budget.

Three mechanisms, interleaved trial by trial, on one agentcgd with the BPF
programs loaded:

  bpf        the call declares the budget (cpu_time / memory) with
             on_exceed kill: the kernel programs SIGKILL it
  poll-100ms the call declares no such budget (memory intent = memory_max =
  poll-1s    a generous 1G, on_exceed report); this script polls the call's
             cgroup file (v2 cpu.stat usage_usec / v1 memory.usage_in_bytes)
             every 100 ms or 1 s, with a random phase, and writes "1" to the
             call's v2 cgroup.kill once it is over: an oomd-style baseline

The workload, build/bench/burn, records (CLOCK_MONOTONIC, its CPU time or
its memory charge) into a shared file in /dev/shm that this script created
and pre-touched. From the records:

  cross     cpu: the first moment the call's CPU usage reached the budget,
            interpolated between records 20 us apart; the usage is the
            unified cpu.stat usage_usec read just before "go" plus the
            burn's own CPU time since go (CLOCK_PROCESS_CPUTIME_ID)
            mem: the first record whose charge (the memory cgroup's
            usage_in_bytes, read by the burn after every page) reached it
  stop      the time of the last record (a killed process writes no more)
  reaction  stop - cross, in ms
  overshoot cpu: the call's CPU (verdict usage cpu_user_us + cpu_system_us)
            minus the budget, CPU-ms; mem: its memory peak (verdict
            usage.memory_peak, v1 max_usage_in_bytes) minus the budget, MB

Usage: bench/bpf_reaction.py [--modes cpu,mem] [--bpf-n 200] [--p100-n 50]
        [--p1s-n 15] [--cpu-budget-ms 200] [--mem-budget-mb 64] [--rate 256]
        [--json FILE] [--seed S]
Needs root. See bench/README.md.
"""
import argparse
import json
import mmap
import os
import random
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfbench as bb  # noqa: E402

SESSION = "/t1/reaction"
MAGIC, VERSION, HDR = 0x52424341, 1, 256
HDR_FMT = "<IIQIIQQQQQIIQ"  # struct burn_hdr in burn.c
CAP = 1 << 20  # records
MIB = 1048576
MECHS = ("bpf", "poll-100ms", "poll-1s")
INTERVAL = {"poll-100ms": 0.1, "poll-1s": 1.0}


class Shm:
    def __init__(self, path):
        self.path = path
        size = HDR + CAP * 24
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            # write through every page now: tmpfs pages are charged to the
            # memory cgroup that allocates them, i.e. ours, not the call's
            zero = b"\0" * MIB
            left = size
            while left:
                left -= os.write(fd, zero[:min(left, MIB)])
            self.mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)

    def reset(self):
        self.mm[:HDR] = b"\0" * HDR
        struct.pack_into("<IIQ", self.mm, 0, MAGIC, VERSION, CAP)

    def hdr(self):
        k = struct.unpack_from(HDR_FMT, self.mm, 0)
        return dict(zip(("magic", "version", "cap", "ready", "go", "n", "pid", "go_t_ns",
                         "go_cpu_ns", "charge0", "done", "error", "beat_t"), k))

    def go(self):
        struct.pack_into("<I", self.mm, 20, 1)

    def records(self, n):
        flat = struct.unpack_from(f"<{3 * n}Q", self.mm, HDR)
        return [flat[i:i + 3] for i in range(0, 3 * n, 3)]

    def close(self):
        self.mm.close()
        os.unlink(self.path)


def read_first_int(fd, key=None):
    data = os.pread(fd, 4096, 0).decode()
    if key is None:
        return int(data.split()[0])
    for line in data.splitlines():
        k, v = line.split()
        if k == key:
            return int(v)
    raise ValueError(f"no {key}")


def spare_cpu_us(unified_session):
    """usage_usec of each call-* directory (the pool's spares) in the
    session's v2 directory: the stub's CPU before a call starts, which the
    BPF budget does not count (it counts from the call's registration)."""
    out = {}
    try:
        names = os.listdir(unified_session)
    except OSError:
        return out
    for n in names:
        if n.startswith("call-"):
            try:
                with open(os.path.join(unified_session, n, "cpu.stat")) as f:
                    out[n] = int(f.readline().split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return out


def trial(d, c, shm, burn, mode, mech, a, rng):
    """One call; returns a dict of measurements (or with 'invalid')."""
    uni_root, mem_root = d.root_of("unified"), d.root_of("memory")
    cpu_b_ns = int(a.cpu_budget_ms * 1e6)
    mem_b = int(a.mem_budget_mb * MIB)
    if mode == "cpu":
        argv = [burn, "cpu", shm.path, "--max-cpu-ms", str(a.cpu_budget_ms + 5000)]
        intent = ({"cpu_time": f"{a.cpu_budget_ms}ms", "on_exceed": "kill"} if mech == "bpf"
                  else {"on_exceed": "report"})
    else:
        argv = [burn, "mem", shm.path, "--rate", str(a.rate), "--max-mb", "900"]
        intent = ({"memory": f"{a.mem_budget_mb}M", "memory_max": "1G", "on_exceed": "kill"}
                  if mech == "bpf" else {"memory": "1G", "memory_max": "1G", "on_exceed": "report"})
    intent["timeout"] = "60s"
    shm.reset()
    spares = spare_cpu_us(uni_root + SESSION) if mode == "cpu" else {}
    rid = c.send("call.run", {"path": SESSION, "argv": argv, "intent": intent})
    started = {}

    def note(m):
        if m.get("method") == "call.started" and m["params"].get("id") == rid:
            started.update(m["params"])

    res = None
    while not started:
        res = c.wait_reply(rid, timeout=0.01, on_note=note)
        if res is not None:
            raise RuntimeError(f"{mech}/{mode}: call ended before it started: {json.dumps(res)[:600]}")
    path = started["path"]
    uni = uni_root + path
    memdir = mem_root + path
    t_end = time.monotonic() + 10
    while not shm.hdr()["ready"]:
        res = c.wait_reply(rid, timeout=0.001)
        if res is not None:
            raise RuntimeError(f"{mech}/{mode}: the burn ended before go: "
                               f"{res['verdict'].get('summary')} {res.get('stderr', '')[:300]!r}")
        if time.monotonic() > t_end:
            raise RuntimeError(f"{mech}/{mode}: the burn never got ready")
    cpu_fd = os.open(uni + "/cpu.stat", os.O_RDONLY)
    mem_fd = os.open(memdir + ("/memory.usage_in_bytes" if os.path.exists(memdir + "/memory.usage_in_bytes")
                               else "/memory.current"), os.O_RDONLY)
    try:
        u0_us = read_first_int(cpu_fd, "usage_usec")
        m0 = read_first_int(mem_fd)
        shm.go()
        t_go = time.monotonic_ns()
        t_detect = t_kill = None
        polls = 0
        if mech == "bpf":
            res = c.wait_reply(rid, timeout=60)
        else:
            iv = INTERVAL[mech]
            nxt = t_go / 1e9 + rng.uniform(0, iv)  # random phase, like a free-running poller
            while res is None:
                res = c.wait_reply(rid, timeout=max(0.0, nxt - time.monotonic()))
                if res is not None:
                    break
                polls += 1
                over = (read_first_int(cpu_fd, "usage_usec") * 1000 >= cpu_b_ns if mode == "cpu"
                        else read_first_int(mem_fd) >= mem_b)
                if over:
                    t_detect = time.monotonic_ns()  # the read said: over
                    with open(uni + "/cgroup.kill", "w") as f:
                        f.write("1")
                    t_kill = time.monotonic_ns()
                    res = c.wait_reply(rid, timeout=60)
                    break
                nxt += iv
    finally:
        os.close(cpu_fd)
        os.close(mem_fd)
    if res is None:
        raise RuntimeError(f"{mech}/{mode}: no reply")
    h = shm.hdr()
    recs = shm.records(h["n"])
    out = {"mech": mech, "mode": mode, "path": path, "polls": polls, "records": len(recs),
           "exit": res.get("exit"), "summary": res["verdict"].get("summary"),
           "stopped_by_itself": bool(h["done"])}
    if h["done"] or not recs or (res.get("exit") or {}).get("signal") != 9:
        out["invalid"] = "not killed (burn reached its own limit or exited)"
        return out
    u = res.get("usage", {})
    # stop: the last moment the burn ran (its heartbeat), never before its
    # last record
    t_last = max(recs[-1][0], h["beat_t"])
    if mode == "cpu":
        base = u0_us * 1000 - h["go_cpu_ns"]

        def cross_at(budget):
            prev = None
            for t, v, _ in recs:
                cu = base + v
                if cu >= budget:
                    if prev is None or cu == prev[1]:
                        return t, False
                    pt, pc = prev
                    return pt + (budget - pc) * (t - pt) / (cu - pc), False
                prev = (t, cu)
            # never reached in the records: extrapolate at 1 CPU-s per s
            return recs[-1][0] + (budget - (base + recs[-1][1])), True

        t_cross, extrap = cross_at(cpu_b_ns)
        used_ms = ((u.get("cpu_user_us") or 0) + (u.get("cpu_system_us") or 0)) / 1e3
        out.update({"u0_us": u0_us, "cross_extrapolated": extrap,
                    "reaction_ms": (t_last - t_cross) / 1e6,
                    "overshoot": used_ms - a.cpu_budget_ms,
                    "overshoot_records": (base + recs[-1][1] - cpu_b_ns) / 1e6})
        # The BPF budget counts from the call's registration; the stub that
        # became the call had used `pre` CPU before. Reaction measured from
        # the moment BPF's own counter reached the budget:
        pre = spares.get(path.rsplit("/", 1)[1])
        if pre is not None:
            t2, _ = cross_at(cpu_b_ns + pre * 1000)
            out.update({"stub_pre_us": pre, "reaction_budget_clock_ms": (t_last - t2) / 1e6})
    else:
        t_cross = extrap = None
        for t, touched, ch in recs:
            if ch >= mem_b:
                t_cross = t
                break
        if t_cross is None:  # killed before the charge it read reached the budget
            t_cross = recs[-1][0] + (mem_b - recs[-1][2]) * 1e9 / (a.rate * MIB)
            extrap = True
        # the brief's estimate: charge at go + bytes touched
        est = next((t for t, touched, _ in recs if m0 + touched >= mem_b), None)
        out.update({"m0": m0, "charge0": h["charge0"], "cross_extrapolated": bool(extrap),
                    "reaction_ms": (t_last - t_cross) / 1e6,
                    "reaction_est_ms": (t_last - est) / 1e6 if est else None,
                    "overshoot": ((u.get("memory_peak") or 0) - mem_b) / MIB,
                    "overshoot_records": (recs[-1][2] - mem_b) / MIB,
                    "peak": u.get("memory_peak"),
                    "charge_ahead_kib": (recs[-1][2] - (m0 + recs[-1][1])) / 1024})
    if t_kill:
        out.update({"detect_ms": (t_detect - t_cross) / 1e6,
                    "detect_to_stop_ms": (t_last - t_detect) / 1e6,
                    "kill_write_ms": (t_kill - t_detect) / 1e6})
    return out


def plan(a):
    """Trials per round: bpf each round, the pollers spread evenly; the
    order inside a round rotates."""
    want = {"bpf": a.bpf_n, "poll-100ms": a.p100_n, "poll-1s": a.p1s_n}
    rounds = max(want.values())
    out = []
    for r in range(rounds):
        mechs = [mc for mc in MECHS if (r + 1) * want[mc] // rounds > r * want[mc] // rounds]
        k = r % len(mechs) if mechs else 0
        out.append(mechs[k:] + mechs[:k])
    return out


def table(mode, results, a):
    unit = "CPU-ms" if mode == "cpu" else "MB"
    budget = f"cpu_time {a.cpu_budget_ms} ms" if mode == "cpu" else \
        f"memory {a.mem_budget_mb} MiB, touched at {a.rate:g} MiB/s"
    print()
    print(f"### {mode}: budget {budget}")
    print()
    print(f"| mechanism | n | reaction median ms | p90 | p99 | max | overshoot median {unit} | "
          f"p99 | max | p99 is |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    summ = {}
    for mc in MECHS:
        rs = [r for r in results if r["mech"] == mc and r["mode"] == mode and "invalid" not in r]
        bad = [r for r in results if r["mech"] == mc and r["mode"] == mode and "invalid" in r]
        re = [r["reaction_ms"] for r in rs]
        ov = [r["overshoot"] for r in rs]
        n = len(rs)
        kind = "nearest rank" if n >= 100 else "= max (n < 100)"
        summ[mc] = {"n": n, "invalid": len(bad), "reaction_median_ms": bb.median(re),
                    "reaction_p90_ms": bb.pct(re, 90), "reaction_p99_ms": bb.pct(re, 99),
                    "reaction_max_ms": max(re) if re else None, "reaction_min_ms": min(re) if re else None,
                    "overshoot_median": bb.median(ov), "overshoot_p99": bb.pct(ov, 99),
                    "overshoot_max": max(ov) if ov else None, "unit": unit,
                    "extrapolated": sum(1 for r in rs if r.get("cross_extrapolated"))}
        nd = 3 if mc == "bpf" else 1
        print(f"| {mc} | {n}{f' (+{len(bad)} invalid)' if bad else ''} | {bb.fmt(bb.median(re), nd)} | "
              f"{bb.fmt(bb.pct(re, 90), nd)} | {bb.fmt(bb.pct(re, 99), nd)} | "
              f"{bb.fmt(max(re) if re else None, nd)} | {bb.fmt(bb.median(ov), 2)} | "
              f"{bb.fmt(bb.pct(ov, 99), 2)} | {bb.fmt(max(ov) if ov else None, 2)} | {kind} |")
    b = summ["bpf"]
    extra = []
    if b["extrapolated"]:
        extra.append(f"{b['extrapolated']} bpf trials were killed before the recorded usage reached "
                     "the budget (negative reaction)")
    rs = [r for r in results if r["mech"] == "bpf" and r["mode"] == mode and "invalid" not in r]
    if mode == "cpu":
        bc = [r["reaction_budget_clock_ms"] for r in rs if "reaction_budget_clock_ms" in r]
        pre = [r["stub_pre_us"] / 1e3 for r in rs if "stub_pre_us" in r]
        if bc:
            b.update({"reaction_budget_clock_median_ms": bb.median(bc),
                      "reaction_budget_clock_p99_ms": bb.pct(bc, 99),
                      "reaction_budget_clock_max_ms": max(bc), "stub_pre_median_ms": bb.median(pre)})
            print()
            print(f"bpf, reaction from the moment the BPF counter itself reached the budget (it "
                  f"starts at the call's registration and misses the stub's earlier CPU, median "
                  f"{bb.median(pre):.3f} ms; n={len(bc)}): median {bb.median(bc):.3f} ms, "
                  f"p99 {bb.pct(bc, 99):.3f} ms, max {max(bc):.3f} ms")
    else:
        est = [r["reaction_est_ms"] for r in rs if r.get("reaction_est_ms") is not None]
        ahead = [r["charge_ahead_kib"] for r in rs]
        if rs:
            print()
            print(f"bpf: the crossing estimated as charge-at-go + bytes touched (instead of the charge "
                  f"read) was reached before the kill in {len(est)} of {len(rs)} trials"
                  + (f" (reaction by it: median {bb.median(est):.3f} ms, max {max(est):.3f} ms)" if est else "")
                  + f"; at the last record the charge was ahead of that estimate by median "
                  f"{bb.median(ahead):.0f} KiB (min {min(ahead):.0f}, max {max(ahead):.0f}): the kernel "
                  f"charges a cgroup in per-CPU batches of up to 64 pages, and page tables count too")
    for mc in ("poll-100ms", "poll-1s"):
        rs = [r for r in results if r["mech"] == mc and r["mode"] == mode and "detect_ms" in r]
        if rs:
            print(f"{mc}: cross -> the poll that saw it: median {bb.median([r['detect_ms'] for r in rs]):.1f} ms; "
                  f"that read -> stopped: median {bb.median([r['detect_to_stop_ms'] for r in rs]):.3f} ms, "
                  f"max {max(r['detect_to_stop_ms'] for r in rs):.3f} ms (the cgroup.kill open+write+close "
                  f"returned after {bb.median([r['kill_write_ms'] for r in rs]):.3f} ms median)")
    target = b["reaction_p99_ms"]
    if target is not None:
        print(f"target bpf p99 <= 1 ms ({mode}): {target:.3f} ms ({'p99' if b['n'] >= 100 else 'max'}) -> "
              f"{'met' if target <= 1.0 else 'NOT met'}")
        b["target_1ms"] = "met" if target <= 1.0 else "NOT met"
    return summ


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bb.add_common_args(ap)
    ap.add_argument("--modes", default="cpu,mem")
    ap.add_argument("--bpf-n", type=int, default=200)
    ap.add_argument("--p100-n", type=int, default=50)
    ap.add_argument("--p1s-n", type=int, default=15)
    ap.add_argument("--cpu-budget-ms", type=int, default=200)
    ap.add_argument("--mem-budget-mb", type=int, default=64)
    ap.add_argument("--rate", type=float, default=256, help="mem: MiB/s the burn touches (default 256)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--json", help="write every trial and the summary to this file")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bpf_reaction: needs root (it starts agentcgd)")
    bb.install_cleanup()
    seed = a.seed if a.seed is not None else int(time.time())
    rng = random.Random(seed)
    modes = [m for m in a.modes.split(",") if m]

    m = bb.machine()
    m["daemon"] = a.daemon_desc or f"agentcgd from {a.build}"
    print("== bpf_reaction: from crossing a budget to being stopped")
    bb.print_machine(m)
    rounds = plan(a)
    print(f"trials per mode: bpf {a.bpf_n}, poll-100ms {a.p100_n}, poll-1s {a.p1s_n}, interleaved "
          f"in {len(rounds)} rounds; poller phase random (seed {seed})")
    sys.stdout.flush()

    work = bb.make_workdir("agentcg-bpfbench-react-")
    bins = bb.Binaries(a.build, work, a.bench_bin)
    burn = bins.path("burn")
    shm = Shm(f"/dev/shm/agentcg-bpfbench-{os.getpid()}")
    d = None
    results = []
    summary = {}
    t0 = time.monotonic()
    left_behind = False
    try:
        d = bb.Daemon(bins.agentcgd, a.config, True, "react", work).start()
        bpf = d.info.get("bpf", {})
        print(f"daemon: backend {d.info.get('backend')}, bpf cpu_time {bpf.get('cpu_time')}, "
              f"memory {bpf.get('memory')}")
        if "mem" in modes and bpf.get("memory") != "kernel":
            print("note: this host has no in-kernel memory budget (v2: memory.high does it); "
                  "the mem bpf rows measure the daemon's fallback")
        c = d.client()
        c.call("call.run", {"path": SESSION, "argv": ["/bin/true"]})  # session + pool warm
        for mode in modes:
            for r, mechs in enumerate(rounds):
                for mc in mechs:
                    results.append(trial(d, c, shm, burn, mode, mc, a, rng))
                if (r + 1) % 20 == 0 or r + 1 == len(rounds):
                    bb.log(f"{mode}: round {r + 1}/{len(rounds)} [{time.monotonic() - t0:.0f} s]")
        c.close()
    except KeyboardInterrupt:
        bb.log("bpf_reaction: interrupted")
        return 130
    finally:
        shm.close()
        if d and d.stop():
            bb.log("bpf_reaction: cgroups left behind")
            left_behind = True
        import shutil
        shutil.rmtree(work, ignore_errors=True)

    print()
    print("reaction = last record of the workload - moment its usage crossed the budget; "
          "overshoot = final usage - budget")
    for mode in modes:
        summary[mode] = table(mode, results, a)
    print()
    print(f"total {time.monotonic() - t0:.0f} s")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"machine": m, "args": vars(a), "seed": seed, "summary": summary,
                       "trials": results}, f, indent=1)
    return 1 if left_behind else 0


if __name__ == "__main__":
    sys.exit(main())
