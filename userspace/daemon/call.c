// SPDX-License-Identifier: GPL-2.0
/* One tool call's life, the state machine of the call module:
 *
 *   new -> (admission, call_admission.c) -> WAITING or start
 *   start:    a spare cgroup with the intent's limits and a stub inside
 *             (pool.c) gets the command -> RUNNING
 *   RUNNING:  pidfd, output pipes (call_output.c), deadlines
 *             (call_timers.c), budgets (call_enforce.c)
 *   drain:    the main process exited (or the cell ended): what it left
 *             is killed -> DRAINING until the cgroup is empty and the
 *             pipes are drained
 *   finish:   the verdict is replied (call_result.c) -> REMOVING
 *   removed:  its cgroup went, one hierarchy per idle step -> freed
 *   discard:  a call that never started is unlinked and freed.
 *
 * A client that goes away takes its running calls with it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "call_priv.h"
#include "interp.h"
#include "pool.h"
#include "priority.h"

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

bool acd_call_frozen(const struct acd_call *call)
{
	return call->end.frozen || call->contain.level == CONTAIN_FROZEN;
}

const char *acd_call_shown_state(const struct acd_call *call)
{
	return acd_call_frozen(call) ? "frozen" : acd_call_state_name(call->state);
}

struct acd_call *acd_call_find(struct acd_session *s, const char *name)
{
	for (struct acd_call *c = s->calls; c; c = c->next)
		if (!strcmp(c->name, name) && c->state != CALL_WAITING)
			return c;
	return NULL;
}

/* ---- new, free, discard ------------------------------------------------ */

struct acd_call *acd_call_new(void)
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

/* Releases what the call holds; the memory itself goes after the current
 * epoll batch (a later event of it may still point at the call). */
static void call_free(struct acd_ctx *ctx, struct acd_call *call)
{
	call_timer_remove(ctx, call);
	call_quota_hold(ctx, call, -1);
	ac_strv_free(call->argv);
	ac_strv_free(call->envp);
	free(call->cwd);
	for (int i = 0; i < 3; i++)
		if (call->stdio[i] >= 0)
			close(call->stdio[i]);
	ac_buf_free(&call->out.buf);
	ac_buf_free(&call->err.buf);
	json_decref(call->req_id);
	call->req_id = NULL;
	acd_procs_free(&call->procs);
	json_decref(call->exec.code);
	json_decref(call->exec.reply);
	call->exec.code = call->exec.reply = NULL;
	ac_cg_node_close(&call->node);
	ac_cg_statfds_close(&call->stats);
	if (call->stub_ctl >= 0)
		close(call->stub_ctl);
	call->pidw.fd = call->eventsw.fd = call->out.w.fd = call->err.w.fd = call->stub_ctl = -1;
	call->next = ctx->calls->dead;
	ctx->calls->dead = call;
}

void acd_calls_free_dead(struct acd_ctx *ctx)
{
	while (ctx->calls && ctx->calls->dead) {
		struct acd_call *call = ctx->calls->dead;

		ctx->calls->dead = call->next;
		free(call);
	}
}

int acd_calls_init(struct acd_ctx *ctx)
{
	ctx->calls = calloc(1, sizeof(*ctx->calls));
	return ctx->calls ? 0 : -ENOMEM;
}

void acd_calls_free(struct acd_ctx *ctx)
{
	if (!ctx->calls)
		return;
	acd_calls_free_dead(ctx);
	free(ctx->calls->timers.v);
	free(ctx->calls);
	ctx->calls = NULL;
}

