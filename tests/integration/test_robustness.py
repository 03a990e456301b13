#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Robustness of agentcgd's JSON-RPC server against hostile or broken
clients: malformed input, bad params and names, huge lines, half lines,
clients that never read, many clients, huge outputs, disconnects mid-call.

Usage: python3 tests/integration/test_robustness.py BUILD_DIR   (as root)

Prints TAP-style "ok - ..." / "not ok - ..." lines, then
"# N passed, N failed (test_robustness.py)"; exits 1 if any failed.
Starts its own throw-away daemon (like lib.sh) and always stops it. If the
daemon dies during a test, that is reported, its leftover cgroups are
removed, and a fresh daemon is started so the remaining tests still run.
"""
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
AGENTCGD = os.environ.get("AGENTCGD", os.path.join(BUILD, "agentcgd"))
FILE_TIME_LIMIT = 540          # seconds for the whole file (run.sh allows 600)
RSS_LIMIT_KB = 64 * 1024       # daemon RSS bound
if os.environ.get("AGENTCG_SANITIZED"):
    # make check-asan: ASan's quarantine (256 MB) holds freed memory on
    # purpose; the bound still catches growth without end
    RSS_LIMIT_KB = 384 * 1024
OUTPUT_LIMIT = 65536           # "output_limit": "64K" below
# Deadlines end waits that would otherwise hang; they are not timings:
# machines of one kind differ 4-10x in speed, and the suite also runs
# under CPU load (make check-stress). A blocked daemon never answers.
# WAIT (rpcclient, AGENTCG_TEST_WAIT) bounds waits for a state.
QUICK = 10.0                   # others are answered, each within this
if os.environ.get("AGENTCG_SANITIZED"):
    QUICK = 60.0               # an ASan daemon is several times slower

# The same configuration as the shell tests (tenants t1 and small).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "agentcgd-test.json")) as _f:
    CONFIG = json.load(_f)

# ---- TAP ------------------------------------------------------------------

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import counts, nok, ok, summary  # noqa: E402
from rpcclient import WAIT  # noqa: E402


def check(desc, why):
    """why is None/"" on success, else the reason of the failure."""
    if why:
        nok(desc, why)
    else:
        ok(desc)


def comment(text):
    for line in str(text).splitlines():
        print("# " + line, flush=True)


class FileTimeout(BaseException):
    pass


# ---- the daemon -------------------------------------------------------------


def rss_kb(pid, field="VmRSS"):
    """VmRSS (or VmHWM, the peak) of pid in kB; 0 if unknown."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak_rss(pid):
    """Resets VmHWM so it measures from now on (proc(5): clear_refs 5)."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    except OSError:
        pass


class Daemon:
    def __init__(self):
        self.base = "agentcg-robust-%d" % os.getpid()
        self.sock = "/tmp/agentcg-robust-%d.sock" % os.getpid()
        fd, self.cfg = tempfile.mkstemp(prefix="agentcg-robust-cfg.", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(CONFIG, f)
        fd, self.logpath = tempfile.mkstemp(prefix="agentcg-robust-log.")
        os.close(fd)
        self.generation = 0
        self.proc = None
        self.roots = []
        self.pid = 0

    def start(self):
        self.generation += 1
        self.root = self.base if self.generation == 1 else "%s-%d" % (self.base, self.generation)
        log = open(self.logpath, "a")
        self.proc = subprocess.Popen(
            [AGENTCGD, "--config", self.cfg, "--root", self.root, "--socket", self.sock],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.pid = self.proc.pid
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                c = Conn(timeout=1)
                m = c.rpc("daemon.info", id=1, timeout=2)
                c.close()
                self.roots = list(m["result"]["roots"])
                return
            except (OSError, EOFError, TimeoutError, KeyError, ValueError):
                time.sleep(0.05)
        raise RuntimeError("daemon did not start: " + self.log_tail())

    def log_tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def exit_desc(self):
        rc = self.proc.poll()
        if rc is None:
            return "still running"
        if rc < 0:
            try:
                return "killed by %s" % signal.Signals(-rc).name
            except ValueError:
                return "killed by signal %d" % -rc
        return "exited with status %d" % rc

    def serving(self, timeout=QUICK):
        """A daemon.info round trip on a fresh connection; None if fine."""
        if not self.running():
            return "daemon " + self.exit_desc()
        try:
            c = Conn(timeout=timeout)
            t0 = time.monotonic()
            m = c.rpc("daemon.info", id="alive", timeout=timeout)
            dt = time.monotonic() - t0
            c.close()
        except Exception as e:  # noqa: BLE001 - any failure is the answer
            return "daemon.info on a fresh connection failed: %s: %s%s" % (
                type(e).__name__, e, "" if self.running() else "; daemon " + self.exit_desc())
        if m.get("result", {}).get("pid") != self.pid:
            return "daemon.info answered %s" % json.dumps(m)[:200]
        if dt > QUICK:
            return "daemon.info took %.2fs" % dt
        return None

    def cleanup_after_crash(self):
        """Kills what a dead daemon left running in its cgroups and removes
        them (deepest first). Returns the number of directories removed."""
        removed = 0
        for root in self.roots:
            if not os.path.isdir(root):
                continue
            dirs = [d for d, _, _ in os.walk(root)]
            for d in dirs:
                try:
                    with open(os.path.join(d, "cgroup.freeze"), "w") as f:
                        f.write("0")
                except OSError:
                    pass
            try:
                with open(os.path.join(root, "cgroup.kill"), "w") as f:
                    f.write("1")
            except OSError:
                pass
            for d in dirs:
                try:
                    with open(os.path.join(d, "cgroup.procs")) as f:
                        for pid in f.read().split():
                            try:
                                os.kill(int(pid), signal.SIGKILL)
                            except OSError:
                                pass
                except OSError:
                    pass
            for d in sorted(dirs, key=len, reverse=True):
                for _ in range(100):
                    try:
                        os.rmdir(d)
                        removed += 1
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.02)
        return removed

    def stop(self):
        """SIGTERM; returns (exit code or None if it had to be killed, seconds)."""
        if not self.proc:
            return 0, 0.0
        t0 = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        return rc, time.monotonic() - t0

    def remove_files(self):
        for p in (self.cfg, self.logpath):
            try:
                os.unlink(p)
            except OSError:
                pass


D = Daemon()


def ensure_serving(after):
    """One TAP line: the daemon is alive and serving after a test. A dead
    daemon is cleaned up and replaced so the following tests still run."""
    why = D.serving()
    if why and D.running():
        try:  # a crash may still be under way
            D.proc.wait(1)
        except subprocess.TimeoutExpired:
            pass
        if not D.running():
            why += "; daemon " + D.exit_desc()
    check("daemon alive and serving after: " + after, why)
    if why and not D.running():
        comment("daemon log:\n" + D.log_tail())
        n = D.cleanup_after_crash()
        comment("removed %d cgroup directories left by the dead daemon; starting a new one" % n)
        D.start()


# ---- the client -------------------------------------------------------------


class Conn:
    """One raw connection; every read has a deadline."""

    def __init__(self, timeout=5.0, path=None):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        try:
            self.s.connect(path or D.sock)
        except OSError:
            self.s.close()
            raise
        self.buf = b""
        self.notes = []   # notifications seen while waiting for replies
        self.others = []  # replies to other ids seen while waiting

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def send_raw(self, data, timeout=5.0):
        self.s.settimeout(timeout)
        self.s.sendall(data)

    def send(self, obj, timeout=5.0):
        text = obj if isinstance(obj, str) else json.dumps(obj)
        self.send_raw(text.encode() + b"\n", timeout)

    def read_msg(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message within %.1fs" % timeout)
            self.s.settimeout(left)
            try:
                d = self.s.recv(1 << 20)
            except socket.timeout:
                raise TimeoutError("no message within %.1fs" % timeout) from None
            if not d:
                raise EOFError("the daemon closed the connection")
            self.buf += d
        line, _, self.buf = self.buf.partition(b"\n")
        return json.loads(line)

    def reply(self, id, timeout=5.0):
        """The reply (not a notification) whose id is exactly id."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.read_msg(max(0.001, deadline - time.monotonic()))
            if "method" in m:
                self.notes.append(m)
                continue
            got = m.get("id")
            if type(got) is type(id) and got == id:
                return m
            self.others.append(m)

    def rpc(self, method, params=None, id=1, timeout=5.0):
        req = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            req["params"] = params
        self.send(req)
        return self.reply(id, timeout)


