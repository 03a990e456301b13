// SPDX-License-Identifier: GPL-2.0
/* Stub processes: started ahead of time inside a call's cgroup, told
 * later what to exec (see include/agentcg/spawn.h).
 *
 * The request travels as one message on a SOCK_SEQPACKET pair with the
 * three stdio fds attached:
 *   u32 uid, u32 gid, u32 n_groups, u32 argc, u32 envc, u32 cwd_len,
 *   gid_t groups[n_groups], cwd\0, argv[i]\0..., envp[i]\0...
 * A failure comes back as struct stub_error before the stub exits 127. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

#define STUB_CTL_FD 3

extern char **environ;

enum stub_step {
	STEP_CGROUP_V2,
	STEP_CGROUP_V1,
	STEP_RECEIVE,
	STEP_STDIO,
	STEP_SETGROUPS,
	STEP_SETGID,
	STEP_SETUID,
	STEP_CHDIR,
	STEP_NO_NEW_PRIVS,
	STEP_EXEC,
};

static const char *const step_name[] = {
	[STEP_CGROUP_V2] = "join cgroup", [STEP_CGROUP_V1] = "join v1 cgroup",
	[STEP_RECEIVE] = "receive command", [STEP_STDIO] = "set up stdio",
	[STEP_SETGROUPS] = "setgroups",	  [STEP_SETGID] = "setgid",
	[STEP_SETUID] = "setuid",	  [STEP_CHDIR] = "chdir",
	[STEP_NO_NEW_PRIVS] = "no_new_privs",
	[STEP_EXEC] = "execve",
};

struct stub_error {
	int32_t err;
	int32_t step;
};

struct stub_hdr {
	uint32_t uid, gid, n_groups, argc, envc, cwd_len;
};

/* ---- the stub (child side) ------------------------------------------- */

static _Noreturn void stub_fail(enum stub_step step)
{
	struct stub_error e = { .err = errno ? errno : EIO, .step = step };
	ssize_t AC_UNUSED n = send(STUB_CTL_FD, &e, sizeof(e), MSG_NOSIGNAL);

	_exit(127);
}

static int write_zero(int fd)
{
	return write(fd, "0", 1) == 1 ? 0 : -1;
}

/* Splits n NUL-terminated strings starting at p (bounded by end). */
static char **split_strings(char **p, const char *end, uint32_t n)
{
	char **v = calloc((size_t)n + 1, sizeof(char *));

	if (!v)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		char *nul = memchr(*p, '\0', (size_t)(end - *p));

		if (!nul)
			return NULL;
		v[i] = *p;
		*p = nul + 1;
	}
	return v;
}

static void stub_stdio(const int fds[3], int n_fds)
{
	int tmp[3];

	for (int i = 0; i < 3; i++) {
		tmp[i] = i < n_fds && fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 10) :
						    open("/dev/null", O_RDWR | O_CLOEXEC);
		if (tmp[i] < 0)
			stub_fail(STEP_STDIO);
	}
	for (int i = 0; i < 3; i++)
		if (dup2(tmp[i], i) < 0) /* dup2 clears CLOEXEC on the target */
			stub_fail(STEP_STDIO);
}

