// SPDX-License-Identifier: GPL-2.0
/* The metrics listener: one HTTP/1.x response per connection, served
 * from the epoll loop. A connection reads its request head (bounded),
 * gets its answer (the metrics, or 400/404/405/431/505), writes it as
 * the socket takes it, shuts its side down and reads the client's rest
 * away until EOF (closing with unread bytes would reset the connection
 * and could cut the response short), all before its deadline. */
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "http.h"
#include "methods.h"
#include "metrics.h"
#include "metrics_http.h"
#include "peercred.h"
#include "server.h"

#define READ_CHUNK 4096
#define DRAIN_CHUNKS 16 /* reads of what a client sends after its head, per wakeup */
#define ERROR_TYPE "text/plain; charset=utf-8"

/* The statuses it answers with, for its own counters. */
static const int codes[] = { 200, 400, 404, 405, 408, 431, 500, 503, 505 };
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

enum mc_state { MC_READ, MC_WRITE, MC_DRAIN };

struct mconn {
	struct acd_watch w; /* first: the watch is the connection */
	struct mconn *prev, *next;
	uint64_t deadline_ns;
	enum mc_state state;
	bool overflow;	    /* came with every slot taken: gets 503 */
	bool bounded;	    /* counted against its uid (not root, not an operator) */
	uid_t uid;	    /* the peer's; (uid_t)-1 when it could not be found */
	uint32_t events;    /* what epoll watches */
	struct ac_buf in;   /* the request head so far */
	struct ac_buf out;  /* the response not yet sent */
};

struct acd_metrics_http {
	struct acd_watch listen_w;
	bool unix_socket;
	char path[AC_METRICS_PATH_MAX]; /* the unix socket's, removed at close */
	struct mconn *first, *last;	/* accept order: the first is due first */
	int n;				/* connections in the slots */
	int n_overflow;			/* ... and beyond them, being told 503 */
	struct mconn *dead;		/* freed at the next tick */
	struct ac_buf cache;		/* the last metrics text */
	uint64_t cache_ns;		/* when it was built (0: never) */
	uint64_t responses[N_CODES];
	bool said_no_uid; /* logged that sock_diag cannot name TCP clients' uids */
};

static void count(struct acd_metrics_http *h, int status)
{
	for (size_t i = 0; i < N_CODES; i++)
		if (codes[i] == status)
			h->responses[i]++;
}

static void conn_close(struct acd_ctx *ctx, struct mconn *c)
{
	struct acd_metrics_http *h = ctx->mhttp;

	acd_watch_close(ctx, &c->w);
	ac_buf_free(&c->in);
	ac_buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->first = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		h->last = c->prev;
	if (c->overflow)
		h->n_overflow--;
	else
		h->n--;
	/* its watch may still be in this epoll batch (with fd -1, skipped) */
	c->next = h->dead;
	h->dead = c;
}

static void conn_watch(struct acd_ctx *ctx, struct mconn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = &c->w };

	if (c->events != events && epoll_ctl(ctx->epfd, EPOLL_CTL_MOD, c->w.fd, &ev) == 0)
		c->events = events;
}

/* The metrics text: the one built less than ACD_METRICS_HTTP_FRESH_NS
 * ago, or a new one. NULL when it cannot be built. */
static const struct ac_buf *metrics_body(struct acd_ctx *ctx)
{
	struct acd_metrics_http *h = ctx->mhttp;
	struct ac_buf fresh = { 0 };
	uint64_t now = ac_now_ns();

	if (h->cache_ns && now - h->cache_ns < ACD_METRICS_HTTP_FRESH_NS)
		return &h->cache;
	if (acd_metrics_text(ctx, &fresh) < 0) {
		ac_buf_free(&fresh);
		return NULL;
	}
	ac_buf_free(&h->cache);
	h->cache = fresh;
	h->cache_ns = now;
	return &h->cache;
}

/* Writes what the socket takes; at the end shuts the sending side down
 * and reads the client's rest away. */
