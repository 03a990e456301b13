// SPDX-License-Identifier: GPL-2.0
/* agentcg: the JSON-RPC connection to agentcgd. One request line out
 * (optionally carrying fds with SCM_RIGHTS), reply lines in through a
 * bounded buffer; notifications are handed to a callback. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

#define CLI_MAX_FDS 3

void cli_init(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
}

void cli_done(struct cli *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ac_buf_free(&c->rbuf.b);
	c->rbuf.scanned = 0;
}

/* The daemon is root's (or, for a daemon of one's own, ours). Anything
 * else at the path, e.g. a socket another user made in /tmp while the
 * daemon was down, gets nothing: no env, no stdio fds, no request. */
static int cli_check_peer(struct cli *c, int fd, bool quiet)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		int err = -errno;

		if (!quiet)
			fprintf(stderr, "%s: cannot tell who serves %s: %s\n", CLI_PROG,
				c->socket_path, strerror(-err));
		return err;
	}
	if (cr.uid == 0 || cr.uid == getuid() || cr.uid == geteuid())
		return 0;
	if (!quiet)
		fprintf(stderr, "%s: refusing %s: it is served by uid %u, not root; agentcgd runs "
				"as root\n",
			CLI_PROG, c->socket_path, (unsigned)cr.uid);
	return -EPERM;
}

int cli_connect(struct cli *c)
{
	return cli_connect_opt(c, false);
}

int cli_connect_opt(struct cli *c, bool quiet)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	int err;

	if (c->fd >= 0)
		return 0;
	if (strlen(c->socket_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", CLI_PROG, c->socket_path);
		return -ENAMETOOLONG;
	}
	ac_strlcpy(addr.sun_path, c->socket_path, sizeof(addr.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "%s: socket: %s\n", CLI_PROG, strerror(-err));
		return err;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = -errno;
		if (quiet)
			return err;
		fprintf(stderr, "%s: cannot connect to agentcgd at %s: %s\n", CLI_PROG,
			c->socket_path, strerror(-err));
		if (err == -ENOENT || err == -ECONNREFUSED)
			fprintf(stderr,
				"%s: is the daemon running? (start agentcgd, or point --socket or "
				"$AGENTCG_SOCKET at its socket)\n",
				CLI_PROG);
		return err;
	}
	if ((err = cli_check_peer(c, fd, quiet)) < 0)
		return err;
	c->fd = AC_TAKE_FD(fd);
	return 0;
}

/* Writes all of buf; fds ride with the first byte. */
static int cli_send_all(int fd, const char *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CLI_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t off = 0;

	if (nfds > CLI_MAX_FDS)
		return -EINVAL;
	while (off < len) {
		struct iovec iov = { .iov_base = (char *)buf + off, .iov_len = len - off };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (off == 0 && nfds > 0) {
			struct cmsghdr *cm;

			memset(&ctl, 0, sizeof(ctl));
			msg.msg_control = ctl.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
		}
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

int64_t cli_send(struct cli *c, const char *method, json_t *params, const int *fds, size_t nfds)
{
	json_t *req;
	_cleanup_free_ char *line = NULL;
	size_t len;
	int64_t id = c->next_id++;
	int r;

	req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method",
			method, "params", params ? params : json_object());
	if (!req)
		return -ENOMEM;
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!line)
		return -ENOMEM;
	len = strlen(line);
	line[len] = '\n'; /* json_dumps NUL -> newline; sent by length */
	r = cli_send_all(c->fd, line, len + 1, fds, nfds);
	return r < 0 ? r : id;
}

/* Takes the first complete line out of the buffer: 1 with *out, 0 when
 * there is none yet, -EPROTO for a line that is not a JSON object. */
static int cli_rbuf_take(struct cli_rbuf *rb, json_t **out)
{
	struct ac_buf *b = &rb->b;

	for (;;) {
		char *nl = b->len > rb->scanned ?
				   memchr(b->data + rb->scanned, '\n', b->len - rb->scanned) :
				   NULL;
		size_t line_len;
		json_t *msg;

		if (!nl) {
			rb->scanned = b->len;
			return 0;
		}
		line_len = (size_t)(nl - b->data);
		/* a command's output may hold NUL bytes: the daemon sends them
		 * as \u0000 */
		msg = line_len ? json_loadb(b->data, line_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
					   NULL) :
				 NULL;
		ac_buf_consume(b, line_len + 1);
		rb->scanned = 0;
		if (line_len == 0)
			continue; /* blank line */
		if (!json_is_object(msg)) {
			json_decref(msg);
			return -EPROTO;
		}
		*out = msg;
		return 1;
	}
}

/* One recv into the buffer: 1 read something, 0 nothing there (with
 * MSG_DONTWAIT), -ECONNRESET at EOF, -EMSGSIZE for a line over the cap,
 * other -errno. */