static _Noreturn void stub_main(void)
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct stub_hdr h;
	char *buf = malloc(AC_STUB_REQ_MAX), *p, *end;
	int fds[3] = { -1, -1, -1 }, n_fds = 0;
	gid_t groups[AC_GROUPS_MAX];
	char **argv, **envp, *cwd;
	ssize_t n;

	if (!buf)
		stub_fail(STEP_RECEIVE);
	iov.iov_base = buf;
	iov.iov_len = AC_STUB_REQ_MAX;
	do
		n = recvmsg(STUB_CTL_FD, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(0); /* discarded: the daemon closed the socket */
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			n_fds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)(n_fds > 3 ? 3 : n_fds));
		}
	errno = EPROTO;
	if ((size_t)n < sizeof(h))
		stub_fail(STEP_RECEIVE);
	memcpy(&h, buf, sizeof(h));
	if (h.n_groups > AC_GROUPS_MAX || (size_t)n < sizeof(h) + h.n_groups * sizeof(gid_t))
		stub_fail(STEP_RECEIVE);
	memcpy(groups, buf + sizeof(h), h.n_groups * sizeof(gid_t));
	p = buf + sizeof(h) + h.n_groups * sizeof(gid_t);
	end = buf + n;
	cwd = p;
	if (h.cwd_len >= (size_t)(end - p) || p[h.cwd_len] != '\0')
		stub_fail(STEP_RECEIVE);
	p += h.cwd_len + 1;
	argv = split_strings(&p, end, h.argc);
	envp = argv ? split_strings(&p, end, h.envc) : NULL;
	if (!argv || !envp || !argv[0])
		stub_fail(STEP_RECEIVE);

	setsid();
	stub_stdio(fds, n_fds);
	/* Raw syscalls: they change this thread, the stub's only one. glibc's
	 * wrappers signal every thread the daemon had at fork and wait for
	 * each, and a thread that was being created then (the mover's, as the
	 * first pool runner starts) never answers: the stub hung for good. */
	if (syscall(SYS_setgroups, (size_t)h.n_groups, groups) < 0)
		stub_fail(STEP_SETGROUPS);
	if (syscall(SYS_setresgid, h.gid, h.gid, h.gid) < 0)
		stub_fail(STEP_SETGID);
	if (syscall(SYS_setresuid, h.uid, h.uid, h.uid) < 0)
		stub_fail(STEP_SETUID);
	if (chdir(cwd) < 0)
		stub_fail(STEP_CHDIR);
	/* A credential change cleared it: the command dies with the daemon. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* No call gains privileges through a setuid or file-capability binary
	 * (sudo, su, mount): tenants do not trust each other, and a container
	 * running agentcgd privileged would give them the host. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		stub_fail(STEP_NO_NEW_PRIVS);
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	environ = envp;
	execvp(argv[0], argv);
	stub_fail(STEP_EXEC);
}

static _Noreturn void stub_child(const struct ac_cg_placement *pl, int ctl, bool placed)
{
	sigset_t none;

	/* The daemon blocks signals (signalfd) and ignores SIGPIPE; a blocked
	 * mask and ignored signals survive exec, handlers do not (it has none). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(ctl, STUB_CTL_FD) < 0)
		_exit(127);
	if (!placed) {
		int fd = openat(pl->v2_dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write_zero(fd) < 0)
			stub_fail(STEP_CGROUP_V2);
	}
	for (int i = 0; i < pl->n_v1; i++)
		if (write_zero(pl->v1_procs[i]) < 0)
			stub_fail(STEP_CGROUP_V1);
	/* Nothing of the daemon's stays open in the stub but its socket. */
	syscall(SYS_close_range, STUB_CTL_FD + 1, ~0U, 0);
	stub_main();
}

/* ---- the daemon side ------------------------------------------------- */

static pid_t do_clone3(int v2_dirfd, int *pidfd, bool into_cgroup)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.flags = CLONE_PIDFD | (into_cgroup ? CLONE_INTO_CGROUP : 0);
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	args.exit_signal = SIGCHLD;
	args.cgroup = into_cgroup ? (uint64_t)v2_dirfd : 0;
	return (pid_t)syscall(SYS_clone3, &args, sizeof(args));
}

