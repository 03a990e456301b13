/* SPDX-License-Identifier: GPL-2.0 */
/* interp_check.c (layer 5): session.create's check that an interpreter
 * binary is one its owner could run, off the daemon's loop. The path is
 * the caller's: on a FUSE mount of theirs, access() blocks as long as
 * they like, so the check runs in a child with the caller's credentials,
 * watched by its pidfd and a timer, while the loop serves everyone else;
 * the request is dispatched again (ctx->hooks.dispatch) once it ends. */
#ifndef AGENTCGD_INTERP_CHECK_H
#define AGENTCGD_INTERP_CHECK_H

#include <jansson.h>

#include "daemon.h"

struct acd_client;

/* Checks running at once per uid (operators: unbounded), and how long
 * one may take before its child is killed. */
#define ACD_INTERP_CHECKS_PER_UID 2
#define ACD_INTERP_CHECK_MS 2000

#define ACD_INTERP_CHECK_STARTED 1

/* For request (c, id, params) of session.create, the check of bin (a
 * path, or a name looked up in the runners' PATH):
 *   ACD_INTERP_CHECK_STARTED: it runs now, as c's uid, gid and groups;
 *     the request is dispatched again with the same id and params when it
 *     ends (the handler returns without a reply);
 *   0: this dispatch is that second one, and *result is the outcome: 0
 *     (a regular file c may execute), -EACCES, -EPERM, -ENOENT, -EISDIR,
 *     -ETIMEDOUT (ACD_INTERP_CHECK_MS passed), ...;
 *   -EBUSY: c's uid has ACD_INTERP_CHECKS_PER_UID checks running;
 *   another -errno: no check could start. */
int acd_interp_check(struct acd_ctx *ctx, struct acd_client *c, json_t *id, json_t *params,
		     const char *bin, int *result);
/* c went away: its checks' children are killed, never answered. */
void acd_interp_checks_client_gone(struct acd_ctx *ctx, struct acd_client *c);
/* After each epoll batch: frees the checks that ended in it. */
void acd_interp_checks_free_dead(struct acd_ctx *ctx);
/* Shutdown: every check's child killed and reaped, all freed. */
void acd_interp_checks_free(struct acd_ctx *ctx);
/* Checks running now (daemon.info). */
int acd_interp_checks_running(const struct acd_ctx *ctx);

#endif
