// SPDX-License-Identifier: GPL-2.0
/* Tenants and sessions: the in-memory tree that mirrors the cgroups below
 * the root, with their budgets (written as cgroup limits, and used for
 * admission) and reservations. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/history.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "events.h"
#include "metrics.h"
#include "pool.h"
#include "pressure.h"
#include "priority.h"
#include "quota.h"
#include "server.h"
#include "tree.h"

const char *const acd_outcome_names[ACD_OUT_N] = { "ok", "exceeded", "failed", "spawn_failed" };
const char *const acd_refusal_names[ACD_REF_N] = { "budget", "never_fits", "pressure", "quota" };
const char *const acd_held_names[ACD_HELD_N] = { "budget", "pressure" };
const char *const acd_resource_names[ACD_RESOURCES_N] = { "memory", "memory_max", "cpu", "pids",
							  "timeout", "cpu_time", "forks" };

int acd_resource_index(const char *name)
{
	for (int i = 0; name && i < ACD_RESOURCES_N; i++)
		if (!strcmp(acd_resource_names[i], name))
			return i;
	return -1;
}

struct acd_tenant *acd_tenant_find(struct acd_ctx *ctx, const char *name)
{
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

struct acd_session *acd_session_find(struct acd_tenant *t, const char *name)
{
	for (struct acd_session *s = t->sessions; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

int acd_budget_apply(struct acd_ctx *ctx, const struct ac_cg_node *node, const struct ac_budget *b)
{
	struct ac_limits l;

	ac_limits_unlimited(&l);
	l.memory_max = b->memory_max;
	l.pids_max = b->pids_max;
	if (b->cpu > 0) {
		l.cpu_quota_us = (uint64_t)(b->cpu * (double)AC_CPU_PERIOD_US + 0.5);
		if (l.cpu_quota_us < 1000)
			l.cpu_quota_us = 1000;
	}
	return ac_cg_apply_limits(&ctx->cg, node, &l, false);
}

int acd_budget_room_write(struct acd_ctx *ctx, const struct ac_cg_node *node,
			  const struct ac_budget *b, struct acd_stub_room *room)
{
	char v[32];
	int r = 0, r2;

	if (b->pids_max != AC_UNLIMITED && room->pids != room->pids_written) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)(b->pids_max + room->pids));
		r = ac_cg_write_file(&ctx->cg, node, "pids.max", v);
	}
	/* written or not (v1 refuses a memory limit below the usage): the
	 * next write is absolute again, so nothing drifts */
	room->pids_written = room->pids;
	if (b->memory_max != AC_UNLIMITED && room->mem != room->mem_written) {
		snprintf(v, sizeof(v), "%llu", (unsigned long long)(b->memory_max + room->mem));
		if ((r2 = ac_cg_write_file(&ctx->cg, node, "memory.max", v)) < 0 && !r)
			r = r2;
	}
	room->mem_written = room->mem;
	return r;
}

static void add_err_size(struct ac_errors *errs, const char *field, const json_t *v, uint64_t *out)
{
	if (json_is_string(v) && !strcmp(json_string_value(v), "max")) {
		*out = AC_UNLIMITED;
	} else if (json_is_string(v)) {
		int r = ac_parse_size(json_string_value(v), out);

		if (r < 0 || *out < AC_MEMORY_MIN)
			ac_errors_add(errs, field, "\"%s\" is not a size of at least 1M (e.g. \"2G\")",
				      json_string_value(v));
	} else if (json_is_integer(v) && json_integer_value(v) >= (json_int_t)AC_MEMORY_MIN) {
		*out = (uint64_t)json_integer_value(v);
	} else {
		ac_errors_add(errs, field, "must be a size such as \"2G\", or \"max\"");
	}
}

