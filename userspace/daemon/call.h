/* SPDX-License-Identifier: GPL-2.0 */
/* The call module (layer 5): one tool call from admission to verdict.
 * call.c is the state machine; call_admission.c, call_output.c,
 * call_result.c, call_exec.c, call_enforce.c and call_timers.c its
 * concerns (call_priv.h is what they share). */
#ifndef AGENTCGD_CALL_H
#define AGENTCGD_CALL_H

#include "adaptive.h"
#include "bpf.h"
#include "contain.h"
#include "daemon.h"
#include "interp.h"
#include "pool.h"
#include "procs.h"
#include "quota.h"
#include "server.h"
#include "tree.h"

enum acd_call_state {
	CALL_WAITING,  /* queued for budget (admission wait), or at its interpreter */
	CALL_RUNNING,  /* main process alive */
	CALL_DRAINING, /* main exited; killing stragglers, draining pipes */
	CALL_REMOVING, /* replied; cgroup removal pending */
};

struct acd_capture {
	struct acd_watch w; /* read end of the pipe, -1 when closed */
	struct ac_buf buf;
	bool truncated;
	struct acd_call *call; /* owner */
};

/* A session.exec call: the cell and the interpreter that runs it. */
struct acd_call_exec {
	struct acd_interp *interp; /* NULL: a command (call.run) */
	enum acd_lang lang;
	json_t *code;		   /* the code, until it is sent */
	json_t *reply;		   /* the runner's answer */
	uint64_t kill_deadline_ns; /* interrupted: killed if not done by then */
	bool interrupted;
	bool died;		   /* the interpreter died during the cell */
};

struct acd_call {
	struct acd_call *next;		  /* in session->calls */
	struct acd_call *client_next;	  /* in client->calls */
	struct acd_call *wait_next;	  /* in the admission or removal queue */
	struct acd_session *session;
	char name[AC_NAME_MAX + 1];
	char path[3 * (AC_NAME_MAX + 1) + 1];
	enum acd_call_state state;
	struct acd_client *client; /* NULL once it went away */
	json_t *req_id;		   /* id of the request */
	uid_t quota_uid;	   /* the requester's: its per_uid calls quotas */
	bool quota_exempt;	   /* an operator's */
	uint8_t quota_held;	   /* 0, or 1 + the acd_quota it counts in (running, waiting) */
	bool created;		   /* cgroup exists */
	struct ac_cg_node node;
	struct ac_cg_statfds stats;
	bool populated;		   /* last known cgroup.events "populated" */
	struct ac_intent intent;
	struct acd_adaptive_use adaptive;
	struct ac_limits limits;
	uint64_t reserved_mem; /* admission reservation */
	/* the command */
	char **argv;
	char **envp;
	char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t groups[AC_GROUPS_MAX];
	int n_groups;
	int stdio[3]; /* passed fds (stdio "fds"), owned; -1 otherwise */
	bool capture;
	/* running */
	pid_t pid;
	struct acd_watch pidw;	  /* pidfd */
	int stub_ctl;		  /* stub control socket: says at exit whether exec worked */
	int spawn_err;		  /* <0: the command could not be started */
	const char *spawn_what;	  /* the step that failed */
	struct acd_watch eventsw; /* cgroup.events, EPOLLPRI */
	struct acd_capture out, err;
	uint64_t start_ns, end_ns;
	struct ac_call_end end;
	bool replied;
	bool operator_frozen;	   /* cg.freeze by an operator: only one thaws it */
	bool discarded;		   /* unlinked and freed (acd_call_discard) */
	/* deadlines (call_timers.c keeps the earliest in a heap) */
	uint64_t deadline_ns;		  /* timeout; 0 none */
	uint64_t next_cpu_check_ns;	  /* cpu_time poll; 0 none */
	uint64_t wait_deadline_ns;	  /* admission wait: the next look (its end, or hold_max) */
	uint64_t wait_until_ns;		  /* end of a `wait` for budget; 0: no wait asked */
	uint64_t queued_ns;		  /* when it began to wait at admission; 0: never */
	bool held_pressure;		  /* memory pressure held it back at admission */
	bool hold_expired;		  /* held hold_max already: pressure holds it no more */
	uint64_t next_populated_check_ns; /* draining: look at cgroup.events */
	uint64_t rmdir_retry_ns;
	int rmdir_tries;
	uint32_t heap_idx;		  /* place in the heap + 1; 0: not in it */
	uint64_t heap_due;
	/* each module's part of the call */
	struct acd_bpf_call bpf;	  /* bpf.c: registered under node.id */
	struct acd_procs procs;		  /* procs.c: from the BPF records */
	struct acd_call_exec exec;	  /* call_exec.c, interp.c */
	struct acd_contain_state contain; /* contain.c (end.contain is the report) */
};

