#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The metrics (README "Metrics") against a real daemon on real cgroups:
`agentcg metrics` and the `metrics` method move with what calls do (a
call over its memory, a call admission refuses), promtool accepts the
text, every family has HELP and TYPE, a non-operator is refused while a
configured operator is not; GET /metrics on a loopback port answers
404, 405, 400, 431, 505 and HEAD as it should, a client that sends
nothing does not hold up another scrape, all slots taken gets 503 and
the deadline frees them (408); the listener is close-on-exec and no
call holds a socket; a unix socket listener is 0660 and its group's;
a non-loopback metrics_listen is refused at start; and a real
Prometheus server scrapes the daemon until its query API shows a call
made after it started.

Usage: python3 tests/integration/test_metrics.py BUILD_DIR   (as root)
Prints TAP-style lines and "# N passed, N failed (test_metrics.py)".
"""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
AGENTCGD = os.path.join(BUILD, "agentcgd")
AGENTCG = os.path.join(BUILD, "agentcg")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import secenv  # noqa: E402
from rpcclient import WAIT, Client, check, daemon, err, res, wait_for  # noqa: E402
from tap import nok, summary  # noqa: E402

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


# ---- the text -----------------------------------------------------------

def parse(text):
    """{(name, ((label, value), ...)): float} and the families' HELP and
    TYPE lines seen before their first sample: {name: set("HELP", "TYPE")}."""
    samples, described, problems = {}, {}, []
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            described.setdefault(line.split()[2], set()).add(line.split()[1])
            continue
        m = SAMPLE.match(line)
        if not m:
            problems.append(line)
            continue
        name, labels, value = m.groups()
        if not {"HELP", "TYPE"} <= described.get(name, set()):
            problems.append("no HELP and TYPE before " + line)
        samples[(name, tuple(sorted(LABEL.findall(labels or ""))))] = float(value)
    return samples, described, problems


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def cli_metrics(sock, user=None):
    kw = {}
    if user:
        kw = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    return subprocess.run([AGENTCG, "--socket", sock, "metrics"], capture_output=True,
                          text=True, timeout=WAIT, **kw)


def promtool(text):
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=WAIT)


def rpc_samples(c):
    r = c.call("metrics")
    return parse(res(r).get("text", ""))[0]


# ---- HTTP, by hand (the edge cases need raw bytes) -------------------------

def http_raw(port, data, shut=True):
    """Sends data, reads the whole response (until the daemon closes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def split(resp):
    """(status, {header: value}, body) of a response."""
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


def get(port, path="/metrics", method="GET", version="HTTP/1.1"):
    return split(http_raw(port, ("%s %s %s\r\nHost: x\r\n\r\n" % (method, path, version)).encode()))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the sections -----------------------------------------------------------

def counters_move(sock, c):
    """A call over its memory and a refused call show in the metrics."""
    r = cli_metrics(sock)
    check("agentcg metrics exits 0 for root", r.returncode == 0, r.stderr)
    samples, described, problems = parse(r.stdout)
    check("every sample has HELP and TYPE before it, and parses (%d samples)" % len(samples),
          samples and not problems, problems[:5])
    check("every family has HELP and TYPE",
          all(v == {"HELP", "TYPE"} for v in described.values()),
          {k: v for k, v in described.items() if v != {"HELP", "TYPE"}})
    p = promtool(r.stdout)
    check("promtool check metrics accepts agentcg metrics' output", p.returncode == 0,
          p.stdout + p.stderr)
    for fam in ("agentcg_calls_total", "agentcg_calls_exceeded_total",
                "agentcg_admission_waits_total", "agentcg_admission_wait_seconds_total",
                "agentcg_admission_refused_total", "agentcg_pressure_band",
                "agentcg_contain_steps_total", "agentcg_call_pool_hits_total",
                "agentcg_call_pool_misses_total", "agentcg_bpf_lost_records_total",
                "agentcg_session_memory_bytes", "agentcg_session_memory_peak_bytes",
                "agentcg_daemon_resident_memory_bytes", "agentcg_daemon_open_fds",
                "agentcg_metrics_http_responses_total"):
        check("family %s is there" % fam, fam in described, sorted(described))
    check("no label names a call, a pid or an argv",
          not any(k in ("call", "pid", "argv", "path") for (_, ls) in samples for k, _ in ls),
          sorted({k for (_, ls) in samples for k, _ in ls}))
    rss = value(samples, "agentcg_daemon_resident_memory_bytes")
    check("the daemon's RSS is there (%s bytes)" % rss, rss and rss > 1 << 20, rss)

    before = samples
    exc0 = value(before, "agentcg_calls_total", tenant="t1", status="exceeded") or 0
    started0 = value(before, "agentcg_calls_started_total") or 0
    # over its memory: killed by the OOM killer at memory_max (and on
    # hybrid hosts the BPF programs report `memory` on the way). memory
    # is memory_max: on v2 a memory.high below it would throttle the
    # allocation for minutes under the VM's TCG before the OOM kill.
    r = c.call("call.run", path="/t1/mem", argv=["python3", "-c", "b = bytearray(256 << 20)"],
               intent={"memory": "32M", "memory_max": "32M", "on_exceed": "report"})
    v = res(r).get("verdict", {})
    resources = sorted({e.get("resource") for e in v.get("exceeded", [])})
    check("a call over its memory is exceeded (%s)" % resources,
          v.get("status") == "exceeded" and "memory_max" in resources, r)
    r = cli_metrics(sock)
    after = parse(r.stdout)[0]
    check("agentcg metrics: calls_total{t1, exceeded} went up by one",
          value(after, "agentcg_calls_total", tenant="t1", status="exceeded") == exc0 + 1,
          (exc0, value(after, "agentcg_calls_total", tenant="t1", status="exceeded")))
    for res_ in resources:
        b = value(before, "agentcg_calls_exceeded_total", tenant="t1", resource=res_) or 0
        a = value(after, "agentcg_calls_exceeded_total", tenant="t1", resource=res_)
        check("calls_exceeded_total{t1, %s} went up by one" % res_, a == b + 1, (b, a))
    others = [k for k in after if k[0] == "agentcg_calls_total" and dict(k[1])["tenant"] != "t1"
              and after[k] != before.get(k)]
    check("no other tenant's calls moved", not others, others)
    check("calls_started_total went up by one",
          value(after, "agentcg_calls_started_total") == started0 + 1,
          (started0, value(after, "agentcg_calls_started_total")))
    peak = value(after, "agentcg_session_memory_peak_bytes", tenant="t1", session="mem")
    check("the session's memory peak is there and at least 16M (%s)" % peak,
          peak is not None and peak >= 16 << 20, peak)
    check("agentcg_sessions{t1} counts the session",
          (value(after, "agentcg_sessions", tenant="t1") or 0) >= 1, after.get(("agentcg_sessions", (("tenant", "t1"),))))

    # refused at admission: more than the whole tenant budget
    ref0 = value(after, "agentcg_admission_refused_total", tenant="small", reason="never_fits") or 0
    r = c.call("call.run", path="/small/big", argv=["true"], intent={"memory": "1G"})
    check("a call larger than its tenant's budget is refused (-32002)",
          err(r).get("code") == -32002, r)
    s = rpc_samples(c)
    check("the metrics method: admission_refused_total{small, never_fits} went up by one",
          value(s, "agentcg_admission_refused_total", tenant="small", reason="never_fits") == ref0 + 1,
          (ref0, value(s, "agentcg_admission_refused_total", tenant="small", reason="never_fits")))
    r = c.call("metrics", extra=1)
    check("the metrics method takes no params (-32602)", err(r).get("code") == -32602, r)


def access(sock, uids):
    """Operators only: a member of a tenant is refused, an operator by
    group is not."""
    import pwd
    a = pwd.getpwuid(uids["a"])
    op = pwd.getpwuid(uids["op"])
    r = cli_metrics(sock, a)
    check("agentcg metrics as a tenant member (not an operator) exits 1",
          r.returncode == 1 and not r.stdout.strip(), (r.returncode, r.stdout[:200], r.stderr))
    check("... and says it is for operators only", "operators only" in r.stderr, r.stderr)
    ca = secenv.client_as(sock, "a")
    r = ca.call("metrics")
    check("the metrics method as a member: permission denied (-32005), naming the method",
          err(r).get("code") == -32005 and (err(r).get("data") or {}).get("method") == "metrics",
          r)
    ca.close()
    r = subprocess.run([AGENTCG, "--socket", sock, "metrics"], capture_output=True, text=True,
                       timeout=WAIT, user=op.pw_uid, group=op.pw_gid,
                       extra_groups=[secenv.OPS_GROUP[1]])
    check("a configured operator (by group) gets the metrics",
          r.returncode == 0 and "agentcg_calls_total" in r.stdout, r.stderr)


def http_edges(c, port):
    st, h, body = get(port)
    check("GET /metrics: 200", st == 200, st)
    check("Content-Type is %s" % CONTENT_TYPE, h.get("content-type") == CONTENT_TYPE, h)
    check("Connection: close, a Date, and Content-Length is the body's length",
          h.get("connection") == "close" and "date" in h
          and int(h.get("content-length", -1)) == len(body), h)
    p = promtool(body.decode())
    check("promtool check metrics accepts GET /metrics", p.returncode == 0, p.stdout + p.stderr)
    st, h2, body2 = get(port, method="HEAD")
    check("HEAD /metrics: 200, no body", st == 200 and body2 == b"", (st, body2[:100]))
    st, _, _ = get(port, "/metrics?name[]=x", version="HTTP/1.0")
    check("GET /metrics?query HTTP/1.0: 200", st == 200, st)
    st, _, body = get(port, "/")
    check("GET /: 404", st == 404, (st, body))
    st, _, _ = get(port, "/metrics/x")
    check("GET /metrics/x: 404", st == 404, st)
    st, h, _ = get(port, method="POST")
    check("POST /metrics: 405 with Allow: GET, HEAD",
          st == 405 and h.get("allow") == "GET, HEAD", (st, h))
    st, _, _ = get(port, version="HTTP/2.0")
    check("HTTP/2.0: 505", st == 505, st)
    st, _, _ = split(http_raw(port, b"\x00\x01\x02 garbage\r\n\r\n"))
    check("garbage: 400", st == 400, st)
    st, _, _ = split(http_raw(port, b"GET /metrics\r\n\r\n"))
    check("an HTTP/0.9 request line: 400", st == 400, st)
    big = b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    st, _, _ = split(http_raw(port, big))
    check("a request head over 8K: 431", st == 431, st)
    # a head in pieces is put together
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    for piece in (b"GET /met", b"rics HTTP/1.1\r\nHo", b"st: x\r\n", b"\r\n"):
        s.sendall(piece)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    check("a request head sent in pieces: 200", split(out)[0] == 200, out[:100])
    s = rpc_samples(c)
    counted = {code: value(s, "agentcg_metrics_http_responses_total", code=code)
               for code in ("200", "404", "405", "400", "431", "505")}
    check("responses_total counts them by status (%s)" % counted,
          counted["200"] >= 4 and counted["404"] == 2 and counted["405"] == 1
          and counted["400"] == 2 and counted["431"] == 1 and counted["505"] == 1, counted)


def connections(c):
    return value(rpc_samples(c), "agentcg_metrics_http_connections")


def slow_clients(c, port):
    """Clients that send nothing: one does not hold a scrape up; all the
    slots taken give 503 at once; the deadline frees them (408)."""
    wait_for(lambda: connections(c) == 0, "the earlier scrapes' connections to close")
    idle = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    wait_for(lambda: connections(c) == 1, "the idle connection to be accepted")
    st, _, _ = get(port)
    idle.setblocking(False)
    try:
        idle.recv(1)
        still = False
    except BlockingIOError:
        still = True
    check("a client that connects and sends nothing does not block a second scrape",
          st == 200 and still, (st, still))
    idle.close()
    wait_for(lambda: connections(c) == 0, "the idle connection to be closed")

    s0 = rpc_samples(c)
    idles = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(8)]
    wait_for(lambda: connections(c) == 8, "8 idle connections to be accepted")
    st, _, body = get(port)
    check("with all 8 slots taken by idle clients, one more scrape gets 503 at once",
          st == 503, (st, body[:100]))
    # the deadline ends each idle connection: 408, then EOF
    answers = []
    for s in idles:
        out = b""
        s.settimeout(WAIT)
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        except OSError as e:
            out += ("<%s>" % e).encode()
        answers.append(split(out)[0])
        s.close()
    check("each idle connection got 408 at its deadline, then was closed (%s)" % answers,
          answers == [408] * 8, answers)
    st = wait_for(lambda: get(port)[0] == 200, "a scrape to succeed again")
    check("after the deadline, scrapes succeed again", st, st)
    s1 = rpc_samples(c)
    d408 = (value(s1, "agentcg_metrics_http_responses_total", code="408") or 0) - \
        (value(s0, "agentcg_metrics_http_responses_total", code="408") or 0)
    d503 = (value(s1, "agentcg_metrics_http_responses_total", code="503") or 0) - \
        (value(s0, "agentcg_metrics_http_responses_total", code="503") or 0)
    check("responses_total counted 8 of 408 and the 503 (%s, %s)" % (d408, d503),
          d408 == 8 and d503 >= 1, (d408, d503))


