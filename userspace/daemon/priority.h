/* SPDX-License-Identifier: GPL-2.0 */
/* priority.c (layer 4): the knobs of a session's priority class (cpu
 * weight, memory.low or the v1 soft limit) and oom_score_adj of its
 * processes. */
#ifndef AGENTCGD_PRIORITY_H
#define AGENTCGD_PRIORITY_H

#include "daemon.h"
#include "tree.h"

int acd_prio_session_apply(struct acd_ctx *ctx, struct acd_session *s);
void acd_prio_session_gone(struct acd_ctx *ctx);
int acd_prio_oom_adj(pid_t pid, int adj);
/* oom_score_adj of the class for pid (a stub: what it starts inherits it). */
void acd_prio_process(struct acd_ctx *ctx, enum ac_priority prio, pid_t pid);
void acd_prio_interp_process(struct acd_ctx *ctx, pid_t pid, const struct acd_session *s);

/* A waiting stub (a spare call's process): the lowest score there is
 * (it holds about nothing, so killing it gives nothing back); the call
 * that takes it gets its class's (acd_prio_process) before it execs. */
void acd_prio_idle_process(struct acd_ctx *ctx, pid_t pid);
/* A cell runs: its interpreter (and the runner's direct children, a
 * bash) get the cell's class, as any call's processes; when it ends they
 * go back to the interpreters' score. Without this a cell could allocate
 * under the interpreters' protection that calls do not have. */
void acd_prio_cell_begin(struct acd_ctx *ctx, pid_t pid, enum ac_priority prio);
void acd_prio_cell_end(struct acd_ctx *ctx, pid_t pid, const struct acd_session *s);

#endif
