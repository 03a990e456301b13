// SPDX-License-Identifier: GPL-2.0
/* launch_bench: what does it cost to start one short command under
 * memory/cpu/pids limits? Four ways, side by side in one run, interleaved
 * round by round so machine noise hits all of them alike:
 *
 *   (a) bare          fork + execve(/bin/true) + waitpid, no cgroup at all
 *   (b) cgroup-tools  cgcreate, cgset, cgexec /bin/true, cgdelete (Debian's
 *                     cgroup-tools, one process each), same limits
 *   (c) agentcg run   the CLI: `agentcg run /bench/s1 --mem 256M --cpu 0.5
 *                     --pids 32 -- /bin/true`, spawned and waited for
 *   (d) daemon call   one JSON-RPC `call.run` over a connection kept open,
 *                     request written -> reply line read
 *
 * With --build2 DIR a second agentcgd (B, e.g. another revision) is
 * measured as (d2) in the same rounds, its order against (d) alternating.
 *
 * The bench starts its own agentcgd (temp config with a tenant "bench",
 * root agentcg-bench-<pid> under this process's cgroups), stops it with
 * SIGTERM at the end (also on errors and ^C) and checks that no cgroup is
 * left behind. --breakdown adds what the daemon's per-call cost is made of
 * (breakdown.h).
 *
 * Build: make build/bench/launch_bench (see bench/README.md).
 * Run as root: build/bench/launch_bench [-n 1000] [--breakdown] [--json]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breakdown.h"
#include "context.h"
#include "methods.h"
#include "report.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: launch_bench [-n N] [--tools-n N] [--warmup N] [--breakdown] [--json]\n"
		"                    [--micro-n N] [--trace-calls N] [--no-strace] [--build DIR]\n"
		"                    [--config FILE] [--spaced-n N] [--gap-ms MS]\n"
		"                    [--build2 DIR [--config2 FILE]]\n"
		"  -n N            iterations of (a) bare, (c) agentcg run, (d) daemon call (default 1000)\n"
		"  --tools-n N     iterations of (b) cgroup-tools (default max(%d, n/10), at most n)\n"
		"  --warmup N      unrecorded rounds first (default 20)\n"
		"  --breakdown     also measure what the daemon's per-call cost is made of\n"
		"  --micro-n N     iterations of the in-process replica (default 500)\n"
		"  --trace-calls N calls traced with strace -f -T -y (default 200; 0 = no strace)\n"
		"  --spaced-n N    breakdown: (a) and (d) after an idle gap, N each (default 60)\n"
		"  --gap-ms MS     that idle gap (default 100)\n"
		"  --json          the report goes to stderr, one JSON line to stdout\n"
		"  --build DIR     where agentcgd and agentcg are (default build)\n"
		"  --config FILE   config template (default config/agentcgd.json)\n"
		"  --build2 DIR    a second agentcgd (daemon B) measured as (d2) in the same rounds,\n"
		"                  e.g. the build of another revision; --config2 FILE its template\n"
		"Run from the repository root, as root.\n",
		LB_MIN_TOOLS_N);
}

/* Copies an option's value; false if it does not fit. */
static bool set_str(char *dst, size_t len, const char *v)
{
	return ac_strlcpy(dst, v, len) < len;
}

