// SPDX-License-Identifier: GPL-2.0
/* launch_bench: the report of the measured rounds and of the run. */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cgtools.h"

static void machine_info(struct lb_ctx *ctx, json_t *J)
{
	struct utsname u;
	char mem[64] = "?", date[64];
	FILE *f = fopen("/proc/meminfo", "re");
	time_t t = time(NULL);
	bool hybrid = ctx->cg.hybrid;

	uname(&u);
	if (f) {
		char l[256];

		while (fgets(l, sizeof(l), f))
			if (!strncmp(l, "MemTotal:", 9)) {
				unsigned long long kb = strtoull(l + 9, NULL, 10);

				snprintf(mem, sizeof(mem), "%.1f GiB", (double)kb / 1048576.0);
				break;
			}
		fclose(f);
	}
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(ctx->out, "machine: kernel %s, %ld CPUs, %s RAM, cgroups %s (v1 memory/cpu/pids%s), %s\n",
		u.release, sysconf(_SC_NPROCESSORS_ONLN), mem, hybrid ? "hybrid" : "v2",
		hybrid ? " + v2 tree" : " absent", date);
	json_object_set_new(J, "machine",
			    json_pack("{s:s, s:i, s:s, s:s, s:s}", "kernel", u.release, "nproc",
				      (int)sysconf(_SC_NPROCESSORS_ONLN), "memory", mem, "cgroups",
				      hybrid ? "hybrid" : "v2", "date", date));
}

void lb_report_start(struct lb_ctx *ctx, json_t *J)
{
	fprintf(ctx->out, "launch_bench: %s\n", ctx->opt.cmdline);
	json_object_set_new(J, "bench", json_string("launch"));
	json_object_set_new(J, "command", json_string(ctx->opt.cmdline));
	machine_info(ctx, J);
	for (int h = 0; h < AC_H_COUNT; h++)
		if (h < ctx->cg.n_hier)
			fprintf(ctx->out, "  own cgroup [%s]: %s%s\n", lb_hier_name(h), ctx->cg.mount[h],
				ctx->cg.own[h][0] ? ctx->cg.own[h] : "/");
}

void lb_report_daemon(struct lb_ctx *ctx, int i, json_t *J)
{
	struct lb_daemon *d = &ctx->dmn[i];
	json_t *info = lb_rpc(ctx, d->c, "daemon.info");
	struct stat st;
	char when[64] = "?";

	memset(&st, 0, sizeof(st));
	if (stat(d->agentcgd, &st) == 0)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&st.st_mtime));
	d->has_pool = json_object_get(info, "pool") != NULL;
	fprintf(ctx->out, "agentcgd %s: pid %d, --root %s --socket %s (tenant \"bench\", session %s)\n"
			  "  binary %s (%lld bytes, built %s), version %s, backend %s%s\n",
		d->name, (int)d->pid, d->tag, d->sock, LB_SESSION, d->agentcgd, (long long)st.st_size,
		when, json_string_value(json_object_get(info, "version")) ?: "?",
		json_string_value(json_object_get(info, "backend")) ?: "?",
		d->has_pool ? ", has a call pool" : "");
	json_object_set_new(J, i ? "agentcgd_b" : "agentcgd",
			    json_pack("{s:s, s:I, s:s, s:O?, s:O?, s:O?}", "path", d->agentcgd, "size",
				      (json_int_t)st.st_size, "built", when, "version",
				      json_object_get(info, "version"), "backend",
				      json_object_get(info, "backend"), "pool_at_start",
				      json_object_get(info, "pool")));
	json_decref(info);
}

static void table(struct lb_ctx *ctx, struct lb_results *res)
{
	FILE *out = ctx->out;
	bool two = ctx->n_dmn == 2;
	char l[96];

	fprintf(out, "Launch cost of /bin/true with memory 256M, cpu 0.5, pids 32 (microseconds)\n");
	lb_stat_header(out, "method");
	lb_stat_row(out, "(a) bare fork+exec+wait", res->st_bare);
	lb_fmt(ctx, l, sizeof(l), "(b) cgroup-tools (%d procs/iter)", ctx->tools.procs_per_iter);
	lb_stat_row(out, l, res->st_tools);
	lb_stat_row(out, "(c) agentcg run (CLI process)", res->st_cli);
	lb_stat_row(out, two ? "(d) daemon A call.run, open connection" :
			       "(d) daemon call.run, open connection",
		    res->st_call);
	if (two)
		lb_stat_row(out, "(d2) daemon B call.run, open connection", res->st_call_b);
	fprintf(out, "  (b) ran %d times (every %d rounds; n/10, at least %d): it is slow\n",
		res->n_tools, res->every, LB_MIN_TOOLS_N);
}

