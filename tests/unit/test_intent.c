// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "agentcg/intent.h"
#include "agentcg/units.h"
#include "agentcg/util.h"

#define M (1ULL << 20)
#define G (1ULL << 30)
#define S 1000000000ULL

/* Parses JSON text as an intent. */
static int parse(const char *text, struct ac_intent *in, struct ac_errors *errs)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
	int r;

	if (!j)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	r = ac_intent_from_json(j, in, errs);
	json_decref(j);
	return r;
}

static const char *err_of(const struct ac_errors *errs, const char *field)
{
	for (int i = 0; i < errs->n; i++)
		if (strcmp(errs->e[i].field, field) == 0)
			return errs->e[i].msg;
	return NULL;
}

/* The intent fails with exactly one error, on field, containing want. */
static void bad_one(const char *text, const char *field, const char *want)
{
	struct ac_intent in;
	struct ac_errors errs;
	const char *msg;

	if (parse(text, &in, &errs) != -EINVAL)
		fail_msg("%s should be refused", text);
	if (errs.n != 1)
		fail_msg("%s: %d errors, want 1 (first: %s: %s)", text, errs.n, errs.e[0].field,
			 errs.e[0].msg);
	msg = err_of(&errs, field);
	if (!msg)
		fail_msg("%s: no error on %s (got %s: %s)", text, field, errs.e[0].field,
			 errs.e[0].msg);
	if (!strstr(msg, want))
		fail_msg("%s: message \"%s\" lacks \"%s\"", text, msg, want);
}

static void test_full_intent(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;

	assert_int_equal(parse("{\"memory\": \"512M\", \"memory_max\": \"1G\", \"cpu\": 1.5,"
			       " \"pids\": 64, \"timeout\": \"30s\", \"cpu_time\": \"20s\","
			       " \"priority\": \"high\", \"on_exceed\": \"freeze\","
			       " \"label\": \"pytest\", \"forks\": 500}",
			       &in, &errs),
			 0);
	assert_int_equal(errs.n, 0);
	assert_int_equal(in.set, AC_F_MEMORY | AC_F_MEMORY_MAX | AC_F_CPU | AC_F_PIDS |
					 AC_F_TIMEOUT | AC_F_CPU_TIME | AC_F_PRIORITY |
					 AC_F_ON_EXCEED | AC_F_LABEL | AC_F_FORKS);
	assert_int_equal(in.forks, 500);
	assert_int_equal(in.defaulted, 0);
	assert_int_equal(in.memory, 512 * M);
	assert_int_equal(in.memory_max, G);
	assert_true(in.cpu == 1.5);
	assert_int_equal(in.pids, 64);
	assert_int_equal(in.timeout_ns, 30 * S);
	assert_int_equal(in.cpu_time_ns, 20 * S);
	assert_int_equal(in.priority, AC_PRIO_HIGH);
	assert_int_equal(in.on_exceed, AC_EXCEED_FREEZE);
	assert_string_equal(in.label, "pytest");
}

