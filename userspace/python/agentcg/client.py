# SPDX-License-Identifier: GPL-2.0
"""Client, Session and Result: agentcgd's JSON-RPC 2.0 over its unix
socket, one JSON object per line each way.

Not thread-safe: one Client is one connection, used by one thread at a
time (a request waits for its own reply on the socket). To interrupt a
running cell from another thread, give that thread its own Client and use
Client.attach(path).interrupt().
"""
import collections
import json
import os
import socket as _socket

from .errors import ProtocolError, from_reply

DEFAULT_SOCKET = "/run/agentcg/agentcgd.sock"
MAX_LINE = 64 << 20  # a reply line longer than this closes the connection
_INTENT = ("memory", "memory_max", "cpu", "pids", "timeout", "cpu_time", "priority", "label")
_BUDGET = ("memory_max", "cpu", "pids")


def _intent(values, more):
    out = {k: v for k, v in values.items() if v is not None}
    out.update({k: v for k, v in more.items() if v is not None})
    return out


class Result:
    """A call's result (call.run or session.exec). Every key of the
    daemon's result object is an attribute (path, pid, usage, verdict,
    intent, limits, exit, stdout, stderr, processes, value, error, ...);
    .raw is the whole object. Derived: .status (the verdict's status:
    "ok", "exceeded", "failed", "spawn_failed"), .ok (status == "ok"),
    .summary (the verdict's one line), .exceeded (its list), .exit_code
    (the exit code, None when killed by a signal)."""

    def __init__(self, raw):
        self.raw = raw

    def __getattr__(self, name):
        raw = self.__dict__.get("raw", {})
        if name in raw:
            return raw[name]
        raise AttributeError("%s (the result has no key %r; it has %s)"
                             % (name, name, ", ".join(sorted(raw))))

    def __getitem__(self, key):
        return self.raw[key]

    def __contains__(self, key):
        return key in self.raw

    @property
    def verdict(self):
        return self.raw.get("verdict") or {}

    @property
    def status(self):
        return self.verdict.get("status")

    @property
    def ok(self):
        """True when the verdict is ok. A session cell's own outcome (no
        exception raised) is raw["ok"]."""
        return self.status == "ok"

    @property
    def summary(self):
        return self.verdict.get("summary", "")

    @property
    def exceeded(self):
        return self.verdict.get("exceeded") or []

    @property
    def exit_code(self):
        if "exit_code" in self.raw:  # a bash cell
            return self.raw["exit_code"]
        return (self.raw.get("exit") or {}).get("code")

    def __repr__(self):
        return "<agentcg.Result %s %s: %s>" % (self.raw.get("path"), self.status, self.summary)


