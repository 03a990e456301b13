/* SPDX-License-Identifier: GPL-2.0 */
/* Inside the call module: what its files (call.c the state machine,
 * call_admission.c, call_output.c, call_result.c, call_exec.c,
 * call_enforce.c, call_timers.c) share and nothing outside it uses. */
#ifndef AGENTCGD_CALL_PRIV_H
#define AGENTCGD_CALL_PRIV_H

#include "call.h"
#include "events.h"
#include "rpc.h"

#define CPU_TIME_CHECK_NS (20ULL * 1000000)
#define DRAIN_CHECK_NS (50ULL * 1000000)
#define RMDIR_RETRY_NS (10ULL * 1000000)
#define RMDIR_TRIES 500
/* A cell over a limit is interrupted first; killed (with its
 * interpreter) only if it has not stopped after this long. */
#define EXEC_GRACE_NS (2ULL * 1000000000)

#define CALL_OF(ptr, member) ((struct acd_call *)((char *)(ptr) - offsetof(struct acd_call, member)))

/* call.c: the state machine */
/* Registers the call with the BPF programs (its budgets, its records). */
void call_bpf_begin(struct acd_ctx *ctx, struct acd_call *call);
/* The command (or cell) runs since call->start_ns: deadlines, counters. */
void call_running(struct acd_ctx *ctx, struct acd_call *call);
/* The call's cgroup is the spare's: its name, dirs and usage files. */
void call_take_spare(struct acd_call *call, const struct acd_spare *sp);
/* Takes a ready cgroup and hands its stub the command; on failure replies
 * and returns <0 (the caller discards the call). */
int call_start(struct acd_ctx *ctx, struct acd_call *call);
/* The main process (or the cell) is done: kill what it left, and finish
 * once the cgroup is empty and the pipes are drained. */
void call_drain(struct acd_ctx *ctx, struct acd_call *call);
/* Finishes a draining call whose pipes and cgroup are empty. */
void call_maybe_finish(struct acd_ctx *ctx, struct acd_call *call);
void call_unlink_waiting(struct acd_ctx *ctx, struct acd_call *call);

/* call_admission.c */
/* What the call reserves of its session's and tenant's memory. */
uint64_t call_reservation(const struct acd_call *call);
/* Takes (true) or gives back the call's reservation of its session's and
 * tenant's memory. */
void call_reserve(struct acd_call *call, bool take);
struct admission {
	int quota; /* held back by a per-uid quota: 1 + enum acd_quota; 0: by budget */
	const char *level;
	const char *path;
	uint64_t budget, remaining;
	bool pressure; /* held back: the ladder would freeze it at once */
};
/* 0 fits, -EAGAIN not now, -E2BIG never. */
int call_admission_check(struct acd_ctx *ctx, const struct acd_call *call, struct admission *a);
void call_reply_admission(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			  const struct acd_call *call, const struct admission *a, int r, bool waited);
/* The call counts in per-uid quota q (ACD_Q_CALLS_RUNNING or _WAITING) of
 * its requester from now on; q < 0: in none. */
void call_quota_hold(struct acd_ctx *ctx, struct acd_call *call, int q);
/* Into the admission queue (state, quota and queued_ns set by the caller). */
void call_enqueue_waiting(struct acd_ctx *ctx, struct acd_call *call, uint64_t now);
/* The wait of a queued call ran out: refused, with what is left now. */
void call_wait_expired(struct acd_ctx *ctx, struct acd_call *call);

/* call_output.c: the stdout and stderr pipes of a captured call */
int call_output_open(struct acd_capture *cap, int *child_end);
void call_output_close(struct acd_ctx *ctx, struct acd_capture *cap);
/* Output text as a JSON string; invalid UTF-8 bytes become U+FFFD. */
json_t *call_output_json(const struct ac_buf *b);

/* call_result.c: replies with the verdict (or the spawn error), once; the
 * ladder lets go of the call first. */
void call_reply(struct acd_ctx *ctx, struct acd_call *call);
/* Memory pressure killed it: the ladder's kill step, or the OOM killer at
 * a budget above the call (not at its own memory_max). */
bool call_killed_for_pressure(struct acd_ctx *ctx, struct acd_call *call);
json_t *call_limits_json(const struct ac_limits *l);

/* call_enforce.c */
/* Interrupts a cell; killed if it has not stopped after EXEC_GRACE_NS. */
void call_interrupt_exec(struct acd_ctx *ctx, struct acd_call *call, uint64_t now);
/* The cpu_time poll (without the BPF programs). */
void call_check_cpu_time(struct acd_ctx *ctx, struct acd_call *call, uint64_t now);

/* call_timers.c: every call's next deadline in one min-heap */
/* Puts the call at its next deadline (or out of the heap without one);
 * after any change of a deadline field. */
void call_timer_update(struct acd_ctx *ctx, struct acd_call *call);
void call_timer_remove(struct acd_ctx *ctx, struct acd_call *call);

#endif
