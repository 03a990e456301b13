// SPDX-License-Identifier: GPL-2.0
/* Graduated containment under memory pressure: throttle -> freeze -> kill,
 * by priority, and back, where freezing frees memory (swap is on, or
 * containment.freeze is true). Without swap a frozen or throttled call
 * frees nothing: it only holds its memory across the others' peaks, and
 * the daemon's kill then comes before the kernel would have needed one.
 * So without swap ("hold" mode) the ladder touches no running call:
 * admission holds new low-priority calls back from the throttle band and
 * normal ones from the freeze band (for containment.hold_max at most; one
 * held call starts per step once room returns), and the kernel's OOM
 * killer, steered by the classes' oom_score_adj, picks a victim only when
 * it has to. The rest of this comment is the freeze mode.
 *
 * Each step samples the domains (pressure.c) and gives every running call
 * the hold its class and the worst band of its domains (the root, its
 * tenant) call for:
 *
 *            calm, hold   throttle    freeze      kill
 *   low      -            throttled   frozen      frozen, killed first
 *   normal   -            -           throttled   frozen, killed next
 *   high     never contained
 *
 * Escalations happen at once, for every call that needs one. The kill
 * step, at most one call per step, is due only where charges hit the
 * limit of a domain in the kill band (kill_due): the
 * contained call that gives the most memory back (a low-priority call's
 * counting double); a cell is interrupted instead (its
 * interpreter and the session's state live on). Letting go is one step
 * down for one call per step (normal before low, oldest first), by the
 * band of usage + (throttle_at - thaw_below): that margin keeps a thawed
 * call from being frozen again at once, and a thawed call's growth is
 * seen before the next one goes.
 * High-priority calls are never touched: with memory.low and the lowest
 * oom_score_adj they are also the kernel's last choice.
 *
 * Throttle: memory.high at what the call has now (v2: it can grow only by
 * reclaiming its own memory, the kernel slows its allocations) and a CPU
 * quota of THROTTLE_CPU_US per period (both backends; on v1 the only
 * knob). Freeze: cgroup.freeze. Kill: cgroup.kill.
 *
 * Push out: a call frozen while a swap device is active (whether freeze
 * is "auto" or true; frozen without swap, it keeps its memory) is asked
 * to give up about all it had when frozen, through v2 memory.reclaim, so
 * its anonymous pages go to swap (zram, zswap's backing device, a disk)
 * and its domains' usage falls. The write returns only when the kernel is
 * done, so it is made from the main loop a chunk at a time (the chunk
 * adapts so a write takes ~RECLAIM_WRITE_NS; RECLAIM_TICK_NS of writes
 * every RECLAIM_EVERY_NS at most) until all is asked for, the kernel
 * finds no more (EAGAIN), or the call is let go. What each write got is
 * memory.current before minus after; it goes into the verdict
 * (containment.reclaimed, reclaim_ms), a log line per freeze and
 * daemon.info. While frozen, those bytes count as the call's in its
 * release band: they come back as it runs, and letting it go before they
 * fit would only freeze it and push them out again. The hybrid backend
 * has no memory.reclaim (v1): there a frozen call keeps its memory. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "agentcg/units.h"
#include "agentcg/util.h"
#include <stdlib.h>

#include "call.h"
#include "contain.h"
#include "events.h"
#include "metrics.h"
#include "pressure.h"

#define THROTTLE_CPU_US 10000ULL /* 10% of a CPU */
/* Contained calls hold their memory: when nothing changed for `stall`
 * (no call contained, let go, killed or ended, and the root's usage did
 * not grow by 1% of its budget: a throttled call still moving is not
 * stuck), the oldest contained call
 * of the highest class is let go entirely for `free`, so work drains
 * instead of waiting for room that only it could make. */
#define SWAP_RECHECK_NS (10ULL * 1000000000ULL)
/* Pushing a frozen call out to swap: memory.reclaim returns only when it
 * is done, so it is asked for a chunk at a time, from the main loop (never
 * inside a kick), sized so one write takes about RECLAIM_WRITE_NS. Each
 * call has its own chunk (its pages, not another's, decide how fast they
 * go): it starts at MIN at each freeze, doubles after a fast write,
 * halves after a slow one, within [MIN, MAX]. At most RECLAIM_TICK_NS of
 * writes (and one write over) every RECLAIM_EVERY_NS; and a call one of
 * whose writes took RECLAIM_SLOW_NS is pushed no further (pages that do
 * not compress, a slow device): a call cannot make the loop wait long,
 * however its memory was made. */
