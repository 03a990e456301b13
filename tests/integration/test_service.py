#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""agentcgd as a systemd service, on this host without systemd as PID 1:
systemd's own socket activator (systemd-socket-activate, from the systemd
package) passes the listening socket the way agentcgd.socket does, and a
real unix datagram socket stands in for systemd's $NOTIFY_SOCKET, reading
each message with the sender's credentials.

Checks: nothing runs until the first connection; that connection starts
agentcgd, which serves on the passed socket; READY=1 with a STATUS= line
comes from the daemon's pid; WATCHDOG=1 comes again and again; STATUS=
follows a call; a call sees no fd of the listening socket; log lines carry
the sd-daemon priority prefix when stderr is $JOURNAL_STREAM (and not
otherwise); SIGTERM sends STOPPING=1, removes the root and leaves systemd's
socket in place; a passed socket of the wrong type is refused with a clear
error and leaves no cgroup. (vmtests/ boots a real systemd for the units.)

Usage: python3 tests/integration/test_service.py BUILD_DIR   (as root)
Prints TAP-style lines and "# N passed, N failed (test_service.py)".
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
AGENTCGD = os.path.abspath(os.path.join(BUILD, "agentcgd"))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import nok, summary  # noqa: E402
from rpcclient import Client, check, res, wait_for  # noqa: E402

ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"


class NotifySocket:
    """systemd's side of sd_notify: a datagram socket that records each
    message as (sender pid, {key: value})."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.s.settimeout(0.2)
        self.msgs = []
        self.lock = threading.Lock()
        self.done = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.done:
            try:
                data, anc, _, _ = self.s.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, d in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", d[:12])[0]
            kv = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
            with self.lock:
                self.msgs.append((pid, kv))

    def having(self, key, value=None, pid=None):
        with self.lock:
            return [(p, kv) for p, kv in self.msgs if key in kv and
                    (value is None or value(kv[key]) if callable(value) else
                     value is None or kv[key] == value) and (pid is None or p == pid)]

    def close(self):
        self.done = True
        self.t.join()
        self.s.close()


def others_running(root, exclude):
    """pids of processes whose command line names the root, but exclude."""
    out = subprocess.run(["pgrep", "-f", "--root " + root], capture_output=True, text=True).stdout
    return [int(p) for p in out.split() if int(p) not in exclude and int(p) != os.getpid()]


def cgroups_named(name):
    """Directories called name in any cgroup hierarchy, a few levels down."""
    found = []
    for top, dirs, _ in os.walk("/sys/fs/cgroup"):
        if top.count("/") >= 10:
            dirs[:] = []
        if name in dirs:
            found.append(os.path.join(top, name))
    return found


def gone(pid):
    """pid has exited (a zombie until systemd-socket-activate reaps it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def main():
    tmp = tempfile.mkdtemp(prefix="agentcg-service-")
    os.chmod(tmp, 0o755)
    sock = os.path.join(tmp, "agentcgd.sock")
    logpath = os.path.join(tmp, "log")
    root = "agentcg-service-%d" % os.getpid()
    cfg = json.load(open(os.path.join(HERE, "agentcgd-test.json")))
    cfg["interpreters"] = {"pool": {"python": 0, "bash": 0}}
    cfgpath = os.path.join(tmp, "agentcgd.json")
    json.dump(cfg, open(cfgpath, "w"))
    notify = NotifySocket(os.path.join(tmp, "notify"))
    log = open(logpath, "w")
    st = os.fstat(log.fileno())
    act = subprocess.Popen([ACTIVATE, "-l", sock, "-E", "NOTIFY_SOCKET=" + notify.path,
                            "-E", "WATCHDOG_USEC=1000000",
                            "-E", "JOURNAL_STREAM=%d:%d" % (st.st_dev, st.st_ino),
                            AGENTCGD, "--config", cfgpath, "--root", root, "--socket", sock],
                           stdout=log, stderr=log)
    dpid = None
    try:
        try:
            wait_for(lambda: os.path.exists(sock) or act.poll() is not None, "the socket")
        except TimeoutError:
            pass
        check("systemd-socket-activate listens on the socket", os.path.exists(sock),
              open(logpath).read()[-2000:])
        check("... and no agentcgd runs before the first connection",
              not others_running(root, {act.pid}) and not notify.msgs,
              (others_running(root, {act.pid}), notify.msgs))

        c = Client(sock)
        info = res(c.call("daemon.info"))
        check("the first connection starts agentcgd, which answers on the passed socket",
              info.get("socket") == sock, info)
        roots = info.get("roots", [])
        ready = wait_for(lambda: notify.having("READY", "1"), "READY=1")
        dpid = ready[0][0]
        exe = os.readlink("/proc/%d/exe" % dpid) if dpid and not gone(dpid) else ""
        check("READY=1 comes from the agentcgd process", os.path.samefile(exe, AGENTCGD)
              if exe else False, (dpid, exe))
        status = ready[0][1].get("STATUS", "")
        check("... with a one-line STATUS= of what it serves",
              status.startswith("serving " + sock) and "calls running" in status, status)

        pings = wait_for(lambda: len(notify.having("WATCHDOG", "1", pid=dpid)) >= 3 and
                         notify.having("WATCHDOG", "1", pid=dpid), "3 watchdog pings")
        check("WATCHDOG=1 comes again and again from the daemon (%d so far)" % len(pings),
              len(pings) >= 3)

        # The daemon's listening socket, as the kernel names it.
        lfd = None
        for fd in os.listdir("/proc/%d/fd" % dpid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (dpid, fd))
            except OSError:
                continue
            if fd == "3":
                lfd = target
        check("the passed socket is the daemon's fd 3", lfd and lfd.startswith("socket:["), lfd)
        r = c.call("call.run", path="/t1/svc", argv=[
            "sh", "-c", 'for f in /proc/self/fd/*; do echo "$f $(readlink $f)"; done'],
            intent={"memory": "64M"})
        out = res(r).get("stdout", "")
        check("a call runs and lists its fds", res(r).get("verdict", {}).get("status") == "ok"
              and "/proc/self/fd/0" in out, r)
        check("... none of them is the listening socket", lfd and lfd not in out, out)
        st2 = wait_for(lambda: notify.having("STATUS", lambda v: "1 since start" in v, pid=dpid),
                       "a STATUS= after the call")
        check("STATUS= follows the call", "1 sessions" in st2[-1][1]["STATUS"], st2[-1][1])
        c.close()

        loglines = [line for line in open(logpath).read().splitlines()
                    if "agentcgd: " in line and not line.startswith(("Listening", "Communication",
                                                                        "Execing", "agentcgd 0"))]
        check("log lines on $JOURNAL_STREAM start with the sd-daemon priority prefix",
              loglines and all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in loglines),
              loglines[:5])
        check("... <6> for info", any(line.startswith("<6>agentcgd: info: listening on " + sock)
                                      for line in loglines), loglines[:8])

        os.kill(dpid, 15)
        wait_for(lambda: gone(dpid), "the daemon to stop")
        check("SIGTERM: STOPPING=1 with a last STATUS=",
              notify.having("STOPPING", "1", pid=dpid) and
              "stopping" in notify.having("STOPPING", "1", pid=dpid)[0][1].get("STATUS", ""),
              notify.msgs[-3:])
        left = [p for p in roots if os.path.exists(p)]
        check("... the root is removed in every hierarchy (%d)" % len(roots), roots and not left,
              left)
        check("... and systemd's socket stays in place for the next start", os.path.exists(sock))
        dpid = None
    except Exception as e:
        nok("service test", repr(e))
    finally:
        if dpid and not gone(dpid):
            os.kill(dpid, 9)
        act.terminate()
        act.wait()
        notify.close()
        log.close()

    wrong_type(tmp, cfgpath)
    abstract(tmp, cfgpath)
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(summary("test_service.py"))


