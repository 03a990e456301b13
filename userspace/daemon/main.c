// SPDX-License-Identifier: GPL-2.0
/* agentcgd: the supervisor. Loads the configuration, finds its cgroup
 * root, serves JSON-RPC on a unix socket from one epoll loop, and on
 * SIGTERM/SIGINT kills its calls and removes every cgroup it made. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "access.h"
#include "agentcg/util.h"
#include "adaptive.h"
#include "bpf.h"
#include "call.h"
#include "contain.h"
#include "hooks.h"
#include "interp.h"
#include "interp_check.h"
#include "mover.h"
#include "uids.h"
#include "methods.h"
#include "metrics_http.h"
#include "pool.h"
#include "pressure.h"
#include "quota.h"
#include "rpc.h"
#include "server.h"
#include "service.h"
#include "tree.h"

#define STOP_GRACE_NS (5ULL * 1000000000)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: agentcgd [--config FILE] [--root auto|PATH] [--socket PATH]\n"
		"                [--backend v2|hybrid] [--verbose] [--print-config]\n"
		"                [--check-config]\n"
		"\n"
		"  --config FILE   JSON configuration (default: the embedded config/agentcgd.json)\n"
		"  --root SPEC     cgroup root: auto (= agentcg under this process's cgroup),\n"
		"                  a relative path under it, or an absolute cgroup path\n"
		"  --socket PATH   unix socket (default: $AGENTCG_SOCKET, then the config)\n"
		"  --backend KIND  force the cgroup backend (default: detected)\n"
		"  --print-config  print the embedded default configuration and exit\n"
		"  --check-config  check the configuration (--config, or the embedded one),\n"
		"                  say whether it is valid and exit (status 0 if it is, 1 if not)\n"
		"\n"
		"Under systemd (config/systemd/agentcgd.service, agentcgd.socket) it takes the\n"
		"socket systemd passes, tells systemd when it is ready, its status and that it\n"
		"is alive (sd_notify), and logs with journald priorities. SIGTERM or SIGINT\n"
		"stop it: it kills its calls and removes every cgroup it made.\n");
}

static void on_signal(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			if (ctx->stopping)
				continue;
			ac_info("signal %d: stopping, killing %d running calls", (int)si.ssi_signo,
				ctx->calls_running);
			ctx->stopping = true;
			ctx->stop_deadline_ns = ac_now_ns() + STOP_GRACE_NS;
			{
				char status[128];

				snprintf(status, sizeof(status), "stopping: killing %d running calls",
					 ctx->calls_running);
				acd_service_stopping(ctx, status);
			}
			acd_server_close(ctx);
			acd_metrics_http_close(ctx);
			acd_calls_shutdown(ctx);
		}
	}
}

static int setup_signals(struct acd_ctx *ctx)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	ctx->signal_w.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ctx->signal_w.fd < 0)
		return -errno;
	ctx->signal_w.fn = on_signal;
	return acd_watch_add(ctx, &ctx->signal_w, EPOLLIN);
}

/* ---- background work ------------------------------------------------- */

/* Background work competes with running commands (a fork of the daemon,
 * a memcg removal that drains per-cpu stocks on every CPU): while calls
 * run, it goes at most one step per ACD_IDLE_GAP_NS, unless removals pile
 * up. */
#define ACD_IDLE_GAP_NS (2ULL * 1000000)
#define ACD_REMOVAL_BACKLOG 32

static int idle_delay_ms(struct acd_ctx *ctx)
{
	uint64_t now = ac_now_ns(), due = ctx->last_idle_ns + ACD_IDLE_GAP_NS;

	if (!ctx->idle_work || ctx->calls_running == 0 || ctx->calls->n_removing > ACD_REMOVAL_BACKLOG ||
	    now >= due)
		return ctx->idle_work ? 0 : -1;
	return ac_ns_to_ms_ceil(due - now);
}

/* A daemon that always has an event ready (calls back to back on several
 * connections) never sees an idle moment: past ACD_REMOVAL_BACKLOG finished
 * calls, each still holding its cgroup's fds, removal steps run after every
 * batch of events until the backlog is back at the bound. */
static void removal_catch_up(struct acd_ctx *ctx)
{
	while (ctx->calls->n_removing > ACD_REMOVAL_BACKLOG && acd_calls_remove_step(ctx))
		;
}

static bool idle_step(struct acd_ctx *ctx)
{
	if (!ctx->idle_work || idle_delay_ms(ctx) != 0)
		return false;
	ctx->last_idle_ns = ac_now_ns();
	/* Refill first: a spare is on the next call's critical path, a
	 * finished call's cgroup is not. */
	if (acd_pool_step(ctx) || acd_interp_pool_step(ctx) || acd_calls_remove_step(ctx))
		return true;
	ctx->idle_work = false;
	return false;
}

