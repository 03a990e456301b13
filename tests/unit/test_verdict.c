// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agentcg/verdict.h"
#include "agentcg/units.h"
#include "agentcg/util.h"

#define M (1ULL << 20)
#define S 1000000000ULL

/* One call: its intent, limits, usage and end; a verdict built from them. */
struct call {
	struct ac_intent in;
	struct ac_limits lim;
	struct ac_usage u;
	struct ac_call_end end;
	json_t *v;
};

static void call_init(struct call *c, const char *intent)
{
	struct ac_errors errs;
	json_t *j = json_loads(intent, 0, NULL);

	json_decref(c->v); /* c starts zeroed; a reused call drops its verdict */
	memset(c, 0, sizeof(*c));
	assert_non_null(j);
	assert_int_equal(ac_intent_from_json(j, &c->in, &errs), 0);
	json_decref(j);
	ac_intent_to_limits(&c->in, &c->lim);
	c->u = (struct ac_usage){ .memory_peak = 12 * M, .cpu_user_us = 6000, .cpu_system_us = 4000,
				  .wall_ns = 20000000, .pids_peak = 1, .has_mem_high_knob = true };
	c->end = (struct ac_call_end){ .exited = true, .exit_code = 0 };
}

static json_t *build(struct call *c)
{
	json_decref(c->v);
	c->v = ac_verdict_build(&c->in, &c->lim, &c->u, &c->end);
	assert_non_null(c->v);
	return c->v;
}

static const char *status(struct call *c)
{
	return json_string_value(json_object_get(c->v, "status"));
}

static const char *summary(struct call *c)
{
	return json_string_value(json_object_get(c->v, "summary"));
}

static void summary_has(struct call *c, const char *want)
{
	if (!strstr(summary(c), want))
		fail_msg("summary \"%s\" lacks \"%s\"", summary(c), want);
}

static json_t *entry(struct call *c, const char *resource)
{
	json_t *arr = json_object_get(c->v, "exceeded"), *e;
	size_t i;

	assert_true(json_is_array(arr));
	json_array_foreach(arr, i, e)
		if (strcmp(json_string_value(json_object_get(e, "resource")), resource) == 0)
			return e;
	return NULL;
}

static size_t n_entries(struct call *c)
{
	return json_array_size(json_object_get(c->v, "exceeded"));
}

static void entry_is(struct call *c, const char *resource, const char *action, const char *unit)
{
	json_t *e = entry(c, resource);

	if (!e)
		fail_msg("no \"%s\" entry in %s", resource, json_dumps(c->v, 0));
	assert_string_equal(json_string_value(json_object_get(e, "action")), action);
	assert_string_equal(json_string_value(json_object_get(e, "unit")), unit);
	assert_non_null(json_object_get(e, "limit"));
	assert_non_null(json_object_get(e, "used"));
	assert_non_null(json_object_get(e, "over_by"));
}

static long long int_of(json_t *e, const char *key)
{
	json_t *x = json_object_get(e, key);

	if (!json_is_integer(x))
		fail_msg("%s is not an integer", key);
	return json_integer_value(x);
}

static void test_ok(void **state)
{
	struct call c = { 0 };

	call_init(&c, "{\"memory\": \"256M\", \"cpu\": 1, \"pids\": 64, \"timeout\": \"10s\"}");
	build(&c);
	assert_string_equal(status(&c), "ok");
	assert_int_equal(n_entries(&c), 0);
	assert_string_equal(summary(&c), "within intent (peak 12M, cpu 10ms, 20ms wall)");
	assert_int_equal(int_of(json_object_get(c.v, "exit"), "code"), 0);
	assert_null(json_object_get(c.v, "stopped_by"));
	assert_null(json_object_get(c.v, "frozen"));
	json_decref(c.v);
}

