// SPDX-License-Identifier: GPL-2.0
/* One tool call, from request to verdict:
 *   call.run -> validate -> admission (reserve, refuse or queue)
 *   -> fresh leaf cgroup with the intent's limits -> spawn inside it
 *   -> watch pidfd, cgroup.events, output pipes, deadlines
 *   -> main process exits: kill stragglers, wait for the cgroup to empty
 *   -> read usage, build the verdict, reply, remove the cgroup.
 * A client that goes away takes its running calls with it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentcg/bpf_abi.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "daemon.h"

#define CPU_TIME_CHECK_NS (20ULL * 1000000)
#define RMDIR_RETRY_NS (10ULL * 1000000)
#define RMDIR_TRIES 500
#define DRAIN_CHECK_NS (50ULL * 1000000)
#define DEFAULT_WAIT_NS (60ULL * 1000000000)
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#define CALL_OF(ptr, member) ((struct acd_call *)((char *)(ptr) - offsetof(struct acd_call, member)))

static void call_finish(struct acd_ctx *ctx, struct acd_call *call);

const char *acd_call_state_name(enum acd_call_state st)
{
	switch (st) {
	case CALL_WAITING: return "waiting";
	case CALL_RUNNING: return "running";
	case CALL_DRAINING: return "ending";
	case CALL_REMOVING: return "removing";
	}
	return "?";
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static void call_free(struct acd_ctx *ctx, struct acd_call *call)
{
	strv_free(call->argv);
	strv_free(call->envp);
	free(call->cwd);
	for (int i = 0; i < 3; i++)
		if (call->stdio[i] >= 0)
			close(call->stdio[i]);
	ac_buf_free(&call->out.buf);
	ac_buf_free(&call->err.buf);
	json_decref(call->req_id);
	call->req_id = NULL;
	acd_procs_free(&call->procs);
	json_decref(call->exec_code);
	json_decref(call->exec_reply);
	call->exec_code = call->exec_reply = NULL;
	ac_cg_node_close(&call->node);
	ac_cg_statfds_close(&call->stats);
	if (call->stub_ctl >= 0)
		close(call->stub_ctl);
	call->pidw.fd = call->eventsw.fd = call->out.w.fd = call->err.w.fd = call->stub_ctl = -1;
	call->next = ctx->dead_calls;
	ctx->dead_calls = call;
}

void acd_free_dead(struct acd_ctx *ctx)
{
	while (ctx->dead_calls) {
		struct acd_call *call = ctx->dead_calls;

		ctx->dead_calls = call->next;
		free(call);
	}
	while (ctx->dead_clients) {
		struct acd_client *c = ctx->dead_clients;

		ctx->dead_clients = c->next;
		free(c);
	}
}

/* ---- lists ----------------------------------------------------------- */

static void session_unlink_call(struct acd_call *call)
{
	for (struct acd_call **pp = &call->session->calls; *pp; pp = &(*pp)->next)
		if (*pp == call) {
			*pp = call->next;
			return;
		}
}

static void client_unlink_call(struct acd_call *call)
{
	if (!call->client)
		return;
	for (struct acd_call **pp = &call->client->calls; *pp; pp = &(*pp)->client_next)
		if (*pp == call) {
			*pp = call->client_next;
			break;
		}
	call->client = NULL;
}

static void waiting_unlink(struct acd_ctx *ctx, struct acd_call *call)
{
	for (struct acd_call **pp = &ctx->waiting; *pp; pp = &(*pp)->wait_next)
		if (*pp == call) {
			*pp = call->wait_next;
			return;
		}
}

/* ---- parameters ------------------------------------------------------ */

static char **strv_from_json(const json_t *arr, size_t max, const char *field,
			     struct ac_errors *errs, bool need_eq)
{
	size_t n, i;
	char **v;

	if (!json_is_array(arr)) {
		ac_errors_add(errs, field, "must be an array of strings");
		return NULL;
	}
	n = json_array_size(arr);
	if (n > max) {
		ac_errors_add(errs, field, "has %zu entries, at most %zu allowed", n, max);
		return NULL;
	}
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return NULL;
	for (i = 0; i < n; i++) {
		const json_t *s = json_array_get(arr, i);

		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
			ac_errors_add(errs, field, "entry %zu is not a string without NUL bytes", i);
			goto fail;
		}
		if (need_eq && !strchr(json_string_value(s), '=')) {
			ac_errors_add(errs, field, "entry %zu is not of the form NAME=VALUE", i);
			goto fail;
		}
		v[i] = strdup(json_string_value(s));
		if (!v[i])
			goto fail;
	}
	return v;
fail:
	strv_free(v);
	return NULL;
}

static int resolve_user(const json_t *user, struct acd_call *call, struct ac_errors *errs)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	int ng = AC_GROUPS_MAX;

	if (json_is_integer(user)) {
		json_int_t uid = json_integer_value(user);

		if (uid < 0 || uid > 0x7fffffff) {
			ac_errors_add(errs, "user", "uid out of range");
			return -EINVAL;
		}
		getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res);
		if (!res) { /* a uid without a passwd entry: its own group, no others */
			call->uid = (uid_t)uid;
			call->gid = (gid_t)uid;
			call->groups[0] = call->gid;
			call->n_groups = 1;
			return 0;
		}
	} else if (json_is_string(user)) {
		getpwnam_r(json_string_value(user), &pw, buf, sizeof(buf), &res);
		if (!res) {
			ac_errors_add(errs, "user", "no such user '%.64s'", json_string_value(user));
			return -EINVAL;
		}
	} else {
		ac_errors_add(errs, "user", "must be a user name or a uid");
		return -EINVAL;
	}
	call->uid = pw.pw_uid;
	call->gid = pw.pw_gid;
	if (getgrouplist(pw.pw_name, pw.pw_gid, call->groups, &ng) < 0)
		ng = AC_GROUPS_MAX;
	call->n_groups = ng;
	return 0;
}

static const char *const run_params[] = { "path", "argv", "env", "cwd", "user", "stdio",
					  "wait", "wait_timeout", "intent", NULL };

struct run_req {
	struct ac_path path;
	bool wait;
	uint64_t wait_ns;
	bool fds;
};

