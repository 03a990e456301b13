#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""replay_plot: the tenant's memory over time in each shared pass of a
replay (bench/replay.py --json), one panel per pass side by side, as PNG.

Each panel: the agents' memory stacked (the memory.current of each agent's
sessions /replay/<agent>-py + -sh, sampled with the tenant's every 200 ms;
colour by agent, shade by priority), the tenant's own memory.current as a
line, B as a dashed line, and a dotted vertical line at every kill. Under
it a strip with one row per agent and what happened to it: kills (x: the
kernel OOM killer; X: agentcg's ladder; v: the userspace killer of the d
passes), calls frozen or throttled by the ladder (a bar over the call's
run), calls held at admission (a grey bar from the request to the start),
retries (o), interpreters lost (*), calls stopped by the bench as stuck (|).

The events come from the pass's "events" (replay.py stores them) or, for
a JSON written before that, from its call records (events_of). A JSON
without per-agent samples ("agent_memory") gets the tenant's memory alone,
and one without "samples_t0" its events aligned on the moment the tenant
first held the agents' baselines (when the agents start, together).

  bench/replay_plot.py RESULT.json OUT.png [--modes a,c] [--title TEXT]

matplotlib from Debian (apt-get install python3-matplotlib), Agg backend.
Everything but draw() is stdlib only: replay.py imports this module.
"""
import argparse
import json
import os
import sys

MIB = 1 << 20
MAX_POINTS = 1500          # per-agent samples kept per pass (decimated)
MAX_COLS = 4               # passes side by side; more go to a second row
KINDS = ("kill", "freeze", "throttle", "hold", "retry", "interpreter", "stuck")
KILLED = ("killed_own", "killed_pressure", "stopped")


class PlotError(Exception):
    pass


# ------------------------------------------------------------------ data

def decimate(rows, limit=MAX_POINTS, weight=None):
    """At most `limit` rows: the time range cut into `limit` buckets and in
    each the row with the largest weight (default: the sum of its values
    after the time), so that peaks survive. rows: [t, v1, v2, ...]."""
    if len(rows) <= limit:
        return list(rows)
    weight = weight or (lambda r: sum(r[1:]))
    t0, t1 = rows[0][0], rows[-1][0]
    span = (t1 - t0) or 1.0
    out, cur, best = [], None, None
    for r in rows:
        b = min(limit - 1, int((r[0] - t0) / span * limit))
        if b != cur:
            if best is not None:
                out.append(best)
            cur, best = b, r
        elif weight(r) > weight(best):
            best = r
    out.append(best)
    return out


def agent_offsets(res, plan_baselines=None):
    """Seconds from the start of the pass's samples to each agent's t0 (the
    moment its first gap began), and how that was found. replay.py stores
    samples_t0 (monotonic, as the agents' t0); for older JSONs the agents'
    start is put where the tenant first held 95% of their baselines (they
    start together, behind a barrier, once every baseline is held)."""
    ags = [o for o in res.get("agents", []) if o.get("t0") is not None]
    if not ags:
        return {}, "no agent start times"
    st0 = res.get("samples_t0")
    if st0 is not None:
        return {o["agent"]: o["t0"] - st0 for o in ags}, "exact"
    first = min(o["t0"] for o in ags)
    base = sum(o.get("baseline_peak") or 0 for o in res.get("agents", [])) or \
        sum(plan_baselines or [])
    est = 0.0
    if base:
        for t, b in res.get("memory_samples") or []:
            if b >= 0.95 * base:
                est = t
                break
    return {o["agent"]: est + o["t0"] - first for o in ags}, \
        "aligned on the baselines (JSON without samples_t0)"


def _agent_of(rel):
    """'a3-sh/call-12' -> ('a3', 'sh')."""
    head = (rel or "").strip("/").split("/", 1)[0]
    if "-" in head:
        name, kind = head.rsplit("-", 1)
        return name, kind
    return head, ""


def events_of(res, plan_baselines=None):
    """The timed events of one pass, from its call records, its userspace
    killer's kills and its per-agent samples; times in s from the start of
    the pass's samples. Each event: kind (one of KINDS), t, agent, and by
    kind: call, label; t_end (hold, freeze, throttle: a span); by (kill:
    oom, oom-own, ladder, oomd, daemon); waited_ms, held_by (hold);
    throttled_ms, frozen_ms (freeze, throttle); attempts, killed, lost_ms
    (retry); how (interpreter: oomd, seen (its memory dropped), at-end
    (found by the final check))."""
    offs, _ = agent_offsets(res, plan_baselines)
    ev = []
    kills = []
    for o in res.get("agents", []):
        name = o.get("agent")
        off = offs.get(name)
        if off is None:
            continue
        for r in o.get("calls", []):
            if r.get("start_s") is None or r.get("wall_s") is None:
                continue
            req = off + r["start_s"]
            end = req + r["wall_s"]
            q = r.get("queued_s")
            start = req + q if q is not None else req
            base = {"agent": name, "call": r.get("idx"), "label": r.get("label")}
            adm = r.get("admission") or {}
            if adm or (q is not None and q > 0.05) or r.get("started") is False:
                ev.append(dict(base, kind="hold", t=round(req, 3),
                               t_end=round(start if r.get("started") is not False else end, 3),
                               waited_ms=adm.get("waited_ms", int((q or 0) * 1000)),
                               held_by=adm.get("held_by")))
            c = r.get("containment") or {}
            if c.get("frozen") or c.get("throttled"):
                ev.append(dict(base, kind="freeze" if c.get("frozen") else "throttle",
                               t=round(start, 3), t_end=round(end, 3),
                               throttled_ms=c.get("throttled_ms"), frozen_ms=c.get("frozen_ms"),
                               priority=c.get("priority")))
            rt = r.get("retry") or {}
            if rt:
                lost = (rt.get("lost_ms") or 0) / 1000.0
                ev.append(dict(base, kind="retry", t=round(min(end, start + lost), 3),
                               attempts=rt.get("attempts"), killed=rt.get("killed"),
                               lost_ms=rt.get("lost_ms")))
            cat = r.get("category")
            if cat in KILLED:
                by = {"killed_own": "oom-own", "killed_pressure": "oom"}.get(cat)
                if by is None:
                    by = "ladder" if (r.get("stopped_by") == "memory pressure"
                                      or c.get("killed")) else "daemon"
                e = dict(base, kind="kill", t=round(end, 3), by=by)
                ev.append(e)
                kills.append(e)
            elif cat == "deadline":
                ev.append(dict(base, kind="stuck", t=round(end, 3)))
    # the d passes' userspace killer: [t, cgroup under the tenant, bytes, pressure]
    interp_by_oomd = {}
    for k in res.get("oomd_kills") or []:
        t, rel = float(k[0]), k[1]
        name, kind = _agent_of(rel)
        if kind == "py":
            interp_by_oomd.setdefault(name, t)
            continue
        match = [e for e in kills if e["agent"] == name and e["by"] in ("daemon", "oom")
                 and -1.0 <= e["t"] - t <= 5.0]
        if match:
            match[0].update(by="oomd", t=round(t, 3))
        else:
            e = {"kind": "kill", "t": round(t, 3), "agent": name, "call": None,
                 "label": rel, "by": "oomd"}
            ev.append(e)
            kills.append(e)
    # interpreters lost: when (oomd), or when its session's memory fell, or
    # when the final check found it
    am = res.get("agent_memory") or {}
    cols = am.get("columns") or []
    rows = am.get("rows") or []
    for o in res.get("agents", []):
        if o.get("interpreter") != "died":
            continue
        name = o.get("agent")
        t, how = interp_by_oomd.get(name), "oomd"
        if t is None and f"{name}-py" in cols:
            i = cols.index(f"{name}-py")
            top = max((r[i] for r in rows), default=0)
            seen_top = False
            for r in rows:
                if r[i] >= 0.9 * top:
                    seen_top = True
                elif seen_top and r[i] < 0.5 * top:
                    t, how = r[0], "seen"
                    break
        if t is None and offs.get(name) is not None:
            end = o.get("calls_done_s") or o.get("makespan_s") or 0.0
            t, how = offs[name] + end, "at-end"
        if t is not None:
            ev.append({"kind": "interpreter", "t": round(t, 3), "agent": name, "how": how})
    ev.sort(key=lambda e: (e["t"], e["kind"]))
    return ev


def count(events):
    out = {k: 0 for k in KINDS}
    for e in events:
        out[e["kind"]] = out.get(e["kind"], 0) + 1
    return out


def shared_modes(js):
    """The passes with agents run together (alone and skipped ones excluded),
    in the JSON's order."""
    return [m for m, r in (js.get("results") or {}).items()
            if m != "alone" and isinstance(r, dict) and "skipped" not in r and r.get("agents")]


# ------------------------------------------------------------------ drawing

def import_pyplot():
    """matplotlib.pyplot on the Agg backend. Debian's python3-matplotlib is
    installed for /usr/bin/python3; another python3 of the same version
    (pyenv, a venv) can use it too: its dist-packages are tried last."""
    try:
        import matplotlib
    except ImportError:
        dp = "/usr/lib/python3/dist-packages"
        if not os.path.isdir(os.path.join(dp, "matplotlib")) or dp in sys.path:
            raise PlotError("matplotlib is missing: apt-get install python3-matplotlib "
                            "(make bench-replay and bench-replay-grid install it)")
        sys.path.append(dp)
        try:
            import matplotlib
        except Exception as e:
            sys.path.remove(dp)
            raise PlotError(f"matplotlib of {dp} does not import in {sys.executable} "
                            f"({type(e).__name__}: {e}); run the plot with /usr/bin/python3")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


SHADES = {"high": "Reds", "normal": "Blues", "low": "Greens"}
KILL_STYLE = {"oom": ("x", "red", "kill: kernel OOM killer at B"),
              "oom-own": ("x", "darkred", "kill: kernel OOM killer at its own limit"),
              "ladder": ("X", "purple", "kill: agentcg's ladder"),
              "oomd": ("v", "black", "kill: userspace killer (oomd-like)"),
              "daemon": ("X", "dimgray", "kill: other (daemon, signal)")}


def agent_colors(agents):
    """{agent: colour}: a hue per priority, a shade per agent within it."""
    import matplotlib
    by = {}
    for name, prio in agents:
        by.setdefault(prio, []).append(name)
    out = {}
    for prio, names in by.items():
        cmap = matplotlib.colormaps[SHADES.get(prio, "Greys")]
        for k, name in enumerate(names):
            out[name] = cmap(0.4 + 0.45 * k / max(1, len(names) - 1) if len(names) > 1 else 0.6)
    return out


def short_trace(name):
    """all_images_haiku__dask__dask-11628__attempt_1 -> dask-11628"""
    parts = name.split("__")
    return (parts[2] if len(parts) >= 4 else name)[:28]


def title_of(mode, res):
    g = ((res.get("summary") or {}).get("all")) or {}
    t = f"({mode})"
    if g:
        t += (f" kills {g.get('killed', 0)} calls + {g.get('sessions_killed', 0)} interp.; "
              f"complete {g.get('completed', 0)}/{g.get('traces', 0)}")
    return t


def draw_pass(ax, axe, mode, res, agents, colors, budget, plan_baselines):
    """One pass: memory on ax, the event strip on axe. Returns the counts of
    the markers drawn per kind (and "stacked": how many agents' memory is
    stacked, 0 when only the tenant's was sampled), the legend entries used
    and the highest memory value drawn (MiB)."""
    counts = {k: 0 for k in KINDS}
    counts["stacked"] = 0
    used = {}
    am = res.get("agent_memory") or {}
    cols, rows = am.get("columns") or [], am.get("rows") or []
    names = [n for n, _ in agents]
    top = 0.0
    if rows and all(f"{n}-py" in cols and f"{n}-sh" in cols for n in names):
        t = [r[0] for r in rows]
        ys = []
        for n in names:
            ip, ish = cols.index(f"{n}-py"), cols.index(f"{n}-sh")
            ys.append([r[ip] + r[ish] for r in rows])
        ax.stackplot(t, ys, colors=[colors[n] for n in names], linewidth=0)
        top = max((sum(v) for v in zip(*ys)), default=0.0)
        per_agent = True
        counts["stacked"] = len(ys)
    else:
        per_agent = False
    ms = res.get("memory_samples") or []
    if ms:
        tt = [s[0] for s in ms]
        mm = [s[1] / MIB for s in ms]
        if per_agent:
            h, = ax.plot(tt, mm, color="black", linewidth=0.6)
            used.setdefault("tenant memory.current", h)
        else:
            h = ax.fill_between(tt, mm, color="silver", linewidth=0)
            used.setdefault("tenant memory.current (no per-agent samples)", h)
        top = max(top, max(mm, default=0.0))
    if budget:
        h = ax.axhline(budget / MIB, color="red", linestyle="--", linewidth=1)
        used.setdefault(f"B = {budget / MIB:.0f} MiB", h)
        top = max(top, budget / MIB)
    ax.set_title(title_of(mode, res), fontsize=8)

    row = {n: i for i, n in enumerate(names)}
    events = res.get("events")
    if events is None:
        events = events_of(res, plan_baselines)
    for e in events:
        y = row.get(e.get("agent"))
        if y is None:
            continue
        k = e["kind"]
        if k in ("hold", "freeze", "throttle"):
            color, lab, hgt = {"hold": ("dimgray", "held at admission", 0.3),
                               "freeze": ("deepskyblue", "frozen by the ladder (call's run)", 0.6),
                               "throttle": ("orange", "throttled by the ladder (call's run)",
                                            0.6)}[k]
            w = max(e["t_end"] - e["t"], 0.05)
            h = axe.broken_barh([(e["t"], w)], (y - hgt / 2, hgt), color=color, linewidth=0)
            used.setdefault(lab, h)
        elif k == "kill":
            mk, color, lab = KILL_STYLE.get(e.get("by"), KILL_STYLE["daemon"])
            h, = axe.plot([e["t"]], [y], marker=mk, color=color, linestyle="none", markersize=7)
            used.setdefault(lab, h)
            ax.axvline(e["t"], color=color, linestyle=":", linewidth=0.8)
        elif k == "retry":
            h, = axe.plot([e["t"]], [y], marker="o", markerfacecolor="none", color="purple",
                          linestyle="none", markersize=6)
            used.setdefault("retried after a kill", h)
        elif k == "interpreter":
            h, = axe.plot([e["t"]], [y], marker="*", color="crimson", linestyle="none",
                          markersize=10)
            used.setdefault("interpreter lost" + (" (found at the end)"
                                                  if e.get("how") == "at-end" else ""), h)
            ax.axvline(e["t"], color="crimson", linestyle=":", linewidth=0.8)
        elif k == "stuck":
            h, = axe.plot([e["t"]], [y], marker="|", color="gray", linestyle="none",
                          markersize=9)
            used.setdefault("stopped by the bench (stuck)", h)
        counts[k] += 1
    axe.set_yticks(range(len(names)))
    axe.set_yticklabels(names, fontsize=6)
    for lab, n in zip(axe.get_yticklabels(), names):
        lab.set_color(colors[n])
        lab.set_fontweight("bold")
    axe.set_ylim(len(names) - 0.5, -0.5)
    axe.set_xlabel("s since the pass started", fontsize=7)
    axe.grid(axis="y", color="0.9", linewidth=0.5)
    for a in (ax, axe):
        a.tick_params(labelsize=6)
    return counts, used, top


def draw(js, out_png, modes=None, title=None):
    """The figure of one replay JSON (a dict): one column per shared pass
    (at most MAX_COLS a row). Returns {pass: {kind: markers drawn, and
    "stacked": agents stacked}}."""
    plt = import_pyplot()
    modes = [m for m in (modes or shared_modes(js)) if m in shared_modes(js)]
    if not modes:
        raise PlotError("no shared pass (a, c, d60, ...) with agents in this result")
    R = js["results"]
    plan = js.get("plan") or []
    prio = {p["agent"]: p.get("priority", "?") for p in plan}
    traces = {p["agent"]: p.get("trace", "") for p in plan}
    names = []
    for m in modes:
        for o in R[m].get("agents", []):
            if o.get("agent") not in names:
                names.append(o["agent"])
                prio.setdefault(o["agent"], o.get("priority", "?"))
                traces.setdefault(o["agent"], o.get("trace", ""))
    agents = [(n, prio[n]) for n in names]
    colors = agent_colors(agents)
    budget = js.get("budget")
    baselines = [p.get("baseline_bytes") or 0 for p in plan]
    ncol = min(MAX_COLS, len(modes))
    nrow = (len(modes) + ncol - 1) // ncol
    strip = 0.35 + 0.14 * len(agents)          # inches: one line per agent
    lcol = max(2, min(5, ncol + 1))
    n_leg = len(agents) + 9                     # legend rows: a guess, fixed below
    head, foot = 0.75, 0.25 + 0.16 * ((n_leg + lcol - 1) // lcol)
    row_h = 3.2 + strip + 0.55
    height = head + nrow * row_h + foot
    fig = plt.figure(figsize=(3.7 * ncol + 1.0, height))
    ratios = []
    for _ in range(nrow):
        ratios += [3.2, strip, 0.55]           # memory, events, room for the x labels
    gs = fig.add_gridspec(3 * nrow, ncol, height_ratios=ratios, hspace=0.0, wspace=0.12,
                          top=1 - head / height, bottom=foot / height, left=0.9 / (3.7 * ncol
                                                                                 + 1.0),
                          right=0.99)
    counts, used = {}, {}
    ax0, top = None, 0.0
    for j, m in enumerate(modes):
        r, col = divmod(j, ncol)
        ax = fig.add_subplot(gs[3 * r, col], sharey=ax0)
        ax0 = ax0 or ax
        axe = fig.add_subplot(gs[3 * r + 1, col], sharex=ax)
        plt.setp(ax.get_xticklabels(), visible=False)
        if col:
            plt.setp(ax.get_yticklabels(), visible=False)
        else:
            ax.set_ylabel("MiB", fontsize=7)
        res = dict(R[m])
        c, u, t = draw_pass(ax, axe, m, res, agents, colors, budget, baselines)
        counts[m] = c
        top = max(top, t)
        for k, h in u.items():
            used.setdefault(k, h)
    ax0.set_ylim(0, top * 1.05 if top else 1)     # shared by every memory panel
    # one time scale for all passes: a pass that took longer looks longer
    right = max(a.get_xlim()[1] for a in fig.axes)
    for a in fig.axes:
        a.set_xlim(-0.02 * right, right)
    from matplotlib.patches import Patch
    handles = [Patch(color=colors[n]) for n, _ in agents] + list(used.values())
    labels = [f"{n} {p}: {short_trace(traces.get(n, ''))}" for n, p in agents] + list(used)
    fig.legend(handles, labels, loc="lower center", ncol=lcol, fontsize=6, frameon=False)
    if title is None:
        a = js.get("args") or {}
        title = (f"{len(agents)} agents, B = {budget / MIB:.0f} MiB" if budget else
                 f"{len(agents)} agents") + (f", speed {a['speed']:g}x" if a.get("speed") else "")
    how = {agent_offsets(R[m], baselines)[1] for m in modes}
    if any(h != "exact" for h in how):      # said whatever the title
        title += "; events " + "; ".join(sorted(h for h in how if h != "exact"))
    fig.suptitle(title + "\nstacked: each agent's sessions (-py + -sh); strip: each agent's "
                 "events", fontsize=8)
    d = os.path.dirname(os.path.abspath(out_png))
    os.makedirs(d, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("json", help="a replay.py --json result")
    ap.add_argument("png", help="the figure to write")
    ap.add_argument("--modes", default=None, help="passes to draw, comma-separated (default: "
                                                  "every shared pass that ran)")
    ap.add_argument("--title", default=None)
    a = ap.parse_args(argv)
    with open(a.json) as f:
        js = json.load(f)
    modes = [m.strip() for m in a.modes.split(",")] if a.modes else None
    try:
        counts = draw(js, a.png, modes, a.title)
    except PlotError as e:
        sys.exit(f"replay_plot: {e}")
    for m, c in counts.items():
        ev = ", ".join(f"{k} {c[k]}" for k in KINDS if c.get(k))
        print(f"replay_plot: ({m}) {ev or 'no events'}; "
              + (f"{c['stacked']} agents stacked" if c.get("stacked")
                 else "tenant's memory only (no per-agent samples)"))
    print(f"replay_plot: wrote {a.png}")
    return 0


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    sys.exit(main())
