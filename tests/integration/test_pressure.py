# SPDX-License-Identifier: GPL-2.0
"""Priority classes and the containment ladder under real memory pressure.

A daemon with a small root budget (memory_budget); real processes fill it.
Each allocating process reads the root's charge itself and allocates
exactly what brings the root to a fraction of its budget, so the bands the
test aims at do not depend on how much an interpreter or a stub takes.

Usage: python3 tests/integration/test_pressure.py BUILD_DIR   (as root)"""
import contextlib
import json
import os
import shutil
import sys
import tempfile

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
AGENTCGD = os.path.join(BUILD, "agentcgd")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tap import summary  # noqa: E402
from rpcclient import Client, check, daemon, err, res, wait_for  # noqa: E402

BUDGET = 640 << 20
MIB = 1 << 20

# The pressure is driven step by step, never by time: each allocating
# process makes a file when a step is done and holds its memory until
# the test makes the step's gate file, so every band the test aims at is
# in place, and seen by the daemon, before the test asserts.
#
# argv: USAGE_FILE BUDGET GATES TAG STEP...; a step is "abs:MIB" (allocate
# MIB), "root:FRACTION" (allocate what the root lacks to reach FRACTION
# of BUDGET, measured once at the step's start) or "free:0" (let go of
# all it holds, and go on running). After step i it makes
# GATES/TAG.done<i> and waits for GATES/TAG.go<i> (at most 10 minutes).
ALLOC = r"""
import os, sys, time
usage_file, budget, gates, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
keep = []
def usage():
    with open(usage_file) as f:
        return int(f.read())
for i, step in enumerate(sys.argv[5:]):
    kind, val = step.split(":")
    if kind == "free":
        keep.clear()
        n = 0
    elif kind == "abs":
        n = int(val)
    else:
        n = max(0, int((float(val) * budget - usage()) / (1 << 20)))
    for _ in range(n):
        keep.append(b"\x01" * (1 << 20))
    with open(os.path.join(gates, "%s.done%d" % (tag, i)), "w") as f:
        f.write(str(usage()))
    end = time.monotonic() + 600
    while not os.path.exists(os.path.join(gates, "%s.go%d" % (tag, i))) and time.monotonic() < end:
        time.sleep(0.01)
"""


def config():
    return {
        "memory_budget": BUDGET,
        "output_limit": "64K",
        "defaults": {"memory": 0, "pids": 256, "timeout": "10m"},
        "session_budget": {"memory_max": "max", "pids": 1024},
        "interpreters": {"pool": {"python": 0, "bash": 0}},
        "containment": {"enabled": True, "step": "50ms", "freeze": True, "hold_max": "10m"},
        "tenants": {"p": {"memory_max": "max", "pids": 4096}},
    }