#define RECLAIM_WRITE_NS (10ULL * 1000000)
#define RECLAIM_TICK_NS (20ULL * 1000000)
#define RECLAIM_EVERY_NS (50ULL * 1000000)
#define RECLAIM_SLOW_NS (500ULL * 1000000)
#define RECLAIM_CHUNK_MIN (1ULL << 20)
#define RECLAIM_CHUNK_MAX (16ULL << 20)

/* The ladder's state (ctx->contain). */
struct acd_contain {
	uint64_t next_ns;	  /* next ladder step; 0 none */
	uint64_t last_release_ns;
	uint64_t last_kill_ns;
	uint64_t last_change_ns;  /* last step that changed a call's hold */
	uint64_t change_usage;	  /* the root's usage then */
	bool admit;		  /* look at waiting calls from the main loop */
	bool freeze;		  /* the ladder freezes (swap, or freeze: true) */
	bool swap;		  /* a swap device is active (/proc/swaps) */
	uint64_t swap_checked_ns; /* when /proc/swaps was last read */
	int contained;		  /* calls throttled or frozen now */
	uint64_t counts[3];	  /* throttles, freezes, kills so far */
	/* pushing frozen calls out to swap */
	bool reclaim_off;	  /* the backend has no memory.reclaim */
	bool reclaim_pending;	  /* a frozen call has reclaim.left */
	uint64_t reclaim_next_ns; /* next round of writes */
	uint64_t reclaimed, reclaim_ns, reclaim_longest_ns, reclaim_writes; /* so far */
};

/* A swap device is active: /proc/swaps lists one under its header.
 * (zswap compresses in front of a swap device, so it needs one too.) */