int ac_stub_start(const struct ac_cg_placement *pl, struct ac_stub *out)
{
	int sv[2], pidfd = -1;
	bool placed = true;
	pid_t pid;

	int sndbuf = (int)AC_STUB_REQ_MAX;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* One request is one message, and a message may not exceed the
	 * sender's buffer (wmem_max, ~208K, by default): an environment of a
	 * few hundred K is legal for execve. Root may raise it past wmem_max. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	pid = do_clone3(pl->v2_dirfd, &pidfd, true);
	if (pid < 0 && errno != ENOMEM && errno != EAGAIN) {
		/* No CLONE_INTO_CGROUP here: the child writes cgroup.procs itself. */
		placed = false;
		pid = do_clone3(pl->v2_dirfd, &pidfd, false);
	}
	if (pid < 0) {
		int r = -errno;

		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		stub_child(pl, sv[1], placed);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	out->pid = pid;
	out->pidfd = pidfd;
	out->ctl = sv[0];
	out->used_clone3 = placed;
	return 0;
}

static size_t strv_bytes(char *const *v, uint32_t *n)
{
	size_t b = 0;

	*n = 0;
	for (; v && v[*n]; (*n)++)
		b += strlen(v[*n]) + 1;
	return b;
}

static char *put_strv(char *p, char *const *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]) + 1;

		memcpy(p, v[i], l);
		p += l;
	}
	return p;
}

int ac_stub_exec(const struct ac_stub *st, const struct ac_spawn_req *req)
{
	const char *cwd = req->cwd ? req->cwd : "/";
	struct stub_hdr h = { .uid = req->uid, .gid = req->gid, .n_groups = (uint32_t)req->n_groups,
			      .cwd_len = (uint32_t)strlen(cwd) };
	size_t len = sizeof(h) + h.n_groups * sizeof(gid_t) + h.cwd_len + 1 +
		     strv_bytes(req->argv, &h.argc) + strv_bytes(req->envp, &h.envc);
	_cleanup_free_ char *buf = NULL;
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	int nullfd = -1, fds[3];
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	char *p;
	ssize_t n;

	if (len > AC_STUB_REQ_MAX || req->n_groups < 0 || req->n_groups > AC_GROUPS_MAX)
		return -E2BIG;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &h, sizeof(h));
	p = buf + sizeof(h);
	memcpy(p, req->groups, h.n_groups * sizeof(gid_t));
	p += h.n_groups * sizeof(gid_t);
	memcpy(p, cwd, h.cwd_len + 1);
	p += h.cwd_len + 1;
	p = put_strv(p, req->argv, h.argc);
	put_strv(p, req->envp, h.envc);

	for (int i = 0; i < 3; i++) {
		if (req->stdio[i] >= 0) {
			fds[i] = req->stdio[i];
			continue;
		}
		if (req->devnull >= 0) {
			fds[i] = req->devnull;
			continue;
		}
		if (nullfd < 0 && (nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
			return -errno;
		fds[i] = nullfd;
	}
	iov.iov_base = buf;
	iov.iov_len = len;
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	/* The stub is blocked in recvmsg, so a big request drains at once;
	 * the socket is non-blocking only for reads. */
	do
		n = sendmsg(st->ctl, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN) {
		int fl = fcntl(st->ctl, F_GETFL);

		fcntl(st->ctl, F_SETFL, fl & ~O_NONBLOCK);
		n = sendmsg(st->ctl, &msg, MSG_NOSIGNAL);
		fcntl(st->ctl, F_SETFL, fl);
	}
	if (nullfd >= 0)
		close(nullfd);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int ac_stub_result(int ctl, const char **what)
{
	struct stub_error e;
	ssize_t n = recv(ctl, &e, sizeof(e), MSG_DONTWAIT);

	*what = NULL;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return 1; /* closed on exec */
	if (n != (ssize_t)sizeof(e))
		return -EPROTO;
	if (e.step >= 0 && e.step < (int)AC_ARRAY_SIZE(step_name))
		*what = step_name[e.step];
	return e.err > 0 ? -e.err : -EIO;
}

void ac_stub_discard(struct ac_stub *st)
{
	siginfo_t si;

	if (st->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, st->pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)st->pidfd, &si, WEXITED);
		close(st->pidfd);
	}
	if (st->ctl >= 0)
		close(st->ctl);
	st->pidfd = st->ctl = -1;
	st->pid = 0;
}