static void test_failed_exit_code(void **state)
{
	struct call c = { 0 };

	call_init(&c, "{}");
	c.end.exit_code = 3;
	build(&c);
	assert_string_equal(status(&c), "failed");
	summary_has(&c, "exited with code 3");
	assert_int_equal(int_of(json_object_get(c.v, "exit"), "code"), 3);
	json_decref(c.v);
}

static void test_failed_signal(void **state)
{
	struct call c = { 0 };
	json_t *ex;

	call_init(&c, "{}");
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGSEGV };
	build(&c);
	assert_string_equal(status(&c), "failed");
	summary_has(&c, "killed by signal SIGSEGV");
	ex = json_object_get(c.v, "exit");
	assert_int_equal(int_of(ex, "signal"), SIGSEGV);
	assert_string_equal(json_string_value(json_object_get(ex, "signal_name")), "SIGSEGV");
	assert_null(json_object_get(ex, "code"));

	/* SIGKILL without a memory event or a stop is just a failure */
	c.end.term_signal = SIGKILL;
	build(&c);
	assert_string_equal(status(&c), "failed");
	assert_int_equal(n_entries(&c), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(c.v, "exit"),
							      "signal_name")),
			    "SIGKILL");
	json_decref(c.v);
}

static void test_memory_max_oom_kill(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{\"memory\": \"128M\", \"memory_max\": \"256M\"}");
	c.u.memory_peak = 256 * M;
	c.u.mem_max = 40;
	c.u.mem_oom = 1;
	c.u.mem_oom_kill = 1;
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL };
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "memory_max", "killed", "bytes");
	e = entry(&c, "memory_max");
	assert_int_equal(int_of(e, "limit"), 256 * M);
	assert_int_equal(int_of(e, "used"), 256 * M);
	assert_int_equal(int_of(e, "over_by"), 0);
	assert_true(strncmp(summary(&c),
			    "exceeded memory_max (peak 256M of 256M): killed by the OOM killer; "
			    "declare more memory or use less (e.g. fewer parallel workers)",
			    110) == 0);
	json_decref(c.v);
}

static void test_memory_max_sigkill_attributed(void **state)
{
	struct call c = { 0 };

	/* no oom_kill counted (e.g. v1), but max events and a SIGKILL */
	call_init(&c, "{\"memory_max\": \"64M\"}");
	c.u.memory_peak = 64 * M;
	c.u.mem_max = 3;
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL };
	build(&c);
	entry_is(&c, "memory_max", "killed", "bytes");

	/* the same SIGKILL sent by the daemon for a timeout is not the OOM killer */
	call_init(&c, "{\"memory_max\": \"64M\", \"timeout\": \"1s\"}");
	c.u.mem_max = 3;
	c.u.wall_ns = S;
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL,
				      .stop = AC_STOP_TIMEOUT };
	build(&c);
	entry_is(&c, "memory_max", "reclaimed", "bytes");
	entry_is(&c, "timeout", "killed", "us");
	summary_has(&c, "exceeded timeout (1s): killed after 1s");
	summary_has(&c, "also exceeded: memory_max (reclaimed)");
	json_decref(c.v);
}

static void test_memory_max_reclaimed(void **state)
{
	struct call c = { 0 };

	call_init(&c, "{\"memory_max\": \"64M\"}");
	c.u.memory_peak = 64 * M;
	c.u.mem_max = 12;
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "memory_max", "reclaimed", "bytes");
	summary_has(&c, "exceeded memory_max (peak 64M of 64M)");
	summary_has(&c, "reclaimed");
	json_decref(c.v);
}

static void test_oom_without_call_limit(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{}");
	c.u.mem_oom_kill = 2;
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL };
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	e = entry(&c, "memory_max");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "limit")), "max");
	assert_int_equal(int_of(e, "over_by"), 0);
	summary_has(&c, "killed by the OOM killer");
	summary_has(&c, "session, tenant or the host");
	json_decref(c.v);
}

