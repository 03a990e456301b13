// SPDX-License-Identifier: GPL-2.0
/* The tools of `agentcg mcp`: their input schemas (with the intent fields
 * of cli_intent.c, described for a model to act on), output schemas (the
 * daemon's results), and the mapping of a tools/call to one agentcgd
 * request. Arguments are checked here, before anything is sent: the
 * intent with the daemon's own parser (ac_intent_from_json), so a bad
 * one is refused with the daemon's words and nothing is made or run. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agentcg/intent.h"
#include "agentcg/names.h"
#include "mcp_result.h"
#include "mcp_tools.h"

/* Tool flags. */
#define TF_INTENT 0x1u	 /* takes the intent fields */
#define TF_RETRY 0x2u	 /* ... and retry (commands only) */
#define TF_MAKE 0x4u	 /* makes its session when it does not exist */
#define TF_MAKE_DFLT 0x20u /* makes its default session when it does not exist */
#define TF_READONLY 0x8u /* changes nothing (an annotation) */
#define TF_SAFE 0x10u	 /* changes only what it is asked to (not destructive) */

struct tool_def {
	enum mcp_tool_id id;
	const char *name;
	const char *title;
	const char *method;
	enum mcp_dflt dflt; /* its default session; MCP_D_NONE: "session" is required */
	unsigned flags;
	const char *doc;
};

static const struct tool_def tools[] = {
	{ MCP_T_RUN, "run_command", "Run a command under declared resource limits", "call.run",
	  MCP_D_CMD, TF_INTENT | TF_RETRY | TF_MAKE,
	  "Run one command as a tool call in its own cgroup, under the memory, CPU, process and "
	  "time limits you declare, and get back what it really used. Give `command` (a shell "
	  "line, run with /bin/sh -c) or `argv`. Returns exit status, stdout and stderr (captured, "
	  "bounded), usage (peak memory, CPU and wall time) and a verdict: ok, failed (non-zero "
	  "exit or a signal) or exceeded (which limit, by how much, and what was done: throttled, "
	  "killed). A verdict other than ok is a tool error whose text says what to change, e.g. "
	  "a larger memory_max or fewer parallel workers. stdin is empty; the environment and "
	  "working directory are agentcg mcp's unless `env` and `cwd` say otherwise." },
	{ MCP_T_SESSION_CREATE, "session_create", "Create a session", "session.create", MCP_D_CMD,
	  TF_SAFE,
	  "Create a session: a memory, CPU and process budget shared by its calls, and optionally "
	  "its own persistent Python or bash interpreter (`lang`) for python_exec or bash_exec. A "
	  "session runs either commands or an interpreter's code, not both. Sessions made here are "
	  "closed when this MCP server stops. Not needed for the default sessions, which are made "
	  "on first use." },
	{ MCP_T_PYTHON, "python_exec", "Run Python code in a persistent interpreter",
	  "session.exec", MCP_D_PYTHON, TF_INTENT | TF_MAKE,
	  "Run Python code in the session's persistent interpreter: variables, imports and "
	  "functions stay from one call to the next. Each call is a tool call with its own limits "
	  "and verdict (like run_command); a cell over its memory, timeout or cpu_time is "
	  "interrupted (KeyboardInterrupt) and the interpreter keeps its state. The value of a "
	  "trailing expression comes back as `value` (JSON) or `value_repr`, an exception as "
	  "`error` with its traceback, print() output as stdout." },
	{ MCP_T_BASH, "bash_exec", "Run bash code in a persistent shell", "session.exec",
	  MCP_D_BASH, TF_INTENT | TF_MAKE,
	  "Run bash code in the session's persistent bash: shell variables, functions and the "
	  "working directory stay from one call to the next. Each call is a tool call with its own "
	  "limits and verdict (like run_command); a cell over a limit is interrupted and the shell "
	  "keeps its state. `exit_code` is the status of the code's last command." },
	{ MCP_T_GET, "session_get", "Read an interpreter variable", "session.get", MCP_D_PYTHON,
	  TF_READONLY | TF_SAFE,
	  "Read a variable of an interpreter session as JSON (a value that is not JSON-"
	  "serialisable is an error: convert it in python_exec first)." },
	{ MCP_T_SET, "session_set", "Set an interpreter variable", "session.set", MCP_D_PYTHON,
	  TF_MAKE_DFLT | TF_SAFE,
	  "Set a variable of an interpreter session to a JSON value, to hand data to later "
	  "python_exec or bash_exec calls without writing it into code (bash takes strings, "
	  "numbers and booleans)." },
	{ MCP_T_INTERRUPT, "session_interrupt", "Interrupt a running cell", "session.interrupt",
	  MCP_D_PYTHON, 0,
	  "Interrupt the cell running in an interpreter session (Python gets KeyboardInterrupt, "
	  "bash stops the cell) and keep the session's state. The interrupted python_exec or "
	  "bash_exec call returns with interrupted: true. (A run_command is stopped by cancelling "
	  "its request.)" },
	{ MCP_T_RESET, "session_reset", "Reset an interpreter", "session.reset", MCP_D_PYTHON, 0,
	  "Clear an interpreter session's namespace, or start a new interpreter when the old one "
	  "died (the error of a python_exec or bash_exec says so)." },
	{ MCP_T_CLOSE, "session_close", "Close a session", "session.close", MCP_D_NONE, 0,
	  "Close a session: kill its running calls and its interpreter and remove it. A default "
	  "session closed here is made again on its next use." },
};