/* call_timers.c: the calls' next deadlines, a binary min-heap. */
struct acd_call_heap {
	struct acd_call **v;
	uint32_t n, cap;
};

/* The module's state (ctx->calls). */
struct acd_calls {
	struct acd_call *waiting;  /* admission queue, FIFO */
	struct acd_call *removing; /* finished, their cgroups being removed */
	int n_removing;
	struct acd_call_heap timers;
	struct acd_call *dead;	   /* freed after the current epoll batch */
};

int acd_calls_init(struct acd_ctx *ctx);
void acd_calls_free(struct acd_ctx *ctx);
struct acd_call *acd_call_new(void);
/* Unlinks a call from its client and session and frees it. */
void acd_call_discard(struct acd_ctx *ctx, struct acd_call *call);
/* The intent completed (history, defaults, the session's priority), its
 * limits and reservation; the call joins its session and its client. */
void acd_call_enlist(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
		     struct acd_call *call);
/* Admission of an enlisted command: it starts, waits (wait: up to wait_ns)
 * or is refused (replied, and discarded). */
void acd_call_admit(struct acd_ctx *ctx, struct acd_call *call, bool wait, uint64_t wait_ns);
/* Admission of an enlisted cell: queued at its interpreter, or refused. */
void acd_call_admit_exec(struct acd_ctx *ctx, struct acd_call *call);
/* Budget was freed: start waiting calls that now fit. */
void acd_calls_admit_waiting(struct acd_ctx *ctx);
struct acd_call *acd_call_find(struct acd_session *s, const char *name);
/* Kills a running call (stop reason recorded), or cancels a waiting one. */
void acd_call_kill(struct acd_ctx *ctx, struct acd_call *call, enum ac_stop_reason why);
/* Kills (or cancels) every call of the session: how many. */
int acd_session_kill_calls(struct acd_ctx *ctx, struct acd_session *s);
/* The client went away: kill its calls, forget it. */
void acd_calls_client_gone(struct acd_ctx *ctx, struct acd_client *c);
/* Time-driven work (call_timers.c): ms until the next deadline, or -1. */
int acd_calls_tick(struct acd_ctx *ctx);
/* One step of removing finished calls' cgroups; false if none is due. */
bool acd_calls_remove_step(struct acd_ctx *ctx);
void acd_calls_shutdown(struct acd_ctx *ctx);
void acd_calls_free_dead(struct acd_ctx *ctx);
bool acd_calls_all_gone(struct acd_ctx *ctx);
json_t *acd_call_describe(struct acd_ctx *ctx, const struct acd_call *call);
const char *acd_call_state_name(enum acd_call_state st);
/* Frozen now: by a budget, an operator, or the containment ladder. */
bool acd_call_frozen(const struct acd_call *call);
/* "frozen" for a frozen call, else its state's name. */
const char *acd_call_shown_state(const struct acd_call *call);

/* call_enforce.c */
/* A BPF record of one of the call's processes (ctx->hooks.bpf_record). */
void acd_call_bpf_record(struct acd_ctx *ctx, struct acd_bpf_call *bc, const struct acb_event *e);
/* SIGCONT to the call's tasks the BPF programs stopped (SIGSTOP), so the
 * cgroup freezer alone holds them and a thaw resumes them. */
void acd_call_continue_stopped(struct acd_ctx *ctx, struct acd_call *call);
/* The last step of the ladder (a cell is interrupted instead). */
void acd_call_pressure_stop(struct acd_ctx *ctx, struct acd_call *call);

/* call_exec.c: session.exec calls, driven by their interpreter */
/* The exec starts in sp, the cgroup the runner is parked in. */
int acd_call_exec_begin(struct acd_ctx *ctx, struct acd_call *call, struct acd_spare *sp);
/* The runner answered the exec (reply owned by the call now). */
void acd_call_exec_done(struct acd_ctx *ctx, struct acd_call *call, json_t *reply);
/* The interpreter died during the exec. */
void acd_call_exec_died(struct acd_ctx *ctx, struct acd_call *call, int wstatus);
/* The interpreter left the call's cgroup: end what is left, remove it. */
void acd_call_exec_released(struct acd_ctx *ctx, struct acd_call *call);
/* The exec could not start (no interpreter): reply and drop it. */
void acd_call_exec_failed(struct acd_ctx *ctx, struct acd_call *call, int code,
			  const char *msg);
/* Output of the interpreter while an exec runs goes to the call. */
void acd_call_capture(struct acd_ctx *ctx, struct acd_call *call, bool err, const char *data,
		      size_t len);

#endif
