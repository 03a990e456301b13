# SPDX-License-Identifier: GPL-2.0
"""Interpreter sessions (issue 5) side by side with a Jupyter kernel.

One throw-away agentcgd (a copy of tests/integration/agentcgd-test.json plus
"interpreters": {"pool": {"python": 2, "bash": 0}}, --root
bench-sessions-<pid>, its own socket, tenant t1) and Debian's ipykernel
(python3-ipykernel, kernelspec "python3" = /usr/bin/python3), driven from
this one process with interleaved rounds:

  [1] round trip of a trivial cell `x += 1`: agentcg session.exec over an
      open connection vs jupyter_client BlockingKernelClient.execute() to
      the execute_reply (and to the iopub idle status), plus a raw zmq
      DEALER client on the same kernel (no jupyter_client channel code:
      what the kernel itself costs). Then both again after a 200 ms idle
      sleep before every cell.
  [2] session start: session.create from the warm pool, a cold one
      ("interpreter": "/usr/bin/python3", not the pool's binary), and
      KernelManager.start_kernel + wait_for_ready; each to the reply /
      ready, and to the end of a first cell "1" sent at once; and a pool
      create whose first cell is sent 50 ms after the reply.
  [3] stateless sessions (persist false): `x = 1` then `'x' in dir()`, vs a
      persistent session in the same rounds.

Run it with Debian's /usr/bin/python3 (it has jupyter_client), as root, from
bench/run_sessions.sh. Python 3 stdlib + jupyter_client/zmq.
"""
import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpfbench as bb  # noqa: E402

REPO = bb.REPO
PY = "/usr/bin/python3"

out_lines = []


def say(*a):
    s = " ".join(str(x) for x in a)
    print(s, flush=True)
    out_lines.append(s)


def ms(ns):
    return ns / 1e6


def stats(xs):
    """n, median, p90, p99 (nearest rank), mean, min, max, in ms, from ns."""
    if not xs:
        return None
    v = [ms(x) for x in xs]
    return {"n": len(v), "median": bb.median(v), "p90": bb.pct(v, 90), "p99": bb.pct(v, 99),
            "mean": sum(v) / len(v), "min": min(v), "max": max(v)}


def row(name, xs, nd=3):
    s = stats(xs)
    if s is None:
        return f"| {name} | 0 | - | - | - | - | - |"
    p99 = bb.fmt(s["p99"], nd) + (" (max)" if s["n"] < 100 else "")
    return (f"| {name} | {s['n']} | {bb.fmt(s['median'], nd)} | {bb.fmt(s['p90'], nd)} | "
            f"{p99} | {bb.fmt(s['mean'], nd)} | {bb.fmt(s['max'], nd)} |")


HEAD = ("| | n | median ms | p90 | p99 | mean | max |\n"
        "|---|---:|---:|---:|---:|---:|---:|")


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except (OSError, TypeError):
        return None


def tree_rss_kib(pid):
    """RSS of pid plus its direct children (ipykernel has none by default)."""
    total = rss_kib(pid) or 0
    try:
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        kids = []
    for k in kids:
        total += rss_kib(int(k)) or 0
    return total


def commit():
    """Short HEAD, whether the tree is dirty (`git status --porcelain`), and
    how many of the changed paths are daemon sources."""
    rev = bb.git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bb.git("status", "--porcelain").splitlines()
    src = [l for l in dirty if l[3:].startswith(("userspace/", "include/", "bpf/", "config/",
                                                 "Makefile"))]
    return rev, bool(dirty), f"{len(dirty)} changed paths, {len(src)} in the daemon's sources"


# ------------------------------------------------------------------ agentcg

class SessDaemon(bb.Daemon):
    """bpfbench's throw-away daemon with this bench's config, root and
    socket (start, SIGTERM stop and the leftover check are bpfbench's)."""

    def __init__(self, agentcgd, template, workdir):
        with open(template) as f:
            cfg = json.load(f)
        cfg["interpreters"] = {"pool": {"python": 2, "bash": 0}}
        self.cfg = cfg
        self.bpf = False          # do not insist on BPF (the test config leaves its default)
        self.tag = "sessions"
        self.cfg_path = os.path.join(workdir, "agentcgd-sessions.json")
        with open(self.cfg_path, "w") as f:
            json.dump(cfg, f, indent=1)
        self.root_name = f"bench-sessions-{os.getpid()}"
        self.socket = f"/tmp/agentcg-bench-sessions-{os.getpid()}.sock"
        self.log_path = os.path.join(workdir, "agentcgd-sessions.log")
        self.agentcgd = agentcgd
        self.proc = None
        self.info = None
        self.roots = []


