# SPDX-License-Identifier: GPL-2.0
"""Issue 13, items 3 and 4: one user must not lock the others out, nor
make the daemon grow. Each attack is made as user a (a real unprivileged
client) against small per_uid quotas; it must stop at its quota with
-32005 naming the limit, change nothing, and leave b and root served.

Memory is read from the daemon's /proc/PID/status (VmRSS, VmHWM)."""
import json
import os
import resource
import socket
import time
import traceback

from rpcclient import WAIT, Client, check, err, res, wait_for
from secenv import client_as, raw_socket_as
from tap import ok

QUOTAS = {"connections": 4, "sessions": 3, "calls_running": 2, "calls_waiting": 2,
          "interp_ops": 4, "interp_op_bytes": "2M", "subscriptions": 2}
MiB = 1 << 20


# make check-asan: ASan's quarantine holds freed memory on purpose, so a
# daemon's RSS says nothing there; the normal build's run asserts it.
SANITIZED = bool(os.environ.get("AGENTCG_SANITIZED"))


def rss_check(desc, cond):
    if SANITIZED:
        ok("%s # SKIP under ASan (its quarantine holds freed memory)" % desc)
    else:
        check(desc, cond)


def quota_config(env, **over):
    cfg = env.config()
    cfg["per_uid"] = dict(QUOTAS, **over)
    cfg["partial_line_timeout"] = "1s"
    return cfg


