// SPDX-License-Identifier: GPL-2.0
/* launch_bench: what does it cost to start one short command under
 * memory/cpu/pids limits? Four ways, side by side in one run, interleaved
 * round by round so machine noise hits all of them alike:
 *
 *   (a) bare          fork + execve(/bin/true) + waitpid, no cgroup at all
 *   (b) cgroup-tools  cgcreate, cgset, cgexec /bin/true, cgdelete (Debian's
 *                     cgroup-tools, one process each), same limits
 *   (c) agentcg run   the CLI: `agentcg run /bench/s1 --mem 256M --cpu 0.5
 *                     --pids 32 -- /bin/true`, spawned and waited for
 *   (d) daemon call   one JSON-RPC `call.run` over a connection kept open,
 *                     request written -> reply line read
 *
 * With --build2 DIR a second agentcgd (B, e.g. another revision) is
 * measured as (d2) in the same rounds, its order against (d) alternating.
 *
 * The bench starts its own agentcgd (temp config with a tenant "bench",
 * root agentcg-bench-<pid> under this process's cgroups), stops it with
 * SIGTERM at the end (also on errors and ^C) and checks that no cgroup is
 * left behind. --breakdown adds what the daemon's per-call cost is made of:
 * back-to-back calls, calls after an idle gap, an in-process replica of
 * every cgroup syscall the daemon makes per call (timed one by one, also
 * after an idle gap), cgroup migration vs clone3(CLONE_INTO_CGROUP) after
 * idle gaps, JSON and socket round-trip costs, and an `strace -f -T -y` of
 * the real daemon (A) over a few hundred calls.
 *
 * Build (from the repository root):
 *   mkdir -p build/bench
 *   cc -O2 -Iinclude -D_GNU_SOURCE bench/launch_bench.c -o build/bench/launch_bench -ljansson
 * Run as root: build/bench/launch_bench [-n 1000] [--breakdown] [--json]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SESSION "/bench/s1"
#define TRUE_BIN "/bin/true"
#define MIN_TOOLS_N 100

extern char **environ;

/* ---- small helpers ----------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double us_between(uint64_t a, uint64_t b)
{
	return (double)(int64_t)(b - a) / 1000.0;
}

static FILE *out; /* the human-readable report: stdout, or stderr with --json */

static void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int snfmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int snfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		die_msg("internal: string too long: %.80s...", buf);
		return -1;
	}
	return n;
}

static bool path_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- statistics -------------------------------------------------------- */

struct series {
	const char *name;
	double *v;
	size_t n, cap;
};

struct stat5 {
	size_t n;
	double med, p90, p99, mean, min, max;
};

static void s_push(struct series *s, double us)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		double *v = realloc(s->v, cap * sizeof(double));

		if (!v) {
			die_msg("out of memory");
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = us;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile with linear interpolation between closest ranks. */
static double pct_sorted(const double *v, size_t n, double p)
{
	double x, f;
	size_t i;

	if (!n)
		return 0;
	x = p * (double)(n - 1);
	i = (size_t)x;
	f = x - (double)i;
	return i + 1 < n ? v[i] + f * (v[i + 1] - v[i]) : v[i];
}

static struct stat5 s_stats(const struct series *s)
{
	struct stat5 r = { 0 };
	double *v, sum = 0;

	r.n = s->n;
	if (!s->n)
		return r;
	v = malloc(s->n * sizeof(double));
	if (!v)
		return r;
	memcpy(v, s->v, s->n * sizeof(double));
	qsort(v, s->n, sizeof(double), cmp_double);
	for (size_t i = 0; i < s->n; i++)
		sum += v[i];
	r.med = pct_sorted(v, s->n, 0.50);
	r.p90 = pct_sorted(v, s->n, 0.90);
	r.p99 = pct_sorted(v, s->n, 0.99);
	r.mean = sum / (double)s->n;
	r.min = v[0];
	r.max = v[s->n - 1];
	free(v);
	return r;
}

static json_t *stat_json(struct stat5 st)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "n", (json_int_t)st.n, "median_us",
			 st.med, "p90_us", st.p90, "p99_us", st.p99, "mean_us", st.mean, "min_us",
			 st.min, "max_us", st.max);
}

static void stat_row(const char *label, struct stat5 st)
{
	fprintf(out, "  %-44s %6zu %9.1f %9.1f %9.1f %9.1f\n", label, st.n, st.med, st.p90, st.p99,
		st.mean);
}

static void stat_header(const char *first)
{
	fprintf(out, "  %-44s %6s %9s %9s %9s %9s\n", first, "n", "median", "p90", "p99", "mean");
}

/* ---- global state, cleanup --------------------------------------------- */

enum { H_UNIFIED, H_MEMORY, H_CPU, H_PIDS, H_COUNT };
static const char *const h_name[H_COUNT] = { "unified", "memory", "cpu", "pids" };

struct hier {
	bool present;
	char mount[256];
	char mroot[1024]; /* root of the mount inside the hierarchy */
	char own[1024];	  /* this process's cgroup, relative to the mount ("" = mount root) */
};

static struct {
	struct hier h[H_COUNT];
	bool hybrid; /* v1 memory + cpu + pids (else pure v2) */
	pid_t self;
	char tag[64];	     /* agentcg-bench-<pid>: the daemon's root */
	char tools_tag[80];  /* agentcg-bench-<pid>-tools: parent of (b) and the replica */
	int tools_fd[H_COUNT];
	bool tools_made[H_COUNT];
	pid_t tracer;
	char toolerr[128], trace_file[128];
	int devnull, toolerr_fd;
	char build[512];
	char agentcg[600];
	char cg_bin[4][64]; /* cgcreate cgset cgexec cgdelete */
	char env_sock[160];
	char *envp[4];
} G;

/* A daemon under test: A always, B with --build2 (both measured in the
 * same rounds, so the same noise hits both). */
struct conn;
struct dmn {
	char name[4]; /* "A", "B" */
	pid_t pid;
	int status;
	bool reaped, has_pool;
	char tag[80]; /* its --root */
	char sock[108], cfg[128], dlog[128];
	char agentcgd[600], template_cfg[512];
	struct conn *c;
};
static struct dmn D[2];
static int n_dmn = 1;

static volatile sig_atomic_t g_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void stop_child(pid_t pid, int sig, int timeout_ms, int *status)
{
	int st = 0;

	if (pid <= 0)
		return;
	kill(pid, sig);
	for (int i = 0; i < timeout_ms / 5; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD)) {
			if (status)
				*status = st;
			return;
		}
		usleep(5000);
	}
	fprintf(stderr, "launch_bench: pid %d did not stop after signal %d in %d ms, SIGKILL\n",
		(int)pid, sig, timeout_ms);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (status)
		*status = st;
}

static void daemon_stop(struct dmn *d)
{
	if (d->pid <= 0 || d->reaped)
		return;
	stop_child(d->pid, SIGTERM, 15000, &d->status);
	d->reaped = true;
}

/* rmdir a cgroup tree bottom-up, retrying EBUSY (a task that just exited
 * can keep a v1 cgroup busy for a moment). */
