// SPDX-License-Identifier: GPL-2.0
/* Stateful interpreters: one runner process (userspace/runner/
 * agentcg_runner.py, embedded in the daemon) per interpreter session,
 * spoken to with length-prefixed JSON frames on a socket at its fd 0;
 * its fds 1 and 2 are pipes whose output goes to the exec running.
 *
 * Each exec is a tool call with its own cgroup. The runner always sits in
 * the cgroup of the session's next call (a spare, "parked"), so an exec
 * starts with no migration: the call takes that cgroup, the limits of its
 * intent are written, the code is sent. When the exec is answered the
 * daemon parks the runner in the next spare — the mover's thread writes
 * the runner's pid (and, for bash, bash's) into that spare's cgroup.procs
 * — and only then is what the cell left behind in the old cgroup killed
 * and the cgroup removed. The migration (a synchronize_rcu after an idle
 * moment, ~6-24 ms here) thus costs the runner's time between execs,
 * never the daemon's loop. The runner gets no fd but its socket and two
 * pipes, and everything it sends is checked before it is used: cell code
 * runs in it and may have rewritten it.
 *
 * Requests to a runner go one at a time, in order (ops). Interpreters for
 * the default binary and user are pre-started in <root>/.interpreters (the
 * warm pool), so session.create does not wait for an interpreter to
 * start. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "call.h"
#include "events.h"
#include "interp.h"
#include "metrics.h"
#include "mover.h"
#include "pool.h"
#include "priority.h"
#include "quota.h"
#include "rpc.h"
#include "server.h"
#include "uids.h"

#define FRAME_MAX (64u << 20)
#define POOL_NODE AC_CG_INTERP_POOL

extern const char acd_runner_src[];


struct acd_iop {
	struct acd_iop *next;
	char op[8];		  /* exec get set reset park */
	struct acd_client *client; /* NULL: internal, or the client went away */
	json_t *id;		  /* the client's request id */
	json_t *frame;		  /* the request to the runner */
	struct acd_call *call;	  /* exec */
	struct acd_spare *spare;  /* park: where to */
	struct acd_call *release; /* park: the call whose cgroup it leaves */
	/* a client's request is kept as JSON text (a parsed value can take
	 * twenty times its text); frame then holds only op and name */
	char *text;
	size_t len;
	struct acd_ctx *quota_ctx; /* counted in quota_uid's interp_ops and _bytes */
	uid_t quota_uid;
};

struct acd_interp {
	struct acd_interp *next; /* in the warm pool */
	struct acd_session *session;
	enum acd_lang lang;
	bool persist;
	char binary[AC_PATH_MAX];
	uid_t uid; /* its own dynamic uid (uids.c); gid the same number */
	bool has_uid;
	char home[64]; /* its private directory: HOME, TMPDIR, cwd ("" if none) */
	pid_t pid;
	int stub_ctl; /* tells why the exec of the runner failed, if it did */
	struct acd_watch pidw, sockw, outw, errw;
	struct ac_buf in, out;
	bool want_out;
	bool ready, dead;
	bool reaped; /* waited for: its pid is no longer ours */
	char why[200];
	char version[48];
	uint64_t seq;
	struct acd_iop *ops; /* not sent yet, in order */
	struct acd_iop *cur; /* sent, waiting for its answer */
	struct acd_spare *parked;
	struct acd_move *moving; /* a park in flight: the runner is not reaped meanwhile */
	bool downing;		 /* interp_down waits for that move */
	struct acd_call *exec;
	uint64_t execs;
};

/* The warm pool (ctx->interp_pool). */
struct acd_interp_pool {
	struct ac_cg_node node; /* <root>/.interpreters */
	bool made;
	struct acd_interp *list; /* warm interpreters, not yet given to a session */
	uint64_t hits, misses;
	unsigned fails;		 /* pool starts in a row that died unready */
	uint64_t retry_ns;	 /* no pool start before this */
};

#define IN_OF(ptr, member) ((struct acd_interp *)((char *)(ptr) - offsetof(struct acd_interp, member)))

const char *acd_lang_name(enum acd_lang l)
{
	return l == ACD_LANG_BASH ? "bash" : "python";
}

int acd_lang_parse(const char *s, enum acd_lang *out)
{
	if (!strcmp(s, "python"))
		*out = ACD_LANG_PYTHON;
	else if (!strcmp(s, "bash"))
		*out = ACD_LANG_BASH;
	else
		return -EINVAL;
	return 0;
}

/* ---- ops ------------------------------------------------------------- */

static void iop_free(struct acd_iop *op)
{
	if (op->quota_ctx) {
		acd_quota_give(op->quota_ctx, op->quota_uid, ACD_Q_INTERP_OPS, 1);
		acd_quota_give(op->quota_ctx, op->quota_uid, ACD_Q_INTERP_OP_BYTES, op->len);
		acd_freed_big(op->quota_ctx, op->len);
	}
	free(op->text);
	json_decref(op->id);
	json_decref(op->frame);
	free(op);
}

static struct acd_iop *iop_new(const char *name, struct acd_client *c, json_t *id, json_t *frame)
{
	struct acd_iop *op = calloc(1, sizeof(*op));

	if (!op) {
		json_decref(frame);
		return NULL;
	}
	ac_strlcpy(op->op, name, sizeof(op->op));
	op->client = c;
	op->id = json_incref(id);
	op->frame = frame ? frame : json_object();
	json_object_set_new(op->frame, "op", json_string(name));
	return op;
}

