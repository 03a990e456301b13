# SPDX-License-Identifier: GPL-2.0
"""Issue 13's smaller findings, as attacks by unprivileged users (items 5,
9, 10): spare stubs spending a tenant's pids, a thaw of what the pressure
ladder froze, a poisoned label history, values nested too deep for the
runner, a reply to a freed client, and the socket's directory."""
import json
import os
import subprocess
import sys
import tempfile

from rpcclient import WAIT, Client, check, err, res, wait_for
from secenv import as_user, client_as, raw_socket_as


def session_names(root, tenant):
    kids = res(root.call("cg.list", path=tenant)).get("children") or []
    return [k.get("name") for k in kids]


def close_reply_to_gone_client(env):
    """User a closes a session and hangs up while its calls are being
    removed; user b connects then. The answer to a's session.close must go
    nowhere: before, the daemon compared a freed client's address with the
    live ones, and b's new connection, at the same address, got a's reply."""
    n = 100
    cfg = env.config()
    # a holds n calls and b 64 connections at once: more than the quotas
    cfg["per_uid"] = {"calls_running": n + 10, "connections": 128}
    with env.daemon(cfg, "sec-close") as (sock, _pid):
        root = Client(sock)
        a = client_as(sock, "a")
        r = a.call("session.create", path="/ta/closing")
        check("a creates a session", "result" in r, r)
        # While a call runs, the daemon spaces its background steps (2 ms):
        # removing a's n calls then takes long enough for what follows.
        busy = root.send("call.run", {"path": "/ta/busy", "argv": ["sleep", "600"],
                                      "intent": {"memory": "4M"}})
        runner = client_as(sock, "a")
        ids = [runner.send("call.run", {"path": "/ta/closing", "argv": ["sleep", "600"],
                                          "intent": {"memory": "4M"}})
               for _ in range(n)]
        wait_for(lambda: root.info().get("calls_running", 0) >= n + 1, "a's calls to run")
        # Clients b made and dropped earlier fill the allocator's cache of
        # freed blocks of this size, so a's block is the one reused next.
        base = root.info()["clients"]
        fillers = [raw_socket_as(sock, "b") for _ in range(12)]
        clients = wait_for(lambda: (lambda n: n if n == base + len(fillers) else 0)(
            root.info()["clients"]), "the daemon to accept b's connections")
        a.send("session.close", {"path": "/ta/closing"})
        runner.wait(ids[0])     # killed: the close is under way
        for f in fillers:
            f.close()
        wait_for(lambda: root.info()["clients"] == clients - len(fillers), "the fillers to go")
        a.close()
        wait_for(lambda: root.info()["clients"] == clients - len(fillers) - 1,
                 "the daemon to drop a's client")
        bs = [raw_socket_as(sock, "b") for _ in range(64)]
        closing = "closing" in session_names(root, "/ta")
        wait_for(lambda: "closing" not in session_names(root, "/ta"), "the session to be closed")
        root.info()             # anything queued for b is written by now
        got = b""
        for b in bs:
            b.setblocking(False)
            try:
                got += b.recv(65536)
            except BlockingIOError:
                pass
            b.close()
        check("a's session.close answer reaches none of b's connections, made after a left"
              " (the close was still under way: %s)" % closing, got == b"", got[:300])
        r = root.call("cg.list", path="/")
        check("root still gets answers", "result" in r, r)
        for rid in ids[1:]:
            runner.wait(rid)
        root.call("cg.kill", path="/ta/busy")
        root.wait(busy)
        runner.close()
        b.close()
        root.close()


def start_refused(env, sock, name):
    """Starts a daemon on socket path sock; (exit status or None if it
    started and served, its log)."""
    cfgf = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(env.config(), cfgf)
    cfgf.close()
    log = tempfile.NamedTemporaryFile("w+", delete=False)
    d = subprocess.Popen([env.agentcgd, "--config", cfgf.name, "--root",
                          "agentcg-%s-%d" % (name, os.getpid()), "--socket", sock],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: d.poll() is not None or os.path.exists(sock) and
                 os.path.islink(sock) is False and _serves(sock), "the daemon to start or stop")
        rc = d.poll()
    finally:
        if d.poll() is None:
            d.terminate()
            d.wait(WAIT)
        os.unlink(cfgf.name)
    text = open(log.name).read()
    os.unlink(log.name)
    return rc, text


def _serves(sock):
    try:
        Client(sock).close()
        return True
    except OSError:
        return False


