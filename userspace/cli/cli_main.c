// SPDX-License-Identifier: GPL-2.0
/* agentcg: global options, subcommand dispatch, option parsing helpers,
 * value validation and help text. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentcg/intent.h"
#include "agentcg/names.h"
#include "agentcg/units.h"
#include "cli.h"

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *help;
};

static const char help_main[] =
	"Usage: agentcg [--socket PATH] [--json] [-v] COMMAND [ARGS...]\n"
	"\n"
	"Runs commands as resource-limited tool calls under agentcgd and inspects\n"
	"its cgroup tree (/tenant/session/call).\n"
	"\n"
	"Commands:\n"
	"  run [PATH] [OPTIONS] -- CMD [ARGS...]  run CMD as one tool call\n"
	"  ls [PATH] [-R]                         list children (a tree with -R)\n"
	"  stat PATH                              limits, usage and events of a node\n"
	"  cat PATH/FILE                          print a cgroup file (/t/s/memory.peak)\n"
	"  set PATH FILE VALUE                    write memory.high, memory.max, cpu.max\n"
	"                                         or pids.max\n"
	"  kill PATH, freeze PATH, thaw PATH      act on a tenant, session or call\n"
	"  events [PATH]                          follow events under PATH\n"
	"  top [PATH] [--interval SEC] [--once]   sessions and calls by memory\n"
	"  session create PATH [--mem-max SIZE] [--cpu CORES] [--pids N] [--priority P]\n"
	"                 [--lang python|bash [--no-persist] [--interpreter BIN]]\n"
	"  session exec PATH [CODE|-f FILE|-] [intent options]\n"
	"  session get|set PATH NAME [VALUE], session reset|interrupt|close PATH\n"
	"  tenant create PATH [--mem-max SIZE] [--cpu CORES] [--pids N]\n"
	"  tenant remove PATH\n"
	"  info                                   daemon version, backend and root\n"
	"  metrics                                Prometheus text of the daemon's counters\n"
	"                                         (operators only)\n"
	"  mcp [--session PATH]                   an MCP server on stdio: agents' tool\n"
	"                                         calls under declared limits\n"
	"\n"
	"Global options (also accepted after the command):\n"
	"  --socket PATH   daemon socket (default: $AGENTCG_SOCKET, else\n"
	"                  " CLI_DEFAULT_SOCKET ")\n"
	"  --json          print the daemon's result object as JSON instead of text\n"
	"  -v, --verbose   more detail\n"
	"  -h, --help      this help; 'agentcg COMMAND --help' for one command\n"
	"\n"
	"Who may do what: operators (root, the configured operators) anything; a\n"
	"tenant's members create sessions in it within its policy; a session, its\n"
	"calls and events are its creator's. Others get 'permission denied' and why\n"
	"(README \"Security model\").\n"
	"\n"
	"Exit status: 0 success, 1 daemon error or lost connection, 2 usage error,\n"
	"130 interrupted; 'run' exits with the command's status (see 'agentcg run\n"
	"--help').\n";

static const char help_run[] =
	"Usage: agentcg run [PATH] [OPTIONS] -- CMD [ARGS...]\n"
	"\n"
	"Runs CMD as one tool call in session PATH (default: $AGENTCG_SESSION, else\n"
	"" CLI_DEFAULT_SESSION "; created on demand) with the declared intent. CMD gets\n"
	"agentcg's stdin, stdout, stderr, environment and working directory.\n"
	"\n"
	"Intent (missing fields come from the daemon's policy):\n"
	"  --mem SIZE          memory to stay under (memory.high: throttled above)\n"
	"  --mem-max SIZE      hard memory limit (memory.max)\n"
	"  --cpu CORES         CPU cores, e.g. 0.5 or 2\n"
	"  --pids N            most processes at once\n"
	"  --timeout DUR       wall-clock limit\n"
	"  --cpu-time DUR      CPU time budget of the whole call\n"
	"  --forks N           processes the whole call may fork\n"
	"  --label L           kind of call, e.g. pytest (policy learns per label)\n"
	"  --priority P        low, normal or high\n"
	"  --on-exceed A       kill, freeze or report\n"
	"  --retry N           run again, up to N (0-3) times, if memory pressure kills\n"
	"                      it (low or normal priority; output captured: --json)\n"
	"  --mem-hint H        memory the call expects to use, a SIZE or low, medium or\n"
	"                      high (sized by the daemon's policy): no limit, but under\n"
	"                      memory pressure a low or normal call waits to start\n"
	"                      while it would not fit\n"
	"Other options:\n"
	"  --user USER         run as USER, a name or uid (operators only)\n"
	"  --wait              wait for budget instead of being refused\n"
	"  --wait-timeout DUR  longest wait with --wait (daemon default 60s)\n"
	"  --json              capture stdout/stderr and print the result object\n"
	"                      (usage, verdict, exit, output) as JSON on stdout\n"
	"  -v, --verbose       report the start and the verdict of every call\n"
	"\n"
	"SIZE: bytes or K/M/G/T (binary), decimals allowed: 512M, 1.5G.\n"
	"DUR: a number with ms, s, m or h: 250ms, 30s, 10m.\n"
	"\n"
	"Without --json, one line 'agentcg: ...' on stderr reports the verdict when\n"
	"the call exceeded its intent or failed.\n"
	"\n"
	"Exit status:\n"
	"  without --json  the command's exit status, 128+N if it died of signal N\n"
	"  with --json     0 once the call ran, whatever its status (see \"exit\")\n"
	"  125             agentcg or agentcgd failed: cannot connect, admission\n"
	"                  refused, command not found, ...\n"
	"  2               usage error (unknown option, bad value)\n"
	"  130             agentcg interrupted (the call is killed)\n";

static const char help_ls[] =
	"Usage: agentcg ls [PATH] [-R]\n"
	"\n"
	"Lists the children of PATH (default /): kind, path, frozen, memory.current.\n"
	"  -R, --recursive   the whole subtree, indented\n";

static const char help_stat[] =
	"Usage: agentcg stat PATH\n"
	"\n"
	"Shows the kind, limits, usage, events and budget of a tenant, session or call.\n";

static const char help_cat[] =
	"Usage: agentcg cat PATH/FILE\n"
	"\n"
	"Prints a cgroup file of a node, e.g. 'agentcg cat /t/s/memory.peak'. FILE is a\n"
	"cgroup v2 name (memory.peak, memory.current, memory.max, memory.high,\n"
	"memory.events, memory.stat, cpu.max, cpu.stat, pids.current, pids.max,\n"
	"pids.peak, pids.events, cgroup.procs, cgroup.events, cgroup.freeze).\n";

static const char help_set[] =
	"Usage: agentcg set PATH FILE VALUE\n"
	"\n"
	"Writes a limit (memory.high, memory.max, cpu.max, pids.max) of a node and\n"
	"prints the new content. VALUE as cgroupfs takes it: 512M, max, \"50000 100000\".\n"
	"Operators only (root and the configuration's operators).\n";

static const char help_kill[] =
	"Usage: agentcg kill PATH\n"
	"\n"
	"Kills every process of a tenant, session or call (cgroup.kill).\n";

static const char help_freeze[] =
	"Usage: agentcg freeze PATH\n"
	"\n"
	"Freezes a tenant, session or call (cgroup.freeze); 'agentcg thaw' resumes it.\n";

static const char help_thaw[] =
	"Usage: agentcg thaw PATH\n"
	"\n"
	"Thaws a frozen tenant, session or call.\n";

static const char help_events[] =
	"Usage: agentcg events [PATH]\n"
	"\n"
	"Prints the daemon's events under PATH (default /) as they happen, one line\n"
	"each (one JSON object per line with --json), until interrupted or the daemon\n"
	"closes the connection.\n";

static const char help_top[] =
	"Usage: agentcg top [PATH] [--interval SEC] [--once]\n"
	"\n"
	"Shows the sessions and calls under PATH (default /) sorted by memory.current.\n"
	"  --interval SEC   refresh period (seconds, or a duration such as 500ms;\n"
	"                   default 2)\n"
	"  --once           print once and exit\n";

static const char help_session[] =
	"Usage: agentcg session create PATH [--mem-max SIZE] [--cpu CORES] [--pids N]\n"
	"                              [--priority low|normal|high]\n"
	"                              [--lang python|bash [--no-persist] [--interpreter BIN]]\n"
	"       agentcg session exec PATH [CODE | -f FILE | -] [intent options]\n"
	"       agentcg session get PATH NAME\n"
	"       agentcg session set PATH NAME VALUE [--string]\n"
	"       agentcg session reset PATH\n"
	"       agentcg session interrupt PATH\n"
	"       agentcg session close PATH\n"
	"\n"
	"Creates a session /tenant/session with a budget shared by its calls, or\n"
	"closes one (its running calls are killed). With --lang the session has\n"
	"its own interpreter (python or bash), which keeps its state from one exec\n"
	"to the next (--no-persist: every exec starts clean); each exec is a tool\n"
	"call with its own cgroup and the intent options of 'agentcg run' (--mem,\n"
	"--cpu-time, --timeout, ...). exec takes the code as an argument, from a\n"
	"file, or from stdin, prints the cell's output and the value of a trailing\n"
	"Python expression, and exits 1 if the cell raised or failed. get prints a\n"
	"variable as JSON; set takes a JSON value. interrupt stops the running cell\n"
	"and keeps the state; reset clears it (or starts a new interpreter after one\n"
	"died).\n";

static const char help_tenant[] =
	"Usage: agentcg tenant create PATH [--mem-max SIZE] [--cpu CORES] [--pids N]\n"
	"       agentcg tenant remove PATH\n"
	"\n"
	"Creates a tenant /tenant with a budget, or removes one. Operators only.\n";

static const char help_info[] =
	"Usage: agentcg info\n"
	"\n"
	"Shows the daemon's version, cgroup backend, root, socket, pid and running calls.\n";

static const char help_metrics[] =
	"Usage: agentcg metrics\n"
	"\n"
	"Prints the daemon's metrics in the Prometheus text format (version 0.0.4):\n"
	"calls by tenant and verdict, admission waits and refusals, pressure bands and\n"
	"containment steps by domain, session memory, pools, BPF records, the daemon's\n"
	"own memory and fds. The same text is served on GET /metrics when the\n"
	"configuration sets metrics_listen. Operators only: the series name tenants and\n"
	"sessions. With --json, the result object {\"text\", \"content_type\"}.\n";
static const char help_mcp[] =
	"Usage: agentcg mcp [--session PATH] [--socket PATH] [-v]\n"
	"\n"
	"Serves the Model Context Protocol (MCP) on stdin and stdout, so that an MCP\n"
	"client (Claude Desktop, Claude Code, Cursor, an agent SDK) runs its tool calls\n"
	"under agentcgd: each call in a cgroup of its own, within the limits the model\n"
	"declares in the call's arguments, and back comes what it used and a verdict.\n"
	"Messages are JSON-RPC 2.0, one per line; stdout carries nothing else, logs go\n"
	"to stderr.\n"
	"\n"
	"Protocol: versions 2025-11-25, 2025-06-18 and 2025-03-26 (a client asking for\n"
	"another one is answered with 2025-11-25, and decides). Requests initialize,\n"
	"ping, tools/list, tools/call; notifications notifications/initialized and\n"
	"notifications/cancelled (a cancelled command is killed, a cancelled cell\n"
	"interrupted). Tool calls run concurrently, at most 16 at once. Not served:\n"
	"JSON-RPC batches, resources, prompts, logging, tasks, server/discover.\n"
	"\n"
	"Tools:\n"
	"  run_command        one command: command (a shell line for /bin/sh -c) or\n"
	"                     argv, cwd, env (added to agentcg mcp's environment), wait\n"
	"  python_exec        code in a persistent Python interpreter\n"
	"  bash_exec          code in a persistent bash\n"
	"  session_create     a session: lang (python or bash), persist, its budget\n"
	"                     (memory_max, cpu, pids) and priority\n"
	"  session_get        an interpreter's variable, as JSON\n"
	"  session_set        set one to a JSON value\n"
	"  session_interrupt  stop the running cell, keep the state\n"
	"  session_reset      clear the namespace, or restart a dead interpreter\n"
	"  session_close      kill a session's calls and remove it\n"
	"Every tool takes session (/tenant/name, or a bare name in the default\n"
	"session's tenant). run_command, python_exec and bash_exec take the intent\n"
	"fields of 'agentcg run': memory, memory_max, memory_hint, cpu, pids, timeout,\n"
	"cpu_time, forks, priority, label, and retry (run_command); sizes as \"512M\",\n"
	"durations as \"30s\". on_exceed is left out: the policy's (kill) applies.\n"
	"\n"
	"Results: a call's or cell's result object (exit, stdout, stderr, usage,\n"
	"verdict with its exceeded entries; value and error of a cell) is the tool\n"
	"result's structuredContent (from 2025-06-18; a second text before), and a\n"
	"text leads with the verdict and, when a limit was passed, what to change in\n"
	"the arguments, e.g. 'raise memory_max above 64M (e.g. memory_max \"128M\")'.\n"
	"A verdict other than ok is a tool error (isError: true), and so is a refused\n"
	"request: a bad intent (memory \"lots\"), admission, an unknown session, a\n"
	"daemon that cannot be reached. An unknown tool is a JSON-RPC error (-32602).\n"
	"\n"
	"Sessions: agentcg mcp speaks to agentcgd as the user who runs it, so what it\n"
	"does is that user's, under that user's tenants and quotas. The default session\n"
	"S is --session, else $AGENTCG_SESSION, else /default/mcp-PID: run_command runs\n"
	"in S, python_exec in S-python, bash_exec in S-bash, each made on first use,\n"
	"as is any other session these three name.\n"
	"When stdin closes, the calls running are finished and answered; then (and on\n"
	"SIGTERM, SIGINT or SIGHUP, which stop the running calls first) every session\n"
	"made here is closed; those found existing are not.\n"
	"\n"
	"Options:\n"
	"  --session PATH   the default session /tenant/name (a name of at most 57\n"
	"                   characters: -python and -bash are added to it)\n"
	"  --socket PATH    the daemon's socket (default: $AGENTCG_SOCKET, else\n"
	"                   " CLI_DEFAULT_SOCKET ")\n"
	"  -v, --verbose    log each request, tool call and verdict on stderr\n"
	"\n"
	"Bounds: a request line over 16 MiB is refused with a JSON-RPC error (id null)\n"
	"and skipped; outputs are bounded by the daemon's output_limit, the text of a\n"
	"result at 4 MiB.\n"
	"\n"
	"A client's configuration (e.g. claude_desktop_config.json):\n"
	"  {\"mcpServers\": {\"agentcg\": {\"command\": \"agentcg\",\n"
	"                              \"args\": [\"mcp\", \"--session\", \"/default/me\"]}}}\n"
	"\n"
	"Exit status: 0 once stdin closed, 128+N after signal N, 1 if it could not\n"
	"start, 2 usage error.\n";

static const struct cli_cmd cli_cmds[] = {
	{ "run", cli_cmd_run, help_run },
	{ "ls", cli_cmd_ls, help_ls },
	{ "stat", cli_cmd_stat, help_stat },
	{ "cat", cli_cmd_cat, help_cat },
	{ "set", cli_cmd_set, help_set },
	{ "kill", cli_cmd_kill, help_kill },
	{ "freeze", cli_cmd_freeze, help_freeze },
	{ "thaw", cli_cmd_thaw, help_thaw },
	{ "events", cli_cmd_events, help_events },
	{ "top", cli_cmd_top, help_top },
	{ "session", cli_cmd_session, help_session },
	{ "tenant", cli_cmd_tenant, help_tenant },
	{ "info", cli_cmd_info, help_info },
	{ "metrics", cli_cmd_metrics, help_metrics },
	{ "mcp", cli_cmd_mcp, help_mcp },
};

static const struct cli_cmd *cli_find_cmd(const char *name)
{
	for (size_t i = 0; i < AC_ARRAY_SIZE(cli_cmds); i++)
		if (strcmp(cli_cmds[i].name, name) == 0)
			return &cli_cmds[i];
	return NULL;
}

void cli_print_help(struct cli *c, FILE *f)
{
	const struct cli_cmd *cmd = NULL;

	if (c->cmd) {
		/* "session create" -> "session" */
		char word[32];
		size_t n = strcspn(c->cmd, " ");

		if (n < sizeof(word)) {
			memcpy(word, c->cmd, n);
			word[n] = '\0';
			cmd = cli_find_cmd(word);
		}
	}
	fputs(cmd ? cmd->help : help_main, f);
}

