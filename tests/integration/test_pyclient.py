#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The Python client (userspace/python, package agentcg) against a real
daemon, real interpreters and real cgroups: a call and its attributes, a
call over its memory, a session's state, get/set, an interrupt from
another thread, close by the context manager, a bad intent as an
exception with code and data, and pip install into a venv.

Usage: python3 tests/integration/test_pyclient.py BUILD_DIR   (as root)
Prints TAP-style lines and "# N passed, N failed (test_pyclient.py)".
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
AGENTCGD = os.path.join(BUILD, "agentcgd")
HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.join(HERE, "..", "..", "userspace", "python")
sys.path.insert(0, HERE)
sys.path.insert(0, PKG)
from tap import nok, summary  # noqa: E402
from rpcclient import WAIT, check, daemon, wait_for  # noqa: E402
import agentcg  # noqa: E402


def main():
    cfg = json.load(open(os.path.join(HERE, "agentcgd-test.json")))
    cfg["interpreters"] = {"pool": {"python": 1}}
    with daemon(AGENTCGD, cfg, "pyclient") as (sock, pid):
        try:
            run(sock)
        except Exception as e:  # one broken step must not hide the summary
            nok("the test ran to its end", "%s: %s" % (type(e).__name__, e))
    try:
        not_roots_socket()
    except Exception as e:  # noqa: BLE001
        nok("not_roots_socket ran to its end", "%s: %s" % (type(e).__name__, e))
    sys.exit(summary("test_pyclient.py"))




def not_roots_socket():
    """A socket another user serves at the path (one made in /tmp while
    the daemon was down): Client() refuses it and sends nothing."""
    import pwd
    d = tempfile.mkdtemp(prefix="agentcg-pyc-")
    os.chmod(d, 0o777)
    path = os.path.join(d, "fake.sock")
    nobody = pwd.getpwnam("nobody")
    fake = open(os.path.join(HERE, "fake_socket.py")).read()
    p = subprocess.Popen(["/usr/bin/python3", "-c", fake, path], user=nobody.pw_uid,
                         group=nobody.pw_gid, extra_groups=[], stdout=subprocess.PIPE, text=True,
                         cwd="/")
    try:
        check("a listener of user nobody starts", p.stdout.readline().strip() == "ready")
        try:
            agentcg.Client(path)
            refused = None
        except PermissionError as e:
            refused = str(e)
        check("Client() refuses a socket served by another uid, naming it (%s)" % refused,
              refused is not None and "uid %d" % nobody.pw_uid in refused, refused)
        check("... and sent it nothing", p.stdout.readline().strip() == "got 0")
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def expect_error(fn):
    try:
        fn()
    except agentcg.AgentcgError as e:
        return e
    return None


