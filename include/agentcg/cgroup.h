/* SPDX-License-Identifier: GPL-2.0 */
/* cgroup backends behind one small interface.
 *
 *  - v2:     one cgroup2 hierarchy with memory, cpu, pids enabled.
 *  - hybrid: memory, cpu and pids on cgroup v1 mounts, plus the cgroup2
 *            tree (usually /sys/fs/cgroup/unified) with no controllers,
 *            used for identity (cgroup id), CPU usage (cpu.stat is always
 *            there on v2), cgroup.kill, cgroup.freeze, cgroup.events and
 *            placement with clone3(CLONE_INTO_CGROUP).
 *
 * Each backend is a table of operations private to userspace/cgroup/
 * (cg_backend.h), chosen once by ac_cg_open; the code above asks what the
 * backend can do (ac_cg_has_*), never which one it is.
 *
 * Every node keeps one directory fd per hierarchy; all files are reached
 * with openat() relative to those, never by concatenated paths. The root
 * is created under the cgroup this process is already in. */
#ifndef AGENTCG_CGROUP_H
#define AGENTCG_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agentcg/intent.h"
#include "agentcg/verdict.h"

/* The warm interpreters' cgroup under the root: a name no tenant can
 * have (names never start with '.'). */
#define AC_CG_INTERP_POOL ".interpreters"

enum ac_hier { AC_H_UNIFIED = 0, AC_H_MEMORY, AC_H_CPU, AC_H_PIDS, AC_H_COUNT };

struct ac_cg_node {
	int dirfd[AC_H_COUNT]; /* -1 where the backend has no such hierarchy */
	uint64_t id;	       /* cgroup v2 id (inode of the unified dir) */
	uint64_t memcg_id;     /* inode of its memory cgroup dir (= id on v2) */
};

/* The backend's operations (private to the cgroup layer). */
struct ac_cg_ops;

struct ac_cgroup {
	const struct ac_cg_ops *ops; /* the backend: cg_v2.c or cg_hybrid.c */
	int n_hier; /* hierarchies in use: 1 on v2, 4 on hybrid */
	char mount[AC_H_COUNT][256];   /* mount point of each hierarchy */
	char root_path[AC_H_COUNT][1024]; /* absolute path of the root dir */
	struct ac_cg_node root;
	bool has_kill;	 /* cgroup.kill exists (Linux >= 5.14) */
	bool has_peak;	 /* memory.peak exists (v2, Linux >= 5.19) */
	bool has_clone_into_cgroup; /* the last stub was placed by CLONE_INTO_CGROUP */
	/* v2, when the cgroup above the root held the daemon itself (systemd
	 * Delegate=yes): that cgroup, and the leaf below it the daemon moved
	 * into so controllers could be enabled there; -1 otherwise. */
	int own_fd;
	char own_leaf[80];
};

/* Finds the backend, creates the root and, on v2, enables memory, cpu and
 * pids for its subtree. root_spec: "auto" (= "agentcg"), a relative path
 * (under this process's own cgroup in each hierarchy) or an absolute
 * cgroup path. A leftover root from a dead daemon is removed if it holds
 * no processes; -EBUSY if it does. force: NULL (detect), "v2", "hybrid".
 * On v2, if the cgroup above the root holds this process (a systemd
 * service with Delegate=yes), the process moves itself into a leaf
 * "<root name>.daemon" next to the root first (no internal processes),
 * and back at ac_cg_close. */
int ac_cg_open(struct ac_cgroup *cg, const char *root_spec, const char *force);
/* Kills whatever is left below the root, removes every directory under
 * it and the root itself. */
void ac_cg_close(struct ac_cgroup *cg);
/* The backend as operators see it named: "v2" or "hybrid". */
const char *ac_cg_backend_name(const struct ac_cgroup *cg);
/* What the backend can do, for the code above this layer (which never
 * asks which backend it is). All false before ac_cg_open succeeded. */
/* A memory.high that throttles and reclaims above it (v2); without it
 * (v1) ac_cg_write_file refuses memory.high, limits put the soft limit
 * there instead, and a `memory` intent needs BPF or is only reported. */
bool ac_cg_has_memory_high(const struct ac_cgroup *cg);
/* A memory.events in the unified tree (counts of high, max, oom events)
 * that epoll reports changes of with EPOLLPRI (v2). */
