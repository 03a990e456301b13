// SPDX-License-Identifier: GPL-2.0
/* The session and tenant methods: session.create (with an interpreter:
 * lang), session.close, session.get / set / reset / interrupt of an
 * interpreter session, tenant.create, tenant.remove. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "access.h"
#include "agentcg/util.h"
#include "interp.h"
#include "interp_check.h"
#include "methods.h"
#include "rpc.h"

static int parse_budget(struct acd_req *r, struct ac_budget *b)
{
	struct ac_errors errs = { 0 };

	if (acd_budget_from_json(json_object_get(r->params, "budget"), b, &errs) == 0)
		return 0;
	return acd_req_fail(r, RPC_INVALID_PARAMS, ac_errors_to_json(&errs), "invalid params");
}

static int create_error(struct acd_req *r, int err)
{
	if (err == -EEXIST)
		return acd_req_fail(r, RPC_EXISTS, json_pack("{s:s}", "path", r->path),
				    "already exists");
	return acd_req_errno(r, err, "cannot create the cgroup");
}

int acd_m_session_create(struct acd_ctx *ctx, struct acd_req *r)
{
	struct acd_session *s;
	struct ac_budget b = *acd_access_session_budget(ctx, r->t);
	enum ac_priority prio = AC_PRIO_NORMAL;
	char limit[AC_NAME_MAX + 40], why[300];
	enum acd_lang lang = ACD_LANG_PYTHON;
	json_t *pr = json_object_get(r->params, "priority"), *lg = json_object_get(r->params, "lang");
	json_t *ps = json_object_get(r->params, "persist");
	json_t *ib = json_object_get(r->params, "interpreter");
	json_t *res;
	bool from_pool = false;
	uint64_t t0 = ac_now_ns();
	int err, checked = 0;

	if ((err = parse_budget(r, &b)) < 0)
		return err;
	if (pr && (!json_is_string(pr) || ac_priority_parse(json_string_value(pr), &prio) < 0))
		return acd_req_invalid(r, "priority", "must be \"low\", \"normal\" or \"high\"");
	if ((lg && (!json_is_string(lg) || acd_lang_parse(json_string_value(lg), &lang) < 0)) ||
	    (ps && !json_is_boolean(ps)) ||
	    (ib && (!json_is_string(ib) || !json_string_length(ib) ||
		    strlen(json_string_value(ib)) != json_string_length(ib) ||
		    json_string_length(ib) >= AC_PATH_MAX)) ||
	    (!lg && (ps || ib)))
		return acd_req_invalid(r, "lang",
				       "lang must be \"python\" or \"bash\"; persist a boolean; "
				       "interpreter a binary path; persist and interpreter need lang");
	if (acd_access_session_policy(ctx, r->c, r->t, &b, prio, limit, sizeof(limit), why,
				      sizeof(why)) < 0)
		return acd_req_fail(r, RPC_PERMISSION,
				    json_pack("{s:s, s:s, s:s}", "path", r->path, "limit", limit,
					      "reason", why),
				    "permission denied: %s", why);
	/* An interpreter binary must be one its owner could run themselves
	 * (it then runs under the session's own uid): checked first, so a
	 * refusal changes nothing; off the loop (the path may block), and
	 * this request comes back here when the check has ended. */
	if (ib) {
		err = acd_interp_check(ctx, r->c, r->id, r->params, json_string_value(ib), &checked);
		if (err == ACD_INTERP_CHECK_STARTED)
			return 0;
		if (err == -EBUSY)
			return acd_req_fail(r, RPC_PERMISSION,
					    json_pack("{s:s, s:s, s:i}", "path", r->path, "reason",
						      "interpreter checks pending", "max",
						      ACD_INTERP_CHECKS_PER_UID),
					    "permission denied: %d interpreter checks of uid %u are "
					    "still running; wait for their replies",
					    ACD_INTERP_CHECKS_PER_UID, (unsigned)r->c->uid);
		if (err < 0)
			return acd_req_errno(r, err, "cannot check the interpreter");
		err = checked;
	}
	if (ib && err < 0) {
		bool denied = err == -EACCES || err == -EPERM;

		return acd_req_fail(r, denied ? RPC_PERMISSION : RPC_INVALID_PARAMS,
				    json_pack("{s:s, s:s, s:I}", "field", "interpreter", "path",
					      json_string_value(ib), "uid", (json_int_t)r->c->uid),
				    "interpreter %s: %s (checked as uid %u, the session's owner: an "
				    "interpreter must be a binary its owner could execute)",
				    json_string_value(ib),
				    denied ? "you may not execute it" :
				    err == -EISDIR ? "not a regular file" : strerror(-err),
				    (unsigned)r->c->uid);
	}
	err = acd_session_create(ctx, r->t, r->p.comp[1], &b, prio, r->c, &s);
	if (err == -EDQUOT)
		return acd_req_quota(ctx, r, ACD_Q_SESSIONS);
	if (err < 0)
		return create_error(r, err);
	res = json_pack("{s:s, s:o, s:s}", "path", r->path, "budget", acd_budget_to_json(&b),
			"priority", ac_priority_name(prio));
	if (lg) {
		s->interpreter = true;
		err = acd_interp_attach(ctx, s, lang, !ps || json_is_true(ps),
					ib ? json_string_value(ib) : NULL, &from_pool);
		if (err < 0) {
			acd_session_remove(ctx, s);
			json_decref(res);
			return acd_req_errno(r, err, err == -EUSERS ?
				"cannot start the interpreter: no free uid in interpreters.uid_range" :
				"cannot start the interpreter");
		}
		json_object_set_new(res, "interpreter", acd_interp_describe(s->interp));
		json_object_set_new(res, "from_pool", json_boolean(from_pool));
		json_object_set_new(res, "start_us", json_integer((json_int_t)((ac_now_ns() - t0) / 1000)));
	}
	acd_reply_result(ctx, r->c, r->id, res);
	return 0;
}

