// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentcg/config.h"
#include "agentcg/units.h"
#include "agentcg/util.h"

#define M (1ULL << 20)
#define G (1ULL << 30)
#define S 1000000000ULL

static struct ac_config *new_cfg(void)
{
	struct ac_config *c = malloc(sizeof(*c));

	assert_non_null(c);
	ac_config_init(c);
	return c;
}

static int parse(struct ac_config *c, const char *text, char *err, size_t errlen)
{
	return ac_config_parse(c, text, strlen(text), err, errlen);
}

/* text fails, and the error starts with want (a key path). */
static void bad(const char *text, const char *want)
{
	struct ac_config *c = new_cfg(), *before = new_cfg();
	char err[256] = "";

	if (parse(c, text, err, sizeof(err)) != -EINVAL)
		fail_msg("%s should be refused", text);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("%s: error \"%s\" does not start with \"%s\"", text, err, want);
	/* all or nothing: a refused file changes nothing */
	assert_memory_equal(c, before, sizeof(*c));
	free(c);
	free(before);
}

static void test_init(void **state)
{
	struct ac_config *c = new_cfg();

	assert_string_equal(c->socket_path, "/run/agentcg/agentcgd.sock");
	assert_int_equal(c->socket_mode, 0666);
	assert_string_equal(c->root, "auto");
	assert_int_equal(c->output_limit, M);
	assert_int_equal(c->max_request, M);
	assert_int_equal(c->max_reply_backlog, 16 * M);
	assert_int_equal(c->admission_wait_max_ns, 600 * S);
	assert_int_equal(c->per_uid.connections, 64);
	assert_int_equal(c->per_uid.sessions, 64);
	assert_int_equal(c->per_uid.calls_running, 64);
	assert_int_equal(c->per_uid.calls_waiting, 32);
	assert_int_equal(c->per_uid.interp_ops, 64);
	assert_int_equal(c->per_uid.interp_op_bytes, 8 * M);
	assert_int_equal(c->per_uid.subscriptions, 8);
	assert_int_equal(c->partial_line_ns, 10 * S);
	assert_int_equal(c->runner_frame_max, 0);
	assert_int_equal(ac_config_runner_frame_max(c), 2 * M + 64 * 1024);
	assert_int_equal(c->defaults.memory, 512 * M);
	assert_true(c->defaults.memory_max_factor == 1.5);
	assert_true(c->defaults.cpu == 0);
	assert_int_equal(c->defaults.pids, 512);
	assert_int_equal(c->defaults.timeout_ns, 600 * S);
	assert_int_equal(c->defaults.priority, AC_PRIO_NORMAL);
	assert_int_equal(c->defaults.on_exceed, AC_EXCEED_KILL);
	assert_int_equal(c->session_budget.memory_max, 4 * G);
	assert_int_equal(c->session_budget.pids_max, 4096);
	assert_false(c->tenants_on_demand);
	assert_int_equal(c->tenant_budget.memory_max, 8 * G);
	assert_int_equal(c->n_tenants, 1);
	assert_non_null(ac_config_find_tenant(c, "default"));
	free(c);
}

