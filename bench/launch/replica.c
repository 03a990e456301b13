// SPDX-License-Identifier: GPL-2.0
/* launch_bench: breakdown [3], the in-process replica. */
#include "replica.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "context.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Timestamps a child writes into shared memory. */
struct child_ts {
	volatile uint64_t start, after_signals, after_join, before_exec;
};

struct spawn_err {
	int err, step;
};

enum {
	R_MKDIR0,		      /* + AC_H_* : mkdir+open per hierarchy (4) */
	R_LIM0 = R_MKDIR0 + AC_H_COUNT, /* 4 limit writes */
	R_OPEN_PROCS = R_LIM0 + 4,
	R_PIPES,
	R_CLONE3,
	R_CH_FIRST,   /* clone3 entered -> child runs its first instruction */
	R_CH_SIGNALS, /* child: 64 signal() resets + sigprocmask */
	R_CH_JOIN,    /* child: "0" into the v1 cgroup.procs files */
	R_CH_REST,    /* child: setsid, stdio, creds, chdir, prctl, close_range */
	R_EXEC,	      /* child execve -> parent sees the close-on-exec pipe close */
	R_RUN_EXIT,   /* exec'd -> pidfd readable + waitid */
	R_SPAWN_TOTAL,
	R_CLOSE,     /* close 3 cgroup.procs + 2 pipe ends after the exec */
	R_POPULATED, /* cgroup.events read x2 */
	R_USAGE,     /* usage files read */
	R_RMDIR0,    /* + index in node order: rmdir per hierarchy (4) */
	B_FORK = R_RMDIR0 + AC_H_COUNT,
	B_CH_FIRST,
	B_EXEC,
	B_RUN_EXIT,
	B_TOTAL,
	R_COUNT
};

struct replica {
	struct lb_series tight[R_COUNT], idle[R_COUNT];
	struct lb_series *rec; /* tight or idle: where the steps record */
	char label[R_COUNT][96];
	int rmdir_ebusy;
	struct child_ts *ts;
};

struct limit_file {
	int h;
	const char *file, *value;
};

static const struct limit_file v1_limits[4] = {
	{ AC_H_MEMORY, "memory.limit_in_bytes", "402653184" },
	{ AC_H_MEMORY, "memory.soft_limit_in_bytes", "268435456" },
	{ AC_H_CPU, "cpu.cfs_quota_us", "50000" },
	{ AC_H_PIDS, "pids.max", "32" },
};
static const struct limit_file v2_limits[4] = {
	{ AC_H_UNIFIED, "memory.max", "402653184" },
	{ AC_H_UNIFIED, "memory.high", "268435456" },
	{ AC_H_UNIFIED, "cpu.max", "50000 100000" },
	{ AC_H_UNIFIED, "pids.max", "32" },
};
static const struct limit_file v1_usage[] = {
	{ AC_H_MEMORY, "memory.max_usage_in_bytes", NULL }, { AC_H_MEMORY, "memory.failcnt", NULL },
	{ AC_H_MEMORY, "memory.oom_control", NULL },	    { AC_H_PIDS, "pids.peak", NULL },
	{ AC_H_PIDS, "pids.events", NULL },		    { AC_H_UNIFIED, "cpu.stat", NULL },
	{ AC_H_CPU, "cpu.stat", NULL },
};
static const struct limit_file v2_usage[] = {
	{ AC_H_UNIFIED, "memory.peak", NULL },	 { AC_H_UNIFIED, "memory.events", NULL },
	{ AC_H_UNIFIED, "pids.peak", NULL },	 { AC_H_UNIFIED, "pids.events", NULL },
	{ AC_H_UNIFIED, "cpu.stat", NULL },
};

