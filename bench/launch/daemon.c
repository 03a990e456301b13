// SPDX-License-Identifier: GPL-2.0
/* launch_bench: the daemons under test and the connections to them. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "context.h"
#include "proc.h"

void lb_daemon_setup(struct lb_ctx *ctx, struct lb_daemon *d, int i)
{
	const char *sfx = i ? "-b" : "";
	const struct lb_options *o = &ctx->opt;

	lb_fmt(ctx, d->name, sizeof(d->name), "%s", i ? "B" : "A");
	lb_fmt(ctx, d->agentcgd, sizeof(d->agentcgd), "%s/agentcgd", i ? o->build2 : o->build);
	lb_fmt(ctx, d->template_cfg, sizeof(d->template_cfg), "%s",
	       i && o->config2[0] ? o->config2 : o->config);
	lb_fmt(ctx, d->tag, sizeof(d->tag), "%s%s", ctx->tag, sfx);
	lb_fmt(ctx, d->sock, sizeof(d->sock), "/tmp/agentcg-bench-%d%s.sock", (int)ctx->self, sfx);
	lb_fmt(ctx, d->cfg, sizeof(d->cfg), "/tmp/agentcg-bench-%d%s.json", (int)ctx->self, sfx);
	lb_fmt(ctx, d->dlog, sizeof(d->dlog), "/tmp/agentcg-bench-%d%s.log", (int)ctx->self, sfx);
	d->c = calloc(1, sizeof(*d->c));
	if (!d->c)
		lb_die(ctx, "out of memory");
	d->c->fd = -1;
}

static void write_config(struct lb_ctx *ctx, struct lb_daemon *d)
{
	json_error_t jerr;
	json_t *cfg = json_load_file(d->template_cfg, 0, &jerr);
	int r;

	if (!cfg)
		lb_die(ctx, "cannot read %s: %s (line %d)", d->template_cfg, jerr.text, jerr.line);
	json_object_set_new(cfg, "tenants",
			    json_pack("{s:{s:s, s:i, s:i}}", "bench", "memory_max", "8G", "cpu", 0,
				      "pids", 8192));
	r = json_dump_file(cfg, d->cfg, JSON_INDENT(2));
	json_decref(cfg);
	if (r < 0)
		lb_die(ctx, "cannot write %s", d->cfg);
}

void lb_daemon_start(struct lb_ctx *ctx, struct lb_daemon *d)
{
	int logfd;

	write_config(ctx, d);
	unlink(d->sock);
	logfd = open(d->dlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0)
		lb_die(ctx, "cannot create %s: %s", d->dlog, strerror(errno));
	d->pid = fork();
	if (d->pid < 0)
		lb_die(ctx, "fork: %s", strerror(errno));
	if (d->pid == 0) {
		char *argv[] = { d->agentcgd, "--config", d->cfg, "--root", d->tag, "--socket", d->sock,
				 NULL };

		dup2(ctx->devnull, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execve(argv[0], argv, ctx->envp);
		_exit(127);
	}
	close(logfd);
	for (int i = 0; i < 400; i++) {
		struct lb_conn probe = { .fd = -1 };
		int st;

		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->reaped = true;
			d->status = st;
			lb_die(ctx, "agentcgd %s exited during start-up", d->name);
		}
		if (lb_conn_open(&probe, d->sock) == 0) {
			close(probe.fd);
			return;
		}
		lb_check_stop(ctx);
		usleep(10000);
	}
	lb_die(ctx, "agentcgd did not listen on %s within 4 s", d->sock);
}

void lb_daemon_stop(struct lb_daemon *d)
{
	if (d->pid <= 0 || d->reaped)
		return;
	lb_stop_child(d->pid, SIGTERM, 15000, &d->status);
	d->reaped = true;
}

int lb_conn_open(struct lb_conn *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int r = -errno;

		close(c->fd);
		c->fd = -1;
		return r;
	}
	c->len = c->consumed = 0;
	return 0;
}

void lb_conn_close(struct lb_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

char *lb_conn_line(struct lb_ctx *ctx, struct lb_conn *c, uint64_t *t_ns, int timeout_ms)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		char *nl;
		ssize_t n;
		int r;

		if (c->consumed) {
			memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
			c->len -= c->consumed;
			c->consumed = 0;
		}
		nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*t_ns = ac_now_ns();
			*nl = '\0';
			c->consumed = (size_t)(nl - c->buf) + 1;
			return c->buf;
		}
		if (c->len == sizeof(c->buf) - 1)
			lb_die(ctx, "daemon reply line longer than %zu bytes", sizeof(c->buf));
		r = poll(&p, 1, timeout_ms);
		if (r < 0 && errno == EINTR) {
			lb_check_stop(ctx);
			continue;
		}
		if (r == 0)
			lb_die(ctx, "no reply from the daemon in %d ms", timeout_ms);
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			lb_die(ctx, "daemon closed the connection (%s)", n < 0 ? strerror(errno) : "EOF");
		c->len += (size_t)n;
	}
}

json_t *lb_rpc(struct lb_ctx *ctx, struct lb_conn *c, const char *method)
{
	char req[256];
	int id = ++c->next_id;
	int n = lb_fmt(ctx, req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\"}\n",
		       id, method);

	if (lb_write_all(c->fd, req, (size_t)n) < 0)
		return NULL;
	for (;;) {
		uint64_t t;
		json_t *msg = json_loads(lb_conn_line(ctx, c, &t, 10000), 0, NULL), *res;

		if (!msg)
			return NULL;
		if (json_integer_value(json_object_get(msg, "id")) != id ||
		    json_object_get(msg, "method")) {
			json_decref(msg);
			continue;
		}
		res = json_incref(json_object_get(msg, "result"));
		json_decref(msg);
		return res;
	}
}