def one_shot(method, params=None, id=1, timeout=5.0):
    c = Conn(timeout=timeout)
    try:
        return c.rpc(method, params, id, timeout)
    finally:
        c.close()


def brief(m):
    return json.dumps(m)[:400]


def error_why(m, code, fields=(), id=...):
    """None if m is an error reply with this code (and, when given, this id
    and error.data naming each of fields), else what is wrong."""
    if not isinstance(m, dict) or "error" not in m:
        return "expected error %d, got %s" % (code, brief(m))
    err = m["error"]
    if err.get("code") != code:
        return "expected error %d, got %s" % (code, brief(m))
    if id is not ... and (type(m.get("id")) is not type(id) or m.get("id") != id):
        return "error has id %r, expected %r" % (m.get("id"), id)
    if fields:
        data = err.get("data")
        if not isinstance(data, dict):
            return "error.data is not an object naming %s: %s" % (list(fields), brief(m))
        missing = [f for f in fields
                   if not any(k == f or k.endswith("." + f) for k in data)]
        if missing:
            return "error.data does not name %s: %s" % (missing, brief(m))
    return None


def call_no_crash(method, params, raw=None, timeout=5.0):
    """Sends one request on a fresh connection; returns the reply or a
    string describing why there is none."""
    try:
        c = Conn(timeout=timeout)
    except OSError as e:
        return "cannot connect: %s" % e
    try:
        if raw is not None:
            c.send(raw)
            return c.reply(1, timeout)
        return c.rpc(method, params, 1, timeout)
    except (EOFError, OSError, TimeoutError, ValueError) as e:
        if isinstance(e, (EOFError, ConnectionResetError)):
            try:  # the daemon may be dying: say so
                D.proc.wait(1)
            except subprocess.TimeoutExpired:
                pass
        dead = "" if D.running() else "; daemon " + D.exit_desc()
        return "no reply: %s: %s%s" % (type(e).__name__, e, dead)
    finally:
        c.close()


