// SPDX-License-Identifier: GPL-2.0
/* launch_bench: breakdown [3], the in-process replica of a call, built
 * from the library calls agentcgd makes (see replica.h). */
#include "replica.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agentcg/config.h"
#include "agentcg/intent.h"
#include "agentcg/spawn.h"
#include "context.h"

#define LIMIT_KNOBS 4

/* Rows of the table, in the order a call goes through them. */
enum {
	/* the pool's spare cgroup */
	R_MKDIR0,			/* + AC_H_*: ac_cg_mkdir_one per hierarchy */
	R_LIM0 = R_MKDIR0 + AC_H_COUNT, /* + knob: ac_cg_apply_limits, one knob each */
	R_STATFDS = R_LIM0 + LIMIT_KNOBS,
	/* the spare's stub, then the call */
	R_OPEN_PROCS,  /* ac_cg_placement_open */
	R_STUB_START,  /* ac_stub_start: socketpair + clone3, parent side */
	R_STUB_PARKED, /* clone3 -> the stub has joined and waits for a command */
	R_PIPES,       /* the call's two capture pipes */
	R_STUB_EXEC,   /* ac_stub_exec: the command over the control socket */
	R_CLOSE,       /* ac_cg_placement_close + the pipes' child ends */
	R_EXEC,	       /* the stub's setup + execve -> control socket EOF (ac_stub_result 1) */
	R_RUN_EXIT,    /* exec'd -> pidfd readable + waitid */
	R_SPAWN_TOTAL, /* ac_stub_start -> reaped */
	/* after the exit */
	R_POPULATED, /* ac_cg_populated_fds */
	R_USAGE,     /* ac_cg_read_usage_fds */
	R_RMDIR0,    /* + step: ac_cg_rmdir_step, one hierarchy each */
	/* the same spawn without cgroups */
	B_FORK = R_RMDIR0 + AC_H_COUNT,
	B_CH_FIRST,
	B_EXEC,
	B_RUN_EXIT,
	B_TOTAL,
	R_COUNT
};

/* Timestamps the bare spawn's child writes into shared memory. */
struct child_ts {
	volatile uint64_t start, before_exec;
};

struct replica {
	struct lb_series tight[R_COUNT], idle[R_COUNT];
	struct lb_series *rec; /* tight or idle: where the steps record */
	char label[R_COUNT][96];
	struct ac_limits lim;		   /* what the daemon writes for the bench's intent */
	struct ac_limits one[LIMIT_KNOBS]; /* lim, one knob at a time */
	int rmdir_ebusy;
	int n_statfds, n_usage; /* files ac_cg_statfds_open opened; usage files among them */
	int stubs, stubs_clone3;
	int park_timeouts; /* stubs not seen waiting within 2 s (exec sent anyway) */
	struct child_ts *ts;
};

static void rec(struct lb_ctx *ctx, struct replica *rp, int row, uint64_t t0, uint64_t t1)
{
	lb_push(ctx, &rp->rec[row], lb_us_between(t0, t1));
}

/* The limits of the bench's intent as agentcgd computes them: its intent
 * code with daemon A's config defaults. Split into one knob per struct so
 * each write is timed by itself; with fresh = true ac_cg_apply_limits
 * skips the knobs left at "max", so the four calls write what one call
 * with all of them writes, in the same order. */