bool ac_cg_has_memory_events(const struct ac_cgroup *cg);
/* Usage thresholds: the memory hierarchy signals an eventfd when the
 * usage crosses a mark (v1 cgroup.event_control on
 * memory.usage_in_bytes). */
bool ac_cg_has_usage_thresholds(const struct ac_cgroup *cg);
/* memory.low, the reclaim protection of a cgroup's memory (v2); without
 * it ac_cg_set_memory_low does nothing. */
bool ac_cg_has_memory_low(const struct ac_cgroup *cg);

void ac_cg_node_init(struct ac_cg_node *node);
/* Creates parent/name in every hierarchy (rolled back on failure). A node
 * that will have children (tenant, session) gets its subtree controllers
 * enabled on v2 when leaf is false. */
int ac_cg_mkdir(struct ac_cgroup *cg, const struct ac_cg_node *parent, const char *name, bool leaf,
		struct ac_cg_node *out);
/* Removes parent/name in every hierarchy and closes node's fds. -EBUSY
 * while processes remain (the node stays valid then). */
int ac_cg_rmdir(struct ac_cgroup *cg, const struct ac_cg_node *parent, const char *name,
		struct ac_cg_node *node);
void ac_cg_node_close(struct ac_cg_node *node);
/* The same as ac_cg_rmdir, one hierarchy per call, so removal can be
 * spread over idle moments: 1 more to do, 0 done, <0 error (-EBUSY while
 * processes remain). */
int ac_cg_rmdir_step(struct ac_cgroup *cg, const struct ac_cg_node *parent, const char *name,
		     struct ac_cg_node *node);
/* Creates parent/name in hierarchy h only (for spreading ac_cg_mkdir over
 * idle moments); the caller rolls back with ac_cg_rmdir. */
int ac_cg_mkdir_one(struct ac_cgroup *cg, const struct ac_cg_node *parent, const char *name,
		    int h, struct ac_cg_node *out);

/* Writes the limits. fresh: the cgroup was just created, so values that
 * are already the kernel default ("max") are skipped. */
int ac_cg_apply_limits(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       const struct ac_limits *lim, bool fresh);
/* Writes only the knobs where next differs from cur (what the cgroup has). */
int ac_cg_update_limits(struct ac_cgroup *cg, const struct ac_cg_node *node,
			const struct ac_limits *cur, const struct ac_limits *next);
int ac_cg_read_usage(struct ac_cgroup *cg, const struct ac_cg_node *node, struct ac_usage *u);

/* The statistics files of a node, opened ahead of time so reading a
 * call's usage at its end is a few preads. */
#define AC_CG_STAT_FILES 8
struct ac_cg_statfds {
	int fd[AC_CG_STAT_FILES];
};
void ac_cg_statfds_init(struct ac_cg_statfds *sf);
int ac_cg_statfds_open(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       struct ac_cg_statfds *sf);
void ac_cg_statfds_close(struct ac_cg_statfds *sf);
/* ac_cg_populated with kept fds (sf may be NULL). */
int ac_cg_populated_fds(struct ac_cgroup *cg, const struct ac_cg_node *node,
			const struct ac_cg_statfds *sf);
/* The kept cgroup.events fd (borrowed; -1 if not open), for epoll. */
int ac_cg_statfds_events_fd(const struct ac_cg_statfds *sf);
/* ac_cg_read_usage with kept fds (sf may be NULL). */
int ac_cg_read_usage_fds(struct ac_cgroup *cg, const struct ac_cg_node *node,
			 const struct ac_cg_statfds *sf, struct ac_usage *u);
/* Memory charged now (memory.current / usage_in_bytes); 0 if unknown. */
uint64_t ac_cg_memory_current(struct ac_cgroup *cg, const struct ac_cg_node *node);
/* Times a charge hit the memory limit (v2 memory.events max, v1
 * memory.failcnt): what grows while something waits for room. */
uint64_t ac_cg_memory_limit_hits(struct ac_cgroup *cg, const struct ac_cg_node *node);
/* usage_usec of the unified cpu.stat (user + system); sf: kept fds or NULL. */
int ac_cg_cpu_usage_us(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       const struct ac_cg_statfds *sf, uint64_t *us);

/* Reclaims `bytes` of the node's memory now (v2 memory.reclaim: its
 * anonymous pages go to swap, if there is any). Blocks for as long as the
 * kernel takes: ask for small amounts. 0; -EAGAIN when the kernel got
 * less than asked (it may have got some); -EOPNOTSUPP on hybrid (v1 has
 * no such file) or a v2 kernel older than 5.19. */
