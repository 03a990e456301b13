// SPDX-License-Identifier: GPL-2.0
/* Every call's next deadline in one binary min-heap, keyed by the
 * earliest of what the call waits for in its state:
 *   WAITING   its admission wait (call.run wait)
 *   RUNNING   its timeout, the kill after an interrupted cell's grace,
 *             the cpu_time poll
 *   DRAINING  a look at cgroup.events, in case an event was missed
 *   REMOVING  an rmdir retry
 * A call's place is updated where a deadline is set; one that was
 * cleared leaves an early entry, which the tick finds due, handles as
 * nothing and puts back at its real next deadline. The tick costs
 * O(log n) per due call instead of a walk of every call. */
#include <errno.h>
#include <stdlib.h>

#include "agentcg/util.h"
#include "call_priv.h"

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

/* The call's next deadline in its state; 0 none. */
static uint64_t call_due(const struct acd_call *call)
{
	switch (call->state) {
	case CALL_WAITING:
		return call->wait_deadline_ns;
	case CALL_RUNNING:
		if (call->replied)
			return 0;
		return earliest(earliest(call->deadline_ns, call->exec.kill_deadline_ns),
				call->next_cpu_check_ns);
	case CALL_DRAINING:
		return call->next_populated_check_ns;
	case CALL_REMOVING:
		return call->rmdir_retry_ns;
	}
	return 0;
}

/* ---- the heap (heap_idx: position + 1; 0 when out of it) --------------- */

static void heap_set(struct acd_call_heap *h, uint32_t i, struct acd_call *call)
{
	h->v[i] = call;
	call->heap_idx = i + 1;
}

static void heap_up(struct acd_call_heap *h, uint32_t i)
{
	struct acd_call *call = h->v[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (h->v[parent]->heap_due <= call->heap_due)
			break;
		heap_set(h, i, h->v[parent]);
		i = parent;
	}
	heap_set(h, i, call);
}

static void heap_down(struct acd_call_heap *h, uint32_t i)
{
	struct acd_call *call = h->v[i];

	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, min = l;

		if (l >= h->n)
			break;
		if (r < h->n && h->v[r]->heap_due < h->v[l]->heap_due)
			min = r;
		if (h->v[min]->heap_due >= call->heap_due)
			break;
		heap_set(h, i, h->v[min]);
		i = min;
	}
	heap_set(h, i, call);
}

static int heap_push(struct acd_call_heap *h, struct acd_call *call)
{
	if (h->n == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 64;
		struct acd_call **v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n] = call;
	heap_up(h, h->n++);
	return 0;
}

static void heap_delete(struct acd_call_heap *h, struct acd_call *call)
{
	uint32_t i = call->heap_idx - 1;
	struct acd_call *last = h->v[--h->n];

	call->heap_idx = 0;
	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, last->heap_idx - 1);
}

void call_timer_remove(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->heap_idx)
		heap_delete(&ctx->calls->timers, call);
}

void call_timer_update(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_call_heap *h = &ctx->calls->timers;
	uint64_t due = call_due(call);

	if (!due) {
		call_timer_remove(ctx, call);
		return;
	}
	call->heap_due = due;
	if (!call->heap_idx) {
		if (heap_push(h, call) < 0)
			ac_log(AC_LOG_ERR, "%s: no memory for its deadline", call->path);
		return;
	}
	heap_up(h, call->heap_idx - 1);
	heap_down(h, call->heap_idx - 1);
}

/* ---- the tick ------------------------------------------------------------ */

/* What is due of one call at now. */
static void call_tick(struct acd_ctx *ctx, struct acd_call *call, uint64_t now)
{
	switch (call->state) {
	case CALL_WAITING:
		if (call->wait_deadline_ns && call->wait_deadline_ns <= now) {
			call_wait_expired(ctx, call); /* frees it */
			return;
		}
		break;
	case CALL_RUNNING:
		if (call->replied)
			break;
		if (call->deadline_ns && call->deadline_ns <= now) {
			call->deadline_ns = 0;
			if (call->exec.interp) {
				call->end.stop = AC_STOP_TIMEOUT;
				call_interrupt_exec(ctx, call, now);
			} else {
				acd_call_kill(ctx, call, AC_STOP_TIMEOUT);
			}
		}
		if (call->exec.kill_deadline_ns && call->exec.kill_deadline_ns <= now) {
			call->exec.interrupted = false; /* it did not stop */
			call->exec.kill_deadline_ns = 0;
			acd_call_kill(ctx, call, call->end.stop);
		}
		if (call->next_cpu_check_ns && call->next_cpu_check_ns <= now)
			call_check_cpu_time(ctx, call, now);
		break;
	case CALL_DRAINING:
		if (call->next_populated_check_ns <= now) {
			call->populated = ac_cg_populated_fds(&ctx->cg, &call->node,
							      &call->stats) != 0;
			call->next_populated_check_ns = now + DRAIN_CHECK_NS;
			call_timer_update(ctx, call);
			call_maybe_finish(ctx, call); /* may move it on to REMOVING */
			return;
		}
		break;
	case CALL_REMOVING:
		if (call->rmdir_retry_ns && call->rmdir_retry_ns <= now)
			ctx->idle_work = true; /* the removal step retries it */
		/* not due again until the step sets a new retry */
		call->rmdir_retry_ns = call->rmdir_retry_ns > now ? call->rmdir_retry_ns : 0;
		break;
	}
	call_timer_update(ctx, call);
}

static int ms_until(uint64_t now, uint64_t t)
{
	int ms = t > now ? ac_ns_to_ms_ceil(t - now) : 0;

	return ms > 60000 ? 60000 : ms;
}

int acd_calls_tick(struct acd_ctx *ctx)
{
	struct acd_call_heap *h = &ctx->calls->timers;
	uint64_t now = ac_now_ns();

	while (h->n && h->v[0]->heap_due <= now) {
		struct acd_call *call = h->v[0];

		/* Out of the heap first: what is due may free the call, or
		 * put it back at its next deadline. */
		heap_delete(h, call);
		call_tick(ctx, call, now);
	}
	return h->n ? ms_until(now, h->v[0]->heap_due) : -1;
}
