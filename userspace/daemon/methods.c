// SPDX-License-Identifier: GPL-2.0
/* Handlers of the operator methods: cg.list, cg.stat, cg.cat, cg.set,
 * cg.kill, cg.freeze, cg.thaw, session.*, tenant.*, daemon.info. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agentcg/units.h"
#include "agentcg/util.h"
#include "daemon.h"

#define CAT_MAX 65536

/* ---- params ---------------------------------------------------------- */

static int only_keys(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params,
		     const char *const *keys)
{
	struct ac_errors errs = { 0 };

	acd_params_unknown(params, keys, &errs);
	if (!errs.n)
		return 0;
	acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params", ac_errors_to_json(&errs));
	return -EINVAL;
}

/* "path" as a node path with depth in [min, max]; "/" when absent and
 * min is 0. */
static int get_path(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params,
		    int min, int max, struct ac_path *p)
{
	json_t *v = json_object_get(params, "path");
	const char *what = min == AC_LEVEL_SESSION && max == AC_LEVEL_SESSION ? "a session path \"/tenant/session\"" :
			   min == AC_LEVEL_TENANT && max == AC_LEVEL_TENANT ? "a tenant path \"/tenant\"" :
									      "a path \"/tenant/session/call\"";

	if (!v && min == 0) {
		p->depth = 0;
		return 0;
	}
	if (!json_is_string(v) || ac_path_parse(json_string_value(v), p) < 0 || p->depth < min ||
	    p->depth > max) {
		char msg[200];

		snprintf(msg, sizeof(msg), "must be %s of names [A-Za-z0-9_.-]{1,64}", what);
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				json_pack("{s:s}", "path", msg));
		return -EINVAL;
	}
	return 0;
}

int acd_resolve(struct acd_ctx *ctx, struct acd_client *c, json_t *id, const struct ac_path *p,
		struct acd_tenant **t, struct acd_session **s, struct acd_call **call)
{
	char path[256], msg[320];

	*t = NULL;
	*s = NULL;
	*call = NULL;
	if (p->depth >= 1 && !(*t = acd_tenant_find(ctx, p->comp[0])))
		goto missing;
	if (p->depth >= 2 && !(*s = acd_session_find(*t, p->comp[1])))
		goto missing;
	if (p->depth >= 3 && !(*call = acd_call_find(*s, p->comp[2])))
		goto missing;
	return 0;
missing:
	ac_path_format(p, path, sizeof(path));
	snprintf(msg, sizeof(msg), "no such tenant, session or call: %s", path);
	acd_reply_error(ctx, c, id, RPC_NOT_FOUND, msg, json_pack("{s:s}", "path", path));
	return -ENOENT;
}

static const struct ac_cg_node *node_of(struct acd_ctx *ctx, struct acd_tenant *t,
					struct acd_session *s, struct acd_call *call)
{
	return call ? &call->node : s ? &s->node : t ? &t->node : &ctx->cg.root;
}

static bool need_root(struct acd_ctx *ctx, struct acd_client *c, json_t *id)
{
	if (c->uid == 0)
		return true;
	acd_reply_error(ctx, c, id, RPC_PERMISSION, "permission denied: root clients only", NULL);
	return false;
}

/* ---- cg.list / cg.stat ----------------------------------------------- */

static json_t *entry(struct acd_ctx *ctx, const char *name, const char *path, const char *kind,
		     bool frozen, const struct ac_cg_node *node)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:I}", "name", name, "path", path, "kind", kind,
			 "frozen", frozen, "memory_current",
			 (json_int_t)ac_cg_memory_current(&ctx->cg, node));
}

