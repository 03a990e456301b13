// SPDX-License-Identifier: GPL-2.0
/* agentcg mcp's tools (userspace/cli/mcp_tools.c) and results
 * (mcp_result.c): what tools/list shows per protocol version, what a
 * tools/call's arguments become, and the CallToolResult of a reply.
 * Linked with cli_intent.c and cli_format.c; what those need from the
 * rest of the CLI (option errors, the process's environment) is stubbed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../userspace/cli/mcp_result.h"
#include "../../userspace/cli/mcp_tools.h"

/* ---- stubs ------------------------------------------------------------ */

int cli_usage_error(struct cli *c, const char *fmt, ...)
{
	return CLI_EXIT_USAGE;
}
int cli_check_size(struct cli *c, const char *flag, const char *s)
{
	return 0;
}
int cli_check_duration(struct cli *c, const char *flag, const char *s)
{
	return 0;
}
int cli_parse_cores(struct cli *c, const char *flag, const char *s, bool allow_zero, double *out)
{
	return 0;
}
int cli_parse_count(struct cli *c, const char *flag, const char *s, json_int_t *out)
{
	return 0;
}
/* The "process environment" of these tests. */
void cli_run_add_env(json_t *params)
{
	json_object_set_new(params, "env", json_pack("[s, s]", "PATH=/bin", "FOO=old"));
}
void cli_run_add_cwd(json_t *params)
{
	json_object_set_new(params, "cwd", json_string("/srv/work"));
}
/* As mcp.c's: versions are dates. */
bool mcp_proto_at_least(const struct mcp *m, const char *v)
{
	return strcmp(m->version ? m->version : "2025-11-25", v) >= 0;
}

/* ---- helpers ---------------------------------------------------------- */

static struct cli cli;

static void mcp_setup(struct mcp *m, const char *version)
{
	memset(m, 0, sizeof(*m));
	m->c = &cli;
	m->version = version;
	strcpy(m->tenant, "t1");
	strcpy(m->dflt[MCP_D_CMD], "/t1/me");
	strcpy(m->dflt[MCP_D_PYTHON], "/t1/me-python");
	strcpy(m->dflt[MCP_D_BASH], "/t1/me-bash");
}

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return v;
}

static const json_t *tool_named(const json_t *tools, const char *name)
{
	size_t i;
	const json_t *t;

	json_array_foreach(tools, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "name")), name))
			return t;
	fail_msg("no tool %s", name);
	return NULL;
}

/* Plans tool with args (JSON text): 0 with p, or the error's text in err. */
static int plan(const struct mcp *m, const char *tool, const char *args, struct mcp_plan *p,
		char *err, size_t len)
{
	json_t *a = js(args), *te = NULL;
	int r = mcp_tools_plan(m, tool, a, p, &te);

	json_decref(a);
	err[0] = '\0';
	if (te) {
		assert_int_equal(r, -EINVAL);
		assert_true(json_is_true(json_object_get(te, "isError")));
		snprintf(err, len, "%s",
			 json_string_value(json_object_get(
				 json_array_get(json_object_get(te, "content"), 0), "text")));
		json_decref(te);
	}
	return r;
}

static const char *text0(const json_t *res)
{
	return json_string_value(
		json_object_get(json_array_get(json_object_get(res, "content"), 0), "text"));
}

/* ---- tools/list ---------------------------------------------------------- */

static void test_list_latest(void **state)
{
	static const char *const intent[] = { "memory", "memory_max", "memory_hint", "cpu",
					      "pids",	"timeout",    "cpu_time",    "forks",
					      "priority", "label",    NULL };
	struct mcp m;
	json_t *tools;
	const json_t *run, *py, *props;

	mcp_setup(&m, "2025-11-25");
	tools = mcp_tools_list(&m);
	assert_int_equal(json_array_size(tools), 9);
	run = tool_named(tools, "run_command");
	py = tool_named(tools, "python_exec");
	props = json_object_get(json_object_get(run, "inputSchema"), "properties");
	for (const char *const *k = intent; *k; k++) {
		const char *doc = json_string_value(
			json_object_get(json_object_get(props, *k), "description"));

		if (!doc || strlen(doc) < 40)
			fail_msg("run_command's %s has no description a model can act on", *k);
	}
	assert_non_null(json_object_get(props, "retry"));
	assert_null(json_object_get(props, "on_exceed"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(props, "cpu"), "type")),
			    "number");
	assert_string_equal(json_string_value(json_object_get(json_object_get(props, "pids"), "type")),
			    "integer");
	assert_true(json_is_false(json_object_get(json_object_get(run, "inputSchema"),
						  "additionalProperties")));
	assert_null(json_object_get(json_object_get(json_object_get(py, "inputSchema"), "properties"),
				    "retry"));
	assert_non_null(json_object_get(json_object_get(json_object_get(run, "outputSchema"),
							"properties"),
					"verdict"));
	assert_non_null(json_object_get(run, "title"));
	/* the default sessions are named where a model reads them */
	assert_non_null(strstr(json_string_value(json_object_get(run, "description")), "/t1/me."));
	assert_non_null(strstr(json_string_value(json_object_get(py, "description")),
			       "/t1/me-python"));
	json_decref(tools);
}

