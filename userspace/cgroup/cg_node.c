// SPDX-License-Identifier: GPL-2.0
/* cgroup backend: what is done to a node once it exists: limits,
 * statistics, the cgroupfs-like file view, freezing, killing and placement
 * fds. On v2 the files are read as they are; on hybrid the v1 files of the
 * memory, cpu and pids hierarchies are translated to their v2 form so an
 * operator sees the same names on both. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/cgroup.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "cg_io.h"

/* v1 reports "unlimited" as a huge page-aligned number. */
#define V1_UNLIMITED_FLOOR (1ULL << 62)

static int fd_of(const struct ac_cg_node *n, enum ac_hier h)
{
	return n->dirfd[h];
}

/* ---- limits ---------------------------------------------------------- */

static int v2_apply(const struct ac_cg_node *n, const struct ac_limits *l, bool fresh)
{
	int fd = fd_of(n, AC_H_UNIFIED), r;
	char buf[64];

	/* memory.max before memory.high: high above max is pointless. */
	if (!fresh || l->memory_max != AC_UNLIMITED)
		if ((r = cg_write_u64_at(fd, "memory.max", l->memory_max)) < 0)
			return r;
	if (!fresh || l->memory_high != AC_UNLIMITED)
		if ((r = cg_write_u64_at(fd, "memory.high", l->memory_high)) < 0)
			return r;
	if (!fresh || l->cpu_quota_us != AC_UNLIMITED) {
		if (l->cpu_quota_us == AC_UNLIMITED)
			snprintf(buf, sizeof(buf), "max %" PRIu64, l->cpu_period_us);
		else
			snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, l->cpu_quota_us,
				 l->cpu_period_us);
		if ((r = cg_write_at(fd, "cpu.max", buf)) < 0)
			return r;
	}
	if (!fresh || l->pids_max != AC_UNLIMITED)
		if ((r = cg_write_u64_at(fd, "pids.max", l->pids_max)) < 0)
			return r;
	return 0;
}

static int v1_write_limit(int fd, const char *name, uint64_t v)
{
	char buf[32];

	if (v == AC_UNLIMITED)
		return cg_write_at(fd, name, "-1");
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cg_write_at(fd, name, buf);
}

static int hybrid_apply(const struct ac_cg_node *n, const struct ac_limits *l, bool fresh)
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

int ac_cg_apply_limits(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       const struct ac_limits *lim, bool fresh)
{
	return cg->kind == AC_CG_V2 ? v2_apply(node, lim, fresh) : hybrid_apply(node, lim, fresh);
}

int ac_cg_update_limits(struct ac_cgroup *cg, const struct ac_cg_node *node,
			const struct ac_limits *cur, const struct ac_limits *next)
{
	/* Knobs that do not change are marked "already the default" (max)
	 * and skipped by the fresh-cgroup rule of the apply functions. */
	struct ac_limits l = *next;
	struct ac_limits skip;

	ac_limits_unlimited(&skip);
	if (cur->memory_max == next->memory_max)
		l.memory_max = skip.memory_max;
	if (cur->memory_high == next->memory_high)
		l.memory_high = skip.memory_high;
	if (cur->cpu_quota_us == next->cpu_quota_us && cur->cpu_period_us == next->cpu_period_us)
		l.cpu_quota_us = skip.cpu_quota_us;
	if (cur->pids_max == next->pids_max)
		l.pids_max = skip.pids_max;
	/* A knob that changes *to* max must still be written. */
	if (next->memory_max == AC_UNLIMITED && cur->memory_max != AC_UNLIMITED)
		return ac_cg_apply_limits(cg, node, next, false);
	if (next->memory_high == AC_UNLIMITED && cur->memory_high != AC_UNLIMITED)
		return ac_cg_apply_limits(cg, node, next, false);
	if (next->cpu_quota_us == AC_UNLIMITED && cur->cpu_quota_us != AC_UNLIMITED)
		return ac_cg_apply_limits(cg, node, next, false);
	if (next->pids_max == AC_UNLIMITED && cur->pids_max != AC_UNLIMITED)
		return ac_cg_apply_limits(cg, node, next, false);
	return ac_cg_apply_limits(cg, node, &l, true);
}

/* ---- usage ----------------------------------------------------------- */

/* The files a call's usage is read from at its end, per backend. They
 * can be opened ahead of time (ac_cg_statfds_open) so the end of a call
 * costs a pread each instead of open + read + close. */