def refused_socket(tmp, cfgpath, tag, listen, poke, message, env=()):
    """agentcgd started by systemd-socket-activate with the arguments
    listen, woken by poke(): it must log message, exit, and leave no
    cgroup. Returns its log."""
    logpath = os.path.join(tmp, "log-" + tag)
    root = "agentcg-service-%s-%d" % (tag, os.getpid())
    log = open(logpath, "w")
    act = subprocess.Popen([ACTIVATE, *listen, *env, AGENTCGD, "--config", cfgpath,
                            "--root", root], stdout=log, stderr=log)
    text = ""
    try:
        wait_for(poke, "the socket to take a client")
        text = wait_for(lambda: message in open(logpath).read() and open(logpath).read(),
                        "the refusal")
        check("%s: refused with a clear error" % tag, message in text, text[-1500:])
        # systemd-socket-activate execs the daemon in its own process
        wait_for(lambda: act.poll() is not None and not others_running(root, set()),
                 "the refused daemon to exit")
        left = cgroups_named(root)
        check("%s: ... and it leaves no cgroup behind" % tag, not left, left)
    except Exception as e:
        nok("%s: refused" % tag, repr(e))
    finally:
        act.terminate()
        act.wait()
        log.close()
    return text


def poke_with(family, kind, addr):
    """A poke that sends a client to addr: True once it got through."""
    def poke():
        s = socket.socket(family, kind)
        try:
            if kind == socket.SOCK_DGRAM:
                s.sendto(b"{}", addr)
            else:
                s.connect(addr)
            return True
        except OSError:
            return False
        finally:
            s.close()
    return poke


def wrong_type(tmp, cfgpath):
    """A datagram socket passed where a stream socket belongs (a wrong
    agentcgd.socket); a $JOURNAL_STREAM that is not its stderr adds no
    prefix."""
    sock = os.path.join(tmp, "dgram.sock")
    text = refused_socket(tmp, cfgpath, "datagram", ["--datagram", "-l", sock],
                          poke_with(socket.AF_UNIX, socket.SOCK_DGRAM, sock),
                          "agentcgd: error: socket activation: fd 3 is not a listening unix "
                          "stream socket", env=["-E", "JOURNAL_STREAM=1:1"])
    check("datagram: ... with no priority prefix when $JOURNAL_STREAM is not its stderr",
          text and "\n<" not in "\n" + text, text[-1500:])


def abstract(tmp, cfgpath):
    """An abstract socket has no file mode (anyone in the network namespace
    could connect)."""
    name = "agentcg-test-abstract-%d" % os.getpid()
    refused_socket(tmp, cfgpath, "abstract", ["-l", "@" + name],
                   poke_with(socket.AF_UNIX, socket.SOCK_STREAM, "\0" + name),
                   "socket activation: the passed socket has no path (abstract or unnamed)")


if __name__ == "__main__":
    main()