/* Fills call (command, credentials, intent) and req from params. */
static int parse_run(struct acd_ctx *ctx, struct acd_client *c, const json_t *params,
		     struct acd_call *call, struct run_req *req, struct ac_errors *errs,
		     int *rpc_code)
{
	const json_t *v;

	*rpc_code = RPC_INVALID_PARAMS;
	acd_params_unknown(params, run_params, errs);
	v = json_object_get(params, "path");
	if (!json_is_string(v) || ac_path_parse(json_string_value(v), &req->path) < 0 ||
	    req->path.depth != AC_LEVEL_SESSION)
		ac_errors_add(errs, "path", "must be a session path \"/tenant/session\" of names "
					    "[A-Za-z0-9_.-]{1,64}");
	v = json_object_get(params, "argv");
	if (!v)
		ac_errors_add(errs, "argv", "is required (the command and its arguments)");
	else if ((call->argv = strv_from_json(v, ACD_MAX_ARGS, "argv", errs, false)) &&
		 !call->argv[0]) {
		ac_errors_add(errs, "argv", "must not be empty");
	} else if (call->argv && !call->argv[0][0]) {
		ac_errors_add(errs, "argv", "argv[0] must not be empty");
	}
	v = json_object_get(params, "env");
	if (v)
		call->envp = strv_from_json(v, ACD_MAX_ENV, "env", errs, true);
	else if ((call->envp = calloc(2, sizeof(char *))))
		call->envp[0] = strdup(DEFAULT_PATH);
	v = json_object_get(params, "cwd");
	if (v && (!json_is_string(v) || json_string_value(v)[0] != '/' ||
		  strlen(json_string_value(v)) != json_string_length(v)))
		ac_errors_add(errs, "cwd", "must be an absolute path without NUL bytes");
	else
		call->cwd = strdup(v ? json_string_value(v) : "/");
	v = json_object_get(params, "stdio");
	if (v && (!json_is_string(v) || (strcmp(json_string_value(v), "capture") &&
					 strcmp(json_string_value(v), "fds"))))
		ac_errors_add(errs, "stdio", "must be \"capture\" or \"fds\"");
	req->fds = v && json_is_string(v) && !strcmp(json_string_value(v), "fds");
	call->capture = !req->fds;
	v = json_object_get(params, "wait");
	if (v && !json_is_boolean(v))
		ac_errors_add(errs, "wait", "must be true or false");
	req->wait = json_is_true(v);
	req->wait_ns = DEFAULT_WAIT_NS;
	v = json_object_get(params, "wait_timeout");
	if (v && (!json_is_string(v) || ac_parse_duration(json_string_value(v), &req->wait_ns) < 0))
		ac_errors_add(errs, "wait_timeout", "must be a duration such as \"30s\"");
	if (req->wait_ns > ctx->cfg.admission_wait_max_ns)
		req->wait_ns = ctx->cfg.admission_wait_max_ns;
	{
		/* ac_intent_from_json starts its own list: merge it into ours. */
		struct ac_errors ierrs = { 0 };

		if (ac_intent_from_json(json_object_get(params, "intent"), &call->intent, &ierrs) < 0)
			for (int i = 0; i < ierrs.n; i++)
				ac_errors_add(errs, ierrs.e[i].field, "%s", ierrs.e[i].msg);
	}

	if (!errs->n && (!call->argv || !call->envp || !call->cwd)) {
		*rpc_code = RPC_SYSTEM;
		ac_errors_add(errs, "params", "out of memory");
	}
	call->uid = c->uid;
	call->gid = c->gid;
	call->n_groups = c->n_groups;
	memcpy(call->groups, c->groups, sizeof(gid_t) * (size_t)c->n_groups);
	v = json_object_get(params, "user");
	if (v) {
		if (c->uid != 0) {
			*rpc_code = RPC_PERMISSION;
			ac_errors_add(errs, "user", "only root clients may run a call as another user");
		} else {
			resolve_user(v, call, errs);
		}
	}
	return errs->n ? -EINVAL : 0;
}

/* ---- admission ------------------------------------------------------- */

/* What a call reserves of its session's and tenant's memory: what it
 * declares it needs (memory), else its ceiling (memory_max). Bursts up
 * to memory_max overcommit the budget on purpose: the containment ladder
 * defends it (contain.c). */
static uint64_t reservation(const struct ac_limits *l)
{
	if (l->memory_high != AC_UNLIMITED)
		return l->memory_high;
	if (l->memory_max != AC_UNLIMITED)
		return l->memory_max;
	return 0;
}

/* A memory assumed from the label's history is a guess: it reserves
 * nothing (admission holds back declared needs only; a guess that queued
 * calls made high-priority agents wait behind them in the replay). */
static uint64_t call_reservation(const struct acd_call *call)
{
	return call->adaptive.samples ? 0 : reservation(&call->limits);
}

struct admission {
	const char *level;
	const char *path;
	uint64_t budget, remaining;
	bool pressure; /* held back: the ladder would freeze it at once */
};

/* 0 fits, -EAGAIN not now, -E2BIG never. */
static int admission_check(struct acd_ctx *ctx, const struct acd_call *call, struct admission *a)
{
	const struct acd_session *s = call->session;
	const struct acd_domain *d;
	const struct acd_tenant *t = s->tenant;
	const struct {
		const char *level, *path;
		uint64_t budget, reserved;
	} lv[2] = {
		{ "session", s->path, s->budget.memory_max, s->reserved_mem },
		{ "tenant", t->path, t->budget.memory_max, t->reserved_mem },
	};

	for (int i = 0; i < 2; i++) {
		if (lv[i].budget == AC_UNLIMITED)
			continue;
		a->level = lv[i].level;
		a->path = lv[i].path;
		a->budget = lv[i].budget;
		a->remaining = lv[i].budget > lv[i].reserved ? lv[i].budget - lv[i].reserved : 0;
		if (call->reserved_mem > lv[i].budget)
			return -E2BIG;
		if (call->reserved_mem > a->remaining)
			return -EAGAIN;
	}
	/* A call the containment ladder would freeze as it starts waits
	 * before it allocates, rather than hold memory frozen. */
	a->pressure = false;
	d = acd_contain_holds_back(ctx, s, call->intent.priority);
	if (d) {
		a->level = "budget";
		a->path = d->host ? "host" : d->path;
		a->budget = d->budget;
		a->remaining = d->budget > d->usage ? d->budget - d->usage : 0;
		a->pressure = true;
		return -EAGAIN;
	}
	return 0;
}

static void reply_admission(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			    const struct acd_call *call, const struct admission *a, int r,
			    bool waited)
{
	char msg[320], req_s[32], rem_s[32], bud_s[32];

	ac_format_size(call->reserved_mem, req_s, sizeof(req_s));
	ac_format_size(a->remaining, rem_s, sizeof(rem_s));
	ac_format_size(a->budget, bud_s, sizeof(bud_s));
	if (r == -E2BIG)
		snprintf(msg, sizeof(msg),
			 "admission refused: the call needs %s of memory, more than %s %s's whole "
			 "budget of %s; declare less memory (memory_max)",
			 req_s, a->level, a->path, bud_s);
	else if (a->pressure)
		snprintf(msg, sizeof(msg),
			 "admission refused%s: memory pressure: %s has %s of its %s left and a "
			 "%s-priority call would be frozen as it starts; retry later, pass wait, or "
			 "raise the priority", waited ? " after waiting" : "", a->path, rem_s,
			 bud_s, ac_priority_name(call->intent.priority));
	else
		snprintf(msg, sizeof(msg),
			 "admission refused: the call needs %s of memory, %s %s has %s of its %s "
			 "left%s; retry later, declare less, or pass wait",
			 req_s, a->level, a->path, rem_s, bud_s, waited ? " after waiting" : "");
	acd_reply_error(ctx, c, id, RPC_ADMISSION, msg,
			json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:b}", "level", a->level, "path",
				  a->path, "resource", "memory", "requested",
				  (json_int_t)call->reserved_mem, "remaining",
				  (json_int_t)a->remaining, "budget", (json_int_t)a->budget,
				  "never_fits", r == -E2BIG, "pressure", a->pressure));
}

static void reserve(struct acd_call *call, bool take)
{
	struct acd_session *s = call->session;

	if (take) {
		s->reserved_mem += call->reserved_mem;
		s->tenant->reserved_mem += call->reserved_mem;
	} else {
		s->reserved_mem -= call->reserved_mem;
		s->tenant->reserved_mem -= call->reserved_mem;
	}
}

/* ---- running --------------------------------------------------------- */

static void on_capture(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events);
static void on_pidfd(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events);
static void on_cgroup_events(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events);

/* Past the limit output is read and dropped, so the command never blocks
 * on a full pipe and the daemon never grows. */
