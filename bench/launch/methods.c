// SPDX-License-Identifier: GPL-2.0
/* launch_bench: (a) bare, (c) agentcg run, (d) call.run. */
#include "methods.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "proc.h"

double lb_run_bare(struct lb_ctx *ctx)
{
	static char *const argv[] = { LB_TRUE_BIN, NULL };
	uint64_t t0 = ac_now_ns();
	int st = lb_spawn_wait(ctx, argv, -1);
	uint64_t t1 = ac_now_ns();

	lb_require_ok(ctx, st, LB_TRUE_BIN);
	return lb_us_between(t0, t1);
}

double lb_run_cli(struct lb_ctx *ctx)
{
	char *argv[] = { ctx->agentcg, "run", LB_SESSION, "--mem", "256M", "--cpu", "0.5", "--pids",
			 "32", "--", LB_TRUE_BIN, NULL };
	uint64_t t0 = ac_now_ns();
	int st = lb_spawn_wait(ctx, argv, ctx->toolerr_fd);
	uint64_t t1 = ac_now_ns();

	lb_require_ok(ctx, st, "agentcg run");
	return lb_us_between(t0, t1);
}

/* The reply must say exit code 0; the longest one is kept for [5]. */
static void check_reply(struct lb_ctx *ctx, struct lb_conn *c, json_t *msg, const char *line)
{
	json_t *res = json_object_get(msg, "result");
	json_t *code = json_object_get(json_object_get(res, "exit"), "code");

	if (!res || !json_is_integer(code) || json_integer_value(code) != 0)
		lb_die(ctx, "call.run did not succeed: %.400s", line);
	if (!c->last_reply || strlen(c->last_reply) < strlen(line)) {
		free(c->last_reply);
		c->last_reply = strdup(line);
	}
}

double lb_run_call(struct lb_ctx *ctx, struct lb_conn *c, double *to_started_us)
{
	char req[512];
	int id = ++c->next_id, n, r;
	uint64_t t0, t_started = 0, t_reply = 0;

	n = lb_fmt(ctx, req, sizeof(req),
		   "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"call.run\",\"params\":{\"path\":"
		   "\"" LB_SESSION "\",\"argv\":[\"" LB_TRUE_BIN "\"],\"intent\":{\"memory\":\"256M\","
		   "\"cpu\":0.5,\"pids\":32}}}\n",
		   id);
	t0 = ac_now_ns();
	if ((r = lb_write_all(c->fd, req, (size_t)n)) < 0)
		lb_die(ctx, "write to the daemon: %s", strerror(-r));
	for (;;) {
		uint64_t t;
		char *line = lb_conn_line(ctx, c, &t, 30000);
		json_error_t jerr;
		json_t *msg = json_loads(line, 0, &jerr), *mid, *method;

		if (!msg)
			lb_die(ctx, "daemon sent invalid JSON: %s: %.200s", jerr.text, line);
		method = json_object_get(msg, "method");
		mid = json_object_get(msg, "id");
		if (json_is_string(method)) {
			json_t *p = json_object_get(msg, "params");

			if (!strcmp(json_string_value(method), "call.started") &&
			    json_integer_value(json_object_get(p, "id")) == id)
				t_started = t;
			json_decref(msg);
			continue;
		}
		if (!json_is_integer(mid) || json_integer_value(mid) != id) {
			json_decref(msg);
			continue;
		}
		t_reply = t;
		check_reply(ctx, c, msg, line);
		json_decref(msg);
		break;
	}
	if (to_started_us)
		*to_started_us = t_started ? lb_us_between(t0, t_started) : -1;
	return lb_us_between(t0, t_reply);
}
