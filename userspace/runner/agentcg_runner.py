"""agentcg runner: the interpreter side of an agentcg stateful session.

agentcgd starts it as an unprivileged user, as the leader of its own process
group, with one of

    PYTHON -I -u -c "<this file>" python
    PYTHON -I -u -c "<this file>" bash /path/to/bash

(it also runs as a plain file: PYTHON agentcg_runner.py python|bash [BASH]).

File descriptors (the runner closes every other one at start; it never
receives any, and moving it between cgroups is the daemon's business)
    0  control channel: a bidirectional SOCK_STREAM unix socket to the daemon.
       The runner moves it to another fd and puts /dev/null on fd 0, so cell
       code reading stdin gets EOF instead of eating protocol bytes.
    1  the session's stdout (a pipe the daemon reads); cells write straight to it
    2  the session's stderr (likewise)

Frames on the control channel, both ways: a 4-byte big-endian unsigned length,
then that many bytes of UTF-8 JSON holding one object.  A frame longer than
64 MiB, or one that is not a JSON object, makes the runner exit with status 2;
EOF on the channel makes it exit with status 0 (bash mode kills bash first).

At start the runner sends
    {"ready": true, "pid": PID, "lang": "python"|"bash", "version": STR}
then answers requests {"op": OP, "id": ID, ...} one at a time, in order; every
reply carries the request's "id".  Errors look like
    {"id": ID, "ok": false, "error": {"type": STR, "message": STR, ...}}

    exec   {"code": STR, "persist": BOOL (default true)}
      python  -> {"ok": true}, plus "value": V (the cell's last expression, when
                 it is not None and JSON-serialisable) or "value_repr": STR
                 (repr cut to 10000 chars).  An exception gives "ok": false and
                 "error": {"type", "message", "traceback"} ("code" too for
                 SystemExit); KeyboardInterrupt adds "interrupted": true.
                 persist true runs in one namespace kept across requests;
                 persist false runs in a forked child with a fresh namespace,
                 and a child that dies without replying gives error type "Died".
      bash    -> {"ok": exit_code == 0, "exit_code": N} (+ "interrupted": true).
                 persist false runs the code in a subshell.  If bash dies:
                 error type "Died", a fresh bash is started, "restarted": true.
      All output of the cell is flushed to fds 1/2 before the reply is sent.
    get    {"name": STR}  -> {"ok": true, "value": V}; NameError when unset;
                             python: TypeError (+ "repr") when not serialisable
    set    {"name": STR, "value": V} -> {"ok": true}; python takes any JSON value,
                             bash a string, number or bool (stored as text)
    reset  {}  -> {"ok": true}: python gets a fresh namespace, bash is restarted
    other  -> error type "ValueError" ("unknown op ...")

Every request may carry "reply_max": N, the largest reply frame the daemon
takes (its runner_frame_max; a larger frame gets the runner killed).  An exec
reply that would be larger gives its "value" as "value_repr" instead; any
other becomes a ValueError.

Interrupts: the daemon sends SIGINT to the process group.  Python raises
KeyboardInterrupt only while a cell runs and ignores it otherwise; bash
aborts the running cell with status 130 and carries on.
"""

import ast
import builtins
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import traceback
import types
import weakref

MAX_FRAME = 64 << 20        # largest frame either way
MAX_VALUE = 32 << 20        # larger values are returned as value_repr instead
MAX_REPR = 10000
PR_SET_DUMPABLE = 4
MAX_DEPTH = 256             # deepest value (arrays, objects) either way: the daemon's bound too
CELL = "<cell>"             # filename of cell code in tracebacks
SELF = (lambda: 0).__code__.co_filename     # our own filename ("<string>" under -c)
RUNNER_MODULE = sys.modules.get(__name__)   # kept alive although __main__ gets replaced

busy = False                # True while cell code runs: SIGINT raises only then
sources = weakref.WeakKeyDictionary()       # code object -> source lines of its cell


def die(status, why):
    """Leave at once: the daemon reads no more from us (os._exit skips joining
    threads that cells may have left running)."""
    flush()
    if why:
        try:
            os.write(2, f"agentcg-runner: {why}\n".encode())
        except OSError:
            pass
    os._exit(status)


