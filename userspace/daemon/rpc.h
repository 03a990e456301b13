/* SPDX-License-Identifier: GPL-2.0 */
/* rpc.c (layer 1): JSON-RPC 2.0 envelopes: a request line checked and
 * handed to the method table (ctx->hooks.dispatch), replies, errors and
 * notifications. */
#ifndef AGENTCGD_RPC_H
#define AGENTCGD_RPC_H

#include "daemon.h"

void acd_rpc_handle_line(struct acd_ctx *ctx, struct acd_client *c, const char *line, size_t len);
/* Replies (nothing for a notification: id NULL); steal result / data. */
void acd_reply_result(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *result);
void acd_reply_error(struct acd_ctx *ctx, struct acd_client *c, json_t *id, int code,
		     const char *msg, json_t *data);
/* Reply for a negative errno from a system operation. */
void acd_reply_errno(struct acd_ctx *ctx, struct acd_client *c, json_t *id, int err,
		     const char *what);
void acd_notify(struct acd_ctx *ctx, struct acd_client *c, const char *method, json_t *params);

/* Adds "unknown parameter" to errs for each key of params not in keys
 * (NULL-terminated). */
void acd_params_unknown(const json_t *params, const char *const *keys, struct ac_errors *errs);

#endif
