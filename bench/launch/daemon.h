/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: the agentcgd under test (A, and B with --build2): its temp
 * config, start (until its socket accepts), stop with SIGTERM, and a
 * JSON-RPC connection to it, line by line. */
#ifndef LB_DAEMON_H
#define LB_DAEMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lb_ctx;

#define LB_CONN_BUF (1u << 20) /* the longest line a daemon may send */

struct lb_conn {
	int fd;
	char buf[LB_CONN_BUF];
	size_t len, consumed;
	int next_id;
	char *last_reply; /* the longest call.run reply seen (for the JSON micro bench) */
};

struct lb_daemon {
	char name[4]; /* "A", "B" */
	pid_t pid;
	int status;
	bool reaped, has_pool;
	char tag[80]; /* its --root */
	char sock[108], cfg[128], dlog[128];
	char agentcgd[600], template_cfg[512];
	struct lb_conn *c;
};

/* Names daemon i (0 = A from --build/--config, 1 = B from --build2/--config2). */
void lb_daemon_setup(struct lb_ctx *ctx, struct lb_daemon *d, int i);
/* Writes its config (the template with one tenant "bench"), starts it and
 * waits until its socket accepts; dies on failure. */
void lb_daemon_start(struct lb_ctx *ctx, struct lb_daemon *d);
/* SIGTERM, then SIGKILL after 15 s; the status goes to d->status. */
void lb_daemon_stop(struct lb_daemon *d);

int lb_conn_open(struct lb_conn *c, const char *path);
void lb_conn_close(struct lb_conn *c);
/* The next line (NUL-terminated, without '\n'); *t_ns is when it was
 * complete. Dies on EOF or after timeout_ms without one. */
char *lb_conn_line(struct lb_ctx *ctx, struct lb_conn *c, uint64_t *t_ns, int timeout_ms);
/* A method without params; its result (a new reference) or NULL. */
json_t *lb_rpc(struct lb_ctx *ctx, struct lb_conn *c, const char *method);

#endif
