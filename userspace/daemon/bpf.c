// SPDX-License-Identifier: GPL-2.0
/* The daemon's side of bpf/agentcg.bpf.c: load and attach the programs
 * (each optional: what the kernel refuses is logged once and falls back),
 * register each call's budgets under its cgroup id before its command
 * runs, read the ring buffer from the epoll loop and hand each record to
 * its call, and delete the call's entry when it ends. */
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
#include "daemon.h"

#define CALL_BUCKETS 1024
#define ACD_BPF_POLL_MS 100

struct acd_bpf {
	struct agentcg_bpf *skel;
	struct ring_buffer *rb;
	struct acd_watch w;
	int calls_fd;
	struct acd_bpf_features f;
	struct acd_call *bucket[CALL_BUCKETS]; /* registered calls by cgroup id */
	uint64_t records;
	uint64_t registered, register_failed;
	uint64_t next_poll_ns;
};

static struct acd_call **bucket_of(struct acd_bpf *b, uint64_t cgid)
{
	return &b->bucket[(cgid * 0x9E3779B97F4A7C15ULL) >> 54];
}

static struct acd_call *call_by_cgid(struct acd_bpf *b, uint64_t cgid)
{
	for (struct acd_call *c = *bucket_of(b, cgid); c; c = c->bpf_next)
		if (c->node.id == cgid)
			return c;
	return NULL;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	ac_debug("libbpf: %s", line);
	return 0;
}

