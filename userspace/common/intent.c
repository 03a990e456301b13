// SPDX-License-Identifier: GPL-2.0
/* Intents: validation (one clear error per bad field), defaults from
 * policy, mapping to cgroup limits, and rendering back to JSON. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agentcg/intent.h"
#include "agentcg/units.h"
#include "agentcg/util.h"

#define SHOWN_VALUE_MAX 40 /* characters of a bad value quoted in a message */
#define HUMAN_MAX 32

/* Cuts s before a UTF-8 sequence its end splits (a cut value or message
 * must stay valid UTF-8, or jansson refuses it and the error is lost). */
static void utf8_trim_tail(char *s)
{
	size_t len = strlen(s), i = len;
	int k = 0;
	unsigned char lead;
	size_t need;

	while (i > 0 && k < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		k++;
	}
	if (i == 0 || !((lead = (unsigned char)s[i - 1]) & 0x80))
		return;
	need = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 1;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

void ac_errors_add(struct ac_errors *errs, const char *field, const char *fmt, ...)
{
	struct ac_field_error *e;
	va_list ap;

	if (!errs || errs->n < 0 || errs->n >= AC_ERRORS_MAX)
		return;
	e = &errs->e[errs->n++];
	ac_strlcpy(e->field, field ? field : "", sizeof(e->field));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	utf8_trim_tail(e->field);
	utf8_trim_tail(e->msg);
}

json_t *ac_errors_to_json(const struct ac_errors *errs)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (int i = 0; errs && i < errs->n && i < AC_ERRORS_MAX; i++)
		json_object_set_new(o, errs->e[i].field, json_string(errs->e[i].msg));
	return o;
}

static const char *const priority_names[] = {
	[AC_PRIO_NORMAL] = "normal",
	[AC_PRIO_LOW] = "low",
	[AC_PRIO_HIGH] = "high",
};

static const char *const on_exceed_names[] = {
	[AC_EXCEED_KILL] = "kill",
	[AC_EXCEED_FREEZE] = "freeze",
	[AC_EXCEED_REPORT] = "report",
};

const char *ac_priority_name(enum ac_priority p)
{
	return (unsigned)p < AC_ARRAY_SIZE(priority_names) ? priority_names[p] : "normal";
}

int ac_priority_parse(const char *s, enum ac_priority *out)
{
	for (size_t i = 0; s && i < AC_ARRAY_SIZE(priority_names); i++)
		if (strcmp(s, priority_names[i]) == 0) {
			*out = (enum ac_priority)i;
			return 0;
		}
	return -EINVAL;
}

const char *ac_on_exceed_name(enum ac_on_exceed e)
{
	return (unsigned)e < AC_ARRAY_SIZE(on_exceed_names) ? on_exceed_names[e] : "kill";
}

int ac_on_exceed_parse(const char *s, enum ac_on_exceed *out)
{
	for (size_t i = 0; s && i < AC_ARRAY_SIZE(on_exceed_names); i++)
		if (strcmp(s, on_exceed_names[i]) == 0) {
			*out = (enum ac_on_exceed)i;
			return 0;
		}
	return -EINVAL;
}

static const char *const hint_class_names[] = {
	[AC_HINT_LOW] = "low",
	[AC_HINT_MEDIUM] = "medium",
	[AC_HINT_HIGH] = "high",
};

const char *ac_hint_class_name(enum ac_hint_class h)
{
	return h > AC_HINT_SIZE && (unsigned)h < AC_ARRAY_SIZE(hint_class_names) ?
		       hint_class_names[h] : NULL;
}

int ac_hint_class_parse(const char *s, enum ac_hint_class *out)
{
	for (size_t i = AC_HINT_LOW; s && i < AC_ARRAY_SIZE(hint_class_names); i++)
		if (strcmp(s, hint_class_names[i]) == 0) {
			*out = (enum ac_hint_class)i;
			return 0;
		}
	return -EINVAL;
}