enum stat_file {
	SF_PEAK,	 /* memory.peak | memory.max_usage_in_bytes */
	SF_MEM_EVENTS,	 /* memory.events | memory.failcnt */
	SF_OOM_CONTROL,	 /* - | memory.oom_control */
	SF_PIDS_PEAK,
	SF_PIDS_EVENTS,
	SF_CPU_STAT,	 /* unified cpu.stat */
	SF_CPU_STAT_V1,	 /* - | v1 cpu.stat (throttling) */
	SF_EVENTS,	 /* unified cgroup.events (populated) */
	SF_COUNT
};

struct stat_src {
	enum ac_hier h;
	const char *name;
};

static const struct stat_src v2_src[SF_COUNT] = {
	[SF_PEAK] = { AC_H_UNIFIED, "memory.peak" },
	[SF_MEM_EVENTS] = { AC_H_UNIFIED, "memory.events" },
	[SF_OOM_CONTROL] = { AC_H_UNIFIED, NULL },
	[SF_PIDS_PEAK] = { AC_H_UNIFIED, "pids.peak" },
	[SF_PIDS_EVENTS] = { AC_H_UNIFIED, "pids.events" },
	[SF_CPU_STAT] = { AC_H_UNIFIED, "cpu.stat" },
	[SF_CPU_STAT_V1] = { AC_H_UNIFIED, NULL },
	[SF_EVENTS] = { AC_H_UNIFIED, "cgroup.events" },
};

static const struct stat_src hybrid_src[SF_COUNT] = {
	[SF_PEAK] = { AC_H_MEMORY, "memory.max_usage_in_bytes" },
	[SF_MEM_EVENTS] = { AC_H_MEMORY, "memory.failcnt" },
	[SF_OOM_CONTROL] = { AC_H_MEMORY, "memory.oom_control" },
	[SF_PIDS_PEAK] = { AC_H_PIDS, "pids.peak" },
	[SF_PIDS_EVENTS] = { AC_H_PIDS, "pids.events" },
	[SF_CPU_STAT] = { AC_H_UNIFIED, "cpu.stat" },
	[SF_CPU_STAT_V1] = { AC_H_CPU, "cpu.stat" },
	[SF_EVENTS] = { AC_H_UNIFIED, "cgroup.events" },
};

static const struct stat_src *stat_sources(const struct ac_cgroup *cg)
{
	return cg->kind == AC_CG_V2 ? v2_src : hybrid_src;
}

void ac_cg_statfds_init(struct ac_cg_statfds *sf)
{
	for (int i = 0; i < AC_CG_STAT_FILES; i++)
		sf->fd[i] = -1;
}

int ac_cg_statfds_open(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       struct ac_cg_statfds *sf)
{
	const struct stat_src *src = stat_sources(cg);

	ac_cg_statfds_init(sf);
	for (int i = 0; i < SF_COUNT; i++) {
		if (!src[i].name)
			continue;
		/* A file this kernel lacks (memory.peak before 5.19) stays -1. */
		sf->fd[i] = openat(node->dirfd[src[i].h], src[i].name, O_RDONLY | O_CLOEXEC);
	}
	return 0;
}

void ac_cg_statfds_close(struct ac_cg_statfds *sf)
{
	for (int i = 0; i < AC_CG_STAT_FILES; i++) {
		if (sf->fd[i] >= 0)
			close(sf->fd[i]);
		sf->fd[i] = -1;
	}
}

/* One stat file into buf: pread on a kept fd, else open + read. */
static int stat_read(struct ac_cgroup *cg, const struct ac_cg_node *n,
		     const struct ac_cg_statfds *sf, enum stat_file i, char *buf, size_t len)
{
	const struct stat_src *src = &stat_sources(cg)[i];
	ssize_t r;

	if (!src->name)
		return -ENOENT;
	if (!sf || sf->fd[i] < 0)
		return cg_read_at(n->dirfd[src->h], src->name, buf, len);
	r = pread(sf->fd[i], buf, len - 1, 0);
	if (r < 0)
		return -errno;
	buf[r] = '\0';
	return (int)r;
}

static void keyed(const char *text, const char *key, uint64_t *v)
{
	uint64_t x;

	if (cg_keyed_u64(text, key, &x) == 0)
		*v = x;
}

static bool stat_u64(struct ac_cgroup *cg, const struct ac_cg_node *n,
		     const struct ac_cg_statfds *sf, enum stat_file i, uint64_t *v)
{
	char buf[64];
	char *end;

	if (stat_read(cg, n, sf, i, buf, sizeof(buf)) <= 0)
		return false;
	*v = strtoull(buf, &end, 10);
	return end != buf;
}

