/* SPDX-License-Identifier: GPL-2.0 */
/* adaptive.c (layer 5): adaptive intents from per-label memory history. */
#ifndef AGENTCGD_ADAPTIVE_H
#define AGENTCGD_ADAPTIVE_H

#include "daemon.h"

struct acd_call;

/* Where a call's memory came from when it came from its label's history
 * (samples 0: it did not). */
struct acd_adaptive_use {
	uint32_t samples; /* peaks it was made of */
	uint64_t p95;	  /* bytes */
	double margin;
};

int acd_adaptive_init(struct acd_ctx *ctx);
/* Before the defaults: a call without memory but with a label that has
 * enough history gets memory from it (marked defaulted). */
void acd_adaptive_assume(struct acd_ctx *ctx, struct acd_call *call);
/* The call's result: records its peak under its label, and adds
 * "adaptive" to the result's intent object when its memory came from
 * history. */
void acd_adaptive_result(struct acd_ctx *ctx, struct acd_call *call, uint64_t peak,
			 json_t *intent);

#endif
