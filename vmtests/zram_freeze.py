# SPDX-License-Identifier: GPL-2.0
"""A frozen call is pushed out to swap (run by vmtests/test_zram.sh, in
the vmtest guest, with swap on a zram device it made).

agentcgd with containment and freeze "auto" (so it finds the swap
itself) and a 640M memory_budget. A low-priority call holds 45% of it; a
high-priority call takes the budget to 90% (the freeze band). (The
budget is the root's, as in test_pressure.py: on v2 the BPF programs
watch the root's charge; a tenant's budget is seen only through its
memory.events and PSI, which a climb without contention does not move.) The
low call is frozen and its pages go to swap: its memory.current falls
and its memory.swap.current rises while it stays frozen (the pages it
would take back still count for its release). When the high call ends,
the low call is let go and completes; its verdict reports what was
pushed out. The pressure is driven step by step with gate files, as in
tests/integration/test_pressure.py; every wait is for a state.

Usage: python3 vmtests/zram_freeze.py BUILD_DIR   (as root, in the guest)"""
import os
import sys

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
AGENTCGD = os.path.join(BUILD, "agentcgd")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from tap import summary  # noqa: E402
from rpcclient import check, daemon, res, wait_for  # noqa: E402
from test_pressure import (alloc_call, drain, events_of, frozen_calls, is_step,  # noqa: E402
                           scenario, verdict)
import test_pressure  # noqa: E402

MIB = 1 << 20
BUDGET = test_pressure.BUDGET  # 640M: alloc_call's scripts aim at fractions of it


def config():
    """test_pressure's, with freeze "auto" (the daemon finds the swap in
    /proc/swaps) and no stall release while the test reads the frozen
    call's files."""
    cfg = test_pressure.config()
    cfg["containment"] = {"enabled": True, "step": "50ms", "freeze": "auto", "stall": "10m",
                          "hold_max": "10m"}
    return cfg


def cg_file(root, path, name):
    with open(os.path.join(root + path, name)) as f:
        return f.read()


def cg_u64(root, path, name):
    return int(cg_file(root, path, name).split()[0])


def the_call(c, session):
    kids = res(c.call("cg.list", path=session)).get("children") or []
    calls = [k["path"] for k in kids if k.get("kind") == "call"]
    return calls[0] if len(calls) == 1 else None


def mib(b):
    return "%.1fM" % (b / MIB)


