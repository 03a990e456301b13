// SPDX-License-Identifier: GPL-2.0
/* Tenants and sessions: the in-memory tree that mirrors the cgroups below
 * the root, with their budgets (written as cgroup limits, and used for
 * admission) and reservations. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/history.h"
#include "agentcg/units.h"
#include "agentcg/util.h"
#include "events.h"
#include "pool.h"
#include "pressure.h"
#include "priority.h"
#include "quota.h"
#include "server.h"
#include "tree.h"

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