static void capture_append(struct acd_ctx *ctx, struct acd_capture *cap, const char *data,
			   size_t n)
{
	uint64_t limit = ctx->cfg.output_limit;
	size_t room = cap->buf.len < limit ? (size_t)(limit - cap->buf.len) : 0;

	if (n > room)
		cap->truncated = true;
	if (room)
		ac_buf_append(&cap->buf, data, n < room ? n : room, limit);
}

void acd_call_capture(struct acd_ctx *ctx, struct acd_call *call, bool err, const char *data,
		      size_t len)
{
	if (!call->replied)
		capture_append(ctx, err ? &call->err : &call->out, data, len);
}

static void capture_close(struct acd_ctx *ctx, struct acd_capture *cap)
{
	acd_watch_close(ctx, &cap->w);
}

static int open_capture(struct acd_capture *cap, int *child_end)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	cap->w.fd = p[0];
	cap->w.fn = on_capture;
	*child_end = p[1];
	return 0;
}

static json_t *limits_to_json(const struct ac_limits *l)
{
	char mh[32], mm[32], cpu[48], pids[32];

	ac_format_size(l->memory_high, mh, sizeof(mh));
	ac_format_size(l->memory_max, mm, sizeof(mm));
	if (l->cpu_quota_us == AC_UNLIMITED)
		snprintf(cpu, sizeof(cpu), "max %llu", (unsigned long long)AC_CPU_PERIOD_US);
	else
		snprintf(cpu, sizeof(cpu), "%llu %llu", (unsigned long long)l->cpu_quota_us,
			 (unsigned long long)l->cpu_period_us);
	if (l->pids_max == AC_UNLIMITED)
		snprintf(pids, sizeof(pids), "max");
	else
		snprintf(pids, sizeof(pids), "%llu", (unsigned long long)l->pids_max);
	return json_pack("{s:s, s:s, s:s, s:s}", "memory.high", mh, "memory.max", mm, "cpu.max",
			 cpu, "pids.max", pids);
}

/* The command (or cell) runs since call->start_ns: deadlines, counters. */
static void call_running(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->intent.set & AC_F_TIMEOUT)
		call->deadline_ns = call->start_ns + call->intent.timeout_ns;
	/* Without the BPF programs, cpu_time falls back to a poll. */
	if (call->intent.set & AC_F_CPU_TIME && !(call->bpf_on && acd_bpf_features(ctx)->cpu_time))
		call->next_cpu_check_ns = call->start_ns + CPU_TIME_CHECK_NS;
	call->state = CALL_RUNNING;
	ctx->calls_running++;
	ctx->calls_total++;
}

/* The call's cgroup is the spare's: its name, dirs and usage files. */
static void call_take_spare(struct acd_call *call, const struct acd_spare *sp)
{
	ac_strlcpy(call->name, sp->name, sizeof(call->name));
	snprintf(call->path, sizeof(call->path), "%s/%s", call->session->path, call->name);
	call->node = sp->node;
	call->stats = sp->stats;
	call->created = true;
	call->populated = true;
}

/* Takes a ready cgroup (with the intent's limits and a stub inside) and
 * hands the stub the command. On failure replies with the error and
 * returns <0 (the caller frees the call). */
static int call_start(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_session *s = call->session;
	struct ac_spawn_req sreq = { 0 };
	struct acd_spare *sp = NULL;
	struct ac_stub stub;
	int child_out = -1, child_err = -1, r;

	r = acd_pool_take(ctx, s, &call->limits, &sp);
	if (r < 0) {
		acd_reply_errno(ctx, call->client, call->req_id, r,
				"cannot prepare the call's cgroup");
		return r;
	}
	call_take_spare(call, sp);
	stub = sp->stub;
	free(sp);
	if (acd_bpf_call_begin(ctx, call) == 0)
		call->bpf_tracked = true;

	if (call->capture) {
		if ((r = open_capture(&call->out, &child_out)) < 0 ||
		    (r = open_capture(&call->err, &child_err)) < 0) {
			acd_reply_errno(ctx, call->client, call->req_id, r, "pipe");
			goto fail;
		}
		sreq.stdio[0] = -1;
		sreq.stdio[1] = child_out;
		sreq.stdio[2] = child_err;
	} else {
		memcpy(sreq.stdio, call->stdio, sizeof(sreq.stdio));
	}
	sreq.devnull = ctx->devnull;
	sreq.argv = call->argv;
	sreq.envp = call->envp;
	sreq.cwd = call->cwd;
	sreq.uid = call->uid;
	sreq.gid = call->gid;
	sreq.n_groups = call->n_groups;
	memcpy(sreq.groups, call->groups, sizeof(gid_t) * (size_t)call->n_groups);

	if (call->intent.priority != s->priority) /* the spare has the session's */
		acd_prio_process(ctx, call->intent.priority, stub.pid);
	call->start_ns = ac_now_ns();
	r = ac_stub_exec(&stub, &sreq);
	if (child_out >= 0)
		close(child_out);
	if (child_err >= 0)
		close(child_err);
	child_out = child_err = -1;
	for (int i = 0; i < 3; i++) { /* the stub has its copies */
		if (call->stdio[i] >= 0)
			close(call->stdio[i]);
		call->stdio[i] = -1;
	}
	if (r < 0) {
		acd_reply_errno(ctx, call->client, call->req_id, r, "cannot hand the command over");
		goto fail;
	}
	call->pid = stub.pid;
	call->pidw.fd = stub.pidfd;
	call->pidw.fn = on_pidfd;
	acd_watch_add(ctx, &call->pidw, EPOLLIN);
	call->stub_ctl = stub.ctl;
	stub.pidfd = stub.ctl = -1;
	if (call->capture) {
		acd_watch_add(ctx, &call->out.w, EPOLLIN);
		acd_watch_add(ctx, &call->err.w, EPOLLIN);
	}
	call_running(ctx, call);
	if (call->client)
		acd_notify(ctx, call->client, "call.started",
			   json_pack("{s:O?, s:s, s:i}", "id", call->req_id, "path", call->path,
				     "pid", (int)call->pid));
	acd_event(ctx, "call.start", call->path,
		  json_pack("{s:i, s:s, s:i}", "pid", (int)call->pid, "argv0", call->argv[0],
			    "uid", (int)call->uid));
	return 0;

fail:
	if (child_out >= 0)
		close(child_out);
	if (child_err >= 0)
		close(child_err);
	capture_close(ctx, &call->out);
	capture_close(ctx, &call->err);
	ac_stub_discard(&stub);
	acd_bpf_call_end(ctx, call);
	ac_cg_rmdir(&ctx->cg, &s->node, call->name, &call->node);
	call->created = false;
	return r < 0 ? r : -EIO;
}

static void maybe_finish(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->state != CALL_DRAINING)
		return;
	if (call->out.w.fd >= 0 || call->err.w.fd >= 0)
		return;
	if (call->populated) /* cgroup.events will tell when it empties */
		return;
	call_finish(ctx, call);
}