static bool swap_active(void)
{
	FILE *f = fopen("/proc/swaps", "re");
	char line[256];
	int n = 0;

	if (!f)
		return false;
	while (n < 2 && fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n >= 2;
}

/* Whether the ladder freezes running calls now: with freeze "auto", only
 * while swap is on (a frozen call's pages can go there; without swap a
 * frozen call frees nothing and only holds its memory across the others'
 * peaks, so the ladder holds new calls back at admission instead). */
static void resolve_freeze(struct acd_ctx *ctx, uint64_t now)
{
	struct acd_contain *k = ctx->contain;
	bool was = k->freeze, swap_was = k->swap;

	if (k->swap_checked_ns && now < k->swap_checked_ns + SWAP_RECHECK_NS)
		return;
	k->swap_checked_ns = now;
	k->swap = swap_active();
	if (ctx->cfg.contain.freeze != AC_FREEZE_AUTO) {
		k->freeze = ctx->cfg.contain.freeze == AC_FREEZE_ON;
		if (k->freeze && (k->swap != swap_was || now == 0))
			ac_info("containment: freeze is on; %s", k->swap ? "swap is on: frozen calls "
				"are pushed out to it" : "no swap: frozen calls keep their memory");
		return;
	}
	k->freeze = k->swap;
	if (k->freeze != was || now == 0)
		ac_info("containment: %s", k->freeze ? "swap is on: low and normal calls may be "
			"throttled and frozen under memory pressure" : "no swap: calls are held back "
			"at admission under memory pressure, never frozen for it; the kernel's OOM "
			"killer chooses by class");
}

bool acd_contain_freezes(struct acd_ctx *ctx)
{
	return ctx->contain->freeze;
}

int acd_contain_init(struct acd_ctx *ctx)
{
	ctx->contain = calloc(1, sizeof(*ctx->contain));
	if (!ctx->contain)
		return -ENOMEM;
	if (acd_contain_enabled(ctx))
		resolve_freeze(ctx, 0);
	return 0;
}

void acd_contain_free(struct acd_ctx *ctx)
{
	free(ctx->contain);
	ctx->contain = NULL;
}

json_t *acd_contain_info(struct acd_ctx *ctx)
{
	const struct acd_contain *k = ctx->contain;

	return json_pack("{s:s, s:b, s:i, s:{s:I, s:I, s:I}, s:{s:b, s:I, s:I, s:I, s:I}}",
			 "mode", k->freeze ? "freeze" : "hold", "swap", k->swap,
			 "contained", k->contained, "steps",
			 "throttled", (json_int_t)k->counts[0], "frozen", (json_int_t)k->counts[1],
			 "killed", (json_int_t)k->counts[2], "reclaim", "supported", !k->reclaim_off,
			 "bytes", (json_int_t)k->reclaimed, "writes", (json_int_t)k->reclaim_writes,
			 "ms", (json_int_t)(k->reclaim_ns / 1000000), "longest_us",
			 (json_int_t)(k->reclaim_longest_ns / 1000));
}

static bool containable(const struct acd_call *call)
{
	return call->state == CALL_RUNNING && !call->replied && !call->end.frozen &&
	       call->end.stop == AC_STOP_NONE;
}

/* The domain of the call (the root, or its tenant) whose band is worst. */
static const struct acd_domain *call_domain(struct acd_ctx *ctx, const struct acd_call *call)
{
	const struct acd_domain *t = call->session->tenant->dom, *r = &ctx->pressure->root;

	if (!t)
		return r;
	return t->band > r->band ? t : r;
}

/* The worst release band of the call's domains, in *dom (may be NULL)
 * the domain it is: for a frozen call whose pages went to swap, with
 * those pages counted back in (they return as it runs; letting it go
 * before they fit would only freeze it and push them out again). */
static enum acd_band release_band(struct acd_ctx *ctx, const struct acd_call *call,
				  const struct acd_domain **dom)
{
	const struct acd_domain *t = call->session->tenant->dom, *r = &ctx->pressure->root;
	uint64_t back = call->contain.level == CONTAIN_FROZEN ? call->contain.reclaim.got : 0;
	enum acd_band br = acd_pressure_release_band(ctx, r, back), bt;

	if (dom)
		*dom = r;
	if (!t)
		return br;
	bt = acd_pressure_release_band(ctx, t, back);
	if (bt > br && dom)
		*dom = t;
	return bt > br ? bt : br;
}

/* What a class gets in a band (nothing while the ladder does not freeze:
 * a throttled call frees nothing either, it only holds its memory
 * longer). */
static enum acd_contain_level wanted(const struct acd_ctx *ctx, enum ac_priority prio,
				     enum acd_band band)
{
	static const enum acd_contain_level table[3][5] = {
		/*               calm          hold          throttle           freeze             kill */
		[AC_PRIO_LOW] = { CONTAIN_NONE, CONTAIN_NONE, CONTAIN_THROTTLED, CONTAIN_FROZEN, CONTAIN_FROZEN },
		[AC_PRIO_NORMAL] = { CONTAIN_NONE, CONTAIN_NONE, CONTAIN_NONE, CONTAIN_THROTTLED,
				     CONTAIN_FROZEN },
		[AC_PRIO_HIGH] = { CONTAIN_NONE, CONTAIN_NONE, CONTAIN_NONE, CONTAIN_NONE,
				   CONTAIN_NONE },
	};

	if (!ctx->contain->freeze)
		return CONTAIN_NONE;
	return table[prio][band];
}

/* The kill step is due in a domain of the kill band only where the
 * kernel would otherwise have to act: charges hit the limit since the
 * last step (memory.events max / v1 failcnt: it is reclaiming for them,
 * and would OOM-kill next), or the usage is within 1% of the budget (the
 * BPF mark and a v1 threshold there wake the daemon). A domain that sits
 * near full with everything below high priority frozen needs no kill. */
static bool kill_due(const struct acd_ctx *ctx, const struct acd_domain *d)
{
	if (d->band != BAND_KILL)
		return false;
	return d->limit_hits > d->limit_hits_seen || d->usage >= d->budget - d->budget / 100;
}

static void changed(struct acd_ctx *ctx, uint64_t now)
{
	ctx->contain->last_change_ns = now;
	ctx->contain->change_usage = ctx->pressure->root.usage;
}

static bool stalled(const struct acd_ctx *ctx, uint64_t now)
{
	return ctx->contain->contained && now >= ctx->contain->last_change_ns + ctx->cfg.contain.stall_ns &&
	       now >= ctx->contain->last_release_ns + ctx->cfg.contain.stall_ns &&
	       ctx->pressure->root.usage < ctx->contain->change_usage + ctx->pressure->root.budget / 100;
}

static void add_time(struct acd_call *call, uint64_t now)
{
	struct ac_contain_report *r = &call->end.contain;
	uint64_t d = now > call->contain.since_ns ? now - call->contain.since_ns : 0;

	if (call->contain.level == CONTAIN_THROTTLED)
		r->throttled_ns += d;
	else if (call->contain.level == CONTAIN_FROZEN)
		r->frozen_ns += d;
	call->contain.since_ns = now;
}

static void note_domain(struct acd_call *call, const struct acd_domain *d)
{
	struct ac_contain_report *r = &call->end.contain;

	ac_strlcpy(r->domain, d->path, sizeof(r->domain));
	r->usage = d->usage;
	r->budget = d->budget;
	r->host = d->host;
	r->priority = call->intent.priority;
}

static int throttle(struct acd_ctx *ctx, struct acd_call *call)
{
	char v[64];
	int r = 0;

	if (ac_cg_has_memory_high(&ctx->cg)) {
		uint64_t cur = ac_cg_memory_current(&ctx->cg, &call->node);

		snprintf(v, sizeof(v), "%" PRIu64, cur > AC_MEMORY_MIN ? cur : (uint64_t)AC_MEMORY_MIN);
		if (call->limits.memory_high == AC_UNLIMITED || cur < call->limits.memory_high)
			r = ac_cg_write_file(&ctx->cg, &call->node, "memory.high", v);
	}
	snprintf(v, sizeof(v), "%llu %llu", (unsigned long long)THROTTLE_CPU_US,
		 (unsigned long long)AC_CPU_PERIOD_US);
	if (r == 0 && (call->limits.cpu_quota_us == AC_UNLIMITED ||
		       call->limits.cpu_quota_us * AC_CPU_PERIOD_US >
			       THROTTLE_CPU_US * call->limits.cpu_period_us))
		r = ac_cg_write_file(&ctx->cg, &call->node, "cpu.max", v);
	call->contain.throttle_written = true;
	return r;
}

/* Back to the call's own limits. */
static int unthrottle(struct acd_ctx *ctx, struct acd_call *call)
{
	if (!call->contain.throttle_written)
		return 0;
	call->contain.throttle_written = false;
	return ac_cg_apply_limits(&ctx->cg, &call->node, &call->limits, false);
}

#define FOR_EACH_CALL(ctx, call)                                                   \
	for (struct acd_tenant *_t = (ctx)->tenants; _t; _t = _t->next)            \
		for (struct acd_session *_s = _t->sessions; _s; _s = _s->next)     \
			for (struct acd_call *call = _s->calls; call; call = call->next)

/* ---- pushing frozen calls out to swap ---------------------------------- */

/* A call was frozen: with swap on, ask for about all it has, a chunk at
 * a time from the main loop (reclaim_tick). */
static void reclaim_start(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_contain *k = ctx->contain;
	uint64_t cur;

	if (!k->swap || k->reclaim_off)
		return;
	cur = ac_cg_memory_current(&ctx->cg, &call->node);
	call->contain.reclaim = (struct acd_reclaim){ .left = cur, .before = cur, .after = cur,
						      .chunk = RECLAIM_CHUNK_MIN };
	if (cur)
		k->reclaim_pending = true;
}

static void reclaim_log(const struct acd_call *call, const char *how)
{
	const struct acd_reclaim *rc = &call->contain.reclaim;
	char got[32], before[32], after[32];

	if (!rc->writes)
		return;
	ac_format_size(rc->got, got, sizeof(got));
	ac_format_size(rc->before, before, sizeof(before));
	ac_format_size(rc->after, after, sizeof(after));
	ac_info("containment: pushed %s of frozen %s out to swap (memory.current %s -> %s; "
		"%" PRIu32 " writes of memory.reclaim, %" PRIu64 " ms, longest %" PRIu64 " us; %s)",
		got, call->path, before, after, rc->writes, rc->ns / 1000000, rc->longest_ns / 1000,
		how);
}

/* The call is thawed or ends: its push stops where it is. */
static void reclaim_stop(struct acd_call *call)
{
	if (call->contain.reclaim.left)
		reclaim_log(call, "cut short: no longer frozen");
	call->contain.reclaim = (struct acd_reclaim){ 0 };
}

/* One write of memory.reclaim for a frozen call: what it got is what
 * memory.current lost (the kernel may get less than asked: EAGAIN, then
 * the push is over). Adapts the chunk to the write's time. Returns the
 * time the write took. */
static uint64_t reclaim_once(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_contain *k = ctx->contain;
	struct acd_reclaim *rc = &call->contain.reclaim;
	uint64_t ask = rc->left < rc->chunk ? rc->left : rc->chunk;
	/* frozen, the call does not grow: the last write's "after" is this one's "before" */
	uint64_t before = rc->writes ? rc->after : rc->before, t0 = ac_now_ns(), d, after;
	int r = ac_cg_reclaim(&ctx->cg, &call->node, ask);

	d = ac_now_ns() - t0;
	if (r == -EOPNOTSUPP) {
		/* No file: the kernel has none (the first write ever), or this
		 * call's cgroup is going: then only its push ends. */
		*rc = (struct acd_reclaim){ 0 };
		if (!k->reclaim_writes) {
			k->reclaim_off = true;
			ac_info("containment: no memory.reclaim here (cgroup v1 memory, or a kernel "
				"before 5.19): frozen calls keep their memory");
		}
		return d;
	}
	after = ac_cg_memory_current(&ctx->cg, &call->node);
	rc->writes++;
	rc->ns += d;
	rc->after = after;
	if (d > rc->longest_ns)
		rc->longest_ns = d;
	if (before > after) {
		rc->got += before - after;
		call->end.contain.reclaimed += before - after;
		k->reclaimed += before - after;
	}
	call->end.contain.reclaim_ns += d;
	k->reclaim_ns += d;
	k->reclaim_writes++;
	if (d > k->reclaim_longest_ns)
		k->reclaim_longest_ns = d;
	if (r == 0 && d < RECLAIM_WRITE_NS / 2 && ask == rc->chunk && rc->chunk < RECLAIM_CHUNK_MAX)
		rc->chunk *= 2;
	else if (d > 2 * RECLAIM_WRITE_NS && rc->chunk > RECLAIM_CHUNK_MIN)
		rc->chunk /= 2;
	if (r == -EINTR && d < RECLAIM_SLOW_NS)
		return d; /* again next round */
	if (r < 0 && r != -EAGAIN && r != -EINTR)
		ac_log_errno(r, "containment: memory.reclaim of %s", call->path);
	rc->left = r == 0 && rc->left > ask && d < RECLAIM_SLOW_NS ? rc->left - ask : 0;
	if (!rc->left)
		reclaim_log(call, d >= RECLAIM_SLOW_NS ? "stopped: a write took too long" :
			    r == 0 ? "all it had" : r == -EAGAIN ? "the kernel found no more to take" :
			    "stopped by an error");
	return d;
}

/* A round of writes, from the main loop: RECLAIM_TICK_NS at most (and
 * one write over), the oldest frozen calls first in tree order. */
static void reclaim_tick(struct acd_ctx *ctx, uint64_t now)
{
	struct acd_contain *k = ctx->contain;
	uint64_t spent = 0;
	bool pending = false;

	FOR_EACH_CALL(ctx, call) {
		if (call->state != CALL_RUNNING || call->contain.level != CONTAIN_FROZEN)
			continue;
		while (call->contain.reclaim.left && spent < RECLAIM_TICK_NS && !k->reclaim_off)
			spent += reclaim_once(ctx, call);
		if (call->contain.reclaim.left)
			pending = true;
	}
	k->reclaim_pending = pending && !k->reclaim_off;
	k->reclaim_next_ns = now + RECLAIM_EVERY_NS;
}

static const char *level_name(enum acd_contain_level l)
{
	return l == CONTAIN_FROZEN ? "frozen" : l == CONTAIN_THROTTLED ? "throttled" : "released";
}

/* A step in d's counters (the domains are the pressure module's; the
 * ladder only counts what it did there). */
static void count_step(const struct acd_domain *d, enum acd_contain_step step)
{
	((struct acd_domain *)d)->steps[step]++;
}

/* Moves the call to level `to`, one knob at a time; logs, counts, events. */
static void set_level(struct acd_ctx *ctx, struct acd_call *call, enum acd_contain_level to,
		      const struct acd_domain *d, uint64_t now)
{
	enum acd_contain_level from = call->contain.level;
	int r = 0;

	if (to == from)
		return;
	add_time(call, now);
	if (to > from)
		note_domain(call, d);
	if (from == CONTAIN_FROZEN)
		r = ac_cg_freeze(&ctx->cg, &call->node, false);
	if (r == 0 && to >= CONTAIN_THROTTLED && !call->contain.throttle_written)
		r = throttle(ctx, call);
	if (r == 0 && to == CONTAIN_FROZEN)
		r = ac_cg_freeze(&ctx->cg, &call->node, true);
	if (r == 0 && to == CONTAIN_NONE)
		r = unthrottle(ctx, call);
	if (r < 0) {
		ac_log_errno(r, "containment: %s -> %s of %s", level_name(from), level_name(to),
			     call->path);
		return;
	}
	if (from == CONTAIN_NONE)
		ctx->contain->contained++;
	if (to == CONTAIN_NONE)
		ctx->contain->contained--;
	if (to == CONTAIN_THROTTLED && from == CONTAIN_NONE) {
		call->end.contain.throttled++;
		ctx->contain->counts[0]++;
		count_step(d, ACD_STEP_THROTTLED);
	}
	if (to < from)
		count_step(d, ACD_STEP_RELEASED);
	if (from == CONTAIN_FROZEN)
		reclaim_stop(call);
	if (to == CONTAIN_FROZEN) {
		call->end.contain.frozen++;
		ctx->contain->counts[1]++;
		count_step(d, ACD_STEP_FROZEN);
		reclaim_start(ctx, call);
	}
	call->contain.level = to;
	changed(ctx, now);
	acd_event(ctx, to > from ? "contain" : "release", call->path,
		  json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "step", level_name(to), "priority",
			    ac_priority_name(call->intent.priority), "domain",
			    d->host ? "host" : d->path, "band",
			    d->band == BAND_KILL ? "kill" : d->band == BAND_FREEZE ? "freeze" :
			    d->band == BAND_THROTTLE ? "throttle" : d->band == BAND_HOLD ? "hold" :
			    "calm", "usage", (json_int_t)d->usage, "budget", (json_int_t)d->budget));
	ac_debug("containment: %s %s (%s, %s at %" PRIu64 " of %" PRIu64 ")", call->path,
		 level_name(to), ac_priority_name(call->intent.priority), d->path, d->usage,
		 d->budget);
}