int acd_budget_from_json(const json_t *obj, struct ac_budget *b, struct ac_errors *errs)
{
	const char *key;
	json_t *v;
	int before = errs->n;

	if (!obj)
		return 0;
	if (!json_is_object(obj)) {
		ac_errors_add(errs, "budget", "must be an object {\"memory_max\", \"cpu\", \"pids\"}");
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		if (!strcmp(key, "memory_max")) {
			add_err_size(errs, "budget.memory_max", v, &b->memory_max);
		} else if (!strcmp(key, "cpu")) {
			if (!json_is_number(v) || json_number_value(v) < 0 ||
			    json_number_value(v) > AC_CPU_MAX ||
			    (json_number_value(v) > 0 && json_number_value(v) < AC_CPU_MIN))
				ac_errors_add(errs, "budget.cpu",
					      "must be a number of cores (0 = unlimited, up to 1024)");
			else
				b->cpu = json_number_value(v);
		} else if (!strcmp(key, "pids")) {
			if (json_is_string(v) && !strcmp(json_string_value(v), "max"))
				b->pids_max = AC_UNLIMITED;
			else if (!json_is_integer(v) || json_integer_value(v) < 1 ||
				 json_integer_value(v) > AC_PIDS_MAX)
				ac_errors_add(errs, "budget.pids", "must be an integer 1..%u or \"max\"",
					      AC_PIDS_MAX);
			else
				b->pids_max = (uint64_t)json_integer_value(v);
		} else {
			char field[48];

			snprintf(field, sizeof(field), "budget.%.30s", key);
			ac_errors_add(errs, field, "unknown field");
		}
	}
	return errs->n > before ? -EINVAL : 0;
}

json_t *acd_budget_to_json(const struct ac_budget *b)
{
	char mem[32];
	json_t *o = json_object();

	ac_format_size(b->memory_max, mem, sizeof(mem));
	json_object_set_new(o, "memory_max", json_string(mem));
	json_object_set_new(o, "cpu", b->cpu > 0 ? json_real(b->cpu) : json_string("max"));
	if (b->pids_max == AC_UNLIMITED)
		json_object_set_new(o, "pids", json_string("max"));
	else
		json_object_set_new(o, "pids", json_integer((json_int_t)b->pids_max));
	return o;
}

int acd_tenant_create(struct acd_ctx *ctx, const char *name, const struct ac_budget *b,
		      struct acd_tenant **out)
{
	struct acd_tenant *t;
	int r;

	if (!ac_name_valid(name))
		return -EINVAL;
	if (acd_tenant_find(ctx, name))
		return -EEXIST;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	ac_strlcpy(t->name, name, sizeof(t->name));
	snprintf(t->path, sizeof(t->path), "/%s", name);
	t->budget = *b;
	r = ac_cg_mkdir(&ctx->cg, &ctx->cg.root, name, false, &t->node);
	if (r < 0) {
		free(t);
		return r;
	}
	r = acd_budget_apply(ctx, &t->node, b);
	if (r < 0) {
		ac_cg_rmdir(&ctx->cg, &ctx->cg.root, name, &t->node);
		free(t);
		return r;
	}
	t->next = ctx->tenants;
	ctx->tenants = t;
	r = acd_pressure_domain_add(ctx, t->path, &t->node, t->budget.memory_max, &t->dom);
	if (r < 0)
		ac_log_errno(r, "pressure: tenant %s is not a domain", t->path);
	if (out)
		*out = t;
	acd_event(ctx, "tenant.create", t->path, json_pack("{s:o}", "budget", acd_budget_to_json(b)));
	return 0;
}

