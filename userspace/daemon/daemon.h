/* SPDX-License-Identifier: GPL-2.0 */
/* agentcgd: the one context struct and what every module shares. Each
 * module has a header of its own for its types and functions; this one
 * holds only the loop's watch type, the RPC error codes, the upcalls and
 * the context.
 *
 * The modules, in layers (a file uses its own layer and the ones below;
 * a lower layer reaches a higher one only through an upcall in
 * ctx->hooks, which hooks.c fills; tests/check_layers.sh checks both the
 * includes and the objects' symbols in make check):
 *
 *   6  methods (methods.c, methods_*.c: the method table, the handlers;
 *      methods_metrics.c puts every module's metrics together),
 *      metrics_http (GET /metrics on metrics_listen), main (the loop,
 *      background work), hooks (the upcalls' table)
 *   5  call (call*.c), contain (the ladder), interp (interpreters),
 *      interp_check (session.create's interpreter check, off the loop),
 *      adaptive (label history)
 *   4  tree (tenants, sessions), pool (spare cgroups), priority (class knobs),
 *      access (operators, tenant members and policy, owners)
 *   3  bpf (programs, calls map, ring buffer), pressure (domains, kernel
 *      pressure sources), procs (a call's process list), mover (moves
 *      running processes between cgroups on a worker thread), uids (the
 *      interpreters' dynamic uids)
 *   2  events (subscribers)
 *   1  server (socket, clients, watches), rpc (envelopes, replies),
 *      quota (what each uid holds, against per_uid), service (systemd:
 *      sd_notify, the activated socket), peercred (a connection's uid,
 *      TCP peers' from sock_diag)
 *   0  daemon.h; metrics (the Prometheus text builder), http (a request
 *      head checked, a response head written): both pure;
 *      userspace/cgroup (backends, spawn: libagentcg-cgroup.a);
 *      userspace/common (libagentcg-common.a)
 */
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
/* The last of the client slots: for operators only (server.c). */
#define ACD_OPERATOR_CLIENTS 64
#define ACD_MAX_PASSED_FDS 16
#define ACD_MAX_ARGS 4096
#define ACD_MAX_ENV 4096
/* Deepest value session.set passes to an interpreter (the runner's
 * MAX_DEPTH). */
#define ACD_VALUE_DEPTH_MAX 256

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
struct acd_client;
struct acd_session;
struct acd_tenant;
struct acd_bpf;
struct acd_bpf_call;
struct acd_pressure;
struct acd_pool;
struct acd_interp_pool;
struct acd_interp_checks;
struct acd_contain;
struct acd_quotas;
struct acd_mover;
struct acd_uids;
struct acd_calls;
struct acd_access;
struct acd_metrics_http;
struct acb_event;

/* Every fd in the epoll set carries one of these. */
struct acd_watch {
	int fd;
	void (*fn)(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events);
};

/* Upcalls: how a lower layer reaches a higher one (hooks.c fills them). */
struct acd_hooks {
	/* rpc: a checked request to the method table; -ENOENT: no such method */
	int (*dispatch)(struct acd_ctx *ctx, struct acd_client *c, json_t *id, const char *method,
			json_t *params);
	/* server: a client goes away (its calls, its interpreter requests) */
	void (*client_gone)(struct acd_ctx *ctx, struct acd_client *c);
	/* bpf: a ring buffer record of a registered call's process */
	void (*bpf_record)(struct acd_ctx *ctx, struct acd_bpf_call *bc, const struct acb_event *e);
	/* pressure: a source fired; the ladder takes a step */
	void (*pressure_kick)(struct acd_ctx *ctx, const char *why);
	/* tree: a session is being removed (its interpreter goes first) */
	void (*session_removing)(struct acd_ctx *ctx, struct acd_session *s);
	/* events: may subscriber c see what happens at path? */
	bool (*event_visible)(struct acd_ctx *ctx, const struct acd_client *c, const char *path);
};

/* The operators beyond root (config "operators"), resolved at start. */
struct acd_operators {
	int n_uids, n_gids;
	uid_t uids[AC_MEMBERS_MAX];
	gid_t gids[AC_MEMBERS_MAX];
};

struct acd_ctx {
	struct ac_config cfg;
	struct ac_cgroup cg;
	const char *force_backend;
	char socket_path[AC_PATH_MAX];
	int epfd;
	int devnull; /* stdin of captured calls */
	struct acd_watch signal_w;
	struct acd_hooks hooks;
	struct acd_operators operators; /* access.c fills it; server.c reads it */
	/* server.c */
	struct acd_watch listen_w;
	bool listen_activated; /* systemd's socket: never unlinked here */
	struct acd_client *clients;
	int n_clients;
	int max_clients; /* ACD_MAX_CLIENTS, or fewer if the fd limit is low */
	/* clients with an unfinished request line, oldest line first */
	struct acd_client *partial_first, *partial_last;
	uint64_t client_serial;
	struct acd_client *dead_clients; /* freed after the current epoll batch */
	/* events.c */
	int n_subscribed; /* clients subscribed to events */
	/* tree.c */
	struct acd_tenant *tenants;
	/* priority.c */
	uint64_t root_memory_low; /* written sum */
	/* each module's own state (NULL until its init) */
	struct acd_bpf *bpf;		     /* bpf.c; NULL: not loaded */
	struct acd_pressure *pressure;	     /* pressure.c */
	struct acd_pool *pool;		     /* pool.c */
	struct acd_calls *calls;	     /* call*.c */
	struct acd_contain *contain;	     /* contain.c */
	struct acd_interp_pool *interp_pool; /* interp.c */
	struct acd_interp_checks *interp_checks; /* interp_check.c; NULL until the first */
	struct acd_quotas *quotas;	     /* quota.c: per-uid counts */
	struct acd_access *access;	     /* access.c */
	struct acd_mover *mover;	     /* mover.c */
	struct acd_uids *uids;		     /* uids.c */
	struct acd_service *service;	     /* service.c: systemd */
	struct acd_metrics_http *mhttp;	     /* metrics_http.c; NULL: no metrics_listen */
	/* shared: what every layer may read */
	int calls_running;
	uint64_t calls_total;
	bool idle_work;		/* background work (pool, removal) may be pending */
	bool trim_pending;	/* a big request or frame was freed: main.c gives the
				 * heap's free pages back after this batch */
	uint64_t last_idle_ns;	/* main.c: the last background step */
	bool stopping;
	uint64_t stop_deadline_ns;
	int exit_code;
};

/* A parsed request or frame this large takes many small allocations
 * (up to ~20x its text); when it is freed, the heap is trimmed. */
#define ACD_TRIM_AFTER (64 * 1024)

static inline void acd_freed_big(struct acd_ctx *ctx, size_t text_len)
{
	if (text_len >= ACD_TRIM_AFTER)
		ctx->trim_pending = true;
}

/* Priority knobs and the ladder are on (config containment.enabled). */
static inline bool acd_contain_enabled(const struct acd_ctx *ctx)
{
	return ctx->cfg.contain.enabled;
}

#endif