static json_t *list_calls(struct acd_ctx *ctx, struct acd_session *s)
{
	json_t *arr = json_array();

	for (struct acd_call *call = s->calls; call; call = call->next) {
		json_t *e;

		if (call->state == CALL_WAITING || !call->created)
			continue;
		e = entry(ctx, call->name, call->path, "call", acd_call_frozen(call), &call->node);
		json_object_set_new(e, "state", json_string(acd_call_shown_state(call)));
		if (call->contain.level != CONTAIN_NONE)
			json_object_set_new(e, "contained",
					    json_string(call->contain.level == CONTAIN_FROZEN ?
								"frozen" : "throttled"));
		json_object_set_new(e, "pid", json_integer(call->pid));
		json_object_set_new(e, "argv0", json_string(call->argv[0]));
		json_array_append_new(arr, e);
	}
	return arr;
}

/* Spare call cgroups a session keeps ready (pool.c): they already carry
 * the names of the next calls. */
static json_t *spares_json(const struct acd_session *s)
{
	json_t *arr = json_array();

	for (const struct acd_spare *sp = s->spares; sp; sp = sp->next)
		if (sp->made > 0)
			json_array_append_new(arr, json_string(sp->name));
	return arr;
}

static json_t *list_sessions(struct acd_ctx *ctx, struct acd_tenant *t, bool rec)
{
	json_t *arr = json_array();

	for (struct acd_session *s = t->sessions; s; s = s->next) {
		json_t *e = entry(ctx, s->name, s->path, "session", s->frozen, &s->node);

		json_object_set_new(e, "priority", json_string(ac_priority_name(s->priority)));
		json_object_set_new(e, "spares", spares_json(s));
		if (rec)
			json_object_set_new(e, "children", list_calls(ctx, s));
		json_array_append_new(arr, e);
	}
	return arr;
}

static json_t *list_tenants(struct acd_ctx *ctx, bool rec)
{
	json_t *arr = json_array();

	for (struct acd_tenant *t = ctx->tenants; t; t = t->next) {
		json_t *e = entry(ctx, t->name, t->path, "tenant", t->frozen, &t->node);

		if (rec)
			json_object_set_new(e, "children", list_sessions(ctx, t, rec));
		json_array_append_new(arr, e);
	}
	return arr;
}

static void m_cg_list(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", "recursive", NULL };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;
	char path[256];
	json_t *children, *rec = json_object_get(params, "recursive");

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, 0, AC_LEVEL_SESSION, &p) < 0 ||
	    acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0)
		return;
	if (rec && !json_is_boolean(rec)) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				json_pack("{s:s}", "recursive", "must be true or false"));
		return;
	}
	children = s ? list_calls(ctx, s) : t ? list_sessions(ctx, t, json_is_true(rec)) :
						list_tenants(ctx, json_is_true(rec));
	ac_path_format(&p, path, sizeof(path));
	acd_reply_result(ctx, c, id, json_pack("{s:s, s:o}", "path", path, "children", children));
}

static json_t *read_files(struct acd_ctx *ctx, const struct ac_cg_node *node,
			  const char *const *files)
{
	json_t *o = json_object();
	char buf[512];

	for (const char *const *f = files; *f; f++) {
		int r = ac_cg_read_file(&ctx->cg, node, *f, buf, sizeof(buf));

		if (r < 0)
			continue;
		while (r > 0 && buf[r - 1] == '\n')
			buf[--r] = '\0';
		json_object_set_new(o, *f, json_string(buf));
	}
	return o;
}

static json_t *node_stat(struct acd_ctx *ctx, const struct ac_cg_node *node)
{
	static const char *const limit_files[] = { "memory.high", "memory.max", "cpu.max",
						   "pids.max", NULL };
	static const char *const usage_files[] = { "memory.current", "memory.peak",
						   "pids.current", NULL };
	struct ac_usage u = { 0 };
	json_t *usage = read_files(ctx, node, usage_files);

	ac_cg_read_usage(&ctx->cg, node, &u);
	json_object_set_new(usage, "cpu_user_us", json_integer((json_int_t)u.cpu_user_us));
	json_object_set_new(usage, "cpu_system_us", json_integer((json_int_t)u.cpu_system_us));
	json_object_set_new(usage, "cpu_throttled_us",
			    json_integer((json_int_t)u.cpu_throttled_us));
	return json_pack("{s:o, s:o, s:{s:{s:I, s:I, s:I, s:I}, s:I}, s:I}", "limits",
			 read_files(ctx, node, limit_files), "usage", usage, "events", "memory",
			 "high", (json_int_t)u.mem_high, "max", (json_int_t)u.mem_max, "oom",
			 (json_int_t)u.mem_oom, "oom_kill", (json_int_t)u.mem_oom_kill, "pids_max",
			 (json_int_t)u.pids_max_events, "cgroup_id", (json_int_t)node->id);
}