/* 0 to run, otherwise the exit code (help: 0 printed, -1 for "exit 0"). */
static int parse_options(struct lb_options *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tools-n", required_argument, NULL, 't' },  { "warmup", required_argument, NULL, 'w' },
		{ "breakdown", no_argument, NULL, 'B' },      { "json", no_argument, NULL, 'j' },
		{ "micro-n", required_argument, NULL, 'm' },  { "trace-calls", required_argument, NULL, 'T' },
		{ "no-strace", no_argument, NULL, 'S' },      { "build", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },   { "help", no_argument, NULL, 'h' },
		{ "spaced-n", required_argument, NULL, 'p' }, { "gap-ms", required_argument, NULL, 'g' },
		{ "build2", required_argument, NULL, '2' },   { "config2", required_argument, NULL, '3' },
		{ 0 }
	};
	bool ok = true;
	size_t off = 0;
	int opt;

	*o = (struct lb_options){ .n = 1000, .n_tools = -1, .warmup = 20, .micro_n = 500,
				  .trace_calls = 200, .spaced_n = 60, .gap_ms = 100 };
	ac_strlcpy(o->build, "build", sizeof(o->build));
	ac_strlcpy(o->config, "config/agentcgd.json", sizeof(o->config));
	while ((opt = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': o->n = atoi(optarg); break;
		case 't': o->n_tools = atoi(optarg); break;
		case 'w': o->warmup = atoi(optarg); break;
		case 'B': o->breakdown = true; break;
		case 'j': o->json = true; break;
		case 'm': o->micro_n = atoi(optarg); break;
		case 'T': o->trace_calls = atoi(optarg); break;
		case 'S': o->trace_calls = 0; break;
		case 'b': ok &= set_str(o->build, sizeof(o->build), optarg); break;
		case 'c': ok &= set_str(o->config, sizeof(o->config), optarg); break;
		case '2': ok &= set_str(o->build2, sizeof(o->build2), optarg); break;
		case '3': ok &= set_str(o->config2, sizeof(o->config2), optarg); break;
		case 'p': o->spaced_n = atoi(optarg); break;
		case 'g': o->gap_ms = atoi(optarg); break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (!ok || optind < argc || o->n < 1 || o->warmup < 0 || o->micro_n < 1 ||
	    o->trace_calls < 0 || o->spaced_n < 1 || o->gap_ms < 0) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < argc && off < sizeof(o->cmdline); i++)
		off += (size_t)snprintf(o->cmdline + off, sizeof(o->cmdline) - off, "%s%s",
					i ? " " : "", argv[i]);
	if (o->n_tools < 0)
		o->n_tools = o->n / 10 > LB_MIN_TOOLS_N ? o->n / 10 : LB_MIN_TOOLS_N;
	if (o->n_tools > o->n)
		o->n_tools = o->n;
	if (o->n_tools < 1)
		o->n_tools = 1;
	return 0;
}

static void start_daemons(struct lb_ctx *ctx, json_t *J)
{
	for (int i = 0; i < ctx->n_dmn; i++) {
		struct lb_daemon *d = &ctx->dmn[i];
		int r;

		lb_daemon_start(ctx, d);
		if ((r = lb_conn_open(d->c, d->sock)) < 0)
			lb_die(ctx, "connect %s: %s", d->sock, strerror(-r));
		lb_report_daemon(ctx, i, J);
	}
}

static void warm_up(struct lb_ctx *ctx)
{
	for (int r = 0; r < ctx->opt.warmup; r++) {
		lb_check_stop(ctx);
		lb_run_bare(ctx);
		for (int i = 0; i < ctx->n_dmn; i++)
			lb_run_call(ctx, ctx->dmn[i].c, NULL);
		lb_run_cli(ctx);
		if (r < 3)
			lb_run_tools(ctx, 100000 + r, false);
	}
}

/* n rounds of (a), (d) [and (d2), alternating], (c), and (b) every
 * `every` rounds. */
