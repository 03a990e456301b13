// SPDX-License-Identifier: GPL-2.0
/* launch_bench: breakdown [4] and [5]. */
#include "micro.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "context.h"
#include "proc.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define USERSPACE_ITERS 2000

/* ---- [5] JSON and the socket round trip ------------------------------- */

static void micro_json(struct lb_ctx *ctx, struct lb_userspace_costs *m, const char *reply)
{
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":12345,\"method\":\"call.run\",\"params\":{\"path\":"
			  "\"" LB_SESSION "\",\"argv\":[\"" LB_TRUE_BIN "\"],\"intent\":{\"memory\":"
			  "\"256M\",\"cpu\":0.5,\"pids\":32}}}";
	struct lb_series a = { 0 }, b = { 0 }, c = { 0 };
	json_t *obj;

	m->reply_len = strlen(reply);
	obj = json_loads(reply, 0, NULL);
	if (!obj)
		return;
	for (int i = 0; i < USERSPACE_ITERS; i++) {
		uint64_t t0 = ac_now_ns(), t1, t2, t3;
		json_t *x = json_loads(req, 0, NULL), *y;
		char *s;

		json_decref(x);
		t1 = ac_now_ns(); /* the parse and its free */
		y = json_loads(reply, 0, NULL);
		json_decref(y);
		t2 = ac_now_ns();
		s = json_dumps(obj, JSON_COMPACT);
		free(s);
		t3 = ac_now_ns();
		lb_push(ctx, &a, lb_us_between(t0, t1));
		lb_push(ctx, &b, lb_us_between(t1, t2));
		lb_push(ctx, &c, lb_us_between(t2, t3));
	}
	json_decref(obj);
	m->json_parse_req = lb_stats(&a);
	m->json_parse_reply = lb_stats(&b);
	m->json_dump_reply = lb_stats(&c);
	lb_series_free(&a);
	lb_series_free(&b);
	lb_series_free(&c);
}

static _Noreturn void echo_child(int fd, size_t req_len, const char *rep, size_t rl)
{
	char buf[4096];

	for (;;) {
		size_t got = 0;

		while (got < req_len) {
			ssize_t n = read(fd, buf, req_len - got);

			if (n <= 0)
				_exit(0);
			got += (size_t)n;
		}
		if (lb_write_all(fd, rep, rl) < 0)
			_exit(0);
	}
}

/* A unix stream socket ping-pong with a forked echo process: request
 * (~190 B) out, reply (reply_len B) back. The floor of any RPC round trip. */
