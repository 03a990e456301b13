// SPDX-License-Identifier: GPL-2.0
/* launch_bench: (b) cgroup-tools. */
#include "cgtools.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "context.h"
#include "proc.h"

static const char *const step_name[LB_T_STEPS] = { "cgcreate", "cgset", "cgexec /bin/true",
						    "cgdelete" };
static const char *const controller[3] = { "memory", "cpu", "pids" };

const char *lb_tools_step_name(enum lb_tool_step s)
{
	return step_name[s];
}

/* An argv built in a bounded store. */
struct argvb {
	char *v[64];
	int n;
	char store[16384];
	size_t used;
};

static void av_reset(struct argvb *a)
{
	a->n = 0;
	a->used = 0;
	a->v[0] = NULL;
}

static void av_add(struct lb_ctx *ctx, struct argvb *a, const char *fmt, ...) AC_PRINTF(3, 4);
static void av_add(struct lb_ctx *ctx, struct argvb *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->n + 1 >= (int)AC_ARRAY_SIZE(a->v))
		lb_die(ctx, "internal: too many arguments");
	va_start(ap, fmt);
	n = vsnprintf(a->store + a->used, sizeof(a->store) - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->store) - a->used)
		lb_die(ctx, "internal: arguments too long");
	a->v[a->n++] = a->store + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)n + 1;
}

void lb_tools_find(struct lb_ctx *ctx)
{
	static const char *const names[LB_T_STEPS] = { "cgcreate", "cgset", "cgexec", "cgdelete" };
	static const char *const dirs[] = { "/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin" };
	struct lb_tools *t = &ctx->tools;

	for (int i = 0; i < LB_T_STEPS; i++) {
		t->bin[i][0] = '\0';
		for (size_t d = 0; d < AC_ARRAY_SIZE(dirs); d++) {
			char p[64];

			lb_fmt(ctx, p, sizeof(p), "%s/%s", dirs[d], names[i]);
			if (access(p, X_OK) == 0) {
				lb_fmt(ctx, t->bin[i], sizeof(t->bin[i]), "%s", p);
				break;
			}
		}
		if (!t->bin[i][0])
			lb_die(ctx, "%s not found: apt-get install cgroup-tools", names[i]);
	}
}

void lb_tools_plan(struct lb_ctx *ctx)
{
	static const char *const v1_set[3] = { "memory.limit_in_bytes=256M", "cpu.cfs_quota_us=50000",
					       "pids.max=32" };
	static const char *const v2_set[3] = { "memory.max=256M", "cpu.max=50000 100000",
					       "pids.max=32" };
	struct lb_tools *t = &ctx->tools;
	bool hybrid = ctx->cg.hybrid;

	t->n_groups = 0;
	for (int c = 0; c < 3; c++) {
		int h = hybrid ? AC_H_MEMORY + c : AC_H_UNIFIED;
		struct lb_tool_group *g;
		char rel[1200];
		int k;

		lb_fmt(ctx, rel, sizeof(rel), "%s/%s", ctx->cg.own[h], ctx->cg.tools_tag);
		for (k = 0; k < t->n_groups; k++)
			if (!strcmp(t->g[k].rel, rel))
				break;
		g = &t->g[k];
		if (k == t->n_groups) {
			memset(g, 0, sizeof(*g));
			lb_fmt(ctx, g->rel, sizeof(g->rel), "%s", rel);
			t->n_groups++;
		}
		lb_fmt(ctx, g->ctrls + strlen(g->ctrls), sizeof(g->ctrls) - strlen(g->ctrls), "%s%s",
		       g->n_cl ? "," : "", controller[c]);
		g->cl[g->n_cl++] = controller[c];
		lb_fmt(ctx, g->sets[g->n_sets++], sizeof(g->sets[0]), "%s", hybrid ? v1_set[c] : v2_set[c]);
	}
	/* cgdelete (libcgroup 2.0.2) removes each distinct path once, in the
	 * hierarchy of the first controller naming it: with cpu and pids on
	 * separate v1 mounts at the same path, `-g cpu,pids:P` (or `-g cpu:P
	 * -g pids:P`) leaves pids:P behind and still exits 0. So invocation k
	 * deletes the k-th controller of every group. */
	t->n_delete = 1;
	if (hybrid)
		for (int k = 0; k < t->n_groups; k++)
			if (t->g[k].n_cl > t->n_delete)
				t->n_delete = t->g[k].n_cl;
	t->procs_per_iter = 2 + t->n_groups + t->n_delete;
	for (int s = 0; s < LB_T_STEPS; s++)
		t->step[s].name = step_name[s];
}