static int count_calls(struct acd_session *s)
{
	int n = 0;

	for (struct acd_call *call = s->calls; call; call = call->next)
		n += call->state != CALL_WAITING;
	return n;
}

static void m_cg_stat(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", NULL };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;
	char path[256];
	json_t *o;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, 0, AC_LEVEL_CALL, &p) < 0 ||
	    acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0)
		return;
	ac_path_format(&p, path, sizeof(path));
	o = node_stat(ctx, node_of(ctx, t, s, call));
	if (call) {
		json_t *d = acd_call_describe(ctx, call);

		/* "limits" stays what the cgroup has now (agentcg set may have
		 * changed it); the intent's are under "intent_limits". */
		json_object_set(d, "intent_limits", json_object_get(d, "limits"));
		json_object_del(d, "limits");
		json_object_update(o, d);
		json_decref(d);
	} else if (s) {
		json_object_set_new(o, "kind", json_string("session"));
		json_object_set_new(o, "frozen", json_boolean(s->frozen));
		json_object_set_new(o, "priority", json_string(ac_priority_name(s->priority)));
		json_object_set_new(o, "budget", acd_budget_to_json(&s->budget));
		json_object_set_new(o, "reserved", json_pack("{s:I}", "memory", (json_int_t)s->reserved_mem));
		json_object_set_new(o, "calls", json_integer(count_calls(s)));
		json_object_set_new(o, "spares", spares_json(s));
		json_object_set_new(o, "owner_uid", json_integer((json_int_t)s->owner));
	} else if (t) {
		int n = 0;

		for (struct acd_session *x = t->sessions; x; x = x->next)
			n++;
		json_object_set_new(o, "kind", json_string("tenant"));
		json_object_set_new(o, "frozen", json_boolean(t->frozen));
		json_object_set_new(o, "budget", acd_budget_to_json(&t->budget));
		json_object_set_new(o, "reserved", json_pack("{s:I}", "memory", (json_int_t)t->reserved_mem));
		json_object_set_new(o, "sessions", json_integer(n));
	} else {
		json_object_set_new(o, "kind", json_string("root"));
		json_object_set_new(o, "backend", json_string(ac_cg_backend_name(&ctx->cg)));
		json_object_set_new(o, "cgroup", json_string(ctx->cg.root_path[0]));
		json_object_set_new(o, "calls_running", json_integer(ctx->calls_running));
	}
	json_object_set_new(o, "path", json_string(path));
	acd_reply_result(ctx, c, id, o);
}

/* ---- cg.cat / cg.set ------------------------------------------------- */

static int get_file(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params,
		    const char **file)
{
	json_t *v = json_object_get(params, "file");

	if (!json_is_string(v) || !ac_name_valid(json_string_value(v))) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				json_pack("{s:s}", "file", "must be a cgroup file name such as "
							   "\"memory.peak\""));
		return -EINVAL;
	}
	*file = json_string_value(v);
	return 0;
}