static void on_capture(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_capture *cap = (struct acd_capture *)w;
	char buf[65536];
	ssize_t n = read(w->fd, buf, sizeof(buf));

	if (n > 0) {
		capture_append(ctx, cap, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	capture_close(ctx, cap);
	maybe_finish(ctx, cap->call);
}


/* The stub's control socket, read once the process has ended: EOF if
 * the exec succeeded (the socket is close-on-exec), else the step that
 * failed (the stub then exited 127). */
static void exec_check(struct acd_call *call)
{
	const char *what;
	int r;

	if (call->stub_ctl < 0)
		return;
	r = ac_stub_result(call->stub_ctl, &what);
	if (r < 0) {
		call->spawn_err = r;
		call->spawn_what = what ? what : "start";
	}
	close(call->stub_ctl);
	call->stub_ctl = -1;
}

/* Something outlived the main process: watch cgroup.events (the fd
 * opened with the spare, owned by call->stats) for the moment the killed
 * rest is gone. Without it, the tick looks every DRAIN_CHECK_NS. */
static void watch_cgroup_events(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->eventsw.fd >= 0)
		return;
	call->eventsw.fd = ac_cg_statfds_events_fd(&call->stats);
	call->eventsw.fn = on_cgroup_events;
	if (call->eventsw.fd >= 0)
		acd_watch_add(ctx, &call->eventsw, EPOLLPRI);
}

static void on_pidfd(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_call *call = CALL_OF(w, pidw);
	siginfo_t si = { 0 };

	if (waitid(P_PIDFD, (id_t)w->fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	call->end_ns = ac_now_ns();
	if (si.si_code == CLD_EXITED) {
		call->end.exited = true;
		call->end.exit_code = si.si_status;
	} else {
		call->end.term_signal = si.si_status;
	}
	acd_watch_close(ctx, w);
	exec_check(call);
	call->state = CALL_DRAINING;
	/* A tool call ends with its main process: nothing it left behind
	 * survives it. */
	call->populated = ac_cg_populated_fds(&ctx->cg, &call->node, &call->stats) != 0;
	if (call->populated) {
		watch_cgroup_events(ctx, call);
		ac_cg_kill(&ctx->cg, &call->node);
	}
	call->next_populated_check_ns = ac_now_ns() + DRAIN_CHECK_NS;
	maybe_finish(ctx, call);
}

static void on_cgroup_events(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_call *call = CALL_OF(w, eventsw);

	/* The read re-arms the notification. */
	call->populated = ac_cg_populated_fds(&ctx->cg, &call->node, &call->stats) != 0;
	maybe_finish(ctx, call);
}

/* Output text as a JSON string; invalid UTF-8 bytes become U+FFFD. */
static json_t *text_json(const struct ac_buf *b)
{
	json_t *s = json_stringn(b->data ? b->data : "", b->len);
	char *clean, *o;
	size_t i = 0;

	if (s)
		return s;
	clean = malloc(b->len * 3 + 1);
	if (!clean)
		return json_string("");
	o = clean;
	while (i < b->len) {
		unsigned char ch = (unsigned char)b->data[i];
		size_t n = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
		bool ok = n > 0 && i + n <= b->len;

		for (size_t k = 1; ok && k < n; k++)
			ok = ((unsigned char)b->data[i + k] >> 6) == 2;
		if (ok && n > 1 && !json_stringn(b->data + i, n))
			ok = false; /* overlong or surrogate */
		if (ok && ch != 0) {
			memcpy(o, b->data + i, n);
			o += n;
			i += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	s = json_stringn(clean, (size_t)(o - clean));
	free(clean);
	return s ? s : json_string("");
}

/* What the interpreter said of the cell: value, error, interrupted; and
 * a summary that names an exception the verdict alone cannot know. */
static void exec_result(struct acd_call *call, json_t *res, json_t *verdict)
{
	static const char *const keys[] = { "value", "value_repr", "error", "interrupted",
					    "exit_code", "restarted" };
	json_t *rep = call->exec_reply, *err = json_object_get(rep, "error");
	const char *status = json_string_value(json_object_get(verdict, "status"));

	json_object_del(res, "argv");
	json_object_set_new(res, "lang", json_string(acd_lang_name(call->interp_lang)));
	for (size_t i = 0; rep && i < AC_ARRAY_SIZE(keys); i++)
		if (json_object_get(rep, keys[i]))
			json_object_set(res, keys[i], json_object_get(rep, keys[i]));
	json_object_set_new(res, "ok", json_boolean(json_is_true(json_object_get(rep, "ok"))));
	json_object_set_new(res, "session",
			    json_pack("{s:s, s:s}", "path", call->session->path, "interpreter",
				      call->interp_died ? "died" : "alive"));
	if (status && !strcmp(status, "failed") && json_is_object(err) &&
	    !json_object_get(verdict, "stopped_by")) {
		char line[512];
		const char *type = json_string_value(json_object_get(err, "type"));
		const char *msg = json_string_value(json_object_get(err, "message"));

		if (call->interp_died)
			snprintf(line, sizeof(line), "%.300s; the session's state is lost: "
				 "session.reset starts a new interpreter", msg ? msg : "the interpreter died");
		else
			snprintf(line, sizeof(line), "raised %.60s%s%.300s", type ? type : "an error",
				 msg && *msg ? ": " : "", msg ? msg : "");
		json_object_set_new(verdict, "summary", json_string(line));
	}
}

/* Which limit the OOM killer acted on: the call's own memory_max if its
 * cgroup hit it, else the nearest session or tenant budget that was hit,
 * else the host. */
static void oom_limit(struct acd_ctx *ctx, struct acd_call *call, const struct ac_usage *u)
{
	struct ac_oom_victim *v = &call->end.oom;
	struct acd_session *s = call->session;
	const struct {
		const char *level, *path;
		const struct ac_cg_node *node;
		uint64_t limit;
	} lv[2] = {
		{ "session", s->path, &s->node, s->budget.memory_max },
		{ "tenant", s->tenant->path, &s->tenant->node, s->tenant->budget.memory_max },
	};

	if (call->limits.memory_max != AC_UNLIMITED && (u->mem_max > 0 || u->mem_oom > 0)) {
		v->level = "call";
		ac_strlcpy(v->path, call->path, sizeof(v->path));
		v->limit = call->limits.memory_max;
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct ac_usage pu = { 0 };

		if (lv[i].limit == AC_UNLIMITED ||
		    ac_cg_read_usage(&ctx->cg, lv[i].node, &pu) < 0 || (!pu.mem_max && !pu.mem_oom))
			continue;
		v->level = lv[i].level;
		ac_strlcpy(v->path, lv[i].path, sizeof(v->path));
		v->limit = lv[i].limit;
		return;
	}
	v->level = "host";
	v->path[0] = 0;
	v->limit = AC_UNLIMITED;
}

static json_t *call_result(struct acd_ctx *ctx, struct acd_call *call, json_t **verdict_out)
{
	struct ac_usage u = { 0 };
	json_t *res, *argv = json_array(), *verdict;

	ac_cg_read_usage_fds(&ctx->cg, &call->node, &call->stats, &u);
	if (call->bpf_tracked) {
		u.forks_known = true;
		u.forks = call->bpf_forks;
	}
	if (call->end.oom.seen && !call->end.oom.level)
		oom_limit(ctx, call, &u);
	u.wall_ns = (call->end_ns ? call->end_ns : ac_now_ns()) - call->start_ns;
	call->end.stdout_truncated = call->out.truncated;
	call->end.stderr_truncated = call->err.truncated;
	for (char **a = call->argv; *a; a++)
		json_array_append_new(argv, json_string(*a));
	verdict = ac_verdict_build(&call->intent, &call->limits, &u, &call->end);
	res = json_pack("{s:s, s:i, s:o, s:o, s:o, s:o, s:O}", "path", call->path, "pid",
			(int)call->pid, "argv", argv, "intent", ac_intent_to_json(&call->intent),
			"limits", limits_to_json(&call->limits), "usage", ac_usage_to_json(&u),
			"verdict", verdict);
	acd_adaptive_result(ctx, call, u.memory_peak, json_object_get(res, "intent"));
	if (json_object_get(verdict, "exit"))
		json_object_set(res, "exit", json_object_get(verdict, "exit"));
	if (call->interp)
		exec_result(call, res, verdict);
	if (call->bpf_tracked) {
		json_object_set_new(res, "processes", acd_procs_json(&call->procs));
		json_object_set_new(res, "processes_total", json_integer((json_int_t)call->procs.total));
		if (call->procs.omitted)
			json_object_set_new(res, "processes_omitted",
					    json_integer((json_int_t)call->procs.omitted));
	}
	if (call->capture) {
		json_object_set_new(res, "stdout", text_json(&call->out.buf));
		json_object_set_new(res, "stderr", text_json(&call->err.buf));
		json_object_set_new(res, "stdout_truncated", json_boolean(call->out.truncated));
		json_object_set_new(res, "stderr_truncated", json_boolean(call->err.truncated));
	}
	*verdict_out = verdict;
	json_decref(verdict);
	return res;
}

static void reply_spawn_failed(struct acd_ctx *ctx, struct acd_call *call)
{
	char msg[400];
	int e = -call->spawn_err;

	snprintf(msg, sizeof(msg), "cannot run '%.200s': %s: %s", call->argv[0], call->spawn_what,
		 strerror(e));
	call->replied = true;
	acd_event(ctx, "call.end", call->path,
		  json_pack("{s:s, s:s}", "status", "failed", "summary", msg));
	acd_reply_error(ctx, call->client, call->req_id, RPC_SPAWN_FAILED, msg,
			json_pack("{s:i, s:s, s:s, s:s}", "errno", e, "message", strerror(e),
				  "step", call->spawn_what, "path", call->path));
}

static void call_reply_result(struct acd_ctx *ctx, struct acd_call *call)
{
	json_t *verdict, *res;

	acd_contain_call_end(ctx, call); /* its times go into the verdict */
	res = call_result(ctx, call, &verdict);
	json_t *status = json_object_get(verdict, "status");
	json_t *ev = json_pack("{s:O, s:O}", "status", status ? status : json_null(), "summary",
			       json_object_get(verdict, "summary") ?
				       json_object_get(verdict, "summary") : json_null());

	if (json_object_get(verdict, "exit"))
		json_object_set(ev, "exit", json_object_get(verdict, "exit"));
	call->replied = true;
	acd_event(ctx, "call.end", call->path, ev);
	if (call->client)
		acd_reply_result(ctx, call->client, call->req_id, res);
	else
		json_decref(res);
}

static void call_reply(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->spawn_err < 0)
		reply_spawn_failed(ctx, call);
	else
		call_reply_result(ctx, call);
}

static void call_finish(struct acd_ctx *ctx, struct acd_call *call)
{
	acd_contain_call_end(ctx, call);
	acd_bpf_call_end(ctx, call);
	if (!call->replied)
		call_reply(ctx, call);
	client_unlink_call(call);
	acd_watch_del(ctx, &call->eventsw); /* its fd belongs to call->stats */
	call->eventsw.fd = -1;
	reserve(call, false);
	ctx->calls_running--;
	/* The cgroup goes in idle moments, one hierarchy at a time. */
	call->state = CALL_REMOVING;
	call->wait_next = NULL;
	{
		struct acd_call **pp = &ctx->removing;

		while (*pp)
			pp = &(*pp)->wait_next;
		*pp = call;
	}
	ctx->n_removing++;
	ctx->idle_work = true;
	acd_calls_admit_waiting(ctx);
}

static void session_close_done(struct acd_ctx *ctx, struct acd_session *s)
{
	struct acd_client *c = s->close_client;
	json_t *id = json_incref(s->close_id);
	char path[sizeof(s->path)];
	int killed = s->close_killed, r;

	ac_strlcpy(path, s->path, sizeof(path));
	r = acd_session_remove(ctx, s);
	if (r < 0)
		acd_reply_errno(ctx, c, id, r, "cannot remove the session's cgroup");
	else
		acd_reply_result(ctx, c, id, json_pack("{s:s, s:i}", "path", path, "killed_calls",
						       killed));
	json_decref(id);
}

/* The call's cgroup is gone (or given up on): forget the call. */
static void call_removed(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_session *s = call->session;

	session_unlink_call(call);
	call_free(ctx, call);
	if (s->closing && !s->calls) {
		for (struct acd_client *c = ctx->clients; c; c = c->next)
			if (c == s->close_client)
				goto found;
		s->close_client = NULL;
found:
		session_close_done(ctx, s);
	}
}

bool acd_calls_remove_step(struct acd_ctx *ctx)
{
	uint64_t now = ac_now_ns();

	for (struct acd_call **pp = &ctx->removing; *pp; pp = &(*pp)->wait_next) {
		struct acd_call *call = *pp;
		int r = 0;

		if (call->rmdir_retry_ns > now)
			continue;
		if (call->created)
			r = ac_cg_rmdir_step(&ctx->cg, &call->session->node, call->name, &call->node);
		if (r == 1)
			return true;
		if (r == -EBUSY && ++call->rmdir_tries < RMDIR_TRIES) {
			call->rmdir_retry_ns = now + RMDIR_RETRY_NS;
			return true;
		}
		if (r < 0)
			ac_log_errno(r, "cannot remove %s", call->path);
		*pp = call->wait_next;
		ctx->n_removing--;
		call_removed(ctx, call);
		return true;
	}
	return false;
}

void acd_call_kill(struct acd_ctx *ctx, struct acd_call *call, enum ac_stop_reason why)
{
	if (call->state == CALL_WAITING && call->interp) { /* queued at its interpreter */
		acd_interp_cancel(ctx, call);
		acd_call_exec_failed(ctx, call, RPC_NOT_FOUND, "exec cancelled before it started");
		return;
	}
	if (call->state == CALL_WAITING) {
		waiting_unlink(ctx, call);
		if (call->client && why != AC_STOP_DISCONNECT)
			acd_reply_error(ctx, call->client, call->req_id, RPC_NOT_FOUND,
					"call cancelled while waiting for budget", NULL);
		client_unlink_call(call);
		session_unlink_call(call);
		call_free(ctx, call);
		return;
	}
	if (call->state != CALL_RUNNING && call->state != CALL_DRAINING)
		return;
	if (call->end.stop == AC_STOP_NONE)
		call->end.stop = why;
	ac_cg_kill(&ctx->cg, &call->node);
}

void acd_calls_client_gone(struct acd_ctx *ctx, struct acd_client *c)
{
	while (c->calls) {
		struct acd_call *call = c->calls;

		c->calls = call->client_next;
		call->client = NULL;
		if (call->interp && call->state == CALL_RUNNING) {
			/* the session outlives the connection: stop the cell only */
			if (!call->replied && acd_interp_interrupt(ctx, call->interp))
				call->interrupted = true;
			continue;
		}
		if (!call->replied)
			acd_call_kill(ctx, call, AC_STOP_DISCONNECT);
	}
}

static void admit_one(struct acd_ctx *ctx, struct acd_call *call)
{
	reserve(call, true);
	if (call_start(ctx, call) < 0) {
		reserve(call, false);
		client_unlink_call(call);
		session_unlink_call(call);
		call_free(ctx, call);
	}
}

void acd_calls_admit_waiting(struct acd_ctx *ctx)
{
	struct acd_call **pp = &ctx->waiting;

	while (*pp) {
		struct acd_call *call = *pp;
		struct admission a;

		if (!call->session->frozen && !call->session->tenant->frozen &&
		    admission_check(ctx, call, &a) == 0) {
			*pp = call->wait_next;
			admit_one(ctx, call);
			continue;
		}
		pp = &call->wait_next;
	}
}

static int ms_until(uint64_t now, uint64_t t)
{
	int ms = t > now ? ac_ns_to_ms_ceil(t - now) : 0;

	return ms > 60000 ? 60000 : ms;
}

/* The SIGCONT that lets tasks the BPF programs stopped (SIGSTOP) enter
 * the cgroup freezer instead, so a thaw resumes them. */
void acd_call_continue_stopped(struct acd_ctx *ctx, struct acd_call *call)
{
	char buf[16384], *p, *end;
	int n = ac_cg_read_file(&ctx->cg, &call->node, "cgroup.procs", buf, sizeof(buf));

	if (n <= 0)
		return;
	for (p = buf; *p; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0)
			kill((pid_t)pid, SIGCONT);
	}
}

#define EXEC_GRACE_NS (2ULL * 1000000000)

/* A cell over a limit: interrupted first, so the session keeps its
 * state; killed (with its interpreter) only if it has not stopped after
 * EXEC_GRACE_NS. */
static void interrupt_exec(struct acd_ctx *ctx, struct acd_call *call, uint64_t now)
{
	if (call->kill_deadline_ns)
		return;
	call->interrupted = acd_interp_interrupt(ctx, call->interp);
	call->kill_deadline_ns = now + EXEC_GRACE_NS;
}

/* A budget ran out (cpu_time, forks, memory on v1): on_exceed decides. */
static void budget_exceeded(struct acd_ctx *ctx, struct acd_call *call, enum ac_stop_reason why)
{
	uint64_t now = ac_now_ns();

	if (call->state != CALL_RUNNING || call->replied || call->end.stop != AC_STOP_NONE)
		return;
	if (why == AC_STOP_CPU_TIME)
		call->next_cpu_check_ns = 0;
	if (call->intent.on_exceed == AC_EXCEED_REPORT)
		return; /* the verdict reports it */
	call->end.stop = why;
	if (call->interp && call->intent.on_exceed == AC_EXCEED_KILL) {
		interrupt_exec(ctx, call, now);
		return;
	}
	if (call->intent.on_exceed == AC_EXCEED_FREEZE) {
		ac_cg_freeze(&ctx->cg, &call->node, true);
		acd_bpf_call_handled(ctx, call);
		acd_call_continue_stopped(ctx, call);
		acd_contain_call_end(ctx, call); /* the operator's now */
		call->end.frozen = true;
		call->end_ns = now;
		acd_bpf_call_sync(ctx, call);
		call_reply(ctx, call); /* it stays, frozen, for an operator */
	} else {
		acd_call_kill(ctx, call, why);
	}
}

void acd_call_pressure_stop(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->state != CALL_RUNNING || call->replied || call->end.stop != AC_STOP_NONE)
		return;
	call->end.stop = AC_STOP_PRESSURE;
	if (call->interp) {
		/* Never the interpreter: the cell is thawed and interrupted,
		 * with no kill after it (unlike a budget's). */
		if (call->contain.level == CONTAIN_FROZEN)
			ac_cg_freeze(&ctx->cg, &call->node, false);
		acd_contain_call_end(ctx, call);
		call->interrupted = acd_interp_interrupt(ctx, call->interp);
		return;
	}
	ac_cg_kill(&ctx->cg, &call->node);
}

static void check_cpu_time(struct acd_ctx *ctx, struct acd_call *call, uint64_t now)
{
	uint64_t used = 0;

	call->next_cpu_check_ns = now + CPU_TIME_CHECK_NS;
	if (ac_cg_cpu_usage_us(&ctx->cg, &call->node, &call->stats, &used) < 0 ||
	    used * 1000 < call->intent.cpu_time_ns)
		return;
	call->next_cpu_check_ns = 0;
	budget_exceeded(ctx, call, AC_STOP_CPU_TIME);
}

static json_t *bpf_event_json(const struct acb_event *e)
{
	switch (e->type) {
	case ACB_EV_FORK:
		return json_pack("{s:i, s:i, s:s}", "pid", (int)e->pid, "ppid", (int)e->ppid, "comm",
				 e->comm);
	case ACB_EV_EXEC:
		return json_pack("{s:i, s:i, s:s, s:s}", "pid", (int)e->pid, "ppid", (int)e->ppid,
				 "comm", e->comm, "exe", e->exe);
	case ACB_EV_EXIT:
		return json_pack("{s:i, s:s, s:o, s:I}", "pid", (int)e->pid, "comm", e->comm, "exit",
				 acd_wstatus_json((int)e->value), "peak_rss",
				 (json_int_t)e->rss_bytes);
	default:
		return NULL;
	}
}

void acd_call_on_bpf_event(struct acd_ctx *ctx, struct acd_call *call, const struct acb_event *e)
{
	static const char *const names[] = { [ACB_EV_FORK] = "proc.fork",
					     [ACB_EV_EXEC] = "proc.exec",
					     [ACB_EV_EXIT] = "proc.exit" };
	struct ac_oom_victim *v = &call->end.oom;

	switch (e->type) {
	case ACB_EV_FORK:
	case ACB_EV_EXEC:
	case ACB_EV_EXIT:
		acd_procs_record(&call->procs, e);
		if (ctx->n_subscribed)
			acd_event(ctx, names[e->type], call->path, bpf_event_json(e));
		break;
	case ACB_EV_OOM:
		if (!v->seen) {
			v->seen = true;
			v->pid = (int)e->pid;
			memcpy(v->comm, e->comm, sizeof(v->comm));
			v->comm[sizeof(v->comm) - 1] = 0;
			v->rss = e->rss_bytes;
		}
		acd_event(ctx, "oom", call->path,
			  json_pack("{s:i, s:s, s:I}", "pid", (int)e->pid, "comm", e->comm, "rss",
				    (json_int_t)e->rss_bytes));
		break;
	case ACB_EV_OVER: {
		enum ac_stop_reason why = e->over == ACB_OVER_FORKS ? AC_STOP_FORKS :
					  e->over == ACB_OVER_MEMORY ? AC_STOP_MEMORY :
								       AC_STOP_CPU_TIME;
		const char *what = why == AC_STOP_FORKS ? "forks" :
				   why == AC_STOP_MEMORY ? "memory" : "cpu_time";

		acd_event(ctx, "budget", call->path,
			  json_pack("{s:s, s:I, s:s}", "resource", what, "used", (json_int_t)e->value,
				    "on_exceed", ac_on_exceed_name(call->intent.on_exceed)));
		budget_exceeded(ctx, call, why);
		break;
	}
	default:
		break;
	}
}

int acd_calls_tick(struct acd_ctx *ctx)
{
	uint64_t now = ac_now_ns();
	int next = -1;

#define NEXT(t) do { int _m = ms_until(now, (t)); if (next < 0 || _m < next) next = _m; } while (0)
	for (struct acd_call **pp = &ctx->waiting; *pp;) {
		struct acd_call *call = *pp;

		if (call->wait_deadline_ns <= now) {
			struct admission a;
			int r = admission_check(ctx, call, &a);

			*pp = call->wait_next;
			reply_admission(ctx, call->client, call->req_id, call, &a,
					r == 0 ? -EAGAIN : r, true);
			client_unlink_call(call);
			session_unlink_call(call);
			call_free(ctx, call);
			continue;
		}
		NEXT(call->wait_deadline_ns);
		pp = &call->wait_next;
	}
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		for (struct acd_session *s = t->sessions; s; s = s->next)
			for (struct acd_call *call = s->calls, *nx; call; call = nx) {
				nx = call->next;
				if (call->state == CALL_RUNNING && !call->replied) {
					if (call->deadline_ns && call->deadline_ns <= now) {
						if (call->interp) {
							call->end.stop = AC_STOP_TIMEOUT;
							interrupt_exec(ctx, call, now);
						} else {
							acd_call_kill(ctx, call, AC_STOP_TIMEOUT);
						}
						call->deadline_ns = 0;
					}
					if (call->kill_deadline_ns && call->kill_deadline_ns <= now) {
						call->interrupted = false; /* it did not stop */
						call->kill_deadline_ns = 0;
						acd_call_kill(ctx, call, call->end.stop);
					}
					if (call->kill_deadline_ns)
						NEXT(call->kill_deadline_ns);
					if (call->next_cpu_check_ns && call->next_cpu_check_ns <= now)
						check_cpu_time(ctx, call, now);
					if (call->deadline_ns)
						NEXT(call->deadline_ns);
					if (call->next_cpu_check_ns)
						NEXT(call->next_cpu_check_ns);
				} else if (call->state == CALL_DRAINING) {
					/* In case an event was missed: look again. */
					if (call->next_populated_check_ns <= now) {
						call->populated = ac_cg_populated_fds(
							&ctx->cg, &call->node, &call->stats) != 0;
						call->next_populated_check_ns = now + DRAIN_CHECK_NS;
						maybe_finish(ctx, call);
					} else {
						NEXT(call->next_populated_check_ns);
					}
				} else if (call->state == CALL_REMOVING && call->rmdir_retry_ns) {
					if (call->rmdir_retry_ns <= now)
						ctx->idle_work = true;
					else
						NEXT(call->rmdir_retry_ns);
				}
			}
#undef NEXT
	return next;
}

void acd_calls_shutdown(struct acd_ctx *ctx)
{
	while (ctx->waiting)
		acd_call_kill(ctx, ctx->waiting, AC_STOP_SHUTDOWN);
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		for (struct acd_session *s = t->sessions; s; s = s->next)
			for (struct acd_call *call = s->calls; call; call = call->next)
				acd_call_kill(ctx, call, AC_STOP_SHUTDOWN);
}

bool acd_calls_all_gone(struct acd_ctx *ctx)
{
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		for (struct acd_session *s = t->sessions; s; s = s->next)
			if (s->calls)
				return false;
	return true;
}

bool acd_call_frozen(const struct acd_call *call)
{
	return call->end.frozen || call->contain.level == CONTAIN_FROZEN;
}

const char *acd_call_shown_state(const struct acd_call *call)
{
	return acd_call_frozen(call) ? "frozen" : acd_call_state_name(call->state);
}

json_t *acd_call_describe(struct acd_ctx *ctx, const struct acd_call *call)
{
	json_t *argv = json_array();
	uint64_t now = ac_now_ns();

	for (char **a = call->argv; a && *a; a++)
		json_array_append_new(argv, json_string(*a));
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:I}", "path", call->path, "kind",
			 "call", "state", acd_call_shown_state(call), "pid",
			 (int)call->pid, "uid", (int)call->uid, "argv", argv, "intent",
			 ac_intent_to_json(&call->intent), "limits", limits_to_json(&call->limits),
			 "elapsed_ms",
			 (json_int_t)(call->start_ns ? ((call->end_ns ? call->end_ns : now) -
							call->start_ns) / 1000000 : 0));
}