static void session_unlink_call(struct acd_call *call)
{
	if (!call->session)
		return;
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

void call_unlink_waiting(struct acd_ctx *ctx, struct acd_call *call)
{
	for (struct acd_call **pp = &ctx->calls->waiting; *pp; pp = &(*pp)->wait_next)
		if (*pp == call) {
			*pp = call->wait_next;
			return;
		}
}

void acd_call_discard(struct acd_ctx *ctx, struct acd_call *call)
{
	/* A reply may drop its client, whose calls then go too: a caller
	 * that discards the call after replying finds it gone already (its
	 * memory stays until the end of the epoll batch). */
	if (call->discarded)
		return;
	call->discarded = true;
	client_unlink_call(call);
	session_unlink_call(call);
	call_free(ctx, call);
}

/* The intent completed (history, defaults, the session's priority), its
 * limits and reservation; the call joins its session and its client. */
void acd_call_enlist(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
		     struct acd_call *call)
{
	acd_adaptive_assume(ctx, call);
	ac_intent_apply_defaults(&call->intent, &ctx->cfg.defaults);
	/* A call that names no priority has its session's. */
	if (call->intent.defaulted & AC_F_PRIORITY || !(call->intent.set & AC_F_PRIORITY)) {
		call->intent.priority = call->session->priority;
		call->intent.set |= AC_F_PRIORITY;
		call->intent.defaulted |= AC_F_PRIORITY;
	}
	ac_intent_to_limits(&call->intent, &call->limits);
	call->reserved_mem = call_reservation(call);
	call->req_id = json_incref(id);
	call->client = c;
	call->quota_uid = c->uid;
	call->quota_exempt = acd_client_is_operator(ctx, c);
	call->next = call->session->calls;
	call->session->calls = call;
	call->client_next = c->calls;
	c->calls = call;
}

/* ---- start ------------------------------------------------------------- */

void call_bpf_begin(struct acd_ctx *ctx, struct acd_call *call)
{
	const struct acd_bpf_call_spec spec = {
		.node = &call->node,
		.stats = &call->stats,
		.intent = &call->intent,
		.cell = call->exec.interp != NULL,
		.path = call->path,
	};

	acd_bpf_call_begin(ctx, &call->bpf, &spec);
}

static void on_pidfd(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events);

void call_running(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->intent.set & AC_F_TIMEOUT)
		call->deadline_ns = call->start_ns + call->intent.timeout_ns;
	/* Without the BPF programs, cpu_time falls back to a poll. */
	if (call->intent.set & AC_F_CPU_TIME && !(call->bpf.on && acd_bpf_features(ctx)->cpu_time))
		call->next_cpu_check_ns = call->start_ns + CPU_TIME_CHECK_NS;
	call->state = CALL_RUNNING;
	call_quota_hold(ctx, call, ACD_Q_CALLS_RUNNING);
	ctx->calls_running++;
	ctx->calls_total++;
	call_timer_update(ctx, call);
}

void call_take_spare(struct acd_call *call, const struct acd_spare *sp)
{
	ac_strlcpy(call->name, sp->name, sizeof(call->name));
	snprintf(call->path, sizeof(call->path), "%s/%s", call->session->path, call->name);
	call->node = sp->node;
	call->stats = sp->stats;
	call->created = true;
	call->populated = true;
}

/* One try at starting the call in a spare. *stub_dead: the spare's stub
 * was gone (the OOM killer may take one under pressure): nothing was
 * replied, and another spare may do. */
static int call_start_once(struct acd_ctx *ctx, struct acd_call *call, bool last, bool *stub_dead)
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
	call_bpf_begin(ctx, call);

	if (call->capture) {
		if ((r = call_output_open(&call->out, &child_out)) < 0 ||
		    (r = call_output_open(&call->err, &child_err)) < 0) {
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

	/* a waiting stub has the idle score: the call gets its class's */
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
		*stub_dead = !last && (r == -EPIPE || r == -ECONNRESET || r == -ESRCH);
		if (*stub_dead)
			ac_info("%s: the spare's stub was gone (%s); taking another", s->path,
				strerror(-r));
		else
			acd_reply_errno(ctx, call->client, call->req_id, r,
					"cannot hand the command over");
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
	call_output_close(ctx, &call->out);
	call_output_close(ctx, &call->err);
	ac_stub_discard(&stub);
	acd_bpf_call_end(ctx, &call->bpf);
	ac_cg_rmdir(&ctx->cg, &s->node, call->name, &call->node);
	call->created = false;
	return r < 0 ? r : -EIO;
}

int call_start(struct acd_ctx *ctx, struct acd_call *call)
{
	bool stub_dead = false;
	int r = call_start_once(ctx, call, false, &stub_dead);

	if (r < 0 && stub_dead) {
		/* the first try's cgroup went; the call starts afresh */
		ac_cg_node_close(&call->node);
		ac_cg_statfds_close(&call->stats);
		ac_cg_node_init(&call->node);
		ac_cg_statfds_init(&call->stats);
		call->out.truncated = call->err.truncated = false;
		r = call_start_once(ctx, call, true, &stub_dead);
	}
	return r;
}

/* ---- drain ------------------------------------------------------------- */

void call_maybe_finish(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->state != CALL_DRAINING)
		return;
	if (call->out.w.fd >= 0 || call->err.w.fd >= 0)
		return;
	if (call->populated) /* cgroup.events will tell when it empties */
		return;
	call_finish(ctx, call);
}

