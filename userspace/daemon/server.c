// SPDX-License-Identifier: GPL-2.0
/* The unix socket, its clients, and their bounded input and output
 * buffers. One epoll loop serves everyone: reads and writes never block,
 * a half-sent line just waits in its client's buffer, and a client that
 * does not read its replies is dropped once its backlog passes the limit. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "quota.h"
#include "rpc.h"
#include "server.h"
#include "service.h"

#define READ_CHUNK 65536

int acd_watch_add(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

void acd_watch_del(struct acd_ctx *ctx, struct acd_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(ctx->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

void acd_watch_close(struct acd_ctx *ctx, struct acd_watch *w)
{
	if (w->fd < 0)
		return;
	acd_watch_del(ctx, w);
	close(w->fd);
	w->fd = -1; /* later events of this batch skip it */
}

static void client_set_out(struct acd_ctx *ctx, struct acd_client *c, bool want)
{
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = &c->w };

	if (c->want_out == want)
		return;
	c->want_out = want;
	epoll_ctl(ctx->epfd, EPOLL_CTL_MOD, c->w.fd, &ev);
}

/* ---- unfinished request lines ----------------------------------------
 * A client whose line is unfinished is in a FIFO ordered by when that
 * line began (a line that completes takes it out; a new one puts it at
 * the end), so the oldest is always first: the loop looks at that one
 * only, and no scan of all clients is ever needed. */

static void partial_unlink(struct acd_ctx *ctx, struct acd_client *c)
{
	if (!c->partial_since_ns)
		return;
	if (c->partial_prev)
		c->partial_prev->partial_next = c->partial_next;
	else
		ctx->partial_first = c->partial_next;
	if (c->partial_next)
		c->partial_next->partial_prev = c->partial_prev;
	else
		ctx->partial_last = c->partial_prev;
	c->partial_prev = c->partial_next = NULL;
	c->partial_since_ns = 0;
}

/* After a read: progress (a line done) restarts the clock of what is left. */
static void partial_track(struct acd_ctx *ctx, struct acd_client *c, bool progress)
{
	bool partial = c->in.len > 0 || c->discarding;

	if (c->partial_since_ns && (!partial || progress))
		partial_unlink(ctx, c);
	if (!partial || c->partial_since_ns || !ctx->cfg.partial_line_ns)
		return;
	c->partial_since_ns = ac_now_ns();
	c->partial_prev = ctx->partial_last;
	if (ctx->partial_last)
		ctx->partial_last->partial_next = c;
	else
		ctx->partial_first = c;
	ctx->partial_last = c;
}

int acd_server_tick(struct acd_ctx *ctx)
{
	uint64_t now = ac_now_ns(), limit = ctx->cfg.partial_line_ns;

	while (ctx->partial_first) {
		struct acd_client *c = ctx->partial_first;
		uint64_t due = c->partial_since_ns + limit;
		char msg[120];

		if (due > now)
			return ac_ns_to_ms_ceil(due - now);
		snprintf(msg, sizeof(msg), "request line unfinished after %llu ms (partial_line_timeout)",
			 (unsigned long long)(limit / 1000000));
		acd_reply_error(ctx, c, json_null(), RPC_INVALID_REQUEST, msg, NULL);
		if (c->w.fd >= 0) /* the reply may have dropped it */
			acd_client_drop(ctx, c, "its request line stayed unfinished (partial_line_timeout)");
	}
	return -1;
}

/* Fds a client passed and no request took. */
static void close_fds(struct acd_client *c)
{
	while (c->n_fds > 0)
		close(c->fds[--c->n_fds]);
}

