// SPDX-License-Identifier: GPL-2.0
/* Workload of bench/replay.py: one replayed Bash tool call. It follows a
 * piecewise-linear memory curve (the trace's mem_mb minus the agent's
 * baseline, time-compressed and scaled by the harness) by allocating,
 * touching and freeing anonymous memory in fixed chunks, then exits 0.
 *
 *   tracealloc [--chunk-mib N] [--tick-ms N] [--name WORD] T0:M0 T1:M1 ...
 *   tracealloc ... -f FILE          (the points, "T M" or "T:M" per line)
 *
 * Ti: milliseconds since the start of the call (increasing, T0 usually 0);
 * Mi: MiB (decimals allowed) the call should hold at Ti. Between points the
 * target is linear; the call ends at the last point.
 *
 * Time is *work*, not the wall clock: the program keeps a virtual clock
 * that advances one tick (--tick-ms, default 10) at a time. In each tick it
 * maps (mmap, then writes one byte into every page, so each page is faulted
 * in by the process itself, as a real allocation would be) or unmaps
 * (munmap, newest chunk first) 1 MiB chunks (--chunk-mib) until it holds
 * the most the curve asks for during the tick (a point inside the tick
 * counts: short peaks are not skipped), then sleeps until the tick's end
 * on the wall clock (absolute CLOCK_MONOTONIC). A tick whose allocation takes
 * longer than the tick (slow page faults: reclaim, throttling), or that is
 * stopped (frozen, SIGSTOP, descheduled) past its end, does not advance
 * the virtual clock faster: the call finishes later, as a real command that
 * is slowed down would. Run alone, a call lasts its last Ti plus whatever
 * allocating the steepest parts costs on this machine.
 *
 * THP is turned off for the chunks (MADV_NOHUGEPAGE) so every 4 KiB page
 * is a user page fault (what the daemon's BPF memory check looks at).
 *
 * At the end it unmaps everything and prints one JSON line to stdout:
 *   {"name", "points", "virtual_ms", "wall_ms", "stall_ms", "peak_mib",
 *    "target_peak_mib", "mapped_mib_total", "alloc_ms", "alloc_hist"}
 * alloc_hist: [[bucket, chunks], ...] of each chunk's allocation latency
 * (bucket b: 10^(b/20) .. 10^((b+1)/20) microseconds).
 * stall_ms = wall_ms - virtual_ms (time the call lost to being slow or
 * stopped). Exit 0; 2 on bad arguments; 3 if mmap fails (ENOMEM). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Allocation latency of each chunk (mmap and touching its pages), in
 * buckets 20 per decade of microseconds: bucket b holds [10^(b/20),
 * 10^((b+1)/20)) us, so a percentile read from it is within 12%. */
#define HIST_BUCKETS 200
#define HIST_STEP 1.1220184543019633 /* 10^(1/20) */

static int hist_bucket(double us)
{
	double x = HIST_STEP;
	int b = 0;

	while (x <= us && b < HIST_BUCKETS - 1) {
		x *= HIST_STEP;
		b++;
	}
	return b;
}

struct point {
	double t_ms;
	double mib;
};

struct state {
	struct point *pts;
	size_t npts, cap_pts;
	size_t chunk;	     /* bytes */
	size_t page;	     /* bytes */
	void **chunks;	     /* mapped chunks, oldest first */
	size_t nchunks, cap_chunks;
	size_t peak_chunks;
	uint64_t mapped_total; /* chunks mapped over the whole run */
	double alloc_ns;       /* time spent in mmap + touch + munmap */
	uint64_t hist[HIST_BUCKETS]; /* each chunk's mmap + touch, log-spaced */
};