static void iop_push(struct acd_interp *in, struct acd_iop *op, bool front)
{
	struct acd_iop **pp = &in->ops;

	if (front) {
		op->next = in->ops;
		in->ops = op;
		return;
	}
	while (*pp)
		pp = &(*pp)->next;
	op->next = NULL;
	*pp = op;
}

/* ---- frames ---------------------------------------------------------- */

static int flush_out(struct acd_ctx *ctx, struct acd_interp *in)
{
	while (in->out.len) {
		ssize_t n = send(in->sockw.fd, in->out.data, in->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return -EPIPE;
		ac_buf_consume(&in->out, (size_t)n);
	}
	if (!!in->out.len != in->want_out) {
		struct epoll_event ev = { .events = EPOLLIN | (in->out.len ? EPOLLOUT : 0),
					  .data.ptr = &in->sockw };

		epoll_ctl(ctx->epfd, EPOLL_CTL_MOD, in->sockw.fd, &ev);
		in->want_out = in->out.len != 0;
	}
	return 0;
}

/* Sends one frame. */
static int send_frame(struct acd_ctx *ctx, struct acd_interp *in, json_t *frame)
{
	char *text = json_dumps(frame, JSON_COMPACT);
	size_t len = text ? strlen(text) : 0;
	unsigned char hdr[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
				 (unsigned char)(len >> 8), (unsigned char)len };
	int r;

	if (!text)
		return -ENOMEM;
	r = ac_buf_append(&in->out, hdr, 4, FRAME_MAX + 8);
	if (r == 0)
		r = ac_buf_append(&in->out, text, len, FRAME_MAX + 8);
	free(text);
	return r < 0 ? r : flush_out(ctx, in);
}

/* A client's request kept as text: sent with its id put in front. */
static int send_text(struct acd_ctx *ctx, struct acd_interp *in, struct acd_iop *op)
{
	char head[80];
	int n = snprintf(head, sizeof(head), "{\"id\":%llu,\"reply_max\":%llu%s",
			 (unsigned long long)in->seq,
			 (unsigned long long)ac_config_runner_frame_max(&ctx->cfg),
			 op->len > 2 ? "," : "");
	size_t len = (size_t)n + op->len - 1; /* the text's own '{' is replaced */
	unsigned char hdr[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
				 (unsigned char)(len >> 8), (unsigned char)len };
	int r = ac_buf_append(&in->out, hdr, 4, FRAME_MAX + 8);

	if (r == 0)
		r = ac_buf_append(&in->out, head, (size_t)n, FRAME_MAX + 8);
	if (r == 0)
		r = ac_buf_append(&in->out, op->text + 1, op->len - 1, FRAME_MAX + 8);
	free(op->text); /* the quota still counts it until the answer */
	op->text = NULL;
	return r < 0 ? r : flush_out(ctx, in);
}

/* ---- death ------------------------------------------------------------ */

static void fail_op(struct acd_ctx *ctx, struct acd_interp *in, struct acd_iop *op)
{
	if (!strcmp(op->op, "exec") && op->call) {
		acd_call_exec_failed(ctx, op->call, RPC_INTERP_DEAD, in->why);
	} else if (!strcmp(op->op, "park")) {
		if (op->spare && in->session) { /* back to the session's spares */
			op->spare->next = in->session->spares;
			in->session->spares = op->spare;
		}
		if (op->release)
			acd_call_exec_released(ctx, op->release);
	} else if (op->client) {
		acd_reply_error(ctx, op->client, op->id, RPC_INTERP_DEAD, in->why,
				json_pack("{s:s}", "path", in->session ? in->session->path : ""));
	}
	iop_free(op);
}

static void describe_wstatus(int wstatus, char *buf, size_t len)
{
	char sig[32];

	if (WIFEXITED(wstatus)) {
		snprintf(buf, len, "exited with code %d", WEXITSTATUS(wstatus));
		return;
	}
	ac_signal_name(WTERMSIG(wstatus), sig, sizeof(sig));
	snprintf(buf, len, "killed by %s", sig);
}

/* Kills what is in a cgroup and waits (up to 200 ms) for it to empty. */
static void empty_cgroup(struct acd_ctx *ctx, const struct ac_cg_node *node)
{
	if (ac_cg_populated(&ctx->cg, node) == 0)
		return;
	ac_cg_kill(&ctx->cg, node);
	for (int i = 0; i < 200 && ac_cg_populated(&ctx->cg, node) > 0; i++)
		usleep(1000);
}

/* The runner is gone (or is being dropped): answer everything pending. */
static void interp_down(struct acd_ctx *ctx, struct acd_interp *in, int wstatus, const char *why)
{
	struct acd_call *exec = in->exec;
	struct acd_iop *cur = in->cur;

	if (in->dead)
		return;
	if (in->moving) { /* its end first: the runner stays unreaped till then */
		in->downing = true;
		acd_mover_wait(ctx, in->moving);
	}
	in->dead = true;
	if (!in->why[0]) /* else the daemon killed it and said why (frame_refused) */
		ac_strlcpy(in->why, why, sizeof(in->why));
	acd_watch_close(ctx, &in->sockw);
	acd_watch_close(ctx, &in->outw);
	acd_watch_close(ctx, &in->errw);
	if (!in->reaped && in->pidw.fd >= 0) {
		/* dropped alive (killed by its callers): reap it, no zombie */
		siginfo_t si;

		syscall(SYS_pidfd_send_signal, in->pidw.fd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)in->pidw.fd, &si, WEXITED);
		in->reaped = true;
	}
	acd_watch_close(ctx, &in->pidw);
	if (in->stub_ctl >= 0)
		close(in->stub_ctl);
	in->stub_ctl = -1;
	ac_buf_free(&in->in);
	ac_buf_free(&in->out);
	in->exec = NULL;
	in->cur = NULL;
	if (exec) {
		acd_call_exec_died(ctx, exec, wstatus);
		acd_call_exec_released(ctx, exec);
		if (cur)
			cur->call = NULL;
	}
	if (cur)
		fail_op(ctx, in, cur);
	while (in->ops) {
		struct acd_iop *op = in->ops;

		in->ops = op->next;
		fail_op(ctx, in, op);
	}
	if (in->parked && in->session) {
		/* what the runner leaves behind (bash, a cell's children) dies
		 * with it; the empty cgroup goes back to the session */
		empty_cgroup(ctx, &in->parked->node);
		in->parked->next = in->session->spares;
		in->session->spares = in->parked;
		in->parked = NULL;
	}
	if (in->session)
		acd_event(ctx, "interpreter.exit", in->session->path,
			  json_pack("{s:i, s:s}", "pid", (int)in->pid, "why", in->why));
}

