// SPDX-License-Identifier: GPL-2.0
/* launch_bench: setting up a run's context, stop signals, cleanup, dying. */
#include "context.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

/* The one thing a signal handler may touch. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void lb_install_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void lb_check_stop(struct lb_ctx *ctx)
{
	if (stop_requested)
		lb_die(ctx, "interrupted: stopping the daemon and removing cgroups");
}

int lb_fmt(struct lb_ctx *ctx, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		lb_die(ctx, "internal: string too long: %.80s...", buf);
	return n;
}

void lb_push(struct lb_ctx *ctx, struct lb_series *s, double us)
{
	if (lb_series_push(s, us) < 0)
		lb_die(ctx, "out of memory");
}

void lb_ctx_setup(struct lb_ctx *ctx)
{
	struct lb_options *o = &ctx->opt;

	ctx->self = getpid();
	ctx->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	lb_fmt(ctx, ctx->tag, sizeof(ctx->tag), "agentcg-bench-%d", (int)ctx->self);
	lb_cgroups_init(ctx);
	ctx->n_dmn = o->build2[0] ? 2 : 1;
	for (int i = 0; i < ctx->n_dmn; i++)
		lb_daemon_setup(ctx, &ctx->dmn[i], i);
	lb_fmt(ctx, ctx->toolerr, sizeof(ctx->toolerr), "/tmp/agentcg-bench-%d.stderr",
	       (int)ctx->self);
	lb_fmt(ctx, ctx->trace_file, sizeof(ctx->trace_file), "/tmp/agentcg-bench-%d.strace",
	       (int)ctx->self);
	lb_fmt(ctx, ctx->agentcg, sizeof(ctx->agentcg), "%s/agentcg", o->build);
	lb_fmt(ctx, ctx->env_sock, sizeof(ctx->env_sock), "AGENTCG_SOCKET=%s", ctx->dmn[0].sock);
	ctx->envp[0] = LB_PATH_ENV;
	ctx->envp[1] = ctx->env_sock;
	ctx->envp[2] = NULL;
	ctx->toolerr_fd = open(ctx->toolerr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ctx->devnull < 0 || ctx->toolerr_fd < 0)
		lb_die(ctx, "cannot open /dev/null or %s: %s", ctx->toolerr, strerror(errno));
}

void lb_cleanup(struct lb_ctx *ctx)
{
	if (ctx->tracer > 0) {
		lb_stop_child(ctx->tracer, SIGINT, 5000, NULL);
		ctx->tracer = 0;
	}
	for (int i = 0; i < ctx->n_dmn; i++) {
		struct lb_daemon *d = &ctx->dmn[i];

		lb_daemon_stop(d);
		if (d->cfg[0])
			unlink(d->cfg);
		if (d->sock[0])
			unlink(d->sock);
	}
	lb_cgroups_remove_tools(ctx);
	if (ctx->toolerr[0])
		unlink(ctx->toolerr);
	if (ctx->trace_file[0])
		unlink(ctx->trace_file);
}

void lb_die(struct lb_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->out)
		fflush(ctx->out);
	fprintf(stderr, "launch_bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	for (int i = 0; i < ctx->n_dmn; i++) {
		struct lb_daemon *d = &ctx->dmn[i];

		if (d->pid > 0 && d->dlog[0]) {
			fprintf(stderr, "--- daemon %s log %s (last lines) ---\n", d->name, d->dlog);
			lb_tail_file(d->dlog, 20);
		}
	}
	lb_cleanup(ctx);
	for (int i = 0; i < ctx->n_dmn; i++)
		if (ctx->dmn[i].dlog[0])
			unlink(ctx->dmn[i].dlog);
	exit(1);
}
