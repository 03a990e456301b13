// SPDX-License-Identifier: GPL-2.0
/* The upcalls (daemon.h, struct acd_hooks): how a lower layer reaches a
 * higher one. One table, used by main.c and by the fuzzing harness
 * (tests/fuzz/fuzz_rpc.c), so the two never drift apart. */
#include "access.h"
#include "call.h"
#include "contain.h"
#include "hooks.h"
#include "interp.h"
#include "interp_check.h"
#include "methods.h"

static void client_gone(struct acd_ctx *ctx, struct acd_client *c)
{
	acd_calls_client_gone(ctx, c);
	acd_interp_client_gone(ctx, c);
	acd_interp_checks_client_gone(ctx, c);
}

const struct acd_hooks acd_daemon_hooks = {
	.dispatch = acd_methods_dispatch,
	.client_gone = client_gone,
	.bpf_record = acd_call_bpf_record,
	.pressure_kick = acd_contain_kick,
	.session_removing = acd_interp_detach,
	.event_visible = acd_access_sees_path,
};