/* The arguments of step s (its rep-th invocation) for cgroup c<i>, or for
 * the placeholder "c<i>" when i < 0. */
static void step_args(struct lb_ctx *ctx, struct argvb *a, enum lb_tool_step s, int rep, int i)
{
	const struct lb_tools *t = &ctx->tools;
	bool hybrid = ctx->cg.hybrid;
	char leaf[32];

	if (i < 0)
		lb_fmt(ctx, leaf, sizeof(leaf), "c<i>");
	else
		lb_fmt(ctx, leaf, sizeof(leaf), "c%d", i);
	if (s == LB_T_SET) {
		const struct lb_tool_group *g = &t->g[rep];

		for (int k = 0; k < g->n_sets; k++) {
			av_add(ctx, a, "-r");
			av_add(ctx, a, "%s", g->sets[k]);
		}
		av_add(ctx, a, "%s/%s", g->rel, leaf);
		return;
	}
	for (int k = 0; k < t->n_groups; k++) {
		const struct lb_tool_group *g = &t->g[k];

		if (s == LB_T_DELETE && hybrid) { /* see n_delete */
			if (rep >= g->n_cl)
				continue;
			av_add(ctx, a, "-g");
			av_add(ctx, a, "%s:%s/%s", g->cl[rep], g->rel, leaf);
			continue;
		}
		av_add(ctx, a, "-g");
		av_add(ctx, a, "%s:%s/%s", g->ctrls, g->rel, leaf);
	}
	if (s == LB_T_EXEC)
		av_add(ctx, a, LB_TRUE_BIN);
}

static int step_reps(const struct lb_tools *t, enum lb_tool_step s)
{
	return s == LB_T_SET ? t->n_groups : s == LB_T_DELETE ? t->n_delete : 1;
}

void lb_tools_command_lines(struct lb_ctx *ctx, char *buf, size_t len)
{
	struct lb_tools *t = &ctx->tools;
	struct argvb a;
	size_t off = 0;

	buf[0] = '\0';
	for (int s = 0; s < LB_T_STEPS; s++)
		for (int r = 0; r < step_reps(t, s); r++) {
			av_reset(&a);
			av_add(ctx, &a, "%s", strrchr(t->bin[s], '/') + 1);
			step_args(ctx, &a, s, r, -1);
			off += (size_t)snprintf(buf + off, len - off, "    $");
			for (int k = 0; k < a.n && off < len; k++)
				off += (size_t)snprintf(buf + off, len - off,
							strchr(a.v[k], ' ') ? " '%s'" : " %s", a.v[k]);
			if (off < len)
				off += (size_t)snprintf(buf + off, len - off, "\n");
			if (off >= len)
				return;
		}
}

double lb_run_tools(struct lb_ctx *ctx, int i, bool record)
{
	static const char *const what[LB_T_STEPS] = { "cgcreate", "cgset", "cgexec", "cgdelete" };
	struct lb_tools *t = &ctx->tools;
	double step[LB_T_STEPS] = { 0 };
	uint64_t tall0, tall1;
	struct argvb a;

	tall0 = ac_now_ns();
	for (int s = 0; s < LB_T_STEPS; s++)
		for (int r = 0; r < step_reps(t, s); r++) {
			uint64_t t0, t1;
			int st;

			av_reset(&a);
			av_add(ctx, &a, "%s", t->bin[s]);
			step_args(ctx, &a, s, r, i);
			t0 = ac_now_ns();
			st = lb_spawn_wait(ctx, a.v, ctx->toolerr_fd);
			t1 = ac_now_ns();
			lb_require_ok(ctx, st, what[s]);
			step[s] += lb_us_between(t0, t1);
		}
	tall1 = ac_now_ns();

	/* Untimed: check that the tools removed everything. */
	for (int c = 0; c < 3; c++) {
		int h = ctx->cg.hybrid ? AC_H_MEMORY + c : AC_H_UNIFIED;
		char p[1500], name[32];
		struct stat st;

		lb_fmt(ctx, name, sizeof(name), "c%d", i);
		lb_cgroups_path(ctx, h, ctx->cg.tools_tag, p, sizeof(p));
		lb_fmt(ctx, p + strlen(p), sizeof(p) - strlen(p), "/%s", name);
		if (stat(p, &st) == 0) {
			if (record)
				t->leftovers++;
			lb_rmdir_retry(lb_cgroups_tools_fd(ctx, h), name);
		}
	}
	if (record)
		for (int s = 0; s < LB_T_STEPS; s++)
			lb_push(ctx, &t->step[s], step[s]);
	return lb_us_between(tall0, tall1);
}
