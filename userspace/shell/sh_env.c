// SPDX-License-Identifier: GPL-2.0
/* The intent of agentcg-sh's calls, from its environment:
 * AGENTCG_INTENT ("memory=1G,timeout=30s" or a JSON object) and
 * AgentCgroup's AGENT_RESOURCE_HINT ("memory:high", "memory:2g"). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/intent.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "sh.h"

#define SH_ENV_MAX 4096 /* longer values are refused, not cut */

static int fail(char *err, size_t errlen, const char *fmt, ...) AC_PRINTF(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void note(char *warn, size_t warnlen, const char *fmt, ...) AC_PRINTF(3, 4);
static void note(char *warn, size_t warnlen, const char *fmt, ...)
{
	size_t used = strlen(warn);
	va_list ap;

	if (used + 3 >= warnlen)
		return;
	if (used) {
		strcpy(warn + used, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(warn + used, warnlen - used, fmt, ap);
	va_end(ap);
}

/* "  x " -> "x", in place. */
static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Fields the daemon takes as JSON numbers, not strings. */
static bool numeric_key(const char *k)
{
	return !strcmp(k, "cpu") || !strcmp(k, "pids") || !strcmp(k, "forks") ||
	       !strcmp(k, "retry");
}

/* A value as the daemon takes it: a number for numeric fields when it is
 * one (else the string, for the daemon to refuse by name). */
static json_t *value_json(const char *k, const char *v)
{
	char *end;

	if (numeric_key(k) && *v) {
		double d;

		errno = 0;
		d = strtod(v, &end);
		if (!*end && !errno && isfinite(d)) {
			if (!strcmp(k, "cpu"))
				return json_real(d);
			if (d >= 0 && d <= 1e15 && d == (double)(json_int_t)d)
				return json_integer((json_int_t)d);
		}
	}
	return json_string(v);
}

/* "k=v,k=v" into intent. */
static int parse_pairs(char *s, json_t *intent, char *err, size_t errlen)
{
	char *save = NULL;

	for (char *part = strtok_r(s, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(part, '='), *k, *v;
		json_t *jv;

		part = trim(part);
		if (!*part)
			continue;
		if (!eq)
			return fail(err, errlen,
				    "AGENTCG_INTENT: '%s' is not key=value (e.g. "
				    "memory=1G,timeout=30s, or a JSON object)", part);
		*eq = '\0';
		k = trim(part);
		v = trim(eq + 1);
		if (!*k)
			return fail(err, errlen, "AGENTCG_INTENT: '=%s' has no key", v);
		jv = value_json(k, v);
		if (!jv)
			return fail(err, errlen, "AGENTCG_INTENT: the value of %s is not valid UTF-8",
				    k);
		json_object_set_new(intent, k, jv);
	}
	return 0;
}

static int intent_from(const char *s, json_t *intent, char *err, size_t errlen)
{
	_cleanup_free_ char *copy = NULL;
	const char *p = s;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!*p)
		return 0;
	if (*p == '{') {
		json_error_t je;
		json_t *o = json_loads(p, JSON_REJECT_DUPLICATES, &je);

		if (!o || !json_is_object(o)) {
			json_decref(o);
			return fail(err, errlen, "AGENTCG_INTENT: not a JSON object: %s",
				    o ? "another JSON value" : je.text);
		}
		json_object_update(intent, o);
		json_decref(o);
		return 0;
	}
	copy = strdup(p);
	if (!copy)
		return fail(err, errlen, "out of memory");
	return parse_pairs(copy, intent, err, errlen);
}

/* AGENT_RESOURCE_HINT: "memory:VALUE", parts separated by ','. */
static void hint_from(const char *s, json_t *intent, char *warn, size_t warnlen)
{
	_cleanup_free_ char *copy = strdup(s);
	char *save = NULL;

	if (!copy)
		return;
	for (char *part = strtok_r(copy, ",", &save); part; part = strtok_r(NULL, ",", &save)) {
		char *sep, *k, *v;
		enum ac_hint_class cls;
		uint64_t bytes;

		part = trim(part);
		if (!*part)
			continue;
		sep = strpbrk(part, ":=");
		if (!sep) {
			note(warn, warnlen, "AGENT_RESOURCE_HINT: '%s' left out (memory:low, "
					    "medium, high or a size like 2g)", part);
			continue;
		}
		*sep = '\0';
		k = trim(part);
		v = trim(sep + 1);
		if (strcmp(k, "memory") != 0) {
			note(warn, warnlen, "AGENT_RESOURCE_HINT: '%s' left out (only memory is "
					    "used)", k);
			continue;
		}
		if (ac_hint_class_parse(v, &cls) < 0 && ac_parse_size(v, &bytes) < 0) {
			note(warn, warnlen, "AGENT_RESOURCE_HINT: memory '%s' left out (low, medium, "
					    "high or a size like 2g)", v);
			continue;
		}
		if (!json_object_get(intent, "memory_hint"))
			json_object_set_new(intent, "memory_hint", json_string(v));
	}
}

int sh_intent_from_env(const char *intent, const char *hint, json_t **out, char *err,
		       size_t errlen, char *warn, size_t warnlen)
{
	json_t *o = json_object();
	int e = 0;

	if (warnlen)
		warn[0] = '\0';
	if (!o)
		return fail(err, errlen, "out of memory");
	if (intent && strlen(intent) > SH_ENV_MAX)
		e = fail(err, errlen, "AGENTCG_INTENT: longer than %d bytes", SH_ENV_MAX);
	else if (intent)
		e = intent_from(intent, o, err, errlen);
	if (!e && hint && *hint) {
		if (strlen(hint) > SH_ENV_MAX)
			note(warn, warnlen, "AGENT_RESOURCE_HINT: longer than %d bytes, left out",
			     SH_ENV_MAX);
		else
			hint_from(hint, o, warn, warnlen);
	}
	if (e) {
		json_decref(o);
		return e;
	}
	*out = o;
	return 0;
}
