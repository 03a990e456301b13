/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench --breakdown: what the daemon's per-call cost is made of.
 *  [1] (d) back to back       [2] (a), (d), (d2) after an idle gap
 *  [3] the replica (replica.h) [4] migration vs idle gap, [5] JSON and
 *  socket costs (micro.h)      [6] an attribution of the median (d)-(a)
 *  [7] strace of daemon A (trace.h) */
#ifndef LB_BREAKDOWN_H
#define LB_BREAKDOWN_H

#include <jansson.h>

struct lb_ctx;
struct lb_results;

/* Runs and prints [1]-[7] and sets J's "breakdown". */
void lb_breakdown_run(struct lb_ctx *ctx, const struct lb_results *res, json_t *J);

#endif
