/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench, breakdown [4] and [5]: micro benchmarks.
 *  [4] moving a process into a cgroup after idle gaps of 0-500 ms: a
 *      cgroup.procs write vs clone3(CLONE_INTO_CGROUP) vs fork, and where
 *      a late write waits (/proc/PID/stack);
 *  [5] the userspace pieces of a call: jansson parse/dump of a real
 *      request and reply, a unix-socket ping-pong with another process. */
#ifndef LB_MICRO_H
#define LB_MICRO_H

#include <jansson.h>
#include <stddef.h>

#include "stats.h"

struct lb_ctx;

struct lb_userspace_costs {
	struct lb_stat5 json_parse_req, json_parse_reply, json_dump_reply, ipc_rtt;
	size_t reply_len;
};

/* [4]: measures, prints, sets jb's "migration_vs_idle_gap" and
 * "migration_wait_stack". */
void lb_micro_gaps_run(struct lb_ctx *ctx, json_t *jb);
/* [5] over 2000 iterations each, reply: a real call.run reply line. */
void lb_micro_userspace_run(struct lb_ctx *ctx, const char *reply, json_t *jb,
			    struct lb_userspace_costs *m);

#endif
