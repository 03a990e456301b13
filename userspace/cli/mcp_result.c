// SPDX-License-Identifier: GPL-2.0
/* agentcgd's replies as MCP tool results. A call's or cell's result goes
 * back whole as structuredContent (but its per-process list, up to 256
 * entries a model has no use for), and as a text that leads with the
 * verdict and, when a limit was passed, with what to change in this
 * tool's arguments: "raise memory_max above 64M (e.g. memory_max
 * \"128M\")". A verdict other than ok is a tool error (isError). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agentcg/units.h"
#include "mcp_result.h"

/* ---- text, bounded ------------------------------------------------------ */

struct text {
	struct ac_buf b;
	bool cut; /* something did not fit */
};

static void text_add(struct text *t, const char *s, size_t len)
{
	const size_t cap = MCP_TEXT_MAX - 128; /* room for the note */

	if (t->cut || !len)
		return;
	if (len > cap - t->b.len) { /* b.len never passes cap */
		len = cap - t->b.len;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--; /* not inside a UTF-8 sequence */
		t->cut = true;
	}
	if (len && ac_buf_append(&t->b, s, len, MCP_TEXT_MAX) < 0)
		t->cut = true;
}

static void AC_PRINTF(2, 3) text_printf(struct text *t, const char *fmt, ...)
{
	_cleanup_free_ char *buf = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		text_add(t, buf, (size_t)n);
	else if (n < 0)
		buf = NULL; /* undefined after a failure */
}

static void text_json(struct text *t, const json_t *v)
{
	_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s)
		text_add(t, s, strlen(s));
}

/* A string as it is, anything else as JSON. */
static void text_scalar(struct text *t, const json_t *v)
{
	if (json_is_string(v))
		text_add(t, json_string_value(v), json_string_length(v));
	else
		text_json(t, v);
}

/* {"type": "text", "text": ...}; the buffer is freed. */
static json_t *text_content(struct text *t)
{
	json_t *c;

	if (t->cut) {
		static const char note[] = "\n[... cut: the text passed 4M; structuredContent has "
					   "all of it]";

		ac_buf_append(&t->b, note, sizeof(note) - 1, MCP_TEXT_MAX);
	}
	c = json_pack("{s:s, s:s%}", "type", "text", "text", t->b.data ? t->b.data : "",
		      t->b.len);
	ac_buf_free(&t->b);
	return c;
}

json_t *mcp_result_error(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text", "text", buf,
			 "isError", 1);
}

/* ---- a call's verdict ------------------------------------------------------ */

/* v (an integer or real) in the unit's human form into buf; false if v is
 * not a number (e.g. "max"). */
static bool unit_value(const json_t *v, const char *unit, double times, char *buf, size_t len)
{
	double x;

	if (!json_is_number(v))
		return false;
	x = json_number_value(v) * times;
	if (!strcmp(unit, "bytes"))
		ac_format_size((uint64_t)x, buf, len);
	else if (!strcmp(unit, "us"))
		ac_format_duration((uint64_t)x * 1000, buf, len);
	else if (!strcmp(unit, "cores"))
		snprintf(buf, len, "%g", x);
	else
		snprintf(buf, len, "%.0f", x);
	return true;
}

/* What to change for one limit passed, in this tool's argument names. */
static void change_hint(struct text *t, const json_t *verdict, const json_t *e)
{
	const char *res = json_string_value(json_object_get(e, "resource"));
	const char *unit = json_string_value(json_object_get(e, "unit"));
	const char *action = json_string_value(json_object_get(e, "action"));
	const json_t *limit = json_object_get(e, "limit");
	const char *oom_level = json_string_value(
		json_object_get(json_object_get(json_object_get(verdict, "oom"), "limit"), "level"));
	bool quoted;
	const char *less;
	char now[32], more[32];

	if (!res || !unit || !action || !unit_value(limit, unit, 1, now, sizeof(now)) ||
	    !unit_value(limit, unit, 2, more, sizeof(more)))
		return;
	if (!strcmp(res, "memory_max")) {
		/* killed at a budget above the call: its memory_max is not it */
		if (oom_level && strcmp(oom_level, "call"))
			return;
		less = !strcmp(action, "reclaimed") ? "to stop the reclaim that slows it" :
						      "or use less memory (fewer parallel workers, "
						      "smaller batches)";
	} else if (!strcmp(res, "memory")) {
		less = "(and memory_max if you set it) or use less memory";
	} else if (!strcmp(res, "cpu")) {
		less = "to finish sooner";
	} else if (!strcmp(res, "pids")) {
		less = "or start fewer processes and threads (e.g. fewer workers)";
	} else if (!strcmp(res, "timeout")) {
		less = "or do less in one call";
	} else if (!strcmp(res, "cpu_time")) {
		less = "or do less work in one call";
	} else if (!strcmp(res, "forks")) {
		less = "or start fewer processes";
	} else {
		return;
	}
	quoted = !strcmp(unit, "bytes") || !strcmp(unit, "us");
	text_printf(t, "\nTo change: raise %s above %s (e.g. %s %s%s%s) %s.", res, now, res,
		    quoted ? "\"" : "", more, quoted ? "\"" : "", less);
}