static void test_load_default(void **state)
{
	struct ac_config *c = new_cfg();
	const struct ac_tenant_config *t;
	char err[256] = "x";

	assert_true(ac_default_config_len > 100);
	assert_int_equal(strlen(ac_default_config), ac_default_config_len);
	assert_int_equal(ac_config_load_default(c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c->socket_path, "/run/agentcg/agentcgd.sock");
	assert_int_equal(c->socket_mode, 0666);
	assert_int_equal(c->defaults.memory, 512 * M);
	assert_int_equal(c->defaults.pids, 512);
	assert_int_equal(c->defaults.timeout_ns, 600 * S);
	/* the file says what the built-ins say */
	assert_int_equal(c->per_uid.connections, 64);
	assert_int_equal(c->per_uid.sessions, 64);
	assert_int_equal(c->per_uid.calls_running, 64);
	assert_int_equal(c->per_uid.calls_waiting, 32);
	assert_int_equal(c->per_uid.interp_ops, 64);
	assert_int_equal(c->per_uid.interp_op_bytes, 8 * M);
	assert_int_equal(c->per_uid.subscriptions, 8);
	assert_int_equal(c->partial_line_ns, 10 * S);
	assert_int_equal(c->runner_frame_max, 0);
	assert_int_equal(c->session_budget.memory_max, 4 * G);
	assert_true(c->session_budget.cpu == 0);
	assert_int_equal(c->tenant_budget.pids_max, 8192);
	assert_int_equal(c->n_tenants, 2);
	t = ac_config_find_tenant(c, "demo");
	assert_non_null(t);
	assert_int_equal(t->budget.memory_max, G);
	assert_true(t->budget.cpu == 1);
	assert_int_equal(t->budget.pids_max, 256);
	t = ac_config_find_tenant(c, "default");
	assert_non_null(t);
	assert_int_equal(t->budget.memory_max, 8 * G);
	assert_null(ac_config_find_tenant(c, "nobody"));
	assert_null(ac_config_find_tenant(c, NULL));
	free(c);
}

static void test_parse_all_keys(void **state)
{
	struct ac_config *c = new_cfg();
	const struct ac_tenant_config *t;
	char err[256];

	assert_int_equal(
		parse(c,
		      "{\"socket\": \"/tmp/x.sock\", \"socket_mode\": \"0660\", \"root\": \"/sys/fs/cgroup/a\","
		      " \"output_limit\": 4096, \"max_request\": \"64K\", \"max_reply_backlog\": \"1G\","
		      " \"admission_wait_max\": 30,"
		      " \"defaults\": {\"memory\": \"1G\", \"memory_max_factor\": 2, \"cpu\": 0.5,"
		      "   \"pids\": 0, \"timeout\": \"0s\", \"priority\": \"low\", \"on_exceed\": \"freeze\","
		      "   \"memory_hints\": {\"medium\": \"300M\"}},"
		      " \"session_budget\": {\"memory_max\": \"max\", \"cpu\": 4, \"pids\": \"max\"},"
		      " \"tenants_on_demand\": true,"
		      " \"tenant_budget\": {\"memory_max\": 2147483648},"
		      " \"tenants\": {\"alice\": {\"memory_max\": \"2G\"}, \"bob-2\": {}}}",
		      err, sizeof(err)),
		0);
	assert_string_equal(c->socket_path, "/tmp/x.sock");
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->root, "/sys/fs/cgroup/a");
	assert_int_equal(c->output_limit, 4096);
	assert_int_equal(c->max_request, 64 * 1024);
	assert_int_equal(c->max_reply_backlog, G);
	assert_int_equal(c->admission_wait_max_ns, 30 * S);
	assert_int_equal(c->defaults.memory, G);
	assert_true(c->defaults.memory_max_factor == 2);
	assert_true(c->defaults.cpu == 0.5);
	assert_int_equal(c->defaults.pids, 0);
	assert_int_equal(c->defaults.timeout_ns, 0);
	assert_int_equal(c->defaults.priority, AC_PRIO_LOW);
	assert_int_equal(c->defaults.on_exceed, AC_EXCEED_FREEZE);
	assert_int_equal(c->defaults.memory_hints[0], 256 * M); /* merged: built-in kept */
	assert_int_equal(c->defaults.memory_hints[1], 300 * M);
	assert_true(c->session_budget.memory_max == AC_UNLIMITED);
	assert_true(c->session_budget.cpu == 4);
	assert_true(c->session_budget.pids_max == AC_UNLIMITED);
	assert_true(c->tenants_on_demand);
	assert_int_equal(c->tenant_budget.memory_max, 2 * G);
	assert_int_equal(c->tenant_budget.pids_max, 8192); /* merged: built-in kept */
	/* "tenants" replaces the list; absent budget fields are unlimited */
	assert_int_equal(c->n_tenants, 2);
	assert_null(ac_config_find_tenant(c, "default"));
	t = ac_config_find_tenant(c, "alice");
	assert_non_null(t);
	assert_int_equal(t->budget.memory_max, 2 * G);
	assert_true(t->budget.pids_max == AC_UNLIMITED);
	t = ac_config_find_tenant(c, "bob-2");
	assert_non_null(t);
	assert_true(t->budget.memory_max == AC_UNLIMITED);
	assert_true(t->budget.cpu == 0);
	free(c);
}

static void test_partial_file_keeps_builtins(void **state)
{
	struct ac_config *c = new_cfg();
	char err[256];

	assert_int_equal(parse(c, "{\"defaults\": {\"pids\": 99}}", err, sizeof(err)), 0);
	assert_int_equal(c->defaults.pids, 99);
	assert_int_equal(c->defaults.memory, 512 * M);
	assert_string_equal(c->socket_path, "/run/agentcg/agentcgd.sock");
	assert_int_equal(c->n_tenants, 1);
	assert_int_equal(parse(c, "{}", err, sizeof(err)), 0);
	assert_int_equal(parse(c, "{\"socket\": \"\"}", err, sizeof(err)), 0);
	assert_string_equal(c->socket_path, "");
	assert_int_equal(parse(c, "{\"tenants\": {}}", err, sizeof(err)), 0);
	assert_int_equal(c->n_tenants, 0);
	free(c);
}

static void test_unknown_keys(void **state)
{
	bad("{\"sockett\": \"/x\"}", "sockett: unknown key");
	bad("{\"defaults\": {\"memroy\": \"1G\"}}", "defaults.memroy: unknown key");
	bad("{\"session_budget\": {\"memory\": \"1G\"}}", "session_budget.memory: unknown key");
	bad("{\"tenant_budget\": {\"cpus\": 1}}", "tenant_budget.cpus: unknown key");
	bad("{\"tenants\": {\"a\": {\"memory_max\": \"1G\", \"io\": 1}}}",
	    "tenants.a.io: unknown key");
	bad("{\"socket\": \"/x\", \"extra\": {}}", "extra: unknown key");
}

