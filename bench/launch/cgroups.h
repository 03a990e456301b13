/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: the bench's own cgroups. agentcg-bench-<pid>-tools, below
 * this process's cgroup in every hierarchy, is opened as a root of the
 * project's cgroup library (ac_cg_open: the same discovery, backends and
 * removal as agentcgd); it is the parent of the cgroup-tools runs (b) and
 * of the breakdown's cgroups. At the end the bench checks that neither it
 * nor the daemons' roots (next to it) are left. */
#ifndef LB_CGROUPS_H
#define LB_CGROUPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "agentcg/cgroup.h"

struct lb_ctx;

struct lb_cgroups {
	struct ac_cgroup lib; /* root = the tools dir */
	bool open;
	bool hybrid; /* v1 memory + cpu + pids and the v2 tree (else pure v2) */
	int n_hier;  /* hierarchies in use, AC_H_UNIFIED first */
	char tools_tag[80];
	char mount[AC_H_COUNT][256];
	char own[AC_H_COUNT][1024]; /* this process's cgroup, relative to the mount ("" = its root) */
};

void lb_cgroups_init(struct lb_ctx *ctx);
/* Creates the tools dir with ac_cg_open; dies on failure. */
void lb_cgroups_open(struct lb_ctx *ctx);
/* ac_cg_close: kills what is left below the tools dir and removes it. */
void lb_cgroups_remove_tools(struct lb_ctx *ctx);

/* The tools dir as a library node, and its fd in hierarchy h. */
const struct ac_cg_node *lb_cgroups_tools(const struct lb_ctx *ctx);
int lb_cgroups_tools_fd(const struct lb_ctx *ctx, int h);

const char *lb_hier_name(int h);
/* <mount><own>/<name> of hierarchy h. */
void lb_cgroups_path(struct lb_ctx *ctx, int h, const char *name, char *buf, size_t len);
/* Appends the path of every bench cgroup still there (the tools dir, the
 * daemons' roots) to arr. */
void lb_cgroups_leftovers(struct lb_ctx *ctx, json_t *arr);

/* rmdir of a leaf cgroup dir, retrying EBUSY for up to 2 s (a task that
 * just exited can keep a cgroup busy for a moment). 0 or a negative errno. */
int lb_rmdir_retry(int parentfd, const char *name);

#endif