int acd_req_interp(struct acd_req *r, bool need_alive)
{
	struct acd_session *s = r->s;

	if (!s->interp)
		return acd_req_fail(r, RPC_NO_INTERP, json_pack("{s:s}", "path", s->path),
				    "the session has no interpreter: create it with session.create "
				    "{\"lang\": \"python\"|\"bash\"}");
	if (need_alive && acd_interp_dead(s->interp))
		return acd_req_fail(r, RPC_INTERP_DEAD,
				    json_pack("{s:s, s:s}", "path", s->path, "restart", "session.reset"),
				    "%s", acd_interp_dead_reason(s->interp));
	return 0;
}

static bool valid_var_name(const json_t *v)
{
	const char *n = json_string_value(v);

	if (!n || !*n || strlen(n) > 128 || (!isalpha((unsigned char)n[0]) && n[0] != '_'))
		return false;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && *n != '_')
			return false;
	return true;
}

/* Arrays and objects nest in v deeper than limit (jansson keeps values
 * to 2048 levels; the runner's decoder is bounded by its recursion
 * limit, so values it gets are kept well below). */
static bool json_deeper_than(const json_t *v, int limit)
{
	const char *key;
	json_t *x;
	size_t i;

	if (!json_is_array(v) && !json_is_object(v))
		return false;
	if (limit <= 0)
		return true;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (json_deeper_than(x, limit - 1))
				return true;
	} else {
		json_object_foreach((json_t *)v, key, x)
			if (json_deeper_than(x, limit - 1))
				return true;
	}
	return false;
}

/* session.get {path, name} and session.set {path, name, value} */
static int session_getset(struct acd_ctx *ctx, struct acd_req *r, bool set)
{
	json_t *name = json_object_get(r->params, "name");
	int err = acd_req_interp(r, true);

	if (err < 0)
		return err;
	if (!valid_var_name(name))
		return acd_req_invalid(r, "name", "must be an identifier [A-Za-z_][A-Za-z0-9_]*");
	if (set && !json_object_get(r->params, "value"))
		return acd_req_invalid(r, "value", "is required (any JSON value)");
	if (set && json_deeper_than(json_object_get(r->params, "value"), ACD_VALUE_DEPTH_MAX))
		return acd_req_invalid(r, "value", "nests arrays and objects deeper than %d levels",
				       ACD_VALUE_DEPTH_MAX);
	err = acd_interp_request(ctx, r->s, r->c, r->id, set ? "set" : "get",
				 set ? json_pack("{s:O, s:O}", "name", name, "value",
						 json_object_get(r->params, "value")) :
				       json_pack("{s:O}", "name", name));
	if (err < 0 && err != -EDQUOT) /* a quota's refusal is replied */
		return acd_req_errno(r, err, "session request");
	return 0;
}

