/* SPDX-License-Identifier: GPL-2.0 */
/* tree.c (layer 4): tenants and their sessions, each a cgroup with a
 * budget, made from the configuration, by tenant.create / session.create,
 * or on demand by call.run. */
#ifndef AGENTCGD_TREE_H
#define AGENTCGD_TREE_H

#include "daemon.h"
#include "metrics.h"
#include "pressure.h"

struct acd_call;
struct acd_spare;
struct acd_interp;

/* Room the spare stubs waiting below a session or tenant get on top of
 * its budget (pool.c), so they never spend it: the kernel limits are
 * budget + room. Wanted now, and last written. */
struct acd_stub_room {
	uint64_t pids, mem;
	uint64_t pids_written, mem_written;
};

struct acd_session {
	struct acd_session *next;
	struct acd_tenant *tenant;
	char name[AC_NAME_MAX + 1];
	char path[2 * (AC_NAME_MAX + 1) + 1];
	struct ac_cg_node node;
	struct ac_budget budget;
	enum ac_priority priority;
	uid_t owner;	/* uid of the client that created it (session.create, call.run) */
	uint64_t reserved_mem;
	uint64_t next_seq;
	bool frozen;
	bool operator_frozen; /* by an operator: its owner may not thaw it */
	struct acd_call *calls;	      /* call.c */
	struct acd_spare *spares;     /* pool.c: oldest first; the last may be half made */
	struct acd_interp *interp;    /* interp.c: interpreter sessions (session.create lang) */
	bool interpreter;	      /* an interpreter session: spares have no stub */
	struct ac_limits last_limits; /* spares are written with these */
	struct acd_stub_room room;    /* pool.c: its waiting stubs' */
	struct acd_mem_watch memevents; /* pressure.c: v2 memory.events, for the ladder */
	/* session.close in progress: reply when the last call is gone */
	bool closing;
	struct acd_client *close_client; /* NULL once it went away (call.c) */
	json_t *close_id;
	int close_killed;
};

/* What a tenant's calls came to, for the metrics (README "Metrics"):
 * counted by the call module, kept while the tenant lives (a tenant
 * removed and made again starts from 0, which Prometheus takes as a
 * counter reset). Label values: the name tables below. */
enum acd_call_outcome {
	ACD_OUT_OK,		/* the verdict's status */
	ACD_OUT_EXCEEDED,
	ACD_OUT_FAILED,
	ACD_OUT_SPAWN_FAILED,	/* the command could not start */
	ACD_OUT_N
};
enum acd_refusal {
	ACD_REF_BUDGET,		/* no room in a session's or tenant's budget */
	ACD_REF_NEVER_FITS,	/* more than a whole budget */
	ACD_REF_PRESSURE,	/* held back by memory pressure until it was refused */
	ACD_REF_QUOTA,		/* a per_uid quota */
	ACD_REF_N
};
enum acd_held_by { ACD_HELD_BUDGET, ACD_HELD_PRESSURE, ACD_HELD_N };
#define ACD_RESOURCES_N 7 /* the verdict's resources: acd_resource_names */

struct acd_tenant_stats {
	uint64_t calls[ACD_OUT_N];
	uint64_t exceeded[ACD_RESOURCES_N]; /* calls that exceeded each resource */
	uint64_t waits[ACD_HELD_N];	    /* admission waits that ended in a start or a refusal */
	uint64_t wait_ns[ACD_HELD_N];	    /* ... and their time */
	uint64_t refused[ACD_REF_N];	    /* calls admission refused */
};

extern const char *const acd_outcome_names[ACD_OUT_N];
extern const char *const acd_refusal_names[ACD_REF_N];
extern const char *const acd_held_names[ACD_HELD_N];
extern const char *const acd_resource_names[ACD_RESOURCES_N];
/* The index of a verdict's resource name, or -1. */
int acd_resource_index(const char *name);

struct acd_tenant {
	struct acd_tenant *next;
	char name[AC_NAME_MAX + 1];
	char path[AC_NAME_MAX + 2];
	struct ac_cg_node node;
	struct ac_budget budget;
	uint64_t reserved_mem;
	bool frozen;
	struct acd_session *sessions;
	uint64_t memory_low;	/* written sum of its protected sessions */
	struct acd_domain *dom;	/* pressure domain (memory_max set), else NULL */
	struct ac_history *history; /* adaptive.c: its labels' peaks; NULL until the first */
	struct acd_stub_room room;  /* pool.c: the stubs waiting in its sessions' */
	struct acd_tenant_stats stats; /* call*.c: for the metrics */
};

int acd_tree_init(struct acd_ctx *ctx);
void acd_tree_destroy(struct acd_ctx *ctx);
struct acd_tenant *acd_tenant_find(struct acd_ctx *ctx, const char *name);
struct acd_session *acd_session_find(struct acd_tenant *t, const char *name);
int acd_tenant_create(struct acd_ctx *ctx, const char *name, const struct ac_budget *b,
		      struct acd_tenant **out);
int acd_tenant_remove(struct acd_ctx *ctx, struct acd_tenant *t);
/* The session belongs to client c's uid (c NULL: root's) and counts
 * against its per_uid.sessions: -EDQUOT over it (nothing is made). */
int acd_session_create(struct acd_ctx *ctx, struct acd_tenant *t, const char *name,
		       const struct ac_budget *b, enum ac_priority prio, const struct acd_client *c,
		       struct acd_session **out);
/* Removes an idle session (no calls); -EBUSY otherwise. */
int acd_session_remove(struct acd_ctx *ctx, struct acd_session *s);
int acd_budget_apply(struct acd_ctx *ctx, const struct ac_cg_node *node, const struct ac_budget *b);
/* Writes pids.max and memory.max as the budget plus the stubs' room
 * (room.*_written updated; unlimited budgets are left alone). */
int acd_budget_room_write(struct acd_ctx *ctx, const struct ac_cg_node *node,
			  const struct ac_budget *b, struct acd_stub_room *room);
/* Parses {"memory_max", "cpu", "pids"}; adds errors under prefix. */
int acd_budget_from_json(const json_t *obj, struct ac_budget *b, struct ac_errors *errs);
json_t *acd_budget_to_json(const struct ac_budget *b);

struct acd_metrics;
/* The tenants' call, admission and session families (the newest tenants
 * and sessions first, up to the caps of metrics.h). */
void acd_tree_metrics(struct acd_ctx *ctx, struct acd_metrics *m);

#endif
