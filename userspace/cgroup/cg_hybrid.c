// SPDX-License-Identifier: GPL-2.0
/* The hybrid backend: memory, cpu and pids on cgroup v1 mounts, plus the
 * cgroup2 tree (usually /sys/fs/cgroup/unified) with no controllers, used
 * for identity, CPU usage, cgroup.kill, cgroup.freeze, cgroup.events and
 * placement. The v1 files are translated to their v2 form so an operator
 * sees the same names on both backends. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/util.h"
#include "cg_backend.h"
#include "cg_io.h"

/* v1 reports "unlimited" as a huge page-aligned number. */
#define V1_UNLIMITED_FLOOR (1ULL << 62)

static int fd_of(const struct ac_cg_node *n, enum ac_hier h)
{
	return n->dirfd[h];
}

/* ---- setup ------------------------------------------------------------ */

static int hybrid_probe(const struct cg_mount m[AC_H_COUNT])
{
	if (!m[AC_H_MEMORY].point[0] || !m[AC_H_CPU].point[0] || !m[AC_H_PIDS].point[0])
		return ac_log_errno(-EOPNOTSUPP, "hybrid backend needs v1 memory, cpu and pids mounts");
	return 0;
}

/* v1 controllers are on wherever their hierarchy is mounted. */
static int hybrid_open_root(struct ac_cgroup *cg)
{
	return 0;
}

static void hybrid_close_root(struct ac_cgroup *cg)
{
}

static int hybrid_enable_subtree(const struct ac_cg_node *node)
{
	return 0;
}

/* ---- limits ----------------------------------------------------------- */

static int v1_write_limit(int fd, const char *name, uint64_t v)
{
	char buf[32];

	if (v == AC_UNLIMITED)
		return cg_write_at(fd, name, "-1");
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cg_write_at(fd, name, buf);
}

static int hybrid_apply_limits(const struct ac_cg_node *n, const struct ac_limits *l, bool fresh)
{
	int r;

	if (!fresh || l->memory_max != AC_UNLIMITED)
		if ((r = v1_write_limit(fd_of(n, AC_H_MEMORY), "memory.limit_in_bytes",
					l->memory_max)) < 0)
			return r;
	/* No memory.high on v1: the soft limit is the nearest knob (it only
	 * acts under global pressure); the verdict reports `memory` overruns. */
	if (!fresh || l->memory_high != AC_UNLIMITED)
		if ((r = v1_write_limit(fd_of(n, AC_H_MEMORY), "memory.soft_limit_in_bytes",
					l->memory_high)) < 0)
			return r;
	if (!fresh || l->cpu_quota_us != AC_UNLIMITED) {
		if (l->cpu_period_us && l->cpu_period_us != 100000 &&
		    (r = cg_write_u64_at(fd_of(n, AC_H_CPU), "cpu.cfs_period_us", l->cpu_period_us)) < 0)
			return r;
		if ((r = v1_write_limit(fd_of(n, AC_H_CPU), "cpu.cfs_quota_us", l->cpu_quota_us)) < 0)
			return r;
	}
	if (!fresh || l->pids_max != AC_UNLIMITED)
		if ((r = cg_write_u64_at(fd_of(n, AC_H_PIDS), "pids.max", l->pids_max)) < 0)
			return r;
	return 0;
}

static int hybrid_write_memory(const struct ac_cg_node *n, const char *file, uint64_t v)
{
	if (!strcmp(file, "memory.high"))
		return -EOPNOTSUPP;
	return v1_write_limit(fd_of(n, AC_H_MEMORY), "memory.limit_in_bytes", v);
}

static int hybrid_write_pids_max(const struct ac_cg_node *n, uint64_t v)
{
	return cg_write_u64_at(fd_of(n, AC_H_PIDS), "pids.max", v);
}

static int hybrid_write_cpu_max(const struct ac_cg_node *n, uint64_t quota_us, uint64_t period_us)
{
	int r;

	if ((r = cg_write_u64_at(fd_of(n, AC_H_CPU), "cpu.cfs_period_us", period_us)) < 0)
		return r;
	return v1_write_limit(fd_of(n, AC_H_CPU), "cpu.cfs_quota_us", quota_us);
}

