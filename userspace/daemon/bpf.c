// SPDX-License-Identifier: GPL-2.0
/* The daemon's side of bpf/agentcg.bpf.c: load and attach the programs
 * (each optional: what the kernel refuses is logged once and falls back),
 * register each call's budgets under its cgroup id before its command
 * runs, read the ring buffer from the epoll loop and hand each record to
 * its call (ctx->hooks.bpf_record), and delete the call's entry when it ends. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentcg/bpf_abi.h"
#include "agentcg/util.h"
#include "agentcg.skel.h"
#include "bpf.h"
#include "metrics.h"
#include "pressure.h"
#include "server.h"

#define CALL_BUCKETS 1024
#define ACD_BPF_POLL_MS 100

struct acd_bpf {
	struct agentcg_bpf *skel;
	struct ring_buffer *rb;
	struct acd_watch w;
	int calls_fd;
	struct acd_bpf_features f;
	struct acd_bpf_call *bucket[CALL_BUCKETS]; /* registered calls by cgroup id */
	uint64_t records;
	uint64_t registered, register_failed;
	uint64_t next_poll_ns;
};

static struct acd_bpf_call **bucket_of(struct acd_bpf *b, uint64_t cgid)
{
	return &b->bucket[(cgid * 0x9E3779B97F4A7C15ULL) >> 54];
}

static struct acd_bpf_call *call_by_cgid(struct acd_bpf *b, uint64_t cgid)
{
	for (struct acd_bpf_call *c = *bucket_of(b, cgid); c; c = c->next)
		if (c->cgid == cgid)
			return c;
	return NULL;
}

/* libbpf's own format strings (the attribute lets clang's -Wformat-nonliteral
 * see that, so the daemon builds with clang too: make check-asan). */
__attribute__((format(printf, 2, 0))) static int libbpf_log(enum libbpf_print_level level,
							     const char *fmt, va_list ap)
{
	char text[8192];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(text, sizeof(text), fmt, ap);
	/* a verifier log comes as one text of many lines */
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		ac_debug("libbpf: %s", line);
	}
	return 0;
}

static int on_record(void *data, void *rec, size_t size)
{
	struct acd_ctx *ctx = data;
	const struct acb_event *e = rec;
	struct acd_bpf_call *bc;

	if (size < sizeof(*e))
		return 0;
	ctx->bpf->records++;
	if (e->type == ACB_EV_PRESSURE) { /* the root, whichever call saw it */
		acd_pressure_kernel_event(ctx, e->value);
		return 0;
	}
	bc = call_by_cgid(ctx->bpf, e->cgid);
	if (bc)
		ctx->hooks.bpf_record(ctx, bc, e);
	return 0;
}

static void on_ringbuf(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	ring_buffer__consume(ctx->bpf->rb);
}

/* True if the running kernel's BTF has this tracepoint. */
static bool has_tracepoint(const struct btf *vmlinux, const char *tp)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	return btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0;
}


/* The programs, each with the tracepoint it needs and what goes without
 * it. The first three are the core: without them nothing loads. */
enum { PROG_FORK, PROG_EXEC, PROG_EXIT, PROG_RUNTIME, PROG_SWITCH, PROG_OOM, PROG_FAULT, N_PROGS };

static const struct {
	const char *tp;
	const char *without;
} prog_info[N_PROGS] = {
	[PROG_FORK] = { "sched_process_fork", "no process list, no forks budget" },
	[PROG_EXEC] = { "sched_process_exec", "no process list" },
	[PROG_EXIT] = { "sched_process_exit", "no process list" },
	[PROG_RUNTIME] = { "sched_stat_runtime", "cpu_time by a 20 ms poll" },
	[PROG_SWITCH] = { "sched_switch", "a preempted call may pass cpu_time by up to a tick" },
	[PROG_OOM] = { "mark_victim", "OOM victims not named" },
	[PROG_FAULT] = { "page_fault_user", "memory budgets on v1 only reported" },
};

static struct bpf_program *prog_of(struct agentcg_bpf *skel, int i)
{
	struct bpf_program *p[N_PROGS] = {
		skel->progs.on_fork,	   skel->progs.on_exec,	  skel->progs.on_exit,
		skel->progs.on_runtime,	   skel->progs.on_switch, skel->progs.on_oom_victim,
		skel->progs.on_page_fault,
	};

	return p[i];
}