/* The most severe action of the verdict's exceeded entries, else def. */
static const char *worst_action(const json_t *verdict, const char *def)
{
	static const char *const order[] = { "killed",	  "interrupted", "frozen",  "refused",
					     "throttled", "reclaimed",	 "reported" };
	size_t best = AC_ARRAY_SIZE(order), i, k;
	const json_t *e;

	json_array_foreach(json_object_get(verdict, "exceeded"), i, e)
		for (k = 0; k < best; k++)
			if (!strcmp(cli_json_str(e, "action", ""), order[k]))
				best = k;
	return best < AC_ARRAY_SIZE(order) ? order[best] : def;
}

static void call_text(struct text *t, const struct mcp_plan *p, const json_t *r)
{
	const json_t *verdict = json_object_get(r, "verdict");
	const json_t *usage = json_object_get(r, "usage");
	const json_t *exit_obj = json_object_get(r, "exit"), *e, *v;
	const char *status = json_string_value(json_object_get(verdict, "status"));
	char exit_s[64], peak[32], cpu[32], wall[32];
	json_int_t us;
	size_t i;

	/* "killed: exceeded memory_max ...": the worst action leads */
	text_printf(t, "%s: %s", worst_action(verdict, status ? status : "?"),
		    cli_json_str(verdict, "summary", "(no summary)"));
	json_array_foreach(json_object_get(verdict, "exceeded"), i, e)
		change_hint(t, verdict, e);
	cli_format_exit(exit_obj ? exit_obj : json_object_get(verdict, "exit"), exit_s,
			sizeof(exit_s));
	cli_format_size_json(json_object_get(usage, "memory_peak"), peak, sizeof(peak));
	us = json_integer_value(json_object_get(usage, "cpu_user_us")) +
	     json_integer_value(json_object_get(usage, "cpu_system_us"));
	ac_format_duration((uint64_t)us * 1000, cpu, sizeof(cpu));
	ac_format_duration((uint64_t)json_integer_value(json_object_get(usage, "wall_us")) * 1000,
			   wall, sizeof(wall));
	if (p->tool == MCP_T_BASH && json_is_integer(json_object_get(r, "exit_code")))
		snprintf(exit_s, sizeof(exit_s), "exit_code %lld",
			 (long long)json_integer_value(json_object_get(r, "exit_code")));
	text_printf(t, "\n%s; peak memory %s, cpu %s, wall %s (%s)", exit_s, peak, cpu, wall,
		    cli_json_str(r, "path", "?"));
	if (json_is_true(json_object_get(r, "interrupted")))
		text_printf(t, "\nThe cell was interrupted; the session keeps its state.");
	if (!strcmp(cli_json_str(json_object_get(r, "session"), "interpreter", "alive"), "died"))
		text_printf(t, "\nThe session's interpreter died: session_reset starts a new one "
			       "(its state is lost).");
	if ((v = json_object_get(r, "value"))) {
		text_printf(t, "\nvalue: ");
		text_json(t, v);
	} else if ((v = json_object_get(r, "value_repr")) && json_is_string(v)) {
		text_printf(t, "\nvalue (repr): ");
		text_add(t, json_string_value(v), json_string_length(v));
	}
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "stderr" : "stdout";
		const json_t *s = json_object_get(r, name);
		char trunc[32];

		if (!json_is_string(s) || !json_string_length(s))
			continue;
		snprintf(trunc, sizeof(trunc), "%s_truncated", name);
		text_printf(t, "\n--- %s%s ---\n", name,
			    json_is_true(json_object_get(r, trunc)) ?
				    " (cut at the daemon's output_limit)" :
				    "");
		text_add(t, json_string_value(s), json_string_length(s));
	}
	if ((e = json_object_get(r, "error")) &&
	    json_is_string(json_object_get(e, "traceback"))) {
		v = json_object_get(e, "traceback");
		text_printf(t, "\n--- traceback ---\n");
		text_add(t, json_string_value(v), json_string_length(v));
	}
}

/* ---- the other tools ------------------------------------------------------- */

