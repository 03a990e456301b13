/* SPDX-License-Identifier: GPL-2.0 */
/* The methods (layer 6): one declarative table (methods.c) of every
 * JSON-RPC method, with the params it allows, the depth of the path it
 * takes, whether that path must exist, and who may call it. The
 * dispatcher checks all of that once; a handler gets the request with its
 * path resolved, and replies, or returns an error for the dispatcher to
 * reply. */
#ifndef AGENTCGD_METHODS_H
#define AGENTCGD_METHODS_H

#include "call.h"
#include "daemon.h"
#include "quota.h"
#include "tree.h"

/* Who may call a method, on the node its path names (access.h; README
 * "Security model"). Operators (root, the configured groups) pass all. */
enum acd_perm {
	ACD_PERM_ANY,	   /* every client (the handler filters what it shows) */
	ACD_PERM_OPERATOR, /* operators only (checked before the path is resolved) */
	ACD_PERM_MEMBER,   /* the path's tenant admits the caller (session.create) */
	ACD_PERM_OWNER,	   /* a session, or a call in it: its owner */
	ACD_PERM_READ,	   /* owner of a session or call; a tenant's member; "/": operators */
	ACD_PERM_LIST,	   /* as READ, and "/" for everyone (the handler filters) */
};

/* How the path is taken. */
enum acd_path_use {
	ACD_PATH_NONE,	 /* no "path" (or the handler reads it itself) */
	ACD_PATH_RESOLVE, /* it must exist */
	ACD_PATH_PARENT, /* its parent must exist (the node is made) */
	ACD_PATH_FREE,	 /* a prefix: parsed, never resolved */
};

/* A request the dispatcher let through. */
struct acd_req {
	struct acd_client *c;
	bool operator;	   /* the caller is an operator (access.h) */
	json_t *id;
	json_t *params;
	struct ac_path p;  /* depth 0 ("/") without a path */
	char path[256];	   /* p, formatted */
	struct acd_tenant *t; /* what the path names (and above) */
	struct acd_session *s;
	struct acd_call *call;
	/* a handler's error, replied by the dispatcher (code 0: none) */
	int err_code;
	char err_msg[400];
	json_t *err_data;
};

/* A handler: 0 when it replied (or keeps id to reply later), <0 with the
 * error set by acd_req_fail / acd_req_invalid / acd_req_errno. */
typedef int (*acd_method_fn)(struct acd_ctx *ctx, struct acd_req *r);

struct acd_method {
	const char *name;
	acd_method_fn fn;
	const char *const *keys; /* allowed params, NULL-terminated; NULL: the handler checks */
	enum acd_path_use path;
	int8_t depth_min, depth_max; /* AC_LEVEL_*; depth_min 0: path may be absent */
	enum acd_perm perm;
};

/* ctx->hooks.dispatch: -ENOENT for an unknown method. */
int acd_methods_dispatch(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			 const char *method, json_t *params);

/* Errors for the dispatcher to reply; each returns a negative errno.
 * data is stolen. */
int acd_req_fail(struct acd_req *r, int code, json_t *data, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Invalid params naming one field. */
int acd_req_invalid(struct acd_req *r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A refusal by a per-uid quota (-32005, data {"limit", "max"}). */
int acd_req_quota(struct acd_ctx *ctx, struct acd_req *r, enum acd_quota q);
/* A failed system operation (err < 0). */
int acd_req_errno(struct acd_req *r, int err, const char *what);
/* The node the path names: the call's, session's, tenant's or the root. */
const struct ac_cg_node *acd_req_node(struct acd_ctx *ctx, const struct acd_req *r);

/* The handlers, by file. */
/* methods_cg.c */
int acd_m_cg_list(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_cg_stat(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_cg_cat(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_cg_set(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_cg_kill(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_cg_freeze(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_cg_thaw(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_events_subscribe(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_daemon_info(struct acd_ctx *ctx, struct acd_req *r);
/* methods_session.c */
int acd_m_session_create(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_session_close(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_session_get(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_session_set(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_session_reset(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_session_interrupt(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_tenant_create(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_tenant_remove(struct acd_ctx *ctx, struct acd_req *r);
/* The session of an interpreter request has an interpreter (alive, if
 * need_alive). */
int acd_req_interp(struct acd_req *r, bool need_alive);
/* methods_metrics.c: the Prometheus text of every module's families
 * (into out, at most ACD_METRICS_TEXT_MAX bytes), and the method */
#define ACD_METRICS_TEXT_MAX (2u << 20)
int acd_metrics_text(struct acd_ctx *ctx, struct ac_buf *out);
int acd_m_metrics(struct acd_ctx *ctx, struct acd_req *r);
/* methods_call.c */
int acd_m_call_run(struct acd_ctx *ctx, struct acd_req *r);
int acd_m_session_exec(struct acd_ctx *ctx, struct acd_req *r);

#endif
