// SPDX-License-Identifier: GPL-2.0
/* Starting a command inside its call cgroup.
 *
 * clone3(CLONE_INTO_CGROUP | CLONE_PIDFD) puts the child in the unified
 * call directory atomically; where that is refused (old kernel, v1-only
 * quirks) the child is forked and writes itself into cgroup.procs. On the
 * hybrid backend the child also joins the v1 memory, cpu and pids
 * hierarchies. All of that happens before the child drops to the caller's
 * credentials and execs, so the limits hold from the first instruction of
 * the command. A failing step is reported back over a close-on-exec pipe. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentcg/spawn.h"
#include "agentcg/util.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

enum spawn_step {
	STEP_CGROUP_V2,
	STEP_CGROUP_V1,
	STEP_STDIO,
	STEP_SETGROUPS,
	STEP_SETGID,
	STEP_SETUID,
	STEP_CHDIR,
	STEP_EXEC,
};

static const char *const step_name[] = {
	[STEP_CGROUP_V2] = "join cgroup", [STEP_CGROUP_V1] = "join v1 cgroup",
	[STEP_STDIO] = "set up stdio",	  [STEP_SETGROUPS] = "setgroups",
	[STEP_SETGID] = "setgid",	  [STEP_SETUID] = "setuid",
	[STEP_CHDIR] = "chdir",		  [STEP_EXEC] = "execve",
};

struct spawn_error {
	int err;
	int step;
};

static _Noreturn void child_fail(int errfd, enum spawn_step step)
{
	struct spawn_error e = { .err = errno, .step = step };
	ssize_t AC_UNUSED n = write(errfd, &e, sizeof(e));

	_exit(127);
}

static int write_zero(int fd)
{
	return write(fd, "0", 1) == 1 ? 0 : -1;
}

/* Moves the requested stdio fds to 0, 1, 2 without one clobbering another. */
static int child_stdio(const int stdio[3])
{
	int tmp[3];

	for (int i = 0; i < 3; i++) {
		if (stdio[i] < 0)
			tmp[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		else
			tmp[i] = fcntl(stdio[i], F_DUPFD_CLOEXEC, 3);
		if (tmp[i] < 0)
			return -1;
	}
	for (int i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0) /* dup2 clears CLOEXEC on the target */
			return -1;
	return 0;
}

static _Noreturn void child_run(const struct ac_spawn_req *req, int errfd, bool placed)
{
	sigset_t none;
	const struct ac_cg_placement *pl = req->place;

	/* The daemon blocks and ignores signals; the command must not inherit that. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);

	if (!placed) {
		int fd = openat(pl->v2_dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write_zero(fd) < 0)
			child_fail(errfd, STEP_CGROUP_V2);
	}
	for (int i = 0; i < pl->n_v1; i++)
		if (write_zero(pl->v1_procs[i]) < 0)
			child_fail(errfd, STEP_CGROUP_V1);
	if (setsid() < 0) {
		/* only fails if already a group leader, which a fresh child is not */
	}
	if (child_stdio(req->stdio) < 0)
		child_fail(errfd, STEP_STDIO);
	if (setgroups((size_t)req->n_groups, req->groups) < 0)
		child_fail(errfd, STEP_SETGROUPS);
	if (setresgid(req->gid, req->gid, req->gid) < 0)
		child_fail(errfd, STEP_SETGID);
	if (setresuid(req->uid, req->uid, req->uid) < 0)
		child_fail(errfd, STEP_SETUID);
	if (chdir(req->cwd ? req->cwd : "/") < 0)
		child_fail(errfd, STEP_CHDIR);
	/* If the daemon dies, its calls die with it rather than linger. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	environ = (char **)req->envp;
	execvp(req->argv[0], req->argv);
	child_fail(errfd, STEP_EXEC);
}

static pid_t do_clone3(const struct ac_spawn_req *req, int *pidfd, bool into_cgroup)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PIDFD | (into_cgroup ? CLONE_INTO_CGROUP : 0);
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	args.cgroup = into_cgroup ? (uint64_t)req->place->v2_dirfd : 0;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

int ac_spawn(const struct ac_spawn_req *req, struct ac_spawn_res *res, const char **what)
{
	int errpipe[2];
	int pidfd = -1;
	struct spawn_error e;
	bool placed = true;
	pid_t pid;
	ssize_t n;

	if (what)
		*what = NULL;
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;

	pid = do_clone3(req, &pidfd, true);
	if (pid < 0 && errno != ENOMEM && errno != EAGAIN) {
		/* No CLONE_INTO_CGROUP here: the child writes cgroup.procs itself. */
		placed = false;
		pid = do_clone3(req, &pidfd, false);
	}
	if (pid < 0) {
		int r = -errno;

		close(errpipe[0]);
		close(errpipe[1]);
		if (what)
			*what = "clone3";
		return r;
	}
	if (pid == 0) {
		close(errpipe[0]);
		child_run(req, errpipe[1], placed);
	}

	close(errpipe[1]);
	do
		n = read(errpipe[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(e)) {
		siginfo_t si;

		waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
		close(pidfd);
		if (what && e.step >= 0 && e.step < (int)AC_ARRAY_SIZE(step_name))
			*what = step_name[e.step];
		return e.err ? -e.err : -EIO;
	}
	res->pid = pid;
	res->pidfd = pidfd;
	res->used_clone3 = placed;
	return 0;
}
