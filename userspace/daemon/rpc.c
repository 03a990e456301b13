// SPDX-License-Identifier: GPL-2.0
/* JSON-RPC 2.0 envelopes: parse one request line, check it, dispatch it,
 * and build replies and notifications. */
#include <errno.h>
#include <string.h>

#include "agentcg/util.h"
#include "rpc.h"
#include "server.h"

static void send_msg(struct acd_ctx *ctx, struct acd_client *c, json_t *msg)
{
	acd_client_send(ctx, c, msg);
	json_decref(msg);
}

void acd_reply_result(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *result)
{
	json_t *msg;

	if (!id || !c) { /* a notification gets no reply */
		json_decref(result);
		return;
	}
	msg = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result",
			result ? result : json_object());
	if (msg)
		send_msg(ctx, c, msg);
}

void acd_reply_error(struct acd_ctx *ctx, struct acd_client *c, json_t *id, int code,
		     const char *message, json_t *data)
{
	json_t *err, *msg;

	if (!id || !c) {
		json_decref(data);
		return;
	}
	err = json_pack("{s:i, s:s}", "code", code, "message", message);
	if (data)
		json_object_set_new(err, "data", data);
	msg = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "error", err);
	if (msg)
		send_msg(ctx, c, msg);
}

void acd_reply_errno(struct acd_ctx *ctx, struct acd_client *c, json_t *id, int err,
		     const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-err));
	acd_reply_error(ctx, c, id, RPC_SYSTEM, msg,
			json_pack("{s:i, s:s}", "errno", -err, "message", strerror(-err)));
}

void acd_notify(struct acd_ctx *ctx, struct acd_client *c, const char *method, json_t *params)
{
	json_t *msg = json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method, "params",
				params ? params : json_object());

	if (msg)
		send_msg(ctx, c, msg);
}

void acd_params_unknown(const json_t *params, const char *const *keys, struct ac_errors *errs)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)params, key, v) {
		const char *const *k = keys;

		while (*k && strcmp(*k, key))
			k++;
		if (!*k)
			ac_errors_add(errs, key, "unknown parameter");
	}
}

/* jansson's own bound on nesting (JSON_PARSER_MAX_DEPTH, not exported). */
#define RPC_JSON_DEPTH_MAX 2048

static bool id_valid(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id) || json_is_null(id);
}

void acd_rpc_handle_line(struct acd_ctx *ctx, struct acd_client *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	json_t *id, *method, *params, *version;
	char msg[300];
	int r;

	if (!req) {
		if (json_error_code(&jerr) == json_error_stack_overflow)
			snprintf(msg, sizeof(msg),
				 "parse error: the request nests arrays and objects deeper than "
				 "%d levels (at byte %d)", RPC_JSON_DEPTH_MAX, jerr.position);
		else
			snprintf(msg, sizeof(msg), "parse error: %s (at byte %d)", jerr.text,
				 jerr.position);
		acd_reply_error(ctx, c, json_null(), RPC_PARSE_ERROR, msg, NULL);
		return;
	}
	if (!json_is_object(req)) {
		acd_reply_error(ctx, c, json_null(), RPC_INVALID_REQUEST,
				"invalid request: not a JSON object", NULL);
		goto out;
	}
	id = json_object_get(req, "id");
	version = json_object_get(req, "jsonrpc");
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	if (id && !id_valid(id)) {
		acd_reply_error(ctx, c, json_null(), RPC_INVALID_REQUEST,
				"invalid request: id must be a string, an integer or null", NULL);
		goto out;
	}
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0")) {
		acd_reply_error(ctx, c, id ? id : json_null(), RPC_INVALID_REQUEST,
				"invalid request: \"jsonrpc\" must be \"2.0\"", NULL);
		goto out;
	}
	if (!json_is_string(method)) {
		acd_reply_error(ctx, c, id ? id : json_null(), RPC_INVALID_REQUEST,
				"invalid request: \"method\" must be a string", NULL);
		goto out;
	}
	if (params && !json_is_object(params)) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS,
				"invalid params: \"params\" must be an object", NULL);
		goto out;
	}
	{
		json_t *empty = params ? NULL : json_object();

		r = ctx->hooks.dispatch(ctx, c, id, json_string_value(method),
					params ? params : empty);
		json_decref(empty);
	}
	if (r == -ENOENT) {
		snprintf(msg, sizeof(msg), "unknown method '%.200s'", json_string_value(method));
		acd_reply_error(ctx, c, id, RPC_METHOD_NOT_FOUND, msg, NULL);
	}
out:
	json_decref(req);
	acd_freed_big(ctx, len);
}
