/* SPDX-License-Identifier: GPL-2.0 */
/* service.c (layer 1): agentcgd as a systemd service, through libsystemd
 * (config/agentcgd.service, agentcgd.socket).
 *
 *   sd_notify     READY=1 once the socket serves; STATUS= a one-line
 *                 summary when it changes (at most once a second);
 *                 WATCHDOG=1 from the loop at half of WatchdogSec, so a
 *                 loop that is stuck is restarted; STOPPING=1.
 *   sd_listen_fds the unix stream socket agentcgd.socket activated.
 *
 * Without systemd (no $NOTIFY_SOCKET, no $LISTEN_FDS) every function is a
 * no-op and the daemon runs as it always has. Nothing of this reaches a
 * call: calls get the environment their request names, never the
 * daemon's, and the activated socket is close-on-exec. */
#ifndef AGENTCGD_SERVICE_H
#define AGENTCGD_SERVICE_H

#include "daemon.h"

/* STATUS= updates go out at most this often. */
#define ACD_SERVICE_STATUS_GAP_NS (1000ULL * 1000000)

int acd_service_init(struct acd_ctx *ctx);
void acd_service_free(struct acd_ctx *ctx);

/* The listening unix stream socket systemd passed, non-blocking and
 * close-on-exec: its fd, -ENOENT when none was passed, -EINVAL (logged)
 * when what was passed is not exactly one listening AF_UNIX stream
 * socket (the units are wrong). */
int acd_service_listen_fd(struct acd_ctx *ctx);

/* READY=1 with the first STATUS=. */
void acd_service_ready(struct acd_ctx *ctx, const char *status);
/* STATUS=status if it differs from the last one sent; within
 * ACD_SERVICE_STATUS_GAP_NS of the last, it waits for acd_service_tick. */
void acd_service_status(struct acd_ctx *ctx, const char *status);
/* Sends what is due (a watchdog ping, a waiting status); returns the ms
 * until the next is due, -1 when nothing will be. */
int acd_service_tick(struct acd_ctx *ctx);
/* STOPPING=1 with a last STATUS=. */
void acd_service_stopping(struct acd_ctx *ctx, const char *status);

/* Whether systemd watches this daemon (a $NOTIFY_SOCKET was set). */
bool acd_service_notifying(const struct acd_ctx *ctx);

#endif
