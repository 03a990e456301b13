// SPDX-License-Identifier: GPL-2.0
/* Lifecycle events, sent as notifications to subscribed clients whose
 * path prefix covers the event's path. A subscriber that stops reading is
 * dropped by the reply backlog limit like any other client. */
#include <string.h>
#include <time.h>

#include "agentcg/util.h"
#include "events.h"
#include "quota.h"
#include "rpc.h"
#include "server.h"

static bool covers(const struct ac_path *prefix, const char *path)
{
	struct ac_path p;

	if (ac_path_parse(path, &p) < 0 || p.depth < prefix->depth)
		return false;
	for (int i = 0; i < prefix->depth; i++)
		if (strcmp(prefix->comp[i], p.comp[i]))
			return false;
	return true;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void acd_event(struct acd_ctx *ctx, const char *type, const char *path, json_t *details)
{
	json_t *params = json_pack("{s:s, s:s, s:I}", "type", type, "path", path, "time_ns",
				   (json_int_t)wall_ns());
	struct acd_client *c, *next;

	if (details) {
		json_object_update(params, details);
		json_decref(details);
	}
	ac_debug("event %s %s", type, path);
	/* Sending may drop a client: walk with a saved next pointer. */
	for (c = ctx->clients; c; c = next) {
		next = c->next;
		if (c->subscribed && covers(&c->sub_path, path) &&
		    (!ctx->hooks.event_visible || ctx->hooks.event_visible(ctx, c, path)))
			acd_notify(ctx, c, "event", json_incref(params));
	}
	json_decref(params);
}

int acd_events_subscribe(struct acd_ctx *ctx, struct acd_client *c, const struct ac_path *prefix)
{
	if (!c->subscribed) {
		int r = acd_quota_check(ctx, c->uid, acd_client_is_operator(ctx, c), ACD_Q_SUBSCRIPTIONS,
					1);

		if (r == 0)
			r = acd_quota_take(ctx, c->uid, ACD_Q_SUBSCRIPTIONS, 1);
		if (r < 0)
			return r;
		ctx->n_subscribed++;
	}
	c->subscribed = true;
	c->sub_path = *prefix;
	return 0;
}