class Agentcg:
    def __init__(self, daemon):
        self.d = daemon
        self.c = daemon.client()
        self.c.sock.settimeout(None)
        self.seq = 0

    def call(self, method, params, timeout=60.0):
        return self.c.call(method, params, timeout)

    def timed(self, method, params, timeout=60.0):
        """(ns, result) of one request on the open connection, to the reply."""
        t0 = time.perf_counter_ns()
        rid = self.c.send(method, params)
        r = self.c.wait_reply(rid, timeout)
        t1 = time.perf_counter_ns()
        if r is None:
            raise TimeoutError(f"{method}: no reply in {timeout} s")
        return t1 - t0, r

    def exec(self, path, code):
        ns, r = self.timed("session.exec", {"path": path, "code": code})
        if not r.get("ok"):
            raise RuntimeError(f"session.exec {path} {code!r}: {json.dumps(r)[:600]}")
        return ns, r

    def name(self, prefix):
        self.seq += 1
        return f"/t1/{prefix}-{self.seq}"

    def pool_state(self):
        return self.call("daemon.info", {}).get("interpreters", {})

    def wait_pool(self, want, min_wait_s, deadline_s=20.0):
        """Sleep at least min_wait_s, then until the pool has `want` ready
        interpreters and none starting."""
        t_end = time.monotonic() + deadline_s
        time.sleep(min_wait_s)
        while True:
            st = self.pool_state()
            if (st.get("ready", {}).get("python", 0) >= want
                    and not st.get("starting", {}).get("python", 0)):
                return st
            if time.monotonic() > t_end:
                return st
            time.sleep(0.05)

    def close_session(self, path):
        self.call("session.close", {"path": path})


# ------------------------------------------------------------------ jupyter

class Jupyter:
    """A Debian ipykernel ("python3" kernelspec) and a BlockingKernelClient;
    plus a raw zmq DEALER on its shell port for the lower-bound row."""

    def __init__(self):
        import jupyter_client
        import zmq
        self.jc = jupyter_client
        self.zmq = zmq
        self.km = None
        self.kc = None
        self.raw = None
        self.zctx = None

    def spec_argv(self):
        km = self.jc.KernelManager(kernel_name="python3")
        return list(km.kernel_spec.argv)

    def start(self):
        self.km = self.jc.KernelManager(kernel_name="python3")
        argv0 = self.km.kernel_spec.argv[0]
        if os.path.realpath(argv0) != os.path.realpath(PY):
            raise RuntimeError(f"kernelspec python3 runs {argv0}, not {PY}: "
                               f"{self.km.kernel_spec.resource_dir}")
        _live_kernels.append(self)
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        _kernel_pids.append(self.pid())

    def pid(self):
        try:
            return self.km.provisioner.process.pid
        except AttributeError:
            return None

    def execute(self, code, timeout=30.0):
        """(ns to the execute_reply, ns to the iopub idle, reply)."""
        kc = self.kc
        t0 = time.perf_counter_ns()
        mid = kc.execute(code)
        while True:
            m = kc.get_shell_msg(timeout=timeout)
            if m.get("parent_header", {}).get("msg_id") == mid:
                break
        t1 = time.perf_counter_ns()
        self.wait_idle(mid, timeout)
        t2 = time.perf_counter_ns()
        if m["content"].get("status") != "ok":
            raise RuntimeError(f"jupyter execute {code!r}: {m['content']}")
        return t1 - t0, t2 - t0, m

    def wait_idle(self, mid, timeout=30.0):
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("jupyter: no idle status")
            m = self.kc.get_iopub_msg(timeout=left)
            if (m.get("msg_type") == "status" and m["content"].get("execution_state") == "idle"
                    and m.get("parent_header", {}).get("msg_id") == mid):
                return

    def raw_open(self):
        self.zctx = self.zmq.Context()
        s = self.zctx.socket(self.zmq.DEALER)
        s.linger = 0
        s.connect(f"{self.km.transport}://{self.km.ip}:{self.km.shell_port}")
        self.raw = s

    def raw_execute(self, code, timeout=30.0):
        """ns from sending an execute_request on our own sync DEALER to
        having its execute_reply (the kernel's iopub messages for it are
        drained afterwards, untimed)."""
        sess = self.kc.session
        content = {"code": code, "silent": False, "store_history": True,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}
        t0 = time.perf_counter_ns()
        msg = sess.send(self.raw, "execute_request", content)
        mid = msg["header"]["msg_id"]
        while True:
            if not self.raw.poll(int(timeout * 1000)):
                raise TimeoutError("raw zmq: no execute_reply")
            _, m = sess.recv(self.raw, mode=0)
            if m and m.get("parent_header", {}).get("msg_id") == mid:
                break
        t1 = time.perf_counter_ns()
        self.wait_idle(mid, timeout)
        if m["content"].get("status") != "ok":
            raise RuntimeError(f"raw execute {code!r}: {m['content']}")
        return t1 - t0

    def value(self, expr):
        mid = self.kc.execute("", user_expressions={"v": expr})
        while True:
            m = self.kc.get_shell_msg(timeout=30)
            if m.get("parent_header", {}).get("msg_id") == mid:
                break
        self.wait_idle(mid)
        return m["content"]["user_expressions"]["v"].get("data", {}).get("text/plain")

    def stop(self):
        if self in _live_kernels:
            _live_kernels.remove(self)
        if self.raw is not None:
            self.raw.close(linger=0)
            self.raw = None
        if self.zctx is not None:
            self.zctx.term()
            self.zctx = None
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=False)
            except Exception:
                self.km.shutdown_kernel(now=True)
            try:
                self.km.cleanup_resources()
            except Exception:
                pass
        self.km = self.kc = None