static void m_cg_cat(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", "file", NULL };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;
	const char *file;
	char path[256], msg[300];
	_cleanup_free_ char *buf = malloc(CAT_MAX);
	int r;

	if (!buf || only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, 0, AC_LEVEL_CALL, &p) < 0 ||
	    get_file(ctx, c, id, params, &file) < 0 ||
	    acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0)
		return;
	ac_path_format(&p, path, sizeof(path));
	r = ac_cg_read_file(&ctx->cg, node_of(ctx, t, s, call), file, buf, CAT_MAX);
	if (r == -ENOENT) {
		snprintf(msg, sizeof(msg), "no file %s on %s (backend %s)", file, path,
			 ac_cg_backend_name(&ctx->cg));
		acd_reply_error(ctx, c, id, RPC_NOT_FOUND, msg, json_pack("{s:s, s:s}", "path", path,
									  "file", file));
		return;
	}
	if (r < 0) {
		acd_reply_errno(ctx, c, id, r, file);
		return;
	}
	acd_reply_result(ctx, c, id, json_pack("{s:s, s:s, s:s#}", "path", path, "file", file,
					       "content", buf, (int)r));
}

static void m_cg_set(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", "file", "value", NULL };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;
	const char *file, *value;
	char path[256], buf[256], msg[400];
	json_t *v = json_object_get(params, "value");
	int r;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, 0, AC_LEVEL_CALL, &p) < 0 ||
	    get_file(ctx, c, id, params, &file) < 0)
		return;
	if (!json_is_string(v)) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				json_pack("{s:s}", "value", "must be a string, e.g. \"2G\" or \"max\""));
		return;
	}
	value = json_string_value(v);
	if (!need_root(ctx, c, id) || acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0)
		return;
	ac_path_format(&p, path, sizeof(path));
	r = ac_cg_write_file(&ctx->cg, node_of(ctx, t, s, call), file, value);
	if (r == -EINVAL || r == -ERANGE || r == -EOPNOTSUPP) {
		snprintf(msg, sizeof(msg),
			 r == -EOPNOTSUPP ? "%s cannot be set on the %s backend" :
					    "cannot set %s to '%.64s': settable files are memory.max, "
					    "memory.high, cpu.max, pids.max with cgroupfs values",
			 file, r == -EOPNOTSUPP ? ac_cg_backend_name(&ctx->cg) : value);
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, msg,
				json_pack("{s:s}", "value", strerror(-r)));
		return;
	}
	if (r < 0) {
		acd_reply_errno(ctx, c, id, r, file);
		return;
	}
	/* Keep admission in step with a new memory budget. */
	if (!strcmp(file, "memory.max") && !call) {
		uint64_t m = AC_UNLIMITED;

		if (strcmp(value, "max"))
			ac_parse_size(value, &m);
		if (s)
			s->budget.memory_max = m;
		else if (t)
			t->budget.memory_max = m;
		acd_calls_admit_waiting(ctx);
	}
	r = ac_cg_read_file(&ctx->cg, node_of(ctx, t, s, call), file, buf, sizeof(buf));
	acd_event(ctx, "set", path, json_pack("{s:s, s:s}", "file", file, "value", value));
	acd_reply_result(ctx, c, id, json_pack("{s:s, s:s, s:s}", "path", path, "file", file,
					       "content", r >= 0 ? buf : value));
}

/* ---- kill / freeze / thaw -------------------------------------------- */

static bool may_control(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			struct acd_call *call)
{
	if (c->uid == 0 || (call && call->uid == c->uid))
		return true;
	acd_reply_error(ctx, c, id, RPC_PERMISSION,
			"permission denied: root clients, or the owner of a call, only", NULL);
	return false;
}

static int kill_session_calls(struct acd_ctx *ctx, struct acd_session *s)
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

static void m_cg_kill(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", NULL };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;
	char path[256];
	int n = 0;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, 0, AC_LEVEL_CALL, &p) < 0 ||
	    acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0 || !may_control(ctx, c, id, call))
		return;
	ac_path_format(&p, path, sizeof(path));
	if (call) {
		acd_call_kill(ctx, call, AC_STOP_OPERATOR);
		n = 1;
	} else if (s) {
		n = kill_session_calls(ctx, s);
	} else {
		for (struct acd_tenant *x = ctx->tenants; x; x = x->next)
			if (!t || x == t)
				for (struct acd_session *y = x->sessions; y; y = y->next)
					n += kill_session_calls(ctx, y);
	}
	acd_event(ctx, "kill", path, json_pack("{s:i}", "killed_calls", n));
	acd_reply_result(ctx, c, id, json_pack("{s:s, s:i}", "path", path, "killed_calls", n));
}