/* A bad value as it is quoted back in a message, cut to a sane length. */
static const char *shown(const char *s, char *buf, size_t len)
{
	if (strlen(s) <= SHOWN_VALUE_MAX)
		return s;
	int n = SHOWN_VALUE_MAX;

	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* not inside a character */
		n--;
	snprintf(buf, len, "%.*s...", n, s);
	return buf;
}

/* A size field: a string with a suffix, or an integer of bytes; within
 * AC_MEMORY_MIN..AC_SIZE_LIMIT. */
static int parse_size_field(const json_t *v, const char *field, uint64_t *out,
			    struct ac_errors *errs)
{
	char buf[SHOWN_VALUE_MAX + 4], lim[HUMAN_MAX];
	uint64_t bytes;
	int r;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		r = ac_parse_size(s, &bytes);
		if (r == -ERANGE) {
			ac_format_size(AC_SIZE_LIMIT, lim, sizeof(lim));
			ac_errors_add(errs, field, "\"%s\" is too large (at most %s)",
				      shown(s, buf, sizeof(buf)), lim);
			return r;
		}
		if (r < 0) {
			ac_errors_add(errs, field,
				      "\"%s\" is not a size (use bytes or K/M/G/T, e.g. \"512M\")",
				      shown(s, buf, sizeof(buf)));
			return r;
		}
	} else if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0) {
			ac_errors_add(errs, field, "%lld is negative (use bytes or e.g. \"512M\")",
				      (long long)i);
			return -EINVAL;
		}
		bytes = (uint64_t)i;
		if (bytes > AC_SIZE_LIMIT) {
			ac_format_size(AC_SIZE_LIMIT, lim, sizeof(lim));
			ac_errors_add(errs, field, "%llu bytes is too large (at most %s)",
				      (unsigned long long)bytes, lim);
			return -ERANGE;
		}
	} else {
		ac_errors_add(errs, field,
			      "must be a size string (e.g. \"512M\") or an integer number of bytes");
		return -EINVAL;
	}
	if (bytes < AC_MEMORY_MIN) {
		ac_format_size(bytes, buf, sizeof(buf));
		ac_format_size(AC_MEMORY_MIN, lim, sizeof(lim));
		ac_errors_add(errs, field, "%s is too small (at least %s)", buf, lim);
		return -ERANGE;
	}
	*out = bytes;
	return 0;
}

/* True if s looks like a number that lacks its unit ("30", "1.5"). */
static bool is_bare_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return false;
	return true;
}

/* A duration field: a string with a unit, or a number of seconds > 0;
 * within AC_TIMEOUT_MIN_NS..AC_DURATION_LIMIT_NS. */
static int parse_duration_field(const json_t *v, const char *field, uint64_t *out,
				struct ac_errors *errs)
{
	char buf[SHOWN_VALUE_MAX + 4];
	uint64_t ns;
	int r;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		r = ac_parse_duration(s, &ns);
		if (r == -ERANGE) {
			ac_errors_add(errs, field, "\"%s\" is too long (at most 366 days)",
				      shown(s, buf, sizeof(buf)));
			return r;
		}
		if (r < 0 && is_bare_number(s)) {
			ac_errors_add(errs, field, "\"%s\" has no unit (use ms, s, m or h, e.g. \"30s\")",
				      shown(s, buf, sizeof(buf)));
			return r;
		}
		if (r < 0) {
			ac_errors_add(errs, field,
				      "\"%s\" is not a duration (use ms, s, m or h, e.g. \"30s\")",
				      shown(s, buf, sizeof(buf)));
			return r;
		}
	} else if (json_is_number(v)) {
		double secs = json_number_value(v);

		if (!(secs > 0)) {
			ac_errors_add(errs, field, "must be positive (seconds, or e.g. \"30s\")");
			return -EINVAL;
		}
		if (secs > (double)AC_DURATION_LIMIT_NS / 1e9) {
			ac_errors_add(errs, field, "%g seconds is too long (at most 366 days)", secs);
			return -ERANGE;
		}
		ns = (uint64_t)(secs * 1e9);
	} else {
		ac_errors_add(errs, field,
			      "must be a duration string (e.g. \"30s\") or a number of seconds");
		return -EINVAL;
	}
	if (ns < AC_TIMEOUT_MIN_NS) {
		ac_errors_add(errs, field, "is too short (at least 1ms)");
		return -ERANGE;
	}
	*out = ns;
	return 0;
}

