/* SPDX-License-Identifier: GPL-2.0 */
/* What differs between the cgroup backends, as one table of operations
 * per backend: cg_v2.c and cg_hybrid.c. Internal to userspace/cgroup/:
 * the functions of agentcg/cgroup.h do the shared part and call through
 * cg->ops for the rest, so nothing above this layer asks which backend
 * it runs on. Every function pointer is set (a backend without the thing
 * has a function that does nothing). */
#ifndef AGENTCG_CG_BACKEND_H
#define AGENTCG_CG_BACKEND_H

#include "agentcg/cgroup.h"

/* Every directory the daemon makes (its root, tenants, sessions, calls):
 * others may pass through, as a call reading its own memory.max by path
 * does, but not list it: nobody finds other users' sessions and calls in
 * cgroupfs (README "Security model"). */
#define AC_CG_DIR_MODE 0711

/* One cgroup mount from /proc/self/mountinfo: its mount point and the
 * path of the hierarchy it shows (not "/" inside a container). */
struct cg_mount {
	char point[256];
	char root[1024];
};

/* The files a call's usage is read from at its end, per backend (the
 * stat_src table of the ops). They can be opened ahead of time
 * (ac_cg_statfds_open) so the end of a call costs a pread each instead
 * of open + read + close. */
enum cg_stat_file {
	CG_SF_PEAK,	    /* memory.peak | memory.max_usage_in_bytes */
	CG_SF_MEM_EVENTS,   /* memory.events | memory.failcnt */
	CG_SF_OOM_CONTROL,  /* - | memory.oom_control */
	CG_SF_PIDS_PEAK,
	CG_SF_PIDS_EVENTS,
	CG_SF_CPU_STAT,	    /* unified cpu.stat */
	CG_SF_CPU_STAT_V1,  /* - | v1 cpu.stat (throttling) */
	CG_SF_EVENTS,	    /* unified cgroup.events (populated) */
	CG_SF_COUNT
};

struct cg_stat_src {
	enum ac_hier h;
	const char *name; /* NULL: the backend has no such file */
};

struct ac_cg_ops {
	const char *name;	  /* what operators see: "v2", "hybrid" */
	int n_hier;		  /* hierarchies a node has a directory in */
	enum ac_hier memcg_hier;  /* where a node's memory cgroup is (memcg_id) */

	/* 0 if the mounts m (indexed by enum ac_hier, point "" where none)
	 * can carry this backend; else logs why and returns <0. */
	int (*probe)(const struct cg_mount m[AC_H_COUNT]);
	/* The root directories exist and are open: make the root usable
	 * (v2: memory, cpu, pids enabled above and in it). Logs its own
	 * errors; the caller then undoes everything with ac_cg_close. */
	int (*open_root)(struct ac_cgroup *cg);
	/* At ac_cg_close, after the root is gone: undo what open_root did
	 * outside the root. */
	void (*close_root)(struct ac_cgroup *cg);
	/* A new node that will have children (tenant, session). */
	int (*enable_subtree)(const struct ac_cg_node *node);

	/* Capabilities (ac_cg_has_* in agentcg/cgroup.h). */
	bool memory_high;      /* a memory.high that throttles */
	bool memory_events;    /* unified memory.events, watched with EPOLLPRI */
	bool usage_thresholds; /* v1 cgroup.event_control usage eventfds */
	bool memory_low;       /* memory.low protection */

	const struct cg_stat_src *stat_src; /* [CG_SF_COUNT] */
	/* ac_cg_apply_limits (fresh: skip knobs whose value is "max"). */
	int (*apply_limits)(const struct ac_cg_node *n, const struct ac_limits *l, bool fresh);
	/* The backend's part of ac_cg_read_usage_fds; sf may be NULL. */
	int (*read_usage)(struct ac_cgroup *cg, const struct ac_cg_node *n,
			  const struct ac_cg_statfds *sf, struct ac_usage *u);
	/* Memory charged now as the kernel says it ("max" = UINT64_MAX);
	 * 0 if it cannot be read. */
	uint64_t (*memory_current)(const struct ac_cg_node *n);
	uint64_t (*memory_limit_hits)(const struct ac_cg_node *n);
	/* ac_cg_read_file for a file that passed the readable list. */
	int (*read_file)(struct ac_cgroup *cg, const struct ac_cg_node *n, const char *file,
			 char *buf, size_t len);
	/* ac_cg_write_file with the value parsed: file is memory.max or
	 * memory.high, v bytes or AC_UNLIMITED. */
	int (*write_memory)(const struct ac_cg_node *n, const char *file, uint64_t v);
	int (*write_pids_max)(const struct ac_cg_node *n, uint64_t v);
	int (*write_cpu_max)(const struct ac_cg_node *n, uint64_t quota_us, uint64_t period_us);
	int (*set_priority)(const struct ac_cg_node *n, uint32_t cpu_weight, uint64_t memory_low,
			    bool protect);
	int (*set_memory_low)(const struct ac_cg_node *n, uint64_t bytes);
	/* Asks the kernel to reclaim `bytes` of the node's memory now (v2
	 * memory.reclaim): anonymous pages go to swap. Synchronous: it
	 * takes as long as the reclaim. 0, -EAGAIN when the kernel got less
	 * than asked, -EOPNOTSUPP where there is no such file. */
	int (*reclaim)(const struct ac_cg_node *n, uint64_t bytes);
};

extern const struct ac_cg_ops cg_v2_ops;
extern const struct ac_cg_ops cg_hybrid_ops;

/* Shared by the backends (cg_node.c). */

/* One stat file into buf, NUL-terminated: pread on a kept fd (sf may be
 * NULL), else open + read. Its length, or -ENOENT where the backend has
 * no such file, or another negative errno. */
int cg_stat_read(struct ac_cgroup *cg, const struct ac_cg_node *n, const struct ac_cg_statfds *sf,
		 enum cg_stat_file i, char *buf, size_t len);
/* A stat file that holds one number. */
bool cg_stat_u64(struct ac_cgroup *cg, const struct ac_cg_node *n, const struct ac_cg_statfds *sf,
		 enum cg_stat_file i, uint64_t *v);
/* *v = the number of key in "key value" text; *v stays if key is absent. */
void cg_keyed_set(const char *text, const char *key, uint64_t *v);
/* The part of a usage both backends read alike: pids.peak, pids.events
 * and the unified cpu.stat. */
void cg_read_pids_cpu(struct ac_cgroup *cg, const struct ac_cg_node *n,
		      const struct ac_cg_statfds *sf, struct ac_usage *u);

#endif