static void freeze_common(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params,
			  bool frozen)
{
	static const char *const keys[] = { "path", NULL };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;
	char path[256];
	int r;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, 0, AC_LEVEL_CALL, &p) < 0 ||
	    acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0 || !may_control(ctx, c, id, call))
		return;
	ac_path_format(&p, path, sizeof(path));
	if (call && call->state != CALL_RUNNING) {
		acd_reply_error(ctx, c, id, RPC_NOT_FOUND, "the call is ending",
				json_pack("{s:s}", "path", path));
		return;
	}
	r = ac_cg_freeze(&ctx->cg, node_of(ctx, t, s, call), frozen);
	if (r < 0) {
		acd_reply_errno(ctx, c, id, r, frozen ? "freeze" : "thaw");
		return;
	}
	if (call && !frozen && call->end.frozen)
		/* a SIGSTOP the programs sent while the daemon was freezing
		 * it may have come after the SIGCONT of the freeze: again */
		acd_call_continue_stopped(ctx, call);
	if (call)
		call->end.frozen = frozen && call->end.frozen;
	else if (s)
		s->frozen = frozen;
	else if (t)
		t->frozen = frozen;
	if (!frozen)
		acd_calls_admit_waiting(ctx);
	acd_event(ctx, frozen ? "freeze" : "thaw", path, NULL);
	acd_reply_result(ctx, c, id, json_pack("{s:s, s:b}", "path", path, "frozen", frozen));
}

static void m_cg_freeze(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	freeze_common(ctx, c, id, params, true);
}

static void m_cg_thaw(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	freeze_common(ctx, c, id, params, false);
}

/* ---- sessions and tenants -------------------------------------------- */

static int parse_budget(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params,
			struct ac_budget *b)
{
	struct ac_errors errs = { 0 };

	if (acd_budget_from_json(json_object_get(params, "budget"), b, &errs) == 0)
		return 0;
	acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params", ac_errors_to_json(&errs));
	return -EINVAL;
}

static void reply_create_error(struct acd_ctx *ctx, struct acd_client *c, json_t *id, int r,
			       const char *path)
{
	if (r == -EEXIST)
		acd_reply_error(ctx, c, id, RPC_EXISTS, "already exists",
				json_pack("{s:s}", "path", path));
	else
		acd_reply_errno(ctx, c, id, r, "cannot create the cgroup");
}