static void test_memory_high_throttled(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{\"memory\": \"100M\", \"memory_max\": \"1G\"}");
	c.u.memory_peak = 110 * M;
	c.u.mem_high = 7;
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	assert_int_equal(n_entries(&c), 1);
	entry_is(&c, "memory", "throttled", "bytes");
	e = entry(&c, "memory");
	assert_int_equal(int_of(e, "limit"), 100 * M);
	assert_int_equal(int_of(e, "used"), 110 * M);
	assert_int_equal(int_of(e, "over_by"), 10 * M);
	summary_has(&c, "exceeded memory");
	summary_has(&c, "declare more memory");

	/* events with no memory in the intent are not the call's */
	call_init(&c, "{}");
	c.u.mem_high = 7;
	c.u.mem_max = 2;
	build(&c);
	assert_string_equal(status(&c), "ok");

	/* no events: nothing to say even at a high peak */
	call_init(&c, "{\"memory\": \"100M\", \"memory_max\": \"1G\"}");
	c.u.memory_peak = 110 * M;
	c.u.mem_high = 0;
	build(&c);
	assert_string_equal(status(&c), "ok");
	json_decref(c.v);
}

static void test_memory_high_reported_v1(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{\"memory\": \"100M\"}");
	c.u.has_mem_high_knob = false;
	c.u.memory_peak = 150 * M;
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "memory", "reported", "bytes");
	e = entry(&c, "memory");
	assert_int_equal(int_of(e, "over_by"), 50 * M);
	summary_has(&c, "peak 150M over 100M by 50M");

	c.u.memory_peak = 100 * M; /* at the line: fine */
	build(&c);
	assert_string_equal(status(&c), "ok");

	/* no memory in the intent: nothing to compare against */
	call_init(&c, "{}");
	c.u.has_mem_high_knob = false;
	c.u.memory_peak = 10000 * M;
	build(&c);
	assert_string_equal(status(&c), "ok");
	json_decref(c.v);
}

static void test_cpu_throttled(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{\"cpu\": 0.5}");
	c.u.cpu_user_us = 900000;
	c.u.cpu_system_us = 100000;
	c.u.wall_ns = 2 * S; /* 1s of CPU in 2s: 0.5 cores */
	c.u.cpu_nr_throttled = 15;
	c.u.cpu_throttled_us = 750000;
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "cpu", "throttled", "cores");
	e = entry(&c, "cpu");
	assert_true(json_real_value(json_object_get(e, "limit")) == 0.5);
	assert_true(json_real_value(json_object_get(e, "used")) == 0.5);
	assert_true(json_real_value(json_object_get(e, "over_by")) == 0);
	summary_has(&c, "exceeded cpu (0.5 cores): throttled for 750ms in 15 periods");
	summary_has(&c, "declare more cpu");

	c.u.cpu_nr_throttled = 0;
	build(&c);
	assert_string_equal(status(&c), "ok");

	/* wall 0 must not divide by zero */
	c.u.cpu_nr_throttled = 1;
	c.u.wall_ns = 0;
	build(&c);
	assert_true(json_real_value(json_object_get(entry(&c, "cpu"), "used")) == 0);
	json_decref(c.v);
}

static void test_pids_refused(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{\"pids\": 8}");
	c.u.pids_peak = 8;
	c.u.pids_max_events = 5;
	c.end.exit_code = 1;
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "pids", "refused", "processes");
	e = entry(&c, "pids");
	assert_int_equal(int_of(e, "limit"), 8);
	assert_int_equal(int_of(e, "used"), 8);
	assert_int_equal(int_of(e, "over_by"), 5);
	summary_has(&c, "exceeded pids (8): 5 forks refused");
	summary_has(&c, "exited with code 1");
	json_decref(c.v);
}

