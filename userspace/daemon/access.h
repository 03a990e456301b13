/* SPDX-License-Identifier: GPL-2.0 */
/* access.c (layer 4): who may do what (README "Security model").
 *
 * An operator is root, or a member of a configured operators' user or
 * group list; an operator may do anything. A tenant's members (its
 * configured users and groups, "*": every local user) may create sessions
 * in it within its policy (max_priority, session_budget). A session, its
 * calls, cells, variables, events, argv and usage are its owner's (the
 * uid that created it) and the operators'. Names are resolved to ids when
 * the daemon starts; a user or group made later counts after a restart. */
#ifndef AGENTCGD_ACCESS_H
#define AGENTCGD_ACCESS_H

#include "daemon.h"
#include "tree.h"

int acd_access_init(struct acd_ctx *ctx);
void acd_access_free(struct acd_ctx *ctx);

bool acd_access_operator(const struct acd_ctx *ctx, const struct acd_client *c);
/* c may create sessions in t (an operator, or one of its members). */
bool acd_access_member(const struct acd_ctx *ctx, const struct acd_client *c,
		       const struct acd_tenant *t);
/* c may see and act on s (an operator, or its owner). */
bool acd_access_owns(const struct acd_ctx *ctx, const struct acd_client *c,
		     const struct acd_session *s);
/* c may see tenant t: a member, or the owner of a session in it. */
bool acd_access_sees_tenant(const struct acd_ctx *ctx, const struct acd_client *c,
			    const struct acd_tenant *t);
/* c may see what happens at path ("/", "/t", "/t/s", "/t/s/call"):
 * events go only to those who may see their node. */
bool acd_access_sees_path(struct acd_ctx *ctx, const struct acd_client *c, const char *path);

/* What a session made by c in t (by session.create, or on demand by
 * call.run) may get: an operator anything; a member at most the
 * tenant's policy. On a refusal: -EPERM, *limit names the config key
 * (e.g. "tenants.ta.max_priority") and why says what and why. */
int acd_access_session_policy(const struct acd_ctx *ctx, const struct acd_client *c,
			      const struct acd_tenant *t, const struct ac_budget *b,
			      enum ac_priority prio, char *limit, size_t limit_len, char *why,
			      size_t why_len);
/* A call's or cell's intent priority within the tenant's max_priority. */
int acd_access_priority(const struct acd_ctx *ctx, const struct acd_client *c,
			const struct acd_tenant *t, enum ac_priority prio, char *why,
			size_t why_len);
/* The default budget of a new session in t. */
const struct ac_budget *acd_access_session_budget(const struct acd_ctx *ctx,
						  const struct acd_tenant *t);

#endif