# User a's side of per_uid_slots: two idle connections, then (on "go") a
# third that sends a request and half-closes (as a client that would
# rather not be counted), two more that send one and stay, and a sixth;
# what each got, as JSON.
HOG = r"""
import json, socket, sys
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=60)
def answer(s, half_close=False):
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    if half_close:  # its socket leaves ESTABLISHED, yet it is still a's
        s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        while b"\r\n\r\n" not in out:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    except OSError as e:
        return "error " + type(e).__name__
    return out.split(b"\r\n", 1)[0].decode("latin-1") if out else "closed"
idle = [conn(), conn()]
print("ready", flush=True)
sys.stdin.readline()
half = conn()
got = [answer(half, half_close=True)]
more = [conn(), conn()]
got += [answer(s) for s in more]
last = conn()
got.append(answer(last))
print(json.dumps(got), flush=True)
sys.stdin.readline()
"""


def per_uid_slots(c, port, uids):
    """One user (a, over loopback TCP: its uid from sock_diag) holds at
    most 2 scrape slots and 2 of the 503s: its third and fourth
    connections get 503 at once while slots are free, its fifth is
    closed, and root still scrapes."""
    wait_for(lambda: connections(c) == 0, "the earlier connections to close")
    import pwd
    a = pwd.getpwuid(uids["a"])
    hog = subprocess.Popen(["/usr/bin/python3", "-c", HOG, str(port)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, user=a.pw_uid, group=a.pw_gid,
                           extra_groups=[], cwd="/")
    try:
        line = hog.stdout.readline().strip()
        wait_for(lambda: connections(c) == 2, "a's two idle connections to take their slots")
        hog.stdin.write("go\n")
        hog.stdin.flush()
        got = json.loads(hog.stdout.readline() or "null")
        check("a's 3rd connection, half-closed, gets 503 at once, with 6 of 8 slots free "
              "(%s, %s)" % (line, got), got and "503" in got[0], got)
        check("... and so do its 4th and 5th", got and all("503" in g for g in got[1:3]), got)
        check("... and its 6th is closed unanswered", got and got[3] in ("closed", "error "
              "ConnectionResetError"), got)
        st, _, body = get(port)
        check("root scrapes meanwhile: 200", st == 200 and b"agentcg_calls_total" in body, st)
        hog.stdin.write("end\n")
        hog.stdin.flush()
        hog.wait(WAIT)
    finally:
        if hog.poll() is None:
            hog.kill()
            hog.wait()


def socket_inode(port):
    """The inode of the daemon's listening socket on 127.0.0.1:port."""
    want = "0100007F:%04X" % port
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        if f[1] == want and f[3] == "0A":
            return f[9]
    return None


def no_leak(c, dpid, port):
    inode = socket_inode(port)
    check("the listener is in /proc/net/tcp", inode, port)
    flags = None
    for fd in os.listdir("/proc/%d/fd" % dpid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (dpid, fd)) == "socket:[%s]" % inode:
                for line in open("/proc/%d/fdinfo/%s" % (dpid, fd)):
                    if line.startswith("flags:"):
                        flags = int(line.split()[1], 8)
        except OSError:
            pass
    check("the daemon's metrics listener fd is close-on-exec (flags %s)" % (oct(flags) if flags else flags),
          flags is not None and flags & 0o2000000, flags)
    code = ("import os\nfor f in os.listdir('/proc/self/fd'):\n"
            "    try: print(f, os.readlink('/proc/self/fd/' + f))\n"
            "    except OSError: pass")
    r = c.call("call.run", path="/t1/fds", argv=["python3", "-c", code])
    out = res(r).get("stdout", "")
    check("a call holds no socket, the metrics listener's least (%s)" % out.replace("\n", "; "),
          "socket:" not in out and out.strip(), r)


def unix_socket():
    """metrics_listen as a unix socket: 0660, metrics_group's; a member
    of the group reads it, another user cannot connect."""
    cfg = base_config()
    path = "/tmp/agentcg-test-metrics-%d.sock" % os.getpid()
    cfg["metrics_listen"] = path
    cfg["metrics_group"] = secenv.OPS_GROUP[0]
    with daemon(AGENTCGD, cfg, "metrics-unix") as (sock, _pid):
        st = os.lstat(path)
        check("the unix listener is a socket of mode 0660, root's, group %s" % secenv.OPS_GROUP[0],
              stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
              and st.st_uid == 0 and st.st_gid == secenv.OPS_GROUP[1],
              (oct(st.st_mode), st.st_uid, st.st_gid))
        with secenv.as_user("op"):  # in the group acgsec-ops
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(WAIT)
            s.connect(path)
        out = b""
        try:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        st_, h, body = split(out)
        check("a member of metrics_group gets GET /metrics on it", st_ == 200
              and b"agentcg_calls_total" in body, out[:200])
        with secenv.as_user("a"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                refused = False
            except PermissionError:
                refused = True
            finally:
                s.close()
        check("another user cannot connect to it (EACCES)", refused)
    check("the unix listener is removed when the daemon stops", not os.path.exists(path))


def refused_at_start():
    cfg = base_config()
    cfg["metrics_listen"] = "0.0.0.0:9464"
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(cfg, f)
    f.close()
    try:
        r = subprocess.run([AGENTCGD, "--config", f.name, "--root", "agentcg-metrics-refused",
                            "--socket", "/tmp/agentcg-metrics-refused-%d.sock" % os.getpid()],
                           capture_output=True, text=True, timeout=WAIT)
    finally:
        os.unlink(f.name)
    check("agentcgd refuses a non-loopback metrics_listen at start, saying why",
          r.returncode != 0 and "metrics_listen: 0.0.0.0 is not a loopback address"
          in r.stdout + r.stderr, (r.returncode, r.stdout + r.stderr))


def prometheus(c, port):
    """A real Prometheus scrapes metrics_listen; its query API shows a
    call made after it started."""
    tmp = tempfile.mkdtemp(prefix="agentcg-test-prometheus-")
    web = free_port()
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                "scrape_configs:\n  - job_name: agentcg\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % port)
    log = open(os.path.join(tmp, "log"), "w+")
    p = subprocess.Popen([PROMETHEUS, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                          "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                          "--web.listen-address=127.0.0.1:%d" % web],
                         stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    query = 'agentcg_calls_total{job="agentcg",tenant="t1",status="exceeded"}'

    def ask(q):
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (web, urllib.parse.quote(q))
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                d = json.load(r)
        except OSError:
            return None
        rs = d.get("data", {}).get("result", [])
        return float(rs[0]["value"][1]) if d.get("status") == "success" and rs else None

    try:
        up = wait_for(lambda: ask('up{job="agentcg"}') == 1, "Prometheus to scrape agentcgd",
                      timeout=2 * WAIT, every=0.5)
        check("Prometheus scrapes metrics_listen (up == 1)", up)
        v0 = wait_for(lambda: ask(query), "Prometheus to have calls_total{t1, exceeded}",
                      every=0.5)
        r = c.call("call.run", path="/t1/prom", argv=["python3", "-c", "b = bytearray(256 << 20)"],
                   intent={"memory": "16M", "memory_max": "32M", "on_exceed": "report"})
        check("another call over its memory", res(r).get("verdict", {}).get("status") == "exceeded", r)
        v1 = wait_for(lambda: (lambda v: v if v == v0 + 1 else None)(ask(query)),
                      "Prometheus's query API to show the new call", every=0.5)
        check("Prometheus's /api/v1/query shows calls_total{t1, exceeded} %s -> %s" % (v0, v1),
              v1 == v0 + 1)
    except TimeoutError as e:
        log.seek(0)
        nok("Prometheus sees the daemon's metrics", "%s; log: %s" % (e, log.read()[-1500:]))
    finally:
        p.terminate()
        try:
            p.wait(WAIT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    check("Prometheus stopped and its directory is gone", p.returncode is not None
          and not os.path.exists(tmp))


def base_config():
    cfg = json.load(open(os.path.join(HERE, "agentcgd-test.json")))
    # every local user is a member of t1 and small; operators: the group
    cfg["operators"] = {"groups": [secenv.OPS_GROUP[0]]}
    return cfg


def main():
    if os.geteuid() != 0:
        print("test_metrics.py needs root")
        sys.exit(1)
    for tool in (PROMTOOL, PROMETHEUS):
        if not os.access(tool, os.X_OK):
            nok("%s is installed (Debian package prometheus: make deps)" % tool)
            sys.exit(summary("test_metrics.py"))
    # the users of test_security.py, made and removed the same way (and
    # under its lock: two runs at once take turns)
    with secenv.test_users("test_metrics.py") as uids:
        os.umask(0o022)
        port = free_port()
        cfg = base_config()
        cfg["metrics_listen"] = "127.0.0.1:%d" % port
        with daemon(AGENTCGD, cfg, "metrics") as (sock, dpid):
            c = Client(sock)
            for section in (lambda: counters_move(sock, c), lambda: access(sock, uids),
                            lambda: http_edges(c, port), lambda: slow_clients(c, port),
                            lambda: per_uid_slots(c, port, uids),
                            lambda: no_leak(c, dpid, port), lambda: prometheus(c, port)):
                try:
                    section()
                except Exception:  # noqa: BLE001
                    nok("a section ran to its end", traceback.format_exc()[-1500:])
            c.close()
        for section in (unix_socket, refused_at_start):
            try:
                section()
            except Exception:  # noqa: BLE001
                nok("a section ran to its end", traceback.format_exc()[-1500:])
    sys.exit(summary("test_metrics.py"))


if __name__ == "__main__":
    main()