static void test_empty_intents(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;

	errs.n = 99; /* garbage from the caller is reset */
	assert_int_equal(ac_intent_from_json(NULL, &in, &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_int_equal(in.set, 0);
	assert_int_equal(parse("{}", &in, &errs), 0);
	assert_int_equal(in.set, 0);
	assert_int_equal(parse("null", &in, &errs), 0);
	assert_int_equal(in.set, 0);
	assert_int_equal(ac_intent_from_json(NULL, &in, NULL), 0);
}

static void test_numeric_forms(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;

	assert_int_equal(parse("{\"memory\": 1048576, \"memory_max\": 1073741824,"
			       " \"cpu\": 2, \"timeout\": 1.5, \"cpu_time\": 20}",
			       &in, &errs),
			 0);
	assert_int_equal(in.memory, M);
	assert_int_equal(in.memory_max, G);
	assert_true(in.cpu == 2.0);
	assert_int_equal(in.timeout_ns, 1500000000ULL);
	assert_int_equal(in.cpu_time_ns, 20 * S);
}

static void test_bounds(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;
	char buf[128];

	/* exactly at the limits */
	snprintf(buf, sizeof(buf), "{\"memory\": %llu, \"memory_max\": \"1024T\"}",
		 (unsigned long long)AC_MEMORY_MIN);
	assert_int_equal(parse(buf, &in, &errs), 0);
	assert_int_equal(in.memory, AC_MEMORY_MIN);
	assert_int_equal(in.memory_max, AC_SIZE_LIMIT);
	assert_int_equal(parse("{\"cpu\": 0.01, \"pids\": 1, \"timeout\": \"1ms\"}", &in, &errs), 0);
	assert_int_equal(parse("{\"cpu\": 1024, \"pids\": 4194304, \"timeout\": \"8784h\"}", &in,
			       &errs),
			 0);
	assert_int_equal(in.pids, AC_PIDS_MAX);

	/* one past them */
	snprintf(buf, sizeof(buf), "{\"memory\": %llu}", (unsigned long long)AC_MEMORY_MIN - 1);
	bad_one(buf, "memory", "too small");
	snprintf(buf, sizeof(buf), "{\"memory_max\": %llu}", (unsigned long long)AC_SIZE_LIMIT + 1);
	bad_one(buf, "memory_max", "too large");
	bad_one("{\"memory_max\": \"1025T\"}", "memory_max", "too large");
	bad_one("{\"memory\": \"1023K\"}", "memory", "too small");
	bad_one("{\"memory\": \"0\"}", "memory", "too small");
	bad_one("{\"memory\": 0}", "memory", "too small");
	bad_one("{\"cpu\": 0.009}", "cpu", "out of range");
	bad_one("{\"cpu\": 1024.5}", "cpu", "out of range");
	bad_one("{\"cpu\": 0}", "cpu", "out of range");
	bad_one("{\"cpu\": -1}", "cpu", "out of range");
	bad_one("{\"pids\": 0}", "pids", "out of range");
	bad_one("{\"pids\": 4194305}", "pids", "out of range");
	bad_one("{\"pids\": -5}", "pids", "out of range");
	bad_one("{\"forks\": 0}", "forks", "out of range");
	bad_one("{\"forks\": 1000000001}", "forks", "out of range");
	bad_one("{\"forks\": \"10\"}", "forks", "must be an integer");
	bad_one("{\"retry\": 4}", "retry", "out of range");
	bad_one("{\"retry\": -1}", "retry", "out of range");
	bad_one("{\"retry\": \"yes\"}", "retry", "must be true, false or a number");
	bad_one("{\"timeout\": \"999us\"}", "timeout", "too short");
	bad_one("{\"timeout\": \"0s\"}", "timeout", "too short");
	bad_one("{\"timeout\": \"8785h\"}", "timeout", "too long");
	bad_one("{\"cpu_time\": 0}", "cpu_time", "positive");
	bad_one("{\"cpu_time\": -3}", "cpu_time", "positive");
	bad_one("{\"timeout\": 1e12}", "timeout", "too long");
	bad_one("{\"timeout\": 0.0001}", "timeout", "too short");
}

static void test_bad_values(void **state)
{
	bad_one("{\"memory\": \"12Q\"}", "memory",
		"\"12Q\" is not a size (use bytes or K/M/G/T, e.g. \"512M\")");
	bad_one("{\"memory\": \"\"}", "memory", "is not a size");
	bad_one("{\"memory\": \"-1\"}", "memory", "is not a size");
	bad_one("{\"memory\": \"1.2.3G\"}", "memory", "is not a size");
	bad_one("{\"memory\": \"1e9\"}", "memory", "is not a size");
	bad_one("{\"memory\": \"0x10M\"}", "memory", "is not a size");
	bad_one("{\"memory\": -1}", "memory", "negative");
	bad_one("{\"memory_max\": \"lots\"}", "memory_max", "is not a size");
	bad_one("{\"timeout\": \"30\"}", "timeout", "has no unit");
	bad_one("{\"timeout\": \"1.5\"}", "timeout", "has no unit");
	bad_one("{\"timeout\": \"30 s\"}", "timeout", "is not a duration");
	bad_one("{\"cpu_time\": \"1d\"}", "cpu_time", "is not a duration");
	bad_one("{\"priority\": \"urgent\"}", "priority", "\"urgent\" is not a priority");
	bad_one("{\"priority\": \"HIGH\"}", "priority", "is not a priority");
	bad_one("{\"on_exceed\": \"explode\"}", "on_exceed", "is not an action");
	bad_one("{\"label\": \"a b\"}", "label", "not a valid label");
	bad_one("{\"label\": \".hidden\"}", "label", "not a valid label");
	bad_one("{\"label\": \"\"}", "label", "not a valid label");
	bad_one("{\"label\": \"a/b\"}", "label", "not a valid label");
	bad_one("{\"label\": "
		"\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
		"label", "..."); /* 65 chars, quoted shortened */
}

static void test_wrong_types(void **state)
{
	bad_one("{\"memory\": true}", "memory", "must be a size string");
	bad_one("{\"memory\": 1.5e9}", "memory", "integer number of bytes");
	bad_one("{\"memory_max\": [1]}", "memory_max", "must be a size string");
	bad_one("{\"cpu\": \"2\"}", "cpu", "must be a number");
	bad_one("{\"cpu\": null}", "cpu", "must be a number");
	bad_one("{\"pids\": 64.0}", "pids", "must be an integer");
	bad_one("{\"pids\": \"64\"}", "pids", "must be an integer");
	bad_one("{\"timeout\": {}}", "timeout", "must be a duration string");
	bad_one("{\"cpu_time\": false}", "cpu_time", "must be a duration string");
	bad_one("{\"priority\": 1}", "priority", "must be a string");
	bad_one("{\"on_exceed\": null}", "on_exceed", "must be a string");
	bad_one("{\"label\": 7}", "label", "must be a string");
}

static void test_not_an_object(void **state)
{
	bad_one("[]", "intent", "must be an object");
	bad_one("\"512M\"", "intent", "must be an object");
	bad_one("42", "intent", "must be an object");
	bad_one("true", "intent", "must be an object");
}

static void test_unknown_fields(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;

	bad_one("{\"memroy\": \"512M\"}", "memroy", "unknown field");
	bad_one("{\"Memory\": \"512M\"}", "Memory", "unknown field");
	bad_one("{\"\": 1}", "", "unknown field");
	assert_int_equal(parse("{\"memory\": \"512M\", \"gpu\": 1, \"disk\": \"1G\"}", &in, &errs),
			 -EINVAL);
	assert_int_equal(errs.n, 2);
	assert_non_null(err_of(&errs, "gpu"));
	assert_non_null(err_of(&errs, "disk"));
	assert_true(in.set & AC_F_MEMORY); /* good fields are still parsed */
}

static void test_memory_above_max(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;

	bad_one("{\"memory\": \"1G\", \"memory_max\": \"512M\"}", "memory_max", "below memory");
	assert_int_equal(parse("{\"memory\": \"1G\", \"memory_max\": \"1G\"}", &in, &errs), 0);
	/* a bad memory does not also blame memory_max */
	bad_one("{\"memory\": \"lots\", \"memory_max\": \"512M\"}", "memory", "is not a size");
}

static void test_all_errors_collected(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;

	assert_int_equal(parse("{\"memory\": \"12Q\", \"memory_max\": true, \"cpu\": 0,"
			       " \"pids\": 0, \"timeout\": \"30\", \"cpu_time\": \"x\","
			       " \"priority\": \"p\", \"on_exceed\": \"e\", \"label\": \"a b\","
			       " \"bogus\": 1}",
			       &in, &errs),
			 -EINVAL);
	assert_int_equal(errs.n, 10);
	static const char *const fields[] = { "memory", "memory_max", "cpu", "pids", "timeout",
					      "cpu_time", "priority", "on_exceed", "label", "bogus" };
	for (size_t i = 0; i < AC_ARRAY_SIZE(fields); i++)
		if (!err_of(&errs, fields[i]))
			fail_msg("no error on %s", fields[i]);
	assert_int_equal(in.set, 0);
}

static void test_errors_overflow(void **state)
{
	struct ac_errors errs = { 0 };
	json_t *j;

	for (int i = 0; i < AC_ERRORS_MAX + 5; i++)
		ac_errors_add(&errs, "f", "error %d", i);
	assert_int_equal(errs.n, AC_ERRORS_MAX);
	assert_string_equal(errs.e[AC_ERRORS_MAX - 1].msg, "error 15");

	/* long field names and messages are truncated, not overflowed */
	errs.n = 0;
	ac_errors_add(&errs, "a-very-long-field-name-that-does-not-fit-anywhere", "%0200d", 1);
	assert_int_equal(errs.n, 1);
	assert_int_equal(strlen(errs.e[0].field), sizeof(errs.e[0].field) - 1);
	assert_int_equal(strlen(errs.e[0].msg), sizeof(errs.e[0].msg) - 1);

	errs.n = 0;
	ac_errors_add(&errs, "memory", "bad %s", "size");
	ac_errors_add(&errs, "cpu", "bad");
	j = ac_errors_to_json(&errs);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(j, "memory")), "bad size");
	json_decref(j);
	ac_errors_add(NULL, "x", "y"); /* ignored */
}

