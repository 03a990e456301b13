/* SPDX-License-Identifier: GPL-2.0 */
/* Starting a tool call's command inside its cgroup, in two halves:
 *
 *  1. ac_stub_start (off the critical path): clone3(CLONE_INTO_CGROUP)
 *     a stub process straight into the call's cgroup (falling back to a
 *     plain clone + cgroup.procs write), where it also joins the v1
 *     hierarchies on hybrid, drops every fd but its control socket, and
 *     waits for a command.
 *  2. ac_stub_exec (the call): send the command, credentials, cwd and
 *     three stdio fds over the control socket; the stub takes them,
 *     drops to the caller's uid/gids and execs. The control socket is
 *     close-on-exec: EOF means the exec succeeded, a record means a step
 *     failed (ac_stub_result).
 *
 * So the limits hold from the first instruction of the command, and what
 * is left for a call is one sendmsg and the execve itself. */
#ifndef AGENTCG_SPAWN_H
#define AGENTCG_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "agentcg/cgroup.h"

#define AC_GROUPS_MAX 64
#define AC_STUB_REQ_MAX (4u << 20) /* argv + env + cwd of one command */

struct ac_spawn_req {
	char *const *argv; /* argv[0] is looked up in PATH of envp */
	char *const *envp;
	const char *cwd; /* NULL: "/" */
	uid_t uid;
	gid_t gid;
	gid_t groups[AC_GROUPS_MAX];
	int n_groups;
	int stdio[3]; /* fds for 0, 1, 2; -1: devnull */
	int devnull;  /* an open /dev/null, or -1 to open one */
};

struct ac_stub {
	pid_t pid;
	int pidfd;	  /* owned */
	int ctl;	  /* owned: control socket to the stub */
	bool used_clone3; /* placed by CLONE_INTO_CGROUP */
};

/* Starts a stub in the cgroup of pl. 0 or a negative errno. */
int ac_stub_start(const struct ac_cg_placement *pl, struct ac_stub *out);
/* Sends the command. 0, or a negative errno if the stub is gone. */
int ac_stub_exec(const struct ac_stub *st, const struct ac_spawn_req *req);
/* After ctl became readable: 1 exec succeeded, 0 nothing yet, or a
 * negative errno of the failed step, named in *what. */
int ac_stub_result(int ctl, const char **what);
/* Kills and reaps a stub that will not be used; closes its fds. */
void ac_stub_discard(struct ac_stub *st);

#endif