static int rmtree_at(int parentfd, const char *name)
{
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	{
		int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
		struct dirent *de;

		if (!d) {
			if (dupfd >= 0)
				close(dupfd);
		} else {
			while ((de = readdir(d)))
				if (de->d_type == DT_DIR && strcmp(de->d_name, ".") &&
				    strcmp(de->d_name, ".."))
					rmtree_at(fd, de->d_name);
			closedir(d);
		}
	}
	close(fd);
	for (int i = 0; i < 400; i++) {
		if (unlinkat(parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		ret = -errno;
		if (errno != EBUSY)
			break;
		usleep(5000);
	}
	return ret;
}

static void hier_path(int h, const char *name, char *buf, size_t len)
{
	snfmt(buf, len, "%s%s/%s", G.h[h].mount, G.h[h].own, name);
}

static void tools_remove(void)
{
	for (int h = 0; h < H_COUNT; h++) {
		char p[1500];

		if (G.tools_fd[h] >= 0)
			close(G.tools_fd[h]);
		G.tools_fd[h] = -1;
		if (!G.tools_made[h])
			continue;
		hier_path(h, G.tools_tag, p, sizeof(p));
		{
			char parent[1500], *slash;
			int pfd;

			snfmt(parent, sizeof(parent), "%s", p);
			slash = strrchr(parent, '/');
			*slash = '\0';
			pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (pfd >= 0) {
				int r = rmtree_at(pfd, G.tools_tag);

				if (r < 0)
					fprintf(stderr, "launch_bench: cannot remove %s: %s\n", p,
						strerror(-r));
				close(pfd);
			}
		}
		G.tools_made[h] = false;
	}
}

static void cleanup_all(void)
{
	if (G.tracer > 0) {
		stop_child(G.tracer, SIGINT, 5000, NULL);
		G.tracer = 0;
	}
	for (int i = 0; i < n_dmn; i++) {
		daemon_stop(&D[i]);
		if (D[i].cfg[0])
			unlink(D[i].cfg);
		if (D[i].sock[0])
			unlink(D[i].sock);
	}
	tools_remove();
	if (G.toolerr[0])
		unlink(G.toolerr);
	if (G.trace_file[0])
		unlink(G.trace_file);
}

static void die_msg(const char *fmt, ...)
{
	va_list ap;

	fflush(out);
	fprintf(stderr, "launch_bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	for (int i = 0; i < n_dmn; i++)
		if (D[i].pid > 0 && D[i].dlog[0]) {
			char cmd[300];

			fprintf(stderr, "--- daemon %s log %s (last lines) ---\n", D[i].name, D[i].dlog);
			snfmt(cmd, sizeof(cmd), "tail -n 20 %s >&2", D[i].dlog);
			if (system(cmd)) {
			}
		}
	cleanup_all();
	for (int i = 0; i < n_dmn; i++)
		if (D[i].dlog[0])
			unlink(D[i].dlog);
	exit(1);
}

static void check_stop(void)
{
	if (g_stop)
		die_msg("interrupted: stopping the daemon and removing cgroups");
}

/* ---- cgroup discovery -------------------------------------------------- */

static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p && *p;) {
		if (!strncmp(p, item, n) && (p[n] == ',' || p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
		p = strpbrk(p, ", ");
		if (p)
			p++;
	}
	return false;
}

static void discover_cgroups(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, own[H_COUNT][1024];
	size_t cap = 0;

	if (!f)
		die_msg("cannot read /proc/self/mountinfo: %s", strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char root[1024], point[256], fstype[32], source[64], super[512], *sep;

		if (sscanf(line, "%*s %*s %*s %1023s %255s", root, point) != 2)
			continue;
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%31s %63s %511s", fstype, source, super) != 3)
			continue;
		if (!strcmp(fstype, "cgroup2")) {
			if (!G.h[H_UNIFIED].present) {
				G.h[H_UNIFIED].present = true;
				snfmt(G.h[H_UNIFIED].mount, sizeof(G.h[0].mount), "%s", point);
				snfmt(G.h[H_UNIFIED].mroot, sizeof(G.h[0].mroot), "%s", root);
			}
			continue;
		}
		if (strcmp(fstype, "cgroup"))
			continue;
		for (int h = H_MEMORY; h < H_COUNT; h++)
			if (!G.h[h].present && list_has(super, h_name[h])) {
				G.h[h].present = true;
				snfmt(G.h[h].mount, sizeof(G.h[h].mount), "%s", point);
				snfmt(G.h[h].mroot, sizeof(G.h[h].mroot), "%s", root);
			}
	}
	free(line);
	fclose(f);

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		die_msg("cannot read /proc/self/cgroup: %s", strerror(errno));
	for (int h = 0; h < H_COUNT; h++)
		own[h][0] = '\0';
	{
		char l[2048];

		while (fgets(l, sizeof(l), f)) {
			char *c1 = strchr(l, ':'), *c2, *nl;

			if (!c1 || !(c2 = strchr(c1 + 1, ':')))
				continue;
			*c2 = '\0';
			if ((nl = strchr(c2 + 1, '\n')))
				*nl = '\0';
			if (c1[1] == '\0' && !strncmp(l, "0:", 2)) {
				snfmt(own[H_UNIFIED], sizeof(own[0]), "%s", c2 + 1);
				continue;
			}
			for (int h = H_MEMORY; h < H_COUNT; h++)
				if (list_has(c1 + 1, h_name[h]))
					snfmt(own[h], sizeof(own[h]), "%s", c2 + 1);
		}
	}
	fclose(f);

	for (int h = 0; h < H_COUNT; h++) {
		struct hier *x = &G.h[h];
		const char *base = own[h];
		size_t rl = strlen(x->mroot);

		if (!x->present)
			continue;
		/* A mount that shows only part of the hierarchy (a container)
		 * shows our path relative to its own root. */
		if (strcmp(x->mroot, "/") && !strncmp(base, x->mroot, rl))
			base += rl;
		snfmt(x->own, sizeof(x->own), "%s", strcmp(base, "/") ? base : "");
	}
	G.hybrid = G.h[H_MEMORY].present && G.h[H_CPU].present && G.h[H_PIDS].present;
	if (!G.h[H_UNIFIED].present)
		die_msg("no cgroup2 mount: agentcgd needs cgroup v2 or hybrid v1+v2");
	{
		struct statfs sfs;

		if (statfs(G.h[H_UNIFIED].mount, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
			die_msg("%s is not cgroup2", G.h[H_UNIFIED].mount);
	}
	if (!G.hybrid)
		for (int h = H_MEMORY; h < H_COUNT; h++)
			G.h[h].present = false;
}

/* The hierarchies a call cgroup lives in: all four on hybrid, one on v2. */
static int node_hiers(int out_h[H_COUNT])
{
	int n = 0;

	out_h[n++] = H_UNIFIED;
	if (G.hybrid)
		for (int h = H_MEMORY; h < H_COUNT; h++)
			out_h[n++] = h;
	return n;
}

static void tools_create(void)
{
	int hs[H_COUNT], n = node_hiers(hs);

	for (int i = 0; i < n; i++) {
		int h = hs[i];
		char p[1500];

		hier_path(h, G.tools_tag, p, sizeof(p));
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			die_msg("cannot create %s: %s", p, strerror(errno));
		G.tools_made[h] = true;
		G.tools_fd[h] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (G.tools_fd[h] < 0)
			die_msg("cannot open %s: %s", p, strerror(errno));
	}
	if (!G.hybrid) {
		/* Pure v2: controllers must be enabled down to our parent.
		 * Best effort (fails if our own cgroup holds processes). */
		char p[1500];
		int fd;

		snfmt(p, sizeof(p), "%s%s/cgroup.subtree_control", G.h[H_UNIFIED].mount,
		      G.h[H_UNIFIED].own);
		if ((fd = open(p, O_WRONLY | O_CLOEXEC)) >= 0) {
			if (write(fd, "+memory +cpu +pids", 18) < 0) {
			}
			close(fd);
		}
		fd = openat(G.tools_fd[H_UNIFIED], "cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "+memory +cpu +pids", 18) < 0)
				fprintf(stderr, "launch_bench: warning: cannot enable controllers in %s: %s\n",
					G.tools_tag, strerror(errno));
			close(fd);
		}
	}
}

/* ---- process spawning -------------------------------------------------- */

/* fork + execve + waitpid; the child gets /dev/null as stdin and stdout
 * and errfd (or /dev/null) as stderr. Returns the wait status or -errno. */
static int spawn_wait(char *const argv[], int errfd)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(G.devnull, 0);
		dup2(G.devnull, 1);
		dup2(errfd >= 0 ? errfd : G.devnull, 2);
		execve(argv[0], argv, G.envp);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return st;
}

static void describe_status(int st, char *buf, size_t len)
{
	if (st < 0)
		snfmt(buf, len, "spawn failed: %s", strerror(-st));
	else if (WIFEXITED(st))
		snfmt(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snfmt(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snfmt(buf, len, "wait status 0x%x", st);
}

static void require_ok(int st, const char *what)
{
	char d[128], cmd[300];

	if (st == 0)
		return;
	describe_status(st, d, sizeof(d));
	fprintf(stderr, "launch_bench: %s failed: %s; its stderr:\n", what, d);
	snfmt(cmd, sizeof(cmd), "tail -n 20 %s >&2", G.toolerr);
	if (system(cmd)) {
	}
	die_msg("%s failed", what);
}

/* ---- (a) bare --------------------------------------------------------- */

static double run_bare(void)
{
	static char *const argv[] = { TRUE_BIN, NULL };
	uint64_t t0 = now_ns();
	int st = spawn_wait(argv, -1);
	uint64_t t1 = now_ns();

	require_ok(st, TRUE_BIN);
	return us_between(t0, t1);
}

/* ---- (b) cgroup-tools -------------------------------------------------- */

struct argvb {
	char *v[64];
	int n;
	char store[16384];
	size_t used;
};

static void av_reset(struct argvb *a)
{
	a->n = 0;
	a->used = 0;
}

static void av_add(struct argvb *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void av_add(struct argvb *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->n + 1 >= (int)ARRAY_SIZE(a->v))
		die_msg("internal: too many arguments");
	va_start(ap, fmt);
	n = vsnprintf(a->store + a->used, sizeof(a->store) - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->store) - a->used)
		die_msg("internal: arguments too long");
	a->v[a->n++] = a->store + a->used;
	a->v[a->n] = NULL;
	a->used += (size_t)n + 1;
}

/* Controllers grouped by their path: cgcreate/cgexec/cgdelete take one
 * `-g ctrl,ctrl:path` per group, cgset one invocation per distinct path. */
struct tgroup {
	char ctrls[64];
	const char *cl[3];
	int n_cl;
	char rel[1200]; /* parent path inside the hierarchy (…/agentcg-bench-P-tools) */
	int h;		/* a hierarchy of this group (for the file-system path) */
	char sets[3][64];
	int n_sets;
};

static struct tgroup tg[3];
static int n_tg, n_del; /* groups; cgdelete invocations */
static const char *const tool_ctrl[3] = { "memory", "cpu", "pids" };

static void tools_plan(void)
{
	static const char *const v1_set[3] = { "memory.limit_in_bytes=256M", "cpu.cfs_quota_us=50000",
					       "pids.max=32" };
	static const char *const v2_set[3] = { "memory.max=256M", "cpu.max=50000 100000",
					       "pids.max=32" };

	n_tg = 0;
	for (int c = 0; c < 3; c++) {
		int h = G.hybrid ? H_MEMORY + c : H_UNIFIED;
		char rel[1200];
		int g;

		snfmt(rel, sizeof(rel), "%s/%s", G.h[h].own, G.tools_tag);
		for (g = 0; g < n_tg; g++)
			if (!strcmp(tg[g].rel, rel))
				break;
		if (g == n_tg) {
			memset(&tg[g], 0, sizeof(tg[g]));
			snfmt(tg[g].rel, sizeof(tg[g].rel), "%s", rel);
			tg[g].h = h;
			n_tg++;
		} else {
			strcat(tg[g].ctrls, ",");
		}
		strcat(tg[g].ctrls, tool_ctrl[c]);
		tg[g].cl[tg[g].n_cl++] = tool_ctrl[c];
		snfmt(tg[g].sets[tg[g].n_sets++], sizeof(tg[g].sets[0]), "%s",
		      G.hybrid ? v1_set[c] : v2_set[c]);
	}
	/* cgdelete (libcgroup 2.0.2) removes each distinct path once, in the
	 * hierarchy of the first controller naming it: with cpu and pids on
	 * separate v1 mounts at the same path, `-g cpu,pids:P` (or `-g cpu:P
	 * -g pids:P`) leaves pids:P behind and still exits 0. So invocation k
	 * deletes the k-th controller of every group. */
	n_del = 1;
	if (G.hybrid)
		for (int g = 0; g < n_tg; g++)
			if (tg[g].n_cl > n_del)
				n_del = tg[g].n_cl;
}

static void av_delete(struct argvb *a, int k, int i)
{
	for (int g = 0; g < n_tg; g++) {
		if (!G.hybrid) { /* one hierarchy: the whole group at once */
			av_add(a, "-g");
			av_add(a, "%s:%s/c%d", tg[g].ctrls, tg[g].rel, i);
		} else if (k < tg[g].n_cl) {
			av_add(a, "-g");
			av_add(a, "%s:%s/c%d", tg[g].cl[k], tg[g].rel, i);
		}
	}
}

static void av_groups(struct argvb *a, int i)
{
	for (int g = 0; g < n_tg; g++) {
		av_add(a, "-g");
		av_add(a, "%s:%s/c%d", tg[g].ctrls, tg[g].rel, i);
	}
}

enum { T_CREATE, T_SET, T_EXEC, T_DELETE, T_STEPS };
static const char *const tstep_name[T_STEPS] = { "cgcreate", "cgset", "cgexec /bin/true",
						 "cgdelete" };
static struct series tstep[T_STEPS];
static int tools_leftovers, tools_procs_per_iter;

/* For the report: the commands of one iteration, one per line. */
static void tools_command_line(char *buf, size_t len)
{
	struct argvb a;
	size_t off = 0;

	buf[0] = '\0';
	for (int s = 0; s < T_STEPS; s++) {
		int reps = s == T_SET ? n_tg : s == T_DELETE ? n_del : 1;

		for (int r = 0; r < reps; r++) {
			av_reset(&a);
			av_add(&a, "%s", strrchr(G.cg_bin[s], '/') + 1);
			if (s == T_SET) {
				for (int k = 0; k < tg[r].n_sets; k++) {
					av_add(&a, "-r");
					av_add(&a, "%s", tg[r].sets[k]);
				}
				av_add(&a, "%s/c<i>", tg[r].rel);
			} else if (s == T_DELETE) {
				for (int g = 0; g < n_tg; g++) {
					if (G.hybrid && r >= tg[g].n_cl)
						continue;
					av_add(&a, "-g");
					av_add(&a, "%s:%s/c<i>", G.hybrid ? tg[g].cl[r] : tg[g].ctrls,
					       tg[g].rel);
				}
			} else {
				for (int g = 0; g < n_tg; g++) {
					av_add(&a, "-g");
					av_add(&a, "%s:%s/c<i>", tg[g].ctrls, tg[g].rel);
				}
				if (s == T_EXEC)
					av_add(&a, TRUE_BIN);
			}
			off += (size_t)snprintf(buf + off, len - off, "    $");
			for (int k = 0; k < a.n && off < len; k++)
				off += (size_t)snprintf(buf + off, len - off,
							strchr(a.v[k], ' ') ? " '%s'" : " %s", a.v[k]);
			if (off < len)
				off += (size_t)snprintf(buf + off, len - off, "\n");
			if (off >= len)
				return;
		}
	}
}

static double run_tools(int i, bool record)
{
	struct argvb a;
	double step[T_STEPS] = { 0 };
	uint64_t t0, t1, tall0, tall1;
	int st;

	tall0 = now_ns();
	/* cgcreate */
	av_reset(&a);
	av_add(&a, "%s", G.cg_bin[T_CREATE]);
	av_groups(&a, i);
	t0 = now_ns();
	st = spawn_wait(a.v, G.toolerr_fd);
	t1 = now_ns();
	require_ok(st, "cgcreate");
	step[T_CREATE] = us_between(t0, t1);
	/* cgset: one per distinct path */
	for (int g = 0; g < n_tg; g++) {
		av_reset(&a);
		av_add(&a, "%s", G.cg_bin[T_SET]);
		for (int k = 0; k < tg[g].n_sets; k++) {
			av_add(&a, "-r");
			av_add(&a, "%s", tg[g].sets[k]);
		}
		av_add(&a, "%s/c%d", tg[g].rel, i);
		t0 = now_ns();
		st = spawn_wait(a.v, G.toolerr_fd);
		t1 = now_ns();
		require_ok(st, "cgset");
		step[T_SET] += us_between(t0, t1);
	}
	/* cgexec /bin/true */
	av_reset(&a);
	av_add(&a, "%s", G.cg_bin[T_EXEC]);
	av_groups(&a, i);
	av_add(&a, TRUE_BIN);
	t0 = now_ns();
	st = spawn_wait(a.v, G.toolerr_fd);
	t1 = now_ns();
	require_ok(st, "cgexec");
	step[T_EXEC] = us_between(t0, t1);
	/* cgdelete: see n_del */
	for (int k = 0; k < n_del; k++) {
		av_reset(&a);
		av_add(&a, "%s", G.cg_bin[T_DELETE]);
		av_delete(&a, k, i);
		t0 = now_ns();
		st = spawn_wait(a.v, G.toolerr_fd);
		t1 = now_ns();
		require_ok(st, "cgdelete");
		step[T_DELETE] += us_between(t0, t1);
	}
	tall1 = now_ns();

	/* Untimed: check that the tools removed everything. */
	for (int c = 0; c < 3; c++) {
		int h = G.hybrid ? H_MEMORY + c : H_UNIFIED;
		char p[1500], name[32];

		snfmt(name, sizeof(name), "c%d", i);
		snfmt(p, sizeof(p), "%s%s/%s/%s", G.h[h].mount, G.h[h].own, G.tools_tag, name);
		if (path_exists(p)) {
			if (record)
				tools_leftovers++;
			rmtree_at(G.tools_fd[h], name);
		}
	}
	if (record)
		for (int s = 0; s < T_STEPS; s++)
			s_push(&tstep[s], step[s]);
	return us_between(tall0, tall1);
}

/* ---- (c) agentcg run --------------------------------------------------- */

static double run_cli(void)
{
	char *argv[] = { G.agentcg, "run", SESSION, "--mem", "256M", "--cpu", "0.5", "--pids", "32",
			 "--", TRUE_BIN, NULL };
	uint64_t t0 = now_ns();
	int st = spawn_wait(argv, G.toolerr_fd);
	uint64_t t1 = now_ns();

	require_ok(st, "agentcg run");
	return us_between(t0, t1);
}

/* ---- (d) one JSON-RPC connection --------------------------------------- */

struct conn {
	int fd;
	char buf[1 << 20];
	size_t len, consumed;
	int next_id;
	char *last_reply;
};

static struct conn *C;

static int conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	snfmt(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = -errno;

		close(c->fd);
		c->fd = -1;
		return r;
	}
	c->len = c->consumed = 0;
	return 0;
}

/* Next line (NUL-terminated, without '\n'); *t is when it was complete. */
static char *conn_line(struct conn *c, uint64_t *t, int timeout_ms)
{
	for (;;) {
		char *nl;

		if (c->consumed) {
			memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
			c->len -= c->consumed;
			c->consumed = 0;
		}
		nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*t = now_ns();
			*nl = '\0';
			c->consumed = (size_t)(nl - c->buf) + 1;
			return c->buf;
		}
		if (c->len == sizeof(c->buf) - 1)
			die_msg("daemon reply line longer than %zu bytes", sizeof(c->buf));
		{
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			int r = poll(&p, 1, timeout_ms);
			ssize_t n;

			if (r < 0 && errno == EINTR) {
				check_stop();
				continue;
			}
			if (r == 0)
				die_msg("no reply from the daemon in %d ms", timeout_ms);
			n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				die_msg("daemon closed the connection (%s)", n < 0 ? strerror(errno) : "EOF");
			c->len += (size_t)n;
		}
	}
}

/* One call.run. Returns the round trip; *to_started is the time until the
 * call.started notification (the command has been exec'd by then). */
static double run_call(struct conn *c, double *to_started)
{
	char req[512];
	int id = ++c->next_id, n;
	uint64_t t0, t_started = 0, t_reply = 0;

	n = snfmt(req, sizeof(req),
		  "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"call.run\",\"params\":{\"path\":\"" SESSION
		  "\",\"argv\":[\"" TRUE_BIN "\"],\"intent\":{\"memory\":\"256M\",\"cpu\":0.5,"
		  "\"pids\":32}}}\n",
		  id);
	t0 = now_ns();
	if (write_all(c->fd, req, (size_t)n) < 0)
		die_msg("write to the daemon: %s", strerror(errno));
	for (;;) {
		uint64_t t;
		char *line = conn_line(c, &t, 30000);
		json_error_t jerr;
		json_t *msg = json_loads(line, 0, &jerr), *mid, *method;

		if (!msg)
			die_msg("daemon sent invalid JSON: %s: %.200s", jerr.text, line);
		method = json_object_get(msg, "method");
		mid = json_object_get(msg, "id");
		if (json_is_string(method)) {
			json_t *p = json_object_get(msg, "params");

			if (!strcmp(json_string_value(method), "call.started") &&
			    json_integer_value(json_object_get(p, "id")) == id)
				t_started = t;
			json_decref(msg);
			continue;
		}
		if (!json_is_integer(mid) || json_integer_value(mid) != id) {
			json_decref(msg);
			continue;
		}
		t_reply = t;
		{
			json_t *res = json_object_get(msg, "result");
			json_t *code = json_object_get(json_object_get(res, "exit"), "code");

			if (!res || !json_is_integer(code) || json_integer_value(code) != 0)
				die_msg("call.run did not succeed: %.400s", line);
		}
		if (!c->last_reply || strlen(c->last_reply) < strlen(line)) {
			free(c->last_reply);
			c->last_reply = strdup(line);
		}
		json_decref(msg);
		break;
	}
	if (to_started)
		*to_started = t_started ? us_between(t0, t_started) : -1;
	return us_between(t0, t_reply);
}

/* Any other method; returns its result (new reference) or NULL. */
static json_t *rpc(struct conn *c, const char *method)
{
	char req[256];
	int id = ++c->next_id, n;

	n = snfmt(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"}\n", id, method);
	if (write_all(c->fd, req, (size_t)n) < 0)
		return NULL;
	for (;;) {
		uint64_t t;
		json_t *msg = json_loads(conn_line(c, &t, 10000), 0, NULL), *res;

		if (!msg)
			return NULL;
		if (json_integer_value(json_object_get(msg, "id")) != id ||
		    json_object_get(msg, "method")) {
			json_decref(msg);
			continue;
		}
		res = json_incref(json_object_get(msg, "result"));
		json_decref(msg);
		return res;
	}
}

/* ---- the daemon -------------------------------------------------------- */

static void daemon_start(struct dmn *d)
{
	json_error_t jerr;
	json_t *cfg = json_load_file(d->template_cfg, 0, &jerr);
	int logfd;

	if (!cfg)
		die_msg("cannot read %s: %s (line %d)", d->template_cfg, jerr.text, jerr.line);
	json_object_set_new(cfg, "tenants",
			    json_pack("{s:{s:s, s:i, s:i}}", "bench", "memory_max", "8G", "cpu", 0,
				      "pids", 8192));
	if (json_dump_file(cfg, d->cfg, JSON_INDENT(2)) < 0) {
		json_decref(cfg);
		die_msg("cannot write %s", d->cfg);
	}
	json_decref(cfg);
	unlink(d->sock);
	logfd = open(d->dlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		die_msg("cannot create %s: %s", d->dlog, strerror(errno));
	d->pid = fork();
	if (d->pid < 0)
		die_msg("fork: %s", strerror(errno));
	if (d->pid == 0) {
		char *argv[] = { d->agentcgd, "--config", d->cfg, "--root", d->tag, "--socket", d->sock, NULL };

		dup2(G.devnull, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execve(argv[0], argv, G.envp);
		_exit(127);
	}
	close(logfd);
	for (int i = 0; i < 400; i++) {
		int st;
		struct conn probe;

		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->reaped = true;
			d->status = st;
			die_msg("agentcgd %s exited during start-up", d->name);
		}
		probe.fd = -1;
		if (conn_open(&probe, d->sock) == 0) {
			close(probe.fd);
			return;
		}
		check_stop();
		usleep(10000);
	}
	die_msg("agentcgd did not listen on %s within 4 s", d->sock);
}

struct proc_cpu {
	uint64_t utime, stime, cutime, cstime; /* clock ticks */
	uint64_t sched_ns;
};

static int read_proc_cpu(pid_t pid, struct proc_cpu *pc)
{
	char p[64], buf[2048], *s;
	FILE *f;
	unsigned long long ut, st, cut, cst;

	memset(pc, 0, sizeof(*pc));
	snfmt(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut,
			 &st, &cut, &cst) != 4)
		return -EIO;
	pc->utime = ut;
	pc->stime = st;
	pc->cutime = cut;
	pc->cstime = cst;
	snfmt(p, sizeof(p), "/proc/%d/schedstat", (int)pid);
	f = fopen(p, "re");
	if (f) {
		unsigned long long ns;

		if (fscanf(f, "%llu", &ns) == 1)
			pc->sched_ns = ns;
		fclose(f);
	}
	return 0;
}

/* ---- breakdown: in-process replica of the daemon's per-call syscalls ----- */

struct child_ts {
	volatile uint64_t start, after_signals, after_join, before_exec;
};

struct spawn_err {
	int err, step;
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
	char *const argv[] = { TRUE_BIN, NULL };
	char *const envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	int tmp[3];
	gid_t groups[1] = { 0 };

	ts->start = now_ns();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	ts->after_signals = now_ns();
	for (int i = 0; i < n_procs; i++)
		if (write(procs[i], "0", 1) != 1)
			child_fail(errfd, 1);
	ts->after_join = now_ns();
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
	ts->before_exec = now_ns();
	execve(argv[0], argv, envp);
	child_fail(errfd, 5);
}

enum {
	R_MKDIR0, /* + H_* : mkdir+open per hierarchy (4) */
	R_LIM0 = R_MKDIR0 + H_COUNT, /* 4 limit writes */
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
	B_FORK = R_RMDIR0 + H_COUNT,
	B_CH_FIRST,
	B_EXEC,
	B_RUN_EXIT,
	B_TOTAL,
	R_COUNT
};

static struct series rs[R_COUNT], rs_spaced[R_COUNT];
static struct series *RS = rs; /* where the replica records */
static char rs_label[R_COUNT][96];
static int rmdir_ebusy;

struct limit_file {
	int h;
	const char *file, *value;
};

static const struct limit_file v1_limits[4] = {
	{ H_MEMORY, "memory.limit_in_bytes", "402653184" },
	{ H_MEMORY, "memory.soft_limit_in_bytes", "268435456" },
	{ H_CPU, "cpu.cfs_quota_us", "50000" },
	{ H_PIDS, "pids.max", "32" },
};
static const struct limit_file v2_limits[4] = {
	{ H_UNIFIED, "memory.max", "402653184" },
	{ H_UNIFIED, "memory.high", "268435456" },
	{ H_UNIFIED, "cpu.max", "50000 100000" },
	{ H_UNIFIED, "pids.max", "32" },
};
static const struct limit_file v1_usage[] = {
	{ H_MEMORY, "memory.max_usage_in_bytes", NULL }, { H_MEMORY, "memory.failcnt", NULL },
	{ H_MEMORY, "memory.oom_control", NULL },	 { H_PIDS, "pids.peak", NULL },
	{ H_PIDS, "pids.events", NULL },		 { H_UNIFIED, "cpu.stat", NULL },
	{ H_CPU, "cpu.stat", NULL },
};
static const struct limit_file v2_usage[] = {
	{ H_UNIFIED, "memory.peak", NULL },  { H_UNIFIED, "memory.events", NULL },
	{ H_UNIFIED, "pids.peak", NULL },    { H_UNIFIED, "pids.events", NULL },
	{ H_UNIFIED, "cpu.stat", NULL },
};

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
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return 0;
}

static void replica_labels(void)
{
	const struct limit_file *lim = G.hybrid ? v1_limits : v2_limits;
	int hs[H_COUNT], nh = node_hiers(hs);

	for (int i = 0; i < nh; i++)
		snfmt(rs_label[R_MKDIR0 + hs[i]], sizeof(rs_label[0]), "mkdir+open call dir [%s]",
		      h_name[hs[i]]);
	for (int i = 0; i < 4; i++)
		snfmt(rs_label[R_LIM0 + i], sizeof(rs_label[0]), "write %s (open+write+close)",
		      lim[i].file);
	snfmt(rs_label[R_OPEN_PROCS], sizeof(rs_label[0]), "open %d x v1 cgroup.procs", nh - 1);
	snfmt(rs_label[R_PIPES], sizeof(rs_label[0]), "pipe2 x3 + fcntl x2 (errpipe, capture)");
	snfmt(rs_label[R_CLONE3], sizeof(rs_label[0]), "clone3(INTO_CGROUP|PIDFD), parent side");
	snfmt(rs_label[R_CH_FIRST], sizeof(rs_label[0]), "  clone3 entry -> child runs");
	snfmt(rs_label[R_CH_SIGNALS], sizeof(rs_label[0]), "  child: sigprocmask + 64 signal()");
	snfmt(rs_label[R_CH_JOIN], sizeof(rs_label[0]), "  child: write \"0\" to %d v1 cgroup.procs",
	      nh - 1);
	snfmt(rs_label[R_CH_REST], sizeof(rs_label[0]), "  child: setsid,stdio,creds,chdir,close_range");
	snfmt(rs_label[R_EXEC], sizeof(rs_label[0]), "  execve -> parent sees exec (pipe EOF)");
	snfmt(rs_label[R_RUN_EXIT], sizeof(rs_label[0]), "  exec'd -> exit seen (pidfd+waitid)");
	snfmt(rs_label[R_SPAWN_TOTAL], sizeof(rs_label[0]), "replica spawn total (clone3 -> reaped)");
	snfmt(rs_label[R_CLOSE], sizeof(rs_label[0]), "close %d x cgroup.procs + 2 pipe ends", nh - 1);
	snfmt(rs_label[R_POPULATED], sizeof(rs_label[0]), "read cgroup.events x2 (populated?)");
	snfmt(rs_label[R_USAGE], sizeof(rs_label[0]), "read %zu usage files",
	      G.hybrid ? ARRAY_SIZE(v1_usage) : ARRAY_SIZE(v2_usage));
	for (int i = nh - 1, k = 0; i >= 0; i--, k++)
		snfmt(rs_label[R_RMDIR0 + k], sizeof(rs_label[0]), "rmdir call dir [%s]",
		      h_name[hs[i]]);
	snfmt(rs_label[B_FORK], sizeof(rs_label[0]), "bare: fork(), parent side");
	snfmt(rs_label[B_CH_FIRST], sizeof(rs_label[0]), "  fork entry -> child runs");
	snfmt(rs_label[B_EXEC], sizeof(rs_label[0]), "  execve -> parent sees exec (pipe EOF)");
	snfmt(rs_label[B_RUN_EXIT], sizeof(rs_label[0]), "  exec'd -> exit seen (waitpid)");
	snfmt(rs_label[B_TOTAL], sizeof(rs_label[0]), "bare spawn total (fork -> reaped)");
	for (int i = 0; i < R_COUNT; i++)
		rs[i].name = rs_spaced[i].name = rs_label[i];
}

static void replica_bare(struct child_ts *ts)
{
	int ep[2];
	uint64_t t0, t1, t2, t3;
	struct spawn_err e;
	pid_t pid;
	int st;
	ssize_t n;

	if (pipe2(ep, O_CLOEXEC) < 0)
		die_msg("pipe2: %s", strerror(errno));
	memset((void *)ts, 0, sizeof(*ts));
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		char *const argv[] = { TRUE_BIN, NULL };

		ts->start = now_ns();
		dup2(G.devnull, 0);
		dup2(G.devnull, 1);
		dup2(G.devnull, 2);
		ts->before_exec = now_ns();
		execve(argv[0], argv, G.envp);
		child_fail(ep[1], 5);
	}
	t1 = now_ns();
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	t2 = now_ns();
	close(ep[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	t3 = now_ns();
	if (n > 0 || st != 0)
		die_msg("replica: bare /bin/true failed");
	s_push(&RS[B_FORK], us_between(t0, t1));
	s_push(&RS[B_CH_FIRST], us_between(t0, ts->start));
	s_push(&RS[B_EXEC], us_between(ts->before_exec, t2));
	s_push(&RS[B_RUN_EXIT], us_between(t2, t3));
	s_push(&RS[B_TOTAL], us_between(t0, t3));
}

static void replica_daemon_like(int iter, struct child_ts *ts)
{
	const struct limit_file *lim = G.hybrid ? v1_limits : v2_limits;
	const struct limit_file *use = G.hybrid ? v1_usage : v2_usage;
	size_t n_use = G.hybrid ? ARRAY_SIZE(v1_usage) : ARRAY_SIZE(v2_usage);
	int hs[H_COUNT], nh = node_hiers(hs);
	int dfd[H_COUNT], procs[H_COUNT], n_procs = 0;
	int ep[2], outp[2], errp[2], pidfd = -1;
	char name[32];
	uint64_t t0, t1, t2, t3;
	struct spawn_err e;
	siginfo_t si;
	pid_t pid;
	ssize_t n;

	snfmt(name, sizeof(name), "r%d", iter);
	for (int h = 0; h < H_COUNT; h++)
		dfd[h] = -1;
	/* create: mkdirat + openat in each hierarchy */
	for (int i = 0; i < nh; i++) {
		int h = hs[i];

		t0 = now_ns();
		if (mkdirat(G.tools_fd[h], name, 0755) < 0)
			die_msg("replica: mkdir %s [%s]: %s", name, h_name[h], strerror(errno));
		dfd[h] = openat(G.tools_fd[h], name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		t1 = now_ns();
		if (dfd[h] < 0)
			die_msg("replica: open %s: %s", name, strerror(errno));
		s_push(&RS[R_MKDIR0 + h], us_between(t0, t1));
	}
	for (int i = 0; i < 4; i++) {
		int r;

		t0 = now_ns();
		r = write_file_at(dfd[lim[i].h], lim[i].file, lim[i].value);
		t1 = now_ns();
		if (r < 0)
			die_msg("replica: write %s: %s", lim[i].file, strerror(-r));
		s_push(&RS[R_LIM0 + i], us_between(t0, t1));
	}
	t0 = now_ns();
	for (int i = 1; i < nh; i++)
		if ((procs[n_procs++] = openat(dfd[hs[i]], "cgroup.procs", O_WRONLY | O_CLOEXEC)) < 0)
			die_msg("replica: open cgroup.procs: %s", strerror(errno));
	t1 = now_ns();
	s_push(&RS[R_OPEN_PROCS], us_between(t0, t1));
	t0 = now_ns();
	if (pipe2(outp, O_CLOEXEC) < 0 || fcntl(outp[0], F_SETFL, O_NONBLOCK) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0 || fcntl(errp[0], F_SETFL, O_NONBLOCK) < 0 ||
	    pipe2(ep, O_CLOEXEC) < 0)
		die_msg("pipe2: %s", strerror(errno));
	t1 = now_ns();
	s_push(&RS[R_PIPES], us_between(t0, t1));

	memset((void *)ts, 0, sizeof(*ts));
	t0 = now_ns();
	pid = clone3_pidfd(dfd[H_UNIFIED], &pidfd);
	if (pid < 0)
		die_msg("clone3(CLONE_INTO_CGROUP): %s", strerror(errno));
	if (pid == 0) {
		close(ep[0]);
		replica_child(ts, procs, n_procs, outp[1], errp[1], ep[1]);
	}
	t1 = now_ns();
	close(ep[1]);
	do
		n = read(ep[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	t2 = now_ns();
	close(ep[0]);
	if (n > 0)
		die_msg("replica child failed at step %d: %s", e.step, strerror(e.err));
	{
		uint64_t c0 = now_ns();

		for (int i = 0; i < n_procs; i++)
			close(procs[i]);
		close(outp[1]);
		close(errp[1]);
		s_push(&RS[R_CLOSE], us_between(c0, now_ns()));
	}
	{
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		die_msg("waitid: %s", strerror(errno));
	t3 = now_ns();
	close(pidfd);
	close(outp[0]);
	close(errp[0]);
	s_push(&RS[R_CLONE3], us_between(t0, t1));
	s_push(&RS[R_CH_FIRST], us_between(t0, ts->start));
	s_push(&RS[R_CH_SIGNALS], us_between(ts->start, ts->after_signals));
	s_push(&RS[R_CH_JOIN], us_between(ts->after_signals, ts->after_join));
	s_push(&RS[R_CH_REST], us_between(ts->after_join, ts->before_exec));
	s_push(&RS[R_EXEC], us_between(ts->before_exec, t2));
	s_push(&RS[R_RUN_EXIT], us_between(t2, t3));
	s_push(&RS[R_SPAWN_TOTAL], us_between(t0, t3));

	t0 = now_ns();
	read_file_at(dfd[H_UNIFIED], "cgroup.events");
	read_file_at(dfd[H_UNIFIED], "cgroup.events");
	t1 = now_ns();
	s_push(&RS[R_POPULATED], us_between(t0, t1));
	t0 = now_ns();
	for (size_t i = 0; i < n_use; i++)
		read_file_at(dfd[use[i].h], use[i].file);
	t1 = now_ns();
	s_push(&RS[R_USAGE], us_between(t0, t1));

	/* remove: the daemon goes pids, cpu, memory, unified */
	for (int i = nh - 1, k = 0; i >= 0; i--, k++) {
		int h = hs[i], tries = 0;

		t0 = now_ns();
		while (unlinkat(G.tools_fd[h], name, AT_REMOVEDIR) < 0) {
			if (errno != EBUSY || ++tries > 2000)
				die_msg("replica: rmdir %s [%s]: %s", name, h_name[h], strerror(errno));
			rmdir_ebusy++;
			usleep(100);
		}
		t1 = now_ns();
		close(dfd[h]);
		s_push(&RS[R_RMDIR0 + k], us_between(t0, t1));
	}
	(void)t3;
}

/* ---- breakdown: JSON and socket round trip ----------------------------- */

struct micro {
	struct stat5 json_parse_req, json_parse_reply, json_dump_reply, ipc_rtt;
	size_t reply_len;
};

static void micro_json(struct micro *m, const char *reply, int iters)
{
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":12345,\"method\":\"call.run\",\"params\":{\"path\":"
			  "\"" SESSION "\",\"argv\":[\"" TRUE_BIN "\"],\"intent\":{\"memory\":\"256M\","
			  "\"cpu\":0.5,\"pids\":32}}}";
	struct series a = { 0 }, b = { 0 }, c = { 0 };
	json_t *obj;

	m->reply_len = strlen(reply);
	obj = json_loads(reply, 0, NULL);
	if (!obj)
		return;
	for (int i = 0; i < iters; i++) {
		uint64_t t0 = now_ns(), t1, t2, t3;
		json_t *x = json_loads(req, 0, NULL);
		json_t *y;
		char *s;

		t1 = now_ns();
		json_decref(x);
		t1 = t1 + (now_ns() - t1); /* include the free */
		y = json_loads(reply, 0, NULL);
		t2 = now_ns();
		json_decref(y);
		t2 = now_ns();
		s = json_dumps(obj, JSON_COMPACT);
		free(s);
		t3 = now_ns();
		s_push(&a, us_between(t0, t1));
		s_push(&b, us_between(t1, t2));
		s_push(&c, us_between(t2, t3));
	}
	json_decref(obj);
	m->json_parse_req = s_stats(&a);
	m->json_parse_reply = s_stats(&b);
	m->json_dump_reply = s_stats(&c);
	free(a.v);
	free(b.v);
	free(c.v);
}

/* A unix stream socket ping-pong with a forked echo process: request
 * (~190 B) out, reply (reply_len B) back. The floor of any RPC round trip. */
static void micro_ipc(struct micro *m, int iters)
{
	int sv[2];
	pid_t pid;
	struct series s = { 0 };
	char req[192], *rep;
	size_t rl = m->reply_len ? m->reply_len + 1 : 820;

	memset(req, 'x', sizeof(req));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	rep = malloc(rl);
	if (!rep)
		return;
	memset(rep, 'y', rl);
	pid = fork();
	if (pid == 0) {
		char buf[4096];

		close(sv[0]);
		for (;;) {
			size_t got = 0;

			while (got < sizeof(req)) {
				ssize_t n = read(sv[1], buf, sizeof(req) - got);

				if (n <= 0)
					_exit(0);
				got += (size_t)n;
			}
			if (write_all(sv[1], rep, rl) < 0)
				_exit(0);
		}
	}
	close(sv[1]);
	for (int i = 0; i < iters && pid > 0; i++) {
		uint64_t t0 = now_ns();
		size_t got = 0;
		char buf[8192];

		if (write_all(sv[0], req, sizeof(req)) < 0)
			break;
		while (got < rl) {
			ssize_t n = read(sv[0], buf, sizeof(buf) < rl - got ? sizeof(buf) : rl - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		s_push(&s, us_between(t0, now_ns()));
	}
	close(sv[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	free(rep);
	m->ipc_rtt = s_stats(&s);
	free(s.v);
}

/* ---- breakdown: cgroup migration after an idle gap ---------------------- */

/* Writing a pid to cgroup.procs takes cgroup_threadgroup_rwsem for
 * writing; without favordynmods that is an rcu_sync, which waits for an RCU
 * grace period when no writer came by recently. clone3(CLONE_INTO_CGROUP)
 * only takes the read side. This measures both after an idle gap. */
static const int gap_ms[] = { 0, 1, 5, 20, 50, 100, 500 };
#define N_GAPS ((int)ARRAY_SIZE(gap_ms))

struct gap_res {
	struct stat5 migrate[N_GAPS], clone_into[N_GAPS], fork_plain[N_GAPS];
	int samples[N_GAPS];
};

static void micro_gaps(struct gap_res *gr)
{
	int mh = G.hybrid ? H_MEMORY : H_UNIFIED;
	int mfd, ufd, procs;

	memset(gr, 0, sizeof(*gr));
	if (mkdirat(G.tools_fd[mh], "gap-migrate", 0755) < 0 ||
	    mkdirat(G.tools_fd[H_UNIFIED], "gap-clone", 0755) < 0)
		die_msg("mkdir gap dirs: %s", strerror(errno));
	mfd = openat(G.tools_fd[mh], "gap-migrate", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ufd = openat(G.tools_fd[H_UNIFIED], "gap-clone", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	procs = mfd >= 0 ? openat(mfd, "cgroup.procs", O_WRONLY | O_CLOEXEC) : -1;
	if (mfd < 0 || ufd < 0 || procs < 0)
		die_msg("open gap dirs: %s", strerror(errno));
	for (int g = 0; g < N_GAPS; g++) {
		int n = gap_ms[g] >= 500 ? 6 : gap_ms[g] >= 50 ? 12 : 20;
		struct series a = { 0 }, b = { 0 }, c = { 0 };

		for (int i = 0; i < n; i++) {
			char buf[32];
			pid_t pid;
			int pidfd = -1, len;
			uint64_t t0, t1;
			siginfo_t si;

			check_stop();
			/* migration of a paused child (the parent writes its pid) */
			pid = fork();
			if (pid == 0) {
				pause();
				_exit(0);
			}
			usleep((useconds_t)gap_ms[g] * 1000);
			len = snfmt(buf, sizeof(buf), "%d", (int)pid);
			t0 = now_ns();
			if (write(procs, buf, (size_t)len) != len)
				die_msg("write cgroup.procs: %s", strerror(errno));
			t1 = now_ns();
			s_push(&a, us_between(t0, t1));
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			/* clone3 straight into a (v2) cgroup */
			usleep((useconds_t)gap_ms[g] * 1000);
			t0 = now_ns();
			pid = clone3_pidfd(ufd, &pidfd);
			if (pid == 0)
				_exit(0);
			t1 = now_ns();
			if (pid < 0)
				die_msg("clone3: %s", strerror(errno));
			s_push(&b, us_between(t0, t1));
			waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
			close(pidfd);
			/* plain fork, for reference */
			usleep((useconds_t)gap_ms[g] * 1000);
			t0 = now_ns();
			pid = fork();
			if (pid == 0)
				_exit(0);
			t1 = now_ns();
			s_push(&c, us_between(t0, t1));
			waitpid(pid, NULL, 0);
		}
		gr->migrate[g] = s_stats(&a);
		gr->clone_into[g] = s_stats(&b);
		gr->fork_plain[g] = s_stats(&c);
		gr->samples[g] = n;
		free(a.v);
		free(b.v);
		free(c.v);
	}
	close(procs);
	close(mfd);
	close(ufd);
	rmtree_at(G.tools_fd[mh], "gap-migrate");
	rmtree_at(G.tools_fd[H_UNIFIED], "gap-clone");
}

/* Where a migration after an idle gap waits: a child sleeps, then writes
 * itself into cgroup.procs while we sample its /proc/PID/stack. */
static void migration_stack(char *chain, size_t len)
{
	int mh = G.hybrid ? H_MEMORY : H_UNIFIED, dfd, procs;
	pid_t pid;
	uint64_t deadline;
	int st;

	snfmt(chain, len, "(not caught)");
	if (mkdirat(G.tools_fd[mh], "gap-stack", 0755) < 0)
		return;
	dfd = openat(G.tools_fd[mh], "gap-stack", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	procs = dfd >= 0 ? openat(dfd, "cgroup.procs", O_WRONLY | O_CLOEXEC) : -1;
	if (procs >= 0 && (pid = fork()) >= 0) {
		if (pid == 0) {
			usleep(300000);
			_exit(write(procs, "0", 1) == 1 ? 0 : 1);
		}
		deadline = now_ns() + 3000000000ULL;
		while (now_ns() < deadline && waitpid(pid, &st, WNOHANG) == 0) {
			char p[64], buf[4096] = "";
			int fd;
			ssize_t n;

			snfmt(p, sizeof(p), "/proc/%d/stack", (int)pid);
			fd = open(p, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n <= 0 || !strstr(buf, "cgroup") || strstr(buf, "nanosleep"))
				continue;
			/* "[<0>] func+0x../0x..\n" lines -> "func <- func <- ..." */
			{
				size_t off = 0;
				int frames = 0;

				chain[0] = '\0';
				for (char *l = buf; l && *l && frames < 5; frames++) {
					char *name = strstr(l, "] "), *plus, *nl = strchr(l, '\n');

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
			break;
		}
		waitpid(pid, &st, 0);
	}
	if (procs >= 0)
		close(procs);
	if (dfd >= 0)
		close(dfd);
	rmtree_at(G.tools_fd[mh], "gap-stack");
}

/* ---- breakdown: strace of the real daemon ------------------------------ */

struct tkey {
	char key[160];
	int phase;
	uint64_t count, errors;
	double sum_us, min_us;
};

/* Phases are found from markers in the daemon's own syscalls, so they do
 * not depend on how it spawns: the call.run request arrives (recvmsg), the
 * call.started notification and the reply leave (sendto). */
enum { PH_IDLE, PH_PRE, PH_RUN, PH_POST_REPLY, PH_CHILD_PRE, PH_CHILD_EXEC, PH_CHILD_POST,
       PH_COUNT };
static const char *const ph_name[PH_COUNT] = {
	"daemon: before the first request",
	"daemon: request -> call.started sent",
	"daemon: call.started -> reply sent",
	"daemon: after the reply, until the next request",
	"child: before execve (joins, signals, stdio, creds)",
	"child: execve",
	"child: /bin/true itself (after execve)",
};

struct trace_res {
	struct tkey *k;
	size_t n, cap;
	int calls, clones;
	double phase_us[PH_COUNT];
	double floor_us;
	uint64_t lines;
	struct stat5 rtt;
};

static struct tkey *tkey_get(struct trace_res *tr, const char *key, int phase)
{
	for (size_t i = 0; i < tr->n; i++)
		if (tr->k[i].phase == phase && !strcmp(tr->k[i].key, key))
			return &tr->k[i];
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 128;
		struct tkey *k = realloc(tr->k, cap * sizeof(*k));

		if (!k)
			die_msg("out of memory");
		tr->k = k;
		tr->cap = cap;
	}
	memset(&tr->k[tr->n], 0, sizeof(tr->k[0]));
	snfmt(tr->k[tr->n].key, sizeof(tr->k[0].key), "%s", key);
	tr->k[tr->n].phase = phase;
	tr->k[tr->n].min_us = 1e18;
	return &tr->k[tr->n++];
}

/* "N</path>" at p -> a short name of what the fd is. */
static void fd_object(const char *p, char *obj, size_t len)
{
	const char *lt = strchr(p, '<'), *gt;
	char path[1024];
	size_t l;

	obj[0] = '\0';
	if (!lt || !isdigit((unsigned char)*p))
		return;
	for (const char *q = p; q < lt; q++)
		if (!isdigit((unsigned char)*q))
			return;
	gt = strstr(lt, ">");
	if (!gt)
		return;
	l = (size_t)(gt - lt - 1);
	if (l >= sizeof(path))
		l = sizeof(path) - 1;
	memcpy(path, lt + 1, l);
	path[l] = '\0';
	if (!strncmp(path, "pipe:", 5))
		snfmt(obj, len, "pipe");
	else if (!strncmp(path, "socket:", 7))
		snfmt(obj, len, "socket");
	else if (strstr(path, "[eventpoll]"))
		snfmt(obj, len, "epoll");
	else if (strstr(path, "[pidfd]"))
		snfmt(obj, len, "pidfd");
	else if (strstr(path, "[signalfd]"))
		snfmt(obj, len, "signalfd");
	else if (!strncmp(path, "/sys/fs/cgroup/", 15)) {
		const char *h = path + 15, *slash = strchr(h, '/');
		const char *base = strrchr(path, '/') + 1;
		char hn[32];

		snfmt(hn, sizeof(hn), "%.*s", slash ? (int)(slash - h) : (int)strlen(h), h);
		if (!strncmp(base, "call-", 5))
			snfmt(obj, len, "<call dir> [%s]", hn);
		else if (strstr(path, "/call-"))
			snfmt(obj, len, "%s [%s]", base, hn);
		else
			snfmt(obj, len, "<session dir> [%s]", hn);
	} else if (!strcmp(path, "/dev/null"))
		snfmt(obj, len, "/dev/null");
	else
		snfmt(obj, len, "file");
}

struct pend {
	pid_t pid;
	char text[1024];
};

static void trace_parse(const char *file, pid_t dpid, struct trace_res *tr)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	struct pend pend[64];
	pid_t execd[4096];
	size_t n_execd = 0;
	int phase = PH_IDLE;
	int after_clone = 0;
	double floor_us = 1e18;

	memset(pend, 0, sizeof(pend));
	if (!f)
		die_msg("cannot read %s: %s", file, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		char *p = line, *end, full[2048], name[64], obj[256], key[160];
		pid_t pid = (pid_t)strtol(p, &end, 10);
		double dur = -1;
		bool is_daemon, err = false, execd_pid = false, wait;
		int ph;

		tr->lines++;
		if (end == p)
			continue;
		p = end;
		while (*p == ' ')
			p++;
		if (!strncmp(p, "---", 3) || !strncmp(p, "+++", 3))
			continue;
		{
			size_t l = strlen(p);

			while (l && (p[l - 1] == '\n' || p[l - 1] == ' '))
				p[--l] = '\0';
		}
		if (strstr(p, "<unfinished ...>")) {
			int slot = -1;

			for (int i = 0; i < 64; i++)
				if (pend[i].pid == pid || (slot < 0 && pend[i].pid == 0))
					slot = i;
			for (int i = 0; i < 64; i++)
				if (pend[i].pid == pid)
					slot = i;
			if (slot >= 0) {
				pend[slot].pid = pid;
				snfmt(pend[slot].text, sizeof(pend[0].text), "%.1000s", p);
			}
			continue;
		}
		if (!strncmp(p, "<... ", 5)) {
			char *r = strstr(p, " resumed>");
			const char *prev = "";

			for (int i = 0; i < 64; i++)
				if (pend[i].pid == pid) {
					prev = pend[i].text;
					pend[i].pid = 0;
					break;
				}
			snfmt(full, sizeof(full), "%.1000s%.1000s", prev, r ? r + 9 : p);
		} else {
			snfmt(full, sizeof(full), "%.2000s", p);
		}
		/* name( */
		{
			size_t k = 0;

			while (full[k] && full[k] != '(' && k < sizeof(name) - 1) {
				name[k] = full[k];
				k++;
			}
			name[k] = '\0';
			if (full[k] != '(' || !k)
				continue;
		}
		/* duration: trailing <0.000012> */
		{
			char *lt = strrchr(full, '<');

			if (lt && lt[strlen(lt) - 1] == '>' && isdigit((unsigned char)lt[1]))
				dur = strtod(lt + 1, NULL) * 1e6;
		}
		err = strstr(full, ") = -1 ") != NULL;
		is_daemon = pid == dpid;
		for (size_t i = 0; i < n_execd; i++)
			if (execd[i] == pid)
				execd_pid = true;

		/* what it operates on */
		obj[0] = '\0';
		{
			char *args = strchr(full, '(') + 1;

			if (!strcmp(name, "openat") || !strcmp(name, "mkdirat") ||
			    !strcmp(name, "unlinkat")) {
				char dirobj[256], *q = strchr(args, '"'), fname[128] = "";

				fd_object(args, dirobj, sizeof(dirobj));
				if (q) {
					char *q2 = strchr(q + 1, '"');

					if (q2)
						snfmt(fname, sizeof(fname), "%.*s", (int)(q2 - q - 1) > 100 ? 100 : (int)(q2 - q - 1), q + 1);
				}
				if (!strncmp(fname, "call-", 5))
					snfmt(fname, sizeof(fname), "<call dir>");
				{
					char *br = strchr(dirobj, '[');

					snfmt(obj, sizeof(obj), "%s %s", fname, br ? br : "");
				}
			} else {
				fd_object(args, obj, sizeof(obj));
			}
		}
		if (!strcmp(name, "sendto") && strstr(full, "\\\"result\\\""))
			snfmt(obj, sizeof(obj), "socket (reply)");
		else if (!strcmp(name, "sendto") && strstr(full, "call.started"))
			snfmt(obj, sizeof(obj), "socket (call.started)");

		/* phase */
		if (is_daemon) {
			if (!strcmp(name, "recvmsg") && strstr(full, "call.run"))
				phase = PH_PRE;
			ph = phase;
		} else if (execd_pid) {
			ph = PH_CHILD_POST;
		} else if (!strcmp(name, "execve")) {
			ph = PH_CHILD_EXEC;
		} else {
			ph = PH_CHILD_PRE;
		}
		/* blocking waits: shown, not summed */
		wait = !strcmp(name, "epoll_wait") || !strcmp(name, "epoll_pwait");
		/* a spawn that waits for the exec: clone3, close(pipe), read(pipe) */
		if (is_daemon && after_clone > 0 && !strcmp(name, "read") && !strcmp(obj, "pipe")) {
			snfmt(obj, sizeof(obj), "pipe (blocks until the child has exec'd)");
			wait = true;
			after_clone = 0;
		}
		if (!is_daemon && ph == PH_CHILD_PRE && !strcmp(name, "recvmsg")) {
			char o2[256];

			snfmt(o2, sizeof(o2), "%.200s (stub blocks until its call comes)", obj);
			snfmt(obj, sizeof(obj), "%s", o2);
			wait = true;
		}
		if (is_daemon)
			after_clone = !strcmp(name, "clone3") ? 3 : after_clone > 0 ? after_clone - 1 : 0;
		snfmt(key, sizeof(key), "%s%s%s%s%s", wait ? "[wait] " : "", name, obj[0] ? " " : "", obj,
		      err ? " (error)" : "");
		if (ph == PH_CHILD_POST)
			snfmt(key, sizeof(key), "(all syscalls of /bin/true)");
		if (dur >= 0) {
			struct tkey *k = tkey_get(tr, key, ph);

			k->count++;
			k->errors += err;
			k->sum_us += dur;
			if (dur < k->min_us)
				k->min_us = dur;
			if (dur < floor_us)
				floor_us = dur;
			if (!wait)
				tr->phase_us[ph] += dur;
		}
		/* transitions after the syscall */
		if (is_daemon) {
			if (!strcmp(name, "clone3"))
				tr->clones++;
			if (!strcmp(name, "sendto") && !strcmp(obj, "socket (call.started)"))
				phase = PH_RUN;
			else if (!strcmp(name, "sendto") && !strcmp(obj, "socket (reply)")) {
				tr->calls++;
				phase = PH_POST_REPLY;
			}
		} else if (!strcmp(name, "execve") && !err && n_execd < ARRAY_SIZE(execd)) {
			execd[n_execd++] = pid;
		}
	}
	free(line);
	fclose(f);
	tr->floor_us = floor_us < 1e17 ? floor_us : 0;
}

static int cmp_tkey(const void *a, const void *b)
{
	const struct tkey *x = a, *y = b;

	if (x->phase != y->phase)
		return x->phase - y->phase;
	return x->sum_us < y->sum_us ? 1 : x->sum_us > y->sum_us ? -1 : 0;
}

static bool have_strace(char *path, size_t len)
{
	static const char *const c[] = { "/usr/bin/strace", "/bin/strace", "/usr/local/bin/strace" };

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		if (access(c[i], X_OK) == 0) {
			snfmt(path, len, "%s", c[i]);
			return true;
		}
	return false;
}

static bool trace_daemon(int calls, struct trace_res *tr)
{
	char strace[64];
	int errp[2];
	struct series rtt = { 0 };

	memset(tr, 0, sizeof(*tr));
	if (!have_strace(strace, sizeof(strace))) {
		fprintf(out, "  (strace not installed: apt-get install strace; skipped)\n");
		return false;
	}
	if (pipe2(errp, O_CLOEXEC) < 0)
		return false;
	G.tracer = fork();
	if (G.tracer == 0) {
		char pidbuf[16];
		char *argv[] = { strace, "-f", "-T", "-y", "-s", "48", "-o", G.trace_file, "-p", pidbuf, NULL };

		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)D[0].pid);
		dup2(G.devnull, 0);
		dup2(G.devnull, 1);
		dup2(errp[1], 2);
		execve(argv[0], argv, G.envp);
		_exit(127);
	}
	close(errp[1]);
	/* strace says "Process N attached" on stderr once it is in. */
	{
		char buf[512];
		size_t got = 0;
		uint64_t deadline = now_ns() + 10000000000ULL;

		while (now_ns() < deadline) {
			struct pollfd p = { .fd = errp[0], .events = POLLIN };
			ssize_t n;

			if (poll(&p, 1, 200) <= 0)
				continue;
			n = read(errp[0], buf + got, sizeof(buf) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "attached"))
				break;
			if (got >= sizeof(buf) - 1)
				got = 0;
		}
		if (!strstr(buf, "attached")) {
			close(errp[0]);
			stop_child(G.tracer, SIGINT, 5000, NULL);
			G.tracer = 0;
			fprintf(out, "  (strace did not attach; skipped)\n");
			return false;
		}
	}
	for (int i = 0; i < calls; i++) {
		check_stop();
		s_push(&rtt, run_call(D[0].c, NULL));
	}
	usleep(200000); /* let the daemon finish the last call's cleanup */
	stop_child(G.tracer, SIGINT, 10000, NULL);
	G.tracer = 0;
	close(errp[0]);
	tr->rtt = s_stats(&rtt);
	free(rtt.v);
	trace_parse(G.trace_file, D[0].pid, tr);
	unlink(G.trace_file);
	qsort(tr->k, tr->n, sizeof(tr->k[0]), cmp_tkey);
	return tr->calls > 0;
}

/* ---- report ------------------------------------------------------------ */

static void machine_info(json_t *j)
{
	struct utsname u;
	char mem[64] = "?";
	FILE *f = fopen("/proc/meminfo", "re");
	time_t t = time(NULL);
	char date[64];

	uname(&u);
	if (f) {
		char l[256];

		while (fgets(l, sizeof(l), f))
			if (!strncmp(l, "MemTotal:", 9)) {
				unsigned long long kb = strtoull(l + 9, NULL, 10);

				snfmt(mem, sizeof(mem), "%.1f GiB", (double)kb / 1048576.0);
				break;
			}
		fclose(f);
	}
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(out, "machine: kernel %s, %ld CPUs, %s RAM, cgroups %s (v1 memory/cpu/pids%s), %s\n",
		u.release, sysconf(_SC_NPROCESSORS_ONLN), mem, G.hybrid ? "hybrid" : "v2",
		G.hybrid ? " + v2 tree" : " absent", date);
	json_object_set_new(j, "machine",
			    json_pack("{s:s, s:i, s:s, s:s, s:s}", "kernel", u.release, "nproc",
				      (int)sysconf(_SC_NPROCESSORS_ONLN), "memory", mem, "cgroups",
				      G.hybrid ? "hybrid" : "v2", "date", date));
}

static void find_tools(void)
{
	static const char *const names[4] = { "cgcreate", "cgset", "cgexec", "cgdelete" };
	static const char *const dirs[] = { "/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin" };

	for (int i = 0; i < 4; i++) {
		G.cg_bin[i][0] = '\0';
		for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
			char p[64];

			snfmt(p, sizeof(p), "%s/%s", dirs[d], names[i]);
			if (access(p, X_OK) == 0) {
				snfmt(G.cg_bin[i], sizeof(G.cg_bin[i]), "%s", p);
				break;
			}
		}
		if (!G.cg_bin[i][0])
			die_msg("%s not found: apt-get install cgroup-tools", names[i]);
	}
}

static void leftovers(json_t *arr)
{
	for (int h = 0; h < H_COUNT; h++) {
		const char *names[3] = { G.tools_tag, D[0].tag, D[1].tag };

		if (!G.h[h].present)
			continue;
		for (int i = 0; i < 1 + n_dmn; i++) {
			char p[1500];

			hier_path(h, names[i], p, sizeof(p));
			if (path_exists(p))
				json_array_append_new(arr, json_string(p));
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: launch_bench [-n N] [--tools-n N] [--warmup N] [--breakdown] [--json]\n"
		"                    [--micro-n N] [--trace-calls N] [--no-strace] [--build DIR]\n"
		"                    [--config FILE] [--spaced-n N] [--gap-ms MS]\n"
		"                    [--build2 DIR [--config2 FILE]]\n"
		"  -n N            iterations of (a) bare, (c) agentcg run, (d) daemon call (default 1000)\n"
		"  --tools-n N     iterations of (b) cgroup-tools (default max(%d, n/10), at most n)\n"
		"  --warmup N      unrecorded rounds first (default 20)\n"
		"  --breakdown     also measure what the daemon's per-call cost is made of\n"
		"  --micro-n N     iterations of the in-process replica (default 500)\n"
		"  --trace-calls N calls traced with strace -f -T -y (default 200; 0 = no strace)\n"
		"  --spaced-n N    breakdown: (a) and (d) after an idle gap, N each (default 60)\n"
		"  --gap-ms MS     that idle gap (default 100)\n"
		"  --json          the report goes to stderr, one JSON line to stdout\n"
		"  --build DIR     where agentcgd and agentcg are (default build)\n"
		"  --config FILE   config template (default config/agentcgd.json)\n"
		"  --build2 DIR    a second agentcgd (daemon B) measured as (d2) in the same rounds,\n"
		"                  e.g. the build of another revision; --config2 FILE its template\n"
		"Run from the repository root, as root.\n",
		MIN_TOOLS_N);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tools-n", required_argument, NULL, 't' },  { "warmup", required_argument, NULL, 'w' },
		{ "breakdown", no_argument, NULL, 'B' },      { "json", no_argument, NULL, 'j' },
		{ "micro-n", required_argument, NULL, 'm' },  { "trace-calls", required_argument, NULL, 'T' },
		{ "no-strace", no_argument, NULL, 'S' },      { "build", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },   { "help", no_argument, NULL, 'h' },
		{ "spaced-n", required_argument, NULL, 'p' }, { "gap-ms", required_argument, NULL, 'g' },
		{ "build2", required_argument, NULL, '2' },   { "config2", required_argument, NULL, '3' },
		{ 0 }
	};
	int n = 1000, n_tools = -1, warmup = 20, micro_n = 500, trace_calls = 200, opt;
	int spaced_n = 60, gap_ms_opt = 100;
	char build2[512] = "";
	bool has_pool = false;
	bool breakdown = false, json_out = false;
	struct series S_a = { .name = "bare" }, S_b = { .name = "tools" }, S_c = { .name = "cli" };
	struct series S_dd[2] = { { 0 } }, S_ds[2] = { { 0 } }, S_dr[2] = { { 0 } };
	struct series S_d = { 0 };
	struct stat5 st_a, st_b, st_c, st_d, st_d2 = { 0 };
	struct proc_cpu cpu0[2], cpu1[2];
	uint64_t t_start;
	json_t *J = json_object(), *jm, *jl, *pool0[2] = { NULL, NULL }, *pool1[2] = { NULL, NULL };
	char cmdline[1024] = "";
	int every, done_tools = 0;

	out = stdout;
	snfmt(G.build, sizeof(G.build), "build");
	snfmt(D[0].template_cfg, sizeof(D[0].template_cfg), "config/agentcgd.json");
	while ((opt = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 't': n_tools = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 'B': breakdown = true; break;
		case 'j': json_out = true; break;
		case 'm': micro_n = atoi(optarg); break;
		case 'T': trace_calls = atoi(optarg); break;
		case 'S': trace_calls = 0; break;
		case 'b': snfmt(G.build, sizeof(G.build), "%s", optarg); break;
		case 'c': snfmt(D[0].template_cfg, sizeof(D[0].template_cfg), "%s", optarg); break;
		case '2': snfmt(build2, sizeof(build2), "%s", optarg); break;
		case '3': snfmt(D[1].template_cfg, sizeof(D[1].template_cfg), "%s", optarg); break;
		case 'p': spaced_n = atoi(optarg); break;
		case 'g': gap_ms_opt = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || n < 1 || warmup < 0 || micro_n < 1 || trace_calls < 0 || spaced_n < 1 ||
	    gap_ms_opt < 0) {
		usage(stderr);
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(cmdline);

		snprintf(cmdline + l, sizeof(cmdline) - l, "%s%s", i ? " " : "", argv[i]);
	}
	if (n_tools < 0)
		n_tools = n / 10 > MIN_TOOLS_N ? n / 10 : MIN_TOOLS_N;
	if (n_tools > n)
		n_tools = n;
	if (n_tools < 1)
		n_tools = 1;
	every = n / n_tools;
	if (json_out)
		out = stderr;
	if (geteuid() != 0) {
		fprintf(stderr, "launch_bench: must run as root (it creates cgroups and runs agentcgd)\n");
		return 1;
	}

	/* state */
	G.self = getpid();
	for (int h = 0; h < H_COUNT; h++)
		G.tools_fd[h] = -1;
	G.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	snfmt(G.tag, sizeof(G.tag), "agentcg-bench-%d", (int)G.self);
	snfmt(G.tools_tag, sizeof(G.tools_tag), "agentcg-bench-%d-tools", (int)G.self);
	if (build2[0]) {
		n_dmn = 2;
		snfmt(D[1].agentcgd, sizeof(D[1].agentcgd), "%s/agentcgd", build2);
		if (!D[1].template_cfg[0])
			snfmt(D[1].template_cfg, sizeof(D[1].template_cfg), "%s", D[0].template_cfg);
		if (access(D[1].agentcgd, X_OK) < 0)
			die_msg("%s missing", D[1].agentcgd);
	}
	snfmt(D[0].agentcgd, sizeof(D[0].agentcgd), "%s/agentcgd", G.build);
	for (int i = 0; i < n_dmn; i++) {
		const char *sfx = i ? "-b" : "";

		snfmt(D[i].name, sizeof(D[i].name), "%s", i ? "B" : "A");
		snfmt(D[i].tag, sizeof(D[i].tag), "%s%s", G.tag, sfx);
		snfmt(D[i].sock, sizeof(D[i].sock), "/tmp/agentcg-bench-%d%s.sock", (int)G.self, sfx);
		snfmt(D[i].cfg, sizeof(D[i].cfg), "/tmp/agentcg-bench-%d%s.json", (int)G.self, sfx);
		snfmt(D[i].dlog, sizeof(D[i].dlog), "/tmp/agentcg-bench-%d%s.log", (int)G.self, sfx);
		D[i].c = calloc(1, sizeof(struct conn));
		if (!D[i].c)
			die_msg("out of memory");
	}
	snfmt(G.toolerr, sizeof(G.toolerr), "/tmp/agentcg-bench-%d.stderr", (int)G.self);
	snfmt(G.trace_file, sizeof(G.trace_file), "/tmp/agentcg-bench-%d.strace", (int)G.self);
	snfmt(G.agentcg, sizeof(G.agentcg), "%s/agentcg", G.build);
	snfmt(G.env_sock, sizeof(G.env_sock), "AGENTCG_SOCKET=%s", D[0].sock);
	G.envp[0] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	G.envp[1] = G.env_sock;
	G.envp[2] = NULL;
	G.toolerr_fd = open(G.toolerr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (G.devnull < 0 || G.toolerr_fd < 0)
		die_msg("cannot open /dev/null or %s: %s", G.toolerr, strerror(errno));
	{
		struct sigaction sa = { .sa_handler = on_stop_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
	if (access(D[0].agentcgd, X_OK) < 0 || access(G.agentcg, X_OK) < 0)
		die_msg("%s or %s missing: run `make` first (or pass --build DIR)", D[0].agentcgd,
			G.agentcg);
	C = D[0].c;
	find_tools();
	discover_cgroups();
	tools_create();
	tools_plan();
	for (int s = 0; s < T_STEPS; s++)
		tstep[s].name = tstep_name[s];
	tools_procs_per_iter = 2 + n_tg + n_del;

	fprintf(out, "launch_bench: %s\n", cmdline);
	json_object_set_new(J, "bench", json_string("launch"));
	json_object_set_new(J, "command", json_string(cmdline));
	machine_info(J);
	for (int h = 0; h < H_COUNT; h++)
		if (G.h[h].present)
			fprintf(out, "  own cgroup [%s]: %s%s\n", h_name[h], G.h[h].mount,
				G.h[h].own[0] ? G.h[h].own : "/");

	for (int i = 0; i < n_dmn; i++) {
		struct dmn *d = &D[i];
		struct stat st;
		char when[64] = "?";
		json_t *info;

		daemon_start(d);
		if (conn_open(d->c, d->sock) < 0)
			die_msg("connect %s: %s", d->sock, strerror(errno));
		info = rpc(d->c, "daemon.info");
		memset(&st, 0, sizeof(st));
		if (stat(d->agentcgd, &st) == 0)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&st.st_mtime));
		d->has_pool = json_object_get(info, "pool") != NULL;
		fprintf(out, "agentcgd %s: pid %d, --root %s --socket %s (tenant \"bench\", session %s)\n"
			     "  binary %s (%lld bytes, built %s), version %s, backend %s%s\n",
			d->name, (int)d->pid, d->tag, d->sock, SESSION, d->agentcgd, (long long)st.st_size,
			when, json_string_value(json_object_get(info, "version")) ?: "?",
			json_string_value(json_object_get(info, "backend")) ?: "?",
			d->has_pool ? ", has a call pool" : "");
		json_object_set_new(J, i ? "agentcgd_b" : "agentcgd",
				    json_pack("{s:s, s:I, s:s, s:O?, s:O?, s:O?}", "path", d->agentcgd,
					      "size", (json_int_t)st.st_size, "built", when, "version",
					      json_object_get(info, "version"), "backend",
					      json_object_get(info, "backend"), "pool_at_start",
					      json_object_get(info, "pool")));
		json_decref(info);
	}
	has_pool = D[0].has_pool;

	/* warm-up */
	for (int r = 0; r < warmup; r++) {
		check_stop();
		run_bare();
		for (int i = 0; i < n_dmn; i++)
			run_call(D[i].c, NULL);
		run_cli();
		if (r < 3)
			run_tools(100000 + r, false);
	}

	if (n_dmn == 2)
		fprintf(out, "measuring: %d rounds of (a) bare, (d) daemon A and (d2) daemon B (their order "
			     "alternating), (c) agentcg run (daemon A),\n  plus (b) cgroup-tools every %d "
			     "rounds (%d iterations)...\n", n, every, n_tools);
	else
		fprintf(out, "measuring: %d rounds of (a) bare, (d) daemon call, (c) agentcg run, in that "
			     "order, plus (b) cgroup-tools every %d rounds (%d iterations)...\n",
			n, every, n_tools);
	fflush(out);
	for (int i = 0; i < n_dmn; i++) {
		pool0[i] = rpc(D[i].c, "daemon.info");
		read_proc_cpu(D[i].pid, &cpu0[i]);
	}
	t_start = now_ns();
	for (int r = 0; r < n; r++) {
		double ts;

		check_stop();
		s_push(&S_a, run_bare());
		for (int k = 0; k < n_dmn; k++) {
			int i = n_dmn == 2 ? (k + r) % 2 : 0; /* A,B then B,A */

			s_push(&S_dd[i], run_call(D[i].c, &ts));
			s_push(&S_ds[i], ts);
			s_push(&S_dr[i], S_dd[i].v[S_dd[i].n - 1] - ts);
		}
		s_push(&S_c, run_cli());
		if ((r + 1) % every == 0 && done_tools < n_tools) {
			s_push(&S_b, run_tools(r, true));
			done_tools++;
		}
		if (isatty(2) && (r + 1) % 100 == 0)
			fprintf(stderr, "\r  round %d/%d", r + 1, n);
	}
	if (isatty(2))
		fprintf(stderr, "\r%30s\r", "");
	for (int i = 0; i < n_dmn; i++) {
		read_proc_cpu(D[i].pid, &cpu1[i]);
		pool1[i] = rpc(D[i].c, "daemon.info");
	}
	{
		double secs = us_between(t_start, now_ns()) / 1e6;

		fprintf(out, "measured in %.1f s\n\n", secs);
		json_object_set_new(J, "measure_seconds", json_real(secs));
	}

	st_a = s_stats(&S_a);
	st_b = s_stats(&S_b);
	st_c = s_stats(&S_c);
	S_d = S_dd[0];
	st_d = s_stats(&S_d);
	if (n_dmn == 2)
		st_d2 = s_stats(&S_dd[1]);
	fprintf(out, "Launch cost of /bin/true with memory 256M, cpu 0.5, pids 32 (microseconds)\n");
	stat_header("method");
	stat_row("(a) bare fork+exec+wait", st_a);
	{
		char l[96];

		snfmt(l, sizeof(l), "(b) cgroup-tools (%d procs/iter)", tools_procs_per_iter);
		stat_row(l, st_b);
	}
	stat_row("(c) agentcg run (CLI process)", st_c);
	stat_row(n_dmn == 2 ? "(d) daemon A call.run, open connection" : "(d) daemon call.run, open connection",
		 st_d);
	if (n_dmn == 2)
		stat_row("(d2) daemon B call.run, open connection", st_d2);
	fprintf(out, "  (b) ran %d times (every %d rounds; n/10, at least %d): it is slow\n", n_tools,
		every, MIN_TOOLS_N);
	fprintf(out, "\n  (b) per step:\n");
	for (int s = 0; s < T_STEPS; s++) {
		char l[96];

		if (s == T_SET && n_tg > 1)
			snfmt(l, sizeof(l), "    %s (x%d: one per path)", tstep_name[s], n_tg);
		else if (s == T_DELETE && n_del > 1)
			snfmt(l, sizeof(l), "    %s (x%d, see below)", tstep_name[s], n_del);
		else
			snfmt(l, sizeof(l), "    %s", tstep_name[s]);
		stat_row(l, s_stats(&tstep[s]));
	}
	{
		char cl[4096];

		tools_command_line(cl, sizeof(cl));
		fprintf(out, "  (b) one iteration runs:\n%s", cl);
	}
	if (n_tg > 1)
		fprintf(out, "  note: our cgroup differs between hierarchies (memory vs cpu/pids), so cgset "
			     "runs once per distinct path\n");
	if (n_del > 1)
		fprintf(out, "  note: cgdelete (libcgroup 2.0.2) deletes each distinct path only in the first "
			     "controller's hierarchy and exits 0\n"
			     "        (cpu,pids:P leaves pids:P behind), so pids needs a second cgdelete\n");
	if (tools_leftovers)
		fprintf(out, "  note: the tools left %d cgroup dirs behind; the bench removed them, untimed\n",
			tools_leftovers);
	for (int i = 0; i < n_dmn; i++) {
		fprintf(out, "\n  (%s) as the client sees it:\n", i ? "d2" : "d");
		stat_row("    request -> call.started notification", s_stats(&S_ds[i]));
		stat_row("    call.started -> reply", s_stats(&S_dr[i]));
	}

	{
		double ov_med = st_d.med - st_a.med, ov_p99 = st_d.p99 - st_a.p99;
		double r_bc = st_c.med > 0 ? st_b.med / st_c.med : 0;
		double r_ca = st_a.med > 0 ? st_c.med / st_a.med : 0;
		double r_da = st_a.med > 0 ? st_d.med / st_a.med : 0;
		bool t1 = ov_med <= 100, t2 = ov_p99 <= 1000, t3 = r_bc >= 3;

		fprintf(out, "\nRatios and targets\n");
		fprintf(out, "  daemon overhead (d)-(a), median   %8.1f us   target <= 100 us : %s\n",
			ov_med, t1 ? "MET" : "NOT MET");
		fprintf(out, "  daemon overhead (d)-(a), p99      %8.1f us   target <= 1000 us: %s\n",
			ov_p99, t2 ? "MET" : "NOT MET");
		fprintf(out, "  (b)/(c) median  cgroup-tools / agentcg run  %6.2fx  target >= 3x: %s\n",
			r_bc, t3 ? "MET" : "NOT MET");
		fprintf(out, "  (c)/(a) median  agentcg run / bare          %6.2fx\n", r_ca);
		fprintf(out, "  (d)/(a) median  daemon call / bare          %6.2fx\n", r_da);
		{
			struct series pd = { 0 };
			struct stat5 ps;

			for (size_t i = 0; i < S_a.n && i < S_d.n; i++)
				s_push(&pd, S_d.v[i] - S_a.v[i]);
			ps = s_stats(&pd);
			fprintf(out, "  paired per round, (d)-(a) of the same round: median %.1f us, p90 %.1f us, "
				     "p99 %.1f us\n", ps.med, ps.p90, ps.p99);
			json_object_set_new(J, "paired_overhead", stat_json(ps));
			free(pd.v);
		}
		jm = json_object();
		json_object_set_new(jm, "bare", stat_json(st_a));
		json_object_set_new(jm, "cgroup_tools", stat_json(st_b));
		json_object_set_new(jm, "agentcg_run", stat_json(st_c));
		json_object_set_new(jm, "daemon_call", stat_json(st_d));
		json_object_set_new(J, "methods", jm);
		if (n_dmn == 2)
			json_object_set_new(jm, "daemon_b_call", stat_json(st_d2));
		json_object_set_new(J, "n", json_integer(n));
		json_object_set_new(J, "n_tools", json_integer(n_tools));
		json_object_set_new(J, "warmup", json_integer(warmup));
		json_object_set_new(J, "order", json_string("a,d,c per round; b every n/n_tools rounds"));
		jm = json_object();
		for (int s = 0; s < T_STEPS; s++)
			json_object_set_new(jm, tstep_name[s], stat_json(s_stats(&tstep[s])));
		json_object_set_new(J, "cgroup_tools_steps", jm);
		json_object_set_new(J, "cgroup_tools_procs_per_iter", json_integer(tools_procs_per_iter));
		json_object_set_new(J, "cgdelete_leftover_dirs", json_integer(tools_leftovers));
		json_object_set_new(J, "daemon_call_phases",
				    json_pack("{s:o, s:o}", "to_call_started", stat_json(s_stats(&S_ds[0])),
					      "started_to_reply", stat_json(s_stats(&S_dr[0]))));
		if (n_dmn == 2) {
			double o2m = st_d2.med - st_a.med, o2p = st_d2.p99 - st_a.p99;
			struct series pd = { 0 };
			struct stat5 ps;

			for (size_t i = 0; i < S_a.n && i < S_dd[1].n; i++)
				s_push(&pd, S_dd[1].v[i] - S_a.v[i]);
			ps = s_stats(&pd);
			fprintf(out, "\n  daemon B: overhead (d2)-(a) median %8.1f us (target <= 100 us: %s), p99 "
				     "%.1f us (target <= 1000 us: %s)\n", o2m, o2m <= 100 ? "MET" : "NOT MET", o2p,
				o2p <= 1000 ? "MET" : "NOT MET");
			fprintf(out, "  (d2)/(a) median %.2fx; (d2)/(d) median %.2fx, p99 %.2fx; paired (d2)-(a): "
				     "median %.1f us, p90 %.1f us, p99 %.1f us\n",
				st_d2.med / st_a.med, st_d2.med / st_d.med, st_d2.p99 / st_d.p99, ps.med, ps.p90,
				ps.p99);
			json_object_set_new(J, "daemon_b_call_phases",
					    json_pack("{s:o, s:o}", "to_call_started",
						      stat_json(s_stats(&S_ds[1])), "started_to_reply",
						      stat_json(s_stats(&S_dr[1]))));
			json_object_set_new(J, "ratios_b",
					    json_pack("{s:f, s:f, s:f, s:f, s:o}", "overhead_median_us", o2m,
						      "overhead_p99_us", o2p, "call_b_over_bare_median",
						      st_d2.med / st_a.med, "call_b_over_call_a_median",
						      st_d2.med / st_d.med, "paired_overhead", stat_json(ps)));
			json_object_set_new(J, "targets_b",
					    json_pack("{s:b, s:b}", "overhead_median_le_100us", o2m <= 100,
						      "overhead_p99_le_1000us", o2p <= 1000));
			free(pd.v);
		}
		json_object_set_new(J, "ratios",
				    json_pack("{s:f, s:f, s:f, s:f, s:f}", "overhead_median_us", ov_med,
					      "overhead_p99_us", ov_p99, "tools_over_run_median", r_bc,
					      "run_over_bare_median", r_ca, "call_over_bare_median", r_da));
		json_object_set_new(J, "targets",
				    json_pack("{s:b, s:b, s:b}", "overhead_median_le_100us", t1,
					      "overhead_p99_le_1000us", t2, "run_ge_3x_faster_than_tools", t3));
	}

	/* the daemons' call pools, if they have one, over the measured rounds */
	for (int i = 0; i < n_dmn; i++) {
		json_t *p0 = json_object_get(pool0[i], "pool"), *p1 = json_object_get(pool1[i], "pool");

		if (p0 && p1) {
			json_int_t h = json_integer_value(json_object_get(p1, "hits")) -
				       json_integer_value(json_object_get(p0, "hits"));
			json_int_t m = json_integer_value(json_object_get(p1, "misses")) -
				       json_integer_value(json_object_get(p0, "misses"));

			fprintf(out, "\nagentcgd %s call pool (size %lld) over the measured rounds: %lld hits, "
				     "%lld misses", D[i].name,
				(long long)json_integer_value(json_object_get(p1, "size")), (long long)h,
				(long long)m);
			json_object_set_new(J, i ? "pool_measured_b" : "pool_measured",
					    json_pack("{s:I, s:I}", "hits", h, "misses", m));
		}
		json_decref(pool0[i]);
		json_decref(pool1[i]);
	}
	fprintf(out, "\n");

	/* daemon CPU per call */
	for (int i = 0; i < n_dmn; i++) {
		long hz = sysconf(_SC_CLK_TCK);
		double calls = i ? (double)n : 2.0 * n, tick_us = 1e6 / (double)hz;
		double u = (double)(cpu1[i].utime - cpu0[i].utime) * tick_us / calls;
		double sy = (double)(cpu1[i].stime - cpu0[i].stime) * tick_us / calls;
		double ch = (double)(cpu1[i].cutime + cpu1[i].cstime - cpu0[i].cutime - cpu0[i].cstime) *
			    tick_us / calls;
		double sc = (double)(cpu1[i].sched_ns - cpu0[i].sched_ns) / 1000.0 / calls;

		fprintf(out, "agentcgd %s CPU per call (over its %.0f %s calls; tick %.0f us): user %.1f us, "
			     "system %.1f us (on-CPU by schedstat %.1f us); its children (pre-exec + "
			     "/bin/true) %.1f us\n",
			D[i].name, calls, i ? "(d2)" : "(c)+(d)", tick_us, u, sy, sc, ch);
		json_object_set_new(J, i ? "daemon_b_cpu_per_call_us" : "daemon_cpu_per_call_us",
				    json_pack("{s:f, s:f, s:f, s:f}", "user", u, "system", sy, "schedstat", sc,
					      "children", ch));
	}

	if (breakdown) {
		struct series b2b[2] = { { 0 } }, sp_a = { 0 }, sp_d[2] = { { 0 } }, sp_ds[2] = { { 0 } },
			      sp_dr[2] = { { 0 } };
		struct child_ts *ts;
		struct micro mi = { 0 };
		struct gap_res gr;
		json_t *jb = json_object(), *jr = json_object(), *jg = json_array();
		struct stat5 rst[R_COUNT], rsp[R_COUNT], sa;
		int spaced_replica_n = spaced_n / 2 > 10 ? spaced_n / 2 : 10;

		fprintf(out, "\n==== Breakdown: what the daemon's per-call cost is made of ====\n");

		/* [1] back-to-back */
		for (int i = 0; i < 200; i++) {
			check_stop();
			for (int k = 0; k < n_dmn; k++)
				s_push(&b2b[k], run_call(D[k].c, NULL));
		}
		fprintf(out, "\n[1] (d) back to back (200 calls, no pause: what the daemon does after a "
			     "reply can delay the next request)\n");
		stat_header("");
		for (int k = 0; k < n_dmn; k++) {
			stat_row(k ? "(d2) daemon B back-to-back" : n_dmn == 2 ? "(d) daemon A back-to-back" :
									       "(d) back-to-back",
				 s_stats(&b2b[k]));
			json_object_set_new(jb, k ? "daemon_b_call_back_to_back" : "daemon_call_back_to_back",
					    stat_json(s_stats(&b2b[k])));
		}

		/* [2] spaced */
		fprintf(out, "\n[2] Calls after %d ms of idleness (as an agent's calls come, seconds apart), "
			     "%d each, (a) and (d)%s alternating\n", gap_ms_opt, spaced_n,
			n_dmn == 2 ? " and (d2)" : "");
		fflush(out);
		for (int i = 0; i < spaced_n; i++) {
			double t;

			check_stop();
			usleep((useconds_t)gap_ms_opt * 1000);
			s_push(&sp_a, run_bare());
			for (int k = 0; k < n_dmn; k++) {
				usleep((useconds_t)gap_ms_opt * 1000);
				s_push(&sp_d[k], run_call(D[k].c, &t));
				s_push(&sp_ds[k], t);
				s_push(&sp_dr[k], sp_d[k].v[sp_d[k].n - 1] - t);
			}
		}
		sa = s_stats(&sp_a);
		stat_header("");
		stat_row("(a) bare, after idle", sa);
		for (int k = 0; k < n_dmn; k++) {
			struct stat5 sd = s_stats(&sp_d[k]);
			char l[96];

			snfmt(l, sizeof(l), "%s, after idle",
			      k ? "(d2) daemon B call" : n_dmn == 2 ? "(d) daemon A call" : "(d) daemon call");
			stat_row(l, sd);
			stat_row("    request -> call.started notification", s_stats(&sp_ds[k]));
			stat_row("    call.started -> reply", s_stats(&sp_dr[k]));
			fprintf(out, "  overhead %s-(a) after idle: median %.1f us (target <= 100: %s), p99 %.1f "
				     "us (target <= 1000: %s)\n", k ? "(d2)" : "(d)", sd.med - sa.med,
				sd.med - sa.med <= 100 ? "MET" : "NOT MET", sd.p99 - sa.p99,
				sd.p99 - sa.p99 <= 1000 ? "MET" : "NOT MET");
			json_object_set_new(jb, k ? "spaced_b" : "spaced",
					    json_pack("{s:i, s:i, s:o, s:o, s:o, s:o, s:f, s:f}", "gap_ms",
						      gap_ms_opt, "n", spaced_n, "bare", stat_json(sa),
						      "daemon_call", stat_json(sd), "to_call_started",
						      stat_json(s_stats(&sp_ds[k])), "started_to_reply",
						      stat_json(s_stats(&sp_dr[k])), "overhead_median_us",
						      sd.med - sa.med, "overhead_p99_us", sd.p99 - sa.p99));
		}

		/* [3] replica, tight and spaced */
		ts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (ts == MAP_FAILED)
			die_msg("mmap: %s", strerror(errno));
		replica_labels();
		RS = rs;
		for (int i = 0; i < micro_n; i++) {
			check_stop();
			if (i & 1) {
				replica_bare(ts);
				replica_daemon_like(i, ts);
			} else {
				replica_daemon_like(i, ts);
				replica_bare(ts);
			}
		}
		RS = rs_spaced;
		for (int i = 0; i < spaced_replica_n; i++) {
			check_stop();
			usleep((useconds_t)gap_ms_opt * 1000);
			replica_daemon_like(micro_n + i, ts);
			usleep((useconds_t)gap_ms_opt * 1000);
			replica_bare(ts);
		}
		RS = rs;
		munmap(ts, 4096);
		for (int i = 0; i < R_COUNT; i++) {
			rst[i] = s_stats(&rs[i]);
			rsp[i] = s_stats(&rs_spaced[i]);
		}
		fprintf(out, "\n[3] In-process replica of one call's cgroup work, step by step: the files, "
			     "values and order of agentcgd's %s backend\n"
			     "    before the call pool (494ad26: all on the request path; with a pool the "
			     "spawn-side steps run ahead of the request)\n"
			     "    (under %s); back to back (%d iterations) and after %d ms idle (%d)\n",
			G.hybrid ? "hybrid" : "v2", G.tools_tag, micro_n, gap_ms_opt, spaced_replica_n);
		fprintf(out, "  %-48s %9s %9s %9s | %9s %9s\n", "step (us)", "median", "p90", "p99",
			"idle:med", "idle:p99");
		for (int i = 0; i < R_COUNT; i++) {
			if (!rs[i].n)
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
			fprintf(out, "  %-48s %9.1f %9.1f %9.1f | %9.1f %9.1f\n", rs_label[i], rst[i].med,
				rst[i].p90, rst[i].p99, rsp[i].med, rsp[i].p99);
			json_object_set_new(jr, rs_label[i],
					    json_pack("{s:o, s:o}", "back_to_back", stat_json(rst[i]),
						      "after_idle", stat_json(rsp[i])));
		}
		if (rmdir_ebusy)
			fprintf(out, "  note: rmdir hit EBUSY %d times (retried every 100 us, included above)\n",
				rmdir_ebusy);
		json_object_set_new(jr, "rmdir_ebusy", json_integer(rmdir_ebusy));
		json_object_set_new(jb, "replica", jr);

		/* [4] migration vs idle gap */
		micro_gaps(&gr);
		fprintf(out, "\n[4] Moving a process into a cgroup after an idle gap: write pid to %s "
			     "cgroup.procs vs clone3(CLONE_INTO_CGROUP) (v2 dir) vs fork\n",
			G.hybrid ? "v1 memory" : "v2");
		fprintf(out, "  %-10s %4s | %-21s | %-21s | %-21s\n", "idle gap", "n", "cgroup.procs write",
			"clone3 INTO_CGROUP", "fork (reference)");
		fprintf(out, "  %-10s %4s | %10s %10s | %10s %10s | %10s %10s\n", "", "", "median", "max",
			"median", "max", "median", "max");
		for (int g = 0; g < N_GAPS; g++) {
			char gl[16];

			snfmt(gl, sizeof(gl), "%d ms", gap_ms[g]);
			fprintf(out, "  %-10s %4d | %10.1f %10.1f | %10.1f %10.1f | %10.1f %10.1f\n", gl,
				gr.samples[g], gr.migrate[g].med, gr.migrate[g].max, gr.clone_into[g].med,
				gr.clone_into[g].max, gr.fork_plain[g].med, gr.fork_plain[g].max);
			json_array_append_new(jg, json_pack("{s:i, s:o, s:o, s:o}", "gap_ms", gap_ms[g],
							    "cgroup_procs_write", stat_json(gr.migrate[g]),
							    "clone3_into_cgroup", stat_json(gr.clone_into[g]),
							    "fork", stat_json(gr.fork_plain[g])));
		}
		json_object_set_new(jb, "migration_vs_idle_gap", jg);
		{
			char chain[512];

			migration_stack(chain, sizeof(chain));
			fprintf(out, "  a cgroup.procs write 300 ms after the last one waits in (/proc/PID/stack): "
				     "%s\n", chain);
			json_object_set_new(jb, "migration_wait_stack", json_string(chain));
		}

		/* [5] JSON + IPC */
		micro_json(&mi, C->last_reply ? C->last_reply : "{}", 2000);
		micro_ipc(&mi, 2000);
		fprintf(out, "\n[5] Userspace pieces (2000 iterations each)\n");
		stat_header("");
		stat_row("jansson: parse the call.run request", mi.json_parse_req);
		{
			char l[96];

			snfmt(l, sizeof(l), "jansson: parse a %zu B reply (~ build it)", mi.reply_len);
			stat_row(l, mi.json_parse_reply);
		}
		stat_row("jansson: json_dumps the reply", mi.json_dump_reply);
		stat_row("unix socket ping-pong with a process", mi.ipc_rtt);
		json_object_set_new(jb, "json_parse_request", stat_json(mi.json_parse_req));
		json_object_set_new(jb, "json_parse_reply", stat_json(mi.json_parse_reply));
		json_object_set_new(jb, "json_dump_reply", stat_json(mi.json_dump_reply));
		json_object_set_new(jb, "unix_socket_rtt", stat_json(mi.ipc_rtt));

		/* [6] attribution */
		{
			int hs[H_COUNT], nh = node_hiers(hs);
			double mk = 0, lim = 0, opens, spawn_extra, post, rm = 0, json, ipc, sum, ov;
			double join_idle = rsp[R_CH_JOIN].med - rst[R_CH_JOIN].med;

			for (int i = 0; i < nh; i++)
				mk += rst[R_MKDIR0 + hs[i]].med;
			for (int i = 0; i < 4; i++)
				lim += rst[R_LIM0 + i].med;
			for (int i = 0; i < nh; i++)
				rm += rst[R_RMDIR0 + i].med;
			opens = rst[R_OPEN_PROCS].med + rst[R_PIPES].med + rst[R_CLOSE].med;
			spawn_extra = rst[R_SPAWN_TOTAL].med - rst[B_TOTAL].med;
			post = rst[R_POPULATED].med + rst[R_USAGE].med;
			json = mi.json_parse_req.med + mi.json_parse_reply.med + mi.json_dump_reply.med;
			ipc = mi.ipc_rtt.med;
			sum = mk + lim + opens + spawn_extra + post + json + ipc;
			ov = st_d.med - st_a.med;
			fprintf(out, "\n[6] Attribution of the median daemon overhead (d)-(a) = %.1f us, back "
				     "to back (sums of the medians above; approximate)\n", ov);
			if (has_pool)
				fprintf(out, "  this agentcgd has a call pool: the cgroup and spawn steps below "
					     "mostly run before the request, so\n  they add up to more than "
					     "(d)-(a); the list is what a request pays on a pool miss\n");
			fprintf(out, "  %-66s %8.1f us\n", "mkdir+open of the call dir in each hierarchy", mk);
			fprintf(out, "  %-66s %8.1f us\n", "4 limit writes (open+write+close each)", lim);
			fprintf(out, "  %-66s %8.1f us\n", "open + close cgroup.procs x3, pipes", opens);
			fprintf(out, "  %-66s %8.1f us\n",
				"spawn: clone3 INTO_CGROUP + child joins/setup, minus bare fork", spawn_extra);
			fprintf(out, "  %-66s %8.1f us\n", "populated + usage reads after the exit", post);
			fprintf(out, "  %-66s %8.1f us\n", "JSON: parse request, build + dump reply", json);
			fprintf(out, "  %-66s %8.1f us\n", "socket round trip (2 cross-process wake-ups)", ipc);
			fprintf(out, "  %-66s %8.1f us\n", "sum", sum);
			fprintf(out, "  %-66s %8.1f us\n",
				"rest (epoll loop turns, call.started, events, scheduling)", ov - sum);
			fprintf(out, "  %-66s %8.1f us\n", "(off the path) rmdir x4 after the reply", rm);
			fprintf(out, "  %-66s %8.1f us\n",
				"after idle: extra in the child's v1 cgroup.procs writes (median)", join_idle);
			json_object_set_new(jb, "attribution_us",
					    json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
						      "overhead_median", ov, "mkdir_open", mk, "limit_writes",
						      lim, "open_close_procs_pipes", opens, "spawn_extra",
						      spawn_extra, "post_exit_reads", post, "json", json,
						      "socket_rtt", ipc, "unattributed", ov - sum,
						      "rmdir_after_reply", rm, "v1_join_extra_after_idle",
						      join_idle));
		}

		/* strace */
		if (trace_calls > 0) {
			struct trace_res tr;

			fprintf(out, "\n[7] strace -f -T -y of agentcgd over %d calls.run (syscall times are "
				     "inflated by ptrace: compare with [3])\n", trace_calls);
			if (trace_daemon(trace_calls, &tr)) {
				json_t *jt = json_array();
				int last_ph = -1;

				fprintf(out, "  traced %d replies, %d clone3; round trip under strace: median "
					     "%.0f us, p99 %.0f us; smallest syscall time seen %.1f us\n",
					tr.calls, tr.clones, tr.rtt.med, tr.rtt.p99, tr.floor_us);
				fprintf(out, "  per phase, syscall time per call ([wait] = blocking waits, "
					     "listed but not summed):\n");
				for (int p = 0; p < PH_COUNT; p++)
					if (tr.phase_us[p] > 0)
						fprintf(out, "    %-66s %8.1f us\n", ph_name[p],
							tr.phase_us[p] / tr.calls);
				fprintf(out, "  top syscalls per phase: calls per call.run, us per call.run, "
					     "avg us per syscall\n");
				for (size_t i = 0; i < tr.n; i++) {
					struct tkey *k = &tr.k[i];
					double per = (double)k->count / tr.calls;
					double us = k->sum_us / tr.calls;

					if (k->phase == PH_IDLE)
						continue;
					if (k->phase != last_ph) {
						fprintf(out, "   %s\n", ph_name[k->phase]);
						last_ph = k->phase;
					}
					if (us < 1.0 && per < 0.5)
						continue;
					fprintf(out, "      %-60.60s %5.2f %8.1f %7.1f%s\n", k->key, per, us,
						k->sum_us / (double)k->count,
						k->errors ? "  (errors)" : "");
					json_array_append_new(
						jt, json_pack("{s:s, s:s, s:f, s:f, s:f}", "phase",
							      ph_name[k->phase], "syscall", k->key,
							      "per_call", per, "us_per_call", us, "avg_us",
							      k->sum_us / (double)k->count));
				}
				json_object_set_new(jb, "strace",
						    json_pack("{s:i, s:f, s:o}", "calls", tr.calls,
							      "floor_us", tr.floor_us, "syscalls", jt));
			}
			free(tr.k);
		}
		json_object_set_new(J, "breakdown", jb);
	}

	/* stop and check */
	for (int i = 0; i < n_dmn; i++) {
		json_t *info = rpc(D[i].c, "daemon.info");
		json_t *pool = json_object_get(info, "pool");

		if (pool) {
			char *ps = json_dumps(pool, JSON_COMPACT);

			fprintf(out, "\nagentcgd %s call pool at the end: %s", D[i].name, ps);
			free(ps);
			json_object_set(J, i ? "pool_at_end_b" : "pool_at_end", pool);
		}
		json_decref(info);
		close(D[i].c->fd);
		D[i].c->fd = -1;
	}
	fprintf(out, "\n");
	for (int i = 0; i < n_dmn; i++) {
		char d[128];

		daemon_stop(&D[i]);
		describe_status(D[i].status, d, sizeof(d));
		fprintf(out, "agentcgd %s stopped with SIGTERM: %s\n", D[i].name, d);
		json_object_set_new(J, i ? "daemon_b_exit" : "daemon_exit", json_string(d));
	}
	tools_remove();
	jl = json_array();
	leftovers(jl);
	fprintf(out, "leftover cgroups: ");
	if (!json_array_size(jl)) {
		fprintf(out, "none (checked %s, %s%s%s in every hierarchy)\n", G.tools_tag, D[0].tag,
			n_dmn == 2 ? " and " : "", n_dmn == 2 ? D[1].tag : "");
	} else {
		size_t i;
		json_t *v;

		fprintf(out, "%zu\n", json_array_size(jl));
		json_array_foreach(jl, i, v)
			fprintf(out, "  LEFT BEHIND: %s\n", json_string_value(v));
	}
	json_object_set_new(J, "leftover_cgroups", jl);
	cleanup_all();
	for (int i = 0; i < n_dmn; i++)
		unlink(D[i].dlog);
	if (json_out) {
		char *s = json_dumps(J, JSON_COMPACT | JSON_REAL_PRECISION(6));

		printf("%s\n", s);
		free(s);
	}
	json_decref(J);
	return json_array_size(jl) ? 1 : 0;
}
