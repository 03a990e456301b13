/* SPDX-License-Identifier: GPL-2.0 */
/* agentcgd internals: the one context struct and the interfaces between
 * the daemon's modules (server: sockets and clients; rpc: envelopes and
 * dispatch; tree: tenants and sessions; call: tool-call lifecycle;
 * methods: the cg.*, session.*, tenant.* handlers; events: subscribers). */
#ifndef AGENTCGD_DAEMON_H
#define AGENTCGD_DAEMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agentcg/buf.h"
#include "agentcg/cgroup.h"
#include "agentcg/config.h"
#include "agentcg/intent.h"
#include "agentcg/names.h"
#include "agentcg/spawn.h"
#include "agentcg/verdict.h"

#define ACD_VERSION "0.1.0"
#define ACD_MAX_CLIENTS 4096
#define ACD_MAX_PASSED_FDS 16
#define ACD_MAX_ARGS 4096
#define ACD_MAX_ENV 4096

/* JSON-RPC error codes (README "Error codes"). */
enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_METHOD_NOT_FOUND = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_NOT_FOUND = -32001,
	RPC_ADMISSION = -32002,
	RPC_FROZEN = -32003,
	RPC_SPAWN_FAILED = -32004,
	RPC_PERMISSION = -32005,
	RPC_EXISTS = -32006,
	RPC_SHUTTING_DOWN = -32007,
	RPC_SYSTEM = -32008,
	RPC_INTERP_DEAD = -32009, /* the session's interpreter died: session.reset */
	RPC_NO_INTERP = -32010,	  /* the session has no interpreter (session.create lang) */
};

struct acd_ctx;
struct ac_history;

/* Every fd in the epoll set carries one of these. */
struct acd_watch {
	int fd;
	void (*fn)(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events);
};

struct acd_call;

struct acd_client {
	struct acd_watch w;
	struct acd_client *prev, *next;
	uint64_t serial; /* for log lines */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[AC_GROUPS_MAX];
	int n_groups;
	struct ac_buf in, out;
	int fds[ACD_MAX_PASSED_FDS]; /* received with SCM_RIGHTS, not yet used */
	int n_fds;
	bool want_out;	   /* EPOLLOUT registered */
	bool discarding;   /* inside an over-long line: drop until '\n' */
	bool subscribed;
	struct ac_path sub_path;
	struct acd_call *calls; /* running calls owned by this client */
};