static void test_bad_values(void **state)
{
	bad("{\"socket_mode\": 438}", "socket_mode: must be an octal string");
	bad("{\"socket_mode\": \"0999\"}", "socket_mode:");
	bad("{\"socket_mode\": \"\"}", "socket_mode:");
	bad("{\"socket_mode\": \"07777x\"}", "socket_mode:");
	bad("{\"socket_mode\": \"077777\"}", "socket_mode:");
	bad("{\"socket\": 5}", "socket: must be a string");
	bad("{\"root\": \"\"}", "root: must not be empty");
	bad("{\"output_limit\": \"1Q\"}", "output_limit: \"1Q\" is not a size");
	bad("{\"output_limit\": -1}", "output_limit: must not be negative");
	bad("{\"output_limit\": \"2000T\"}", "output_limit: \"2000T\" is too large");
	bad("{\"max_request\": 10}", "max_request: is too small");
	bad("{\"max_reply_backlog\": true}", "max_reply_backlog: must be a size");
	bad("{\"admission_wait_max\": \"10\"}", "admission_wait_max: \"10\" is not a duration");
	bad("{\"admission_wait_max\": -1}", "admission_wait_max: must not be negative");
	bad("{\"defaults\": []}", "defaults: must be an object");
	bad("{\"defaults\": {\"memory\": \"512K\"}}", "defaults.memory:");
	bad("{\"defaults\": {\"memory\": \"max\"}}", "defaults.memory:");
	bad("{\"defaults\": {\"memory_max_factor\": 0.5}}", "defaults.memory_max_factor:");
	bad("{\"defaults\": {\"memory_max_factor\": \"2\"}}", "defaults.memory_max_factor:");
	bad("{\"defaults\": {\"cpu\": -1}}", "defaults.cpu:");
	bad("{\"defaults\": {\"memory_hints\": {\"huge\": \"1G\"}}}",
	    "defaults.memory_hints.huge: unknown key");
	bad("{\"defaults\": {\"memory_hints\": {\"low\": \"1Q\"}}}", "defaults.memory_hints.low:");
	bad("{\"defaults\": {\"memory_hints\": 5}}", "defaults.memory_hints: must be an object");
	bad("{\"defaults\": {\"cpu\": 2000}}", "defaults.cpu:");
	bad("{\"defaults\": {\"pids\": -1}}", "defaults.pids:");
	bad("{\"defaults\": {\"pids\": \"max\"}}", "defaults.pids:");
	bad("{\"defaults\": {\"timeout\": \"1x\"}}", "defaults.timeout:");
	bad("{\"defaults\": {\"timeout\": \"100us\"}}", "defaults.timeout:");
	bad("{\"defaults\": {\"priority\": \"urgent\"}}", "defaults.priority:");
	bad("{\"defaults\": {\"on_exceed\": 1}}", "defaults.on_exceed:");
	bad("{\"session_budget\": {\"memory_max\": \"maximum\"}}", "session_budget.memory_max:");
	bad("{\"session_budget\": {\"memory_max\": \"100K\"}}", "session_budget.memory_max:");
	bad("{\"session_budget\": {\"pids\": 0}}", "session_budget.pids:");
	bad("{\"session_budget\": {\"pids\": 1.5}}", "session_budget.pids:");
	bad("{\"session_budget\": {\"cpu\": \"1\"}}", "session_budget.cpu:");
	bad("{\"session_budget\": 5}", "session_budget: must be an object");
	bad("{\"tenants_on_demand\": \"yes\"}", "tenants_on_demand: must be true or false");
	bad("{\"tenants\": []}", "tenants: must be an object");
	bad("{\"tenants\": {\".hidden\": {}}}", "tenants..hidden: not a valid tenant name");
	bad("{\"tenants\": {\"a b\": {}}}", "tenants.a b: not a valid tenant name");
	bad("{\"tenants\": {\"\": {}}}", "tenants.: not a valid tenant name");
	bad("{\"tenants\": {\"a\": 1}}", "tenants.a: must be an object");
	bad("{\"tenants\": {\"a\": {\"pids\": -2}}}", "tenants.a.pids:");
}

static void test_per_uid(void **state)
{
	struct ac_config *c = new_cfg();
	char err[256];

	assert_int_equal(parse(c,
			       "{\"per_uid\": {\"connections\": 3, \"sessions\": 0,"
			       " \"calls_running\": 5, \"calls_waiting\": 6, \"interp_ops\": 7,"
			       " \"interp_op_bytes\": \"2M\", \"subscriptions\": 1000000},"
			       " \"partial_line_timeout\": \"250ms\", \"runner_frame_max\": \"3M\"}",
			       err, sizeof(err)),
			 0);
	assert_int_equal(c->per_uid.connections, 3);
	assert_int_equal(c->per_uid.sessions, 0);
	assert_int_equal(c->per_uid.calls_running, 5);
	assert_int_equal(c->per_uid.calls_waiting, 6);
	assert_int_equal(c->per_uid.interp_ops, 7);
	assert_int_equal(c->per_uid.interp_op_bytes, 2 * M);
	assert_int_equal(c->per_uid.subscriptions, 1000000);
	assert_int_equal(c->partial_line_ns, S / 4);
	assert_int_equal(ac_config_runner_frame_max(c), 3 * M);
	/* merged key by key; 0 turns the partial-line bound off */
	assert_int_equal(parse(c, "{\"per_uid\": {\"sessions\": 9}, \"partial_line_timeout\": 0,"
				  " \"runner_frame_max\": \"auto\", \"max_request\": \"4M\"}",
			       err, sizeof(err)),
			 0);
	assert_int_equal(c->per_uid.sessions, 9);
	assert_int_equal(c->per_uid.connections, 3);
	assert_int_equal(c->partial_line_ns, 0);
	/* auto: twice the larger of max_request and output_limit, plus 64K */
	assert_int_equal(ac_config_runner_frame_max(c), 8 * M + 64 * 1024);
	free(c);

	bad("{\"per_uid\": 5}", "per_uid: must be an object");
	bad("{\"per_uid\": {\"conections\": 5}}", "per_uid.conections: unknown key");
	bad("{\"per_uid\": {\"connections\": -1}}", "per_uid.connections: must be an integer");
	bad("{\"per_uid\": {\"sessions\": 1000001}}", "per_uid.sessions: must be an integer");
	bad("{\"per_uid\": {\"calls_running\": \"5\"}}", "per_uid.calls_running:");
	bad("{\"per_uid\": {\"calls_waiting\": 1.5}}", "per_uid.calls_waiting:");
	bad("{\"per_uid\": {\"interp_ops\": true}}", "per_uid.interp_ops:");
	bad("{\"per_uid\": {\"interp_op_bytes\": \"1Q\"}}", "per_uid.interp_op_bytes:");
	bad("{\"per_uid\": {\"subscriptions\": null}}", "per_uid.subscriptions:");
	bad("{\"partial_line_timeout\": \"soon\"}", "partial_line_timeout:");
	bad("{\"partial_line_timeout\": -1}", "partial_line_timeout: must not be negative");
	bad("{\"runner_frame_max\": \"1K\"}", "runner_frame_max: is too small");
	bad("{\"runner_frame_max\": \"max\"}", "runner_frame_max:");
}