void acd_client_drop(struct acd_ctx *ctx, struct acd_client *c, const char *why)
{
	if (why)
		ac_info("client %llu (pid %d): %s", (unsigned long long)c->serial, (int)c->pid, why);
	ctx->hooks.client_gone(ctx, c);
	partial_unlink(ctx, c);
	acd_watch_close(ctx, &c->w);
	close_fds(c);
	ac_buf_free(&c->in);
	acd_quota_give(ctx, c->uid, ACD_Q_REPLY_BYTES, c->out.len);
	ac_buf_free(&c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctx->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctx->n_clients--;
	acd_quota_give(ctx, c->uid, ACD_Q_CONNECTIONS, 1);
	if (c->subscribed) {
		ctx->n_subscribed--;
		acd_quota_give(ctx, c->uid, ACD_Q_SUBSCRIPTIONS, 1);
	}
	c->next = ctx->dead_clients;
	ctx->dead_clients = c;
}

/* Writes what it can; 0 on progress or nothing to do, <0 if the client is
 * gone (and dropped). */
static int client_flush(struct acd_ctx *ctx, struct acd_client *c)
{
	size_t held = c->out.len;

	while (c->out.len) {
		ssize_t n = send(c->w.fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			acd_client_drop(ctx, c, "write failed");
			return -EPIPE;
		}
		ac_buf_consume(&c->out, (size_t)n);
	}
	acd_quota_give(ctx, c->uid, ACD_Q_REPLY_BYTES, held - c->out.len);
	client_set_out(ctx, c, c->out.len > 0);
	return 0;
}

void acd_client_send(struct acd_ctx *ctx, struct acd_client *c, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	size_t len;

	if (!text) {
		ac_err("cannot encode a reply");
		return;
	}
	len = strlen(text);
	text[len] = '\n'; /* replaces the NUL: we send len + 1 bytes */
	/* A uid's unread replies together are bounded too: many connections
	 * that each stay under max_reply_backlog must not add up. */
	if (acd_quota_check(ctx, c->uid, acd_client_is_operator(ctx, c), ACD_Q_REPLY_BYTES, len + 1) < 0) {
		free(text);
		acd_client_drop(ctx, c, "its uid does not read its replies (the unread replies of "
					"its connections passed 4 x max_reply_backlog)");
		return;
	}
	if (ac_buf_append(&c->out, text, len + 1, ctx->cfg.max_reply_backlog) < 0) {
		free(text);
		acd_client_drop(ctx, c, "does not read its replies (backlog limit reached)");
		return;
	}
	free(text);
	/* cannot fail: the uid's entry exists while it has a connection */
	acd_quota_take(ctx, c->uid, ACD_Q_REPLY_BYTES, len + 1);
	client_flush(ctx, c);
}

int acd_client_take_fds(struct acd_client *c, int *fds, int n)
{
	if (c->n_fds < n)
		return -EBADF;
	memcpy(fds, c->fds, sizeof(int) * (size_t)n);
	memmove(c->fds, c->fds + n, sizeof(int) * (size_t)(c->n_fds - n));
	c->n_fds -= n;
	return 0;
}

static void keep_fds(struct acd_client *c, struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		int nfd;
		int *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		fds = (int *)CMSG_DATA(cm);
		for (int i = 0; i < nfd; i++) {
			if (c->n_fds < ACD_MAX_PASSED_FDS)
				c->fds[c->n_fds++] = fds[i];
			else
				close(fds[i]);
		}
	}
}

/* Hands complete lines to rpc; an over-long line gets one error and the
 * rest of it is discarded. A handler may drop the client: its memory
 * stays until the end of the epoll batch, with w.fd = -1. */
static void client_process_input(struct acd_ctx *ctx, struct acd_client *c)
{
	/* Every complete line is handled now: a pipelining client that then
	 * waits must get all its answers. One read brings at most READ_CHUNK
	 * bytes, which bounds the work done for one client per wakeup. */
	while (c->in.len) {
		char *nl = memchr(c->in.data, '\n', c->in.len);
		size_t n;

		if (!nl)
			break;
		n = (size_t)(nl - c->in.data);
		if (c->discarding)
			c->discarding = false;
		else if (n > 0)
			acd_rpc_handle_line(ctx, c, c->in.data, n);
		c->lines++;
		if (c->w.fd < 0)
			return;
		/* Fds come with the request they were sent with (a segment
		 * that carries fds starts a recvmsg): what it did not take, a
		 * refused request's included, is closed, never left for the
		 * next request to use. */
		close_fds(c);
		ac_buf_consume(&c->in, n + 1);
	}
	/* What is left is one unfinished line. */
	if (c->in.len >= ctx->cfg.max_request) {
		char msg[96];

		snprintf(msg, sizeof(msg), "request line longer than %llu bytes",
			 (unsigned long long)ctx->cfg.max_request);
		acd_reply_error(ctx, c, json_null(), RPC_INVALID_REQUEST, msg, NULL);
		c->discarding = true;
		c->in.len = 0;
	}
}

