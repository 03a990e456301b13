// SPDX-License-Identifier: GPL-2.0
/* agentcg: every subcommand but run. Each parses its arguments, makes one
 * JSON-RPC call (events and top: a stream of them) and prints the result
 * as text, or as the raw result object with --json. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agentcg/intent.h"
#include "agentcg/names.h"
#include "agentcg/units.h"
#include "cli.h"

#define CMD_HELP (-1000)
#define CMD_POS_MAX 3

typedef int (*cmd_opt_fn)(struct cli *c, int id, const char *arg, void *ud);

struct cmd_args {
	const char *pos[CMD_POS_MAX];
	int npos;
};

/* Options (handled by fn) and between min and max positional arguments
 * (names: what they are, for "missing ..." messages). Returns 0,
 * CMD_HELP or an exit code. */
static int cmd_parse(struct cli *c, int argc, char **argv, const struct cli_opt *opts,
		     cmd_opt_fn fn, void *ud, int min, int max, const char *names,
		     struct cmd_args *out)
{
	struct cli_parser p = { .c = c, .argc = argc, .argv = argv, .i = 1 };
	const char *arg;
	int id;

	out->npos = 0;
	for (;;) {
		id = cli_opt_next(&p, opts, &arg);
		if (id == CLI_OPT_END && p.dashdash && p.i < argc) {
			/* After "--" everything is positional. */
			arg = argv[p.i++];
			id = CLI_OPT_POSITIONAL;
		}
		if (id == CLI_OPT_END)
			break;
		if (id == CLI_OPT_HELP)
			return CMD_HELP;
		if (id == CLI_OPT_ERROR)
			return CLI_EXIT_USAGE;
		if (id == CLI_OPT_POSITIONAL) {
			if (out->npos >= max)
				return cli_usage_error(c, "unexpected argument '%s'", arg);
			out->pos[out->npos++] = arg;
			continue;
		}
		id = fn(c, id, arg, ud);
		if (id)
			return id;
	}
	if (out->npos < min) {
		/* names "PATH FILE VALUE": report the ones not given. */
		for (int i = 0; i < out->npos && strchr(names, ' '); i++)
			names = strchr(names, ' ') + 1;
		return cli_usage_error(c, "missing %s", names);
	}
	return 0;
}

/* Parses with no options of its own. */
static int cmd_parse_plain(struct cli *c, int argc, char **argv, int min, int max,
			   const char *names, struct cmd_args *out)
{
	return cmd_parse(c, argc, argv, NULL, NULL, NULL, min, max, names, out);
}

/* Calls method and prints its result with print (or as JSON). */
static int cmd_call_print(struct cli *c, const char *method, json_t *params,
			  void (*print)(struct cli *c, const json_t *result))
{
	json_t *result = NULL;
	int rc = cli_simple_call(c, method, params, &result, CLI_EXIT_FAIL);

	if (rc)
		return rc;
	if (c->json)
		cli_print_json(stdout, result);
	else
		print(c, result);
	json_decref(result);
	return CLI_EXIT_OK;
}

/* Usual finish of a parse: help, error code, or go on (0). */
static int cmd_parse_result(struct cli *c, int e)
{
	return e == CMD_HELP ? cli_help(c) : e;
}

static void print_kv(struct cli *c, const json_t *result)
{
	cli_print_kv(stdout, result, 0);
}

static void print_content(struct cli *c, const json_t *result)
{
	cli_print_content(stdout, result);
}

/* ---- ls ---- */

enum { LS_RECURSIVE = 1 };
static const struct cli_opt ls_opts[] = {
	{ "recursive", 'R', false, LS_RECURSIVE },
	{ NULL, 0, false, 0 },
};

static int ls_opt(struct cli *c, int id, const char *arg, void *ud)
{
	*(bool *)ud = true;
	return 0;
}

static void print_list_flat(struct cli *c, const json_t *result)
{
	cli_print_list(stdout, result, false);
}

static void print_list_tree(struct cli *c, const json_t *result)
{
	cli_print_list(stdout, result, true);
}

