// SPDX-License-Identifier: GPL-2.0
/* Workload of bench/bpf_overhead.py: runs a command N times, one after the
 * other (fork + execv + waitpid each time), and prints the wall time it
 * took, measured here with CLOCK_MONOTONIC:
 *
 *   forkexec [-n N] [--] CMD [ARGS...]    (default: -n 20000 /bin/true)
 *
 * Output, one line on stdout:
 *   forkexec n=20000 wall_us=12345678 failed=0
 *
 * Exit status 0 when every run exited 0, 1 otherwise, 2 on usage errors.
 * With -n 1 it times one run of a script (the bench's small C build). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static char *def_argv[] = { "/bin/true", NULL };
	char **cmd = def_argv;
	long n = 20000, failed = 0;
	uint64_t t0, t1;
	int i = 1;

	for (; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			char *end;

			n = strtol(argv[++i], &end, 10);
			if (*end || n < 1) {
				fprintf(stderr, "forkexec: bad -n %s\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "usage: forkexec [-n N] [--] [CMD ARGS...]\n");
			return 2;
		} else {
			break;
		}
	}
	if (i < argc)
		cmd = argv + i;

	t0 = now_ns();
	for (long k = 0; k < n; k++) {
		pid_t pid = fork();
		int st;

		if (pid < 0) {
			perror("forkexec: fork");
			return 1;
		}
		if (pid == 0) {
			execv(cmd[0], cmd);
			_exit(127);
		}
		while (waitpid(pid, &st, 0) < 0)
			if (errno != EINTR) {
				perror("forkexec: waitpid");
				return 1;
			}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	t1 = now_ns();
	printf("forkexec n=%ld wall_us=%llu failed=%ld\n", n,
	       (unsigned long long)((t1 - t0) / 1000), failed);
	return failed ? 1 : 0;
}