int ac_cg_read_usage_fds(struct ac_cgroup *cg, const struct ac_cg_node *n,
			 const struct ac_cg_statfds *sf, struct ac_usage *u)
{
	char buf[1024];
	uint64_t v;
	bool v2 = cg->kind == AC_CG_V2;

	u->has_mem_high_knob = v2;
	if (stat_u64(cg, n, sf, SF_PEAK, &v))
		u->memory_peak = v;
	else if (v2 && cg_read_u64_at(n->dirfd[AC_H_UNIFIED], "memory.current", &v) == 0)
		u->memory_peak = v; /* no memory.peak: the best there is */
	if (v2) {
		if (stat_read(cg, n, sf, SF_MEM_EVENTS, buf, sizeof(buf)) > 0) {
			keyed(buf, "high", &u->mem_high);
			keyed(buf, "max", &u->mem_max);
			keyed(buf, "oom", &u->mem_oom);
			keyed(buf, "oom_kill", &u->mem_oom_kill);
		}
	} else {
		if (stat_u64(cg, n, sf, SF_MEM_EVENTS, &v))
			u->mem_max = v; /* failcnt: charges that hit the limit */
		if (stat_read(cg, n, sf, SF_OOM_CONTROL, buf, sizeof(buf)) > 0) {
			keyed(buf, "oom_kill", &u->mem_oom_kill);
			u->mem_oom = u->mem_oom_kill;
		}
	}
	if (stat_u64(cg, n, sf, SF_PIDS_PEAK, &v))
		u->pids_peak = v;
	if (stat_read(cg, n, sf, SF_PIDS_EVENTS, buf, sizeof(buf)) > 0)
		keyed(buf, "max", &u->pids_max_events);
	if (stat_read(cg, n, sf, SF_CPU_STAT, buf, sizeof(buf)) > 0) {
		keyed(buf, "user_usec", &u->cpu_user_us);
		keyed(buf, "system_usec", &u->cpu_system_us);
		keyed(buf, "nr_throttled", &u->cpu_nr_throttled);
		keyed(buf, "throttled_usec", &u->cpu_throttled_us);
	}
	/* On hybrid, throttling lives in the v1 cpu hierarchy. */
	if (!v2 && stat_read(cg, n, sf, SF_CPU_STAT_V1, buf, sizeof(buf)) > 0) {
		keyed(buf, "nr_throttled", &u->cpu_nr_throttled);
		if (cg_keyed_u64(buf, "throttled_time", &v) == 0)
			u->cpu_throttled_us = v / 1000;
	}
	return 0;
}

int ac_cg_read_usage(struct ac_cgroup *cg, const struct ac_cg_node *node, struct ac_usage *u)
{
	return ac_cg_read_usage_fds(cg, node, NULL, u);
}