int cli_cmd_ls(struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	bool recursive = false;
	char path[CLI_PATH_LEN];
	int e = cmd_parse(c, argc, argv, ls_opts, ls_opt, &recursive, 0, 1, "PATH", &a);

	if (e)
		return cmd_parse_result(c, e);
	if (cli_parse_path(c, a.npos ? a.pos[0] : "/", AC_LEVEL_ROOT, AC_LEVEL_CALL, path,
			   sizeof(path)))
		return CLI_EXIT_USAGE;
	return cmd_call_print(c, "cg.list",
			      json_pack("{s:s, s:b}", "path", path, "recursive", recursive),
			      recursive ? print_list_tree : print_list_flat);
}

/* ---- stat, info ---- */

int cli_cmd_stat(struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	char path[CLI_PATH_LEN];
	int e = cmd_parse_plain(c, argc, argv, 1, 1, "PATH", &a);

	if (e)
		return cmd_parse_result(c, e);
	if (cli_parse_path(c, a.pos[0], AC_LEVEL_ROOT, AC_LEVEL_CALL, path, sizeof(path)))
		return CLI_EXIT_USAGE;
	return cmd_call_print(c, "cg.stat", json_pack("{s:s}", "path", path), print_kv);
}

int cli_cmd_info(struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	int e = cmd_parse_plain(c, argc, argv, 0, 0, "", &a);

	if (e)
		return cmd_parse_result(c, e);
	return cmd_call_print(c, "daemon.info", json_object(), print_kv);
}

/* The Prometheus text as the daemon wrote it, byte for byte. */
static void print_metrics(struct cli *c, const json_t *result)
{
	const json_t *text = json_object_get(result, "text");

	fwrite(json_string_value(text) ? json_string_value(text) : "", 1, json_string_length(text),
	       stdout);
}

int cli_cmd_metrics(struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	int e = cmd_parse_plain(c, argc, argv, 0, 0, "", &a);

	if (e)
		return cmd_parse_result(c, e);
	return cmd_call_print(c, "metrics", json_object(), print_metrics);
}

/* ---- cat, set ---- */

int cli_cmd_cat(struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	struct ac_path node;
	char file[AC_NAME_MAX + 1], path[CLI_PATH_LEN];
	int e = cmd_parse_plain(c, argc, argv, 1, 1, "PATH/FILE", &a);

	if (e)
		return cmd_parse_result(c, e);
	if (ac_path_split_file(a.pos[0], &node, file, sizeof(file)) < 0 ||
	    ac_path_format(&node, path, sizeof(path)) < 0)
		return cli_usage_error(c, "invalid PATH/FILE '%s' (e.g. /tenant/session/memory.peak)",
				       a.pos[0]);
	return cmd_call_print(c, "cg.cat", json_pack("{s:s, s:s}", "path", path, "file", file),
			      print_content);
}

int cli_cmd_set(struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	char path[CLI_PATH_LEN];
	json_t *value;
	int e = cmd_parse_plain(c, argc, argv, 3, 3, "PATH FILE VALUE", &a);

	if (e)
		return cmd_parse_result(c, e);
	if (cli_parse_path(c, a.pos[0], AC_LEVEL_TENANT, AC_LEVEL_CALL, path, sizeof(path)))
		return CLI_EXIT_USAGE;
	if (!ac_name_valid(a.pos[1]))
		return cli_usage_error(c, "invalid FILE '%s' (e.g. memory.max)", a.pos[1]);
	value = json_string(a.pos[2]);
	if (!value || !*a.pos[2]) {
		json_decref(value);
		return cli_usage_error(c, "invalid VALUE '%s'", a.pos[2]);
	}
	return cmd_call_print(c, "cg.set",
			      json_pack("{s:s, s:s, s:o}", "path", path, "file", a.pos[1], "value",
					value),
			      print_content);
}

/* ---- kill, freeze, thaw ---- */

static void print_killed(struct cli *c, const json_t *result)
{
	json_int_t n = json_integer_value(json_object_get(result, "killed_calls"));

	printf("killed %s (%lld call%s)\n", cli_json_str(result, "path", "?"), (long long)n,
	       n == 1 ? "" : "s");
}

static void print_frozen(struct cli *c, const json_t *result)
{
	printf("%s %s\n", json_is_false(json_object_get(result, "frozen")) ? "thawed" : "frozen",
	       cli_json_str(result, "path", "?"));
}

