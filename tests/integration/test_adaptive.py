#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Adaptive intents against a real daemon and real cgroups: calls with a
label that really allocate memory build that label's history; once it has
min_samples peaks, a call of the label without `memory` gets the
nearest-rank p95 of the peaks times the margin (rounded up to a MiB),
shown as assumed with where it came from; an explicit memory is kept, an
explicit memory_max caps it, labels keep separate histories, a label with
too few peaks and a call without label get the configured default, the
same works for session.exec; an assumed memory is soft on v1 (reported,
not killed) where a declared one is enforced; and a daemon with
"adaptive": {"enabled": false} assumes nothing.

Usage: python3 tests/integration/test_adaptive.py BUILD_DIR   (as root)
Prints TAP-style lines and "# N passed, N failed (test_adaptive.py)".
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
AGENTCGD = os.path.join(BUILD, "agentcgd")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import nok, summary  # noqa: E402
from rpcclient import WAIT, Client, check, res  # noqa: E402

MiB = 1 << 20
MARGIN = 1.25
MIN_SAMPLES = 3
# Allocates argv[1] MiB and writes every page of it.
ALLOC = ("import sys\nx = bytearray(int(sys.argv[1]) << 20)\n"
         "x[::4096] = b'a' * len(x[::4096])\nprint('done')")


def size(s):
    """A size as the daemon renders it ("128M", "1.5G", "12345") -> bytes."""
    if isinstance(s, int):
        return s
    if not isinstance(s, str) or not s:
        return None
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(s[-1])
    return int(Decimal(s[:-1]) * mult) if mult else int(s)


def p95(peaks):
    """Nearest rank: the ceil(0.95 n)-th smallest."""
    v = sorted(peaks)
    return v[math.ceil(0.95 * len(v)) - 1]


def assumed(peaks):
    """p95 * margin rounded up to a whole MiB (as the daemon computes it)."""
    return max(1, math.ceil(p95(peaks) * MARGIN / MiB)) * MiB