static void pool_unlink(struct acd_ctx *ctx, struct acd_interp *in)
{
	for (struct acd_interp **pp = &ctx->interp_pool->list; *pp; pp = &(*pp)->next)
		if (*pp == in) {
			*pp = in->next;
			return;
		}
}

/* The end of an interpreter that is down: every process of its uid is
 * killed (a cell may have left some anywhere: a double fork, setsid),
 * then the uid is free for another one. */
static void interp_release(struct acd_ctx *ctx, struct acd_interp *in)
{
	if (in->has_uid) {
		char what[160];

		snprintf(what, sizeof(what), "the %s interpreter of %s", acd_lang_name(in->lang),
			 in->session ? in->session->path : "the warm pool");
		acd_uid_release(ctx, in->uid, what);
		in->has_uid = false;
	}
	acd_uid_home_remove(in->home);
	free(in);
}

static int interp_take_uid(struct acd_ctx *ctx, struct acd_interp *in)
{
	int r = acd_uid_take(ctx, &in->uid);

	if (r < 0)
		return r;
	in->has_uid = true;
	r = acd_uid_home_make(in->uid, in->home, sizeof(in->home));
	if (r < 0) {
		ac_log_errno(r, "cannot make a private directory for uid %u", (unsigned)in->uid);
		in->home[0] = '\0';
		acd_uid_release(ctx, in->uid, "no private directory");
		in->has_uid = false;
	}
	return r;
}