static void m_session_create(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", "budget", "priority", "lang", "persist",
					    "interpreter", NULL };
	struct acd_tenant *t;
	struct acd_session *s, *dummy_s;
	struct acd_call *call;
	struct ac_path p, tp;
	struct ac_budget b = ctx->cfg.session_budget;
	enum ac_priority prio = AC_PRIO_NORMAL;
	enum acd_lang lang = ACD_LANG_PYTHON;
	json_t *pr = json_object_get(params, "priority"), *lg = json_object_get(params, "lang");
	json_t *ps = json_object_get(params, "persist"), *ib = json_object_get(params, "interpreter");
	json_t *res;
	bool from_pool = false;
	uint64_t t0 = ac_now_ns();
	char path[256];
	int r;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, AC_LEVEL_SESSION, AC_LEVEL_SESSION, &p) < 0 ||
	    parse_budget(ctx, c, id, params, &b) < 0)
		return;
	if (pr && (!json_is_string(pr) || ac_priority_parse(json_string_value(pr), &prio) < 0)) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				json_pack("{s:s}", "priority", "must be \"low\", \"normal\" or \"high\""));
		return;
	}
	if ((lg && (!json_is_string(lg) || acd_lang_parse(json_string_value(lg), &lang) < 0)) ||
	    (ps && !json_is_boolean(ps)) ||
	    (ib && (!json_is_string(ib) || !json_string_length(ib) ||
		    strlen(json_string_value(ib)) != json_string_length(ib) ||
		    json_string_length(ib) >= AC_PATH_MAX)) ||
	    (!lg && (ps || ib))) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				json_pack("{s:s}", "lang",
					  "lang must be \"python\" or \"bash\"; persist a boolean; "
					  "interpreter a binary path; persist and interpreter need lang"));
		return;
	}
	tp = p;
	tp.depth = 1;
	if (acd_resolve(ctx, c, id, &tp, &t, &dummy_s, &call) < 0)
		return;
	ac_path_format(&p, path, sizeof(path));
	r = acd_session_create(ctx, t, p.comp[1], &b, prio, &s);
	if (r < 0) {
		reply_create_error(ctx, c, id, r, path);
		return;
	}
	s->owner = c->uid;
	res = json_pack("{s:s, s:o, s:s}", "path", path, "budget", acd_budget_to_json(&b),
			"priority", ac_priority_name(prio));
	if (lg) {
		s->interpreter = true;
		r = acd_interp_attach(ctx, s, lang, !ps || json_is_true(ps),
				      ib ? json_string_value(ib) : NULL, &from_pool);
		if (r < 0) {
			acd_session_remove(ctx, s);
			json_decref(res);
			acd_reply_errno(ctx, c, id, r, r == -ENOENT || r == -EPERM ?
				"cannot start the interpreter: its user must exist and not be root" :
				"cannot start the interpreter");
			return;
		}
		json_object_set_new(res, "interpreter", acd_interp_describe(s->interp));
		json_object_set_new(res, "from_pool", json_boolean(from_pool));
		json_object_set_new(res, "start_us", json_integer((json_int_t)((ac_now_ns() - t0) / 1000)));
	}
	acd_reply_result(ctx, c, id, res);
}

/* The session of an interpreter request: resolved, owned by the client,
 * with a live interpreter. NULL when it replied an error. */
static struct acd_session *interp_session(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
					  json_t *params, const char *const *keys, bool need_alive)
{
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, AC_LEVEL_SESSION, AC_LEVEL_SESSION, &p) < 0 ||
	    acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0 ||
	    acd_session_interp_check(ctx, c, id, s, need_alive) < 0)
		return NULL;
	return s;
}