/* ---- call.run -------------------------------------------------------- */

static struct acd_call *call_new(void)
{
	struct acd_call *call = calloc(1, sizeof(*call));

	if (!call)
		return NULL;
	ac_cg_node_init(&call->node);
	call->pidw.fd = call->eventsw.fd = call->out.w.fd = call->err.w.fd = call->stub_ctl = -1;
	call->stdio[0] = call->stdio[1] = call->stdio[2] = -1;
	call->out.call = call->err.call = call;
	ac_cg_statfds_init(&call->stats);
	return call;
}

static struct acd_session *find_or_create_session(struct acd_ctx *ctx, struct acd_client *c,
						  json_t *id, const struct ac_path *p,
						  enum ac_priority prio)
{
	struct acd_tenant *t = acd_tenant_find(ctx, p->comp[0]);
	struct acd_session *s;
	char msg[200];
	int r;

	if (!t && ctx->cfg.tenants_on_demand) {
		r = acd_tenant_create(ctx, p->comp[0], &ctx->cfg.tenant_budget, &t);
		if (r < 0) {
			acd_reply_errno(ctx, c, id, r, "cannot create tenant");
			return NULL;
		}
	}
	if (!t) {
		snprintf(msg, sizeof(msg), "no tenant '%s' (tenants come from the configuration "
					   "or tenant.create)", p->comp[0]);
		acd_reply_error(ctx, c, id, RPC_NOT_FOUND, msg, json_pack("{s:s}", "path", p->comp[0]));
		return NULL;
	}
	if (t->frozen) {
		snprintf(msg, sizeof(msg), "tenant %s is frozen; thaw it first", t->path);
		acd_reply_error(ctx, c, id, RPC_FROZEN, msg, json_pack("{s:s}", "path", t->path));
		return NULL;
	}
	s = acd_session_find(t, p->comp[1]);
	if (!s) {
		r = acd_session_create(ctx, t, p->comp[1], &ctx->cfg.session_budget, prio, &s);
		if (r < 0) {
			acd_reply_errno(ctx, c, id, r, "cannot create session");
			return NULL;
		}
	}
	if (s->closing) {
		acd_reply_error(ctx, c, id, RPC_NOT_FOUND, "session is closing",
				json_pack("{s:s}", "path", s->path));
		return NULL;
	}
	if (s->frozen) {
		snprintf(msg, sizeof(msg), "session %s is frozen; thaw it first", s->path);
		acd_reply_error(ctx, c, id, RPC_FROZEN, msg, json_pack("{s:s}", "path", s->path));
		return NULL;
	}
	return s;
}

