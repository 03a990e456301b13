// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness: request lines through the daemon's own path, from a
 * client's socket to the method table's handlers.
 *
 * Each input is a stream of bytes a client sends (usually request lines).
 * For every input the harness builds a fresh daemon context as main.c
 * does (the embedded default configuration, the same upcalls, every
 * module's init, the tenants made from the configuration), listens on a
 * real unix socket and connects two clients to it: one keeps the
 * credentials the kernel gave it (the fuzzer runs as root), the other is
 * given those of an unprivileged user (uid 4242). The whole input goes
 * to root's client, then to the user's, each through the server's own
 * read path (recvmsg, line splitting, the over-long-line rule, the RPC
 * envelope, the dispatcher's params, path and permission checks, the
 * handlers); then the clients hang up, the background steps run a few
 * times, and the daemon shuts down as main.c does. Every reply must be one
 * JSON object per line, with "jsonrpc": "2.0".
 *
 * The seams, so nothing reaches the host:
 *  - the cgroup backend is the harness's own table of operations (the
 *    ops table of userspace/cgroup/cg_backend.h): nodes are directories
 *    below a private directory in /dev/shm, made and removed by the real
 *    shared code (cg_setup.c, cg_node.c); every knob write is accepted
 *    and every statistics file is absent, and what the shared code opens
 *    by name there (cgroup.kill, cgroup.freeze, pressure files) does not
 *    exist;
 *  - ac_stub_start, the one place the daemon creates a process (spare
 *    call cgroups, interpreters), is wrapped at link time
 *    (-Wl,--wrap=ac_stub_start) to fail as a fork that is refused would:
 *    a call or a session with an interpreter fails cleanly after every
 *    check before it has run;
 *  - kill(2) from the daemon's objects is wrapped too: no process was
 *    ever started, so any signal the daemon sends is a bug, and one to a
 *    process group or to every process (pid <= 0) aborts the run.
 *
 * The harness names no method and no configuration key: methods, params
 * and keys added to the daemon are fuzzed as they are. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentcg/spawn.h"
#include "agentcg/util.h"
#include "access.h"
#include "adaptive.h"
#include "call.h"
#include "cg_backend.h"
#include "contain.h"
#include "hooks.h"
#include "interp.h"
#include "methods.h"
#include "mover.h"
#include "pool.h"
#include "pressure.h"
#include "quota.h"
#include "server.h"
#include "tree.h"
#include "uids.h"

#define USER_UID 4242
#define IDLE_STEPS 64

static char top_dir[256]; /* /dev/shm/agentcg-fuzz.PID */
static bool verbose;	  /* AGENTCG_FUZZ_LOG set: the daemon's log and every reply */

/* ---- the harness's cgroup backend ------------------------------------ */

static int f_probe(const struct cg_mount m[AC_H_COUNT])
{
	return 0;
}

static int f_open_root(struct ac_cgroup *cg)
{
	return 0;
}

static void f_close_root(struct ac_cgroup *cg)
{
}

static int f_node(const struct ac_cg_node *n)
{
	return 0;
}

static int f_apply_limits(const struct ac_cg_node *n, const struct ac_limits *l, bool fresh)
{
	return 0;
}

static int f_read_usage(struct ac_cgroup *cg, const struct ac_cg_node *n,
			const struct ac_cg_statfds *sf, struct ac_usage *u)
{
	return 0;
}

static uint64_t f_u64(const struct ac_cg_node *n)
{
	return 0;
}

static int f_read_file(struct ac_cgroup *cg, const struct ac_cg_node *n, const char *file,
		       char *buf, size_t len)
{
	return snprintf(buf, len, "0\n");
}

static int f_write_memory(const struct ac_cg_node *n, const char *file, uint64_t v)
{
	return 0;
}

static int f_write_pids_max(const struct ac_cg_node *n, uint64_t v)
{
	return 0;
}

static int f_write_cpu_max(const struct ac_cg_node *n, uint64_t quota_us, uint64_t period_us)
{
	return 0;
}

static int f_set_priority(const struct ac_cg_node *n, uint32_t cpu_weight, uint64_t memory_low,
			  bool protect)
{
	return 0;
}

static int f_set_memory_low(const struct ac_cg_node *n, uint64_t bytes)
{
	return 0;
}

static int f_reclaim(const struct ac_cg_node *n, uint64_t bytes)
{
	return -EOPNOTSUPP;
}

static const struct cg_stat_src f_stat_src[CG_SF_COUNT]; /* no files */

static const struct ac_cg_ops fuzz_cg_ops = {
	.name = "fuzz",
	.n_hier = 1,
	.memcg_hier = AC_H_UNIFIED,
	.probe = f_probe,
	.open_root = f_open_root,
	.close_root = f_close_root,
	.enable_subtree = f_node,
	.memory_high = true,
	.memory_events = true,
	.memory_low = true,
	.stat_src = f_stat_src,
	.apply_limits = f_apply_limits,
	.read_usage = f_read_usage,
	.memory_current = f_u64,
	.memory_limit_hits = f_u64,
	.read_file = f_read_file,
	.write_memory = f_write_memory,
	.write_pids_max = f_write_pids_max,
	.write_cpu_max = f_write_cpu_max,
	.set_priority = f_set_priority,
	.set_memory_low = f_set_memory_low,
	.reclaim = f_reclaim,
};