static const struct tool_def *tool_find(const char *name)
{
	for (size_t i = 0; i < AC_ARRAY_SIZE(tools); i++)
		if (!strcmp(tools[i].name, name))
			return &tools[i];
	return NULL;
}

/* ---- input schemas ------------------------------------------------------ */

/* What a model reads about each intent field: the format, an example,
 * and what happens past it. */
static const char *intent_doc(int id)
{
	switch (id) {
	case RUN_MEM:
		return "Memory the call should stay under: bytes, or a size with a K/M/G/T suffix "
		       "(binary), e.g. \"512M\", \"1.5G\". Above it the kernel throttles and "
		       "reclaims, so the call slows down; a python_exec/bash_exec cell is "
		       "interrupted and its session kept; on hosts without cgroup v2 memory.high "
		       "a command is killed. Admission reserves it: a call that does not fit the "
		       "remaining budget is refused. Default: the daemon's policy, or the recent "
		       "peaks of calls with the same label.";
	case RUN_MEM_MAX:
		return "Hard memory limit, a size like memory (e.g. \"1G\"). At it the kernel's OOM "
		       "killer kills the call's largest process (verdict: exceeded memory_max, "
		       "killed). Default: memory times the policy's factor.";
	case RUN_CPU:
		return "CPU cores the call may use, a number, e.g. 0.5 or 2. Above it the call is "
		       "throttled (it runs slower), never killed. Default: no limit.";
	case RUN_PIDS:
		return "Most processes and threads alive at once, e.g. 64. Forks past it fail "
		       "(the program sees EAGAIN, \"Resource temporarily unavailable\"). Default: "
		       "the daemon's policy.";
	case RUN_TIMEOUT:
		return "Wall-clock limit: a number with ms, s, m or h, e.g. \"30s\", \"250ms\", "
		       "\"10m\". When it passes the call is killed (a cell is interrupted, its "
		       "session kept). Default: the daemon's policy.";
	case RUN_CPU_TIME:
		return "CPU time the whole call may use, all its processes together, a duration "
		       "like timeout (e.g. \"20s\"). When it is used up the call is killed (a cell "
		       "is interrupted). Default: no limit.";
	case RUN_FORKS:
		return "Processes the whole call may start in total (forks, not threads), e.g. 200. "
		       "Past it the call is killed (a cell is interrupted). Default: no limit.";
	case RUN_LABEL:
		return "What kind of call this is, e.g. \"pytest\" or \"make\" (1-64 characters). "
		       "A later call with the same label and no memory gets its memory from these "
		       "calls' peaks.";
	case RUN_PRIORITY:
		return "low, normal or high. Under memory pressure high calls are protected and "
		       "low ones are held back or slowed first. Your tenant's policy caps it "
		       "(normal unless the operator allows more): asking above it is refused. "
		       "Default: the session's.";
	case RUN_RETRY:
		return "0 to 3 (default 0): run the command again up to this many times if memory "
		       "pressure on the host (not its own limits) killed it. Only for commands that "
		       "are safe to repeat, such as test runs; low or normal priority.";
	case RUN_MEM_HINT:
		return "Memory the call expects to use, a size (\"2G\") or low, medium or high. It "
		       "sets no limit: under memory pressure a low or normal priority call waits to "
		       "start until it fits.";
	default:
		return NULL;
	}
}

/* The intent fields a tool offers. on_exceed is left out: "freeze" would
 * leave a call frozen with nothing here to thaw it, "report" lets it run
 * on past its limits; the policy's default (kill) applies. */
static bool intent_offered(int id, unsigned flags)
{
	if (!(flags & TF_INTENT) || id == RUN_ON_EXCEED)
		return false;
	return id != RUN_RETRY || (flags & TF_RETRY);
}

