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

/* One cgroup mount from /proc/self/mountinfo: its mount point and the
 * path of the hierarchy it shows (not "/" inside a container). */
struct cg_mount {
	char point[256];
	char root[1024];
};

struct ac_cg_ops {
	const char *name;	  /* what operators see: "v2", "hybrid" */
	enum ac_cg_kind kind;	  /* until nothing asks for it any more */
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
};

extern const struct ac_cg_ops cg_v2_ops;
extern const struct ac_cg_ops cg_hybrid_ops;

#endif
