/* SPDX-License-Identifier: GPL-2.0 */
/* What the BPF programs (bpf/agentcg.bpf.c) and agentcgd share: the value
 * of the per-call budget map and the records of the ring buffer. Both
 * sides include this file; the BPF side gets the __u* types from
 * vmlinux.h, userspace from <linux/types.h>. */
#ifndef AGENTCG_BPF_ABI_H
#define AGENTCG_BPF_ABI_H

#ifndef __VMLINUX_H__
#include <linux/bpf.h> /* struct bpf_timer */
#include <linux/types.h>
#endif

#define ACB_COMM_LEN 16
#define ACB_EXE_LEN 128
#define ACB_MAX_CALLS 16384 /* calls running at once that BPF follows */
#define ACB_RINGBUF_BYTES (1u << 20)

/* What the kernel does to a call's tasks once a budget is used up. */
enum acb_action {
	ACB_ACT_REPORT = 0, /* only an event */
	ACB_ACT_STOP = 1,   /* SIGSTOP; the daemon then freezes the cgroup */
	ACB_ACT_KILL = 2,   /* SIGKILL; the daemon then kills the cgroup */
	ACB_ACT_INTERRUPT = 3, /* one SIGINT (a session.exec cell: its interpreter
				* lives on); the daemon interrupts the cell */
};

/* Which budget stopped the call (acb_call.over). */
enum acb_over {
	ACB_OVER_CPU_TIME = 1u << 0,
	ACB_OVER_FORKS = 1u << 1,
	ACB_OVER_MEMORY = 1u << 2,
};

/* Value of the "calls" hash map, keyed by the call's cgroup id (the id of
 * its directory in the v2 tree; on hybrid hosts, /sys/fs/cgroup/unified).
 * The daemon writes it before the call's command starts and deletes it
 * when the call ends; the programs update the counters. */
struct acb_call {
	__u64 cpu_time_ns;   /* budget, 0: none */
	__u64 memory_bytes;  /* budget on the memory charge (v1 hosts, and exec
			      * cells on v2), 0: none */
	__u64 memcg_id;	     /* id of the call's memory cgroup (its inode) */
	__u32 forks_max;     /* budget on process forks, 0: none */
	__u32 action;	     /* enum acb_action */
	/* written by the programs */
	__u64 cpu_ns;	     /* CPU time of all the call's tasks so far */
	__u64 over_ns;	     /* bpf_ktime_get_ns() when a budget ran out */
	__u64 memory_seen;   /* charge (bytes) at that moment, for memory */
	__u32 forks;	     /* process forks so far */
	__u32 over;	     /* enum acb_over bits, set once */
	__u32 handled;	     /* set by the daemon: stop signalling (it took over) */
	__u32 signals;	     /* signals the programs sent */
	/* the cpu_time cut-off between scheduler ticks (programs only) */
	__u64 last_ns;	     /* bpf_ktime_get_ns() of the last runtime update */
	__u32 last_pid;	     /* task of that update */
	__u32 timer_state;   /* 0 none, 1 set up, 2 armed */
	__u32 pad;
	struct bpf_timer timer;
};

enum acb_event_type {
	ACB_EV_FORK = 1,
	ACB_EV_EXEC = 2,
	ACB_EV_EXIT = 3,
	ACB_EV_OOM = 4,	 /* mark_victim: the OOM killer chose this task */
	ACB_EV_OVER = 5, /* a budget ran out (over says which) */
	ACB_EV_PRESSURE = 6, /* the root's memory charge passed pressure_pages
			      * (value: the charge in bytes); sent once per arming */
};

/* One ring buffer record. */
struct acb_event {
	__u32 type;	/* enum acb_event_type */
	__u32 pid;	/* tgid of the process */
	__u32 ppid;	/* parent's tgid (fork, exec) */
	__u32 over;	/* OVER: enum acb_over bit */
	__u64 cgid;	/* the call's cgroup id */
	__u64 ktime_ns; /* bpf_ktime_get_ns() */
	__u64 value;	/* EXIT: exit code as wait(2) encodes it; OVER: used */
	__u64 rss_bytes; /* EXIT: peak RSS (signal->maxrss); OOM: RSS now */
	char comm[ACB_COMM_LEN];
	char exe[ACB_EXE_LEN]; /* EXEC: the file name given to execve */
};

#endif
