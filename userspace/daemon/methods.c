// SPDX-License-Identifier: GPL-2.0
/* The method table and its dispatcher. A row says what a method takes
 * (params, path) and who may call it; the dispatcher checks the params'
 * names, parses the path, checks an operators' method's caller, resolves
 * the path, checks the caller against the node (access.h), and then calls the
 * handler, replying whatever error the handler returns. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "agentcg/util.h"
#include "methods.h"
#include "rpc.h"
#include "server.h"

static const char *const k_path[] = { "path", NULL };

static const struct acd_method methods[] = {
	/* name, handler, params, path, depth min..max, permission */
	/* params NULL: unchecked (events.subscribe and daemon.info ignore
	 * what they do not know, as they always did; call.run checks its
	 * own, naming every bad field in one error) */
	{ "call.run", acd_m_call_run, NULL, ACD_PATH_NONE, 0, 0, ACD_PERM_ANY },
	{ "session.create", acd_m_session_create,
	  (const char *const[]){ "path", "budget", "priority", "lang", "persist", "interpreter", NULL },
	  ACD_PATH_PARENT, AC_LEVEL_SESSION, AC_LEVEL_SESSION, ACD_PERM_MEMBER },
	{ "session.close", acd_m_session_close, k_path, ACD_PATH_RESOLVE, AC_LEVEL_SESSION,
	  AC_LEVEL_SESSION, ACD_PERM_OWNER },
	{ "session.exec", acd_m_session_exec, (const char *const[]){ "path", "code", "intent", NULL },
	  ACD_PATH_RESOLVE, AC_LEVEL_SESSION, AC_LEVEL_SESSION, ACD_PERM_OWNER },
	{ "session.get", acd_m_session_get, (const char *const[]){ "path", "name", NULL },
	  ACD_PATH_RESOLVE, AC_LEVEL_SESSION, AC_LEVEL_SESSION, ACD_PERM_OWNER },
	{ "session.set", acd_m_session_set, (const char *const[]){ "path", "name", "value", NULL },
	  ACD_PATH_RESOLVE, AC_LEVEL_SESSION, AC_LEVEL_SESSION, ACD_PERM_OWNER },
	{ "session.reset", acd_m_session_reset, k_path, ACD_PATH_RESOLVE, AC_LEVEL_SESSION,
	  AC_LEVEL_SESSION, ACD_PERM_OWNER },
	{ "session.interrupt", acd_m_session_interrupt, k_path, ACD_PATH_RESOLVE, AC_LEVEL_SESSION,
	  AC_LEVEL_SESSION, ACD_PERM_OWNER },
	{ "tenant.create", acd_m_tenant_create, (const char *const[]){ "path", "budget", NULL },
	  ACD_PATH_FREE, AC_LEVEL_TENANT, AC_LEVEL_TENANT, ACD_PERM_OPERATOR },
	{ "tenant.remove", acd_m_tenant_remove, k_path, ACD_PATH_RESOLVE, AC_LEVEL_TENANT,
	  AC_LEVEL_TENANT, ACD_PERM_OPERATOR },
	{ "cg.list", acd_m_cg_list, (const char *const[]){ "path", "recursive", NULL },
	  ACD_PATH_RESOLVE, 0, AC_LEVEL_SESSION, ACD_PERM_LIST },
	{ "cg.stat", acd_m_cg_stat, k_path, ACD_PATH_RESOLVE, 0, AC_LEVEL_CALL, ACD_PERM_READ },
	{ "cg.cat", acd_m_cg_cat, (const char *const[]){ "path", "file", NULL }, ACD_PATH_RESOLVE,
	  0, AC_LEVEL_CALL, ACD_PERM_READ },
	{ "cg.set", acd_m_cg_set, (const char *const[]){ "path", "file", "value", NULL },
	  ACD_PATH_RESOLVE, 0, AC_LEVEL_CALL, ACD_PERM_OPERATOR },
	{ "cg.kill", acd_m_cg_kill, k_path, ACD_PATH_RESOLVE, 0, AC_LEVEL_CALL, ACD_PERM_OWNER },
	{ "cg.freeze", acd_m_cg_freeze, k_path, ACD_PATH_RESOLVE, 0, AC_LEVEL_CALL,
	  ACD_PERM_OWNER },
	{ "cg.thaw", acd_m_cg_thaw, k_path, ACD_PATH_RESOLVE, 0, AC_LEVEL_CALL, ACD_PERM_OWNER },
	{ "events.subscribe", acd_m_events_subscribe, NULL, ACD_PATH_FREE, 0, AC_LEVEL_CALL,
	  ACD_PERM_ANY },
	{ "daemon.info", acd_m_daemon_info, NULL, ACD_PATH_NONE, 0, 0, ACD_PERM_ANY },
	/* the series name tenants and sessions, and count every tenant's calls */
	{ "metrics", acd_m_metrics, (const char *const[]){ NULL }, ACD_PATH_NONE, 0, 0,
	  ACD_PERM_OPERATOR },
};

