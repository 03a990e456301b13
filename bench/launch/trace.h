/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench, breakdown [7]: `strace -f -T -y -p <agentcgd A>` over a
 * number of call.run requests, aggregated per phase of a call and per
 * syscall and file. Phases come from the daemon's own markers: the
 * call.run recvmsg, then the call.started and the reply sendto. */
#ifndef LB_TRACE_H
#define LB_TRACE_H

#include <jansson.h>

struct lb_ctx;

/* Traces calls requests (skipped, with a note, without strace), prints
 * [7] and sets jb's "strace". */
void lb_trace_run(struct lb_ctx *ctx, int calls, json_t *jb);

#endif