int acd_session_interp_check(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
			     struct acd_session *s, bool need_alive)
{
	if (c->uid != 0 && c->uid != s->owner) {
		acd_reply_error(ctx, c, id, RPC_PERMISSION, "permission denied: not your session",
				json_pack("{s:s}", "path", s->path));
		return -EPERM;
	}
	if (!s->interp) {
		acd_reply_error(ctx, c, id, RPC_NO_INTERP,
				"the session has no interpreter: create it with session.create "
				"{\"lang\": \"python\"|\"bash\"}",
				json_pack("{s:s}", "path", s->path));
		return -ENOENT;
	}
	if (need_alive && acd_interp_dead(s->interp)) {
		acd_reply_error(ctx, c, id, RPC_INTERP_DEAD, acd_interp_dead_reason(s->interp),
				json_pack("{s:s, s:s}", "path", s->path, "restart", "session.reset"));
		return -EPIPE;
	}
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

/* session.get {path, name} and session.set {path, name, value} */
static void m_session_getset(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params,
			     bool set)
{
	static const char *const get_keys[] = { "path", "name", NULL };
	static const char *const set_keys[] = { "path", "name", "value", NULL };
	struct acd_session *s = interp_session(ctx, c, id, params, set ? set_keys : get_keys, true);
	json_t *name = json_object_get(params, "name");

	if (!s)
		return;
	if (!valid_var_name(name) || (set && !json_object_get(params, "value"))) {
		acd_reply_error(ctx, c, id, RPC_INVALID_PARAMS, "invalid params",
				json_pack("{s:s}", valid_var_name(name) ? "value" : "name",
					  valid_var_name(name) ? "is required (any JSON value)" :
					  "must be an identifier [A-Za-z_][A-Za-z0-9_]*"));
		return;
	}
	if (acd_interp_request(ctx, s, c, id, set ? "set" : "get",
			       set ? json_pack("{s:O, s:O}", "name", name, "value",
					       json_object_get(params, "value")) :
				     json_pack("{s:O}", "name", name)) < 0)
		acd_reply_errno(ctx, c, id, -ENOMEM, "session request");
}

static void m_session_get(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	m_session_getset(ctx, c, id, params, false);
}

static void m_session_set(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	m_session_getset(ctx, c, id, params, true);
}

/* A fresh namespace; a dead interpreter is started again. */
static void m_session_reset(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", NULL };
	struct acd_session *s = interp_session(ctx, c, id, params, keys, false);
	int r;

	if (!s)
		return;
	if (!acd_interp_dead(s->interp)) {
		if (acd_interp_request(ctx, s, c, id, "reset", NULL) < 0)
			acd_reply_errno(ctx, c, id, -ENOMEM, "session.reset");
		return;
	}
	r = acd_interp_restart(ctx, s);
	if (r < 0)
		acd_reply_errno(ctx, c, id, r, "cannot start a new interpreter");
	else
		acd_reply_result(ctx, c, id, json_pack("{s:s, s:b, s:o}", "path", s->path, "restarted",
						       1, "interpreter",
						       acd_interp_describe(s->interp)));
}

static void m_session_interrupt(struct acd_ctx *ctx, struct acd_client *c, json_t *id,
				json_t *params)
{
	static const char *const keys[] = { "path", NULL };
	struct acd_session *s = interp_session(ctx, c, id, params, keys, true);

	if (s)
		acd_reply_result(ctx, c, id, json_pack("{s:s, s:b}", "path", s->path, "interrupted",
						       acd_interp_interrupt(ctx, s->interp)));
}

static void m_session_close(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", NULL };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;
	int r;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, AC_LEVEL_SESSION, AC_LEVEL_SESSION, &p) < 0 ||
	    acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0)
		return;
	if (c->uid != 0 && c->uid != s->owner) {
		acd_reply_error(ctx, c, id, RPC_PERMISSION,
				"permission denied: root clients, or the session's creator, only", NULL);
		return;
	}
	if (s->closing) {
		acd_reply_error(ctx, c, id, RPC_EXISTS, "session is already closing",
				json_pack("{s:s}", "path", s->path));
		return;
	}
	if (s->frozen) /* thaw so killed tasks can exit */
		ac_cg_freeze(&ctx->cg, &s->node, false);
	s->close_killed = kill_session_calls(ctx, s);
	if (!s->calls) {
		char path[sizeof(s->path)];
		int killed = s->close_killed;

		ac_strlcpy(path, s->path, sizeof(path));
		r = acd_session_remove(ctx, s);
		if (r < 0)
			acd_reply_errno(ctx, c, id, r, "cannot remove the session's cgroup");
		else
			acd_reply_result(ctx, c, id, json_pack("{s:s, s:i}", "path", path,
							       "killed_calls", killed));
		return;
	}
	s->closing = true;
	s->close_client = c;
	s->close_id = json_incref(id);
}

static void m_tenant_create(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", "budget", NULL };
	struct ac_path p;
	struct ac_budget b = ctx->cfg.tenant_budget;
	char path[256];
	int r;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, AC_LEVEL_TENANT, AC_LEVEL_TENANT, &p) < 0 ||
	    parse_budget(ctx, c, id, params, &b) < 0 || !need_root(ctx, c, id))
		return;
	ac_path_format(&p, path, sizeof(path));
	r = acd_tenant_create(ctx, p.comp[0], &b, NULL);
	if (r < 0) {
		reply_create_error(ctx, c, id, r, path);
		return;
	}
	acd_reply_result(ctx, c, id, json_pack("{s:s, s:o}", "path", path, "budget",
					       acd_budget_to_json(&b)));
}

