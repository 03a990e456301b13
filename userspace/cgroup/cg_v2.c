// SPDX-License-Identifier: GPL-2.0
/* The cgroup v2 backend: one cgroup2 hierarchy with memory, cpu and pids
 * enabled down the tree. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "cg_backend.h"
#include "cg_io.h"

static bool v2_has_controllers(const char *mount)
{
	char path[512], buf[256];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "%s", mount);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || cg_read_at(fd, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return false;
	return cg_list_has(buf, "memory") && cg_list_has(buf, "cpu") && cg_list_has(buf, "pids");
}

static int enable_controllers(int dirfd)
{
	char buf[256];
	int r = cg_read_at(dirfd, "cgroup.subtree_control", buf, sizeof(buf));

	if (r < 0)
		return r;
	if (cg_list_has(buf, "memory") && cg_list_has(buf, "cpu") && cg_list_has(buf, "pids"))
		return 0;
	return cg_write_at(dirfd, "cgroup.subtree_control", "+memory +cpu +pids");
}

/* Whether pid is one of the processes of the cgroup at dirfd. */
static bool procs_has(int dirfd, pid_t pid)
{
	int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "re");
	bool found = false;
	int p;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!found && fscanf(f, "%d", &p) == 1)
		found = p == pid;
	fclose(f);
	return found;
}

/* The cgroup above the root holds this very process, as a systemd
 * service with Delegate=yes starts, so the no-internal-process rule
 * forbids enabling controllers there. Move the daemon into a leaf
 * "<root name>.daemon" next to the root (what systemd's DelegateSubgroup=
 * does); ac_cg_close moves it back. -EBUSY if it is not in there. */