def expect_call_error(desc, params, code, fields=(), raw=None, method="call.run"):
    m = call_no_crash(method, params, raw)
    why = m if isinstance(m, str) else error_why(m, code, fields, id=1)
    if why and isinstance(m, dict) and "result" in m:
        why += " (the request was accepted and run)"
    check(desc, why)
    if isinstance(m, str) or not D.running():
        ensure_serving(desc)


class RssWatch:
    """The daemon's peak RSS over a block: VmHWM (reset on entry) and VmRSS
    sampled every 20 ms in a thread."""

    def __init__(self):
        self.max_kb = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        reset_peak_rss(D.pid)

    def _run(self):
        while not self._stop.is_set():
            self.max_kb = max(self.max_kb, rss_kb(D.pid))
            self._stop.wait(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join(1)
        self.max_kb = max(self.max_kb, rss_kb(D.pid), rss_kb(D.pid, "VmHWM"))


def rss_why(kb, when):
    if kb >= RSS_LIMIT_KB:
        return "daemon VmRSS %d kB %s, limit %d kB" % (kb, when, RSS_LIMIT_KB)
    return None


def round_trips(n, conn=None, limit=QUICK):
    """n daemon.info round trips; None if all answered within limit each."""
    own = conn is None
    c = conn or Conn(timeout=limit)
    try:
        worst = 0.0
        for i in range(n):
            t0 = time.monotonic()
            m = c.rpc("daemon.info", id=100000 + i, timeout=limit)
            dt = time.monotonic() - t0
            worst = max(worst, dt)
            if "result" not in m:
                return "round trip %d answered %s" % (i, brief(m))
            if dt > limit:
                return "round trip %d took %.2fs" % (i, dt)
        return None
    except Exception as e:  # noqa: BLE001
        return "round trip failed: %s: %s" % (type(e).__name__, e)
    finally:
        if own:
            c.close()


# ---- tests --------------------------------------------------------------------


def t01_malformed_json():
    c = Conn()
    try:
        for i, bad in enumerate(['{"jsonrpc":"2.0","id":1,"method":', "{not json at all",
                                 '{"jsonrpc":"2.0","id":1,"method":"daemon.info"} trailing',
                                 "\x00\x01binary"]):
            c.send(bad)
            m = c.read_msg(5)
            check("1 malformed json %r gets -32700 with id null" % bad[:30],
                  error_why(m, -32700, id=None))
            m = c.rpc("daemon.info", id=10 + i)
            check("1 connection still usable after malformed json %r" % bad[:30],
                  None if "result" in m else brief(m))
    finally:
        c.close()


def t02_invalid_request():
    c = Conn()
    try:
        for raw in ["[1,2]", '"x"', "42", "null", "[]"]:
            c.send(raw)
            check("2 non-object %s gets -32600" % raw, error_why(c.read_msg(5), -32600, id=None))
        cases = [
            ("missing jsonrpc", {"id": 1, "method": "daemon.info"}),
            ('jsonrpc "1.0"', {"jsonrpc": "1.0", "id": 1, "method": "daemon.info"}),
            ("jsonrpc 2", {"jsonrpc": 2, "id": 1, "method": "daemon.info"}),
            ("method 5", {"jsonrpc": "2.0", "id": 1, "method": 5}),
            ("method missing", {"jsonrpc": "2.0", "id": 1}),
            ("method null", {"jsonrpc": "2.0", "id": 1, "method": None}),
            ("method an array", {"jsonrpc": "2.0", "id": 1, "method": ["daemon.info"]}),
        ]
        for desc, req in cases:
            c.send(req)
            check("2 %s gets -32600 (id echoed)" % desc, error_why(c.read_msg(5), -32600, id=1))
        m = c.rpc("daemon.info", id=2)
        check("2 connection still usable after invalid requests", None if "result" in m else brief(m))
    finally:
        c.close()


def t03_unknown_method():
    c = Conn()
    try:
        for meth in ["no.such.method", "", "daemon.info.x", "DAEMON.INFO"]:
            m = c.rpc(meth, id=3)
            check("3 unknown method %r gets -32601" % meth, error_why(m, -32601, id=3))
    finally:
        c.close()


def t04_bad_params():
    ok_path = "/t1/p4"
    check_runs = [
        ("argv a string", {"argv": "true"}, ["argv"]),
        ("argv empty", {"argv": []}, ["argv"]),
        ("argv with a non-string", {"argv": ["true", 5]}, ["argv"]),
        ("argv with only a non-string", {"argv": [1]}, ["argv"]),
        ("intent.memory true", {"intent": {"memory": True}}, ["memory"]),
        ("intent.cpu -1", {"intent": {"cpu": -1}}, ["cpu"]),
        ("intent.pids 0", {"intent": {"pids": 0}}, ["pids"]),
        ('intent.timeout "10" (no unit)', {"intent": {"timeout": "10"}}, ["timeout"]),
        ('intent.memory "-5M"', {"intent": {"memory": "-5M"}}, ["memory"]),
        ('intent.memory "99999999T"', {"intent": {"memory": "99999999T"}}, ["memory"]),
        ('intent.memory "12Q"', {"intent": {"memory": "12Q"}}, ["memory"]),
        ("unknown intent field", {"intent": {"gpus": 1}}, ["gpus"]),
        ("unknown param", {"bogus": 1}, ["bogus"]),
        ("intent not an object", {"intent": "512M"}, ["intent"]),
    ]
    # params that are not an object are refused before any method runs
    expect_call_error("4 params an array gets -32602", None, -32602,
                      raw='{"jsonrpc":"2.0","id":1,"method":"call.run","params":["true"]}')
    expect_call_error("4 params a string gets -32602", None, -32602,
                      raw='{"jsonrpc":"2.0","id":1,"method":"daemon.info","params":"x"}')
    for desc, extra, fields in check_runs:
        params = {"path": ok_path, "argv": ["true"]}
        params.update(extra)
        expect_call_error("4 call.run %s gets -32602 naming %s" % (desc, fields),
                          params, -32602, fields)
    # 1e12 must be sent as written: an exponent, not an integer
    expect_call_error("4 call.run intent.pids 1e12 gets -32602 naming ['pids']", None, -32602,
                      ["pids"], raw='{"jsonrpc":"2.0","id":1,"method":"call.run","params":'
                                    '{"path":"/t1/p4","argv":["true"],"intent":{"pids":1e12}}}')
    # several bad fields: each one is named
    expect_call_error("4 call.run with 5 bad fields names each of them", {
        "path": "/t1/.bad", "argv": "x", "bogus": 1,
        "intent": {"memory": True, "pids": 0}},
        -32602, ["path", "argv", "bogus", "memory", "pids"])
    expect_call_error("4 call.run with bad argv and bad intent names both", {
        "path": ok_path, "argv": [], "intent": {"cpu": -1}}, -32602, ["argv", "cpu"])
    expect_call_error("4 call.run without argv gets -32602 naming argv",
                      {"path": ok_path}, -32602, ["argv"])
    expect_call_error("4 session.create unknown param gets -32602 naming it",
                      {"path": "/t1/p4s", "bogus": 1}, -32602, ["bogus"],
                      method="session.create")
    expect_call_error("4 cg.list recursive \"yes\" gets -32602 naming recursive",
                      {"recursive": "yes"}, -32602, ["recursive"], method="cg.list")


BAD_NAMES = ["/t1/..", "/t1/a/b", "/t1/", "//", "/t1/" + "a" * 65, "/t1/.hidden", "/t1/a b", ""]


def t05_bad_names():
    for path in BAD_NAMES:
        shown = path if len(path) < 20 else path[:12] + "...(%d chars)" % len(path)
        expect_call_error("5 call.run path %r gets -32602 naming path" % shown,
                          {"path": path, "argv": ["true"]}, -32602, ["path"])
        expect_call_error("5 session.create path %r gets -32602 naming path" % shown,
                          {"path": path}, -32602, ["path"], method="session.create")
    name = "n" * 64
    path = "/t1/" + name
    c = Conn(timeout=10)
    try:
        m = c.rpc("session.create", {"path": path}, id=1)
        check("5 session.create with a 64-char name is accepted",
              None if m.get("result", {}).get("path") == path else brief(m))
        m = c.rpc("call.run", {"path": path, "argv": ["true"]}, id=2, timeout=10)
        res = m.get("result", {})
        check("5 call.run in the 64-char session works",
              None if res.get("exit") == {"code": 0} and res.get("path", "").startswith(path + "/call-")
              else brief(m))
        m = c.rpc("session.close", {"path": path}, id=3, timeout=10)
        check("5 session.close of the 64-char session works",
              None if m.get("result", {}).get("path") == path else brief(m))
    finally:
        c.close()


def t06_unknown_tenant():
    m = call_no_crash("call.run", {"path": "/nosuch/s", "argv": ["true"]})
    why = m if isinstance(m, str) else error_why(m, -32001, id=1)
    if not why:
        msg = m["error"].get("message", "")
        if "nosuch" not in msg or "tenant" not in msg.lower():
            why = "message does not name the tenant clearly: %r" % msg
        elif "nosuch" not in json.dumps(m["error"].get("data", {})):
            why = "error.data does not carry the path: %s" % brief(m)
    check("6 call.run in unknown tenant /nosuch gets -32001 naming the tenant", why)
    m = call_no_crash("session.create", {"path": "/nosuch/s"})
    check("6 session.create in unknown tenant /nosuch gets -32001",
          m if isinstance(m, str) else error_why(m, -32001, id=1))


def t07_frozen_session():
    path = "/t1/fz"
    c = Conn(timeout=10)
    try:
        m = c.rpc("session.create", {"path": path}, id=1)
        check("7 session.create /t1/fz", None if "result" in m else brief(m))
        m = c.rpc("cg.freeze", {"path": path}, id=2)
        check("7 cg.freeze /t1/fz", None if m.get("result", {}).get("frozen") is True else brief(m))
        m = c.rpc("call.run", {"path": path, "argv": ["true"]}, id=3, timeout=10)
        why = error_why(m, -32003, id=3)
        if not why and (m["error"].get("data") or {}).get("path") != path:
            why = "error.data.path is not %s: %s" % (path, brief(m))
        check("7 call.run in a frozen session gets -32003 with data.path", why)
        m = c.rpc("cg.thaw", {"path": path}, id=4)
        check("7 cg.thaw /t1/fz", None if m.get("result", {}).get("frozen") is False else brief(m))
        m = c.rpc("call.run", {"path": path, "argv": ["true"]}, id=5, timeout=10)
        check("7 call.run works after thaw",
              None if m.get("result", {}).get("exit") == {"code": 0} else brief(m))
        m = c.rpc("session.close", {"path": path}, id=6, timeout=10)
        check("7 session.close /t1/fz", None if "result" in m else brief(m))
    finally:
        c.close()


def t08_huge_line():
    total = 100 * 1024 * 1024
    chunk = b"a" * (1 << 20)
    head = b'{"jsonrpc":"2.0","id":81,"method":"daemon.info","params":{"pad":"'
    c = Conn(timeout=10)
    sent = 0
    closed = None
    t0 = time.monotonic()
    with RssWatch() as rw:
        try:
            c.send_raw(head, 10)
            while sent < total:
                c.send_raw(chunk, 10)
                sent += len(chunk)
            c.send_raw(b'"}}\n', 10)
            c.send({"jsonrpc": "2.0", "id": 82, "method": "daemon.info"})
        except (BrokenPipeError, ConnectionResetError) as e:
            closed = "closed while sending (%s after %d MB)" % (type(e).__name__, sent >> 20)
        except socket.timeout:
            closed = "timeout"
        send_time = time.monotonic() - t0
        got_error = got_81 = got_82 = False
        end = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not got_82:
            try:
                m = c.read_msg(max(0.01, deadline - time.monotonic()))
            except EOFError:
                end = "EOF"
                break
            except ConnectionResetError:
                end = "reset"
                break
            except TimeoutError:
                end = "timeout"
                break
            if m.get("error", {}).get("code") == -32600 and m.get("id") is None:
                got_error = True
            elif m.get("id") == 81:
                got_81 = True
            elif m.get("id") == 82 and "result" in m:
                got_82 = True
        c.close()
    comment("100 MB line: sent %d MB in %.2fs (%s); -32600 seen: %s; next request answered: %s; "
            "end: %s" % (sent >> 20, send_time, closed or "not closed", got_error, got_82, end))
    why = None
    if closed == "timeout":
        why = "the daemon stopped reading: a send blocked for 10 s"
    elif got_81:
        why = "the 100 MB request was executed"
    elif not got_error and not (closed or end in ("EOF", "reset")):
        why = "neither a -32600 error nor a closed connection (end: %s)" % end
    elif end == "timeout" and not closed:
        why = "the connection neither answered the next request nor was closed"
    check("8 a 100 MB request line gets -32600 and/or the connection is closed", why)
    check("8 daemon RSS stays < 64 MB during and after the 100 MB line",
          rss_why(rw.max_kb, "(max)"))


def t09_half_line():
    a = Conn()
    try:
        a.send_raw(b'{"jsonrpc":"2.0","id":1,"meth')
        time.sleep(0.1)
        check("9 50 daemon.info round trips (each answered) while another client holds half a line",
              round_trips(50))
    finally:
        a.close()


def t10_non_reader():
    # (a) 20000 pipelined requests, never reading a reply
    a = Conn()
    reqs = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"daemon.info"}\n' % i
                    for i in range(20000))
    with RssWatch() as rw:
        try:
            a.send_raw(reqs, 3)
            note = "all sent"
        except socket.timeout:
            note = "send blocked (the daemon stopped reading it)"
        except (BrokenPipeError, ConnectionResetError) as e:
            note = "connection closed by the daemon (%s)" % type(e).__name__
        time.sleep(0.2)
        why = round_trips(20)
    comment("10a 20000 pipelined daemon.info: " + note)
    check("10 others are answered quickly while a client pipelines 20000 requests and never reads",
          why)
    check("10 daemon RSS < 64 MB with 20000 unread pipelined requests", rss_why(rw.max_kb, "(max)"))
    a.close()

    # (b) an event subscriber that never reads: its backlog must be bounded
    s = Conn()
    mon = Conn()
    dropped = None
    worst = 0.0
    batches = 0
    try:
        m = s.rpc("events.subscribe", {"path": "/"}, id=1)
        check("10 events.subscribe", None if m.get("result", {}).get("subscribed") is True else brief(m))
        clients_before = mon.rpc("daemon.info", id=1)["result"].get("clients")
        batch = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"daemon.info"}\n' % i for i in range(60))
        with RssWatch() as rw:
            for batches in range(1, 401):  # up to 24000 replies, ~13 MB
                try:
                    s.send_raw(batch, 2)
                except (BrokenPipeError, ConnectionResetError) as e:
                    dropped = "send failed: %s" % type(e).__name__
                    break
                except socket.timeout:
                    dropped = None
                    break
                if batches % 40 == 0:  # some events for the subscriber too
                    mon.rpc("session.create", {"path": "/t1/ev%d" % batches}, id=2)
                    mon.rpc("session.close", {"path": "/t1/ev%d" % batches}, id=3)
                t0 = time.monotonic()
                mon.rpc("daemon.info", id=4)
                worst = max(worst, time.monotonic() - t0)
            clients_after = mon.rpc("daemon.info", id=5)["result"].get("clients")
        if not dropped:
            # drain what the kernel holds: a dropped client sees EOF after it
            try:
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    s.s.settimeout(max(0.01, deadline - time.monotonic()))
                    if not s.s.recv(1 << 20):
                        dropped = "EOF after draining"
                        break
            except socket.timeout:
                pass
            except ConnectionResetError:
                dropped = "connection reset"
        comment("10b non-reading subscriber: %d batches of 60 requests, drop: %s, clients %s -> %s"
                % (batches, dropped, clients_before, clients_after))
        check("10 a subscriber that never reads is dropped at the reply backlog limit",
              None if dropped else "still connected after %d requests" % (batches * 60))
        check("10 others are answered while a subscriber never reads",
              None if worst < QUICK else "slowest daemon.info took %.2fs" % worst)
        check("10 daemon RSS < 64 MB with a non-reading subscriber", rss_why(rw.max_kb, "(max)"))
    finally:
        s.close()
        mon.close()