static const char *const priorities[] = { "low", "normal", "high", NULL };
static const char *const langs[] = { "python", "bash", NULL };

static json_t *prop(const char *type, const char *doc)
{
	return json_pack("{s:s, s:s}", "type", type, "description", doc);
}

static json_t *prop_enum(const char *const *values, const char *doc)
{
	json_t *p = prop("string", doc), *e = json_array();

	for (; *values; values++)
		json_array_append_new(e, json_string(*values));
	json_object_set_new(p, "enum", e);
	return p;
}

static json_t *intent_prop(int id)
{
	const struct cli_intent_field *f = cli_intent_field(id);
	const char *doc = intent_doc(id);
	json_t *p;

	switch (f->kind) {
	case CLI_IK_CORES:
		p = prop("number", doc);
		json_object_set_new(p, "minimum", json_real(AC_CPU_MIN));
		json_object_set_new(p, "maximum", json_real(AC_CPU_MAX));
		return p;
	case CLI_IK_COUNT:
		p = prop("integer", doc);
		json_object_set_new(p, "minimum", json_integer(1));
		return p;
	case CLI_IK_RETRY:
		p = prop("integer", doc);
		json_object_set_new(p, "minimum", json_integer(0));
		json_object_set_new(p, "maximum", json_integer(AC_RETRY_MAX));
		return p;
	case CLI_IK_PRIORITY:
		return prop_enum(priorities, doc);
	default: /* sizes, durations, label, hint: strings */
		return prop("string", doc);
	}
}

static json_t *session_prop(const struct mcp *m, const struct tool_def *t)
{
	char doc[1024];
	int n = snprintf(doc, sizeof(doc),
			 "The session: a path /tenant/name, or a bare name in tenant %s. ",
			 m->tenant);

	if (n < 0 || (size_t)n >= sizeof(doc))
		n = 0;
	if (t->id == MCP_T_SESSION_CREATE)
		snprintf(doc + n, sizeof(doc) - (size_t)n,
			 "Default: the default session of its kind (%s for commands, %s with "
			 "lang python, %s with lang bash).",
			 m->dflt[MCP_D_CMD], m->dflt[MCP_D_PYTHON], m->dflt[MCP_D_BASH]);
	else if (t->dflt == MCP_D_NONE)
		snprintf(doc + n, sizeof(doc) - (size_t)n, "E.g. %s.", m->dflt[MCP_D_PYTHON]);
	else if (t->flags & TF_MAKE)
		snprintf(doc + n, sizeof(doc) - (size_t)n,
			 "Default: %s. A session that does not exist yet is made for this tool on "
			 "first use, and closed when this server stops.",
			 m->dflt[t->dflt]);
	else if (t->flags & TF_MAKE_DFLT)
		snprintf(doc + n, sizeof(doc) - (size_t)n,
			 "Default: %s, made on first use (the default bash session is %s).",
			 m->dflt[t->dflt], m->dflt[MCP_D_BASH]);
	else
		snprintf(doc + n, sizeof(doc) - (size_t)n,
			 "Default: %s (the default bash session is %s).", m->dflt[t->dflt],
			 m->dflt[MCP_D_BASH]);
	return prop("string", doc);
}

