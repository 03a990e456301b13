// SPDX-License-Identifier: GPL-2.0
/* The call methods: call.run (a command, as a call of a session made on
 * demand) and session.exec (a cell of the session's interpreter). They
 * check the request and hand the call to the call module (call.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "interp.h"
#include "methods.h"
#include "rpc.h"
#include "server.h"

#define DEFAULT_WAIT_NS (60ULL * 1000000000)
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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
	ac_strv_free(v);
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

/* ac_intent_from_json starts its own list of errors: merged into errs. */
static void intent_from_json_into(const json_t *obj, struct ac_intent *in, struct ac_errors *errs)
{
	struct ac_errors ierrs = { 0 };

	if (ac_intent_from_json(obj, in, &ierrs) < 0)
		for (int i = 0; i < ierrs.n; i++)
			ac_errors_add(errs, ierrs.e[i].field, "%s", ierrs.e[i].msg);
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
static int parse_run(struct acd_ctx *ctx, struct acd_client *c, bool operator,
		     const json_t *params, struct acd_call *call, struct run_req *req,
		     struct ac_errors *errs, int *rpc_code)
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
	intent_from_json_into(json_object_get(params, "intent"), &call->intent, errs);

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
		if (!operator) {
			*rpc_code = RPC_PERMISSION;
			ac_errors_add(errs, "user", "only operators may run a call as another user");
		} else {
			resolve_user(v, call, errs);
		}
	}
	return errs->n ? -EINVAL : 0;
}

static int refuse(struct acd_req *r, const char *path, const char *limit, const char *why)
{
	json_t *data = json_pack("{s:s, s:s}", "path", path, "reason", why);

	if (limit)
		json_object_set_new(data, "limit", json_string(limit));
	return acd_req_fail(r, RPC_PERMISSION, data, "permission denied: %s", why);
}

/* The session of a call.run: the caller's own, or made on demand for
 * them (a member, within the tenant's policy); tenants are made on
 * demand (when the configuration says so) for operators only. */
static int session_for(struct acd_ctx *ctx, struct acd_req *r, const struct ac_path *p,
		       enum ac_priority prio, struct acd_session **out)
{
	struct acd_tenant *t = acd_tenant_find(ctx, p->comp[0]);
	struct acd_session *s;
	char limit[AC_NAME_MAX + 40], why[300];
	int err;

	/* what a tenant holds is not even named to those who may not see it */
	if (t && !r->operator && !acd_access_sees_tenant(ctx, r->c, t))
		return refuse(r, t->path, NULL, "not a member of this tenant");
	s = t ? acd_session_find(t, p->comp[1]) : NULL;

	/* over the quota, not even a tenant is made on demand */
	if (!s && acd_quota_check(ctx, r->c->uid, r->operator, ACD_Q_SESSIONS, 1) < 0)
		return acd_req_quota(ctx, r, ACD_Q_SESSIONS);
	if (!t && ctx->cfg.tenants_on_demand && r->operator) {
		err = acd_tenant_create(ctx, p->comp[0], &ctx->cfg.tenant_budget, &t);
		if (err < 0)
			return acd_req_errno(r, err, "cannot create tenant");
	}
	if (!t)
		return acd_req_fail(r, RPC_NOT_FOUND, json_pack("{s:s}", "path", p->comp[0]),
				    "no tenant '%s' (tenants come from the configuration or "
				    "tenant.create)", p->comp[0]);
	if (s && !acd_access_owns(ctx, r->c, s))
		return refuse(r, s->path, NULL, "the session is another user's");
	if (!s && acd_access_session_policy(ctx, r->c, t, acd_access_session_budget(ctx, t), prio,
					    limit, sizeof(limit), why, sizeof(why)) < 0)
		return refuse(r, t->path, limit, why);
	if (s && acd_access_priority(ctx, r->c, t, prio, why, sizeof(why)) < 0) {
		snprintf(limit, sizeof(limit), "tenants.%s.max_priority", t->name);
		return refuse(r, s->path, limit, why);
	}
	if (t->frozen)
		return acd_req_fail(r, RPC_FROZEN, json_pack("{s:s}", "path", t->path),
				    "tenant %s is frozen; thaw it first", t->path);
	if (!s) {
		err = acd_session_create(ctx, t, p->comp[1], acd_access_session_budget(ctx, t), prio,
					 r->c, &s);
		if (err == -EDQUOT)
			return acd_req_quota(ctx, r, ACD_Q_SESSIONS);
		if (err < 0)
			return acd_req_errno(r, err, "cannot create session");
	}
	if (s->closing)
		return acd_req_fail(r, RPC_NOT_FOUND, json_pack("{s:s}", "path", s->path),
				    "session is closing");
	if (s->frozen)
		return acd_req_fail(r, RPC_FROZEN, json_pack("{s:s}", "path", s->path),
				    "session %s is frozen; thaw it first", s->path);
	*out = s;
	return 0;
}

