/* SPDX-License-Identifier: GPL-2.0 */
/* quota.c (layer 1): what each uid holds of the daemon (connections,
 * sessions, calls, interpreter requests, subscriptions), counted by the
 * module that owns each thing, against the configuration's per_uid
 * quotas. Every uid is counted; a check exempts operators. */
#ifndef AGENTCGD_QUOTA_H
#define AGENTCGD_QUOTA_H

#include "daemon.h"

enum acd_quota {
	ACD_Q_CONNECTIONS,
	ACD_Q_SESSIONS,
	ACD_Q_CALLS_RUNNING,
	ACD_Q_CALLS_WAITING,
	ACD_Q_INTERP_OPS,
	ACD_Q_INTERP_OP_BYTES,
	ACD_Q_SUBSCRIPTIONS,
	/* not a key of its own: a uid's unread replies on all its
	 * connections, at most ACD_REPLY_BACKLOGS_PER_UID x max_reply_backlog */
	ACD_Q_REPLY_BYTES,
	ACD_Q_COUNT
};

#define ACD_REPLY_BACKLOGS_PER_UID 4 /* the drop's message says 4 too */

int acd_quota_init(struct acd_ctx *ctx);
void acd_quota_free(struct acd_ctx *ctx);
/* "per_uid.sessions" */
const char *acd_quota_name(enum acd_quota q);
uint64_t acd_quota_max(const struct acd_ctx *ctx, enum acd_quota q);
uint64_t acd_quota_used(const struct acd_ctx *ctx, uid_t uid, enum acd_quota q);
/* 0 when uid may take n more of q (operators always may: exempt),
 * -EDQUOT when that would pass the quota. */
int acd_quota_check(const struct acd_ctx *ctx, uid_t uid, bool exempt, enum acd_quota q,
		    uint64_t n);
/* Counts n more (take) or n less of q for uid; -ENOMEM when a uid's
 * first count cannot be kept (nothing is counted then). */
int acd_quota_take(struct acd_ctx *ctx, uid_t uid, enum acd_quota q, uint64_t n);
void acd_quota_give(struct acd_ctx *ctx, uid_t uid, enum acd_quota q, uint64_t n);
/* The refusal's error.data: {"limit": "per_uid.X", "max": N}. */
json_t *acd_quota_data(const struct acd_ctx *ctx, enum acd_quota q);
/* The refusal's message: "quota per_uid.X reached: uid U has N of N". */
void acd_quota_message(const struct acd_ctx *ctx, uid_t uid, enum acd_quota q, char *buf,
		       size_t len);
/* uid's use and quotas: {"connections": {"used": N, "max": N}, ...}
 * ("max" null when exempt). */
json_t *acd_quota_describe(const struct acd_ctx *ctx, uid_t uid, bool exempt);
/* How many uids hold something (daemon.info). */
int acd_quota_uids(const struct acd_ctx *ctx);

#endif