/* The properties and required names of a tool's arguments. */
static json_t *input_schema(const struct mcp *m, const struct tool_def *t)
{
	json_t *props = json_object(), *req = json_array();

	switch (t->id) {
	case MCP_T_RUN:
		json_object_set_new(props, "command",
				    prop("string", "A shell command line, run with /bin/sh -c, e.g. "
						   "\"pytest -x -q tests/\". Give command or argv."));
		json_object_set_new(
			props, "argv",
			json_pack("{s:s, s:{s:s}, s:i, s:s}", "type", "array", "items", "type",
				  "string", "minItems", 1, "description",
				  "The command as an argument vector, run without a shell, e.g. "
				  "[\"python3\", \"train.py\", \"--epochs\", \"1\"]. Give command or "
				  "argv."));
		json_object_set_new(props, "cwd",
				    prop("string", "Working directory, an absolute path. Default: "
						   "agentcg mcp's own."));
		json_object_set_new(
			props, "env",
			json_pack("{s:s, s:{s:s}, s:s}", "type", "object", "additionalProperties",
				  "type", "string", "description",
				  "Environment variables to set, e.g. {\"PYTHONHASHSEED\": \"0\"}; the "
				  "command gets agentcg mcp's environment with these added."));
		json_object_set_new(props, "wait",
				    prop("boolean", "Wait for memory budget to free up (up to the "
						    "daemon's wait_timeout, 60s) instead of being refused "
						    "when the session or tenant has no room left."));
		break;
	case MCP_T_PYTHON:
	case MCP_T_BASH:
		json_object_set_new(props, "code",
				    prop("string", t->id == MCP_T_PYTHON ?
							   "Python code, one or more statements, e.g. "
							   "\"import numpy as np\\nx = np.arange(10)\\nx.sum()\"." :
							   "Bash code, e.g. \"cd /tmp && ls -l | head\"."));
		json_array_append_new(req, json_string("code"));
		break;
	case MCP_T_SESSION_CREATE:
		json_object_set_new(props, "lang",
				    prop_enum(langs, "Give the session its own persistent "
						     "interpreter, for python_exec or bash_exec. "
						     "Without it the session runs run_command calls."));
		json_object_set_new(props, "persist",
				    prop("boolean", "With lang: keep the interpreter's state from "
						    "one call to the next (default true); false starts "
						    "every call in a clean interpreter."));
		json_object_set_new(props, "memory_max",
				    prop("string", "Memory budget of the whole session (its calls and "
						   "its interpreter together), e.g. \"2G\". Default: "
						   "the tenant's session budget."));
		json_object_set_new(props, "cpu",
				    prop("number", "CPU cores of the whole session, e.g. 2 (0: no "
						   "limit). Default: the tenant's session budget."));
		json_object_set_new(props, "pids",
				    prop("integer", "Processes and threads of the whole session at "
						    "once, e.g. 512. Default: the tenant's session "
						    "budget."));
		json_object_set_new(props, "priority",
				    prop_enum(priorities,
					      "The session's class and its calls' default: high "
					      "sessions' memory is protected under pressure, low ones "
					      "yield first. Within your tenant's policy (normal unless "
					      "the operator allows more)."));
		break;
	case MCP_T_GET:
	case MCP_T_SET:
		json_object_set_new(props, "name",
				    prop("string", "The variable's name, e.g. \"df\" or \"config\"."));
		json_array_append_new(req, json_string("name"));
		if (t->id == MCP_T_SET) {
			json_object_set_new(props, "value",
					    json_pack("{s:s}", "description",
						      "Any JSON value, e.g. {\"lr\": 0.01, \"layers\": "
						      "[64, 64]}."));
			json_array_append_new(req, json_string("value"));
		}
		break;
	default:
		break;
	}
	for (int id = RUN_MEM; id <= CLI_INTENT_OPT_LAST; id++)
		if (intent_offered(id, t->flags))
			json_object_set_new(props, cli_intent_field(id)->key, intent_prop(id));
	json_object_set_new(props, "session", session_prop(m, t));
	if (t->dflt == MCP_D_NONE)
		json_array_append_new(req, json_string("session"));
	return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required",
			 req, "additionalProperties", 0);
}

/* ---- output schemas ---------------------------------------------------- */

static json_t *any(const char *doc)
{
	return json_pack("{s:s}", "description", doc);
}

static json_t *object_of(json_t *props, const char *doc)
{
	return json_pack("{s:s, s:o, s:s}", "type", "object", "properties", props, "description",
			 doc);
}

static json_t *exit_schema(void)
{
	return object_of(json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "code", "type", "integer",
				   "signal", "type", "integer", "signal_name", "type", "string"),
			 "How the main process ended: {\"code\": N}, or {\"signal\": N, "
			 "\"signal_name\": \"SIGKILL\"}; {} when it did not end (left frozen).");
}

static json_t *verdict_schema(void)
{
	json_t *entry = object_of(
		json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "resource",
			  prop("string", "memory_max, memory, cpu, pids, timeout, cpu_time or "
					 "forks"),
			  "limit", any("The limit: bytes, microseconds, cores or processes (unit)"),
			  "used", any("What the call used, in the same unit"), "over_by",
			  any("By how much"), "unit", prop("string", "bytes, us, cores or processes"),
			  "action",
			  prop("string", "What was done: killed, interrupted, throttled, refused, "
					 "frozen, reclaimed or reported")),
		"One limit the call went past.");
	json_t *props = json_pack(
		"{s:o, s:{s:s, s:o, s:s}, s:o, s:o}", "status",
		prop_enum((const char *const[]){ "ok", "exceeded", "failed", NULL },
			  "ok: within the intent; exceeded: a limit was passed (see exceeded); "
			  "failed: non-zero exit or a signal with no limit involved"),
		"exceeded", "type", "array", "items", entry, "description",
		"The limits the call went past", "summary",
		prop("string", "One line on what happened and what to change"), "exit",
		exit_schema());

	json_t *v = object_of(props, "The verdict on the call against its intent.");

	json_object_set_new(v, "required", json_pack("[s, s]", "status", "summary"));
	return v;
}