def run(sock):
    os.environ["AGENTCG_SOCKET"] = sock
    os.environ["AGENTCG_SESSION"] = "/t1/pyc"
    with agentcg.Client() as c:
        check("Client() finds the socket in $AGENTCG_SOCKET", c.path == sock, c.path)

        # --- a call and its attributes ------------------------------------
        r = c.run("echo hello; echo oops >&2", memory="64M", timeout="30s", label="py-echo")
        check("run(str) runs it with /bin/sh -c in $AGENTCG_SESSION", r.argv == ["/bin/sh", "-c",
              "echo hello; echo oops >&2"] and r.path.startswith("/t1/pyc/"), r.raw)
        check("... result attributes: stdout, stderr, exit_code, status, ok",
              r.stdout == "hello\n" and r.stderr == "oops\n" and r.exit_code == 0
              and r.status == "ok" and r.ok is True, r.raw)
        check("... the effective intent and the usage are there",
              r.intent.get("label") == "py-echo" and isinstance(r.usage, dict) and r["verdict"], r.raw)
        check("... an unknown key is an AttributeError, the raw dict has all",
              not hasattr(r, "no_such_key") and set(r.raw) >= {"path", "pid", "usage", "verdict"}, r.raw)
        check("... the call.started notification was kept aside, not an error",
              any(n.get("method") == "call.started" for n in c.notifications), list(c.notifications))
        r = c.run(["sh", "-c", "exit 3"], path="/t1/pyc", env={"A": "b"}, cwd="/tmp")
        check("run(list) with env and cwd: exit_code 3, verdict failed, not ok",
              r.exit_code == 3 and r.status == "failed" and not r.ok, r.raw)
        r = c.run("echo $A; pwd", env={"A": "b"}, cwd="/tmp")
        check("... env (a dict) and cwd reach the command", r.stdout == "b\n/tmp\n", r.raw)

        # --- over its memory ----------------------------------------------
        r = c.run(["python3", "-c", "s = 'x' * (200 << 20)"], memory="16M", memory_max="32M",
                  timeout="60s")
        res = [e.get("resource") for e in r.exceeded]
        check("a call allocating 200M under memory_max 32M: verdict exceeded, not ok",
              r.status == "exceeded" and not r.ok, r.verdict)
        # memory_max on v2 (the OOM killer); memory on hybrid, where BPF
        # kills at the charge past memory
        check("... its exceeded list names the memory limit (%s), the summary says so" % res,
              res and res[0] in ("memory", "memory_max") and r.summary.startswith("exceeded " + res[0])
              and r.exceeded[0].get("action"), r.verdict)

        # --- a bad intent ---------------------------------------------------
        e = expect_error(lambda: c.run("true", memory="lots"))
        check("a bad intent raises InvalidParams (an AgentcgError), code -32602, data names the field",
              isinstance(e, agentcg.InvalidParams) and e.code == -32602
              and isinstance(e.data, dict) and any("memory" in k for k in e.data), repr(e))
        e = expect_error(lambda: c.run("true", path="/nosuchtenant/s"))
        check("... another error carries its own code (%s)" % (e and e.code),
              isinstance(e, agentcg.AgentcgError) and isinstance(e.code, int) and e.message, repr(e))
        r = c.run("echo still")
        check("the connection serves requests after an error reply", r.stdout == "still\n", r.raw)
        c.attach("/t1/pyc").close()

        # --- a session ------------------------------------------------------
        with c.session("/t1/pysess", memory_max="512M") as s:
            check("session() creates it with an interpreter", s.info.get("interpreter", {})
                  .get("lang") == "python", s.info)
            r1 = s.exec("x = 40")
            r2 = s.exec("x + 2", memory="64M")
            check("the session keeps state across two exec calls", r1.ok and r2.value == 42,
                  (r1.raw, r2.raw))
            s.set("cfg", {"n": [1, 2, {"deep": True}], "s": "é"})
            check("set/get round-trip of nested JSON", s.get("cfg") == {"n": [1, 2, {"deep": True}],
                                                                         "s": "é"})
            check("... and the cell sees what set put", s.exec("cfg['n'][2]['deep']").value is True)
            e = expect_error(lambda: s.get("unset_name"))
            check("get of an unset name raises NotFound (-32001)",
                  isinstance(e, agentcg.NotFound) and e.code == -32001, repr(e))

            # An interrupt from another thread, on its own connection: the
            # cell says it runs by making a file.
            running = "/tmp/agentcg-pyclient-cell-%d" % os.getpid()
            out = {}

            def cell():
                try:
                    with agentcg.Client(sock) as c2:
                        out["r"] = c2.attach("/t1/pysess").exec(
                            "kept = 'yes'\nopen(%r, 'w').close()\nwhile True: pass" % running)
                except Exception as ex:
                    out["e"] = ex
            t = threading.Thread(target=cell, daemon=True)
            t.start()
            try:
                wait_for(lambda: os.path.exists(running) or not t.is_alive(), "the cell to start")
                check("interrupt() returns True while a cell runs", s.interrupt() is True)
                t.join(WAIT)
                r = out.get("r")
                check("... the cell ends as interrupted, KeyboardInterrupt",
                      r is not None and r.interrupted is True
                      and (r.error or {}).get("type") == "KeyboardInterrupt",
                      r.raw if r else out)
            finally:
                if os.path.exists(running):
                    os.unlink(running)
            check("... the state survives it", s.exec("kept").value == "yes")
            check("interrupt() with nothing running returns False", s.interrupt() is False)
            s.reset()
            check("reset() empties the namespace", s.exec("'x' in dir()").value is False)
        check("leaving the with block closed the session", s.closed)
        e = expect_error(lambda: s.exec("1"))
        check("... a further exec raises AgentcgError with a code (%s)" % (e and e.code),
              isinstance(e, agentcg.AgentcgError) and isinstance(e.code, int), repr(e))
        kids = c.request("cg.list", {"path": "/t1"}).get("children", [])
        check("... cg.list no longer shows it", all(k.get("name") != "pysess" for k in kids), kids)

    # --- pip install into a venv ---------------------------------------
    venv = tempfile.mkdtemp(prefix="agentcg-pyvenv-")
    try:
        r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True)
        py = os.path.join(venv, "bin", "python")
        if r.returncode == 0:
            # (its build backend is its own, stdlib only: nothing to fetch)
            r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-index", "--no-cache-dir",
                                "--disable-pip-version-check", PKG],
                               capture_output=True, text=True)
        check("plain pip install userspace/python into a venv, offline", r.returncode == 0, r.stderr[-1500:])
        probe = ("import agentcg, inspect, json\n"
                 "c = agentcg.Client()\n"
                 "r = c.run(['echo', 'from the venv'], memory='32M')\n"
                 "c.attach('/t1/pyc').close()\n"
                 "print(json.dumps([agentcg.__file__, agentcg.__version__, r.stdout, r.ok,"
                 " inspect.getsource(agentcg.client)]))\n")
        r = subprocess.run([py, "-c", probe], capture_output=True, text=True, cwd=venv)
        try:
            f, ver, stdout, rok, src = json.loads(r.stdout)
        except ValueError:
            f = ver = stdout = rok = src = None
        mine = open(os.path.join(PKG, "agentcg", "client.py")).read()
        check("... import agentcg there gives the venv's copy of the same Client",
              f is not None and f.startswith(venv) and src == mine, r.stderr[-1500:] or f)
        check("... version 0.1.0, and it runs a call", ver == "0.1.0" and stdout == "from the venv\n"
              and rok is True, r.stdout[:300])
    finally:
        shutil.rmtree(venv, ignore_errors=True)


if __name__ == "__main__":
    main()