_live_kernels = []
_kernel_pids = []


def stop_kernels():
    for k in list(_live_kernels):
        try:
            k.stop()
        except Exception as e:  # keep going: the rest must stop too
            bb.log(f"bench: stopping a kernel: {e}")


# ------------------------------------------------------------------ parts

def part_roundtrip(ag, ju, args, res):
    path = ag.name("rt")
    r = ag.call("session.create", {"path": path, "lang": "python"})
    res["rt_session_from_pool"] = r.get("from_pool")
    runner_pid = r.get("interpreter", {}).get("pid")
    ag.exec(path, "x = 0")
    ju.execute("x = 0")
    ju.raw_open()
    for _ in range(args.warmup):
        ag.exec(path, "x += 1")
        ju.execute("x += 1")
        ju.raw_execute("x += 1")
    ag.exec(path, "x = 0")
    ju.execute("x = 0")
    a, aw, ab2b, jr, ji, raw = [], [], [], [], [], []
    jn = 0
    prev = None
    for i in range(args.n):
        order = ("a", "j", "r") if i % 2 == 0 else ("r", "j", "a")
        for w in order:
            if w == "a":
                ns, r = ag.exec(path, "x += 1")
                a.append(ns)
                aw.append(wall_ns(r))
                ab2b.append(prev == "a")
            elif w == "j":
                t_rep, t_idle, _ = ju.execute("x += 1")
                jr.append(t_rep)
                ji.append(t_idle)
                jn += 1
            else:
                raw.append(ju.raw_execute("x += 1"))
                jn += 1
            prev = w
    # sanity: every cell ran, in the right namespace
    _, rv = ag.exec(path, "x")
    res["check_agentcg_x"] = (rv.get("value"), args.n)
    res["check_jupyter_x"] = (ju.value("x"), jn)
    res["exe"] = {"agentcg_runner": exe_of(runner_pid), "jupyter_kernel": exe_of(ju.pid())}
    res["rss_kib"] = {"agentcg_runner": rss_kib(runner_pid) if runner_pid else None,
                      "jupyter_kernel": tree_rss_kib(ju.pid()) if ju.pid() else None}
    # after an idle moment: 200 ms sleep before every cell
    ai, aiw, jir, jii = [], [], [], []
    for i in range(args.idle_n):
        order = ("a", "j") if i % 2 == 0 else ("j", "a")
        for w in order:
            time.sleep(args.idle_ms / 1000)
            if w == "a":
                ns, r = ag.exec(path, "x += 1")
                ai.append(ns)
                aiw.append(wall_ns(r))
            else:
                t_rep, t_idle, _ = ju.execute("x += 1")
                jir.append(t_rep)
                jii.append(t_idle)
    ag.close_session(path)
    res["agentcg_back_to_back"] = ab2b
    res["roundtrip"] = {"agentcg": a, "agentcg_wall": aw, "agentcg_after_idle_wall": aiw,
                        "jupyter_reply": jr, "jupyter_idle": ji, "jupyter_raw": raw,
                        "agentcg_after_idle": ai, "jupyter_reply_after_idle": jir,
                        "jupyter_idle_after_idle": jii}