def hold_config(hold_max):
    """The ladder without freezing (what "auto" is without swap)."""
    cfg = config()
    cfg["containment"] = {"enabled": True, "step": "50ms", "freeze": False, "hold_max": hold_max}
    cfg.setdefault("defaults", {})["memory_hints"] = {"low": "8M", "medium": "16M",
                                                      "high": BUDGET * 6 // 10}
    return cfg


def usage_file(c):
    info = res(c.call("daemon.info"))
    roots = info.get("roots", [])
    if info.get("backend") == "hybrid":
        return os.path.join(roots[1], "memory.usage_in_bytes")
    return os.path.join(roots[0], "memory.current")


class Gates:
    """A directory of step files, writable by the interpreters' user too."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="agentcg-pressure-")
        os.chmod(self.dir, 0o1777)

    def done(self, tag, i):
        """Waits until step i of TAG is done; the root's usage then."""
        f = os.path.join(self.dir, "%s.done%d" % (tag, i))
        wait_for(lambda: os.path.exists(f) and open(f).read(), "%s to finish step %d" % (tag, i))
        return int(open(f).read())

    def go(self, tag, i):
        open(os.path.join(self.dir, "%s.go%d" % (tag, i)), "w").close()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def alloc_call(c, gates, session, uf, steps, label, tag, **intent):
    return c.send("call.run", {"path": "/p/" + session,
                               "argv": ["python3", "-c", ALLOC, uf, str(BUDGET), gates.dir, tag] +
                               steps, "intent": dict(intent, label=label)})


def is_step(path, kind, step):
    return lambda p: (p.get("type") == kind and p.get("step") == step and
                      p.get("path", "").startswith(path))


def events_of(notes, path):
    """(type, step) of the contain/release events of one call, in order."""
    out = []
    for n in notes:
        p = n.get("params") or {}
        if n.get("method") != "event" and "type" not in p:
            continue
        if p.get("path", "").startswith(path) and p.get("type") in ("contain", "release"):
            out.append((p["type"], p.get("step")))
    return out


def drain(ev, *paths):
    """Reads the events up to the call.end of each call under paths, so
    that a check of the events sees all of each call's."""
    for path in paths:
        ev.wait_note(lambda p, path=path: p.get("type") == "call.end" and
                     p.get("path", "").startswith(path), "call.end under " + path)
    return ev.notes


def verdict(msg):
    return res(msg).get("verdict") or {}


def frozen_calls(c, session):
    """The calls of a session whose cgroup is frozen now."""
    kids = res(c.call("cg.list", path=session)).get("children") or []
    return [k["path"] for k in kids if k.get("kind") == "call" and k.get("frozen")]


def swap_on():
    with open("/proc/swaps") as f:
        return len(f.read().strip().splitlines()) > 1


def metric(c, name, **labels):
    """One sample of the `metrics` method's text (0 when absent)."""
    want = name + ("{" + ",".join('%s="%s"' % kv for kv in labels.items()) + "}" if labels else "")
    for line in res(c.call("metrics")).get("text", "").splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return 0


def pressure_state(sock, uf):
    """What a timed-out wait leaves to explain it: the root's usage file,
    the daemon's domains and its waiting calls (from a fresh client)."""
    try:
        c = Client(sock)
        info = c.info()
        c.close()
        doms = [(d.get("path"), d.get("usage"), d.get("band"))
                for d in (info.get("pressure") or {}).get("domains") or []]
        return "usage file %s, domains %s, calls waiting %s" % (
            open(uf).read().strip(), doms, info.get("calls_waiting"))
    except (OSError, TimeoutError, EOFError) as e:
        return "no state: %s" % e


def root_band(c):
    return ((c.info().get("pressure") or {}).get("domains") or [{}])[0].get("band")


@contextlib.contextmanager
def scenario(sock, sessions):
    """A client, a second one following events, step gates, and the
    sessions {name: priority or (priority, lang)} under /p; all closed at
    the end."""
    c = Client(sock)
    ev = Client(sock)
    ev.call("events.subscribe", path="/")
    gates = Gates()
    for name, how in sessions.items():
        prio, lang = how if isinstance(how, tuple) else (how, None)
        params = {"path": "/p/" + name, "priority": prio}
        if lang:
            params["lang"] = lang
        r = c.call("session.create", **params)
        check("session.create /p/%s (%s)" % (name, prio), "result" in r, r)
    try:
        yield c, ev, gates
    finally:
        for name in sessions:
            c.call("session.close", path="/p/" + name)
        gates.remove()
        c.close()
        ev.close()


def climb(c, ev, gates, session, uf, victim, steps):
    """A high-priority call climbs through the bands: 80% (throttle), 90%
    (freeze), 99.5% (kill); at each, the victim's contain event `steps[i]`
    is awaited before the next climb. Returns the high call's reply."""
    hi = alloc_call(c, gates, session, uf, ["root:0.80", "root:0.90", "root:0.995"], "climb", "hi")
    for i, step in enumerate(steps):
        gates.done("hi", i)
        ev.wait_note(is_step(victim, "contain", step), "%s %s" % (victim, step))
        gates.go("hi", i)
    return c.wait(hi)


def ladder_to_kill(c, ev, gates, uf):
    """A low-priority call holds 45% of the budget; a high-priority call
    climbs through the throttle, freeze and kill bands."""
    steps0 = {s: metric(c, "agentcg_contain_steps_total", domain="/", step=s)
              for s in ("throttled", "frozen", "killed")}
    kill0 = metric(c, "agentcg_pressure_band_entries_total", domain="/", band="kill")
    lo = alloc_call(c, gates, "low", uf, ["root:0.45"], "hold", "lo")
    gates.done("lo", 0)
    rhi = climb(c, ev, gates, "high", uf, "/p/low/", ["throttled", "frozen", "killed"])
    steps = {s: metric(c, "agentcg_contain_steps_total", domain="/", step=s) - steps0[s]
             for s in steps0}
    check("metrics: the root domain's steps went up by one throttled, frozen, killed (%s)" % steps,
          steps == {"throttled": 1, "frozen": 1, "killed": 1}, steps)
    check("metrics: the root domain entered the kill band",
          metric(c, "agentcg_pressure_band_entries_total", domain="/", band="kill") > kill0)
    rlo = c.wait(lo)
    notes = drain(ev, "/p/low/", "/p/high/")
    vhi, vlo = verdict(rhi), verdict(rlo)
    check("high-priority call completes", vhi.get("status") == "ok" and
          (res(rhi).get("exit") or {}).get("code") == 0, vhi)
    check("high-priority call is never contained", "containment" not in vhi, vhi)
    steps = [s for t, s in events_of(notes, "/p/low/") if t == "contain"]
    check("ladder order on the low call: throttled, frozen, killed",
          steps == ["throttled", "frozen", "killed"], "%s" % steps)
    check("no contain event for the high call", not events_of(notes, "/p/high/"),
          events_of(notes, "/p/high/"))
    check("low call stopped by memory pressure", vlo.get("stopped_by") == "memory pressure",
          vlo)
    ct = vlo.get("containment") or {}
    check("low call's verdict: throttled, frozen, killed, as low priority",
          ct.get("throttled") == 1 and ct.get("frozen") == 1 and ct.get("killed") is True
          and ct.get("priority") == "low", ct)
    check("the summary tells the agent what to change",
          "memory pressure" in vlo.get("summary", "") and "priority" in vlo.get("summary", ""),
          vlo.get("summary"))
    check("the kill came as the budget was about to be full (within 1%)",
          (ct.get("domain") or {}).get("usage", 0) >= 0.99 * BUDGET * 0.99, ct)
    check("killed by SIGKILL", (res(rlo).get("exit") or {}).get("signal_name") == "SIGKILL",
          res(rlo).get("exit"))


CELL = """
import os, time
def hold():
    with open(%r) as f:
        n = max(0, int((0.45 * %d - int(f.read())) / (1 << 20)))
    keep = [b"\\x01" * (1 << 20) for _ in range(n)]
    open(%r, "w").write("1")
    end = time.monotonic() + 600
    while time.monotonic() < end:
        time.sleep(0.01)
    return len(keep)
hold()
"""


def cell_interrupted(c, ev, gates, uf):
    """The kill step on a session.exec cell interrupts it: the interpreter
    and the session's state live on."""
    c.call("session.exec", path="/p/nb", code="marker = 41")
    held = os.path.join(gates.dir, "cell.done0")
    ex = c.send("session.exec", {"path": "/p/nb", "code": CELL % (uf, BUDGET, held)})
    wait_for(lambda: os.path.exists(held), "the cell to hold its memory")
    rhi = climb(c, ev, gates, "high2", uf, "/p/nb/", ["throttled", "frozen", "interrupted"])
    rex = c.wait(ex)
    notes = drain(ev, "/p/high2/")
    vex = verdict(rex)
    check("high-priority call completes beside the cell", verdict(rhi).get("status") == "ok",
          verdict(rhi))
    steps = [st for t, st in events_of(notes, "/p/nb/") if t == "contain"]
    check("the cell: throttled, frozen, interrupted", steps == ["throttled", "frozen", "interrupted"],
          steps)
    check("the cell's verdict: stopped by memory pressure, interrupted",
          vex.get("stopped_by") == "memory pressure" and res(rex).get("interrupted") is True and
          "interrupted under memory pressure" in vex.get("summary", ""), res(rex))
    check("the interpreter lives on", (res(rex).get("session") or {}).get("interpreter") ==
          "alive", res(rex).get("session"))
    r = c.call("session.exec", path="/p/nb", code="marker + 1")
    check("and the session keeps its state", res(r).get("value") == 42, r)


def freeze_and_thaw(c, ev, gates, uf):
    """A low-priority call holds half the budget; a normal one pushes the
    root into the freeze band and ends: the low call is frozen, let go
    step by step when the usage falls, and completes."""
    lo = alloc_call(c, gates, "lo2", uf, ["root:0.50"], "hold", "lo")
    gates.done("lo", 0)
    mid = alloc_call(c, gates, "mid", uf, ["root:0.89"], "spike", "mid")
    gates.done("mid", 0)
    ev.wait_note(is_step("/p/lo2/", "contain", "frozen"), "the low call frozen")
    wait_for(lambda: root_band(c) == "freeze", "the daemon to see the root in the freeze band")
    nwait = c.info().get("calls_waiting", 0)
    held = c.send("call.run", {"path": "/p/lo2b", "argv": ["true"],
                               "intent": {"priority": "low"}})
    wait_for(lambda: c.info().get("calls_waiting", 0) == nwait + 1,
             "a new low-priority call held back at admission (no wait asked)")
    after_drop = len(ev.notes)
    gates.go("mid", 0)
    rmid = c.wait(mid)
    rheld = c.wait(held)
    adm = verdict(rheld).get("admission") or {}
    check("in the freeze band a new low-priority call is held back at admission, and runs "
          "once the pressure falls", verdict(rheld).get("status") == "ok" and
          adm.get("held_by") == "memory pressure" and adm.get("waited_ms", -1) >= 0 and
          "held back by memory pressure" in verdict(rheld).get("summary", ""), rheld)
    ev.wait_note(is_step("/p/lo2/", "release", "released"), "the low call let go",
                 since=after_drop)
    gates.go("lo", 0)
    rlo = c.wait(lo)
    notes = drain(ev, "/p/lo2/", "/p/mid/")
    vlo, vmid = verdict(rlo), verdict(rmid)
    ev_lo = events_of(notes, "/p/lo2/")
    check("low call completes after the thaw", vlo.get("status") == "ok" and
          (res(rlo).get("exit") or {}).get("code") == 0, vlo)
    check("low call was frozen, then released", ("contain", "frozen") in ev_lo and
          ev_lo[-1] == ("release", "released") and
          ev_lo.index(("contain", "frozen")) < len(ev_lo) - 1, ev_lo)
    ct = vlo.get("containment") or {}
    check("its verdict counts the freeze and its time", ct.get("frozen", 0) >= 1 and
          ct.get("frozen_ms", 0) > 0 and ct.get("killed") is False, ct)
    if not swap_on():
        check("frozen by freeze: true without swap, nothing was pushed out (reclaimed 0)",
              ct.get("reclaimed") == 0 and "swap" not in vlo.get("summary", ""), ct)
    check("the summary says it was slowed", "slowed under memory pressure" in
          vlo.get("summary", ""), vlo.get("summary"))
    check("normal call in the freeze band is throttled, not frozen, and completes",
          vmid.get("status") == "ok" and (vmid.get("containment") or {}).get("frozen", 0) == 0,
          vmid)
    info = wait_for(lambda: (lambda p: p if p.get("contained") == 0 else None)(
        c.info().get("pressure") or {}), "nothing contained")
    check("nothing contained at the end", info.get("contained") == 0, info)


def stall_drains(c, ev, gates, uf):
    """A high-priority call holds the budget in the freeze band and does
    not move: the frozen low call is not left frozen for ever, it is let
    go (stall) and finishes."""
    hi = alloc_call(c, gates, "hold", uf, ["root:0.55"], "base", "hi")
    gates.done("hi", 0)
    lo = alloc_call(c, gates, "lo3", uf, ["root:0.90"], "work", "lo")
    # (on v2 the throttle, memory.high at its charge, may stall it before
    # it reaches 90%: it gets there once it is let go)
    gates.done("lo", 0)
    wait_for(lambda: frozen_calls(c, "/p/lo3"), "the low call frozen at 90%")
    # Told to end now, the low call can do so only once it is let go.
    gates.go("lo", 0)
    rlo = c.wait(lo)
    gates.go("hi", 0)
    rhi = c.wait(hi)
    ev.wait_note(is_step("/p/lo3/", "release", "released"), "the low call let go")
    ev_lo = events_of(drain(ev, "/p/lo3/"), "/p/lo3/")
    vlo = verdict(rlo)
    check("stall: the low call was contained, then let go while the budget stayed full",
          ev_lo and ev_lo[0][0] == "contain" and ("release", "released") in ev_lo, ev_lo)
    ct = vlo.get("containment") or {}
    check("stall: ... and completed", vlo.get("status") == "ok" and
          ct.get("frozen", 0) + ct.get("throttled", 0) >= 1, vlo)
    check("stall: the high call completed", verdict(rhi).get("status") == "ok", verdict(rhi))


def held_then_run(c, ev, gates, uf):
    """Without freezing: a high-priority call takes the root into the
    freeze band beside a running low one. The running call is never
    touched; new low and normal calls wait at admission (no wait asked), a
    new high one starts at once; the held ones run once the pressure falls."""
    waits0 = metric(c, "agentcg_admission_waits_total", tenant="p", held_by="pressure")
    secs0 = metric(c, "agentcg_admission_wait_seconds_total", tenant="p", held_by="pressure")
    lo = alloc_call(c, gates, "hl", uf, ["root:0.30"], "hold", "lo")
    gates.done("lo", 0)
    hi = alloc_call(c, gates, "hh", uf, ["root:0.90"], "spike", "hi")
    gates.done("hi", 0)
    wait_for(lambda: root_band(c) == "freeze", "the daemon to see the root in the freeze band")
    nwait = c.info().get("calls_waiting", 0)
    held = [c.send("call.run", {"path": "/p/" + s, "argv": ["true"]}) for s in ("hl", "hn")]
    wait_for(lambda: c.info().get("calls_waiting", 0) == nwait + 2,
             "the new low and normal calls held back at admission")
    rh = c.call("call.run", path="/p/hh", argv=["true"])
    check("hold mode: a new high-priority call starts at once, in the freeze band",
          verdict(rh).get("status") == "ok" and "admission" not in verdict(rh), verdict(rh))
    rc = c.call("session.exec", path="/p/hp", code="20 + 22")
    check("hold mode: a low-priority session's cell is not held (its interpreter is resident)",
          res(rc).get("value") == 42, rc)
    gates.go("hi", 0)
    rhi = c.wait(hi)
    rheld = [c.wait(h) for h in held]
    for name, r in zip(("low", "normal"), rheld):
        adm = verdict(r).get("admission") or {}
        check("hold mode: the held %s call runs once the pressure falls, its wait reported" % name,
              verdict(r).get("status") == "ok" and adm.get("held_by") == "memory pressure", r)
    waits = metric(c, "agentcg_admission_waits_total", tenant="p", held_by="pressure") - waits0
    secs = metric(c, "agentcg_admission_wait_seconds_total", tenant="p", held_by="pressure") - secs0
    check("metrics: admission_waits_total{p, pressure} went up by the 2 held calls, with their "
          "time (%s s)" % secs, waits == 2 and secs > 0, (waits, secs))
    gates.go("lo", 0)
    rlo = c.wait(lo)
    notes = drain(ev, "/p/hl/", "/p/hh/")
    check("hold mode: the running low call was never throttled or frozen, and completed",
          verdict(rlo).get("status") == "ok" and "containment" not in verdict(rlo) and
          not events_of(notes, "/p/hl/"), (verdict(rlo), events_of(notes, "/p/hl/")))
    check("hold mode: the high call completed", verdict(rhi).get("status") == "ok", verdict(rhi))


def forecast_hold(c, ev, gates, uf):
    """Hold mode with forecast: in a calm band, a low call that declares
    more memory than is left below the kill mark waits; a small one
    starts; the big one runs once the room is back."""
    hi = alloc_call(c, gates, "fh", uf, ["root:0.50", "free:0"], "base", "hi")
    gates.done("hi", 0)
    band = root_band(c)
    small = c.call("call.run", path="/p/fl", argv=["true"], intent={"memory": "8M"})
    check("forecast: with the root at %s, a low call that declares 8M starts at once" % band,
          verdict(small).get("status") == "ok" and "admission" not in verdict(small),
          verdict(small))
    hinted = c.call("call.run", path="/p/fl", argv=["true"], intent={"memory_hint": "low"})
    check("forecast: ... and so does one whose memory_hint is \"low\" (8M here)",
          verdict(hinted).get("status") == "ok" and "admission" not in verdict(hinted) and
          res(hinted).get("intent", {}).get("memory_hint") == "low", hinted)
    nwait = c.info().get("calls_waiting", 0)
    big = c.send("call.run", {"path": "/p/fl", "argv": ["true"],
                              "intent": {"memory": BUDGET * 6 // 10}})
    wait_for(lambda: c.info().get("calls_waiting", 0) == nwait + 1,
             "the low call that declares 60% of the budget held back")
    # a hint is no limit: the same forecast from an agent that only says
    # what it expects, as a size or as a class the policy sizes
    hint_sz = c.send("call.run", {"path": "/p/fl", "argv": ["true"],
                                  "intent": {"memory_hint": BUDGET * 6 // 10}})
    hint_cls = c.send("call.run", {"path": "/p/fl", "argv": ["true"],
                                   "intent": {"memory_hint": "high"}})
    wait_for(lambda: c.info().get("calls_waiting", 0) == nwait + 3,
             "the low calls whose memory_hint is 60% of the budget held back")
    # The room comes back while the high call still runs (it lets go of
    # its memory): no call ends, no kernel event in the calm band, and
    # the held calls must start all the same.
    gates.go("hi", 0)
    gates.done("hi", 1)
    for what, h in (("declares 60%", big), ("hints 60%", hint_sz), ("hints \"high\"", hint_cls)):
        rb = c.wait(h)
        check("forecast: the call that %s runs once the room is back, held by pressure "
              "(no call ended meanwhile)" % what,
              verdict(rb).get("status") == "ok" and
              (verdict(rb).get("admission") or {}).get("held_by") == "memory pressure",
              verdict(rb))
    gates.go("hi", 1)
    c.wait(hi)
    lim = res(rb).get("limits") or {}
    check("forecast: a memory_hint sets no limit (memory.high and memory.max are not its %s)"
          % lim.get("memory.high"),
          "memory.high" in lim and "384M" not in (lim.get("memory.high"), lim.get("memory.max")),
          lim)


def high_waits_for_high(c, ev, gates, uf):
    """Hold mode with forecast, high priority: a high call that would not
    fit waits only for another high call (the kernel would kill a high
    call to make its room); beside a running low call it starts at once
    (the kernel would take the low call)."""
    hi = alloc_call(c, gates, "wh", uf, ["root:0.60"], "big", "hi")
    gates.done("hi", 0)
    nwait = c.info().get("calls_waiting", 0)
    held = c.send("call.run", {"path": "/p/wh2", "argv": ["true"],
                               "intent": {"memory_hint": BUDGET // 2}})
    wait_for(lambda: c.info().get("calls_waiting", 0) == nwait + 1,
             "the high call that hints half the budget held behind the other high call")
    small = c.call("call.run", path="/p/wh2", argv=["true"], intent={"memory_hint": "8M"})
    check("forecast, high: a high call that fits starts at once",
          verdict(small).get("status") == "ok" and "admission" not in verdict(small),
          verdict(small))
    gates.go("hi", 0)
    c.wait(hi)
    rh = c.wait(held)
    check("forecast, high: ... and runs once the other high call has ended, its wait reported",
          verdict(rh).get("status") == "ok" and
          (verdict(rh).get("admission") or {}).get("held_by") == "memory pressure", verdict(rh))
    lo = alloc_call(c, gates, "wl", uf, ["abs:8"], "small", "lo")
    gates.done("lo", 0)
    hi2 = alloc_call(c, gates, "wh", uf, ["root:0.60"], "big", "hi2")
    gates.done("hi2", 0)
    r = c.call("call.run", path="/p/wh2", argv=["true"], intent={"memory_hint": BUDGET // 2})
    check("forecast, high: beside a running low call it starts at once",
          verdict(r).get("status") == "ok" and "admission" not in verdict(r), verdict(r))
    gates.go("hi2", 0)
    gates.go("lo", 0)
    c.wait(hi2)
    c.wait(lo)


def hold_is_bounded(c, ev, gates, uf):
    """A call held back by pressure starts after hold_max even if the
    pressure stays: a low-priority agent is slowed, never starved."""
    hi = alloc_call(c, gates, "bh", uf, ["root:0.90"], "spike", "hi")
    gates.done("hi", 0)
    wait_for(lambda: root_band(c) == "freeze", "the daemon to see the root in the freeze band")
    r = c.call("call.run", path="/p/bl", argv=["true"])
    adm = verdict(r).get("admission") or {}
    check("hold_max: the held low call started with the pressure still on",
          verdict(r).get("status") == "ok" and adm.get("held_by") == "memory pressure" and
          root_band(c) == "freeze", (verdict(r), root_band(c)))
    gates.go("hi", 0)
    c.wait(hi)


def kernel_picks_by_class(c, ev, gates, uf):
    """Without freezing, the daemon kills nothing: when the budget runs
    out, the kernel's OOM killer chooses, steered by oom_score_adj. A low
    call, a normal session's interpreter with state, and a high call that
    pushes past the budget: the low call goes; the interpreter and the
    high call live."""
    c.call("session.exec", path="/p/kn", code="marker = 41")
    r = c.call("session.exec", path="/p/kn",
               code="keep = bytearray(%d); keep[::4096] = b'\\x01' * (len(keep) // 4096); 1"
               % (BUDGET // 5))
    check("oom steering: the interpreter holds 20% of the budget", res(r).get("value") == 1, r)
    lo = alloc_call(c, gates, "kl", uf, ["root:0.55"], "hold", "lo")
    gates.done("lo", 0)
    hi = alloc_call(c, gates, "kh", uf, ["abs:%d" % (BUDGET * 6 // 10 // MIB)], "push", "hi")
    rlo = c.wait(lo)
    gates.done("hi", 0)
    gates.go("hi", 0)
    rhi = c.wait(hi)
    vlo = verdict(rlo)
    check("oom steering: the kernel killed the low-priority call",
          vlo.get("status") in ("exceeded", "failed") and
          (res(rlo).get("exit") or {}).get("signal_name") == "SIGKILL", res(rlo))
    check("oom steering: its verdict names the budget that ran out, not a limit of its own",
          "budget" in vlo.get("summary", "") and "memory_max (" not in vlo.get("summary", ""),
          vlo.get("summary"))
    check("oom steering: the high-priority call completed", verdict(rhi).get("status") == "ok",
          verdict(rhi))
    r = c.call("session.exec", path="/p/kn", code="marker + 1")
    check("oom steering: the interpreter lives, with its state", res(r).get("value") == 42, r)
    notes = drain(ev, "/p/kl/")
    check("oom steering: no kill by the daemon", not [x for x in events_of(notes, "/p/")
                                                      if x[1] in ("killed", "interrupted")],
          events_of(notes, "/p/"))


def retried_after_oom(c, ev, gates, uf):
    """A low call that may be repeated (retry) is OOM-killed at the budget
    by the kernel (a high call pushes past it): it runs again once there
    is room, and its one reply says so."""
    lo = alloc_call(c, gates, "rl", uf, ["root:0.50"], "rerun", "lo", retry=1)
    gates.done("lo", 0)
    hi = alloc_call(c, gates, "rh", uf, ["abs:%d" % (BUDGET * 6 // 10 // MIB)], "push", "hi")
    gates.done("hi", 0)
    ev.wait_note(lambda p: p.get("type") == "call.retry" and p.get("path", "").startswith("/p/rl/"),
                 "the low call's retry")
    gates.go("hi", 0)
    rhi = c.wait(hi)
    gates.go("lo", 0)
    rlo = c.wait(lo)
    v = verdict(rlo)
    check("retry: the high call completed", verdict(rhi).get("status") == "ok", verdict(rhi))
    check("retry: the killed low call ran again and completed, its reply says so",
          v.get("status") == "ok" and (v.get("retry") or {}).get("attempts") == 2 and
          (v.get("retry") or {}).get("killed") == 1 and "run again 1 time" in v.get("summary", ""),
          v)
    check("retry: the intent shows retry", (res(rlo).get("intent") or {}).get("retry") == 1,
          res(rlo).get("intent"))
    r = c.call("call.run", path="/p/rl", argv=["true"], intent={"retry": 9})
    check("retry: out of range is a clear error", err(r).get("code") == -32602 and
          "retry" in json.dumps(err(r).get("data")), r)


def priority_knobs(sock):
    """The class of a session reaches its cgroup."""
    c = Client(sock)
    info = res(c.call("daemon.info"))
    roots = info.get("roots", [])
    want = {"low": 25, "normal": 100, "high": 400}
    for prio, w in want.items():
        c.call("session.create", path="/p/k" + prio, priority=prio)
        if info.get("backend") == "hybrid":
            f = os.path.join(roots[2], "p", "k" + prio, "cpu.shares")
            exp = str(w * 1024 // 100)
        else:
            f = os.path.join(roots[0], "p", "k" + prio, "cpu.weight")
            exp = str(w)
        got = open(f).read().strip()
        check("%s session: %s = %s" % (prio, os.path.basename(f), exp), got == exp, got)
    if info.get("backend") == "hybrid":
        soft = open(os.path.join(roots[1], "p", "klow", "memory.soft_limit_in_bytes")).read()
        check("low session: soft limit 0 (reclaimed first)", soft.strip() == "0", soft)
    else:
        low = open(os.path.join(roots[0], "p", "khigh", "memory.low")).read().strip()
        check("high session: memory.low protects the budget", low == str(BUDGET), low)
        low = open(os.path.join(roots[0], "p", "klow", "memory.low")).read().strip()
        check("low session: no memory.low", low == "0", low)
    r = c.call("call.run", path="/p/klow", argv=["sh", "-c", "cat /proc/self/oom_score_adj"])
    check("a low-priority call's processes have oom_score_adj 650",
          res(r).get("stdout", "").strip() == "650", res(r).get("stdout"))
    r = c.call("call.run", path="/p/khigh", argv=["sh", "-c", "cat /proc/self/oom_score_adj"])
    check("a high-priority call's processes have oom_score_adj 100",
          res(r).get("stdout", "").strip() == "100", res(r).get("stdout"))
    r = c.call("call.run", path="/p/khigh", argv=["sh", "-c", "cat /proc/self/oom_score_adj"],
               intent={"priority": "low"})
    check("a call's own priority wins over its session's, its processes too",
          (res(r).get("intent") or {}).get("priority") == "low" and
          res(r).get("stdout", "").strip() == "650", res(r))
    r = c.call("call.run", path="/p/khigh", argv=["true"])
    check("a call without one takes its session's, shown as assumed",
          (res(r).get("intent") or {}).get("priority") == "high" and
          "priority" in (res(r).get("intent") or {}).get("assumed", []), res(r).get("intent"))
    c.call("session.create", path="/p/knb", priority="low", lang="python")
    r = c.call("session.exec", path="/p/knb",
               code="import subprocess; [int(open('/proc/self/oom_score_adj').read()), "
                    "int(subprocess.run(['cat', '/proc/self/oom_score_adj'], "
                    "capture_output=True, text=True).stdout)]")
    check("while a cell runs, its interpreter and what it starts have the cell's class (low: "
          "650): a cell gets no protection a call lacks", res(r).get("value") == [650, 650], res(r))
    pid = res(r).get("pid")
    try:
        idle = int(open("/proc/%d/oom_score_adj" % pid).read())
    except (OSError, TypeError, ValueError) as e:
        idle = repr(e)
    check("between cells the interpreter has 0 (the offset, -100, below the lowest class, "
          "high's 100): after every call", idle == 0, idle)
    r = c.call("session.exec", path="/p/knb", intent={"priority": "normal"},
               code="int(open('/proc/self/oom_score_adj').read())")
    check("... a cell of normal priority in it: 600", res(r).get("value") == 600, res(r))
    c.call("session.close", path="/p/knb")
    for prio in want:
        c.call("session.close", path="/p/k" + prio)
    c.close()


def main():
    with daemon(AGENTCGD, config(), "pressure") as (sock, _pid):
        c = Client(sock)
        info = res(c.call("daemon.info"))
        p = info.get("pressure") or {}
        root = (p.get("domains") or [{}])[0]
        check("the root is a pressure domain with the budget", root.get("budget") == BUDGET, p)
        check("PSI trigger armed on the root", root.get("psi_trigger") is True, root)
        if info.get("backend") == "hybrid":
            check("v1 usage thresholds armed on the root", root.get("v1_thresholds") is True,
                  root)
        else:
            check("memory.events of the root watched", root.get("memory_events") is True, root)
        uf = usage_file(c)
        c.close()
        priority_knobs(sock)
        for fn, sessions in ((ladder_to_kill, {"low": "low", "high": "high"}),
                             (cell_interrupted, {"nb": ("low", "python"), "high2": "high"}),
                             (freeze_and_thaw, {"lo2": "low", "mid": "normal", "lo2b": "low"}),
                             (stall_drains, {"hold": "high", "lo3": "low"})):
            with scenario(sock, sessions) as (c, ev, gates):
                try:
                    fn(c, ev, gates, uf)
                except TimeoutError as e:
                    check("%s: every awaited state came" % fn.__name__, False,
                          "%s; then %s" % (e, pressure_state(sock, uf)))
    with daemon(AGENTCGD, dict(config(), containment={"enabled": True}), "pressure-auto") \
            as (sock, _pid):
        c = Client(sock)
        mode = (c.info().get("pressure") or {}).get("mode")
        swap = swap_on()
        check("freeze \"auto\": mode %s (swap %s)" % ("freeze" if swap else "hold",
                                                      "on" if swap else "off"),
              mode == ("freeze" if swap else "hold"), mode)
        c.close()
    for hold_max, tests in (("10m", ((held_then_run, {"hl": "low", "hn": "normal", "hh": "high",
                                                      "hp": ("low", "python")}),
                                     (kernel_picks_by_class,
                                      {"kl": "low", "kn": ("normal", "python"), "kh": "high"}),
                                     (retried_after_oom, {"rl": "low", "rh": "high"}),
                                     (forecast_hold, {"fh": "high", "fl": "low"}),
                                     (high_waits_for_high,
                                      {"wh": "high", "wh2": "high", "wl": "low"}))),
                            ("1s", ((hold_is_bounded, {"bh": "high", "bl": "low"}),))):
        with daemon(AGENTCGD, hold_config(hold_max), "pressure-hold") as (sock, _pid):
            c = Client(sock)
            uf = usage_file(c)
            c.close()
            for fn, sessions in tests:
                with scenario(sock, sessions) as (c, ev, gates):
                    try:
                        fn(c, ev, gates, uf)
                    except TimeoutError as e:
                        check("%s: every awaited state came" % fn.__name__, False,
                              "%s; then %s" % (e, pressure_state(sock, uf)))
    with daemon(AGENTCGD, dict(config(), containment={"enabled": False}), "pressure-off") \
            as (sock, _pid):
        c = Client(sock)
        c.call("session.create", path="/p/x", priority="low")
        r = c.call("call.run", path="/p/x", argv=["sh", "-c", "cat /proc/self/oom_score_adj"])
        check("containment off: no oom_score_adj written", res(r).get("stdout", "").strip() == "0",
              res(r).get("stdout"))
        p = res(c.call("daemon.info")).get("pressure") or {}
        check("containment off: daemon.info says so", p.get("enabled") is False, p)
        c.call("session.close", path="/p/x")
        c.close()
    sys.exit(summary("test_pressure.py"))


if __name__ == "__main__":
    main()
