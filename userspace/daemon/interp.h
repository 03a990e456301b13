/* SPDX-License-Identifier: GPL-2.0 */
/* interp.c (layer 5): stateful interpreters (python, bash) run by the
 * runner (userspace/runner/agentcg_runner.py), one per interpreter
 * session, and a warm pool of them. */
#ifndef AGENTCGD_INTERP_H
#define AGENTCGD_INTERP_H

#include "daemon.h"
#include "tree.h"

struct acd_call;
struct acd_interp;

enum acd_lang { ACD_LANG_PYTHON = 0, ACD_LANG_BASH };

/* The runners' PATH (a bare interpreter name is looked up in it). */
#define ACD_RUNNER_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *acd_lang_name(enum acd_lang l);
int acd_lang_parse(const char *s, enum acd_lang *out);
int acd_interp_init(struct acd_ctx *ctx);
void acd_interp_shutdown(struct acd_ctx *ctx);
/* Gives session s an interpreter (from the warm pool when it matches). */
int acd_interp_attach(struct acd_ctx *ctx, struct acd_session *s, enum acd_lang lang,
		      bool persist, const char *binary, bool *from_pool);
/* Kills the session's interpreter (session.close). */
void acd_interp_detach(struct acd_ctx *ctx, struct acd_session *s);
json_t *acd_interp_describe(const struct acd_interp *in);
json_t *acd_interp_info(struct acd_ctx *ctx); /* for daemon.info */
struct acd_metrics;
/* The warm pool's hits and misses. */
void acd_interp_metrics(struct acd_ctx *ctx, struct acd_metrics *m);
/* Queues a request (exec is started through call admission first). A
 * client's counts against its uid's per_uid.interp_ops and
 * interp_op_bytes: -EDQUOT over them, and the refusal is replied to c
 * already (nothing is queued). */
int acd_interp_request(struct acd_ctx *ctx, struct acd_session *s, struct acd_client *c,
		       json_t *id, const char *op, json_t *frame);
/* An admitted session.exec call, queued at its interpreter. */
void acd_interp_exec(struct acd_ctx *ctx, struct acd_call *call);
/* A queued exec whose call goes away before it starts. */
void acd_interp_cancel(struct acd_ctx *ctx, struct acd_call *call);
/* SIGINT to the interpreter's process group; false if nothing runs. */
bool acd_interp_interrupt(struct acd_ctx *ctx, struct acd_interp *in);
/* The session's interpreter died or is gone: why, for errors. */
const char *acd_interp_dead_reason(const struct acd_interp *in);
bool acd_interp_dead(const struct acd_interp *in);
/* Restarts a dead (or live) interpreter of the session (session.reset). */
int acd_interp_restart(struct acd_ctx *ctx, struct acd_session *s);
/* Background: keep the warm pool filled; true if it did a step. */
bool acd_interp_pool_step(struct acd_ctx *ctx);
/* The client went away: its queued requests are answered to nobody. */
void acd_interp_client_gone(struct acd_ctx *ctx, struct acd_client *c);
pid_t acd_interp_pid(const struct acd_interp *in);
enum acd_lang acd_interp_lang(const struct acd_interp *in);

#endif