/* The kill step: the contained call that gives the most memory back (a
 * low-priority call's counting double) in a domain where it is due; NULL
 * if none. */
static struct acd_call *kill_victim(struct acd_ctx *ctx, struct acd_domain **dom, uint64_t *memp)
{
	struct acd_call *victim = NULL;
	uint64_t vmem = 0;
	int vrank = 0;

	FOR_EACH_CALL(ctx, call) {
		const struct acd_domain *d;
		uint64_t mem;
		int rank;

		if (!containable(call) || call->contain.level == CONTAIN_NONE)
			continue;
		d = call_domain(ctx, call);
		if (!kill_due(ctx, d))
			continue;
		mem = ac_cg_memory_current(&ctx->cg, &call->node);
		rank = call->intent.priority == AC_PRIO_LOW ? 2 : 1;
		if (!victim || mem * (uint64_t)rank > vmem * (uint64_t)vrank) {
			victim = call;
			*dom = (struct acd_domain *)d;
			vmem = mem;
			vrank = rank;
		}
	}
	*memp = vmem;
	return victim;
}

static void kill_call(struct acd_ctx *ctx, struct acd_call *victim, struct acd_domain *vdom,
		      uint64_t vmem, uint64_t now)
{
	add_time(victim, now);
	note_domain(victim, vdom);
	ctx->contain->counts[2]++;
	count_step(vdom, victim->exec.interp ? ACD_STEP_INTERRUPTED : ACD_STEP_KILLED);
	acd_event(ctx, "contain", victim->path,
		  json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "step",
			    victim->exec.interp ? "interrupted" : "killed", "priority",
			    ac_priority_name(victim->intent.priority), "domain",
			    vdom->host ? "host" : vdom->path, "memory", (json_int_t)vmem, "usage",
			    (json_int_t)vdom->usage, "budget", (json_int_t)vdom->budget));
	ac_info("containment: %s %s-priority %s (%" PRIu64 " bytes) with %s at %" PRIu64
		" of %" PRIu64, victim->exec.interp ? "interrupting" : "killing",
		ac_priority_name(victim->intent.priority), victim->path, vmem, vdom->path,
		vdom->usage, vdom->budget);
	acd_call_pressure_stop(ctx, victim);
}