static int try_load(struct acd_bpf *b, const bool want[N_PROGS])
{
	int r;

	b->skel = agentcg_bpf__open();
	if (!b->skel)
		return -errno;
	b->skel->rodata->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	for (int i = 0; i < N_PROGS; i++)
		bpf_program__set_autoload(prog_of(b->skel, i), want[i]);
	r = agentcg_bpf__load(b->skel);
	if (r < 0) {
		agentcg_bpf__destroy(b->skel);
		b->skel = NULL;
	}
	return r;
}

/* Loads the programs in want. If the kernel refuses, finds the optional
 * program it refuses by leaving each out in turn, then tries the core
 * alone; what is left out is logged with what goes without it. */
static int load_programs(struct acd_bpf *b, bool want[N_PROGS])
{
	bool w[N_PROGS];
	int r = try_load(b, want);

	if (r == 0)
		return 0;
	for (int drop = PROG_EXIT + 1; drop < N_PROGS; drop++) {
		if (!want[drop])
			continue;
		memcpy(w, want, sizeof(w));
		w[drop] = false;
		if (try_load(b, w) == 0) {
			ac_log_errno(r, "bpf: the kernel refused the %s program: %s",
				     prog_info[drop].tp, prog_info[drop].without);
			want[drop] = false;
			return 0;
		}
	}
	for (int i = PROG_EXIT + 1; i < N_PROGS; i++)
		w[i] = false;
	memcpy(w, want, sizeof(bool) * (PROG_EXIT + 1));
	if (try_load(b, w) == 0) {
		ac_log_errno(r, "bpf: the kernel refused the budget and OOM programs; only the "
				"process lifecycle is followed (cpu_time by a 20 ms poll)");
		memcpy(want, w, sizeof(w));
		return 0;
	}
	return ac_log_errno(r, "bpf: the kernel refused the programs; running without them "
			       "(cpu_time by a 20 ms poll; no process list, OOM victims, forks "
			       "or v1 memory budgets)");
}

int acd_bpf_open(struct acd_ctx *ctx)
{
	bool want[N_PROGS];
	struct acd_bpf *b;
	struct btf *vmlinux;
	int r;

	if (!ctx->cfg.bpf) {
		ac_info("bpf: off by configuration: cpu_time by a 20 ms poll; no process list, "
			"OOM victims, forks or v1 memory budgets");
		return 0;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->w.fd = -1;
	b->calls_fd = -1;
	libbpf_set_print(libbpf_log);
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		r = -errno;
		ac_log_errno(r, "bpf: no kernel BTF (/sys/kernel/btf/vmlinux); running without "
				"the BPF programs");
		free(b);
		return r;
	}
	for (int i = 0; i < N_PROGS; i++) {
		want[i] = has_tracepoint(vmlinux, prog_info[i].tp);
		if (!want[i])
			ac_info("bpf: the kernel has no tracepoint %s: %s", prog_info[i].tp,
				prog_info[i].without);
	}
	btf__free(vmlinux);
	if (!want[PROG_FORK] || !want[PROG_EXEC] || !want[PROG_EXIT]) {
		free(b);
		return ac_log_errno(-EOPNOTSUPP, "bpf: running without the BPF programs");
	}
	r = load_programs(b, want);
	if (r < 0)
		goto fail;
	for (int i = 0; i < N_PROGS; i++) {
		if (want[i] && !bpf_program__attach(prog_of(b->skel, i))) {
			r = -errno;
			ac_log_errno(r, "bpf: cannot attach to %s: %s", prog_info[i].tp,
				     prog_info[i].without);
			want[i] = false;
		}
	}
	b->f.lifecycle = b->f.forks = want[PROG_FORK] && want[PROG_EXEC] && want[PROG_EXIT];
	b->f.cpu_time = want[PROG_RUNTIME];
	b->f.oom = want[PROG_OOM];
	b->f.memory = want[PROG_FAULT];
	b->calls_fd = bpf_map__fd(b->skel->maps.calls);
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), on_record, ctx, NULL);
	if (!b->rb) {
		r = -errno;
		ac_log_errno(r, "bpf: ring buffer");
		goto fail;
	}
	b->w.fd = ring_buffer__epoll_fd(b->rb);
	b->w.fn = on_ringbuf;
	ctx->bpf = b;
	r = acd_watch_add(ctx, &b->w, EPOLLIN);
	if (r < 0) {
		ctx->bpf = NULL;
		goto fail;
	}
	b->f.loaded = true;
	ac_info("bpf: loaded: process lifecycle %s, OOM victims %s, cpu_time %s, forks %s, "
		"memory budget %s",
		b->f.lifecycle ? "yes" : "no", b->f.oom ? "yes" : "no",
		b->f.cpu_time ? "in kernel" : "20 ms poll", b->f.forks ? "yes" : "no",
		ac_cg_has_memory_high(&ctx->cg) ? "memory.high" : b->f.memory ? "in kernel (v1)" : "report only");
	return 0;