static void on_pidfd(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_interp *in = IN_OF(w, pidw);
	siginfo_t si = { 0 };
	char why[160], how[64];
	int wstatus;
	const char *what = NULL;

	if (waitid(P_PIDFD, (id_t)w->fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	in->reaped = true;
	wstatus = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
	describe_wstatus(wstatus, how, sizeof(how));
	if (!in->ready && in->stub_ctl >= 0 && ac_stub_result(in->stub_ctl, &what) < 0)
		snprintf(why, sizeof(why), "the %s interpreter could not start (%s failed)",
			 acd_lang_name(in->lang), what ? what : "exec");
	else if (in->why[0]) /* the daemon killed it and said why (frame_refused) */
		ac_strlcpy(why, in->why, sizeof(why));
	else
		snprintf(why, sizeof(why), "the %s interpreter (pid %d) %s",
			 acd_lang_name(in->lang), (int)in->pid, how);
	ac_info("%s: %s", in->session ? in->session->path : "interpreter pool", why);
	interp_down(ctx, in, wstatus, why);
	if (!in->session) {
		/* A pool interpreter that never got ready: back off before
		 * the next one, so a broken interpreter is not restarted in a
		 * loop. */
		if (!in->ready) {
			uint64_t backoff = 100000000ULL << (ctx->interp_pool->fails < 8 ?
							    ctx->interp_pool->fails : 8);

			ctx->interp_pool->fails++;
			ctx->interp_pool->retry_ns = ac_now_ns() + backoff;
		}
		pool_unlink(ctx, in);
		interp_release(ctx, in);
		ctx->idle_work = true;
	}
}

/* ---- requests --------------------------------------------------------- */

static void pump(struct acd_ctx *ctx, struct acd_interp *in);

/* The park is done (or failed): the runner is where it was asked to be. */
static void on_moved(struct acd_ctx *ctx, void *arg, int result)
{
	struct acd_interp *in = arg;
	struct acd_iop *op = in->cur;

	in->moving = NULL;
	/* moved or not (partly, maybe), the spare is the runner's now: an
	 * interpreter that goes down empties it */
	in->parked = op->spare;
	op->spare = NULL;
	if (in->downing)
		return; /* interp_down goes on with op */
	if (in->pidw.fd >= 0)
		acd_watch_add(ctx, &in->pidw, EPOLLIN);
	if (result < 0) {
		char why[160];

		snprintf(why, sizeof(why), "the interpreter could not be moved to its next cgroup: %s",
			 strerror(-result));
		kill(in->pid, SIGKILL); /* not reaped yet: still our child */
		interp_down(ctx, in, SIGKILL, why);
		return;
	}
	in->cur = NULL;
	if (op->release)
		acd_call_exec_released(ctx, op->release);
	iop_free(op);
	pump(ctx, in);
}

/* Parks the runner in the session's next spare: the mover's thread moves
 * it (and a bash runner's bash, with the cgroup it leaves frozen). Until
 * that is done the runner is not reaped, so its pid stays its own. */
static int start_park(struct acd_ctx *ctx, struct acd_interp *in, struct acd_iop *op)
{
	struct acd_move_req req = { .pid = in->pid, .done = on_moved, .arg = in };
	int r = acd_pool_take(ctx, in->session, &in->session->last_limits, &op->spare);

	if (r < 0)
		return r;
	req.to = &op->spare->node;
	if (in->lang == ACD_LANG_BASH)
		req.from = op->release ? &op->release->node : &ctx->interp_pool->node;
	r = acd_mover_submit(ctx, &req, &in->moving);
	if (r < 0)
		return r;
	acd_watch_del(ctx, &in->pidw); /* no reaping while the pid is written */
	return 0;
}

static void start_op(struct acd_ctx *ctx, struct acd_interp *in, struct acd_iop *op)
{
	int r;

	json_object_set_new(op->frame, "id", json_integer((json_int_t)++in->seq));
	json_object_set_new(op->frame, "reply_max",
			    json_integer((json_int_t)ac_config_runner_frame_max(&ctx->cfg)));
	in->cur = op;
	if (!strcmp(op->op, "park")) {
		r = start_park(ctx, in, op);
	} else if (!strcmp(op->op, "exec")) {
		r = acd_call_exec_begin(ctx, op->call, in->parked);
		if (r < 0) { /* the runner stays parked; only this exec fails */
			in->cur = NULL;
			acd_call_exec_failed(ctx, op->call, RPC_SYSTEM, "cannot write the cell's limits");
			iop_free(op);
			return;
		}
		in->parked = NULL;
		in->exec = op->call;
		r = send_frame(ctx, in, op->frame);
	} else if (op->text) {
		r = send_text(ctx, in, op);
	} else {
		r = send_frame(ctx, in, op->frame);
	}
	if (r < 0) {
		char why[160];

		snprintf(why, sizeof(why), "cannot talk to the %s interpreter: %s",
			 acd_lang_name(in->lang), strerror(-r));
		kill(in->pid, SIGKILL);
		interp_down(ctx, in, SIGKILL, why);
	}
}

static void pump(struct acd_ctx *ctx, struct acd_interp *in)
{
	while (in->ready && !in->dead && !in->cur && in->ops) {
		struct acd_iop *op = in->ops;

		/* An exec needs the runner parked in the cgroup it will take. */
		if (!strcmp(op->op, "exec") && !in->parked) {
			struct acd_iop *park = iop_new("park", NULL, NULL, NULL);

			if (!park)
				return;
			iop_push(in, park, true);
			continue;
		}
		in->ops = op->next;
		start_op(ctx, in, op);
	}
}

/* Reads what the runner wrote to fd 1/2 (all of it, once it answered). */
static void drain_output(struct acd_ctx *ctx, struct acd_interp *in, struct acd_watch *w, bool err)
{
	char buf[65536];
	ssize_t n;

	while (w->fd >= 0 && (n = read(w->fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				acd_watch_close(ctx, w);
			return;
		}
		if (in->exec)
			acd_call_capture(ctx, in->exec, err, buf, (size_t)n);
	}
	acd_watch_close(ctx, w); /* EOF */
}

static void on_output(struct acd_ctx *ctx, struct acd_interp *in, struct acd_watch *w, bool err)
{
	char buf[65536];
	ssize_t n = read(w->fd, buf, sizeof(buf));

	if (n > 0 && in->exec)
		acd_call_capture(ctx, in->exec, err, buf, (size_t)n);
	else if (n == 0)
		acd_watch_close(ctx, w);
}

static void on_stdout(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	on_output(ctx, IN_OF(w, outw), w, false);
}

static void on_stderr(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	on_output(ctx, IN_OF(w, errw), w, true);
}

static void reply_op(struct acd_ctx *ctx, struct acd_interp *in, struct acd_iop *op, json_t *msg)
{
	json_t *err = json_object_get(msg, "error");
	const char *type = json_string_value(json_object_get(err, "type"));

	if (!op->client)
		return;
	json_object_del(msg, "id");
	if (json_is_true(json_object_get(msg, "ok"))) {
		json_object_del(msg, "ok");
		json_object_set_new(msg, "path", json_string(in->session->path));
		if (json_object_get(op->frame, "name"))
			json_object_set(msg, "name", json_object_get(op->frame, "name"));
		acd_reply_result(ctx, op->client, op->id, json_incref(msg));
		return;
	}
	acd_reply_error(ctx, op->client, op->id,
			type && !strcmp(type, "NameError") ? RPC_NOT_FOUND : RPC_INVALID_PARAMS,
			json_string_value(json_object_get(err, "message")) ?
				json_string_value(json_object_get(err, "message")) : "the interpreter refused",
			json_incref(err ? err : json_object()));
}

static bool key_in(const char *key, const char *const *keys)
{
	for (; *keys; keys++)
		if (!strcmp(key, *keys))
			return true;
	return false;
}

static bool short_string(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) <= max;
}

/* Cell code runs in the runner and may have rewritten it: a frame is
 * checked against what the op it answers may say before any of it is
 * used. NULL if it is fine, else what is wrong. */
static const char *frame_invalid(const struct acd_interp *in, const struct acd_iop *op,
				 json_t *msg)
{
	static const char *const ready_keys[] = { "ready", "pid", "lang", "version", NULL };
	static const char *const reply_keys[] = { "id", "ok", "value", "value_repr", "error",
						  "interrupted", "exit_code", "restarted", NULL };
	static const char *const error_keys[] = { "type", "message", "traceback", "code", "repr", NULL };
	const char *key;
	json_t *v, *err;

	if (!json_is_object(msg))
		return "not a JSON object";
	if (!in->ready) {
		json_object_foreach(msg, key, v)
			if (!key_in(key, ready_keys))
				return "an unknown key in its ready frame";
		if (!json_is_true(json_object_get(msg, "ready")) ||
		    !short_string(json_object_get(msg, "version"), 47))
			return "a ready frame without ready or version";
		return NULL;
	}
	if (!op || in->moving)
		return "a frame nobody asked for";
	if (!json_is_integer(json_object_get(msg, "id")) ||
	    json_integer_value(json_object_get(msg, "id")) != (json_int_t)in->seq)
		return "a reply to a request that was not asked";
	json_object_foreach(msg, key, v)
		if (!key_in(key, reply_keys))
			return "an unknown key in a reply";
	if (!json_is_boolean(json_object_get(msg, "ok")))
		return "a reply without a boolean ok";
	if ((v = json_object_get(msg, "value_repr")) && !json_is_string(v))
		return "a value_repr that is not a string";
	if ((v = json_object_get(msg, "interrupted")) && !json_is_boolean(v))
		return "an interrupted that is not a boolean";
	if ((v = json_object_get(msg, "restarted")) && !json_is_boolean(v))
		return "a restarted that is not a boolean";
	if ((v = json_object_get(msg, "exit_code")) &&
	    (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255))
		return "an exit_code that is not 0-255";
	err = json_object_get(msg, "error");
	if (err) {
		if (!json_is_object(err))
			return "an error that is not an object";
		json_object_foreach(err, key, v)
			if (!key_in(key, error_keys))
				return "an unknown key in an error";
		if (!short_string(json_object_get(err, "type"), 128) ||
		    !json_is_string(json_object_get(err, "message")))
			return "an error without a type or message";
		if ((v = json_object_get(err, "traceback")) && !json_is_string(v))
			return "a traceback that is not a string";
		if ((v = json_object_get(err, "repr")) && !json_is_string(v))
			return "a repr that is not a string";
	} else if (json_is_false(json_object_get(msg, "ok")) && strcmp(op->op, "exec")) {
		return "a refusal without an error";
	}
	return NULL;
}

static void on_frame(struct acd_ctx *ctx, struct acd_interp *in, json_t *msg)
{
	struct acd_iop *op = in->cur;
	const char *bad = frame_invalid(in, op, msg);

	if (bad) {
		char why[200];

		snprintf(why, sizeof(why), "the %s interpreter broke the protocol (%s) and was killed",
			 acd_lang_name(in->lang), bad);
		ac_warn("%s: %s", in->session ? in->session->path : "interpreter pool", why);
		kill(in->pid, SIGKILL);
		interp_down(ctx, in, SIGKILL, why);
		return;
	}
	if (!in->ready) {
		in->ready = true;
		if (!in->session)
			ctx->interp_pool->fails = 0;
		ac_strlcpy(in->version,
			   json_string_value(json_object_get(msg, "version")) ?
				   json_string_value(json_object_get(msg, "version")) : "?",
			   sizeof(in->version));
		pump(ctx, in);
		return;
	}
	in->cur = NULL;
	if (!strcmp(op->op, "exec")) {
		struct acd_call *call = op->call;
		struct acd_iop *park = iop_new("park", NULL, NULL, NULL);

		drain_output(ctx, in, &in->outw, false);
		drain_output(ctx, in, &in->errw, true);
		in->exec = NULL;
		in->execs++;
		acd_call_exec_done(ctx, call, json_incref(msg));
		/* Out of the call's cgroup before anything else; then the
		 * call's leftovers go. */
		if (park) {
			park->release = call;
			iop_push(in, park, true);
		} else {
			acd_call_exec_released(ctx, call);
		}
	} else {
		reply_op(ctx, in, op, msg);
	}
	iop_free(op);
	pump(ctx, in);
}

/* The runner runs user code, which can write to its channel: a frame
 * over runner_frame_max kills it (the pidfd then reports this reason),
 * and nothing more of it is read or kept. */
static void frame_refused(struct acd_ctx *ctx, struct acd_interp *in, size_t len, uint64_t max)
{
	snprintf(in->why, sizeof(in->why),
		 "the %s interpreter (pid %d) was killed: it sent a frame of %zu bytes, more than "
		 "runner_frame_max (%llu)", acd_lang_name(in->lang), (int)in->pid, len,
		 (unsigned long long)max);
	ac_info("%s: %s", in->session ? in->session->path : "interpreter pool", in->why);
	kill(in->pid, SIGKILL);
	acd_watch_close(ctx, &in->sockw);
	ac_buf_free(&in->in);
}

static void on_socket(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_interp *in = IN_OF(w, sockw);
	uint64_t max = ac_config_runner_frame_max(&ctx->cfg);
	char buf[65536];
	ssize_t n;

	if (events & EPOLLOUT && flush_out(ctx, in) < 0)
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* Held: at most one frame's header and body, and one read more. */
	if (n <= 0 || ac_buf_append(&in->in, buf, (size_t)n, max + 4 + sizeof(buf)) < 0) {
		/* The death itself comes through the pidfd. */
		acd_watch_close(ctx, w);
		return;
	}
	while (in->in.len >= 4 && !in->dead) {
		const unsigned char *p = (const unsigned char *)in->in.data;
		size_t len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		json_t *msg;

		if (len > max) { /* refused at its header, before its body is kept */
			frame_refused(ctx, in, len, max);
			return;
		}
		if (in->in.len < 4 + len)
			return;
		msg = json_loadb(in->in.data + 4, len, 0, NULL);
		ac_buf_consume(&in->in, 4 + len);
		if (json_is_object(msg))
			on_frame(ctx, in, msg);
		json_decref(msg);
		acd_freed_big(ctx, len);
	}
}

/* ---- starting --------------------------------------------------------- */

/* Starts a runner inside node (a spare of its session, or the pool). */
static int interp_spawn(struct acd_ctx *ctx, struct acd_interp *in, const struct ac_cg_node *node)
{
	char home[sizeof(in->home) + 8], tmpdir[sizeof(in->home) + 8];
	char *const envp[] = {
		"PATH=" ACD_RUNNER_PATH, home, tmpdir, "LANG=C.UTF-8", "TERM=dumb",
		"PYTHONDONTWRITEBYTECODE=1", NULL,
	};
	const char *python = in->lang == ACD_LANG_PYTHON ? in->binary : ctx->cfg.interp.python;
	char *argv[] = { (char *)python, "-I", "-u", "-c", (char *)acd_runner_src,
			 (char *)acd_lang_name(in->lang),
			 in->lang == ACD_LANG_BASH ? in->binary : NULL, NULL };
	struct ac_spawn_req req = { .argv = argv, .envp = envp, .cwd = in->home };
	struct ac_cg_placement pl;
	struct ac_stub stub = { .pid = 0, .pidfd = -1, .ctl = -1 };
	int sv[2] = { -1, -1 }, po[2] = { -1, -1 }, pe[2] = { -1, -1 }, r;

	snprintf(home, sizeof(home), "HOME=%s", in->home);
	snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s", in->home);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	r = ac_cg_placement_open(&ctx->cg, node, &pl);
	if (r < 0)
		goto out;
	r = ac_stub_start(&pl, &stub);
	ac_cg_placement_close(&pl);
	if (r < 0)
		goto out;
	req.uid = in->uid; /* no groups: setgroups([]) */
	req.gid = (gid_t)in->uid;
	req.n_groups = 0;
	req.stdio[0] = sv[1];
	req.stdio[1] = po[1];
	req.stdio[2] = pe[1];
	req.devnull = ctx->devnull;
	acd_prio_interp_process(ctx, stub.pid, in->session);
	r = ac_stub_exec(&stub, &req);
	if (r < 0) {
		ac_stub_discard(&stub);
		goto out;
	}
	in->pid = stub.pid;
	in->stub_ctl = stub.ctl;
	in->pidw = (struct acd_watch){ .fd = stub.pidfd, .fn = on_pidfd };
	in->sockw = (struct acd_watch){ .fd = sv[0], .fn = on_socket };
	in->outw = (struct acd_watch){ .fd = po[0], .fn = on_stdout };
	in->errw = (struct acd_watch){ .fd = pe[0], .fn = on_stderr };
	sv[0] = po[0] = pe[0] = -1;
	fcntl(in->outw.fd, F_SETFL, O_NONBLOCK);
	fcntl(in->errw.fd, F_SETFL, O_NONBLOCK);
	acd_watch_add(ctx, &in->pidw, EPOLLIN);
	acd_watch_add(ctx, &in->sockw, EPOLLIN);
	acd_watch_add(ctx, &in->outw, EPOLLIN);
	acd_watch_add(ctx, &in->errw, EPOLLIN);
out:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	return r;
}

static struct acd_interp *interp_new(enum acd_lang lang, const char *binary)
{
	struct acd_interp *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->lang = lang;
	in->persist = true;
	in->stub_ctl = -1;
	in->pidw.fd = in->sockw.fd = in->outw.fd = in->errw.fd = -1;
	ac_strlcpy(in->binary, binary, sizeof(in->binary));
	return in;
}

static const char *default_binary(struct acd_ctx *ctx, enum acd_lang lang)
{
	return lang == ACD_LANG_BASH ? ctx->cfg.interp.bash : ctx->cfg.interp.python;
}

static int pool_target(struct acd_ctx *ctx, enum acd_lang lang)
{
	return lang == ACD_LANG_BASH ? ctx->cfg.interp.pool_bash : ctx->cfg.interp.pool_python;
}

/* A cold start, straight into the session's next cgroup: born parked. */
static int start_for_session(struct acd_ctx *ctx, struct acd_session *s, struct acd_interp *in)
{
	struct acd_spare *sp;
	int r = acd_pool_take(ctx, s, &s->last_limits, &sp);

	if (r < 0)
		return r;
	r = interp_spawn(ctx, in, &sp->node);
	if (r < 0) {
		sp->next = s->spares; /* the cgroup goes with the session */
		s->spares = sp;
		return r;
	}
	in->parked = sp;
	return 0;
}

int acd_interp_attach(struct acd_ctx *ctx, struct acd_session *s, enum acd_lang lang,
		      bool persist, const char *binary, bool *from_pool)
{
	bool poolable = !binary || !strcmp(binary, default_binary(ctx, lang));
	struct acd_interp *in = NULL;
	int r;

	*from_pool = false;
	if (poolable)
		for (struct acd_interp **pp = &ctx->interp_pool->list; *pp; pp = &(*pp)->next)
			if ((*pp)->lang == lang && (*pp)->ready && !(*pp)->dead) {
				in = *pp;
				*pp = in->next;
				break;
			}
	if (in) {
		ctx->interp_pool->hits++;
		*from_pool = true;
		in->next = NULL;
		in->session = s;
		in->persist = persist;
		s->interp = in;
		acd_prio_interp_process(ctx, in->pid, s);
		/* Into the session's next cgroup now, while the agent thinks. */
		acd_interp_request(ctx, s, NULL, NULL, "park", NULL);
		ctx->idle_work = true; /* refill */
		return 0;
	}
	if (poolable)
		ctx->interp_pool->misses++;
	in = interp_new(lang, binary ? binary : default_binary(ctx, lang));
	if (!in)
		return -ENOMEM;
	in->persist = persist;
	r = interp_take_uid(ctx, in);
	if (r < 0) {
		free(in);
		return r;
	}
	in->session = s;
	r = start_for_session(ctx, s, in);
	if (r < 0) {
		interp_release(ctx, in);
		return r;
	}
	s->interp = in;
	return 0;
}

static void interp_free(struct acd_ctx *ctx, struct acd_interp *in)
{
	if (!in->dead) {
		kill(-in->pid, SIGKILL); /* its process group: bash, a cell's children */
		interp_down(ctx, in, SIGKILL, "the session was closed"); /* kills, reaps */
	}
	interp_release(ctx, in);
}

void acd_interp_detach(struct acd_ctx *ctx, struct acd_session *s)
{
	if (!s->interp)
		return;
	interp_free(ctx, s->interp);
	s->interp = NULL;
}

int acd_interp_restart(struct acd_ctx *ctx, struct acd_session *s)
{
	struct acd_interp *old = s->interp;
	enum acd_lang lang = old->lang;
	bool persist = old->persist, pool;
	char binary[AC_PATH_MAX];

	ac_strlcpy(binary, old->binary, sizeof(binary));
	if (old->exec || old->cur || old->ops)
		return -EBUSY;
	acd_interp_detach(ctx, s);
	return acd_interp_attach(ctx, s, lang, persist, binary, &pool);
}

/* ---- the API's side --------------------------------------------------- */

bool acd_interp_dead(const struct acd_interp *in)
{
	return in->dead;
}

const char *acd_interp_dead_reason(const struct acd_interp *in)
{
	return in->why;
}

/* A client's request: kept as text, counted in its uid's interp_ops and
 * interp_op_bytes; -EDQUOT (q says which) over a quota. */
static int iop_keep_text(struct acd_ctx *ctx, struct acd_iop *iop, const struct acd_client *c,
			 enum acd_quota *q)
{
	bool exempt = acd_client_is_operator(ctx, c);
	char *text = json_dumps(iop->frame, JSON_COMPACT);
	json_t *small, *name = json_object_get(iop->frame, "name");
	size_t len;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	*q = acd_quota_check(ctx, c->uid, exempt, ACD_Q_INTERP_OPS, 1) < 0 ? ACD_Q_INTERP_OPS :
	     acd_quota_check(ctx, c->uid, exempt, ACD_Q_INTERP_OP_BYTES, len) < 0 ?
							       ACD_Q_INTERP_OP_BYTES : ACD_Q_COUNT;
	if (*q != ACD_Q_COUNT) {
		free(text);
		return -EDQUOT;
	}
	small = json_pack("{s:s}", "op", iop->op);
	if (small && name)
		json_object_set(small, "name", name);
	if (!small || acd_quota_take(ctx, c->uid, ACD_Q_INTERP_OPS, 1) < 0) {
		json_decref(small);
		free(text);
		return -ENOMEM;
	}
	if (acd_quota_take(ctx, c->uid, ACD_Q_INTERP_OP_BYTES, len) < 0) {
		acd_quota_give(ctx, c->uid, ACD_Q_INTERP_OPS, 1);
		json_decref(small);
		free(text);
		return -ENOMEM;
	}
	json_decref(iop->frame);
	iop->frame = small;
	iop->text = text;
	iop->len = len;
	iop->quota_ctx = ctx;
	iop->quota_uid = c->uid;
	return 0;
}

int acd_interp_request(struct acd_ctx *ctx, struct acd_session *s, struct acd_client *c,
		       json_t *id, const char *op, json_t *frame)
{
	struct acd_interp *in = s->interp;
	struct acd_iop *iop;
	enum acd_quota q;
	int r;

	if (in->dead) {
		json_decref(frame);
		return -EPIPE;
	}
	iop = iop_new(op, c, id, frame);
	if (!iop)
		return -ENOMEM;
	if (c && (r = iop_keep_text(ctx, iop, c, &q)) < 0) {
		if (r == -EDQUOT) {
			char msg[200];

			acd_quota_message(ctx, c->uid, q, msg, sizeof(msg));
			acd_reply_error(ctx, c, id, RPC_PERMISSION, msg, acd_quota_data(ctx, q));
		}
		iop_free(iop);
		return r;
	}
	iop_push(in, iop, false);
	pump(ctx, in);
	return 0;
}

void acd_interp_exec(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_interp *in = call->exec.interp;
	struct acd_iop *op;

	if (in->dead) {
		acd_call_exec_failed(ctx, call, RPC_INTERP_DEAD, in->why);
		return;
	}
	op = iop_new("exec", NULL, NULL, json_pack("{s:O, s:b}", "code", call->exec.code,
						   "persist", in->persist));
	if (!op) {
		acd_call_exec_failed(ctx, call, RPC_SYSTEM, "out of memory");
		return;
	}
	op->call = call;
	iop_push(in, op, false);
	pump(ctx, in);
}

/* A queued exec whose call goes away before it starts. */
void acd_interp_cancel(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_interp *in = call->exec.interp;

	for (struct acd_iop **pp = &in->ops; *pp; pp = &(*pp)->next)
		if ((*pp)->call == call) {
			struct acd_iop *op = *pp;

			*pp = op->next;
			iop_free(op);
			return;
		}
}

bool acd_interp_interrupt(struct acd_ctx *ctx, struct acd_interp *in)
{
	if (in->dead || !in->exec)
		return false;
	/* the runner leads its process group; a cell's children are in it */
	if (kill(-in->pid, SIGINT) < 0)
		kill(in->pid, SIGINT);
	return true;
}

void acd_interp_client_gone(struct acd_ctx *ctx, struct acd_client *c)
{
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		for (struct acd_session *s = t->sessions; s; s = s->next) {
			struct acd_interp *in = s->interp;

			if (!in)
				continue;
			if (in->cur && in->cur->client == c)
				in->cur->client = NULL;
			for (struct acd_iop *op = in->ops; op; op = op->next)
				if (op->client == c)
					op->client = NULL;
		}
}

json_t *acd_interp_describe(const struct acd_interp *in)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:i, s:I, s:s, s:b, s:I}", "lang", acd_lang_name(in->lang),
			      "binary", in->binary, "persist", in->persist, "pid", (int)in->pid,
			      "uid", (json_int_t)in->uid,
			      "state", in->dead ? "dead" : !in->ready ? "starting" :
					in->exec ? "running" : "idle",
			      "ready", in->ready, "execs", (json_int_t)in->execs);

	if (in->dead)
		json_object_set_new(o, "why", json_string(in->why));
	if (in->version[0])
		json_object_set_new(o, "version", json_string(in->version));
	return o;
}