/* One kill per step: the victim that gives the most memory back. */
static void kill_step(struct acd_ctx *ctx, uint64_t now)
{
	struct acd_domain *d = NULL;
	struct acd_call *v;
	uint64_t mem;

	v = kill_victim(ctx, &d, &mem);
	if (!v)
		return;
	kill_call(ctx, v, d, mem, now);
	ctx->contain->last_kill_ns = now;
	changed(ctx, now);
}

/* One step down for one call, the highest class first, then the oldest:
 * one whose domain's release band allows it, or (stalled) any, all the
 * way and for a while. */
static void release_one(struct acd_ctx *ctx, uint64_t now, bool stalled)
{
	struct acd_call *best = NULL;
	const struct acd_domain *bdom = NULL;

	FOR_EACH_CALL(ctx, call) {
		const struct acd_domain *d;

		if (!containable(call) || call->contain.level == CONTAIN_NONE)
			continue;
		if (!stalled && wanted(ctx, call->intent.priority, release_band(ctx, call, &d)) >=
					call->contain.level)
			continue;
		if (stalled)
			release_band(ctx, call, &d);
		if (!best || (call->intent.priority != AC_PRIO_LOW &&
			      best->intent.priority == AC_PRIO_LOW) ||
		    (call->intent.priority == best->intent.priority &&
		     call->start_ns < best->start_ns)) {
			best = call;
			bdom = d;
		}
	}
	if (!best)
		return;
	if (stalled) {
		best->contain.free_until_ns = now + ctx->cfg.contain.free_ns;
		set_level(ctx, best, CONTAIN_NONE, bdom, now);
	} else {
		set_level(ctx, best, best->contain.level - 1, bdom, now);
	}
	ctx->contain->last_release_ns = now;
}

