// SPDX-License-Identifier: GPL-2.0
/* Logging, bounded string helpers and monotonic time. The log level,
 * prefix and journal flag are the only globals of the project. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agentcg/util.h"

#define AC_LOG_LINE_MAX 2048
#define AC_LOG_PREFIX_MAX 64

static enum ac_log_level log_level = AC_LOG_INFO;
static char log_prefix[AC_LOG_PREFIX_MAX] = "agentcgd";
static bool log_journal; /* stderr is journald's stream: "<N>" leads each line */

void ac_log_set_level(enum ac_log_level lvl)
{
	log_level = lvl;
}

void ac_log_set_prefix(const char *prefix)
{
	ac_strlcpy(log_prefix, prefix ? prefix : "", sizeof(log_prefix));
}

bool ac_log_detect_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	log_journal = js && sscanf(js, "%llu:%llu%c", &dev, &ino, &end) == 2 &&
		      fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
		      (unsigned long long)st.st_ino == ino;
	return log_journal;
}

static const char *level_name(enum ac_log_level lvl)
{
	switch (lvl) {
	case AC_LOG_ERR:
		return "error";
	case AC_LOG_WARN:
		return "warning";
	case AC_LOG_INFO:
		return "info";
	case AC_LOG_DEBUG:
		return "debug";
	}
	return lvl < AC_LOG_WARN ? "error" : "debug";
}

/* Advances off by a snprintf result n, clamped to cap (truncation). */
static size_t log_advance(size_t off, int n, size_t cap)
{
	if (n < 0)
		return off;
	return (size_t)n > cap - off ? cap : off + (size_t)n;
}

/* Writes one whole line "prefix: level: msg[: suffix]\n", truncated to
 * AC_LOG_LINE_MAX, with a single fputs so lines do not interleave. */
static void log_emit(enum ac_log_level lvl, const char *suffix, const char *fmt, va_list ap)
	AC_PRINTF(3, 0);
static void log_emit(enum ac_log_level lvl, const char *suffix, const char *fmt, va_list ap)
{
	char line[AC_LOG_LINE_MAX];
	const size_t cap = sizeof(line) - 2; /* room for "\n\0" */
	size_t off = 0;

	if (log_journal)
		off = log_advance(off, snprintf(line, cap + 1, "<%d>", (int)lvl), cap);
	if (log_prefix[0])
		off = log_advance(off, snprintf(line + off, cap + 1 - off, "%s: ", log_prefix), cap);
	off = log_advance(off, snprintf(line + off, cap + 1 - off, "%s: ", level_name(lvl)), cap);
	off = log_advance(off, vsnprintf(line + off, cap + 1 - off, fmt, ap), cap);
	if (suffix && off < cap)
		off = log_advance(off, snprintf(line + off, cap + 1 - off, ": %s", suffix), cap);
	/* One record per line: a newline or other control byte in a message
	 * could otherwise forge a line of its own (and a "<N>" level). */
	for (size_t i = 0; i < off; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[off++] = '\n';
	line[off] = '\0';
	fputs(line, stderr);
}

void ac_log(enum ac_log_level lvl, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	log_emit(lvl, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

int ac_log_errno(int err, const char *fmt, ...)
{
	int saved = errno;
	char ebuf[128];
	const char *msg;
	va_list ap;

	if (AC_LOG_ERR > log_level)
		return err;
	msg = strerror_r(err < 0 ? -err : err, ebuf, sizeof(ebuf));
	va_start(ap, fmt);
	log_emit(AC_LOG_ERR, msg, fmt, ap);
	va_end(ap);
	errno = saved;
	return err;
}

size_t ac_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

int ac_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return n;
}

uint64_t ac_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void ac_signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (sig == SIGRTMIN)
		snprintf(buf, len, "SIGRTMIN");
	else if (sig > SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "SIG%d", sig);
}

int ac_proc_ppid(pid_t pid)
{
	char path[48], buf[512], *p;
	int fd, ppid = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* "pid (comm) state ppid ...": comm may hold ')' */
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

void ac_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