def flush():
    for f in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            f.flush()
        except Exception:
            pass


def on_sigint(signum, frame):
    # A Python-level handler (not SIG_IGN), so programs we exec get SIGINT's default.
    if busy:
        raise KeyboardInterrupt


def error(etype, message, **extra):
    return {"ok": False, "error": {"type": etype, "message": message, **extra}}


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def too_deep(v, limit=MAX_DEPTH):
    """True when lists and dicts nest in v deeper than limit (no recursion),
    or hold more of them than a MAX_VALUE reply could (shared parts count
    each time, as JSON writes them)."""
    stack, seen = [(v, 1)], 0
    while stack:
        x, d = stack.pop()
        if isinstance(x, (list, tuple, dict)):
            seen += 1
            if d > limit or seen > MAX_VALUE // 2:
                return True
            stack.extend((y, d + 1) for y in (x.values() if isinstance(x, dict) else x))
    return False


def serialisable(v):
    """True when v can go into a reply as JSON as it is."""
    try:
        return not too_deep(v) and len(dumps(v).encode()) <= MAX_VALUE
    except Exception:       # TypeError, ValueError, RecursionError, UnicodeEncodeError ...
        return False


def safe_repr(v):
    try:
        r = repr(v)
    except Exception as e:
        r = f"<repr failed: {type(e).__name__}: {e}>"
    return r[:MAX_REPR]


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_until(fd, pid, done, buf):
    """Append what fd delivers to buf until done(buf), EOF (False), or process
    pid exits and the pipe is drained (its children may keep the pipe open)."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    try:
        while not done(buf):
            ready = {f for f, _ in poller.poll()}
            if fd not in ready:             # pid is gone: take what is left
                os.set_blocking(fd, False)
                try:
                    while chunk := os.read(fd, 1 << 16):
                        buf += chunk
                except BlockingIOError:
                    pass
                return done(buf)
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return done(buf)
            buf += chunk
        return True
    finally:
        if pidfd is not None:
            os.close(pidfd)


# ---------------------------------------------------------------- control channel

class Channel:
    """Frames on the control socket (plain bytes: no fd is ever accepted;
    recv() gives the kernel no room for any, so it closes what comes)."""

    def __init__(self, sock):
        self.sock, self.buf = sock, bytearray()
        self.reply_max = MAX_FRAME

    def _fill(self):
        try:
            data = self.sock.recv(1 << 18)
        except ConnectionError:
            data = b""
        self.buf += data
        return bool(data)

    def recv(self):
        """The next request, or None at EOF."""
        while len(self.buf) < 4:
            if not self._fill():
                if self.buf:
                    die(2, "truncated frame")
                return None
        (n,) = struct.unpack(">I", self.buf[:4])
        if n > MAX_FRAME:
            die(2, f"frame of {n} bytes is too large")
        while len(self.buf) < 4 + n:
            if not self._fill():
                die(2, "truncated frame")
        body = bytes(self.buf[4:4 + n])
        del self.buf[:4 + n]
        try:
            msg = json.loads(body.decode("utf-8"))
        except RecursionError:
            # Deeper than this interpreter can decode (a cell may lower the
            # recursion limit): refuse the request, keep the session. The
            # daemon puts the id first (a client's request kept as text) or
            # last but for reply_max (a frame it made): never inside a value.
            m = (re.match(rb'\{"id":(\d+)[,}]', body) or
                 re.search(rb'"id":(\d+)(?:,"reply_max":\d+)?\}$', body))
            return {"op": None, "id": int(m.group(1)) if m else None, "too_deep": True}
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            die(2, "malformed frame")
        rm = msg.get("reply_max")
        if type(rm) is int and 4096 <= rm:
            self.reply_max = min(rm, MAX_FRAME)
        return msg

    def send(self, obj, repr_ok=False):
        try:
            body = json.dumps(obj, ensure_ascii=False, default=safe_repr).encode("utf-8", "replace")
        except (RecursionError, ValueError) as e:  # too deep, or a cell changed what dumps sees
            body = dumps({"id": obj.get("id"), **error(
                "ValueError", f"the reply cannot be sent as JSON: {type(e).__name__}: {e}")}).encode()
        if len(body) > self.reply_max and repr_ok and "value" in obj:
            obj = dict(obj)
            obj["value_repr"] = safe_repr(obj.pop("value"))
            body = json.dumps(obj, ensure_ascii=False, default=safe_repr).encode("utf-8", "replace")
        if len(body) > self.reply_max:
            body = dumps({"id": obj.get("id"), **error(
                "ValueError", f"reply of {len(body)} bytes is too large")}).encode()
        try:
            self.sock.sendall(struct.pack(">I", len(body)) + body)
        except OSError:
            return False        # the daemon is gone
        return True


# ---------------------------------------------------------------- python

def new_main():
    """A fresh __main__ module for cells; installed in sys.modules so that
    pickle and multiprocessing find what cells define."""
    mod = types.ModuleType("__main__")
    mod.__builtins__ = builtins
    sys.modules["__main__"] = mod
    return mod.__dict__


def remember(code, lines):
    """Record the source of code (and of the functions in it) for tracebacks."""
    sources[code] = lines
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            remember(c, lines)


def fix_lines(te, exc, seen):
    """Give the frames of cell code their own cell's source line (all cells
    share the filename <cell>, so linecache cannot tell them apart)."""
    if te is None or exc is None or id(exc) in seen:
        return
    seen.add(id(exc))
    frames = list(traceback.walk_tb(exc.__traceback__))
    if len(frames) == len(te.stack):
        stack = []
        for fs, (frame, _) in zip(te.stack, frames):
            lines = sources.get(frame.f_code)
            if lines is not None:
                n = fs.lineno or 0
                fs = traceback.FrameSummary(
                    fs.filename, fs.lineno, fs.name, lookup_line=False,
                    line=lines[n - 1] if 0 < n <= len(lines) else "",
                    end_lineno=getattr(fs, "end_lineno", None),
                    colno=getattr(fs, "colno", None), end_colno=getattr(fs, "end_colno", None))
            stack.append(fs)
        te.stack = traceback.StackSummary.from_list(stack)
    fix_lines(te.__cause__, exc.__cause__, seen)
    fix_lines(te.__context__, exc.__context__, seen)
    for t, x in zip(getattr(te, "exceptions", None) or (), getattr(exc, "exceptions", ())):
        fix_lines(t, x, seen)


def describe(e):
    """The "error" object for an exception raised by (or compiling) a cell."""
    err = {"type": type(e).__name__}
    try:
        err["message"] = str(e)
    except Exception:
        err["message"] = safe_repr(e)
    if isinstance(e, SystemExit):
        err["code"] = e.code if serialisable(e.code) else safe_repr(e.code)
    try:
        # drop the runner's own frames: before the cell's, and after them
        # (the SIGINT handler that raised KeyboardInterrupt)
        kept, tb = [], e.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename != SELF:
                kept.append(tb)
            tb = tb.tb_next
        for a, b in zip(kept, kept[1:]):
            a.tb_next = b
        if kept:
            kept[-1].tb_next = None
        tb = kept[0] if kept else None
        e.__traceback__ = tb
        te = traceback.TracebackException(type(e), e, tb, lookup_lines=False)
        fix_lines(te, e, set())
        err["traceback"] = "".join(te.format())
    except BaseException:               # e.g. MemoryError again
        err["traceback"] = "".join(traceback.format_exception_only(type(e), e))
    return err


def run_cell(code, ns):
    """Run code in namespace ns; the reply dict (without id)."""
    global busy
    me = os.getpid()
    try:
        tree = ast.parse(code, CELL, "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        lines = [line + "\n" for line in code.splitlines()]    # as linecache has them
        body = compile(tree, CELL, "exec")
        remember(body, lines)
        expr = None
        if last is not None:
            expr = compile(ast.Expression(last.value), CELL, "eval")
            remember(expr, lines)
        reply = {"ok": True}
        busy = True
        exec(body, ns)
        if expr is not None:
            value = eval(expr, ns)
            if value is not None:
                if serialisable(value):
                    reply["value"] = value
                else:
                    reply["value_repr"] = safe_repr(value)
        busy = False
    except BaseException as e:
        busy = False
        reply = {"ok": False, "error": describe(e)}
        if isinstance(e, KeyboardInterrupt):
            reply["interrupted"] = True
    if os.getpid() != me:       # a process the cell forked, back from it: not ours to answer
        flush()
        os._exit(0 if reply["ok"] else 1)
    signal.signal(signal.SIGINT, on_sigint)     # in case the cell changed it
    return reply


class PythonSession:
    lang = "python"
    version = sys.version.split()[0]

    def __init__(self, chan):
        self.chan = chan
        self.ns = new_main()

    def exec(self, req):
        code = req.get("code")
        if not isinstance(code, str):
            return error("TypeError", "code must be a string")
        if req.get("persist", True):
            return run_cell(code, self.ns)
        return self.run_forked(code)

    def run_forked(self, code):
        """Stateless exec: the cell runs in a forked child, which sends its
        reply (JSON) through a pipe; this process never runs cell code."""
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.close(r)
                self.chan.sock.close()          # the cell gets no control channel
                reply = run_cell(code, new_main())
                flush()
                write_all(w, json.dumps(reply, ensure_ascii=False, default=safe_repr)
                          .encode("utf-8", "replace"))
                status = 0
            finally:
                os._exit(status)
        os.close(w)
        buf = bytearray()
        try:
            read_until(r, pid, lambda b: False, buf)
        finally:
            os.close(r)
        _, status = os.waitpid(pid, 0)
        try:
            reply = json.loads(buf.decode("utf-8"))
            if isinstance(reply, dict):
                return reply
        except ValueError:
            pass
        if os.WIFSIGNALED(status):
            why = f"the cell's process died of signal {os.WTERMSIG(status)}"
        else:
            why = f"the cell's process exited with status {os.waitstatus_to_exitcode(status)} without a reply"
        return error("Died", why)

    def get(self, req):
        name = req.get("name")
        if not isinstance(name, str):
            return error("TypeError", "name must be a string")
        if name not in self.ns:
            return error("NameError", f"name {name!r} is not defined")
        v = self.ns[name]
        if too_deep(v):
            return error("ValueError", f"{name!r} nests deeper than {MAX_DEPTH} levels")
        if not serialisable(v):
            return error("TypeError", f"{name!r} ({type(v).__name__}) is not JSON-serialisable",
                         repr=safe_repr(v))
        return {"ok": True, "value": v}

    def set(self, req):
        name = req.get("name")
        if not isinstance(name, str) or not name.isidentifier():
            return error("ValueError", f"not an identifier: {name!r}")
        self.ns[name] = req.get("value")
        return {"ok": True}

    def reset(self, req):
        self.ns = new_main()
        return {"ok": True}

    def close(self):
        pass


# ---------------------------------------------------------------- bash

# The bash side.  Requests arrive on fd 62 as three NUL-terminated fields (op,
# arg1, arg2); each gets two NUL-terminated fields back on fd 63 (status,
# output).  Code and values are only ever data: read into variables, given to
# `source` through a pipe, or assigned with printf -v; never quoted or
# expanded into shell text.  Cells are sourced at the top level (not inside a
# function) so `declare` makes globals, and `return` ends the cell.
#
# SIGINT is ignored by the driver between cells.  During a cell its INT trap
# unwinds the cell: it turns on functrace and sets a DEBUG trap that returns
# 130 from every function and sourced file until the cell itself has returned.
# The user's errexit, nounset and xtrace options are switched off while the
# driver runs (a RETURN trap records them as the cell ends) and switched back
# on for the next cell, so e.g. `set -e` does not turn a failing cell into the
# driver's exit (a failing command inside the cell still ends bash, as in any
# shell).  The driver owns the INT and RETURN traps.
BASH_DRIVER = r'''
exec 62<&"$1" 63>&"$2"
__agentcg_1=$1 __agentcg_2=$2
exec {__agentcg_1}<&- {__agentcg_2}>&-
set --
trap '' INT
__agentcg_o=
builtin printf '%s\0' "$BASH_VERSION" >&63
while IFS= builtin read -r -d '' __agentcg_op <&62 &&
      IFS= builtin read -r -d '' __agentcg_1 <&62 &&
      IFS= builtin read -r -d '' __agentcg_2 <&62; do
  __agentcg_int= __agentcg_t= __agentcg_x= __agentcg_out=
  case $__agentcg_op in
  exec|sub)
    builtin trap '__agentcg_int=1; [[ $- == *T* ]] || __agentcg_t=1
                  builtin shopt -q extdebug && __agentcg_x=1 && builtin shopt -u extdebug
                  builtin set -T; builtin trap "builtin return 130 2>/dev/null" DEBUG' INT
    if [[ $__agentcg_op == exec ]]; then
      builtin trap '{ [[ ${BASH_SOURCE-} ]] || { __agentcg_o=$-; builtin set +eux; }; } 2>/dev/null' RETURN
      [[ $__agentcg_o == *[eux]* ]] && builtin set -"${__agentcg_o//[^eux]}"
      builtin source <({ builtin printf '%s' "$__agentcg_1"; } 2>/dev/null) 62<&- 63>&-
    else
      ( [[ $__agentcg_o == *[eux]* ]] && builtin set -"${__agentcg_o//[^eux]}"
        builtin source <({ builtin printf '%s' "$__agentcg_1"; } 2>/dev/null) ) 62<&- 63>&-
    fi
    __agentcg_st=$?
    { builtin trap '' INT; builtin trap - RETURN; } 2>/dev/null
    if [[ $__agentcg_int ]]; then
      builtin trap - DEBUG
      [[ $__agentcg_t ]] && builtin set +T
      [[ $__agentcg_x ]] && builtin shopt -s extdebug
    fi
    __agentcg_out=$__agentcg_int ;;
  get)
    if [[ -v $__agentcg_1 ]]; then
      __agentcg_st=0 __agentcg_out=${!__agentcg_1}
    else
      __agentcg_st=1
    fi ;;
  set)  # an integer variable would evaluate the value as arithmetic: refuse
    if [[ ${!__agentcg_1@a} == *i* ]]; then
      __agentcg_st=2
    else
      builtin printf -v "$__agentcg_1" '%s' "$__agentcg_2" 2>/dev/null
      __agentcg_st=$?
    fi ;;
  *) __agentcg_st=127 ;;
  esac
  builtin printf '%s\0%s\0' "$__agentcg_st" "$__agentcg_out" >&63
done
'''

BASH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class BashSession:
    lang = "bash"

    def __init__(self, chan, path):
        self.path, self.proc, self.version = path, None, None
        self.start()

    def start(self):
        code_r, code_w = os.pipe()
        stat_r, stat_w = os.pipe()
        try:
            proc = subprocess.Popen(
                [self.path, "--norc", "--noprofile", "-c", BASH_DRIVER, "bash",
                 str(code_r), str(stat_w)],
                stdin=subprocess.DEVNULL, pass_fds=(code_r, stat_w))
        except BaseException:
            os.close(code_w)
            os.close(stat_r)
            raise
        finally:
            os.close(code_r)
            os.close(stat_w)
        self.proc, self.code_w, self.stat_r, self.buf = proc, code_w, stat_r, bytearray()
        fields = self.recv(1)
        if fields is None:
            raise RuntimeError(self.reap())
        self.version = fields[0]

    def recv(self, n):
        """n NUL-terminated fields from the driver, or None if bash died."""
        if not read_until(self.stat_r, self.proc.pid, lambda b: b.count(0) >= n, self.buf):
            return None
        fields = self.buf.split(b"\0", n)
        self.buf = bytearray(fields.pop())
        return [f.decode("utf-8", "replace") for f in fields]

    def call(self, op, a="", b=""):
        """One request to the driver: its [status, output], or None if bash died."""
        if self.proc is None:
            self.start()
        data = b"".join(s.encode("utf-8") + b"\0" for s in (op, a, b))
        try:
            write_all(self.code_w, data)
        except BrokenPipeError:
            return None
        return self.recv(2)

    def reap(self):
        """Make sure bash is gone; say how it ended."""
        proc, self.proc = self.proc, None
        if proc is None:
            return "bash is not running"
        os.close(self.code_w)
        os.close(self.stat_r)
        if proc.poll() is None:
            proc.kill()
        rc = proc.wait()
        return f"bash died of signal {-rc}" if rc < 0 else f"bash exited with status {rc}"

    def died(self):
        reply = error("Died", self.reap())
        try:
            self.start()
            reply["restarted"] = True
        except Exception as e:
            reply["error"]["message"] += f"; restarting it failed: {e}"
        return reply

    def exec(self, req):
        code = req.get("code")
        if not isinstance(code, str):
            return error("TypeError", "code must be a string")
        if "\0" in code:
            return error("ValueError", "code contains a NUL character")
        res = self.call("exec" if req.get("persist", True) else "sub", code)
        if res is None:
            return self.died()
        status = int(res[0])
        reply = {"ok": status == 0 and not res[1], "exit_code": status}
        if res[1]:
            reply["interrupted"] = True
        return reply

    @staticmethod
    def check_name(name):
        if not isinstance(name, str) or not BASH_NAME.fullmatch(name):
            raise ValueError(f"not a valid bash variable name: {name!r}")

    def get(self, req):
        name = req.get("name")
        self.check_name(name)
        res = self.call("get", name)
        if res is None:
            return self.died()
        if res[0] != "0":
            return error("NameError", f"bash variable {name!r} is not set")
        return {"ok": True, "value": res[1]}

    def set(self, req):
        name, value = req.get("name"), req.get("value")
        self.check_name(name)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = json.dumps(value)
        elif not isinstance(value, str):
            return error("TypeError", "a bash value must be a string, number or bool")
        if "\0" in value:
            return error("ValueError", "a bash value cannot contain a NUL character")
        res = self.call("set", name, value)
        if res is None:
            return self.died()
        if res[0] == "2":
            return error("TypeError", f"bash variable {name!r} is an integer variable")
        if res[0] != "0":
            return error("ValueError", f"bash cannot set {name!r} (is it readonly?)")
        return {"ok": True}

    def reset(self, req):
        self.reap()
        self.start()
        return {"ok": True}

    def close(self):
        self.reap()


# ---------------------------------------------------------------- main loop

def main(argv):
    global busy
    lang = argv[0] if argv else "python"
    if lang not in ("python", "bash"):
        die(2, f"unknown language {lang!r}")
    # Nothing of the daemon's but fds 0-2: the stub closed the rest on
    # exec; this makes sure of it (when run by hand too).
    os.closerange(3, 1 << 20)
    # Not dumpable, before any cell runs: no other process of this uid
    # (the cells' own children included) may ptrace us or read our
    # /proc/PID/mem, environ or fds, and no core dump holds the cells' data.
    try:
        import ctypes
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0)")
    except Exception as e:      # ImportError, OSError ...
        die(2, f"cannot make the runner non-dumpable: {e}")
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    signal.signal(signal.SIGINT, on_sigint)
    try:        # the control socket leaves fd 0, which becomes /dev/null
        sock = socket.socket(fileno=os.dup(0))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        if null != 0:
            os.close(null)
    except OSError as e:
        die(2, f"fd 0 is not a usable socket: {e}")
    chan = Channel(sock)
    try:
        session = (PythonSession(chan) if lang == "python"
                   else BashSession(chan, argv[1] if len(argv) > 1 else "/bin/bash"))
    except Exception as e:
        die(1, f"cannot start {lang}: {e}")
    try:
        if not chan.send({"ready": True, "pid": os.getpid(), "lang": lang,
                          "version": session.version}):
            return
        while (req := chan.recv()) is not None:
            op = req.get("op")
            try:
                if req.get("too_deep"):
                    reply = error("ValueError", "the request nests too deeply for this "
                                  "interpreter to decode")
                elif op in ("exec", "get", "set", "reset"):
                    reply = getattr(session, op)(req)
                else:
                    reply = error("ValueError", f"unknown op {op!r}")
            except KeyboardInterrupt:   # a SIGINT just as a cell ended
                busy = False
                reply = {"interrupted": True, **error("KeyboardInterrupt", "")}
            except Exception as e:
                reply = error(type(e).__name__, str(e))
            flush()
            if not chan.send({"id": req.get("id"), **reply}, repr_ok=op == "exec"):
                return
    finally:
        try:
            session.close()         # bash mode: kill bash first
        finally:
            die(0, None)


if __name__ == "__main__":
    main(sys.argv[1:])
