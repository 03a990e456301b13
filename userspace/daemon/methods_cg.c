// SPDX-License-Identifier: GPL-2.0
/* The cgroupfs-like operator methods: cg.list, cg.stat, cg.cat, cg.set,
 * cg.kill, cg.freeze, cg.thaw; events.subscribe; daemon.info. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "bpf.h"
#include "contain.h"
#include "events.h"
#include "interp.h"
#include "interp_check.h"
#include "methods.h"
#include "pool.h"
#include "pressure.h"
#include "rpc.h"
#include "server.h"

#define CAT_MAX 65536

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
		/* frozen with swap on: pushed out so far, and whether more is asked */
		if (call->contain.reclaim.before) {
			json_object_set_new(e, "reclaimed", json_integer((json_int_t)
									 call->contain.reclaim.got));
			json_object_set_new(e, "reclaiming", json_boolean(call->contain.reclaim.left));
		}
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

/* A member sees only the sessions they own; an operator sees all. */
static json_t *list_sessions(struct acd_ctx *ctx, const struct acd_client *c,
			     struct acd_tenant *t, bool rec)
{
	json_t *arr = json_array();

	for (struct acd_session *s = t->sessions; s; s = s->next) {
		json_t *e;

		if (!acd_access_owns(ctx, c, s))
			continue;
		e = entry(ctx, s->name, s->path, "session", s->frozen, &s->node);

		json_object_set_new(e, "priority", json_string(ac_priority_name(s->priority)));
		json_object_set_new(e, "spares", spares_json(s));
		if (rec)
			json_object_set_new(e, "children", list_calls(ctx, s));
		json_array_append_new(arr, e);
	}
	return arr;
}

static json_t *list_tenants(struct acd_ctx *ctx, const struct acd_client *c, bool rec)
{
	json_t *arr = json_array();

	for (struct acd_tenant *t = ctx->tenants; t; t = t->next) {
		json_t *e;

		if (!acd_access_sees_tenant(ctx, c, t))
			continue;
		e = entry(ctx, t->name, t->path, "tenant", t->frozen, &t->node);
		if (rec)
			json_object_set_new(e, "children", list_sessions(ctx, c, t, rec));
		json_array_append_new(arr, e);
	}
	return arr;
}

int acd_m_cg_list(struct acd_ctx *ctx, struct acd_req *r)
{
	json_t *children, *rec = json_object_get(r->params, "recursive");

	if (rec && !json_is_boolean(rec))
		return acd_req_invalid(r, "recursive", "must be true or false");
	children = r->s ? list_calls(ctx, r->s) :
		   r->t ? list_sessions(ctx, r->c, r->t, json_is_true(rec)) :
			  list_tenants(ctx, r->c, json_is_true(rec));
	acd_reply_result(ctx, r->c, r->id,
			 json_pack("{s:s, s:o}", "path", r->path, "children", children));
	return 0;
}

/* The room of the spare stubs waiting below the request's session or
 * tenant (pool.c), NULL for a call or the root. */
static struct acd_stub_room *req_room(const struct acd_req *r)
{
	return r->call ? NULL : r->s ? &r->s->room : r->t ? &r->t->room : NULL;
}

/* What the kernel has in pids.max or memory.max of a session or tenant is
 * its budget plus the stubs' room: shown is the budget, as it was set. */
static int without_room(const struct acd_stub_room *room, const char *file, char *buf,
			size_t len, int n)
{
	uint64_t extra, v;
	char *end;

	if (!room || n <= 0)
		return n;
	extra = !strcmp(file, "pids.max") ? room->pids_written :
		!strcmp(file, "memory.max") ? room->mem_written : 0;
	if (!extra)
		return n;
	v = strtoull(buf, &end, 10);
	if (end == buf || v < extra)
		return n;
	n = snprintf(buf, len, "%llu%s", (unsigned long long)(v - extra), end);
	return n < (int)len ? n : (int)len - 1;
}

