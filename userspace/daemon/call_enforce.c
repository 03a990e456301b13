// SPDX-License-Identifier: GPL-2.0
/* Enforcement of what no cgroup knob covers: a budget that ran out
 * (cpu_time, forks, memory on v1), seen by the BPF programs or the
 * cpu_time poll, ends as the intent's on_exceed says (kill, freeze for an
 * operator, or report); the containment ladder's last step; the BPF
 * programs' records of a call's processes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/bpf_abi.h"
#include "agentcg/util.h"
#include "call_priv.h"
#include "interp.h"

/* The SIGCONT that lets tasks the BPF programs stopped (SIGSTOP) enter
 * the cgroup freezer instead, so a thaw resumes them. */
void acd_call_continue_stopped(struct acd_ctx *ctx, struct acd_call *call)
{
	char buf[16384], *p, *end;
	int n = ac_cg_read_file(&ctx->cg, &call->node, "cgroup.procs", buf, sizeof(buf));

	if (n <= 0)
		return;
	for (p = buf; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0)
			kill((pid_t)pid, SIGCONT);
	}
}


/* A cell over a limit: interrupted first, so the session keeps its
 * state; killed (with its interpreter) only if it has not stopped after
 * EXEC_GRACE_NS. */
void call_interrupt_exec(struct acd_ctx *ctx, struct acd_call *call, uint64_t now)
{
	if (call->exec.kill_deadline_ns)
		return;
	call->exec.interrupted = acd_interp_interrupt(ctx, call->exec.interp);
	call->exec.kill_deadline_ns = now + EXEC_GRACE_NS;
	call_timer_update(ctx, call);
}

/* A budget ran out (cpu_time, forks, memory on v1): on_exceed decides. */
static void budget_exceeded(struct acd_ctx *ctx, struct acd_call *call, enum ac_stop_reason why)
{
	uint64_t now = ac_now_ns();

	if (call->state != CALL_RUNNING || call->replied || call->end.stop != AC_STOP_NONE)
		return;
	if (why == AC_STOP_CPU_TIME)
		call->next_cpu_check_ns = 0;
	if (call->intent.on_exceed == AC_EXCEED_REPORT)
		return; /* the verdict reports it */
	call->end.stop = why;
	if (call->exec.interp && call->intent.on_exceed == AC_EXCEED_KILL) {
		call_interrupt_exec(ctx, call, now);
		return;
	}
	if (call->intent.on_exceed == AC_EXCEED_FREEZE) {
		ac_cg_freeze(&ctx->cg, &call->node, true);
		acd_bpf_call_handled(ctx, &call->bpf);
		acd_call_continue_stopped(ctx, call);
		call->end.frozen = true;
		call->end_ns = now;
		acd_bpf_call_sync(ctx, &call->bpf);
		call_reply(ctx, call); /* it stays, frozen, for an operator */
	} else {
		acd_call_kill(ctx, call, why);
	}
}

void acd_call_pressure_stop(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->state != CALL_RUNNING || call->replied || call->end.stop != AC_STOP_NONE)
		return;
	call->end.stop = AC_STOP_PRESSURE;
	if (call->exec.interp) {
		/* Never the interpreter: the cell is thawed and interrupted,
		 * with no kill after it (unlike a budget's). */
		if (call->contain.level == CONTAIN_FROZEN)
			ac_cg_freeze(&ctx->cg, &call->node, false);
		acd_contain_call_end(ctx, call);
		call->exec.interrupted = acd_interp_interrupt(ctx, call->exec.interp);
		return;
	}
	ac_cg_kill(&ctx->cg, &call->node);
}

void call_check_cpu_time(struct acd_ctx *ctx, struct acd_call *call, uint64_t now)
{
	uint64_t used = 0;

	call->next_cpu_check_ns = now + CPU_TIME_CHECK_NS;
	if (ac_cg_cpu_usage_us(&ctx->cg, &call->node, &call->stats, &used) < 0 ||
	    used * 1000 < call->intent.cpu_time_ns)
		return;
	call->next_cpu_check_ns = 0;
	budget_exceeded(ctx, call, AC_STOP_CPU_TIME);
}

static json_t *bpf_event_json(const struct acb_event *e)
{
	switch (e->type) {
	case ACB_EV_FORK:
		return json_pack("{s:i, s:i, s:s}", "pid", (int)e->pid, "ppid", (int)e->ppid, "comm",
				 e->comm);
	case ACB_EV_EXEC:
		return json_pack("{s:i, s:i, s:s, s:s}", "pid", (int)e->pid, "ppid", (int)e->ppid,
				 "comm", e->comm, "exe", e->exe);
	case ACB_EV_EXIT:
		return json_pack("{s:i, s:s, s:o, s:I}", "pid", (int)e->pid, "comm", e->comm, "exit",
				 acd_wstatus_json((int)e->value), "peak_rss",
				 (json_int_t)e->rss_bytes);
	default:
		return NULL;
	}
}

void acd_call_bpf_record(struct acd_ctx *ctx, struct acd_bpf_call *bc, const struct acb_event *e)
{
	struct acd_call *call = CALL_OF(bc, bpf);
	static const char *const names[] = { [ACB_EV_FORK] = "proc.fork",
					     [ACB_EV_EXEC] = "proc.exec",
					     [ACB_EV_EXIT] = "proc.exit" };
	struct ac_oom_victim *v = &call->end.oom;

	switch (e->type) {
	case ACB_EV_FORK:
	case ACB_EV_EXEC:
	case ACB_EV_EXIT:
		acd_procs_record(&call->procs, e);
		if (ctx->n_subscribed)
			acd_event(ctx, names[e->type], call->path, bpf_event_json(e));
		break;
	case ACB_EV_OOM:
		if (!v->seen) {
			v->seen = true;
			v->pid = (int)e->pid;
			memcpy(v->comm, e->comm, sizeof(v->comm));
			v->comm[sizeof(v->comm) - 1] = 0;
			v->rss = e->rss_bytes;
		}
		acd_event(ctx, "oom", call->path,
			  json_pack("{s:i, s:s, s:I}", "pid", (int)e->pid, "comm", e->comm, "rss",
				    (json_int_t)e->rss_bytes));
		break;
	case ACB_EV_OVER: {
		enum ac_stop_reason why = e->over == ACB_OVER_FORKS ? AC_STOP_FORKS :
					  e->over == ACB_OVER_MEMORY ? AC_STOP_MEMORY :
								       AC_STOP_CPU_TIME;
		const char *what = why == AC_STOP_FORKS ? "forks" :
				   why == AC_STOP_MEMORY ? "memory" : "cpu_time";

		acd_event(ctx, "budget", call->path,
			  json_pack("{s:s, s:I, s:s}", "resource", what, "used", (json_int_t)e->value,
				    "on_exceed", ac_on_exceed_name(call->intent.on_exceed)));
		budget_exceeded(ctx, call, why);
		break;
	}
	default:
		break;
	}
}
