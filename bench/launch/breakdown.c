// SPDX-License-Identifier: GPL-2.0
/* launch_bench: the breakdown driver and [1], [2], [6]. */
#include "breakdown.h"

#include <stdio.h>
#include <unistd.h>

#include "context.h"
#include "methods.h"
#include "micro.h"
#include "replica.h"
#include "report.h"
#include "trace.h"

#define BACK_TO_BACK_CALLS 200

static void back_to_back(struct lb_ctx *ctx, json_t *jb)
{
	struct lb_series s[LB_DAEMONS_MAX] = { { 0 } };
	FILE *out = ctx->out;

	for (int i = 0; i < BACK_TO_BACK_CALLS; i++) {
		lb_check_stop(ctx);
		for (int k = 0; k < ctx->n_dmn; k++)
			lb_push(ctx, &s[k], lb_run_call(ctx, ctx->dmn[k].c, NULL));
	}
	fprintf(out, "\n[1] (d) back to back (%d calls, no pause: what the daemon does after a "
		     "reply can delay the next request)\n",
		BACK_TO_BACK_CALLS);
	lb_stat_header(out, "");
	for (int k = 0; k < ctx->n_dmn; k++) {
		struct lb_stat5 st = lb_stats(&s[k]);

		lb_stat_row(out, k ? "(d2) daemon B back-to-back" :
			    ctx->n_dmn == 2 ? "(d) daemon A back-to-back" : "(d) back-to-back",
			    st);
		json_object_set_new(jb, k ? "daemon_b_call_back_to_back" : "daemon_call_back_to_back",
				    lb_stat_json(st));
		lb_series_free(&s[k]);
	}
}

static void after_idle(struct lb_ctx *ctx, json_t *jb)
{
	const struct lb_options *o = &ctx->opt;
	struct lb_series a = { 0 }, d[LB_DAEMONS_MAX] = { { 0 } };
	struct lb_series ds[LB_DAEMONS_MAX] = { { 0 } }, dr[LB_DAEMONS_MAX] = { { 0 } };
	FILE *out = ctx->out;
	struct lb_stat5 sa;

	fprintf(out, "\n[2] Calls after %d ms of idleness (as an agent's calls come, seconds apart), "
		     "%d each, (a) and (d)%s alternating\n",
		o->gap_ms, o->spaced_n, ctx->n_dmn == 2 ? " and (d2)" : "");
	fflush(out);
	for (int i = 0; i < o->spaced_n; i++) {
		lb_check_stop(ctx);
		usleep((useconds_t)o->gap_ms * 1000);
		lb_push(ctx, &a, lb_run_bare(ctx));
		for (int k = 0; k < ctx->n_dmn; k++) {
			double t;

			usleep((useconds_t)o->gap_ms * 1000);
			lb_push(ctx, &d[k], lb_run_call(ctx, ctx->dmn[k].c, &t));
			lb_push(ctx, &ds[k], t);
			lb_push(ctx, &dr[k], lb_series_last(&d[k]) - t);
		}
	}
	sa = lb_stats(&a);
	lb_stat_header(out, "");
	lb_stat_row(out, "(a) bare, after idle", sa);
	for (int k = 0; k < ctx->n_dmn; k++) {
		struct lb_stat5 sd = lb_stats(&d[k]), sds = lb_stats(&ds[k]), sdr = lb_stats(&dr[k]);
		char l[96];

		lb_fmt(ctx, l, sizeof(l), "%s, after idle",
		       k ? "(d2) daemon B call" : ctx->n_dmn == 2 ? "(d) daemon A call" : "(d) daemon call");
		lb_stat_row(out, l, sd);
		lb_stat_row(out, "    request -> call.started notification", sds);
		lb_stat_row(out, "    call.started -> reply", sdr);
		fprintf(out, "  overhead %s-(a) after idle: median %.1f us (target <= 100: %s), p99 %.1f "
			     "us (target <= 1000: %s)\n",
			k ? "(d2)" : "(d)", sd.med - sa.med, sd.med - sa.med <= 100 ? "MET" : "NOT MET",
			sd.p99 - sa.p99, sd.p99 - sa.p99 <= 1000 ? "MET" : "NOT MET");
		json_object_set_new(jb, k ? "spaced_b" : "spaced",
				    json_pack("{s:i, s:i, s:o, s:o, s:o, s:o, s:f, s:f}", "gap_ms",
					      o->gap_ms, "n", o->spaced_n, "bare", lb_stat_json(sa),
					      "daemon_call", lb_stat_json(sd), "to_call_started",
					      lb_stat_json(sds), "started_to_reply", lb_stat_json(sdr),
					      "overhead_median_us", sd.med - sa.med, "overhead_p99_us",
					      sd.p99 - sa.p99));
		lb_series_free(&d[k]);
		lb_series_free(&ds[k]);
		lb_series_free(&dr[k]);
	}
	lb_series_free(&a);
}

