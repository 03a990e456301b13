// SPDX-License-Identifier: GPL-2.0
/* agentcg: human output. Sizes and times are shown in their short human
 * form; everything unknown is printed as it came, so new fields the
 * daemon adds show up without a CLI change. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentcg/units.h"
#include "cli.h"

/* ---- small helpers ---- */

const char *cli_json_str(const json_t *obj, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : def;
}

void cli_format_size_json(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		ac_format_size((uint64_t)json_integer_value(v), buf, len);
	else if (json_is_real(v) && json_real_value(v) >= 0)
		ac_format_size((uint64_t)json_real_value(v), buf, len);
	else if (json_is_string(v))
		ac_strlcpy(buf, json_string_value(v), len);
	else
		ac_strlcpy(buf, "-", len);
}

static void cli_format_us(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		ac_format_duration((uint64_t)json_integer_value(v) * 1000, buf, len);
	else
		ac_strlcpy(buf, "-", len);
}

void cli_format_exit(const json_t *exit_obj, char *buf, size_t len)
{
	const json_t *code = json_object_get(exit_obj, "code");
	const json_t *sig = json_object_get(exit_obj, "signal");
	const char *name = cli_json_str(exit_obj, "signal_name", NULL);

	if (json_is_integer(code))
		snprintf(buf, len, "exit %lld", (long long)json_integer_value(code));
	else if (name)
		snprintf(buf, len, "killed by %s", name);
	else if (json_is_integer(sig))
		snprintf(buf, len, "killed by signal %lld", (long long)json_integer_value(sig));
	else
		ac_strlcpy(buf, "no exit status", len);
}