class Daemon:
    def __init__(self, tag, adaptive):
        cfg = json.load(open(os.path.join(HERE, "agentcgd-test.json")))
        cfg["adaptive"] = adaptive
        cfg["interpreters"] = {"pool": {"python": 1, "bash": 0}}
        self.default_memory = size(cfg["defaults"]["memory"])
        self.cfgf = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(cfg, self.cfgf)
        self.cfgf.close()
        self.log = tempfile.NamedTemporaryFile("w+", delete=False)
        self.sock = "/tmp/agentcg-adaptive-%s-%d.sock" % (tag, os.getpid())
        root = "agentcg-adaptive-%s-%d" % (tag, os.getpid())
        self.proc = subprocess.Popen([AGENTCGD, "--config", self.cfgf.name, "--root", root,
                                      "--socket", self.sock], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if os.path.exists(self.sock) or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.c = Client(self.sock)
        self.info = res(self.c.call("daemon.info"))
        self.roots = self.info.get("roots", [])

    def run(self, label=None, argv=("true",), path="/t1/ad", **intent):
        if label:
            intent["label"] = label
        return self.c.call("call.run", path=path, argv=list(argv), intent=intent)

    def stop(self, name):
        try:
            self.c.close()
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            nok("%s: daemon stops on SIGTERM" % name)
        check("%s: daemon exits 0" % name, self.proc.returncode == 0,
              "exit %s; log: %s" % (self.proc.returncode, open(self.log.name).read()[-2000:]))
        left = [r for r in self.roots if os.path.exists(r)]
        check("%s: its root is removed in every hierarchy (%d)" % (name, len(self.roots)),
              self.roots and not left, left)
        for f in (self.cfgf.name, self.log.name, self.sock):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass


def intent_of(r):
    return res(r).get("intent", {})


def peak_of(r):
    return res(r).get("usage", {}).get("memory_peak", 0)


def actions(r, resource):
    return [e.get("action") for e in res(r).get("verdict", {}).get("exceeded", [])
            if e.get("resource") == resource]


def main():
    d = Daemon("on", {"enabled": True, "margin": MARGIN, "min_samples": MIN_SAMPLES, "window": 32})
    try:
        run_enabled(d)
    finally:
        d.stop("adaptive on")
    d = Daemon("off", {"enabled": False})
    try:
        run_disabled(d)
    finally:
        d.stop("adaptive off")
    sys.exit(summary("test_adaptive.py"))


def run_enabled(d):
    dm = d.default_memory
    peaks = {}  # what the daemon should have recorded, per label

    def record(label, r):
        if peak_of(r) > 0:
            peaks.setdefault(label, []).append(peak_of(r))

    # --- history: three calls that really allocate ---------------------------
    for mib in (24, 32, 40):
        r = d.run("alloc", ["python3", "-c", ALLOC, str(mib)])
        i = intent_of(r)
        check("alloc %dM: runs within intent (%s)" % (mib, res(r).get("verdict", {}).get("summary")),
              res(r).get("stdout") == "done\n" and res(r).get("verdict", {}).get("status") == "ok", r)
        check("alloc %dM: its peak shows the allocation (%d)" % (mib, peak_of(r)),
              (mib << 20) < peak_of(r) < ((mib + 64) << 20), res(r).get("usage"))
        check("alloc %dM: fewer than %d peaks: the configured default memory (%s)"
              % (mib, MIN_SAMPLES, i.get("memory")),
              size(i.get("memory")) == dm and "memory" in i.get("assumed", []) and "adaptive" not in i, i)
        record("alloc", r)

    # --- the 4th call of the label: memory from its history ------------------
    want = assumed(peaks["alloc"])
    r = d.run("alloc")
    i = intent_of(r)
    check("4th alloc call: memory is the p95 x %g rounded up to a MiB (%s, want %d: peaks %s)"
          % (MARGIN, i.get("memory"), want, peaks["alloc"]),
          size(i.get("memory")) == want, i)
    check("...which is within what the peaks make possible (p95 x margin <= memory < +1M)",
          max(peaks["alloc"]) * MARGIN <= size(i.get("memory") or "0") < max(peaks["alloc"]) * MARGIN + MiB
          and size(i.get("memory")) != dm, i)
    check("...listed as assumed, with no hard memory_max derived from a guess (%s)"
          % i.get("memory_max"),
          "memory" in i.get("assumed", []) and "memory_max" in i.get("assumed", [])
          and i.get("memory_max") == "max", i)
    a = i.get("adaptive", {})
    check("...and says from what: label, samples, p95, margin (%s)" % a,
          a.get("label") == "alloc" and a.get("samples") == 3 and a.get("p95") == p95(peaks["alloc"])
          and size(a.get("p95_h")) is not None and abs(size(a.get("p95_h")) - a.get("p95", 0)) < MiB
          and a.get("margin") == MARGIN, i)
    lim = res(r).get("limits", {})
    check("...and the cgroup got it (limits %s)" % lim,
          abs(size(lim.get("memory.high")) - want) < MiB // 8 and
          lim.get("memory.max") == "max", lim)
    record("alloc", r)

    # --- an explicit memory is kept ----------------------------------------
    r = d.run("alloc", memory="200M")
    i = intent_of(r)
    check("an explicit memory is not overridden (%s)" % i.get("memory"),
          i.get("memory") == "200M" and "memory" not in i.get("assumed", []) and "adaptive" not in i, i)
    record("alloc", r)

    # --- an explicit memory_max caps it ----------------------------------------
    r = d.run("alloc", memory_max="20M")
    i = intent_of(r)
    a = i.get("adaptive", {})
    check("an explicit memory_max caps the assumed memory (%s of %d, max %s)"
          % (i.get("memory"), assumed(peaks["alloc"]), i.get("memory_max")),
          assumed(peaks["alloc"]) > 20 * MiB and size(i.get("memory")) == 20 * MiB
          and size(i.get("memory_max")) == 20 * MiB and "memory" in i.get("assumed", [])
          and "memory_max" not in i.get("assumed", []), i)
    check("...still from history, now of %d peaks (%s)" % (len(peaks["alloc"]), a),
          a.get("samples") == len(peaks["alloc"]) == 5 and a.get("p95") == p95(peaks["alloc"]), i)
    record("alloc", r)

    # --- too few peaks, and no label: the configured default -------------------
    for n in range(3):
        r = d.run("rare", ["python3", "-c", ALLOC, "8"])
        i = intent_of(r)
        if n < 2:
            record("rare", r)
            continue
        check("a label with %d peaks (< %d) gets the configured default (%s)"
              % (len(peaks.get("rare", [])), MIN_SAMPLES, i.get("memory")),
              len(peaks.get("rare", [])) == 2 and size(i.get("memory")) == dm
              and "memory" in i.get("assumed", []) and "adaptive" not in i, i)
    r = d.run(None)
    i = intent_of(r)
    check("a call without label gets the configured default (%s)" % i.get("memory"),
          size(i.get("memory")) == dm and "adaptive" not in i, i)

    # --- two labels keep separate histories ------------------------------------
    for _ in range(3):
        record("small", d.run("small", ["python3", "-c", ALLOC, "4"]))
    r = d.run("small")
    i = intent_of(r)
    a = i.get("adaptive", {})
    check("another label has its own history: %s from %s (alloc's would be %d)"
          % (i.get("memory"), peaks.get("small"), assumed(peaks["alloc"])),
          size(i.get("memory")) == assumed(peaks["small"]) != assumed(peaks["alloc"])
          and a.get("label") == "small" and a.get("samples") == 3
          and a.get("p95") == p95(peaks["small"]), i)
    record("small", r)
    r = d.run("alloc")
    check("...and the first label's is unchanged by it (%s, %d peaks)"
          % (intent_of(r).get("memory"), len(peaks["alloc"])),
          size(intent_of(r).get("memory")) == assumed(peaks["alloc"])
          and intent_of(r).get("adaptive", {}).get("samples") == len(peaks["alloc"]), intent_of(r))

    # --- an assumed memory is soft: passing it is reported on v1 ----------------
    for _ in range(3):
        record("grow", d.run("grow", ["python3", "-c", ALLOC, "16"]))
    want = assumed(peaks["grow"])
    base = max(peaks["grow"]) - 16 * MiB   # the interpreter's own memory
    mib = (int(1.25 * want) - base) // MiB  # a peak a quarter past the assumed memory
    r = d.run("grow", ["python3", "-c", ALLOC, str(mib)])
    i = intent_of(r)
    backend = d.info.get("backend")
    check("grow: memory assumed from history (%s, want %d)" % (i.get("memory"), want),
          size(i.get("memory")) == want and "memory" in i.get("assumed", []), i)
    check("grow: a call past its assumed memory (peak %d > %d) runs to the end"
          % (peak_of(r), want), peak_of(r) > want and res(r).get("stdout") == "done\n", r)
    if backend == "hybrid":
        check("grow (v1): passing an assumed memory is reported, not killed (%s)"
              % res(r).get("verdict", {}).get("summary"),
              actions(r, "memory") == ["reported"] and res(r).get("exit") == {"code": 0}, res(r).get("verdict"))
    else:
        check("grow (v2): passing an assumed memory is throttled by memory.high (%s)"
              % res(r).get("verdict", {}).get("summary"),
              actions(r, "memory") == ["throttled"] and res(r).get("exit") == {"code": 0}, res(r).get("verdict"))
    record("grow", r)
    if backend == "hybrid" and d.info.get("bpf", {}).get("memory") == "kernel":
        # the same call, the same memory declared: the kernel stops it
        r = d.run("grow", ["python3", "-c", ALLOC, str(mib)], memory=str(want))
        check("grow (v1): the same memory declared is enforced by BPF: killed (%s)"
              % res(r).get("verdict", {}).get("summary"),
              actions(r, "memory") == ["killed"] and res(r).get("stdout") == "", res(r).get("verdict"))
        record("grow", r)

    # --- a killed call's peak counts too ----------------------------------------
    r = d.run("grow", ["python3", "-c", ALLOC + "\nimport time\ntime.sleep(120)", "16"], timeout="5s")
    check("grow: a call killed at its timeout (%s)" % res(r).get("verdict", {}).get("summary"),
          actions(r, "timeout") == ["killed"] and peak_of(r) > 16 * MiB, res(r).get("verdict"))
    record("grow", r)
    r = d.run("grow")
    i = intent_of(r)
    check("...its peak joins the label's history all the same (%d peaks, %s)"
          % (len(peaks["grow"]), i.get("memory")),
          i.get("adaptive", {}).get("samples") == len(peaks["grow"]) >= 5
          and size(i.get("memory")) == assumed(peaks["grow"]), i)

    # --- session.exec: the same, for cells -------------------------------------
    r = d.c.call("session.create", path="/t1/py", lang="python", timeout=120)
    check("session.create lang python", "result" in r, r)
    code = ("x = bytearray(12 << 20)\nx[::4096] = b'a' * len(x[::4096])\nn = len(x)\ndel x\nn")
    for _ in range(3):
        r = d.c.call("session.exec", path="/t1/py", code=code, intent={"label": "cell"})
        check("cell: runs, default memory until the label has history (%s)" % intent_of(r).get("memory"),
              res(r).get("value") == 12 << 20 and size(intent_of(r).get("memory")) == dm
              and "adaptive" not in intent_of(r), r)
        record("cell", r)
    r = d.c.call("session.exec", path="/t1/py", code="1 + 1", intent={"label": "cell"})
    i = intent_of(r)
    check("cell: the 4th exec of the label gets memory from its history (%s from %s)"
          % (i.get("memory"), peaks.get("cell")),
          res(r).get("value") == 2 and len(peaks.get("cell", [])) == 3
          and size(i.get("memory")) == assumed(peaks["cell"])
          and i.get("adaptive", {}).get("samples") == 3 and "memory" in i.get("assumed", []), r)
    r = d.c.call("session.close", path="/t1/py")
    check("session.close", "result" in r, r)


def run_disabled(d):
    dm = d.default_memory
    for mib in (24, 32, 40):
        r = d.run("alloc", ["python3", "-c", ALLOC, str(mib)])
        check("adaptive off: alloc %dM runs (peak %d)" % (mib, peak_of(r)),
              res(r).get("stdout") == "done\n" and peak_of(r) > mib << 20, r)
    for n in range(2):
        r = d.run("alloc")
        i = intent_of(r)
        check("adaptive off: call %d of a label with 3+ peaks gets the configured default (%s)"
              % (4 + n, i.get("memory")),
              size(i.get("memory")) == dm and "memory" in i.get("assumed", []) and "adaptive" not in i, i)


if __name__ == "__main__":
    main()