static int cli_recv_some(struct cli *c, int flags)
{
	struct ac_buf *b = &c->rbuf.b;
	long room = ac_buf_room(b, CLI_LINE_INIT, CLI_LINE_MAX);
	ssize_t n;

	if (room < 0) /* a line longer than the cap */
		return room == -ENOBUFS ? -EMSGSIZE : (int)room;
	do
		n = recv(c->fd, b->data + b->len, (size_t)room, flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	b->len += (size_t)n;
	return 1;
}

int cli_recv(struct cli *c, json_t **out)
{
	for (;;) {
		int r = cli_rbuf_take(&c->rbuf, out);

		if (r != 0)
			return r < 0 ? r : 0;
		r = cli_recv_some(c, 0);
		if (r < 0)
			return r;
	}
}

int cli_recv_nowait(struct cli *c, json_t **out)
{
	int r = cli_rbuf_take(&c->rbuf, out);

	if (r != 0)
		return r;
	r = cli_recv_some(c, MSG_DONTWAIT);
	if (r <= 0)
		return r;
	return cli_rbuf_take(&c->rbuf, out);
}

void cli_report_transport(struct cli *c, int err)
{
	switch (err) {
	case -ECONNRESET:
	case -EPIPE:
		fprintf(stderr, "%s: agentcgd closed the connection (%s)\n", CLI_PROG,
			c->socket_path);
		break;
	case -EMSGSIZE:
		fprintf(stderr, "%s: reply from agentcgd longer than %u MiB\n", CLI_PROG,
			CLI_LINE_MAX >> 20);
		break;
	case -EPROTO:
		fprintf(stderr, "%s: agentcgd sent a line that is not a JSON object\n", CLI_PROG);
		break;
	default:
		fprintf(stderr, "%s: talking to agentcgd at %s: %s\n", CLI_PROG, c->socket_path,
			strerror(-err));
	}
}

/* A reply's id, or -1 for a notification / missing id. */
static json_int_t cli_msg_id(const json_t *msg)
{
	const json_t *id = json_object_get(msg, "id");

	return json_is_integer(id) ? json_integer_value(id) : -1;
}

static int cli_dispatch_notification(struct cli *c, json_t *msg, cli_notify_fn fn, void *ud)
{
	const char *method = cli_json_str(msg, "method", NULL);

	if (!method || !fn)
		return 0;
	return fn(c, method, json_object_get(msg, "params"), ud);
}

/* Splits a reply into result (0) or error (1). */
static int cli_take_reply(json_t *msg, json_t **result, json_t **error)
{
	json_t *err = json_object_get(msg, "error");

	if (err && !json_is_null(err)) {
		*error = json_incref(err);
		return 1;
	}
	*result = json_incref(json_object_get(msg, "result"));
	if (!*result)
		*result = json_null();
	return 0;
}

int cli_call(struct cli *c, const char *method, json_t *params, const int *fds, size_t nfds,
	     cli_notify_fn fn, void *ud, json_t **result, json_t **error)
{
	int64_t id = cli_send(c, method, params, fds, nfds);

	*result = *error = NULL;
	if (id < 0) {
		cli_report_transport(c, (int)id);
		return (int)id;
	}
	for (;;) {
		json_t *msg = NULL;
		int r = cli_recv(c, &msg);

		if (r < 0) {
			cli_report_transport(c, r);
			return r;
		}
		if (json_object_get(msg, "method") && !json_object_get(msg, "id")) {
			r = cli_dispatch_notification(c, msg, fn, ud);
			json_decref(msg);
			if (r < 0)
				return r;
			continue;
		}
		if (cli_msg_id(msg) == id) {
			r = cli_take_reply(msg, result, error);
			json_decref(msg);
			return r;
		}
		/* A reply with an id we never sent (or null id after a parse
		 * error on our line): report errors, ignore the rest. */
		if (json_object_get(msg, "error") && cli_msg_id(msg) < 0) {
			r = cli_take_reply(msg, result, error);
			json_decref(msg);
			return r;
		}
		json_decref(msg);
	}
}

int cli_simple_call(struct cli *c, const char *method, json_t *params, json_t **result,
		    int fail_code)
{
	json_t *error = NULL;
	int r;

	*result = NULL;
	r = cli_connect(c);
	if (r < 0) {
		json_decref(params);
		return fail_code;
	}
	r = cli_call(c, method, params, NULL, 0, NULL, NULL, result, &error);
	if (r < 0)
		return fail_code;
	if (r > 0) {
		cli_print_rpc_error(stderr, error);
		if (c->json) {
			json_t *wrap = json_pack("{s:O}", "error", error);

			cli_print_json(stdout, wrap);
			json_decref(wrap);
		}
		json_decref(error);
		return fail_code;
	}
	return 0;
}
