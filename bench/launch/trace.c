// SPDX-License-Identifier: GPL-2.0
/* launch_bench: breakdown [7], the strace of the real daemon. */
#include "trace.h"

#include <ctype.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "methods.h"
#include "proc.h"

struct tkey {
	char key[352];
	int phase;
	uint64_t count, errors;
	double sum_us, min_us;
};

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
	struct lb_stat5 rtt;
};

/* A syscall strace printed in two pieces ("<unfinished ...>" then
 * "<... resumed>"): its first half, per thread. */
#define PENDING_MAX 64
struct pending {
	pid_t pid;
	char text[1024];
};

/* What one line of the trace is about. */
struct tline {
	char full[2048]; /* the whole syscall, resumed halves joined */
	char name[64];
	char obj[256];
	double dur_us; /* -1: none */
	bool err;
};

static struct tkey *tkey_get(struct lb_ctx *ctx, struct trace_res *tr, const char *key, int phase)
{
	for (size_t i = 0; i < tr->n; i++)
		if (tr->k[i].phase == phase && !strcmp(tr->k[i].key, key))
			return &tr->k[i];
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 128;
		struct tkey *k = realloc(tr->k, cap * sizeof(*k));

		if (!k)
			lb_die(ctx, "out of memory");
		tr->k = k;
		tr->cap = cap;
	}
	memset(&tr->k[tr->n], 0, sizeof(tr->k[0]));
	snprintf(tr->k[tr->n].key, sizeof(tr->k[0].key), "%s", key);
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
		snprintf(obj, len, "pipe");
	else if (!strncmp(path, "socket:", 7))
		snprintf(obj, len, "socket");
	else if (strstr(path, "[eventpoll]"))
		snprintf(obj, len, "epoll");
	else if (strstr(path, "[pidfd]"))
		snprintf(obj, len, "pidfd");
	else if (strstr(path, "[signalfd]"))
		snprintf(obj, len, "signalfd");
	else if (!strncmp(path, "/sys/fs/cgroup/", 15)) {
		const char *h = path + 15, *slash = strchr(h, '/');
		const char *base = strrchr(path, '/') + 1;
		char hn[32];

		snprintf(hn, sizeof(hn), "%.*s", slash ? (int)(slash - h) : (int)strlen(h), h);
		if (!strncmp(base, "call-", 5))
			snprintf(obj, len, "<call dir> [%s]", hn);
		else if (strstr(path, "/call-"))
			snprintf(obj, len, "%s [%s]", base, hn);
		else
			snprintf(obj, len, "<session dir> [%s]", hn);
	} else if (!strcmp(path, "/dev/null"))
		snprintf(obj, len, "/dev/null");
	else
		snprintf(obj, len, "file");
}

/* Joins a resumed syscall with its first half; false for a first half
 * (kept in pend) or a line that is not a syscall. */
static bool join_halves(struct pending *pend, pid_t pid, const char *p, char *full, size_t len)
{
	if (strstr(p, "<unfinished ...>")) {
		int slot = -1;

		for (int i = 0; i < PENDING_MAX; i++)
			if (pend[i].pid == pid || (slot < 0 && pend[i].pid == 0))
				slot = i;
		for (int i = 0; i < PENDING_MAX; i++)
			if (pend[i].pid == pid)
				slot = i;
		if (slot >= 0) {
			pend[slot].pid = pid;
			snprintf(pend[slot].text, sizeof(pend[0].text), "%.1000s", p);
		}
		return false;
	}
	if (!strncmp(p, "<... ", 5)) {
		const char *r = strstr(p, " resumed>"), *prev = "";

		for (int i = 0; i < PENDING_MAX; i++)
			if (pend[i].pid == pid) {
				prev = pend[i].text;
				pend[i].pid = 0;
				break;
			}
		snprintf(full, len, "%.1000s%.1000s", prev, r ? r + 9 : p);
	} else {
		snprintf(full, len, "%.2000s", p);
	}
	return true;
}