/* The intent completed (history, defaults, the session's priority), its
 * limits and reservation; the call joins its session and its client. */
static void call_enlist(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			struct acd_call *call)
{
	acd_adaptive_assume(ctx, call);
	ac_intent_apply_defaults(&call->intent, &ctx->cfg.defaults);
	acd_prio_call_resolve(ctx, call);
	ac_intent_to_limits(&call->intent, &call->limits);
	call->reserved_mem = call_reservation(call);
	call->req_id = json_incref(id);
	call->client = c;
	call->next = call->session->calls;
	call->session->calls = call;
	call->client_next = c->calls;
	c->calls = call;
}

/* ---- session.exec ------------------------------------------------------ */

int acd_call_exec_begin(struct acd_ctx *ctx, struct acd_call *call, struct acd_spare *sp)
{
	int r;

	/* The cell's limits hold before its first instruction, or it does
	 * not run (the spare stays the runner's). */
	if (memcmp(&sp->limits, &call->limits, sizeof(call->limits))) {
		r = ac_cg_update_limits(&ctx->cg, &sp->node, &sp->limits, &call->limits);
		if (r < 0)
			return ac_log_errno(r, "%s/%s: cannot write the cell's limits",
					    call->session->path, sp->name);
		sp->limits = call->limits;
	}
	call_take_spare(call, sp);
	call->session->last_limits = call->limits;
	free(sp);
	call->pid = acd_interp_pid(call->interp);
	if (acd_bpf_call_begin(ctx, call) == 0)
		call->bpf_tracked = true;
	call->start_ns = ac_now_ns();
	call_running(ctx, call);
	acd_event(ctx, "call.start", call->path,
		  json_pack("{s:i, s:s}", "pid", (int)call->pid, "exec",
			    acd_lang_name(call->interp_lang)));
	return 0;
}

