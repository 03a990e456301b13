/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench, breakdown [3]: an in-process replica of one call's cgroup
 * and spawn work, timed step by step, back to back and after an idle gap,
 * next to a bare fork+exec. It calls the same libagentcg-cgroup functions
 * agentcgd calls for a call on a pool miss (ac_cg_mkdir_one,
 * ac_cg_apply_limits, ac_cg_statfds_open, ac_cg_placement_open,
 * ac_stub_start, ac_stub_exec, ac_stub_result, ac_cg_populated_fds,
 * ac_cg_read_usage_fds, ac_cg_rmdir_step), with limits from the daemon's
 * intent code (ac_intent_to_limits) and daemon A's config, so it measures
 * the code the daemon runs, not a copy of it. Not replicated: the daemon's
 * event loop, BPF map updates and priority knobs (oom_score_adj). */
#ifndef LB_REPLICA_H
#define LB_REPLICA_H

#include <jansson.h>

struct lb_ctx;

/* Sums of the back-to-back medians (us), for the attribution [6]. */
struct lb_replica_sums {
	double mkdir_open;	/* the call dir in each hierarchy */
	double limit_writes;
	double opens;		/* fds opened and closed around the spawn */
	double spawn_extra;	/* the spawn minus a bare fork+exec (opens not counted twice) */
	double post_exit;	/* populated + usage reads */
	double rmdir;		/* after the reply */
	double join_extra_idle; /* what an idle gap adds to the stub's joins and exec */
};

/* Runs opt.micro_n iterations back to back and some after opt.gap_ms
 * idle, prints [3] and sets jb's "replica". */
void lb_replica_run(struct lb_ctx *ctx, json_t *jb, struct lb_replica_sums *sums);

#endif