static void test_list_2025_03_26(void **state)
{
	struct mcp m;
	json_t *tools;
	const json_t *run;

	mcp_setup(&m, "2025-03-26");
	tools = mcp_tools_list(&m);
	run = tool_named(tools, "run_command");
	assert_null(json_object_get(run, "outputSchema"));
	assert_null(json_object_get(run, "title"));
	assert_non_null(json_object_get(json_object_get(run, "annotations"), "title"));
	json_decref(tools);
}

/* ---- tools/call's arguments ------------------------------------------------ */

static void test_plan_run(void **state)
{
	struct mcp m;
	struct mcp_plan p;
	char err[2048];
	_cleanup_free_ char *s = NULL;

	mcp_setup(&m, NULL);
	assert_int_equal(plan(&m, "run_command",
			      "{\"command\": \"make -j8\", \"memory\": \"512M\", \"retry\": 1, "
			      "\"env\": {\"FOO\": \"new\"}, \"wait\": true}",
			      &p, err, sizeof(err)),
			 0);
	assert_string_equal(p.method, "call.run");
	assert_string_equal(p.session, "/t1/me");
	assert_true(p.make);
	assert_null(p.lang);
	s = json_dumps(p.params, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"argv\":[\"/bin/sh\",\"-c\",\"make -j8\"],\"cwd\":\"/srv/work\","
			       "\"env\":[\"PATH=/bin\",\"FOO=new\"],\"intent\":{\"memory\":\"512M\","
			       "\"retry\":1},\"path\":\"/t1/me\",\"wait\":true}");
	mcp_plan_done(&p);

	/* argv, another tenant's session by path, a cwd of its own */
	assert_int_equal(plan(&m, "run_command",
			      "{\"argv\": [\"ls\", \"-l\"], \"session\": \"/t2/x\", \"cwd\": \"/tmp\"}",
			      &p, err, sizeof(err)),
			 0);
	assert_string_equal(p.session, "/t2/x");
	assert_string_equal(json_string_value(json_object_get(p.params, "cwd")), "/tmp");
	assert_int_equal(json_array_size(json_object_get(p.params, "argv")), 2);
	mcp_plan_done(&p);
}

