// SPDX-License-Identifier: GPL-2.0
/* Workload of bench/bpf_reaction.py: burns CPU or memory inside a tool call
 * and leaves a trail of timestamped records in a shared file, so that the
 * harness can tell, afterwards, when the call crossed its budget and when
 * it stopped running (the time of its last record: a killed process writes
 * nothing more).
 *
 *   burn cpu FILE [--max-cpu-ms N]
 *   burn mem FILE [--rate MIB_PER_S] [--max-mb N]
 *
 * FILE is created, sized and written through (pre-touched) by the harness,
 * e.g. in /dev/shm: its pages are charged to the harness's memory cgroup,
 * not to the call's. Layout: struct burn_hdr, then `cap` struct burn_rec.
 *
 * Both modes first set hdr.ready and wait (sleeping, 100 µs naps) for the
 * harness to set hdr.go; the harness reads the call's cgroup counters in
 * between. At go, hdr.go_t_ns / go_cpu_ns get CLOCK_MONOTONIC and the
 * process's CLOCK_PROCESS_CPUTIME_ID.
 *
 * cpu: spins; every ~20 µs of wall time appends {now, process CPU ns, 0}.
 *      Stops by itself after --max-cpu-ms of CPU (default 10000).
 * mem: touches new anonymous memory one 4 KiB page at a time (THP off for
 *      the region) at a steady --rate (MiB/s, default 256; 0 = as fast as
 *      it can), and after every page appends {now, bytes touched, charge}
 *      where charge is the call's memory charge read right then from its
 *      cgroup (v1 memory.usage_in_bytes, else v2 memory.current; found
 *      through /proc/self/cgroup). The kernel charges a cgroup in batches
 *      of up to 64 pages per CPU, so "bytes touched" alone does not say
 *      when the counter that BPF and a poller look at crossed the budget;
 *      the charge read does. Stops by itself after --max-mb (default 900).
 * Records are published with a release store of hdr.n. Both loops also
 * store CLOCK_MONOTONIC in hdr.beat_t at every turn (a heartbeat, tens of
 * ns apart when spinning), so the harness knows when the process last ran
 * to well under the 20 µs between records. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BURN_MAGIC 0x52424341u /* "ACBR" */
#define BURN_VERSION 1
#define HDR_BYTES 256

struct burn_hdr {
	uint32_t magic;	   /* set by the harness */
	uint32_t version;  /* set by the harness */
	uint64_t cap;	   /* records the file holds, set by the harness */
	uint32_t ready;	   /* burn: waiting for go */
	uint32_t go;	   /* harness: start */
	uint64_t n;	   /* records written (release store) */
	uint64_t pid;	   /* burn's pid */
	uint64_t go_t_ns;  /* CLOCK_MONOTONIC when go was seen */
	uint64_t go_cpu_ns; /* CLOCK_PROCESS_CPUTIME_ID then */
	uint64_t charge0;  /* mem: the charge read then */
	uint32_t done;	   /* burn stopped by itself (limit reached) */
	uint32_t error;	   /* errno of a setup failure */
	uint64_t beat_t;   /* heartbeat: CLOCK_MONOTONIC, stored at every turn of
			    * the loops (tens of ns apart): the last moment the
			    * process ran */
};

struct burn_rec {
	uint64_t t_ns;
	uint64_t v; /* cpu: process CPU ns; mem: bytes touched */
	uint64_t u; /* mem: the cgroup's memory charge, bytes */
};

_Static_assert(sizeof(struct burn_hdr) <= HDR_BYTES, "header too big");
_Static_assert(sizeof(struct burn_rec) == 24, "record size");

static struct burn_hdr *hdr;
static struct burn_rec *recs;

static uint64_t ts_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void beat(uint64_t t)
{
	__atomic_store_n(&hdr->beat_t, t, __ATOMIC_RELAXED);
}

static void put(uint64_t t, uint64_t v, uint64_t u)
{
	uint64_t n = hdr->n;

	if (n >= hdr->cap)
		return;
	recs[n].t_ns = t;
	recs[n].v = v;
	recs[n].u = u;
	__atomic_store_n(&hdr->n, n + 1, __ATOMIC_RELEASE);
}

static void wait_go(void)
{
	struct timespec nap = { 0, 100000 };

	__atomic_store_n(&hdr->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&hdr->go, __ATOMIC_ACQUIRE))
		nanosleep(&nap, NULL);
}

/* The call's memory charge file: v1 memory.usage_in_bytes of our memory
 * cgroup when a v1 memory hierarchy is mounted, else v2 memory.current. */