static void usage(FILE *f)
{
	fputs("usage: tracealloc [--chunk-mib N] [--tick-ms N] [--name WORD] T0:M0 T1:M1 ...\n"
	      "       tracealloc [options] -f FILE   (one \"T M\" or \"T:M\" per line)\n"
	      "  T: ms since the call started (increasing); M: MiB to hold at T.\n",
	      f);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ull),
			       .tv_nsec = (long)(t_ns % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int add_point(struct state *s, double t, double m)
{
	if (!(t >= 0) || !(m >= 0) || t > 1e9 || m > 1e7)
		return -1;
	if (s->npts && t < s->pts[s->npts - 1].t_ms)
		return -1;
	if (s->npts == s->cap_pts) {
		size_t n = s->cap_pts ? s->cap_pts * 2 : 64;
		struct point *p = realloc(s->pts, n * sizeof(*p));

		if (!p)
			return -1;
		s->pts = p;
		s->cap_pts = n;
	}
	s->pts[s->npts].t_ms = t;
	s->pts[s->npts].mib = m;
	s->npts++;
	return 0;
}

static int parse_point(struct state *s, const char *arg)
{
	char *end;
	double t, m;

	t = strtod(arg, &end);
	if (end == arg || (*end != ':' && *end != ' ' && *end != '\t'))
		return -1;
	arg = end + 1;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	m = strtod(arg, &end);
	if (end == arg)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;
	if (*end)
		return -1;
	return add_point(s, t, m);
}

static int read_file(struct state *s, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");
	int r = 0;

	if (!f) {
		fprintf(stderr, "tracealloc: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (parse_point(s, line) < 0) {
			fprintf(stderr, "tracealloc: %s: bad line: %s", path, line);
			r = -1;
			break;
		}
	}
	fclose(f);
	return r;
}

/* Target in MiB at virtual time v (ms). */
static double target_at(const struct state *s, double v)
{
	const struct point *p = s->pts;
	size_t i;

	if (v <= p[0].t_ms)
		return p[0].mib;
	for (i = 1; i < s->npts; i++) {
		if (v <= p[i].t_ms) {
			double dt = p[i].t_ms - p[i - 1].t_ms;

			if (dt <= 0)
				return p[i].mib;
			return p[i - 1].mib + (p[i].mib - p[i - 1].mib) * (v - p[i - 1].t_ms) / dt;
		}
	}
	return p[s->npts - 1].mib;
}

/* The most the curve asks for in (v0, v1]: a tick holds that, so a peak
 * between two tick ends is never skipped (it is held up to a tick longer). */
static double target_max(const struct state *s, double v0, double v1)
{
	double m = target_at(s, v1);

	for (size_t i = 0; i < s->npts; i++)
		if (s->pts[i].t_ms > v0 && s->pts[i].t_ms <= v1 && s->pts[i].mib > m)
			m = s->pts[i].mib;
	return m;
}

static int grow(struct state *s)
{
	uint64_t t0 = now_ns();
	void *c;

	if (s->nchunks == s->cap_chunks) {
		size_t n = s->cap_chunks ? s->cap_chunks * 2 : 1024;
		void **a = realloc(s->chunks, n * sizeof(*a));

		if (!a)
			return -1;
		s->chunks = a;
		s->cap_chunks = n;
	}
	c = mmap(NULL, s->chunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return -1;
	madvise(c, s->chunk, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < s->chunk; off += s->page)
		((volatile char *)c)[off] = 1;
	s->chunks[s->nchunks++] = c;
	if (s->nchunks > s->peak_chunks)
		s->peak_chunks = s->nchunks;
	s->mapped_total++;
	s->hist[hist_bucket((double)(now_ns() - t0) / 1e3)]++;
	return 0;
}

static void shrink(struct state *s)
{
	munmap(s->chunks[--s->nchunks], s->chunk);
}

/* Hold the chunks the target (MiB) rounds to. */
static int follow(struct state *s, double mib)
{
	double cm = (double)s->chunk / 1048576.0;
	size_t want = (size_t)(mib / cm + 0.5);
	uint64_t t0 = now_ns();

	while (s->nchunks < want)
		if (grow(s) < 0)
			return -1;
	while (s->nchunks > want)
		shrink(s);
	s->alloc_ns += (double)(now_ns() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	struct state s = { 0 };
	double tick_ms = 10, chunk_mib = 1, target_peak = 0;
	const char *name = "";
	uint64_t t_start, t_tick, t_end;
	double v = 0, v_end;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--chunk-mib") && i + 1 < argc) {
			chunk_mib = atof(argv[++i]);
		} else if (!strcmp(a, "--tick-ms") && i + 1 < argc) {
			tick_ms = atof(argv[++i]);
		} else if (!strcmp(a, "--name") && i + 1 < argc) {
			/* printed as is in the JSON line: only [A-Za-z0-9_.-] */
			name = argv[++i];
			for (const char *c = name; *c; c++)
				if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' ||
				      *c == '-'))
					name = "?";
		} else if (!strcmp(a, "-f") && i + 1 < argc) {
			if (read_file(&s, argv[++i]) < 0)
				return 2;
		} else if (parse_point(&s, a) < 0) {
			fprintf(stderr, "tracealloc: bad argument \"%s\"\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (!s.npts || !(tick_ms >= 0.1 && tick_ms <= 10000) ||
	    !(chunk_mib >= 0.0625 && chunk_mib <= 1024)) {
		usage(stderr);
		return 2;
	}
	s.page = (size_t)sysconf(_SC_PAGESIZE);
	s.chunk = (size_t)(chunk_mib * 1048576.0);
	s.chunk = (s.chunk + s.page - 1) / s.page * s.page;
	for (size_t k = 0; k < s.npts; k++)
		if (s.pts[k].mib > target_peak)
			target_peak = s.pts[k].mib;
	v_end = s.pts[s.npts - 1].t_ms;

	t_start = now_ns();
	t_tick = t_start;
	if (follow(&s, target_at(&s, 0)) < 0)
		goto nomem;
	while (v < v_end) {
		double v_next = v + tick_ms < v_end ? v + tick_ms : v_end;

		if (follow(&s, target_max(&s, v, v_next)) < 0)
			goto nomem;
		/* The tick ends tick_ms after it began or when its work is
		 * done, whichever is later: lost time is never made up. */
		t_tick += (uint64_t)((v_next - v) * 1e6);
		{
			uint64_t n = now_ns();

			if (n < t_tick)
				sleep_until(t_tick);
			else
				t_tick = n;
		}
		v = v_next;
	}
	while (s.nchunks)
		shrink(&s);
	t_end = now_ns();
	printf("{\"name\": \"%s\", \"points\": %zu, \"virtual_ms\": %.1f, \"wall_ms\": %.1f, "
	       "\"stall_ms\": %.1f, \"peak_mib\": %.1f, \"target_peak_mib\": %.1f, "
	       "\"mapped_mib_total\": %.1f, \"alloc_ms\": %.1f, \"alloc_hist\": [",
	       name, s.npts, v_end, (double)(t_end - t_start) / 1e6,
	       (double)(t_end - t_start) / 1e6 - v_end,
	       (double)s.peak_chunks * (double)s.chunk / 1048576.0, target_peak,
	       (double)s.mapped_total * (double)s.chunk / 1048576.0, s.alloc_ns / 1e6);
	for (int b = 0, first = 1; b < HIST_BUCKETS; b++) {
		if (!s.hist[b])
			continue;
		printf("%s[%d, %llu]", first ? "" : ", ", b, (unsigned long long)s.hist[b]);
		first = 0;
	}
	printf("]}\n");
	free(s.chunks);
	free(s.pts);
	return 0;
nomem:
	fprintf(stderr, "tracealloc: mmap of chunk %zu failed: %s\n", s.nchunks + 1,
		strerror(errno));
	return 3;
}
