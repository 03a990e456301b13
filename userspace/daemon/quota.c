// SPDX-License-Identifier: GPL-2.0
/* Per-uid counts against the per_uid quotas: a small hash table of the
 * uids that hold something. An entry goes when its last count does, so
 * the table holds at most one entry per uid with a connection, session
 * or call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "agentcg/util.h"
#include "quota.h"

#define BUCKETS 256

struct quota_entry {
	struct quota_entry *next;
	uid_t uid;
	uint64_t n[ACD_Q_COUNT];
};

struct acd_quotas {
	struct quota_entry *b[BUCKETS];
	int n_uids;
};

static const char *const names[ACD_Q_COUNT] = {
	[ACD_Q_CONNECTIONS] = "per_uid.connections",
	[ACD_Q_SESSIONS] = "per_uid.sessions",
	[ACD_Q_CALLS_RUNNING] = "per_uid.calls_running",
	[ACD_Q_CALLS_WAITING] = "per_uid.calls_waiting",
	[ACD_Q_INTERP_OPS] = "per_uid.interp_ops",
	[ACD_Q_INTERP_OP_BYTES] = "per_uid.interp_op_bytes",
	[ACD_Q_SUBSCRIPTIONS] = "per_uid.subscriptions",
	[ACD_Q_REPLY_BYTES] = "max_reply_backlog",
};

int acd_quota_init(struct acd_ctx *ctx)
{
	ctx->quotas = calloc(1, sizeof(*ctx->quotas));
	return ctx->quotas ? 0 : -ENOMEM;
}

void acd_quota_free(struct acd_ctx *ctx)
{
	if (!ctx->quotas)
		return;
	for (int i = 0; i < BUCKETS; i++)
		while (ctx->quotas->b[i]) {
			struct quota_entry *e = ctx->quotas->b[i];

			ctx->quotas->b[i] = e->next;
			free(e);
		}
	free(ctx->quotas);
	ctx->quotas = NULL;
}

const char *acd_quota_name(enum acd_quota q)
{
	return names[q];
}

uint64_t acd_quota_max(const struct acd_ctx *ctx, enum acd_quota q)
{
	const struct ac_per_uid *p = &ctx->cfg.per_uid;

	switch (q) {
	case ACD_Q_CONNECTIONS: return p->connections;
	case ACD_Q_SESSIONS: return p->sessions;
	case ACD_Q_CALLS_RUNNING: return p->calls_running;
	case ACD_Q_CALLS_WAITING: return p->calls_waiting;
	case ACD_Q_INTERP_OPS: return p->interp_ops;
	case ACD_Q_INTERP_OP_BYTES: return p->interp_op_bytes;
	case ACD_Q_SUBSCRIPTIONS: return p->subscriptions;
	case ACD_Q_REPLY_BYTES: return ACD_REPLY_BACKLOGS_PER_UID * ctx->cfg.max_reply_backlog;
	default: return 0;
	}
}

static struct quota_entry **slot(const struct acd_ctx *ctx, uid_t uid)
{
	struct quota_entry **pp = &ctx->quotas->b[(uid * 2654435761u) % BUCKETS];

	while (*pp && (*pp)->uid != uid)
		pp = &(*pp)->next;
	return pp;
}

uint64_t acd_quota_used(const struct acd_ctx *ctx, uid_t uid, enum acd_quota q)
{
	struct quota_entry *e = *slot(ctx, uid);

	return e ? e->n[q] : 0;
}

int acd_quota_check(const struct acd_ctx *ctx, uid_t uid, bool exempt, enum acd_quota q,
		    uint64_t n)
{
	uint64_t used = acd_quota_used(ctx, uid, q), max = acd_quota_max(ctx, q);

	if (exempt || (used <= max && n <= max - used))
		return 0;
	return -EDQUOT;
}

int acd_quota_take(struct acd_ctx *ctx, uid_t uid, enum acd_quota q, uint64_t n)
{
	struct quota_entry **pp = slot(ctx, uid);

	if (!*pp) {
		if (!n)
			return 0;
		*pp = calloc(1, sizeof(**pp));
		if (!*pp)
			return -ENOMEM;
		(*pp)->uid = uid;
		ctx->quotas->n_uids++;
	}
	(*pp)->n[q] += n;
	return 0;
}

void acd_quota_give(struct acd_ctx *ctx, uid_t uid, enum acd_quota q, uint64_t n)
{
	struct quota_entry **pp = slot(ctx, uid), *e = *pp;

	if (!e)
		return;
	e->n[q] = e->n[q] > n ? e->n[q] - n : 0;
	for (int i = 0; i < ACD_Q_COUNT; i++)
		if (e->n[i])
			return;
	*pp = e->next;
	free(e);
	ctx->quotas->n_uids--;
}

json_t *acd_quota_data(const struct acd_ctx *ctx, enum acd_quota q)
{
	return json_pack("{s:s, s:I}", "limit", names[q], "max", (json_int_t)acd_quota_max(ctx, q));
}

void acd_quota_message(const struct acd_ctx *ctx, uid_t uid, enum acd_quota q, char *buf,
		       size_t len)
{
	snprintf(buf, len, "quota %s reached: uid %u holds %llu of at most %llu", names[q],
		 (unsigned)uid, (unsigned long long)acd_quota_used(ctx, uid, q),
		 (unsigned long long)acd_quota_max(ctx, q));
}

json_t *acd_quota_describe(const struct acd_ctx *ctx, uid_t uid, bool exempt)
{
	json_t *o = json_object();

	for (int q = 0; q < ACD_Q_REPLY_BYTES; q++)
		json_object_set_new(o, names[q] + sizeof("per_uid.") - 1,
				    json_pack("{s:I, s:o}", "used",
					      (json_int_t)acd_quota_used(ctx, uid, q), "max",
					      exempt ? json_null() :
						       json_integer((json_int_t)acd_quota_max(ctx, q))));
	return o;
}

int acd_quota_uids(const struct acd_ctx *ctx)
{
	return ctx->quotas ? ctx->quotas->n_uids : 0;
}