/* Name, duration, error and object of a whole syscall; false if it is not one. */
static bool parse_syscall(struct tline *t)
{
	size_t k = 0;
	const char *lt, *args;

	while (t->full[k] && t->full[k] != '(' && k < sizeof(t->name) - 1) {
		t->name[k] = t->full[k];
		k++;
	}
	t->name[k] = '\0';
	if (t->full[k] != '(' || !k)
		return false;
	/* duration: trailing <0.000012> */
	t->dur_us = -1;
	lt = strrchr(t->full, '<');
	if (lt && lt[strlen(lt) - 1] == '>' && isdigit((unsigned char)lt[1]))
		t->dur_us = strtod(lt + 1, NULL) * 1e6;
	t->err = strstr(t->full, ") = -1 ") != NULL;

	t->obj[0] = '\0';
	args = strchr(t->full, '(') + 1;
	if (!strcmp(t->name, "openat") || !strcmp(t->name, "mkdirat") ||
	    !strcmp(t->name, "unlinkat")) {
		char dirobj[256], fname[128] = "";
		const char *q = strchr(args, '"'), *br;

		fd_object(args, dirobj, sizeof(dirobj));
		if (q) {
			const char *q2 = strchr(q + 1, '"');

			if (q2)
				snprintf(fname, sizeof(fname), "%.*s",
					 (int)(q2 - q - 1) > 100 ? 100 : (int)(q2 - q - 1), q + 1);
		}
		if (!strncmp(fname, "call-", 5))
			snprintf(fname, sizeof(fname), "<call dir>");
		br = strchr(dirobj, '[');
		snprintf(t->obj, sizeof(t->obj), "%s %s", fname, br ? br : "");
	} else {
		fd_object(args, t->obj, sizeof(t->obj));
	}
	if (!strcmp(t->name, "sendto") && strstr(t->full, "\\\"result\\\""))
		snprintf(t->obj, sizeof(t->obj), "socket (reply)");
	else if (!strcmp(t->name, "sendto") && strstr(t->full, "call.started"))
		snprintf(t->obj, sizeof(t->obj), "socket (call.started)");
	return true;
}

/* The parser's state across lines. */
struct tstate {
	struct pending pend[PENDING_MAX];
	pid_t execd[4096]; /* children that exec'd /bin/true */
	size_t n_execd;
	int phase;	   /* of the daemon's main thread */
	int after_clone;   /* daemon syscalls left in which a pipe read is the exec wait */
	double floor_us;
};

static void account(struct lb_ctx *ctx, struct trace_res *tr, struct tstate *s, pid_t pid,
		    pid_t dpid, struct tline *t)
{
	bool is_daemon = pid == dpid, execd_pid = false, wait;
	char key[352];
	int ph;

	for (size_t i = 0; i < s->n_execd; i++)
		if (s->execd[i] == pid)
			execd_pid = true;
	if (is_daemon) {
		if (!strcmp(t->name, "recvmsg") && strstr(t->full, "call.run"))
			s->phase = PH_PRE;
		ph = s->phase;
	} else if (execd_pid) {
		ph = PH_CHILD_POST;
	} else if (!strcmp(t->name, "execve")) {
		ph = PH_CHILD_EXEC;
	} else {
		ph = PH_CHILD_PRE;
	}
	/* blocking waits: shown, not summed */
	wait = !strcmp(t->name, "epoll_wait") || !strcmp(t->name, "epoll_pwait");
	/* a spawn that waits for the exec: clone3, close(pipe), read(pipe) */
	if (is_daemon && s->after_clone > 0 && !strcmp(t->name, "read") && !strcmp(t->obj, "pipe")) {
		snprintf(t->obj, sizeof(t->obj), "pipe (blocks until the child has exec'd)");
		wait = true;
		s->after_clone = 0;
	}
	if (!is_daemon && ph == PH_CHILD_PRE && !strcmp(t->name, "recvmsg")) {
		char o2[256];

		snprintf(o2, sizeof(o2), "%.200s (stub blocks until its call comes)", t->obj);
		snprintf(t->obj, sizeof(t->obj), "%s", o2);
		wait = true;
	}
	if (is_daemon)
		s->after_clone = !strcmp(t->name, "clone3") ? 3 : s->after_clone > 0 ? s->after_clone - 1 : 0;
	snprintf(key, sizeof(key), "%s%s%s%s%s", wait ? "[wait] " : "", t->name, t->obj[0] ? " " : "",
		 t->obj, t->err ? " (error)" : "");
	if (ph == PH_CHILD_POST)
		snprintf(key, sizeof(key), "(all syscalls of /bin/true)");
	if (t->dur_us >= 0) {
		struct tkey *k = tkey_get(ctx, tr, key, ph);

		k->count++;
		k->errors += t->err;
		k->sum_us += t->dur_us;
		if (t->dur_us < k->min_us)
			k->min_us = t->dur_us;
		if (t->dur_us < s->floor_us)
			s->floor_us = t->dur_us;
		if (!wait)
			tr->phase_us[ph] += t->dur_us;
	}
	/* transitions after the syscall */
	if (is_daemon) {
		if (!strcmp(t->name, "clone3"))
			tr->clones++;
		if (!strcmp(t->name, "sendto") && !strcmp(t->obj, "socket (call.started)")) {
			s->phase = PH_RUN;
		} else if (!strcmp(t->name, "sendto") && !strcmp(t->obj, "socket (reply)")) {
			tr->calls++;
			s->phase = PH_POST_REPLY;
		}
	} else if (!strcmp(t->name, "execve") && !t->err && s->n_execd < AC_ARRAY_SIZE(s->execd)) {
		s->execd[s->n_execd++] = pid;
	}
}