/* cpu.shares is weight scaled to its default of 1024; there is no
 * memory.low, the soft limit is the nearest knob: global reclaim pushes
 * groups above their soft limit back first, so an unprotected session
 * gets 0 and a protected one none. */
static int hybrid_set_priority(const struct ac_cg_node *n, uint32_t cpu_weight,
			       uint64_t memory_low, bool protect)
{
	int r;

	if ((r = cg_write_u64_at(fd_of(n, AC_H_CPU), "cpu.shares",
				 cpu_weight * 1024ULL / 100 < 2 ? 2 : cpu_weight * 1024ULL / 100)) < 0)
		return r;
	return v1_write_limit(fd_of(n, AC_H_MEMORY), "memory.soft_limit_in_bytes",
			      protect ? AC_UNLIMITED : 0);
}

/* No memory.low on v1. */
static int hybrid_set_memory_low(const struct ac_cg_node *n, uint64_t bytes)
{
	return 0;
}

/* No memory.reclaim on v1: the nearest file, memory.force_empty, takes
 * all it can from a cgroup at once, for as long as that lasts, which the
 * daemon cannot bound. So nothing is reclaimed on hybrid: a frozen call
 * keeps its memory until the kernel's own reclaim (global pressure, the
 * soft limit) takes it. */
static int hybrid_reclaim(const struct ac_cg_node *n, uint64_t bytes)
{
	return -EOPNOTSUPP;
}

/* ---- usage ------------------------------------------------------------ */

static const struct cg_stat_src hybrid_stat_src[CG_SF_COUNT] = {
	[CG_SF_PEAK] = { AC_H_MEMORY, "memory.max_usage_in_bytes" },
	[CG_SF_MEM_EVENTS] = { AC_H_MEMORY, "memory.failcnt" },
	[CG_SF_OOM_CONTROL] = { AC_H_MEMORY, "memory.oom_control" },
	[CG_SF_PIDS_PEAK] = { AC_H_PIDS, "pids.peak" },
	[CG_SF_PIDS_EVENTS] = { AC_H_PIDS, "pids.events" },
	[CG_SF_CPU_STAT] = { AC_H_UNIFIED, "cpu.stat" },
	[CG_SF_CPU_STAT_V1] = { AC_H_CPU, "cpu.stat" },
	[CG_SF_EVENTS] = { AC_H_UNIFIED, "cgroup.events" },
};

static int hybrid_read_usage(struct ac_cgroup *cg, const struct ac_cg_node *n,
			     const struct ac_cg_statfds *sf, struct ac_usage *u)
{
	char buf[1024];
	uint64_t v;

	if (cg_stat_u64(cg, n, sf, CG_SF_PEAK, &v))
		u->memory_peak = v;
	if (cg_stat_u64(cg, n, sf, CG_SF_MEM_EVENTS, &v))
		u->mem_max = v; /* failcnt: charges that hit the limit */
	if (cg_stat_read(cg, n, sf, CG_SF_OOM_CONTROL, buf, sizeof(buf)) > 0) {
		cg_keyed_set(buf, "oom_kill", &u->mem_oom_kill);
		u->mem_oom = u->mem_oom_kill;
	}
	cg_read_pids_cpu(cg, n, sf, u);
	/* Throttling lives in the v1 cpu hierarchy. */
	if (cg_stat_read(cg, n, sf, CG_SF_CPU_STAT_V1, buf, sizeof(buf)) > 0) {
		cg_keyed_set(buf, "nr_throttled", &u->cpu_nr_throttled);
		if (cg_keyed_u64(buf, "throttled_time", &v) == 0)
			u->cpu_throttled_us = v / 1000;
	}
	return 0;
}

static uint64_t hybrid_memory_current(const struct ac_cg_node *n)
{
	uint64_t v = 0;

	cg_read_u64_at(fd_of(n, AC_H_MEMORY), "memory.usage_in_bytes", &v);
	return v;
}

/* memory.failcnt: charges that hit the limit. */
static uint64_t hybrid_memory_limit_hits(const struct ac_cg_node *n)
{
	uint64_t v = 0;

	cg_read_u64_at(fd_of(n, AC_H_MEMORY), "memory.failcnt", &v);
	return v;
}

/* ---- the file view ------------------------------------------------------ */