/* ---- systemd's STATUS= ------------------------------------------------ */

/* The one-line summary systemctl status shows, rebuilt at most once per
 * ACD_SERVICE_STATUS_GAP_NS (it walks the tenants). */
static void service_summary(struct acd_ctx *ctx, char *buf, size_t len)
{
	int tenants = 0, sessions = 0;

	for (struct acd_tenant *t = ctx->tenants; t; t = t->next, tenants++)
		for (struct acd_session *s = t->sessions; s; s = s->next)
			sessions++;
	snprintf(buf, len, "serving %.120s: %d tenants, %d sessions, %d calls running, %llu since start",
		 ctx->socket_path, tenants, sessions, ctx->calls_running,
		 (unsigned long long)ctx->calls_total);
}

static int service_tick(struct acd_ctx *ctx, uint64_t *next_summary_ns)
{
	uint64_t now = ac_now_ns();

	if (!acd_service_notifying(ctx))
		return -1;
	if (!ctx->stopping && now >= *next_summary_ns) {
		char status[256];

		service_summary(ctx, status, sizeof(status));
		acd_service_status(ctx, status);
		*next_summary_ns = now + ACD_SERVICE_STATUS_GAP_NS;
	}
	return acd_service_tick(ctx);
}

/* ---- the loop --------------------------------------------------------- */

static int run_loop(struct acd_ctx *ctx)
{
	struct epoll_event evs[64];
	uint64_t next_summary_ns = 0;

	for (;;) {
		int service_ms = service_tick(ctx, &next_summary_ns);
		int timeout = acd_calls_tick(ctx);
		int idle_ms = idle_delay_ms(ctx);
		int bpf_ms = acd_bpf_tick(ctx);
		int contain_ms = acd_contain_tick(ctx);
		int line_ms = acd_server_tick(ctx);
		int scrape_ms = acd_metrics_http_tick(ctx);
		bool idle = idle_ms == 0;
		int n;

		if (idle_ms > 0 && (timeout < 0 || idle_ms < timeout))
			timeout = idle_ms;
		if (bpf_ms >= 0 && (timeout < 0 || bpf_ms < timeout))
			timeout = bpf_ms;
		if (contain_ms >= 0 && (timeout < 0 || contain_ms < timeout))
			timeout = contain_ms;
		if (line_ms >= 0 && (timeout < 0 || line_ms < timeout))
			timeout = line_ms;
		if (service_ms >= 0 && (timeout < 0 || service_ms < timeout))
			timeout = service_ms;
		if (scrape_ms >= 0 && (timeout < 0 || scrape_ms < timeout))
			timeout = scrape_ms;

		if (ctx->stopping) {
			if (acd_calls_all_gone(ctx) || ac_now_ns() > ctx->stop_deadline_ns)
				return 0;
			if (timeout < 0 || timeout > 50)
				timeout = 50;
		}
		/* Background work (spare cgroups, removals) runs only when no
		 * event is ready, one small step at a time. */
		n = epoll_wait(ctx->epfd, evs, AC_ARRAY_SIZE(evs), idle ? 0 : timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ac_log_errno(-errno, "epoll_wait");
		}
		if (n == 0 && idle) {
			idle_step(ctx);
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct acd_watch *w = evs[i].data.ptr;

			/* A handler may close watches later in this batch: those
			 * are marked fd = -1 and skipped. */
			if (w->fd >= 0)
				w->fn(ctx, w, evs[i].events);
		}
		removal_catch_up(ctx);
		acd_calls_free_dead(ctx);
		acd_interp_checks_free_dead(ctx);
		acd_clients_free_dead(ctx);
		if (ctx->trim_pending) {
			/* free pages amid the heap too, not only at its top */
			malloc_trim(0);
			ctx->trim_pending = false;
		}
	}
}

