// SPDX-License-Identifier: GPL-2.0
/* A call's result: what it used (its cgroup's counters and the BPF
 * programs' records), the verdict against its intent, the OOM victim's
 * limit, a cell's value or exception; replied once, with a call.end
 * event; or the error of a command that could not start. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/units.h"
#include "agentcg/util.h"
#include "call_priv.h"

json_t *call_limits_json(const struct ac_limits *l)
{
	char mh[32], mm[32], cpu[48], pids[32];

	ac_format_size(l->memory_high, mh, sizeof(mh));
	ac_format_size(l->memory_max, mm, sizeof(mm));
	if (l->cpu_quota_us == AC_UNLIMITED)
		snprintf(cpu, sizeof(cpu), "max %llu", (unsigned long long)AC_CPU_PERIOD_US);
	else
		snprintf(cpu, sizeof(cpu), "%llu %llu", (unsigned long long)l->cpu_quota_us,
			 (unsigned long long)l->cpu_period_us);
	if (l->pids_max == AC_UNLIMITED)
		snprintf(pids, sizeof(pids), "max");
	else
		snprintf(pids, sizeof(pids), "%llu", (unsigned long long)l->pids_max);
	return json_pack("{s:s, s:s, s:s, s:s}", "memory.high", mh, "memory.max", mm, "cpu.max",
			 cpu, "pids.max", pids);
}

/* What the interpreter said of the cell: value, error, interrupted; and
 * a summary that names an exception the verdict alone cannot know. */
static void exec_result(struct acd_call *call, json_t *res, json_t *verdict)
{
	static const char *const keys[] = { "value", "value_repr", "error", "interrupted",
					    "exit_code", "restarted" };
	json_t *rep = call->exec.reply, *err = json_object_get(rep, "error");
	const char *status = json_string_value(json_object_get(verdict, "status"));

	json_object_del(res, "argv");
	json_object_set_new(res, "lang", json_string(acd_lang_name(call->exec.lang)));
	for (size_t i = 0; rep && i < AC_ARRAY_SIZE(keys); i++)
		if (json_object_get(rep, keys[i]))
			json_object_set(res, keys[i], json_object_get(rep, keys[i]));
	json_object_set_new(res, "ok", json_boolean(json_is_true(json_object_get(rep, "ok"))));
	json_object_set_new(res, "session",
			    json_pack("{s:s, s:s}", "path", call->session->path, "interpreter",
				      call->exec.died ? "died" : "alive"));
	if (status && !strcmp(status, "failed") && json_is_object(err) &&
	    !json_object_get(verdict, "stopped_by")) {
		char line[512];
		const char *type = json_string_value(json_object_get(err, "type"));
		const char *msg = json_string_value(json_object_get(err, "message"));

		if (call->exec.died)
			snprintf(line, sizeof(line), "%.300s; the session's state is lost: "
				 "session.reset starts a new interpreter", msg ? msg : "the interpreter died");
		else
			snprintf(line, sizeof(line), "raised %.60s%s%.300s", type ? type : "an error",
				 msg && *msg ? ": " : "", msg ? msg : "");
		json_object_set_new(verdict, "summary", json_string(line));
	}
}

/* Which limit the OOM killer acted on: the call's own memory_max if its
 * cgroup hit it (its peak reached it: charges that fail at an ancestor's
 * limit can count at the call too), else the nearest session, tenant or
 * root budget (memory_budget) that was hit, else the host. */