static int cmd_node_action(struct cli *c, int argc, char **argv, const char *method,
			   void (*print)(struct cli *c, const json_t *result))
{
	struct cmd_args a;
	char path[CLI_PATH_LEN];
	int e = cmd_parse_plain(c, argc, argv, 1, 1, "PATH", &a);

	if (e)
		return cmd_parse_result(c, e);
	if (cli_parse_path(c, a.pos[0], AC_LEVEL_TENANT, AC_LEVEL_CALL, path, sizeof(path)))
		return CLI_EXIT_USAGE;
	return cmd_call_print(c, method, json_pack("{s:s}", "path", path), print);
}

int cli_cmd_kill(struct cli *c, int argc, char **argv)
{
	return cmd_node_action(c, argc, argv, "cg.kill", print_killed);
}

int cli_cmd_freeze(struct cli *c, int argc, char **argv)
{
	return cmd_node_action(c, argc, argv, "cg.freeze", print_frozen);
}

int cli_cmd_thaw(struct cli *c, int argc, char **argv)
{
	return cmd_node_action(c, argc, argv, "cg.thaw", print_frozen);
}

/* ---- events ---- */

static int events_on_notify(struct cli *c, const char *method, json_t *params, void *ud)
{
	if (strcmp(method, "event") != 0 || !json_is_object(params))
		return 0;
	if (c->json)
		cli_print_json_line(stdout, params);
	else
		cli_print_event(stdout, params);
	if (fflush(stdout) != 0)
		return -EPIPE;
	return 0;
}

/* Prints notifications until the daemon closes the connection. */
static int events_follow(struct cli *c)
{
	for (;;) {
		json_t *msg = NULL;
		int r = cli_recv(c, &msg);

		if (r == -ECONNRESET) {
			if (c->verbose)
				fprintf(stderr, "%s: agentcgd closed the connection\n", CLI_PROG);
			return CLI_EXIT_OK;
		}
		if (r < 0) {
			cli_report_transport(c, r);
			return CLI_EXIT_FAIL;
		}
		if (json_object_get(msg, "method") && !json_object_get(msg, "id"))
			r = events_on_notify(c, cli_json_str(msg, "method", ""),
					     json_object_get(msg, "params"), NULL);
		json_decref(msg);
		if (r < 0)
			return CLI_EXIT_FAIL;
	}
}

int cli_cmd_events(struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	char path[CLI_PATH_LEN];
	json_t *result = NULL, *error = NULL;
	int e = cmd_parse_plain(c, argc, argv, 0, 1, "PATH", &a);

	if (e)
		return cmd_parse_result(c, e);
	if (cli_parse_path(c, a.npos ? a.pos[0] : "/", AC_LEVEL_ROOT, AC_LEVEL_CALL, path,
			   sizeof(path)))
		return CLI_EXIT_USAGE;
	if (cli_connect(c) < 0)
		return CLI_EXIT_FAIL;
	e = cli_call(c, "events.subscribe", json_pack("{s:s}", "path", path), NULL, 0,
		     events_on_notify, NULL, &result, &error);
	if (e < 0)
		return CLI_EXIT_FAIL;
	json_decref(result);
	if (error) {
		cli_print_rpc_error(stderr, error);
		json_decref(error);
		return CLI_EXIT_FAIL;
	}
	return events_follow(c);
}

/* ---- top ---- */

enum { TOP_INTERVAL = 1, TOP_ONCE };
static const struct cli_opt top_opts[] = {
	{ "interval", 0, true, TOP_INTERVAL },
	{ "once", 0, false, TOP_ONCE },
	{ NULL, 0, false, 0 },
};

struct top_opts {
	uint64_t interval_ns;
	bool once;
};

/* Seconds ("2", "0.5") or a duration ("500ms"); at least 10ms. */
static int top_parse_interval(struct cli *c, const char *s, uint64_t *ns)
{
	char *end;
	double sec;

	errno = 0;
	sec = strtod(s, &end);
	if (end != s && !*end && !errno && isfinite(sec) && sec >= 0.01 && sec <= 86400) {
		*ns = (uint64_t)(sec * 1e9);
		return 0;
	}
	if (ac_parse_duration(s, ns) == 0 && *ns >= 10000000ULL)
		return 0;
	return cli_usage_error(c, "invalid --interval '%s' (seconds, e.g. 2 or 0.5, or 500ms)", s);
}

static int top_opt(struct cli *c, int id, const char *arg, void *ud)
{
	struct top_opts *o = ud;

	if (id == TOP_ONCE) {
		o->once = true;
		return 0;
	}
	return top_parse_interval(c, arg, &o->interval_ns);
}

