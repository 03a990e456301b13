/* SPDX-License-Identifier: GPL-2.0 */
/* agentcg: the command-line client of agentcgd. One context struct
 * (struct cli) carries everything; modules:
 *   agentcg.c     main() of agentcg
 *   cli_main.c    options, dispatch, usage text
 *   cli_client.c  the unix-socket JSON-RPC connection
 *   cli_run.c     `agentcg run`
 *   cli_intent.c  intent options, shared by run and session exec
 *   cli_session.c `agentcg session exec|get|set|reset|interrupt`
 *   cli_cmds.c    every other subcommand
 *   cli_format.c  human output
 *   mcp*.c        `agentcg mcp`, an MCP server on stdio (mcp.h) */
#ifndef AGENTCG_CLI_H
#define AGENTCG_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agentcg/buf.h"
#include "agentcg/util.h"

#define CLI_PROG "agentcg"
#define CLI_DEFAULT_SOCKET "/run/agentcg/agentcgd.sock"
#define CLI_DEFAULT_SESSION "/default/cli"
#define CLI_PATH_LEN 256 /* "/t/s/c": 3 names of at most 64 */

/* Exit codes. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1	   /* daemon error or transport failure */
#define CLI_EXIT_USAGE 2   /* bad command line */
#define CLI_EXIT_RUN 125   /* `run`: agentcg or agentcgd failed, not the command */

/* Reply lines can hold a whole captured call output (JSON-escaped). */
#define CLI_LINE_INIT (64u * 1024)
#define CLI_LINE_MAX (64u * 1024 * 1024)

struct cli_rbuf {
	struct ac_buf b;
	size_t scanned; /* prefix already known to hold no '\n' */
};

struct cli {
	const char *socket_path;
	bool json;    /* --json: raw result objects */
	bool verbose; /* -v */
	const char *cmd; /* subcommand, for messages ("run", "session create") */
	int fd;	      /* connection, -1 when not connected */
	int64_t next_id;
	struct cli_rbuf rbuf;
};

/* ---- intent options, shared by run and session exec (cli_intent.c) ---- */

enum {
	RUN_MEM = 1,
	RUN_MEM_MAX,
	RUN_CPU,
	RUN_PIDS,
	RUN_TIMEOUT,
	RUN_CPU_TIME,
	RUN_FORKS,
	RUN_LABEL,
	RUN_PRIORITY,
	RUN_ON_EXCEED,
	RUN_RETRY,
	RUN_MEM_HINT,
	CLI_INTENT_OPT_LAST = RUN_MEM_HINT,
};
#define CLI_INTENT_OPTS                                                                      \
	{ "mem", 0, true, RUN_MEM }, { "mem-max", 0, true, RUN_MEM_MAX },                     \
	{ "cpu", 0, true, RUN_CPU }, { "pids", 0, true, RUN_PIDS },                           \
	{ "timeout", 0, true, RUN_TIMEOUT }, { "cpu-time", 0, true, RUN_CPU_TIME },           \
	{ "forks", 0, true, RUN_FORKS }, { "label", 0, true, RUN_LABEL },                     \
	{ "priority", 0, true, RUN_PRIORITY }, { "on-exceed", 0, true, RUN_ON_EXCEED },       \
	{ "retry", 0, true, RUN_RETRY }, { "mem-hint", 0, true, RUN_MEM_HINT }

/* What kind of value an intent field takes (the CLI checks option
 * values by it; `agentcg mcp` types its input schemas by it). */
enum cli_intent_kind {
	CLI_IK_SIZE = 1,  /* "512M", "1.5G" */
	CLI_IK_DURATION,  /* "30s", "250ms" */
	CLI_IK_CORES,	  /* a number of cores */
	CLI_IK_COUNT,	  /* 1..AC_PIDS_MAX */
	CLI_IK_LABEL,	  /* a string of 1..AC_LABEL_MAX characters */
	CLI_IK_PRIORITY,  /* low, normal, high */
	CLI_IK_ON_EXCEED, /* kill, freeze, report */
	CLI_IK_RETRY,	  /* 0..AC_RETRY_MAX */
	CLI_IK_HINT,	  /* a size, or low, medium, high */
};

/* One intent field: its key in the intent object, its CLI option. */
struct cli_intent_field {
	const char *key;  /* "memory" */
	const char *flag; /* "--mem" */
	enum cli_intent_kind kind;
};