static int parse_cpu_field(const json_t *v, double *out, struct ac_errors *errs)
{
	double cpu;

	if (!json_is_number(v)) {
		ac_errors_add(errs, "cpu", "must be a number of cores (e.g. 1.5)");
		return -EINVAL;
	}
	cpu = json_number_value(v);
	if (!(cpu >= AC_CPU_MIN && cpu <= AC_CPU_MAX)) {
		ac_errors_add(errs, "cpu", "%g is out of range (%g to %g cores)", cpu, AC_CPU_MIN,
			      AC_CPU_MAX);
		return -ERANGE;
	}
	*out = cpu;
	return 0;
}

/* pids and forks: a count of processes from 1 to max. */
static int parse_count_field(const json_t *v, const char *key, uint32_t max, uint32_t *out,
			     struct ac_errors *errs)
{
	json_int_t n;

	if (!json_is_integer(v)) {
		ac_errors_add(errs, key, "must be an integer number of processes (e.g. 64)");
		return -EINVAL;
	}
	n = json_integer_value(v);
	if (n < 1 || n > (json_int_t)max) {
		ac_errors_add(errs, key, "%lld is out of range (1 to %u)", (long long)n, max);
		return -ERANGE;
	}
	*out = (uint32_t)n;
	return 0;
}

/* retry: true (once), false, or 0..AC_RETRY_MAX. */
static int parse_retry_field(const json_t *v, uint32_t *out, struct ac_errors *errs)
{
	json_int_t n;

	if (json_is_boolean(v)) {
		*out = json_is_true(v) ? 1 : 0;
		return 0;
	}
	if (!json_is_integer(v)) {
		ac_errors_add(errs, "retry",
			      "must be true, false or a number of runs again (0 to %u) for a command "
			      "that may be repeated if memory pressure kills it", AC_RETRY_MAX);
		return -EINVAL;
	}
	n = json_integer_value(v);
	if (n < 0 || n > (json_int_t)AC_RETRY_MAX) {
		ac_errors_add(errs, "retry", "%lld is out of range (0 to %u)", (long long)n,
			      AC_RETRY_MAX);
		return -ERANGE;
	}
	*out = (uint32_t)n;
	return 0;
}

/* memory_hint: a size, or "low", "medium" or "high" (sized by policy). */
static int parse_hint_field(const json_t *v, struct ac_intent *in, struct ac_errors *errs)
{
	if (json_is_string(v) && ac_hint_class_parse(json_string_value(v), &in->hint_class) == 0) {
		in->memory_hint = 0;
		return 0;
	}
	in->hint_class = AC_HINT_SIZE;
	if (!json_is_string(v) && !json_is_integer(v)) {
		ac_errors_add(errs, "memory_hint",
			      "must be a size (e.g. \"300M\") or \"low\", \"medium\" or \"high\"");
		return -EINVAL;
	}
	return parse_size_field(v, "memory_hint", &in->memory_hint, errs);
}

static int parse_priority_field(const json_t *v, enum ac_priority *out, struct ac_errors *errs)
{
	char buf[SHOWN_VALUE_MAX + 4];

	if (!json_is_string(v)) {
		ac_errors_add(errs, "priority", "must be a string: \"low\", \"normal\" or \"high\"");
		return -EINVAL;
	}
	if (ac_priority_parse(json_string_value(v), out) < 0) {
		ac_errors_add(errs, "priority",
			      "\"%s\" is not a priority (use \"low\", \"normal\" or \"high\")",
			      shown(json_string_value(v), buf, sizeof(buf)));
		return -EINVAL;
	}
	return 0;
}

