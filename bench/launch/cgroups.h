/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: the bench's own cgroups. This process's cgroup in each
 * hierarchy, and below it agentcg-bench-<pid>-tools: the parent of the
 * cgroup-tools runs (b) and of the breakdown's cgroups. At the end the
 * bench checks that neither it nor the daemons' roots are left. */
#ifndef LB_CGROUPS_H
#define LB_CGROUPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "agentcg/cgroup.h"

struct lb_ctx;

struct lb_cgroups {
	bool hybrid; /* v1 memory + cpu + pids and the v2 tree (else pure v2) */
	char tools_tag[80];
	bool present[AC_H_COUNT];
	char mount[AC_H_COUNT][256];
	char own[AC_H_COUNT][1024]; /* this process's cgroup, relative to the mount ("" = its root) */
	int tools_fd[AC_H_COUNT];
	bool tools_made[AC_H_COUNT];
};

void lb_cgroups_init(struct lb_ctx *ctx);
/* Finds the hierarchies and creates the tools dir; dies on failure. */
void lb_cgroups_open(struct lb_ctx *ctx);
/* Removes the tools dir and everything below it, in every hierarchy. */
void lb_cgroups_remove_tools(struct lb_ctx *ctx);

const char *lb_hier_name(int h);
/* The hierarchies a call cgroup lives in: all four on hybrid, one on v2. */
int lb_cgroups_hiers(const struct lb_ctx *ctx, int out[AC_H_COUNT]);
/* <mount><own>/<name> of hierarchy h. */
void lb_cgroups_path(struct lb_ctx *ctx, int h, const char *name, char *buf, size_t len);
/* Appends the path of every bench cgroup still there (the tools dir, the
 * daemons' roots) to arr. */
void lb_cgroups_leftovers(struct lb_ctx *ctx, json_t *arr);

/* rmdir a cgroup tree bottom-up, retrying EBUSY (a task that just exited
 * can keep a v1 cgroup busy for a moment). 0 or a negative errno. */
int lb_rmtree_at(int parentfd, const char *name);

#endif
