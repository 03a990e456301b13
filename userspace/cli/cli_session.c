// SPDX-License-Identifier: GPL-2.0
/* agentcg session exec|get|set|reset|interrupt: the interpreter of a
 * session made with `session create PATH --lang python|bash`.
 *
 *   exec PATH [CODE] [-f FILE] [intent options]   code from CODE, FILE, or
 *                                                 stdin ("-" or neither)
 *   get PATH NAME                                 a variable, as JSON
 *   set PATH NAME VALUE                           VALUE is JSON (--string:
 *                                                 taken as it is)
 *   reset PATH, interrupt PATH */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcg/names.h"
#include "cli.h"

#define CODE_MAX (16u << 20)

enum { OPT_FILE = CLI_INTENT_OPT_LAST + 1, OPT_STRING };

static const struct cli_opt exec_opts[] = {
	CLI_INTENT_OPTS,
	{ "file", 'f', true, OPT_FILE },
	{ NULL, 0, false, 0 },
};

static const struct cli_opt set_opts[] = {
	{ "string", 0, false, OPT_STRING },
	{ NULL, 0, false, 0 },
};

static const struct cli_opt no_opts[] = { { NULL, 0, false, 0 } };

/* The whole of a stream, bounded. NULL with errno set on failure. */
static char *read_all(FILE *f, const char *what, struct cli *c)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);

	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);

		len += n;
		if (n == 0)
			break;
		if (len + 1 == cap) {
			char *nb = cap >= CODE_MAX ? NULL : realloc(buf, cap * 2);

			if (!nb) {
				free(buf);
				cli_usage_error(c, "%s: more than %u bytes of code", what, CODE_MAX);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf)
		buf[len] = '\0';
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

/* Text of a result field, written as it is. */
static void put_text(FILE *f, const json_t *v)
{
	if (json_is_string(v))
		fwrite(json_string_value(v), 1, json_string_length(v), f);
}

static int exec_print(struct cli *c, const json_t *res)
{
	const json_t *v = json_object_get(res, "value"), *err = json_object_get(res, "error");
	const json_t *verdict = json_object_get(res, "verdict");
	const char *status = json_string_value(json_object_get(verdict, "status"));

	put_text(stdout, json_object_get(res, "stdout"));
	put_text(stderr, json_object_get(res, "stderr"));
	if (v) {
		cli_print_json_line(stdout, v);
	} else if (json_is_string(json_object_get(res, "value_repr"))) {
		put_text(stdout, json_object_get(res, "value_repr"));
		putchar('\n');
	}
	if (json_is_string(json_object_get(err, "traceback")))
		put_text(stderr, json_object_get(err, "traceback"));
	fflush(stdout);
	if (status && strcmp(status, "ok"))
		fprintf(stderr, "%s: %s\n", CLI_PROG,
			json_string_value(json_object_get(verdict, "summary")) ?: status);
	return json_is_true(json_object_get(res, "ok")) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int call_and_print(struct cli *c, const char *method, json_t *params,
			  int (*print)(struct cli *c, const json_t *res))
{
	json_t *res = NULL;
	int e = cli_simple_call(c, method, params, &res, CLI_EXIT_FAIL);

	if (e)
		return e;
	if (c->json) {
		cli_print_json(stdout, res);
		e = CLI_EXIT_OK;
	} else {
		e = print(c, res);
	}
	json_decref(res);
	return e;
}

static int print_value(struct cli *c, const json_t *res)
{
	cli_print_json(stdout, json_object_get(res, "value"));
	return CLI_EXIT_OK;
}

static int print_done(struct cli *c, const json_t *res)
{
	if (json_object_get(res, "interrupted"))
		printf("%s %s\n", cli_json_str(res, "path", "?"),
		       json_is_true(json_object_get(res, "interrupted")) ? "interrupted" :
									    "had nothing running");
	else if (json_is_true(json_object_get(res, "restarted")))
		printf("%s: started a new interpreter\n", cli_json_str(res, "path", "?"));
	else
		printf("%s: %s\n", cli_json_str(res, "path", "?"), c->cmd);
	return CLI_EXIT_OK;
}

int cli_session_interp(struct cli *c, int argc, char **argv)
{
	const char *sub = argv[0], *file = NULL, *arg, *pos[3] = { NULL };
	bool exec = !strcmp(sub, "exec"), set = !strcmp(sub, "set"), get = !strcmp(sub, "get");
	int want = exec ? 2 : set ? 3 : get ? 2 : 1, npos = 0, id, e;
	struct cli_parser p = { .c = c, .argc = argc, .argv = argv, .i = 1 };
	json_t *params = json_object(), *intent = json_object();
	bool raw_string = false;
	char path[CLI_PATH_LEN];

	while ((id = cli_opt_next(&p, exec ? exec_opts : set ? set_opts : no_opts, &arg)) !=
	       CLI_OPT_END) {
		e = 0;
		if (id == CLI_OPT_HELP) {
			e = cli_help(c); /* and nothing else: exit 0 */
			goto out_e;
		} else if (id == CLI_OPT_ERROR) {
			e = CLI_EXIT_USAGE;
		} else if (id == CLI_OPT_POSITIONAL) {
			if (npos == want)
				e = cli_usage_error(c, "unexpected argument '%s'", arg);
			else
				pos[npos++] = arg;
		} else if (id == OPT_FILE) {
			file = arg;
		} else if (id == OPT_STRING) {
			raw_string = true;
		} else {
			e = cli_intent_opt(c, intent, id, arg);
		}
		if (e)
			goto out_e;
	}
	if (npos < (exec ? 1 : want)) {
		e = cli_usage_error(c, "missing %s", npos == 0 ? "PATH" : npos == 1 ? "NAME" : "VALUE");
		goto out_e;
	}
	if ((e = cli_parse_path(c, pos[0], AC_LEVEL_SESSION, AC_LEVEL_SESSION, path, sizeof(path))))
		goto out_e;
	json_object_set_new(params, "path", json_string(path));
	if (exec) {
		char *code = NULL;

		if (pos[1] && file) {
			e = cli_usage_error(c, "give the code as CODE or with -f FILE, not both");
			goto out_e;
		}
		if (pos[1] && strcmp(pos[1], "-")) {
			code = strdup(pos[1]);
		} else if (file) {
			FILE *f = fopen(file, "r");

			if (!f) {
				e = cli_usage_error(c, "cannot read %s: %s", file, strerror(errno));
				goto out_e;
			}
			code = read_all(f, file, c);
			fclose(f);
		} else {
			code = read_all(stdin, "stdin", c);
		}
		if (!code) {
			e = CLI_EXIT_USAGE;
			goto out_e;
		}
		json_object_set_new(params, "code", json_string(code));
		free(code);
		if (!json_object_get(params, "code")) {
			e = cli_usage_error(c, "the code is not valid UTF-8");
			goto out_e;
		}
		if (json_object_size(intent))
			json_object_set(params, "intent", intent);
		json_decref(intent);
		return call_and_print(c, "session.exec", params, exec_print);
	}
	json_decref(intent);
	intent = NULL;
	if (get || set)
		json_object_set_new(params, "name", json_string(pos[1]));
	if (set) {
		json_t *v = raw_string ? json_string(pos[2]) :
					 json_loads(pos[2], JSON_DECODE_ANY, NULL);

		if (!v) {
			e = cli_usage_error(c, "VALUE must be JSON (e.g. 42, \"text\", [1, 2], "
					       "{\"k\": true}); --string takes it as a string");
			goto out_e;
		}
		json_object_set_new(params, "value", v);
		return call_and_print(c, "session.set", params, print_done);
	}
	if (get)
		return call_and_print(c, "session.get", params, print_value);
	return call_and_print(c, !strcmp(sub, "reset") ? "session.reset" : "session.interrupt",
			      params, print_done);
out_e:
	json_decref(params);
	json_decref(intent);
	return e;
}
