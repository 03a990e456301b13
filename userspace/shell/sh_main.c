// SPDX-License-Identifier: GPL-2.0
/* agentcg-sh: bash (or sh) for an agent that cannot be changed. Each
 * invocation is one call of agentcgd in $AGENTCG_SESSION: the real shell
 * runs there with the very arguments, environment, working directory and
 * stdin/stdout/stderr it was given, and its exit status is ours. Inside
 * such a call, or with no daemon to reach, it is the real shell. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "agentcg/intent.h"
#include "agentcg/names.h"
#include "sh.h"

/* Exit statuses of our own (the shell's are its own). */
#define SH_EXIT_USAGE 2	     /* bad AGENTCG_INTENT or AGENTCG_SESSION, as bash's usage errors */
#define SH_EXIT_NO_SHELL 127 /* no real shell to run */

static const char sh_help[] =
	"Usage: agentcg-sh [BASH ARGUMENTS...]\n"
	"       /usr/lib/agentcg/bash -c 'COMMAND'\n"
	"\n"
	"A drop-in bash for agents that cannot be changed (coding agents that run\n"
	"`bash -c COMMAND`). Put /usr/lib/agentcg first in the agent's PATH, or name\n"
	"/usr/lib/agentcg/bash in its SHELL: every shell it starts becomes one call of\n"
	"agentcgd, in its own cgroup, with the intent below. The real shell runs the\n"
	"call with the same arguments, environment, working directory, stdin, stdout\n"
	"and stderr, and its exit status comes back as the shell's own.\n"
	"\n"
	"When the call exceeds its intent (killed on memory, out of time, ...), one\n"
	"line on stderr, starting 'agentcg:', says what happened and what to change.\n"
	"\n"
	"Environment:\n"
	"  AGENTCG_SESSION     the session of the calls (default " CLI_DEFAULT_SESSION ",\n"
	"                      created on demand)\n"
	"  AGENTCG_INTENT      the intent of each call: key=value pairs separated by\n"
	"                      commas, e.g. memory=1G,timeout=30s,priority=low, or a JSON\n"
	"                      object. Keys: memory, memory_max, cpu, pids, timeout,\n"
	"                      cpu_time, forks, priority, on_exceed, label, retry,\n"
	"                      memory_hint. A bad value is the daemon's to name; the call\n"
	"                      does not run.\n"
	"  AGENT_RESOURCE_HINT AgentCgroup's hint, memory:low|medium|high|<N>g: becomes\n"
	"                      memory_hint when AGENTCG_INTENT has none. A part it cannot\n"
	"                      use is left out with a warning.\n"
	"  AGENTCG_SOCKET      the daemon's socket (default " CLI_DEFAULT_SOCKET ")\n"
	"  AGENTCG_REAL_SHELL  the real shell (default /bin/bash; /bin/sh when invoked\n"
	"                      as sh)\n"
	"  " SH_ENV_INSIDE "     set in each call's environment: an agentcg-sh started\n"
	"                      inside the call runs the real shell in that same call\n"
	"  " SH_ENV_DEPTH "    counts the real shells agentcg-sh ran in a chain; past\n"
	"                      16 it stops (a loop)\n"
	"\n"
	"Without a label in the intent, the call's label is the command's first word\n"
	"(`cd DIR &&`, assignments and exec/time/nohup/env skipped; `python3 -m pytest`\n"
	"gives pytest), so the daemon's per-label history learns each tool's memory.\n"
	"\n"
	"When the daemon cannot be reached (or its socket is not root's), or an\n"
	"argument is not UTF-8, one warning goes to stderr and the real\n"
	"shell runs directly, without agentcg's limits. When the daemon refuses the\n"
	"call (a bad intent, no such session, over budget), its error goes to stderr\n"
	"and the status is 125.\n"
	"\n"
	"Installed as /usr/lib/agentcg/bash and /usr/lib/agentcg/sh (links to\n"
	"/usr/bin/agentcg-sh). `agentcg-sh --help` prints this; through the links,\n"
	"--help and every other argument belong to the real shell.\n"
	"\n"
	"Exit status: the shell's; 125 when agentcgd refused or failed the call; 2\n"
	"for a bad AGENTCG_INTENT or AGENTCG_SESSION; 127 when the real shell is\n"
	"missing or is agentcg-sh itself.\n";

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* The real shell: $AGENTCG_REAL_SHELL, else /bin/sh for "sh", else bash. */
static const char *real_shell(const char *name)
{
	const char *env = getenv("AGENTCG_REAL_SHELL");

	if (env && *env)
		return env;
	return strcmp(base_name(name), "sh") == 0 ? "/bin/sh" : "/bin/bash";
}


/* Runs the real shell in this process, argv as given (argv[0] too). */
static _Noreturn void exec_real(const char *shell, char **argv)
{
	const char *d = getenv(SH_ENV_DEPTH);
	int depth = d ? atoi(d) : 0;
	char buf[16];
	struct stat self, st;

	if (depth >= SH_DEPTH_MAX) {
		fprintf(stderr, "%s: the real shell %s led back to %s %d times: a loop (set "
				"AGENTCG_REAL_SHELL to a shell, not a script that runs bash)\n",
			SH_PROG, shell, SH_PROG, depth);
		exit(SH_EXIT_NO_SHELL);
	}
	snprintf(buf, sizeof(buf), "%d", depth + 1);
	setenv(SH_ENV_DEPTH, buf, 1);

	if (shell[0] != '/') {
		fprintf(stderr, "%s: AGENTCG_REAL_SHELL must be an absolute path, not '%s'\n",
			SH_PROG, shell);
		exit(SH_EXIT_NO_SHELL);
	}
	if (stat("/proc/self/exe", &self) == 0 && stat(shell, &st) == 0 &&
	    self.st_dev == st.st_dev && self.st_ino == st.st_ino) {
		fprintf(stderr, "%s: the real shell %s is %s itself (set AGENTCG_REAL_SHELL)\n",
			SH_PROG, shell, SH_PROG);
		exit(SH_EXIT_NO_SHELL);
	}
	execv(shell, argv);
	fprintf(stderr, "%s: cannot run the real shell %s: %s\n", SH_PROG, shell,
		strerror(errno));
	exit(SH_EXIT_NO_SHELL);
}