static json_t *usage_schema(void)
{
	json_t *props = json_object();
	static const char *const ints[] = { "memory_peak", "cpu_user_us", "cpu_system_us",
					    "wall_us",	   "cpu_throttled_us", "pids_peak",
					    "forks",	   NULL };

	for (const char *const *k = ints; *k; k++)
		json_object_set_new(props, *k, json_pack("{s:s}", "type", "integer"));
	json_object_set_new(props, "memory_peak_h",
			    prop("string", "memory_peak in human form, e.g. \"64M\""));
	json_object_set_new(props, "memory_events",
			    json_pack("{s:s, s:s}", "type", "object", "description",
				      "memory.events counts during the call: high, max, oom, "
				      "oom_kill"));
	return object_of(props, "What the call used: peak memory (bytes), CPU and wall time "
				"(microseconds), processes.");
}

static json_t *call_output_schema(bool cell, bool run)
{
	json_t *props = json_object();

	json_object_set_new(props, "path", prop("string", "The call: /tenant/session/call-N"));
	json_object_set_new(props, "pid", json_pack("{s:s}", "type", "integer"));
	if (run)
		json_object_set_new(props, "argv",
				    json_pack("{s:s, s:{s:s}}", "type", "array", "items", "type",
					      "string"));
	json_object_set_new(props, "intent",
			    json_pack("{s:s, s:s}", "type", "object", "description",
				      "The effective intent; \"assumed\" lists the fields that came "
				      "from policy"));
	json_object_set_new(props, "limits",
			    json_pack("{s:s, s:s}", "type", "object", "description",
				      "The call cgroup's limits: memory.high, memory.max, cpu.max, "
				      "pids.max"));
	json_object_set_new(props, "usage", usage_schema());
	json_object_set_new(props, "verdict", verdict_schema());
	json_object_set_new(props, "exit", exit_schema());
	json_object_set_new(props, "stdout", prop("string", "Captured standard output"));
	json_object_set_new(props, "stderr", prop("string", "Captured standard error"));
	json_object_set_new(props, "stdout_truncated",
			    prop("boolean", "stdout passed the daemon's output_limit"));
	json_object_set_new(props, "stderr_truncated",
			    prop("boolean", "stderr passed the daemon's output_limit"));
	json_object_set_new(props, "processes_total",
			    prop("integer", "Processes the call ran (the per-process list is "
					    "left out here)"));
	if (cell) {
		json_object_set_new(props, "lang", prop("string", "python or bash"));
		json_object_set_new(props, "ok", prop("boolean", "The code ran without error"));
		json_object_set_new(props, "value",
				    any("The value of a trailing Python expression, as JSON"));
		json_object_set_new(props, "value_repr",
				    prop("string", "repr() of a value JSON cannot carry"));
		json_object_set_new(
			props, "error",
			object_of(json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "type", "type", "string",
					    "message", "type", "string", "traceback", "type",
					    "string"),
				  "The exception the code raised"));
		json_object_set_new(props, "interrupted",
				    prop("boolean", "The cell was interrupted (a limit, or "
						    "session_interrupt); the session lives on"));
		json_object_set_new(props, "exit_code",
				    prop("integer", "bash: the status of the last command"));
		json_object_set_new(props, "session",
				    object_of(json_pack("{s:{s:s}, s:o}", "path", "type", "string",
							"interpreter",
							prop("string", "alive or died")),
					      "The session and whether its interpreter lives"));
	}
	return json_pack("{s:s, s:o, s:[s, s]}", "type", "object", "properties", props,
			 "required", "path", "verdict");
}

static json_t *output_schema(const struct tool_def *t)
{
	json_t *props;

	if (t->id == MCP_T_RUN || t->id == MCP_T_PYTHON || t->id == MCP_T_BASH)
		return call_output_schema(t->id != MCP_T_RUN, t->id == MCP_T_RUN);
	props = json_pack("{s:{s:s}}", "path", "type", "string");
	switch (t->id) {
	case MCP_T_SESSION_CREATE:
		json_object_set_new(props, "budget",
				    json_pack("{s:s, s:s}", "type", "object", "description",
					      "memory_max, cpu, pids of the session"));
		json_object_set_new(props, "priority", prop("string", "low, normal or high"));
		json_object_set_new(props, "interpreter",
				    json_pack("{s:s, s:s}", "type", "object", "description",
					      "lang, binary, persist, pid, state, version"));
		break;
	case MCP_T_GET:
		json_object_set_new(props, "name", json_pack("{s:s}", "type", "string"));
		json_object_set_new(props, "value", any("The variable's value"));
		break;
	case MCP_T_SET:
		json_object_set_new(props, "name", json_pack("{s:s}", "type", "string"));
		break;
	case MCP_T_INTERRUPT:
		json_object_set_new(props, "interrupted",
				    prop("boolean", "false when no cell was running"));
		break;
	case MCP_T_RESET:
		json_object_set_new(props, "restarted",
				    prop("boolean", "a new interpreter was started"));
		break;
	case MCP_T_CLOSE:
		json_object_set_new(props, "killed_calls",
				    prop("integer", "running calls that were killed"));
		break;
	default:
		break;
	}
	return json_pack("{s:s, s:o, s:[s]}", "type", "object", "properties", props, "required",
			 "path");
}