static void session_text(struct text *t, const struct mcp_plan *p, const json_t *r)
{
	const char *path = cli_json_str(r, "path", p->session);
	const json_t *in = json_object_get(r, "interpreter"), *b = json_object_get(r, "budget");
	char mem[32];
	json_int_t n;

	switch (p->tool) {
	case MCP_T_SESSION_CREATE:
		text_printf(t, "created session %s", path);
		if (in)
			text_printf(t, " with a %s %s interpreter (pid %lld)",
				    cli_json_str(in, "lang", "?"), cli_json_str(in, "version", ""),
				    (long long)json_integer_value(json_object_get(in, "pid")));
		if (b) {
			cli_format_size_json(json_object_get(b, "memory_max"), mem, sizeof(mem));
			text_printf(t, "; budget memory_max %s, cpu ", mem);
			text_scalar(t, json_object_get(b, "cpu"));
			text_printf(t, ", pids ");
			text_scalar(t, json_object_get(b, "pids"));
		}
		text_printf(t, "; priority %s", cli_json_str(r, "priority", "normal"));
		break;
	case MCP_T_GET:
		text_printf(t, "%s = ", cli_json_str(r, "name", "?"));
		text_json(t, json_object_get(r, "value"));
		break;
	case MCP_T_SET:
		text_printf(t, "set %s in %s", cli_json_str(r, "name", "?"), path);
		break;
	case MCP_T_INTERRUPT:
		if (json_is_true(json_object_get(r, "interrupted")))
			text_printf(t, "interrupted the cell running in %s (the session keeps its "
				       "state)", path);
		else
			text_printf(t, "%s had no cell running", path);
		break;
	case MCP_T_RESET:
		if (json_is_true(json_object_get(r, "restarted")))
			text_printf(t, "started a new interpreter in %s (the old state is gone)",
				    path);
		else
			text_printf(t, "cleared the namespace of %s", path);
		break;
	case MCP_T_CLOSE:
		n = json_integer_value(json_object_get(r, "killed_calls"));
		text_printf(t, "closed %s", path);
		if (n > 0)
			text_printf(t, " (killed %lld running call%s)", (long long)n,
				    n == 1 ? "" : "s");
		break;
	default:
		break;
	}
}

static bool is_call(const struct mcp_plan *p)
{
	return p->tool == MCP_T_RUN || p->tool == MCP_T_PYTHON || p->tool == MCP_T_BASH;
}

json_t *mcp_result(const struct mcp *m, const struct mcp_plan *p, const json_t *result)
{
	struct text t = { 0 };
	json_t *out, *content, *sc;
	bool err = false;

	if (!json_is_object(result))
		return mcp_result_error("%s: agentcgd's reply has no result object", p->name);
	sc = json_deep_copy(result);
	if (!sc)
		return NULL;
	if (is_call(p)) {
		json_object_del(sc, "processes");
		call_text(&t, p, result);
		err = strcmp(cli_json_str(json_object_get(result, "verdict"), "status", "?"),
			     "ok") != 0;
	} else {
		session_text(&t, p, result);
	}
	content = json_array();
	json_array_append_new(content, text_content(&t));
	out = json_pack("{s:o, s:b}", "content", content, "isError", err);
	if (!out) {
		json_decref(sc);
		return NULL;
	}
	if (mcp_proto_at_least(m, "2025-06-18")) {
		json_object_set_new(out, "structuredContent", sc);
	} else {
		/* 2025-03-26 has no structuredContent: the object goes as text. */
		_cleanup_free_ char *s = json_dumps(sc, JSON_COMPACT);

		json_decref(sc);
		if (s)
			json_array_append_new(content, json_pack("{s:s, s:s}", "type", "text",
								 "text", s));
	}
	return out;
}

/* ---- errors ------------------------------------------------------------------ */

/* What to do about an agentcgd error, by its code (README "Error codes"). */
static const char *error_hint(const struct mcp_plan *p, json_int_t code)
{
	switch (code) {
	case -32602:
		return "Nothing was run: fix the arguments named above.";
	case -32002:
		return "Nothing was run: declare less memory (memory, memory_max), let other "
		       "calls finish first (wait: true waits for room), or use a session with "
		       "a bigger budget.";
	case -32003:
		return "The session or its tenant is frozen: try again once it is thawed.";
	case -32004:
		return p->tool == MCP_T_RUN ? "Check the command's name (argv[0] is looked up in "
					      "PATH) and cwd." :
					      NULL;
	case -32009:
		return "Call session_reset to start a new interpreter (its variables are lost).";
	case -32010:
		return "python_exec and bash_exec need a session made with lang (session_create); "
		       "run_command runs commands in a session without one.";
	default:
		return NULL;
	}
}

json_t *mcp_result_rpc_error(const struct mcp_plan *p, const json_t *error, const char *what)
{
	const json_t *data = json_object_get(error, "data");
	json_int_t code = json_integer_value(json_object_get(error, "code"));
	const char *hint = error_hint(p, code), *k;
	struct text t = { 0 };
	bool fields = code == -32602 && json_is_object(data);
	json_t *v, *content;

	text_printf(&t, "%s: %s%s%s (agentcgd error %lld)", p->name,
		    what ? what : "", what ? ": " : "",
		    cli_json_str(error, "message", "unknown error"), (long long)code);
	if (fields)
		json_object_foreach((json_t *)data, k, v) {
			if (!json_is_string(v)) {
				fields = false;
				break;
			}
			text_printf(&t, "\n  %s: %s", k, json_string_value(v));
		}
	if (!fields && data) {
		text_printf(&t, "\ndetails: ");
		text_json(&t, data);
	}
	if (hint)
		text_printf(&t, "\n%s", hint);
	content = json_array();
	json_array_append_new(content, text_content(&t));
	return json_pack("{s:o, s:b}", "content", content, "isError", 1);
}