fail:
	ring_buffer__free(b->rb);
	agentcg_bpf__destroy(b->skel);
	free(b);
	return r;
}

void acd_bpf_close(struct acd_ctx *ctx)
{
	struct acd_bpf *b = ctx->bpf;

	if (!b)
		return;
	acd_watch_del(ctx, &b->w);
	ring_buffer__free(b->rb);
	agentcg_bpf__destroy(b->skel);
	free(b);
	ctx->bpf = NULL;
}

const struct acd_bpf_features *acd_bpf_features(const struct acd_ctx *ctx)
{
	static const struct acd_bpf_features none;

	return ctx->bpf ? &ctx->bpf->f : &none;
}

int acd_bpf_call_begin(struct acd_ctx *ctx, struct acd_bpf_call *bc,
		       const struct acd_bpf_call_spec *spec)
{
	struct acd_bpf *b = ctx->bpf;
	struct acb_call v = { 0 };
	const struct ac_intent *in = spec->intent;
	uint64_t cgid = spec->node->id;
	struct acd_bpf_call **head;

	if (!b || !cgid)
		return -EOPNOTSUPP;
	if (in->set & AC_F_CPU_TIME && b->f.cpu_time) {
		uint64_t us = 0;

		v.cpu_time_ns = in->cpu_time_ns ? in->cpu_time_ns : 1;
		/* count from what the cgroup has used already (its stub, or
		 * the interpreter's last moments), as the verdict does */
		if (ac_cg_cpu_usage_us(&ctx->cg, spec->node, spec->stats, &us) == 0)
			v.cpu_ns = us * 1000;
	}
	if (in->set & AC_F_FORKS && b->f.forks)
		v.forks_max = in->forks;
	/* memory: on v1 (no memory.high) for every call that declared it
	 * (a memory assumed from the defaults or the label's history is
	 * only reported there); on v2 memory.high throttles, and only exec
	 * cells are also interrupted at it. */
	if (in->set & AC_F_MEMORY && b->f.memory && in->memory != AC_UNLIMITED &&
	    ((!ac_cg_has_memory_high(&ctx->cg) && !(in->defaulted & AC_F_MEMORY)) ||
	     (ac_cg_has_memory_high(&ctx->cg) && spec->cell)))
		v.memory_bytes = in->memory;
	/* also where the root's charge is read from, up the page counters
	 * (pressure): every call has it (learnt when the cgroup was made) */
	if (b->f.memory)
		v.memcg_id = spec->node->memcg_id;
	v.action = in->on_exceed == AC_EXCEED_FREEZE ? ACB_ACT_STOP :
		   in->on_exceed == AC_EXCEED_REPORT ? ACB_ACT_REPORT :
		   spec->cell			     ? ACB_ACT_INTERRUPT :
						       ACB_ACT_KILL;
	if (bpf_map_update_elem(b->calls_fd, &cgid, &v, BPF_NOEXIST) < 0) {
		int r = -errno;

		if (b->register_failed++ == 0)
			ac_log_errno(r, "bpf: cannot register call %s (more than %d at once?); it "
					"runs without BPF", spec->path, ACB_MAX_CALLS);
		return r;
	}
	b->registered++;
	bc->cgid = cgid;
	head = bucket_of(b, cgid);
	bc->next = *head;
	*head = bc;
	bc->on = true;
	bc->tracked = true;
	return 0;
}

/* Copies the counters the programs keep into the call. */
static void read_counters(struct acd_bpf *b, struct acd_bpf_call *bc)
{
	struct acb_call v;

	if (bpf_map_lookup_elem(b->calls_fd, &bc->cgid, &v) == 0) {
		bc->cpu_ns = v.cpu_ns;
		bc->forks = v.forks;
	}
}