static json_t *read_files(struct acd_ctx *ctx, const struct ac_cg_node *node,
			  const char *const *files, const struct acd_stub_room *room)
{
	json_t *o = json_object();
	char buf[512];

	for (const char *const *f = files; *f; f++) {
		int n = ac_cg_read_file(&ctx->cg, node, *f, buf, sizeof(buf));

		n = without_room(room, *f, buf, sizeof(buf), n);
		if (n < 0)
			continue;
		while (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		json_object_set_new(o, *f, json_string(buf));
	}
	return o;
}

static json_t *node_stat(struct acd_ctx *ctx, const struct ac_cg_node *node,
			 const struct acd_stub_room *room)
{
	static const char *const limit_files[] = { "memory.high", "memory.max", "cpu.max",
						   "pids.max", NULL };
	static const char *const usage_files[] = { "memory.current", "memory.peak",
						   "pids.current", NULL };
	struct ac_usage u = { 0 };
	json_t *usage = read_files(ctx, node, usage_files, NULL);

	ac_cg_read_usage(&ctx->cg, node, &u);
	json_object_set_new(usage, "cpu_user_us", json_integer((json_int_t)u.cpu_user_us));
	json_object_set_new(usage, "cpu_system_us", json_integer((json_int_t)u.cpu_system_us));
	json_object_set_new(usage, "cpu_throttled_us",
			    json_integer((json_int_t)u.cpu_throttled_us));
	return json_pack("{s:o, s:o, s:{s:{s:I, s:I, s:I, s:I}, s:I}, s:I}", "limits",
			 read_files(ctx, node, limit_files, room), "usage", usage, "events", "memory",
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

int acd_m_cg_stat(struct acd_ctx *ctx, struct acd_req *r)
{
	json_t *o = node_stat(ctx, acd_req_node(ctx, r), req_room(r));
	struct acd_session *s = r->s;
	struct acd_tenant *t = r->t;

	if (r->call) {
		json_t *d = acd_call_describe(ctx, r->call);

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
	json_object_set_new(o, "path", json_string(r->path));
	acd_reply_result(ctx, r->c, r->id, o);
	return 0;
}

/* ---- cg.cat / cg.set ------------------------------------------------- */

static int get_file(struct acd_req *r, const char **file)
{
	json_t *v = json_object_get(r->params, "file");

	if (!json_is_string(v) || !ac_name_valid(json_string_value(v)))
		return acd_req_invalid(r, "file", "must be a cgroup file name such as \"memory.peak\"");
	*file = json_string_value(v);
	return 0;
}

int acd_m_cg_cat(struct acd_ctx *ctx, struct acd_req *r)
{
	_cleanup_free_ char *buf = malloc(CAT_MAX);
	const char *file;
	int n;

	if (!buf)
		return acd_req_errno(r, -ENOMEM, "cg.cat");
	if ((n = get_file(r, &file)) < 0)
		return n;
	n = ac_cg_read_file(&ctx->cg, acd_req_node(ctx, r), file, buf, CAT_MAX);
	n = without_room(req_room(r), file, buf, CAT_MAX, n);
	if (n == -ENOENT)
		return acd_req_fail(r, RPC_NOT_FOUND,
				    json_pack("{s:s, s:s}", "path", r->path, "file", file),
				    "no file %s on %s (backend %s)", file, r->path,
				    ac_cg_backend_name(&ctx->cg));
	if (n < 0)
		return acd_req_errno(r, n, file);
	acd_reply_result(ctx, r->c, r->id, json_pack("{s:s, s:s, s:s#}", "path", r->path, "file",
						     file, "content", buf, (int)n));
	return 0;
}

int acd_m_cg_set(struct acd_ctx *ctx, struct acd_req *r)
{
	const char *file, *value;
	char buf[256];
	json_t *v = json_object_get(r->params, "value");
	int n;

	if ((n = get_file(r, &file)) < 0)
		return n;
	if (!json_is_string(v))
		return acd_req_invalid(r, "value", "must be a string, e.g. \"2G\" or \"max\"");
	value = json_string_value(v);
	n = ac_cg_write_file(&ctx->cg, acd_req_node(ctx, r), file, value);
	if (n == -EOPNOTSUPP)
		return acd_req_fail(r, RPC_INVALID_PARAMS, json_pack("{s:s}", "value", strerror(-n)),
				    "%s cannot be set on the %s backend", file,
				    ac_cg_backend_name(&ctx->cg));
	if (n == -EINVAL || n == -ERANGE)
		return acd_req_fail(r, RPC_INVALID_PARAMS, json_pack("{s:s}", "value", strerror(-n)),
				    "cannot set %s to '%.64s': settable files are memory.max, "
				    "memory.high, cpu.max, pids.max with cgroupfs values",
				    file, value);
	if (n < 0)
		return acd_req_errno(r, n, file);
	/* Keep admission in step with a new memory budget. */
	if (!strcmp(file, "memory.max") && !r->call) {
		uint64_t m = AC_UNLIMITED;

		if (strcmp(value, "max"))
			ac_parse_size(value, &m);
		if (r->s)
			r->s->budget.memory_max = m;
		else if (r->t)
			r->t->budget.memory_max = m;
		acd_calls_admit_waiting(ctx);
	}
	if (!strcmp(file, "pids.max") && !r->call && (r->s || r->t)) {
		struct ac_budget *b = r->s ? &r->s->budget : &r->t->budget;

		b->pids_max = strcmp(value, "max") ? strtoull(value, NULL, 10) : AC_UNLIMITED;
	}
	/* A new budget of a session or tenant: its spare stubs keep their
	 * room above it (pool.c). */
	if ((!strcmp(file, "memory.max") || !strcmp(file, "pids.max")) && !r->call &&
	    (r->s || r->t)) {
		struct acd_stub_room *room = r->s ? &r->s->room : &r->t->room;

		room->pids_written = ~room->pids;
		room->mem_written = ~room->mem;
		acd_budget_room_write(ctx, acd_req_node(ctx, r), r->s ? &r->s->budget : &r->t->budget,
				      room);
	}
	n = ac_cg_read_file(&ctx->cg, acd_req_node(ctx, r), file, buf, sizeof(buf));
	n = without_room(req_room(r), file, buf, sizeof(buf), n);
	acd_event(ctx, "set", r->path, json_pack("{s:s, s:s}", "file", file, "value", value));
	acd_reply_result(ctx, r->c, r->id, json_pack("{s:s, s:s, s:s}", "path", r->path, "file",
						     file, "content", n >= 0 ? buf : value));
	return 0;
}

/* ---- kill / freeze / thaw -------------------------------------------- */

int acd_m_cg_kill(struct acd_ctx *ctx, struct acd_req *r)
{
	int n = 0;

	if (r->call) {
		acd_call_kill(ctx, r->call, AC_STOP_OPERATOR);
		n = 1;
	} else if (r->s) {
		n = acd_session_kill_calls(ctx, r->s);
	} else {
		for (struct acd_tenant *x = ctx->tenants; x; x = x->next)
			if (!r->t || x == r->t)
				for (struct acd_session *y = x->sessions; y; y = y->next)
					n += acd_session_kill_calls(ctx, y);
	}
	acd_event(ctx, "kill", r->path, json_pack("{s:i}", "killed_calls", n));
	acd_reply_result(ctx, r->c, r->id, json_pack("{s:s, s:i}", "path", r->path, "killed_calls", n));
	return 0;
}

/* Who holds the node frozen that its owner may not let go: the pressure
 * ladder, the call's own on_exceed (its reply is sent: a thaw would run
 * it past every check), or an operator. NULL: nobody, or the owner. */
static const char *held_by(const struct acd_req *r)
{
	if (r->call)
		return r->call->contain.level == CONTAIN_FROZEN ? "pressure" :
		       r->call->end.frozen			 ? "on_exceed" :
		       r->call->operator_frozen			 ? "operator" :
									   NULL;
	return r->s && r->s->frozen && r->s->operator_frozen ? "operator" : NULL;
}

static int freeze_common(struct acd_ctx *ctx, struct acd_req *r, bool frozen)
{
	struct acd_call *call = r->call;
	const char *held = frozen || r->operator ? NULL : held_by(r);
	int n;

	if (call && call->state != CALL_RUNNING)
		return acd_req_fail(r, RPC_NOT_FOUND, json_pack("{s:s}", "path", r->path),
				    "the call is ending");
	if (held)
		return acd_req_fail(r, RPC_PERMISSION,
				    json_pack("{s:s, s:s}", "path", r->path, "frozen_by", held),
				    "cannot thaw %s: %s froze it (operators may thaw it)", r->path,
				    !strcmp(held, "pressure") ?
					    "the memory pressure ladder, which lets it go when the "
					    "pressure falls," :
				    !strcmp(held, "on_exceed") ?
					    "its intent's on_exceed: freeze, past its budget," :
					    "an operator");
	n = ac_cg_freeze(&ctx->cg, acd_req_node(ctx, r), frozen);
	if (n < 0)
		return acd_req_errno(r, n, frozen ? "freeze" : "thaw");
	if (call && !frozen && call->end.frozen)
		/* a SIGSTOP the programs sent while the daemon was freezing
		 * it may have come after the SIGCONT of the freeze: again */
		acd_call_continue_stopped(ctx, call);
	if (call) {
		call->end.frozen = frozen && call->end.frozen;
		call->operator_frozen = frozen && (r->operator || call->operator_frozen);
	} else if (r->s) {
		r->s->frozen = frozen;
		r->s->operator_frozen = frozen && (r->operator || r->s->operator_frozen);
	} else if (r->t) {
		r->t->frozen = frozen;
	}
	if (!frozen)
		acd_calls_admit_waiting(ctx);
	acd_event(ctx, frozen ? "freeze" : "thaw", r->path, NULL);
	acd_reply_result(ctx, r->c, r->id, json_pack("{s:s, s:b}", "path", r->path, "frozen", frozen));
	return 0;
}

int acd_m_cg_freeze(struct acd_ctx *ctx, struct acd_req *r)
{
	return freeze_common(ctx, r, true);
}

int acd_m_cg_thaw(struct acd_ctx *ctx, struct acd_req *r)
{
	return freeze_common(ctx, r, false);
}

/* ---- events.subscribe, daemon.info ----------------------------------- */

int acd_m_events_subscribe(struct acd_ctx *ctx, struct acd_req *r)
{
	int err = acd_events_subscribe(ctx, r->c, &r->p);

	if (err == -EDQUOT)
		return acd_req_quota(ctx, r, ACD_Q_SUBSCRIPTIONS);
	if (err < 0)
		return acd_req_errno(r, err, "events.subscribe");
	acd_reply_result(ctx, r->c, r->id, json_pack("{s:b}", "subscribed", 1));
	return 0;
}

/* A non-operator sees the pressure of the tenants they may see, not the
 * whole tree's or other tenants' (usage, budget, band). */
static void hide_domains(struct acd_ctx *ctx, struct acd_req *r, json_t *doms)
{
	for (size_t i = json_array_size(doms); i-- > 0;) {
		const char *path = json_string_value(json_object_get(json_array_get(doms, i), "path"));

		if (!path || !acd_access_sees_path(ctx, r->c, path))
			json_array_remove(doms, i);
	}
}

int acd_m_daemon_info(struct acd_ctx *ctx, struct acd_req *r)
{
	json_t *roots = json_array(), *res, *pressure;
	int waiting = 0;

	for (const struct acd_call *w = ctx->calls->waiting; w; w = w->wait_next)
		waiting++;
	for (int h = 0; h < ctx->cg.n_hier; h++)
		json_array_append_new(roots, json_string(ctx->cg.root_path[h]));
	res = json_pack("{s:s, s:s, s:s, s:o, s:s, s:i, s:i, s:I, s:i, s:i, s:i, s:i, s:b}",
			"version", ACD_VERSION, "backend", ac_cg_backend_name(&ctx->cg), "root",
			ctx->cg.root_path[0], "roots", roots, "socket", ctx->socket_path, "pid",
			(int)getpid(), "calls_running", ctx->calls_running, "calls_total",
			(json_int_t)ctx->calls_total, "clients", ctx->n_clients, "subscribers",
			ctx->n_subscribed, "calls_waiting", waiting, "calls_removing",
			ctx->calls->n_removing, "clone_into_cgroup", ctx->cg.has_clone_into_cgroup);
	pressure = acd_pressure_info(ctx);
	if (acd_contain_enabled(ctx))
		json_object_update_new(pressure, acd_contain_info(ctx));
	json_object_set_new(res, "pool", acd_pool_info(ctx));
	json_object_set_new(res, "bpf", acd_bpf_info(ctx));
	json_object_set_new(res, "pressure", pressure);
	json_object_set_new(res, "interpreters", acd_interp_info(ctx));
	if (r->operator) /* every uid's: the operators' to count */
		json_object_set_new(res, "interpreter_checks",
				    json_integer(acd_interp_checks_running(ctx)));
	json_object_set_new(res, "max_clients", json_integer(ctx->max_clients));
	json_object_set_new(res, "quota", acd_quota_describe(ctx, r->c->uid, r->operator));
	if (!r->operator) {
		hide_domains(ctx, r, json_object_get(pressure, "domains"));
		/* what was pushed out to swap is other tenants' calls too */
		json_object_del(pressure, "reclaim");
	}
	acd_reply_result(ctx, r->c, r->id, res);
	return 0;
}