static void intent_limits(struct lb_ctx *ctx, struct replica *rp)
{
	struct ac_config *cfg = calloc(1, sizeof(*cfg));
	json_t *j = json_pack("{s:s, s:f, s:i}", "memory", "256M", "cpu", 0.5, "pids", 32);
	struct ac_errors errs;
	struct ac_intent in;
	char err[512];
	int r;

	if (!cfg || !j)
		lb_die(ctx, "out of memory");
	ac_config_init(cfg);
	r = ac_config_load_file(cfg, ctx->dmn[0].template_cfg, err, sizeof(err));
	if (r < 0)
		lb_die(ctx, "replica: %s", err);
	if (ac_intent_from_json(j, &in, &errs) < 0)
		lb_die(ctx, "replica: the bench's intent is invalid (%s: %s)", errs.e[0].field,
		       errs.e[0].msg);
	ac_intent_apply_defaults(&in, &cfg->defaults);
	ac_intent_to_limits(&in, &rp->lim);
	json_decref(j);
	free(cfg);
	for (int i = 0; i < LIMIT_KNOBS; i++)
		ac_limits_unlimited(&rp->one[i]);
	rp->one[0].memory_max = rp->lim.memory_max;
	rp->one[1].memory_high = rp->lim.memory_high;
	rp->one[2].cpu_quota_us = rp->lim.cpu_quota_us;
	rp->one[2].cpu_period_us = rp->lim.cpu_period_us;
	rp->one[3].pids_max = rp->lim.pids_max;
}

static void make_labels(struct lb_ctx *ctx, struct replica *rp)
{
	static const char *const v1_knob[LIMIT_KNOBS] = { "memory.limit_in_bytes",
							   "memory.soft_limit_in_bytes",
							   "cpu.cfs_quota_us", "pids.max" };
	static const char *const v2_knob[LIMIT_KNOBS] = { "memory.max", "memory.high", "cpu.max",
							   "pids.max" };
	const char *const *knob = ctx->cg.hybrid ? v1_knob : v2_knob;
	int nh = ctx->cg.n_hier;
	const size_t L = sizeof(rp->label[0]);

	for (int h = 0; h < nh; h++)
		lb_fmt(ctx, rp->label[R_MKDIR0 + h], L, "mkdir+open call dir [%s]", lb_hier_name(h));
	for (int i = 0; i < LIMIT_KNOBS; i++)
		lb_fmt(ctx, rp->label[R_LIM0 + i], L, "write %s (open+write+close)", knob[i]);
	/* R_STATFDS and R_USAGE: once the counts are known (label_counts) */
	lb_fmt(ctx, rp->label[R_OPEN_PROCS], L, "open %d x v1 cgroup.procs", nh - 1);
	lb_fmt(ctx, rp->label[R_STUB_START], L, "ac_stub_start: socketpair + clone3, parent side");
	if (nh > 1)
		lb_fmt(ctx, rp->label[R_STUB_PARKED], L, "  stub: clone3 -> %d v1 joins done, waiting",
		       nh - 1);
	else
		lb_fmt(ctx, rp->label[R_STUB_PARKED], L, "  stub: clone3 -> waiting for its command");
	lb_fmt(ctx, rp->label[R_PIPES], L, "pipe2 x2 + fcntl x2 (capture)");
	lb_fmt(ctx, rp->label[R_STUB_EXEC], L, "ac_stub_exec: the command + 3 fds (sendmsg)");
	lb_fmt(ctx, rp->label[R_CLOSE], L, "close %d x cgroup.procs + 2 pipe ends", nh - 1);
	lb_fmt(ctx, rp->label[R_EXEC], L, "  stub: setup, execve -> ctl EOF seen");
	lb_fmt(ctx, rp->label[R_RUN_EXIT], L, "  exec'd -> exit seen (pidfd+waitid)");
	lb_fmt(ctx, rp->label[R_SPAWN_TOTAL], L, "replica spawn total (clone3 -> reaped)");
	lb_fmt(ctx, rp->label[R_POPULATED], L, "read cgroup.events x1 (populated?)");
	for (int k = 0; k < nh; k++)
		lb_fmt(ctx, rp->label[R_RMDIR0 + k], L, "rmdir call dir [%s]",
		       lb_hier_name(nh - 1 - k));
	lb_fmt(ctx, rp->label[B_FORK], L, "bare: fork(), parent side");
	lb_fmt(ctx, rp->label[B_CH_FIRST], L, "  fork entry -> child runs");
	lb_fmt(ctx, rp->label[B_EXEC], L, "  execve -> parent sees exec (pipe EOF)");
	lb_fmt(ctx, rp->label[B_RUN_EXIT], L, "  exec'd -> exit seen (waitpid)");
	lb_fmt(ctx, rp->label[B_TOTAL], L, "bare spawn total (fork -> reaped)");
}