def t11_ids():
    c = Conn()
    try:
        c.send({"jsonrpc": "2.0", "method": "daemon.info"})
        c.send({"jsonrpc": "2.0", "method": "no.such.method"})
        c.send({"jsonrpc": "2.0", "method": "call.run", "params": {"argv": 7}})
        c.send({"jsonrpc": "2.0", "id": "req-1", "method": "daemon.info"})
        m = c.read_msg(5)
        check("11 notifications (no id, even bad ones) get no reply; string id echoed",
              None if m.get("id") == "req-1" and "result" in m else "first message: " + brief(m))
        for desc, idv in [("an object", {"a": 1}), ("an array", [1]), ("a float", 1.5),
                          ("a boolean", True)]:
            c.send({"jsonrpc": "2.0", "id": idv, "method": "daemon.info"})
            check("11 id %s gets -32600 (id null)" % desc, error_why(c.read_msg(5), -32600, id=None))
        m = c.rpc("daemon.info", id=-7)
        check("11 negative integer id echoed", None if m.get("id") == -7 and "result" in m else brief(m))
        c.send_raw(b'{"jsonrpc":"2.0","id":"' + "é✓".encode() + b'","method":"daemon.info"}\n')
        m = c.read_msg(5)
        check("11 non-ASCII string id echoed exactly", None if m.get("id") == "é✓" else brief(m))
    finally:
        c.close()