static void test_plan_bad(void **state)
{
	struct mcp m;
	struct mcp_plan p;
	char err[2048];

	mcp_setup(&m, NULL);
	/* every bad field named, the daemon's words for the intent */
	assert_int_equal(plan(&m, "run_command",
			      "{\"command\": \"true\", \"memory\": \"lots\", \"timeout\": \"5\", "
			      "\"bogus\": 1, \"on_exceed\": \"freeze\"}",
			      &p, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "nothing was run"));
	assert_non_null(strstr(err, "memory: \"lots\" is not a size"));
	assert_non_null(strstr(err, "timeout: "));
	assert_non_null(strstr(err, "unknown argument 'bogus'"));
	assert_non_null(strstr(err, "unknown argument 'on_exceed'"));
	assert_int_equal(plan(&m, "run_command", "{\"command\": \"x\", \"argv\": [\"x\"]}", &p, err,
			      sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not both"));
	assert_int_equal(plan(&m, "run_command", "{\"argv\": [1]}", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(plan(&m, "run_command", "{\"command\": \"x\", \"cwd\": \"rel\"}", &p, err,
			      sizeof(err)),
			 -EINVAL);
	assert_int_equal(plan(&m, "run_command", "{\"command\": \"x\", \"env\": {\"A=B\": \"1\"}}",
			      &p, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(plan(&m, "python_exec", "{}", &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "code: is required"));
	assert_int_equal(plan(&m, "python_exec", "{\"code\": \"1\", \"session\": \"../x\"}", &p, err,
			      sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "is not a session"));
	assert_int_equal(plan(&m, "session_close", "{}", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(plan(&m, "session_create", "{\"lang\": \"ruby\"}", &p, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(plan(&m, "no_such_tool", "{}", &p, err, sizeof(err)), -ENOENT);
}

static void test_plan_sessions(void **state)
{
	struct mcp m;
	struct mcp_plan p;
	char err[256];

	mcp_setup(&m, NULL);
	/* a bare name is in the default session's tenant; exec tools make
	 * what they name, with their interpreter */
	assert_int_equal(plan(&m, "bash_exec", "{\"code\": \"ls\", \"session\": \"work\"}", &p, err,
			      sizeof(err)),
			 0);
	assert_string_equal(p.session, "/t1/work");
	assert_true(p.make);
	assert_string_equal(p.lang, "bash");
	mcp_plan_done(&p);
	assert_int_equal(plan(&m, "python_exec", "{\"code\": \"1\"}", &p, err, sizeof(err)), 0);
	assert_string_equal(p.session, "/t1/me-python");
	assert_string_equal(p.lang, "python");
	mcp_plan_done(&p);
	/* session_set makes its default session only */
	assert_int_equal(plan(&m, "session_set", "{\"name\": \"v\", \"value\": [1]}", &p, err,
			      sizeof(err)),
			 0);
	assert_true(p.make);
	mcp_plan_done(&p);
	assert_int_equal(plan(&m, "session_set", "{\"name\": \"v\", \"value\": null, \"session\": "
						"\"other\"}",
			      &p, err, sizeof(err)),
			 0);
	assert_false(p.make);
	assert_true(json_is_null(json_object_get(p.params, "value")));
	mcp_plan_done(&p);
	assert_int_equal(plan(&m, "session_get", "{\"name\": \"v\"}", &p, err, sizeof(err)), 0);
	assert_false(p.make);
	mcp_plan_done(&p);
	/* session_create: the default of its kind, a budget, lang */
	assert_int_equal(plan(&m, "session_create", "{\"lang\": \"bash\", \"memory_max\": \"1G\"}",
			      &p, err, sizeof(err)),
			 0);
	assert_string_equal(p.session, "/t1/me-bash");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(p.params, "budget"), "memory_max")),
			    "1G");
	mcp_plan_done(&p);
}

/* ---- results ------------------------------------------------------------------ */

static const char oom_result[] =
	"{\"path\": \"/t1/me/call-2\", \"processes\": [{\"pid\": 1}], \"processes_total\": 1,"
	" \"usage\": {\"memory_peak\": 67108864, \"cpu_user_us\": 1000, \"cpu_system_us\": 0,"
	" \"wall_us\": 5000}, \"exit\": {\"signal\": 9, \"signal_name\": \"SIGKILL\"},"
	" \"stdout\": \"\", \"stderr\": \"MemoryError\\n\","
	" \"verdict\": {\"status\": \"exceeded\", \"summary\": \"exceeded memory_max (64M): ...\","
	" \"exceeded\": [{\"resource\": \"cpu\", \"limit\": 0.5, \"used\": 0.9, \"unit\": \"cores\","
	" \"action\": \"throttled\"}, {\"resource\": \"memory_max\", \"limit\": 67108864,"
	" \"used\": 67108864, \"unit\": \"bytes\", \"action\": \"killed\"}]%s}}";

static void test_result_exceeded(void **state)
{
	struct mcp m;
	struct mcp_plan p = { .tool = MCP_T_RUN, .name = "run_command" };
	char buf[2048];
	json_t *r, *res;
	const char *t;

	mcp_setup(&m, "2025-06-18");
	snprintf(buf, sizeof(buf), oom_result, "");
	r = js(buf);
	res = mcp_result(&m, &p, r);
	t = text0(res);
	assert_true(json_is_true(json_object_get(res, "isError")));
	assert_non_null(t);
	/* the worst action leads; what to change, in the tools' words */
	assert_true(!strncmp(t, "killed: exceeded memory_max", 27));
	assert_non_null(strstr(t, "raise memory_max above 64M (e.g. memory_max \"128M\")"));
	assert_non_null(strstr(t, "raise cpu above 0.5 (e.g. cpu 1)"));
	assert_non_null(strstr(t, "killed by SIGKILL; peak memory 64M"));
	assert_non_null(strstr(t, "--- stderr ---\nMemoryError"));
	assert_null(json_object_get(json_object_get(res, "structuredContent"), "processes"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(res, "structuredContent"),
							     "processes_total")),
			 1);
	json_decref(res);
	json_decref(r);

	/* killed at the tenant's budget: memory_max is not what to raise */
	snprintf(buf, sizeof(buf), oom_result,
		 ", \"oom\": {\"limit\": {\"level\": \"tenant\", \"path\": \"/t1\"}}");
	r = js(buf);
	res = mcp_result(&m, &p, r);
	assert_null(strstr(text0(res), "raise memory_max"));
	json_decref(res);

	/* 2025-03-26: no structuredContent, the object as a second text */
	mcp_setup(&m, "2025-03-26");
	res = mcp_result(&m, &p, r);
	assert_null(json_object_get(res, "structuredContent"));
	assert_int_equal(json_array_size(json_object_get(res, "content")), 2);
	json_decref(res);
	json_decref(r);
}

static void test_result_cell_and_session(void **state)
{
	struct mcp m;
	struct mcp_plan py = { .tool = MCP_T_PYTHON, .name = "python_exec" };
	struct mcp_plan get = { .tool = MCP_T_GET, .name = "session_get" };
	json_t *r, *res;

	mcp_setup(&m, NULL);
	r = js("{\"path\": \"/t1/me-python/call-1\", \"value\": {\"a\": [1, 2]}, \"ok\": true,"
	       " \"verdict\": {\"status\": \"ok\", \"summary\": \"within intent\"},"
	       " \"exit\": {\"code\": 0}, \"usage\": {}}");
	res = mcp_result(&m, &py, r);
	assert_true(json_is_false(json_object_get(res, "isError")));
	assert_non_null(strstr(text0(res), "value: {\"a\":[1,2]}"));
	json_decref(res);
	json_decref(r);
	r = js("{\"path\": \"/t1/me-python\", \"name\": \"v\", \"value\": \"x\"}");
	res = mcp_result(&m, &get, r);
	assert_string_equal(text0(res), "v = \"x\"");
	assert_true(json_is_false(json_object_get(res, "isError")));
	json_decref(res);
	json_decref(r);
}

static void test_result_errors(void **state)
{
	struct mcp_plan p = { .tool = MCP_T_RUN, .name = "run_command" };
	json_t *e = js("{\"code\": -32602, \"message\": \"invalid params\", \"data\": "
		       "{\"memory\": \"\\\"lots\\\" is not a size\", \"cpu\": \"must be a number\"}}");
	json_t *res = mcp_result_rpc_error(&p, e, NULL);
	const char *t = text0(res);

	assert_true(json_is_true(json_object_get(res, "isError")));
	assert_non_null(strstr(t, "\n  memory: \"lots\" is not a size"));
	assert_non_null(strstr(t, "\n  cpu: must be a number"));
	assert_non_null(strstr(t, "Nothing was run"));
	json_decref(res);
	json_decref(e);
	e = js("{\"code\": -32002, \"message\": \"admission refused\", \"data\": {\"level\": "
	       "\"tenant\"}}");
	res = mcp_result_rpc_error(&p, e, "cannot make the session /t1/x");
	t = text0(res);
	assert_non_null(strstr(t, "cannot make the session /t1/x: admission refused"));
	assert_non_null(strstr(t, "details: {\"level\":\"tenant\"}"));
	json_decref(res);
	json_decref(e);
}

/* A text past MCP_TEXT_MAX is cut, between UTF-8 characters. */
static void test_result_cut(void **state)
{
	struct mcp m;
	struct mcp_plan p = { .tool = MCP_T_RUN, .name = "run_command" };
	size_t n = MCP_TEXT_MAX + 4096;
	char *big = malloc(n + 1);
	json_t *r, *res;
	const char *t;

	assert_non_null(big);
	for (size_t i = 0; i + 1 < n; i += 2)
		memcpy(big + i, "\xc3\xa9", 2); /* é */
	big[n - (n % 2)] = '\0';
	mcp_setup(&m, NULL);
	r = js("{\"verdict\": {\"status\": \"ok\", \"summary\": \"within intent\"}}");
	json_object_set_new(r, "stdout", json_string(big));
	res = mcp_result(&m, &p, r);
	t = text0(res);
	assert_non_null(t);
	assert_true(strlen(t) <= MCP_TEXT_MAX);
	assert_non_null(strstr(t, "[... cut"));
	json_decref(res);
	json_decref(r);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_latest),
		cmocka_unit_test(test_list_2025_03_26),
		cmocka_unit_test(test_plan_run),
		cmocka_unit_test(test_plan_bad),
		cmocka_unit_test(test_plan_sessions),
		cmocka_unit_test(test_result_exceeded),
		cmocka_unit_test(test_result_cell_and_session),
		cmocka_unit_test(test_result_errors),
		cmocka_unit_test(test_result_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