void acd_bpf_call_handled(struct acd_ctx *ctx, struct acd_bpf_call *bc)
{
	struct acd_bpf *b = ctx->bpf;
	struct acb_call v;

	if (!b || !bc->on)
		return;
	if (bpf_map_lookup_elem(b->calls_fd, &bc->cgid, &v) == 0) {
		v.handled = 1;
		bpf_map_update_elem(b->calls_fd, &bc->cgid, &v, BPF_EXIST);
	}
}

/* Lifecycle records wake nobody: while someone follows events, read them
 * every ACD_BPF_POLL_MS. Returns ms until the next read, or -1. */
int acd_bpf_tick(struct acd_ctx *ctx)
{
	struct acd_bpf *b = ctx->bpf;
	uint64_t now;

	if (!b || !ctx->n_subscribed || !ctx->calls_running)
		return -1;
	now = ac_now_ns();
	if (now >= b->next_poll_ns) {
		ring_buffer__consume(b->rb);
		b->next_poll_ns = now + ACD_BPF_POLL_MS * 1000000ULL;
	}
	return ac_ns_to_ms_ceil(b->next_poll_ns - now);
}

void acd_bpf_call_sync(struct acd_ctx *ctx, struct acd_bpf_call *bc)
{
	struct acd_bpf *b = ctx->bpf;

	if (!b || !bc->on)
		return;
	/* Records of the call's last exits are in the ring before its cgroup
	 * reports empty: take them now. */
	ring_buffer__consume(b->rb);
	read_counters(b, bc);
}

void acd_bpf_call_end(struct acd_ctx *ctx, struct acd_bpf_call *bc)
{
	struct acd_bpf *b = ctx->bpf;

	if (!b || !bc->on)
		return;
	acd_bpf_call_sync(ctx, bc);
	bpf_map_delete_elem(b->calls_fd, &bc->cgid);
	for (struct acd_bpf_call **pp = bucket_of(b, bc->cgid); *pp; pp = &(*pp)->next)
		if (*pp == bc) {
			*pp = bc->next;
			break;
		}
	bc->next = NULL;
	bc->on = false;
}

/* Entries in the calls map right now (walks the keys). */
static int64_t map_entries(int fd)
{
	uint64_t key, next;
	int64_t n = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0 && n < 10 * ACB_MAX_CALLS) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

bool acd_bpf_pressure_arm(struct acd_ctx *ctx, uint64_t bytes)
{
	struct acd_bpf *b = ctx->bpf;
	uint64_t page = b ? b->skel->rodata->page_size : 0;

	if (!b || !b->f.memory || !page)
		return false;
	b->skel->bss->pressure_pages = bytes ? (bytes + page - 1) / page : 0;
	return true;
}

json_t *acd_bpf_info(struct acd_ctx *ctx)
{
	struct acd_bpf *b = ctx->bpf;

	if (!b)
		return json_pack("{s:b}", "loaded", 0);
	return json_pack("{s:b, s:b, s:b, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I}", "loaded", 1,
			 "lifecycle", b->f.lifecycle, "oom_victims", b->f.oom, "cpu_time",
			 b->f.cpu_time ? "kernel" : "poll", "forks", b->f.forks, "memory",
			 ac_cg_has_memory_high(&ctx->cg) ? "memory.high" : b->f.memory ? "kernel" : "report",
			 "map_entries", (json_int_t)map_entries(b->calls_fd), "records",
			 (json_int_t)b->records, "lost_records",
			 (json_int_t)b->skel->bss->lost_events, "calls_registered",
			 (json_int_t)b->registered, "register_failed",
			 (json_int_t)b->register_failed);
}

void acd_bpf_metrics(struct acd_ctx *ctx, struct acd_metrics *m)
{
	struct acd_bpf *b = ctx->bpf;

	acd_metrics_family(m, "agentcg_bpf_loaded", ACD_GAUGE,
			   "1 when the BPF programs are loaded (process lifecycle, OOM victims, "
			   "cpu_time and forks budgets), else 0.");
	acd_metrics_u64(m, b != NULL, NULL);
	acd_metrics_family(m, "agentcg_bpf_records_total", ACD_COUNTER,
			   "Records read from the BPF ring buffer.");
	acd_metrics_u64(m, b ? b->records : 0, NULL);
	acd_metrics_family(m, "agentcg_bpf_lost_records_total", ACD_COUNTER,
			   "Records the BPF programs could not put in the full ring buffer: "
			   "process events and OOM victims the daemon never saw.");
	acd_metrics_u64(m, b ? (uint64_t)b->skel->bss->lost_events : 0, NULL);
}