static void conn_flush(struct acd_ctx *ctx, struct mconn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->w.fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			conn_watch(ctx, c, EPOLLOUT);
			return;
		}
		if (n < 0) {
			conn_close(ctx, c);
			return;
		}
		ac_buf_consume(&c->out, (size_t)n);
	}
	ac_buf_free(&c->out);
	shutdown(c->w.fd, SHUT_WR);
	c->state = MC_DRAIN;
	conn_watch(ctx, c, EPOLLIN);
}

/* The whole response into c->out (head, and the body unless HEAD). */
static int response(struct acd_ctx *ctx, struct mconn *c, int status, bool head_only)
{
	char head[512], text[160];
	const char *body = text, *type = ERROR_TYPE;
	size_t len = 0;
	int n;

	if (status == 200) {
		const struct ac_buf *b = metrics_body(ctx);

		if (b) {
			body = b->data ? b->data : "";
			len = b->len;
			type = ACD_METRICS_CONTENT_TYPE;
		} else {
			status = 500;
		}
	}
	if (status != 200) {
		snprintf(text, sizeof(text), "%d %s%s\n", status, acd_http_reason(status),
			 status == 404 || status == 405 ? ": agentcgd serves GET /metrics only" :
			 status == 431 ? ": the request head is over 8K" :
			 status == 503 ? ": every scrape slot is taken, retry later" :
			 status == 500 ? ": see the daemon's log" : "");
		len = strlen(text);
	}
	count(ctx->mhttp, status);
	n = acd_http_response_head(head, sizeof(head), status, type, len, (int64_t)time(NULL));
	if (n < 0)
		return n;
	if (ac_buf_append(&c->out, head, (size_t)n, ACD_METRICS_TEXT_MAX + sizeof(head)) < 0 ||
	    (!head_only &&
	     ac_buf_append(&c->out, body, len, ACD_METRICS_TEXT_MAX + sizeof(head)) < 0))
		return -ENOMEM;
	return 0;
}

static void conn_answer(struct acd_ctx *ctx, struct mconn *c, int status, bool head_only)
{
	ac_buf_free(&c->in);
	c->state = MC_WRITE;
	if (response(ctx, c, status, head_only) < 0) {
		conn_close(ctx, c);
		return;
	}
	conn_flush(ctx, c);
}

static void conn_read(struct acd_ctx *ctx, struct mconn *c)
{
	char buf[READ_CHUNK];

	for (;;) {
		size_t want = ACD_HTTP_HEAD_MAX - c->in.len;
		ssize_t n;
		bool head_only;
		int status;

		n = recv(c->w.fd, buf, want < sizeof(buf) ? want : sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* gone before its request was whole */
			conn_close(ctx, c);
			return;
		}
		if (ac_buf_append(&c->in, buf, (size_t)n, ACD_HTTP_HEAD_MAX) < 0) {
			conn_close(ctx, c);
			return;
		}
		status = acd_http_request(c->in.data, c->in.len, ACD_HTTP_HEAD_MAX, &head_only);
		if (status) {
			conn_answer(ctx, c, status, head_only);
			return;
		}
	}
}

/* After the response: what the client still sends is read away until
 * it closes (or the deadline). */