void acd_call_exec_done(struct acd_ctx *ctx, struct acd_call *call, json_t *reply)
{
	json_t *ec = json_object_get(reply, "exit_code");
	bool ok = json_is_true(json_object_get(reply, "ok"));

	json_decref(call->exec_reply);
	call->exec_reply = reply;
	call->kill_deadline_ns = 0;
	if (call->replied) /* frozen, answered then */
		return;
	call->end_ns = ac_now_ns();
	call->end.exited = true;
	call->end.exit_code = json_is_integer(ec) ? (int)json_integer_value(ec) : ok ? 0 : 1;
	call->end.interrupted = call->interrupted && call->end.stop != AC_STOP_NONE;
	acd_bpf_call_sync(ctx, call);
	call_reply(ctx, call);
}

void acd_call_exec_died(struct acd_ctx *ctx, struct acd_call *call, int wstatus)
{
	call->interp_died = true;
	call->kill_deadline_ns = 0;
	if (call->replied)
		return;
	call->end_ns = ac_now_ns();
	if (WIFEXITED(wstatus)) {
		call->end.exited = true;
		call->end.exit_code = WEXITSTATUS(wstatus);
	} else {
		call->end.term_signal = WTERMSIG(wstatus);
	}
	json_decref(call->exec_reply);
	call->exec_reply = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "type",
				     "InterpreterDied", "message", acd_interp_dead_reason(call->interp));
	acd_bpf_call_sync(ctx, call);
	call_reply(ctx, call);
}

