// SPDX-License-Identifier: GPL-2.0
/* Admission: a call reserves what it declares of its session's and
 * tenant's memory budgets, and starts, waits in a FIFO queue (wait), or is
 * refused with what it asked and what is left. Under memory pressure a
 * call the containment ladder would freeze at once waits too. */
#include <errno.h>
#include <stdio.h>

#include "agentcg/units.h"
#include "agentcg/util.h"
#include "call_priv.h"

/* What a call reserves of its session's and tenant's memory: what it
 * declares it needs (memory), else its ceiling (memory_max). Bursts up
 * to memory_max overcommit the budget on purpose: the containment ladder
 * defends it (contain.c). */
static uint64_t reservation(const struct ac_limits *l)
{
	if (l->memory_high != AC_UNLIMITED)
		return l->memory_high;
	if (l->memory_max != AC_UNLIMITED)
		return l->memory_max;
	return 0;
}

/* A memory assumed from the label's history is a guess: it reserves
 * nothing (admission holds back declared needs only; a guess that queued
 * calls made high-priority agents wait behind them in the replay). */
uint64_t call_reservation(const struct acd_call *call)
{
	return call->adaptive.samples ? 0 : reservation(&call->limits);
}

/* What the call is expected to need: the agent's memory_hint, its
 * declared memory, or its label's history (p95); 0 when nothing tells (a
 * policy default is no forecast). The agent's own word comes first: it
 * knows this call, the history knows only the label. */
static uint64_t call_expected(const struct acd_call *call)
{
	const struct ac_intent *in = &call->intent;

	if ((in->set & AC_F_MEMORY_HINT) && in->memory_hint)
		return in->memory_hint;
	if (call->adaptive.samples)
		return call->adaptive.p95;
	if ((in->set & AC_F_MEMORY) && !(in->defaulted & AC_F_MEMORY))
		return in->memory;
	return 0;
}

int call_admission_check(struct acd_ctx *ctx, const struct acd_call *call, struct admission *a)
{
	const struct acd_session *s = call->session;
	const struct acd_domain *d;
	const struct acd_tenant *t = s->tenant;
	const struct {
		const char *level, *path;
		uint64_t budget, reserved;
	} lv[2] = {
		{ "session", s->path, s->budget.memory_max, s->reserved_mem },
		{ "tenant", t->path, t->budget.memory_max, t->reserved_mem },
	};

	/* Every refusal below is replied from *a, pressure included. */
	a->pressure = false;
	for (int i = 0; i < 2; i++) {
		if (lv[i].budget == AC_UNLIMITED)
			continue;
		a->level = lv[i].level;
		a->path = lv[i].path;
		a->budget = lv[i].budget;
		a->remaining = lv[i].budget > lv[i].reserved ? lv[i].budget - lv[i].reserved : 0;
		if (call->reserved_mem > lv[i].budget)
			return -E2BIG;
		if (call->reserved_mem > a->remaining)
			return -EAGAIN;
	}
	/* A call pressure would freeze as it starts, or (no swap) a call of
	 * a class the ladder holds back in this band, waits before it
	 * allocates, for at most hold_max. */
	d = call->hold_expired ? NULL : acd_contain_holds_back(ctx, s, call->intent.priority,
							       call_expected(call));
	if (d) {
		a->level = "budget";
		a->path = d->host ? "host" : d->path;
		a->budget = d->budget;
		a->remaining = d->budget > d->usage ? d->budget - d->usage : 0;
		a->pressure = true;
		return -EAGAIN;
	}
	return 0;
}

void call_reply_admission(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			  const struct acd_call *call, const struct admission *a, int r, bool waited)
{
	char msg[320], req_s[32], rem_s[32], bud_s[32];

	ac_format_size(call->reserved_mem, req_s, sizeof(req_s));
	ac_format_size(a->remaining, rem_s, sizeof(rem_s));
	ac_format_size(a->budget, bud_s, sizeof(bud_s));
	if (r == -E2BIG)
		snprintf(msg, sizeof(msg),
			 "admission refused: the call needs %s of memory, more than %s %s's whole "
			 "budget of %s; declare less memory (memory_max)",
			 req_s, a->level, a->path, bud_s);
	else if (a->pressure)
		snprintf(msg, sizeof(msg),
			 "admission refused%s: memory pressure: %s has %s of its %s left and a "
			 "%s-priority call waits for room there (it would be frozen, or make the "
			 "kernel kill, as it starts); retry later or pass wait", waited ?
			 " after waiting" : "", a->path, rem_s,
			 bud_s, ac_priority_name(call->intent.priority));
	else
		snprintf(msg, sizeof(msg),
			 "admission refused: the call needs %s of memory, %s %s has %s of its %s "
			 "left%s; retry later, declare less, or pass wait",
			 req_s, a->level, a->path, rem_s, bud_s, waited ? " after waiting" : "");
	acd_reply_error(ctx, c, id, RPC_ADMISSION, msg,
			json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:b}", "level", a->level, "path",
				  a->path, "resource", "memory", "requested",
				  (json_int_t)call->reserved_mem, "remaining",
				  (json_int_t)a->remaining, "budget", (json_int_t)a->budget,
				  "never_fits", r == -E2BIG, "pressure", a->pressure));
}

