/* SPDX-License-Identifier: GPL-2.0 */
/* metrics_http.c (layer 6): GET /metrics over HTTP/1.0 and 1.1 on
 * metrics_listen (a loopback TCP port, or a unix socket of mode 0660
 * and group metrics_group), from the daemon's one epoll loop: nothing
 * blocks, a request head is at most ACD_HTTP_HEAD_MAX bytes, at most
 * ACD_METRICS_HTTP_CONNS scrapes are served at once (as many more get
 * 503 at once, any further one is closed), and of those one uid (but
 * root and the operators) holds at most ACD_METRICS_HTTP_CONNS_PER_UID
 * of either kind (the uid of a TCP peer from sock_diag: peercred.h),
 * each connection is closed after one response or at its deadline, so a
 * client that sends nothing, or reads nothing, holds a slot for a while
 * only. The listener and its connections are close-on-exec, and the
 * stubs close every fd above their own before user code runs. */
#ifndef AGENTCGD_METRICS_HTTP_H
#define AGENTCGD_METRICS_HTTP_H

#include "daemon.h"

#define ACD_METRICS_HTTP_CONNS 8
#define ACD_METRICS_HTTP_CONNS_PER_UID 2
/* From accept to the end of the response: a scrape takes milliseconds. */
#define ACD_METRICS_HTTP_DEADLINE_NS (10ULL * 1000000000)
/* A text this young is served again instead of built anew, so that no
 * local user can keep the loop busy building it. */
#define ACD_METRICS_HTTP_FRESH_NS (1000ULL * 1000000)

struct acd_metrics;

/* Listens on metrics_listen (nothing when it is off); <0 (logged) when
 * it cannot: the daemon does not start then. */
int acd_metrics_http_open(struct acd_ctx *ctx);
/* Closes the listener and every connection (the unix socket is removed). */
void acd_metrics_http_close(struct acd_ctx *ctx);
/* Ends connections past their deadline: ms until the next, or -1. */
int acd_metrics_http_tick(struct acd_ctx *ctx);
/* The listener's own families (responses by status, connections). */
void acd_metrics_http_metrics(struct acd_ctx *ctx, struct acd_metrics *m);

#endif