int cli_help(struct cli *c)
{
	cli_print_help(c, stdout);
	return CLI_EXIT_OK;
}

int cli_usage_error(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s%s%s: ", CLI_PROG, c->cmd ? " " : "", c->cmd ? c->cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s%s%s --help'.\n", CLI_PROG, c->cmd ? " " : "",
		c->cmd ? c->cmd : "");
	return CLI_EXIT_USAGE;
}

/* ---- option parsing ---- */

enum { CLI_O_JSON = 1000, CLI_O_VERBOSE, CLI_O_SOCKET, CLI_O_HELP };

static const struct cli_opt cli_common_opts[] = {
	{ "json", 0, false, CLI_O_JSON },
	{ "verbose", 'v', false, CLI_O_VERBOSE },
	{ "socket", 0, true, CLI_O_SOCKET },
	{ "help", 'h', false, CLI_O_HELP },
	{ NULL, 0, false, 0 },
};

static const struct cli_opt *cli_opt_find(const struct cli_opt *opts, const char *name,
					  size_t name_len, char short_name)
{
	for (; opts && opts->id; opts++) {
		if (short_name) {
			if (opts->short_name == short_name)
				return opts;
		} else if (strlen(opts->name) == name_len &&
			   strncmp(opts->name, name, name_len) == 0) {
			return opts;
		}
	}
	return NULL;
}