static json_t *annotations(const struct mcp *m, const struct tool_def *t)
{
	json_t *a = json_pack("{s:b, s:b, s:b, s:b}", "readOnlyHint", !!(t->flags & TF_READONLY),
			      "destructiveHint", !(t->flags & (TF_READONLY | TF_SAFE)),
			      "idempotentHint",
			      t->id == MCP_T_GET || t->id == MCP_T_SET || t->id == MCP_T_RESET,
			      "openWorldHint", !!(t->flags & TF_INTENT));

	/* 2025-03-26 has no Tool.title: the annotation carries it there. */
	if (a && !mcp_proto_at_least(m, "2025-06-18"))
		json_object_set_new(a, "title", json_string(t->title));
	return a;
}

json_t *mcp_tools_list(const struct mcp *m)
{
	bool structured = mcp_proto_at_least(m, "2025-06-18");
	json_t *list = json_array();

	for (size_t i = 0; list && i < AC_ARRAY_SIZE(tools); i++) {
		const struct tool_def *t = &tools[i];
		char doc[1536];
		json_t *tool;

		if (t->dflt == MCP_D_NONE)
			snprintf(doc, sizeof(doc), "%s", t->doc);
		else
			snprintf(doc, sizeof(doc), "%s Default session: %s.", t->doc,
				 m->dflt[t->dflt]);
		tool = json_pack("{s:s, s:s, s:o, s:o}", "name", t->name, "description", doc,
				 "inputSchema", input_schema(m, t), "annotations",
				 annotations(m, t));
		if (!tool) {
			json_decref(list);
			return NULL;
		}
		if (structured) {
			json_object_set_new(tool, "title", json_string(t->title));
			json_object_set_new(tool, "outputSchema", output_schema(t));
		}
		json_array_append_new(list, tool);
	}
	return list;
}

/* ---- arguments -> a request ---------------------------------------------- */

/* Arguments the tool's input schema does not have. */
static void check_known(const json_t *schema, const json_t *args, struct ac_errors *errs)
{
	const json_t *props = json_object_get(schema, "properties");
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)args, k, v)
		if (!json_object_get(props, k))
			ac_errors_add(errs, "arguments", "unknown argument '%.40s'", k);
}

/* A string argument: NULL when absent (or wrong, with an error). */
static const char *arg_str(const json_t *args, const char *name, bool required,
			   struct ac_errors *errs)
{
	const json_t *v = json_object_get(args, name);

	if (!v) {
		if (required)
			ac_errors_add(errs, name, "is required");
		return NULL;
	}
	if (!json_is_string(v)) {
		ac_errors_add(errs, name, "must be a string");
		return NULL;
	}
	return json_string_value(v);
}

/* The session argument, or the tool's default session: true when it is
 * the default. */
static bool arg_session(const struct mcp *m, const json_t *args, enum mcp_dflt dflt,
			struct mcp_plan *p, struct ac_errors *errs)
{
	const char *s = arg_str(args, "session", dflt == MCP_D_NONE, errs);
	char buf[CLI_PATH_LEN + AC_NAME_MAX];
	struct ac_path path;

	if (!s) {
		if (dflt == MCP_D_NONE)
			return false;
		ac_strlcpy(p->session, m->dflt[dflt], sizeof(p->session));
		return true;
	}
	if (!strchr(s, '/'))
		snprintf(buf, sizeof(buf), "/%s/%s", m->tenant, s);
	else
		snprintf(buf, sizeof(buf), "%s", s);
	if (ac_path_parse(buf, &path) < 0 || path.depth != AC_LEVEL_SESSION ||
	    ac_path_format(&path, p->session, sizeof(p->session)) < 0) {
		ac_errors_add(errs, "session",
			      "'%.80s' is not a session: give /tenant/name or a bare name (names "
			      "of 1-64 of A-Z a-z 0-9 _ . -, not starting with '.')",
			      s);
		return false;
	}
	return dflt != MCP_D_NONE && !strcmp(p->session, m->dflt[dflt]);
}