static void on_cgroup_events(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_call *call = CALL_OF(w, eventsw);

	/* The read re-arms the notification. */
	call->populated = ac_cg_populated_fds(&ctx->cg, &call->node, &call->stats) != 0;
	call_maybe_finish(ctx, call);
}

/* Something outlived the main process: watch cgroup.events (the fd
 * opened with the spare, owned by call->stats) for the moment the killed
 * rest is gone. Without it, the timers look every DRAIN_CHECK_NS. */
static void watch_cgroup_events(struct acd_ctx *ctx, struct acd_call *call)
{
	if (call->eventsw.fd >= 0)
		return;
	call->eventsw.fd = ac_cg_statfds_events_fd(&call->stats);
	call->eventsw.fn = on_cgroup_events;
	if (call->eventsw.fd >= 0)
		acd_watch_add(ctx, &call->eventsw, EPOLLPRI);
}

void call_drain(struct acd_ctx *ctx, struct acd_call *call)
{
	call->state = CALL_DRAINING;
	/* A tool call ends with its main process (or its cell): nothing it
	 * left behind survives it. */
	call->populated = ac_cg_populated_fds(&ctx->cg, &call->node, &call->stats) != 0;
	if (call->populated) {
		watch_cgroup_events(ctx, call);
		ac_cg_kill(&ctx->cg, &call->node);
	}
	call->next_populated_check_ns = ac_now_ns() + DRAIN_CHECK_NS;
	call_timer_update(ctx, call);
	call_maybe_finish(ctx, call);
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
	call_drain(ctx, call);
}

/* ---- finish and removal ------------------------------------------------ */

/* A command killed by memory pressure runs again if its intent says it
 * may be repeated (retry) and it has runs left: low and normal priority
 * only (the ladder never kills high), its output captured (passed fds
 * already hold what the first run wrote), its client still there. */
static bool retry_wanted(struct acd_ctx *ctx, struct acd_call *call)
{
	return call->intent.retry > call->end.retried && !call->exec.interp && call->capture &&
	       call->client && call->intent.priority != AC_PRIO_HIGH && !call->session->closing &&
	       !ctx->stopping && call_killed_for_pressure(ctx, call);
}

/* The next run: a new call that answers the same request, with the
 * same command, intent and reservation, waiting at admission (for
 * hold_max at most) like a new call; the old one is removed unanswered.
 * 0, or <0 and nothing changed. */
static int retry_start(struct acd_ctx *ctx, struct acd_call *old, struct acd_client *client)
{
	struct acd_call *n = acd_call_new();
	uint64_t now = ac_now_ns();

	if (!n)
		return -ENOMEM;
	n->session = old->session;
	n->intent = old->intent;
	n->adaptive = old->adaptive;
	n->limits = old->limits;
	n->reserved_mem = old->reserved_mem;
	n->argv = old->argv;
	n->envp = old->envp;
	n->cwd = old->cwd;
	old->argv = old->envp = NULL;
	old->cwd = NULL;
	n->uid = old->uid;
	n->gid = old->gid;
	n->n_groups = old->n_groups;
	memcpy(n->groups, old->groups, sizeof(n->groups));
	n->capture = true;
	n->req_id = json_incref(old->req_id);
	n->client = client;
	n->quota_uid = old->quota_uid;
	n->quota_exempt = old->quota_exempt;
	n->end.retried = old->end.retried + 1;
	n->end.retry_lost_ns = old->end.retry_lost_ns +
			       ((old->end_ns ? old->end_ns : now) - old->start_ns);
	n->next = n->session->calls;
	n->session->calls = n;
	n->client_next = n->client->calls;
	n->client->calls = n;
	ac_info("%s: killed under memory pressure, run again (%u of %u)", old->path,
		n->end.retried, n->intent.retry);
	acd_event(ctx, "call.retry", old->path,
		  json_pack("{s:i, s:i}", "attempt", (int)n->end.retried + 1, "of",
			    (int)n->intent.retry + 1));
	/* waits for room like a call that asked to, for as long as a hold */
	acd_call_admit(ctx, n, true, ctx->cfg.contain.hold_max_ns);
	return 0;
}