def pushed_out(c, ev, gates, root, uf):
    lo = alloc_call(c, gates, "lo", uf, ["root:0.45"], "hold", "lo")
    gates.done("lo", 0)
    lo_path = wait_for(lambda: the_call(c, "/p/lo"), "the low call's cgroup")
    cur0 = cg_u64(root, lo_path, "memory.current")
    swap0 = cg_u64(root, lo_path, "memory.swap.current")
    print("# low call %s before the pressure: memory.current %s, memory.swap.current %s"
          % (lo_path, mib(cur0), mib(swap0)), flush=True)
    check("the low call holds about 45%% of the budget (%s)" % mib(cur0),
          cur0 >= 0.35 * BUDGET, cur0)

    hi = alloc_call(c, gates, "hi", uf, ["root:0.90"], "spike", "hi")
    gates.done("hi", 0)
    ev.wait_note(is_step("/p/lo/", "contain", "frozen"), "the low call frozen")

    # Pushed out while frozen: the daemon's writes end (cg.list: reclaiming
    # false), its charge has fallen, its swap has risen.
    def entry():
        kids = res(c.call("cg.list", path="/p/lo")).get("children") or []
        return ([k for k in kids if k.get("path") == lo_path] or [{}])[0]

    def swapped():
        e = entry()
        if not e.get("frozen") or e.get("reclaiming") is not False:
            return None
        return e, cg_u64(root, lo_path, "memory.current"), cg_u64(root, lo_path,
                                                                    "memory.swap.current")
    try:
        e, cur1, swap1 = wait_for(swapped, "the frozen low call pushed out to swap")
    except TimeoutError as e:
        check("the frozen low call was pushed out to swap", False,
              "%s; memory.current %s, memory.swap.current %s, cg.list %s" % (
                  e, cg_file(root, lo_path, "memory.current").strip(),
                  cg_file(root, lo_path, "memory.swap.current").strip(), entry()))
        raise
    events = cg_file(root, lo_path, "cgroup.events")
    print("# low call frozen: memory.current %s -> %s, memory.swap.current %s -> %s"
          % (mib(cur0), mib(cur1), mib(swap0), mib(swap1)), flush=True)
    check("frozen, the low call's memory.current fell by half or more (%s -> %s)"
          % (mib(cur0), mib(cur1)), cur1 <= cur0 // 2)
    check("... and its memory.swap.current rose (%s -> %s)" % (mib(swap0), mib(swap1)),
          swap1 >= swap0 + cur0 // 2)
    check("... while its cgroup stayed frozen", "frozen 1" in events, events)
    check("cg.list shows what was pushed out (%s)" % mib(e.get("reclaimed", 0)),
          e.get("reclaimed", 0) >= cur0 // 2, e)
    use = cg_u64(root, "", "memory.current")
    check("the budget's usage fell below the freeze band with the low call's pages out (%s)"
          % mib(use), use < 0.85 * BUDGET, use)
    check("the pages it would take back keep it frozen while the high call holds its memory",
          frozen_calls(c, "/p/lo") == [lo_path], frozen_calls(c, "/p/lo"))

    after = len(ev.notes)
    gates.go("hi", 0)
    rhi = c.wait(hi)
    ev.wait_note(is_step("/p/lo/", "release", "released"), "the low call let go", since=after)
    gates.go("lo", 0)
    rlo = c.wait(lo)
    notes = drain(ev, "/p/lo/", "/p/hi/")
    vlo, vhi = verdict(rlo), verdict(rhi)
    ct = vlo.get("containment") or {}
    print("# low call's containment: %s" % ct, flush=True)
    check("the low call was let go and completed", vlo.get("status") == "ok" and
          (res(rlo).get("exit") or {}).get("code") == 0, vlo)
    check("its verdict: frozen, %s pushed out to swap in %s ms of memory.reclaim writes"
          % (mib(ct.get("reclaimed", 0)), ct.get("reclaim_ms")),
          ct.get("frozen", 0) >= 1 and ct.get("reclaimed", 0) >= cur0 // 2 and
          ct.get("killed") is False and isinstance(ct.get("reclaim_ms"), int), ct)
    check("its summary says so", "pushed out to swap" in vlo.get("summary", ""),
          vlo.get("summary"))
    ev_lo = events_of(notes, "/p/lo/")
    check("the low call was frozen, then released", ("contain", "frozen") in ev_lo and
          ev_lo[-1] == ("release", "released"), ev_lo)
    check("the high-priority call completed, never contained", vhi.get("status") == "ok" and
          "containment" not in vhi and not events_of(notes, "/p/hi/"),
          (vhi, events_of(notes, "/p/hi/")))
    rc = (c.info().get("pressure") or {}).get("reclaim") or {}
    print("# daemon.info pressure.reclaim: %s" % rc, flush=True)
    check("daemon.info counts the writes (%s writes, %s ms, longest %s us)"
          % (rc.get("writes"), rc.get("ms"), rc.get("longest_us")),
          rc.get("bytes", 0) >= cur0 // 2 and rc.get("writes", 0) >= 1, rc)


def main():
    logs = []
    with daemon(AGENTCGD, config(), "zram", on_log=logs.append) as (sock, _pid):
        from rpcclient import Client
        c = Client(sock)
        info = res(c.call("daemon.info"))
        p = info.get("pressure") or {}
        check("v2 backend", info.get("backend") == "v2", info.get("backend"))
        check("freeze \"auto\" with swap on: mode freeze", p.get("mode") == "freeze" and
              p.get("swap") is True, p)
        check("memory.reclaim is there", (p.get("reclaim") or {}).get("supported") is True, p)
        root = info["roots"][0]
        c.close()
        with scenario(sock, {"lo": "low", "hi": "high"}) as (c, ev, gates):
            uf = os.path.join(root, "memory.current")
            try:
                pushed_out(c, ev, gates, root, uf)
            except TimeoutError as e:
                check("every awaited state came", False, e)
    for line in "".join(logs).splitlines():
        if "containment" in line:
            print("# daemon: " + line, flush=True)
    sys.exit(summary("zram_freeze.py"))


if __name__ == "__main__":
    main()
