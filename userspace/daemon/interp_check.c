// SPDX-License-Identifier: GPL-2.0
/* session.create's interpreter check, off the loop (interp_check.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "interp.h"
#include "interp_check.h"
#include "server.h"

struct check {
	struct check *next;
	struct acd_client *c; /* NULL once it went away */
	json_t *id, *params;
	uid_t uid;
	pid_t pid;
	bool timed_out;
	int result;		/* once the child is reaped: 0 or -errno */
	struct acd_watch pidw;	/* pidfd: readable when the child exits */
	struct acd_watch timer; /* timerfd: ACD_INTERP_CHECK_MS */
};

struct acd_interp_checks {
	struct check *list;
	/* ended: freed after the epoll batch, whose later events may still
	 * name their watches (closed: fd -1, skipped) */
	struct check *dead;
	/* the check whose request is being dispatched again (synchronously,
	 * from on_child_exit: that dispatch is the only one under way) */
	struct check *current;
};

#define CHECK_OF(ptr, member) ((struct check *)((char *)(ptr) - offsetof(struct check, member)))

/* In the child, with the caller's credentials only (raw syscalls: they
 * change this thread, the child's only one): 0 if bin is a regular file
 * they may execute, else an errno as the exit status. */
static _Noreturn void check_as(const char *bin, const struct acd_client *c)
{
	char path[AC_PATH_MAX];
	struct stat st;
	int err = ENOENT;

	/* none of the daemon's fds stays open in a process of the caller's
	 * uid, however long its path keeps it */
	syscall(SYS_close_range, 3U, ~0U, 0U);
	if (syscall(SYS_setgroups, (size_t)c->n_groups, c->groups) < 0 ||
	    syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
	    syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
		_exit(EPERM);
	/* now the caller's: not theirs to ptrace or read (/proc/PID/mem is
	 * a copy of the daemon's heap), whatever fs.suid_dumpable says; and
	 * gone with the daemon */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(EPERM);
	if (strchr(bin, '/')) {
		if (access(bin, X_OK) < 0)
			_exit(errno);
		_exit(stat(bin, &st) == 0 && S_ISREG(st.st_mode) ? 0 : EISDIR);
	}
	/* a bare name: looked up in the runners' PATH, as their execvp will */
	for (const char *d = ACD_RUNNER_PATH, *e; *d; d = *e ? e + 1 : e) {
		e = strchrnul(d, ':');
		if (snprintf(path, sizeof(path), "%.*s/%s", (int)(e - d), d, bin) >= (int)sizeof(path))
			continue;
		if (access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			_exit(0);
		if (errno == EACCES)
			err = EACCES;
	}
	_exit(err);
}

static struct acd_interp_checks *checks(struct acd_ctx *ctx)
{
	if (!ctx->interp_checks)
		ctx->interp_checks = calloc(1, sizeof(*ctx->interp_checks));
	return ctx->interp_checks;
}

static void unlink_check(struct acd_interp_checks *k, struct check *ck)
{
	for (struct check **p = &k->list; *p; p = &(*p)->next)
		if (*p == ck) {
			*p = ck->next;
			return;
		}
}

static void free_check(struct acd_ctx *ctx, struct check *ck)
{
	acd_watch_close(ctx, &ck->pidw);
	acd_watch_close(ctx, &ck->timer);
	json_decref(ck->id);
	json_decref(ck->params);
	free(ck);
}

/* Its watches closed now, its memory after the batch. */
static void bury_check(struct acd_ctx *ctx, struct acd_interp_checks *k, struct check *ck)
{
	acd_watch_close(ctx, &ck->pidw);
	acd_watch_close(ctx, &ck->timer);
	ck->next = k->dead;
	k->dead = ck;
}

static void kill_child(struct check *ck)
{
	if (ck->pidw.fd >= 0)
		syscall(SYS_pidfd_send_signal, ck->pidw.fd, SIGKILL, NULL, 0);
}

/* The child exited: reap it, and dispatch its request again. */
static void on_child_exit(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct check *ck = CHECK_OF(w, pidw);
	struct acd_interp_checks *k = ctx->interp_checks;
	int st = 0;
	pid_t r = waitpid(ck->pid, &st, WNOHANG);

	if (r == 0)
		return; /* not yet (a spurious wake-up) */
	if (r < 0)
		ck->result = -ECHILD;
	else if (ck->timed_out)
		ck->result = -ETIMEDOUT;
	else
		ck->result = WIFEXITED(st) ? -WEXITSTATUS(st) : -EIO;
	unlink_check(k, ck);
	if (ck->c) {
		k->current = ck;
		ctx->hooks.dispatch(ctx, ck->c, ck->id, "session.create", ck->params);
		k->current = NULL;
	}
	bury_check(ctx, k, ck);
}

static void on_timeout(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct check *ck = CHECK_OF(w, timer);

	ac_warn("interpreter check as uid %u still running after %d ms (a path that blocks?): "
		"killed", (unsigned)ck->uid, ACD_INTERP_CHECK_MS);
	ck->timed_out = true;
	kill_child(ck);
	acd_watch_close(ctx, &ck->timer);
}

/* Checks running of uid ((uid_t)-1: of every uid). */
static int running(const struct acd_interp_checks *k, uid_t uid)
{
	int n = 0;

	for (const struct check *ck = k ? k->list : NULL; ck; ck = ck->next)
		n += uid == (uid_t)-1 || ck->uid == uid;
	return n;
}

static int start(struct acd_ctx *ctx, struct check *ck, const char *bin, struct acd_client *c)
{
	struct itimerspec its = { .it_value = { .tv_sec = ACD_INTERP_CHECK_MS / 1000,
						.tv_nsec = (ACD_INTERP_CHECK_MS % 1000) * 1000000L } };
	int err;

	ck->pidw = (struct acd_watch){ .fd = -1, .fn = on_child_exit };
	ck->timer = (struct acd_watch){ .fd = -1, .fn = on_timeout };
	ck->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ck->timer.fd < 0 || timerfd_settime(ck->timer.fd, 0, &its, NULL) < 0)
		return -errno;
	ck->pid = fork();
	if (ck->pid < 0)
		return -errno;
	if (ck->pid == 0)
		check_as(bin, c);
	ck->pidw.fd = (int)syscall(SYS_pidfd_open, ck->pid, 0);
	if (ck->pidw.fd < 0) {
		err = -errno;
		kill(ck->pid, SIGKILL);
		waitpid(ck->pid, NULL, 0);
		return err;
	}
	if ((err = acd_watch_add(ctx, &ck->pidw, EPOLLIN)) < 0 ||
	    (err = acd_watch_add(ctx, &ck->timer, EPOLLIN)) < 0) {
		kill_child(ck);
		waitpid(ck->pid, NULL, 0);
		return err;
	}
	return 0;
}

int acd_interp_check(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params,
		     const char *bin, int *result)
{
	struct acd_interp_checks *k = checks(ctx);
	struct check *ck;
	int err;

	if (!k)
		return -ENOMEM;
	/* The second dispatch of the check that just ended (a request with
	 * no id too: it must not start a check again, and again). */
	if (k->current && k->current->c == c && k->current->id == id) {
		*result = k->current->result;
		return 0;
	}
	if (!acd_client_is_operator(ctx, c) && running(k, c->uid) >= ACD_INTERP_CHECKS_PER_UID)
		return -EBUSY;
	ck = calloc(1, sizeof(*ck));
	if (!ck)
		return -ENOMEM;
	err = start(ctx, ck, bin, c);
	if (err < 0) {
		free_check(ctx, ck); /* its child, if any, is reaped */
		return err;
	}
	ck->c = c;
	ck->uid = c->uid;
	ck->id = json_incref(id);
	ck->params = json_incref(params);
	ck->next = k->list;
	k->list = ck;
	return ACD_INTERP_CHECK_STARTED;
}

void acd_interp_checks_client_gone(struct acd_ctx *ctx, struct acd_client *c)
{
	struct acd_interp_checks *k = ctx->interp_checks;

	for (struct check *ck = k ? k->list : NULL; ck; ck = ck->next)
		if (ck->c == c) {
			ck->c = NULL; /* reaped when it exits, answered to no one */
			kill_child(ck);
		}
}

void acd_interp_checks_free_dead(struct acd_ctx *ctx)
{
	struct acd_interp_checks *k = ctx->interp_checks;

	while (k && k->dead) {
		struct check *ck = k->dead;

		k->dead = ck->next;
		free_check(ctx, ck);
	}
}

void acd_interp_checks_free(struct acd_ctx *ctx)
{
	struct acd_interp_checks *k = ctx->interp_checks;

	if (!k)
		return;
	acd_interp_checks_free_dead(ctx);
	while (k->list) {
		struct check *ck = k->list;

		k->list = ck->next;
		kill_child(ck);
		waitpid(ck->pid, NULL, 0); /* SIGKILL ends even a FUSE wait */
		free_check(ctx, ck);
	}
	free(k);
	ctx->interp_checks = NULL;
}

int acd_interp_checks_running(const struct acd_ctx *ctx)
{
	return running(ctx->interp_checks, (uid_t)-1);
}