static void limit_hits_seen(struct acd_ctx *ctx)
{
	ctx->pressure->root.limit_hits_seen = ctx->pressure->root.limit_hits;
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		if (t->dom)
			t->dom->limit_hits_seen = t->dom->limit_hits;
}

static bool domain_kill_due(struct acd_ctx *ctx)
{
	if (kill_due(ctx, &ctx->pressure->root))
		return true;
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		if (t->dom && kill_due(ctx, t->dom))
			return true;
	return false;
}

static void step(struct acd_ctx *ctx, uint64_t now)
{
	const uint64_t every = ctx->cfg.contain.step_ns;
	bool any_release = false, kill_band = false;

	resolve_freeze(ctx, now);
	acd_pressure_sample(ctx, now);
	FOR_EACH_CALL(ctx, call) {
		const struct acd_domain *d;
		enum acd_contain_level want;

		if (!containable(call))
			continue;
		d = call_domain(ctx, call);
		want = wanted(ctx, call->intent.priority, d->band);
		if (want > call->contain.level && call->contain.free_until_ns <= now)
			set_level(ctx, call, want, d, now);
		else if (wanted(ctx, call->intent.priority, release_band(ctx, call, NULL)) <
			 call->contain.level)
			any_release = true;
	}
	if (domain_kill_due(ctx) && now >= ctx->contain->last_kill_ns + every)
		kill_step(ctx, now);
	limit_hits_seen(ctx);
	if (any_release && now >= ctx->contain->last_release_ns + every)
		release_one(ctx, now, false);
	else if (stalled(ctx, now))
		release_one(ctx, now, true);
	else if (ctx->pressure->root.usage >= ctx->contain->change_usage + ctx->pressure->root.budget / 100)
		changed(ctx, now); /* still moving: not stuck */
	acd_pressure_rearm(ctx);
	/* calls held back by the bands may fit now: looked at from the main
	 * loop (a step can run inside a call's bookkeeping, via a BPF record) */
	if (ctx->calls->waiting)
		ctx->contain->admit = true;
	/* While anything is held or a domain is past the throttle mark, the
	 * ladder keeps stepping; otherwise the kernel's events wake it. */
	kill_band = ctx->pressure->root.band >= BAND_THROTTLE;
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		if (t->dom && t->dom->band >= BAND_THROTTLE)
			kill_band = true;
	ctx->contain->next_ns = ctx->contain->contained || kill_band || ctx->calls->waiting ?
					now + every : 0;
}