/* The call's intent: from the environment, plus a label from the command
 * unless the intent has one. 0, or an exit status (message printed). */
static int build_intent(int argc, char **argv, json_t **out)
{
	char err[256], warn[512], label[AC_LABEL_MAX + 1];
	struct sh_args args;

	if (sh_intent_from_env(getenv("AGENTCG_INTENT"), getenv("AGENT_RESOURCE_HINT"), out, err,
			       sizeof(err), warn, sizeof(warn)) < 0) {
		fprintf(stderr, "%s: %s\n", SH_PROG, err);
		return SH_EXIT_USAGE;
	}
	if (*warn)
		fprintf(stderr, "%s: warning: %s\n", SH_PROG, warn);
	if (json_object_get(*out, "label"))
		return 0;
	sh_args_parse(argc, argv, &args);
	label[0] = '\0';
	if (args.mode == SH_COMMAND)
		sh_label_of(args.command, label, sizeof(label));
	else if (args.mode == SH_SCRIPT)
		sh_label_of(base_name(args.command), label, sizeof(label));
	if (*label)
		json_object_set_new(*out, "label", json_string(label));
	return 0;
}

/* call.run's params: our argv as the command, our env (plus the inside
 * mark) and cwd. 0, or an exit status (message printed). */
static int build_params(const char *path, int argc, char **argv, json_t *intent, json_t **out)
{
	json_t *params = json_pack("{s:s, s:O, s:s}", "path", path, "intent", intent, "stdio",
				   "fds");
	json_t *a = json_array(), *env, *mark;
	char buf[sizeof(SH_ENV_INSIDE) + CLI_PATH_LEN + 1];

	if (!params || !a) {
		json_decref(params);
		json_decref(a);
		fprintf(stderr, "%s: out of memory\n", SH_PROG);
		return CLI_EXIT_RUN;
	}
	json_object_set_new(params, "argv", a);
	for (int i = 0; i < argc; i++) {
		json_t *s = json_string(i == 0 && !*argv[0] ? "bash" : argv[i]);

		if (!s) {
			json_decref(params);
			return -EILSEQ; /* not for JSON: the real shell takes it */
		}
		json_array_append_new(a, s);
	}
	cli_run_add_env(params);
	cli_run_add_cwd(params);
	env = json_object_get(params, "env");
	snprintf(buf, sizeof(buf), "%s=%s", SH_ENV_INSIDE, path);
	mark = json_string(buf);
	if (env && mark)
		json_array_append_new(env, mark);
	else
		json_decref(mark);
	*out = params;
	return 0;
}

int main(int argc, char **argv)
{
	static char *dflt[] = { "bash", NULL };
	const char *session = getenv("AGENTCG_SESSION"), *sock = getenv("AGENTCG_SOCKET");
	const char *shell;
	char path[CLI_PATH_LEN];
	json_t *intent = NULL, *params = NULL;
	struct ac_path sp;
	struct cli c;
	int rc, err;

	if (argc < 1 || !argv[0]) {
		argc = 1;
		argv = dflt;
	}
	cli_fix_stdio();
	shell = real_shell(argv[0]);
	if (!strcmp(base_name(argv[0]), SH_PROG) && argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(sh_help, stdout);
		return fflush(stdout) ? CLI_EXIT_FAIL : 0;
	}
	if (getenv(SH_ENV_INSIDE))
		exec_real(shell, argv);

	cli_init(&c);
	c.cmd = NULL;
	c.socket_path = sock && *sock ? sock : CLI_DEFAULT_SOCKET;
	if (!session || !*session)
		session = CLI_DEFAULT_SESSION;
	if (ac_path_parse(session, &sp) < 0 || sp.depth != AC_LEVEL_SESSION ||
	    ac_path_format(&sp, path, sizeof(path)) < 0) {
		fprintf(stderr, "%s: AGENTCG_SESSION '%s' is not a session path: /TENANT/SESSION, "
				"names of [A-Za-z0-9_.-] not starting with '.'\n",
			SH_PROG, session);
		return SH_EXIT_USAGE;
	}
	rc = build_intent(argc, argv, &intent);
	if (rc)
		return rc;
	err = cli_connect_opt(&c, true);
	if (err < 0) {
		json_decref(intent);
		fprintf(stderr, "%s: warning: agentcgd is not reachable at %s (%s); running %s "
				"directly, without agentcg's limits\n",
			SH_PROG, c.socket_path,
			err == -EPERM ? "the socket is not root's" : strerror(-err), shell);
		exec_real(shell, argv);
	}
	rc = build_params(path, argc, argv, intent, &params);
	json_decref(intent);
	if (rc == -EILSEQ) {
		cli_done(&c);
		fprintf(stderr, "%s: warning: an argument is not valid UTF-8, which agentcgd "
				"cannot carry; running %s directly, without agentcg's limits\n",
			SH_PROG, shell);
		exec_real(shell, argv);
	}
	if (!rc)
		rc = cli_run_call(&c, params, true);
	cli_done(&c);
	return rc;
}