static const struct ac_intent_defaults defs = {
	.memory = 512 * M,
	.memory_max_factor = 1.5,
	.cpu = 0,
	.pids = 512,
	.timeout_ns = 600 * S,
	.priority = AC_PRIO_NORMAL,
	.on_exceed = AC_EXCEED_KILL,
};

static void test_defaults_empty(void **state)
{
	struct ac_intent in = { 0 };

	ac_intent_apply_defaults(&in, &defs);
	assert_int_equal(in.memory, 512 * M);
	assert_int_equal(in.memory_max, 768 * M);
	assert_int_equal(in.pids, 512);
	assert_int_equal(in.timeout_ns, 600 * S);
	assert_int_equal(in.priority, AC_PRIO_NORMAL);
	assert_int_equal(in.on_exceed, AC_EXCEED_KILL);
	assert_false(in.set & AC_F_CPU); /* defs->cpu 0: unlimited, not set */
	assert_false(in.set & AC_F_CPU_TIME);
	assert_false(in.set & AC_F_LABEL);
	assert_int_equal(in.defaulted, AC_F_MEMORY | AC_F_MEMORY_MAX | AC_F_PIDS | AC_F_TIMEOUT |
					       AC_F_PRIORITY | AC_F_ON_EXCEED);
	assert_int_equal(in.set, in.defaulted);
}