/* Admission holds a class back in a band: where the ladder would freeze
 * it as it starts; without freezing, low from the throttle band and
 * normal from the freeze band. High priority is never held by a band
 * (only by the forecast, for another high call: overflows). */
static bool holds(const struct acd_ctx *ctx, enum ac_priority prio, enum acd_band band)
{
	if (ctx->contain->freeze)
		return wanted(ctx, prio, band) == CONTAIN_FROZEN;
	if (prio == AC_PRIO_LOW)
		return band >= BAND_THROTTLE;
	return prio == AC_PRIO_NORMAL && band >= BAND_FREEZE;
}

/* Whether a high-priority call of tenant t must wait: another high call
 * of t runs and no call of t of a lower class does. Then what fills the
 * budget is, as far as t goes, what the kernel kills after a high call
 * (interpreters, the other high call): starting it would only have the
 * kernel kill a high call, and the other call's end makes the room. Only
 * t's own calls count: another tenant's calls neither hold a high call
 * back nor show through its wait. */
static bool high_must_wait(const struct acd_tenant *t)
{
	bool high = false;

	for (const struct acd_session *s = t->sessions; s; s = s->next)
		for (const struct acd_call *call = s->calls; call; call = call->next) {
			if (call->state != CALL_RUNNING)
				continue;
			if (call->intent.priority != AC_PRIO_HIGH)
				return false;
			high = true;
		}
	return high;
}

/* Hold mode: a call expected to need `expected` bytes (its hint,
 * declared, or its label's history) that would take a domain past the
 * kill mark waits too, low or normal: it would only make the kernel kill
 * something. A high call of tenant t waits only past the budget itself,
 * and only for another high call of t (high_must_wait). */
static bool overflows(struct acd_ctx *ctx, struct acd_domain *d, const struct acd_tenant *t,
		      enum ac_priority prio, uint64_t expected)
{
	bool high = prio == AC_PRIO_HIGH;
	uint64_t now;