static void test_timeout(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{\"timeout\": \"10s\"}");
	c.u.wall_ns = 10 * S + 200000; /* shown as 10s: ms precision */
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL,
				      .stop = AC_STOP_TIMEOUT };
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "timeout", "killed", "us");
	e = entry(&c, "timeout");
	assert_int_equal(int_of(e, "limit"), 10000000);
	assert_int_equal(int_of(e, "used"), 10000200);
	assert_int_equal(int_of(e, "over_by"), 200);
	summary_has(&c, "exceeded timeout (10s): killed after 10s;");
	assert_true(strncmp(summary(&c), "exceeded timeout", 16) == 0);
	json_decref(c.v);
}

static void test_cpu_time(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{\"cpu_time\": \"2s\", \"on_exceed\": \"freeze\"}");
	c.u.cpu_user_us = 1900000;
	c.u.cpu_system_us = 150000;
	c.end = (struct ac_call_end){ .exited = false, .stop = AC_STOP_CPU_TIME, .frozen = true };
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "cpu_time", "frozen", "us");
	e = entry(&c, "cpu_time");
	assert_int_equal(int_of(e, "limit"), 2000000);
	assert_int_equal(int_of(e, "used"), 2050000);
	assert_int_equal(int_of(e, "over_by"), 50000);
	summary_has(&c, "exceeded cpu_time (2s): frozen after 2.05s of CPU");
	assert_true(json_is_true(json_object_get(c.v, "frozen")));

	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL,
				      .stop = AC_STOP_CPU_TIME };
	build(&c);
	entry_is(&c, "cpu_time", "killed", "us");
	assert_null(json_object_get(c.v, "frozen"));
	json_decref(c.v);
	c.v = NULL;

	/* on_exceed "report": the daemon did not stop it, the verdict still tells. */
	call_init(&c, "{\"cpu_time\": \"2s\", \"on_exceed\": \"report\"}");
	c.u.cpu_user_us = 2500000;
	c.u.cpu_system_us = 0;
	c.end = (struct ac_call_end){ .exited = true, .exit_code = 0 };
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "cpu_time", "reported", "us");
	assert_int_equal(int_of(entry(&c, "cpu_time"), "over_by"), 500000);
	json_decref(c.v);
	c.v = NULL;

	/* Within its cpu_time: no finding. */
	call_init(&c, "{\"cpu_time\": \"2s\"}");
	c.u.cpu_user_us = 1000000;
	c.end = (struct ac_call_end){ .exited = true, .exit_code = 0 };
	build(&c);
	assert_string_equal(status(&c), "ok");
	json_decref(c.v);
}

static void test_forks(void **state)
{
	struct call c = { 0 };
	json_t *e;

	call_init(&c, "{\"forks\": 10}");
	c.u.forks_known = true;
	c.u.forks = 11;
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL, .stop = AC_STOP_FORKS };
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "forks", "killed", "processes");
	e = entry(&c, "forks");
	assert_int_equal(int_of(e, "limit"), 10);
	assert_int_equal(int_of(e, "used"), 11);
	assert_int_equal(int_of(e, "over_by"), 1);
	summary_has(&c, "exceeded forks (10): killed at fork 11");

	c.end = (struct ac_call_end){ .exited = false, .stop = AC_STOP_FORKS, .frozen = true };
	build(&c);
	entry_is(&c, "forks", "frozen", "processes");

	/* report: ran on; the count says it */
	call_init(&c, "{\"forks\": 10, \"on_exceed\": \"report\"}");
	c.u.forks_known = true;
	c.u.forks = 30;
	build(&c);
	entry_is(&c, "forks", "reported", "processes");
	assert_int_equal(int_of(entry(&c, "forks"), "over_by"), 20);

	/* within, or not counted (no BPF): no finding */
	c.u.forks = 10;
	build(&c);
	assert_string_equal(status(&c), "ok");
	c.u.forks = 30;
	c.u.forks_known = false;
	build(&c);
	assert_string_equal(status(&c), "ok");
	json_decref(c.v);
}

