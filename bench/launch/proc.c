// SPDX-License-Identifier: GPL-2.0
/* launch_bench: child processes. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "context.h"

int lb_spawn_wait(struct lb_ctx *ctx, char *const argv[], int errfd)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(ctx->devnull, 0);
		dup2(ctx->devnull, 1);
		dup2(errfd >= 0 ? errfd : ctx->devnull, 2);
		execve(argv[0], argv, ctx->envp);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return st;
}

void lb_describe_status(int st, char *buf, size_t len)
{
	if (st < 0)
		snprintf(buf, len, "spawn failed: %s", strerror(-st));
	else if (WIFEXITED(st))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "wait status 0x%x", st);
}

void lb_require_ok(struct lb_ctx *ctx, int st, const char *what)
{
	char d[128];

	if (st == 0)
		return;
	lb_describe_status(st, d, sizeof(d));
	fprintf(stderr, "launch_bench: %s failed: %s; its stderr:\n", what, d);
	lb_tail_file(ctx->toolerr, 20);
	lb_die(ctx, "%s failed", what);
}

void lb_stop_child(pid_t pid, int sig, int timeout_ms, int *status)
{
	int st = 0;

	if (pid <= 0)
		return;
	kill(pid, sig);
	for (int i = 0; i < timeout_ms / 5; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD)) {
			if (status)
				*status = st;
			return;
		}
		usleep(5000);
	}
	fprintf(stderr, "launch_bench: pid %d did not stop after signal %d in %d ms, SIGKILL\n",
		(int)pid, sig, timeout_ms);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	if (status)
		*status = st;
}

/* The last lines of at most the file's last 16 KiB. */
void lb_tail_file(const char *path, int lines)
{
	char buf[16384];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;
	const char *p;

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof(buf) - 1)
		lseek(fd, st.st_size - (off_t)sizeof(buf) + 1, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = buf + n;
	if (p > buf && p[-1] == '\n')
		p--;
	while (p > buf && lines > 0) {
		p--;
		if (*p == '\n' && --lines == 0) {
			p++;
			break;
		}
	}
	fputs(p, stderr);
	if (buf[n - 1] != '\n')
		fputc('\n', stderr);
}

int lb_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int lb_read_proc_cpu(pid_t pid, struct lb_proc_cpu *pc)
{
	char p[64], buf[2048], *s;
	FILE *f;
	unsigned long long ut, st, cut, cst;

	memset(pc, 0, sizeof(*pc));
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut,
			 &st, &cut, &cst) != 4)
		return -EIO;
	pc->utime = ut;
	pc->stime = st;
	pc->cutime = cut;
	pc->cstime = cst;
	snprintf(p, sizeof(p), "/proc/%d/schedstat", (int)pid);
	f = fopen(p, "re");
	if (f) {
		unsigned long long ns;

		if (fscanf(f, "%llu", &ns) == 1)
			pc->sched_ns = ns;
		fclose(f);
	}
	return 0;
}
