/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: competitor (b), Debian's cgroup-tools: cgcreate, cgset,
 * cgexec /bin/true, cgdelete, one process each, the same limits (v1 names
 * on hybrid hosts, v2 names on v2 hosts), in c<i> below the tools dir. */
#ifndef LB_CGTOOLS_H
#define LB_CGTOOLS_H

#include <stdbool.h>
#include <stddef.h>

#include "stats.h"

struct lb_ctx;

enum lb_tool_step { LB_T_CREATE, LB_T_SET, LB_T_EXEC, LB_T_DELETE, LB_T_STEPS };

/* Controllers grouped by their path: cgcreate/cgexec/cgdelete take one
 * `-g ctrl,ctrl:path` per group, cgset one invocation per distinct path. */
struct lb_tool_group {
	char ctrls[64];
	const char *cl[3];
	int n_cl;
	char rel[1200]; /* parent path inside the hierarchy (…/agentcg-bench-P-tools) */
	char sets[3][64];
	int n_sets;
};

struct lb_tools {
	char bin[LB_T_STEPS][64]; /* cgcreate cgset cgexec cgdelete */
	struct lb_tool_group g[3];
	int n_groups;
	int n_delete;	      /* cgdelete invocations per iteration */
	int procs_per_iter;
	struct lb_series step[LB_T_STEPS];
	int leftovers;	      /* dirs the tools did not remove (removed untimed) */
};

const char *lb_tools_step_name(enum lb_tool_step s);
/* Finds the four binaries; dies without cgroup-tools. */
void lb_tools_find(struct lb_ctx *ctx);
/* Plans the commands for this host's hierarchies (after lb_cgroups_open). */
void lb_tools_plan(struct lb_ctx *ctx);
/* One iteration on c<i>; returns its time in us. record: keep the steps'
 * times and count leftovers. */
double lb_run_tools(struct lb_ctx *ctx, int i, bool record);
/* The commands of one iteration, one "    $ ..." line each. */
void lb_tools_command_lines(struct lb_ctx *ctx, char *buf, size_t len);

#endif
