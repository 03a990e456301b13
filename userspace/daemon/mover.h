/* SPDX-License-Identifier: GPL-2.0 */
/* mover.c (layer 3): moves running processes (interpreter runners)
 * between cgroups on a worker thread, off the main loop, since a
 * migration can wait for an RCU grace period (~6-24 ms here). Jobs go
 * through a bounded queue; each job's completion comes back to the loop
 * through an eventfd watch, where its done function runs.
 *
 * The kernel's cgroup.procs takes a pid, not a pidfd: the caller passes
 * only its own live child and must not reap it before done has run. */
#ifndef AGENTCGD_MOVER_H
#define AGENTCGD_MOVER_H

#include "daemon.h"

struct acd_move;

/* result: 0 moved, or a negative errno (-ECANCELED: never started). */
typedef void (*acd_move_fn)(struct acd_ctx *ctx, void *arg, int result);

struct acd_move_req {
	pid_t pid;		     /* the caller's own unreaped child */
	const struct ac_cg_node *to; /* where to */
	/* Also move pid's direct children (a bash runner's bash). They are
	 * pinned only while pid cannot reap them, so `from`, the cgroup pid
	 * is in, is frozen meanwhile (NULL: no children are moved). */
	const struct ac_cg_node *from;
	acd_move_fn done;
	void *arg;
};

int acd_mover_init(struct acd_ctx *ctx);
/* Waits for the job running, cancels the queued ones (their done runs). */
void acd_mover_shutdown(struct acd_ctx *ctx);
/* Queues a move; *out identifies it for acd_mover_wait until done runs. */
int acd_mover_submit(struct acd_ctx *ctx, const struct acd_move_req *req, struct acd_move **out);
/* The job's end, now: a queued job is taken back (-ECANCELED), a running
 * one waited for; its done runs before this returns. */
void acd_mover_wait(struct acd_ctx *ctx, struct acd_move *m);
json_t *acd_mover_info(struct acd_ctx *ctx);

#endif
