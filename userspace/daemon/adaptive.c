// SPDX-License-Identifier: GPL-2.0
/* Adaptive intents: a call that leaves `memory` out but has a `label`
 * gets the p95 of that label's recent memory peaks times a margin
 * (configuration "adaptive"), once the label has min_samples of them.
 * Histories are per tenant (a label of one tenant is not another's).
 * Every finished call with a label and a known peak adds to its history,
 * whatever the outcome (a killed call's peak is a lower bound, so the
 * history grows). Such a memory is assumed, not declared: it is marked
 * defaulted, and on v1 hosts it is not armed in the BPF programs
 * (bpf.c), so passing it is only reported. */
#include <errno.h>

#include "agentcg/history.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "adaptive.h"
#include "call.h"
#include "tree.h"

#define HUMAN_MAX 32

int acd_adaptive_init(struct acd_ctx *ctx)
{
	const struct ac_adaptive_config *a = &ctx->cfg.adaptive;
	struct ac_history *probe = NULL;
	int r;

	if (!a->enabled)
		return 0;
	/* Each tenant's table is made at its first peak: check the window now. */
	r = ac_history_create(a->window, &probe);
	ac_history_destroy(probe);
	if (r < 0)
		return ac_log_errno(r, "adaptive intents: history of %u peaks per label", a->window);
	return 0;
}

/* The label history of the call's tenant: one tenant's calls never
 * shape another's estimates, nor evict their labels. NULL: off, or not
 * made yet (create: make it). */
static struct ac_history *tenant_history(struct acd_ctx *ctx, struct acd_call *call, bool create)
{
	struct acd_tenant *t = call->session->tenant;

	if (!ctx->cfg.adaptive.enabled)
		return NULL;
	if (!t->history && create && ac_history_create(ctx->cfg.adaptive.window, &t->history) < 0)
		t->history = NULL;
	return t->history;
}

void acd_adaptive_assume(struct acd_ctx *ctx, struct acd_call *call)
{
	const struct ac_adaptive_config *a = &ctx->cfg.adaptive;
	struct ac_intent *in = &call->intent;
	struct ac_history_estimate est;
	struct ac_history *h = tenant_history(ctx, call, false);

	call->adaptive = (struct acd_adaptive_use){ 0 };
	if (!h || (in->set & AC_F_MEMORY) || !(in->set & AC_F_LABEL) || !in->label[0])
		return;
	if (ac_history_estimate(h, in->label, a->min_samples, a->margin, &est) < 0)
		return;
	in->memory = est.assumed_bytes;
	/* an explicit memory_max still caps it */
	if ((in->set & AC_F_MEMORY_MAX) && in->memory > in->memory_max)
		in->memory = in->memory_max;
	in->set |= AC_F_MEMORY;
	in->defaulted |= AC_F_MEMORY;
	/* A guess is reserved and (v2) throttles, but no hard ceiling is
	 * derived from it: a call bigger than its label's history is not
	 * killed for it; the budgets and the containment ladder defend the
	 * host. */
	if (!(in->set & AC_F_MEMORY_MAX)) {
		in->memory_max = AC_UNLIMITED;
		in->set |= AC_F_MEMORY_MAX;
		in->defaulted |= AC_F_MEMORY_MAX;
	}
	call->adaptive = (struct acd_adaptive_use){ .samples = est.samples, .p95 = est.p95_bytes,
						    .margin = a->margin };
}

void acd_adaptive_result(struct acd_ctx *ctx, struct acd_call *call, uint64_t peak,
			 json_t *intent)
{
	const struct ac_intent *in = &call->intent;
	char p95[HUMAN_MAX];

	struct ac_history *h;

	if ((in->set & AC_F_LABEL) && in->label[0] && peak > 0 &&
	    (h = tenant_history(ctx, call, true))) {
		int r = ac_history_record(h, in->label, peak);

		if (r < 0)
			ac_log_errno(r, "adaptive intents: peak of %s (label %s)", call->path,
				     in->label);
	}
	if (!call->adaptive.samples || !json_is_object(intent))
		return;
	ac_format_size(call->adaptive.p95, p95, sizeof(p95));
	json_object_set_new(intent, "adaptive",
			    json_pack("{s:s, s:I, s:I, s:s, s:f}", "label", in->label, "samples",
				      (json_int_t)call->adaptive.samples, "p95",
				      (json_int_t)call->adaptive.p95, "p95_h", p95, "margin",
				      call->adaptive.margin));
}