def t12_many_connections():
    n = 200
    conns = []
    sel = selectors.DefaultSelector()
    try:
        for i in range(n):
            conns.append(Conn(timeout=5))
        for i, c in enumerate(conns):
            c.send({"jsonrpc": "2.0", "id": i, "method": "daemon.info"})
            c.s.setblocking(False)
            sel.register(c.s, selectors.EVENT_READ, (i, c))
        answered = set()
        bad = []
        deadline = time.monotonic() + 10
        while len(answered) + len(bad) < n and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=max(0.01, deadline - time.monotonic())):
                i, c = key.data
                try:
                    d = c.s.recv(1 << 16)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    bad.append("%d: %s" % (i, e))
                    sel.unregister(c.s)
                    continue
                if not d:
                    bad.append("%d: EOF" % i)
                    sel.unregister(c.s)
                    continue
                c.buf += d
                if b"\n" in c.buf:
                    m = json.loads(c.buf.split(b"\n", 1)[0])
                    if m.get("id") == i and "result" in m:
                        answered.add(i)
                    else:
                        bad.append("%d: %s" % (i, brief(m)))
                    sel.unregister(c.s)
        check("12 %d simultaneous connections each get their daemon.info answer" % n,
              None if len(answered) == n else "%d answered, failures: %s" % (len(answered), bad[:5]))
    finally:
        sel.close()
        for c in conns:
            c.close()


