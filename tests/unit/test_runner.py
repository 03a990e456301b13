#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of userspace/runner/agentcg_runner.py, the interpreter side of
agentcg's sessions, without the daemon: the runner is started the way agentcgd
starts it (PYTHON -I -u -c SOURCE python|bash BASH), fd 0 one end of a
socketpair, fds 1 and 2 pipes, and spoken to in its framed JSON protocol.

Usage: python3 tests/unit/test_runner.py [PYTHON...]
The runner is run by each PYTHON given (default: this interpreter, and
/usr/bin/python3 too if that is another one). Prints TAP-style lines and
"# N passed, N failed (test_runner.py)"; exits 1 if anything failed.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import tap  # noqa: E402

RUNNER = os.path.join(HERE, "..", "..", "userspace", "runner", "agentcg_runner.py")
with open(RUNNER, encoding="utf-8") as f:
    SOURCE = f.read()
BASH = "/bin/bash"
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}


def check(desc, cond, why=""):
    if cond:
        tap.ok(desc)
    else:
        tap.nok(desc, why)


class Runner:
    """One runner process and its three channels."""

    def __init__(self, python, lang, as_file=False):
        self.sock, theirs = socket.socketpair()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        code = [RUNNER] if as_file else ["-I", "-u", "-c", SOURCE]
        self.p = subprocess.Popen([python] + code + [lang] + ([BASH] if lang == "bash" else []),
                                  stdin=theirs, stdout=out_w, stderr=err_w, env=ENV, cwd="/tmp")
        theirs.close()
        os.close(out_w)
        os.close(err_w)
        self.out, self.err = out_r, err_r
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        self.sock.settimeout(15)
        self.buf = b""
        self.seq = 0
        self.ready = self.recv()

    def send(self, op, fds=(), **fields):
        self.seq += 1
        body = json.dumps({"op": op, "id": self.seq, **fields}).encode()
        frame = struct.pack(">I", len(body)) + body
        if fds:
            socket.send_fds(self.sock, [frame], list(fds))
        else:
            self.sock.sendall(frame)
        return self.seq

    def recv(self):
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack(">I", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    msg = json.loads(self.buf[4:4 + n])
                    self.buf = self.buf[4 + n:]
                    return msg
            data = self.sock.recv(1 << 16)
            if not data:
                raise EOFError("the runner closed the socket")
            self.buf += data

    def call(self, op, **fields):
        rid = self.send(op, **fields)
        msg = self.recv()
        if msg.get("id") != rid:
            raise AssertionError(f"reply id {msg.get('id')} for request {rid}")
        return msg

    def ex(self, code, persist=True):
        return self.call("exec", code=code, persist=persist)

    def output(self, fd=None):
        """What is in the stdout (or given) pipe right now."""
        data = b""
        while True:
            try:
                chunk = os.read(self.out if fd is None else fd, 1 << 16)
            except BlockingIOError:
                return data.decode()
            if not chunk:
                return data.decode()
            data += chunk

    def sigint(self):
        # the runner leads its own group: never signal ours by mistake
        assert os.getpgid(self.p.pid) == self.p.pid, "the runner is no group leader"
        os.killpg(self.p.pid, signal.SIGINT)

    def alive(self):
        return self.p.poll() is None

    def close(self):
        self.sock.close()
        try:
            rc = self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        os.close(self.out)
        os.close(self.err)
        return rc


def err(r):
    return r.get("error") or {}


def interrupt_cell(r, code, persist=True, delay=0.4):
    """Run code, SIGINT the group after delay; the reply and the time it took."""
    start = time.monotonic()
    r.send("exec", code=code, persist=persist)
    time.sleep(delay)
    r.sigint()
    reply = r.recv()
    return reply, time.monotonic() - start


def test_python(python, tag):
    r = Runner(python, "python")
    rd = r.ready
    check(f"{tag}: ready frame", rd.get("ready") is True and rd.get("pid") == r.p.pid and rd.get("lang") == "python"
          and str(rd.get("version", ""))[:1].isdigit(), rd)
    check(f"{tag}: the runner leads its process group", os.getpgid(r.p.pid) == r.p.pid)

    a, b, c = r.ex("x = 1"), r.ex("x += 1"), r.ex("x")
    check(f"{tag}: state persists across execs", a.get("ok") and b.get("ok") and c.get("value") == 2
          and "value" not in a, (a, b, c))
    v = r.ex("y = [x, 'é']\ny + [None, 1.5]")
    check(f"{tag}: a trailing expression gives its value", v.get("ok") and v.get("value") == [2, "é", None, 1.5], v)
    v = r.ex("None")
    check(f"{tag}: a None value gives no value", v == {"id": r.seq, "ok": True}, v)
    v = r.ex("class K: pass\nK()")
    check(f"{tag}: a value that is not JSON comes as value_repr",
          "value" not in v and v.get("value_repr", "").startswith("<__main__.K object"), v)
    v = r.ex("float('nan')")
    check(f"{tag}: NaN is not JSON: value_repr", v.get("value_repr") == "nan", v)
    v = r.call("exec", code="big = list(range(100000))\nbig", reply_max=65536)
    check(f"{tag}: a value over the daemon's reply_max comes as value_repr",
          v.get("ok") and "value" not in v and v.get("value_repr", "").startswith("[0, 1, 2"), v)
    r.call("set", name="big2", value=list(range(100000)), reply_max=65536)
    v = r.call("get", name="big2", reply_max=65536)
    check(f"{tag}: a get over reply_max is a ValueError, and the runner lives",
          err(v).get("type") == "ValueError" and "too large" in err(v).get("message", "")
          and r.ex("1 + 1").get("value") == 2, v)

    v = r.ex("a = 1\n1/0")
    e = err(v)
    tb = e.get("traceback", "")
    check(f"{tag}: an exception: type, message, traceback with the cell line",
          v.get("ok") is False and e.get("type") == "ZeroDivisionError" and e.get("message") == "division by zero"
          and 'File "<cell>", line 2' in tb and "1/0" in tb and "<string>" not in tb, v)
    r.ex("def f():\n    return {}['k']")
    v = r.ex("\n\nf()")
    tb = err(v).get("traceback", "")
    check(f"{tag}: a traceback through an earlier cell shows each cell's own lines",
          err(v).get("type") == "KeyError" and "line 3, in <module>\n    f()" in tb
          and "line 2, in f\n    return {}['k']" in tb, tb)
    v = r.ex("1 +")
    check(f"{tag}: a SyntaxError is an error", err(v).get("type") == "SyntaxError"
          and "<cell>" in err(v).get("traceback", ""), v)
    v = r.ex("import sys\nsys.exit(3)")
    check(f"{tag}: SystemExit is an error with its code; the runner lives on",
          err(v).get("type") == "SystemExit" and err(v).get("code") == 3 and r.ex("a").get("value") == 1, v)
    v = r.ex("b = bytearray(1 << 62)")
    check(f"{tag}: MemoryError is an error; the runner lives on",
          err(v).get("type") == "MemoryError" and r.ex("a").get("value") == 1, v)
    v = r.ex("input()")
    check(f"{tag}: a cell's stdin is at EOF, not the control socket", err(v).get("type") == "EOFError", v)

    v = r.ex("import sys, subprocess\nprint('hello')\nprint('oops', file=sys.stderr)\n"
             "subprocess.run(['echo', 'child'])\nsys.stdout.write('no newline')")
    out, errout = r.output(), r.output(r.err)
    check(f"{tag}: output is in the pipes once the reply is there",
          v.get("ok") and out == "hello\nchild\nno newline" and errout == "oops\n", (v, out, errout))

    v = r.ex("import os\nchild = os.fork()\nchild")
    w = r.ex("os.waitpid(child, 0)[1] if child else 'forked child answered'")
    check(f"{tag}: a process forked by a cell exits when it is back from the cell",
          isinstance(v.get("value"), int) and w.get("value") == 0, (v, w))

    doc = {"a": [1, {"b": None, "c": "é"}], "n": 1.5}
    s, g = r.call("set", name="doc", value=doc), r.call("get", name="doc")
    v = r.ex("doc['a'][1]['c'] + type(doc['a'][1]).__name__")
    check(f"{tag}: set/get round trip of nested JSON", s.get("ok") and g.get("value") == doc
          and v.get("value") == "édict", (s, g, v))
    r.ex("o = object()")
    g = r.call("get", name="o")
    check(f"{tag}: get of something not JSON-serialisable", g.get("ok") is False and err(g).get("type") == "TypeError"
          and err(g).get("repr", "").startswith("<object object"), g)
    g = r.call("get", name="nope")
    check(f"{tag}: get of a missing name: NameError", err(g).get("type") == "NameError", g)
    s = r.call("set", name="not a name", value=1)
    check(f"{tag}: set of a bad name: ValueError", err(s).get("type") == "ValueError", s)
    u = r.call("frobnicate")
    check(f"{tag}: unknown op: ValueError", err(u).get("type") == "ValueError" and "frobnicate" in err(u).get("message", ""), u)

    r.ex("kept = 'yes'")
    v, took = interrupt_cell(r, "while True: pass")
    check(f"{tag}: SIGINT interrupts a running cell", v.get("interrupted") is True and v.get("ok") is False
          and err(v).get("type") == "KeyboardInterrupt" and took < 5, v)
    check(f"{tag}: the state survives an interrupt", r.ex("kept").get("value") == "yes")
    r.sigint()
    time.sleep(0.2)
    check(f"{tag}: SIGINT between cells does not kill the runner", r.alive() and r.ex("kept").get("value") == "yes")

    with tempfile.TemporaryFile() as tf:
        r.send("get", fds=[tf.fileno()], name="kept")
        p = r.recv()
        fds = r.ex("import os as _o; [_o.readlink('/proc/self/fd/' + f) for f in _o.listdir('/proc/self/fd')"
                   " if _o.path.lexists('/proc/self/fd/' + f)]")
    check(f"{tag}: an fd sent with a frame never reaches the runner (it has fds 0-2 and its socket)",
          p.get("value") == "yes" and not any("/tmp" in str(x) for x in fds.get("value", ["/tmp?"])),
          (p, fds))
    p = r.call("park")
    check(f"{tag}: there is no park op (the daemon moves the runner)", err(p).get("type") == "ValueError", p)
    d = r.ex("import ctypes as _c; _c.CDLL(None).prctl(3, 0, 0, 0, 0)")
    check(f"{tag}: the runner is not dumpable (prctl PR_GET_DUMPABLE)", d.get("value") == 0, d)

    # stateless execs
    a, b = r.ex("y2 = 5", persist=False), r.ex("y2", persist=False)
    check(f"{tag}: stateless: a variable is gone in the next exec",
          a.get("ok") and err(b).get("type") == "NameError", (a, b))
    v = r.ex("print('from child')\n6 * 7", persist=False)
    check(f"{tag}: stateless: value and output", v.get("value") == 42 and r.output() == "from child\n", v)
    r.ex("kept = 'persistent'")
    r.ex("kept = 'changed'", persist=False)
    check(f"{tag}: stateless does not touch the persistent namespace", r.ex("kept").get("value") == "persistent")
    v = r.ex("import os\nos.kill(os.getpid(), 9)", persist=False)
    check(f"{tag}: stateless: a cell killed by a signal: Died", v.get("ok") is False and err(v).get("type") == "Died"
          and "signal 9" in err(v).get("message", ""), v)
    check(f"{tag}: stateless: the runner survives its child's death", r.ex("1 + 1", persist=False).get("value") == 2)
    start = time.monotonic()
    v = r.ex("import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(30)\n    os._exit(0)\npid", persist=False)
    check(f"{tag}: stateless: a cell's lingering fork does not hold up the reply",
          isinstance(v.get("value"), int) and time.monotonic() - start < 5, v)
    if isinstance(v.get("value"), int):
        os.kill(v["value"], signal.SIGKILL)
    v, took = interrupt_cell(r, "while True: pass", persist=False)
    check(f"{tag}: stateless: SIGINT interrupts the child", v.get("interrupted") is True and took < 5, v)
    check(f"{tag}: nothing unexpected on stderr", r.output(r.err) == "")
    check(f"{tag}: reset gives a fresh namespace",
          r.call("reset").get("ok") is True and err(r.ex("kept")).get("type") == "NameError")
    check(f"{tag}: EOF on the socket: the runner exits 0", r.close() == 0)


def test_protocol_errors(python, tag):
    for what, frame in (("a malformed frame", struct.pack(">I", 3) + b"xyz"),
                        ("a frame that is not an object", struct.pack(">I", 2) + b"[]"),
                        ("a frame over 64 MiB", struct.pack(">I", (64 << 20) + 1))):
        r = Runner(python, "python")
        r.sock.sendall(frame)
        try:
            rc = r.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rc = None
        check(f"{tag}: {what}: the runner exits 2", rc == 2, rc)
        r.close()
    r = Runner(python, "python", as_file=True)
    check(f"{tag}: the runner also runs as a file", r.ready.get("ready") and r.ex("6 * 7").get("value") == 42)
    r.close()


def pid_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_bash(python, tag):
    r = Runner(python, "bash")
    rd = r.ready
    check(f"{tag}: ready frame", rd.get("ready") is True and rd.get("pid") == r.p.pid and rd.get("lang") == "bash"
          and str(rd.get("version", ""))[:1].isdigit(), rd)
    a = r.ex("v=5; f() { echo \"fn:$1:$v\"; }; declare -A m=([k]=mv)")
    b = r.ex("f 1; echo ${m[k]}")
    check(f"{tag}: variables, functions and declare persist", a.get("ok") and b.get("ok") and b.get("exit_code") == 0
          and r.output() == "fn:1:5\nmv\n", (a, b))
    r.ex("cd /usr")
    r.ex("pwd")
    check(f"{tag}: cd persists", r.output() == "/usr\n")
    v = r.ex("false")
    w = r.ex("echo to-stderr >&2; (exit 7)")
    check(f"{tag}: exit status reported", v.get("ok") is False and v.get("exit_code") == 1 and w.get("exit_code") == 7
          and r.output(r.err) == "to-stderr\n", (v, w))
    v = r.ex("echo $(( 6 * 7 ))\nreturn 4\necho not-reached")
    check(f"{tag}: return ends the cell", v.get("exit_code") == 4 and r.output() == "42\n", v)

    with tempfile.TemporaryDirectory() as d:
        nasty = (f"it's \"quoted\" $(touch {d}/dollar) `touch {d}/tick` ${{HOME}} \\ \n"
                 f"second line; touch {d}/semi\n\n")
        s = r.call("set", name="nasty", value=nasty)
        g = r.call("get", name="nasty")
        e = r.ex('printf %s "$nasty"')
        out = r.output()
        check(f"{tag}: set/get of quotes, $(...), backticks, newlines round-trips",
              s.get("ok") and g.get("value") == nasty and out == nasty, (s, g, out))
        check(f"{tag}: ... and nothing in it is executed", os.listdir(d) == [] and e.get("ok"), os.listdir(d))
    g = r.call("get", name="unset_thing")
    check(f"{tag}: get of an unset variable: NameError", err(g).get("type") == "NameError", g)
    g = r.call("get", name="a[$(date)]")
    check(f"{tag}: get of a bad name: ValueError", err(g).get("type") == "ValueError", g)
    s1, s2 = r.call("set", name="num", value=1.5), r.call("set", name="flag", value=True)
    check(f"{tag}: numbers and bools are set as their JSON text",
          s1.get("ok") and s2.get("ok") and r.call("get", name="num").get("value") == "1.5"
          and r.call("get", name="flag").get("value") == "true")
    s = r.call("set", name="obj", value={"a": 1})
    check(f"{tag}: set of an object: TypeError", err(s).get("type") == "TypeError", s)
    r.ex("declare -i ival=1")
    s = r.call("set", name="ival", value="a[$(echo no)]")
    check(f"{tag}: set of an integer variable is refused", s.get("ok") is False, s)

    v = r.ex("set -e; [[ -e /nonexistent ]] && echo yes")
    w = r.ex("echo \"$-\"; set +e")
    check(f"{tag}: set -e: a cell ending non-zero does not kill bash; -e stays on",
          v.get("exit_code") == 1 and "restarted" not in v and "e" in r.output(), (v, w))

    r.ex("echo $$")
    bpid = int(r.output())
    v, took = interrupt_cell(r, "sleep 30; echo after")
    check(f"{tag}: SIGINT during sleep 30: interrupted, exit code 130",
          v.get("interrupted") is True and v.get("exit_code") == 130 and v.get("ok") is False and took < 5, (v, took))
    check(f"{tag}: ... the rest of the cell does not run", "after" not in r.output())
    v, took = interrupt_cell(r, "g() { while :; do :; done; }; g; echo after")
    check(f"{tag}: SIGINT in a busy shell function aborts the whole cell",
          v.get("interrupted") is True and took < 5 and "after" not in r.output(), v)
    check(f"{tag}: bash survives interrupts with its state, stderr stays clean",
          r.ex("echo $v $$").get("ok") and r.output() == f"5 {bpid}\n" and r.output(r.err) == "")
    r.ex("set -x; echo traced")
    r.ex("echo again; set +x")
    out, errout = r.output(), r.output(r.err)
    check(f"{tag}: set -x traces the cells, hardly the driver", out == "traced\nagain\n"
          and errout.count("agentcg") == 0 and "echo again" in errout, errout)
    r.sigint()
    time.sleep(0.2)
    check(f"{tag}: SIGINT between cells kills neither the runner nor bash",
          r.alive() and r.ex("echo $v $$").get("ok") and r.output() == f"5 {bpid}\n")

    a, b = r.ex("w=1; cd /", persist=False), r.ex("echo ${w-unset} $PWD")
    check(f"{tag}: stateless: nothing persists", a.get("ok") and r.output() == "unset /usr\n", a)
    v, took = interrupt_cell(r, "sleep 30", persist=False)
    check(f"{tag}: stateless: SIGINT interrupts", v.get("interrupted") is True and took < 5, v)

    v = r.ex("exit 3")
    check(f"{tag}: exit 3 kills bash: Died, restarted", v.get("ok") is False and err(v).get("type") == "Died"
          and "status 3" in err(v).get("message", "") and v.get("restarted") is True, v)
    v = r.ex("echo ${v-fresh} $$")
    out = r.output()
    check(f"{tag}: the next exec runs in a fresh bash", v.get("ok") and out.startswith("fresh ")
          and out.split()[1] != str(bpid), out)
    check(f"{tag}: the old bash is gone", pid_gone(bpid))
    r.ex("v=again")
    rs = r.call("reset")
    g = r.call("get", name="v")
    check(f"{tag}: reset restarts bash", rs.get("ok") and err(g).get("type") == "NameError", g)
    r.ex("echo $$")
    bpid = int(r.output())
    check(f"{tag}: EOF: the runner exits 0", r.close() == 0)
    check(f"{tag}: EOF: ... and leaves no bash behind", pid_gone(bpid))


def main():
    pythons = sys.argv[1:] or [sys.executable] + [
        p for p in ["/usr/bin/python3"]
        if os.path.exists(p) and os.path.realpath(p) != os.path.realpath(sys.executable)]
    for python in pythons:
        tag = os.path.basename(python) if len(pythons) == 1 else python
        try:
            test_python(python, tag + " python")
            test_protocol_errors(python, tag + " python")
            if os.path.exists(BASH):
                test_bash(python, tag + " bash")
        except Exception as e:
            check(f"{tag}: the tests ran to the end", False, repr(e))
    sys.exit(tap.summary("test_runner.py"))


if __name__ == "__main__":
    main()
