// SPDX-License-Identifier: GPL-2.0
/* Spare call cgroups. A call should cost one sendmsg and an execve, not
 * four mkdirs, four limit writes, a fork and three cgroup migrations:
 * so each session keeps call_pool cgroups ready, each with its limits
 * written (the session's last ones, which agents tend to repeat) and a
 * stub process already inside it. They are built in small steps while
 * the loop has nothing else to do, so a request that arrives waits for
 * at most one step. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/util.h"
#include "metrics.h"
#include "pool.h"
#include "priority.h"

/* The pool's counters (ctx->pool). */
struct acd_pool {
	uint64_t hits, misses; /* calls that found a ready spare, or not */
};

/* ---- the stubs' room ----------------------------------------------------
 * A waiting stub is a process (and a little memory) in its spare's
 * cgroup, so below its session and tenant: it must not spend their
 * budgets, or sessions a user merely holds open would make real calls in
 * the tenant fail to fork. So each waiting stub gets room on top of the
 * budgets: the kernel limits of its session and tenant are budget + room
 * (acd_budget_room_write), one pid and STUB_MEM_ROOM of memory per stub
 * (a waiting stub is charged 20-30K on hybrid hosts; v2 also charges its
 * kernel stack and page tables: measuring each one is not reliable, v1's
 * usage counts per-CPU charge batches). The room is made before the stub
 * starts. When a stub is handed to a call it is the call's process and
 * counts; its room is given back at the next idle step (usually the
 * refill's new stub takes it over, so nothing is written on the call's
 * path: until then the call may go past its session's and tenant's
 * budgets by the room of the stubs just taken, at most call_pool pids);
 * when a stub is killed, at once. */
#define STUB_MEM_ROOM (128ULL << 10)

static bool room_stale(const struct acd_stub_room *r)
{
	return r->pids != r->pids_written || r->mem != r->mem_written;
}

static void room_write(struct acd_ctx *ctx, const char *path, const struct ac_cg_node *node,
		       const struct ac_budget *b, struct acd_stub_room *room)
{
	int r = acd_budget_room_write(ctx, node, b, room);

	if (r < 0)
		ac_log_errno(r, "room of the spare stubs in %s", path);
}

static void room_write_both(struct acd_ctx *ctx, struct acd_session *s)
{
	struct acd_tenant *t = s->tenant;

	if (room_stale(&t->room))
		room_write(ctx, t->path, &t->node, &t->budget, &t->room);
	if (room_stale(&s->room))
		room_write(ctx, s->path, &s->node, &s->budget, &s->room);
}

static void room_add(struct acd_session *s, int64_t pids, int64_t mem)
{
	s->room.pids += (uint64_t)pids;
	s->tenant->room.pids += (uint64_t)pids;
	s->room.mem += (uint64_t)mem;
	s->tenant->room.mem += (uint64_t)mem;
}

/* Before a stub starts: its room, written. */
static void stub_room_make(struct acd_ctx *ctx, struct acd_session *s, struct acd_spare *sp)
{
	sp->in_room = true;
	sp->room_mem = STUB_MEM_ROOM;
	room_add(s, 1, (int64_t)sp->room_mem);
	room_write_both(ctx, s);
}

/* The stub is gone, or a call's: its room goes, written now or at the
 * next idle step. */
static void stub_room_drop(struct acd_ctx *ctx, struct acd_session *s, struct acd_spare *sp,
			   bool now)
{
	if (!sp->in_room)
		return;
	sp->in_room = false;
	room_add(s, -1, -(int64_t)sp->room_mem);
	if (now)
		room_write_both(ctx, s);
	else
		ctx->idle_work = true;
}

/* One stale room written; false if none was. */
static bool room_step(struct acd_ctx *ctx)
{
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next) {
		if (room_stale(&t->room)) {
			room_write(ctx, t->path, &t->node, &t->budget, &t->room);
			return true;
		}
		for (struct acd_session *s = t->sessions; s; s = s->next)
			if (room_stale(&s->room)) {
				room_write(ctx, s->path, &s->node, &s->budget, &s->room);
				return true;
			}
	}
	return false;
}

static void spare_free(struct acd_ctx *ctx, struct acd_session *s, struct acd_spare *sp)
{
	int r;

	if (sp->stub.pid > 0)
		ac_stub_discard(&sp->stub); /* waits until it is gone */
	stub_room_drop(ctx, s, sp, true);
	ac_cg_statfds_close(&sp->stats);
	if (sp->made > 0 && (r = ac_cg_rmdir(&ctx->cg, &s->node, sp->name, &sp->node)) < 0)
		ac_log_errno(r, "cannot remove spare %s/%s", s->path, sp->name);
	ac_cg_node_close(&sp->node);
	free(sp);
}

static struct acd_spare *spare_new(struct acd_session *s)
{
	struct acd_spare *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return NULL;
	ac_cg_node_init(&sp->node);
	ac_cg_statfds_init(&sp->stats);
	sp->stub.pid = 0;
	sp->stub.pidfd = sp->stub.ctl = -1;
	snprintf(sp->name, sizeof(sp->name), "call-%llu", (unsigned long long)s->next_seq++);
	return sp;
}

/* Interpreter sessions' spares get no stub: their runner parks itself in
 * them. */
static bool spare_ready(const struct acd_session *s, const struct acd_spare *sp)
{
	return s->interpreter ? sp->stats_open : sp->stub.pid > 0;
}