/* Parses argv[p->i] as an option of opts or the common options. */
static int cli_opt_one(struct cli_parser *p, const struct cli_opt *opts, const char **arg)
{
	const char *a = p->argv[p->i++];
	const char *name = a + 1, *eq = NULL;
	size_t name_len = 0;
	char short_name = 0;
	const struct cli_opt *o;

	if (a[1] == '-') {
		name = a + 2;
		eq = strchr(name, '=');
		name_len = eq ? (size_t)(eq - name) : strlen(name);
	} else if (a[2] == '\0') {
		short_name = a[1];
	} else {
		cli_usage_error(p->c, "unknown option '%s'", a);
		return CLI_OPT_ERROR;
	}
	o = cli_opt_find(opts, name, name_len, short_name);
	if (!o)
		o = cli_opt_find(cli_common_opts, name, name_len, short_name);
	if (!o) {
		cli_usage_error(p->c, "unknown option '%s'", a);
		return CLI_OPT_ERROR;
	}
	if (!o->has_arg) {
		if (eq) {
			cli_usage_error(p->c, "option '--%s' takes no value", o->name);
			return CLI_OPT_ERROR;
		}
		return o->id;
	}
	if (eq) {
		*arg = eq + 1;
	} else if (p->i < p->argc) {
		*arg = p->argv[p->i++];
	} else {
		cli_usage_error(p->c, "option '%s' needs a value", a);
		return CLI_OPT_ERROR;
	}
	return o->id;
}