static int open_charge_file(void)
{
	char line[4096], v1mnt[1024] = "", v2mnt[1024] = "", v1path[2048] = "", v2path[2048] = "";
	char path[4096];
	FILE *f = fopen("/proc/self/mounts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char dev[256], mnt[1024], type[64], opts[1024];

		if (sscanf(line, "%255s %1023s %63s %1023s", dev, mnt, type, opts) != 4)
			continue;
		if (strcmp(type, "cgroup2") == 0 && !v2mnt[0])
			snprintf(v2mnt, sizeof(v2mnt), "%s", mnt);
		else if (strcmp(type, "cgroup") == 0) {
			char *o, *save = NULL;

			for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
				if (strcmp(o, "memory") == 0)
					snprintf(v1mnt, sizeof(v1mnt), "%s", mnt);
		}
	}
	fclose(f);
	f = fopen("/proc/self/cgroup", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;

		if (!b)
			continue;
		b[strcspn(b, "\n")] = 0;
		*b = 0;
		if (strcmp(a + 1, "") == 0 && line[0] == '0')
			snprintf(v2path, sizeof(v2path), "%s", b + 1);
		else {
			char *o, *save = NULL;

			for (o = strtok_r(a + 1, ",", &save); o; o = strtok_r(NULL, ",", &save))
				if (strcmp(o, "memory") == 0)
					snprintf(v1path, sizeof(v1path), "%s", b + 1);
		}
	}
	fclose(f);
	if (v1mnt[0] && v1path[0])
		snprintf(path, sizeof(path), "%s%s/memory.usage_in_bytes", v1mnt, v1path);
	else if (v2mnt[0] && v2path[0])
		snprintf(path, sizeof(path), "%s%s/memory.current", v2mnt, v2path);
	else
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

static uint64_t read_charge(int fd)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

static int run_cpu(uint64_t max_cpu_ns)
{
	uint64_t last = 0;

	wait_go();
	hdr->go_cpu_ns = ts_ns(CLOCK_PROCESS_CPUTIME_ID);
	hdr->go_t_ns = ts_ns(CLOCK_MONOTONIC);
	for (;;) {
		uint64_t now = ts_ns(CLOCK_MONOTONIC);

		beat(now);
		if (now - last >= 20000) {
			uint64_t cpu = ts_ns(CLOCK_PROCESS_CPUTIME_ID);

			put(now, cpu, 0);
			last = now;
			if (cpu - hdr->go_cpu_ns >= max_cpu_ns)
				break;
		}
	}
	hdr->done = 1;
	return 0;
}

static int run_mem(double rate_mib, uint64_t max_bytes)
{
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t step_ns = rate_mib > 0 ? (uint64_t)(1e9 * (double)page / (rate_mib * 1048576.0)) : 0;
	uint64_t next, touched = 0;
	char *region;
	int fd = open_charge_file();

	if (fd < 0) {
		hdr->error = errno ? errno : ENOENT;
		fprintf(stderr, "burn: cannot open the cgroup's memory charge file\n");
		return 1;
	}
	region = mmap(NULL, max_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (region == MAP_FAILED) {
		hdr->error = errno;
		perror("burn: mmap");
		return 1;
	}
	madvise(region, max_bytes, MADV_NOHUGEPAGE);
	wait_go();
	hdr->charge0 = read_charge(fd);
	hdr->go_cpu_ns = ts_ns(CLOCK_PROCESS_CPUTIME_ID);
	hdr->go_t_ns = next = ts_ns(CLOCK_MONOTONIC);
	while (touched + page <= max_bytes) {
		uint64_t now;

		if (step_ns) {
			while ((now = ts_ns(CLOCK_MONOTONIC)) < next)
				beat(now);
			beat(now);
			/* behind by more than 1 ms (preempted): do not burst to catch up */
			next = now > next + 1000000 ? now + step_ns : next + step_ns;
		}
		region[touched] = 1;
		touched += page;
		{
			uint64_t u = read_charge(fd), t = ts_ns(CLOCK_MONOTONIC);

			put(t, touched, u);
			beat(t);
		}
	}
	hdr->done = 1;
	return 0;
}

int main(int argc, char **argv)
{
	double rate = 256, max_cpu_ms = 10000, max_mb = 900;
	struct stat st;
	void *p;
	int fd;

	if (argc < 3 || (strcmp(argv[1], "cpu") && strcmp(argv[1], "mem"))) {
		fprintf(stderr, "usage: burn cpu FILE [--max-cpu-ms N]\n"
				"       burn mem FILE [--rate MIB_PER_S] [--max-mb N]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rate") == 0)
			rate = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--max-cpu-ms") == 0)
			max_cpu_ms = atof(argv[i + 1]);
		else if (strcmp(argv[i], "--max-mb") == 0)
			max_mb = atof(argv[i + 1]);
		else {
			fprintf(stderr, "burn: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < HDR_BYTES) {
		fprintf(stderr, "burn: cannot open %s\n", argv[2]);
		return 1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("burn: mmap FILE");
		return 1;
	}
	close(fd);
	hdr = p;
	recs = (struct burn_rec *)((char *)p + HDR_BYTES);
	if (hdr->magic != BURN_MAGIC || hdr->version != BURN_VERSION ||
	    HDR_BYTES + hdr->cap * sizeof(struct burn_rec) > (uint64_t)st.st_size) {
		fprintf(stderr, "burn: %s is not a prepared record file\n", argv[2]);
		return 1;
	}
	hdr->pid = (uint64_t)getpid();
	if (argv[1][0] == 'c')
		return run_cpu((uint64_t)(max_cpu_ms * 1e6));
	return run_mem(rate, (uint64_t)(max_mb * 1048576.0));
}
