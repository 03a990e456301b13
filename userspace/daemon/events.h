/* SPDX-License-Identifier: GPL-2.0 */
/* events.c (layer 2): lifecycle events, sent as notifications to the
 * subscribed clients whose path prefix covers the event's path. */
#ifndef AGENTCGD_EVENTS_H
#define AGENTCGD_EVENTS_H

#include "daemon.h"

/* Steals details (merged into the event's params). */
void acd_event(struct acd_ctx *ctx, const char *type, const char *path, json_t *details);
/* The client follows the events under prefix from now on (a new
 * subscription counts against per_uid.subscriptions: -EDQUOT over it,
 * and nothing changes). */
int acd_events_subscribe(struct acd_ctx *ctx, struct acd_client *c, const struct ac_path *prefix);

#endif
