// SPDX-License-Identifier: GPL-2.0
/* Who may do what: operators, tenant members and their policy, owners
 * (access.h; README "Security model"). The configuration names users and
 * groups; they are resolved to ids here, once, when the daemon starts. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "agentcg/util.h"
#include "server.h"

/* A configured list of users and groups, as ids. */
struct ids {
	bool everyone;
	int n_uids, n_gids;
	uid_t uids[AC_MEMBERS_MAX];
	gid_t gids[AC_MEMBERS_MAX];
};

struct tenant_ids {
	const struct ac_tenant_config *tc;
	struct ids members;
};

struct acd_access {
	int n;
	struct tenant_ids t[]; /* one per configured tenant */
};

static void resolve(const struct ac_members *m, struct ids *out, const char *what)
{
	char buf[4096];

	out->everyone = m->everyone;
	for (int i = 0; i < m->n_users; i++) {
		struct passwd pw, *res = NULL;

		getpwnam_r(m->users[i], &pw, buf, sizeof(buf), &res);
		if (res)
			out->uids[out->n_uids++] = pw.pw_uid;
		else
			ac_warn("%s: no user '%s' (ignored until a restart)", what, m->users[i]);
	}
	for (int i = 0; i < m->n_groups; i++) {
		struct group gr, *res = NULL;

		getgrnam_r(m->groups[i], &gr, buf, sizeof(buf), &res);
		if (res)
			out->gids[out->n_gids++] = gr.gr_gid;
		else
			ac_warn("%s: no group '%s' (ignored until a restart)", what, m->groups[i]);
	}
}

int acd_access_init(struct acd_ctx *ctx)
{
	const struct ac_config *cfg = &ctx->cfg;
	struct acd_access *a = calloc(1, sizeof(*a) + (size_t)cfg->n_tenants * sizeof(a->t[0]));
	struct ids ops = { 0 };
	char what[AC_NAME_MAX + 32];

	if (!a)
		return -ENOMEM;
	resolve(&cfg->operators, &ops, "operators");
	ctx->operators.n_uids = ops.n_uids;
	ctx->operators.n_gids = ops.n_gids;
	memcpy(ctx->operators.uids, ops.uids, sizeof(ops.uids));
	memcpy(ctx->operators.gids, ops.gids, sizeof(ops.gids));
	for (int i = 0; i < cfg->n_tenants; i++) {
		a->t[i].tc = &cfg->tenants[i];
		snprintf(what, sizeof(what), "tenants.%s", cfg->tenants[i].name);
		resolve(&cfg->tenants[i].members, &a->t[i].members, what);
	}
	a->n = cfg->n_tenants;
	ctx->access = a;
	return 0;
}

void acd_access_free(struct acd_ctx *ctx)
{
	free(ctx->access);
	ctx->access = NULL;
}

bool acd_access_operator(const struct acd_ctx *ctx, const struct acd_client *c)
{
	return acd_client_is_operator(ctx, c);
}

static const struct tenant_ids *tenant_ids(const struct acd_ctx *ctx, const struct acd_tenant *t)
{
	const struct acd_access *a = ctx->access;

	for (int i = 0; a && i < a->n; i++)
		if (!strcmp(a->t[i].tc->name, t->name))
			return &a->t[i];
	return NULL; /* made by tenant.create or on demand: operators only */
}

static bool in_ids(const struct ids *m, const struct acd_client *c)
{
	return m->everyone || acd_client_in(c, m->uids, m->n_uids, m->gids, m->n_gids);
}

bool acd_access_member(const struct acd_ctx *ctx, const struct acd_client *c,
		       const struct acd_tenant *t)
{
	const struct tenant_ids *ti;

	if (acd_access_operator(ctx, c))
		return true;
	ti = tenant_ids(ctx, t);
	return ti && in_ids(&ti->members, c);
}

bool acd_access_owns(const struct acd_ctx *ctx, const struct acd_client *c,
		     const struct acd_session *s)
{
	return s->owner == c->uid || acd_access_operator(ctx, c);
}

bool acd_access_sees_tenant(const struct acd_ctx *ctx, const struct acd_client *c,
			    const struct acd_tenant *t)
{
	if (acd_access_member(ctx, c, t))
		return true;
	for (const struct acd_session *s = t->sessions; s; s = s->next)
		if (s->owner == c->uid)
			return true;
	return false;
}

