/* SPDX-License-Identifier: GPL-2.0 */
/* pressure.c (layer 3): memory pressure, as the kernel reports it. A
 * domain is a memory budget the ladder (contain.c) defends: the root
 * (memory_budget, or the host's memory without one) and every tenant with
 * a memory_max. Every source calls ctx->hooks.pressure_kick. */
#ifndef AGENTCGD_PRESSURE_H
#define AGENTCGD_PRESSURE_H

#include "daemon.h"

#define ACD_BANDS 5
#define ACD_DOMAIN_STEPS 5 /* contain.h: enum acd_contain_step */

enum acd_band {
	BAND_CALM = 0,	/* below thaw_below */
	BAND_HOLD,	/* thaw_below .. throttle_at */
	BAND_THROTTLE,	/* throttle_at ..: low-priority calls throttled */
	BAND_FREEZE,	/* freeze_at ..: low frozen, normal throttled */
	BAND_KILL,	/* kill_at ..: normal frozen; the largest contained call killed */
};

struct acd_domain {
	struct acd_domain *next;      /* the tenants' domains */
	char path[AC_NAME_MAX + 2];   /* "/" or "/tenant" */
	const struct ac_cg_node *node;
	uint64_t budget;	      /* bytes */
	bool host;		      /* the root without memory_budget: host memory */
	uint64_t usage;		      /* last sample, bytes */
	uint64_t usage_ns;	      /* when it was taken */
	enum acd_band band;
	enum acd_band release_band;   /* the band of usage + the hysteresis
				       * (throttle_at - thaw_below): calls are let go
				       * down to what this one calls for */
	uint64_t limit_hits;	      /* memory.events max / v1 failcnt, last sample */
	uint64_t limit_hits_seen;     /* ... at the last ladder step */
	uint64_t psi_until_ns;	      /* a PSI trigger fired: at least BAND_THROTTLE till then */
	struct acd_watch psi;	      /* memory.pressure trigger (EPOLLPRI) */
	struct acd_watch memevents;   /* v2 memory.events (EPOLLPRI) */
	struct acd_watch thresholds;  /* v1: eventfd of the usage thresholds */
	uint64_t last_events[4];      /* memory.events low, high, max, oom_kill */
	/* for the metrics */
	uint64_t band_entries[ACD_BANDS];     /* times a sample found it in a new band */
	uint64_t steps[ACD_DOMAIN_STEPS];     /* contain.c: the ladder's steps for it */
};

/* memory.events of a cgroup that is not a domain (a session), watched so
 * that its changes kick the ladder too (v2). */
struct acd_mem_watch {
	struct acd_watch w;
	uint64_t last[4];
	const char *path; /* borrowed: the owner's */
};

struct acd_pressure {
	struct acd_domain root;
	struct acd_domain *tenants; /* domains of tenants with a memory_max */
	bool bpf_mark;		    /* the BPF programs watch the root's charge */
};

/* The root's budget written and its watchers (PSI trigger, memory.events
 * or v1 usage thresholds, the BPF mark) set up. */
int acd_pressure_init(struct acd_ctx *ctx);
/* Stops every watcher (the domains stay until their tenants go). */
void acd_pressure_shutdown(struct acd_ctx *ctx);
void acd_pressure_free(struct acd_ctx *ctx);
/* A tenant's domain (NULL in *out without a budget or with the ladder
 * off); the node and path are borrowed, and must outlive it. */
int acd_pressure_domain_add(struct acd_ctx *ctx, const char *path, const struct ac_cg_node *node,
			    uint64_t budget, struct acd_domain **out);
void acd_pressure_domain_remove(struct acd_ctx *ctx, struct acd_domain **d);
void acd_pressure_watch_node(struct acd_ctx *ctx, struct acd_mem_watch *mw,
			     const struct ac_cg_node *node, const char *path);
void acd_pressure_unwatch_node(struct acd_ctx *ctx, struct acd_mem_watch *mw);
/* The BPF programs saw the root's charge pass the armed mark. */
void acd_pressure_kernel_event(struct acd_ctx *ctx, uint64_t bytes);
/* Samples every domain's usage and band. */
void acd_pressure_sample(struct acd_ctx *ctx, uint64_t now);
/* d's release band with `back` bytes more in use (what a call that was
 * pushed out to swap takes back as it runs again). */
enum acd_band acd_pressure_release_band(const struct acd_ctx *ctx, const struct acd_domain *d,
					uint64_t back);
/* Arms the kernel-side mark just above the root's current band. */
void acd_pressure_rearm(struct acd_ctx *ctx);
json_t *acd_pressure_info(struct acd_ctx *ctx);
struct acd_metrics;
/* Each domain's band, usage and budget (sampled now), and its band
 * changes (nothing with containment off). */
void acd_pressure_metrics(struct acd_ctx *ctx, struct acd_metrics *m);
/* The label of a domain: "/" or "/tenant", "host" for the root without
 * memory_budget (as the events and daemon.info name it). */
const char *acd_domain_name(const struct acd_domain *d);
/* The domains the metrics name, the root's first: d NULL starts, *n
 * counts (start it at 0); NULL after the last or past the tenants' cap
 * (ACD_METRICS_TENANTS_MAX). */
const struct acd_domain *acd_domain_next(const struct acd_ctx *ctx, const struct acd_domain *d,
				       int *n);

#endif
