/* SPDX-License-Identifier: GPL-2.0 */
/* contain.c (layer 5): the containment ladder, throttle -> freeze ->
 * kill, by priority, stepped by the pressure sources (pressure.c) and its
 * own timer. */
#ifndef AGENTCGD_CONTAIN_H
#define AGENTCGD_CONTAIN_H

#include "daemon.h"
#include "pressure.h"
#include "tree.h"

struct acd_call;

/* The ladder's steps, counted per domain (acd_domain.steps). */
enum acd_contain_step {
	ACD_STEP_THROTTLED,	/* a call throttled */
	ACD_STEP_FROZEN,	/* ... frozen */
	ACD_STEP_KILLED,	/* ... killed (the kill step) */
	ACD_STEP_INTERRUPTED,	/* a cell interrupted instead */
	ACD_STEP_RELEASED,	/* a call let go a step (frozen to throttled, or free) */
	ACD_STEP_N
};
_Static_assert(ACD_STEP_N == ACD_DOMAIN_STEPS, "acd_domain.steps has a count per step");

/* Where the ladder has a call (worst first is FROZEN). */
enum acd_contain_level { CONTAIN_NONE = 0, CONTAIN_THROTTLED, CONTAIN_FROZEN };

/* One freeze's push to swap (v2 memory.reclaim, swap on); all 0 while
 * the call is not frozen. */
struct acd_reclaim {
	uint64_t left;		/* bytes still to ask for; 0: done */
	uint64_t got;		/* pushed out so far: comes back as it runs */
	uint64_t before, after; /* memory.current when frozen, after the last write */
	uint64_t ns, longest_ns; /* time in the writes */
	uint32_t writes;
	uint64_t chunk;		/* bytes of the next write */
};

/* The ladder's hold on one call (the call embeds it). */
struct acd_contain_state {
	enum acd_contain_level level;
	uint64_t since_ns;	/* when the current level began */
	bool throttle_written;	/* the throttle knobs were written (restore them) */
	uint64_t free_until_ns;	/* let go to break a stall: not contained again
				 * before then (the kill step still may) */
	struct acd_reclaim reclaim;
};

int acd_contain_init(struct acd_ctx *ctx);
void acd_contain_free(struct acd_ctx *ctx);
void acd_contain_kick(struct acd_ctx *ctx, const char *why);
/* A call was queued at admission: the ladder steps within a step's time
 * and, at each step while calls wait, looks at the queue again. Without
 * this, a call held by the forecast in a calm band (where no kernel event
 * wakes the ladder) waited for hold_max although the room came back. */
void acd_contain_waiting(struct acd_ctx *ctx);
/* The domain that holds back a call of class prio of session s, expected
 * to need `expected` bytes (0: unknown), as it would start: its band
 * (would freeze it; without freezing, low from the throttle band and
 * normal from the freeze band) or, without freezing, the call would take
 * it past the kill mark. NULL: it may start. */
const struct acd_domain *acd_contain_holds_back(struct acd_ctx *ctx, const struct acd_session *s,
						enum ac_priority prio, uint64_t expected);
/* The ladder freezes running calls (swap is on, or freeze: true); else it
 * holds new calls back at admission only. */
bool acd_contain_freezes(struct acd_ctx *ctx);
/* The next ladder step: ms until it, or -1. */
int acd_contain_tick(struct acd_ctx *ctx);
/* The call ended or is ending: let go of it, fill end.contain. */
void acd_contain_call_end(struct acd_ctx *ctx, struct acd_call *call);
/* {"contained": N, "steps": {...}} for daemon.info's pressure. */
json_t *acd_contain_info(struct acd_ctx *ctx);
struct acd_metrics;
/* The ladder's steps by domain, calls held now, bytes pushed to swap. */
void acd_contain_metrics(struct acd_ctx *ctx, struct acd_metrics *m);

#endif
