// SPDX-License-Identifier: GPL-2.0
/* cgroup backend: what is done to a node once it exists, the part both
 * backends share: limits and statistics as far as they are alike, the
 * cgroupfs-like file view (which files, which values), freezing, killing
 * and placement fds. What differs is in cg_v2.c and cg_hybrid.c, reached
 * through cg->ops. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/cgroup.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "cg_backend.h"
#include "cg_io.h"

static int fd_of(const struct ac_cg_node *n, enum ac_hier h)
{
	return n->dirfd[h];
}

/* ---- limits ---------------------------------------------------------- */

int ac_cg_apply_limits(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       const struct ac_limits *lim, bool fresh)
{
	return cg->ops->apply_limits(node, lim, fresh);
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

void ac_cg_statfds_init(struct ac_cg_statfds *sf)
{
	for (int i = 0; i < AC_CG_STAT_FILES; i++)
		sf->fd[i] = -1;
}

int ac_cg_statfds_open(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       struct ac_cg_statfds *sf)
{
	const struct cg_stat_src *src = cg->ops->stat_src;

	ac_cg_statfds_init(sf);
	for (int i = 0; i < CG_SF_COUNT; i++) {
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

int cg_stat_read(struct ac_cgroup *cg, const struct ac_cg_node *n, const struct ac_cg_statfds *sf,
		 enum cg_stat_file i, char *buf, size_t len)
{
	const struct cg_stat_src *src = &cg->ops->stat_src[i];
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

void cg_keyed_set(const char *text, const char *key, uint64_t *v)
{
	uint64_t x;

	if (cg_keyed_u64(text, key, &x) == 0)
		*v = x;
}

bool cg_stat_u64(struct ac_cgroup *cg, const struct ac_cg_node *n, const struct ac_cg_statfds *sf,
		 enum cg_stat_file i, uint64_t *v)
{
	char buf[64];
	char *end;

	if (cg_stat_read(cg, n, sf, i, buf, sizeof(buf)) <= 0)
		return false;
	*v = strtoull(buf, &end, 10);
	return end != buf;
}

void cg_read_pids_cpu(struct ac_cgroup *cg, const struct ac_cg_node *n,
		      const struct ac_cg_statfds *sf, struct ac_usage *u)
{
	char buf[1024];
	uint64_t v;

	if (cg_stat_u64(cg, n, sf, CG_SF_PIDS_PEAK, &v))
		u->pids_peak = v;
	if (cg_stat_read(cg, n, sf, CG_SF_PIDS_EVENTS, buf, sizeof(buf)) > 0)
		cg_keyed_set(buf, "max", &u->pids_max_events);
	if (cg_stat_read(cg, n, sf, CG_SF_CPU_STAT, buf, sizeof(buf)) > 0) {
		cg_keyed_set(buf, "user_usec", &u->cpu_user_us);
		cg_keyed_set(buf, "system_usec", &u->cpu_system_us);
		cg_keyed_set(buf, "nr_throttled", &u->cpu_nr_throttled);
		cg_keyed_set(buf, "throttled_usec", &u->cpu_throttled_us);
	}
}

int ac_cg_read_usage_fds(struct ac_cgroup *cg, const struct ac_cg_node *n,
			 const struct ac_cg_statfds *sf, struct ac_usage *u)
{
	u->has_mem_high_knob = cg->ops->memory_high;
	return cg->ops->read_usage(cg, n, sf, u);
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
	int r = cg_stat_read(cg, node, sf, CG_SF_EVENTS, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (cg_keyed_u64(buf, "populated", &v) < 0)
		return -EIO;
	return v ? 1 : 0;
}

int ac_cg_statfds_events_fd(const struct ac_cg_statfds *sf)
{
	return sf->fd[CG_SF_EVENTS];
}

uint64_t ac_cg_memory_current(struct ac_cgroup *cg, const struct ac_cg_node *node)
{
	uint64_t v = cg->ops->memory_current(node);

	return v == UINT64_MAX ? 0 : v;
}

int ac_cg_reclaim(struct ac_cgroup *cg, const struct ac_cg_node *node, uint64_t bytes)
{
	if (bytes == 0)
		return 0;
	return cg->ops->reclaim(node, bytes);
}

uint64_t ac_cg_memory_limit_hits(struct ac_cgroup *cg, const struct ac_cg_node *node)
{
	return cg->ops->memory_limit_hits(node);
}

int ac_cg_cpu_usage_us(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       const struct ac_cg_statfds *sf, uint64_t *us)
{
	char buf[512];
	int r = cg_stat_read(cg, node, sf, CG_SF_CPU_STAT, buf, sizeof(buf));

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

int ac_cg_read_file(struct ac_cgroup *cg, const struct ac_cg_node *node, const char *file,
		    char *buf, size_t len)
{
	if (!is_readable(file))
		return -ENOENT;
	return cg->ops->read_file(cg, node, file, buf, len);
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
	uint64_t v, quota, period;
	int r;

	if (!strcmp(file, "memory.max") || !strcmp(file, "memory.high")) {
		if ((r = parse_limit(value, &v)) < 0)
			return r;
		return cg->ops->write_memory(node, file, v);
	}
	if (!strcmp(file, "pids.max")) {
		char *end;

		if (!strcmp(value, "max"))
			v = AC_UNLIMITED;
		else if ((v = strtoull(value, &end, 10)) == 0 || *end)
			return -EINVAL;
		return cg->ops->write_pids_max(node, v);
	}
	if (!strcmp(file, "cpu.max")) {
		if ((r = parse_cpu_max(value, &quota, &period)) < 0)
			return r;
		return cg->ops->write_cpu_max(node, quota, period);
	}
	return -EINVAL;
}

/* ---- priority -------------------------------------------------------- */

int ac_cg_set_priority(struct ac_cgroup *cg, const struct ac_cg_node *node, uint32_t cpu_weight,
		       uint64_t memory_low, bool protect)
{
	return cg->ops->set_priority(node, cpu_weight, memory_low, protect);
}

int ac_cg_set_memory_low(struct ac_cgroup *cg, const struct ac_cg_node *node, uint64_t bytes)
{
	return cg->ops->set_memory_low(node, bytes);
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
	pl->v2_procs = -1;
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
	if (pl->v2_procs >= 0)
		close(pl->v2_procs);
	pl->v2_procs = -1;
}

int ac_cg_placement_open_move(struct ac_cgroup *cg, const struct ac_cg_node *node,
			      struct ac_cg_placement *pl)
{
	int r = ac_cg_placement_open(cg, node, pl);

	if (r < 0)
		return r;
	pl->v2_dirfd = -1; /* borrowed: not for another thread */
	pl->v2_procs = openat(node->dirfd[AC_H_UNIFIED], "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (pl->v2_procs < 0) {
		r = -errno;
		ac_cg_placement_close(pl);
		return r;
	}
	return 0;
}

static int write_pid(int fd, pid_t pid)
{
	char num[24];
	int len = snprintf(num, sizeof(num), "%d", (int)pid);

	return pwrite(fd, num, (size_t)len, 0) == len ? 0 : -errno;
}

int ac_cg_placement_move(const struct ac_cg_placement *pl, pid_t pid)
{
	int r;

	if (pid <= 0 || pl->v2_procs < 0)
		return -EINVAL;
	/* v1 first: on hybrid the unified move is the one that thaws a
	 * frozen task (a frozen source), so it comes when all else is done */
	for (int i = 0; i < pl->n_v1; i++)
		if ((r = write_pid(pl->v1_procs[i], pid)) < 0)
			return r;
	return write_pid(pl->v2_procs, pid);
}

int ac_cg_freezer_open(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       struct ac_cg_freezer *fz)
{
	(void)cg;
	fz->fd[0] = openat(node->dirfd[AC_H_UNIFIED], "cgroup.freeze", O_WRONLY | O_CLOEXEC);
	fz->fd[1] = openat(node->dirfd[AC_H_UNIFIED], "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (fz->fd[0] < 0 || fz->fd[1] < 0) {
		int r = -errno;

		ac_cg_freezer_close(fz);
		return r;
	}
	return 0;
}

void ac_cg_freezer_close(struct ac_cg_freezer *fz)
{
	for (int i = 0; i < 2; i++) {
		if (fz->fd[i] >= 0)
			close(fz->fd[i]);
		fz->fd[i] = -1;
	}
}

int ac_cg_freezer_set(const struct ac_cg_freezer *fz, bool frozen, int timeout_ms)
{
	uint64_t deadline = ac_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	char buf[256];

	if (pwrite(fz->fd[0], frozen ? "1" : "0", 1, 0) != 1)
		return -errno;
	if (!frozen)
		return 0;
	for (;;) {
		ssize_t n = pread(fz->fd[1], buf, sizeof(buf) - 1, 0);
		struct pollfd p = { .fd = fz->fd[1], .events = POLLPRI };
		uint64_t now;

		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (strstr(buf, "frozen 1"))
			return 0;
		now = ac_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* cgroup.events signals a change with POLLPRI; 1 ms bounds a
		 * missed one */
		poll(&p, 1, 1);
	}
}
