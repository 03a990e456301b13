// SPDX-License-Identifier: GPL-2.0
/* agentcg run: one command as one tool call (call.run). Without --json
 * the command gets our own stdin/stdout/stderr (passed with SCM_RIGHTS)
 * and its exit status becomes ours; with --json its output is captured
 * and the result object printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcg/intent.h"
#include "agentcg/names.h"
#include "cli.h"

extern char **environ;

enum {
	RUN_USER = CLI_INTENT_OPT_LAST + 1,
	RUN_WAIT,
	RUN_WAIT_TIMEOUT,
};

static const struct cli_opt run_opts[] = {
	CLI_INTENT_OPTS,
	{ "user", 0, true, RUN_USER },
	{ "wait", 0, false, RUN_WAIT },
	{ "wait-timeout", 0, true, RUN_WAIT_TIMEOUT },
	{ NULL, 0, false, 0 },
};

struct run_req {
	const char *path;
	json_t *intent;	 /* owned */
	json_t *extra;	 /* owned: user, wait, wait_timeout */
	char **argv;	 /* the command, after "--" */
	int argc;
};

static void run_req_free(struct run_req *r)
{
	json_decref(r->intent);
	json_decref(r->extra);
}

/* --user: a uid when all digits, else a name. */
static json_t *run_user_json(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s >= '0' && *s <= '9' && !*end && !errno && v <= 0xfffffffeUL)
		return json_integer((json_int_t)v);
	return json_string(s);
}

static int run_other_opt(struct cli *c, struct run_req *r, int id, const char *arg)
{
	json_t *v;

	switch (id) {
	case RUN_USER:
		if (!*arg)
			return cli_usage_error(c, "--user needs a user name or uid");
		v = run_user_json(arg);
		if (!v)
			return cli_usage_error(c, "--user: value is not valid UTF-8");
		json_object_set_new(r->extra, "user", v);
		return 0;
	case RUN_WAIT:
		json_object_set_new(r->extra, "wait", json_true());
		return 0;
	case RUN_WAIT_TIMEOUT:
		if (cli_check_duration(c, "--wait-timeout", arg))
			return CLI_EXIT_USAGE;
		json_object_set_new(r->extra, "wait_timeout", json_string(arg));
		return 0;
	default:
		return cli_intent_opt(c, r->intent, id, arg);
	}
}

#define RUN_HELP (-1000)

/* Options, PATH, "--", CMD ARGS. 0, RUN_HELP or an exit code. */
static int run_parse(struct cli *c, int argc, char **argv, struct run_req *r)
{
	struct cli_parser p = { .c = c, .argc = argc, .argv = argv, .i = 1 };
	const char *arg;
	int id;

	while ((id = cli_opt_next(&p, run_opts, &arg)) != CLI_OPT_END) {
		int e;

		if (id == CLI_OPT_HELP)
			return RUN_HELP;
		if (id == CLI_OPT_ERROR)
			return CLI_EXIT_USAGE;
		if (id == CLI_OPT_POSITIONAL) {
			if (r->path)
				return cli_usage_error(c,
						       "unexpected argument '%s': put the command after '--' (agentcg run [PATH] [OPTIONS] -- CMD [ARGS...])",
						       arg);
			r->path = arg;
			continue;
		}
		e = run_other_opt(c, r, id, arg);
		if (e)
			return e;
	}
	if (!p.dashdash)
		return cli_usage_error(c, "missing '--' and the command to run");
	if (p.i >= argc)
		return cli_usage_error(c, "missing the command after '--'");
	r->argv = argv + p.i;
	r->argc = argc - p.i;
	return 0;
}

static int run_add_argv(struct cli *c, json_t *params, const struct run_req *r)
{
	json_t *a = json_array();

	for (int i = 0; i < r->argc; i++) {
		json_t *s = json_string(r->argv[i]);

		if (!s) {
			json_decref(a);
			return cli_usage_error(c, "argument %d of the command is not valid UTF-8",
					       i + 1);
		}
		json_array_append_new(a, s);
	}
	json_object_set_new(params, "argv", a);
	return 0;
}

/* The whole environment; entries JSON cannot carry are left out. */
void cli_run_add_env(json_t *params)
{
	json_t *a = json_array();

	for (char **e = environ; e && *e; e++) {
		json_t *s;

		if (!strchr(*e, '='))
			continue;
		s = json_string(*e);
		if (!s) {
			fprintf(stderr, "%s: warning: environment entry %.*s is not valid UTF-8, "
					"not passed\n",
				CLI_PROG, (int)strcspn(*e, "="), *e);
			continue;
		}
		json_array_append_new(a, s);
	}
	json_object_set_new(params, "env", a);
}

void cli_run_add_cwd(json_t *params)
{
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	json_t *s = cwd ? json_string(cwd) : NULL;

	if (!s) {
		fprintf(stderr, "%s: warning: cannot pass the current directory (%s); the command "
				"runs in /\n",
			CLI_PROG, cwd ? "not valid UTF-8" : strerror(errno));
		return;
	}
	json_object_set_new(params, "cwd", s);
}