enum acd_call_state {
	CALL_WAITING,  /* queued for budget (admission wait) */
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

struct acd_session;
struct acb_event;
enum acd_lang { ACD_LANG_PYTHON = 0, ACD_LANG_BASH };

/* A process a call ran, from the BPF lifecycle records (procs.c). */
struct acd_proc {
	int pid, ppid;
	char comm[16];
	char exe[128];	   /* file name given to execve; "" if it never exec'd */
	bool exited;
	int wstatus;	   /* as wait(2) encodes it */
	uint64_t peak_rss; /* bytes (the kernel's maxrss) */
};

#define ACD_PROCS_MAX 256 /* listed per call; later ones are only counted */
struct acd_procs {
	struct acd_proc *v;
	uint32_t n, cap;
	uint64_t total;	   /* processes seen (forked or exec'd) */
	uint64_t omitted;  /* seen but not listed */
};

/* contain.c: where the ladder has a call (worst first is FROZEN). */
enum acd_contain_level { CONTAIN_NONE = 0, CONTAIN_THROTTLED, CONTAIN_FROZEN };

struct acd_contain_state {
	enum acd_contain_level level;
	uint64_t since_ns;	/* when the current level began */
	bool throttle_written;	/* the throttle knobs were written (restore them) */
	uint64_t free_until_ns;	/* let go to break a stall: not contained again
				 * before then (the kill step still may) */
};

/* adaptive.c: where a call's memory came from when it came from its
 * label's history (samples 0: it did not). */
struct acd_adaptive_use {
	uint32_t samples; /* peaks it was made of */
	uint64_t p95;	  /* bytes */
	double margin;
};

struct acd_call {
	struct acd_call *next;		  /* in session->calls */
	struct acd_call *client_next;	  /* in client->calls */
	struct acd_call *wait_next;	  /* in ctx->waiting */
	struct acd_session *session;
	char name[AC_NAME_MAX + 1];
	char path[3 * (AC_NAME_MAX + 1) + 1];
	enum acd_call_state state;
	struct acd_client *client; /* NULL once it went away */
	json_t *req_id;		   /* id of the call.run request */
	bool created;		   /* cgroup exists */
	struct ac_cg_node node;
	struct ac_cg_statfds stats;
	bool populated;		   /* last known cgroup.events "populated" */
	uint64_t next_populated_check_ns;
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
	uint64_t deadline_ns;	   /* timeout; 0 none */
	uint64_t next_cpu_check_ns; /* cpu_time poll; 0 none */
	uint64_t wait_deadline_ns; /* admission wait */
	uint64_t rmdir_retry_ns;
	int rmdir_tries;
	struct ac_call_end end;
	bool replied;
	/* BPF (bpf.c): registered in the calls map under node.id */
	struct acd_call *bpf_next; /* hash chain by cgroup id */
	bool bpf_on;		   /* in the map now */
	bool bpf_tracked;	   /* was registered (lifecycle, forks known) */
	uint64_t bpf_cpu_ns;
	uint32_t bpf_forks;
	struct acd_procs procs;
	/* session.exec: the interpreter that runs it, its reply */
	struct acd_interp *interp;
	json_t *exec_code;  /* the code, until it is sent */
	json_t *exec_reply;
	uint64_t kill_deadline_ns; /* interrupted: killed if not done by then */
	bool interrupted;
	bool interp_died;
	enum acd_lang interp_lang;
	/* contain.c: the ladder's hold on it (end.contain is the report) */
	struct acd_contain_state contain;
	/* call_timers.c: its place in ctx->call_timers (+1; 0 none), and when */
	uint32_t heap_idx;
	uint64_t heap_due;
};

/* call_timers.c: the calls' next deadlines, a binary min-heap. */
struct acd_call_heap {
	struct acd_call **v;
	uint32_t n, cap;
};

struct acd_tenant;
struct acd_interp;

/* A call cgroup made ahead of time, with a stub process waiting in it
 * (pool.c). Built in small steps when the loop is idle. */
struct acd_spare {
	struct acd_spare *next;
	char name[AC_NAME_MAX + 1];
	struct ac_cg_node node;
	int made;		 /* hierarchies created so far */
	bool limits_set;	 /* limits written */
	struct ac_limits limits; /* what the cgroup has */
	bool stats_open;
	struct ac_cg_statfds stats; /* usage files, opened ahead */
	struct ac_stub stub;	 /* pid 0 until started */
};

struct acd_session {
	struct acd_session *next;
	struct acd_tenant *tenant;
	char name[AC_NAME_MAX + 1];
	char path[2 * (AC_NAME_MAX + 1) + 1];
	struct ac_cg_node node;
	struct ac_budget budget;
	enum ac_priority priority;
	uid_t owner;	/* uid of the client that created it */
	uint64_t reserved_mem;
	uint64_t next_seq;
	bool frozen;
	struct acd_call *calls;
	struct acd_spare *spares;     /* oldest first; the last may be half made */
	struct acd_interp *interp;    /* interpreter sessions (session.create lang) */
	bool interpreter;	      /* an interpreter session: spares have no stub */
	struct ac_limits last_limits; /* spares are written with these */
	struct acd_watch memevents;   /* v2 memory.events, for the ladder (pressure.c) */
	uint64_t last_events[4];
	/* session.close in progress: reply when the last call is gone */
	bool closing;
	struct acd_client *close_client;
	json_t *close_id;
	int close_killed;
};

/* pressure.c: a memory budget the ladder watches: the root (memory_budget,
 * or the host's memory without one) and every tenant with a memory_max. */
enum acd_band {
	BAND_CALM = 0,	/* below thaw_below */
	BAND_HOLD,	/* thaw_below .. throttle_at */
	BAND_THROTTLE,	/* throttle_at ..: low-priority calls throttled */
	BAND_FREEZE,	/* freeze_at ..: low frozen, normal throttled */
	BAND_KILL,	/* kill_at ..: normal frozen; the largest contained call killed */
};

struct acd_domain {
	char path[AC_NAME_MAX + 2];   /* "/" or "/tenant" */
	const struct ac_cg_node *node;
	struct acd_tenant *tenant;    /* NULL: the root */
	uint64_t budget;	      /* bytes */
	bool host;		      /* the root without memory_budget: host memory */
	uint64_t usage;		      /* last sample, bytes */
	enum acd_band band;
	enum acd_band release_band;   /* the band of usage + the hysteresis
				       * (throttle_at - thaw_below): calls are let go
				       * down to what this one calls for */
	uint64_t limit_hits;	      /* memory.events max / v1 failcnt, last sample */
	uint64_t limit_hits_seen;     /* ... at the last ladder step */
	uint64_t psi_until_ns;	      /* a PSI trigger fired: at least BAND_THROTTLE till then */
	struct acd_watch psi;	      /* memory.pressure trigger (EPOLLPRI) */
	struct acd_watch memevents;   /* v2 memory.events (EPOLLPRI) */
	struct acd_watch thresholds;  /* v1: eventfd of the usage thresholds */
	uint64_t last_events[4];      /* memory.events low, high, max, oom_kill */
};

struct acd_tenant {
	struct acd_tenant *next;
	char name[AC_NAME_MAX + 1];
	char path[AC_NAME_MAX + 2];
	struct ac_cg_node node;
	struct ac_budget budget;
	uint64_t reserved_mem;
	bool frozen;
	struct acd_session *sessions;
	uint64_t memory_low;	/* written sum of its protected sessions */
	struct acd_domain *dom;	/* pressure domain (memory_max set), else NULL */
};

struct acd_bpf;
/* What the loaded BPF programs cover (all false without them). */
struct acd_bpf_features {
	bool loaded, lifecycle, oom, cpu_time, forks, memory;
};

struct acd_ctx {
	struct ac_config cfg;
	struct acd_bpf *bpf; /* NULL: not loaded */
	struct ac_history *history; /* adaptive.c: peaks per label; NULL: off */
	int n_subscribed;    /* clients subscribed to events */
	struct ac_cgroup cg;
	const char *force_backend;
	char socket_path[AC_PATH_MAX];
	int epfd;
	int devnull; /* stdin of captured calls */
	struct acd_watch listen_w;
	struct acd_watch signal_w;
	struct acd_client *clients;
	int n_clients;
	uint64_t client_serial;
	struct acd_tenant *tenants;
	struct acd_call *waiting; /* admission queue, FIFO */
	struct acd_call_heap call_timers;
	struct acd_call *removing; /* calls whose cgroups are being removed */
	bool idle_work;		   /* pool or removal work may be pending */
	uint64_t last_idle_ns;	   /* last background step */
	int n_removing;
	uint64_t pool_hits, pool_misses; /* calls that found a ready spare, or not */
	/* interp.c: warm interpreters, not yet given to a session */
	struct ac_cg_node interp_pool_node; /* <root>/.interpreters */
	bool interp_pool_made;
	struct acd_interp *interp_pool;
	uint64_t interp_pool_hits, interp_pool_misses;
	unsigned interp_pool_fails;	/* pool starts in a row that died unready */
	uint64_t interp_pool_retry_ns;	/* no pool start before this */
	int calls_running;
	uint64_t calls_total;
	/* Freed after the current epoll batch: a later event of the same
	 * batch may still point at them. */
	struct acd_client *dead_clients;
	struct acd_call *dead_calls;
	/* pressure.c / contain.c / priority.c */
	struct acd_domain root_dom;
	uint64_t root_memory_low;	/* written sum */
	bool bpf_pressure;		/* the BPF programs watch the root's charge */
	uint64_t contain_next_ns;	/* next ladder step; 0 none */
	uint64_t contain_last_release_ns;
	uint64_t contain_last_kill_ns;
	uint64_t contain_last_change_ns; /* last step that changed a call's hold */
	uint64_t contain_change_usage;	 /* the root's usage then */
	bool contain_admit;		 /* look at waiting calls from the main loop */
	int contained;			/* calls throttled or frozen now */
	uint64_t contain_counts[3];	/* throttles, freezes, kills so far */
	bool stopping;
	uint64_t stop_deadline_ns;
	int exit_code;
};

/* server.c */
int acd_server_listen(struct acd_ctx *ctx);
void acd_server_close(struct acd_ctx *ctx);
int acd_watch_add(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events);
void acd_watch_del(struct acd_ctx *ctx, struct acd_watch *w);
/* Deletes the watch and closes its fd; fd = -1 after (a no-op then). */
void acd_watch_close(struct acd_ctx *ctx, struct acd_watch *w);
/* Queues one line (json + '\n') to a client; drops the client when its
 * unread backlog passes the limit. Steals no reference. */
void acd_client_send(struct acd_ctx *ctx, struct acd_client *c, json_t *msg);
/* Takes n passed fds (in order) from the client, or -EBADF if fewer. */
int acd_client_take_fds(struct acd_client *c, int *fds, int n);
void acd_client_drop(struct acd_ctx *ctx, struct acd_client *c, const char *why);

/* rpc.c */
void acd_rpc_handle_line(struct acd_ctx *ctx, struct acd_client *c, const char *line, size_t len);
void acd_reply_result(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *result);
void acd_reply_error(struct acd_ctx *ctx, struct acd_client *c, json_t *id, int code,
		     const char *msg, json_t *data);
/* Reply for a negative errno from a system operation. */
void acd_reply_errno(struct acd_ctx *ctx, struct acd_client *c, json_t *id, int err,
		     const char *what);
void acd_notify(struct acd_ctx *ctx, struct acd_client *c, const char *method, json_t *params);

/* Adds "unknown parameter" to errs for each key of params not in keys
 * (NULL-terminated). */
void acd_params_unknown(const json_t *params, const char *const *keys, struct ac_errors *errs);

/* A handler either replies (sync) or keeps id to reply later (async). */
typedef void (*acd_method_fn)(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			      json_t *params);

/* tree.c */
int acd_tree_init(struct acd_ctx *ctx);
void acd_tree_destroy(struct acd_ctx *ctx);
struct acd_tenant *acd_tenant_find(struct acd_ctx *ctx, const char *name);
struct acd_session *acd_session_find(struct acd_tenant *t, const char *name);
int acd_tenant_create(struct acd_ctx *ctx, const char *name, const struct ac_budget *b,
		      struct acd_tenant **out);
int acd_tenant_remove(struct acd_ctx *ctx, struct acd_tenant *t);
int acd_session_create(struct acd_ctx *ctx, struct acd_tenant *t, const char *name,
		       const struct ac_budget *b, enum ac_priority prio, struct acd_session **out);
/* Removes an idle session (no calls); -EBUSY otherwise. */
int acd_session_remove(struct acd_ctx *ctx, struct acd_session *s);
int acd_budget_apply(struct acd_ctx *ctx, const struct ac_cg_node *node, const struct ac_budget *b);
/* Parses {"memory_max", "cpu", "pids"}; adds errors under prefix. */
int acd_budget_from_json(const json_t *obj, struct ac_budget *b, struct ac_errors *errs);
json_t *acd_budget_to_json(const struct ac_budget *b);

/* call.c, call_admission.c */
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
struct acd_call *acd_call_find(struct acd_session *s, const char *name);
void acd_call_timers_free(struct acd_ctx *ctx);
/* methods_call.c */
void acd_method_call_run(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params);
/* The client went away: kill its calls, forget it. */
void acd_calls_client_gone(struct acd_ctx *ctx, struct acd_client *c);
/* Kills a running call (stop reason recorded). */
void acd_call_kill(struct acd_ctx *ctx, struct acd_call *call, enum ac_stop_reason why);
/* Time-driven work: deadlines, cpu_time checks, admission wait expiry,
 * rmdir retries. Returns ms until the next timed event, or -1. */
int acd_calls_tick(struct acd_ctx *ctx);
/* Budget was freed: start waiting calls that now fit. */
void acd_calls_admit_waiting(struct acd_ctx *ctx);
void acd_calls_shutdown(struct acd_ctx *ctx);
void acd_free_dead(struct acd_ctx *ctx);
bool acd_calls_all_gone(struct acd_ctx *ctx);
json_t *acd_call_describe(struct acd_ctx *ctx, const struct acd_call *call);
const char *acd_call_state_name(enum acd_call_state st);
/* Frozen now: by a budget, an operator, or the containment ladder. */
bool acd_call_frozen(const struct acd_call *call);
/* "frozen" for a frozen call, else its state's name. */
const char *acd_call_shown_state(const struct acd_call *call);

/* adaptive.c: adaptive intents from per-label memory history */
int acd_adaptive_init(struct acd_ctx *ctx);
void acd_adaptive_free(struct acd_ctx *ctx);
/* Before the defaults: a call without memory but with a label that has
 * enough history gets memory from it (marked defaulted). */
void acd_adaptive_assume(struct acd_ctx *ctx, struct acd_call *call);
/* The call's result: records its peak under its label, and adds
 * "adaptive" to the result's intent object when its memory came from
 * history. */
void acd_adaptive_result(struct acd_ctx *ctx, struct acd_call *call, uint64_t peak,
			 json_t *intent);

/* pool.c */
/* A ready spare for a call with limits lim (built now if none is ready);
 * the caller owns it and frees it with free() after taking its parts. */
int acd_pool_take(struct acd_ctx *ctx, struct acd_session *s, const struct ac_limits *lim,
		  struct acd_spare **out);
/* One small step of background work (a mkdir, a limit write, a stub
 * start, an rmdir). false when there was nothing to do. */
bool acd_idle_step(struct acd_ctx *ctx);
/* 0: a step is due now; >0: ms until one may run; -1: nothing to do. */
int acd_idle_delay_ms(struct acd_ctx *ctx);
/* Removal steps, without waiting for an idle moment, while more finished
 * calls wait for removal than the backlog bound. */
void acd_removal_catch_up(struct acd_ctx *ctx);
/* Kills the stubs and removes the spare cgroups of a session. */
void acd_pool_drain(struct acd_ctx *ctx, struct acd_session *s);
void acd_pool_init_session(struct acd_ctx *ctx, struct acd_session *s);

/* call.c: one step of removing finished calls; false if none pending. */
bool acd_calls_remove_step(struct acd_ctx *ctx);

/* methods.c */
acd_method_fn acd_method_lookup(const char *name);
/* Resolves a path into tenant/session/call (any may be NULL); replies
 * -32001 and returns -ENOENT when something does not exist. */
int acd_resolve(struct acd_ctx *ctx, struct acd_client *c, json_t *id, const struct ac_path *p,
		struct acd_tenant **t, struct acd_session **s, struct acd_call **call);

/* bpf.c */
/* Loads and attaches the programs; never fatal (logs what is missing). */
int acd_bpf_open(struct acd_ctx *ctx);
void acd_bpf_close(struct acd_ctx *ctx);
const struct acd_bpf_features *acd_bpf_features(const struct acd_ctx *ctx);
/* Writes the call's budgets under its cgroup id, before its command runs. */
int acd_bpf_call_begin(struct acd_ctx *ctx, struct acd_call *call);
/* Reads lifecycle records while someone follows events: ms until the
 * next read, or -1. */
int acd_bpf_tick(struct acd_ctx *ctx);
/* Takes the pending records and the call's counters. */
void acd_bpf_call_sync(struct acd_ctx *ctx, struct acd_call *call);
/* The daemon took over a stopped call: the programs stop signalling it. */
void acd_bpf_call_handled(struct acd_ctx *ctx, struct acd_call *call);
/* Sync, then delete the call's entry. */
void acd_bpf_call_end(struct acd_ctx *ctx, struct acd_call *call);
json_t *acd_bpf_info(struct acd_ctx *ctx);
/* One ACB_EV_PRESSURE when the root's charge reaches bytes at a call's
 * page fault (0: off); false if the programs cannot (then the caller
 * relies on its other sources). */
bool acd_bpf_pressure_arm(struct acd_ctx *ctx, uint64_t bytes);

/* call.c: a ring buffer record of one of the call's processes. */
void acd_call_on_bpf_event(struct acd_ctx *ctx, struct acd_call *call, const struct acb_event *e);

/* interp.c: stateful interpreters (python, bash) run by the runner
 * (userspace/runner/agentcg_runner.py), one per interpreter session. */
const char *acd_lang_name(enum acd_lang l);
int acd_lang_parse(const char *s, enum acd_lang *out);
/* Gives session s an interpreter (from the warm pool when it matches). */
int acd_interp_attach(struct acd_ctx *ctx, struct acd_session *s, enum acd_lang lang,
		      bool persist, const char *binary, bool *from_pool);
/* Kills the session's interpreter (session.close). */
void acd_interp_detach(struct acd_ctx *ctx, struct acd_session *s);
json_t *acd_interp_describe(const struct acd_interp *in);
json_t *acd_interp_info(struct acd_ctx *ctx); /* for daemon.info */
/* Queues a request (exec is started through call.c admission first). */
int acd_interp_request(struct acd_ctx *ctx, struct acd_session *s, struct acd_client *c,
		       json_t *id, const char *op, json_t *frame);
/* call.c hands an admitted session.exec call over. */
void acd_interp_exec(struct acd_ctx *ctx, struct acd_call *call);
/* SIGINT to the interpreter's process group; false if nothing runs. */
bool acd_interp_interrupt(struct acd_ctx *ctx, struct acd_interp *in);
/* The session's interpreter died or is gone: why, for errors. */
const char *acd_interp_dead_reason(const struct acd_interp *in);
bool acd_interp_dead(const struct acd_interp *in);
/* Restarts a dead (or live) interpreter of the session (session.reset). */
int acd_interp_restart(struct acd_ctx *ctx, struct acd_session *s);
/* Background: keep the warm pool filled; true if it did a step. */
bool acd_interp_pool_step(struct acd_ctx *ctx);
int acd_interp_init(struct acd_ctx *ctx);
void acd_interp_shutdown(struct acd_ctx *ctx);
void acd_client_gone_interp(struct acd_ctx *ctx, struct acd_client *c);

/* A queued exec whose call goes away before it starts. */
void acd_interp_cancel(struct acd_ctx *ctx, struct acd_call *call);
pid_t acd_interp_pid(const struct acd_interp *in);
enum acd_lang acd_interp_lang(const struct acd_interp *in);

/* call.c: session.exec calls */
/* The exec starts in sp, the cgroup the runner is parked in. */
int acd_call_exec_begin(struct acd_ctx *ctx, struct acd_call *call, struct acd_spare *sp);
void acd_method_session_exec(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			     json_t *params);
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

/* procs.c */
void acd_procs_record(struct acd_procs *p, const struct acb_event *e);
json_t *acd_procs_json(const struct acd_procs *p);
void acd_procs_free(struct acd_procs *p);
/* {"code": N} or {"signal": N, "signal_name": "SIGKILL"} */
json_t *acd_wstatus_json(int wstatus);

/* methods.c: the session of an interpreter request is the client's and
 * has an interpreter (alive, if need_alive); else replies and <0. */
int acd_session_interp_check(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			     struct acd_session *s, bool need_alive);

/* Priority knobs and the ladder are on (config containment.enabled). */
static inline bool acd_contain_enabled(const struct acd_ctx *ctx)
{
	return ctx->cfg.contain.enabled;
}

/* priority.c: the class knobs of a session, oom_score_adj of processes */
int acd_prio_session_apply(struct acd_ctx *ctx, struct acd_session *s);
void acd_prio_session_gone(struct acd_ctx *ctx);
int acd_prio_oom_adj(pid_t pid, int adj);
/* A call without its own priority takes its session's. */
void acd_prio_call_resolve(struct acd_ctx *ctx, struct acd_call *call);
/* oom_score_adj of the class for pid (a stub: what it starts inherits it). */
void acd_prio_process(struct acd_ctx *ctx, enum ac_priority prio, pid_t pid);
void acd_prio_interp_process(struct acd_ctx *ctx, pid_t pid, const struct acd_session *s);

/* pressure.c: detection. The root's budget is written and its watchers
 * (PSI trigger, memory.events or v1 usage thresholds, the BPF mark) set
 * up; tenants and sessions get theirs as they come. Every source kicks
 * the ladder (contain.c). */
int acd_pressure_init(struct acd_ctx *ctx);
void acd_pressure_shutdown(struct acd_ctx *ctx);
int acd_pressure_tenant_add(struct acd_ctx *ctx, struct acd_tenant *t);
void acd_pressure_tenant_remove(struct acd_ctx *ctx, struct acd_tenant *t);
void acd_pressure_session_add(struct acd_ctx *ctx, struct acd_session *s);
void acd_pressure_session_remove(struct acd_ctx *ctx, struct acd_session *s);
/* The BPF programs saw the root's charge pass the armed mark. */
void acd_pressure_kernel_event(struct acd_ctx *ctx, uint64_t bytes);
/* Samples every domain's usage and band. */
void acd_pressure_sample(struct acd_ctx *ctx, uint64_t now);
/* Arms the kernel-side mark just above the root's current band. */
void acd_pressure_rearm(struct acd_ctx *ctx);
json_t *acd_pressure_info(struct acd_ctx *ctx);

/* contain.c: the ladder throttle -> freeze -> kill, by priority. */
void acd_contain_kick(struct acd_ctx *ctx, const char *why);
/* The domain whose band would freeze a call of class prio of session s
 * as it starts (admission then holds it back), or NULL. */
const struct acd_domain *acd_contain_holds_back(struct acd_ctx *ctx, const struct acd_session *s,
						enum ac_priority prio);
/* The next ladder step: ms until it, or -1. */
int acd_contain_tick(struct acd_ctx *ctx);
/* The call ended or is ending: let go of it, fill end.contain. */
void acd_contain_call_end(struct acd_ctx *ctx, struct acd_call *call);

/* call.c: SIGCONT to the call's tasks the BPF programs stopped (SIGSTOP),
 * so the cgroup freezer alone holds them and a thaw resumes them. */
void acd_call_continue_stopped(struct acd_ctx *ctx, struct acd_call *call);

/* call.c: the last step of the ladder (a cell is interrupted instead). */
void acd_call_pressure_stop(struct acd_ctx *ctx, struct acd_call *call);

/* events.c */
void acd_event(struct acd_ctx *ctx, const char *type, const char *path, json_t *details);
void acd_method_events_subscribe(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
				 json_t *params);

#endif
