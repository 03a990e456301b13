/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: the report. The human-readable one goes to ctx->out and
 * the same figures into one JSON object (printed with --json). Keys and
 * table rows are what bench/RESULTS.md and results/ compare across runs:
 * keep them stable. */
#ifndef LB_REPORT_H
#define LB_REPORT_H

#include <jansson.h>

#include "context.h"
#include "proc.h"
#include "stats.h"

/* The measured rounds. */
struct lb_results {
	struct lb_series bare, tools, cli;
	struct lb_series call[LB_DAEMONS_MAX];	       /* (d), (d2) */
	struct lb_series call_started[LB_DAEMONS_MAX]; /* request -> call.started */
	struct lb_series call_rest[LB_DAEMONS_MAX];    /* call.started -> reply */
	struct lb_proc_cpu cpu0[LB_DAEMONS_MAX], cpu1[LB_DAEMONS_MAX];
	json_t *info0[LB_DAEMONS_MAX], *info1[LB_DAEMONS_MAX]; /* daemon.info around the rounds */
	int n_tools, every;
	double seconds;
	/* filled by lb_report_methods */
	struct lb_stat5 st_bare, st_tools, st_cli, st_call, st_call_b;
};

/* The command line, the machine and this process's cgroups. */
void lb_report_start(struct lb_ctx *ctx, json_t *J);
/* One line per daemon once it runs (asks it daemon.info). */
void lb_report_daemon(struct lb_ctx *ctx, int i, json_t *J);
/* The methods table, (b)'s steps, the ratios and targets, the call pools
 * and the daemons' CPU per call. */
void lb_report_methods(struct lb_ctx *ctx, struct lb_results *res, json_t *J);
/* The daemons' pools at the end, their stop, and the leftover check.
 * Returns the number of cgroups left behind. */
size_t lb_report_end(struct lb_ctx *ctx, json_t *J);

#endif