/* The field of option id (RUN_MEM .. CLI_INTENT_OPT_LAST); NULL for
 * another id. */
const struct cli_intent_field *cli_intent_field(int id);

struct cli;
/* One intent option (id of CLI_INTENT_OPTS): validated, then stored in
 * intent as the daemon takes it. 0 or a usage exit code. */
int cli_intent_opt(struct cli *c, json_t *intent, int id, const char *arg);

/* ---- the program (cli_main.c) ---- */

/* agentcg's whole command line: global options, then a subcommand.
 * Returns the exit code. */
int cli_main(int argc, char **argv);
/* A closed stdin/stdout/stderr becomes /dev/null, so that neither a
 * socket lands on 0..2 nor a call is passed a closed fd. */
void cli_fix_stdio(void);

/* ---- option parsing (cli_main.c) ---- */

struct cli_opt {
	const char *name; /* long name without "--" */
	char short_name;  /* 0: none */
	bool has_arg;
	int id;		  /* > 0 */
};

enum {
	CLI_OPT_POSITIONAL = 0, /* *arg is a non-option argument */
	CLI_OPT_END = -1,	/* no more arguments, or "--" (see dashdash) */
	CLI_OPT_ERROR = -2,	/* usage error, already reported */
	CLI_OPT_HELP = -3,	/* -h / --help */
};

struct cli_parser {
	struct cli *c;
	int argc;
	char **argv;
	int i;	       /* next argument */
	bool dashdash; /* stopped at "--": argv[i..] follow it */
};

/* Next option of opts, or one of the options every subcommand accepts
 * (--json, -v/--verbose, --socket PATH, -h/--help; the first three are
 * applied to p->c directly and skipped). */
int cli_opt_next(struct cli_parser *p, const struct cli_opt *opts, const char **arg);

/* "agentcg CMD: msg" + "Try 'agentcg CMD --help'." on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(struct cli *c, const char *fmt, ...) AC_PRINTF(2, 3);
/* The help text of c->cmd (or the whole program when NULL) on f. */
void cli_print_help(struct cli *c, FILE *f);
/* -h handling for subcommands: prints help on stdout, returns 0. */
int cli_help(struct cli *c);

/* Validators: 0, or a usage error already printed (CLI_EXIT_USAGE). */
int cli_check_size(struct cli *c, const char *flag, const char *s);
int cli_check_duration(struct cli *c, const char *flag, const char *s);
int cli_parse_cores(struct cli *c, const char *flag, const char *s, bool allow_zero, double *out);
int cli_parse_count(struct cli *c, const char *flag, const char *s, json_int_t *out);
/* Parses and canonicalises an operator path into buf; min/max depth
 * (0 root .. 3 call) are checked. */
int cli_parse_path(struct cli *c, const char *s, int min_depth, int max_depth, char *buf,
		   size_t len);

/* ---- connection (cli_client.c) ---- */

/* Called for each notification (a message with "method" and no "id")
 * that arrives while waiting; a negative return aborts the wait. */
typedef int (*cli_notify_fn)(struct cli *c, const char *method, json_t *params, void *ud);

void cli_init(struct cli *c);
void cli_done(struct cli *c);

/* 0, or -errno with a message naming the socket already printed;
 * -EPERM when the socket is served by a uid that is neither root nor
 * ours (nothing was sent). */
int cli_connect(struct cli *c);
/* The same, printing nothing when quiet (agentcg-sh words its own). */
int cli_connect_opt(struct cli *c, bool quiet);

/* Sends one request; fds (may be NULL) go with SCM_RIGHTS in the same
 * sendmsg as the start of the line. Steals params. Returns its id (> 0)
 * or -errno. */
int64_t cli_send(struct cli *c, const char *method, json_t *params, const int *fds, size_t nfds);

/* Next complete message. 0; -ECONNRESET when the daemon closed the
 * connection; -EMSGSIZE for a line over CLI_LINE_MAX; -EPROTO for a line
 * that is not a JSON object; other -errno. */
int cli_recv(struct cli *c, json_t **out);

/* Sends a request and waits for its reply, handing notifications to fn
 * (NULL: ignored). Returns 0 with *result, 1 with *error (the JSON-RPC
 * error object), or -errno (transport failure, already reported). */
int cli_call(struct cli *c, const char *method, json_t *params, const int *fds, size_t nfds,
	     cli_notify_fn fn, void *ud, json_t **result, json_t **error);

