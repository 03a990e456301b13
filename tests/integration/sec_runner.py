# SPDX-License-Identifier: GPL-2.0
"""Issue 13 items 1 and 2: the interpreter runner.

- A cell finds no cgroup fd a root opened, cannot write a foreign pid
  into its call's cgroup (by an fd it kept or by path), and a root
  process it aimed at survives the cell's end.
- Cells of users a (tenant ta) and b (tenant tb) run under different
  dynamic uids: a's cell cannot open b's /proc/PID/mem or environ, nor
  signal b's interpreter; b's secret is intact afterwards.
- An interpreter binary its owner cannot execute is refused (-32005).
- After session.close, what the cell double-forked is gone and no
  process of the session's uid is left.
- A runner a cell rewrote to say what it was not asked is killed.
- A uid another agentcgd on the host holds is never handed out.
"""
import fcntl
import json
import os
import shutil
import subprocess
import tempfile

from rpcclient import Client, check, err, res, wait_for
from sec_misc import session_names
from secenv import client_as

# Cell 1: every fd of the runner that points into a cgroup and is open
# for writing; and, for the runner that parked itself with fds the daemon
# passed (before issue 13), a hook in its module that keeps a dup of each
# fd that comes with a later frame.
CELL_LOOK = r'''
import builtins, fcntl, gc, os
found = []
for f in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink("/proc/self/fd/" + f)
        mode = fcntl.fcntl(int(f), fcntl.F_GETFL) & 3
    except OSError:
        continue
    if "cgroup" in target and mode != os.O_RDONLY:
        found.append(target)
hooked = 0
for o in gc.get_objects():
    if type(o).__name__ == "function" and o.__name__ == "park" and "Channel" in o.__globals__:
        def park(fds, pids, orig=o):
            builtins.__dict__.setdefault("_stolen", []).extend(os.dup(fd) for fd in fds)
            return orig(fds, pids)
        o.__globals__["park"] = park
        hooked += 1
{"found": found, "hooked": hooked}
'''

# Cell 2: write the victim's pid into every kept fd and into every
# cgroup.procs of its own cgroups that it can open for writing.
CELL_MOVE = r'''
import builtins, os
VICTIM = b"%d"
out = {"wrote": [], "refused": []}
for fd in builtins.__dict__.get("_stolen", []):
    try:
        os.write(fd, VICTIM)
        out["wrote"].append("fd %%d" %% fd)
    except OSError as e:
        out["refused"].append("fd: " + type(e).__name__)
mounts = [l.split()[4] for l in open("/proc/self/mountinfo") if " - cgroup" in l]
for line in open("/proc/self/cgroup"):
    path = line.rstrip("\n").split(":", 2)[2]
    for m in mounts:
        p = m + path + "/cgroup.procs"
        if not os.path.exists(p):
            continue
        try:
            fd = os.open(p, os.O_WRONLY)
        except OSError as e:
            out["refused"].append(p + ": " + type(e).__name__)
            continue
        try:
            os.write(fd, VICTIM)
            out["wrote"].append(p)
        except OSError as e:
            out["refused"].append(p + ": " + type(e).__name__)
        os.close(fd)
out
'''

# a's cell against b's interpreter (pid BPID)
CELL_SPY = r'''
import os, signal
out = {}
for what in ("mem", "environ"):
    try:
        open("/proc/%d/" + what, "rb").close()
        out[what] = "opened"
    except OSError as e:
        out[what] = type(e).__name__
for sig in (0, signal.SIGKILL):
    try:
        os.kill(%d, sig)
        out["signal %%d" %% sig] = "sent"
    except OSError as e:
        out["signal %%d" %% sig] = type(e).__name__
out
'''

# a double fork: a new session, a grandchild the runner never waits for
CELL_DOUBLE_FORK = r'''
import os
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    g = os.fork()
    if g == 0:
        os.execvp("sleep", ["sleep", "1000"])
    os.write(w, str(g).encode())
    os._exit(0)
os.waitpid(pid, 0)
[int(os.read(r, 32)), os.getuid()]
'''


def alive(pid):
    """pid runs (not a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pids_of_uid(uid):
    """Live processes with uid among their real/effective/saved/fs uids."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            st = open("/proc/%s/status" % p).read()
        except OSError:
            continue
        fields = dict(l.split(":", 1) for l in st.splitlines() if ":" in l)
        if fields.get("State", "").strip().startswith(("Z", "X")):
            continue
        if str(uid) in fields.get("Uid", "").split():
            found.append(int(p))
    return found


