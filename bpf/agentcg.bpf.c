// SPDX-License-Identifier: GPL-2.0
/* agentcg's kernel side: per-call process lifecycle, OOM victims, and the
 * budgets no cgroup knob has (CPU-seconds, forks, and memory on v1 hosts),
 * enforced at the event.
 *
 * Only tp_btf programs, which load on both kernels agentcg runs on (the
 * dev host refuses fentry/lsm). Every program first looks the task's
 * cgroup id up in `calls`, which holds only the daemon's running calls:
 * other processes on the host cost one hash lookup and are never
 * reported or signalled.
 *
 * Once a call has used up a budget whose action is stop or kill, every
 * task of the call that reaches one of these hooks (a scheduler tick or
 * switch, a fork, an exec, a page fault) is sent SIGSTOP or SIGKILL, and
 * one ACB_EV_OVER record tells the daemon, which then freezes or kills
 * the whole cgroup and sets `handled`. Signals go only to the current
 * task, and only when it is in that call's cgroup.
 *
 * Lifecycle records wake nobody (a wakeup is an irq_work, a VM exit on a
 * virtual machine, for every fork, exec and exit) until the ring is a
 * quarter full: the daemon reads them when a call ends and every 100 ms
 * while someone follows events. OVER and OOM records wake it at once. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "agentcg/bpf_abi.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGINT 2
#define SIGKILL 9
#define SIGSTOP 19
#define SIGNAL_GROUP_EXIT 0x00000004

const volatile __u64 page_size = 4096;
/* Levels from a call's memory cgroup up to the daemon's root
 * (call -> session -> tenant -> root). */
const volatile __u32 root_depth = 3;

/* ring buffer records that found no room */
__u64 lost_events;
/* Until then some call is within CUTOFF_HORIZON_NS of its cpu_time: only
 * then does on_switch look at the tasks being switched in. */
__u64 near_until_ns;
/* Armed by the daemon (userspace/daemon/pressure.c): when the root's
 * memory charge reaches this many pages at a call's page fault, one
 * ACB_EV_PRESSURE wakes the daemon and the arming is cleared; 0 = off. */
__u64 pressure_pages;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ACB_MAX_CALLS);
	__type(key, __u64);
	__type(value, struct acb_call);
} calls SEC(".maps");

/* Page faults seen on each CPU: the fault program looks at one in 8. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fault_tick SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, ACB_RINGBUF_BYTES);
} events SEC(".maps");

/* Direct loads through BTF pointers (CO-RE relocated, no probe_read
 * helper calls): these run on every fork, switch and page fault. */
static __always_inline __u64 task_cgid(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
}

/* The running call t belongs to (NULL for any other task), and its id. */
static __always_inline struct acb_call *call_of(struct task_struct *t, __u64 *cgid)
{
	*cgid = task_cgid(t);
	return bpf_map_lookup_elem(&calls, cgid);
}

static __always_inline struct acb_event *event_new(__u32 type, __u64 cgid, struct task_struct *t)
{
	struct acb_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->cgid = cgid;
	e->ktime_ns = bpf_ktime_get_ns();
	e->pid = BPF_CORE_READ(t, tgid);
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), t->comm);
	return e;
}