/* ---- the warm pool ----------------------------------------------------- */

int acd_interp_init(struct acd_ctx *ctx)
{
	int r;

	ctx->interp_pool = calloc(1, sizeof(*ctx->interp_pool));
	if (!ctx->interp_pool)
		return -ENOMEM;
	ac_cg_node_init(&ctx->interp_pool->node);
	if (ctx->cfg.interp.pool_python + ctx->cfg.interp.pool_bash == 0)
		return 0;
	r = ac_cg_mkdir(&ctx->cg, &ctx->cg.root, POOL_NODE, true, &ctx->interp_pool->node);
	if (r < 0)
		return ac_log_errno(r, "cannot create the interpreter pool's cgroup");
	ctx->interp_pool->made = true;
	ctx->idle_work = true;
	return 0;
}

bool acd_interp_pool_step(struct acd_ctx *ctx)
{
	if (!ctx->interp_pool->made || ctx->stopping || ac_now_ns() < ctx->interp_pool->retry_ns)
		return false;
	for (int l = ACD_LANG_PYTHON; l <= ACD_LANG_BASH; l++) {
		int have = 0;
		struct acd_interp *in;

		for (in = ctx->interp_pool->list; in; in = in->next)
			have += in->lang == (enum acd_lang)l;
		if (have >= pool_target(ctx, l))
			continue;
		in = interp_new(l, default_binary(ctx, l));
		if (!in)
			return false;
		/* A pool runner holds its uid from the start: handing it out
		 * changes no credential, so session.create stays a few ms
		 * (README "Interpreter sessions"). */
		if (interp_take_uid(ctx, in) < 0) {
			free(in);
			return false;
		}
		if (interp_spawn(ctx, in, &ctx->interp_pool->node) < 0) {
			interp_release(ctx, in);
			return false; /* retried when the pool is used next */
		}
		in->next = ctx->interp_pool->list;
		ctx->interp_pool->list = in;
		return true;
	}
	return false;
}