int ac_cg_populated_fds(struct ac_cgroup *cg, const struct ac_cg_node *node,
			const struct ac_cg_statfds *sf)
{
	char buf[128];
	uint64_t v;
	int r = stat_read(cg, node, sf, SF_EVENTS, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (cg_keyed_u64(buf, "populated", &v) < 0)
		return -EIO;
	return v ? 1 : 0;
}

int ac_cg_statfds_events_fd(const struct ac_cg_statfds *sf)
{
	return sf->fd[SF_EVENTS];
}

uint64_t ac_cg_memory_current(struct ac_cgroup *cg, const struct ac_cg_node *node)
{
	uint64_t v = 0;

	if (cg->kind == AC_CG_V2)
		cg_read_u64_at(fd_of(node, AC_H_UNIFIED), "memory.current", &v);
	else
		cg_read_u64_at(fd_of(node, AC_H_MEMORY), "memory.usage_in_bytes", &v);
	return v == UINT64_MAX ? 0 : v;
}

uint64_t ac_cg_memory_limit_hits(struct ac_cgroup *cg, const struct ac_cg_node *node)
{
	char buf[512];
	uint64_t v = 0;

	if (cg->kind == AC_CG_V2) {
		if (cg_read_at(fd_of(node, AC_H_UNIFIED), "memory.events", buf, sizeof(buf)) > 0)
			cg_keyed_u64(buf, "max", &v);
	} else {
		cg_read_u64_at(fd_of(node, AC_H_MEMORY), "memory.failcnt", &v);
	}
	return v;
}

int ac_cg_cpu_usage_us(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       const struct ac_cg_statfds *sf, uint64_t *us)
{
	char buf[512];
	int r = stat_read(cg, node, sf, SF_CPU_STAT, buf, sizeof(buf));

	if (r < 0)
		return r;
	return cg_keyed_u64(buf, "usage_usec", us);
}

/* ---- the file view --------------------------------------------------- */

/* Files an operator may read; anything else is -ENOENT. */
static const char *const readable[] = {
	"memory.current", "memory.peak",  "memory.max",	   "memory.high",  "memory.events",
	"memory.stat",	  "cpu.max",	  "cpu.stat",	   "pids.current", "pids.max",
	"pids.peak",	  "pids.events",  "cgroup.procs",  "cgroup.events", "cgroup.freeze",
	"cgroup.stat",	  "memory.pressure", "cpu.pressure", "io.pressure",
};

static bool is_readable(const char *file)
{
	for (size_t i = 0; i < AC_ARRAY_SIZE(readable); i++)
		if (!strcmp(file, readable[i]))
			return true;
	return false;
}

static int fmt_limit(char *buf, size_t len, uint64_t v)
{
	if (v >= V1_UNLIMITED_FLOOR)
		return ac_snprintf(buf, len, "max\n");
	return ac_snprintf(buf, len, "%" PRIu64 "\n", v);
}

static int hybrid_read(struct ac_cgroup *cg, const struct ac_cg_node *n, const char *file,
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

int ac_cg_read_file(struct ac_cgroup *cg, const struct ac_cg_node *node, const char *file,
		    char *buf, size_t len)
{
	if (!is_readable(file))
		return -ENOENT;
	if (cg->kind == AC_CG_V2)
		return cg_read_at(fd_of(node, AC_H_UNIFIED), file, buf, len);
	return hybrid_read(cg, node, file, buf, len);
}

/* "max" or a size. */
static int parse_limit(const char *value, uint64_t *v)
{
	if (!strcmp(value, "max")) {
		*v = AC_UNLIMITED;
		return 0;
	}
	return ac_parse_size(value, v);
}

/* "max", "max PERIOD", "QUOTA", "QUOTA PERIOD" (microseconds). */
static int parse_cpu_max(const char *value, uint64_t *quota, uint64_t *period)
{
	char q[32];
	unsigned long long p = 100000;
	int n = sscanf(value, "%31s %llu", q, &p);
	char *end;

	if (n < 1 || p < 1000 || p > 1000000)
		return -EINVAL;
	*period = p;
	if (!strcmp(q, "max")) {
		*quota = AC_UNLIMITED;
		return 0;
	}
	*quota = strtoull(q, &end, 10);
	if (*end || *quota < 1000)
		return -EINVAL;
	return 0;
}

int ac_cg_write_file(struct ac_cgroup *cg, const struct ac_cg_node *node, const char *file,
		     const char *value)
{
	struct ac_limits l;
	uint64_t v;
	int r;

	if (!strcmp(file, "memory.max") || !strcmp(file, "memory.high")) {
		if ((r = parse_limit(value, &v)) < 0)
			return r;
		if (cg->kind == AC_CG_HYBRID) {
			if (!strcmp(file, "memory.high"))
				return -EOPNOTSUPP;
			return v1_write_limit(fd_of(node, AC_H_MEMORY), "memory.limit_in_bytes", v);
		}
		return cg_write_u64_at(fd_of(node, AC_H_UNIFIED), file, v);
	}
	if (!strcmp(file, "pids.max")) {
		char *end;

		if (!strcmp(value, "max"))
			v = AC_UNLIMITED;
		else if ((v = strtoull(value, &end, 10)) == 0 || *end)
			return -EINVAL;
		return cg_write_u64_at(fd_of(node, cg->kind == AC_CG_V2 ? AC_H_UNIFIED : AC_H_PIDS),
				       "pids.max", v);
	}
	if (!strcmp(file, "cpu.max")) {
		ac_limits_unlimited(&l);
		if ((r = parse_cpu_max(value, &l.cpu_quota_us, &l.cpu_period_us)) < 0)
			return r;
		if (cg->kind == AC_CG_V2) {
			char buf[64];

			if (l.cpu_quota_us == AC_UNLIMITED)
				snprintf(buf, sizeof(buf), "max %" PRIu64, l.cpu_period_us);
			else
				snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, l.cpu_quota_us,
					 l.cpu_period_us);
			return cg_write_at(fd_of(node, AC_H_UNIFIED), "cpu.max", buf);
		}
		if ((r = cg_write_u64_at(fd_of(node, AC_H_CPU), "cpu.cfs_period_us", l.cpu_period_us)) < 0)
			return r;
		return v1_write_limit(fd_of(node, AC_H_CPU), "cpu.cfs_quota_us", l.cpu_quota_us);
	}
	return -EINVAL;
}

/* ---- priority -------------------------------------------------------- */

int ac_cg_set_priority(struct ac_cgroup *cg, const struct ac_cg_node *node, uint32_t cpu_weight,
		       uint64_t memory_low, bool protect)
{
	int r;

	if (cg->kind == AC_CG_V2) {
		if ((r = cg_write_u64_at(fd_of(node, AC_H_UNIFIED), "cpu.weight", cpu_weight)) < 0)
			return r;
		return cg_write_u64_at(fd_of(node, AC_H_UNIFIED), "memory.low", memory_low);
	}
	/* v1: cpu.shares is weight scaled to its default of 1024; there is no
	 * memory.low, the soft limit is the nearest knob: global reclaim
	 * pushes groups above their soft limit back first, so an unprotected
	 * session gets 0 and a protected one none. */
	if ((r = cg_write_u64_at(fd_of(node, AC_H_CPU), "cpu.shares",
				 cpu_weight * 1024ULL / 100 < 2 ? 2 : cpu_weight * 1024ULL / 100)) < 0)
		return r;
	return v1_write_limit(fd_of(node, AC_H_MEMORY), "memory.soft_limit_in_bytes",
			      protect ? AC_UNLIMITED : 0);
}

int ac_cg_set_memory_low(struct ac_cgroup *cg, const struct ac_cg_node *node, uint64_t bytes)
{
	if (cg->kind != AC_CG_V2)
		return 0;
	return cg_write_u64_at(fd_of(node, AC_H_UNIFIED), "memory.low", bytes);
}

int ac_cg_open_file(struct ac_cgroup *cg, const struct ac_cg_node *node, enum ac_hier h,
		    const char *file, int flags)
{
	int fd;

	if (fd_of(node, h) < 0)
		return -ENOENT;
	fd = openat(fd_of(node, h), file, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ---- freeze, kill, placement ----------------------------------------- */

int ac_cg_freeze(struct ac_cgroup *cg, const struct ac_cg_node *node, bool frozen)
{
	return cg_write_at(node->dirfd[AC_H_UNIFIED], "cgroup.freeze", frozen ? "1" : "0");
}

/* Without cgroup.kill: freeze so nothing forks, SIGKILL every pid, thaw. */
static int kill_by_walk(struct ac_cgroup *cg, int dirfd)
{
	_cleanup_free_ char *buf = malloc(65536);
	char *p;
	int r;

	if (!buf)
		return -ENOMEM;
	cg_write_at(dirfd, "cgroup.freeze", "1");
	r = cg_read_at(dirfd, "cgroup.procs", buf, 65536);
	for (p = buf; r > 0 && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		kill((pid_t)atoi(p), SIGKILL);
	(void)cg;
	cg_write_at(dirfd, "cgroup.freeze", "0");
	return r < 0 ? r : 0;
}

int ac_cg_kill(struct ac_cgroup *cg, const struct ac_cg_node *node)
{
	if (cg->has_kill)
		return cg_write_at(node->dirfd[AC_H_UNIFIED], "cgroup.kill", "1");
	return kill_by_walk(cg, node->dirfd[AC_H_UNIFIED]);
}

int ac_cg_populated(struct ac_cgroup *cg, const struct ac_cg_node *node)
{
	return ac_cg_populated_fds(cg, node, NULL);
}

int ac_cg_placement_open(struct ac_cgroup *cg, const struct ac_cg_node *node,
			 struct ac_cg_placement *pl)
{
	pl->v2_dirfd = node->dirfd[AC_H_UNIFIED];
	pl->n_v1 = 0;
	for (int h = AC_H_MEMORY; h < cg->n_hier; h++) {
		int fd = openat(node->dirfd[h], "cgroup.procs", O_WRONLY | O_CLOEXEC);

		if (fd < 0) {
			int r = -errno;

			ac_cg_placement_close(pl);
			return r;
		}
		pl->v1_procs[pl->n_v1++] = fd;
	}
	return 0;
}

void ac_cg_placement_close(struct ac_cg_placement *pl)
{
	for (int i = 0; i < pl->n_v1; i++)
		close(pl->v1_procs[i]);
	pl->n_v1 = 0;
}