static void test_memory_stopped_v1(void **state)
{
	struct call c = { 0 };

	call_init(&c, "{\"memory\": \"64M\", \"memory_max\": \"256M\"}");
	c.u.has_mem_high_knob = false;
	c.u.memory_peak = 65 * M;
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL,
				      .stop = AC_STOP_MEMORY };
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "memory", "killed", "bytes");
	assert_int_equal(int_of(entry(&c, "memory"), "over_by"), 1 * M);
	assert_null(entry(&c, "memory_max")); /* SIGKILL by the budget, not the OOM killer */
	summary_has(&c, "exceeded memory (64M): killed when its charge passed it (peak 65M)");
	json_decref(c.v);
}

static void test_oom_victim(void **state)
{
	struct call c = { 0 };
	json_t *o;

	call_init(&c, "{\"memory\": \"32M\", \"memory_max\": \"64M\"}");
	c.u.memory_peak = 64 * M;
	c.u.mem_max = 3;
	c.u.mem_oom_kill = 1;
	c.end = (struct ac_call_end){ .exited = true, .exit_code = 0 };
	c.end.oom = (struct ac_oom_victim){ .seen = true, .pid = 4242, .comm = "python3",
					    .rss = 70 * M, .level = "call", .path = "/t/s/call-1",
					    .limit = 64 * M };
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	entry_is(&c, "memory_max", "killed", "bytes");
	summary_has(&c, "the OOM killer killed python3 (pid 4242, RSS 70M)");
	o = json_object_get(c.v, "oom");
	assert_non_null(o);
	assert_int_equal(int_of(o, "pid"), 4242);
	assert_string_equal(json_string_value(json_object_get(o, "command")), "python3");
	assert_int_equal(int_of(o, "rss"), 70 * M);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "limit"), "level")),
			    "call");
	assert_int_equal(int_of(json_object_get(o, "limit"), "bytes"), 64 * M);

	/* a session budget hit: the verdict names it */
	c.end.oom.level = "session";
	snprintf(c.end.oom.path, sizeof(c.end.oom.path), "/t/s");
	c.end.oom.limit = 1024 * M;
	build(&c);
	summary_has(&c, "at the session budget of 1G (/t/s");
	/* the host */
	c.end.oom.level = "host";
	c.end.oom.path[0] = 0;
	c.end.oom.limit = AC_UNLIMITED;
	build(&c);
	summary_has(&c, "the host ran out of memory");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(c.v, "oom"), "limit"), "bytes")),
			    "max");
	json_decref(c.v);
}

static void test_stopped_by(void **state)
{
	static const struct {
		enum ac_stop_reason stop;
		const char *by, *phrase;
	} cases[] = {
		{ AC_STOP_DISCONNECT, "client disconnect", "client disconnected" },
		{ AC_STOP_OPERATOR, "operator", "stopped by the operator" },
		{ AC_STOP_SHUTDOWN, "shutdown", "shutting down" },
	};
	struct call c = { 0 };

	for (size_t i = 0; i < AC_ARRAY_SIZE(cases); i++) {
		call_init(&c, "{\"memory\": \"64M\"}");
		c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL,
					      .stop = cases[i].stop };
		build(&c);
		assert_string_equal(status(&c), "failed");
		assert_int_equal(n_entries(&c), 0);
		assert_string_equal(json_string_value(json_object_get(c.v, "stopped_by")),
				    cases[i].by);
		summary_has(&c, cases[i].phrase);
	}
	/* an operator stop while over a limit is still "exceeded" */
	c.u.mem_high = 1;
	build(&c);
	assert_string_equal(status(&c), "exceeded");
	assert_string_equal(json_string_value(json_object_get(c.v, "stopped_by")), "shutdown");
	json_decref(c.v);
}