static void tools_steps(struct lb_ctx *ctx)
{
	const struct lb_tools *t = &ctx->tools;
	FILE *out = ctx->out;
	char l[96], cl[4096];

	fprintf(out, "\n  (b) per step:\n");
	for (int s = 0; s < LB_T_STEPS; s++) {
		if (s == LB_T_SET && t->n_groups > 1)
			lb_fmt(ctx, l, sizeof(l), "    %s (x%d: one per path)", lb_tools_step_name(s),
			       t->n_groups);
		else if (s == LB_T_DELETE && t->n_delete > 1)
			lb_fmt(ctx, l, sizeof(l), "    %s (x%d, see below)", lb_tools_step_name(s),
			       t->n_delete);
		else
			lb_fmt(ctx, l, sizeof(l), "    %s", lb_tools_step_name(s));
		lb_stat_row(out, l, lb_stats(&t->step[s]));
	}
	lb_tools_command_lines(ctx, cl, sizeof(cl));
	fprintf(out, "  (b) one iteration runs:\n%s", cl);
	if (t->n_groups > 1)
		fprintf(out, "  note: our cgroup differs between hierarchies (memory vs cpu/pids), so cgset "
			     "runs once per distinct path\n");
	if (t->n_delete > 1)
		fprintf(out, "  note: cgdelete (libcgroup 2.0.2) deletes each distinct path only in the first "
			     "controller's hierarchy and exits 0\n"
			     "        (cpu,pids:P leaves pids:P behind), so pids needs a second cgdelete\n");
	if (t->leftovers)
		fprintf(out, "  note: the tools left %d cgroup dirs behind; the bench removed them, untimed\n",
			t->leftovers);
}

static struct lb_stat5 paired(struct lb_ctx *ctx, const struct lb_series *b, const struct lb_series *a)
{
	struct lb_series d = { 0 };
	struct lb_stat5 st;

	if (lb_series_diff(b, a, &d) < 0)
		lb_die(ctx, "out of memory");
	st = lb_stats(&d);
	lb_series_free(&d);
	return st;
}

static void ratios(struct lb_ctx *ctx, struct lb_results *res, json_t *J)
{
	FILE *out = ctx->out;
	struct lb_stat5 a = res->st_bare, b = res->st_tools, c = res->st_cli, d = res->st_call;
	double ov_med = d.med - a.med, ov_p99 = d.p99 - a.p99;
	double r_bc = c.med > 0 ? b.med / c.med : 0;
	double r_ca = a.med > 0 ? c.med / a.med : 0;
	double r_da = a.med > 0 ? d.med / a.med : 0;
	bool t1 = ov_med <= 100, t2 = ov_p99 <= 1000, t3 = r_bc >= 3;
	struct lb_stat5 ps = paired(ctx, &res->call[0], &res->bare);

	fprintf(out, "\nRatios and targets\n");
	fprintf(out, "  daemon overhead (d)-(a), median   %8.1f us   target <= 100 us : %s\n", ov_med,
		t1 ? "MET" : "NOT MET");
	fprintf(out, "  daemon overhead (d)-(a), p99      %8.1f us   target <= 1000 us: %s\n", ov_p99,
		t2 ? "MET" : "NOT MET");
	fprintf(out, "  (b)/(c) median  cgroup-tools / agentcg run  %6.2fx  target >= 3x: %s\n", r_bc,
		t3 ? "MET" : "NOT MET");
	fprintf(out, "  (c)/(a) median  agentcg run / bare          %6.2fx\n", r_ca);
	fprintf(out, "  (d)/(a) median  daemon call / bare          %6.2fx\n", r_da);
	fprintf(out, "  paired per round, (d)-(a) of the same round: median %.1f us, p90 %.1f us, "
		     "p99 %.1f us\n",
		ps.med, ps.p90, ps.p99);
	json_object_set_new(J, "paired_overhead", lb_stat_json(ps));
	json_object_set_new(J, "ratios",
			    json_pack("{s:f, s:f, s:f, s:f, s:f}", "overhead_median_us", ov_med,
				      "overhead_p99_us", ov_p99, "tools_over_run_median", r_bc,
				      "run_over_bare_median", r_ca, "call_over_bare_median", r_da));
	json_object_set_new(J, "targets",
			    json_pack("{s:b, s:b, s:b}", "overhead_median_le_100us", t1,
				      "overhead_p99_le_1000us", t2, "run_ge_3x_faster_than_tools", t3));
}

