/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: child processes: spawn and wait, stop with a deadline,
 * describe a wait status, a process's CPU time. */
#ifndef LB_PROC_H
#define LB_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lb_ctx;

/* fork + execve + waitpid; the child gets /dev/null as stdin and stdout
 * and errfd (or /dev/null) as stderr, and the bench's environment.
 * Returns the wait status or a negative errno. */
int lb_spawn_wait(struct lb_ctx *ctx, char *const argv[], int errfd);
/* Dies with the tool's stderr (the last lines of ctx->toolerr) unless
 * st is a clean exit 0. */
void lb_require_ok(struct lb_ctx *ctx, int st, const char *what);
void lb_describe_status(int st, char *buf, size_t len);

/* Sends sig and waits up to timeout_ms, then SIGKILLs; *status (may be
 * NULL) gets the wait status. */
void lb_stop_child(pid_t pid, int sig, int timeout_ms, int *status);

/* Prints the last lines of a file to stderr. */
void lb_tail_file(const char *path, int lines);

int lb_write_all(int fd, const char *buf, size_t len);

struct lb_proc_cpu {
	uint64_t utime, stime, cutime, cstime; /* clock ticks */
	uint64_t sched_ns;		       /* on-CPU time by schedstat */
};
int lb_read_proc_cpu(pid_t pid, struct lb_proc_cpu *pc);

#endif