static pid_t clone3_pidfd(int cgfd, int *pidfd)
{
	struct clone_args a;

	memset(&a, 0, sizeof(a));
	a.flags = CLONE_PIDFD | (cgfd >= 0 ? CLONE_INTO_CGROUP : 0);
	a.pidfd = (uint64_t)(uintptr_t)pidfd;
	a.exit_signal = SIGCHLD;
	a.cgroup = cgfd >= 0 ? (uint64_t)cgfd : 0;
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

static _Noreturn void child_fail(int errfd, int step)
{
	struct spawn_err e = { .err = errno, .step = step };

	if (write(errfd, &e, sizeof(e)) < 0) {
	}
	_exit(127);
}

/* What agentcgd's spawn.c child does before execve, step for step. */
static _Noreturn void replica_child(struct child_ts *ts, const int *procs, int n_procs, int out_w,
				    int err_w, int errfd)
{
	sigset_t none;
	char *const argv[] = { LB_TRUE_BIN, NULL };
	char *const envp[] = { LB_PATH_ENV, NULL };
	int tmp[3];
	gid_t groups[1] = { 0 };

	ts->start = ac_now_ns();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	ts->after_signals = ac_now_ns();
	for (int i = 0; i < n_procs; i++)
		if (write(procs[i], "0", 1) != 1)
			child_fail(errfd, 1);
	ts->after_join = ac_now_ns();
	setsid();
	tmp[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	tmp[1] = fcntl(out_w, F_DUPFD_CLOEXEC, 3);
	tmp[2] = fcntl(err_w, F_DUPFD_CLOEXEC, 3);
	for (int i = 0; i < 3; i++)
		if (tmp[i] < 0 || dup2(tmp[i], i) < 0)
			child_fail(errfd, 2);
	if (setgroups(0, groups) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		child_fail(errfd, 3);
	if (chdir("/") < 0)
		child_fail(errfd, 4);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	ts->before_exec = ac_now_ns();
	execve(argv[0], argv, envp);
	child_fail(errfd, 5);
}

static int write_file_at(int dirfd, const char *name, const char *v)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) != (ssize_t)strlen(v))
		r = -errno;
	close(fd);
	return r;
}

static int read_file_at(int dirfd, const char *name)
{
	char buf[1024];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return 0;
}

static void make_labels(struct lb_ctx *ctx, struct replica *rp)
{
	const struct limit_file *lim = ctx->cg.hybrid ? v1_limits : v2_limits;
	int nh = ctx->cg.n_hier;
	const size_t L = sizeof(rp->label[0]);

	for (int h = 0; h < nh; h++)
		lb_fmt(ctx, rp->label[R_MKDIR0 + h], L, "mkdir+open call dir [%s]", lb_hier_name(h));
	for (int i = 0; i < 4; i++)
		lb_fmt(ctx, rp->label[R_LIM0 + i], L, "write %s (open+write+close)", lim[i].file);
	lb_fmt(ctx, rp->label[R_OPEN_PROCS], L, "open %d x v1 cgroup.procs", nh - 1);
	lb_fmt(ctx, rp->label[R_PIPES], L, "pipe2 x3 + fcntl x2 (errpipe, capture)");
	lb_fmt(ctx, rp->label[R_CLONE3], L, "clone3(INTO_CGROUP|PIDFD), parent side");
	lb_fmt(ctx, rp->label[R_CH_FIRST], L, "  clone3 entry -> child runs");
	lb_fmt(ctx, rp->label[R_CH_SIGNALS], L, "  child: sigprocmask + 64 signal()");
	lb_fmt(ctx, rp->label[R_CH_JOIN], L, "  child: write \"0\" to %d v1 cgroup.procs", nh - 1);
	lb_fmt(ctx, rp->label[R_CH_REST], L, "  child: setsid,stdio,creds,chdir,close_range");
	lb_fmt(ctx, rp->label[R_EXEC], L, "  execve -> parent sees exec (pipe EOF)");
	lb_fmt(ctx, rp->label[R_RUN_EXIT], L, "  exec'd -> exit seen (pidfd+waitid)");
	lb_fmt(ctx, rp->label[R_SPAWN_TOTAL], L, "replica spawn total (clone3 -> reaped)");
	lb_fmt(ctx, rp->label[R_CLOSE], L, "close %d x cgroup.procs + 2 pipe ends", nh - 1);
	lb_fmt(ctx, rp->label[R_POPULATED], L, "read cgroup.events x2 (populated?)");
	lb_fmt(ctx, rp->label[R_USAGE], L, "read %zu usage files",
	       ctx->cg.hybrid ? AC_ARRAY_SIZE(v1_usage) : AC_ARRAY_SIZE(v2_usage));
	for (int i = nh - 1, k = 0; i >= 0; i--, k++)
		lb_fmt(ctx, rp->label[R_RMDIR0 + k], L, "rmdir call dir [%s]", lb_hier_name(i));
	lb_fmt(ctx, rp->label[B_FORK], L, "bare: fork(), parent side");
	lb_fmt(ctx, rp->label[B_CH_FIRST], L, "  fork entry -> child runs");
	lb_fmt(ctx, rp->label[B_EXEC], L, "  execve -> parent sees exec (pipe EOF)");
	lb_fmt(ctx, rp->label[B_RUN_EXIT], L, "  exec'd -> exit seen (waitpid)");
	lb_fmt(ctx, rp->label[B_TOTAL], L, "bare spawn total (fork -> reaped)");
	for (int i = 0; i < R_COUNT; i++)
		rp->tight[i].name = rp->idle[i].name = rp->label[i];
}