def cgroup_of(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        return f.read()


def uid_range(root):
    first, last = res(root.call("daemon.info")).get("interpreters", {}).get("uid_range", "0-0").split("-")
    return int(first), int(last)


def fds_and_foreign_pid(env, sock, root):
    a = client_as(sock, "a")
    victim = subprocess.Popen(["sleep", "1000"])  # root's
    try:
        before = cgroup_of(victim.pid)
        r = a.call("session.create", path="/ta/fd", lang="python")
        check("a creates a python session in ta", "result" in r, r)
        r = a.call("session.exec", path="/ta/fd", code=CELL_LOOK)
        look = res(r).get("value") or {}
        check("a cell finds no cgroup fd open for writing in its runner (%s)" % look.get("found"),
              "value" in res(r) and look.get("found") == [], r)
        r = a.call("session.exec", path="/ta/fd", code=CELL_MOVE % victim.pid)
        move = res(r).get("value") or {}
        call_path = res(r).get("path", "")
        check("the cell cannot write a root process's pid into its cgroup (%d tries refused)"
              % len(move.get("refused") or []),
              "value" in res(r) and move.get("wrote") == [] and move.get("refused"), move or r)
        # the cell's cgroup is killed and removed after it ends: wait for that
        roots = res(root.call("daemon.info")).get("roots", [])
        r3 = a.call("session.exec", path="/ta/fd", code="1")
        gone = wait_for(lambda: not any(os.path.exists(rt + call_path) for rt in roots),
                        "the cell's cgroup %s to be removed" % call_path)
        check("the cell's cgroup is gone, the session goes on", gone and res(r3).get("value") == 1, r3)
        check("the root process survives the cell's end, in its own cgroup",
              victim.poll() is None and alive(victim.pid) and cgroup_of(victim.pid) == before,
              (victim.poll(), before))
        a.call("session.close", path="/ta/fd")
    finally:
        victim.kill()
        victim.wait()
        a.close()


def uids_and_proc(env, sock, root):
    a, b = client_as(sock, "a"), client_as(sock, "b")
    try:
        ra = a.call("session.create", path="/ta/ua", lang="python")
        rb = b.call("session.create", path="/tb/ub", lang="python")
        check("a and b each create a python session", "result" in ra and "result" in rb, (ra, rb))
        r = b.call("session.set", path="/tb/ub", name="secret", value="b-secret-4343")
        check("b sets a secret", "result" in r, r)
        rb = b.call("session.exec", path="/tb/ub", code="import os\n[os.getpid(), os.getuid()]")
        ra = a.call("session.exec", path="/ta/ua", code="import os\nos.getuid()")
        bpid, buid = (res(rb).get("value") or [0, 0])
        auid = res(ra).get("value")
        first, last = uid_range(root)
        check("a's and b's cells run under different uids of interpreters.uid_range (%s, %s)" % (auid, buid),
              isinstance(auid, int) and isinstance(buid, int) and auid != buid
              and first <= auid <= last and first <= buid <= last, (ra, rb))
        r = a.call("session.exec", path="/ta/ua", code=CELL_SPY % (bpid, bpid))
        spy = res(r).get("value") or {}
        check("a's cell cannot open b's /proc/PID/mem or environ, nor signal it (%s)" % spy,
              spy and all(v == "PermissionError" for v in spy.values()), r)
        r = b.call("session.get", path="/tb/ub", name="secret")
        check("b's secret is intact and its interpreter alive",
              res(r).get("value") == "b-secret-4343" and alive(bpid), r)
        r = root.call("cg.list", path="/", recursive=True)
        check("root still gets answers", "result" in r, err(r))
        a.call("session.close", path="/ta/ua")
        b.call("session.close", path="/tb/ub")
    finally:
        a.close()
        b.close()


def interpreter_path(env, sock, root):
    a = client_as(sock, "a")
    priv = tempfile.mkdtemp(prefix="agentcg-sec-interp-")  # 0700, root's
    try:
        py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
        os.symlink(os.path.realpath(py), os.path.join(priv, "python"))
        r = a.call("session.create", path="/ta/px", lang="python", interpreter=os.path.join(priv, "python"))
        e = err(r)
        check("an interpreter a cannot execute is refused: -32005 naming it (%s)" % e.get("message"),
              e.get("code") == -32005 and e.get("data", {}).get("field") == "interpreter"
              and priv in e.get("message", ""), r)
        r = root.call("session.exec", path="/ta/px", code="1")
        check("...and nothing was created", err(r).get("code") == -32001, r)
        r = a.call("session.create", path="/ta/px", lang="python", interpreter=os.path.realpath(py))
        check("an interpreter a can execute is taken", "result" in r, r)
        a.call("session.close", path="/ta/px")
        # a notification (no id): checked once, made, answered to no one
        a.s.sendall((json.dumps({"jsonrpc": "2.0", "method": "session.create", "params": {
            "path": "/ta/pnote", "lang": "python", "interpreter": os.path.realpath(py)}})
            + "\n").encode())
        made = wait_for(lambda: "pnote" in session_names(root, "/ta"),
                        "the session of a's notification")
        checks = wait_for(lambda: (lambda n: "none" if n == 0 else None)(
            root.info().get("interpreter_checks")), "its check to end")
        check("a session.create without an id is checked once and made (%s, checks %s)"
              % (made, checks), made and checks == "none")
        a.call("session.close", path="/ta/pnote")
    finally:
        shutil.rmtree(priv, ignore_errors=True)
        a.close()


class BlockingFuse:
    """A FUSE mount no one serves: /dev/fuse is opened and never read, so
    every lookup below the mount waits (killably) for the FUSE_INIT
    answer that never comes. allow_other: other users' lookups reach it
    too. Unmounted, and its connection aborted, by close()."""

    def __init__(self):
        import ctypes
        self.dir = tempfile.mkdtemp(prefix="agentcg-sec-fuse-")
        os.chmod(self.dir, 0o755)
        self.fd = os.open("/dev/fuse", os.O_RDWR)
        opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % self.fd
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mount(b"agentcg-test", self.dir.encode(), b"fuse", 6, opts.encode()) != 0:
            e = ctypes.get_errno()
            os.close(self.fd)
            os.rmdir(self.dir)
            raise OSError(e, "mount fuse: %s" % os.strerror(e))
        # its connection's name in fusectl: the mount's minor number, from
        # mountinfo (a stat of the mount would wait on the mount itself)
        self.conn = None
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if fields[4] == self.dir:
                    self.conn = fields[2].split(":")[1]

    def close(self):
        # abort our connection (only ours): its waiters get ENOTCONN at once
        try:
            with open("/sys/fs/fuse/connections/%s/abort" % self.conn, "w") as f:
                f.write("1")
        except (OSError, TypeError):
            pass
        os.close(self.fd)  # the last fd of the connection: it ends
        subprocess.run(["umount", "-l", self.dir], stderr=subprocess.DEVNULL)
        os.rmdir(self.dir)


def interpreter_path_blocks(env, sock, root):
    """User a names an interpreter on a path whose lookup never ends (a
    FUSE mount no one serves). The check runs off the daemon's loop:
    everyone else is answered while it waits, a third check of a's at once
    is refused, and the two end with a clear error after their bound, or
    with a's connection; nothing is created."""
    try:
        fuse = BlockingFuse()
    except OSError as e:
        print("ok - # SKIP interpreter path that blocks: no FUSE here (%s)" % e)
        return
    a = client_as(sock, "a")
    b = client_as(sock, "b")
    try:
        interp = os.path.join(fuse.dir, "python3")
        base = root.info().get("interpreter_checks", 0)
        ids = [a.send("session.create", {"path": "/ta/pf%d" % i, "lang": "python",
                                         "interpreter": interp}) for i in range(2)]
        wait_for(lambda: root.info().get("interpreter_checks") == base + 2,
                 "a's two interpreter checks to be running")
        r = b.call("session.create", path="/tb/while", lang="python")
        rb = b.call("session.exec", path="/tb/while", code="6 * 7")
        still = root.info().get("interpreter_checks")
        check("while a's checks wait on a path that blocks, b's session and cell are "
              "answered (%d checks still running)" % still,
              "result" in r and res(rb).get("value") == 42 and still == base + 2, (r, rb))
        b.call("session.close", path="/tb/while")
        r = a.call("session.create", path="/ta/pf9", lang="python", interpreter=interp)
        e = err(r)
        check("a third check of a's at once is refused: -32005 (%s)" % e.get("message"),
              e.get("code") == -32005 and
              e.get("data", {}).get("reason") == "interpreter checks pending", r)
        for rid in ids:
            e = err(a.wait(rid))
            check("a's check ends after its bound: a clear error naming the interpreter (%s)"
                  % e.get("message"),
                  e.get("code") == -32602 and e.get("data", {}).get("field") == "interpreter"
                  and "timed out" in e.get("message", ""), e)
        names = session_names(root, "/ta")
        check("... and no session was created", not any(n.startswith("pf") for n in names),
              names)
        wait_for(lambda: root.info().get("interpreter_checks") == base, "the checks to end")
        a2 = client_as(sock, "a")
        a2.send("session.create", {"path": "/ta/pfgone", "lang": "python", "interpreter": interp})
        wait_for(lambda: root.info().get("interpreter_checks") == base + 1,
                 "the check of a's second connection to run")
        a2.close()
        wait_for(lambda: root.info().get("interpreter_checks") == base,
                 "the check to end with the connection that asked for it")
        check("a check whose client went away ends with it, answered to no one",
              "pfgone" not in session_names(root, "/ta"), session_names(root, "/ta"))
        r = root.call("daemon.info")
        check("root still gets answers", "result" in r, err(r))
    finally:
        a.close()
        b.close()
        fuse.close()


def close_kills_uid(env, sock, root):
    a = client_as(sock, "a")
    try:
        a.call("session.create", path="/ta/df", lang="python")
        r = a.call("session.exec", path="/ta/df", code=CELL_DOUBLE_FORK)
        gp, uid = (res(r).get("value") or [0, 0])
        check("a cell double-forks a sleep (pid %s, uid %s)" % (gp, uid), gp > 0 and uid > 0, r)
        r = a.call("session.exec", path="/ta/df",
                   code="import tempfile\nopen(tempfile.mkstemp()[1], 'w').write('x')\n"
                        "[tempfile.gettempdir(), os.getcwd(), os.environ['HOME']]")
        tmp = (res(r).get("value") or [""])[0]
        st = os.stat(tmp) if tmp.startswith("/tmp/agentcg-uid") else None
        check("the session's TMPDIR, cwd and HOME are one private directory (%s)" % tmp,
              st and st.st_uid == uid and st.st_mode & 0o777 == 0o700 and len(set(res(r)["value"])) == 1, r)
        r = a.call("session.close", path="/ta/df")
        check("a closes the session", "result" in r, r)
        check("...its private directory is gone", tmp and not os.path.exists(tmp), tmp)
        wait_for(lambda: not alive(gp), "the double-forked sleep %d to be gone" % gp)
        check("after session.close the double-forked process is gone", not alive(gp))
        try:
            free = wait_for(lambda: not pids_of_uid(uid), "no process of uid %d" % uid)
        except TimeoutError:
            free = False
        check("...and no process of the session's uid %d is left: the uid is free again" % uid, free,
              pids_of_uid(uid))
    finally:
        a.close()


# a cell that rewrites its runner to put a key of its own in every reply
CELL_FORGE = r'''
import gc
for o in gc.get_objects():
    if isinstance(o, type) and o.__name__ == "Channel" and hasattr(o, "send"):
        orig = o.send
        o.send = lambda self, obj, *a, orig=orig, **k: orig(self, {**obj, "forged": {"uid": 0}}, *a, **k)
1
'''


def forged_frames(env, sock, root):
    a = client_as(sock, "a")
    try:
        a.call("session.create", path="/ta/forge", lang="python")
        r = a.call("session.exec", path="/ta/forge", code=CELL_FORGE)
        e = res(r).get("error") or {}
        check("a runner rewritten to send what it was not asked is killed, and the exec says why (%s)"
              % e.get("message"), "forged" not in res(r) and e.get("type") == "InterpreterDied"
              and "protocol" in e.get("message", ""), r)
        r = a.call("session.reset", path="/ta/forge")
        r2 = a.call("session.exec", path="/ta/forge", code="2")
        check("...session.reset gives a new one that works", res(r2).get("value") == 2, (r, r2))
        a.call("session.close", path="/ta/forge")
    finally:
        a.close()


def other_daemons_uids(env):
    """A uid another agentcgd holds (a lock on its byte of
    /run/agentcg-uids.lock; here the test holds it) is never handed out."""
    first = 1879048192 + 60000  # a range of 3 uids of its own, in the default one
    cfg = env.config()
    cfg["interpreters"] = {"pool": {"python": 0, "bash": 0}, "uid_range": "%d-%d" % (first, first + 2)}
    fd = os.open("/run/agentcg-uids.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 2, first)  # first and first + 1
        with env.daemon(cfg, "sec-runner-uids") as (sock, _pid):
            root = Client(sock)
            r1 = root.call("session.create", path="/ta/u1", lang="python")
            r2 = root.call("session.create", path="/ta/u2", lang="python")
            check("a uid another daemon holds is skipped: the only free one is taken (%s)"
                  % res(r1).get("interpreter", {}).get("uid"),
                  res(r1).get("interpreter", {}).get("uid") == first + 2, r1)
            check("...and with none left session.create says so",
                  "uid_range" in err(r2).get("message", ""), r2)
            root.close()
    finally:
        os.close(fd)


def unified_dir(root_name):
    """The cgroup2 directory of a daemon root started by this process."""
    own = [l.split(":", 2)[2].strip() for l in open("/proc/self/cgroup") if l.startswith("0::")][0]
    for mnt in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(mnt + "/cgroup.controllers") or os.path.exists(mnt + "/cgroup.procs"):
            p = os.path.normpath(mnt + own + "/" + root_name)
            if os.path.isdir(os.path.dirname(p)):
                return p
    return None


def tree_empty(path):
    for dirpath, _dirs, files in os.walk(path or "/nonexistent"):
        if "cgroup.procs" in files and open(os.path.join(dirpath, "cgroup.procs")).read().strip():
            return False
    return True


def crash_leftovers(env):
    """A daemon killed with SIGKILL cannot remove its interpreters' private
    directories; the next one does, for uids no one holds."""
    cfg = env.config()
    cfg["interpreters"] = {"pool": {"python": 0, "bash": 0}}
    cfgf = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(cfg, cfgf)
    cfgf.close()
    name = "sec-runner-crash"
    root_name = "agentcg-%s-%d" % (name, os.getpid())  # what env.daemon(cfg, name) uses next
    sock = "/tmp/agentcg-sec-crashing-%d.sock" % os.getpid()
    d = subprocess.Popen([env.agentcgd, "--config", cfgf.name, "--root", root_name, "--socket", sock],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    home = None
    try:
        wait_for(lambda: os.path.exists(sock), "the daemon's socket")
        root = Client(sock)
        root.call("session.create", path="/ta/crash", lang="python")
        r = root.call("session.exec", path="/ta/crash", code="import os\nos.environ['HOME']")
        home = res(r).get("value")
        root.close()
    finally:
        d.kill()  # SIGKILL: no cleanup
        d.wait()
        os.unlink(cfgf.name)
        if os.path.exists(sock):
            os.unlink(sock)
    check("a daemon killed with SIGKILL leaves its interpreter's private directory (%s)" % home,
          home and os.path.isdir(home))
    # its processes die with it (PDEATHSIG); the next daemon on its root clears the root
    wait_for(lambda: tree_empty(unified_dir(root_name)), "the crashed daemon's processes to be gone")
    with env.daemon(cfg, name) as (_sock, _pid):
        check("the next daemon removes it", home and not os.path.exists(home), home)


def cell_to_daemon(env, sock, root):
    """A cell connects to the daemon's socket by its path (mode 0666) and
    asks to create a session in another tenant: its interpreter's uid is
    refused at the door."""
    a = client_as(sock, "a")
    try:
        a.call("session.create", path="/ta/knock", lang="python")
        code = ("import socket, json\n"
                "s = socket.socket(socket.AF_UNIX)\n"
                "s.connect(%r)\n"
                "try:  # the daemon may have said no and hung up already\n"
                "    s.sendall(b'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"session.create\",'\n"
                "              b'\"params\":{\"path\":\"/tb/from-a-cell\"}}\\n')\n"
                "except OSError:\n"
                "    pass\n"
                "s.settimeout(30)\n"
                "line = s.makefile().readline()\n"
                "json.loads(line) if line else None\n") % sock
        r = a.call("session.exec", path="/ta/knock", code=code)
        e = (res(r).get("value") or {}).get("error") or {}
        check("a cell that connects to the daemon is refused: %s" % e.get("message"),
              e.get("code") == -32005 and "interpreter" in e.get("message", ""), r)
        names = json.dumps(res(root.call("cg.list", path="/tb")))
        check("... and no session was made in tb", "from-a-cell" not in names, names)
        a.call("session.close", path="/ta/knock")
    finally:
        a.close()


def run(env):
    cfg = env.config()
    cfg["interpreters"] = {"pool": {"python": 2, "bash": 0}}
    with env.daemon(cfg, "sec-runner") as (sock, _pid):
        root = Client(sock)
        fds_and_foreign_pid(env, sock, root)
        uids_and_proc(env, sock, root)
        interpreter_path(env, sock, root)
        interpreter_path_blocks(env, sock, root)
        close_kills_uid(env, sock, root)
        forged_frames(env, sock, root)
        cell_to_daemon(env, sock, root)
        r = root.call("daemon.info")
        check("root still gets answers at the end", "result" in r, err(r))
        root.close()
    other_daemons_uids(env)
    crash_leftovers(env)