def socket_paths(env):
    """The socket's path: a directory of user a is refused (a could swap the
    socket for a link before the daemon set its mode), and so is a link a
    planted at the path in /tmp; the link's target is untouched."""
    d = tempfile.mkdtemp(prefix="acgsec-sockdir-")
    os.chown(d, env.uids["a"], -1)
    os.chmod(d, 0o755)
    rc, log = start_refused(env, os.path.join(d, "agentcgd.sock"), "sec-sockdir")
    check("a socket directory owned by user a is refused",
          rc not in (None, 0) and "belongs to uid %d" % env.uids["a"] in log, "rc %s: %s" % (rc, log[-600:]))
    os.rmdir(d) if not os.listdir(d) else subprocess.run(["rm", "-rf", d])
    victim = tempfile.NamedTemporaryFile("w", prefix="acgsec-victim-", delete=False)
    victim.write("root's\n")
    victim.close()
    os.chmod(victim.name, 0o600)
    sock = "/tmp/acgsec-link-%d.sock" % os.getpid()
    with as_user("a"):
        os.symlink(victim.name, sock)
    try:
        rc, log = start_refused(env, sock, "sec-socklink")
        st = os.stat(victim.name)
        check("a link user a planted at the socket path is refused, not followed or removed",
              rc not in (None, 0) and "not a socket" in log and os.path.islink(sock),
              "rc %s: %s" % (rc, log[-600:]))
        check("... and its target keeps its mode and content",
              st.st_mode & 0o7777 == 0o600 and open(victim.name).read() == "root's\n",
              oct(st.st_mode))
    finally:
        if os.path.lexists(sock):
            os.unlink(sock)
        os.unlink(victim.name)


def root_usage_file(root):
    info = root.info()
    if info.get("backend") == "hybrid":
        return os.path.join(info["roots"][1], "memory.usage_in_bytes")
    return os.path.join(info["roots"][0], "memory.current")


def ladder_freeze_wins(env):
    """The pressure ladder freezes user a's low-priority call; a's cg.thaw
    of it is refused (-32005, naming the ladder) and changes nothing; root
    may still thaw it. Before, a's thaw went through and the ladder did not
    freeze the call again."""
    budget = 384 << 20
    cfg = env.config()
    cfg.update({"memory_budget": budget, "interpreters": {"pool": {"python": 0, "bash": 0}},
                "containment": {"enabled": True, "step": "50ms", "freeze": True}})
    with env.daemon(cfg, "sec-thaw") as (sock, _pid):
        root = Client(sock)
        ev = Client(sock)
        ev.call("events.subscribe", path="/")
        a = client_as(sock, "a")
        used = int(open(root_usage_file(root)).read())
        mib = max(1, (int(0.90 * budget) - used) >> 20)
        hog = a.send("call.run", {"path": "/ta/hog", "argv": [
            "python3", "-c", "import time; k = [b'x' * (1 << 20) for _ in range(%d)]; "
            "time.sleep(600)" % mib],
            "intent": {"priority": "low", "memory": "380M", "memory_max": "1G"}})
        ev.wait_note(lambda p: p.get("type") == "contain" and p.get("step") == "frozen" and
                     p.get("path", "").startswith("/ta/hog/"), "a's call frozen by the ladder")
        call = next(k["path"] for k in res(root.call("cg.list", path="/ta/hog"))["children"]
                    if k.get("kind") == "call")
        n0 = len(ev.notes)
        r = a.call("cg.thaw", path=call)
        e = err(r)
        check("the owner's thaw of a call the ladder froze is refused (-32005, the ladder)",
              e.get("code") == -32005 and "pressure ladder" in e.get("message", ""), r)
        r = root.call("cg.list", path="/ta/hog")
        ev.collect(0.2)
        thawed = [n for n in ev.notes[n0:] if (n.get("params") or {}).get("type") == "thaw"]
        check("... and thaws nothing", not thawed, thawed)
        r = root.call("cg.thaw", path=call)
        check("root may thaw it", res(r).get("frozen") is False, r)
        root.call("cg.kill", path=call)
        a.wait(hog)
        for c in (a, ev, root):
            c.close()


