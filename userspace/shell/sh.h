/* SPDX-License-Identifier: GPL-2.0 */
/* agentcg-sh: a drop-in bash (or sh) for agents that cannot be changed.
 * Each invocation becomes one call of agentcgd, run by the real shell
 * with the very arguments it was given. Modules:
 *   sh_main.c  main: the call, or the real shell (inside a call, or with
 *              no daemon to reach)
 *   sh_args.c  the shell's command line and a label from its command
 *   sh_env.c   the intent from AGENTCG_INTENT and AGENT_RESOURCE_HINT
 * sh_args.c and sh_env.c are pure (no I/O): unit-tested alone. */
#ifndef AGENTCG_SH_H
#define AGENTCG_SH_H

#include <jansson.h>
#include <stddef.h>

#define SH_PROG "agentcg-sh"

/* Set in the environment of every call agentcg-sh makes: an agentcg-sh
 * started inside the call (a nested `bash -c`, or the call's own argv[0]
 * found through PATH) runs the real shell in the same call. */
#define SH_ENV_INSIDE "AGENTCG_SH_CALL"
/* How many times agentcg-sh exec-ed the real shell in one chain of
 * processes; past SH_DEPTH_MAX it is a loop (AGENTCG_REAL_SHELL a script
 * that runs bash, found again through PATH), and it stops. */
#define SH_ENV_DEPTH "AGENTCG_SH_DEPTH"
#define SH_DEPTH_MAX 16

/* ---- the shell's command line (sh_args.c) ---- */

enum sh_mode {
	SH_STDIN = 0, /* commands from stdin (a pipe, or an interactive shell) */
	SH_COMMAND,   /* -c CMD */
	SH_SCRIPT,    /* a script file: bash FILE ARGS */
};

struct sh_args {
	enum sh_mode mode;
	const char *command; /* SH_COMMAND: the string; SH_SCRIPT: the file */
};

/* Reads a bash/sh command line (argv[0] is the shell's name) as far as
 * its mode: option clusters (-lc, -ec), options that take a word
 * (-o NAME, +O NAME, --rcfile FILE), "--" and "-". Never fails: what it
 * does not know is the real shell's to judge. */
void sh_args_parse(int argc, char *const *argv, struct sh_args *out);

/* A call label from a command string, for the daemon's per-label
 * history: the base name of the first command word, past assignments
 * (A=b), "cd DIR &&" and wrappers (exec, time, nohup, env, command);
 * "python3 -m pytest" gives "pytest". Only A-Z a-z 0-9 _ . - are kept,
 * at most len - 1 of them; "" when there is no plain word to take. */
void sh_label_of(const char *cmd, char *buf, size_t len);

/* ---- the intent (sh_env.c) ---- */

/* The intent of a call from AGENTCG_INTENT (intent, may be NULL):
 * "memory=1G,timeout=30s" (keys are the intent's fields) or a JSON
 * object; and from AgentCgroup's AGENT_RESOURCE_HINT (hint, may be
 * NULL): "memory:low|medium|high|<N>g", which becomes memory_hint unless
 * the intent has one. Values are checked by the daemon, which names each
 * bad field.
 * Returns 0 with *out (a new object), or -EINVAL with the reason in err.
 * A part of the hint it cannot use is left out and named in warn ("" when
 * none). */
int sh_intent_from_env(const char *intent, const char *hint, json_t **out, char *err,
		       size_t errlen, char *warn, size_t warnlen);

#endif
