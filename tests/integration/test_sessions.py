#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Stateful interpreter sessions against a real daemon, real interpreters
and real cgroups: persistence and statelessness, nested JSON in and out,
interrupt keeps the state, a memory-hungry cell gets a verdict and its
session survives, an interpreter crash and restart, a cell that prints
without end, a cell's own cgroup and processes, bash sessions, the CLI,
the warm pool, 100 sessions at once, and nothing left behind.

Usage: python3 tests/integration/test_sessions.py BUILD_DIR   (as root)
Prints TAP-style lines and "# N passed, N failed (test_sessions.py)".
"""
import json
import os
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
AGENTCGD = os.path.join(BUILD, "agentcgd")
AGENTCG = os.path.join(BUILD, "agentcg")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import summary  # noqa: E402
from rpcclient import Client, check, daemon, err, res, wait_for  # noqa: E402


def main():
    cfg = json.load(open(os.path.join(HERE, "agentcgd-test.json")))
    cfg["interpreters"] = {"pool": {"python": 2, "bash": 1}}
    with daemon(AGENTCGD, cfg, "sessions") as (sock, pid):
        run(sock, pid)
    sys.exit(summary("test_sessions.py"))


def runner_pids():
    out = subprocess.run(["pgrep", "-f", "agentcg_runner|import ast"], capture_output=True, text=True)
    return set(out.stdout.split())


def run(sock, dpid):
    c = Client(sock)
    info = res(c.call("daemon.info"))
    roots = info.get("roots", [])
    first, last = (int(x) for x in info.get("interpreters", {}).get("uid_range", "0-0").split("-"))

    # --- create, from the warm pool -------------------------------------
    for _ in range(600):  # it starts in idle steps (seconds under qemu TCG)
        pool = res(c.call("daemon.info")).get("interpreters", {})
        if pool.get("ready") == {"python": 2, "bash": 1}:
            break
        time.sleep(0.1)
    check("the warm pool gets ready (%s)" % pool.get("ready"), pool.get("ready") == {"python": 2, "bash": 1}, pool)
    r = c.call("session.create", path="/t1/py", lang="python")
    check("session.create lang python", "result" in r, r)
    check("the interpreter came from the warm pool", res(r).get("from_pool") is True, r)
    # (how fast is for bench/session_bench.py, not a test)
    check("session.create reports its start time (%s us)" % res(r).get("start_us"),
          isinstance(res(r).get("start_us"), int), r)

    # --- persistence, values, exceptions ----------------------------------
    r1 = c.call("session.exec", path="/t1/py", code="x = 1\nimport os")
    r2 = c.call("session.exec", path="/t1/py", code="x += 1")
    r3 = c.call("session.exec", path="/t1/py", code="x")
    check("persist: a variable lives from one exec to the next (x == 2)", res(r3).get("value") == 2, r3)
    check("each exec is its own call: call paths differ",
          len({res(r1).get("path"), res(r2).get("path"), res(r3).get("path")}) == 3, [res(r1).get("path"), res(r2).get("path")])
    check("an exec result has usage and verdict like call.run",
          "usage" in res(r3) and res(r3).get("verdict", {}).get("status") == "ok", r3)
    r = c.call("session.exec", path="/t1/py", code="os.getuid(), os.getgid(), os.getgroups()")
    uid = (res(r).get("value") or [0])[0]
    check("the interpreter runs under a dynamic uid of interpreters.uid_range (%s), gid the same, no groups"
          % uid, first <= uid <= last and res(r).get("value") == [uid, uid, []], r)
    r = c.call("session.exec", path="/t1/py", code="print('hello'); import sys; print('warn', file=sys.stderr); 6*7")
    check("stdout, stderr and the trailing expression",
          (res(r).get("stdout"), res(r).get("stderr"), res(r).get("value")) == ("hello\n", "warn\n", 42), r)
    r = c.call("session.exec", path="/t1/py", code="object()")
    check("a value that is not JSON comes as value_repr", res(r).get("value_repr", "").startswith("<object"), r)
    r = c.call("session.exec", path="/t1/py", code="def f():\n    return 1/0\nf()")
    e = res(r).get("error", {})
    check("an exception: type, message, traceback",
          e.get("type") == "ZeroDivisionError" and "division" in e.get("message", "") and "line 2" in e.get("traceback", ""), r)
    check("an exception: verdict failed, summary names it",
          res(r)["verdict"]["status"] == "failed" and "ZeroDivisionError" in res(r)["verdict"]["summary"], res(r).get("verdict"))

    # --- get / set: nested JSON -------------------------------------------
    nested = {"a": [1, {"b": None, "c": "é\"'$(x)`"}], "n": 1.5, "t": True}
    r = c.call("session.set", path="/t1/py", name="data", value=nested)
    check("session.set injects a nested object", "result" in r, r)
    r = c.call("session.exec", path="/t1/py", code="data['a'][1]['c'] + str(data['n'])")
    check("the injected object is a real dict in the interpreter", res(r).get("value") == "é\"'$(x)`1.5", r)
    c.call("session.exec", path="/t1/py", code="out = {'k': [data['a'][0] + 1, None], 'u': 'ü'}")
    r = c.call("session.get", path="/t1/py", name="out")
    check("session.get returns a nested object", res(r).get("value") == {"k": [2, None], "u": "ü"}, r)
    r = c.call("session.get", path="/t1/py", name="nope")
    check("session.get of an unknown name: not found (-32001)", err(r).get("code") == -32001, r)
    r = c.call("session.get", path="/t1/py", name="os")
    check("session.get of a module: an error, not a crash", "error" in r, r)
    r = c.call("session.get", path="/t1/py", name="bad name")
    check("session.get of a bad name: invalid params", err(r).get("code") == -32602, r)

    # --- interrupt keeps the state -----------------------------------------
    c2 = Client(sock)
    # The cell says it runs by making a file (the interpreter's user may
    # write /tmp); the interrupt goes only once it is there.
    running = "/tmp/agentcg-test-cell-%d" % os.getpid()
    rid = c2.send("session.exec", {"path": "/t1/py", "code":
                                   "keep = 'kept'\nopen(%r, 'w').close()\nwhile True: pass" % running})
    wait_for(lambda: os.path.exists(running), "the cell to start")
    os.unlink(running)
    r = c.call("session.interrupt", path="/t1/py")
    check("session.interrupt interrupts a running cell", res(r).get("interrupted") is True, r)
    r = c2.wait(rid)
    check("the interrupted cell reports KeyboardInterrupt", res(r).get("interrupted") is True
          and res(r).get("error", {}).get("type") == "KeyboardInterrupt", r)
    r = c.call("session.exec", path="/t1/py", code="(keep, x)")
    check("after an interrupt the state is there", res(r).get("value") == ["kept", 2], r)
    c2.close()

    # --- a client that leaves with requests pending ----------------------------
    # The cell runs until a file appears, made once the daemon has seen
    # the client go: the queued gets are answered after it is gone.
    gate = "/tmp/agentcg-test-gate-%d" % os.getpid()
    nclients = c.info().get("clients")
    c3 = Client(sock)
    c3.send("session.exec", {"path": "/t1/py", "code":
                             "import os, time\nfor _ in range(12000):\n"
                             "    if os.path.exists(%r): break\n    time.sleep(0.01)" % gate})
    for _ in range(20):  # queued behind the exec, answered after the client is gone
        c3.send("session.get", {"path": "/t1/py", "name": "keep"})
    wait_for(lambda: c.info().get("clients") == nclients + 1, "the third client to be counted")
    c3.close()
    wait_for(lambda: c.info().get("clients") == nclients, "the daemon to see the client go")
    open(gate, "w").close()
    r = c.call("session.exec", path="/t1/py", code="keep")
    os.unlink(gate)
    check("a client gone with requests pending: the daemon and the session carry on",
          res(r).get("value") == "kept", r)

    # --- timeout: interrupted, not killed ------------------------------------
    r = c.call("session.exec", path="/t1/py", code="import time\ntime.sleep(30)", intent={"timeout": "500ms"})
    ex = res(r).get("verdict", {}).get("exceeded", [])
    check("a cell past its timeout is interrupted", [(e["resource"], e["action"]) for e in ex] == [["timeout", "interrupted"]]
          or [(e["resource"], e["action"]) for e in ex] == [("timeout", "interrupted")], r)
    r = c.call("session.exec", path="/t1/py", code="x")
    check("after a timeout the session keeps its state", res(r).get("value") == 2, r)

    # --- cpu_time: interrupted at the budget (BPF) ---------------------------
    r = c.call("session.exec", path="/t1/py", code="while True: pass", intent={"cpu_time": "300ms"})
    ex = res(r).get("verdict", {}).get("exceeded", [])
    check("a cell past its cpu_time is interrupted", [e["action"] for e in ex if e["resource"] == "cpu_time"] == ["interrupted"], r)
    check("...and the session lives on", res(c.call("session.exec", path="/t1/py", code="x")).get("value") == 2)

    # --- memory: a hungry cell gets a verdict, the session survives ---------
    r = c.call("session.exec", path="/t1/py", code="big = []\nwhile True: big.append(bytearray(1 << 20))",
               intent={"memory": "64M", "memory_max": "512M"}, timeout=60)
    ex = res(r).get("verdict", {}).get("exceeded", [])
    check("a memory-hungry cell gets a memory verdict, interrupted",
          [e["action"] for e in ex if e["resource"] == "memory"] == ["interrupted"], res(r).get("verdict"))
    check("...its peak is near its 64M intent (%s)" % res(r).get("usage", {}).get("memory_peak"),
          64 << 20 <= res(r).get("usage", {}).get("memory_peak", 0) <= 96 << 20, r.get("result", {}).get("usage"))
    r = c.call("session.exec", path="/t1/py", code="del big\nx")
    check("...and the session survives with its state", res(r).get("value") == 2, r)
    r = c.call("session.exec", path="/t1/py", code="import subprocess; subprocess.run(['sh', '-c', 'cat /proc/self/cgroup']).returncode")
    out = res(r).get("stdout", "")
    check("a subprocess of a cell runs in the cell's own call cgroup",
          res(r).get("path", "?").split("/")[-1] in out, (res(r).get("path"), out))
    check("...and is listed in the cell's processes",
          any(p["command"].endswith("/sh") for p in res(r).get("processes", [])), res(r).get("processes"))
    check("the interpreter's baseline stays with the session: a trivial cell's peak is small (%s)"
          % res(c.call("session.exec", path="/t1/py", code="1")).get("usage", {}).get("memory_peak"),
          res(c.call("session.exec", path="/t1/py", code="1")).get("usage", {}).get("memory_peak", 1 << 30) < 4 << 20)

    # --- output without end --------------------------------------------------
    r = c.call("session.exec", path="/t1/py", code="while True: print('y' * 1000)", intent={"timeout": "1s"}, timeout=30)
    check("a cell that prints without end: output bounded and truncated",
          res(r).get("stdout_truncated") is True and len(res(r).get("stdout", "")) <= 65536, {k: v for k, v in res(r).items() if k != "stdout"})
    check("...and it was stopped by its timeout, the session alive",
          res(c.call("session.exec", path="/t1/py", code="x")).get("value") == 2)

    # --- crash, death, reset -------------------------------------------------
    r = c.call("session.exec", path="/t1/py", code="import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    check("an interpreter crash: the exec says the interpreter died",
          res(r).get("session", {}).get("interpreter") == "died" and res(r).get("error", {}).get("type") == "InterpreterDied", r)
    r = c.call("session.exec", path="/t1/py", code="1")
    check("exec on a dead session: -32009 with a way out", err(r).get("code") == -32009
          and err(r).get("data", {}).get("restart") == "session.reset", r)
    r = c.call("session.reset", path="/t1/py")
    check("session.reset starts a new interpreter", res(r).get("restarted") is True, r)
    r = c.call("session.exec", path="/t1/py", code="'x' in dir()")
    check("the new interpreter works and starts clean", res(r).get("value") is False, r)

    # --- a cold start: another binary than the pool's -----------------------
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
    r = c.call("session.create", path="/t1/cold", lang="python", interpreter=py)
    check("session.create with its own interpreter binary: a cold start",
          res(r).get("from_pool") is False and res(r).get("interpreter", {}).get("binary") == py, r)
    r = c.call("session.exec", path="/t1/cold", code="import sys; sys.executable")
    check("...which runs that binary", res(r).get("value") == py or res(r).get("ok") is True, r)
    c.call("session.close", path="/t1/cold")
    r = c.call("session.create", path="/t1/bad", lang="python", interpreter="/nonexistent/python")
    check("an interpreter binary that does not exist is refused at create, naming the field",
          err(r).get("code") == -32602 and err(r).get("data", {}).get("field") == "interpreter"
          and "/nonexistent/python" in err(r).get("message", ""), r)
    # root may run it, the session's dynamic uid may not (a 0700 directory)
    priv = tempfile.mkdtemp(prefix="agentcg-priv-")
    os.symlink(os.path.realpath(py if os.path.isabs(py) else "/usr/bin/python3"), os.path.join(priv, "python"))
    r = c.call("session.create", path="/t1/bad", lang="python", interpreter=os.path.join(priv, "python"))
    r2 = c.call("session.exec", path="/t1/bad", code="1", timeout=30)
    check("an interpreter that cannot start: the exec says why",
          err(r2).get("code") == -32009 or res(r2).get("session", {}).get("interpreter") == "died", (r, r2))
    c.call("session.close", path="/t1/bad")
    os.unlink(os.path.join(priv, "python"))
    os.rmdir(priv)

    # --- stateless ------------------------------------------------------------
    r = c.call("session.create", path="/t1/sl", lang="python", persist=False)
    c.call("session.exec", path="/t1/sl", code="y = 5")
    r = c.call("session.exec", path="/t1/sl", code="'y' in dir()")
    check("persist false: nothing carries over (y gone)", res(r).get("value") is False, r)
    r = c.call("session.exec", path="/t1/sl", code="3 + 4")
    check("persist false: values still come back", res(r).get("value") == 7, r)

    # --- bash ----------------------------------------------------------------
    r = c.call("session.create", path="/t1/sh", lang="bash")
    check("session.create lang bash", "result" in r, r)
    c.call("session.exec", path="/t1/sh", code="V=abc; f() { echo \"f:$1\"; }; cd /tmp")
    r = c.call("session.exec", path="/t1/sh", code="f $V; pwd")
    check("bash: variables, functions and cwd persist", res(r).get("stdout") == "f:abc\n/tmp\n", r)
    r = c.call("session.exec", path="/t1/sh", code="false")
    check("bash: the exit status is the verdict's", res(r).get("exit", {}).get("code") == 1
          and res(r).get("verdict", {}).get("status") == "failed", r)
    tricky = "a 'b' \"c\" $(touch /tmp/pwned-%d) `id` \n;" % os.getpid()
    c.call("session.set", path="/t1/sh", name="T", value=tricky)
    r = c.call("session.get", path="/t1/sh", name="T")
    check("bash: set/get round-trips a value literally", res(r).get("value") == tricky, r)
    check("bash: the value was never executed", not os.path.exists("/tmp/pwned-%d" % os.getpid()))

    # --- CLI -----------------------------------------------------------------
    env = dict(os.environ, AGENTCG_SOCKET=sock)
    p = subprocess.run([AGENTCG, "session", "exec", "/t1/py", "z = 10; z * 2"], capture_output=True, text=True, env=env)
    check("CLI: exec CODE prints the value", (p.returncode, p.stdout) == (0, "20\n"), (p.returncode, p.stdout, p.stderr))
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write("print(z + 1)\n")
    p = subprocess.run([AGENTCG, "session", "exec", "/t1/py", "-f", f.name], capture_output=True, text=True, env=env)
    os.unlink(f.name)
    check("CLI: exec -f FILE", (p.returncode, p.stdout) == (0, "11\n"), (p.returncode, p.stdout, p.stderr))
    p = subprocess.run([AGENTCG, "session", "exec", "/t1/py"], input="raise ValueError('bad')\n", capture_output=True, text=True, env=env)
    check("CLI: exec from stdin; an exception exits 1 with the traceback",
          p.returncode == 1 and "ValueError: bad" in p.stderr, (p.returncode, p.stderr))
    p = subprocess.run([AGENTCG, "session", "set", "/t1/py", "w", '{"a": [1, 2]}'], capture_output=True, text=True, env=env)
    p = subprocess.run([AGENTCG, "--json", "session", "get", "/t1/py", "w"], capture_output=True, text=True, env=env)
    check("CLI: set then get JSON", p.returncode == 0 and json.loads(p.stdout).get("value") == {"a": [1, 2]}, (p.stdout, p.stderr))

    # --- 100 sessions at once ------------------------------------------------
    cs = [Client(sock) for _ in range(4)]
    t0 = time.time()
    ids = []
    for i in range(100):
        cl = cs[i % 4]
        ids.append((cl, cl.send("session.create", {"path": "/t1/m%d" % i, "lang": "python"})))
    created = sum(1 for cl, rid in ids if "result" in cl.wait(rid, 120))
    ids = []
    for i in range(100):
        cl = cs[i % 4]
        ids.append((i, cl, cl.send("session.exec", {"path": "/t1/m%d" % i, "code": "n = %d\nn * 2" % i,
                                                     "intent": {"memory": "16M", "memory_max": "32M"}})))
    replies = [(i, cl.wait(rid, 120)) for i, cl, rid in ids]
    good = sum(1 for i, r in replies if res(r).get("value") == i * 2)
    bad = [r for i, r in replies if res(r).get("value") != i * 2]
    check("100 sessions at once: all created (%d) and all ran (%d) in %.1fs" % (created, good, time.time() - t0),
          created == 100 and good == 100, bad[:1])
    ids = [(cl, cl.send("session.close", {"path": "/t1/m%d" % i})) for i, cl in enumerate(cs * 25)]
    closed = sum(1 for cl, rid in ids if "result" in cl.wait(rid, 120))
    check("100 sessions closed", closed == 100, closed)
    for cl in cs:
        cl.close()

    # --- nothing left ----------------------------------------------------------
    for path in ("/t1/py", "/t1/sl", "/t1/sh"):
        c.call("session.close", path=path)

    def leftovers():
        left = []
        for r in roots:
            for dpath, dirs, _ in os.walk(r):
                for x in dirs:
                    if x.startswith("call-") or x in ("py", "sl", "sh", "cold", "bad") or x.startswith("m"):
                        left.append(os.path.join(dpath, x))
        return left
    try:
        wait_for(lambda: not leftovers(), "session and call cgroups to be removed")
    except TimeoutError:
        pass
    left = leftovers()
    check("no session or call cgroup left", not left, left[:5])
    for _ in range(600):
        pool = res(c.call("daemon.info")).get("interpreters", {})
        if pool.get("ready") == {"python": 2, "bash": 1}:
            break
        time.sleep(0.1)
    check("the warm pool refilled (%s)" % pool.get("ready"), pool.get("ready") == {"python": 2, "bash": 1}, pool)
    mv = pool.get("moves", {})
    check("the daemon moved the runners between cells' cgroups, none failed (%s moves, mean %.1f ms)"
          % (mv.get("moves"), mv.get("mean_ms") or 0), mv.get("moves", 0) > 100 and mv.get("failures") == 0, mv)
    check("the uids of closed sessions are free again (%s held, pool only)" % pool.get("uids_held"),
          pool.get("uids_held") == 3, pool)
    # Processes in the daemon's tree: only the pool's (2 python runners,
    # 1 runner + its bash), in <root>/.interpreters.
    stray, pooled = [], []
    for dpath, _, files in os.walk(roots[0]):
        if "cgroup.procs" in files:
            pids = open(os.path.join(dpath, "cgroup.procs")).read().split()
            (pooled if os.path.basename(dpath) == ".interpreters" else stray).extend(pids)
    check("no process left in the tree but the warm pool's (%d pooled)" % len(pooled),
          not stray and len(pooled) <= 4, (stray, pooled))
    c.close()


if __name__ == "__main__":
    main()