static bool cli_str_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Keys whose integer values are bytes. */
static bool cli_is_size_key(const char *key)
{
	static const char *const keys[] = {
		"memory",	  "memory_max",	    "memory_high",    "memory_current",
		"memory_peak",	  "memory.high",    "memory.max",     "memory.low",
		"memory.min",	  "memory.current", "memory.peak",    "memory.swap.max",
		"memory.swap.current", "output_limit", "max_request",
	};

	for (size_t i = 0; i < AC_ARRAY_SIZE(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return cli_str_ends(key, "_bytes");
}

/* Shell-like quoting of one word, enough to read an argv back. */
static void cli_print_word(FILE *f, const char *w)
{
	bool plain = *w != '\0';

	for (const char *p = w; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789@%+=:,./_-",
			       *p) != NULL;
	if (plain) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (const char *p = w; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", f);
		else
			fputc(*p, f);
	}
	fputc('\'', f);
}

/* One value in human form. mem_ctx: bare "requested"/"remaining"/"budget"
 * integers are bytes (admission errors about memory). */
static void cli_print_value(FILE *f, const char *key, const json_t *v, bool mem_ctx)
{
	char buf[64];
	size_t i;
	const json_t *item;

	switch (json_typeof(v)) {
	case JSON_STRING:
		fputs(json_string_value(v), f);
		return;
	case JSON_TRUE:
		fputs("yes", f);
		return;
	case JSON_FALSE:
		fputs("no", f);
		return;
	case JSON_NULL:
		fputs("-", f);
		return;
	case JSON_REAL:
		fprintf(f, "%g", json_real_value(v));
		return;
	case JSON_ARRAY:
		json_array_foreach(v, i, item) {
			if (i)
				fputc(' ', f);
			if (json_is_string(item))
				cli_print_word(f, json_string_value(item));
			else
				cli_print_value(f, key, item, mem_ctx);
		}
		return;
	case JSON_OBJECT:
		if (json_object_get(v, "code") || json_object_get(v, "signal")) {
			cli_format_exit(v, buf, sizeof(buf));
			fputs(buf, f);
		} else {
			cli_print_json_line(f, v);
		}
		return;
	case JSON_INTEGER:
		break;
	}
	if (cli_is_size_key(key) ||
	    (mem_ctx && (!strcmp(key, "requested") || !strcmp(key, "remaining") ||
			 !strcmp(key, "budget")))) {
		cli_format_size_json(v, buf, sizeof(buf));
		fputs(buf, f);
	} else if (cli_str_ends(key, "_us")) {
		cli_format_us(v, buf, sizeof(buf));
		fputs(buf, f);
	} else if ((cli_str_ends(key, "_ns") || cli_str_ends(key, "_ns_ago")) &&
		   json_integer_value(v) >= 0) {
		ac_format_duration((uint64_t)json_integer_value(v), buf, sizeof(buf));
		fputs(buf, f);
	} else if (!strcmp(key, "errno") && json_integer_value(v) > 0) {
		fprintf(f, "%lld (%s)", (long long)json_integer_value(v),
			strerror((int)json_integer_value(v)));
	} else {
		fprintf(f, "%lld", (long long)json_integer_value(v));
	}
}

/* The value as a malloc'd string (NULL on allocation failure). */
static char *cli_value_str(const char *key, const json_t *v, bool mem_ctx)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		return NULL;
	cli_print_value(f, key, v, mem_ctx);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* ---- JSON ---- */

void cli_print_json(FILE *f, const json_t *v)
{
	json_dumpf(v, f, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', f);
}

void cli_print_json_line(FILE *f, const json_t *v)
{
	json_dumpf(v, f, JSON_COMPACT | JSON_ENCODE_ANY);
	fputc('\n', f);
}

/* ---- key/value blocks ---- */

static bool cli_is_exit_obj(const json_t *v)
{
	return json_is_object(v) && (json_object_get(v, "code") || json_object_get(v, "signal"));
}

static bool cli_is_object_array(const json_t *v)
{
	return json_is_array(v) && json_array_size(v) > 0 &&
	       json_is_object(json_array_get(v, 0));
}

static void cli_kv(FILE *f, const json_t *obj, int indent, bool mem_ctx)
{
	const char *key;
	json_t *v;

	mem_ctx = mem_ctx || strstr(cli_json_str(obj, "resource", ""), "memory");
	json_object_foreach((json_t *)obj, key, v) {
		if (json_is_object(v) && json_object_size(v) && !cli_is_exit_obj(v)) {
			fprintf(f, "%*s%s:\n", indent, "", key);
			cli_kv(f, v, indent + 2, mem_ctx);
		} else if (cli_is_object_array(v)) {
			size_t i;
			json_t *item;

			json_array_foreach(v, i, item) {
				fprintf(f, "%*s%s[%zu]:\n", indent, "", key, i);
				if (json_is_object(item))
					cli_kv(f, item, indent + 2, mem_ctx);
			}
		} else {
			fprintf(f, "%*s%s: ", indent, "", key);
			cli_print_value(f, key, v, mem_ctx);
			fputc('\n', f);
		}
	}
}

void cli_print_kv(FILE *f, const json_t *obj, int indent)
{
	if (json_is_object(obj))
		cli_kv(f, obj, indent, false);
	else if (obj && !json_is_null(obj))
		cli_print_json(f, obj);
}

void cli_print_rpc_error(FILE *f, const json_t *error)
{
	const char *msg = cli_json_str(error, "message", "unknown error");
	const json_t *data = json_object_get(error, "data");
	const json_t *code = json_object_get(error, "code");

	fprintf(f, "%s: %s", CLI_PROG, msg);
	if (json_is_integer(code))
		fprintf(f, " (code %lld)", (long long)json_integer_value(code));
	fputc('\n', f);
	if (json_is_object(data))
		cli_kv(f, data, 2, false);
	else if (data && !json_is_null(data)) {
		fputs("  ", f);
		cli_print_value(f, "data", data, false);
		fputc('\n', f);
	}
}

void cli_print_content(FILE *f, const json_t *result)
{
	const char *s = cli_json_str(result, "content", "");
	size_t n = strlen(s);

	fputs(s, f);
	if (n && s[n - 1] != '\n')
		fputc('\n', f);
}

/* ---- ls ---- */

static const char *cli_node_label(const json_t *node)
{
	return cli_json_str(node, "path", cli_json_str(node, "name", "?"));
}

static int cli_list_width(const json_t *children, int depth, bool recursive)
{
	size_t i;
	json_t *node;
	int w = 4; /* "PATH" */

	json_array_foreach(children, i, node) {
		int n = recursive ? 2 * depth + (int)strlen(cli_json_str(node, "name", "?")) :
				    (int)strlen(cli_node_label(node));
		if (n > w)
			w = n;
		if (recursive) {
			n = cli_list_width(json_object_get(node, "children"), depth + 1, true);
			if (n > w)
				w = n;
		}
	}
	return w;
}

static void cli_list_rows(FILE *f, const json_t *children, int depth, bool recursive, int width)
{
	size_t i;
	json_t *node;

	json_array_foreach(children, i, node) {
		char mem[32];
		const json_t *frozen = json_object_get(node, "frozen");

		cli_format_size_json(json_object_get(node, "memory_current"), mem, sizeof(mem));
		if (recursive)
			fprintf(f, "%-8s %*s%-*s %-6s %8s\n", cli_json_str(node, "kind", "?"),
				2 * depth, "", width - 2 * depth, cli_json_str(node, "name", "?"),
				json_is_true(frozen) ? "yes" : json_is_false(frozen) ? "no" : "-",
				mem);
		else
			fprintf(f, "%-8s %-*s %-6s %8s\n", cli_json_str(node, "kind", "?"), width,
				cli_node_label(node),
				json_is_true(frozen) ? "yes" : json_is_false(frozen) ? "no" : "-",
				mem);
		if (recursive)
			cli_list_rows(f, json_object_get(node, "children"), depth + 1, true, width);
	}
}

void cli_print_list(FILE *f, const json_t *result, bool recursive)
{
	const json_t *children = json_object_get(result, "children");
	int width;

	if (!json_array_size(children))
		return;
	width = cli_list_width(children, 0, recursive);
	fprintf(f, "%-8s %-*s %-6s %8s\n", "KIND", width, recursive ? "NAME" : "PATH", "FROZEN",
		"MEMORY");
	cli_list_rows(f, children, 0, recursive, width);
}

/* ---- top ---- */

struct cli_rows {
	const json_t **v;
	size_t n, cap;
};

static int cli_rows_add(struct cli_rows *r, const json_t *node)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		const json_t **p = realloc(r->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		r->v = p;
		r->cap = cap;
	}
	r->v[r->n++] = node;
	return 0;
}

/* Sessions and calls of the subtree, and the memory of its top level. */
static int cli_rows_collect(struct cli_rows *r, const json_t *children, int depth,
			    uint64_t *top_mem)
{
	size_t i;
	json_t *node;

	json_array_foreach(children, i, node) {
		const char *kind = cli_json_str(node, "kind", "");
		json_int_t mem = json_integer_value(json_object_get(node, "memory_current"));

		if (depth == 0 && mem > 0)
			*top_mem += (uint64_t)mem;
		if ((!strcmp(kind, "session") || !strcmp(kind, "call")) && cli_rows_add(r, node) < 0)
			return -ENOMEM;
		if (cli_rows_collect(r, json_object_get(node, "children"), depth + 1, top_mem) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int cli_row_cmp(const void *a, const void *b)
{
	json_int_t ma = json_integer_value(json_object_get(*(const json_t *const *)a,
							   "memory_current"));
	json_int_t mb = json_integer_value(json_object_get(*(const json_t *const *)b,
							   "memory_current"));

	if (ma != mb)
		return ma < mb ? 1 : -1;
	return strcmp(cli_node_label(*(const json_t *const *)a),
		      cli_node_label(*(const json_t *const *)b));
}

void cli_print_top(FILE *f, const json_t *result)
{
	struct cli_rows rows = { 0 };
	uint64_t top_mem = 0;
	size_t sessions = 0;
	char mem[32], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	if (cli_rows_collect(&rows, json_object_get(result, "children"), 0, &top_mem) < 0) {
		fprintf(stderr, "%s: out of memory\n", CLI_PROG);
		free(rows.v);
		return;
	}
	qsort(rows.v, rows.n, sizeof(*rows.v), cli_row_cmp);
	for (size_t i = 0; i < rows.n; i++)
		sessions += !strcmp(cli_json_str(rows.v[i], "kind", ""), "session");
	ac_format_size(top_mem, mem, sizeof(mem));
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(f, "agentcg top - %s - %s: %zu sessions, %zu calls, memory %s\n\n", stamp,
		cli_json_str(result, "path", "/"), sessions, rows.n - sessions, mem);
	fprintf(f, "%8s  %-7s  %-6s  %s\n", "MEMORY", "KIND", "FROZEN", "PATH");
	for (size_t i = 0; i < rows.n; i++) {
		const json_t *node = rows.v[i];
		const json_t *frozen = json_object_get(node, "frozen");

		cli_format_size_json(json_object_get(node, "memory_current"), mem, sizeof(mem));
		fprintf(f, "%8s  %-7s  %-6s  %s\n", mem, cli_json_str(node, "kind", "?"),
			json_is_true(frozen) ? "yes" : "no", cli_node_label(node));
	}
	free(rows.v);
}

/* ---- events ---- */

static void cli_format_event_time(const json_t *event, char *buf, size_t len)
{
	json_int_t t = json_integer_value(json_object_get(event, "time_ns"));
	struct timespec ts;
	struct tm tm;
	char hms[16];

	/* time_ns since the epoch (>= 2001) is shown as is; anything else
	 * (a monotonic stamp) is replaced by the time of arrival. */
	if (t >= 1000000000000000000LL) {
		ts.tv_sec = (time_t)(t / 1000000000LL);
		ts.tv_nsec = (long)(t % 1000000000LL);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
	}
	localtime_r(&ts.tv_sec, &tm);
	strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ld", hms, ts.tv_nsec / 1000000);
}

void cli_print_event(FILE *f, const json_t *event)
{
	char stamp[32];
	const char *key;
	json_t *v;

	cli_format_event_time(event, stamp, sizeof(stamp));
	fprintf(f, "%s %-14s %s", stamp, cli_json_str(event, "type", "?"),
		cli_json_str(event, "path", "-"));
	json_object_foreach((json_t *)event, key, v) {
		char *s;

		if (!strcmp(key, "type") || !strcmp(key, "path") || !strcmp(key, "time_ns"))
			continue;
		s = cli_value_str(key, v, false);
		if (!s)
			continue;
		if (strpbrk(s, " \t") || !*s)
			fprintf(f, " %s=\"%s\"", key, s);
		else
			fprintf(f, " %s=%s", key, s);
		free(s);
	}
	fputc('\n', f);
}

/* ---- run verdict ---- */

/* "memory_max: used 600M, limit 512M (killed)" for one exceeded entry. */
static void cli_print_exceeded(FILE *f, const json_t *e)
{
	const char *res = cli_json_str(e, "resource", "?");
	const char *unit = cli_json_str(e, "unit", "");
	const char *action = cli_json_str(e, "action", NULL);
	const char *keys[] = { "used", "limit" };

	fputs(res, f);
	for (size_t i = 0; i < AC_ARRAY_SIZE(keys); i++) {
		const json_t *v = json_object_get(e, keys[i]);
		char buf[32];

		if (!v)
			continue;
		if (!strcmp(unit, "bytes"))
			cli_format_size_json(v, buf, sizeof(buf));
		else if (!strcmp(unit, "us"))
			cli_format_us(v, buf, sizeof(buf));
		else if (json_is_real(v))
			snprintf(buf, sizeof(buf), "%g", json_real_value(v));
		else
			snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		fprintf(f, "%s %s %s", i ? "," : ":", keys[i], buf);
	}
	if (action)
		fprintf(f, " (%s)", action);
}

void cli_print_verdict(FILE *f, const json_t *result)
{
	const json_t *verdict = json_object_get(result, "verdict");
	const json_t *usage = json_object_get(result, "usage");
	const json_t *exit_obj = json_object_get(result, "exit");
	const char *summary = cli_json_str(verdict, "summary", "");
	json_int_t cpu_us = json_integer_value(json_object_get(usage, "cpu_user_us")) +
			    json_integer_value(json_object_get(usage, "cpu_system_us"));
	char ex[64], peak[32], cpu[32], wall[32];

	if (!exit_obj)
		exit_obj = json_object_get(verdict, "exit");
	cli_format_exit(exit_obj, ex, sizeof(ex));
	cli_format_size_json(json_object_get(usage, "memory_peak"), peak, sizeof(peak));
	ac_format_duration(cpu_us > 0 ? (uint64_t)cpu_us * 1000 : 0, cpu, sizeof(cpu));
	cli_format_us(json_object_get(usage, "wall_us"), wall, sizeof(wall));

	fprintf(f, "%s: %s %s", CLI_PROG, cli_json_str(result, "path", "call"),
		cli_json_str(verdict, "status", "unknown"));
	if (*summary) {
		/* The daemon's summary already carries peak, cpu and wall. */
		fprintf(f, ": %s\n", summary);
		return;
	} else {
		size_t i;
		json_t *e;

		json_array_foreach(json_object_get(verdict, "exceeded"), i, e) {
			fputs(i ? "; " : ": ", f);
			cli_print_exceeded(f, e);
		}
	}
	fprintf(f, " [%s; peak %s, cpu %s, wall %s]\n", ex, peak, cpu, wall);
}
