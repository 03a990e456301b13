/* SPDX-License-Identifier: GPL-2.0 */
/* bpf.c (layer 3): the programs of bpf/agentcg.bpf.c, loaded and
 * attached (each optional), the calls map keyed by cgroup id, and the
 * ring buffer, whose records go to ctx->hooks.bpf_record. */
#ifndef AGENTCGD_BPF_H
#define AGENTCGD_BPF_H

#include "daemon.h"

/* What the loaded programs cover (all false without them). */
struct acd_bpf_features {
	bool loaded, lifecycle, oom, cpu_time, forks, memory;
};

/* A call as the programs know it; the call embeds one. */
struct acd_bpf_call {
	struct acd_bpf_call *next; /* hash chain by cgroup id */
	uint64_t cgid;
	bool on;	  /* in the map now */
	bool tracked;	  /* was registered (lifecycle, forks known) */
	uint64_t cpu_ns;  /* counters, as of the last sync */
	uint32_t forks;
};

/* What the programs enforce for a call, from its intent. */
struct acd_bpf_call_spec {
	const struct ac_cg_node *node;	  /* its cgroup */
	const struct ac_cg_statfds *stats; /* its usage files (cpu time so far) */
	const struct ac_intent *intent;
	bool cell;			   /* a session.exec cell: interrupted, not killed */
	const char *path;		   /* for log lines */
};

/* Loads and attaches the programs; never fatal (logs what is missing). */
int acd_bpf_open(struct acd_ctx *ctx);
void acd_bpf_close(struct acd_ctx *ctx);
const struct acd_bpf_features *acd_bpf_features(const struct acd_ctx *ctx);
/* Writes the call's budgets under its cgroup id, before its command runs. */
int acd_bpf_call_begin(struct acd_ctx *ctx, struct acd_bpf_call *bc,
		       const struct acd_bpf_call_spec *spec);
/* Reads lifecycle records while someone follows events: ms until the
 * next read, or -1. */
int acd_bpf_tick(struct acd_ctx *ctx);
/* Takes the pending records and the call's counters. */
void acd_bpf_call_sync(struct acd_ctx *ctx, struct acd_bpf_call *bc);
/* The daemon took over a stopped call: the programs stop signalling it. */
void acd_bpf_call_handled(struct acd_ctx *ctx, struct acd_bpf_call *bc);
/* Sync, then delete the call's entry. */
void acd_bpf_call_end(struct acd_ctx *ctx, struct acd_bpf_call *bc);
json_t *acd_bpf_info(struct acd_ctx *ctx);
struct acd_metrics;
/* Whether the programs are loaded; their ring buffer's records, taken
 * and lost. */
void acd_bpf_metrics(struct acd_ctx *ctx, struct acd_metrics *m);
/* One ACB_EV_PRESSURE when the root's charge reaches bytes at a call's
 * page fault (0: off); false if the programs cannot (then the caller
 * relies on its other sources). */
bool acd_bpf_pressure_arm(struct acd_ctx *ctx, uint64_t bytes);

#endif