def t13_big_output():
    c = Conn(timeout=30)
    try:
        with RssWatch() as rw:
            m = c.rpc("call.run", {"path": "/t1/big", "argv": [
                "sh", "-c", "head -c 50000000 /dev/zero | tr '\\0' a"]}, id=13, timeout=60)
        res = m.get("result")
        if not res:
            check("13 call.run printing 50 MB returns", brief(m))
        else:
            out = res.get("stdout", "")
            check("13 50 MB of output is captured as exactly output_limit (65536) bytes",
                  None if len(out) == OUTPUT_LIMIT and out == "a" * OUTPUT_LIMIT
                  else "stdout has %d chars" % len(out))
            check("13 stdout_truncated is true", None if res.get("stdout_truncated") is True
                  else "stdout_truncated=%r" % res.get("stdout_truncated"))
            check("13 the command ran to completion (exit 0)", None if res.get("exit") == {"code": 0}
                  else "exit=%r verdict=%s" % (res.get("exit"), json.dumps(res.get("verdict"))[:300]))
        check("13 daemon RSS < 64 MB during and after a 50 MB output", rss_why(rw.max_kb, "(max)"))
    finally:
        c.close()


def t14_disconnect_mid_call():
    c = Conn(timeout=10)
    c.send({"jsonrpc": "2.0", "id": 14, "method": "call.run",
            "params": {"path": "/t1/dc", "argv": ["sleep", "30"]}})
    try:
        m = c.read_msg(10)
    except Exception:
        c.close()
        raise
    p = m.get("params", {})
    if m.get("method") != "call.started" or "pid" not in p or "path" not in p:
        c.close()
        check("14 call.run sends call.started with path and pid", brief(m))
        return
    pid, path = p["pid"], p["path"]
    dirs = [r + path for r in D.roots]
    present = [d for d in dirs if os.path.isdir(d)]
    check("14 call.started carries the call's path and pid (its cgroup exists)",
          None if present and path.startswith("/t1/dc/call-") and p.get("id") == 14
          else "path %s, dirs found %s, %s" % (path, present, brief(m)))
    c.close()
    t0 = time.monotonic()
    gone_pid = gone_dirs = False
    while time.monotonic() - t0 < WAIT:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            gone_pid = True
        left = [d for d in dirs if os.path.exists(d)]
        gone_dirs = not left
        if gone_pid and gone_dirs:
            break
        time.sleep(0.02)
    dt = time.monotonic() - t0
    check("14 after the client disconnects the call's process is gone",
          None if gone_pid else "pid %d still exists after %.1fs" % (pid, dt))
    check("14 after the client disconnects the call's cgroup is removed",
          None if gone_dirs else "still there: %s" % [d for d in dirs if os.path.exists(d)])
    if not gone_pid:
        try:
            os.kill(pid, signal.SIGKILL)  # our own test command; do not leak it
        except OSError:
            pass