static void client_read(struct acd_ctx *ctx, struct acd_client *c)
{
	char buf[READ_CHUNK];
	char cbuf[CMSG_SPACE(sizeof(int) * ACD_MAX_PASSED_FDS)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(c->w.fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			acd_client_drop(ctx, c, "read failed");
		return;
	}
	keep_fds(c, &msg);
	if (n == 0) {
		/* Peer closed. Calls it started are killed (nobody waits for them). */
		acd_client_drop(ctx, c, NULL);
		return;
	}
	if (c->discarding) {
		char *nl = memchr(buf, '\n', (size_t)n);

		if (!nl)
			return;
		c->discarding = false;
		n -= nl + 1 - buf;
		memmove(buf, nl + 1, (size_t)n);
	}
	/* Bounded: less than max_request of an unfinished line plus one chunk
	 * (client_process_input cuts a longer line). */
	if (ac_buf_append(&c->in, buf, (size_t)n, ctx->cfg.max_request + READ_CHUNK) < 0) {
		acd_client_drop(ctx, c, "out of memory for its request");
		return;
	}
	client_process_input(ctx, c);
}

static void on_client(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_client *c = (struct acd_client *)w;
	uint64_t lines = c->lines;

	if ((events & EPOLLOUT) && client_flush(ctx, c) < 0)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(ctx, c);
	if (c->w.fd >= 0)
		partial_track(ctx, c, c->lines != lines);
}

bool acd_client_in(const struct acd_client *c, const uid_t *uids, int n_uids, const gid_t *gids,
		   int n_gids)
{
	for (int i = 0; i < n_uids; i++)
		if (uids[i] == c->uid)
			return true;
	for (int i = 0; i < n_gids; i++) {
		if (gids[i] == c->gid)
			return true;
		for (int j = 0; j < c->n_groups; j++)
			if (gids[i] == c->groups[j])
				return true;
	}
	return false;
}

bool acd_client_is_operator(const struct acd_ctx *ctx, const struct acd_client *c)
{
	const struct acd_operators *op = &ctx->operators;

	return c->uid == 0 || acd_client_in(c, op->uids, op->n_uids, op->gids, op->n_gids);
}

static void client_credentials(struct acd_client *c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t groups[AC_GROUPS_MAX];

	c->uid = (uid_t)-1;
	c->gid = (gid_t)-1;
	if (getsockopt(c->w.fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0) {
		c->pid = cr.pid;
		c->uid = cr.uid;
		c->gid = cr.gid;
	}
	len = sizeof(groups);
	if (getsockopt(c->w.fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
		c->n_groups = (int)(len / sizeof(gid_t));
		memcpy(c->groups, groups, len);
	} else {
		c->groups[0] = c->gid;
		c->n_groups = 1;
	}
}

/* Non-operators share the client slots but the last few: however many
 * connections users hold, an operator gets in. */
static int user_slots(const struct acd_ctx *ctx)
{
	int reserve = ctx->max_clients / 4 < ACD_OPERATOR_CLIENTS ? ctx->max_clients / 4 :
								    ACD_OPERATOR_CLIENTS;

	return ctx->max_clients - reserve;
}

/* A connection that is not taken: one error line naming the limit, what
 * the peer already sent is read away (so it sees the line, then EOF),
 * and the socket is closed. */
static void refuse_connection(struct acd_client *c, const char *msg, const char *limit,
			      uint64_t max)
{
	json_t *err = json_pack("{s:s, s:n, s:{s:i, s:s, s:{s:s, s:I}}}", "jsonrpc", "2.0", "id",
				"error", "code", RPC_PERMISSION, "message", msg, "data", "limit",
				limit, "max", (json_int_t)max);
	char *text = err ? json_dumps(err, JSON_COMPACT) : NULL;
	char sink[4096];

	ac_info("client (pid %d, uid %u) refused: %s", (int)c->pid, (unsigned)c->uid, msg);
	if (text) {
		size_t len = strlen(text);

		text[len] = '\n';
		if (send(c->w.fd, text, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			ac_debug("refusal not sent: %s", strerror(errno));
	}
	for (int i = 0; i < 16 && recv(c->w.fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	free(text);
	json_decref(err);
	close(c->w.fd);
	free(c);
}

/* 0 if the client may stay; else it was refused (and freed). */
static int admit_client(struct acd_ctx *ctx, struct acd_client *c)
{
	bool op = acd_client_is_operator(ctx, c);
	char msg[200];

	if (c->uid == (uid_t)-1 || c->gid == (gid_t)-1) { /* -1 means "unchanged" to setresuid */
		refuse_connection(c, "the kernel did not say who the peer is (SO_PEERCRED)",
				  "credentials", 0);
		return -EACCES;
	}
	/* Interpreters run user code under these uids: no socket to the
	 * daemon reaches that code, also not by the path of its socket. */
	if (c->uid >= ctx->cfg.interp.uid_first && c->uid <= ctx->cfg.interp.uid_last) {
		snprintf(msg, sizeof(msg), "uid %u is an interpreter's (interpreters.uid_range): "
			 "interpreters may not speak to the daemon", (unsigned)c->uid);
		refuse_connection(c, msg, "interpreters.uid_range", 0);
		return -EPERM;
	}
	if (ctx->n_clients >= (op ? ctx->max_clients : user_slots(ctx))) {
		snprintf(msg, sizeof(msg), "too many clients: the daemon serves %d connections now",
			 ctx->n_clients);
		refuse_connection(c, msg, "clients", (uint64_t)(op ? ctx->max_clients : user_slots(ctx)));
		return -EUSERS;
	}
	if (acd_quota_check(ctx, c->uid, op, ACD_Q_CONNECTIONS, 1) < 0) {
		acd_quota_message(ctx, c->uid, ACD_Q_CONNECTIONS, msg, sizeof(msg));
		refuse_connection(c, msg, acd_quota_name(ACD_Q_CONNECTIONS),
				  acd_quota_max(ctx, ACD_Q_CONNECTIONS));
		return -EDQUOT;
	}
	if (acd_quota_take(ctx, c->uid, ACD_Q_CONNECTIONS, 1) < 0) {
		close(c->w.fd);
		free(c);
		return -ENOMEM;
	}
	return 0;
}

static void on_listen(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct acd_client *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ac_log_errno(-errno, "accept");
			return;
		}
		if (ctx->stopping || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->w.fd = fd;
		c->w.fn = on_client;
		client_credentials(c);
		if (admit_client(ctx, c) < 0)
			continue;
		c->serial = ++ctx->client_serial;
		if (acd_watch_add(ctx, &c->w, EPOLLIN) < 0) {
			acd_quota_give(ctx, c->uid, ACD_Q_CONNECTIONS, 1);
			close(fd);
			free(c);
			continue;
		}
		c->next = ctx->clients;
		if (c->next)
			c->next->prev = c;
		ctx->clients = c;
		ctx->n_clients++;
	}
}

/* Each client holds its socket and up to ACD_MAX_PASSED_FDS passed fds.
 * The fd limit goes up to what ACD_MAX_CLIENTS of them need, twice over
 * (the other half: calls, interpreters, cgroup dirs): the hard limit too
 * (root may, up to fs.nr_open). Where it cannot, fewer clients are
 * taken. */
void acd_server_fd_budget(struct acd_ctx *ctx)
{
	const rlim_t per_client = 1 + ACD_MAX_PASSED_FDS;
	const rlim_t want = 2 * per_client * ACD_MAX_CLIENTS;
	struct rlimit rl;
	rlim_t have;

	ctx->max_clients = ACD_MAX_CLIENTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < want) {
		struct rlimit up = { .rlim_cur = want,
				     .rlim_max = rl.rlim_max > want ? rl.rlim_max : want };

		if (setrlimit(RLIMIT_NOFILE, &up) < 0) { /* no CAP_SYS_RESOURCE: the soft one */
			up.rlim_max = rl.rlim_max;
			up.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		}
		if (up.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	have = rl.rlim_cur / 2 / per_client;
	if (have < ACD_MAX_CLIENTS) {
		ctx->max_clients = have > 8 ? (int)have : 8;
		ac_info("fd limit %llu: at most %d clients (each may hold %d passed fds)",
			(unsigned long long)rl.rlim_cur, ctx->max_clients, ACD_MAX_PASSED_FDS);
	}
}

static int mkdir_parent(const char *path)
{
	char dir[AC_PATH_MAX];
	char *slash;

	ac_strlcpy(dir, path, sizeof(dir));
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Every directory on the way to the socket must be root's and writable
 * by no one else, unless it is sticky like /tmp (where no one else can
 * remove or rename what root made): otherwise another user could swap
 * the socket, or a directory, for a link to something else. */
static int check_socket_dirs(const char *path)
{
	char dir[AC_PATH_MAX];
	char *p;

	if (path[0] != '/')
		return ac_log_errno(-EINVAL, "socket path %s: must be absolute", path);
	ac_strlcpy(dir, path, sizeof(dir));
	p = strrchr(dir, '/');
	p[1] = '\0'; /* keep the last '/': the directory itself is checked too */
	for (p = dir;; p++) {
		struct stat st;
		char c;

		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (stat(dir[0] ? dir : "/", &st) < 0)
			return ac_log_errno(-errno, "socket directory %s", dir[0] ? dir : "/");
		if (!S_ISDIR(st.st_mode))
			return ac_log_errno(-ENOTDIR, "socket directory %s", dir);
		if (st.st_uid != 0)
			return ac_log_errno(-EPERM,
					    "refusing socket %s: directory %s belongs to uid %u, not root",
					    path, dir[0] ? dir : "/", (unsigned)st.st_uid);
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
			return ac_log_errno(-EPERM,
					    "refusing socket %s: directory %s is writable by others "
					    "and not sticky (mode %04o)",
					    path, dir[0] ? dir : "/", (unsigned)(st.st_mode & 07777));
		*p = c;
		if (c == '\0' || p[1] == '\0')
			return 0;
	}
}

/* A socket left by a dead daemon is replaced; a live one is not, and
 * anything that is not a socket (a file, a link) is left alone. */
static int check_existing(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : ac_log_errno(-errno, "socket path %s", path);
	if (!S_ISSOCK(st.st_mode))
		return ac_log_errno(-EEXIST, "refusing socket %s: it exists and is not a socket",
				    path);
	ac_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return ac_log_errno(-EADDRINUSE, "another agentcgd is serving %s", path);
	if (unlink(path) < 0)
		return ac_log_errno(-errno, "cannot remove the stale socket %s", path);
	return 0;
}

/* Binds with the configured mode in place from the start (umask), so the
 * path is never chmod-ed, which would follow a link put there; then
 * checks that what is at the path is the socket just made. */
static int bind_socket(int fd, const struct sockaddr_un *sa, mode_t mode)
{
	mode_t old = umask(~mode & 0777);
	struct stat st, own;
	int r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));

	r = r < 0 ? -errno : 0;
	umask(old);
	if (r < 0)
		return r;
	if (lstat(sa->sun_path, &st) < 0)
		return -errno;
	if (fstat(fd, &own) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != own.st_uid)
		return -EEXIST;
	return 0;
}

int acd_unix_listen(const char *path, mode_t mode, gid_t gid, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	bool staged;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return ac_log_errno(-ENAMETOOLONG, "socket path %s", path);
	/* Made at PATH.new and renamed onto path once it listens: a client
	 * never finds the path before it can connect (between bind and
	 * listen it would be refused). A path too long for the suffix is
	 * bound in place. */
	staged = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.new", path) <
		 (int)sizeof(sa.sun_path);
	if (!staged)
		ac_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	if ((r = mkdir_parent(path)) < 0)
		return ac_log_errno(r, "cannot create the directory of %s", path);
	if ((r = check_socket_dirs(path)) < 0)
		return r;
	if ((r = check_existing(path)) < 0)
		return r;
	/* what a daemon that died here left (the directory is root's, or
	 * sticky: then only what root made can be there under our name
	 * for long, and bind below refuses anything else) */
	if (staged && (r = check_existing(sa.sun_path)) < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ac_log_errno(-errno, "socket");
	if ((r = bind_socket(fd, &sa, mode)) < 0)
		return ac_log_errno(r, "cannot listen on %s", sa.sun_path);
	/* The directories are root's and no one else may rename or remove
	 * what root made in them (checked above): the path is still this
	 * socket, and lchown does not follow a link anyway. */
	if (gid != (gid_t)-1 && lchown(sa.sun_path, (uid_t)-1, gid) < 0) {
		r = -errno;
		unlink(sa.sun_path);
		return ac_log_errno(r, "cannot give %s to group %u", path, (unsigned)gid);
	}
	if (listen(fd, backlog) < 0) {
		r = -errno;
		unlink(sa.sun_path);
		return ac_log_errno(r, "cannot listen on %s", path);
	}
	if (staged && rename(sa.sun_path, path) < 0) {
		r = -errno;
		unlink(sa.sun_path);
		return ac_log_errno(r, "cannot put the socket at %s", path);
	}
	return AC_TAKE_FD(fd);
}

/* The socket agentcgd.socket made and passed: its path (for the log and
 * daemon.info) is the one it is bound to; a --socket or $AGENTCG_SOCKET
 * that names another is a mistake in the units, said once. */
static int listen_activated(struct acd_ctx *ctx, int fd)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(sa);
	struct stat st;

	/* An abstract or unnamed socket has no file mode: anyone in the
	 * network namespace could reach it, whatever socket_mode says. */
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
	    len <= offsetof(struct sockaddr_un, sun_path) || !sa.sun_path[0]) {
		ac_err("socket activation: the passed socket has no path (abstract or unnamed); "
		       "agentcgd.socket must name a file (ListenStream=/run/agentcg/agentcgd.sock)");
		return -EINVAL;
	}
	sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
	if (strcmp(sa.sun_path, ctx->socket_path))
		ac_warn("serving the socket systemd passed, %s, not %s", sa.sun_path,
			ctx->socket_path);
	ac_strlcpy(ctx->socket_path, sa.sun_path, sizeof(ctx->socket_path));
	/* The unit's SocketMode= rules; one that differs from socket_mode is
	 * a mistake worth a line. */
	if (stat(ctx->socket_path, &st) == 0 &&
	    (st.st_mode & 07777) != ((mode_t)ctx->cfg.socket_mode & 07777))
		ac_warn("the socket systemd passed has mode %04o, not socket_mode %04o: "
			"SocketMode= in agentcgd.socket decides", (unsigned)(st.st_mode & 07777),
			(unsigned)(ctx->cfg.socket_mode & 07777));
	ctx->listen_activated = true;
	return fd;
}

int acd_server_listen(struct acd_ctx *ctx)
{
	bool activated;
	int fd, r;

	fd = acd_service_listen_fd(ctx);
	activated = fd >= 0;
	if (activated) {
		if ((r = listen_activated(ctx, fd)) < 0) {
			close(fd);
			return r;
		}
	} else if (fd != -ENOENT) {
		return fd;
	} else {
		fd = acd_unix_listen(ctx->socket_path, (mode_t)ctx->cfg.socket_mode, (gid_t)-1, 256);
		if (fd < 0)
			return fd;
	}
	ctx->listen_w.fd = fd;
	ctx->listen_w.fn = on_listen;
	if ((r = acd_watch_add(ctx, &ctx->listen_w, EPOLLIN)) < 0)
		return ac_log_errno(r, "epoll");
	ac_info("listening on %s%s", ctx->socket_path, activated ? " (activated by systemd)" : "");
	return 0;
}

void acd_server_close(struct acd_ctx *ctx)
{
	if (ctx->listen_w.fd >= 0) {
		acd_watch_close(ctx, &ctx->listen_w);
		/* systemd's socket stays: the next connection starts agentcgd */
		if (!ctx->listen_activated)
			unlink(ctx->socket_path);
	}
}

void acd_clients_free_dead(struct acd_ctx *ctx)
{
	while (ctx->dead_clients) {
		struct acd_client *c = ctx->dead_clients;

		ctx->dead_clients = c->next;
		free(c);
	}
}
