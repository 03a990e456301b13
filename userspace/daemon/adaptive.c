// SPDX-License-Identifier: GPL-2.0
/* Adaptive intents: a call that leaves `memory` out but has a `label`
 * gets the p95 of that label's recent memory peaks times a margin
 * (configuration "adaptive"), once the label has min_samples of them.
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

#define HUMAN_MAX 32

int acd_adaptive_init(struct acd_ctx *ctx)
{
	const struct ac_adaptive_config *a = &ctx->cfg.adaptive;
	int r;

	if (!a->enabled)
		return 0;
	r = ac_history_create(a->window, &ctx->history);
	if (r < 0)
		return ac_log_errno(r, "adaptive intents: history of %u peaks per label", a->window);
	return 0;
}

void acd_adaptive_free(struct acd_ctx *ctx)
{
	ac_history_destroy(ctx->history);
	ctx->history = NULL;
}

void acd_adaptive_assume(struct acd_ctx *ctx, struct acd_call *call)
{
	const struct ac_adaptive_config *a = &ctx->cfg.adaptive;
	struct ac_intent *in = &call->intent;
	struct ac_history_estimate est;

	call->adaptive = (struct acd_adaptive_use){ 0 };
	if (!ctx->history || (in->set & AC_F_MEMORY) || !(in->set & AC_F_LABEL) || !in->label[0])
		return;
	if (ac_history_estimate(ctx->history, in->label, a->min_samples, a->margin, &est) < 0)
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

	if (ctx->history && (in->set & AC_F_LABEL) && in->label[0] && peak > 0) {
		int r = ac_history_record(ctx->history, in->label, peak);

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