static void trace_parse(struct lb_ctx *ctx, const char *file, pid_t dpid, struct trace_res *tr)
{
	FILE *f = fopen(file, "re");
	struct tstate *s = calloc(1, sizeof(*s));
	struct tline *t = calloc(1, sizeof(*t));
	char *line = NULL;
	size_t cap = 0;

	if (!f || !s || !t)
		lb_die(ctx, "cannot read %s: %s", file, strerror(errno));
	s->phase = PH_IDLE;
	s->floor_us = 1e18;
	while (getline(&line, &cap, f) > 0) {
		char *p = line, *end;
		pid_t pid = (pid_t)strtol(p, &end, 10);
		size_t l;

		tr->lines++;
		if (end == p)
			continue;
		p = end;
		while (*p == ' ')
			p++;
		if (!strncmp(p, "---", 3) || !strncmp(p, "+++", 3))
			continue;
		l = strlen(p);
		while (l && (p[l - 1] == '\n' || p[l - 1] == ' '))
			p[--l] = '\0';
		if (!join_halves(s->pend, pid, p, t->full, sizeof(t->full)) || !parse_syscall(t))
			continue;
		account(ctx, tr, s, pid, dpid, t);
	}
	free(line);
	fclose(f);
	tr->floor_us = s->floor_us < 1e17 ? s->floor_us : 0;
	free(s);
	free(t);
}

static int cmp_tkey(const void *a, const void *b)
{
	const struct tkey *x = a, *y = b;

	if (x->phase != y->phase)
		return x->phase - y->phase;
	return x->sum_us < y->sum_us ? 1 : x->sum_us > y->sum_us ? -1 : 0;
}

static bool find_strace(char *path, size_t len)
{
	static const char *const c[] = { "/usr/bin/strace", "/bin/strace", "/usr/local/bin/strace" };

	for (size_t i = 0; i < AC_ARRAY_SIZE(c); i++)
		if (access(c[i], X_OK) == 0) {
			snprintf(path, len, "%s", c[i]);
			return true;
		}
	return false;
}

/* strace says "Process N attached" on stderr once it is in. */
static bool wait_attached(int errfd)
{
	char buf[512] = "";
	size_t got = 0;
	uint64_t deadline = ac_now_ns() + 10000000000ULL;

	while (ac_now_ns() < deadline) {
		struct pollfd p = { .fd = errfd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(errfd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "attached"))
			return true;
		if (got >= sizeof(buf) - 1)
			got = 0;
	}
	return false;
}