int ac_cg_reclaim(struct ac_cgroup *cg, const struct ac_cg_node *node, uint64_t bytes);
int ac_cg_freeze(struct ac_cgroup *cg, const struct ac_cg_node *node, bool frozen);
/* SIGKILLs every process below node (cgroup.kill, or a freeze + walk of
 * cgroup.procs where cgroup.kill is missing). */
int ac_cg_kill(struct ac_cgroup *cg, const struct ac_cg_node *node);
/* 1 populated, 0 empty, <0 error. */
int ac_cg_populated(struct ac_cgroup *cg, const struct ac_cg_node *node);

/* Reads a cgroup v2 file by name; on hybrid the v1 equivalent is
 * translated into v2 form (memory.peak <- memory.max_usage_in_bytes, ...).
 * -ENOENT for names that do not exist on this backend. Returns length. */
int ac_cg_read_file(struct ac_cgroup *cg, const struct ac_cg_node *node, const char *file,
		    char *buf, size_t len);
/* Writes one of memory.high, memory.max, cpu.max, pids.max (v2 syntax:
 * a size or "max"; "QUOTA PERIOD" or "max [PERIOD]"); -EINVAL for other
 * files or values, -EOPNOTSUPP for memory.high on hybrid. */
int ac_cg_write_file(struct ac_cgroup *cg, const struct ac_cg_node *node, const char *file,
		     const char *value);

/* The knobs of a priority class: v2 cpu.weight and memory.low (bytes,
 * AC_UNLIMITED = max); hybrid cpu.shares (weight * 1024 / 100) and
 * memory.soft_limit_in_bytes (none if protect, else 0). */
int ac_cg_set_priority(struct ac_cgroup *cg, const struct ac_cg_node *node, uint32_t cpu_weight,
		       uint64_t memory_low, bool protect);
/* memory.low alone (v2; nothing on hybrid). */
int ac_cg_set_memory_low(struct ac_cgroup *cg, const struct ac_cg_node *node, uint64_t bytes);
/* Opens a file of the node in hierarchy h (for watchers: PSI triggers,
 * memory.events, v1 cgroup.event_control); an fd or a negative errno. */
int ac_cg_open_file(struct ac_cgroup *cg, const struct ac_cg_node *node, enum ac_hier h,
		    const char *file, int flags);

/* Fds a child needs to place itself: the unified directory (for
 * CLONE_INTO_CGROUP) and, on hybrid, cgroup.procs of each v1 hierarchy
 * opened for writing. Close with ac_cg_placement_close. */
struct ac_cg_placement {
	int v2_dirfd;		  /* borrowed from the node, not closed */
	int v1_procs[AC_H_COUNT]; /* owned */
	int n_v1;
	int v2_procs;		  /* owned: ac_cg_placement_open_move only, else -1 */
};
int ac_cg_placement_open(struct ac_cgroup *cg, const struct ac_cg_node *node,
			 struct ac_cg_placement *pl);
void ac_cg_placement_close(struct ac_cg_placement *pl);

/* Moving a process that already runs (the placement above is for new
 * ones): cgroup.procs of the node in every hierarchy, all owned (v2_dirfd
 * is -1), so another thread may move after the node is gone. */
int ac_cg_placement_open_move(struct ac_cgroup *cg, const struct ac_cg_node *node,
			      struct ac_cg_placement *pl);
/* Writes pid (all its threads) into every hierarchy, the unified one
 * last. The kernel takes a number, not a pidfd: pass only a pid that
 * cannot be reused meanwhile (the caller's own child, not reaped). A
 * migration may wait for an RCU grace period: not on a latency path. */
int ac_cg_placement_move(const struct ac_cg_placement *pl, pid_t pid);

/* The cgroup2 freezer of a node, opened for another thread: fd[0]
 * cgroup.freeze, fd[1] cgroup.events. */
struct ac_cg_freezer {
	int fd[2];
};
int ac_cg_freezer_open(struct ac_cgroup *cg, const struct ac_cg_node *node,
		       struct ac_cg_freezer *fz);
void ac_cg_freezer_close(struct ac_cg_freezer *fz);
/* Freezes (thaws) and, when freezing, waits up to timeout_ms for every
 * task to be frozen: 0, -ETIMEDOUT, or another negative errno. */
int ac_cg_freezer_set(const struct ac_cg_freezer *fz, bool frozen, int timeout_ms);

#endif