static int parse_on_exceed_field(const json_t *v, enum ac_on_exceed *out, struct ac_errors *errs)
{
	char buf[SHOWN_VALUE_MAX + 4];

	if (!json_is_string(v)) {
		ac_errors_add(errs, "on_exceed", "must be a string: \"kill\", \"freeze\" or \"report\"");
		return -EINVAL;
	}
	if (ac_on_exceed_parse(json_string_value(v), out) < 0) {
		ac_errors_add(errs, "on_exceed",
			      "\"%s\" is not an action (use \"kill\", \"freeze\" or \"report\")",
			      shown(json_string_value(v), buf, sizeof(buf)));
		return -EINVAL;
	}
	return 0;
}

static int parse_label_field(const json_t *v, char *out, size_t len, struct ac_errors *errs)
{
	char buf[SHOWN_VALUE_MAX + 4];

	if (!json_is_string(v)) {
		ac_errors_add(errs, "label", "must be a string (e.g. \"pytest\")");
		return -EINVAL;
	}
	if (!ac_name_valid(json_string_value(v))) {
		ac_errors_add(errs, "label",
			      "\"%s\" is not a valid label (1-64 of A-Z a-z 0-9 _ . -, not starting with '.')",
			      shown(json_string_value(v), buf, sizeof(buf)));
		return -EINVAL;
	}
	ac_strlcpy(out, json_string_value(v), len);
	return 0;
}

/* Parses one known field; returns -ENOENT for an unknown key. */
static int parse_field(const char *key, const json_t *v, struct ac_intent *in,
		       struct ac_errors *errs)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} fields[] = {
		{ "memory", AC_F_MEMORY },     { "memory_max", AC_F_MEMORY_MAX },
		{ "cpu", AC_F_CPU },	       { "pids", AC_F_PIDS },
		{ "timeout", AC_F_TIMEOUT },   { "cpu_time", AC_F_CPU_TIME },
		{ "forks", AC_F_FORKS },       { "priority", AC_F_PRIORITY },
		{ "on_exceed", AC_F_ON_EXCEED }, { "label", AC_F_LABEL },
		{ "retry", AC_F_RETRY },       { "memory_hint", AC_F_MEMORY_HINT },
	};
	uint32_t bit = 0;
	int r;

	for (size_t i = 0; i < AC_ARRAY_SIZE(fields) && !bit; i++)
		if (strcmp(key, fields[i].name) == 0)
			bit = fields[i].bit;
	switch (bit) {
	case AC_F_MEMORY:
		r = parse_size_field(v, key, &in->memory, errs);
		break;
	case AC_F_MEMORY_MAX:
		r = parse_size_field(v, key, &in->memory_max, errs);
		break;
	case AC_F_CPU:
		r = parse_cpu_field(v, &in->cpu, errs);
		break;
	case AC_F_PIDS:
		r = parse_count_field(v, key, AC_PIDS_MAX, &in->pids, errs);
		break;
	case AC_F_FORKS:
		r = parse_count_field(v, key, AC_FORKS_MAX, &in->forks, errs);
		break;
	case AC_F_TIMEOUT:
		r = parse_duration_field(v, key, &in->timeout_ns, errs);
		break;
	case AC_F_CPU_TIME:
		r = parse_duration_field(v, key, &in->cpu_time_ns, errs);
		break;
	case AC_F_PRIORITY:
		r = parse_priority_field(v, &in->priority, errs);
		break;
	case AC_F_ON_EXCEED:
		r = parse_on_exceed_field(v, &in->on_exceed, errs);
		break;
	case AC_F_LABEL:
		r = parse_label_field(v, in->label, sizeof(in->label), errs);
		break;
	case AC_F_RETRY:
		r = parse_retry_field(v, &in->retry, errs);
		break;
	case AC_F_MEMORY_HINT:
		r = parse_hint_field(v, in, errs);
		break;
	default:
		return -ENOENT;
	}
	if (r == 0)
		in->set |= bit;
	return r;
}