static void attribution(struct lb_ctx *ctx, const struct lb_results *res,
			const struct lb_replica_sums *r, const struct lb_userspace_costs *m,
			json_t *jb)
{
	FILE *out = ctx->out;
	double json = m->json_parse_req.med + m->json_parse_reply.med + m->json_dump_reply.med;
	double ipc = m->ipc_rtt.med;
	double sum = r->mkdir_open + r->limit_writes + r->opens + r->spawn_extra + r->post_exit +
		     json + ipc;
	double ov = res->st_call.med - res->st_bare.med;

	fprintf(out, "\n[6] Attribution of the median daemon overhead (d)-(a) = %.1f us, back to back "
		     "(sums of the medians above; approximate)\n",
		ov);
	if (ctx->dmn[0].has_pool)
		fprintf(out, "  this agentcgd has a call pool: the cgroup and spawn steps below mostly "
			     "run before the request, so\n  they add up to more than (d)-(a); the list "
			     "is what a request pays on a pool miss\n");
	fprintf(out, "  %-66s %8.1f us\n", "mkdir+open of the call dir in each hierarchy", r->mkdir_open);
	fprintf(out, "  %-66s %8.1f us\n", "4 limit writes (open+write+close each)", r->limit_writes);
	fprintf(out, "  %-66s %8.1f us\n", "open stat files + cgroup.procs x3, capture pipes; closes", r->opens);
	fprintf(out, "  %-66s %8.1f us\n", "spawn: ac_stub_start/exec + stub joins/setup, minus bare fork",
		r->spawn_extra);
	fprintf(out, "  %-66s %8.1f us\n", "populated + usage reads after the exit", r->post_exit);
	fprintf(out, "  %-66s %8.1f us\n", "JSON: parse request, build + dump reply", json);
	fprintf(out, "  %-66s %8.1f us\n", "socket round trip (2 cross-process wake-ups)", ipc);
	fprintf(out, "  %-66s %8.1f us\n", "sum", sum);
	fprintf(out, "  %-66s %8.1f us\n", "rest (epoll loop turns, call.started, events, scheduling)",
		ov - sum);
	fprintf(out, "  %-66s %8.1f us\n", "(off the path) rmdir x4 after the reply", r->rmdir);
	fprintf(out, "  %-66s %8.1f us\n",
		"after idle: extra in the stub's v1 cgroup.procs writes (median)", r->join_extra_idle);
	json_object_set_new(jb, "attribution_us",
			    json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
				      "overhead_median", ov, "mkdir_open", r->mkdir_open, "limit_writes",
				      r->limit_writes, "open_close_procs_pipes", r->opens,
				      "spawn_extra", r->spawn_extra, "post_exit_reads", r->post_exit,
				      "json", json, "socket_rtt", ipc, "unattributed", ov - sum,
				      "rmdir_after_reply", r->rmdir, "v1_join_extra_after_idle",
				      r->join_extra_idle));
}

void lb_breakdown_run(struct lb_ctx *ctx, const struct lb_results *res, json_t *J)
{
	json_t *jb = json_object();
	struct lb_replica_sums sums;
	struct lb_userspace_costs mi;

	fprintf(ctx->out, "\n==== Breakdown: what the daemon's per-call cost is made of ====\n");
	back_to_back(ctx, jb);
	after_idle(ctx, jb);
	lb_replica_run(ctx, jb, &sums);
	lb_micro_gaps_run(ctx, jb);
	/* the longest reply so far: [1] and [2] may have replaced it */
	lb_micro_userspace_run(ctx, ctx->dmn[0].c->last_reply ? ctx->dmn[0].c->last_reply : "{}",
			       jb, &mi);
	attribution(ctx, res, &sums, &mi, jb);
	if (ctx->opt.trace_calls > 0)
		lb_trace_run(ctx, ctx->opt.trace_calls, jb);
	json_object_set_new(J, "breakdown", jb);
}