int cli_opt_next(struct cli_parser *p, const struct cli_opt *opts, const char **arg)
{
	for (;;) {
		const char *a;
		int id;

		*arg = NULL;
		if (p->i >= p->argc)
			return CLI_OPT_END;
		a = p->argv[p->i];
		if (strcmp(a, "--") == 0) {
			p->i++;
			p->dashdash = true;
			return CLI_OPT_END;
		}
		if (a[0] != '-' || a[1] == '\0') {
			p->i++;
			*arg = a;
			return CLI_OPT_POSITIONAL;
		}
		id = cli_opt_one(p, opts, arg);
		switch (id) {
		case CLI_O_JSON:
			p->c->json = true;
			continue;
		case CLI_O_VERBOSE:
			p->c->verbose = true;
			continue;
		case CLI_O_SOCKET:
			p->c->socket_path = *arg;
			continue;
		case CLI_O_HELP:
			return CLI_OPT_HELP;
		default:
			return id;
		}
	}
}

/* ---- value validation ---- */

int cli_check_size(struct cli *c, const char *flag, const char *s)
{
	uint64_t v;
	int r = ac_parse_size(s, &v);

	if (r == -ERANGE)
		return cli_usage_error(c, "size too large for %s: '%s'", flag, s);
	if (r < 0)
		return cli_usage_error(c, "invalid size for %s: '%s' (bytes or K/M/G/T, e.g. 512M)",
				       flag, s);
	return 0;
}