static int load_config(struct acd_ctx *ctx, const char *path)
{
	char err[512];
	int r;

	ac_config_init(&ctx->cfg);
	r = path ? ac_config_load_file(&ctx->cfg, path, err, sizeof(err)) :
		   ac_config_load_default(&ctx->cfg, err, sizeof(err));
	if (r < 0)
		ac_err("configuration %s: %s", path ? path : "(embedded)", err);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "root", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' }, { "backend", required_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },	    { "print-config", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },	    { "check-config", no_argument, NULL, 'C' },
		{ 0 }
	};
	/* freed on every return, the early ones (a refused configuration) too */
	_cleanup_free_ struct acd_ctx *ctx = calloc(1, sizeof(*ctx));
	const char *config = NULL, *root = NULL, *sock = NULL;
	bool check_only = false;
	int opt, r;

	if (!ctx)
		return 1;
	ctx->hooks = acd_daemon_hooks;
	ac_log_set_prefix("agentcgd");
	ac_log_detect_journal();
	while ((opt = getopt_long(argc, argv, "c:r:s:b:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'r': root = optarg; break;
		case 's': sock = optarg; break;
		case 'b': ctx->force_backend = optarg; break;
		case 'v': ac_log_set_level(AC_LOG_DEBUG); break;
		case 'p': fwrite(ac_default_config, 1, ac_default_config_len, stdout); return 0;
		case 'h': usage(stdout); return 0;
		case 'C': check_only = true; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (check_only) {
		if (load_config(ctx, config) < 0)
			return 1;
		printf("configuration %s: valid\n", config ? config : "(embedded)");
		return 0;
	}
	if (geteuid() != 0) {
		ac_err("must run as root (it creates cgroups and runs commands as their callers)");
		return 1;
	}
	if (load_config(ctx, config) < 0 || acd_adaptive_init(ctx) < 0)
		return 1;
	if (!sock)
		sock = getenv("AGENTCG_SOCKET");
	ac_strlcpy(ctx->socket_path, sock && *sock ? sock : ctx->cfg.socket_path,
		   sizeof(ctx->socket_path));
	ctx->listen_w.fd = ctx->signal_w.fd = -1;
	ctx->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (ctx->devnull < 0) {
		ac_log_errno(-errno, "/dev/null");
		return 1;
	}
	acd_server_fd_budget(ctx);
	/* Buffers of 128K and more (request lines, replies, frames) are
	 * mapped and unmapped on their own: fixing the threshold keeps glibc
	 * from raising it after the first big free and then carving them out
	 * of the heap, where they would stay. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);

	ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ctx->epfd < 0 || setup_signals(ctx) < 0) {
		ac_log_errno(-errno, "epoll/signalfd");
		return 1;
	}
	r = ac_cg_open(&ctx->cg, root ? root : ctx->cfg.root, ctx->force_backend);
	if (r < 0)
		return 1;
	acd_bpf_open(ctx); /* optional: logs what it cannot do */
	r = acd_quota_init(ctx);
	if (r == 0)
		r = acd_calls_init(ctx);
	if (r == 0)
		r = acd_pool_init(ctx);
	if (r == 0)
		r = acd_contain_init(ctx);
	if (r == 0)
		r = acd_pressure_init(ctx);
	if (r == 0)
		r = acd_access_init(ctx);
	if (r == 0)
		r = acd_tree_init(ctx);
	if (r == 0)
		r = acd_mover_init(ctx);
	if (r == 0)
		r = acd_uids_init(ctx);
	if (r == 0)
		r = acd_interp_init(ctx);
	if (r == 0)
		r = acd_service_init(ctx);
	/* The metrics listener first: once the daemon's own socket is at its
	 * path, everything a client may reach is there. */
	if (r == 0)
		r = acd_metrics_http_open(ctx);
	if (r == 0)
		r = acd_server_listen(ctx);
	if (r == 0) {
		char status[256];

		printf("agentcgd %s ready: backend %s, root %s, socket %s\n", ACD_VERSION,
		       ac_cg_backend_name(&ctx->cg), ctx->cg.root_path[0], ctx->socket_path);
		fflush(stdout);
		service_summary(ctx, status, sizeof(status));
		acd_service_ready(ctx, status);
		r = run_loop(ctx);
	}

	acd_server_close(ctx);
	acd_metrics_http_close(ctx);
	while (ctx->clients)
		acd_client_drop(ctx, ctx->clients, NULL);
	while (acd_calls_remove_step(ctx))
		; /* what is left of finished calls, before the tree goes */
	acd_calls_free_dead(ctx);
	acd_interp_checks_free(ctx); /* the clients are gone: none is answered */
	acd_clients_free_dead(ctx);
	acd_pressure_shutdown(ctx);
	acd_tree_destroy(ctx); /* kills the stubs and interpreters, removes the spares */
	acd_interp_shutdown(ctx);
	acd_mover_shutdown(ctx); /* after the interpreters: none waits on a move */
	acd_uids_free(ctx);
	acd_pressure_free(ctx);
	acd_contain_free(ctx);
	acd_pool_free(ctx);
	acd_bpf_close(ctx);
	ac_cg_close(&ctx->cg);
	close(ctx->epfd);
	close(ctx->signal_w.fd);
	close(ctx->devnull);
	ac_info("stopped; root removed");
	acd_service_free(ctx);
	acd_access_free(ctx);
	acd_calls_free(ctx);
	acd_quota_free(ctx);
	return r < 0 ? 1 : 0;
}
