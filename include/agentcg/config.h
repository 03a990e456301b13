/* SPDX-License-Identifier: GPL-2.0 */
/* Daemon configuration: a JSON file (config/agentcgd.json is shipped and
 * embedded as the default). Parsing only; no I/O beyond reading the file. */
#ifndef AGENTCG_CONFIG_H
#define AGENTCG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agentcg/intent.h"
#include "agentcg/names.h"

#define AC_TENANTS_MAX 256
#define AC_PATH_MAX 4096
#define AC_CALL_POOL_MAX 64

/* A budget of a tenant or session; 0 / AC_UNLIMITED as in ac_limits. */
struct ac_budget {
	uint64_t memory_max; /* AC_UNLIMITED if absent */
	double cpu;	     /* cores; 0 = unlimited */
	uint64_t pids_max;   /* AC_UNLIMITED if absent */
};

#define AC_INTERP_POOL_MAX 64
#define AC_ACCOUNT_MAX 33  /* a user or group name, as Linux allows (32) */
#define AC_MEMBERS_MAX 16  /* users, and groups, named per list */
/* interpreters.uid_range by default: past systemd's dynamic users
 * (61184-65519), shadow's subordinate ids (100000-600100000 by default)
 * and systemd-nspawn's container ranges (524288-1879048191), below 2^31
 * (README "Interpreter sessions"). */
#define AC_INTERP_UID_FIRST 1879048192u
#define AC_INTERP_UID_LAST 1879113727u
#define AC_INTERP_UIDS_MAX (1u << 20) /* uids a range may hold */

/* Local users and groups, by name ("*" in users: every local user). */
struct ac_members {
	bool everyone;
	int n_users, n_groups;
	char users[AC_MEMBERS_MAX][AC_ACCOUNT_MAX];
	char groups[AC_MEMBERS_MAX][AC_ACCOUNT_MAX];
};

/* A tenant: its budget, who belongs to it and what they may ask for
 * (README "Security model"). Operators are bound by none of it. */
struct ac_tenant_config {
	char name[AC_NAME_MAX + 1];
	struct ac_budget budget;
	struct ac_members members;	    /* may create sessions in it */
	enum ac_priority max_priority;	    /* the highest a member may ask (normal) */
	bool has_session_budget;	    /* else the global session_budget */
	struct ac_budget session_budget;    /* the most a member's session may get */
};

/* Stateful interpreter sessions (session.exec). */
struct ac_interp_config {
	uint32_t uid_first, uid_last; /* dynamic uids: one per interpreter (uid_range) */
	char python[AC_PATH_MAX];  /* default interpreter binaries */
	char bash[AC_PATH_MAX];
	int pool_python;	   /* pre-started interpreters per language */
	int pool_bash;
};

/* What a priority class gets (cgroup knobs and OOM preference). */
struct ac_prio_class {
	uint32_t cpu_weight;	/* cpu.weight (v2) / cpu.shares = weight*1024/100 (v1) */
	int oom_score_adj;	/* written for the class's processes */
	bool protect;		/* memory.low (v2) / a soft limit (v1) of its budget */
};

/* Graduated containment under memory pressure (userspace/daemon/contain.c):
 * fractions of the budget a pressure domain (the root, a tenant) is at. */
/* Whether the ladder freezes running calls for memory: a frozen call
 * frees nothing unless its pages can go to swap, so "auto" freezes only
 * while the host has swap (or zswap) and otherwise holds new calls back
 * at admission instead. */
enum ac_freeze_mode { AC_FREEZE_AUTO = 0, AC_FREEZE_ON, AC_FREEZE_OFF };

struct ac_containment {
	bool enabled;	    /* false: no priority knobs, no ladder */
	enum ac_freeze_mode freeze;
	uint64_t hold_max_ns; /* longest a call waits at admission for pressure */
	bool forecast;	    /* hold mode: hold a call its label's history says would overflow */
	bool forecast_high; /* ... and a high call that would not fit beside other high calls */
	uint64_t stall_ns;  /* nothing moved this long: let a contained call go */
	uint64_t free_ns;   /* ... for this long */
	double throttle_at; /* throttle low-priority calls */
	double freeze_at;   /* freeze low, throttle normal */
	double kill_at;	    /* freeze normal, kill frozen low then normal */
	double thaw_below;  /* undo one step per `step` below this */
	uint64_t step_ns;   /* between ladder steps while contained */
	int interp_oom_score_offset; /* an interpreter: its session class's score plus this */
	struct ac_prio_class cls[3]; /* by enum ac_priority */
};

/* Adaptive intents: a call without `memory` but with a `label` gets the
 * p95 of that label's recent peaks times margin (userspace/common/history.c). */
struct ac_adaptive_config {
	bool enabled;
	double margin;	      /* >= 1 */
	uint32_t min_samples; /* peaks a label needs first (1..window) */
	uint32_t window;      /* last peaks kept per label (1..64) */
};

/* Quotas per uid: what one local user may hold at once (operators are
 * exempt). Counts, and bytes for interp_op_bytes. */