static void test_containment(void **state)
{
	struct ac_config *c = new_cfg();
	char err[256];

	/* built-in = embedded */
	assert_true(c->contain.enabled);
	assert_true(c->memory_budget == AC_UNLIMITED);
	assert_true(c->contain.throttle_at == 0.75 && c->contain.kill_at == 0.95);
	assert_int_equal(c->contain.cls[AC_PRIO_HIGH].cpu_weight, 400);
	assert_true(c->contain.cls[AC_PRIO_HIGH].protect);
	assert_int_equal(c->contain.cls[AC_PRIO_LOW].oom_score_adj, 650);
	assert_int_equal(c->contain.freeze, AC_FREEZE_AUTO);
	assert_true(c->contain.hold_max_ns == 30000000000ULL);
	assert_true(c->contain.stall_ns == 1500000000ULL && c->contain.free_ns == 3000000000ULL);
	c->contain = (struct ac_containment){ 0 };
	assert_int_equal(ac_config_load_default(c, err, sizeof(err)), 0);
	assert_true(c->contain.enabled);
	assert_true(c->contain.thaw_below == 0.70 && c->contain.freeze_at == 0.85);
	assert_true(c->contain.step_ns == 100000000ULL);
	assert_int_equal(c->contain.cls[AC_PRIO_LOW].cpu_weight, 25);
	assert_int_equal(c->contain.cls[AC_PRIO_NORMAL].oom_score_adj, 600);
	assert_int_equal(c->contain.interp_oom_score_offset, -100);
	assert_true(c->contain.hold_max_ns == 30000000000ULL);
	assert_true(c->contain.stall_ns == 1500000000ULL && c->contain.free_ns == 3000000000ULL);
	assert_false(c->contain.cls[AC_PRIO_NORMAL].protect);
	/* keys merge one by one; classes too */
	assert_int_equal(parse(c, "{\"memory_budget\": \"2G\", \"containment\": {\"enabled\": "
				  "false, \"step\": \"50ms\", \"classes\": {\"low\": "
				  "{\"cpu_weight\": 10}}}}", err, sizeof(err)), 0);
	assert_true(c->memory_budget == 2ULL << 30);
	assert_false(c->contain.enabled);
	assert_true(c->contain.step_ns == 50000000ULL);
	assert_int_equal(c->contain.cls[AC_PRIO_LOW].cpu_weight, 10);
	assert_int_equal(c->contain.cls[AC_PRIO_LOW].oom_score_adj, 650);
	assert_int_equal(parse(c, "{\"containment\": {\"freeze\": true, \"hold_max\": \"2s\", "
				  "\"stall\": \"500ms\", \"free\": \"1s\"}}", err, sizeof(err)), 0);
	assert_int_equal(c->contain.freeze, AC_FREEZE_ON);
	assert_true(c->contain.hold_max_ns == 2000000000ULL && c->contain.stall_ns == 500000000ULL &&
		    c->contain.free_ns == 1000000000ULL);
	assert_true(c->contain.forecast);
	assert_int_equal(parse(c, "{\"containment\": {\"forecast\": false}}", err, sizeof(err)), 0);
	assert_false(c->contain.forecast);
	assert_true(c->contain.forecast_high);
	assert_int_equal(parse(c, "{\"containment\": {\"forecast_high\": false}}", err, sizeof(err)),
			 0);
	assert_false(c->contain.forecast_high);
	assert_int_equal(parse(c, "{\"containment\": {\"freeze\": false}}", err, sizeof(err)), 0);
	assert_int_equal(c->contain.freeze, AC_FREEZE_OFF);
	assert_int_equal(parse(c, "{\"containment\": {\"freeze\": \"auto\"}}", err, sizeof(err)), 0);
	assert_int_equal(c->contain.freeze, AC_FREEZE_AUTO);
	free(c);

	bad("{\"memory_budget\": \"1K\"}", "memory_budget: ");
	bad("{\"containment\": []}", "containment: must be an object");
	bad("{\"containment\": {\"kill_at\": 1.5}}", "containment.kill_at: must be a fraction");
	bad("{\"containment\": {\"throttle_at\": 0}}", "containment.throttle_at: must be a fraction");
	bad("{\"containment\": {\"freeze_at\": 0.7}}",
	    "containment: needs thaw_below < throttle_at <= freeze_at <= kill_at");
	bad("{\"containment\": {\"thaw_below\": 0.75}}", "containment: needs thaw_below");
	bad("{\"containment\": {\"step\": \"1ms\"}}", "containment.step: must be from 10ms to 10s");
	bad("{\"containment\": {\"classes\": {\"urgent\": {}}}}",
	    "containment.classes.urgent: unknown class");
	bad("{\"containment\": {\"classes\": {\"high\": {\"oom_score_adj\": -1000}}}}",
	    "containment.classes.high.oom_score_adj: must be an integer from -999 to 1000");
	bad("{\"containment\": {\"classes\": {\"high\": {\"cpu_weight\": 0}}}}",
	    "containment.classes.high.cpu_weight: must be an integer from 1 to 10000");
	bad("{\"containment\": {\"classes\": {\"high\": {\"memory_low\": 1}}}}",
	    "containment.classes.high.memory_low: unknown key");
	bad("{\"containment\": {\"enable\": true}}", "containment.enable: unknown key");
	bad("{\"containment\": {\"freeze\": \"swap\"}}",
	    "containment.freeze: must be true, false or \"auto\"");
	bad("{\"containment\": {\"hold_max\": \"5ms\"}}",
	    "containment.hold_max: must be from 10ms to 1h");
	bad("{\"containment\": {\"stall\": \"2h\"}}", "containment.stall: must be from 10ms to 1h");
	bad("{\"containment\": {\"interpreter_oom_score_offset\": 1}}",
	    "containment.interpreter_oom_score_offset: must be an integer from -1000 to 0");
}