/* A cell: the dispatcher checked the params' names, resolved the session
 * and its owner. */
int acd_m_session_exec(struct acd_ctx *ctx, struct acd_req *r)
{
	struct acd_call *call;
	struct ac_errors errs = { 0 };
	struct acd_session *s = r->s;
	const json_t *code = json_object_get(r->params, "code");
	char why[300];
	int err;

	if (!json_is_string(code) || strlen(json_string_value(code)) != json_string_length(code))
		ac_errors_add(&errs, "code", "is required: a string without NUL bytes");
	else if (json_string_length(code) > ctx->cfg.max_request)
		ac_errors_add(&errs, "code", "is longer than max_request");
	call = acd_call_new();
	if (!call)
		return acd_req_errno(r, -ENOMEM, "session.exec");
	intent_from_json_into(json_object_get(r->params, "intent"), &call->intent, &errs);
	if (errs.n) {
		err = acd_req_fail(r, RPC_INVALID_PARAMS, ac_errors_to_json(&errs), "invalid params");
		goto free_call;
	}
	if (acd_access_priority(ctx, r->c, r->t, call->intent.priority, why, sizeof(why)) < 0) {
		char limit[AC_NAME_MAX + 40];

		snprintf(limit, sizeof(limit), "tenants.%s.max_priority", r->t->name);
		err = refuse(r, s->path, limit, why);
		goto free_call;
	}
	if ((err = acd_req_interp(r, true)) < 0)
		goto free_call;
	if (s->frozen || r->t->frozen) {
		err = acd_req_fail(r, RPC_FROZEN, json_pack("{s:s}", "path", s->path),
				   "the session is frozen; thaw it first");
		goto free_call;
	}
	call->exec.interp = s->interp;
	call->exec.lang = acd_interp_lang(s->interp);
	call->exec.code = json_incref((json_t *)code);
	call->argv = calloc(2, sizeof(char *));
	if (!call->argv || !(call->argv[0] = strdup(acd_lang_name(call->exec.lang)))) {
		err = acd_req_errno(r, -ENOMEM, "session.exec");
		goto free_call;
	}
	call->capture = true;
	call->session = s;
	acd_call_enlist(ctx, r->c, r->id, call);
	acd_call_admit_exec(ctx, call);
	return 0;
free_call:
	acd_call_discard(ctx, call);
	return err;
}

/* A command. call.run checks its own params (its row lists none): its
 * path may name a session still to be made, and every bad field is named
 * in one error. */
int acd_m_call_run(struct acd_ctx *ctx, struct acd_req *r)
{
	struct acd_call *call = acd_call_new();
	struct ac_errors errs = { 0 };
	struct run_req req = { 0 };
	int rpc_code, err;

	if (!call)
		return acd_req_errno(r, -ENOMEM, "call.run");
	if (parse_run(ctx, r->c, r->operator, r->params, call, &req, &errs, &rpc_code) < 0) {
		err = acd_req_fail(r, rpc_code, ac_errors_to_json(&errs), "%s",
				   rpc_code == RPC_PERMISSION ? "permission denied" : "invalid params");
		goto free_call;
	}
	/* A flood of calls stops here, before a session is made on demand:
	 * a call over per_uid.calls_running may queue (wait), within
	 * per_uid.calls_waiting. */
	if (acd_quota_check(ctx, r->c->uid, acd_client_is_operator(ctx, r->c), ACD_Q_CALLS_RUNNING, 1) <
	    0) {
		if (!req.wait) {
			err = acd_req_quota(ctx, r, ACD_Q_CALLS_RUNNING);
			goto free_call;
		}
		if (acd_quota_check(ctx, r->c->uid, acd_client_is_operator(ctx, r->c),
				    ACD_Q_CALLS_WAITING, 1) < 0) {
			err = acd_req_quota(ctx, r, ACD_Q_CALLS_WAITING);
			goto free_call;
		}
	}
	if (req.fds && acd_client_take_fds(r->c, call->stdio, 3) < 0) {
		err = acd_req_invalid(r, "stdio", "\"fds\" needs 3 fds (stdin, stdout, stderr) passed "
				      "with SCM_RIGHTS together with the request");
		goto free_call;
	}
	if ((err = session_for(ctx, r, &req.path, call->intent.priority, &call->session)) < 0)
		goto free_call;
	if (call->session->interpreter) {
		err = acd_req_fail(r, RPC_INVALID_PARAMS,
				   json_pack("{s:s}", "path", call->session->path),
				   "the session runs an interpreter: use session.exec, or another "
				   "session for commands");
		goto free_call;
	}
	acd_call_enlist(ctx, r->c, r->id, call);
	acd_call_admit(ctx, call, req.wait, req.wait_ns);
	return 0;
free_call:
	acd_call_discard(ctx, call);
	return err;
}
