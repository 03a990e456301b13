/* SPDX-License-Identifier: GPL-2.0 */
/* Starting a tool call's command directly inside its cgroup: clone3 with
 * CLONE_INTO_CGROUP (falling back to fork + a cgroup.procs write), v1
 * hierarchies joined before exec, the caller's uid/gids, no daemon fds. */
#ifndef AGENTCG_SPAWN_H
#define AGENTCG_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "agentcg/cgroup.h"

#define AC_GROUPS_MAX 64

struct ac_spawn_req {
	char *const *argv;	/* argv[0] is looked up in PATH of envp */
	char *const *envp;
	const char *cwd;	/* NULL: "/" */
	uid_t uid;
	gid_t gid;
	gid_t groups[AC_GROUPS_MAX];
	int n_groups;
	int stdio[3];		/* fds for 0, 1, 2; -1: /dev/null */
	const struct ac_cg_placement *place;
};

struct ac_spawn_res {
	pid_t pid;
	int pidfd;		/* owned by the caller */
	bool used_clone3;	/* placed by CLONE_INTO_CGROUP */
};

/* Returns 0 when the command is running (after its exec succeeded), or a
 * negative errno of the step that failed (setuid, chdir, execve, ...),
 * in which case the child has been reaped. what (if not NULL) names the
 * failing step ("execve", "chdir", ...). */
int ac_spawn(const struct ac_spawn_req *req, struct ac_spawn_res *res, const char **what);

#endif