static void test_containment(void **state)
{
	struct call c = { 0 };
	json_t *ct, *dom;

	/* killed by the ladder: stopped_by, status failed, the summary leads
	 * with what happened and what to change */
	call_init(&c, "{\"priority\": \"low\"}");
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL,
				      .stop = AC_STOP_PRESSURE };
	c.end.contain = (struct ac_contain_report){ .throttled = 1, .frozen = 1,
						    .throttled_ns = 1500000000ULL,
						    .frozen_ns = 250000000ULL,
						    .priority = AC_PRIO_LOW, .usage = 980 * M,
						    .budget = 1024 * M };
	strcpy(c.end.contain.domain, "/t1");
	build(&c);
	assert_string_equal(status(&c), "failed");
	assert_string_equal(json_string_value(json_object_get(c.v, "stopped_by")),
			    "memory pressure");
	summary_has(&c, "killed under memory pressure: budget /t1 was at 980M of 1G");
	summary_has(&c, "low-priority call");
	ct = json_object_get(c.v, "containment");
	assert_non_null(ct);
	assert_string_equal(json_string_value(json_object_get(ct, "priority")), "low");
	assert_int_equal(json_integer_value(json_object_get(ct, "throttled")), 1);
	assert_int_equal(json_integer_value(json_object_get(ct, "throttled_ms")), 1500);
	assert_int_equal(json_integer_value(json_object_get(ct, "frozen_ms")), 250);
	assert_true(json_is_true(json_object_get(ct, "killed")));
	/* nothing pushed out (no swap, or hybrid): 0, and no word of it */
	assert_int_equal(json_integer_value(json_object_get(ct, "reclaimed")), 0);
	assert_null(strstr(json_string_value(json_object_get(c.v, "summary")), "swap"));
	dom = json_object_get(ct, "domain");
	assert_string_equal(json_string_value(json_object_get(dom, "path")), "/t1");
	assert_int_equal(json_integer_value(json_object_get(dom, "budget")), (json_int_t)(1024 * M));
	json_decref(c.v);

	/* a cell: interrupted, not killed */
	c.end.interrupted = true;
	build(&c);
	summary_has(&c, "interrupted under memory pressure");
	summary_has(&c, "low-priority cell");
	json_decref(c.v);

	/* contained, then let go: ok, and the summary says it was slowed;
	 * the CPU quota the ladder set is not an exceeded cpu intent */
	call_init(&c, "{}");
	c.end = (struct ac_call_end){ .exited = true, .exit_code = 0 };
	c.end.contain = (struct ac_contain_report){ .frozen = 2, .frozen_ns = 2000000000ULL,
						    .priority = AC_PRIO_NORMAL, .host = true };
	c.u.cpu_nr_throttled = 3;
	build(&c);
	assert_string_equal(status(&c), "ok");
	assert_int_equal(n_entries(&c), 0);
	summary_has(&c, "slowed under memory pressure (normal-priority): throttled 0");
	ct = json_object_get(c.v, "containment");
	assert_false(json_is_true(json_object_get(ct, "killed")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(ct, "domain"), "path")),
			    "host");
	json_decref(c.v);

	/* frozen with swap on: what was pushed out to swap, in the summary
	 * and the containment object */
	c.end.contain.reclaimed = 300 * M;
	c.end.contain.reclaim_ns = 42000000ULL;
	build(&c);
	assert_string_equal(status(&c), "ok");
	summary_has(&c, "frozen 2s, 300M of it pushed out to swap");
	ct = json_object_get(c.v, "containment");
	assert_int_equal(json_integer_value(json_object_get(ct, "reclaimed")), (json_int_t)(300 * M));
	assert_int_equal(json_integer_value(json_object_get(ct, "reclaim_ms")), 42);
	json_decref(c.v);

	/* never contained: no containment object */
	call_init(&c, "{}");
	c.end = (struct ac_call_end){ .exited = true };
	build(&c);
	assert_null(json_object_get(c.v, "containment"));
	json_decref(c.v);
}