bool acd_access_sees_path(struct acd_ctx *ctx, const struct acd_client *c, const char *path)
{
	struct ac_path p;
	struct acd_tenant *t;
	struct acd_session *s;

	if (acd_access_operator(ctx, c))
		return true;
	if (ac_path_parse(path, &p) < 0 || p.depth < 1 || !(t = acd_tenant_find(ctx, p.comp[0])))
		return false; /* the root's events (pressure of the whole tree): operators */
	if (p.depth == 1)
		return acd_access_sees_tenant(ctx, c, t);
	s = acd_session_find(t, p.comp[1]);
	return s && s->owner == c->uid;
}

/* low < normal < high */
static int rank(enum ac_priority p)
{
	return p == AC_PRIO_LOW ? 0 : p == AC_PRIO_NORMAL ? 1 : 2;
}

static enum ac_priority max_priority(const struct acd_ctx *ctx, const struct acd_tenant *t)
{
	const struct tenant_ids *ti = tenant_ids(ctx, t);

	return ti ? ti->tc->max_priority : AC_PRIO_NORMAL;
}

const struct ac_budget *acd_access_session_budget(const struct acd_ctx *ctx,
						  const struct acd_tenant *t)
{
	const struct tenant_ids *ti = tenant_ids(ctx, t);

	return ac_config_session_budget(&ctx->cfg, ti ? ti->tc : NULL);
}

int acd_access_priority(const struct acd_ctx *ctx, const struct acd_client *c,
			const struct acd_tenant *t, enum ac_priority prio, char *why,
			size_t why_len)
{
	enum ac_priority max = max_priority(ctx, t);

	if (acd_access_operator(ctx, c) || rank(prio) <= rank(max))
		return 0;
	snprintf(why, why_len, "priority %s is above tenant %s's max_priority %s (operators only)",
		 ac_priority_name(prio), t->name, ac_priority_name(max));
	return -EPERM;
}

/* asked within allowed? AC_UNLIMITED and cpu 0 are "no limit". */
static bool size_within(uint64_t asked, uint64_t allowed)
{
	return allowed == AC_UNLIMITED || (asked != AC_UNLIMITED && asked <= allowed);
}

static void show_size(char *out, size_t len, uint64_t v)
{
	if (v == AC_UNLIMITED)
		snprintf(out, len, "max");
	else
		snprintf(out, len, "%llu", (unsigned long long)v);
}

int acd_access_session_policy(const struct acd_ctx *ctx, const struct acd_client *c,
			      const struct acd_tenant *t, const struct ac_budget *b,
			      enum ac_priority prio, char *limit, size_t limit_len, char *why,
			      size_t why_len)
{
	const struct ac_budget *pol;
	char asked[32], allowed[32];
	const char *field = NULL;

	if (acd_access_operator(ctx, c))
		return 0;
	if (!acd_access_member(ctx, c, t)) {
		snprintf(limit, limit_len, "tenants.%s.users", t->name);
		snprintf(why, why_len, "uid %u is not a member of tenant %s", (unsigned)c->uid,
			 t->name);
		return -EPERM;
	}
	if (acd_access_priority(ctx, c, t, prio, why, why_len) < 0) {
		snprintf(limit, limit_len, "tenants.%s.max_priority", t->name);
		return -EPERM;
	}
	pol = acd_access_session_budget(ctx, t);
	if (!size_within(b->memory_max, pol->memory_max)) {
		field = "memory_max";
		show_size(asked, sizeof(asked), b->memory_max);
		show_size(allowed, sizeof(allowed), pol->memory_max);
	} else if (!size_within(b->pids_max, pol->pids_max)) {
		field = "pids";
		show_size(asked, sizeof(asked), b->pids_max);
		show_size(allowed, sizeof(allowed), pol->pids_max);
	} else if (pol->cpu > 0 && !(b->cpu > 0 && b->cpu <= pol->cpu)) {
		field = "cpu";
		snprintf(asked, sizeof(asked), b->cpu > 0 ? "%g" : "unlimited", b->cpu);
		snprintf(allowed, sizeof(allowed), "%g", pol->cpu);
	}
	if (!field)
		return 0;
	snprintf(limit, limit_len, "session_budget.%s", field);
	snprintf(why, why_len, "budget.%s %s is above what tenant %s allows a member's session "
		 "(%s; operators only)", field, asked, t->name, allowed);
	return -EPERM;
}