static bool trace_daemon(struct lb_ctx *ctx, int calls, struct trace_res *tr)
{
	struct lb_daemon *d = &ctx->dmn[0];
	struct lb_series rtt = { 0 };
	char strace[64];
	int errp[2];

	memset(tr, 0, sizeof(*tr));
	if (!find_strace(strace, sizeof(strace))) {
		fprintf(ctx->out, "  (strace not installed: apt-get install strace; skipped)\n");
		return false;
	}
	if (pipe2(errp, O_CLOEXEC) < 0)
		return false;
	ctx->tracer = fork();
	if (ctx->tracer == 0) {
		char pidbuf[16];
		char *argv[] = { strace, "-f", "-T", "-y", "-s", "48", "-o", ctx->trace_file, "-p", pidbuf,
				 NULL };

		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)d->pid);
		dup2(ctx->devnull, 0);
		dup2(ctx->devnull, 1);
		dup2(errp[1], 2);
		execve(argv[0], argv, ctx->envp);
		_exit(127);
	}
	close(errp[1]);
	if (!wait_attached(errp[0])) {
		close(errp[0]);
		lb_stop_child(ctx->tracer, SIGINT, 5000, NULL);
		ctx->tracer = 0;
		fprintf(ctx->out, "  (strace did not attach; skipped)\n");
		return false;
	}
	for (int i = 0; i < calls; i++) {
		lb_check_stop(ctx);
		lb_push(ctx, &rtt, lb_run_call(ctx, d->c, NULL));
	}
	usleep(200000); /* let the daemon finish the last call's cleanup */
	lb_stop_child(ctx->tracer, SIGINT, 10000, NULL);
	ctx->tracer = 0;
	close(errp[0]);
	tr->rtt = lb_stats(&rtt);
	lb_series_free(&rtt);
	trace_parse(ctx, ctx->trace_file, d->pid, tr);
	unlink(ctx->trace_file);
	qsort(tr->k, tr->n, sizeof(tr->k[0]), cmp_tkey);
	return tr->calls > 0;
}

static void report(struct lb_ctx *ctx, const struct trace_res *tr, json_t *jb)
{
	FILE *out = ctx->out;
	json_t *jt = json_array();
	int last_ph = -1;

	fprintf(out, "  traced %d replies, %d clone3; round trip under strace: median %.0f us, p99 "
		     "%.0f us; smallest syscall time seen %.1f us\n",
		tr->calls, tr->clones, tr->rtt.med, tr->rtt.p99, tr->floor_us);
	fprintf(out, "  per phase, syscall time per call ([wait] = blocking waits, listed but not "
		     "summed):\n");
	for (int p = 0; p < PH_COUNT; p++)
		if (tr->phase_us[p] > 0)
			fprintf(out, "    %-66s %8.1f us\n", ph_name[p], tr->phase_us[p] / tr->calls);
	fprintf(out, "  top syscalls per phase: calls per call.run, us per call.run, avg us per "
		     "syscall\n");
	for (size_t i = 0; i < tr->n; i++) {
		const struct tkey *k = &tr->k[i];
		double per = (double)k->count / tr->calls, us = k->sum_us / tr->calls;

		if (k->phase == PH_IDLE)
			continue;
		if (k->phase != last_ph) {
			fprintf(out, "   %s\n", ph_name[k->phase]);
			last_ph = k->phase;
		}
		if (us < 1.0 && per < 0.5)
			continue;
		fprintf(out, "      %-60.60s %5.2f %8.1f %7.1f%s\n", k->key, per, us,
			k->sum_us / (double)k->count, k->errors ? "  (errors)" : "");
		json_array_append_new(jt, json_pack("{s:s, s:s, s:f, s:f, s:f}", "phase",
						    ph_name[k->phase], "syscall", k->key, "per_call", per,
						    "us_per_call", us, "avg_us",
						    k->sum_us / (double)k->count));
	}
	json_object_set_new(jb, "strace", json_pack("{s:i, s:f, s:o}", "calls", tr->calls, "floor_us",
						   tr->floor_us, "syscalls", jt));
}

void lb_trace_run(struct lb_ctx *ctx, int calls, json_t *jb)
{
	struct trace_res tr;

	fprintf(ctx->out, "\n[7] strace -f -T -y of agentcgd over %d calls.run (syscall times are "
			  "inflated by ptrace: compare with [3])\n",
		calls);
	if (trace_daemon(ctx, calls, &tr))
		report(ctx, &tr, jb);
	free(tr.k);
}