class Client:
    """A connection to agentcgd. socket: the socket's path (default
    $AGENTCG_SOCKET, else /run/agentcg/agentcgd.sock). timeout: seconds a
    request may wait for its reply (None: as long as it takes); a request
    that times out raises TimeoutError and closes the connection, which
    makes the daemon kill the calls this connection started."""

    def __init__(self, socket=None, timeout=None):
        self.path = socket or os.environ.get("AGENTCG_SOCKET") or DEFAULT_SOCKET
        self.timeout = timeout
        self._sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            self._sock.connect(self.path)
            self._check_peer()
        except OSError:
            self._sock.close()
            raise
        self._buf = bytearray()
        self._next_id = 0
        self._replies = {}
        # The daemon's notifications (call.started, events), the latest
        # 1000, oldest first: read them here, they never raise.
        self.notifications = collections.deque(maxlen=1000)

    def _check_peer(self):
        """agentcgd is root's (or, for a daemon of one's own, ours): a
        socket anyone else serves at the path gets no request at all."""
        import struct
        cred = self._sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED,
                                     struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", cred)
        if uid not in (0, os.getuid(), os.geteuid()):
            raise PermissionError("refusing %s: it is served by uid %d, not root; agentcgd "
                                  "runs as root" % (self.path, uid))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # ---- the wire -------------------------------------------------------
    def request(self, method, params=None, timeout=None):
        """Sends one request; returns its result, or raises AgentcgError
        (a subclass by error code) for an error reply."""
        if self._sock is None:
            raise ProtocolError("the client is closed")
        self._next_id += 1
        rid = self._next_id
        line = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                           "params": params or {}}) + "\n"
        self._sock.settimeout(self.timeout if timeout is None else timeout)
        try:
            self._sock.sendall(line.encode())
            while rid not in self._replies:
                self._read_line()
        except (_socket.timeout, TimeoutError):
            self.close()
            raise TimeoutError("no reply to %s within %ss" % (method, self._sock_timeout(timeout)))
        msg = self._replies.pop(rid)
        if "error" in msg:
            raise from_reply(msg["error"])
        return msg.get("result")

    def _sock_timeout(self, timeout):
        return self.timeout if timeout is None else timeout

    def _read_line(self):
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                break
            if len(self._buf) > MAX_LINE:
                self.close()
                raise ProtocolError("a reply line longer than %d bytes" % MAX_LINE)
            data = self._sock.recv(1 << 20)
            if not data:
                self.close()
                raise ProtocolError("the daemon closed the connection")
            self._buf += data
        line = bytes(self._buf[:nl])
        del self._buf[:nl + 1]
        if nl > MAX_LINE:
            self.close()
            raise ProtocolError("a reply line longer than %d bytes" % MAX_LINE)
        try:
            msg = json.loads(line)
        except ValueError as e:
            self.close()
            raise ProtocolError("a reply that is not JSON: %s" % e)
        if not isinstance(msg, dict):
            raise ProtocolError("a reply that is not an object: %r" % (msg,))
        if "id" in msg and ("result" in msg or "error" in msg):
            self._replies[msg["id"]] = msg
        else:
            self.notifications.append(msg)

    # ---- calls ------------------------------------------------------------
    def run(self, argv, path=None, memory=None, memory_max=None, cpu=None, pids=None,
            timeout=None, cpu_time=None, priority=None, label=None, cwd=None, env=None,
            **more_intent):
        """Runs argv (a list, or a string for /bin/sh -c) as one tool call
        in session path (default $AGENTCG_SESSION, else /default/py-PID)
        under the intent given by the keywords (sizes "256M", durations
        "10s", cpu in cores; more_intent: e.g. forks, on_exceed). env: a
        dict or a list of "K=V". Returns a Result; a refused call raises."""
        if isinstance(argv, str):
            argv = ["/bin/sh", "-c", argv]
        params = {"path": path or default_session(), "argv": list(argv),
                  "intent": _intent({"memory": memory, "memory_max": memory_max, "cpu": cpu,
                                     "pids": pids, "timeout": timeout, "cpu_time": cpu_time,
                                     "priority": priority, "label": label}, more_intent)}
        if cwd is not None:
            params["cwd"] = str(cwd)
        if env is not None:
            params["env"] = (["%s=%s" % kv for kv in env.items()] if isinstance(env, dict)
                             else list(env))
        return Result(self.request("call.run", params))

    def session(self, path, lang="python", **budget):
        """Creates session path with its own interpreter (lang "python" or
        "bash"; None: none) and returns it as a Session (a context manager
        that closes it). budget: memory_max, cpu, pids; also priority,
        persist, interpreter."""
        params = {"path": path}
        b = {k: budget.pop(k) for k in _BUDGET if budget.get(k) is not None}
        if b:
            params["budget"] = b
        if lang:
            params["lang"] = lang
        params.update({k: v for k, v in budget.items() if v is not None})
        info = self.request("session.create", params)
        return Session(self, path, info)

    def attach(self, path):
        """A Session object for an existing session (e.g. on a second
        Client, to interrupt a cell running on the first)."""
        return Session(self, path, None)

    def info(self):
        return self.request("daemon.info")


class Session:
    """A session of the daemon, with its interpreter if it was created
    with lang. A context manager: leaving it closes the session."""

    def __init__(self, client, path, info):
        self.client = client
        self.path = path
        self.info = info  # session.create's result (None when attached)
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def exec(self, code, **intent):
        """Runs code in the interpreter as one tool call under intent;
        a Result with value (or value_repr), error, interrupted, ..."""
        return Result(self.client.request("session.exec", {
            "path": self.path, "code": code, "intent": _intent({}, intent)}))

    def get(self, name):
        return self.client.request("session.get", {"path": self.path, "name": name})["value"]

    def set(self, name, value):
        self.client.request("session.set", {"path": self.path, "name": name, "value": value})

    def interrupt(self):
        """Interrupts the running cell; False when none was running."""
        return bool(self.client.request("session.interrupt", {"path": self.path})
                    .get("interrupted"))

    def reset(self):
        """A fresh namespace (a dead interpreter is restarted)."""
        return self.client.request("session.reset", {"path": self.path})

    def close(self):
        """Closes the session (kills its calls and interpreter). Once."""
        if self.closed:
            return None
        self.closed = True
        return self.client.request("session.close", {"path": self.path})

    def __repr__(self):
        return "<agentcg.Session %s%s>" % (self.path, " closed" if self.closed else "")


def default_session():
    return os.environ.get("AGENTCG_SESSION") or "/default/py-%d" % os.getpid()