static void conn_drain(struct acd_ctx *ctx, struct mconn *c)
{
	char buf[READ_CHUNK];

	for (int i = 0; i < DRAIN_CHUNKS; i++) {
		ssize_t n = recv(c->w.fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {
			conn_close(ctx, c);
			return;
		}
	}
}

static void on_conn(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct mconn *c = (struct mconn *)w;

	switch (c->state) {
	case MC_READ:
		conn_read(ctx, c);
		break;
	case MC_WRITE:
		if (events & (EPOLLERR | EPOLLHUP))
			conn_close(ctx, c);
		else
			conn_flush(ctx, c);
		break;
	case MC_DRAIN:
		conn_drain(ctx, c);
		break;
	}
}

/* Who connected: its uid, and whether the per-uid bound applies (not to
 * root or an operator by uid, nor to a peer whose uid cannot be found). */
static void peer_of(struct acd_ctx *ctx, int fd, struct mconn *c)
{
	struct acd_metrics_http *h = ctx->mhttp;
	int err = acd_peer_uid(fd, &c->uid);

	if (err < 0) {
		/* No uid (a kernel without inet_diag/tcp_diag, or a client
		 * gone already): the global bounds alone, as bounding every
		 * such client as one uid would let one of them take the
		 * scraper's slots. */
		c->uid = (uid_t)-1;
		c->bounded = false;
		if (!h->said_no_uid && err != -ENOENT)
			ac_warn("metrics: the kernel cannot tell a TCP client's uid (sock_diag: %s): "
				"scrape slots are bounded for all clients together, not per uid",
				strerror(-err));
		h->said_no_uid = h->said_no_uid || err != -ENOENT;
		return;
	}
	c->bounded = c->uid != 0;
	for (int i = 0; c->bounded && i < ctx->operators.n_uids; i++)
		if (ctx->operators.uids[i] == c->uid)
			c->bounded = false;
}

/* Connections uid holds: 503s (overflow) or scrape slots. */
static int held_by(const struct acd_metrics_http *h, uid_t uid, bool overflow)
{
	int n = 0;

	for (const struct mconn *c = h->first; c; c = c->next)
		n += c->bounded && c->uid == uid && c->overflow == overflow;
	return n;
}

static void on_listen(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_metrics_http *h = ctx->mhttp;

	for (int i = 0; i < 16; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct mconn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ac_log_errno(-errno, "metrics: accept");
			return;
		}
		/* Every slot taken: 503 at once, from a connection of its own
		 * that reads the request away until the client closes (closing
		 * at once would reset the connection before the client reads
		 * the 503). As many of those as slots; past them, closed. One
		 * uid's slots and 503s: ACD_METRICS_HTTP_CONNS_PER_UID each. */
		if (h->n >= ACD_METRICS_HTTP_CONNS && h->n_overflow >= ACD_METRICS_HTTP_CONNS) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		peer_of(ctx, fd, c);
		c->overflow = h->n >= ACD_METRICS_HTTP_CONNS ||
			      (c->bounded && held_by(h, c->uid, false) >= ACD_METRICS_HTTP_CONNS_PER_UID);
		if (c->overflow && (h->n_overflow >= ACD_METRICS_HTTP_CONNS ||
				    (c->bounded &&
				     held_by(h, c->uid, true) >= ACD_METRICS_HTTP_CONNS_PER_UID))) {
			close(fd);
			free(c);
			continue;
		}
		c->w.fd = fd;
		c->w.fn = on_conn;
		c->events = EPOLLIN;
		c->deadline_ns = ac_now_ns() + ACD_METRICS_HTTP_DEADLINE_NS;
		if (acd_watch_add(ctx, &c->w, EPOLLIN) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->prev = h->last;
		if (h->last)
			h->last->next = c;
		else
			h->first = c;
		h->last = c;
		if (c->overflow) {
			h->n_overflow++;
			conn_answer(ctx, c, 503, false);
		} else {
			h->n++;
		}
	}
}

int acd_metrics_http_tick(struct acd_ctx *ctx)
{
	struct acd_metrics_http *h = ctx->mhttp;
	uint64_t now;

	if (!h)
		return -1;
	while (h->dead) {
		struct mconn *c = h->dead;

		h->dead = c->next;
		free(c);
	}
	now = ac_now_ns();
	while (h->first && h->first->deadline_ns <= now) {
		struct mconn *c = h->first;

		if (c->state == MC_READ) { /* best effort: the socket is not full yet */
			char head[512];
			static const char body[] = "408 Request Timeout\n";
			int n = acd_http_response_head(head, sizeof(head), 408, ERROR_TYPE,
						       sizeof(body) - 1, (int64_t)time(NULL));

			count(h, 408);
			if (n > 0 && send(c->w.fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n)
				send(c->w.fd, body, sizeof(body) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		conn_close(ctx, c);
	}
	return h->first ? ac_ns_to_ms_ceil(h->first->deadline_ns - now) : -1;
}

/* ---- the listener ------------------------------------------------------ */

static int tcp_listen(const struct ac_metrics_listen *l)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(l->port) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(l->port) };
	bool v6 = l->kind == AC_METRICS_TCP6;
	_cleanup_close_ int fd = socket(v6 ? AF_INET6 : AF_INET,
					SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	memcpy(&in4.sin_addr, l->addr, 4);
	memcpy(&in6.sin6_addr, l->addr, 16);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0))
		return -errno;
	if ((v6 ? bind(fd, (struct sockaddr *)&in6, sizeof(in6)) :
		  bind(fd, (struct sockaddr *)&in4, sizeof(in4))) < 0)
		return -errno;
	if (listen(fd, 64) < 0)
		return -errno;
	return AC_TAKE_FD(fd);
}

/* metrics_group as a gid; (gid_t)-1 for none. */
static int group_id(const char *name, gid_t *gid)
{
	char buf[16384];
	struct group gr, *res = NULL;
	int r;

	*gid = (gid_t)-1;
	if (!*name)
		return 0;
	r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (r || !res)
		return r ? -r : -ENOENT;
	*gid = gr.gr_gid;
	return 0;
}

int acd_metrics_http_open(struct acd_ctx *ctx)
{
	const struct ac_metrics_listen *l = &ctx->cfg.metrics;
	struct acd_metrics_http *h;
	gid_t gid;
	int fd, r;

	if (l->kind == AC_METRICS_OFF)
		return 0;
	if (l->kind == AC_METRICS_UNIX) {
		if (!strcmp(l->path, ctx->socket_path))
			return ac_log_errno(-EINVAL, "metrics_listen %s is the daemon's own socket",
					    l->path);
		if ((r = group_id(l->group, &gid)) < 0)
			return ac_log_errno(r, "metrics_group %s", l->group);
		fd = acd_unix_listen(l->path, 0660, gid, 64);
		if (fd < 0)
			return fd;
	} else {
		fd = tcp_listen(l);
		if (fd < 0)
			return ac_log_errno(fd, "metrics_listen %s", l->spec);
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		if (l->kind == AC_METRICS_UNIX)
			unlink(l->path);
		return -ENOMEM;
	}
	h->listen_w.fd = fd;
	h->listen_w.fn = on_listen;
	h->unix_socket = l->kind == AC_METRICS_UNIX;
	ac_strlcpy(h->path, l->path, sizeof(h->path));
	ctx->mhttp = h;
	if ((r = acd_watch_add(ctx, &h->listen_w, EPOLLIN)) < 0) {
		acd_metrics_http_close(ctx);
		return ac_log_errno(r, "metrics: epoll");
	}
	if (h->unix_socket)
		ac_info("metrics: GET /metrics on %s (mode 0660, group %s)", l->path,
			l->group[0] ? l->group : "root");
	else
		ac_info("metrics: GET /metrics on %s; any local user may connect to a TCP port, "
			"and the metrics name tenants and sessions: a unix socket path "
			"(metrics_listen) with metrics_group is the private choice", l->spec);
	return 0;
}

void acd_metrics_http_close(struct acd_ctx *ctx)
{
	struct acd_metrics_http *h = ctx->mhttp;

	if (!h)
		return;
	while (h->first)
		conn_close(ctx, h->first);
	acd_metrics_http_tick(ctx); /* frees the closed ones */
	if (h->listen_w.fd >= 0) {
		acd_watch_close(ctx, &h->listen_w);
		if (h->unix_socket)
			unlink(h->path);
	}
	ac_buf_free(&h->cache);
	free(h);
	ctx->mhttp = NULL;
}

void acd_metrics_http_metrics(struct acd_ctx *ctx, struct acd_metrics *m)
{
	struct acd_metrics_http *h = ctx->mhttp;

	if (!h)
		return;
	acd_metrics_family(m, "agentcg_metrics_http_responses_total", ACD_COUNTER,
			   "Responses of the metrics_listen listener, by HTTP status (503: all "
			   "scrape slots taken; 408: no whole request before the deadline).");
	for (size_t i = 0; i < N_CODES; i++) {
		char code[8];

		snprintf(code, sizeof(code), "%d", codes[i]);
		acd_metrics_u64(m, h->responses[i], "code", code, NULL);
	}
	acd_metrics_family(m, "agentcg_metrics_http_connections", ACD_GAUGE,
			   "Connections to the metrics_listen listener now (at most 8).");
	acd_metrics_u64(m, (uint64_t)h->n, NULL);
}
