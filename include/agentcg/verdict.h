/* SPDX-License-Identifier: GPL-2.0 */
/* What a call really used, and the verdict on it against its intent.
 * Pure logic: the daemon fills ac_usage from the cgroup and the exit
 * status, this module decides and renders JSON. */
#ifndef AGENTCG_VERDICT_H
#define AGENTCG_VERDICT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agentcg/intent.h"

/* Why the daemon itself stopped a call (0 = it did not). */
enum ac_stop_reason {
	AC_STOP_NONE = 0,
	AC_STOP_TIMEOUT,     /* wall-clock deadline passed: cgroup killed */
	AC_STOP_CPU_TIME,    /* cpu_time budget used up: killed or frozen */
	AC_STOP_DISCONNECT,  /* client went away mid-call: killed */
	AC_STOP_OPERATOR,    /* agentcg kill on the call or a parent */
	AC_STOP_SHUTDOWN,    /* daemon shutting down */
	AC_STOP_FORKS,	     /* forks budget used up (BPF): killed or frozen */
	AC_STOP_MEMORY,	     /* memory passed on a host without memory.high (BPF) */
	AC_STOP_PRESSURE,    /* the last step of the containment ladder: killed
			      * (a cell: interrupted) under memory pressure */
};

struct ac_usage {
	uint64_t memory_peak;	     /* bytes; 0 if unknown */
	uint64_t cpu_user_us;
	uint64_t cpu_system_us;
	uint64_t wall_ns;
	uint64_t cpu_throttled_us;   /* time throttled by cpu.max */
	uint64_t cpu_nr_throttled;   /* periods throttled */
	uint64_t mem_high;	     /* memory.events high (0 on v1: no knob) */
	uint64_t mem_max;	     /* memory.events max / v1 failcnt */
	uint64_t mem_oom;	     /* memory.events oom / v1 under_oom seen */
	uint64_t mem_oom_kill;	     /* memory.events oom_kill / v1 oom_kill */
	uint64_t pids_peak;	     /* most processes at once */
	uint64_t pids_max_events;    /* forks refused by pids.max */
	bool has_mem_high_knob;	     /* false on v1: `memory` is only reported */
	bool forks_known;	     /* forks counted (BPF loaded) */
	uint64_t forks;		     /* processes the call forked */
};

/* The process the kernel's OOM killer chose (its mark_victim event), and
 * the limit that was hit. */
struct ac_oom_victim {
	bool seen;
	int pid;
	char comm[16];
	uint64_t rss;	      /* bytes when it was chosen */
	const char *level;    /* "call", "session", "tenant", "host" */
	char path[200];	      /* of that level; "" for host */
	uint64_t limit;	      /* bytes; AC_UNLIMITED for host */
};

/* What the containment ladder did to a call under memory pressure. */
struct ac_contain_report {
	uint32_t throttled;	/* times throttled */
	uint32_t frozen;	/* times frozen */
	uint64_t throttled_ns;	/* time spent throttled, frozen */
	uint64_t frozen_ns;
	enum ac_priority priority; /* the class it was contained as */
	/* the budget that was nearly used up (at the last step) */
	char domain[72];	/* "/" (the root) or "/tenant" */
	uint64_t usage, budget; /* bytes */
	bool host;		/* the domain was the host's memory */
	/* while frozen with swap on: pushed out to swap (v2 memory.reclaim),
	 * memory.current before minus after each write, and the time the
	 * writes took */
	uint64_t reclaimed;	/* bytes */
	uint64_t reclaim_ns;
};

struct ac_call_end {
	bool exited;	   /* main process exited normally */
	int exit_code;	   /* when exited */
	int term_signal;   /* when killed by a signal */
	enum ac_stop_reason stop;
	bool frozen;	   /* left frozen (on_exceed: freeze) */
	bool interrupted;  /* a session.exec cell stopped by SIGINT; the session lives on */
	bool stdout_truncated;
	bool stderr_truncated;
	struct ac_oom_victim oom;
	struct ac_contain_report contain;
	uint32_t retried;	 /* earlier runs killed under memory pressure (intent retry) */
	uint64_t retry_lost_ns;	 /* the time those runs took */
	uint64_t waited_ns;	 /* waited at admission before it started */
	bool waited_pressure;	 /* ... held back by memory pressure (else budget or quota) */
};

/* {"memory_peak": 1234, "memory_peak_h": "1.2K", "cpu_user_us": ...,
 *  "cpu_system_us", "wall_us", "cpu_throttled_us", "cpu_nr_throttled",
 *  "memory_events": {"high","max","oom","oom_kill"}, "pids_peak",
 *  "pids_max_events"} */
json_t *ac_usage_to_json(const struct ac_usage *u);

/* {"status": "ok" | "exceeded" | "failed",
 *  "exceeded": [{"resource": "memory_max"|"memory"|"cpu"|"pids"|
 *                "timeout"|"cpu_time"|"forks",
 *                "limit": N, "used": N, "over_by": N, "unit": "bytes"|
 *                "us"|"processes"|"cores",
 *                "action": "killed"|"throttled"|"refused"|"frozen"|"reported"|
 *                          "reclaimed"}],
 *  "summary": "one line an agent can act on",
 *  "exit": {"code": N} | {"signal": N, "signal_name": "SIGKILL"} | {},
 *  "stopped_by": "client disconnect"|"operator"|"shutdown"  (only then),
 *  "frozen": true  (only when end->frozen),
 *  "oom": {"pid", "command", "rss", "limit": {"level", "path", "bytes"}}
 *         (only when the OOM killer chose one of the call's processes)}
 * "failed" = nothing exceeded but the command exited non-zero, died of a
 * signal, or was stopped by the daemon for a reason that is not a limit.
 * Sizes are integers (bytes) or "max"; cpu entries are reals (cores);
 * "pids".over_by is the number of refused forks. in and lim may be NULL
 * (no intent, unlimited). */
json_t *ac_verdict_build(const struct ac_intent *in, const struct ac_limits *lim,
			 const struct ac_usage *u, const struct ac_call_end *end);

#endif