void acd_interp_shutdown(struct acd_ctx *ctx)
{
	if (!ctx->interp_pool)
		return;
	while (ctx->interp_pool->list) {
		struct acd_interp *in = ctx->interp_pool->list;

		ctx->interp_pool->list = in->next;
		interp_free(ctx, in);
	}
	if (ctx->interp_pool->made) {
		ac_cg_rmdir(&ctx->cg, &ctx->cg.root, POOL_NODE, &ctx->interp_pool->node);
		ctx->interp_pool->made = false;
	}
	free(ctx->interp_pool);
	ctx->interp_pool = NULL;
}

pid_t acd_interp_pid(const struct acd_interp *in)
{
	return in->pid;
}

enum acd_lang acd_interp_lang(const struct acd_interp *in)
{
	return in->lang;
}

json_t *acd_interp_info(struct acd_ctx *ctx)
{
	int ready[2] = { 0, 0 }, starting[2] = { 0, 0 };
	json_t *o, *u;

	for (struct acd_interp *in = ctx->interp_pool->list; in; in = in->next)
		(in->ready ? ready : starting)[in->lang]++;
	o = json_pack("{s:{s:i, s:i}, s:{s:i, s:i}, s:{s:i, s:i}, s:I, s:I, s:o}", "pool_size",
		      "python", ctx->cfg.interp.pool_python, "bash", ctx->cfg.interp.pool_bash,
		      "ready", "python", ready[0], "bash", ready[1], "starting", "python",
		      starting[0], "bash", starting[1], "pool_hits",
		      (json_int_t)ctx->interp_pool->hits, "pool_misses",
		      (json_int_t)ctx->interp_pool->misses, "moves", acd_mover_info(ctx));
	u = acd_uids_info(ctx); /* uid_range, uids_held, killed_at_release */
	json_object_update(o, u);
	json_decref(u);
	return o;
}

void acd_interp_metrics(struct acd_ctx *ctx, struct acd_metrics *m)
{
	acd_metrics_family(m, "agentcg_interpreter_pool_hits_total", ACD_COUNTER,
			   "Interpreter sessions that got an interpreter from the warm pool.");
	acd_metrics_u64(m, ctx->interp_pool->hits, NULL);
	acd_metrics_family(m, "agentcg_interpreter_pool_misses_total", ACD_COUNTER,
			   "Interpreter sessions whose interpreter was started when they came.");
	acd_metrics_u64(m, ctx->interp_pool->misses, NULL);
}