static void label_counts(struct lb_ctx *ctx, struct replica *rp)
{
	const size_t L = sizeof(rp->label[0]);

	lb_fmt(ctx, rp->label[R_STATFDS], L, "open %d stat files (kept for the call)", rp->n_statfds);
	lb_fmt(ctx, rp->label[R_USAGE], L, "read %d usage files", rp->n_usage);
}

static void replica_bare(struct lb_ctx *ctx, struct replica *rp)
{
	struct child_ts *ts = rp->ts;
	uint64_t t0, t1, t2, t3;
	int ep[2], st, err;
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
		err = errno;
		if (write(ep[1], &err, sizeof(err)) < 0) {
		}
		_exit(127);
	}
	t1 = ac_now_ns();
	close(ep[1]);
	do
		n = read(ep[0], &err, sizeof(err));
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

static void wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* The call's cgroup as the pool prepares a spare: one hierarchy, one
 * limit, the stat files, each a step of its own. */
static void spare_cgroup(struct lb_ctx *ctx, struct replica *rp, const char *name,
			 struct ac_cg_node *node, struct ac_cg_statfds *sf)
{
	struct ac_cgroup *cg = &ctx->cg.lib;
	const struct ac_cg_node *parent = lb_cgroups_tools(ctx);
	uint64_t t0, t1;
	int r;

	ac_cg_node_init(node);
	for (int h = 0; h < cg->n_hier; h++) {
		t0 = ac_now_ns();
		r = ac_cg_mkdir_one(cg, parent, name, h, node);
		t1 = ac_now_ns();
		if (r < 0)
			lb_die(ctx, "replica: mkdir %s [%s]: %s", name, lb_hier_name(h), strerror(-r));
		rec(ctx, rp, R_MKDIR0 + h, t0, t1);
	}
	for (int i = 0; i < LIMIT_KNOBS; i++) {
		t0 = ac_now_ns();
		r = ac_cg_apply_limits(cg, node, &rp->one[i], true);
		t1 = ac_now_ns();
		if (r < 0)
			lb_die(ctx, "replica: ac_cg_apply_limits (%s): %s", rp->label[R_LIM0 + i],
			       strerror(-r));
		rec(ctx, rp, R_LIM0 + i, t0, t1);
	}
	t0 = ac_now_ns();
	ac_cg_statfds_open(cg, node, sf);
	t1 = ac_now_ns();
	rec(ctx, rp, R_STATFDS, t0, t1);
	rp->n_statfds = rp->n_usage = 0;
	for (int i = 0; i < AC_CG_STAT_FILES; i++)
		if (sf->fd[i] >= 0) {
			rp->n_statfds++;
			rp->n_usage += sf->fd[i] != ac_cg_statfds_events_fd(sf);
		}
}

/* The stub is parked once it sleeps (S) in recvmsg on its control
 * socket: it has joined its cgroups and waits for a command. The
 * library's child cannot be timed from inside, so /proc/PID/stat is
 * polled; its other waits on the way (a cgroup.procs write waiting for
 * RCU, mmap_lock) are uninterruptible (D). /proc/PID/syscall would name
 * the syscall, but reading it waits for the task to be off the CPU, up to
 * a tick. A short sleep between looks leaves the CPU to the stub: the
 * time is an upper bound, late by up to one interval (~60 us with the
 * default timer slack). */
#define PARK_POLL_NS 10000

static bool wait_parked(pid_t pid, uint64_t *t_ns)
{
	uint64_t deadline = ac_now_ns() + 2000000000ULL;
	struct timespec pause = { .tv_nsec = PARK_POLL_NS };
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	while (ac_now_ns() < deadline) {
		char buf[256];
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		const char *paren;

		*t_ns = ac_now_ns();
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			paren = strrchr(buf, ')');
			if (paren && paren[1] == ' ' && paren[2] == 'S')
				return true;
		}
		nanosleep(&pause, NULL);
	}
	return false;
}