static void test_adaptive(void **state)
{
	struct ac_config *c = new_cfg();
	char err[256];

	/* built-in and embedded defaults */
	assert_true(c->adaptive.enabled);
	assert_true(c->adaptive.margin == 1.25);
	assert_int_equal(c->adaptive.min_samples, 3);
	assert_int_equal(c->adaptive.window, 32);
	c->adaptive = (struct ac_adaptive_config){ 0 };
	assert_int_equal(ac_config_load_default(c, err, sizeof(err)), 0);
	assert_true(c->adaptive.enabled);
	assert_true(c->adaptive.margin == 1.25);
	assert_int_equal(c->adaptive.min_samples, 3);
	assert_int_equal(c->adaptive.window, 32);
	/* every key; then a partial object merges key by key */
	assert_int_equal(parse(c, "{\"adaptive\": {\"enabled\": false, \"margin\": 2, "
				  "\"min_samples\": 1, \"window\": 64}}", err, sizeof(err)), 0);
	assert_false(c->adaptive.enabled);
	assert_true(c->adaptive.margin == 2.0);
	assert_int_equal(c->adaptive.min_samples, 1);
	assert_int_equal(c->adaptive.window, 64);
	assert_int_equal(parse(c, "{\"adaptive\": {\"margin\": 1.0, \"min_samples\": 64}}", err,
			       sizeof(err)), 0);
	assert_false(c->adaptive.enabled);
	assert_true(c->adaptive.margin == 1.0);
	assert_int_equal(c->adaptive.min_samples, 64);
	assert_int_equal(c->adaptive.window, 64);
	assert_int_equal(parse(c, "{\"adaptive\": {}}", err, sizeof(err)), 0);
	assert_int_equal(c->adaptive.min_samples, 64);
	free(c);

	bad("{\"adaptive\": true}", "adaptive: must be an object");
	bad("{\"adaptive\": {\"enable\": true}}", "adaptive.enable: unknown key");
	bad("{\"adaptive\": {\"enabled\": 1}}", "adaptive.enabled: must be true or false");
	bad("{\"adaptive\": {\"margin\": 0.99}}", "adaptive.margin: must be a number from 1 to 100");
	bad("{\"adaptive\": {\"margin\": 0}}", "adaptive.margin: must be a number from 1 to 100");
	bad("{\"adaptive\": {\"margin\": -1.25}}", "adaptive.margin: must be a number");
	bad("{\"adaptive\": {\"margin\": 100.5}}", "adaptive.margin: must be a number");
	bad("{\"adaptive\": {\"margin\": \"1.25\"}}", "adaptive.margin: must be a number");
	bad("{\"adaptive\": {\"min_samples\": 0}}", "adaptive.min_samples: must be an integer from 1 to 64");
	bad("{\"adaptive\": {\"min_samples\": 65}}", "adaptive.min_samples: must be an integer");
	bad("{\"adaptive\": {\"min_samples\": 2.5}}", "adaptive.min_samples: must be an integer");
	bad("{\"adaptive\": {\"min_samples\": \"3\"}}", "adaptive.min_samples: must be an integer");
	bad("{\"adaptive\": {\"window\": 0}}", "adaptive.window: must be an integer from 1 to 64");
	bad("{\"adaptive\": {\"window\": 65}}", "adaptive.window: must be an integer");
	bad("{\"adaptive\": {\"window\": -32}}", "adaptive.window: must be an integer");
	bad("{\"adaptive\": {\"window\": null}}", "adaptive.window: must be an integer");
	/* min_samples the window could never hold (the built-in min_samples is 3) */
	bad("{\"adaptive\": {\"window\": 2}}", "adaptive: min_samples (3) must not be more than window (2)");
	bad("{\"adaptive\": {\"min_samples\": 33}}", "adaptive: min_samples (33) must not be more than window (32)");
}

