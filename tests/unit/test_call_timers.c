// SPDX-License-Identifier: GPL-2.0
/* The calls' deadline heap (userspace/daemon/call_timers.c), linked with
 * stubs for what a due deadline does: every due call is handled once, in
 * the order of its deadlines, whatever the order of updates and removals;
 * a call out of the heap never fires; the tick says when the next is. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agentcg/util.h"
#include "call_priv.h"

#define N 500

/* What the tick did: the calls it killed (timeouts), in order. */
static struct acd_call *killed[4 * N];
static int n_killed;

void acd_call_kill(struct acd_ctx *ctx, struct acd_call *call, enum ac_stop_reason why)
{
	assert_int_equal(why, AC_STOP_TIMEOUT);
	killed[n_killed++] = call;
}

void call_wait_expired(struct acd_ctx *ctx, struct acd_call *call)
{
	fail_msg("no call waits for admission here");
}

void call_interrupt_exec(struct acd_ctx *ctx, struct acd_call *call, uint64_t now)
{
	fail_msg("no cell here");
}

void call_check_cpu_time(struct acd_ctx *ctx, struct acd_call *call, uint64_t now)
{
	fail_msg("no cpu_time poll here");
}

void call_maybe_finish(struct acd_ctx *ctx, struct acd_call *call)
{
	fail_msg("no draining call here");
}

int ac_cg_populated_fds(struct ac_cgroup *cg, const struct ac_cg_node *node,
			const struct ac_cg_statfds *sf)
{
	return 0;
}

static struct acd_ctx *ctx_new(void)
{
	struct acd_ctx *ctx = calloc(1, sizeof(*ctx));

	ctx->calls = calloc(1, sizeof(*ctx->calls));
	n_killed = 0;
	return ctx;
}

static void ctx_free(struct acd_ctx *ctx)
{
	free(ctx->calls->timers.v);
	free(ctx->calls);
	free(ctx);
}

static void running(struct acd_ctx *ctx, struct acd_call *call, uint64_t deadline)
{
	call->state = CALL_RUNNING;
	call->deadline_ns = deadline;
	call_timer_update(ctx, call);
}

/* Due calls fire once each, earliest deadline first; the rest wait. */
static void test_due_in_order(void **state)
{
	struct acd_ctx *ctx = ctx_new();
	static struct acd_call calls[N];
	uint64_t now = ac_now_ns();
	int due = 0, ms;

	memset(calls, 0, sizeof(calls));
	srand(7);
	for (int i = 0; i < N; i++) {
		bool past = rand() % 2;

		running(ctx, &calls[i], past ? now - 1 - (uint64_t)(rand() % 1000000000) :
					       now + 3600ULL * 1000000000);
		due += past;
	}
	ms = acd_calls_tick(ctx);
	assert_int_equal(n_killed, due);
	for (int i = 1; i < n_killed; i++)
		assert_true(killed[i - 1]->heap_due <= killed[i]->heap_due);
	for (int i = 0; i < n_killed; i++) {
		assert_int_equal(killed[i]->deadline_ns, 0); /* cleared: not again */
		assert_int_equal(killed[i]->heap_idx, 0);
	}
	assert_int_equal(ctx->calls->timers.n, N - due);
	assert_int_equal(ms, 60000); /* an hour away: the loop looks again in 60 s */
	n_killed = 0;
	assert_int_equal(acd_calls_tick(ctx), 60000);
	assert_int_equal(n_killed, 0);
	ctx_free(ctx);
}

/* Moving deadlines around and taking calls out keeps the heap right. */
static void test_updates_and_removals(void **state)
{
	struct acd_ctx *ctx = ctx_new();
	static struct acd_call calls[N];
	uint64_t now = ac_now_ns(), later = now + 3600ULL * 1000000000;
	bool gone[N] = { false };
	int want = 0;

	memset(calls, 0, sizeof(calls));
	srand(11);
	for (int i = 0; i < N; i++)
		running(ctx, &calls[i], later + (uint64_t)(rand() % 1000000));
	/* a third made due, a third removed, the rest moved later */
	for (int i = 0; i < N; i++) {
		switch (rand() % 3) {
		case 0:
			running(ctx, &calls[i], now - 1 - (uint64_t)(rand() % 1000000));
			want++;
			break;
		case 1:
			call_timer_remove(ctx, &calls[i]);
			call_timer_remove(ctx, &calls[i]); /* twice is harmless */
			gone[i] = true;
			break;
		default:
			running(ctx, &calls[i], later + 1000000 + (uint64_t)(rand() % 1000000));
		}
	}
	/* one made due and then cleared: an early entry that fires nothing */
	for (int i = 0; i < N; i++)
		if (!gone[i] && calls[i].deadline_ns > now) {
			running(ctx, &calls[i], now - 5);
			calls[i].deadline_ns = later;
			break;
		}
	acd_calls_tick(ctx);
	assert_int_equal(n_killed, want);
	for (int i = 0; i < n_killed; i++)
		assert_false(gone[killed[i] - calls]);
	for (int i = 1; i < n_killed; i++)
		assert_true(killed[i - 1]->heap_due <= killed[i]->heap_due);
	/* every call still waiting is in the heap exactly once, at its place */
	for (uint32_t i = 0; i < ctx->calls->timers.n; i++) {
		struct acd_call *c = ctx->calls->timers.v[i];

		assert_int_equal(c->heap_idx, i + 1);
		if (i)
			assert_true(ctx->calls->timers.v[(i - 1) / 2]->heap_due <= c->heap_due);
	}
	ctx_free(ctx);
}

/* A state without a deadline leaves the heap; an empty heap: -1. */
static void test_no_deadline(void **state)
{
	struct acd_ctx *ctx = ctx_new();
	struct acd_call call = { 0 };

	running(ctx, &call, ac_now_ns() + 1000000000);
	assert_int_equal(ctx->calls->timers.n, 1);
	call.replied = true; /* a replied call waits for nothing */
	call_timer_update(ctx, &call);
	assert_int_equal(ctx->calls->timers.n, 0);
	assert_int_equal(call.heap_idx, 0);
	assert_int_equal(acd_calls_tick(ctx), -1);
	ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_due_in_order),
		cmocka_unit_test(test_updates_and_removals),
		cmocka_unit_test(test_no_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
