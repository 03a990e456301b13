/* SPDX-License-Identifier: GPL-2.0 */
/* pool.c (layer 4): spare call cgroups, made ahead of time with a stub
 * process waiting in each, built in small steps when the loop is idle. */
#ifndef AGENTCGD_POOL_H
#define AGENTCGD_POOL_H

#include "daemon.h"
#include "tree.h"

struct acd_spare {
	struct acd_spare *next;
	char name[AC_NAME_MAX + 1];
	struct ac_cg_node node;
	int made;		 /* hierarchies created so far */
	bool limits_set;	 /* limits written */
	struct ac_limits limits; /* what the cgroup has */
	bool stats_open;
	struct ac_cg_statfds stats; /* usage files, opened ahead */
	struct ac_stub stub;	 /* pid 0 until started */
	bool in_room;		 /* its stub has room above the budgets (pool.c) */
	uint64_t room_mem;	 /* ... of this much memory */
};

int acd_pool_init(struct acd_ctx *ctx);
void acd_pool_free(struct acd_ctx *ctx);
/* A ready spare for a call with limits lim (built now if none is ready);
 * the caller owns it and frees it with free() after taking its parts. */
int acd_pool_take(struct acd_ctx *ctx, struct acd_session *s, const struct ac_limits *lim,
		  struct acd_spare **out);
/* One step towards the sessions' spares; false when there was nothing
 * to do. */
bool acd_pool_step(struct acd_ctx *ctx);
/* Kills the stubs and removes the spare cgroups of a session. */
void acd_pool_drain(struct acd_ctx *ctx, struct acd_session *s);
void acd_pool_init_session(struct acd_ctx *ctx, struct acd_session *s);
json_t *acd_pool_info(struct acd_ctx *ctx);
struct acd_metrics;
/* The calls that found a spare ready, and those that did not. */
void acd_pool_metrics(struct acd_ctx *ctx, struct acd_metrics *m);

#endif