#define AC_QUOTA_MAX 1000000
struct ac_per_uid {
	uint32_t connections;	/* open connections to the socket */
	uint32_t sessions;	/* sessions it created (session.create, call.run) */
	uint32_t calls_running; /* its commands and cells running */
	uint32_t calls_waiting; /* waiting for budget, or queued at an interpreter */
	uint32_t interp_ops;	/* session.get / set / reset queued at interpreters */
	uint64_t interp_op_bytes; /* bytes of those queued requests */
	uint32_t subscriptions; /* connections subscribed to events */
};

/* metrics_listen: where agentcgd serves GET /metrics (README "Metrics").
 * The metrics name tenants and sessions, so only a loopback address or a
 * unix socket is taken: a loopback port is open to every local user, a
 * unix socket only to root and its group (metrics_group). */
enum ac_metrics_kind { AC_METRICS_OFF = 0, AC_METRICS_TCP4, AC_METRICS_TCP6, AC_METRICS_UNIX };
#define AC_METRICS_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */

struct ac_metrics_listen {
	enum ac_metrics_kind kind;
	uint8_t addr[16];		/* TCP: the loopback address, network order */
	uint16_t port;			/* TCP: 1-65535 */
	char path[AC_METRICS_PATH_MAX]; /* unix: an absolute path */
	char group[AC_ACCOUNT_MAX];	/* unix: the socket's group ("": root's) */
	char spec[AC_METRICS_PATH_MAX]; /* as configured, for log lines */
};

struct ac_config {
	char socket_path[AC_PATH_MAX];	/* "" = not set (use env / built-in) */
	unsigned int socket_mode;	/* permission bits of the socket, e.g. 0666 */
	char root[AC_PATH_MAX];		/* "auto", relative or absolute */
	uint64_t output_limit;		/* bytes captured per stream per call */
	uint64_t max_request;		/* bytes of one request line */
	uint64_t max_reply_backlog;	/* unread reply bytes before a client is dropped */
	uint64_t admission_wait_max_ns; /* longest wait for budget */
	struct ac_per_uid per_uid;	/* quotas of each non-operator uid */
	uint64_t partial_line_ns;	/* a client's unfinished request line; 0: no bound */
	uint64_t runner_frame_max;	/* 0 ("auto"): ac_config_runner_frame_max derives it */
	int call_pool;			/* spare call cgroups (with a stub) per session */
	bool bpf;			/* load the BPF programs (bpf/agentcg.bpf.c) */
	uint64_t memory_budget;		/* root memory limit; AC_UNLIMITED: none */
	struct ac_containment contain;
	struct ac_interp_config interp;
	struct ac_intent_defaults defaults;
	struct ac_adaptive_config adaptive;
	struct ac_budget session_budget; /* default budget of a new session */
	struct ac_members operators;	 /* groups (users) who act as root does */
	bool tenants_on_demand;		 /* create unknown tenants on first use (operators) */
	struct ac_budget tenant_budget;	 /* budget of on-demand tenants */
	struct ac_metrics_listen metrics; /* metrics_listen, metrics_group */
	int n_tenants;
	struct ac_tenant_config tenants[AC_TENANTS_MAX];
};

/* Parses a metrics_listen value: "" (off), "127.0.0.1:PORT" (any address
 * of 127.0.0.0/8), "[::1]:PORT" or an absolute unix socket path. Anything
 * else, a non-loopback address above all, is -EINVAL with why (a
 * sentence) in why. Leaves out->group alone. */
int ac_metrics_listen_parse(const char *s, struct ac_metrics_listen *out, char *why, size_t len);

/* The built-in values (used for anything a file leaves out). */
void ac_config_init(struct ac_config *cfg);

/* Parses JSON text over the current cfg contents (so call ac_config_init
 * first): objects (defaults, budgets) merge key by key, "tenants" replaces
 * the whole list (the built-in list is one tenant "default"; a listed
 * tenant's absent budget fields are unlimited). Unknown keys and bad
 * values are errors: -EINVAL and a message naming the key path in err
 * ("defaults.memroy: unknown key"); cfg is then left unchanged. */
int ac_config_parse(struct ac_config *cfg, const char *text, size_t len, char *err, size_t errlen);
int ac_config_load_file(struct ac_config *cfg, const char *path, char *err, size_t errlen);

/* The embedded copy of config/agentcgd.json. */
extern const char ac_default_config[];
extern const size_t ac_default_config_len;
int ac_config_load_default(struct ac_config *cfg, char *err, size_t errlen);

/* The largest frame a runner may send: runner_frame_max, or for "auto"
 * twice the larger of max_request and output_limit, plus 64K. */
uint64_t ac_config_runner_frame_max(const struct ac_config *cfg);

const struct ac_tenant_config *ac_config_find_tenant(const struct ac_config *cfg, const char *name);
/* The most a member's session may get in tenant tc (its own, or the
 * global session_budget); tc may be NULL (a tenant not in the file). */
const struct ac_budget *ac_config_session_budget(const struct ac_config *cfg,
						 const struct ac_tenant_config *tc);

#endif