static void test_bad_json(void **state)
{
	bad("", "line 1");
	bad("{", "line 1");
	bad("{\"socket\": \"/a\",}", "line 1");
	bad("[]", "config: must be a JSON object");
	bad("\"x\"", "line 1"); /* not JSON text by the default decoder flags */
	bad("{\"socket\": \"/a\", \"socket\": \"/b\"}", "line 1"); /* duplicate key */
	bad("{}\n{}", "line 2");
}

static void test_too_many_tenants(void **state)
{
	size_t cap = 64 + (AC_TENANTS_MAX + 1) * 16;
	char *text = malloc(cap), err[256];
	struct ac_config *c = new_cfg();
	size_t off;

	assert_non_null(text);
	off = (size_t)snprintf(text, cap, "{\"tenants\": {");
	for (int i = 0; i < AC_TENANTS_MAX; i++)
		off += (size_t)snprintf(text + off, cap - off, "%s\"t%d\": {}", i ? "," : "", i);
	snprintf(text + off, cap - off, "}}");
	assert_int_equal(parse(c, text, err, sizeof(err)), 0);
	assert_int_equal(c->n_tenants, AC_TENANTS_MAX);
	assert_non_null(ac_config_find_tenant(c, "t255"));

	snprintf(text + off, cap - off, ",\"one-more\": {}}}");
	assert_int_equal(parse(c, text, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "tenants: too many tenants"));
	free(text);
	free(c);
}

static void test_interpreters(void **state)
{
	struct ac_config *c = new_cfg();
	const struct ac_tenant_config *t;
	char err[256] = "";

	/* built-in: dynamic uids 1879048192-1879113727, python3 and bash, a
	 * pool of 2 + 1; BPF on */
	assert_int_equal(c->interp.uid_first, 1879048192u);
	assert_int_equal(c->interp.uid_last, 1879113727u);
	assert_string_equal(c->interp.python, "python3");
	assert_string_equal(c->interp.bash, "bash");
	assert_int_equal(c->interp.pool_python, 2);
	assert_int_equal(c->interp.pool_bash, 1);
	assert_true(c->bpf);
	assert_int_equal(parse(c, "{\"bpf\": false, \"interpreters\": {\"uid_range\": "
				  "\"200000-200099\", "
				  "\"python\": \"/opt/venv/bin/python\", \"pool\": {\"bash\": 0}},"
				  " \"tenants\": {\"a\": {\"memory_max\": \"1G\"}, \"b\": {}}}",
			       err, sizeof(err)),
			 0);
	assert_false(c->bpf);
	assert_int_equal(c->interp.uid_first, 200000);
	assert_int_equal(c->interp.uid_last, 200099);
	assert_string_equal(c->interp.python, "/opt/venv/bin/python");
	assert_int_equal(c->interp.pool_python, 2); /* merged key by key */
	assert_int_equal(c->interp.pool_bash, 0);
	t = ac_config_find_tenant(c, "a");
	assert_non_null(t);
	assert_int_equal(t->budget.memory_max, G);
	free(c);

	/* the removed keys say what replaced them */
	bad("{\"interpreters\": {\"user\": \"nobody\"}}",
	    "interpreters.user: removed: every interpreter runs under a dynamic uid of its own, "
	    "from interpreters.uid_range");
	bad("{\"tenants\": {\"a\": {\"interpreter_user\": \"agent\"}}}",
	    "tenants.a.interpreter_user: removed: every interpreter runs under a dynamic uid");
	bad("{\"interpreters\": {\"uid_range\": \"5-4\"}}", "interpreters.uid_range");
	bad("{\"interpreters\": {\"uid_range\": \"0-100000\"}}", "interpreters.uid_range");
	bad("{\"interpreters\": {\"uid_range\": \"100000\"}}", "interpreters.uid_range");
	bad("{\"interpreters\": {\"uid_range\": \"100000-99999999\"}}", "interpreters.uid_range");
	bad("{\"interpreters\": {\"uid_range\": \" 100000-100009\"}}", "interpreters.uid_range");
	bad("{\"interpreters\": {\"uid_range\": 5}}", "interpreters.uid_range");
	bad("{\"interpreters\": {\"pool\": {\"ruby\": 1}}}", "interpreters.pool.ruby");
	bad("{\"interpreters\": {\"pool\": {\"python\": 65}}}", "interpreters.pool.python");
	bad("{\"interpreters\": {\"shell\": \"zsh\"}}", "interpreters.shell");
	bad("{\"bpf\": 1}", "bpf");
}