/* No wakeup for a lifecycle record unless the ring is a quarter full. */
static __always_inline __u64 lifecycle_wakeup(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > ACB_RINGBUF_BYTES / 4 ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* Marks a budget as used up (once per budget) and tells the daemon. */
static __always_inline void go_over(struct acb_call *c, __u64 cgid, __u32 what, __u64 used)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct acb_event *e;
	__u32 old = __sync_fetch_and_or(&c->over, what);

	if (old & what)
		return;
	if (!old)
		c->over_ns = bpf_ktime_get_ns();
	e = event_new(ACB_EV_OVER, cgid, t);
	if (!e)
		return;
	e->over = what;
	e->value = used;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

/* A call over a stopping budget: stop the current task if it is one of
 * the call's. */
static __always_inline void stop_current(struct acb_call *c, __u64 cgid)
{
	if (!c->over || c->handled || c->action == ACB_ACT_REPORT)
		return;
	if (bpf_get_current_cgroup_id() != cgid)
		return;
	if (c->action == ACB_ACT_INTERRUPT) { /* once */
		if (__sync_fetch_and_add(&c->handled, 1) == 0 && bpf_send_signal(SIGINT) == 0)
			__sync_fetch_and_add(&c->signals, 1);
		return;
	}
	if (bpf_send_signal(c->action == ACB_ACT_KILL ? SIGKILL : SIGSTOP) == 0)
		__sync_fetch_and_add(&c->signals, 1);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 cgid;
	struct acb_call *c = call_of(child, &cgid);
	struct acb_event *e;
	__u32 n;

	if (!c)
		return 0;
	if (BPF_CORE_READ(child, pid) == BPF_CORE_READ(child, tgid)) { /* a process */
		n = __sync_fetch_and_add(&c->forks, 1) + 1;
		e = event_new(ACB_EV_FORK, cgid, child);
		if (e)
			bpf_ringbuf_submit(e, lifecycle_wakeup());
		if (c->forks_max && n > c->forks_max)
			go_over(c, cgid, ACB_OVER_FORKS, n);
	}
	stop_current(c, cgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 cgid;
	struct acb_call *c = call_of(p, &cgid);
	struct acb_event *e;

	if (!c)
		return 0;
	e = event_new(ACB_EV_EXEC, cgid, p);
	if (e) {
		bpf_probe_read_kernel_str(e->exe, sizeof(e->exe), BPF_CORE_READ(bprm, filename));
		bpf_ringbuf_submit(e, lifecycle_wakeup());
	}
	stop_current(c, cgid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u64 cgid;
	struct acb_call *c = call_of(p, &cgid);
	struct signal_struct *sig;
	struct acb_event *e;
	__u32 flags;

	if (!c)
		return 0;
	sig = BPF_CORE_READ(p, signal);
	if (BPF_CORE_READ(sig, live.counter) != 0) /* not the last thread */
		return 0;
	e = event_new(ACB_EV_EXIT, cgid, p);
	if (!e)
		return 0;
	flags = BPF_CORE_READ(sig, flags);
	e->value = (flags & SIGNAL_GROUP_EXIT) ? (__u64)BPF_CORE_READ(sig, group_exit_code)
					       : (__u64)BPF_CORE_READ(p, exit_code);
	e->rss_bytes = BPF_CORE_READ(sig, maxrss) * page_size;
	bpf_ringbuf_submit(e, lifecycle_wakeup());
	return 0;
}

/* CPU time is accounted at scheduler ticks (4 ms apart at HZ=250) and
 * switches. When less than this is left of a budget, a timer pinned to
 * the CPU fires at the moment the budget runs out, for a task that keeps
 * running until then. */
#define CUTOFF_HORIZON_NS (10ULL * 1000 * 1000)
#define CLOCK_MONOTONIC 1

/* The timer: if the task of the last update still runs here, its time
 * since that update counts too. */
static int on_cpu_cutoff(void *map, __u64 *key, struct acb_call *c)
{
	__u64 now = bpf_ktime_get_ns(), est, cgid = *key;
	struct task_struct *t;

	c->timer_state = 1;
	if (c->over & ACB_OVER_CPU_TIME || bpf_get_current_cgroup_id() != cgid)
		return 0;
	t = bpf_get_current_task_btf();
	if (BPF_CORE_READ(t, pid) != c->last_pid || now < c->last_ns)
		return 0;
	est = c->cpu_ns + (now - c->last_ns);
	if (est >= c->cpu_time_ns) {
		go_over(c, cgid, ACB_OVER_CPU_TIME, est);
		stop_current(c, cgid);
		return 0;
	}
	c->timer_state = 2;
	bpf_timer_start(&c->timer, c->cpu_time_ns - est, BPF_F_TIMER_CPU_PIN);
	return 0;
}

static __always_inline void arm_cutoff(struct acb_call *c, __u64 used, bool again)
{
	if ((c->timer_state == 2 && !again) || c->cpu_time_ns - used > CUTOFF_HORIZON_NS)
		return;
	near_until_ns = bpf_ktime_get_ns() + 1000000000ULL;
	if (c->timer_state == 0) {
		/* -EBUSY if another CPU got here first: the same timer then */
		bpf_timer_init(&c->timer, &calls, CLOCK_MONOTONIC);
		bpf_timer_set_callback(&c->timer, on_cpu_cutoff);
	}
	c->timer_state = 2;
	bpf_timer_start(&c->timer, c->cpu_time_ns - used, BPF_F_TIMER_CPU_PIN);
}

/* Runs on every update of a task's CPU time: at each scheduler tick
 * while it runs, and when it is switched out. */
SEC("tp_btf/sched_stat_runtime")
int BPF_PROG(on_runtime, struct task_struct *p, __u64 runtime)
{
	__u64 cgid;
	struct acb_call *c = call_of(p, &cgid);
	__u64 used;

	if (!c)
		return 0;
	used = __sync_fetch_and_add(&c->cpu_ns, runtime) + runtime;
	c->last_ns = bpf_ktime_get_ns();
	c->last_pid = BPF_CORE_READ(p, pid);
	if (c->cpu_time_ns && !(c->over & ACB_OVER_CPU_TIME)) {
		if (used >= c->cpu_time_ns)
			go_over(c, cgid, ACB_OVER_CPU_TIME, used);
		else if (p == bpf_get_current_task_btf())
			arm_cutoff(c, used, false);
	}
	stop_current(c, cgid);
	return 0;
}

/* A call's task near its cpu_time is switched in: its time starts to
 * run here, so the cut-off timer moves to this CPU (a preempted or
 * migrated task would otherwise run until the next tick). */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 cgid, now = bpf_ktime_get_ns();
	struct acb_call *c;

	if (now > near_until_ns)
		return 0;
	cgid = task_cgid(next);
	c = bpf_map_lookup_elem(&calls, &cgid);
	if (!c || !c->cpu_time_ns || c->over & ACB_OVER_CPU_TIME || c->cpu_ns >= c->cpu_time_ns)
		return 0;
	c->last_ns = now;
	c->last_pid = BPF_CORE_READ(next, pid);
	arm_cutoff(c, c->cpu_ns, true);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(on_oom_victim, struct task_struct *task)
{
	__u64 cgid;
	struct acb_call *c = call_of(task, &cgid);
	struct mm_struct *mm;
	struct acb_event *e;
	__s64 rss = 0, v;

	if (!c)
		return 0;
	e = event_new(ACB_EV_OOM, cgid, task);
	if (!e)
		return 0;
	mm = BPF_CORE_READ(task, mm);
	if (mm) {
		/* file, anon and shmem pages, as the kernel's OOM report sums them */
		v = BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count);
		rss += v > 0 ? v : 0;
		v = BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count);
		rss += v > 0 ? v : 0;
		v = BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
		rss += v > 0 ? v : 0;
	}
	e->rss_bytes = (__u64)rss * page_size;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* The root's charge, from the call's memory cgroup up its page counters:
 * past the armed mark, one record that wakes the daemon at once. */
static __always_inline void check_pressure(struct mem_cgroup *memcg, __u64 cgid)
{
	struct page_counter *pc = BPF_CORE_READ(memcg, memory.parent);
	__u64 armed = pressure_pages, pages;
	struct acb_event *e;

	if (!armed || !pc)
		return;
	for (int i = 1; i < 8; i++) {
		if (i >= root_depth || !pc)
			break;
		pc = BPF_CORE_READ(pc, parent);
	}
	if (!pc)
		return;
	pages = (__u64)BPF_CORE_READ(pc, usage.counter);
	if (pages < armed || __sync_val_compare_and_swap(&pressure_pages, armed, 0) != armed)
		return;
	e = event_new(ACB_EV_PRESSURE, cgid, bpf_get_current_task_btf());
	if (!e)
		return;
	e->value = pages * page_size;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

/* At each user page fault of a call with a memory budget (every call on
 * v1 hosts, which have no memory.high; exec cells on v2, to interrupt
 * them before the OOM killer takes their interpreter), compare its memory
 * cgroup's charge with the budget; and, while the daemon has armed
 * pressure_pages, the root's charge with that mark. */
SEC("tp_btf/page_fault_user")
int BPF_PROG(on_page_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	__u32 zero = 0, *tick = bpf_map_lookup_elem(&fault_tick, &zero);
	struct acb_call *c;
	__u64 cgid;

	/* Every fault of every process on the host comes here: only one in
	 * 8 per CPU is looked at (the charge moves in per-CPU batches of 64
	 * pages anyway, and ticks and forks stop a call's tasks too). */
	if (!tick || ((*tick)++ & 7))
		return 0;
	cgid = bpf_get_current_cgroup_id();
	c = bpf_map_lookup_elem(&calls, &cgid);
	if (!c)
		return 0;
	if (c->memcg_id && ((c->memory_bytes && !(c->over & ACB_OVER_MEMORY)) || pressure_pages)) {
		struct task_struct *t = bpf_get_current_task_btf();
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct cgroup_subsys_state *css;
		struct mem_cgroup *memcg;
		__u64 bytes;

		if (id < 0 || id >= CGROUP_SUBSYS_COUNT)
			return 0;
		css = t->cgroups->subsys[id]; /* id is a constant once relocated */
		/* A task still on its way into the call's memory cgroup is
		 * charged elsewhere: not the call's business yet. */
		if (!css || css->cgroup->kn->id != c->memcg_id)
			goto out;
		memcg = (struct mem_cgroup *)css; /* css is its first member */
		/* the verifier knows css, not the mem_cgroup around it: a
		 * probe read for the counter */
		bytes = (__u64)BPF_CORE_READ(memcg, memory.usage.counter) * page_size;
		if (c->memory_bytes && bytes >= c->memory_bytes && !(c->over & ACB_OVER_MEMORY)) {
			c->memory_seen = bytes;
			go_over(c, cgid, ACB_OVER_MEMORY, bytes);
		}
		check_pressure(memcg, cgid);
	}
out:
	stop_current(c, cgid);
	return 0;
}