/* A stub in the cgroup, a command handed over, the exec and the exit:
 * what acd_pool_take (a miss) and call_start do. The command goes out
 * once the stub waits for it, as from a ready spare (a pool hit); on a
 * miss the daemon sends it at once and the joins overlap the rest. */
static void spawn_call(struct lb_ctx *ctx, struct replica *rp, const struct ac_cg_node *node)
{
	char *const argv[] = { LB_TRUE_BIN, NULL };
	char *const envp[] = { LB_PATH_ENV, NULL };
	struct ac_spawn_req req = { .argv = argv, .envp = envp, .cwd = "/", .devnull = ctx->devnull };
	struct ac_cgroup *cg = &ctx->cg.lib;
	struct ac_cg_placement pl;
	struct ac_stub stub;
	uint64_t t0, t1, t_start, t_parked, t_exec, t_exit, c0, close_us;
	int outp[2], errp[2], r;
	const char *what;
	siginfo_t si;

	t0 = ac_now_ns();
	r = ac_cg_placement_open(cg, node, &pl);
	t1 = ac_now_ns();
	if (r < 0)
		lb_die(ctx, "replica: ac_cg_placement_open: %s", strerror(-r));
	rec(ctx, rp, R_OPEN_PROCS, t0, t1);
	t_start = ac_now_ns();
	r = ac_stub_start(&pl, &stub);
	t1 = ac_now_ns();
	if (r < 0)
		lb_die(ctx, "replica: ac_stub_start: %s", strerror(-r));
	rec(ctx, rp, R_STUB_START, t_start, t1);
	rp->stubs++;
	rp->stubs_clone3 += stub.used_clone3;
	c0 = ac_now_ns();
	ac_cg_placement_close(&pl);
	close_us = ac_now_ns() - c0;
	if (wait_parked(stub.pid, &t_parked))
		rec(ctx, rp, R_STUB_PARKED, t_start, t_parked);
	else
		rp->park_timeouts++;

	t0 = ac_now_ns();
	if (pipe2(outp, O_CLOEXEC) < 0 || fcntl(outp[0], F_SETFL, O_NONBLOCK) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0 || fcntl(errp[0], F_SETFL, O_NONBLOCK) < 0)
		lb_die(ctx, "pipe2: %s", strerror(errno));
	t1 = ac_now_ns();
	rec(ctx, rp, R_PIPES, t0, t1);
	req.stdio[0] = -1;
	req.stdio[1] = outp[1];
	req.stdio[2] = errp[1];
	t0 = ac_now_ns();
	r = ac_stub_exec(&stub, &req);
	t1 = ac_now_ns();
	if (r < 0)
		lb_die(ctx, "replica: ac_stub_exec: %s", strerror(-r));
	rec(ctx, rp, R_STUB_EXEC, t0, t1);
	c0 = ac_now_ns();
	close(outp[1]);
	close(errp[1]);
	t1 = ac_now_ns();
	close_us += t1 - c0;
	lb_push(ctx, &rp->rec[R_CLOSE], (double)close_us / 1000.0);

	/* The control socket is close-on-exec: EOF once the stub has exec'd. */
	do {
		wait_readable(stub.ctl);
		r = ac_stub_result(stub.ctl, &what);
	} while (r == 0);
	t_exec = ac_now_ns();
	if (r < 0)
		lb_die(ctx, "replica: the stub failed at %s: %s", what ? what : "?", strerror(-r));
	wait_readable(stub.pidfd);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)stub.pidfd, &si, WEXITED) < 0)
		lb_die(ctx, "waitid: %s", strerror(errno));
	t_exit = ac_now_ns();
	if (si.si_code != CLD_EXITED || si.si_status != 0)
		lb_die(ctx, "replica: /bin/true in the stub failed (code %d, status %d)", si.si_code,
		       si.si_status);
	rec(ctx, rp, R_EXEC, t1, t_exec);
	rec(ctx, rp, R_RUN_EXIT, t_exec, t_exit);
	rec(ctx, rp, R_SPAWN_TOTAL, t_start, t_exit);
	close(stub.ctl);
	close(stub.pidfd);
	close(outp[0]);
	close(errp[0]);
}

