/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench, breakdown [3]: an in-process replica of one call's cgroup
 * and spawn work as agentcgd does it, timed step by step, back to back
 * and after an idle gap, next to a bare fork+exec. */
#ifndef LB_REPLICA_H
#define LB_REPLICA_H

#include <jansson.h>

struct lb_ctx;

/* Sums of the back-to-back medians (us), for the attribution [6]. */
struct lb_replica_sums {
	double mkdir_open;    /* the call dir in each hierarchy */
	double limit_writes;
	double opens;	      /* fds opened and closed around the spawn */
	double spawn_extra;   /* the spawn minus a bare fork+exec */
	double post_exit;     /* populated + usage reads */
	double rmdir;	      /* after the reply */
	double join_extra_idle; /* what an idle gap adds to joining the v1 cgroups */
};

/* Runs opt.micro_n iterations back to back and some after opt.gap_ms
 * idle, prints [3] and sets jb's "replica". */
void lb_replica_run(struct lb_ctx *ctx, json_t *jb, struct lb_replica_sums *sums);

#endif
