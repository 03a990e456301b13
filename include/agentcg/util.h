/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by every module: cleanup attributes, logging,
 * bounded string copies, monotonic time. */
#ifndef AGENTCG_UTIL_H
#define AGENTCG_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define AC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AC_UNUSED __attribute__((unused))
#define AC_PRINTF(a, b) __attribute__((format(printf, a, b)))

static inline void ac_freep(void *p)
{
	free(*(void **)p);
}

static inline void ac_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/* Frees a NULL-terminated array of strings and the strings (NULL: nothing). */
void ac_strv_free(char **v);
/* The parent pid of pid from /proc/PID/stat, or -1. */
int ac_proc_ppid(pid_t pid);

#define _cleanup_free_ __attribute__((cleanup(ac_freep)))
#define _cleanup_close_ __attribute__((cleanup(ac_closep)))

/* Hand ownership out of a cleanup variable. */
#define AC_TAKE_FD(fd)                                                         \
	({                                                                     \
		int _t = (fd);                                                 \
		(fd) = -1;                                                     \
		_t;                                                            \
	})
#define AC_TAKE_PTR(p)                                                         \
	({                                                                     \
		__typeof__(p) _t = (p);                                        \
		(p) = NULL;                                                    \
		_t;                                                            \
	})

enum ac_log_level { AC_LOG_ERR = 3, AC_LOG_WARN = 4, AC_LOG_INFO = 6, AC_LOG_DEBUG = 7 };

void ac_log_set_level(enum ac_log_level lvl);
void ac_log_set_prefix(const char *prefix);
/* When stderr is the journal's stream ($JOURNAL_STREAM names its device
 * and inode, as systemd sets it for a service), each line starts with the
 * sd-daemon priority prefix "<3>".."<7>", so journald keeps its level.
 * Returns whether it does. */
bool ac_log_detect_journal(void);
void ac_log(enum ac_log_level lvl, const char *fmt, ...) AC_PRINTF(2, 3);
/* Logs "fmt: strerror(-err)" and returns err (a negative errno). */
int ac_log_errno(int err, const char *fmt, ...) AC_PRINTF(2, 3);

#define ac_err(...) ac_log(AC_LOG_ERR, __VA_ARGS__)
#define ac_warn(...) ac_log(AC_LOG_WARN, __VA_ARGS__)
#define ac_info(...) ac_log(AC_LOG_INFO, __VA_ARGS__)
#define ac_debug(...) ac_log(AC_LOG_DEBUG, __VA_ARGS__)

/* strlcpy semantics: always NUL-terminates, returns strlen(src). */
size_t ac_strlcpy(char *dst, const char *src, size_t size);
/* snprintf that returns -ENAMETOOLONG on truncation instead of a length. */
int ac_snprintf(char *buf, size_t size, const char *fmt, ...) AC_PRINTF(3, 4);

uint64_t ac_now_ns(void); /* CLOCK_MONOTONIC */

/* Milliseconds until a moment ns away, rounded up (a timer set to it never
 * fires early); 0 for 0, INT32_MAX at most (an epoll timeout). */
static inline int ac_ns_to_ms_ceil(uint64_t ns)
{
	uint64_t ms = ns / 1000000 + (ns % 1000000 != 0);

	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* The name of signal sig: "SIGKILL", "SIGRTMIN+3", or "SIG99" for a number
 * with no name. Always NUL-terminated. */
void ac_signal_name(int sig, char *buf, size_t len);

#endif