static void m_tenant_remove(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	static const char *const keys[] = { "path", NULL };
	struct acd_tenant *t;
	struct acd_session *s;
	struct acd_call *call;
	struct ac_path p;
	char path[256];
	int r;

	if (only_keys(ctx, c, id, params, keys) < 0 ||
	    get_path(ctx, c, id, params, AC_LEVEL_TENANT, AC_LEVEL_TENANT, &p) < 0 ||
	    !need_root(ctx, c, id) || acd_resolve(ctx, c, id, &p, &t, &s, &call) < 0)
		return;
	ac_path_format(&p, path, sizeof(path));
	r = acd_tenant_remove(ctx, t);
	if (r == -EBUSY) {
		acd_reply_error(ctx, c, id, RPC_EXISTS, "tenant still has sessions; close them first",
				json_pack("{s:s}", "path", path));
		return;
	}
	if (r < 0) {
		acd_reply_errno(ctx, c, id, r, "cannot remove the tenant's cgroup");
		return;
	}
	acd_reply_result(ctx, c, id, json_pack("{s:s}", "path", path));
}

static void m_daemon_info(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params)
{
	json_t *roots = json_array();
	int waiting = 0;

	for (const struct acd_call *w = ctx->waiting; w; w = w->wait_next)
		waiting++;
	for (int h = 0; h < ctx->cg.n_hier; h++)
		json_array_append_new(roots, json_string(ctx->cg.root_path[h]));
	json_t *res =
			 json_pack("{s:s, s:s, s:s, s:o, s:s, s:i, s:i, s:I, s:i, s:i, s:i, s:i, s:b}", "version",
				   ACD_VERSION, "backend", ac_cg_backend_name(&ctx->cg), "root",
				   ctx->cg.root_path[0], "roots", roots, "socket", ctx->socket_path,
				   "pid", (int)getpid(), "calls_running", ctx->calls_running,
				   "calls_total", (json_int_t)ctx->calls_total, "clients",
				   ctx->n_clients, "subscribers", ctx->n_subscribed,
				   "calls_waiting", waiting, "calls_removing", ctx->n_removing,
				   "clone_into_cgroup",
				   ctx->cg.has_clone_into_cgroup);

	json_object_set_new(res, "pool", json_pack("{s:i, s:I, s:I}", "size", ctx->cfg.call_pool,
						   "hits", (json_int_t)ctx->pool_hits, "misses",
						   (json_int_t)ctx->pool_misses));
	json_object_set_new(res, "bpf", acd_bpf_info(ctx));
	json_object_set_new(res, "pressure", acd_pressure_info(ctx));
	json_object_set_new(res, "interpreters", acd_interp_info(ctx));
	acd_reply_result(ctx, c, id, res);
}

static const struct {
	const char *name;
	acd_method_fn fn;
} methods[] = {
	{ "call.run", acd_method_call_run },
	{ "session.create", m_session_create },
	{ "session.close", m_session_close },
	{ "session.exec", acd_method_session_exec },
	{ "session.get", m_session_get },
	{ "session.set", m_session_set },
	{ "session.reset", m_session_reset },
	{ "session.interrupt", m_session_interrupt },
	{ "tenant.create", m_tenant_create },
	{ "tenant.remove", m_tenant_remove },
	{ "cg.list", m_cg_list },
	{ "cg.stat", m_cg_stat },
	{ "cg.cat", m_cg_cat },
	{ "cg.set", m_cg_set },
	{ "cg.kill", m_cg_kill },
	{ "cg.freeze", m_cg_freeze },
	{ "cg.thaw", m_cg_thaw },
	{ "events.subscribe", acd_method_events_subscribe },
	{ "daemon.info", m_daemon_info },
};

acd_method_fn acd_method_lookup(const char *name)
{
	for (size_t i = 0; i < AC_ARRAY_SIZE(methods); i++)
		if (!strcmp(methods[i].name, name))
			return methods[i].fn;
	return NULL;
}
