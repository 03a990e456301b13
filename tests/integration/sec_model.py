# SPDX-License-Identifier: GPL-2.0
"""The security model (README "Security model"), attacked by real users:
a and c are members of tenant ta, b of tb, op is an operator (by group).

Reads are filtered like writes: another user's sessions, calls, argv and
events are invisible, and acting on them is refused with -32005 and the
reason. Members stay within their tenant's policy. A refused request
changes nothing."""
import json
import os
import socket
import time

from rpcclient import Client, check, err, res, wait_for
from secenv import as_user, client_as

SECRET = "TOKEN-a-8d1f0c"  # in a's argv; nobody else may ever see it


def refused(r, why=""):
    """-32005 whose message says why."""
    e = err(r)
    return e.get("code") == -32005 and why in e.get("message", "") + json.dumps(e.get("data"))


def calls_of(cli, path):
    r = cli.call("cg.list", path=path)
    return [c["name"] for c in res(r).get("children", [])]


def run(env):
    with env.daemon(env.config(), "sec-model") as (sock, _pid):
        root = Client(sock)
        a, b, c, op = (client_as(sock, k) for k in ("a", "b", "c", "op"))

        # --- a's work, to be attacked ------------------------------------
        r = a.call("session.create", path="/ta/sa")
        check("a member creates a session in its tenant", "result" in r, r)
        check("the session is the creator's (owner_uid %d)" % env.uids["a"],
              res(root.call("cg.stat", path="/ta/sa")).get("owner_uid") == env.uids["a"])
        a_run = client_as(sock, "a")
        long_id = a_run.send("call.run", {"path": "/ta/sa", "argv": ["sh", "-c", "sleep 300", SECRET]})
        calls = wait_for(lambda: calls_of(a, "/ta/sa"), "a's call running")
        call = "/ta/sa/" + calls[0]

        # --- c, of the same tenant ---------------------------------------
        r = c.call("call.run", path="/ta/sa", argv=["true"])
        check("c cannot run a call in a's session (spending its budget)",
              refused(r, "another user's"), r)
        check("... and a's session has still one call", calls_of(root, "/ta/sa") == calls,
              calls_of(root, "/ta/sa"))
        for m, p, extra in (("session.close", "/ta/sa", {}), ("session.exec", "/ta/sa", {"code": "1"}),
                            ("session.get", "/ta/sa", {"name": "x"}), ("cg.kill", call, {}),
                            ("cg.freeze", call, {}), ("cg.thaw", call, {}), ("cg.stat", "/ta/sa", {}),
                            ("cg.stat", call, {}), ("cg.cat", call, {"file": "cgroup.procs"}),
                            ("cg.list", "/ta/sa", {})):
            r = c.call(m, path=p, **extra)
            check("c: %s %s is refused (-32005, another user's)" % (m, p), refused(r, "another user's"), r)
        r = c.call("cg.list", path="/", recursive=True)
        text = json.dumps(res(r))
        check("c's listing of / shows its tenant but not a's session",
              "result" in r and '"ta"' in text and "/ta/sa" not in text, text[:600])
        check("... and never a's argv", SECRET not in text)
        r = b.call("cg.list", path="/", recursive=True)
        names = [t["name"] for t in res(r).get("children", [])]
        check("b (tenant tb) sees only tb at / (%s)" % names, names == ["tb"], r)
        r = b.call("cg.list", path="/ta")
        check("b cannot list tenant ta", refused(r, "not a member"), r)
        r = b.call("cg.stat", path="/")
        check("the whole tree's stat is for operators", refused(r, "operators only"), r)

        # --- around the daemon: cgroupfs and daemon.info ------------------
        roots = res(root.call("daemon.info")).get("roots", [])
        with as_user("b"):
            listed = []
            for d in roots + [os.path.join(x, "ta") for x in roots]:
                try:
                    listed.append(os.listdir(d))
                except PermissionError:
                    pass
        check("b cannot list the daemon's cgroup directories (%d roots)" % len(roots),
              roots and not listed, listed)
        doms = [d.get("path") for d in res(b.call("daemon.info")).get("pressure", {}).get("domains", [])]
        check("b's daemon.info shows no pressure domain but tb's (%s)" % doms,
              all(p == "/tb" for p in doms), doms)
        r = b.call("cg.stat", path="/ta/no-such-session")
        check("b learns nothing of what ta holds: a missing session is refused as not a member",
              refused(r, "not a member"), r)

        # --- events: only one's own ---------------------------------------
        sub = client_as(sock, "c")
        sid = sub.send("events.subscribe", {"path": "/"})
        check("c subscribes to /", "result" in sub.wait(sid))
        r = a.call("call.run", path="/ta/sa", argv=["echo", SECRET])
        check("a runs a second call", res(r).get("stdout", "").strip() == SECRET, r)
        r = c.call("call.run", path="/ta/sc", argv=["true"])
        check("c runs its own call (in its own session, made on demand)", "result" in r, r)
        n = sub.wait_note(lambda p: p.get("type") == "call.end" and p.get("path", "").startswith("/ta/sc/"),
                          "c's own call.end")
        check("c gets its own call's events", n is not None)
        seen = json.dumps(sub.notes)
        check("c got no event of a's session (%d events)" % len(sub.notes),
              "/ta/sa" not in seen and SECRET not in seen, seen[:600])

        # --- a's call is untouched; a may act on its own -------------------
        st = res(root.call("cg.stat", path=call))
        check("a's long call still runs", st.get("state") == "running", st)
        r = a.call("cg.stat", path=call)
        check("a reads its own call", "result" in r, r)
        r = a.call("cg.kill", path=call)
        check("a kills its own call", res(r).get("killed_calls") == 1, r)
        rep = a_run.wait(long_id)
        check("... which ends with a verdict", "result" in rep, rep)

        # --- policy: no more than the tenant allows a member -------------
        for params, why in (({"priority": "high"}, "max_priority"),
                            ({"budget": {"memory_max": "max"}}, "budget.memory_max"),
                            ({"budget": {"memory_max": "3G"}}, "budget.memory_max"),
                            ({"budget": {"pids": 100000}}, "budget.pids")):
            r = a.call("session.create", path="/ta/greedy", **params)
            check("a member's session.create %s is refused" % json.dumps(params), refused(r, why), r)
        check("... and none of them made the session", "greedy" not in json.dumps(res(root.call("cg.list", path="/ta"))))
        r = a.call("session.create", path="/ta/modest", budget={"memory_max": "1G"}, priority="low")
        check("a member may ask for less than the policy", "result" in r, r)
        r = a.call("call.run", path="/ta/sa", argv=["true"], intent={"priority": "high"})
        check("an intent above max_priority is refused", refused(r, "max_priority"), r)
        r = b.call("session.create", path="/ta/intruder")
        check("b cannot create a session in ta", refused(r, "not a member"), r)
        r = b.call("call.run", path="/ta/intruder", argv=["true"])
        check("b cannot make one with call.run either", refused(r, "not a member"), r)
        check("... and no session /ta/intruder exists", "intruder" not in json.dumps(res(root.call("cg.list", path="/ta"))))
        for m, extra in (("tenant.create", {"path": "/tx"}), ("tenant.remove", {"path": "/tb"}),
                         ("cg.set", {"path": "/ta", "file": "memory.max", "value": "max"})):
            r = a.call(m, **extra)
            check("a: %s is for operators" % m, refused(r, "operators only"), r)
        r = a.call("call.run", path="/ta/sa", argv=["id", "-u"], user="root")
        check("a cannot run a call as root", refused(r, "only operators"), r)

        # --- fds passed with a refused request are not left for the next ----
        fdc = client_as(sock, "a")
        rfd, wfd = os.pipe()
        bad = {"jsonrpc": "2.0", "id": 1, "method": "call.run",
               "params": {"path": "/ta/sa", "argv": ["true"], "stdio": "fds", "bogus": 1}}
        socket.send_fds(fdc.s, [(json.dumps(bad) + "\n").encode()], [rfd, wfd, wfd])
        os.close(rfd)
        os.close(wfd)
        check("a refused call.run that passed fds is refused", err(fdc.wait(1)).get("code") == -32602)
        r = fdc.call("call.run", path="/ta/sa", argv=["true"], stdio="fds")
        check("... and a later call.run without fds does not get them (-32602, needs 3 fds)",
              err(r).get("code") == -32602 and "3 fds" in json.dumps(err(r)), r)
        fdc.close()

        # --- sessions made by call.run are the caller's ---------------------
        r = a.call("call.run", path="/ta/auto", argv=["true"])
        check("call.run makes a's session on demand", "result" in r, r)
        check("... owned by a", res(root.call("cg.stat", path="/ta/auto")).get("owner_uid") == env.uids["a"])
        asub = client_as(sock, "a")
        check("a subscribes to /ta", "result" in asub.call("events.subscribe", path="/ta"))
        r = a.call("session.close", path="/ta/auto")
        check("... and a can close it", "result" in r, r)
        n = asub.wait_note(lambda p: p.get("type") == "session.close" and p.get("path") == "/ta/auto",
                           "a's session.close event")
        check("... and a gets its session.close event", n is not None)
        asub.close()

        # --- operators --------------------------------------------------------
        r = op.call("cg.list", path="/", recursive=True)
        check("an operator (by group) sees every session", "/ta/sa" in json.dumps(res(r)), r)
        r = op.call("tenant.create", path="/opt1", budget={"memory_max": "1G"})
        check("an operator creates a tenant", "result" in r, r)
        r = op.call("session.create", path="/ta/ophigh", priority="high", budget={"memory_max": "max"})
        check("an operator is not bound by a tenant's policy", "result" in r, r)
        r = root.call("daemon.info")
        check("root got answers throughout", "result" in r, r)
        for x in (a, a_run, b, c, op, sub, root):
            x.close()