def t16_pipelined():
    n = 1000
    c = Conn(timeout=5)
    try:
        c.send_raw(b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"daemon.info"}\n' % i
                            for i in range(n)))
        got = set()
        why = None
        try:
            while len(got) < n:
                m = c.read_msg(3)
                if "result" in m:
                    got.add(m["id"])
        except (TimeoutError, EOFError) as e:
            why = "%d of %d answered, then %s" % (len(got), n, e)
        check("16 %d requests pipelined in one write are all answered" % n, why)
    finally:
        c.close()


def walk_calls(children, out):
    for ch in children or []:
        if ch.get("kind") == "call":
            out.append(ch.get("path"))
        walk_calls(ch.get("children"), out)
    return out


def spare_dirs():
    """Spare call cgroups the daemon keeps ready per session (call_pool):
    they already carry the names of the next calls, as rel paths."""
    m = one_shot("cg.list", {"recursive": True}, id=151)
    spares = set()
    for t in m.get("result", {}).get("children", []):
        for s in t.get("children", []):
            for name in s.get("spares", []):
                spares.add(s["path"].lstrip("/") + "/" + name)
    return spares


def call_dirs():
    """call-* directories that are not reported spares: leftovers."""
    found = []
    spares = spare_dirs()
    for r in D.roots:
        for d, subdirs, _ in os.walk(r):
            found += [os.path.join(d, s) for s in subdirs if s.startswith("call-")
                      and os.path.relpath(os.path.join(d, s), r) not in spares]
    return found