static void measure(struct lb_ctx *ctx, struct lb_results *res, json_t *J)
{
	const struct lb_options *o = &ctx->opt;
	int done_tools = 0;
	uint64_t t_start;

	res->n_tools = o->n_tools;
	res->every = o->n / o->n_tools;
	if (ctx->n_dmn == 2)
		fprintf(ctx->out, "measuring: %d rounds of (a) bare, (d) daemon A and (d2) daemon B (their "
				  "order alternating), (c) agentcg run (daemon A),\n  plus (b) cgroup-tools "
				  "every %d rounds (%d iterations)...\n",
			o->n, res->every, o->n_tools);
	else
		fprintf(ctx->out, "measuring: %d rounds of (a) bare, (d) daemon call, (c) agentcg run, in "
				  "that order, plus (b) cgroup-tools every %d rounds (%d iterations)...\n",
			o->n, res->every, o->n_tools);
	fflush(ctx->out);
	for (int i = 0; i < ctx->n_dmn; i++) {
		res->info0[i] = lb_rpc(ctx, ctx->dmn[i].c, "daemon.info");
		lb_read_proc_cpu(ctx->dmn[i].pid, &res->cpu0[i]);
	}
	t_start = ac_now_ns();
	for (int r = 0; r < o->n; r++) {
		lb_check_stop(ctx);
		lb_push(ctx, &res->bare, lb_run_bare(ctx));
		for (int k = 0; k < ctx->n_dmn; k++) {
			int i = ctx->n_dmn == 2 ? (k + r) % 2 : 0; /* A,B then B,A */
			double ts, total = lb_run_call(ctx, ctx->dmn[i].c, &ts);

			lb_push(ctx, &res->call[i], total);
			lb_push(ctx, &res->call_started[i], ts);
			lb_push(ctx, &res->call_rest[i], total - ts);
		}
		lb_push(ctx, &res->cli, lb_run_cli(ctx));
		if ((r + 1) % res->every == 0 && done_tools < o->n_tools) {
			lb_push(ctx, &res->tools, lb_run_tools(ctx, r, true));
			done_tools++;
		}
		if (isatty(2) && (r + 1) % 100 == 0)
			fprintf(stderr, "\r  round %d/%d", r + 1, o->n);
	}
	if (isatty(2))
		fprintf(stderr, "\r%30s\r", "");
	for (int i = 0; i < ctx->n_dmn; i++) {
		lb_read_proc_cpu(ctx->dmn[i].pid, &res->cpu1[i]);
		res->info1[i] = lb_rpc(ctx, ctx->dmn[i].c, "daemon.info");
	}
	res->seconds = lb_us_between(t_start, ac_now_ns()) / 1e6;
	fprintf(ctx->out, "measured in %.1f s\n\n", res->seconds);
	json_object_set_new(J, "measure_seconds", json_real(res->seconds));
}

int main(int argc, char **argv)
{
	struct lb_ctx *ctx = calloc(1, sizeof(*ctx));
	struct lb_results *res = calloc(1, sizeof(*res));
	json_t *J = json_object();
	size_t left;
	int r;

	if (!ctx || !res || !J)
		return 1;
	ctx->out = stdout;
	r = parse_options(&ctx->opt, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	if (ctx->opt.json)
		ctx->out = stderr;
	if (geteuid() != 0) {
		fprintf(stderr, "launch_bench: must run as root (it creates cgroups and runs agentcgd)\n");
		return 1;
	}
	ac_log_set_prefix("launch_bench");
	ac_log_set_level(AC_LOG_WARN);
	lb_ctx_setup(ctx);
	lb_install_stop_signals();
	if (ctx->n_dmn == 2 && access(ctx->dmn[1].agentcgd, X_OK) < 0)
		lb_die(ctx, "%s missing", ctx->dmn[1].agentcgd);
	if (access(ctx->dmn[0].agentcgd, X_OK) < 0 || access(ctx->agentcg, X_OK) < 0)
		lb_die(ctx, "%s or %s missing: run `make` first (or pass --build DIR)",
		       ctx->dmn[0].agentcgd, ctx->agentcg);
	lb_tools_find(ctx);
	lb_cgroups_open(ctx);
	lb_tools_plan(ctx);

	lb_report_start(ctx, J);
	start_daemons(ctx, J);
	warm_up(ctx);
	measure(ctx, res, J);
	lb_report_methods(ctx, res, J);
	if (ctx->opt.breakdown)
		lb_breakdown_run(ctx, res, J);
	left = lb_report_end(ctx, J);
	if (ctx->opt.json) {
		char *s = json_dumps(J, JSON_COMPACT | JSON_REAL_PRECISION(6));

		printf("%s\n", s);
		free(s);
	}
	json_decref(J);
	return left ? 1 : 0;
}