int ac_intent_from_json(const json_t *obj, struct ac_intent *out, struct ac_errors *errs)
{
	struct ac_errors local = { 0 };
	const char *key;
	json_t *v;
	bool bad = false;

	if (!errs)
		errs = &local;
	errs->n = 0;
	*out = (struct ac_intent){ 0 };
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj)) {
		ac_errors_add(errs, "intent",
			      "must be an object (e.g. {\"memory\": \"512M\", \"timeout\": \"30s\"})");
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		int r = parse_field(key, v, out, errs);

		if (r == -ENOENT)
			ac_errors_add(errs, key,
				      "unknown field (known: memory, memory_max, cpu, pids, timeout, "
				      "cpu_time, forks, priority, on_exceed, label, retry, memory_hint)");
		if (r < 0)
			bad = true;
	}
	if ((out->set & AC_F_MEMORY) && (out->set & AC_F_MEMORY_MAX) &&
	    out->memory > out->memory_max) {
		char mem[HUMAN_MAX], max[HUMAN_MAX];

		ac_format_size(out->memory, mem, sizeof(mem));
		ac_format_size(out->memory_max, max, sizeof(max));
		ac_errors_add(errs, "memory_max", "%s is below memory (%s): memory_max must be >= memory",
			      max, mem);
		out->set &= ~(uint32_t)AC_F_MEMORY_MAX;
		bad = true;
	}
	return bad ? -EINVAL : 0;
}

void ac_intent_apply_defaults(struct ac_intent *in, const struct ac_intent_defaults *defs)
{
	uint32_t was = in->set;

	if (!(was & AC_F_MEMORY) && defs->memory) {
		in->memory = defs->memory;
		/* an explicit memory_max caps the assumed memory */
		if ((was & AC_F_MEMORY_MAX) && in->memory > in->memory_max)
			in->memory = in->memory_max;
		in->set |= AC_F_MEMORY;
		in->defaulted |= AC_F_MEMORY;
	}
	if (!(was & AC_F_MEMORY_MAX) && (in->set & AC_F_MEMORY)) {
		double factor = defs->memory_max_factor >= 1.0 ? defs->memory_max_factor : 1.0;
		double want = factor * (double)in->memory;
		uint64_t max = want >= (double)AC_SIZE_LIMIT ? AC_SIZE_LIMIT : (uint64_t)want;

		in->memory_max = max > in->memory ? max : in->memory;
		in->set |= AC_F_MEMORY_MAX;
		in->defaulted |= AC_F_MEMORY_MAX;
	}
	if (!(was & AC_F_CPU) && defs->cpu > 0) {
		in->cpu = defs->cpu;
		in->set |= AC_F_CPU;
		in->defaulted |= AC_F_CPU;
	}
	if (!(was & AC_F_PIDS) && defs->pids) {
		in->pids = defs->pids;
		in->set |= AC_F_PIDS;
		in->defaulted |= AC_F_PIDS;
	}
	if (!(was & AC_F_TIMEOUT) && defs->timeout_ns) {
		in->timeout_ns = defs->timeout_ns;
		in->set |= AC_F_TIMEOUT;
		in->defaulted |= AC_F_TIMEOUT;
	}
	if (!(was & AC_F_PRIORITY)) {
		in->priority = defs->priority;
		in->set |= AC_F_PRIORITY;
		in->defaulted |= AC_F_PRIORITY;
	}
	if (!(was & AC_F_ON_EXCEED)) {
		in->on_exceed = defs->on_exceed;
		in->set |= AC_F_ON_EXCEED;
		in->defaulted |= AC_F_ON_EXCEED;
	}
	if ((was & AC_F_MEMORY_HINT) && in->hint_class != AC_HINT_SIZE)
		in->memory_hint = defs->memory_hints[in->hint_class - AC_HINT_LOW];
}

/* A size as a human string that parses back to exactly the same value
 * ("512M"), else as a plain byte count string ("1000000007"). */
static json_t *size_json(uint64_t bytes)
{
	char buf[HUMAN_MAX];
	uint64_t back;

	if (bytes == AC_UNLIMITED)
		return json_string("max");
	ac_format_size(bytes, buf, sizeof(buf));
	if (ac_parse_size(buf, &back) < 0 || back != bytes)
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)bytes);
	return json_string(buf);
}

/* Same for durations ("30s", else "1000000007ns"). */
static json_t *duration_json(uint64_t ns)
{
	char buf[HUMAN_MAX];
	uint64_t back;

	ac_format_duration(ns, buf, sizeof(buf));
	if (ac_parse_duration(buf, &back) < 0 || back != ns)
		snprintf(buf, sizeof(buf), "%lluns", (unsigned long long)ns);
	return json_string(buf);
}