static void test_defaults_keep_given(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;
	struct ac_intent_defaults d = defs;

	assert_int_equal(parse("{\"memory\": \"1G\", \"pids\": 8, \"priority\": \"low\"}", &in,
			       &errs),
			 0);
	d.cpu = 2;
	ac_intent_apply_defaults(&in, &d);
	assert_int_equal(in.memory, G);
	assert_int_equal(in.memory_max, G + G / 2); /* from the given memory */
	assert_int_equal(in.pids, 8);
	assert_int_equal(in.priority, AC_PRIO_LOW);
	assert_true(in.cpu == 2.0);
	assert_int_equal(in.defaulted, AC_F_MEMORY_MAX | AC_F_CPU | AC_F_TIMEOUT | AC_F_ON_EXCEED);
}

static void test_defaults_factor(void **state)
{
	struct ac_intent in = { 0 };
	struct ac_intent_defaults d = defs;

	d.memory_max_factor = 0.5; /* below 1: counts as 1 */
	ac_intent_apply_defaults(&in, &d);
	assert_int_equal(in.memory_max, in.memory);

	in = (struct ac_intent){ 0 };
	d.memory_max_factor = 0; /* unset */
	ac_intent_apply_defaults(&in, &d);
	assert_int_equal(in.memory_max, 512 * M);

	in = (struct ac_intent){ .set = AC_F_MEMORY, .memory = AC_SIZE_LIMIT };
	d.memory_max_factor = 4; /* capped at the size limit, never below memory */
	ac_intent_apply_defaults(&in, &d);
	assert_int_equal(in.memory_max, AC_SIZE_LIMIT);

	/* no memory at all: memory_max stays unset */
	in = (struct ac_intent){ 0 };
	d.memory = 0;
	ac_intent_apply_defaults(&in, &d);
	assert_false(in.set & (AC_F_MEMORY | AC_F_MEMORY_MAX));
}