static int move_self_to_leaf(struct ac_cgroup *cg, int parent)
{
	const char *base = strrchr(cg->root_path[AC_H_UNIFIED], '/');
	_cleanup_close_ int leaf = -1;
	int r;

	if (!procs_has(parent, getpid()))
		return -EBUSY;
	if (ac_snprintf(cg->own_leaf, sizeof(cg->own_leaf), "%s.daemon", base ? base + 1 : "") < 0)
		return -ENAMETOOLONG;
	if (mkdirat(parent, cg->own_leaf, 0755) < 0 && errno != EEXIST)
		return -errno;
	leaf = openat(parent, cg->own_leaf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = leaf < 0 ? -errno : cg_write_at(leaf, "cgroup.procs", "0");
	if (r == 0 && (cg->own_fd = fcntl(parent, F_DUPFD_CLOEXEC, 3)) < 0) {
		r = -errno;
		cg_write_at(parent, "cgroup.procs", "0");
	}
	if (r < 0) {
		unlinkat(parent, cg->own_leaf, AT_REMOVEDIR);
		return r;
	}
	ac_info("moved agentcgd into the leaf %s next to its root (no internal processes on v2)",
		cg->own_leaf);
	return 0;
}

/* Undoes move_self_to_leaf: the controllers it let the daemon enable go
 * (that cgroup held a process, so none were enabled before), the daemon
 * goes back, the leaf is removed. */
static void move_self_back(struct ac_cgroup *cg)
{
	int r;

	if (cg->own_fd < 0)
		return;
	r = cg_write_at(cg->own_fd, "cgroup.subtree_control", "-memory -cpu -pids");
	if (r == 0)
		r = cg_write_at(cg->own_fd, "cgroup.procs", "0");
	if (r == 0 && unlinkat(cg->own_fd, cg->own_leaf, AT_REMOVEDIR) < 0)
		r = -errno;
	if (r < 0)
		ac_log_errno(r, "cannot move agentcgd back out of its leaf %s", cg->own_leaf);
	close(cg->own_fd);
	cg->own_fd = -1;
}

/* ---- setup ------------------------------------------------------------ */

static int v2_probe(const struct cg_mount m[AC_H_COUNT])
{
	if (!v2_has_controllers(m[AC_H_UNIFIED].point))
		return ac_log_errno(-EOPNOTSUPP,
				    "cgroup2 at %s lacks the memory, cpu or pids controller",
				    m[AC_H_UNIFIED].point);
	return 0;
}

/* memory, cpu and pids for the root's subtree, which needs them enabled
 * in the cgroup above it too. */
static int v2_open_root(struct ac_cgroup *cg)
{
	_cleanup_close_ int parent = openat(cg->root.dirfd[AC_H_UNIFIED], "..",
					    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = parent < 0 ? -errno : enable_controllers(parent);

	if (r == -EBUSY && move_self_to_leaf(cg, parent) == 0) {
		r = enable_controllers(parent);
		if (r < 0)
			move_self_back(cg);
	}
	if (r < 0)
		return ac_log_errno(r, "cannot enable memory, cpu, pids above %s (the daemon's own "
				       "cgroup must be delegated and hold no processes but agentcgd)",
				    cg->root_path[0]);
	if ((r = enable_controllers(cg->root.dirfd[AC_H_UNIFIED])) < 0)
		return ac_log_errno(r, "cannot enable controllers in %s", cg->root_path[0]);
	cg->has_peak = faccessat(cg->root.dirfd[AC_H_UNIFIED], "memory.peak", F_OK, 0) == 0;
	return 0;
}

static void v2_close_root(struct ac_cgroup *cg)
{
	move_self_back(cg);
}

static int v2_enable_subtree(const struct ac_cg_node *node)
{
	return enable_controllers(node->dirfd[AC_H_UNIFIED]);
}

/* ---- limits ----------------------------------------------------------- */

/* "QUOTA PERIOD" or "max PERIOD". */
static int v2_write_cpu_max(const struct ac_cg_node *n, uint64_t quota_us, uint64_t period_us)
{
	char buf[64];

	if (quota_us == AC_UNLIMITED)
		snprintf(buf, sizeof(buf), "max %" PRIu64, period_us);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64, quota_us, period_us);
	return cg_write_at(n->dirfd[AC_H_UNIFIED], "cpu.max", buf);
}

static int v2_apply_limits(const struct ac_cg_node *n, const struct ac_limits *l, bool fresh)
{
	int fd = n->dirfd[AC_H_UNIFIED], r;

	/* memory.max before memory.high: high above max is pointless. */
	if (!fresh || l->memory_max != AC_UNLIMITED)
		if ((r = cg_write_u64_at(fd, "memory.max", l->memory_max)) < 0)
			return r;
	if (!fresh || l->memory_high != AC_UNLIMITED)
		if ((r = cg_write_u64_at(fd, "memory.high", l->memory_high)) < 0)
			return r;
	if (!fresh || l->cpu_quota_us != AC_UNLIMITED)
		if ((r = v2_write_cpu_max(n, l->cpu_quota_us, l->cpu_period_us)) < 0)
			return r;
	if (!fresh || l->pids_max != AC_UNLIMITED)
		if ((r = cg_write_u64_at(fd, "pids.max", l->pids_max)) < 0)
			return r;
	return 0;
}

static int v2_write_memory(const struct ac_cg_node *n, const char *file, uint64_t v)
{
	return cg_write_u64_at(n->dirfd[AC_H_UNIFIED], file, v);
}

static int v2_write_pids_max(const struct ac_cg_node *n, uint64_t v)
{
	return cg_write_u64_at(n->dirfd[AC_H_UNIFIED], "pids.max", v);
}

static int v2_set_memory_low(const struct ac_cg_node *n, uint64_t bytes)
{
	return cg_write_u64_at(n->dirfd[AC_H_UNIFIED], "memory.low", bytes);
}

static int v2_set_priority(const struct ac_cg_node *n, uint32_t cpu_weight, uint64_t memory_low,
			   bool protect)
{
	int r;

	if ((r = cg_write_u64_at(n->dirfd[AC_H_UNIFIED], "cpu.weight", cpu_weight)) < 0)
		return r;
	return v2_set_memory_low(n, memory_low);
}

/* ---- usage ------------------------------------------------------------ */

static const struct cg_stat_src v2_stat_src[CG_SF_COUNT] = {
	[CG_SF_PEAK] = { AC_H_UNIFIED, "memory.peak" },
	[CG_SF_MEM_EVENTS] = { AC_H_UNIFIED, "memory.events" },
	[CG_SF_OOM_CONTROL] = { AC_H_UNIFIED, NULL },
	[CG_SF_PIDS_PEAK] = { AC_H_UNIFIED, "pids.peak" },
	[CG_SF_PIDS_EVENTS] = { AC_H_UNIFIED, "pids.events" },
	[CG_SF_CPU_STAT] = { AC_H_UNIFIED, "cpu.stat" },
	[CG_SF_CPU_STAT_V1] = { AC_H_UNIFIED, NULL },
	[CG_SF_EVENTS] = { AC_H_UNIFIED, "cgroup.events" },
};

static int v2_read_usage(struct ac_cgroup *cg, const struct ac_cg_node *n,
			 const struct ac_cg_statfds *sf, struct ac_usage *u)
{
	char buf[1024];
	uint64_t v;

	if (cg_stat_u64(cg, n, sf, CG_SF_PEAK, &v))
		u->memory_peak = v;
	else if (cg_read_u64_at(n->dirfd[AC_H_UNIFIED], "memory.current", &v) == 0)
		u->memory_peak = v; /* no memory.peak: the best there is */
	if (cg_stat_read(cg, n, sf, CG_SF_MEM_EVENTS, buf, sizeof(buf)) > 0) {
		cg_keyed_set(buf, "high", &u->mem_high);
		cg_keyed_set(buf, "max", &u->mem_max);
		cg_keyed_set(buf, "oom", &u->mem_oom);
		cg_keyed_set(buf, "oom_kill", &u->mem_oom_kill);
	}
	cg_read_pids_cpu(cg, n, sf, u);
	return 0;
}

static uint64_t v2_memory_current(const struct ac_cg_node *n)
{
	uint64_t v = 0;

	cg_read_u64_at(n->dirfd[AC_H_UNIFIED], "memory.current", &v);
	return v;
}

static uint64_t v2_memory_limit_hits(const struct ac_cg_node *n)
{
	char buf[512];
	uint64_t v = 0;

	if (cg_read_at(n->dirfd[AC_H_UNIFIED], "memory.events", buf, sizeof(buf)) > 0)
		cg_keyed_u64(buf, "max", &v);
	return v;
}

/* memory.reclaim (kernel 5.19+): the write returns once the kernel has
 * reclaimed `bytes`, or fails with EAGAIN after its retries found too
 * little to take. An older kernel has no such file. */
static int v2_reclaim(const struct ac_cg_node *n, uint64_t bytes)
{
	int r = cg_write_u64_at(n->dirfd[AC_H_UNIFIED], "memory.reclaim", bytes);

	return r == -ENOENT ? -EOPNOTSUPP : r;
}

/* The files are what the operator asked for, as they are. */
static int v2_read_file(struct ac_cgroup *cg, const struct ac_cg_node *n, const char *file,
			char *buf, size_t len)
{
	return cg_read_at(n->dirfd[AC_H_UNIFIED], file, buf, len);
}

const struct ac_cg_ops cg_v2_ops = {
	.name = "v2",
	.n_hier = 1,
	.memcg_hier = AC_H_UNIFIED,
	.probe = v2_probe,
	.open_root = v2_open_root,
	.close_root = v2_close_root,
	.enable_subtree = v2_enable_subtree,
	.memory_high = true,
	.memory_events = true,
	.usage_thresholds = false,
	.memory_low = true,
	.stat_src = v2_stat_src,
	.apply_limits = v2_apply_limits,
	.read_usage = v2_read_usage,
	.memory_current = v2_memory_current,
	.memory_limit_hits = v2_memory_limit_hits,
	.read_file = v2_read_file,
	.write_memory = v2_write_memory,
	.write_pids_max = v2_write_pids_max,
	.write_cpu_max = v2_write_cpu_max,
	.set_priority = v2_set_priority,
	.set_memory_low = v2_set_memory_low,
	.reclaim = v2_reclaim,
};
