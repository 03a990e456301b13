/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: the ways to start /bin/true that are timed round by round
 * (cgroup-tools, (b), is in cgtools.h):
 *   (a) bare         fork + execve + waitpid, no cgroup at all
 *   (c) agentcg run  the CLI, spawned and waited for
 *   (d) call.run     one JSON-RPC request on a connection kept open,
 *                    written -> reply line read
 * Each returns its time in microseconds and dies if the command failed. */
#ifndef LB_METHODS_H
#define LB_METHODS_H

struct lb_ctx;
struct lb_conn;

double lb_run_bare(struct lb_ctx *ctx);
double lb_run_cli(struct lb_ctx *ctx);
/* *to_started_us (may be NULL): until the call.started notification (the
 * command was handed over by then), -1 if none came. */
double lb_run_call(struct lb_ctx *ctx, struct lb_conn *c, double *to_started_us);

#endif