static void test_defaults_memory_under_explicit_max(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;

	assert_int_equal(parse("{\"memory_max\": \"256M\"}", &in, &errs), 0);
	ac_intent_apply_defaults(&in, &defs);
	assert_int_equal(in.memory_max, 256 * M);
	assert_int_equal(in.memory, 256 * M); /* default 512M capped at the max */
	assert_true(in.defaulted & AC_F_MEMORY);
	assert_false(in.defaulted & AC_F_MEMORY_MAX);
}

static void test_limits(void **state)
{
	struct ac_intent in = { 0 };
	struct ac_limits l;

	ac_intent_to_limits(&in, &l);
	assert_true(l.memory_high == AC_UNLIMITED);
	assert_true(l.memory_max == AC_UNLIMITED);
	assert_true(l.cpu_quota_us == AC_UNLIMITED);
	assert_int_equal(l.cpu_period_us, AC_CPU_PERIOD_US);
	assert_true(l.pids_max == AC_UNLIMITED);

	in = (struct ac_intent){ .set = AC_F_MEMORY | AC_F_MEMORY_MAX | AC_F_CPU | AC_F_PIDS,
				 .memory = 512 * M, .memory_max = G, .cpu = 1.5, .pids = 64 };
	ac_intent_to_limits(&in, &l);
	assert_int_equal(l.memory_high, 512 * M);
	assert_int_equal(l.memory_max, G);
	assert_int_equal(l.cpu_quota_us, 150000);
	assert_int_equal(l.cpu_period_us, 100000);
	assert_int_equal(l.pids_max, 64);

	in.cpu = 1.1; /* 1.1 * 100000 is 110000.00000000001 in doubles */
	ac_intent_to_limits(&in, &l);
	assert_int_equal(l.cpu_quota_us, 110000);
	in.cpu = 0.07; /* 7000.000000000001 */
	ac_intent_to_limits(&in, &l);
	assert_int_equal(l.cpu_quota_us, 7000);
	in.cpu = 2.3; /* 229999.99999999997 */
	ac_intent_to_limits(&in, &l);
	assert_int_equal(l.cpu_quota_us, 230000);
	in.cpu = 0.333333;
	ac_intent_to_limits(&in, &l);
	assert_int_equal(l.cpu_quota_us, 33334); /* rounded up */
	in.cpu = 0.01;
	ac_intent_to_limits(&in, &l);
	assert_int_equal(l.cpu_quota_us, 1000); /* the floor */
	in.cpu = 0.001;
	ac_intent_to_limits(&in, &l);
	assert_int_equal(l.cpu_quota_us, 1000);
	in.cpu = 1024;
	ac_intent_to_limits(&in, &l);
	assert_int_equal(l.cpu_quota_us, 102400000);

	ac_limits_unlimited(&l);
	assert_true(l.memory_max == AC_UNLIMITED && l.pids_max == AC_UNLIMITED);
}