static void daemon_b(struct lb_ctx *ctx, struct lb_results *res, json_t *J)
{
	struct lb_stat5 a = res->st_bare, d = res->st_call, d2 = res->st_call_b;
	double o2m = d2.med - a.med, o2p = d2.p99 - a.p99;
	struct lb_stat5 ps = paired(ctx, &res->call[1], &res->bare);

	fprintf(ctx->out, "\n  daemon B: overhead (d2)-(a) median %8.1f us (target <= 100 us: %s), p99 "
			  "%.1f us (target <= 1000 us: %s)\n",
		o2m, o2m <= 100 ? "MET" : "NOT MET", o2p, o2p <= 1000 ? "MET" : "NOT MET");
	fprintf(ctx->out, "  (d2)/(a) median %.2fx; (d2)/(d) median %.2fx, p99 %.2fx; paired (d2)-(a): "
			  "median %.1f us, p90 %.1f us, p99 %.1f us\n",
		d2.med / a.med, d2.med / d.med, d2.p99 / d.p99, ps.med, ps.p90, ps.p99);
	json_object_set_new(J, "daemon_b_call_phases",
			    json_pack("{s:o, s:o}", "to_call_started",
				      lb_stat_json(lb_stats(&res->call_started[1])), "started_to_reply",
				      lb_stat_json(lb_stats(&res->call_rest[1]))));
	json_object_set_new(J, "ratios_b",
			    json_pack("{s:f, s:f, s:f, s:f, s:o}", "overhead_median_us", o2m,
				      "overhead_p99_us", o2p, "call_b_over_bare_median", d2.med / a.med,
				      "call_b_over_call_a_median", d2.med / d.med, "paired_overhead",
				      lb_stat_json(ps)));
	json_object_set_new(J, "targets_b",
			    json_pack("{s:b, s:b}", "overhead_median_le_100us", o2m <= 100,
				      "overhead_p99_le_1000us", o2p <= 1000));
}

static void methods_json(struct lb_ctx *ctx, struct lb_results *res, json_t *J)
{
	const struct lb_tools *t = &ctx->tools;
	json_t *jm = json_object();

	json_object_set_new(jm, "bare", lb_stat_json(res->st_bare));
	json_object_set_new(jm, "cgroup_tools", lb_stat_json(res->st_tools));
	json_object_set_new(jm, "agentcg_run", lb_stat_json(res->st_cli));
	json_object_set_new(jm, "daemon_call", lb_stat_json(res->st_call));
	if (ctx->n_dmn == 2)
		json_object_set_new(jm, "daemon_b_call", lb_stat_json(res->st_call_b));
	json_object_set_new(J, "methods", jm);
	json_object_set_new(J, "n", json_integer(ctx->opt.n));
	json_object_set_new(J, "n_tools", json_integer(res->n_tools));
	json_object_set_new(J, "warmup", json_integer(ctx->opt.warmup));
	json_object_set_new(J, "order", json_string("a,d,c per round; b every n/n_tools rounds"));
	jm = json_object();
	for (int s = 0; s < LB_T_STEPS; s++)
		json_object_set_new(jm, lb_tools_step_name(s), lb_stat_json(lb_stats(&t->step[s])));
	json_object_set_new(J, "cgroup_tools_steps", jm);
	json_object_set_new(J, "cgroup_tools_procs_per_iter", json_integer(t->procs_per_iter));
	json_object_set_new(J, "cgdelete_leftover_dirs", json_integer(t->leftovers));
	json_object_set_new(J, "daemon_call_phases",
			    json_pack("{s:o, s:o}", "to_call_started",
				      lb_stat_json(lb_stats(&res->call_started[0])), "started_to_reply",
				      lb_stat_json(lb_stats(&res->call_rest[0]))));
}

/* The daemons' call pools, if they have one, over the measured rounds. */
static void pools(struct lb_ctx *ctx, struct lb_results *res, json_t *J)
{
	for (int i = 0; i < ctx->n_dmn; i++) {
		json_t *p0 = json_object_get(res->info0[i], "pool");
		json_t *p1 = json_object_get(res->info1[i], "pool");

		if (p0 && p1) {
			json_int_t h = json_integer_value(json_object_get(p1, "hits")) -
				       json_integer_value(json_object_get(p0, "hits"));
			json_int_t m = json_integer_value(json_object_get(p1, "misses")) -
				       json_integer_value(json_object_get(p0, "misses"));

			fprintf(ctx->out, "\nagentcgd %s call pool (size %lld) over the measured rounds: "
					  "%lld hits, %lld misses",
				ctx->dmn[i].name, (long long)json_integer_value(json_object_get(p1, "size")),
				(long long)h, (long long)m);
			json_object_set_new(J, i ? "pool_measured_b" : "pool_measured",
					    json_pack("{s:I, s:I}", "hits", h, "misses", m));
		}
		json_decref(res->info0[i]);
		json_decref(res->info1[i]);
		res->info0[i] = res->info1[i] = NULL;
	}
	fprintf(ctx->out, "\n");
}