static int on_record(void *data, void *rec, size_t size)
{
	struct acd_ctx *ctx = data;
	const struct acb_event *e = rec;
	struct acd_call *call;

	if (size < sizeof(*e))
		return 0;
	ctx->bpf->records++;
	call = call_by_cgid(ctx->bpf, e->cgid);
	if (call)
		acd_call_on_bpf_event(ctx, call, e);
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

struct prog_spec {
	const char *tp;
	struct bpf_program *prog;
	bool *feature;
	const char *without; /* what the daemon does when it is missing */
};

int acd_bpf_open(struct acd_ctx *ctx)
{
	struct acd_bpf *b;
	struct btf *vmlinux;
	int r;

	if (!ctx->cfg.bpf) {
		ac_info("bpf: off by configuration: cpu_time by a %d ms poll; no process list, "
			"OOM victims, forks or v1 memory budgets", 20);
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
	b->skel = agentcg_bpf__open();
	if (!b->skel) {
		r = -errno;
		btf__free(vmlinux);
		free(b);
		return ac_log_errno(r, "bpf: cannot open the programs");
	}
	b->skel->rodata->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	{
		struct prog_spec specs[] = {
			{ "sched_process_fork", b->skel->progs.on_fork, &b->f.lifecycle,
			  "no process list" },
			{ "sched_process_exec", b->skel->progs.on_exec, NULL, NULL },
			{ "sched_process_exit", b->skel->progs.on_exit, NULL, NULL },
			{ "sched_stat_runtime", b->skel->progs.on_runtime, &b->f.cpu_time,
			  "cpu_time by a 20 ms poll" },
			{ "sched_switch", b->skel->progs.on_switch, NULL,
			  "a preempted call may pass cpu_time by up to a tick" },
			{ "mark_victim", b->skel->progs.on_oom_victim, &b->f.oom,
			  "OOM victims not named" },
			{ "page_fault_user", b->skel->progs.on_page_fault, &b->f.memory,
			  "memory budgets on v1 only reported" },
		};

		for (size_t i = 0; i < AC_ARRAY_SIZE(specs); i++) {
			bool want = has_tracepoint(vmlinux, specs[i].tp);

			if (!want)
				ac_info("bpf: the kernel has no tracepoint %s: %s", specs[i].tp,
					specs[i].without ? specs[i].without : "ignored");
			bpf_program__set_autoload(specs[i].prog, want);
			if (specs[i].feature)
				*specs[i].feature = want;
		}
		b->f.forks = b->f.lifecycle;
		btf__free(vmlinux);
		r = agentcg_bpf__load(b->skel);
		if (r < 0) {
			ac_log_errno(r, "bpf: the kernel refused the programs; running without them "
					"(cpu_time by a 20 ms poll; no process list, OOM victims, forks "
					"or v1 memory budgets)");
			goto fail;
		}
		for (size_t i = 0; i < AC_ARRAY_SIZE(specs); i++) {
			if (!bpf_program__autoload(specs[i].prog))
				continue;
			if (!bpf_program__attach(specs[i].prog)) {
				r = -errno;
				ac_log_errno(r, "bpf: cannot attach to %s: %s", specs[i].tp,
					     specs[i].without ? specs[i].without : "ignored");
				if (specs[i].feature)
					*specs[i].feature = false;
			}
		}
	}
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
		ctx->cg.kind == AC_CG_V2 ? "memory.high" : b->f.memory ? "in kernel (v1)" : "report only");
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

int acd_bpf_call_begin(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_bpf *b = ctx->bpf;
	struct acb_call v = { 0 };
	const struct ac_intent *in = &call->intent;
	struct acd_call **head;
	struct stat st;

	if (!b || !call->node.id)
		return -EOPNOTSUPP;
	if (in->set & AC_F_CPU_TIME && b->f.cpu_time) {
		uint64_t us = 0;

		v.cpu_time_ns = in->cpu_time_ns ? in->cpu_time_ns : 1;
		/* count from what the cgroup has used already (its stub, or
		 * the interpreter's last moments), as the verdict does */
		if (ac_cg_cpu_usage_us(&ctx->cg, &call->node, &call->stats, &us) == 0)
			v.cpu_ns = us * 1000;
	}
	if (in->set & AC_F_FORKS && b->f.forks)
		v.forks_max = in->forks;
	/* memory: on v1 (no memory.high) for every call; on v2 memory.high
	 * throttles, and only exec cells are also interrupted at it. */
	if (in->set & AC_F_MEMORY && b->f.memory && in->memory != AC_UNLIMITED) {
		if (ctx->cg.kind == AC_CG_HYBRID && call->node.dirfd[AC_H_MEMORY] >= 0 &&
		    fstat(call->node.dirfd[AC_H_MEMORY], &st) == 0) {
			v.memory_bytes = in->memory;
			v.memcg_id = st.st_ino;
		} else if (ctx->cg.kind == AC_CG_V2 && call->interp) {
			v.memory_bytes = in->memory;
			v.memcg_id = call->node.id;
		}
	}
	v.action = in->on_exceed == AC_EXCEED_FREEZE ? ACB_ACT_STOP :
		   in->on_exceed == AC_EXCEED_REPORT ? ACB_ACT_REPORT :
		   call->interp			     ? ACB_ACT_INTERRUPT :
						       ACB_ACT_KILL;
	if (bpf_map_update_elem(b->calls_fd, &call->node.id, &v, BPF_NOEXIST) < 0) {
		int r = -errno;

		if (b->register_failed++ == 0)
			ac_log_errno(r, "bpf: cannot register call %s (more than %d at once?); it "
					"runs without BPF", call->path, ACB_MAX_CALLS);
		return r;
	}
	b->registered++;
	head = bucket_of(b, call->node.id);
	call->bpf_next = *head;
	*head = call;
	call->bpf_on = true;
	return 0;
}

/* Copies the counters the programs keep into the call. */
static void read_counters(struct acd_bpf *b, struct acd_call *call)
{
	struct acb_call v;

	if (bpf_map_lookup_elem(b->calls_fd, &call->node.id, &v) == 0) {
		call->bpf_cpu_ns = v.cpu_ns;
		call->bpf_forks = v.forks;
		call->bpf_signals = v.signals;
	}
}

void acd_bpf_call_handled(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_bpf *b = ctx->bpf;
	struct acb_call v;

	if (!b || !call->bpf_on)
		return;
	if (bpf_map_lookup_elem(b->calls_fd, &call->node.id, &v) == 0) {
		v.handled = 1;
		bpf_map_update_elem(b->calls_fd, &call->node.id, &v, BPF_EXIST);
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
	return (int)((b->next_poll_ns - now + 999999) / 1000000);
}

void acd_bpf_call_sync(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_bpf *b = ctx->bpf;

	if (!b || !call->bpf_on)
		return;
	/* Records of the call's last exits are in the ring before its cgroup
	 * reports empty: take them now. */
	ring_buffer__consume(b->rb);
	read_counters(b, call);
}

void acd_bpf_call_end(struct acd_ctx *ctx, struct acd_call *call)
{
	struct acd_bpf *b = ctx->bpf;

	if (!b || !call->bpf_on)
		return;
	acd_bpf_call_sync(ctx, call);
	bpf_map_delete_elem(b->calls_fd, &call->node.id);
	for (struct acd_call **pp = bucket_of(b, call->node.id); *pp; pp = &(*pp)->bpf_next)
		if (*pp == call) {
			*pp = call->bpf_next;
			break;
		}
	call->bpf_next = NULL;
	call->bpf_on = false;
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

json_t *acd_bpf_info(struct acd_ctx *ctx)
{
	struct acd_bpf *b = ctx->bpf;

	if (!b)
		return json_pack("{s:b}", "loaded", 0);
	return json_pack("{s:b, s:b, s:b, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I}", "loaded", 1,
			 "lifecycle", b->f.lifecycle, "oom_victims", b->f.oom, "cpu_time",
			 b->f.cpu_time ? "kernel" : "poll", "forks", b->f.forks, "memory",
			 ctx->cg.kind == AC_CG_V2 ? "memory.high" : b->f.memory ? "kernel" : "report",
			 "map_entries", (json_int_t)map_entries(b->calls_fd), "records",
			 (json_int_t)b->records, "lost_records",
			 (json_int_t)b->skel->bss->lost_events, "calls_registered",
			 (json_int_t)b->registered, "register_failed",
			 (json_int_t)b->register_failed);
}
