# SPDX-License-Identifier: GPL-2.0
"""Shared pieces of bench/bpf_overhead.py and bench/bpf_reaction.py
(Python 3 standard library only).

- Daemon: a throw-away agentcgd with "bpf" on or off, started like
  tests/integration/lib.sh does (--config/--root/--socket, the root under
  this process's own cgroup in every hierarchy), stopped with SIGTERM by pid
  and waited for; afterwards it checks that none of its root directories is
  left in any hierarchy.
- Client: JSON-RPC 2.0 over the daemon's unix socket, one object per line.
- Statistics (nearest-rank percentiles) and the machine description.
"""
import atexit
import json
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- statistics

def pct(xs, p):
    """Nearest-rank percentile (p in 0..100) of a list; None when empty."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


def median(xs):
    if not xs:
        return None
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def fmt(x, nd=1):
    if x is None:
        return "-"
    return f"{x:.{nd}f}"


# ------------------------------------------------------------------- machine

def _read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def git(*args):
    try:
        return subprocess.run(["git", "-C", REPO] + list(args), capture_output=True,
                              text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    cpu = ""
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    hz = ""
    try:
        import gzip
        with gzip.open("/proc/config.gz", "rt") as f:
            for line in f:
                if line.startswith("CONFIG_HZ="):
                    hz = line.strip().split("=", 1)[1]
    except OSError:
        pass
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "bpf", "userspace",
                "include", "config")
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "mem_gib": round(mem_kb / 1048576, 1),
        "config_hz": hz,
        "commit": git("rev-parse", "--short", "HEAD") or "?",
        "modified_source_files": len(dirty.splitlines()) if dirty else 0,
        "python": platform.python_version(),
    }


def print_machine(m, out=sys.stdout):
    print(f"machine: {m['host']}, kernel {m['kernel']} (CONFIG_HZ={m['config_hz'] or '?'}), "
          f"{m['cpus']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB", file=out)
    print(f"date:    {m['date_utc']}", file=out)
    print(f"tree:    HEAD {m['commit']}, {m['modified_source_files']} modified files in "
          f"bpf/ userspace/ include/ config/ of the work tree", file=out)
    print(f"daemon:  {m.get('daemon') or 'agentcgd from --build'}", file=out)


# -------------------------------------------------------------------- client

class RpcError(Exception):
    def __init__(self, err):
        super().__init__(f"{err.get('code')}: {err.get('message')} {json.dumps(err.get('data'))}")
        self.err = err


class Client:
    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.sock.setblocking(False)
        self.buf = b""
        self.next_id = 1
        self.pending = []  # messages read but not yet consumed

    def close(self):
        self.sock.close()

    def send(self, method, params):
        rid = self.next_id
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        self.sock.setblocking(True)
        self.sock.sendall(line.encode() + b"\n")
        self.sock.setblocking(False)
        return rid

    def read_msg(self, timeout):
        """The next message (a dict), or None after `timeout` seconds (None:
        wait forever)."""
        if self.pending:
            return self.pending.pop(0)
        end = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = None if end is None else max(0.0, end - time.monotonic())
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return None
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("daemon closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def wait_reply(self, rid, timeout=None, on_note=None):
        """The reply to request `rid` (result, or RpcError raised); None on
        timeout. Notifications go to on_note(msg)."""
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if end is None else max(0.0, end - time.monotonic())
            m = self.read_msg(left)
            if m is None:
                return None
            if m.get("id") == rid and "method" not in m:
                if "error" in m:
                    raise RpcError(m["error"])
                return m["result"]
            if on_note:
                on_note(m)

    def call(self, method, params=None, timeout=60.0):
        rid = self.send(method, params or {})
        r = self.wait_reply(rid, timeout)
        if r is None:
            raise TimeoutError(f"{method}: no reply in {timeout} s")
        return r


# -------------------------------------------------------------------- daemon

_live_daemons = []


def _stop_all():
    for d in list(_live_daemons):
        d.stop()


def _on_signal(signum, frame):
    raise KeyboardInterrupt


def install_cleanup():
    atexit.register(_stop_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


class Binaries:
    """Private copies of agentcgd (from `build`) and of the bench workloads
    (from `bench_bin`, default ./build/bench) in a temp dir: every daemon of
    a run is the same binary even if ./build is rebuilt while it runs."""

    def __init__(self, build, workdir, bench_bin=None):
        self.dir = os.path.join(workdir, "bin")
        os.makedirs(self.dir, exist_ok=True)
        self.agentcgd = os.path.join(self.dir, "agentcgd")
        shutil.copy2(os.path.join(build, "agentcgd"), self.agentcgd)
        for name in ("forkexec", "burn"):
            src = os.path.join(bench_bin or os.path.join(REPO, "build", "bench"), name)
            if os.path.exists(src):
                shutil.copy2(src, os.path.join(self.dir, name))
        os.chmod(self.dir, 0o755)
        os.chmod(workdir, 0o755)

    def path(self, name):
        return os.path.join(self.dir, name)


class Daemon:
    def __init__(self, agentcgd, config_template, bpf, tag, workdir, extra_config=None):
        with open(config_template) as f:
            cfg = json.load(f)
        cfg["bpf"] = bool(bpf)
        if extra_config:
            cfg.update(extra_config)
        self.setup(agentcgd, cfg, bpf, tag, workdir, "bpfbench")

    def setup(self, agentcgd, cfg, bpf, tag, workdir, bench):
        """Writes cfg for this daemon; names its root, socket and log."""
        self.bpf = bool(bpf)
        self.tag = tag
        self.cfg_path = os.path.join(workdir, f"agentcgd-{tag}.json")
        with open(self.cfg_path, "w") as f:
            json.dump(cfg, f, indent=1)
        self.root_name = f"agentcg-{bench}-{os.getpid()}-{tag}"
        self.socket = f"/tmp/agentcg-{bench}-{os.getpid()}-{tag}.sock"
        self.log_path = os.path.join(workdir, f"agentcgd-{tag}.log")
        self.agentcgd = agentcgd
        self.proc = None
        self.info = None
        self.roots = []

    def start(self):
        logf = open(self.log_path, "a")
        self.proc = subprocess.Popen([self.agentcgd, "--config", self.cfg_path, "--root",
                                      self.root_name, "--socket", self.socket],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        _live_daemons.append(self)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                c = Client(self.socket, timeout=1)
                try:
                    self.info = c.call("daemon.info", {}, timeout=5)
                finally:
                    c.close()
                self.roots = self.info.get("roots", [self.info.get("root")])
                bpf = self.info.get("bpf", {})
                if self.bpf and not bpf.get("loaded"):
                    raise RuntimeError(f"daemon {self.tag}: bpf asked for but not loaded: "
                                       f"{json.dumps(bpf)}; see {self.log_path}")
                return self
            except (OSError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"daemon {self.tag} did not start; log:\n" + _read(self.log_path))

    def client(self):
        return Client(self.socket)

    def root_of(self, kind):
        """The daemon's root directory in one hierarchy: 'unified' (v2),
        'memory' (v1 memory; on v2 hosts the v2 root)."""
        for r in self.roots:
            if kind == "unified" and os.path.exists(os.path.join(r, "cgroup.controllers")):
                return r
            if kind == "memory" and os.path.exists(os.path.join(r, "memory.usage_in_bytes")):
                return r
        if kind == "memory":
            return self.root_of("unified")
        return None

    def stop(self):
        """SIGTERM, wait (SIGKILL only our own daemon, after 15 s), then
        check that its root directories are gone. Returns leftovers."""
        if self.proc is None:
            return []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log(f"bench: daemon {self.tag} (pid {self.proc.pid}) did not stop on SIGTERM in 15 s; "
                    "SIGKILL")
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self in _live_daemons:
            _live_daemons.remove(self)
        try:
            os.unlink(self.cfg_path)
        except OSError:
            pass
        left = []
        for _ in range(40):
            left = [r for r in self.roots if os.path.exists(r)]
            if not left:
                break
            time.sleep(0.05)
        if left:
            log(f"bench: daemon {self.tag} left cgroups behind: {left}")
        return left


def make_workdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    return d


def bpf_prog_stats(pid):
    """run_cnt / run_time_ns of the BPF programs process `pid` holds, from
    `bpftool prog show -j` ({id: {name, run_cnt, run_time_ns}}), or None
    without bpftool."""
    exe = shutil.which("bpftool") or ("/usr/sbin/bpftool" if os.path.exists("/usr/sbin/bpftool") else None)
    if not exe:
        return None
    p = subprocess.run([exe, "prog", "show", "-j"], capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        return None
    # the ids of the programs whose fds (program or link) the process holds
    ids = set()
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        for line in _read(os.path.join(fdinfo, fd)).splitlines():
            if line.startswith("prog_id:"):
                ids.add(int(line.split()[1]))
    out = {}
    for prog in json.loads(p.stdout):
        if prog.get("id") in ids:
            out[prog["id"]] = {"name": prog.get("name", "?"), "run_cnt": prog.get("run_cnt", 0),
                               "run_time_ns": prog.get("run_time_ns", 0)}
    return out


def irq_counts(names=("IWI", "RES", "CAL")):
    """Totals over CPUs of some /proc/interrupts rows (IWI: IRQ work, the
    interrupt a BPF ring buffer wakeup raises)."""
    out = {}
    for line in _read("/proc/interrupts").splitlines():
        parts = line.split()
        if parts and parts[0].rstrip(":") in names:
            out[parts[0].rstrip(":")] = sum(int(x) for x in parts[1:] if x.isdigit())
    return out


def add_common_args(ap):
    """The options both BPF benches take: what to measure and with what."""
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="directory with the agentcgd to measure (default ./build)")
    ap.add_argument("--bench-bin", default=os.path.join(REPO, "build", "bench"),
                    help="directory with forkexec and burn (default ./build/bench)")
    ap.add_argument("--daemon-desc", default=None,
                    help="what --build is, for the report (run_bpf.sh: the revision)")
    ap.add_argument("--config", default=os.path.join(REPO, "tests/integration/agentcgd-test.json"))