static int fmt_limit(char *buf, size_t len, uint64_t v)
{
	if (v >= V1_UNLIMITED_FLOOR)
		return ac_snprintf(buf, len, "max\n");
	return ac_snprintf(buf, len, "%" PRIu64 "\n", v);
}

/* The v1 equivalent of a v2 file, in v2 form. */
static int hybrid_read_file(struct ac_cgroup *cg, const struct ac_cg_node *n, const char *file,
			    char *buf, size_t len)
{
	int mfd = fd_of(n, AC_H_MEMORY), cfd = fd_of(n, AC_H_CPU);
	uint64_t v = 0, period = 100000;
	int r;

	if (!strcmp(file, "memory.current") || !strcmp(file, "memory.peak") ||
	    !strcmp(file, "memory.max")) {
		const char *v1 = !strcmp(file, "memory.current") ? "memory.usage_in_bytes" :
				 !strcmp(file, "memory.peak")	 ? "memory.max_usage_in_bytes" :
								   "memory.limit_in_bytes";
		if ((r = cg_read_u64_at(mfd, v1, &v)) < 0)
			return r;
		return fmt_limit(buf, len, v);
	}
	if (!strcmp(file, "memory.high"))
		return -ENOENT; /* no such knob on cgroup v1 */
	if (!strcmp(file, "memory.stat"))
		return cg_read_at(mfd, "memory.stat", buf, len);
	if (!strcmp(file, "memory.events")) {
		struct ac_usage u = { 0 };

		ac_cg_read_usage(cg, n, &u);
		return ac_snprintf(buf, len,
				   "low 0\nhigh 0\nmax %" PRIu64 "\noom %" PRIu64 "\noom_kill %" PRIu64
				   "\n",
				   u.mem_max, u.mem_oom, u.mem_oom_kill);
	}
	if (!strcmp(file, "cpu.max")) {
		char q[32];

		cg_read_u64_at(cfd, "cpu.cfs_period_us", &period);
		if ((r = cg_read_at(cfd, "cpu.cfs_quota_us", q, sizeof(q))) < 0)
			return r;
		if (q[0] == '-')
			return ac_snprintf(buf, len, "max %" PRIu64 "\n", period);
		return ac_snprintf(buf, len, "%" PRIu64 " %" PRIu64 "\n", (uint64_t)strtoull(q, NULL, 10),
				   period);
	}
	if (!strcmp(file, "cpu.stat")) {
		struct ac_usage u = { 0 };
		uint64_t usage = 0;

		ac_cg_read_usage(cg, n, &u);
		ac_cg_cpu_usage_us(cg, n, NULL, &usage);
		return ac_snprintf(buf, len,
				   "usage_usec %" PRIu64 "\nuser_usec %" PRIu64 "\nsystem_usec %" PRIu64
				   "\nnr_throttled %" PRIu64 "\nthrottled_usec %" PRIu64 "\n",
				   usage, u.cpu_user_us, u.cpu_system_us, u.cpu_nr_throttled,
				   u.cpu_throttled_us);
	}
	if (!strncmp(file, "pids.", 5))
		return cg_read_at(fd_of(n, AC_H_PIDS), file, buf, len);
	return cg_read_at(fd_of(n, AC_H_UNIFIED), file, buf, len);
}

const struct ac_cg_ops cg_hybrid_ops = {
	.name = "hybrid",
	.n_hier = AC_H_COUNT,
	.memcg_hier = AC_H_MEMORY,
	.probe = hybrid_probe,
	.open_root = hybrid_open_root,
	.close_root = hybrid_close_root,
	.enable_subtree = hybrid_enable_subtree,
	.memory_high = false,
	.memory_events = false,
	.usage_thresholds = true,
	.memory_low = false,
	.stat_src = hybrid_stat_src,
	.apply_limits = hybrid_apply_limits,
	.read_usage = hybrid_read_usage,
	.memory_current = hybrid_memory_current,
	.memory_limit_hits = hybrid_memory_limit_hits,
	.read_file = hybrid_read_file,
	.write_memory = hybrid_write_memory,
	.write_pids_max = hybrid_write_pids_max,
	.write_cpu_max = hybrid_write_cpu_max,
	.set_priority = hybrid_set_priority,
	.set_memory_low = hybrid_set_memory_low,
	.reclaim = hybrid_reclaim,
};