static void micro_ipc(struct lb_ctx *ctx, struct lb_userspace_costs *m)
{
	struct lb_series s = { 0 };
	char req[192], *rep;
	size_t rl = m->reply_len ? m->reply_len + 1 : 820;
	int sv[2];
	pid_t pid;

	memset(req, 'x', sizeof(req));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	rep = malloc(rl);
	if (!rep) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	memset(rep, 'y', rl);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		echo_child(sv[1], sizeof(req), rep, rl);
	}
	close(sv[1]);
	for (int i = 0; i < USERSPACE_ITERS && pid > 0; i++) {
		uint64_t t0 = ac_now_ns();
		size_t got = 0;
		char buf[8192];

		if (lb_write_all(sv[0], req, sizeof(req)) < 0)
			break;
		while (got < rl) {
			ssize_t n = read(sv[0], buf, sizeof(buf) < rl - got ? sizeof(buf) : rl - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		lb_push(ctx, &s, lb_us_between(t0, ac_now_ns()));
	}
	close(sv[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	free(rep);
	m->ipc_rtt = lb_stats(&s);
	lb_series_free(&s);
}

void lb_micro_userspace_run(struct lb_ctx *ctx, const char *reply, json_t *jb,
			    struct lb_userspace_costs *m)
{
	FILE *out = ctx->out;
	char l[96];

	memset(m, 0, sizeof(*m));
	micro_json(ctx, m, reply);
	micro_ipc(ctx, m);
	fprintf(out, "\n[5] Userspace pieces (%d iterations each)\n", USERSPACE_ITERS);
	lb_stat_header(out, "");
	lb_stat_row(out, "jansson: parse the call.run request", m->json_parse_req);
	lb_fmt(ctx, l, sizeof(l), "jansson: parse a %zu B reply (~ build it)", m->reply_len);
	lb_stat_row(out, l, m->json_parse_reply);
	lb_stat_row(out, "jansson: json_dumps the reply", m->json_dump_reply);
	lb_stat_row(out, "unix socket ping-pong with a process", m->ipc_rtt);
	json_object_set_new(jb, "json_parse_request", lb_stat_json(m->json_parse_req));
	json_object_set_new(jb, "json_parse_reply", lb_stat_json(m->json_parse_reply));
	json_object_set_new(jb, "json_dump_reply", lb_stat_json(m->json_dump_reply));
	json_object_set_new(jb, "unix_socket_rtt", lb_stat_json(m->ipc_rtt));
}

/* ---- [4] cgroup migration after an idle gap ---------------------------- */

/* Writing a pid to cgroup.procs takes cgroup_threadgroup_rwsem for
 * writing; without favordynmods that is an rcu_sync, which waits for an RCU
 * grace period when no writer came by recently. clone3(CLONE_INTO_CGROUP)
 * only takes the read side. This measures both after an idle gap. */
static const int gap_ms[] = { 0, 1, 5, 20, 50, 100, 500 };
#define N_GAPS ((int)AC_ARRAY_SIZE(gap_ms))

struct gap_res {
	struct lb_stat5 migrate[N_GAPS], clone_into[N_GAPS], fork_plain[N_GAPS];
	int samples[N_GAPS];
};

/* The kernel primitive itself, not agentcgd's spawner: what clone3 costs
 * the parent with and without a target cgroup. */
static pid_t clone3_into(int cgfd, int *pidfd)
{
	struct clone_args a;

	memset(&a, 0, sizeof(a));
	a.flags = CLONE_PIDFD | CLONE_INTO_CGROUP;
	a.pidfd = (uint64_t)(uintptr_t)pidfd;
	a.exit_signal = SIGCHLD;
	a.cgroup = (uint64_t)cgfd;
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

/* One round at one gap: a paused child written into cgroup.procs by the
 * parent, a clone3 straight into a (v2) cgroup, and a plain fork. */
static void gap_round(struct lb_ctx *ctx, int gap, int procs, int ufd, struct lb_series *s)
{
	char buf[32];
	pid_t pid;
	int pidfd = -1, len;
	uint64_t t0, t1;
	siginfo_t si;

	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	usleep((useconds_t)gap * 1000);
	len = lb_fmt(ctx, buf, sizeof(buf), "%d", (int)pid);
	t0 = ac_now_ns();
	if (write(procs, buf, (size_t)len) != len) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		lb_die(ctx, "write cgroup.procs: %s", strerror(errno));
	}
	t1 = ac_now_ns();
	lb_push(ctx, &s[0], lb_us_between(t0, t1));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	usleep((useconds_t)gap * 1000);
	t0 = ac_now_ns();
	pid = clone3_into(ufd, &pidfd);
	if (pid == 0)
		_exit(0);
	t1 = ac_now_ns();
	if (pid < 0)
		lb_die(ctx, "clone3: %s", strerror(errno));
	lb_push(ctx, &s[1], lb_us_between(t0, t1));
	waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
	close(pidfd);

	usleep((useconds_t)gap * 1000);
	t0 = ac_now_ns();
	pid = fork();
	if (pid == 0)
		_exit(0);
	t1 = ac_now_ns();
	lb_push(ctx, &s[2], lb_us_between(t0, t1));
	waitpid(pid, NULL, 0);
}

static void micro_gaps(struct lb_ctx *ctx, struct gap_res *gr)
{
	int mh = ctx->cg.hybrid ? AC_H_MEMORY : AC_H_UNIFIED;
	const int *tools_fd = ctx->cg.lib.root.dirfd;
	int mfd, ufd, procs;

	memset(gr, 0, sizeof(*gr));
	if (mkdirat(tools_fd[mh], "gap-migrate", 0755) < 0 ||
	    mkdirat(tools_fd[AC_H_UNIFIED], "gap-clone", 0755) < 0)
		lb_die(ctx, "mkdir gap dirs: %s", strerror(errno));
	mfd = openat(tools_fd[mh], "gap-migrate", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ufd = openat(tools_fd[AC_H_UNIFIED], "gap-clone", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	procs = mfd >= 0 ? openat(mfd, "cgroup.procs", O_WRONLY | O_CLOEXEC) : -1;
	if (mfd < 0 || ufd < 0 || procs < 0)
		lb_die(ctx, "open gap dirs: %s", strerror(errno));
	for (int g = 0; g < N_GAPS; g++) {
		int n = gap_ms[g] >= 500 ? 6 : gap_ms[g] >= 50 ? 12 : 20;
		struct lb_series s[3] = { { 0 } };

		for (int i = 0; i < n; i++) {
			lb_check_stop(ctx);
			gap_round(ctx, gap_ms[g], procs, ufd, s);
		}
		gr->migrate[g] = lb_stats(&s[0]);
		gr->clone_into[g] = lb_stats(&s[1]);
		gr->fork_plain[g] = lb_stats(&s[2]);
		gr->samples[g] = n;
		for (int k = 0; k < 3; k++)
			lb_series_free(&s[k]);
	}
	close(procs);
	close(mfd);
	close(ufd);
	lb_rmdir_retry(tools_fd[mh], "gap-migrate");
	lb_rmdir_retry(tools_fd[AC_H_UNIFIED], "gap-clone");
}

/* "[<0>] func+0x../0x..\n" lines -> "func <- func <- ..." (5 frames). */
static void stack_chain(const char *stack, char *chain, size_t len)
{
	size_t off = 0;
	int frames = 0;

	chain[0] = '\0';
	for (const char *l = stack; l && *l && frames < 5; frames++) {
		const char *name = strstr(l, "] "), *plus, *nl = strchr(l, '\n');

		if (!name)
			break;
		name += 2;
		plus = strpbrk(name, "+\n");
		off += (size_t)snprintf(chain + off, len - off, "%s%.*s", frames ? " <- " : "",
					(int)(plus ? plus - name : (long)strlen(name)), name);
		if (off >= len)
			break;
		l = nl ? nl + 1 : NULL;
	}
}

/* Where a migration after an idle gap waits: a child sleeps, then writes
 * itself into cgroup.procs while we sample its /proc/PID/stack. */
static void migration_stack(struct lb_ctx *ctx, char *chain, size_t len)
{
	int mh = ctx->cg.hybrid ? AC_H_MEMORY : AC_H_UNIFIED, dfd, procs, st;
	const int *tools_fd = ctx->cg.lib.root.dirfd;
	uint64_t deadline;
	pid_t pid;

	snprintf(chain, len, "(not caught)");
	if (mkdirat(tools_fd[mh], "gap-stack", 0755) < 0)
		return;
	dfd = openat(tools_fd[mh], "gap-stack", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	procs = dfd >= 0 ? openat(dfd, "cgroup.procs", O_WRONLY | O_CLOEXEC) : -1;
	if (procs >= 0 && (pid = fork()) >= 0) {
		if (pid == 0) {
			usleep(300000);
			_exit(write(procs, "0", 1) == 1 ? 0 : 1);
		}
		deadline = ac_now_ns() + 3000000000ULL;
		while (ac_now_ns() < deadline && waitpid(pid, &st, WNOHANG) == 0) {
			char p[64], buf[4096] = "";
			int fd;
			ssize_t n;

			snprintf(p, sizeof(p), "/proc/%d/stack", (int)pid);
			fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n <= 0 || !strstr(buf, "cgroup") || strstr(buf, "nanosleep"))
				continue;
			stack_chain(buf, chain, len);
			break;
		}
		waitpid(pid, &st, 0);
	}
	if (procs >= 0)
		close(procs);
	if (dfd >= 0)
		close(dfd);
	lb_rmdir_retry(tools_fd[mh], "gap-stack");
}

void lb_micro_gaps_run(struct lb_ctx *ctx, json_t *jb)
{
	FILE *out = ctx->out;
	json_t *jg = json_array();
	struct gap_res gr;
	char chain[512];

	micro_gaps(ctx, &gr);
	fprintf(out, "\n[4] Moving a process into a cgroup after an idle gap: write pid to %s "
		     "cgroup.procs vs clone3(CLONE_INTO_CGROUP) (v2 dir) vs fork\n",
		ctx->cg.hybrid ? "v1 memory" : "v2");
	fprintf(out, "  %-10s %4s | %-21s | %-21s | %-21s\n", "idle gap", "n", "cgroup.procs write",
		"clone3 INTO_CGROUP", "fork (reference)");
	fprintf(out, "  %-10s %4s | %10s %10s | %10s %10s | %10s %10s\n", "", "", "median", "max",
		"median", "max", "median", "max");
	for (int g = 0; g < N_GAPS; g++) {
		char gl[16];

		lb_fmt(ctx, gl, sizeof(gl), "%d ms", gap_ms[g]);
		fprintf(out, "  %-10s %4d | %10.1f %10.1f | %10.1f %10.1f | %10.1f %10.1f\n", gl,
			gr.samples[g], gr.migrate[g].med, gr.migrate[g].max, gr.clone_into[g].med,
			gr.clone_into[g].max, gr.fork_plain[g].med, gr.fork_plain[g].max);
		json_array_append_new(jg, json_pack("{s:i, s:o, s:o, s:o}", "gap_ms", gap_ms[g],
						    "cgroup_procs_write", lb_stat_json(gr.migrate[g]),
						    "clone3_into_cgroup", lb_stat_json(gr.clone_into[g]),
						    "fork", lb_stat_json(gr.fork_plain[g])));
	}
	json_object_set_new(jb, "migration_vs_idle_gap", jg);
	migration_stack(ctx, chain, sizeof(chain));
	fprintf(out, "  a cgroup.procs write 300 ms after the last one waits in (/proc/PID/stack): %s\n",
		chain);
	json_object_set_new(jb, "migration_wait_stack", json_string(chain));
}