static void oom_limit(struct acd_ctx *ctx, struct acd_call *call, const struct ac_usage *u)
{
	struct ac_oom_victim *v = &call->end.oom;
	struct acd_session *s = call->session;
	const struct {
		const char *level, *path;
		const struct ac_cg_node *node;
		uint64_t limit;
	} lv[3] = {
		{ "session", s->path, &s->node, s->budget.memory_max },
		{ "tenant", s->tenant->path, &s->tenant->node, s->tenant->budget.memory_max },
		{ "daemon", "/", &ctx->cg.root, ctx->cfg.memory_budget },
	};
	uint64_t own = call->limits.memory_max;

	if (own != AC_UNLIMITED && (u->mem_max > 0 || u->mem_oom > 0) &&
	    u->memory_peak >= own - own / 32) {
		v->level = "call";
		ac_strlcpy(v->path, call->path, sizeof(v->path));
		v->limit = call->limits.memory_max;
		return;
	}
	for (int i = 0; i < 3; i++) {
		struct ac_usage pu = { 0 };

		if (lv[i].limit == AC_UNLIMITED ||
		    ac_cg_read_usage(&ctx->cg, lv[i].node, &pu) < 0 || (!pu.mem_max && !pu.mem_oom))
			continue;
		v->level = lv[i].level;
		ac_strlcpy(v->path, lv[i].path, sizeof(v->path));
		v->limit = lv[i].limit;
		return;
	}
	v->level = "host";
	v->path[0] = 0;
	v->limit = AC_UNLIMITED;
}

bool call_killed_for_pressure(struct acd_ctx *ctx, struct acd_call *call)
{
	struct ac_usage u = { 0 };

	if (call->end.stop == AC_STOP_PRESSURE)
		return !call->end.interrupted;
	if (call->end.stop != AC_STOP_NONE || call->end.exited || call->end.term_signal != SIGKILL)
		return false;
	ac_cg_read_usage_fds(&ctx->cg, &call->node, &call->stats, &u);
	if (!call->end.oom.seen && !u.mem_oom_kill)
		return false;
	if (!call->end.oom.level)
		oom_limit(ctx, call, &u);
	return call->end.oom.level && strcmp(call->end.oom.level, "call") != 0;
}

static json_t *call_result(struct acd_ctx *ctx, struct acd_call *call, json_t **verdict_out)
{
	struct ac_usage u = { 0 };
	json_t *res, *argv = json_array(), *verdict;

	ac_cg_read_usage_fds(&ctx->cg, &call->node, &call->stats, &u);
	if (call->bpf.tracked) {
		u.forks_known = true;
		u.forks = call->bpf.forks;
	}
	if (call->end.oom.seen && !call->end.oom.level)
		oom_limit(ctx, call, &u);
	u.wall_ns = (call->end_ns ? call->end_ns : ac_now_ns()) - call->start_ns;
	call->end.stdout_truncated = call->out.truncated;
	call->end.stderr_truncated = call->err.truncated;
	for (char **a = call->argv; *a; a++)
		json_array_append_new(argv, json_string(*a));
	verdict = ac_verdict_build(&call->intent, &call->limits, &u, &call->end);
	res = json_pack("{s:s, s:i, s:o, s:o, s:o, s:o, s:O}", "path", call->path, "pid",
			(int)call->pid, "argv", argv, "intent", ac_intent_to_json(&call->intent),
			"limits", call_limits_json(&call->limits), "usage", ac_usage_to_json(&u),
			"verdict", verdict);
	acd_adaptive_result(ctx, call, u.memory_peak, json_object_get(res, "intent"));
	if (json_object_get(verdict, "exit"))
		json_object_set(res, "exit", json_object_get(verdict, "exit"));
	if (call->exec.interp)
		exec_result(call, res, verdict);
	if (call->bpf.tracked) {
		json_object_set_new(res, "processes", acd_procs_json(&call->procs));
		json_object_set_new(res, "processes_total", json_integer((json_int_t)call->procs.total));
		if (call->procs.omitted)
			json_object_set_new(res, "processes_omitted",
					    json_integer((json_int_t)call->procs.omitted));
	}
	if (call->capture) {
		json_object_set_new(res, "stdout", call_output_json(&call->out.buf));
		json_object_set_new(res, "stderr", call_output_json(&call->err.buf));
		json_object_set_new(res, "stdout_truncated", json_boolean(call->out.truncated));
		json_object_set_new(res, "stderr_truncated", json_boolean(call->err.truncated));
	}
	*verdict_out = verdict;
	json_decref(verdict);
	return res;
}