def thaw_holds(env):
    """What the daemon froze for a call's own on_exceed, and what an
    operator froze, its owner may not thaw: a thaw of the first would run a
    replied call past its timeout and cpu_time checks. Before, both went
    through."""
    with env.daemon(env.config(), "sec-holds") as (sock, _pid):
        root = Client(sock)
        a = client_as(sock, "a")
        r = a.call("call.run", path="/ta/hold", argv=["sh", "-c", "while :; do :; done"],
                   intent={"cpu_time": "100ms", "on_exceed": "freeze"})
        check("a's call past its cpu_time is left frozen (on_exceed freeze)",
              res(r).get("verdict", {}).get("frozen") is True, r)
        path = res(r).get("path", "/ta/hold/none")
        r = a.call("cg.thaw", path=path)
        check("the owner's thaw of it is refused (-32005, on_exceed)",
              err(r).get("code") == -32005 and (err(r).get("data") or {}).get("frozen_by") == "on_exceed", r)
        st = res(root.call("cg.stat", path=path))
        check("... and it stays frozen", st.get("state") == "frozen", st)
        check("root may kill it", res(root.call("cg.kill", path=path)).get("killed_calls") == 1)

        run = client_as(sock, "a")
        rid = run.send("call.run", {"path": "/ta/hold", "argv": ["sleep", "600"]})
        path = wait_for(lambda: next((k["path"] for k in res(a.call("cg.list", path="/ta/hold"))
                                      .get("children", []) if k.get("state") == "running"), None),
                        "a's sleep running")
        check("root freezes a's call", res(root.call("cg.freeze", path=path)).get("frozen") is True)
        r = a.call("cg.freeze", path=path)
        r = a.call("cg.thaw", path=path)
        check("the owner may not thaw what an operator froze, even after freezing it again "
              "(-32005, operator)",
              err(r).get("code") == -32005 and (err(r).get("data") or {}).get("frozen_by") == "operator", r)
        check("root may thaw it", res(root.call("cg.thaw", path=path)).get("frozen") is False)
        check("a may kill its call", res(a.call("cg.kill", path=path)).get("killed_calls") == 1)
        run.wait(rid)
        for c in (a, run, root):
            c.close()


ALLOC = ("import sys\nx = bytearray(int(sys.argv[1]) << 20)\n"
         "x[::4096] = b'a' * len(x[::4096])\nprint('done')")


def label_history_per_tenant(env):
    """User b (tenant tb) runs calls labelled "build" that peak at 96M;
    user a's (tenant ta) next "build" call must not get its memory from
    b's peaks (before, the history was shared: b set a's estimates). a's
    own peaks still make a's estimate."""
    cfg = env.config()
    cfg["adaptive"] = {"enabled": True, "margin": 1.25, "min_samples": 3, "window": 32}
    with env.daemon(cfg, "sec-label") as (sock, _pid):
        a, b = client_as(sock, "a"), client_as(sock, "b")
        for _ in range(3):
            r = b.call("call.run", path="/tb/poison", argv=["python3", "-c", ALLOC, "96"],
                       intent={"label": "build"})
            check("b's labelled call runs", res(r).get("stdout", "").strip() == "done", r)
        r = a.call("call.run", path="/ta/work", argv=["true"], intent={"label": "build"})
        intent = res(r).get("intent") or {}
        check("a's call of the same label gets nothing from b's history",
              "result" in r and "adaptive" not in intent, intent)
        for _ in range(3):
            a.call("call.run", path="/ta/work", argv=["python3", "-c", ALLOC, "8"],
                   intent={"label": "build"})
        r = a.call("call.run", path="/ta/work", argv=["true"], intent={"label": "build"})
        ad = (res(r).get("intent") or {}).get("adaptive") or {}
        check("a's own peaks make a's estimate (4 samples, below b's 96M)",
              ad.get("samples") == 4 and ad.get("p95", 1 << 40) < 96 << 20, ad)
        a.close()
        b.close()


def nested(n):
    v = 0
    for _ in range(n):
        v = [v]
    return v


