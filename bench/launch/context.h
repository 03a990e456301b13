/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: the one context every part of the bench works on (options,
 * the daemons under test, the bench's cgroups, the cgroup-tools plan, the
 * strace run), and the way out: lb_die stops the daemons and the tracer,
 * removes every cgroup the bench made and exits 1. */
#ifndef LB_CONTEXT_H
#define LB_CONTEXT_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "agentcg/util.h"
#include "cgroups.h"
#include "cgtools.h"
#include "daemon.h"
#include "stats.h"

#define LB_SESSION "/bench/s1"
#define LB_TRUE_BIN "/bin/true"
#define LB_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LB_MIN_TOOLS_N 100
#define LB_DAEMONS_MAX 2

struct lb_options {
	int n;		 /* rounds of (a), (c), (d) */
	int n_tools;	 /* iterations of (b) */
	int warmup;
	int micro_n;	 /* replica iterations */
	int trace_calls; /* 0: no strace */
	int spaced_n;
	int gap_ms;
	bool breakdown, json;
	char build[512];   /* agentcgd + agentcg of daemon A */
	char config[512];  /* daemon A's config template */
	char build2[512];  /* daemon B, "" = none */
	char config2[512]; /* "" = config */
	char cmdline[1024];
};

struct lb_ctx {
	struct lb_options opt;
	FILE *out; /* the human-readable report: stdout, or stderr with --json */
	pid_t self;
	char tag[64]; /* agentcg-bench-<pid>: daemon A's root */
	struct lb_cgroups cg;
	struct lb_daemon dmn[LB_DAEMONS_MAX];
	int n_dmn;
	struct lb_tools tools;
	pid_t tracer; /* strace, while it runs */
	char toolerr[128], trace_file[128];
	int devnull, toolerr_fd;
	char agentcg[600];
	char env_sock[160];
	char *envp[3]; /* PATH and AGENTCG_SOCKET of daemon A, for every child */
};

/* Names, files and fds of a run from its options. Dies on failure. */
void lb_ctx_setup(struct lb_ctx *ctx);
/* SIGINT, SIGTERM and SIGHUP ask the bench to stop at the next check. */
void lb_install_stop_signals(void);
/* Dies ("interrupted") once a stop signal came. */
void lb_check_stop(struct lb_ctx *ctx);

/* Stops the tracer and the daemons, removes the temp files and the
 * bench's cgroups. Safe to call twice. */
void lb_cleanup(struct lb_ctx *ctx);
_Noreturn void lb_die(struct lb_ctx *ctx, const char *fmt, ...) AC_PRINTF(2, 3);

/* snprintf that dies on truncation (a bug in the bench); returns the length. */
int lb_fmt(struct lb_ctx *ctx, char *buf, size_t len, const char *fmt, ...) AC_PRINTF(4, 5);
/* lb_series_push that dies when memory runs out. */
void lb_push(struct lb_ctx *ctx, struct lb_series *s, double us);

#endif