static void test_to_json(void **state)
{
	struct ac_intent in;
	struct ac_errors errs;
	json_t *j, *a;

	assert_int_equal(parse("{\"memory\": 536870912, \"cpu\": 1.5, \"timeout\": 90,"
			       " \"cpu_time\": \"1.5s\", \"label\": \"pytest\", \"on_exceed\": \"report\"}",
			       &in, &errs),
			 0);
	ac_intent_apply_defaults(&in, &defs);
	j = ac_intent_to_json(&in);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "memory")), "512M");
	assert_string_equal(json_string_value(json_object_get(j, "memory_max")), "768M");
	assert_true(json_real_value(json_object_get(j, "cpu")) == 1.5);
	assert_int_equal(json_integer_value(json_object_get(j, "pids")), 512);
	assert_string_equal(json_string_value(json_object_get(j, "timeout")), "1m30s");
	assert_string_equal(json_string_value(json_object_get(j, "cpu_time")), "1.5s");
	assert_string_equal(json_string_value(json_object_get(j, "priority")), "normal");
	assert_string_equal(json_string_value(json_object_get(j, "on_exceed")), "report");
	assert_string_equal(json_string_value(json_object_get(j, "label")), "pytest");
	a = json_object_get(j, "assumed");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "memory_max");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "pids");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "priority");
	json_decref(j);

	/* empty intent: only "assumed" */
	in = (struct ac_intent){ 0 };
	j = ac_intent_to_json(&in);
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_array_size(json_object_get(j, "assumed")), 0);
	json_decref(j);
}

/* to_json output parses back to the same intent, even for odd values. */
static void test_json_round_trip(void **state)
{
	static const char *const texts[] = {
		"{\"memory\": \"512M\", \"memory_max\": \"1G\", \"cpu\": 0.5, \"pids\": 3,"
		" \"timeout\": \"250ms\", \"cpu_time\": \"2h\", \"priority\": \"low\","
		" \"on_exceed\": \"freeze\", \"label\": \"x\", \"forks\": 7}",
		"{\"memory\": 13512704, \"memory_max\": 1000000007, \"timeout\": 1.000000123}",
		"{\"memory\": \"1.5G\", \"cpu_time\": \"1h0m1.001s\"}",
	};

	for (size_t i = 0; i < AC_ARRAY_SIZE(texts); i++) {
		struct ac_intent a, b;
		struct ac_errors errs;
		json_t *j;

		if (parse(texts[i], &a, &errs) < 0)
			fail_msg("%s: %s: %s", texts[i], errs.e[0].field, errs.e[0].msg);
		j = ac_intent_to_json(&a);
		json_object_del(j, "assumed");
		assert_int_equal(ac_intent_from_json(j, &b, &errs), 0);
		json_decref(j);
		assert_int_equal(a.set, b.set);
		assert_int_equal(a.memory, b.memory);
		assert_int_equal(a.memory_max, b.memory_max);
		assert_true(a.cpu == b.cpu);
		assert_int_equal(a.pids, b.pids);
		assert_int_equal(a.forks, b.forks);
		assert_int_equal(a.timeout_ns, b.timeout_ns);
		assert_int_equal(a.cpu_time_ns, b.cpu_time_ns);
		assert_int_equal(a.priority, b.priority);
		assert_int_equal(a.on_exceed, b.on_exceed);
		assert_string_equal(a.label, b.label);
	}
}

static void test_retry(void **state)
{
	struct ac_intent in;
	json_t *o;

	assert_int_equal(parse("{\"retry\": true}", &in, NULL), 0);
	assert_int_equal(in.retry, 1);
	assert_true(in.set & AC_F_RETRY);
	assert_int_equal(parse("{\"retry\": false}", &in, NULL), 0);
	assert_int_equal(in.retry, 0);
	assert_int_equal(parse("{\"retry\": 3}", &in, NULL), 0);
	assert_int_equal(in.retry, 3);
	o = ac_intent_to_json(&in);
	assert_int_equal(json_integer_value(json_object_get(o, "retry")), 3);
	json_decref(o);
}