void call_reserve(struct acd_call *call, bool take)
{
	struct acd_session *s = call->session;

	if (take) {
		s->reserved_mem += call->reserved_mem;
		s->tenant->reserved_mem += call->reserved_mem;
	} else {
		s->reserved_mem -= call->reserved_mem;
		s->tenant->reserved_mem -= call->reserved_mem;
	}
}

void call_quota_hold(struct acd_ctx *ctx, struct acd_call *call, int q)
{
	if (call->quota_held == q + 1)
		return;
	if (call->quota_held)
		acd_quota_give(ctx, call->quota_uid, call->quota_held - 1, 1);
	call->quota_held = 0;
	if (q >= 0 && acd_quota_take(ctx, call->quota_uid, q, 1) == 0)
		call->quota_held = (uint8_t)(q + 1);
}

/* Room in the requester's quota q for this call (one it holds already
 * is in the count). */
static bool quota_fits(const struct acd_ctx *ctx, const struct acd_call *call, enum acd_quota q)
{
	return call->quota_held == q + 1 ||
	       acd_quota_check(ctx, call->quota_uid, call->quota_exempt, q, 1) == 0;
}

/* The budget check, then the requester's running calls: a call over
 * per_uid.calls_running waits (or is refused) like one over budget. */
static int admission_check_quota(struct acd_ctx *ctx, const struct acd_call *call,
				 struct admission *a)
{
	int r = call_admission_check(ctx, call, a);

	a->quota = 0;
	if (r == 0 && !quota_fits(ctx, call, ACD_Q_CALLS_RUNNING)) {
		a->quota = 1 + ACD_Q_CALLS_RUNNING;
		r = -EAGAIN;
	}
	return r;
}

/* ---- the tenant's counters (metrics) ---- */

static void count_refusal(struct acd_call *call, enum acd_refusal why)
{
	call->session->tenant->stats.refused[why]++;
}

/* Why admission refused, from what it found. */
static enum acd_refusal refusal_of(const struct admission *a, int r)
{
	return a->quota ? ACD_REF_QUOTA : r == -E2BIG ? ACD_REF_NEVER_FITS :
	       a->pressure ? ACD_REF_PRESSURE : ACD_REF_BUDGET;
}

/* A wait at admission ended (the call starts, or is refused). */
static void count_wait(struct acd_call *call, uint64_t now)
{
	struct acd_tenant_stats *st = &call->session->tenant->stats;
	int held = call->held_pressure ? ACD_HELD_PRESSURE : ACD_HELD_BUDGET;

	if (!call->queued_ns)
		return;
	st->waits[held]++;
	st->wait_ns[held] += now > call->queued_ns ? now - call->queued_ns : 0;
}

static void reply_quota(struct acd_ctx *ctx, struct acd_call *call, enum acd_quota q,
			bool waited)
{
	count_refusal(call, ACD_REF_QUOTA);
	char what[200], msg[240];

	acd_quota_message(ctx, call->quota_uid, q, what, sizeof(what));
	snprintf(msg, sizeof(msg), "%s%s", what,
		 q == ACD_Q_CALLS_RUNNING ? waited ? " (after waiting)" : "; pass wait to queue" : "");
	acd_reply_error(ctx, call->client, call->req_id, RPC_PERMISSION, msg,
			acd_quota_data(ctx, q));
}

static void admit_one(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->queued_ns) {
		uint64_t now = ac_now_ns();

		call->end.waited_ns = now - call->queued_ns;
		call->end.waited_pressure = call->held_pressure;
		count_wait(call, now);
	}
	call_reserve(call, true);
	if (call_start(ctx, call) < 0) {
		call_reserve(call, false);
		acd_call_discard(ctx, call);
	}
}

/* Waiting calls that fit start, high priority first, then normal, then
 * low (each class in arrival order). Of those pressure held back, one
 * starts per pass (a ladder step): its growth is seen before the next
 * one goes, so held calls do not all allocate into the same peak. */
void acd_calls_admit_waiting(struct acd_ctx *ctx)
{
	static const enum ac_priority order[] = { AC_PRIO_HIGH, AC_PRIO_NORMAL, AC_PRIO_LOW };
	bool held_started = false;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct acd_call **pp = &ctx->calls->waiting;

		while (*pp) {
			struct acd_call *call = *pp;
			struct admission a = { 0 };

			if (call->intent.priority == order[i] && !call->session->frozen &&
			    !call->session->tenant->frozen && !(held_started && call->held_pressure) &&
			    admission_check_quota(ctx, call, &a) == 0) {
				*pp = call->wait_next;
				held_started = held_started || call->held_pressure;
				admit_one(ctx, call);
				continue;
			}
			if (call->intent.priority == order[i] && a.pressure)
				call->held_pressure = true;
			pp = &call->wait_next;
		}
	}
}