static void daemon_cpu(struct lb_ctx *ctx, const struct lb_results *res, json_t *J)
{
	for (int i = 0; i < ctx->n_dmn; i++) {
		const struct lb_proc_cpu *c0 = &res->cpu0[i], *c1 = &res->cpu1[i];
		long hz = sysconf(_SC_CLK_TCK);
		double calls = i ? (double)ctx->opt.n : 2.0 * ctx->opt.n, tick_us = 1e6 / (double)hz;
		double u = (double)(c1->utime - c0->utime) * tick_us / calls;
		double sy = (double)(c1->stime - c0->stime) * tick_us / calls;
		double ch = (double)(c1->cutime + c1->cstime - c0->cutime - c0->cstime) * tick_us / calls;
		double sc = (double)(c1->sched_ns - c0->sched_ns) / 1000.0 / calls;

		fprintf(ctx->out, "agentcgd %s CPU per call (over its %.0f %s calls; tick %.0f us): user "
				  "%.1f us, system %.1f us (on-CPU by schedstat %.1f us); its children "
				  "(pre-exec + /bin/true) %.1f us\n",
			ctx->dmn[i].name, calls, i ? "(d2)" : "(c)+(d)", tick_us, u, sy, sc, ch);
		json_object_set_new(J, i ? "daemon_b_cpu_per_call_us" : "daemon_cpu_per_call_us",
				    json_pack("{s:f, s:f, s:f, s:f}", "user", u, "system", sy, "schedstat",
					      sc, "children", ch));
	}
}

void lb_report_methods(struct lb_ctx *ctx, struct lb_results *res, json_t *J)
{
	res->st_bare = lb_stats(&res->bare);
	res->st_tools = lb_stats(&res->tools);
	res->st_cli = lb_stats(&res->cli);
	res->st_call = lb_stats(&res->call[0]);
	if (ctx->n_dmn == 2)
		res->st_call_b = lb_stats(&res->call[1]);
	table(ctx, res);
	tools_steps(ctx);
	for (int i = 0; i < ctx->n_dmn; i++) {
		fprintf(ctx->out, "\n  (%s) as the client sees it:\n", i ? "d2" : "d");
		lb_stat_row(ctx->out, "    request -> call.started notification",
			    lb_stats(&res->call_started[i]));
		lb_stat_row(ctx->out, "    call.started -> reply", lb_stats(&res->call_rest[i]));
	}
	ratios(ctx, res, J);
	methods_json(ctx, res, J);
	if (ctx->n_dmn == 2)
		daemon_b(ctx, res, J);
	pools(ctx, res, J);
	daemon_cpu(ctx, res, J);
}

size_t lb_report_end(struct lb_ctx *ctx, json_t *J)
{
	FILE *out = ctx->out;
	json_t *jl = json_array(), *v;
	size_t left, i;

	for (int k = 0; k < ctx->n_dmn; k++) {
		struct lb_daemon *d = &ctx->dmn[k];
		json_t *info = lb_rpc(ctx, d->c, "daemon.info");
		json_t *pool = json_object_get(info, "pool");

		if (pool) {
			char *ps = json_dumps(pool, JSON_COMPACT);

			fprintf(out, "\nagentcgd %s call pool at the end: %s", d->name, ps);
			free(ps);
			json_object_set(J, k ? "pool_at_end_b" : "pool_at_end", pool);
		}
		json_decref(info);
		lb_conn_close(d->c);
	}
	fprintf(out, "\n");
	for (int k = 0; k < ctx->n_dmn; k++) {
		struct lb_daemon *d = &ctx->dmn[k];
		char st[128];

		lb_daemon_stop(d);
		lb_describe_status(d->status, st, sizeof(st));
		fprintf(out, "agentcgd %s stopped with SIGTERM: %s\n", d->name, st);
		json_object_set_new(J, k ? "daemon_b_exit" : "daemon_exit", json_string(st));
	}
	lb_cgroups_remove_tools(ctx);
	lb_cgroups_leftovers(ctx, jl);
	left = json_array_size(jl);
	fprintf(out, "leftover cgroups: ");
	if (!left) {
		fprintf(out, "none (checked %s, %s%s%s in every hierarchy)\n", ctx->cg.tools_tag,
			ctx->dmn[0].tag, ctx->n_dmn == 2 ? " and " : "",
			ctx->n_dmn == 2 ? ctx->dmn[1].tag : "");
	} else {
		fprintf(out, "%zu\n", left);
		json_array_foreach(jl, i, v)
			fprintf(out, "  LEFT BEHIND: %s\n", json_string_value(v));
	}
	json_object_set_new(J, "leftover_cgroups", jl);
	lb_cleanup(ctx);
	for (int k = 0; k < ctx->n_dmn; k++)
		unlink(ctx->dmn[k].dlog);
	return left;
}