def vm(pid, key):
    """VmRSS / VmHWM of the daemon, in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def refused_by(r, limit):
    """r is a -32005 refusal naming per_uid.<limit> and its maximum."""
    e = err(r)
    data = e.get("data") or {}
    return (e.get("code") == -32005 and data.get("limit") == "per_uid." + limit
            and isinstance(data.get("max"), int) and limit in e.get("message", ""))


def read_line(s, timeout=None):
    """One line from a bare socket (b"" at EOF before any)."""
    s.settimeout(WAIT if timeout is None else timeout)
    buf = b""
    while b"\n" not in buf:
        try:
            chunk = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\n", 1)[0]


def eof_after(s):
    """The socket is closed by the daemon (EOF, or a reset)."""
    s.settimeout(WAIT)
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        return False
    return True


def root_answers(sock, what):
    root = Client(sock)
    r = root.call("cg.list", path="/", recursive=True)
    root.close()
    check("root still gets answers (%s)" % what, "result" in r, err(r))


def attack_connections(env, sock):
    held = [raw_socket_as(sock, "a") for _ in range(QUOTAS["connections"])]
    probe = Client(sock)
    wait_for(lambda: probe.info()["clients"] >= QUOTAS["connections"] + 1, "a's connections")
    extra = raw_socket_as(sock, "a")
    line = read_line(extra)
    try:
        msg = json.loads(line)
    except ValueError:
        msg = {}
    check("a's connection beyond per_uid.connections gets one error line naming the limit",
          refused_by(msg, "connections") and msg.get("id") is None, line[:300])
    check("... and is closed", eof_after(extra))
    b = client_as(sock, "b")
    r = b.call("daemon.info")
    check("b still gets answers while a holds its whole quota", "result" in r, err(r))
    b.close()
    root_answers(sock, "a at its connection quota")
    for s in held + [extra]:
        s.close()
    wait_for(lambda: probe.info()["clients"] == 1, "a's connections gone")
    probe.close()


def attack_client_slots(env):
    """The original lockout: one uid fills every slot it may take (its
    quota set above the daemon's cap); root still gets in."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))
    cfg = quota_config(env, connections=100000)
    held = []
    try:
        with env.daemon(cfg, "sec-slots") as (sock, pid):
            root = Client(sock)
            cap = root.info().get("max_clients", 4096)
            if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < cap + 256:
                check("(the test cannot open %d sockets: client slots not tried)" % cap, True)
                root.close()
                return
            refusal = None
            while len(held) < cap:
                s = raw_socket_as(sock, "a")
                held.append(s)
                if len(held) % 256 == 0:  # a refused socket has its line by now
                    s.settimeout(0.2)
                    try:
                        data = s.recv(4096)
                    except socket.timeout:
                        data = None
                    if data is not None:
                        refusal = data
                        break
            if refusal is None:
                s = raw_socket_as(sock, "a")
                held.append(s)
                refusal = read_line(s)
            try:
                msg = json.loads(refusal.split(b"\n", 1)[0])
            except ValueError:
                msg = {}
            data = err(msg).get("data") or {}
            check("a flood of one uid stops short of the client cap (%d), naming the limit" % cap,
                  err(msg).get("code") == -32005 and data.get("limit") == "clients"
                  and data.get("max", cap) < cap, refusal[:300])
            b = raw_socket_as(sock, "b")
            line = read_line(b)
            check("b is refused too while the users' slots are full", b"clients" in line, line[:200])
            b.close()
            root_answers(sock, "every user slot taken")
            r = Client(sock)
            check("a new root connection is served", "result" in r.call("daemon.info"))
            r.close()
            for s in held:
                s.close()
            held = []
            wait_for(lambda: root.info()["clients"] == 1, "the flood's connections gone")
            root.close()
    finally:
        for s in held:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def attack_sessions(env, sock):
    a = client_as(sock, "a")
    n = QUOTAS["sessions"]
    made = [a.call("session.create", path="/ta/s%d" % i) for i in range(n)]
    check("a creates sessions up to per_uid.sessions (%d)" % n, all("result" in r for r in made),
          [err(r) for r in made])
    r = a.call("session.create", path="/ta/s%d" % n)
    check("a's next session.create is refused: -32005 per_uid.sessions, max %d" % n,
          refused_by(r, "sessions") and err(r)["data"]["max"] == n, r)
    r = a.call("call.run", path="/ta/ondemand", argv=["true"])
    check("a call.run that would make a session on demand is refused too", refused_by(r, "sessions"), r)
    root = Client(sock)
    names = [x["path"] for x in res(root.call("cg.list", path="/ta")).get("children", [])]
    check("the refused sessions were not made", "/ta/s%d" % n not in names and "/ta/ondemand" not in names,
          names)
    b = client_as(sock, "b")
    r = b.call("session.create", path="/tb/bs")
    check("b still creates a session (the quota is a's alone)", "result" in r, err(r))
    b.call("session.close", path="/tb/bs")
    b.close()
    rs = [root.call("session.create", path="/ta/root%d" % i) for i in range(n + 1)]
    check("root is not bound by per_uid.sessions", all("result" in x for x in rs), [err(x) for x in rs])
    for i in range(n + 1):
        root.call("session.close", path="/ta/root%d" % i)
    a.call("session.close", path="/ta/s0")
    r = a.call("call.run", path="/ta/mine", argv=["true"])
    st = res(root.call("cg.stat", path="/ta/mine"))
    check("a session call.run made on demand is a's (owner uid %d) and counts in its quota"
          % env.uids["a"], "result" in r and st.get("owner_uid") == env.uids["a"]
          and refused_by(a.call("session.create", path="/ta/s0"), "sessions"), (r, st))
    for p in ["/ta/s1", "/ta/s2", "/ta/mine"]:
        a.call("session.close", path=p)
    check("closing gives the quota back", "result" in a.call("session.create", path="/ta/s0"))
    a.call("session.close", path="/ta/s0")
    a.close()
    root.close()


def attack_calls(env, sock):
    a = client_as(sock, "a")
    root = Client(sock)
    run, wait = QUOTAS["calls_running"], QUOTAS["calls_waiting"]
    a.call("session.create", path="/ta/calls")
    argv = ["sleep", "300"]
    for _ in range(run):
        a.send("call.run", {"path": "/ta/calls", "argv": argv})
    wait_for(lambda: root.info()["calls_running"] >= run, "a's calls running")
    r = a.call("call.run", path="/ta/calls", argv=argv)
    check("a's call beyond per_uid.calls_running (without wait) is refused: -32005",
          refused_by(r, "calls_running"), r)
    for _ in range(wait):
        a.send("call.run", {"path": "/ta/calls", "argv": argv, "wait": True, "wait_timeout": "5m"})
    wait_for(lambda: root.info()["calls_waiting"] >= wait, "a's calls queued")
    r = a.call("call.run", path="/ta/calls", argv=argv, wait=True)
    check("a's call beyond per_uid.calls_waiting is refused: -32005", refused_by(r, "calls_waiting"), r)
    r = a.call("call.run", path="/ta/other", argv=argv)
    names = [x["path"] for x in res(root.call("cg.list", path="/ta")).get("children", [])]
    check("... and a refused call.run makes no session on demand",
          refused_by(r, "calls_running") and "/ta/other" not in names, (r, names))
    info = root.info()
    check("the flood holds %d running and %d waiting calls, no more" % (run, wait),
          info["calls_running"] == run and info["calls_waiting"] == wait, info)
    b = client_as(sock, "b")
    r = b.call("call.run", path="/tb/bcall", argv=["true"])
    check("b's call runs meanwhile", res(r).get("exit") == {"code": 0}, r)
    b.call("session.close", path="/tb/bcall")
    b.close()
    r = root.call("call.run", path="/ta/rootcall", argv=["true"])
    check("root's call runs meanwhile", res(r).get("exit") == {"code": 0}, r)
    root.call("session.close", path="/ta/rootcall")
    a.close()  # its calls are killed, its waiting calls dropped
    wait_for(lambda: root.info()["calls_running"] == 0 and root.info()["calls_waiting"] == 0,
             "a's calls gone")
    a = client_as(sock, "a")
    a.call("session.close", path="/ta/calls")
    a.close()
    root.close()


def attack_subscriptions(env, sock):
    n = QUOTAS["subscriptions"]
    subs = [client_as(sock, "a") for _ in range(n + 1)]
    rs = [c.call("events.subscribe", path="/ta") for c in subs]
    check("a subscribes up to per_uid.subscriptions (%d)" % n, all("result" in r for r in rs[:n]),
          rs[:n])
    check("a's next subscription is refused: -32005 per_uid.subscriptions", refused_by(rs[n], "subscriptions"),
          rs[n])
    root = Client(sock)
    check("... and changes nothing (%d subscribers)" % n, root.info()["subscribers"] == n)
    subs[0].close()
    wait_for(lambda: root.info()["subscribers"] == n - 1, "a subscriber gone")
    r = subs[n].call("events.subscribe", path="/ta")
    check("a closed subscription gives the quota back", "result" in r, r)
    for c in subs[1:]:
        c.close()
    root.close()


def attack_partial_line(env, sock):
    root = Client(sock)
    base = root.info()["clients"]
    s = raw_socket_as(sock, "a")
    s.sendall(b'{"jsonrpc": "2.0", "id": 1, "method": "daemon.in')
    wait_for(lambda: root.info()["clients"] == base + 1, "a's connection")
    wait_for(lambda: root.info()["clients"] == base, "a's unfinished line dropped")
    line = read_line(s)
    check("a client whose request line stays unfinished is told, and dropped",
          b"partial_line_timeout" in line and eof_after(s), line[:200])
    s.close()
    c = client_as(sock, "a")
    c.s.sendall(b'{"jsonrpc": "2.0", "id": 7, ')
    c.s.sendall(b'"method": "daemon.info"}\n')
    check("a line finished in time is answered", "result" in c.wait(7))
    c.close()
    root_answers(sock, "after the partial line")
    root.close()


def attack_reply_backlog(env):
    """Replies a never reads, on many connections that each stay under
    max_reply_backlog (4M here): together they are bounded too."""
    with env.daemon(quota_config(env, connections=16), "sec-backlog") as (sock, pid):
        root = Client(sock)
        line = (json.dumps({"jsonrpc": "2.0", "id": 1, "method": "daemon.info"}) + "\n").encode()
        size = len(json.dumps(root.call("daemon.info")))
        n = 3 * MiB // size  # 3 MiB of replies per connection
        before = vm(pid, "VmRSS")
        held = []
        for _ in range(10):
            s = raw_socket_as(sock, "a")
            s.setblocking(False)
            held.append([s, line * n])
        # write every connection's requests, never reading a reply
        end = time.monotonic() + WAIT
        while any(h[1] for h in held) and time.monotonic() < end:
            for h in held:
                try:
                    h[1] = h[1][h[0].send(h[1]):] if h[1] else h[1]
                except BlockingIOError:
                    pass
                except OSError:  # dropped
                    h[1] = b""
            time.sleep(0.01)
        dropped = wait_for(lambda: 11 - root.info()["clients"], "some of a's connections dropped")
        peak = vm(pid, "VmHWM")
        # under ASan the daemon is slow enough that all ten may pass it
        check("a's connections that do not read their replies are dropped once together they "
              "pass 4 x max_reply_backlog (%d of 10 dropped)" % dropped,
              1 <= dropped < 10 or (SANITIZED and dropped == 10))
        rss_check("the daemon's peak stayed within 16M + 16 MiB of before (%.1f -> %.1f MiB)"
                  % (before / MiB, peak / MiB), peak < before + 32 * MiB)
        b = client_as(sock, "b")
        check("b is served meanwhile", "result" in b.call("daemon.info"))
        b.close()
        root_answers(sock, "a's unread replies")
        for h in held:
            h[0].close()
        wait_for(lambda: root.info()["clients"] == 1, "a's connections gone")
        root.close()


def attack_amplification(env):
    """10 pipelined session.set of 900 KB each behind a running cell."""
    with env.daemon(quota_config(env), "sec-amp") as (sock, pid):
        a = client_as(sock, "a")
        r = a.call("session.create", path="/ta/amp", lang="python")
        check("a's interpreter session", "result" in r, err(r))
        a.call("session.set", path="/ta/amp", name="warm", value=1)
        before = vm(pid, "VmRSS")
        # the cell runs until the flood is answered, so nothing drains early
        cell = a.send("session.exec", {"path": "/ta/amp", "code": "import time\ntime.sleep(600)"})
        value = [0] * 450000  # "[0,0,...]": 900 KB of JSON, ~20 MB once parsed
        ids = []
        for i in range(10):
            a.next_id += 1
            ids.append(a.next_id)
            a.s.sendall((json.dumps({"jsonrpc": "2.0", "id": a.next_id, "method": "session.set",
                                     "params": {"path": "/ta/amp", "name": "v%d" % i, "value": value}},
                                    separators=(",", ":")) + "\n").encode())
        try:  # refused at once; the old daemon queued it behind the cell
            last = a.wait(ids[-1], timeout=min(WAIT, 30))
        except (TimeoutError, socket.timeout):
            last = None
        peak_flood = vm(pid, "VmHWM")
        a.call("session.interrupt", path="/ta/amp")
        replies = [a.wait(i) for i in ids[:-1]] + [last or a.wait(ids[-1])]
        done = a.wait(cell)
        ok = [r for r in replies if "result" in r]
        bad = [r for r in replies if "error" in r]
        check("the sets beyond per_uid.interp_op_bytes (2M) are refused: -32005, the first two kept",
              len(ok) == 2 and len(bad) == 8 and all(refused_by(r, "interp_op_bytes") for r in bad),
              [err(r) for r in replies])
        check("the cell ran meanwhile (and was interrupted)", "result" in done, err(done))
        got = a.call("session.get", path="/ta/amp", name="v0")
        check("a kept set holds the whole value", res(got).get("value") == value, err(got))
        del got
        after = vm(pid, "VmRSS")
        peak = max(peak_flood, vm(pid, "VmHWM"))
        rss_check("the daemon's VmRSS after the drain is within 16 MiB of before (%.1f -> %.1f MiB)"
                  % (before / MiB, after / MiB), after < before + 16 * MiB)
        rss_check("its peak stayed under 96 MiB (%.1f MiB; 183 MB unbounded)" % (peak / MiB),
                  peak < 96 * MiB)
        a.call("session.close", path="/ta/amp")
        a.close()
        root_answers(sock, "after the amplification")


FRAME_CELL = r'''
import os, struct, socket
n = 0
for fd in os.listdir("/proc/self/fd"):
    try:
        if os.readlink("/proc/self/fd/" + fd).startswith("socket:"):
            s = socket.socket(fileno=os.dup(int(fd)))
            n += 1
            s.sendall(struct.pack(">I", 48 << 20) + b"x" * (40 << 20))
    except OSError:
        pass
n
'''


def attack_runner_frame(env, sock, pid):
    a = client_as(sock, "a")
    a.call("session.create", path="/ta/frame", lang="python")
    a.call("session.set", path="/ta/frame", name="warm", value=1)
    before_peak = vm(pid, "VmHWM")
    r = a.call("session.exec", path="/ta/frame", code=FRAME_CELL)
    text = json.dumps(r)
    if res(r).get("value") == 0:
        check("the cell reaches no channel to the daemon (nothing to bound)", True)
        a.call("session.close", path="/ta/frame")
        a.close()
        return
    check("a cell that writes a 48 MiB frame header kills its interpreter, saying why",
          "runner_frame_max" in text and "InterpreterDied" in text, text[:500])
    g = a.call("session.get", path="/ta/frame", name="warm")
    check("the session reports its interpreter dead, and why", err(g).get("code") == -32009
          and "runner_frame_max" in err(g).get("message", ""), g)
    peak = vm(pid, "VmHWM")
    check("the daemon never held the frame (peak VmRSS %.1f MiB, %.1f before)"
          % (peak / MiB, before_peak / MiB), peak < before_peak + 16 * MiB)
    root_answers(sock, "after the frame")
    r = a.call("session.reset", path="/ta/frame")
    check("session.reset gives the session a new interpreter", "result" in r, err(r))
    a.call("session.close", path="/ta/frame")
    a.close()


def run(env):
    """Each attack on a daemon of its own, so that one that fails leaves
    nothing in the way of the next."""
    for attack in (attack_connections, attack_sessions, attack_calls, attack_subscriptions,
                   attack_partial_line, attack_runner_frame):
        try:
            with env.daemon(quota_config(env), "sec-quota") as (sock, pid):
                if attack is attack_runner_frame:
                    attack(env, sock, pid)
                else:
                    attack(env, sock)
        except Exception:  # noqa: BLE001
            check("%s ran to its end" % attack.__name__, False, traceback.format_exc()[-1200:])
    for attack in (attack_amplification, attack_reply_backlog, attack_client_slots):
        try:
            attack(env)
        except Exception:  # noqa: BLE001
            check("%s ran to its end" % attack.__name__, False, traceback.format_exc()[-1200:])