/* At the end of the admission queue, looked at again by the end of its
 * wait or, while pressure holds it, after hold_max. */
void call_enqueue_waiting(struct acd_ctx *ctx, struct acd_call *call, uint64_t now)
{
	struct acd_call **pp = &ctx->calls->waiting;
	uint64_t due = call->wait_until_ns;

	if (call->held_pressure && !call->hold_expired) {
		uint64_t hold_end = call->queued_ns + ctx->cfg.contain.hold_max_ns;

		if (!due || hold_end < due)
			due = hold_end;
	}
	call->wait_deadline_ns = due > now ? due : now;
	call->wait_next = NULL;
	while (*pp)
		pp = &(*pp)->wait_next;
	*pp = call;
	call_timer_update(ctx, call);
	if (call->held_pressure)
		acd_contain_waiting(ctx);
}

void acd_call_admit(struct acd_ctx *ctx, struct acd_call *call, bool wait, uint64_t wait_ns)
{
	struct admission a;
	int r = admission_check_quota(ctx, call, &a);

	if (r == 0) {
		admit_one(ctx, call);
		return;
	}
	/* Pressure passes: a call it holds back waits (for hold_max at most)
	 * whether or not it asked to wait for budget. */
	if (r == -EAGAIN && (wait || (a.pressure && !a.quota))) {
		uint64_t now = ac_now_ns();

		if (!quota_fits(ctx, call, ACD_Q_CALLS_WAITING)) {
			reply_quota(ctx, call, ACD_Q_CALLS_WAITING, false);
			acd_call_discard(ctx, call);
			return;
		}
		call_quota_hold(ctx, call, ACD_Q_CALLS_WAITING);
		call->state = CALL_WAITING;
		call->queued_ns = now;
		call->wait_until_ns = wait ? now + wait_ns : 0;
		call->held_pressure = a.pressure;
		call_enqueue_waiting(ctx, call, now);
		return;
	}
	if (a.quota) {
		reply_quota(ctx, call, a.quota - 1, false);
	} else {
		count_refusal(call, refusal_of(&a, r));
		call_reply_admission(ctx, call->client, call->req_id, call, &a, r, false);
	}
	acd_call_discard(ctx, call);
}

void acd_call_admit_exec(struct acd_ctx *ctx, struct acd_call *call)
{
	struct admission a;
	int r;

	/* queued at its interpreter, it waits like a call waiting for budget */
	if (!quota_fits(ctx, call, ACD_Q_CALLS_WAITING)) {
		reply_quota(ctx, call, ACD_Q_CALLS_WAITING, false);
		acd_call_discard(ctx, call);
		return;
	}
	r = call_admission_check(ctx, call, &a);
	/* a cell is not held back by pressure: its interpreter, with the
	 * session's state, is resident already, and it queues there anyway */
	if (r == -EAGAIN && a.pressure)
		r = 0;
	if (r < 0) {
		count_refusal(call, refusal_of(&a, r));
		call_reply_admission(ctx, call->client, call->req_id, call, &a, r, false);
		acd_call_discard(ctx, call);
		return;
	}
	call_reserve(call, true);
	call_quota_hold(ctx, call, ACD_Q_CALLS_WAITING);
	call->state = CALL_WAITING; /* in its interpreter's queue */
	acd_interp_exec(ctx, call);
}

void call_wait_expired(struct acd_ctx *ctx, struct acd_call *call)
{
	struct admission a;
	uint64_t now = ac_now_ns();
	int r;

	/* held for pressure as long as it may be: it starts if its budget
	 * allows, whatever the band */
	if (call->held_pressure && now >= call->queued_ns + ctx->cfg.contain.hold_max_ns)
		call->hold_expired = true;
	r = admission_check_quota(ctx, call, &a);
	call_unlink_waiting(ctx, call);
	if (r == 0) { /* room came at the last moment (a ladder step not yet looked at) */
		admit_one(ctx, call);
		return;
	}
	if (r == -EAGAIN && call->wait_until_ns > now) { /* its own wait goes on */
		call->held_pressure = call->held_pressure || a.pressure;
		call_enqueue_waiting(ctx, call, now);
		return;
	}
	count_wait(call, now);
	if (a.quota) {
		reply_quota(ctx, call, a.quota - 1, true);
		acd_call_discard(ctx, call);
		return;
	}
	count_refusal(call, refusal_of(&a, r == 0 ? -EAGAIN : r));
	call_reply_admission(ctx, call->client, call->req_id, call, &a, r == 0 ? -EAGAIN : r, true);
	acd_call_discard(ctx, call);
}