static void call_finish(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_client *retry_client = NULL; /* the run again answers it */

	acd_bpf_call_end(ctx, &call->bpf);
	if (call->replied) { /* the ladder let go of it at its reply */
		acd_contain_call_end(ctx, call);
	} else if (retry_wanted(ctx, call)) {
		acd_contain_call_end(ctx, call);
		retry_client = call->client;
	} else {
		call_reply(ctx, call);
	}
	client_unlink_call(call);
	acd_watch_del(ctx, &call->eventsw); /* its fd belongs to call->stats */
	call->eventsw.fd = -1;
	call_reserve(call, false);
	call_quota_hold(ctx, call, -1);
	ctx->calls_running--;
	/* The cgroup goes in idle moments, one hierarchy at a time. */
	call->state = CALL_REMOVING;
	call->wait_next = NULL;
	{
		struct acd_call **pp = &ctx->calls->removing;

		while (*pp)
			pp = &(*pp)->wait_next;
		*pp = call;
	}
	ctx->calls->n_removing++;
	ctx->idle_work = true;
	call_timer_update(ctx, call);
	/* after its reservation and quota went back, so the next run fits */
	if (retry_client && retry_start(ctx, call, retry_client) < 0) {
		call->client = retry_client;
		call_reply(ctx, call);
		call->client = NULL;
	}
	call->replied = true;
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

	acd_call_discard(ctx, call);
	if (s->closing && !s->calls)
		session_close_done(ctx, s);
}

bool acd_calls_remove_step(struct acd_ctx *ctx)
{
	uint64_t now = ac_now_ns();

	if (!ctx->calls)
		return false;
	for (struct acd_call **pp = &ctx->calls->removing; *pp; pp = &(*pp)->wait_next) {
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
			call_timer_update(ctx, call);
			return true;
		}
		if (r < 0)
			ac_log_errno(r, "cannot remove %s", call->path);
		*pp = call->wait_next;
		ctx->calls->n_removing--;
		call_removed(ctx, call);
		return true;
	}
	return false;
}

/* ---- kill -------------------------------------------------------------- */

void acd_call_kill(struct acd_ctx *ctx, struct acd_call *call, enum ac_stop_reason why)
{
	if (call->state == CALL_WAITING && call->exec.interp) { /* queued at its interpreter */
		acd_interp_cancel(ctx, call);
		acd_call_exec_failed(ctx, call, RPC_NOT_FOUND, "exec cancelled before it started");
		return;
	}
	if (call->state == CALL_WAITING) {
		call_unlink_waiting(ctx, call);
		if (call->client && why != AC_STOP_DISCONNECT)
			acd_reply_error(ctx, call->client, call->req_id, RPC_NOT_FOUND,
					"call cancelled while waiting for budget", NULL);
		acd_call_discard(ctx, call);
		return;
	}
	if (call->state != CALL_RUNNING && call->state != CALL_DRAINING)
		return;
	if (call->end.stop == AC_STOP_NONE)
		call->end.stop = why;
	ac_cg_kill(&ctx->cg, &call->node);
}

int acd_session_kill_calls(struct acd_ctx *ctx, struct acd_session *s)
{
	int n = 0;

	for (struct acd_call *call = s->calls, *nx; call; call = nx) {
		nx = call->next;
		if (call->state == CALL_RUNNING || call->state == CALL_DRAINING ||
		    call->state == CALL_WAITING) {
			acd_call_kill(ctx, call, AC_STOP_OPERATOR);
			n++;
		}
	}
	return n;
}

void acd_calls_client_gone(struct acd_ctx *ctx, struct acd_client *c)
{
	/* A session.close it is waiting for answers no one: the client is
	 * freed after this batch, and a new one may get its address. */
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		for (struct acd_session *s = t->sessions; s; s = s->next)
			if (s->close_client == c)
				s->close_client = NULL;
	while (c->calls) {
		struct acd_call *call = c->calls;

		c->calls = call->client_next;
		call->client = NULL;
		if (call->exec.interp && call->state == CALL_RUNNING) {
			/* the session outlives the connection: stop the cell only */
			if (!call->replied && acd_interp_interrupt(ctx, call->exec.interp))
				call->exec.interrupted = true;
			continue;
		}
		if (!call->replied)
			acd_call_kill(ctx, call, AC_STOP_DISCONNECT);
	}
}

void acd_calls_shutdown(struct acd_ctx *ctx)
{
	while (ctx->calls->waiting)
		acd_call_kill(ctx, ctx->calls->waiting, AC_STOP_SHUTDOWN);
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		for (struct acd_session *s = t->sessions; s; s = s->next)
			for (struct acd_call *call = s->calls, *nx; call; call = nx) {
				nx = call->next; /* a queued cell's kill frees it */
				acd_call_kill(ctx, call, AC_STOP_SHUTDOWN);
			}
}

bool acd_calls_all_gone(struct acd_ctx *ctx)
{
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		for (struct acd_session *s = t->sessions; s; s = s->next)
			if (s->calls)
				return false;
	return true;
}
