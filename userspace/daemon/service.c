// SPDX-License-Identifier: GPL-2.0
/* agentcgd under systemd: notifications and the activated socket
 * (service.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "agentcg/util.h"
#include "service.h"

#define STATUS_MAX 256

struct acd_service {
	bool notify;		  /* $NOTIFY_SOCKET was set */
	bool notify_failed;	  /* a failure was logged: the next ones are not */
	uint64_t watchdog_ns;	  /* between pings (half of WatchdogSec); 0: none */
	uint64_t next_ping_ns;
	uint64_t last_status_ns;
	bool status_pending;	  /* status differs from sent */
	char status[STATUS_MAX];  /* the latest summary */
	char sent[STATUS_MAX];	  /* the last one systemd got */
};

int acd_service_init(struct acd_ctx *ctx)
{
	struct acd_service *s = calloc(1, sizeof(*s));
	uint64_t usec = 0;
	const char *ns = getenv("NOTIFY_SOCKET");
	int r;

	if (!s)
		return -ENOMEM;
	ctx->service = s;
	s->notify = ns && *ns;
	/* WATCHDOG_USEC names this pid (WATCHDOG_PID) or none: 0 when the
	 * watchdog is off or meant for another process. */
	r = sd_watchdog_enabled(1, &usec);
	if (r < 0)
		ac_log_errno(r, "systemd watchdog settings ($WATCHDOG_USEC) ignored");
	else if (r > 0 && usec > 0) {
		s->watchdog_ns = usec * 1000 / 2;
		s->next_ping_ns = ac_now_ns() + s->watchdog_ns;
		ac_info("systemd watchdog: a ping every %llu ms",
			(unsigned long long)(s->watchdog_ns / 1000000));
	}
	return 0;
}

void acd_service_free(struct acd_ctx *ctx)
{
	free(ctx->service);
	ctx->service = NULL;
}

bool acd_service_notifying(const struct acd_ctx *ctx)
{
	return ctx->service && ctx->service->notify;
}

int acd_service_listen_fd(struct acd_ctx *ctx)
{
	int n = sd_listen_fds(1), fd = SD_LISTEN_FDS_START, fl, r;

	if (n == 0)
		return -ENOENT;
	if (n < 0)
		return ac_log_errno(n, "socket activation ($LISTEN_FDS)");
	if (n != 1) {
		ac_err("socket activation passed %d sockets; agentcgd.socket must name one", n);
		return -EINVAL;
	}
	r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);
	if (r <= 0) {
		ac_err("socket activation: fd %d is not a listening unix stream socket", fd);
		return -EINVAL;
	}
	/* sd_listen_fds sets FD_CLOEXEC; a listening socket that reached a
	 * call would let it answer clients as the daemon, so make sure. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return ac_log_errno(-errno, "socket activation: fd %d", fd);
	return fd;
}

/* One sd_notify; never fatal, and only its first failure is logged (a
 * watchdog ping that fails would fail every few seconds). */
static void notify(struct acd_service *s, const char *msg)
{
	int r;

	if (!s->notify)
		return;
	r = sd_notify(0, msg);
	if (r < 0 && !s->notify_failed) {
		s->notify_failed = true;
		ac_log_errno(r, "sd_notify to $NOTIFY_SOCKET");
	}
}

static void send_status(struct acd_service *s, const char *prefix)
{
	char msg[STATUS_MAX + 32];

	snprintf(msg, sizeof(msg), "%sSTATUS=%s", prefix, s->status);
	notify(s, msg);
	memcpy(s->sent, s->status, sizeof(s->sent));
	s->status_pending = false;
	s->last_status_ns = ac_now_ns();
}

static void set_status(struct acd_service *s, const char *status)
{
	ac_strlcpy(s->status, status, sizeof(s->status));
	/* one line: a newline would start a new assignment */
	for (char *p = s->status; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	s->status_pending = strcmp(s->status, s->sent) != 0;
}

void acd_service_ready(struct acd_ctx *ctx, const char *status)
{
	struct acd_service *s = ctx->service;

	if (!s)
		return;
	set_status(s, status);
	send_status(s, "READY=1\n");
}

void acd_service_status(struct acd_ctx *ctx, const char *status)
{
	struct acd_service *s = ctx->service;

	if (!s || !s->notify)
		return;
	set_status(s, status);
	if (s->status_pending && ac_now_ns() >= s->last_status_ns + ACD_SERVICE_STATUS_GAP_NS)
		send_status(s, "");
}

void acd_service_stopping(struct acd_ctx *ctx, const char *status)
{
	struct acd_service *s = ctx->service;

	if (!s)
		return;
	set_status(s, status);
	send_status(s, "STOPPING=1\n");
}

int acd_service_tick(struct acd_ctx *ctx)
{
	struct acd_service *s = ctx->service;
	uint64_t now = ac_now_ns(), next = UINT64_MAX;

	if (!s || !s->notify)
		return -1;
	if (s->watchdog_ns) {
		if (now >= s->next_ping_ns) {
			notify(s, "WATCHDOG=1");
			s->next_ping_ns = now + s->watchdog_ns;
		}
		next = s->next_ping_ns;
	}
	if (s->status_pending) {
		uint64_t due = s->last_status_ns + ACD_SERVICE_STATUS_GAP_NS;

		if (now >= due) {
			send_status(s, "");
		} else if (due < next) {
			next = due;
		}
	}
	return next == UINT64_MAX ? -1 : ac_ns_to_ms_ceil(next - now);
}