/* ---- the wrapped system calls ------------------------------------------ */

int __real_ac_stub_start(const struct ac_cg_placement *pl, struct ac_stub *out);
int __wrap_ac_stub_start(const struct ac_cg_placement *pl, struct ac_stub *out)
{
	return -EAGAIN; /* what clone3 says when it may not fork */
}

int __wrap_kill(pid_t pid, int sig)
{
	if (pid <= 0) {
		fprintf(stderr, "fuzz_rpc: the daemon sent signal %d to pid %d (a process group "
				"or every process)\n",
			sig, (int)pid);
		abort();
	}
	errno = ESRCH; /* the daemon started no process */
	return -1;
}

/* ---- a daemon ------------------------------------------------------------ */

static void die(const char *what)
{
	fprintf(stderr, "fuzz_rpc: %s: %s\n", what, strerror(errno));
	abort();
}

static struct acd_ctx *daemon_new(void)
{
	struct acd_ctx *ctx = calloc(1, sizeof(*ctx));
	char err[512];
	struct ac_cgroup *cg;

	if (!ctx)
		die("calloc");
	ctx->hooks = acd_daemon_hooks;
	ac_config_init(&ctx->cfg);
	if (ac_config_load_default(&ctx->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_rpc: embedded configuration: %s\n", err);
		abort();
	}
	if (acd_adaptive_init(ctx) < 0)
		die("adaptive");
	snprintf(ctx->socket_path, sizeof(ctx->socket_path), "%s/sock", top_dir);
	ctx->listen_w.fd = ctx->signal_w.fd = -1;
	if ((ctx->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    (ctx->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("open");

	/* ac_cg_open, with the harness's backend and a plain directory. */
	cg = &ctx->cg;
	ac_cg_node_init(&cg->root);
	cg->own_fd = -1;
	cg->ops = &fuzz_cg_ops;
	cg->n_hier = fuzz_cg_ops.n_hier;
	snprintf(cg->mount[0], sizeof(cg->mount[0]), "%s", top_dir);
	snprintf(cg->root_path[0], sizeof(cg->root_path[0]), "%s/root", top_dir);
	if (mkdir(cg->root_path[0], 0755) < 0 ||
	    (cg->root.dirfd[0] = open(cg->root_path[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die(cg->root_path[0]);
	cg->has_kill = true;
	cg->has_peak = true;
	cg->has_clone_into_cgroup = true;

	acd_server_fd_budget(ctx);
	if (acd_quota_init(ctx) < 0 || acd_calls_init(ctx) < 0 || acd_pool_init(ctx) < 0 ||
	    acd_contain_init(ctx) < 0 || acd_pressure_init(ctx) < 0 || acd_access_init(ctx) < 0 ||
	    acd_tree_init(ctx) < 0 || acd_mover_init(ctx) < 0 || acd_uids_init(ctx) < 0 ||
	    acd_interp_init(ctx) < 0 || acd_server_listen(ctx) < 0) {
		fprintf(stderr, "fuzz_rpc: the daemon's modules did not start\n");
		abort();
	}
	return ctx;
}

/* main.c's end: the same steps in the same order. */
static void daemon_free(struct acd_ctx *ctx)
{
	ctx->stopping = true;
	acd_server_close(ctx);
	acd_calls_shutdown(ctx);
	while (ctx->clients)
		acd_client_drop(ctx, ctx->clients, NULL);
	while (acd_calls_remove_step(ctx))
		;
	acd_calls_free_dead(ctx);
	acd_clients_free_dead(ctx);
	acd_pressure_shutdown(ctx);
	acd_tree_destroy(ctx);
	acd_interp_shutdown(ctx);
	acd_mover_shutdown(ctx);
	acd_uids_free(ctx);
	acd_pressure_free(ctx);
	acd_contain_free(ctx);
	acd_pool_free(ctx);
	ac_cg_close(&ctx->cg);
	close(ctx->epfd);
	close(ctx->devnull);
	acd_access_free(ctx);
	acd_calls_free(ctx);
	acd_quota_free(ctx);
	free(ctx);
}

/* ---- clients --------------------------------------------------------------- */

struct peer {
	int fd;			  /* the harness's end */
	struct acd_client *c;	  /* the daemon's; NULL once it dropped it */
	uint64_t serial;
	char *got;		  /* replies read so far */
	size_t n_got, cap;
};

static bool client_alive(struct acd_ctx *ctx, const struct peer *p)
{
	for (struct acd_client *c = ctx->clients; c; c = c->next)
		if (c == p->c && c->serial == p->serial)
			return true;
	return false;
}

/* A connection accepted by the server's own listen handler. */
static void peer_connect(struct acd_ctx *ctx, struct peer *p, bool user)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(p, 0, sizeof(*p));
	p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ac_strlcpy(sa.sun_path, ctx->socket_path, sizeof(sa.sun_path));
	if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	ctx->listen_w.fn(ctx, &ctx->listen_w, EPOLLIN);
	p->c = ctx->clients; /* the newest */
	if (!p->c || p->c->w.fd < 0)
		die("accept");
	p->serial = p->c->serial;
	if (user) { /* what SO_PEERCRED says of an unprivileged user */
		p->c->uid = USER_UID;
		p->c->gid = USER_UID;
		p->c->groups[0] = USER_UID;
		p->c->n_groups = 1;
	}
}

/* Every reply line is a JSON-RPC 2.0 object. */
static void check_line(const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(line, len, 0, &jerr);

	if (!json_is_object(msg) ||
	    !json_is_string(json_object_get(msg, "jsonrpc")) ||
	    strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0")) {
		fprintf(stderr, "fuzz_rpc: a reply that is not a JSON-RPC object: %.*s\n",
			(int)(len > 400 ? 400 : len), line);
		abort();
	}
	if (verbose)
		fprintf(stderr, "reply: %.*s\n", (int)len, line);
	json_decref(msg);
}

static void peer_drain(struct peer *p)
{
	char buf[65536];
	ssize_t n;

	while ((n = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		char *nl;

		if (p->n_got + (size_t)n > p->cap) {
			p->cap = (p->n_got + (size_t)n) * 2;
			if (!(p->got = realloc(p->got, p->cap)))
				die("realloc");
		}
		memcpy(p->got + p->n_got, buf, (size_t)n);
		p->n_got += (size_t)n;
		while ((nl = memchr(p->got, '\n', p->n_got))) {
			size_t len = (size_t)(nl - p->got);

			check_line(p->got, len);
			memmove(p->got, nl + 1, p->n_got - len - 1);
			p->n_got -= len + 1;
		}
	}
}

/* What the loop does after a batch of events. */
static void after_batch(struct acd_ctx *ctx)
{
	acd_calls_free_dead(ctx);
	acd_clients_free_dead(ctx);
}

/* The daemon reads what is waiting on the client's socket, as on EPOLLIN. */
static void peer_serve(struct acd_ctx *ctx, struct peer *p)
{
	for (;;) {
		uint32_t events = 0;
		int avail = 0;

		peer_drain(p);
		if (!client_alive(ctx, p))
			break;
		if (ioctl(p->c->w.fd, FIONREAD, &avail) == 0 && avail > 0)
			events |= EPOLLIN;
		if (p->c->want_out)
			events |= EPOLLOUT;
		if (!events)
			break;
		p->c->w.fn(ctx, &p->c->w, events);
		after_batch(ctx);
	}
}

static void peer_send(struct acd_ctx *ctx, struct peer *p, const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size && client_alive(ctx, p)) {
		ssize_t n = send(p->fd, data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n > 0)
			off += (size_t)n;
		peer_serve(ctx, p);
	}
	peer_serve(ctx, p);
}

/* The client hangs up: the daemon reads the end of the stream. */
static void peer_close(struct acd_ctx *ctx, struct peer *p)
{
	shutdown(p->fd, SHUT_WR);
	if (client_alive(ctx, p)) {
		p->c->w.fn(ctx, &p->c->w, EPOLLIN | EPOLLHUP);
		after_batch(ctx);
	}
	peer_drain(p);
	close(p->fd);
	free(p->got);
}

/* ---- libFuzzer -------------------------------------------------------------- */

static void remove_top(void)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/root", top_dir);
	rmdir(path);
	rmdir(top_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	signal(SIGPIPE, SIG_IGN);
	verbose = getenv("AGENTCG_FUZZ_LOG") != NULL;
	if (!verbose)
		ac_log_set_level((enum ac_log_level)0); /* quiet: the handlers log what they refuse */
	snprintf(top_dir, sizeof(top_dir), "%s/agentcg-fuzz.%d", base, (int)getpid());
	if (mkdir(top_dir, 0700) < 0 && errno != EEXIST)
		die(top_dir);
	atexit(remove_top);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acd_ctx *ctx = daemon_new();
	struct peer root, user;

	peer_connect(ctx, &root, false);
	peer_connect(ctx, &user, true);
	peer_send(ctx, &root, data, size);
	peer_send(ctx, &user, data, size);
	peer_close(ctx, &user);
	peer_close(ctx, &root);
	/* Background work, as the loop runs it when idle (spares, warm
	 * interpreters, removals); a refused fork leaves work pending, so
	 * this is bounded. */
	for (int i = 0; i < IDLE_STEPS; i++)
		if (!acd_pool_step(ctx) && !acd_interp_pool_step(ctx) && !acd_calls_remove_step(ctx))
			break;
	daemon_free(ctx);
	return 0;
}