int cli_check_duration(struct cli *c, const char *flag, const char *s)
{
	uint64_t ns;
	int r = ac_parse_duration(s, &ns);

	if (r == -ERANGE)
		return cli_usage_error(c, "duration too long for %s: '%s'", flag, s);
	if (r < 0)
		return cli_usage_error(c,
				       "invalid duration for %s: '%s' (a number with ms, s, m or h, e.g. 30s)",
				       flag, s);
	return 0;
}

int cli_parse_cores(struct cli *c, const char *flag, const char *s, bool allow_zero, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0 || (v == 0 && !allow_zero) ||
	    (v != 0 && (v < AC_CPU_MIN || v > AC_CPU_MAX)))
		return cli_usage_error(c, "invalid number of cores for %s: '%s' (%s%g..%g, e.g. 1.5)",
				       flag, s, allow_zero ? "0 or " : "", AC_CPU_MIN, AC_CPU_MAX);
	*out = v;
	return 0;
}

int cli_parse_count(struct cli *c, const char *flag, const char *s, json_int_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < 1 || v > AC_PIDS_MAX)
		return cli_usage_error(c, "invalid count for %s: '%s' (1..%u)", flag, s,
				       AC_PIDS_MAX);
	*out = (json_int_t)v;
	return 0;
}