void acd_call_exec_released(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->state != CALL_RUNNING)
		return;
	call->state = CALL_DRAINING;
	call->populated = ac_cg_populated_fds(&ctx->cg, &call->node, &call->stats) != 0;
	if (call->populated) { /* what the cell left running */
		watch_cgroup_events(ctx, call);
		ac_cg_kill(&ctx->cg, &call->node);
	}
	call->next_populated_check_ns = ac_now_ns() + DRAIN_CHECK_NS;
	maybe_finish(ctx, call);
}

void acd_call_exec_failed(struct acd_ctx *ctx, struct acd_call *call, int code, const char *msg)
{
	if (call->client)
		acd_reply_error(ctx, call->client, call->req_id, code, msg,
				json_pack("{s:s}", "path", call->session->path));
	reserve(call, false);
	client_unlink_call(call);
	session_unlink_call(call);
	call_free(ctx, call);
}

static const char *const exec_params[] = { "path", "code", "intent", NULL };

void acd_method_session_exec(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	struct acd_call *call = call_new();
	struct ac_errors errs = { 0 }, ierrs = { 0 };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *dummy;
	struct admission a;
	struct ac_path p;
	const json_t *v = json_object_get(params, "path"), *code = json_object_get(params, "code");
	int r;

	if (!call) {
		acd_reply_errno(ctx, c, id, -ENOMEM, "session.exec");
		return;
	}
	acd_params_unknown(params, exec_params, &errs);
	if (!json_is_string(v) || ac_path_parse(json_string_value(v), &p) < 0 ||
	    p.depth != AC_LEVEL_SESSION)
		ac_errors_add(&errs, "path", "must be a session path \"/tenant/session\"");
	if (!json_is_string(code) || strlen(json_string_value(code)) != json_string_length(code))
		ac_errors_add(&errs, "code", "is required: a string without NUL bytes");
	else if (json_string_length(code) > ctx->cfg.max_request)
		ac_errors_add(&errs, "code", "is longer than max_request");
	if (ac_intent_from_json(json_object_get(params, "intent"), &call->intent, &ierrs) < 0)
		for (int i = 0; i < ierrs.n; i++)
			ac_errors_add(&errs, ierrs.e[i].field, "%s", ierrs.e[i].msg);
	if (errs.n) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				ac_errors_to_json(&errs));
		goto free_call;
	}
	if (acd_resolve(ctx, c, id, &p, &t, &s, &dummy) < 0)
		goto free_call;
	if (acd_session_interp_check(ctx, c, id, s, true) < 0)
		goto free_call;
	if (s->frozen || t->frozen) {
		acd_reply_error(ctx, c, id, RPC_FROZEN, "the session is frozen; thaw it first",
				json_pack("{s:s}", "path", s->path));
		goto free_call;
	}
	call->interp = s->interp;
	call->interp_lang = acd_interp_lang(s->interp);
	call->exec_code = json_incref((json_t *)code);
	call->argv = calloc(2, sizeof(char *));
	if (!call->argv || !(call->argv[0] = strdup(acd_lang_name(call->interp_lang)))) {
		acd_reply_errno(ctx, c, id, -ENOMEM, "session.exec");
		goto free_call;
	}
	call->capture = true;
	call->session = s;
	call_enlist(ctx, c, id, call);
	r = admission_check(ctx, call, &a);
	if (r < 0) {
		reply_admission(ctx, c, id, call, &a, r, false);
		client_unlink_call(call);
		session_unlink_call(call);
		goto free_call;
	}
	reserve(call, true);
	call->state = CALL_WAITING; /* in its interpreter's queue */
	acd_interp_exec(ctx, call);
	return;
free_call:
	call_free(ctx, call);
}

void acd_method_call_run(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	struct acd_call *call = call_new();
	struct ac_errors errs = { 0 };
	struct run_req req = { 0 };
	struct admission a;
	int rpc_code, r;

	if (!call) {
		acd_reply_errno(ctx, c, id, -ENOMEM, "call.run");
		return;
	}
	if (parse_run(ctx, c, params, call, &req, &errs, &rpc_code) < 0) {
		acd_reply_error(ctx, c, id, rpc_code,
				rpc_code == RPC_PERMISSION ? "permission denied" : "invalid params",
				ac_errors_to_json(&errs));
		goto free_call;
	}
	if (req.fds && acd_client_take_fds(c, call->stdio, 3) < 0) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				json_pack("{s:s}", "stdio",
					  "\"fds\" needs 3 fds (stdin, stdout, stderr) passed with "
					  "SCM_RIGHTS together with the request"));
		goto free_call;
	}
	call->session = find_or_create_session(ctx, c, id, &req.path, call->intent.priority);
	if (!call->session)
		goto free_call;
	if (call->session->interpreter) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS,
				"the session runs an interpreter: use session.exec, or another session "
				"for commands", json_pack("{s:s}", "path", call->session->path));
		goto free_call;
	}
	call_enlist(ctx, c, id, call);

	r = admission_check(ctx, call, &a);
	if (r == 0) {
		admit_one(ctx, call);
		return;
	}
	if (r == -EAGAIN && req.wait) {
		struct acd_call **pp = &ctx->waiting;

		call->state = CALL_WAITING;
		call->wait_deadline_ns = ac_now_ns() + req.wait_ns;
		while (*pp)
			pp = &(*pp)->wait_next;
		*pp = call;
		return;
	}
	reply_admission(ctx, c, id, call, &a, r, false);
	client_unlink_call(call);
	session_unlink_call(call);
free_call:
	call_free(ctx, call);
}