static void replica_call(struct lb_ctx *ctx, struct replica *rp, int iter)
{
	struct ac_cgroup *cg = &ctx->cg.lib;
	const struct ac_cg_node *parent = lb_cgroups_tools(ctx);
	struct ac_cg_node node;
	struct ac_cg_statfds sf;
	struct ac_usage u;
	char name[32];
	uint64_t t0, t1;
	int r;

	lb_fmt(ctx, name, sizeof(name), "r%d", iter);
	spare_cgroup(ctx, rp, name, &node, &sf);
	spawn_call(ctx, rp, &node);

	t0 = ac_now_ns();
	ac_cg_populated_fds(cg, &node, &sf);
	t1 = ac_now_ns();
	rec(ctx, rp, R_POPULATED, t0, t1);
	memset(&u, 0, sizeof(u));
	t0 = ac_now_ns();
	ac_cg_read_usage_fds(cg, &node, &sf, &u);
	t1 = ac_now_ns();
	rec(ctx, rp, R_USAGE, t0, t1);

	/* removal, one hierarchy per step as the daemon spreads it */
	for (int k = 0;; k++) {
		int tries = 0;

		t0 = ac_now_ns();
		while ((r = ac_cg_rmdir_step(cg, parent, name, &node)) == -EBUSY && ++tries <= 2000) {
			rp->rmdir_ebusy++;
			usleep(100);
		}
		t1 = ac_now_ns();
		if (r < 0)
			lb_die(ctx, "replica: rmdir %s: %s", name, strerror(-r));
		rec(ctx, rp, R_RMDIR0 + k, t0, t1);
		if (r == 0)
			break;
	}
	ac_cg_statfds_close(&sf);
	ac_cg_node_close(&node);
}

static void measure(struct lb_ctx *ctx, struct replica *rp, int n_idle)
{
	const struct lb_options *o = &ctx->opt;

	rp->rec = rp->tight;
	for (int i = 0; i < o->micro_n; i++) {
		lb_check_stop(ctx);
		if (i & 1) {
			replica_bare(ctx, rp);
			replica_call(ctx, rp, i);
		} else {
			replica_call(ctx, rp, i);
			replica_bare(ctx, rp);
		}
	}
	rp->rec = rp->idle;
	for (int i = 0; i < n_idle; i++) {
		lb_check_stop(ctx);
		usleep((useconds_t)o->gap_ms * 1000);
		replica_call(ctx, rp, o->micro_n + i);
		usleep((useconds_t)o->gap_ms * 1000);
		replica_bare(ctx, rp);
	}
}

static json_t *limits_json(const struct ac_limits *l)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "memory_max", (json_int_t)l->memory_max,
			 "memory_high", (json_int_t)l->memory_high, "cpu_quota_us",
			 (json_int_t)l->cpu_quota_us, "cpu_period_us", (json_int_t)l->cpu_period_us,
			 "pids_max", (json_int_t)l->pids_max);
}

static void section(FILE *out, int row)
{
	if (row == R_MKDIR0)
		fprintf(out, "  -- the call's cgroup (a pool spare: ac_cg_mkdir_one, ac_cg_apply_limits, "
			     "ac_cg_statfds_open)\n");
	if (row == R_OPEN_PROCS)
		fprintf(out, "  -- spawn: the spare's stub (ac_cg_placement_open, ac_stub_start), then the "
			     "call (ac_stub_exec)\n");
	if (row == R_POPULATED)
		fprintf(out, "  -- after the exit, before the reply\n");
	if (row == R_RMDIR0)
		fprintf(out, "  -- after the reply (off the client's path: ac_cg_rmdir_step in idle "
			     "moments)\n");
	if (row == B_FORK)
		fprintf(out, "  -- the same spawn without cgroups, for comparison\n");
}