static const char *const cli_level_names[] = { "root", "tenant", "session", "call" };
static const char *const cli_level_forms[] = { "/", "/tenant", "/tenant/session",
					       "/tenant/session/call" };

int cli_parse_path(struct cli *c, const char *s, int min_depth, int max_depth, char *buf,
		   size_t len)
{
	struct ac_path p;

	if (ac_path_parse(s, &p) < 0)
		return cli_usage_error(c, "invalid path '%s' (%s, names of [A-Za-z0-9_.-] "
					  "not starting with '.')",
				       s, cli_level_forms[max_depth]);
	if (p.depth < min_depth || p.depth > max_depth) {
		if (min_depth == max_depth)
			return cli_usage_error(c, "'%s' is not a %s path (%s)", s,
					       cli_level_names[min_depth],
					       cli_level_forms[min_depth]);
		return cli_usage_error(c, "'%s' must be a %s to %s path", s,
				       cli_level_names[min_depth], cli_level_names[max_depth]);
	}
	if (ac_path_format(&p, buf, len) < 0)
		return cli_usage_error(c, "path too long: '%s'", s);
	return 0;
}

/* ---- main ---- */

static void cli_on_signal(int sig)
{
	/* The daemon kills a running call when the connection closes. */
	_exit(128 + sig);
}

static void cli_setup_signals(void)
{
	struct sigaction sa = { .sa_handler = cli_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void cli_fix_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* open() takes the lowest free number: fd itself. */
		if (open("/dev/null", O_RDWR) < 0)
			break;
	}
}

/* Global options before the subcommand: 0 with *cmd_index, or the exit
 * code to return (help printed, usage error). */
static int cli_parse_global(struct cli *c, int argc, char **argv, int *cmd_index)
{
	struct cli_parser p = { .c = c, .argc = argc, .argv = argv, .i = 1 };
	const char *arg;

	switch (cli_opt_next(&p, NULL, &arg)) {
	case CLI_OPT_POSITIONAL:
		*cmd_index = p.i - 1;
		return 0;
	case CLI_OPT_HELP:
		cli_print_help(c, stdout);
		return -1;
	case CLI_OPT_ERROR:
		return CLI_EXIT_USAGE;
	default:
		return cli_usage_error(c, "missing command");
	}
}

int cli_main(int argc, char **argv)
{
	struct cli c;
	const struct cli_cmd *cmd;
	const char *env;
	int i = 0, rc;

	cli_fix_stdio();
	cli_init(&c);
	env = getenv("AGENTCG_SOCKET");
	c.socket_path = env && *env ? env : CLI_DEFAULT_SOCKET;
	cli_setup_signals();

	rc = cli_parse_global(&c, argc, argv, &i);
	if (rc)
		return rc < 0 ? CLI_EXIT_OK : rc;
	cmd = cli_find_cmd(argv[i]);
	if (!cmd)
		return cli_usage_error(&c, "unknown command '%s'", argv[i]);
	c.cmd = cmd->name;
	/* Subcommands see their own argv: argv[0] is the command name. */
	rc = cmd->fn(&c, argc - i, argv + i);
	if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
		fprintf(stderr, "%s: write error: %m\n", CLI_PROG);
		rc = CLI_EXIT_FAIL;
	}
	cli_done(&c);
	return rc;
}