/* The intent object from the tool's intent arguments, checked with the
 * daemon's own parser. */
static json_t *arg_intent(const json_t *args, unsigned flags, struct ac_errors *errs)
{
	json_t *intent = json_object();
	struct ac_errors ie;
	struct ac_intent in;

	for (int id = RUN_MEM; intent && id <= CLI_INTENT_OPT_LAST; id++) {
		const char *key = cli_intent_field(id)->key;
		json_t *v = json_object_get(args, key);

		if (v && intent_offered(id, flags))
			json_object_set(intent, key, v);
	}
	if (intent && ac_intent_from_json(intent, &in, &ie) < 0)
		for (int i = 0; i < ie.n; i++)
			ac_errors_add(errs, ie.e[i].field, "%s", ie.e[i].msg);
	return intent;
}

/* env (an object of strings) over agentcg mcp's environment. */
static void arg_env(const json_t *args, json_t *params, struct ac_errors *errs)
{
	const json_t *env = json_object_get(args, "env");
	json_t *list, *kept, *e;
	const char *k;
	json_t *v;
	size_t i;

	cli_run_add_env(params);
	if (!env)
		return;
	if (!json_is_object(env)) {
		ac_errors_add(errs, "env", "must be an object of strings, e.g. {\"LANG\": \"C\"}");
		return;
	}
	list = json_object_get(params, "env");
	kept = json_array();
	json_array_foreach(list, i, e) {
		const char *kv = json_string_value(e);
		size_t n = strcspn(kv, "=");
		bool replaced = false;

		json_object_foreach((json_t *)env, k, v)
			if (strlen(k) == n && !strncmp(kv, k, n))
				replaced = true;
		if (!replaced)
			json_array_append(kept, e);
	}
	json_object_foreach((json_t *)env, k, v) {
		if (!*k || strchr(k, '=')) {
			ac_errors_add(errs, "env", "'%.40s' is not a variable name", k);
			continue;
		}
		if (!json_is_string(v)) {
			ac_errors_add(errs, "env", "%.40s: the value must be a string", k);
			continue;
		}
		json_array_append_new(kept, json_sprintf("%s=%s", k, json_string_value(v)));
	}
	json_object_set_new(params, "env", kept);
}

/* command (a shell line) or argv. */
static void arg_command(const json_t *args, json_t *params, struct ac_errors *errs)
{
	const json_t *argv = json_object_get(args, "argv"), *a;
	bool has_cmd = json_object_get(args, "command") != NULL;
	const char *cmd;
	size_t i;

	if (has_cmd == (argv != NULL)) {
		ac_errors_add(errs, "command",
			      has_cmd ? "give command or argv, not both" :
					"give command (a shell line) or argv (an array of strings)");
		return;
	}
	if (has_cmd) {
		cmd = arg_str(args, "command", true, errs);
		if (cmd && !*cmd)
			ac_errors_add(errs, "command", "is empty");
		if (cmd && *cmd)
			json_object_set_new(params, "argv",
					    json_pack("[s, s, s]", "/bin/sh", "-c", cmd));
		return;
	}
	if (!json_is_array(argv) || !json_array_size(argv)) {
		ac_errors_add(errs, "argv", "must be a non-empty array of strings");
		return;
	}
	json_array_foreach(argv, i, a)
		if (!json_is_string(a)) {
			ac_errors_add(errs, "argv", "entry %zu is not a string", i);
			return;
		}
	json_object_set(params, "argv", (json_t *)argv);
}

static void plan_run(const json_t *args, json_t *params, struct ac_errors *errs)
{
	const char *cwd = arg_str(args, "cwd", false, errs);
	const json_t *wait = json_object_get(args, "wait");

	arg_command(args, params, errs);
	arg_env(args, params, errs);
	if (cwd) {
		if (cwd[0] != '/')
			ac_errors_add(errs, "cwd", "must be an absolute path");
		json_object_set_new(params, "cwd", json_string(cwd));
	} else {
		cli_run_add_cwd(params);
	}
	if (wait && !json_is_boolean(wait))
		ac_errors_add(errs, "wait", "must be true or false");
	else if (json_is_true(wait))
		json_object_set_new(params, "wait", json_true());
}