static void test_leading_finding(void **state)
{
	struct call c = { 0 };

	/* throttled memory and cpu, then OOM-killed: the kill leads */
	call_init(&c, "{\"memory\": \"64M\", \"memory_max\": \"128M\", \"cpu\": 1}");
	c.u.mem_high = 5;
	c.u.cpu_nr_throttled = 2;
	c.u.mem_oom_kill = 1;
	c.u.memory_peak = 128 * M;
	c.end = (struct ac_call_end){ .exited = false, .term_signal = SIGKILL };
	build(&c);
	assert_int_equal(n_entries(&c), 3);
	assert_true(strncmp(summary(&c), "exceeded memory_max", 19) == 0);
	summary_has(&c, "also exceeded: memory (throttled), cpu (throttled)");
	assert_true(strlen(summary(&c)) < 512);
	json_decref(c.v);
}

static void test_null_inputs(void **state)
{
	struct ac_usage u = { .memory_peak = M, .wall_ns = S };
	struct ac_call_end end = { .exited = true };
	json_t *v = ac_verdict_build(NULL, NULL, &u, &end);

	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "status")), "ok");
	json_decref(v);

	end = (struct ac_call_end){ 0 }; /* neither exited nor signalled */
	v = ac_verdict_build(NULL, NULL, &u, &end);
	assert_int_equal(json_object_size(json_object_get(v, "exit")), 0);
	json_decref(v);
}

static void test_usage_json(void **state)
{
	struct ac_usage u = {
		.memory_peak = 1536, .cpu_user_us = 10, .cpu_system_us = 20, .wall_ns = 5000000,
		.cpu_throttled_us = 7, .cpu_nr_throttled = 2, .mem_high = 3, .mem_max = 4,
		.mem_oom = 5, .mem_oom_kill = 6, .pids_peak = 9, .pids_max_events = 1,
	};
	json_t *j = ac_usage_to_json(&u), *ev;

	assert_non_null(j);
	assert_int_equal(int_of(j, "memory_peak"), 1536);
	assert_string_equal(json_string_value(json_object_get(j, "memory_peak_h")), "1.5K");
	assert_int_equal(int_of(j, "cpu_user_us"), 10);
	assert_int_equal(int_of(j, "cpu_system_us"), 20);
	assert_int_equal(int_of(j, "wall_us"), 5000);
	assert_int_equal(int_of(j, "cpu_throttled_us"), 7);
	assert_int_equal(int_of(j, "cpu_nr_throttled"), 2);
	assert_int_equal(int_of(j, "pids_peak"), 9);
	assert_int_equal(int_of(j, "pids_max_events"), 1);
	ev = json_object_get(j, "memory_events");
	assert_int_equal(int_of(ev, "high"), 3);
	assert_int_equal(int_of(ev, "max"), 4);
	assert_int_equal(int_of(ev, "oom"), 5);
	assert_int_equal(int_of(ev, "oom_kill"), 6);
	assert_int_equal(json_object_size(j), 10);
	json_decref(j);

	u.memory_peak = UINT64_MAX - 1; /* never a negative JSON integer */
	j = ac_usage_to_json(&u);
	assert_true(int_of(j, "memory_peak") > 0);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_failed_exit_code),
		cmocka_unit_test(test_failed_signal),
		cmocka_unit_test(test_memory_max_oom_kill),
		cmocka_unit_test(test_memory_max_sigkill_attributed),
		cmocka_unit_test(test_memory_max_reclaimed),
		cmocka_unit_test(test_oom_without_call_limit),
		cmocka_unit_test(test_memory_high_throttled),
		cmocka_unit_test(test_memory_high_reported_v1),
		cmocka_unit_test(test_cpu_throttled),
		cmocka_unit_test(test_pids_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cpu_time),
		cmocka_unit_test(test_forks),
		cmocka_unit_test(test_memory_stopped_v1),
		cmocka_unit_test(test_oom_victim),
		cmocka_unit_test(test_stopped_by),
		cmocka_unit_test(test_leading_finding),
		cmocka_unit_test(test_containment),
		cmocka_unit_test(test_null_inputs),
		cmocka_unit_test(test_usage_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