static int run_build_params(struct cli *c, struct run_req *r, const char *path, json_t **out)
{
	json_t *params = json_pack("{s:s, s:O, s:s}", "path", path, "intent", r->intent,
				   "stdio", c->json ? "capture" : "fds");
	int e;

	if (!params)
		return -ENOMEM;
	e = run_add_argv(c, params, r);
	if (e) {
		json_decref(params);
		return e;
	}
	cli_run_add_env(params);
	cli_run_add_cwd(params);
	json_object_update(params, r->extra);
	*out = params;
	return 0;
}

static int run_on_notify(struct cli *c, const char *method, json_t *params, void *ud)
{
	if (c->verbose && !strcmp(method, "call.started"))
		fprintf(stderr, "%s: started %s (pid %lld)\n", CLI_PROG,
			cli_json_str(params, "path", "?"),
			(long long)json_integer_value(json_object_get(params, "pid")));
	return 0;
}

/* The command's status as ours: code, or 128+signal. */
static int run_exit_status(const json_t *result)
{
	const json_t *ex = json_object_get(result, "exit");
	const json_t *code, *sig;

	if (!ex)
		ex = json_object_get(json_object_get(result, "verdict"), "exit");
	code = json_object_get(ex, "code");
	sig = json_object_get(ex, "signal");
	if (json_is_integer(code))
		return (int)(json_integer_value(code) & 0xff);
	if (json_is_integer(sig))
		return 128 + (int)(json_integer_value(sig) & 0x7f);
	/* No status (e.g. left frozen): success only if the verdict is ok. */
	return strcmp(cli_json_str(json_object_get(result, "verdict"), "status", ""), "ok") ?
		       CLI_EXIT_FAIL :
		       CLI_EXIT_OK;
}

/* Whether the verdict is more than the command's own failure: an intent
 * exceeded, a stop by the daemon (pressure, an operator), a kernel OOM
 * kill, a call left frozen. */
static bool agentcg_acted(const json_t *result)
{
	const json_t *v = json_object_get(result, "verdict");

	return !strcmp(cli_json_str(v, "status", ""), "exceeded") ||
	       json_object_get(v, "stopped_by") || json_object_get(v, "oom") ||
	       json_object_get(v, "frozen");
}

static int run_report(struct cli *c, json_t *result, json_t *error, bool quiet_failed)
{
	if (error) {
		cli_print_rpc_error(stderr, error);
		if (c->json) {
			json_t *wrap = json_pack("{s:O}", "error", error);

			cli_print_json(stdout, wrap);
			json_decref(wrap);
		}
		return CLI_EXIT_RUN;
	}
	if (c->json) {
		cli_print_json(stdout, result);
		return CLI_EXIT_OK;
	}
	if (c->verbose || (quiet_failed ? agentcg_acted(result) :
				    strcmp(cli_json_str(json_object_get(result, "verdict"), "status",
							""), "ok") != 0))
		cli_print_verdict(stderr, result);
	return run_exit_status(result);
}

int cli_run_call(struct cli *c, json_t *params, bool quiet_failed)
{
	static const int std_fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
	json_t *result = NULL, *error = NULL;
	int r, rc;

	if (cli_connect(c) < 0) {
		json_decref(params);
		return CLI_EXIT_RUN;
	}
	/* Nothing of ours may sit in stdio buffers while the command writes. */
	fflush(stdout);
	fflush(stderr);
	r = cli_call(c, "call.run", params, c->json ? NULL : std_fds, c->json ? 0 : 3,
		     run_on_notify, NULL, &result, &error);
	if (r < 0)
		return CLI_EXIT_RUN;
	rc = run_report(c, result, error, quiet_failed);
	json_decref(result);
	json_decref(error);
	return rc;
}

int cli_cmd_run(struct cli *c, int argc, char **argv)
{
	struct run_req r = { .intent = json_object(), .extra = json_object() };
	const char *env = getenv("AGENTCG_SESSION");
	char path[CLI_PATH_LEN];
	json_t *params = NULL;
	int e;

	if (!r.intent || !r.extra) {
		run_req_free(&r);
		return CLI_EXIT_RUN;
	}
	e = run_parse(c, argc, argv, &r);
	if (e == 0 && !r.path)
		r.path = env && *env ? env : CLI_DEFAULT_SESSION;
	if (e == 0)
		e = cli_parse_path(c, r.path, AC_LEVEL_SESSION, AC_LEVEL_SESSION, path,
				   sizeof(path));
	if (e == 0)
		e = run_build_params(c, &r, path, &params);
	run_req_free(&r);
	if (e == RUN_HELP)
		return cli_help(c);
	if (e < 0) {
		fprintf(stderr, "%s: out of memory\n", CLI_PROG);
		return CLI_EXIT_RUN;
	}
	if (e)
		return e;
	return cli_run_call(c, params, false);
}