/* One step towards a ready spare. 0 progress, 1 ready, <0 failed. */
static int spare_step(struct acd_ctx *ctx, struct acd_session *s, struct acd_spare *sp)
{
	struct ac_cg_placement pl;
	int r;

	if (sp->made < ctx->cg.n_hier) {
		r = ac_cg_mkdir_one(&ctx->cg, &s->node, sp->name, sp->made, &sp->node);
		if (r < 0)
			return r;
		sp->made++;
		return 0;
	}
	if (!sp->limits_set) {
		sp->limits = s->last_limits;
		r = ac_cg_apply_limits(&ctx->cg, &sp->node, &sp->limits, true);
		if (r < 0)
			return r;
		sp->limits_set = true;
		return 0;
	}
	if (!sp->stats_open) {
		ac_cg_statfds_open(&ctx->cg, &sp->node, &sp->stats);
		sp->stats_open = true;
		return 0;
	}
	if (!spare_ready(s, sp)) {
		if ((r = ac_cg_placement_open(&ctx->cg, &sp->node, &pl)) < 0)
			return r;
		stub_room_make(ctx, s, sp);
		r = ac_stub_start(&pl, &sp->stub);
		ac_cg_placement_close(&pl);
		if (r < 0)
			return r; /* spare_free drops the room */
		ctx->cg.has_clone_into_cgroup = sp->stub.used_clone3;
		/* no class while it waits: an OOM kill of it frees nothing */
		acd_prio_idle_process(ctx, sp->stub.pid);
	}
	return 1;
}

static int spare_finish(struct acd_ctx *ctx, struct acd_session *s, struct acd_spare *sp)
{
	int r;

	while ((r = spare_step(ctx, s, sp)) == 0)
		;
	return r < 0 ? r : 0;
}

static void spare_unlink(struct acd_session *s, struct acd_spare *sp)
{
	for (struct acd_spare **pp = &s->spares; *pp; pp = &(*pp)->next)
		if (*pp == sp) {
			*pp = sp->next;
			return;
		}
}

void acd_pool_init_session(struct acd_ctx *ctx, struct acd_session *s)
{
	struct ac_intent in = { 0 };

	ac_intent_apply_defaults(&in, &ctx->cfg.defaults);
	ac_intent_to_limits(&in, &s->last_limits);
	ctx->idle_work = true;
}

int acd_pool_take(struct acd_ctx *ctx, struct acd_session *s, const struct ac_limits *lim,
		  struct acd_spare **out)
{
	struct acd_spare *sp = s->spares;
	int r;

	if (sp && spare_ready(s, sp))
		ctx->pool->hits++;
	else
		ctx->pool->misses++;
	if (!sp) {
		sp = spare_new(s);
		if (!sp)
			return -ENOMEM;
	} else {
		spare_unlink(s, sp);
	}
	r = spare_finish(ctx, s, sp);
	if (r == 0 && memcmp(&sp->limits, lim, sizeof(*lim)))
		r = ac_cg_update_limits(&ctx->cg, &sp->node, &sp->limits, lim);
	if (r < 0) {
		spare_free(ctx, s, sp);
		return r;
	}
	sp->limits = *lim;
	s->last_limits = *lim;
	/* the stub is the call's process now */
	stub_room_drop(ctx, s, sp, false);
	ctx->idle_work = true; /* refill */
	*out = sp;
	return 0;
}

void acd_pool_drain(struct acd_ctx *ctx, struct acd_session *s)
{
	while (s->spares) {
		struct acd_spare *sp = s->spares;

		s->spares = sp->next;
		spare_free(ctx, s, sp);
	}
}

/* A session that wants another spare, and the spare to work on. */
bool acd_pool_step(struct acd_ctx *ctx)
{
	if (ctx->stopping)
		return false;
	/* A refill first: its stub takes over the room a taken one left. */
	if (ctx->cfg.call_pool <= 0)
		return room_step(ctx);
	for (struct acd_tenant *t = ctx->tenants; t; t = t->next)
		for (struct acd_session *s = t->sessions; s; s = s->next) {
			struct acd_spare *sp, **tail = &s->spares;
			int n = 0, r;

			if (s->closing)
				continue;
			for (sp = s->spares; sp; sp = sp->next) {
				tail = &sp->next;
				n++;
				if (!spare_ready(s, sp))
					break;
			}
			if (!sp) {
				if (n >= ctx->cfg.call_pool)
					continue;
				sp = spare_new(s);
				if (!sp)
					return false;
				*tail = sp;
			}
			r = spare_step(ctx, s, sp);
			if (r < 0) {
				ac_log_errno(r, "cannot prepare spare %s/%s", s->path, sp->name);
				spare_unlink(s, sp);
				spare_free(ctx, s, sp);
				/* Do not spin on a failing session: the next use retries. */
				continue;
			}
			return true;
		}
	return room_step(ctx);
}

int acd_pool_init(struct acd_ctx *ctx)
{
	ctx->pool = calloc(1, sizeof(*ctx->pool));
	return ctx->pool ? 0 : -ENOMEM;
}

void acd_pool_free(struct acd_ctx *ctx)
{
	free(ctx->pool);
	ctx->pool = NULL;
}

json_t *acd_pool_info(struct acd_ctx *ctx)
{
	return json_pack("{s:i, s:I, s:I}", "size", ctx->cfg.call_pool, "hits",
			 (json_int_t)ctx->pool->hits, "misses", (json_int_t)ctx->pool->misses);
}

void acd_pool_metrics(struct acd_ctx *ctx, struct acd_metrics *m)
{
	acd_metrics_family(m, "agentcg_call_pool_hits_total", ACD_COUNTER,
			   "Calls that found a spare call cgroup ready (call_pool).");
	acd_metrics_u64(m, ctx->pool->hits, NULL);
	acd_metrics_family(m, "agentcg_call_pool_misses_total", ACD_COUNTER,
			   "Calls that found no spare call cgroup ready: theirs was made when "
			   "they came.");
	acd_metrics_u64(m, ctx->pool->misses, NULL);
}