def wall_ns(r):
    """The daemon's usage.wall_us of an exec (from handing the cell to the
    runner to its answer), in ns."""
    return int(r.get("usage", {}).get("wall_us", 0)) * 1000


def rest(total, wall):
    return [t - w for t, w in zip(total, wall)]


def part_stateless(ag, args, res):
    sp = ag.name("stateless")
    pp = ag.name("persist")
    r1 = ag.call("session.create", {"path": sp, "lang": "python", "persist": False})
    time.sleep(1.0)
    r2 = ag.call("session.create", {"path": pp, "lang": "python"})
    res["stateless_from_pool"] = [r1.get("from_pool"), r2.get("from_pool")]
    for _ in range(args.warmup // 2):
        for p in (sp, pp):
            ag.exec(p, "x = 1")
            ag.exec(p, "'x' in dir()")
    out = {"stateless_assign": [], "stateless_lookup": [], "persist_assign": [],
           "persist_lookup": []}
    wrong = {"stateless": 0, "persist": 0}
    for i in range(args.stateless_n):
        modes = (("stateless", sp), ("persist", pp))
        if i % 2:
            modes = modes[::-1]
        for mode, p in modes:
            ns, _ = ag.exec(p, "x = 1")
            out[f"{mode}_assign"].append(ns)
            ns, r = ag.exec(p, "'x' in dir()")
            out[f"{mode}_lookup"].append(ns)
            if r.get("value") is not (mode == "persist"):
                wrong[mode] += 1
    ag.close_session(sp)
    ag.close_session(pp)
    res["stateless"] = out
    res["stateless_wrong_values"] = wrong


def part_start(ag, ju_factory, args, res):
    out = {k: [] for k in ("pool_reply", "pool_first", "pool_start_us",
                           "pool_first_exec_wall", "pool_first_exec_rest",
                           "pool50_reply", "pool50_exec", "pool50_exec_rest", "cold_reply",
                           "cold_first", "cold_start_us", "jup_ready", "jup_first",
                           "jup_start_kernel")}
    misses = 0
    # warm-up of each kind, untimed (IPython's profile dir, page cache)
    for kind in ("pool", "pool50", "cold", "jup"):
        one_start(ag, ju_factory, kind, {k: [] for k in out}, args)
    for i in range(args.start_n):
        kinds = ["pool", "pool50", "cold", "jup"]
        k = i % 4
        kinds = kinds[k:] + kinds[:k]          # rotate the order each round
        for kind in kinds:
            if not one_start(ag, ju_factory, kind, out, args):
                misses += 1
    res["start"] = out
    res["start_pool_not_from_pool"] = misses


def one_start(ag, ju_factory, kind, out, args):
    """One start of `kind`; appends to out; False if a pool create was not
    served from the pool (then it is not counted)."""
    if kind == "pool":
        ag.wait_pool(2, args.pool_gap)
        path = ag.name("pool")
        t_rep, r = ag.timed("session.create", {"path": path, "lang": "python"})
        t_ex, rx = ag.exec(path, "1")
        ag.close_session(path)
        if not r.get("from_pool"):
            return False
        out["pool_reply"].append(t_rep)
        out["pool_first"].append(t_rep + t_ex)
        out["pool_first_exec_wall"].append(wall_ns(rx))
        out["pool_first_exec_rest"].append(t_ex - wall_ns(rx))
        out["pool_start_us"].append(r.get("start_us", 0) * 1000)
        return True
    if kind == "pool50":
        ag.wait_pool(2, args.pool_gap)
        path = ag.name("pool50")
        t_rep, r = ag.timed("session.create", {"path": path, "lang": "python"})
        time.sleep(0.05)
        t_ex, rx = ag.exec(path, "1")
        ag.close_session(path)
        if not r.get("from_pool"):
            return False
        out["pool50_reply"].append(t_rep)
        out["pool50_exec"].append(t_ex)
        out["pool50_exec_rest"].append(t_ex - wall_ns(rx))
        return True
    if kind == "cold":
        ag.wait_pool(2, 0.2)
        path = ag.name("cold")
        t_rep, r = ag.timed("session.create", {"path": path, "lang": "python",
                                               "interpreter": PY})
        t_ex, _ = ag.exec(path, "1")
        ag.close_session(path)
        if r.get("from_pool"):
            raise RuntimeError("a cold start came from the pool")
        out["cold_reply"].append(t_rep)
        out["cold_first"].append(t_rep + t_ex)
        out["cold_start_us"].append(r.get("start_us", 0) * 1000)
        return True
    ag.wait_pool(2, 0.2)
    ju = ju_factory()
    t0 = time.perf_counter_ns()
    ju.km.start_kernel()
    t_sk = time.perf_counter_ns()
    ju.kc = ju.km.client()
    ju.kc.start_channels()
    ju.kc.wait_for_ready(timeout=120)
    t1 = time.perf_counter_ns()
    _kernel_pids.append(ju.pid())
    t_rep, _, _ = ju.execute("1")
    ju.stop()
    out["jup_start_kernel"].append(t_sk - t0)
    out["jup_ready"].append(t1 - t0)
    out["jup_first"].append(t1 - t0 + t_rep)
    return True


def new_kernel_manager_only():
    ju = Jupyter()
    ju.km = ju.jc.KernelManager(kernel_name="python3")
    argv0 = ju.km.kernel_spec.argv[0]
    if os.path.realpath(argv0) != os.path.realpath(PY):
        raise RuntimeError(f"kernelspec python3 runs {argv0}, not {PY}")
    _live_kernels.append(ju)
    return ju


# ------------------------------------------------------------------ report

def verdict(ok):
    return "**met**" if ok else "**NOT met**"


def report(res, m, args):
    rt = res["roundtrip"]
    say("")
    say("## [1] Round trip of `x += 1` (persistent session vs Jupyter kernel)")
    say("")
    say(f"{args.n} interleaved rounds (order a,j,r / r,j,a), after {args.warmup} warm-up cells "
        "of each; a client on /usr/bin/python3 for both.")
    say("")
    say(HEAD)
    say(row("agentcg session.exec (pool interpreter, open connection)", rt["agentcg"]))
    say(row("… of which the cell in the daemon (usage.wall_us)", rt["agentcg_wall"]))
    say(row("… the rest: RPC, JSON, cgroup bookkeeping, waiting for the park",
            rest(rt["agentcg"], rt["agentcg_wall"])))
    b2b = res["agentcg_back_to_back"]
    say(row("… agentcg cells right after the previous agentcg cell (back to back)",
            [x for x, f in zip(rt["agentcg"], b2b) if f]))
    say(row("… agentcg cells with Jupyter cells in between",
            [x for x, f in zip(rt["agentcg"], b2b) if not f]))
    say(row("Jupyter BlockingKernelClient.execute → execute_reply", rt["jupyter_reply"]))
    say(row("Jupyter, the same → iopub status idle", rt["jupyter_idle"]))
    say(row("Jupyter, raw zmq DEALER → execute_reply (no jupyter_client channels)",
            rt["jupyter_raw"]))
    sa, sj, sr = stats(rt["agentcg"]), stats(rt["jupyter_reply"]), stats(rt["jupyter_raw"])
    ratio = sj["median"] / sa["median"]
    say("")
    say(f"ratio Jupyter/agentcg, medians: {ratio:.2f}× (p90 {sj['p90'] / sa['p90']:.2f}×, "
        f"p99 {sj['p99'] / sa['p99']:.2f}×); raw zmq/agentcg {sr['median'] / sa['median']:.2f}×")
    rs = rest(rt["agentcg"], rt["agentcg_wall"])
    slow_b = sum(1 for r, f in zip(rs, b2b) if f and r > 2e6)
    slow_g = sum(1 for r, f in zip(rs, b2b) if not f and r > 2e6)
    say(f"agentcg cells whose 'rest' exceeded 2 ms: {slow_b} of {sum(b2b)} back to back, "
        f"{slow_g} of {len(b2b) - sum(b2b)} with Jupyter cells in between")
    say(f"sanity: agentcg x = {res['check_agentcg_x'][0]} after {res['check_agentcg_x'][1]} "
        f"timed cells; Jupyter x = {res['check_jupyter_x'][0]} after "
        f"{res['check_jupyter_x'][1]} (execute + raw)")
    rss = res["rss_kib"]
    say(f"RSS after the warm-up: agentcg runner {rss['agentcg_runner']} KiB, Jupyter kernel "
        f"{rss['jupyter_kernel']} KiB; executables: runner {res['exe']['agentcg_runner']}, "
        f"kernel {res['exe']['jupyter_kernel']}")
    say("")
    say(f"After a {args.idle_ms} ms idle sleep before every cell ({args.idle_n} of each, "
        "interleaved):")
    say("")
    say(HEAD)
    say(row("agentcg session.exec after idle", rt["agentcg_after_idle"]))
    say(row("… of which the cell in the daemon (usage.wall_us)", rt["agentcg_after_idle_wall"]))
    say(row("… the rest", rest(rt["agentcg_after_idle"], rt["agentcg_after_idle_wall"])))
    say(row("Jupyter execute → execute_reply after idle", rt["jupyter_reply_after_idle"]))
    say(row("Jupyter execute → iopub idle after idle", rt["jupyter_idle_after_idle"]))
    sai, sji = stats(rt["agentcg_after_idle"]), stats(rt["jupyter_reply_after_idle"])
    ratio_idle = sji["median"] / sai["median"]
    say("")
    say(f"ratio Jupyter/agentcg after idle, medians: {ratio_idle:.2f}×")

    st = res["start"]
    say("")
    say("## [2] Session start")
    say("")
    say(f"{args.start_n} rounds, order rotated each round; a pool create only after "
        f"≥ {args.pool_gap:.1f} s and the pool back at 2 ready; each session closed / kernel "
        "shut down after (untimed). n < 100: p99 is the max.")
    say("")
    say(HEAD)
    say(row("(a) session.create from the pool → reply", st["pool_reply"]))
    say(row("(a) … + first exec `1` → its reply", st["pool_first"]))
    say(row("(a) daemon's own start_us (in the reply)", st["pool_start_us"]))
    say(row("(a) first exec: the cell in the daemon (usage.wall_us)", st["pool_first_exec_wall"]))
    say(row("(a) first exec: the rest (incl. waiting for the park)", st["pool_first_exec_rest"]))
    say(row("(a') from the pool, first exec 50 ms after the reply: the exec alone",
            st["pool50_exec"]))
    say(row("(a') … its rest (incl. any wait for the park)", st["pool50_exec_rest"]))
    say(row("(b) cold session.create (/usr/bin/python3) → reply", st["cold_reply"]))
    say(row("(b) … + first exec `1` → its reply", st["cold_first"]))
    say(row("(b) daemon's own start_us", st["cold_start_us"]))
    say(row("(c) Jupyter KernelManager.start_kernel() returns", st["jup_start_kernel"]))
    say(row("(c) … + client.wait_for_ready()", st["jup_ready"]))
    say(row("(c) … + first execute `1` → execute_reply", st["jup_first"]))
    say("")
    say(f"pool creates not served from the pool (not counted): {res['start_pool_not_from_pool']}")

    sl = res["stateless"]
    say("")
    say("## [3] Stateless (persist false) vs persistent exec")
    say("")
    say(f"{args.stateless_n} rounds; each round `x = 1` then `'x' in dir()` in each session, "
        "the order of the two sessions alternating.")
    say("")
    say(HEAD)
    say(row("stateless: `x = 1`", sl["stateless_assign"]))
    say(row("stateless: `'x' in dir()`", sl["stateless_lookup"]))
    say(row("stateless: both", sl["stateless_assign"] + sl["stateless_lookup"]))
    say(row("persistent: `x = 1`", sl["persist_assign"]))
    say(row("persistent: `'x' in dir()`", sl["persist_lookup"]))
    say(row("persistent: both", sl["persist_assign"] + sl["persist_lookup"]))
    ss = stats(sl["stateless_assign"] + sl["stateless_lookup"])
    sp = stats(sl["persist_assign"] + sl["persist_lookup"])
    say("")
    say(f"stateless − persistent per exec: median {ss['median'] - sp['median']:+.3f} ms, "
        f"p99 {ss['p99'] - sp['p99']:+.3f} ms (ratio of medians {ss['median'] / sp['median']:.2f}×)")
    say(f"wrong values of `'x' in dir()` (stateless must be False, persistent True): "
        f"{res['stateless_wrong_values']}")

    pool_med = stats(st["pool_reply"])["median"]
    pool_first = stats(st["pool_first"])["median"]
    say("")
    say("## Targets")
    say("")
    say("| target | measured | verdict |")
    say("|---|---|---|")
    say(f"| session.exec median ≥ 3× lower than Jupyter | {ratio:.2f}× ({sa['median']:.3f} vs "
        f"{sj['median']:.3f} ms) | {verdict(ratio >= 3)} |")
    say(f"| the same after {args.idle_ms} ms idle (not a target; reported) | {ratio_idle:.2f}× "
        f"({sai['median']:.3f} vs {sji['median']:.3f} ms) | {verdict(ratio_idle >= 3)} |")
    say(f"| session start from the pool ≤ 5 ms (median, to the reply) | {pool_med:.3f} ms "
        f"(p99 {stats(st['pool_reply'])['p99']:.3f}) | {verdict(pool_med <= 5)} |")
    say(f"| … to the end of the first exec ≤ 5 ms (median) | {pool_first:.3f} ms "
        f"(p99 {stats(st['pool_first'])['p99']:.3f}) | {verdict(pool_first <= 5)} |")
    p50 = stats([a + b for a, b in zip(st["pool50_reply"], st["pool50_exec"])])
    say(f"| … the same with the first exec 50 ms after the reply (the 50 ms not counted) | "
        f"{p50['median']:.3f} ms (p99 {p50['p99']:.3f}) | {verdict(p50['median'] <= 5)} |")
    return {"ratio": ratio, "ratio_after_idle": ratio_idle, "pool_reply_median": pool_med,
            "pool_first_median": pool_first, "pool50_create_plus_exec_median": p50["median"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"), help="dir with agentcgd")
    ap.add_argument("--config", default=os.path.join(REPO, "tests/integration/agentcgd-test.json"))
    ap.add_argument("-n", type=int, default=500, help="[1] rounds (default 500)")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--idle-n", type=int, default=50, help="[1] cells after idle (50)")
    ap.add_argument("--idle-ms", type=int, default=200)
    ap.add_argument("--start-n", type=int, default=30, help="[2] starts of each kind (30)")
    ap.add_argument("--pool-gap", type=float, default=1.0, help="[2] s before a pool create")
    ap.add_argument("--stateless-n", type=int, default=300, help="[3] rounds (300)")
    ap.add_argument("--json", help="write every sample (ms) and the summary here")
    ap.add_argument("--daemon-desc", default="")
    args = ap.parse_args()

    if os.geteuid() != 0:
        sys.exit("session_bench: needs root (it runs agentcgd)")
    if os.path.realpath(sys.executable) != os.path.realpath(PY):
        bb.log(f"session_bench: note: running under {sys.executable}, not {PY}")

    workdir = bb.make_workdir("agentcg-sessbench-")
    os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(workdir, "jupyter-runtime")
    os.environ["IPYTHONDIR"] = os.path.join(workdir, "ipython")
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"   # ipykernel's debugger warning

    bb.install_cleanup()
    bins = bb.Binaries(args.build, workdir)
    with open(bins.agentcgd, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()[:12]
    d = SessDaemon(bins.agentcgd, args.config, workdir)
    m = bb.machine()
    rev, dirty, dirty_desc = commit()
    res = {}
    left = []
    ok = False
    try:
        d.start()
        ag = Agentcg(d)
        info = d.info
        import jupyter_client
        import ipykernel
        import zmq
        ju = Jupyter()
        say("# Interpreter sessions: agentcg vs a Jupyter kernel (bench/session_bench.py)")
        say("")
        say(f"machine: nproc {os.cpu_count()}, kernel {platform.release()}, "
            f"{m['cpu_model']}, {m['mem_gib']} GiB, CONFIG_HZ={m['config_hz'] or '?'}")
        say(f"date:    {m['date_utc']}")
        say(f"commit:  {rev}{' dirty' if dirty else ''} ({dirty_desc})")
        say(f"daemon:  {args.daemon_desc or args.build + '/agentcgd'} (sha256 {sha}), "
            f"backend {info.get('backend')}, bpf loaded {info.get('bpf', {}).get('loaded')}, "
            f"interpreters {json.dumps(info.get('interpreters'))}")
        say(f"         root bench-sessions-{os.getpid()}, config {os.path.relpath(args.config, REPO)}"
            " + interpreters.pool {python: 2, bash: 0}, tenant t1")
        say(f"jupyter: jupyter_client {jupyter_client.__version__}, ipykernel {ipykernel.__version__}, "
            f"pyzmq {zmq.__version__}, kernelspec python3 argv {ju.spec_argv()}")
        say(f"client:  {sys.executable} {platform.python_version()} (both clients, one process)")
        say(f"load:    {open('/proc/loadavg').read().strip()} (at start)")
        ag.wait_pool(2, 0)
        ju.start()
        say(f"         kernel pid {ju.pid()}, exe {os.readlink(f'/proc/{ju.pid()}/exe')}")
        t0 = time.monotonic()
        part_roundtrip(ag, ju, args, res)
        ju.stop()
        bb.log(f"bench: [1] done in {time.monotonic() - t0:.0f} s")
        t0 = time.monotonic()
        ag.wait_pool(2, 1.0)
        part_stateless(ag, args, res)
        bb.log(f"bench: [3] done in {time.monotonic() - t0:.0f} s")
        t0 = time.monotonic()
        part_start(ag, new_kernel_manager_only, args, res)
        bb.log(f"bench: [2] done in {time.monotonic() - t0:.0f} s")
        info_end = ag.call("daemon.info", {})
        summary = report(res, m, args)
        say("")
        say(f"daemon at the end: interpreters {json.dumps(info_end.get('interpreters'))}, "
            f"calls_total {info_end.get('calls_total')}")
        say(f"load:    {open('/proc/loadavg').read().strip()} (at the end)")
        ag.c.close()
        ok = True
    finally:
        stop_kernels()
        left = d.stop()
        if not ok:
            bb.log("bench: failed; the daemon's log:\n" + bb._read(d.log_path)[-4000:])
        shutil.rmtree(workdir, ignore_errors=True)
    alive = [p for p in _kernel_pids if os.path.exists(f"/proc/{p}")
             and not open(f"/proc/{p}/stat").read().split(") ")[1].startswith("Z")]
    say(f"cleanup: daemon stopped (SIGTERM); cgroups left behind: {left or 'none'}; "
        f"kernels started {len(_kernel_pids)}, still running: {alive or 'none'}")
    if args.json:
        js = {"machine": m, "commit": rev, "dirty": dirty, "agentcgd_sha256": sha,
              "args": vars(args), "summary": summary,
              "samples_ms": {}}
        for part in ("roundtrip", "stateless", "start"):
            for k, v in res[part].items():
                js["samples_ms"][f"{part}.{k}"] = [round(ms(x), 4) for x in v]
        for k in ("exe", "agentcg_back_to_back", "check_agentcg_x", "check_jupyter_x", "rss_kib", "stateless_wrong_values",
                  "start_pool_not_from_pool"):
            js[k] = res.get(k)
        with open(args.json, "w") as f:
            json.dump(js, f)
    return 1 if left or alive else 0


if __name__ == "__main__":
    sys.exit(main())