/* ---- errors ---------------------------------------------------------- */

int acd_req_fail(struct acd_req *r, int code, json_t *data, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err_msg, sizeof(r->err_msg), fmt, ap);
	va_end(ap);
	r->err_code = code;
	json_decref(r->err_data);
	r->err_data = data;
	return code == RPC_PERMISSION ? -EPERM : code == RPC_NOT_FOUND ? -ENOENT : -EINVAL;
}

int acd_req_quota(struct acd_ctx *ctx, struct acd_req *r, enum acd_quota q)
{
	char msg[200];

	acd_quota_message(ctx, r->c->uid, q, msg, sizeof(msg));
	return acd_req_fail(r, RPC_PERMISSION, acd_quota_data(ctx, q), "%s", msg);
}

int acd_req_invalid(struct acd_req *r, const char *field, const char *fmt, ...)
{
	char what[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return acd_req_fail(r, RPC_INVALID_PARAMS, json_pack("{s:s}", field, what),
			    "invalid params");
}

int acd_req_errno(struct acd_req *r, int err, const char *what)
{
	acd_req_fail(r, RPC_SYSTEM, json_pack("{s:i, s:s}", "errno", -err, "message", strerror(-err)),
		     "%s: %s", what, strerror(-err));
	return err < 0 ? err : -EIO;
}

const struct ac_cg_node *acd_req_node(struct acd_ctx *ctx, const struct acd_req *r)
{
	return r->call ? &r->call->node : r->s ? &r->s->node : r->t ? &r->t->node : &ctx->cg.root;
}

/* ---- the checks ------------------------------------------------------ */

static int check_keys(const struct acd_method *m, struct acd_req *r)
{
	struct ac_errors errs = { 0 };

	if (!m->keys)
		return 0;
	acd_params_unknown(r->params, m->keys, &errs);
	if (!errs.n)
		return 0;
	return acd_req_fail(r, RPC_INVALID_PARAMS, ac_errors_to_json(&errs), "invalid params");
}

static int parse_path(const struct acd_method *m, struct acd_req *r)
{
	json_t *v = json_object_get(r->params, "path");
	const char *what = m->depth_min == AC_LEVEL_SESSION && m->depth_max == AC_LEVEL_SESSION ?
				   "a session path \"/tenant/session\"" :
			   m->depth_min == AC_LEVEL_TENANT && m->depth_max == AC_LEVEL_TENANT ?
				   "a tenant path \"/tenant\"" :
				   "a path \"/tenant/session/call\"";

	r->p.depth = 0;
	if (!v && m->depth_min == 0)
		return 0;
	if (!json_is_string(v) || ac_path_parse(json_string_value(v), &r->p) < 0 ||
	    r->p.depth < m->depth_min || r->p.depth > m->depth_max)
		return acd_req_invalid(r, "path", "must be %s of names [A-Za-z0-9_.-]{1,64}", what);
	return 0;
}

static int resolve(struct acd_ctx *ctx, struct acd_req *r, int depth)
{
	struct ac_path up = r->p;
	char shown[256];

	if (depth >= 1 && !(r->t = acd_tenant_find(ctx, r->p.comp[0])))
		goto missing;
	/* what a tenant holds is not even named to those who may not see it */
	if (depth >= 2 && !r->operator && !acd_access_sees_tenant(ctx, r->c, r->t))
		return acd_req_fail(r, RPC_PERMISSION,
				    json_pack("{s:s, s:s}", "path", r->t->path, "reason",
					      "not a member of this tenant"),
				    "permission denied: not a member of tenant %s", r->t->name);
	if (depth >= 2 && !(r->s = acd_session_find(r->t, r->p.comp[1])))
		goto missing;
	if (depth >= 3 && !(r->call = acd_call_find(r->s, r->p.comp[2])))
		goto missing;
	return 0;
missing:
	up.depth = depth;
	ac_path_format(&up, shown, sizeof(shown));
	return acd_req_fail(r, RPC_NOT_FOUND, json_pack("{s:s}", "path", shown),
			    "no such tenant, session or call: %s", shown);
}

static int refuse(struct acd_req *r, const char *why)
{
	return acd_req_fail(r, RPC_PERMISSION, json_pack("{s:s, s:s}", "path", r->path, "reason", why),
			    "permission denied: %s", why);
}

/* The path's node against the caller (the operator's case is done). */
static int check_access(struct acd_ctx *ctx, const struct acd_method *m, struct acd_req *r)
{
	switch (m->perm) {
	case ACD_PERM_ANY:
	case ACD_PERM_OPERATOR:
		return 0;
	case ACD_PERM_MEMBER:
		if (acd_access_member(ctx, r->c, r->t))
			return 0;
		return refuse(r, "not a member of this tenant (README \"Security model\")");
	case ACD_PERM_OWNER:
		if (r->s && acd_access_owns(ctx, r->c, r->s))
			return 0;
		return refuse(r, r->s ? "the session is another user's" :
					"a tenant or the whole tree: operators only");
	case ACD_PERM_READ:
	case ACD_PERM_LIST:
		if (r->s ? acd_access_owns(ctx, r->c, r->s) :
		    r->t ? acd_access_sees_tenant(ctx, r->c, r->t) :
			   m->perm == ACD_PERM_LIST)
			return 0;
		return refuse(r, r->s ? "the session is another user's" :
				 r->t ? "not a member of this tenant" :
					"the whole tree: operators only");
	}
	return -EINVAL;
}

static int run(struct acd_ctx *ctx, const struct acd_method *m, struct acd_req *r)
{
	int r_;

	if ((r_ = check_keys(m, r)) < 0)
		return r_;
	if (m->path != ACD_PATH_NONE && (r_ = parse_path(m, r)) < 0)
		return r_;
	ac_path_format(&r->p, r->path, sizeof(r->path));
	r->operator = acd_access_operator(ctx, r->c);
	if (m->perm == ACD_PERM_OPERATOR && !r->operator)
		return acd_req_fail(r, RPC_PERMISSION, json_pack("{s:s}", "method", m->name),
				    "permission denied: %s is for operators only (root, or the "
				    "configured operators)", m->name);
	if (m->path == ACD_PATH_RESOLVE && (r_ = resolve(ctx, r, r->p.depth)) < 0)
		return r_;
	if (m->path == ACD_PATH_PARENT && (r_ = resolve(ctx, r, r->p.depth - 1)) < 0)
		return r_;
	if (!r->operator && (r_ = check_access(ctx, m, r)) < 0)
		return r_;
	return m->fn(ctx, r);
}

int acd_methods_dispatch(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			 const char *method, json_t *params)
{
	const struct acd_method *m = NULL;
	struct acd_req r = { .c = c, .id = id, .params = params };

	for (size_t i = 0; i < AC_ARRAY_SIZE(methods); i++)
		if (!strcmp(methods[i].name, method))
			m = &methods[i];
	if (!m)
		return -ENOENT;
	if (ctx->stopping) {
		acd_reply_error(ctx, c, id, RPC_SHUTTING_DOWN, "daemon is shutting down", NULL);
		return 0;
	}
	if (run(ctx, m, &r) < 0) {
		if (!r.err_code) /* a handler that set no error */
			acd_req_errno(&r, -EIO, method);
		acd_reply_error(ctx, c, id, r.err_code, r.err_msg, r.err_data);
		r.err_data = NULL;
	}
	json_decref(r.err_data);
	return 0;
}