/* memory_hint: a size or a class the policy sizes; never a limit. */
static void test_memory_hint(void **state)
{
	struct ac_intent_defaults hdefs = { .memory_hints = { 100 << 20, 200 << 20, 0 } };
	struct ac_intent in;
	struct ac_limits lim;
	json_t *o;

	assert_int_equal(parse("{\"memory_hint\": \"300M\"}", &in, NULL), 0);
	assert_true(in.set & AC_F_MEMORY_HINT);
	assert_int_equal(in.hint_class, AC_HINT_SIZE);
	assert_int_equal(in.memory_hint, 300ULL << 20);
	ac_intent_apply_defaults(&in, &hdefs);
	assert_int_equal(in.memory_hint, 300ULL << 20);
	ac_intent_to_limits(&in, &lim);
	assert_int_equal(lim.memory_high, AC_UNLIMITED);
	assert_int_equal(lim.memory_max, AC_UNLIMITED);

	assert_int_equal(parse("{\"memory_hint\": \"medium\"}", &in, NULL), 0);
	assert_int_equal(in.hint_class, AC_HINT_MEDIUM);
	ac_intent_apply_defaults(&in, &hdefs);
	assert_int_equal(in.memory_hint, 200ULL << 20);
	o = ac_intent_to_json(&in);
	/* shown as given, so that it parses back as itself */
	assert_string_equal(json_string_value(json_object_get(o, "memory_hint")), "medium");
	json_decref(o);

	/* a class the policy gives no size to forecasts nothing */
	assert_int_equal(parse("{\"memory_hint\": \"high\"}", &in, NULL), 0);
	ac_intent_apply_defaults(&in, &hdefs);
	assert_int_equal(in.memory_hint, 0);

	assert_int_equal(parse("{\"memory_hint\": 1048576}", &in, NULL), 0);
	assert_int_equal(in.memory_hint, 1048576);
	o = ac_intent_to_json(&in);
	assert_string_equal(json_string_value(json_object_get(o, "memory_hint")), "1M");
	json_decref(o);
	bad_one("{\"memory_hint\": \"huge\"}", "memory_hint", "not a size");
	bad_one("{\"memory_hint\": true}", "memory_hint", "must be a size");
	bad_one("{\"memory_hint\": -5}", "memory_hint", "negative");
	assert_string_equal(ac_hint_class_name(AC_HINT_LOW), "low");
	assert_null(ac_hint_class_name(AC_HINT_SIZE));
}

static void test_names(void **state)
{
	enum ac_priority p;
	enum ac_on_exceed e;

	assert_string_equal(ac_priority_name(AC_PRIO_LOW), "low");
	assert_string_equal(ac_priority_name(AC_PRIO_NORMAL), "normal");
	assert_string_equal(ac_priority_name(AC_PRIO_HIGH), "high");
	assert_string_equal(ac_on_exceed_name(AC_EXCEED_KILL), "kill");
	assert_string_equal(ac_on_exceed_name(AC_EXCEED_FREEZE), "freeze");
	assert_string_equal(ac_on_exceed_name(AC_EXCEED_REPORT), "report");
	assert_int_equal(ac_priority_parse("high", &p), 0);
	assert_int_equal(p, AC_PRIO_HIGH);
	assert_int_equal(ac_priority_parse("low", &p), 0);
	assert_int_equal(p, AC_PRIO_LOW);
	assert_int_equal(ac_priority_parse("High", &p), -EINVAL);
	assert_int_equal(ac_priority_parse("", &p), -EINVAL);
	assert_int_equal(ac_priority_parse(NULL, &p), -EINVAL);
	assert_int_equal(ac_on_exceed_parse("freeze", &e), 0);
	assert_int_equal(e, AC_EXCEED_FREEZE);
	assert_int_equal(ac_on_exceed_parse("report", &e), 0);
	assert_int_equal(e, AC_EXCEED_REPORT);
	assert_int_equal(ac_on_exceed_parse("kill ", &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_intent),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_memory_hint),
		cmocka_unit_test(test_empty_intents),
		cmocka_unit_test(test_numeric_forms),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_unknown_fields),
		cmocka_unit_test(test_memory_above_max),
		cmocka_unit_test(test_all_errors_collected),
		cmocka_unit_test(test_errors_overflow),
		cmocka_unit_test(test_defaults_empty),
		cmocka_unit_test(test_defaults_keep_given),
		cmocka_unit_test(test_defaults_factor),
		cmocka_unit_test(test_defaults_memory_under_explicit_max),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