/* The security model's keys: operators, a tenant's members and policy. */
static void test_members(void **state)
{
	struct ac_config *c = new_cfg();
	const struct ac_tenant_config *t;
	char err[256] = "";

	/* built-in: "default" admits every local user; no operator group */
	assert_true(c->tenants[0].members.everyone);
	assert_int_equal(c->operators.n_groups, 0);
	assert_int_equal(c->tenants[0].max_priority, AC_PRIO_NORMAL);
	assert_ptr_equal(ac_config_session_budget(c, &c->tenants[0]), &c->session_budget);
	assert_int_equal(parse(c, "{\"operators\": {\"groups\": [\"agentcg\", \"wheel\"], "
				  "\"users\": [\"ops\"]}, \"tenants\": {"
				  "\"a\": {\"memory_max\": \"1G\", \"users\": [\"alice\", \"bob\"], "
				  "\"groups\": [\"team\"], \"max_priority\": \"high\", "
				  "\"session_budget\": {\"memory_max\": \"256M\"}}, "
				  "\"b\": {\"users\": [\"*\"]}, \"c\": {}}}",
			       err, sizeof(err)),
			 0);
	assert_int_equal(c->operators.n_groups, 2);
	assert_string_equal(c->operators.groups[1], "wheel");
	assert_string_equal(c->operators.users[0], "ops");
	t = ac_config_find_tenant(c, "a");
	assert_int_equal(t->budget.memory_max, G);
	assert_false(t->members.everyone);
	assert_int_equal(t->members.n_users, 2);
	assert_string_equal(t->members.users[1], "bob");
	assert_string_equal(t->members.groups[0], "team");
	assert_int_equal(t->max_priority, AC_PRIO_HIGH);
	assert_int_equal(ac_config_session_budget(c, t)->memory_max, 256 * M);
	assert_int_equal(ac_config_session_budget(c, t)->pids_max, AC_UNLIMITED);
	assert_true(ac_config_find_tenant(c, "b")->members.everyone);
	/* a listed tenant without members admits operators only */
	t = ac_config_find_tenant(c, "c");
	assert_false(t->members.everyone);
	assert_int_equal(t->members.n_users + t->members.n_groups, 0);
	assert_int_equal(t->max_priority, AC_PRIO_NORMAL);
	assert_ptr_equal(ac_config_session_budget(c, t), &c->session_budget);
	free(c);

	bad("{\"operators\": {\"users\": [\"*\"]}}", "operators");
	bad("{\"operators\": {\"groups\": [\"*\"]}}", "operators.groups");
	bad("{\"operators\": {\"group\": [\"x\"]}}", "operators.group");
	bad("{\"operators\": [\"x\"]}", "operators");
	bad("{\"tenants\": {\"a\": {\"users\": \"alice\"}}}", "tenants.a.users");
	bad("{\"tenants\": {\"a\": {\"users\": [\"\"]}}}", "tenants.a.users");
	bad("{\"tenants\": {\"a\": {\"users\": [\"a:b\"]}}}", "tenants.a.users");
	bad("{\"tenants\": {\"a\": {\"groups\": [1]}}}", "tenants.a.groups");
	bad("{\"tenants\": {\"a\": {\"users\": [\"123456789012345678901234567890123\"]}}}",
	    "tenants.a.users");
	bad("{\"tenants\": {\"a\": {\"users\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\","
	    "\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}}}",
	    "tenants.a.users");
	bad("{\"tenants\": {\"a\": {\"max_priority\": \"urgent\"}}}", "tenants.a.max_priority");
	bad("{\"tenants\": {\"a\": {\"session_budget\": {\"memory\": 1}}}}",
	    "tenants.a.session_budget.memory");
	bad("{\"tenants\": {\"a\": {\"member\": []}}}", "tenants.a.member");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/agentcg-test-config-XXXXXX", err[512];
	struct ac_config *c = new_cfg();
	const char *good = "{\"socket\": \"/tmp/file.sock\", \"defaults\": {\"cpu\": 1}}";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, good, strlen(good)), (ssize_t)strlen(good));
	close(fd);
	assert_int_equal(ac_config_load_file(c, path, err, sizeof(err)), 0);
	assert_string_equal(c->socket_path, "/tmp/file.sock");
	assert_true(c->defaults.cpu == 1);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"defaults\": {\"x\": 1}}", 22), 22);
	close(fd);
	assert_int_equal(ac_config_load_file(c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "defaults.x: unknown key"));
	unlink(path);

	assert_int_equal(ac_config_load_file(c, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(ac_config_load_file(c, "/", err, sizeof(err)), -EISDIR);
	free(c);
}

/* metrics_listen: loopback addresses and unix socket paths only, since
 * the metrics name tenants and sessions; metrics_group goes with a path. */
static void test_metrics_listen(void **state)
{
	struct ac_config *c = new_cfg();
	struct ac_metrics_listen m = { 0 };
	const uint8_t v4[4] = { 127, 0, 0, 1 }, v4b[4] = { 127, 1, 2, 3 };
	char err[256] = "";
	char why[224];

	assert_int_equal(c->metrics.kind, AC_METRICS_OFF);
	assert_int_equal(ac_config_load_default(c, err, sizeof(err)), 0);
	assert_int_equal(c->metrics.kind, AC_METRICS_OFF); /* the shipped file: off */

	assert_int_equal(parse(c, "{\"metrics_listen\": \"127.0.0.1:9464\"}", err, sizeof(err)), 0);
	assert_int_equal(c->metrics.kind, AC_METRICS_TCP4);
	assert_memory_equal(c->metrics.addr, v4, 4);
	assert_int_equal(c->metrics.port, 9464);
	assert_string_equal(c->metrics.spec, "127.0.0.1:9464");
	assert_int_equal(parse(c, "{\"metrics_listen\": \"127.1.2.3:1\"}", err, sizeof(err)), 0);
	assert_memory_equal(c->metrics.addr, v4b, 4);
	assert_int_equal(c->metrics.port, 1);
	assert_int_equal(parse(c, "{\"metrics_listen\": \"[::1]:65535\"}", err, sizeof(err)), 0);
	assert_int_equal(c->metrics.kind, AC_METRICS_TCP6);
	assert_int_equal(c->metrics.addr[15], 1);
	assert_int_equal(c->metrics.port, 65535);
	assert_int_equal(parse(c, "{\"metrics_listen\": \"/run/agentcg/metrics.sock\", "
			     "\"metrics_group\": \"prometheus\"}", err, sizeof(err)), 0);
	assert_int_equal(c->metrics.kind, AC_METRICS_UNIX);
	assert_string_equal(c->metrics.path, "/run/agentcg/metrics.sock");
	assert_string_equal(c->metrics.group, "prometheus");
	/* the group is kept when only the path changes, and "" turns it off */
	assert_int_equal(parse(c, "{\"metrics_listen\": \"/tmp/m.sock\"}", err, sizeof(err)), 0);
	assert_string_equal(c->metrics.group, "prometheus");
	assert_int_equal(parse(c, "{\"metrics_listen\": \"\", \"metrics_group\": \"\"}", err,
			       sizeof(err)), 0);
	assert_int_equal(c->metrics.kind, AC_METRICS_OFF);
	free(c);

	/* not loopback: refused, saying why */
	bad("{\"metrics_listen\": \"0.0.0.0:9464\"}",
	    "metrics_listen: 0.0.0.0 is not a loopback address");
	bad("{\"metrics_listen\": \"10.1.2.3:9464\"}",
	    "metrics_listen: 10.1.2.3 is not a loopback address");
	bad("{\"metrics_listen\": \"[::]:9464\"}", "metrics_listen: :: is not the loopback");
	bad("{\"metrics_listen\": \"[::ffff:127.0.0.1]:9464\"}", "metrics_listen: ::ffff:127.0.0.1 is not");
	bad("{\"metrics_listen\": \"[fe80::1]:9464\"}", "metrics_listen: fe80::1 is not");
	bad("{\"metrics_listen\": \"localhost:9464\"}",
	    "metrics_listen: \"localhost\" is not a numeric IPv4 address");
	bad("{\"metrics_listen\": \":9464\"}", "metrics_listen: \":9464\" is neither");
	bad("{\"metrics_listen\": \"9464\"}", "metrics_listen: \"9464\" is neither");
	/* ports */
	bad("{\"metrics_listen\": \"127.0.0.1:0\"}", "metrics_listen: \"127.0.0.1:0\": the port");
	bad("{\"metrics_listen\": \"127.0.0.1:65536\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"127.0.0.1:\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"127.0.0.1:+80\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"127.0.0.1:80x\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"[::1]\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"[::1:9464\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"::1:9464\"}", "metrics_listen: \"::1:9464\": an IPv6 address goes in brackets");
	bad("{\"metrics_listen\": \"127.0.0.01:9464\"}", "metrics_listen:");
	/* paths */
	bad("{\"metrics_listen\": \"/\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"/run/agentcg/\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"relative.sock\"}", "metrics_listen:");
	bad("{\"metrics_listen\": \"/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\"}",
	    "metrics_listen: too long");
	bad("{\"metrics_listen\": 9464}", "metrics_listen: must be a string");
	/* (jansson refuses a NUL in a string before the key is looked at) */
	bad("{\"metrics_listen\": \"/tmp/a\\u0000b\"}", "line 1 column");
	/* a group only for a unix socket */
	bad("{\"metrics_listen\": \"127.0.0.1:9464\", \"metrics_group\": \"adm\"}",
	    "metrics_group: is the group of a unix socket");
	bad("{\"metrics_group\": \"adm\"}", "metrics_group: is the group of a unix socket");
	bad("{\"metrics_listen\": \"/tmp/m.sock\", \"metrics_group\": \"a:b\"}", "metrics_group:");
	bad("{\"metrics_listen\": \"/tmp/m.sock\", \"metrics_group\": 0}", "metrics_group:");

	/* the parser on its own: the reason is a sentence for the log */
	assert_int_equal(ac_metrics_listen_parse("192.168.1.1:80", &m, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "unix socket path"));
	assert_int_equal(ac_metrics_listen_parse("127.0.0.1:80", &m, why, sizeof(why)), 0);
	assert_int_equal(m.kind, AC_METRICS_TCP4);
}

static void test_error_buffer_bounds(void **state)
{
	struct ac_config *c = new_cfg();
	char tiny[8];

	memset(tiny, 'x', sizeof(tiny));
	assert_int_equal(parse(c, "{\"a-very-long-unknown-key\": 1}", tiny, sizeof(tiny)), -EINVAL);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_int_equal(parse(c, "{\"b\": 1}", NULL, 0), -EINVAL);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_load_default),
		cmocka_unit_test(test_parse_all_keys),
		cmocka_unit_test(test_partial_file_keeps_builtins),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_adaptive),
		cmocka_unit_test(test_per_uid),
		cmocka_unit_test(test_containment),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_too_many_tenants),
		cmocka_unit_test(test_interpreters),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_metrics_listen),
		cmocka_unit_test(test_error_buffer_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