/* The verdict in the tenant's counters: its status, and each resource
 * it exceeded (once per call). */
static void count_verdict(struct acd_call *call, const json_t *verdict)
{
	struct acd_tenant_stats *st = &call->session->tenant->stats;
	const char *status = json_string_value(json_object_get(verdict, "status"));
	const json_t *f;
	unsigned seen = 0;
	size_t i;

	st->calls[status && !strcmp(status, "ok")	? ACD_OUT_OK :
		  status && !strcmp(status, "exceeded") ? ACD_OUT_EXCEEDED :
							  ACD_OUT_FAILED]++;
	json_array_foreach(json_object_get(verdict, "exceeded"), i, f) {
		int r = acd_resource_index(json_string_value(json_object_get(f, "resource")));

		if (r >= 0 && !(seen & (1u << r))) {
			seen |= 1u << r;
			st->exceeded[r]++;
		}
	}
}

static void reply_spawn_failed(struct acd_ctx *ctx, struct acd_call *call)
{
	char msg[400];
	int e = -call->spawn_err;

	call->session->tenant->stats.calls[ACD_OUT_SPAWN_FAILED]++;
	snprintf(msg, sizeof(msg), "cannot run '%.200s': %s: %s", call->argv[0], call->spawn_what,
		 strerror(e));
	call->replied = true;
	acd_event(ctx, "call.end", call->path,
		  json_pack("{s:s, s:s}", "status", "failed", "summary", msg));
	acd_reply_error(ctx, call->client, call->req_id, RPC_SPAWN_FAILED, msg,
			json_pack("{s:i, s:s, s:s, s:s}", "errno", e, "message", strerror(e),
				  "step", call->spawn_what, "path", call->path));
}

static void call_reply_result(struct acd_ctx *ctx, struct acd_call *call)
{
	json_t *verdict, *res;

	res = call_result(ctx, call, &verdict);
	json_t *status = json_object_get(verdict, "status");
	json_t *ev = json_pack("{s:O, s:O}", "status", status ? status : json_null(), "summary",
			       json_object_get(verdict, "summary") ?
				       json_object_get(verdict, "summary") : json_null());

	if (json_object_get(verdict, "exit"))
		json_object_set(ev, "exit", json_object_get(verdict, "exit"));
	count_verdict(call, verdict);
	call->replied = true;
	acd_event(ctx, "call.end", call->path, ev);
	if (call->client)
		acd_reply_result(ctx, call->client, call->req_id, res);
	else
		json_decref(res);
}

void call_reply(struct acd_ctx *ctx, struct acd_call *call)
{
	/* The ladder lets go of it (a call frozen for its budget is the
	 * operator's now); its times go into the verdict. */
	acd_contain_call_end(ctx, call);
	if (call->spawn_err < 0)
		reply_spawn_failed(ctx, call);
	else
		call_reply_result(ctx, call);
}

json_t *acd_call_describe(struct acd_ctx *ctx, const struct acd_call *call)
{
	json_t *argv = json_array();
	uint64_t now = ac_now_ns();

	for (char **a = call->argv; a && *a; a++)
		json_array_append_new(argv, json_string(*a));
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:I}", "path", call->path, "kind",
			 "call", "state", acd_call_shown_state(call), "pid",
			 (int)call->pid, "uid", (int)call->uid, "argv", argv, "intent",
			 ac_intent_to_json(&call->intent), "limits", call_limits_json(&call->limits),
			 "elapsed_ms",
			 (json_int_t)(call->start_ns ? ((call->end_ns ? call->end_ns : now) -
							call->start_ns) / 1000000 : 0));
}