	if (ctx->contain->freeze || !ctx->cfg.contain.forecast || !expected || !d->budget ||
	    (high && !ctx->cfg.contain.forecast_high))
		return false;
	/* In a calm band nothing samples: a sample older than a step is
	 * taken again (at most once a step, however many calls wait). */
	now = ac_now_ns();
	if (!d->host && now >= d->usage_ns + ctx->cfg.contain.step_ns) {
		d->usage = ac_cg_memory_current(&ctx->cg, d->node);
		d->usage_ns = now;
	}
	if ((double)d->usage + (double)expected <=
	    (double)d->budget * (high ? 1.0 : ctx->cfg.contain.kill_at))
		return false;
	return !high || high_must_wait(t);
}

const struct acd_domain *acd_contain_holds_back(struct acd_ctx *ctx, const struct acd_session *s,
						enum ac_priority prio, uint64_t expected)
{
	struct acd_domain *r = &ctx->pressure->root, *t = s->tenant->dom;

	if (!acd_contain_enabled(ctx))
		return NULL;
	if (holds(ctx, prio, r->band) || overflows(ctx, r, s->tenant, prio, expected))
		return r;
	if (t && (holds(ctx, prio, t->band) || overflows(ctx, t, s->tenant, prio, expected)))
		return t;
	return NULL;
}

void acd_contain_kick(struct acd_ctx *ctx, const char *why)
{
	if (!acd_contain_enabled(ctx))
		return;
	ac_debug("containment: step (%s)", why);
	step(ctx, ac_now_ns());
}

void acd_contain_waiting(struct acd_ctx *ctx)
{
	uint64_t due;

	if (!acd_contain_enabled(ctx))
		return;
	due = ac_now_ns() + ctx->cfg.contain.step_ns;
	if (!ctx->contain->next_ns || ctx->contain->next_ns > due)
		ctx->contain->next_ns = due;
}

int acd_contain_tick(struct acd_ctx *ctx)
{
	struct acd_contain *k = ctx->contain;
	uint64_t now, next;

	if (!acd_contain_enabled(ctx))
		return -1;
	if (k->admit) {
		k->admit = false;
		acd_calls_admit_waiting(ctx);
	}
	now = ac_now_ns();
	if (k->next_ns && now >= k->next_ns)
		step(ctx, now);
	if (k->reclaim_pending && now >= k->reclaim_next_ns)
		reclaim_tick(ctx, now);
	next = k->next_ns;
	if (k->reclaim_pending && (!next || k->reclaim_next_ns < next))
		next = k->reclaim_next_ns;
	if (!next)
		return -1;
	now = ac_now_ns();
	return next > now ? ac_ns_to_ms_ceil(next - now) : 0;
}

void acd_contain_call_end(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->contain.level == CONTAIN_NONE)
		return;
	add_time(call, ac_now_ns());
	ctx->contain->contained--;
	changed(ctx, ac_now_ns());
	reclaim_stop(call);
	call->contain.level = CONTAIN_NONE;
	call->contain.throttle_written = false;
}

/* ---- metrics ----------------------------------------------------------- */

void acd_contain_metrics(struct acd_ctx *ctx, struct acd_metrics *m)
{
	static const char *const steps[ACD_STEP_N] = { "throttled", "frozen", "killed",
							"interrupted", "released" };
	const struct acd_contain *k = ctx->contain;
	int n = 0;

	if (!acd_contain_enabled(ctx))
		return;
	acd_metrics_family(m, "agentcg_contain_steps_total", ACD_COUNTER,
			   "Steps of the containment ladder, by the domain whose pressure took "
			   "them: calls throttled, frozen, killed (a cell interrupted instead), "
			   "and let go a step (released).");
	for (const struct acd_domain *d = acd_domain_next(ctx, NULL, &n); d;
	     d = acd_domain_next(ctx, d, &n))
		for (int i = 0; i < ACD_STEP_N; i++)
			acd_metrics_u64(m, d->steps[i], "domain", acd_domain_name(d), "step",
					steps[i], NULL);
	acd_metrics_family(m, "agentcg_contained_calls", ACD_GAUGE,
			   "Calls the ladder holds throttled or frozen now.");
	acd_metrics_u64(m, (uint64_t)(k->contained > 0 ? k->contained : 0), NULL);
	acd_metrics_family(m, "agentcg_contain_reclaimed_bytes_total", ACD_COUNTER,
			   "Memory of frozen calls pushed out to swap (memory.reclaim).");
	acd_metrics_u64(m, k->reclaimed, NULL);
}