def t15_no_leftovers():
    m = one_shot("cg.list", {"recursive": True}, id=15)
    calls = walk_calls(m.get("result", {}).get("children"), []) if "result" in m else None
    deadline = time.monotonic() + WAIT
    while calls and time.monotonic() < deadline:
        time.sleep(0.1)
        m = one_shot("cg.list", {"recursive": True}, id=15)
        calls = walk_calls(m.get("result", {}).get("children"), [])
    check("15 cg.list recursive shows no calls left",
          brief(m) if calls is None else ("calls left: %s" % calls if calls else None))
    deadline = time.monotonic() + WAIT
    left = call_dirs()
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = call_dirs()
    check("15 no call-* cgroup directories left in any root",
          "left: %s" % left[:5] if left else None)


TESTS = [
    ("1 malformed json", t01_malformed_json),
    ("2 invalid requests", t02_invalid_request),
    ("3 unknown methods", t03_unknown_method),
    ("4 bad params", t04_bad_params),
    ("5 bad names", t05_bad_names),
    ("6 unknown tenant", t06_unknown_tenant),
    ("7 frozen session", t07_frozen_session),
    ("8 100 MB request line", t08_huge_line),
    ("9 half a line", t09_half_line),
    ("10 clients that never read", t10_non_reader),
    ("11 notifications and ids", t11_ids),
    ("12 200 connections", t12_many_connections),
    ("13 50 MB of output", t13_big_output),
    ("14 disconnect mid-call", t14_disconnect_mid_call),
    ("16 pipelined requests", t16_pipelined),
    ("15 no leftovers", t15_no_leftovers),
]


def on_alarm(signum, frame):
    raise FileTimeout()


def main():
    if os.geteuid() != 0:
        print("not ok - test_robustness.py needs root (it creates real cgroups)")
        print("# 0 passed, 1 failed (test_robustness.py)")
        return 1
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(FILE_TIME_LIMIT)
    t_start = time.monotonic()
    try:
        try:
            D.start()
        except Exception as e:  # noqa: BLE001
            nok("daemon starts", e)
            return 1
        ok("daemon starts (pid %d, %d roots)" % (D.pid, len(D.roots)))
        for name, fn in TESTS:
            t0 = time.monotonic()
            try:
                fn()
            except FileTimeout:
                raise
            except Exception as e:  # noqa: BLE001 - a broken test is a failed test
                nok(name + ": finished", "%s: %s" % (type(e).__name__, e))
            comment("%s: %.2fs" % (name, time.monotonic() - t0))
            ensure_serving(name)
    except FileTimeout:
        nok("the whole file finishes within %d s" % FILE_TIME_LIMIT)
    finally:
        signal.alarm(0)
        if D.proc is not None:
            roots = list(D.roots)
            rc, dt = D.stop()
            check("daemon exits 0 on SIGTERM",
                  None if rc == 0 else ("still running after %d s (killed)" % WAIT if rc is None
                                        else D.exit_desc()))
            left = [r for r in roots if os.path.exists(r)]
            check("all %d daemon roots are gone after it exits" % len(roots),
                  "left: %s" % left if left else None)
            check("the socket file is gone after it exits",
                  "%s still exists" % D.sock if os.path.exists(D.sock) else None)
            if left:
                D.cleanup_after_crash()
            if counts["failed"]:
                comment("daemon log (tail):\n" + D.log_tail(20))
        D.remove_files()
        comment("runtime %.1fs" % (time.monotonic() - t_start))
    return summary("test_robustness.py")


if __name__ == "__main__":
    sys.exit(main())