static void top_sleep(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int top_once(struct cli *c, const char *path, bool clear)
{
	json_t *result = NULL;
	int rc = cli_simple_call(c, "cg.list",
				 json_pack("{s:s, s:b}", "path", path, "recursive", 1), &result,
				 CLI_EXIT_FAIL);

	if (rc)
		return rc;
	if (clear)
		fputs("\033[H\033[2J", stdout);
	if (c->json)
		cli_print_json(stdout, result);
	else
		cli_print_top(stdout, result);
	json_decref(result);
	return fflush(stdout) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int cli_cmd_top(struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	struct top_opts o = { .interval_ns = 2000000000ULL };
	char path[CLI_PATH_LEN];
	bool clear;
	int e = cmd_parse(c, argc, argv, top_opts, top_opt, &o, 0, 1, "PATH", &a);

	if (e)
		return cmd_parse_result(c, e);
	if (cli_parse_path(c, a.npos ? a.pos[0] : "/", AC_LEVEL_ROOT, AC_LEVEL_CALL, path,
			   sizeof(path)))
		return CLI_EXIT_USAGE;
	clear = !o.once && !c->json && isatty(STDOUT_FILENO);
	for (;;) {
		e = top_once(c, path, clear);
		if (e || o.once)
			return e;
		top_sleep(o.interval_ns);
	}
}

/* ---- session, tenant ---- */

enum { BUD_MEM_MAX = 1, BUD_CPU, BUD_PIDS, BUD_PRIORITY, SES_LANG, SES_NO_PERSIST,
       SES_INTERPRETER };
static const struct cli_opt session_create_opts[] = {
	{ "mem-max", 0, true, BUD_MEM_MAX },
	{ "cpu", 0, true, BUD_CPU },
	{ "pids", 0, true, BUD_PIDS },
	{ "priority", 0, true, BUD_PRIORITY },
	{ "lang", 0, true, SES_LANG },
	{ "no-persist", 0, false, SES_NO_PERSIST },
	{ "interpreter", 0, true, SES_INTERPRETER },
	{ NULL, 0, false, 0 },
};
/* Same ids, without --priority. */
static const struct cli_opt tenant_create_opts[] = {
	{ "mem-max", 0, true, BUD_MEM_MAX },
	{ "cpu", 0, true, BUD_CPU },
	{ "pids", 0, true, BUD_PIDS },
	{ NULL, 0, false, 0 },
};

/* params of session.create / tenant.create: {"budget": {...}, "priority"} */
static int budget_opt(struct cli *c, int id, const char *arg, void *ud)
{
	json_t *params = ud;
	json_t *budget = json_object_get(params, "budget");
	enum ac_priority prio;
	double cores;
	json_int_t n;

	if (!budget) {
		budget = json_object();
		json_object_set_new(params, "budget", budget);
	}
	switch (id) {
	case SES_LANG:
		if (strcmp(arg, "python") && strcmp(arg, "bash"))
			return cli_usage_error(c, "invalid --lang '%s' (python or bash)", arg);
		json_object_set_new(params, "lang", json_string(arg));
		return 0;
	case SES_NO_PERSIST:
		json_object_set_new(params, "persist", json_false());
		return 0;
	case SES_INTERPRETER:
		json_object_set_new(params, "interpreter", json_string(arg));
		return 0;
	case BUD_MEM_MAX:
		if (cli_check_size(c, "--mem-max", arg))
			return CLI_EXIT_USAGE;
		json_object_set_new(budget, "memory_max", json_string(arg));
		return 0;
	case BUD_CPU:
		if (cli_parse_cores(c, "--cpu", arg, true, &cores))
			return CLI_EXIT_USAGE;
		json_object_set_new(budget, "cpu", json_real(cores));
		return 0;
	case BUD_PIDS:
		if (cli_parse_count(c, "--pids", arg, &n))
			return CLI_EXIT_USAGE;
		json_object_set_new(budget, "pids", json_integer(n));
		return 0;
	default:
		if (ac_priority_parse(arg, &prio) < 0)
			return cli_usage_error(c, "invalid --priority '%s' (low, normal or high)",
					       arg);
		json_object_set_new(params, "priority", json_string(arg));
		return 0;
	}
}

static void print_created(struct cli *c, const json_t *result)
{
	/* c->cmd is "session create" / "tenant create". */
	printf("created %.*s %s\n", (int)strcspn(c->cmd, " "), c->cmd,
	       cli_json_str(result, "path", "?"));
}

static void print_closed(struct cli *c, const json_t *result)
{
	json_int_t n = json_integer_value(json_object_get(result, "killed_calls"));

	printf("closed session %s", cli_json_str(result, "path", "?"));
	if (n > 0)
		printf(" (killed %lld running call%s)", (long long)n, n == 1 ? "" : "s");
	putchar('\n');
}

static void print_removed(struct cli *c, const json_t *result)
{
	printf("removed tenant %s\n", cli_json_str(result, "path", "?"));
}

/* "create PATH [budget options]" of a session (level 2) or tenant (1). */
static int cmd_create(struct cli *c, int argc, char **argv, int level, const char *method)
{
	const struct cli_opt *opts =
		level == AC_LEVEL_SESSION ? session_create_opts : tenant_create_opts;
	json_t *params = json_object();
	struct cmd_args a;
	char path[CLI_PATH_LEN];
	int e;

	if (!params)
		return CLI_EXIT_FAIL;
	e = cmd_parse(c, argc, argv, opts, budget_opt, params, 1, 1, "PATH", &a);
	if (e == 0)
		e = cli_parse_path(c, a.pos[0], level, level, path, sizeof(path));
	if (e) {
		json_decref(params);
		return cmd_parse_result(c, e);
	}
	json_object_set_new(params, "path", json_string(path));
	return cmd_call_print(c, method, params, print_created);
}

/* "close|remove PATH" */
static int cmd_remove(struct cli *c, int argc, char **argv, int level, const char *method,
		      void (*print)(struct cli *c, const json_t *result))
{
	struct cmd_args a;
	char path[CLI_PATH_LEN];
	int e = cmd_parse_plain(c, argc, argv, 1, 1, "PATH", &a);

	if (e)
		return cmd_parse_result(c, e);
	if (cli_parse_path(c, a.pos[0], level, level, path, sizeof(path)))
		return CLI_EXIT_USAGE;
	return cmd_call_print(c, method, json_pack("{s:s}", "path", path), print);
}

/* "session|tenant" + sub-subcommand: 0 with c->cmd naming both words,
 * CMD_HELP, or a usage error. */
static int cmd_sub(struct cli *c, int argc, char **argv, const char *const names[2][2])
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub)
		return cli_usage_error(c, "missing subcommand (%s or %s)", names[0][0],
				       names[1][0]);
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help"))
		return CMD_HELP;
	for (int i = 0; i < 2; i++) {
		if (!strcmp(sub, names[i][0])) {
			c->cmd = names[i][1];
			return 0;
		}
	}
	return cli_usage_error(c, "unknown subcommand '%s' (%s or %s)", sub, names[0][0],
			       names[1][0]);
}

