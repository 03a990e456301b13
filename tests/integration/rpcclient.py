# SPDX-License-Identifier: GPL-2.0
"""A JSON-RPC client of agentcgd and a throw-away daemon for the Python
integration tests: started on its own root (under the test's cgroup),
config and socket, stopped with SIGTERM, its exit status checked."""
import contextlib
import json
import os
import socket
import subprocess
import tempfile
import time

from tap import nok, ok

# Tests wait for a state (a reply, an event, a count in daemon.info) and
# never for a fixed time; a deadline only ends a wait that would otherwise
# hang. Generous: machines of one kind differ 4-10x in speed, and the suite
# also runs under CPU load (make check-stress).
WAIT = float(os.environ.get("AGENTCG_TEST_WAIT", "60"))


def deadline(timeout=None):
    """The monotonic time `timeout` seconds (WAIT by default) from now."""
    return time.monotonic() + (WAIT if timeout is None else timeout)


def wait_for(pred, what, timeout=None, every=0.05):
    """Polls pred() until it returns something true, which is returned;
    raises TimeoutError naming `what` after `timeout` (WAIT) seconds."""
    end = deadline(timeout)
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError("waited in vain for " + what)
        time.sleep(every)


def check(desc, cond, why=""):
    if cond:
        ok(desc)
    else:
        nok(desc, why)


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.next_id = 0
        self.replies = {}
        self.notes = []  # notifications (events, call.started), in order

    def send(self, method, params):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.s.sendall((json.dumps(msg) + "\n").encode())
        return self.next_id

    def _read(self, timeout):
        self.s.settimeout(timeout)
        data = self.s.recv(1 << 20)
        if not data:
            raise EOFError("daemon closed the connection")
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "id" in msg and ("result" in msg or "error" in msg):
                self.replies[msg["id"]] = msg
            else:
                self.notes.append(msg)

    def wait(self, rid, timeout=None):
        """The reply to request rid; replies to others are kept for later."""
        end = deadline(timeout)
        while rid not in self.replies:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply to request %d" % rid)
            self._read(left)
        return self.replies.pop(rid)

    def wait_note(self, pred, what, timeout=None, since=0):
        """The first notification from index `since` of self.notes on
        (already received or arriving within timeout, WAIT by default)
        for which pred(params) is true."""
        end = deadline(timeout)
        seen = since
        while True:
            for n in self.notes[seen:]:
                if pred(n.get("params") or {}):
                    return n
            seen = len(self.notes)
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("no notification: %s" % what)
            try:
                self._read(left)
            except (socket.timeout, TimeoutError):
                pass

    def info(self):
        return res(self.call("daemon.info"))

    def collect(self, seconds):
        """Notifications that arrive within seconds."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return self.notes
            try:
                self._read(left)
            except (socket.timeout, TimeoutError):
                return self.notes

    def call(self, method, timeout=None, **params):
        return self.wait(self.send(method, params), timeout)

    def close(self):
        self.s.close()


def res(msg):
    return msg.get("result") or {}


def err(msg):
    return msg.get("error") or {}


@contextlib.contextmanager
def daemon(agentcgd, cfg, name, on_log=None):
    """Runs agentcgd on cfg (a dict); yields (socket path, pid). The daemon
    must stop on SIGTERM with status 0 (that is checked). on_log, if
    given, gets the daemon's whole log once it has stopped."""
    cfgf = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(cfg, cfgf)
    cfgf.close()
    sock = "/tmp/agentcg-%s-%d.sock" % (name, os.getpid())
    root = "agentcg-%s-%d" % (name, os.getpid())
    log = tempfile.NamedTemporaryFile("w+", delete=False)
    d = subprocess.Popen([agentcgd, "--config", cfgf.name, "--root", root, "--socket", sock],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        end = deadline()
        while time.monotonic() < end:
            if os.path.exists(sock) or d.poll() is not None:
                break
            time.sleep(0.05)
        if not os.path.exists(sock):
            raise RuntimeError("daemon did not start: " + open(log.name).read()[-2000:])
        yield sock, d.pid
    finally:
        d.terminate()
        try:
            d.wait(WAIT)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
            nok("daemon stops on SIGTERM")
        check("daemon exits 0", d.returncode == 0,
              "exit %s; log: %s" % (d.returncode, open(log.name).read()[-2000:]))
        if on_log:
            on_log(open(log.name).read())
        os.unlink(cfgf.name)
        os.unlink(log.name)