def deep_values(env):
    """Values nested 1 500 levels deep killed the session's runner (an
    uncaught RecursionError). Now session.set refuses them (-32602, saying
    how deep is allowed), the runner refuses what it cannot decode, and
    the interpreter keeps its state; a request deeper than the daemon's
    parser allows gets a clear parse error and the connection lives on."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20000)    # for this client's own encoder
    try:
        _deep_values(env)
    finally:
        sys.setrecursionlimit(limit)


def _deep_values(env):
    with env.daemon(env.config(), "sec-deep") as (sock, _pid):
        a = client_as(sock, "a")
        r = a.call("session.create", path="/ta/deep", lang="python")
        check("a creates a python session", "result" in r, r)
        a.call("session.set", path="/ta/deep", name="keep", value=42)
        r = a.call("session.set", path="/ta/deep", name="deep", value=nested(1500))
        e = err(r)
        check("session.set of a value 1 500 levels deep is refused, saying how deep is allowed",
              e.get("code") == -32602 and "256" in json.dumps(e.get("data")), r)
        r = a.call("session.exec", path="/ta/deep", code="keep + 1")
        check("the interpreter lives on with its state", res(r).get("value") == 43, r)
        # A cell may lower the recursion limit below what the daemon lets by.
        a.call("session.exec", path="/ta/deep", code="import sys; sys.setrecursionlimit(60)")
        r = a.call("session.set", path="/ta/deep", name="deep", value=nested(200))
        check("a value the runner cannot decode is refused by the runner",
              err(r).get("code") == -32602 and "too deeply" in err(r).get("message", ""), r)
        r = a.call("session.exec", path="/ta/deep", code="sys.setrecursionlimit(1000); keep + 1")
        check("... and the interpreter lives on with its state", res(r).get("value") == 43, r)
        r = a.call("session.exec", path="/ta/deep",
                   code="x = 0\nfor _ in range(1500): x = [x]\nx")
        check("a cell returning a value 1 500 levels deep gets its repr, not a dead runner",
              "result" in r and "value_repr" in res(r), r)
        r = a.call("session.get", path="/ta/deep", name="x")
        check("session.get of it is a clear error", "256 levels" in err(r).get("message", ""), r)
        r = a.call("session.exec", path="/ta/deep", code="keep")
        check("... and the interpreter lives on with its state", res(r).get("value") == 42, r)
        line = '{"jsonrpc": "2.0", "id": 7, "method": "daemon.info", "params": {"x": %s}}\n' % (
            json.dumps(nested(3000)))
        a.s.sendall(line.encode())
        while not a.replies and not a.notes:
            a._read(WAIT)
        got = list(a.replies.values()) + a.notes
        a.replies.clear()
        del a.notes[:]
        check("a request nested 3 000 levels deep gets a clear parse error",
              got and err(got[0]).get("code") == -32700 and "2048" in err(got[0]).get("message", ""),
              got)
        r = a.call("daemon.info")
        check("... and the connection lives on", "result" in r, r)
        a.call("session.close", path="/ta/deep")
        a.close()


FORK = ("import subprocess, sys\n"
        "ps = [subprocess.Popen(['cat'], stdin=subprocess.PIPE) for _ in range(int(sys.argv[1]))]\n"
        "for p in ps:\n    p.stdin.close()\n    p.wait()\nprint('forked', len(ps))")


def spares_of(root, path):
    return len(res(root.call("cg.stat", path=path)).get("spares") or [])


def spare_stubs_off_budget(env):
    """User a makes sessions in tenant ta (pids 16); each keeps 2 spare
    call cgroups with a stub waiting in each. Before, the stubs counted
    against the tenant's pids (10 sessions: 20 of 16) and root's next call
    there could not fork. Now the stubs are not charged to the budgets:
    root's call forks what its budget allows, and the budget still holds
    (a session of pids 4: 3 children fit, 5 do not)."""
    cfg = env.config()
    cfg["tenants"]["ta"]["pids"] = 16
    with env.daemon(cfg, "sec-stubs") as (sock, _pid):
        root = Client(sock)
        a = client_as(sock, "a")
        names = ["s%d" % i for i in range(10)]
        for n in names:
            a.call("session.create", path="/ta/" + n)
        r = root.call("session.create", path="/ta/rootwork", budget={"pids": 4})
        check("root makes a session of pids 4 in ta", "result" in r, r)
        for n in names + ["rootwork"]:
            wait_for(lambda n=n: spares_of(root, "/ta/" + n) >= 2, "the spares of /ta/" + n)
        info = root.info()
        pids_dir = info["roots"][3 if info.get("backend") == "hybrid" else 0]
        kernel = int(open(os.path.join(pids_dir, "ta", "pids.max")).read())
        shown = res(root.call("cg.cat", path="/ta", file="pids.max")).get("content", "").strip()
        check("ta's kernel pids.max has room for its 22 stubs (%d), cg.cat shows the budget (%s)"
              % (kernel, shown), kernel == 16 + 22 and shown == "16")
        r = root.call("call.run", path="/ta/rootwork", argv=["python3", "-c", FORK, "3"])
        v = res(r).get("verdict") or {}
        check("with 22 spare stubs waiting in ta (pids 16), root's call there forks 3",
              res(r).get("stdout", "").strip() == "forked 3" and v.get("status") == "ok", r)
        # (a stub just handed to a call keeps its room until the next idle
        # step: at most call_pool pids, so 5 children are over in any case)
        r = root.call("call.run", path="/ta/rootwork", argv=["python3", "-c", FORK, "5"])
        check("... and the session's budget still holds: 5 children are too many",
              (res(r).get("exit") or {}).get("code", 0) != 0, r)
        r = a.call("call.run", path="/ta/s0", argv=["python3", "-c", FORK, "8"])
        check("a's own call in the tenant forks 8",
              res(r).get("stdout", "").strip() == "forked 8", r)
        for n in names:
            a.call("session.close", path="/ta/" + n)
        root.call("session.close", path="/ta/rootwork")
        content = lambda: res(root.call("cg.cat", path="/ta", file="pids.max")).get("content", "")
        wait_for(lambda: content().strip() == "16", "the tenant's pids.max back at its budget")
        check("with no stub left the tenant's pids.max is its budget again",
              content().strip() == "16", content())
        a.close()
        root.close()


def run(env):
    spare_stubs_off_budget(env)
    deep_values(env)
    label_history_per_tenant(env)
    ladder_freeze_wins(env)
    thaw_holds(env)
    socket_paths(env)
    close_reply_to_gone_client(env)
