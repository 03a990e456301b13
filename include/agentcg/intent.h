/* SPDX-License-Identifier: GPL-2.0 */
/* Intents: what a tool call declares it needs, validated, completed from
 * policy, and mapped to cgroup limits. Pure logic, no I/O. */
#ifndef AGENTCG_INTENT_H
#define AGENTCG_INTENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "agentcg/names.h"

#define AC_UNLIMITED UINT64_MAX
#define AC_LABEL_MAX AC_NAME_MAX

/* Bounds an intent must respect (values outside are "absurd"). */
#define AC_MEMORY_MIN (1ULL << 20)	      /* 1M: less cannot even exec */
#define AC_CPU_MIN 0.01			      /* cores */
#define AC_CPU_MAX 1024.0
#define AC_PIDS_MAX 4194304U		      /* PID_MAX_LIMIT */
#define AC_FORKS_MAX 1000000000U
#define AC_TIMEOUT_MIN_NS 1000000ULL	      /* 1ms */
#define AC_CPU_PERIOD_US 100000ULL	      /* cpu.max period */

enum ac_priority { AC_PRIO_NORMAL = 0, AC_PRIO_LOW, AC_PRIO_HIGH };
enum ac_on_exceed { AC_EXCEED_KILL = 0, AC_EXCEED_FREEZE, AC_EXCEED_REPORT };

enum ac_intent_field {
	AC_F_MEMORY = 1u << 0,
	AC_F_MEMORY_MAX = 1u << 1,
	AC_F_CPU = 1u << 2,
	AC_F_PIDS = 1u << 3,
	AC_F_TIMEOUT = 1u << 4,
	AC_F_CPU_TIME = 1u << 5,
	AC_F_PRIORITY = 1u << 6,
	AC_F_ON_EXCEED = 1u << 7,
	AC_F_LABEL = 1u << 8,
	AC_F_FORKS = 1u << 9,
	AC_F_RETRY = 1u << 10,
	AC_F_MEMORY_HINT = 1u << 11,
};
#define AC_RETRY_MAX 3U

/* memory_hint given as a class (AgentCgroup's AGENT_RESOURCE_HINT
 * memory:low|medium|high), sized by the policy (defaults.memory_hints). */
enum ac_hint_class { AC_HINT_SIZE = 0, AC_HINT_LOW, AC_HINT_MEDIUM, AC_HINT_HIGH };
#define AC_HINT_CLASSES 3

struct ac_intent {
	uint32_t set;		/* AC_F_* of the fields given (or defaulted) */
	uint32_t defaulted;	/* AC_F_* of the fields that came from policy */
	uint64_t memory;	/* bytes -> memory.high */
	uint64_t memory_max;	/* bytes -> memory.max */
	double cpu;		/* cores -> cpu.max */
	uint32_t pids;		/* -> pids.max */
	uint64_t timeout_ns;	/* wall-clock deadline */
	uint64_t cpu_time_ns;	/* CPU-seconds budget of the whole call */
	uint32_t forks;		/* process forks of the whole call (BPF) */
	enum ac_priority priority;
	enum ac_on_exceed on_exceed;
	char label[AC_LABEL_MAX + 1];
	uint32_t retry;		/* runs again if killed under memory pressure (0..3) */
	/* What the call expects to use: no limit, only admission's forecast
	 * (a class is sized by ac_intent_apply_defaults). */
	uint64_t memory_hint;
	enum ac_hint_class hint_class;
};

/* One clear message per bad field. */
#define AC_ERRORS_MAX 16
struct ac_field_error {
	char field[32];
	char msg[160];
};
struct ac_errors {
	int n;
	struct ac_field_error e[AC_ERRORS_MAX];
};
void ac_errors_add(struct ac_errors *errs, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* {"field": "msg", ...} */
json_t *ac_errors_to_json(const struct ac_errors *errs);

/* Policy defaults applied to missing intent fields. */
struct ac_intent_defaults {
	uint64_t memory;	   /* 0: none */
	double memory_max_factor;  /* memory_max = factor * memory when absent */
	double cpu;		   /* 0: unlimited */
	uint32_t pids;		   /* 0: unlimited */
	uint64_t timeout_ns;	   /* 0: none */
	enum ac_priority priority;
	enum ac_on_exceed on_exceed;
	uint64_t memory_hints[AC_HINT_CLASSES]; /* low, medium, high */
};

/* Parses an intent object. Sizes may be JSON strings ("512M") or integers
 * (bytes); durations strings ("30s") or numbers (seconds); cpu a number;
 * pids an integer. Unknown fields, wrong types, malformed or absurd values
 * each add one error. obj may be NULL or JSON null (empty intent).
 * errs is reset first (errs may be NULL). Returns 0, or -EINVAL with errs
 * filled (field "intent" when obj is not an object). Also checks
 * memory <= memory_max when both are given (the error is on memory_max). */
int ac_intent_from_json(const json_t *obj, struct ac_intent *out, struct ac_errors *errs);

/* Fills the fields absent from in->set from defs, marking them in
 * in->defaulted. memory_max, when absent, is factor*memory (if memory is
 * known; a factor below 1 counts as 1), never below memory. A defaulted
 * memory is capped at an explicit memory_max. cpu, pids and timeout are
 * defaulted only when defs has them non-zero; priority and on_exceed
 * always. A memory_hint class gets its size from defs (0: none). */
void ac_intent_apply_defaults(struct ac_intent *in, const struct ac_intent_defaults *defs);

/* The intent as JSON, with every field that is set, sizes and durations
 * in their human form, and "assumed": [names of defaulted fields]. */
json_t *ac_intent_to_json(const struct ac_intent *in);

/* Limits as they are written to a cgroup; AC_UNLIMITED = "max". */
struct ac_limits {
	uint64_t memory_high;
	uint64_t memory_max;
	uint64_t cpu_quota_us; /* per AC_CPU_PERIOD_US; AC_UNLIMITED = no cap */
	uint64_t cpu_period_us;
	uint64_t pids_max;
};
void ac_limits_unlimited(struct ac_limits *l);
void ac_intent_to_limits(const struct ac_intent *in, struct ac_limits *out);

const char *ac_priority_name(enum ac_priority p);
int ac_priority_parse(const char *s, enum ac_priority *out);
const char *ac_on_exceed_name(enum ac_on_exceed e);
/* "low", "medium", "high"; NULL for AC_HINT_SIZE */
const char *ac_hint_class_name(enum ac_hint_class h);
int ac_hint_class_parse(const char *s, enum ac_hint_class *out);
int ac_on_exceed_parse(const char *s, enum ac_on_exceed *out);

#endif