static void plan_create(const json_t *args, json_t *params, struct ac_errors *errs)
{
	const char *lang = arg_str(args, "lang", false, errs);
	const json_t *persist = json_object_get(args, "persist");
	static const char *const budget_keys[] = { "memory_max", "cpu", "pids" };
	json_t *budget = json_object();

	if (lang && strcmp(lang, "python") && strcmp(lang, "bash"))
		ac_errors_add(errs, "lang", "must be python or bash");
	else if (lang)
		json_object_set_new(params, "lang", json_string(lang));
	if (persist && (!json_is_boolean(persist) || !lang))
		ac_errors_add(errs, "persist", lang ? "must be true or false" :
						      "applies to an interpreter: give lang too");
	else if (persist)
		json_object_set(params, "persist", (json_t *)persist);
	/* The budget's values are checked by the daemon (each bad one named). */
	for (size_t i = 0; i < AC_ARRAY_SIZE(budget_keys); i++) {
		json_t *v = json_object_get(args, budget_keys[i]);

		if (v)
			json_object_set(budget, budget_keys[i], v);
	}
	if (json_object_size(budget))
		json_object_set(params, "budget", budget);
	json_decref(budget);
	if (json_object_get(args, "priority"))
		json_object_set(params, "priority", json_object_get(args, "priority"));
}

json_t *mcp_tools_make_params(const struct mcp_plan *p)
{
	json_t *params = json_pack("{s:s}", "path", p->session);

	if (params && p->lang)
		json_object_set_new(params, "lang", json_string(p->lang));
	return params;
}

/* A tool error listing every bad argument. */
static json_t *args_error(const struct tool_def *t, const struct ac_errors *errs)
{
	char text[4096];
	size_t n = (size_t)snprintf(text, sizeof(text),
				    "%s: invalid arguments (nothing was run):", t->name);

	for (int i = 0; i < errs->n && n < sizeof(text); i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "\n  %s: %s", errs->e[i].field,
				      errs->e[i].msg);
	return mcp_result_error("%s", text);
}

int mcp_tools_plan(const struct mcp *m, const char *name, const json_t *args,
		   struct mcp_plan *p, json_t **tool_error)
{
	const struct tool_def *t = tool_find(name);
	struct ac_errors errs = { 0 };
	enum mcp_dflt dflt;
	bool is_dflt;
	json_t *schema;

	*tool_error = NULL;
	memset(p, 0, sizeof(*p));
	if (!t)
		return -ENOENT;
	p->tool = t->id;
	p->name = t->name;
	p->method = t->method;
	p->params = json_object();
	schema = input_schema(m, t);
	if (!p->params || !schema) {
		json_decref(schema);
		mcp_plan_done(p);
		return -ENOMEM;
	}
	check_known(schema, args, &errs);
	json_decref(schema);
	dflt = t->dflt;
	if (t->id == MCP_T_SESSION_CREATE) {
		const char *lang = json_string_value(json_object_get(args, "lang"));

		dflt = !lang ? MCP_D_CMD : !strcmp(lang, "python") ? MCP_D_PYTHON :
			       !strcmp(lang, "bash")   ? MCP_D_BASH :
							 MCP_D_CMD;
	}
	is_dflt = arg_session(m, args, dflt, p, &errs);
	p->make = (t->flags & TF_MAKE) || ((t->flags & TF_MAKE_DFLT) && is_dflt);
	p->lang = t->id == MCP_T_BASH ? "bash" : t->id == MCP_T_RUN ? NULL : "python";
	json_object_set_new(p->params, "path", json_string(p->session));
	if (t->flags & TF_INTENT) {
		json_t *intent = arg_intent(args, t->flags, &errs);

		if (json_object_size(intent))
			json_object_set(p->params, "intent", intent);
		json_decref(intent);
	}
	switch (t->id) {
	case MCP_T_RUN:
		plan_run(args, p->params, &errs);
		break;
	case MCP_T_PYTHON:
	case MCP_T_BASH: {
		const char *code = arg_str(args, "code", true, &errs);

		if (code)
			json_object_set_new(p->params, "code", json_string(code));
		break;
	}
	case MCP_T_SESSION_CREATE:
		plan_create(args, p->params, &errs);
		break;
	case MCP_T_GET:
	case MCP_T_SET: {
		const char *var = arg_str(args, "name", true, &errs);

		if (var)
			json_object_set_new(p->params, "name", json_string(var));
		if (t->id == MCP_T_SET && !json_object_get(args, "value"))
			ac_errors_add(&errs, "value", "is required");
		else if (t->id == MCP_T_SET)
			json_object_set(p->params, "value", json_object_get(args, "value"));
		break;
	}
	default:
		break;
	}
	if (errs.n) {
		*tool_error = args_error(t, &errs);
		mcp_plan_done(p);
		return *tool_error ? -EINVAL : -ENOMEM;
	}
	return 0;
}

void mcp_plan_done(struct mcp_plan *p)
{
	json_decref(p->params);
	p->params = NULL;
}