int acd_m_session_get(struct acd_ctx *ctx, struct acd_req *r)
{
	return session_getset(ctx, r, false);
}

int acd_m_session_set(struct acd_ctx *ctx, struct acd_req *r)
{
	return session_getset(ctx, r, true);
}

/* A fresh namespace; a dead interpreter is started again. */
int acd_m_session_reset(struct acd_ctx *ctx, struct acd_req *r)
{
	struct acd_session *s = r->s;
	int err = acd_req_interp(r, false);

	if (err < 0)
		return err;
	if (!acd_interp_dead(s->interp)) {
		err = acd_interp_request(ctx, s, r->c, r->id, "reset", NULL);
		if (err < 0 && err != -EDQUOT) /* a quota's refusal is replied */
			return acd_req_errno(r, err, "session.reset");
		return 0;
	}
	err = acd_interp_restart(ctx, s);
	if (err < 0)
		return acd_req_errno(r, err, "cannot start a new interpreter");
	acd_reply_result(ctx, r->c, r->id,
			 json_pack("{s:s, s:b, s:o}", "path", s->path, "restarted", 1, "interpreter",
				   acd_interp_describe(s->interp)));
	return 0;
}

int acd_m_session_interrupt(struct acd_ctx *ctx, struct acd_req *r)
{
	int err = acd_req_interp(r, true);

	if (err < 0)
		return err;
	acd_reply_result(ctx, r->c, r->id,
			 json_pack("{s:s, s:b}", "path", r->s->path, "interrupted",
				   acd_interp_interrupt(ctx, r->s->interp)));
	return 0;
}

int acd_m_session_close(struct acd_ctx *ctx, struct acd_req *r)
{
	struct acd_session *s = r->s;
	int err;

	if (s->closing)
		return acd_req_fail(r, RPC_EXISTS, json_pack("{s:s}", "path", s->path),
				    "session is already closing");
	if (s->frozen) /* thaw so killed tasks can exit */
		ac_cg_freeze(&ctx->cg, &s->node, false);
	s->close_killed = acd_session_kill_calls(ctx, s);
	if (!s->calls) {
		int killed = s->close_killed;

		err = acd_session_remove(ctx, s);
		if (err < 0)
			return acd_req_errno(r, err, "cannot remove the session's cgroup");
		acd_reply_result(ctx, r->c, r->id,
				 json_pack("{s:s, s:i}", "path", r->path, "killed_calls", killed));
		return 0;
	}
	s->closing = true;
	s->close_client = r->c;
	s->close_id = json_incref(r->id);
	return 0;
}

int acd_m_tenant_create(struct acd_ctx *ctx, struct acd_req *r)
{
	struct ac_budget b = ctx->cfg.tenant_budget;
	int err;

	if ((err = parse_budget(r, &b)) < 0)
		return err;
	err = acd_tenant_create(ctx, r->p.comp[0], &b, NULL);
	if (err < 0)
		return create_error(r, err);
	acd_reply_result(ctx, r->c, r->id,
			 json_pack("{s:s, s:o}", "path", r->path, "budget", acd_budget_to_json(&b)));
	return 0;
}

int acd_m_tenant_remove(struct acd_ctx *ctx, struct acd_req *r)
{
	int err = acd_tenant_remove(ctx, r->t);

	if (err == -EBUSY)
		return acd_req_fail(r, RPC_EXISTS, json_pack("{s:s}", "path", r->path),
				    "tenant still has sessions; close them first");
	if (err < 0)
		return acd_req_errno(r, err, "cannot remove the tenant's cgroup");
	acd_reply_result(ctx, r->c, r->id, json_pack("{s:s}", "path", r->path));
	return 0;
}