int acd_tenant_remove(struct acd_ctx *ctx, struct acd_tenant *t)
{
	int r;

	if (t->sessions)
		return -EBUSY;
	acd_pressure_domain_remove(ctx, &t->dom);
	r = ac_cg_rmdir(&ctx->cg, &ctx->cg.root, t->name, &t->node);
	if (r < 0) {
		acd_pressure_domain_add(ctx, t->path, &t->node, t->budget.memory_max, &t->dom);
		return r;
	}
	for (struct acd_tenant **pp = &ctx->tenants; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	acd_event(ctx, "tenant.remove", t->path, NULL);
	ac_history_destroy(t->history);
	free(t);
	return 0;
}

int acd_session_create(struct acd_ctx *ctx, struct acd_tenant *t, const char *name,
		       const struct ac_budget *b, enum ac_priority prio, const struct acd_client *c,
		       struct acd_session **out)
{
	struct acd_session *s;
	uid_t owner = c ? c->uid : 0;
	int r;

	if (!ac_name_valid(name))
		return -EINVAL;
	if (acd_session_find(t, name))
		return -EEXIST;
	if (acd_quota_check(ctx, owner, !c || acd_client_is_operator(ctx, c), ACD_Q_SESSIONS, 1) < 0)
		return -EDQUOT;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->owner = owner;
	s->tenant = t;
	ac_strlcpy(s->name, name, sizeof(s->name));
	snprintf(s->path, sizeof(s->path), "/%s/%s", t->name, name);
	s->budget = *b;
	s->priority = prio;
	s->next_seq = 1;
	acd_pool_init_session(ctx, s);
	r = ac_cg_mkdir(&ctx->cg, &t->node, name, false, &s->node);
	if (r < 0) {
		free(s);
		return r;
	}
	r = acd_budget_apply(ctx, &s->node, b);
	if (r < 0) {
		ac_cg_rmdir(&ctx->cg, &t->node, name, &s->node);
		free(s);
		return r;
	}
	if (acd_quota_take(ctx, owner, ACD_Q_SESSIONS, 1) < 0) {
		ac_cg_rmdir(&ctx->cg, &t->node, name, &s->node);
		free(s);
		return -ENOMEM;
	}
	s->next = t->sessions;
	t->sessions = s;
	acd_prio_session_apply(ctx, s);
	acd_pressure_watch_node(ctx, &s->memevents, &s->node, s->path);
	if (out)
		*out = s;
	acd_event(ctx, "session.create", s->path,
		  json_pack("{s:o, s:s}", "budget", acd_budget_to_json(b), "priority",
			    ac_priority_name(prio)));
	return 0;
}

int acd_session_remove(struct acd_ctx *ctx, struct acd_session *s)
{
	struct acd_tenant *t = s->tenant;
	int r;

	if (s->calls)
		return -EBUSY;
	ctx->hooks.session_removing(ctx, s); /* its spare goes back to the pool */
	acd_pool_drain(ctx, s);
	acd_pressure_unwatch_node(ctx, &s->memevents);
	r = ac_cg_rmdir(&ctx->cg, &t->node, s->name, &s->node);
	if (r < 0) {
		acd_pressure_watch_node(ctx, &s->memevents, &s->node, s->path);
		return r;
	}
	/* while it is still listed: its owner's subscribers may see it */
	acd_event(ctx, "session.close", s->path, NULL);
	for (struct acd_session **pp = &t->sessions; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	acd_quota_give(ctx, s->owner, ACD_Q_SESSIONS, 1);
	json_decref(s->close_id);
	free(s);
	acd_prio_session_gone(ctx);
	return 0;
}

int acd_tree_init(struct acd_ctx *ctx)
{
	for (int i = 0; i < ctx->cfg.n_tenants; i++) {
		const struct ac_tenant_config *tc = &ctx->cfg.tenants[i];
		int r = acd_tenant_create(ctx, tc->name, &tc->budget, NULL);

		if (r < 0)
			return ac_log_errno(r, "cannot create tenant %s", tc->name);
	}
	return 0;
}

/* At exit: the cgroups go with ac_cg_close; this frees the memory. */
void acd_tree_destroy(struct acd_ctx *ctx)
{
	while (ctx->tenants) {
		struct acd_tenant *t = ctx->tenants;

		while (t->sessions) {
			struct acd_session *s = t->sessions;

			t->sessions = s->next;
			acd_pressure_unwatch_node(ctx, &s->memevents);
			ctx->hooks.session_removing(ctx, s);
			acd_pool_drain(ctx, s);
			ac_cg_node_close(&s->node);
			json_decref(s->close_id);
			free(s);
		}
		ctx->tenants = t->next;
		acd_pressure_domain_remove(ctx, &t->dom);
		ac_cg_node_close(&t->node);
		ac_history_destroy(t->history);
		free(t);
	}
}

/* ---- metrics ----------------------------------------------------------
 * Tenants are few (the configuration's, and those operators make);
 * sessions are bounded per uid (per_uid.sessions) but not for operators,
 * so both are capped here: the work of a scrape stays bounded. */

/* One counter family over the tenants: for each, n values by names. */
static void tenant_family(struct acd_ctx *ctx, struct acd_metrics *m, const char *name,
			  const char *help, const char *label, const char *const *names, int n,
			  size_t offset)
{
	int shown = 0;

	acd_metrics_family(m, name, ACD_COUNTER, help);
	for (struct acd_tenant *t = ctx->tenants; t && shown < ACD_METRICS_TENANTS_MAX;
	     t = t->next, shown++) {
		const uint64_t *v = (const uint64_t *)((const char *)&t->stats + offset);

		for (int i = 0; i < n; i++)
			acd_metrics_u64(m, v[i], "tenant", t->name, label, names[i], NULL);
	}
}

/* memory.peak of a node (v2 memory.peak, v1 memory.max_usage_in_bytes),
 * or -1 when it has none (v2 before 5.19). */
static int64_t node_peak(struct acd_ctx *ctx, const struct ac_cg_node *node)
{
	char buf[32], *end;
	unsigned long long v;
	int n = ac_cg_read_file(&ctx->cg, node, "memory.peak", buf, sizeof(buf));

	if (n <= 0)
		return -1;
	v = strtoull(buf, &end, 10);
	return end == buf || v > INT64_MAX ? -1 : (int64_t)v;
}

static void session_family(struct acd_ctx *ctx, struct acd_metrics *m, bool peak,
			   int *omitted)
{
	int shown = 0, tn = 0;

	acd_metrics_family(m, peak ? "agentcg_session_memory_peak_bytes" : "agentcg_session_memory_bytes",
			   ACD_GAUGE, peak ?
			   "Highest memory use of a session's cgroup since it was made (memory.peak), "
			   "for at most 256 sessions, the newest first." :
			   "Memory use of a session's cgroup now (memory.current: its calls, spare "
			   "cgroups and interpreter), for at most 256 sessions, the newest first.");
	*omitted = 0;
	for (struct acd_tenant *t = ctx->tenants; t && tn < ACD_METRICS_TENANTS_MAX;
	     t = t->next, tn++) {
		for (struct acd_session *s = t->sessions; s; s = s->next) {
			int64_t v;

			if (shown >= ACD_METRICS_SESSIONS_MAX) {
				(*omitted)++;
				continue;
			}
			shown++;
			v = peak ? node_peak(ctx, &s->node) :
				   (int64_t)ac_cg_memory_current(&ctx->cg, &s->node);
			if (v >= 0)
				acd_metrics_u64(m, (uint64_t)v, "tenant", t->name, "session",
						s->name, NULL);
		}
	}
}

void acd_tree_metrics(struct acd_ctx *ctx, struct acd_metrics *m)
{
	int tenants = 0, omitted_sessions = 0, shown = 0;

	tenant_family(ctx, m, "agentcg_calls_total",
		      "Calls (call.run, session.exec) that ended, by tenant and the status of "
		      "their verdict; spawn_failed: the command could not start.",
		      "status", acd_outcome_names, ACD_OUT_N, offsetof(struct acd_tenant_stats, calls));
	tenant_family(ctx, m, "agentcg_calls_exceeded_total",
		      "Calls that ended having exceeded a resource of their intent, by tenant and "
		      "resource (a call that exceeded two counts in both).",
		      "resource", acd_resource_names, ACD_RESOURCES_N,
		      offsetof(struct acd_tenant_stats, exceeded));
	tenant_family(ctx, m, "agentcg_admission_waits_total",
		      "Calls that waited at admission, counted when the wait ended in a start or "
		      "a refusal, by tenant and what held them back (budget: no room, or wait "
		      "asked; pressure: memory pressure).",
		      "held_by", acd_held_names, ACD_HELD_N, offsetof(struct acd_tenant_stats, waits));
	acd_metrics_family(m, "agentcg_admission_wait_seconds_total", ACD_COUNTER,
			   "Time the calls of agentcg_admission_waits_total waited, by tenant and "
			   "what held them back.");
	for (struct acd_tenant *t = ctx->tenants; t && shown < ACD_METRICS_TENANTS_MAX;
	     t = t->next, shown++)
		for (int i = 0; i < ACD_HELD_N; i++)
			acd_metrics_f64(m, (double)t->stats.wait_ns[i] / 1e9, "tenant", t->name,
					"held_by", acd_held_names[i], NULL);
	tenant_family(ctx, m, "agentcg_admission_refused_total",
		      "Calls admission refused, by tenant and reason (budget: no room left; "
		      "never_fits: more than a whole budget; pressure: held back by memory "
		      "pressure, then refused; quota: a per_uid quota).",
		      "reason", acd_refusal_names, ACD_REF_N, offsetof(struct acd_tenant_stats, refused));

	acd_metrics_family(m, "agentcg_sessions", ACD_GAUGE, "Sessions open now, by tenant.");
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next, tenants++) {
		uint64_t n = 0;

		for (struct acd_session *s = t->sessions; s; s = s->next)
			n++;
		if (tenants < ACD_METRICS_TENANTS_MAX)
			acd_metrics_u64(m, n, "tenant", t->name, NULL);
	}
	session_family(ctx, m, false, &omitted_sessions);
	session_family(ctx, m, true, &omitted_sessions);

	acd_metrics_family(m, "agentcg_metrics_omitted", ACD_GAUGE,
			   "Tenants and sessions left out of the series that name them (at most "
			   "256 of each are named).");
	acd_metrics_u64(m, tenants > ACD_METRICS_TENANTS_MAX ?
			   (uint64_t)(tenants - ACD_METRICS_TENANTS_MAX) : 0, "kind", "tenants", NULL);
	acd_metrics_u64(m, (uint64_t)omitted_sessions, "kind", "sessions", NULL);
}