static void report(struct lb_ctx *ctx, const struct replica *rp, int n_idle,
		   const struct lb_stat5 *st, const struct lb_stat5 *si, json_t *jb)
{
	const struct ac_limits *l = &rp->lim;
	FILE *out = ctx->out;
	json_t *jr = json_object();

	fprintf(out, "\n[3] In-process replica of one call's cgroup and spawn work, step by step: the "
		     "libagentcg-cgroup calls agentcgd makes\n"
		     "    for a call on a pool miss, %s backend (on a pool hit the steps before "
		     "ac_stub_exec ran ahead of the request;\n"
		     "    the command is sent once the stub waits for it, as to a ready spare)\n"
		     "    (under %s); back to back (%d iterations) and after %d ms idle (%d)\n",
		ctx->cg.hybrid ? "hybrid" : "v2", ctx->cg.tools_tag, ctx->opt.micro_n,
		ctx->opt.gap_ms, n_idle);
	fprintf(out, "    limits (ac_intent_to_limits, %s defaults): memory_max %" PRIu64
		     ", memory_high %" PRIu64 ", cpu %" PRIu64 "/%" PRIu64 ", pids %" PRIu64
		     "; stubs placed by CLONE_INTO_CGROUP: %d of %d\n",
		ctx->dmn[0].template_cfg, l->memory_max, l->memory_high, l->cpu_quota_us,
		l->cpu_period_us, l->pids_max, rp->stubs_clone3, rp->stubs);
	fprintf(out, "  %-48s %9s %9s %9s | %9s %9s\n", "step (us)", "median", "p90", "p99",
		"idle:med", "idle:p99");
	for (int i = 0; i < R_COUNT; i++) {
		if (!rp->tight[i].n)
			continue;
		section(out, i);
		fprintf(out, "  %-48s %9.1f %9.1f %9.1f | %9.1f %9.1f\n", rp->label[i], st[i].med,
			st[i].p90, st[i].p99, si[i].med, si[i].p99);
		json_object_set_new(jr, rp->label[i],
				    json_pack("{s:o, s:o}", "back_to_back", lb_stat_json(st[i]),
					      "after_idle", lb_stat_json(si[i])));
	}
	if (rp->rmdir_ebusy)
		fprintf(out, "  note: rmdir hit EBUSY %d times (retried every 100 us, included above)\n",
			rp->rmdir_ebusy);
	if (rp->park_timeouts)
		fprintf(out, "  note: %d stubs were not seen waiting within 2 s (left out of that row)\n",
			rp->park_timeouts);
	json_object_set_new(jr, "rmdir_ebusy", json_integer(rp->rmdir_ebusy));
	json_object_set_new(jr, "limits", limits_json(l));
	json_object_set_new(jr, "stubs_placed_by_clone3",
			    json_pack("{s:i, s:i}", "placed", rp->stubs_clone3, "stubs", rp->stubs));
	json_object_set_new(jb, "replica", jr);
}

static void sums_of(struct lb_ctx *ctx, const struct lb_stat5 *st, const struct lb_stat5 *si,
		    struct lb_replica_sums *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < ctx->cg.n_hier; i++) {
		s->mkdir_open += st[R_MKDIR0 + i].med;
		s->rmdir += st[R_RMDIR0 + i].med;
	}
	for (int i = 0; i < LIMIT_KNOBS; i++)
		s->limit_writes += st[R_LIM0 + i].med;
	s->opens = st[R_STATFDS].med + st[R_OPEN_PROCS].med + st[R_PIPES].med + st[R_CLOSE].med;
	/* the pipes and closes happen inside the spawn's window: counted in opens */
	s->spawn_extra = st[R_SPAWN_TOTAL].med - st[B_TOTAL].med - st[R_PIPES].med - st[R_CLOSE].med;
	s->post_exit = st[R_POPULATED].med + st[R_USAGE].med;
	s->join_extra_idle = si[R_STUB_PARKED].med - st[R_STUB_PARKED].med;
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
	intent_limits(ctx, rp);
	make_labels(ctx, rp);
	measure(ctx, rp, n_idle);
	label_counts(ctx, rp);
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