static void rec(struct lb_ctx *ctx, struct replica *rp, int row, uint64_t t0, uint64_t t1)
{
	lb_push(ctx, &rp->rec[row], lb_us_between(t0, t1));
}

static void replica_bare(struct lb_ctx *ctx, struct replica *rp)
{
	struct child_ts *ts = rp->ts;
	uint64_t t0, t1, t2, t3;
	struct spawn_err e;
	int ep[2], st;
	pid_t pid;
	ssize_t n;

	if (pipe2(ep, O_CLOEXEC) < 0)
		lb_die(ctx, "pipe2: %s", strerror(errno));
	memset((void *)ts, 0, sizeof(*ts));
	t0 = ac_now_ns();
	pid = fork();
	if (pid < 0)
		lb_die(ctx, "fork: %s", strerror(errno));
	if (pid == 0) {
		char *const argv[] = { LB_TRUE_BIN, NULL };

		ts->start = ac_now_ns();
		dup2(ctx->devnull, 0);
		dup2(ctx->devnull, 1);
		dup2(ctx->devnull, 2);
		ts->before_exec = ac_now_ns();
		execve(argv[0], argv, ctx->envp);
		child_fail(ep[1], 5);
	}
	t1 = ac_now_ns();
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	t2 = ac_now_ns();
	close(ep[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	t3 = ac_now_ns();
	if (n > 0 || st != 0)
		lb_die(ctx, "replica: bare /bin/true failed");
	rec(ctx, rp, B_FORK, t0, t1);
	rec(ctx, rp, B_CH_FIRST, t0, ts->start);
	rec(ctx, rp, B_EXEC, ts->before_exec, t2);
	rec(ctx, rp, B_RUN_EXIT, t2, t3);
	rec(ctx, rp, B_TOTAL, t0, t3);
}

static void replica_daemon_like(struct lb_ctx *ctx, struct replica *rp, int iter)
{
	const struct limit_file *lim = ctx->cg.hybrid ? v1_limits : v2_limits;
	const struct limit_file *use = ctx->cg.hybrid ? v1_usage : v2_usage;
	size_t n_use = ctx->cg.hybrid ? AC_ARRAY_SIZE(v1_usage) : AC_ARRAY_SIZE(v2_usage);
	int nh = ctx->cg.n_hier;
	int dfd[AC_H_COUNT], procs[AC_H_COUNT], n_procs = 0;
	int ep[2], outp[2], errp[2], pidfd = -1;
	struct child_ts *ts = rp->ts;
	const int *tools_fd = ctx->cg.lib.root.dirfd;
	char name[32];
	uint64_t t0, t1, t2, t3;
	struct spawn_err e;
	siginfo_t si;
	pid_t pid;
	ssize_t n;

	lb_fmt(ctx, name, sizeof(name), "r%d", iter);
	for (int h = 0; h < AC_H_COUNT; h++)
		dfd[h] = -1;
	/* create: mkdirat + openat in each hierarchy */
	for (int h = 0; h < nh; h++) {
		t0 = ac_now_ns();
		if (mkdirat(tools_fd[h], name, 0755) < 0)
			lb_die(ctx, "replica: mkdir %s [%s]: %s", name, lb_hier_name(h), strerror(errno));
		dfd[h] = openat(tools_fd[h], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		t1 = ac_now_ns();
		if (dfd[h] < 0)
			lb_die(ctx, "replica: open %s: %s", name, strerror(errno));
		rec(ctx, rp, R_MKDIR0 + h, t0, t1);
	}
	for (int i = 0; i < 4; i++) {
		int r;

		t0 = ac_now_ns();
		r = write_file_at(dfd[lim[i].h], lim[i].file, lim[i].value);
		t1 = ac_now_ns();
		if (r < 0)
			lb_die(ctx, "replica: write %s: %s", lim[i].file, strerror(-r));
		rec(ctx, rp, R_LIM0 + i, t0, t1);
	}
	t0 = ac_now_ns();
	for (int i = 1; i < nh; i++)
		if ((procs[n_procs++] = openat(dfd[i], "cgroup.procs", O_WRONLY | O_CLOEXEC)) < 0)
			lb_die(ctx, "replica: open cgroup.procs: %s", strerror(errno));
	t1 = ac_now_ns();
	rec(ctx, rp, R_OPEN_PROCS, t0, t1);
	t0 = ac_now_ns();
	if (pipe2(outp, O_CLOEXEC) < 0 || fcntl(outp[0], F_SETFL, O_NONBLOCK) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0 || fcntl(errp[0], F_SETFL, O_NONBLOCK) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0)
		lb_die(ctx, "pipe2: %s", strerror(errno));
	t1 = ac_now_ns();
	rec(ctx, rp, R_PIPES, t0, t1);

	memset((void *)ts, 0, sizeof(*ts));
	t0 = ac_now_ns();
	pid = clone3_pidfd(dfd[AC_H_UNIFIED], &pidfd);
	if (pid < 0)
		lb_die(ctx, "clone3(CLONE_INTO_CGROUP): %s", strerror(errno));
	if (pid == 0) {
		close(ep[0]);
		replica_child(ts, procs, n_procs, outp[1], errp[1], ep[1]);
	}
	t1 = ac_now_ns();
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	t2 = ac_now_ns();
	close(ep[0]);
	if (n > 0)
		lb_die(ctx, "replica child failed at step %d: %s", e.step, strerror(e.err));
	{
		uint64_t c0 = ac_now_ns();

		for (int i = 0; i < n_procs; i++)
			close(procs[i]);
		close(outp[1]);
		close(errp[1]);
		rec(ctx, rp, R_CLOSE, c0, ac_now_ns());
	}
	{
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		lb_die(ctx, "waitid: %s", strerror(errno));
	t3 = ac_now_ns();
	close(pidfd);
	close(outp[0]);
	close(errp[0]);
	rec(ctx, rp, R_CLONE3, t0, t1);
	rec(ctx, rp, R_CH_FIRST, t0, ts->start);
	rec(ctx, rp, R_CH_SIGNALS, ts->start, ts->after_signals);
	rec(ctx, rp, R_CH_JOIN, ts->after_signals, ts->after_join);
	rec(ctx, rp, R_CH_REST, ts->after_join, ts->before_exec);
	rec(ctx, rp, R_EXEC, ts->before_exec, t2);
	rec(ctx, rp, R_RUN_EXIT, t2, t3);
	rec(ctx, rp, R_SPAWN_TOTAL, t0, t3);

	t0 = ac_now_ns();
	read_file_at(dfd[AC_H_UNIFIED], "cgroup.events");
	read_file_at(dfd[AC_H_UNIFIED], "cgroup.events");
	t1 = ac_now_ns();
	rec(ctx, rp, R_POPULATED, t0, t1);
	t0 = ac_now_ns();
	for (size_t i = 0; i < n_use; i++)
		read_file_at(dfd[use[i].h], use[i].file);
	t1 = ac_now_ns();
	rec(ctx, rp, R_USAGE, t0, t1);

	/* remove: the daemon goes pids, cpu, memory, unified */
	for (int i = nh - 1, k = 0; i >= 0; i--, k++) {
		int h = i, tries = 0;

		t0 = ac_now_ns();
		while (unlinkat(tools_fd[h], name, AT_REMOVEDIR) < 0) {
			if (errno != EBUSY || ++tries > 2000)
				lb_die(ctx, "replica: rmdir %s [%s]: %s", name, lb_hier_name(h),
				       strerror(errno));
			rp->rmdir_ebusy++;
			usleep(100);
		}
		t1 = ac_now_ns();
		close(dfd[h]);
		rec(ctx, rp, R_RMDIR0 + k, t0, t1);
	}
}

static void measure(struct lb_ctx *ctx, struct replica *rp, int n_idle)
{
	const struct lb_options *o = &ctx->opt;

	rp->rec = rp->tight;
	for (int i = 0; i < o->micro_n; i++) {
		lb_check_stop(ctx);
		if (i & 1) {
			replica_bare(ctx, rp);
			replica_daemon_like(ctx, rp, i);
		} else {
			replica_daemon_like(ctx, rp, i);
			replica_bare(ctx, rp);
		}
	}
	rp->rec = rp->idle;
	for (int i = 0; i < n_idle; i++) {
		lb_check_stop(ctx);
		usleep((useconds_t)o->gap_ms * 1000);
		replica_daemon_like(ctx, rp, o->micro_n + i);
		usleep((useconds_t)o->gap_ms * 1000);
		replica_bare(ctx, rp);
	}
}

static void report(struct lb_ctx *ctx, const struct replica *rp, int n_idle,
		   const struct lb_stat5 *st, const struct lb_stat5 *si, json_t *jb)
{
	FILE *out = ctx->out;
	json_t *jr = json_object();

	fprintf(out, "\n[3] In-process replica of one call's cgroup work, step by step: the files, "
		     "values and order of agentcgd's %s backend\n"
		     "    before the call pool (494ad26: all on the request path; with a pool the "
		     "spawn-side steps run ahead of the request)\n"
		     "    (under %s); back to back (%d iterations) and after %d ms idle (%d)\n",
		ctx->cg.hybrid ? "hybrid" : "v2", ctx->cg.tools_tag, ctx->opt.micro_n,
		ctx->opt.gap_ms, n_idle);
	fprintf(out, "  %-48s %9s %9s %9s | %9s %9s\n", "step (us)", "median", "p90", "p99",
		"idle:med", "idle:p99");
	for (int i = 0; i < R_COUNT; i++) {
		if (!rp->tight[i].n)
			continue;
		if (i == R_MKDIR0)
			fprintf(out, "  -- before spawn (on the critical path)\n");
		if (i == R_CLONE3)
			fprintf(out, "  -- spawn (the daemon blocks until the child has exec'd)\n");
		if (i == R_CLOSE)
			fprintf(out, "  -- after the exec / exit, before the reply\n");
		if (i == R_RMDIR0)
			fprintf(out, "  -- after the reply (off the client's path, but serial in the daemon)\n");
		if (i == B_FORK)
			fprintf(out, "  -- the same spawn without cgroups, for comparison\n");
		fprintf(out, "  %-48s %9.1f %9.1f %9.1f | %9.1f %9.1f\n", rp->label[i], st[i].med,
			st[i].p90, st[i].p99, si[i].med, si[i].p99);
		json_object_set_new(jr, rp->label[i],
				    json_pack("{s:o, s:o}", "back_to_back", lb_stat_json(st[i]),
					      "after_idle", lb_stat_json(si[i])));
	}
	if (rp->rmdir_ebusy)
		fprintf(out, "  note: rmdir hit EBUSY %d times (retried every 100 us, included above)\n",
			rp->rmdir_ebusy);
	json_object_set_new(jr, "rmdir_ebusy", json_integer(rp->rmdir_ebusy));
	json_object_set_new(jb, "replica", jr);
}

static void sums_of(struct lb_ctx *ctx, const struct lb_stat5 *st, const struct lb_stat5 *si,
		    struct lb_replica_sums *s)
{
	int nh = ctx->cg.n_hier;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < nh; i++) {
		s->mkdir_open += st[R_MKDIR0 + i].med;
		s->rmdir += st[R_RMDIR0 + i].med;
	}
	for (int i = 0; i < 4; i++)
		s->limit_writes += st[R_LIM0 + i].med;
	s->opens = st[R_OPEN_PROCS].med + st[R_PIPES].med + st[R_CLOSE].med;
	s->spawn_extra = st[R_SPAWN_TOTAL].med - st[B_TOTAL].med;
	s->post_exit = st[R_POPULATED].med + st[R_USAGE].med;
	s->join_extra_idle = si[R_CH_JOIN].med - st[R_CH_JOIN].med;
}

void lb_replica_run(struct lb_ctx *ctx, json_t *jb, struct lb_replica_sums *sums)
{
	struct replica *rp = calloc(1, sizeof(*rp));
	struct lb_stat5 st[R_COUNT], si[R_COUNT];
	int n_idle = ctx->opt.spaced_n / 2 > 10 ? ctx->opt.spaced_n / 2 : 10;

	if (!rp)
		lb_die(ctx, "out of memory");
	rp->ts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rp->ts == MAP_FAILED)
		lb_die(ctx, "mmap: %s", strerror(errno));
	make_labels(ctx, rp);
	measure(ctx, rp, n_idle);
	munmap(rp->ts, 4096);
	for (int i = 0; i < R_COUNT; i++) {
		st[i] = lb_stats(&rp->tight[i]);
		si[i] = lb_stats(&rp->idle[i]);
	}
	report(ctx, rp, n_idle, st, si, jb);
	sums_of(ctx, st, si, sums);
	for (int i = 0; i < R_COUNT; i++) {
		lb_series_free(&rp->tight[i]);
		lb_series_free(&rp->idle[i]);
	}
	free(rp);
}
