// SPDX-License-Identifier: GPL-2.0
/* Priority classes (high, normal, low): what each session's class writes
 * to its cgroup, and the OOM killer's preference for its processes.
 *
 *  - cpu.weight (v2) / cpu.shares (v1) of the session;
 *  - memory.low of a protected (high) session: its budget, or failing
 *    that its tenant's or the root's; the tenant and the root get the sum
 *    of their protected sessions' memory.low, since a child is protected
 *    only as far as its parent is. On v1 there is no memory.low: an
 *    unprotected session gets soft limit 0, so global reclaim takes from
 *    it first;
 *  - oom_score_adj of every call's processes by the call's class, and of
 *    interpreters interpreter_oom_score_offset below the lowest class's
 *    score, so below every call of any class (the ladder never kills an
 *    interpreter; for the kernel's OOM killer a call goes before any
 *    session's state, and a high-priority call after every lower class). The shipped
 *    values are 0 and up: lowering a score needs CAP_SYS_RESOURCE, which
 *    a container or sandbox may not grant, and a higher score only makes
 *    the daemon's own processes go before the host's.
 * Nothing here runs when containment is disabled. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "priority.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* memory.low a session of its class gets (0: not protected). */
static uint64_t session_low(const struct acd_ctx *ctx, const struct acd_session *s)
{
	uint64_t low;

	if (!ctx->cfg.contain.cls[s->priority].protect)
		return 0;
	low = min_u64(s->budget.memory_max, s->tenant->budget.memory_max);
	low = min_u64(low, ctx->cfg.memory_budget);
	return low;
}

/* The tenant's and the root's memory.low: the sums below them. */
static void update_sums(struct acd_ctx *ctx)
{
	uint64_t root_sum = 0;

	if (!ac_cg_has_memory_low(&ctx->cg))
		return;
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next) {
		uint64_t sum = 0;

		for (struct acd_session *s = t->sessions; s; s = s->next) {
			uint64_t l = session_low(ctx, s);

			sum = l == AC_UNLIMITED || sum + l < sum ? AC_UNLIMITED : sum + l;
		}
		sum = min_u64(sum, t->budget.memory_max);
		if (sum != t->memory_low) {
			int r = ac_cg_set_memory_low(&ctx->cg, &t->node, sum);

			if (r < 0)
				ac_log_errno(r, "memory.low of %s", t->path);
			else
				t->memory_low = sum;
		}
		root_sum = sum == AC_UNLIMITED || root_sum + sum < root_sum ? AC_UNLIMITED :
									      root_sum + sum;
	}
	root_sum = min_u64(root_sum, ctx->cfg.memory_budget);
	if (root_sum != ctx->root_memory_low) {
		int r = ac_cg_set_memory_low(&ctx->cg, &ctx->cg.root, root_sum);

		if (r < 0)
			ac_log_errno(r, "memory.low of the root");
		else
			ctx->root_memory_low = root_sum;
	}
}

int acd_prio_session_apply(struct acd_ctx *ctx, struct acd_session *s)
{
	const struct ac_prio_class *pc = &ctx->cfg.contain.cls[s->priority];
	int r;

	if (!acd_contain_enabled(ctx))
		return 0;
	r = ac_cg_set_priority(&ctx->cg, &s->node, pc->cpu_weight, session_low(ctx, s),
			       pc->protect);
	if (r < 0)
		return ac_log_errno(r, "cannot write the %s priority of %s",
				    ac_priority_name(s->priority), s->path);
	update_sums(ctx);
	return 0;
}

void acd_prio_session_gone(struct acd_ctx *ctx)
{
	if (acd_contain_enabled(ctx))
		update_sums(ctx);
}

int acd_prio_oom_adj(pid_t pid, int adj)
{
	char path[64], val[16];
	int fd, n, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(val, sizeof(val), "%d", adj);
	if (write(fd, val, (size_t)n) != n)
		r = -errno;
	close(fd);
	return r;
}

void acd_prio_process(struct acd_ctx *ctx, enum ac_priority prio, pid_t pid)
{
	int r;

	if (!acd_contain_enabled(ctx) || pid <= 0)
		return;
	r = acd_prio_oom_adj(pid, ctx->cfg.contain.cls[prio].oom_score_adj);
	if (r < 0 && r != -ESRCH)
		ac_log_errno(r, "oom_score_adj of process %d", (int)pid);
}

/* The lowest class's score plus the interpreters' offset: what holds
 * nothing a kill would give back, or what must not be lost, goes last. */
static int idle_score(const struct acd_ctx *ctx)
{
	const struct ac_prio_class *c = ctx->cfg.contain.cls;
	int m = c[0].oom_score_adj;

	for (int p = 1; p < 3; p++)
		if (c[p].oom_score_adj < m)
			m = c[p].oom_score_adj;
	m += ctx->cfg.contain.interp_oom_score_offset;
	return m < -999 ? -999 : m > 1000 ? 1000 : m;
}

void acd_prio_idle_process(struct acd_ctx *ctx, pid_t pid)
{
	int r;

	if (!acd_contain_enabled(ctx) || pid <= 0)
		return;
	r = acd_prio_oom_adj(pid, idle_score(ctx));
	if (r < 0 && r != -ESRCH)
		ac_log_errno(r, "oom_score_adj of waiting stub %d", (int)pid);
}

/* oom_score_adj of kid, a direct child of parent, if it still is that
 * one: its parent checked through a pidfd taken first, and the pidfd
 * still live after the write (so the pid was kid's all along). */
static void child_adj(pid_t parent, pid_t kid, int adj)
{
	int pidfd = (int)syscall(SYS_pidfd_open, kid, 0);

	if (pidfd < 0)
		return;
	if (ac_proc_ppid(kid) == (int)parent && acd_prio_oom_adj(kid, adj) == 0 &&
	    syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		ac_debug("process %d went while its oom_score_adj was written", (int)kid);
	close(pidfd);
}

/* adj for pid (the caller's own child) and its direct children (a bash
 * runner's bash, a cell's commands started from the runner). */
static void tree_adj(pid_t pid, int adj)
{
	char path[64], buf[1024];
	int fd, r;
	ssize_t n;

	r = acd_prio_oom_adj(pid, adj);
	if (r < 0) {
		if (r != -ESRCH)
			ac_log_errno(r, "oom_score_adj of interpreter %d", (int)pid);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
		child_adj(pid, (pid_t)atoi(tok), adj);
}

void acd_prio_cell_begin(struct acd_ctx *ctx, pid_t pid, enum ac_priority prio)
{
	if (acd_contain_enabled(ctx) && pid > 0)
		tree_adj(pid, ctx->cfg.contain.cls[prio].oom_score_adj);
}

void acd_prio_cell_end(struct acd_ctx *ctx, pid_t pid, const struct acd_session *s)
{
	if (acd_contain_enabled(ctx) && pid > 0)
		tree_adj(pid, idle_score(ctx));
}

void acd_prio_interp_process(struct acd_ctx *ctx, pid_t pid, const struct acd_session *s)
{
	int r;

	if (!acd_contain_enabled(ctx) || pid <= 0)
		return;
	r = acd_prio_oom_adj(pid, idle_score(ctx));
	if (r < 0 && r != -ESRCH)
		ac_log_errno(r, "oom_score_adj of interpreter %d", (int)pid);
}

