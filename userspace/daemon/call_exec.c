// SPDX-License-Identifier: GPL-2.0
/* session.exec calls: a cell runs in its session's interpreter (interp.c),
 * moved for the cell into a call cgroup with the cell's limits. The
 * interpreter reports the cell's end (done), its own death (died), and
 * its leaving the call's cgroup (released), after which what the cell
 * left running is killed and the call finishes as any other. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "agentcg/util.h"
#include "call_priv.h"
#include "interp.h"
#include "priority.h"

int acd_call_exec_begin(struct acd_ctx *ctx, struct acd_call *call, struct acd_spare *sp)
{
	int r;

	/* The cell's limits hold before its first instruction, or it does
	 * not run (the spare stays the runner's). */
	if (memcmp(&sp->limits, &call->limits, sizeof(call->limits))) {
		r = ac_cg_update_limits(&ctx->cg, &sp->node, &sp->limits, &call->limits);
		if (r < 0)
			return ac_log_errno(r, "%s/%s: cannot write the cell's limits",
					    call->session->path, sp->name);
		sp->limits = call->limits;
	}
	call_take_spare(call, sp);
	call->session->last_limits = call->limits;
	free(sp);
	call->pid = acd_interp_pid(call->exec.interp);
	acd_prio_cell_begin(ctx, call->pid, call->intent.priority);
	call_bpf_begin(ctx, call);
	call->start_ns = ac_now_ns();
	call_running(ctx, call);
	acd_event(ctx, "call.start", call->path,
		  json_pack("{s:i, s:s}", "pid", (int)call->pid, "exec",
			    acd_lang_name(call->exec.lang)));
	return 0;
}

void acd_call_exec_done(struct acd_ctx *ctx, struct acd_call *call, json_t *reply)
{
	json_t *ec = json_object_get(reply, "exit_code");
	bool ok = json_is_true(json_object_get(reply, "ok"));

	json_decref(call->exec.reply);
	call->exec.reply = reply;
	call->exec.kill_deadline_ns = 0;
	/* idle again: the interpreters' score (the session's state) */
	acd_prio_cell_end(ctx, call->pid, call->session);
	if (call->replied) /* frozen, answered then */
		return;
	call->end_ns = ac_now_ns();
	call->end.exited = true;
	call->end.exit_code = json_is_integer(ec) ? (int)json_integer_value(ec) : ok ? 0 : 1;
	call->end.interrupted = call->exec.interrupted && call->end.stop != AC_STOP_NONE;
	acd_bpf_call_sync(ctx, &call->bpf);
	call_reply(ctx, call);
}

void acd_call_exec_died(struct acd_ctx *ctx, struct acd_call *call, int wstatus)
{
	call->exec.died = true;
	call->exec.kill_deadline_ns = 0;
	if (call->replied)
		return;
	call->end_ns = ac_now_ns();
	if (WIFEXITED(wstatus)) {
		call->end.exited = true;
		call->end.exit_code = WEXITSTATUS(wstatus);
	} else {
		call->end.term_signal = WTERMSIG(wstatus);
	}
	json_decref(call->exec.reply);
	call->exec.reply = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "type",
				     "InterpreterDied", "message", acd_interp_dead_reason(call->exec.interp));
	acd_bpf_call_sync(ctx, &call->bpf);
	call_reply(ctx, call);
}

void acd_call_exec_released(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->state != CALL_RUNNING)
		return;
	call_drain(ctx, call); /* what the cell left running is killed */
}

void acd_call_exec_failed(struct acd_ctx *ctx, struct acd_call *call, int code, const char *msg)
{
	if (call->client)
		acd_reply_error(ctx, call->client, call->req_id, code, msg,
				json_pack("{s:s}", "path", call->session->path));
	call_reserve(call, false);
	acd_call_discard(ctx, call);
}