/* Connects, calls, and handles the outcome the way every non-run command
 * does: 0 with *result, or the exit code to return (errors printed; in
 * --json mode the error object also goes to stdout). */
int cli_simple_call(struct cli *c, const char *method, json_t *params, json_t **result,
		    int fail_code);

/* Like cli_recv, but reads only what the socket holds now (for a
 * caller that polls the fd): 1 with *out, 0 when no complete message has
 * arrived yet, or cli_recv's errors. Call it until it returns 0. */
int cli_recv_nowait(struct cli *c, json_t **out);

/* Reports a transport error of cli_call/cli_recv. */
void cli_report_transport(struct cli *c, int err);

/* ---- output (cli_format.c) ---- */

void cli_print_json(FILE *f, const json_t *v);	      /* pretty, indent 2 */
void cli_print_json_line(FILE *f, const json_t *v);   /* compact, one line */
/* "agentcg: <message>" and the error.data fields, one per line. */
void cli_print_rpc_error(FILE *f, const json_t *error);
/* "key: value" lines, nested objects indented, sizes/times human. */
void cli_print_kv(FILE *f, const json_t *obj, int indent);
void cli_print_list(FILE *f, const json_t *result, bool recursive);
void cli_print_top(FILE *f, const json_t *result);
void cli_print_event(FILE *f, const json_t *event);
/* "agentcg: <path> <status>: <summary> [exit; peak, cpu, wall]" of a
 * call.run result. */
void cli_print_verdict(FILE *f, const json_t *result);
/* File content as is, with a final newline if it lacks one. */
void cli_print_content(FILE *f, const json_t *result);

/* Value helpers. */
const char *cli_json_str(const json_t *obj, const char *key, const char *def);
/* Integer bytes -> "1.5G"; strings as they are; anything else "-". */
void cli_format_size_json(const json_t *v, char *buf, size_t len);
/* {"code": N} -> "exit N"; {"signal": N, "signal_name": S} -> "killed by S". */
void cli_format_exit(const json_t *exit_obj, char *buf, size_t len);

/* ---- what a command takes from agentcg's own process (cli_run.c) ---- */

/* params.env: agentcg's whole environment as ["K=V", ...] (entries JSON
 * cannot carry are left out, with a warning). */
void cli_run_add_env(json_t *params);
/* params.cwd: agentcg's working directory (left out, with a warning, when
 * it cannot be passed: the daemon then uses /). */
void cli_run_add_cwd(json_t *params);
/* Runs one call.run whose params are built (stdio "fds": our own
 * stdin/stdout/stderr go with it), reports a verdict that is not ok on
 * stderr in one line, and returns the command's exit status (code, or
 * 128+signal), or CLI_EXIT_RUN when agentcg or the daemon failed.
 * quiet_failed: a command that merely failed on its own (exit code,
 * signal) is not reported, only what agentcg or the kernel did to it.
 * Steals params. */
int cli_run_call(struct cli *c, json_t *params, bool quiet_failed);

/* ---- subcommands ---- */

int cli_cmd_run(struct cli *c, int argc, char **argv);
int cli_cmd_ls(struct cli *c, int argc, char **argv);
int cli_cmd_stat(struct cli *c, int argc, char **argv);
int cli_cmd_cat(struct cli *c, int argc, char **argv);
int cli_cmd_set(struct cli *c, int argc, char **argv);
int cli_cmd_kill(struct cli *c, int argc, char **argv);
int cli_cmd_freeze(struct cli *c, int argc, char **argv);
int cli_cmd_thaw(struct cli *c, int argc, char **argv);
int cli_cmd_events(struct cli *c, int argc, char **argv);
int cli_cmd_top(struct cli *c, int argc, char **argv);
int cli_cmd_session(struct cli *c, int argc, char **argv);
/* session exec|get|set|reset|interrupt (cli_session.c); argv[0] is the
 * sub-subcommand. */
int cli_session_interp(struct cli *c, int argc, char **argv);
int cli_cmd_tenant(struct cli *c, int argc, char **argv);
int cli_cmd_info(struct cli *c, int argc, char **argv);
int cli_cmd_metrics(struct cli *c, int argc, char **argv);
/* agentcg mcp: an MCP server on stdio (mcp.c) */
int cli_cmd_mcp(struct cli *c, int argc, char **argv);

#endif