int cli_cmd_session(struct cli *c, int argc, char **argv)
{
	static const char *const names[2][2] = { { "create", "session create" },
						 { "close", "session close" } };
	static const char *const interp[][2] = {
		{ "exec", "session exec" },	      { "get", "session get" },
		{ "set", "session set" },	      { "reset", "session reset" },
		{ "interrupt", "session interrupt" },
	};
	int e;

	for (size_t i = 0; argc > 1 && i < AC_ARRAY_SIZE(interp); i++)
		if (!strcmp(argv[1], interp[i][0])) {
			c->cmd = interp[i][1];
			return cli_session_interp(c, argc - 1, argv + 1);
		}
	e = cmd_sub(c, argc, argv, names);

	if (e)
		return cmd_parse_result(c, e);
	if (!strcmp(argv[1], "create"))
		return cmd_create(c, argc - 1, argv + 1, AC_LEVEL_SESSION, "session.create");
	return cmd_remove(c, argc - 1, argv + 1, AC_LEVEL_SESSION, "session.close", print_closed);
}

int cli_cmd_tenant(struct cli *c, int argc, char **argv)
{
	static const char *const names[2][2] = { { "create", "tenant create" },
						 { "remove", "tenant remove" } };
	int e = cmd_sub(c, argc, argv, names);

	if (e)
		return cmd_parse_result(c, e);
	if (!strcmp(argv[1], "create"))
		return cmd_create(c, argc - 1, argv + 1, AC_LEVEL_TENANT, "tenant.create");
	return cmd_remove(c, argc - 1, argv + 1, AC_LEVEL_TENANT, "tenant.remove", print_removed);
}