json_t *ac_intent_to_json(const struct ac_intent *in)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} order[] = {
		{ "memory", AC_F_MEMORY },     { "memory_max", AC_F_MEMORY_MAX },
		{ "cpu", AC_F_CPU },	       { "pids", AC_F_PIDS },
		{ "timeout", AC_F_TIMEOUT },   { "cpu_time", AC_F_CPU_TIME },
		{ "forks", AC_F_FORKS },       { "priority", AC_F_PRIORITY },
		{ "on_exceed", AC_F_ON_EXCEED }, { "label", AC_F_LABEL },
		{ "retry", AC_F_RETRY },       { "memory_hint", AC_F_MEMORY_HINT },
	};
	json_t *o = json_object(), *assumed = json_array();

	if (!o || !assumed) {
		json_decref(o);
		json_decref(assumed);
		return NULL;
	}
	for (size_t i = 0; i < AC_ARRAY_SIZE(order); i++) {
		json_t *v;

		if (!(in->set & order[i].bit))
			continue;
		switch (order[i].bit) {
		case AC_F_MEMORY:
			v = size_json(in->memory);
			break;
		case AC_F_MEMORY_MAX:
			v = size_json(in->memory_max);
			break;
		case AC_F_CPU:
			v = json_real(in->cpu);
			break;
		case AC_F_PIDS:
			v = json_integer(in->pids);
			break;
		case AC_F_FORKS:
			v = json_integer(in->forks);
			break;
		case AC_F_TIMEOUT:
			v = duration_json(in->timeout_ns);
			break;
		case AC_F_CPU_TIME:
			v = duration_json(in->cpu_time_ns);
			break;
		case AC_F_PRIORITY:
			v = json_string(ac_priority_name(in->priority));
			break;
		case AC_F_ON_EXCEED:
			v = json_string(ac_on_exceed_name(in->on_exceed));
			break;
		case AC_F_RETRY:
			v = json_integer(in->retry);
			break;
		case AC_F_MEMORY_HINT: /* as given: a class parses back as itself */
			v = ac_hint_class_name(in->hint_class) ?
				    json_string(ac_hint_class_name(in->hint_class)) :
				    size_json(in->memory_hint);
			break;
		default:
			v = json_string(in->label);
			break;
		}
		json_object_set_new(o, order[i].name, v);
		if (in->defaulted & order[i].bit)
			json_array_append_new(assumed, json_string(order[i].name));
	}
	json_object_set_new(o, "assumed", assumed);
	return o;
}

void ac_limits_unlimited(struct ac_limits *l)
{
	*l = (struct ac_limits){
		.memory_high = AC_UNLIMITED,
		.memory_max = AC_UNLIMITED,
		.cpu_quota_us = AC_UNLIMITED,
		.cpu_period_us = AC_CPU_PERIOD_US,
		.pids_max = AC_UNLIMITED,
	};
}

/* ceil(cores * period), forgiving floating-point noise (0.3 cores is
 * 30000us, not 30001us), at least 1000us. */
static uint64_t cpu_quota_us(double cores)
{
	double want = cores * (double)AC_CPU_PERIOD_US;
	uint64_t q = (uint64_t)want;

	if (want - (double)q > 1e-6)
		q++;
	return q < 1000 ? 1000 : q;
}

void ac_intent_to_limits(const struct ac_intent *in, struct ac_limits *out)
{
	ac_limits_unlimited(out);
	if (in->set & AC_F_MEMORY)
		out->memory_high = in->memory;
	if (in->set & AC_F_MEMORY_MAX)
		out->memory_max = in->memory_max;
	if ((in->set & AC_F_CPU) && in->cpu > 0)
		out->cpu_quota_us = cpu_quota_us(in->cpu > AC_CPU_MAX ? AC_CPU_MAX : in->cpu);
	if ((in->set & AC_F_PIDS) && in->pids)
		out->pids_max = in->pids;
}
