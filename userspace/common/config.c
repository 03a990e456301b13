// SPDX-License-Identifier: GPL-2.0
/* Daemon configuration. A file overrides the built-ins key by key; every
 * unknown key or bad value is an error naming its key path
 * ("defaults.memroy: unknown key"). A file is applied all or nothing. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agentcg/config.h"
#include "agentcg/history.h"
#include "agentcg/units.h"
#include "agentcg/util.h"

#define CONFIG_FILE_MAX (4ULL << 20) /* larger config files are refused */
#define KEY_PATH_MAX 160
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* Where a parse is: the error buffer and the key path of the value. */
struct ctx {
	char *err;
	size_t errlen;
};

static int fail(struct ctx *c, const char *path, const char *fmt, ...) AC_PRINTF(3, 4);
static int fail(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: %s", path, msg);
	return -EINVAL;
}

/* parent.key, cut to len (key paths only name things in messages) */
static void join(char *out, size_t len, const char *parent, const char *key)
{
	int n;

	if (parent && *parent)
		n = snprintf(out, len, "%s.%s", parent, key);
	else
		n = snprintf(out, len, "%s", key);
	if (n < 0)
		out[0] = 0;
}

void ac_config_init(struct ac_config *cfg)
{
	*cfg = (struct ac_config){
		.socket_mode = 0666,
		.output_limit = 1 * MiB,
		.max_request = 1 * MiB,
		.max_reply_backlog = 16 * MiB,
		.admission_wait_max_ns = 10ULL * 60 * 1000000000ULL,
		.per_uid = {
			.connections = 64,
			.sessions = 64,
			.calls_running = 64,
			.calls_waiting = 32,
			.interp_ops = 64,
			.interp_op_bytes = 8 * MiB,
			.subscriptions = 8,
		},
		.partial_line_ns = 10ULL * 1000000000ULL,
		.runner_frame_max = 0,
		.call_pool = 2,
		.bpf = true,
		.memory_budget = AC_UNLIMITED,
		.contain = {
			.enabled = true,
			.freeze = AC_FREEZE_AUTO,
			.hold_max_ns = 30ULL * 1000000000ULL,
			.forecast = true,
			.forecast_high = true,
			.stall_ns = 1500ULL * 1000000,
			.free_ns = 3000ULL * 1000000,
			.throttle_at = 0.75,
			.freeze_at = 0.85,
			.kill_at = 0.95,
			.thaw_below = 0.70,
			.step_ns = 100ULL * 1000000,
			.interp_oom_score_offset = -100,
			.cls = {
				[AC_PRIO_NORMAL] = { .cpu_weight = 100, .oom_score_adj = 600 },
				[AC_PRIO_LOW] = { .cpu_weight = 25, .oom_score_adj = 650 },
				[AC_PRIO_HIGH] = { .cpu_weight = 400, .oom_score_adj = 100,
						   .protect = true },
			},
		},
		.defaults = {
			.memory = 512 * MiB,
			.memory_max_factor = 1.5,
			.cpu = 0,
			.pids = 512,
			.timeout_ns = 10ULL * 60 * 1000000000ULL,
			.priority = AC_PRIO_NORMAL,
			.on_exceed = AC_EXCEED_KILL,
			.memory_hints = { 256 * MiB, 1 * GiB, 4 * GiB },
		},
		.adaptive = { .enabled = true, .margin = 1.25, .min_samples = 3, .window = 32 },
		.session_budget = { .memory_max = 4 * GiB, .cpu = 0, .pids_max = 4096 },
		.tenants_on_demand = false,
		.tenant_budget = { .memory_max = 8 * GiB, .cpu = 0, .pids_max = 8192 },
		.n_tenants = 1,
	};
	ac_strlcpy(cfg->socket_path, "/run/agentcg/agentcgd.sock", sizeof(cfg->socket_path));
	ac_strlcpy(cfg->root, "auto", sizeof(cfg->root));
	cfg->interp.uid_first = AC_INTERP_UID_FIRST;
	cfg->interp.uid_last = AC_INTERP_UID_LAST;
	ac_strlcpy(cfg->interp.python, "python3", sizeof(cfg->interp.python));
	ac_strlcpy(cfg->interp.bash, "bash", sizeof(cfg->interp.bash));
	cfg->interp.pool_python = 2;
	cfg->interp.pool_bash = 1;
	ac_strlcpy(cfg->tenants[0].name, "default", sizeof(cfg->tenants[0].name));
	cfg->tenants[0].budget = cfg->tenant_budget;
	cfg->tenants[0].members.everyone = true; /* a single-user machine just works */
}

/* ---- typed values ---------------------------------------------------- */

static int get_string(struct ctx *c, const char *path, const json_t *v, char *out, size_t len,
		      bool allow_empty)
{
	const char *s;

	if (!json_is_string(v))
		return fail(c, path, "must be a string");
	s = json_string_value(v);
	if (!allow_empty && !*s)
		return fail(c, path, "must not be empty");
	if (strlen(s) != json_string_length(v))
		return fail(c, path, "must not contain NUL");
	if (ac_strlcpy(out, s, len) >= len)
		return fail(c, path, "too long (at most %zu bytes)", len - 1);
	return 0;
}

/* A size: string ("1M") or integer bytes; "max" too when allow_max. */
static int get_size(struct ctx *c, const char *path, const json_t *v, uint64_t *out,
		    uint64_t min, bool allow_max)
{
	char lim[32];
	uint64_t bytes;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		int r;

		if (allow_max && strcmp(s, "max") == 0) {
			*out = AC_UNLIMITED;
			return 0;
		}
		r = ac_parse_size(s, &bytes);
		if (r == -ERANGE)
			return fail(c, path, "\"%s\" is too large", s);
		if (r < 0)
			return fail(c, path, "\"%s\" is not a size (bytes or K/M/G/T, e.g. \"512M\")%s",
				    s, allow_max ? " or \"max\"" : "");
	} else if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return fail(c, path, "must not be negative");
		bytes = (uint64_t)json_integer_value(v);
		if (bytes > AC_SIZE_LIMIT)
			return fail(c, path, "is too large");
	} else {
		return fail(c, path, "must be a size string (e.g. \"512M\")%s or an integer",
			    allow_max ? ", \"max\"" : "");
	}
	if (bytes < min) {
		ac_format_size(min, lim, sizeof(lim));
		return fail(c, path, "is too small (at least %s)", lim);
	}
	*out = bytes;
	return 0;
}

/* A duration: string ("10m") or number of seconds; 0 allowed. */
static int get_duration(struct ctx *c, const char *path, const json_t *v, uint64_t *out)
{
	if (json_is_string(v)) {
		int r = ac_parse_duration(json_string_value(v), out);

		if (r == -ERANGE)
			return fail(c, path, "\"%s\" is too long", json_string_value(v));
		if (r < 0)
			return fail(c, path, "\"%s\" is not a duration (ms, s, m or h, e.g. \"30s\")",
				    json_string_value(v));
		return 0;
	}
	if (json_is_number(v)) {
		double secs = json_number_value(v);

		if (!(secs >= 0))
			return fail(c, path, "must not be negative");
		if (secs > (double)AC_DURATION_LIMIT_NS / 1e9)
			return fail(c, path, "is too long");
		*out = (uint64_t)(secs * 1e9);
		return 0;
	}
	return fail(c, path, "must be a duration string (e.g. \"30s\") or a number of seconds");
}

/* Cores: a number, 0 = unlimited, else AC_CPU_MIN..AC_CPU_MAX. */
static int get_cpu(struct ctx *c, const char *path, const json_t *v, double *out)
{
	double cpu;

	if (!json_is_number(v))
		return fail(c, path, "must be a number of cores (0 = unlimited)");
	cpu = json_number_value(v);
	if (cpu != 0 && !(cpu >= AC_CPU_MIN && cpu <= AC_CPU_MAX))
		return fail(c, path, "must be 0 (unlimited) or %g to %g cores", AC_CPU_MIN, AC_CPU_MAX);
	*out = cpu;
	return 0;
}

static int get_bool(struct ctx *c, const char *path, const json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return fail(c, path, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

/* Permission bits as an octal string: "0666", "660". */
static int get_mode(struct ctx *c, const char *path, const json_t *v, unsigned int *out)
{
	const char *s;
	unsigned int mode = 0;
	size_t n;

	if (!json_is_string(v))
		return fail(c, path, "must be an octal string like \"0666\"");
	s = json_string_value(v);
	n = strlen(s);
	if (n == 0 || n > 4)
		return fail(c, path, "\"%s\" is not an octal mode like \"0666\"", s);
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return fail(c, path, "\"%s\" is not an octal mode like \"0666\"",
				    json_string_value(v));
		mode = mode * 8 + (unsigned int)(*s - '0');
	}
	*out = mode;
	return 0;
}

static int get_factor(struct ctx *c, const char *path, const json_t *v, double *out)
{
	if (!json_is_number(v) || !(json_number_value(v) >= 1.0 && json_number_value(v) <= 1024.0))
		return fail(c, path, "must be a number from 1 to 1024");
	*out = json_number_value(v);
	return 0;
}

/* Spare call cgroups kept ready per session: 0 .. AC_CALL_POOL_MAX. */
static int get_call_pool(struct ctx *c, const char *path, const json_t *v, int *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > AC_CALL_POOL_MAX)
		return fail(c, path, "must be an integer from 0 to %d", AC_CALL_POOL_MAX);
	*out = (int)json_integer_value(v);
	return 0;
}

/* Default pids of a call: 0 (unlimited) .. AC_PIDS_MAX. */
static int get_default_pids(struct ctx *c, const char *path, const json_t *v, uint32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)AC_PIDS_MAX)
		return fail(c, path, "must be an integer 0 (unlimited) to %u", AC_PIDS_MAX);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* Budget pids: "max" or 1 .. AC_PIDS_MAX. */
static int get_budget_pids(struct ctx *c, const char *path, const json_t *v, uint64_t *out)
{
	if (json_is_string(v) && strcmp(json_string_value(v), "max") == 0) {
		*out = AC_UNLIMITED;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > (json_int_t)AC_PIDS_MAX)
		return fail(c, path, "must be \"max\" or an integer 1 to %u", AC_PIDS_MAX);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* ---- objects ---------------------------------------------------------- */

/* One key of an object: 0, a negative errno (reported), or -ENOKEY when
 * the key is not one it knows. */
typedef int (*key_fn)(struct ctx *c, const char *kp, const char *key, const json_t *x, void *out);

/* Calls one() for every key of the object v at path, with the key's path
 * for messages; an unknown key is an error. what: the message when v is
 * not an object. */
static int each_key(struct ctx *c, const char *path, const json_t *v, const char *what,
		    key_fn one, void *out)
{
	char kp[KEY_PATH_MAX];
	const char *key;
	json_t *x;
	int r;

	if (!json_is_object(v))
		return fail(c, path, "%s", what);
	json_object_foreach((json_t *)v, key, x) {
		join(kp, sizeof(kp), path, key);
		r = one(c, kp, key, x, out);
		if (r == -ENOKEY)
			r = fail(c, kp, "unknown key");
		if (r < 0)
			return r;
	}
	return 0;
}

static int budget_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
		      void *out)
{
	struct ac_budget *b = out;

	if (strcmp(key, "memory_max") == 0)
		return get_size(c, kp, x, &b->memory_max, AC_MEMORY_MIN, true);
	if (strcmp(key, "cpu") == 0)
		return get_cpu(c, kp, x, &b->cpu);
	if (strcmp(key, "pids") == 0)
		return get_budget_pids(c, kp, x, &b->pids_max);
	return -ENOKEY;
}

static int get_budget(struct ctx *c, const char *path, const json_t *v, struct ac_budget *b)
{
	return each_key(c, path, v, "must be an object {\"memory_max\", \"cpu\", \"pids\"}",
			budget_key, b);
}

/* defaults.memory_hints: the size of each memory_hint class. */
static int memory_hints_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
			    void *out)
{
	uint64_t *sizes = out;
	enum ac_hint_class h;

	if (ac_hint_class_parse(key, &h) < 0)
		return -ENOKEY;
	return get_size(c, kp, x, &sizes[h - AC_HINT_LOW], 0, false);
}

static int defaults_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
			void *out)
{
	struct ac_intent_defaults *d = out;
	int r;

	if (strcmp(key, "memory") == 0) {
		r = get_size(c, kp, x, &d->memory, 0, false);
		if (r == 0 && d->memory && d->memory < AC_MEMORY_MIN)
			r = fail(c, kp, "must be 0 (none) or at least 1M");
		return r;
	}
	if (strcmp(key, "memory_max_factor") == 0)
		return get_factor(c, kp, x, &d->memory_max_factor);
	if (strcmp(key, "cpu") == 0)
		return get_cpu(c, kp, x, &d->cpu);
	if (strcmp(key, "pids") == 0)
		return get_default_pids(c, kp, x, &d->pids);
	if (strcmp(key, "timeout") == 0) {
		r = get_duration(c, kp, x, &d->timeout_ns);
		if (r == 0 && d->timeout_ns && d->timeout_ns < AC_TIMEOUT_MIN_NS)
			r = fail(c, kp, "must be 0 (none) or at least 1ms");
		return r;
	}
	if (strcmp(key, "priority") == 0) {
		if (!json_is_string(x) || ac_priority_parse(json_string_value(x), &d->priority) < 0)
			return fail(c, kp, "must be \"low\", \"normal\" or \"high\"");
		return 0;
	}
	if (strcmp(key, "on_exceed") == 0) {
		if (!json_is_string(x) || ac_on_exceed_parse(json_string_value(x), &d->on_exceed) < 0)
			return fail(c, kp, "must be \"kill\", \"freeze\" or \"report\"");
		return 0;
	}
	if (strcmp(key, "memory_hints") == 0)
		return each_key(c, kp, x, "must be an object {\"low\", \"medium\", \"high\"} of sizes",
				memory_hints_key, d->memory_hints);
	return -ENOKEY;
}

static int get_defaults(struct ctx *c, const char *path, const json_t *v,
			struct ac_intent_defaults *d)
{
	return each_key(c, path, v, "must be an object", defaults_key, d);
}

/* "uid_range": "FIRST-LAST", the interpreters' dynamic uids. */
static int get_uid_range(struct ctx *c, const char *path, const json_t *v,
			 struct ac_interp_config *ic)
{
	const char *s = json_string_value(v);
	unsigned long long first, last;
	int end = 0;

	if (!s || sscanf(s, "%llu-%llu%n", &first, &last, &end) != 2 || s[end] ||
	    !isdigit((unsigned char)s[0]))
		return fail(c, path, "must be \"FIRST-LAST\" (uids, e.g. \"%u-%u\")",
			    AC_INTERP_UID_FIRST, AC_INTERP_UID_LAST);
	if (first < 1000 || last < first || last >= 0xfffffffeULL ||
	    last - first + 1 > AC_INTERP_UIDS_MAX)
		return fail(c, path, "must be at least 1000, FIRST <= LAST, below 4294967294 and "
			    "at most %u uids", AC_INTERP_UIDS_MAX);
	ic->uid_first = (uint32_t)first;
	ic->uid_last = (uint32_t)last;
	return 0;
}

static int get_pool_size(struct ctx *c, const char *path, const json_t *v, int *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > AC_INTERP_POOL_MAX)
		return fail(c, path, "must be an integer from 0 to %d", AC_INTERP_POOL_MAX);
	*out = (int)json_integer_value(v);
	return 0;
}

/* "interpreters": {"uid_range", "python", "bash", "pool": {"python": N, "bash": N}} */
static int pool_key(struct ctx *c, const char *kp, const char *key, const json_t *x, void *out)
{
	struct ac_interp_config *ic = out;

	if (strcmp(key, "python") == 0)
		return get_pool_size(c, kp, x, &ic->pool_python);
	if (strcmp(key, "bash") == 0)
		return get_pool_size(c, kp, x, &ic->pool_bash);
	return fail(c, kp, "unknown language (python, bash)");
}

static int interpreters_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
			    void *out)
{
	struct ac_interp_config *ic = out;

	if (strcmp(key, "user") == 0)
		return fail(c, kp, "removed: every interpreter runs under a dynamic uid of its own, "
			    "from interpreters.uid_range");
	if (strcmp(key, "uid_range") == 0)
		return get_uid_range(c, kp, x, ic);
	if (strcmp(key, "python") == 0)
		return get_string(c, kp, x, ic->python, sizeof(ic->python), false);
	if (strcmp(key, "bash") == 0)
		return get_string(c, kp, x, ic->bash, sizeof(ic->bash), false);
	if (strcmp(key, "pool") == 0)
		return each_key(c, kp, x, "must be an object {\"python\": N, \"bash\": N}", pool_key,
				ic);
	return -ENOKEY;
}

static int get_interpreters(struct ctx *c, const char *path, const json_t *v,
			    struct ac_interp_config *ic)
{
	return each_key(c, path, v, "must be an object", interpreters_key, ic);
}

/* A fraction of a budget: 0 < x <= 1. */
static int get_fraction(struct ctx *c, const char *path, const json_t *v, double *out)
{
	if (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) <= 1.0))
		return fail(c, path, "must be a fraction of the budget, above 0 and at most 1");
	*out = json_number_value(v);
	return 0;
}

static int get_int_range(struct ctx *c, const char *path, const json_t *v, int lo, int hi,
			 int *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail(c, path, "must be an integer from %d to %d", lo, hi);
	*out = (int)json_integer_value(v);
	return 0;
}

/* {"cpu_weight": 1..10000, "oom_score_adj": -999..1000, "protect": bool} */
static int prio_class_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
			  void *out)
{
	struct ac_prio_class *pc = out;
	int r, w;

	if (strcmp(key, "cpu_weight") == 0) {
		r = get_int_range(c, kp, x, 1, 10000, &w);
		if (r == 0)
			pc->cpu_weight = (uint32_t)w;
		return r;
	}
	/* -1000 would make the class unkillable: the OOM killer must always
	 * have a last resort. */
	if (strcmp(key, "oom_score_adj") == 0)
		return get_int_range(c, kp, x, -999, 1000, &pc->oom_score_adj);
	if (strcmp(key, "protect") == 0)
		return get_bool(c, kp, x, &pc->protect);
	return -ENOKEY;
}

/* "classes": {"low"|"normal"|"high": class} */
static int class_key(struct ctx *c, const char *kp, const char *key, const json_t *x, void *out)
{
	struct ac_prio_class *cls = out;
	enum ac_priority p;

	if (ac_priority_parse(key, &p) < 0)
		return fail(c, kp, "unknown class (low, normal or high)");
	return each_key(c, kp, x, "must be an object", prio_class_key, &cls[p]);
}

static int containment_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
			   void *out)
{
	struct ac_containment *k = out;
	int r;

	if (strcmp(key, "enabled") == 0)
		return get_bool(c, kp, x, &k->enabled);
	if (strcmp(key, "throttle_at") == 0)
		return get_fraction(c, kp, x, &k->throttle_at);
	if (strcmp(key, "freeze_at") == 0)
		return get_fraction(c, kp, x, &k->freeze_at);
	if (strcmp(key, "kill_at") == 0)
		return get_fraction(c, kp, x, &k->kill_at);
	if (strcmp(key, "thaw_below") == 0)
		return get_fraction(c, kp, x, &k->thaw_below);
	if (strcmp(key, "step") == 0) {
		r = get_duration(c, kp, x, &k->step_ns);
		if (r == 0 && (k->step_ns < 10 * 1000000ULL || k->step_ns > 10000000000ULL))
			r = fail(c, kp, "must be from 10ms to 10s");
		return r;
	}
	if (strcmp(key, "forecast") == 0)
		return get_bool(c, kp, x, &k->forecast);
	if (strcmp(key, "forecast_high") == 0)
		return get_bool(c, kp, x, &k->forecast_high);
	if (strcmp(key, "freeze") == 0) {
		if (json_is_boolean(x)) {
			k->freeze = json_is_true(x) ? AC_FREEZE_ON : AC_FREEZE_OFF;
			return 0;
		}
		if (json_is_string(x) && strcmp(json_string_value(x), "auto") == 0) {
			k->freeze = AC_FREEZE_AUTO;
			return 0;
		}
		return fail(c, kp, "must be true, false or \"auto\" (freeze only with swap)");
	}
	if (strcmp(key, "hold_max") == 0 || strcmp(key, "stall") == 0 || strcmp(key, "free") == 0) {
		uint64_t *d = key[0] == 'h' ? &k->hold_max_ns : key[0] == 's' ? &k->stall_ns :
					      &k->free_ns;

		r = get_duration(c, kp, x, d);
		if (r == 0 && (*d < 10 * 1000000ULL || *d > 3600ULL * 1000000000ULL))
			r = fail(c, kp, "must be from 10ms to 1h");
		return r;
	}
	if (strcmp(key, "interpreter_oom_score_offset") == 0)
		return get_int_range(c, kp, x, -1000, 0, &k->interp_oom_score_offset);
	if (strcmp(key, "classes") == 0)
		return each_key(c, kp, x, "must be an object", class_key, k->cls);
	return -ENOKEY;
}

static int get_containment(struct ctx *c, const char *path, const json_t *v,
			   struct ac_containment *k)
{
	int r = each_key(c, path, v, "must be an object", containment_key, k);

	if (r == 0 && !(k->thaw_below < k->throttle_at && k->throttle_at <= k->freeze_at &&
			k->freeze_at <= k->kill_at))
		r = fail(c, path, "needs thaw_below < throttle_at <= freeze_at <= kill_at");
	return r;
}

/* Peaks of a label: 1 .. AC_HISTORY_WINDOW_MAX. */
static int get_samples(struct ctx *c, const char *path, const json_t *v, uint32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > AC_HISTORY_WINDOW_MAX)
		return fail(c, path, "must be an integer from 1 to %d", AC_HISTORY_WINDOW_MAX);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* "adaptive": {"enabled", "margin", "min_samples", "window"} */
static int adaptive_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
			void *out)
{
	struct ac_adaptive_config *a = out;

	if (strcmp(key, "enabled") == 0)
		return get_bool(c, kp, x, &a->enabled);
	if (strcmp(key, "margin") == 0) {
		if (!json_is_number(x) || !(json_number_value(x) >= 1.0 &&
					    json_number_value(x) <= AC_HISTORY_MARGIN_MAX))
			return fail(c, kp, "must be a number from 1 to %g", AC_HISTORY_MARGIN_MAX);
		a->margin = json_number_value(x);
		return 0;
	}
	if (strcmp(key, "min_samples") == 0)
		return get_samples(c, kp, x, &a->min_samples);
	if (strcmp(key, "window") == 0)
		return get_samples(c, kp, x, &a->window);
	return -ENOKEY;
}

static int get_adaptive(struct ctx *c, const char *path, const json_t *v,
			struct ac_adaptive_config *a)
{
	int r = each_key(c, path, v, "must be an object", adaptive_key, a);

	if (r == 0 && a->min_samples > a->window)
		r = fail(c, path, "min_samples (%u) must not be more than window (%u)",
			 a->min_samples, a->window);
	return r;
}

/* A list of user or group names: "users": ["alice", "*"], "groups": [...] */
static int get_names(struct ctx *c, const char *path, const json_t *v, bool users,
		     struct ac_members *m)
{
	char(*out)[AC_ACCOUNT_MAX] = users ? m->users : m->groups;
	int *n = users ? &m->n_users : &m->n_groups;
	size_t i;
	const json_t *x;

	if (!json_is_array(v))
		return fail(c, path, "must be an array of %s names", users ? "user" : "group");
	if (json_array_size(v) > AC_MEMBERS_MAX)
		return fail(c, path, "at most %d names", AC_MEMBERS_MAX);
	*n = 0;
	if (users)
		m->everyone = false;
	json_array_foreach(v, i, x) {
		const char *name = json_string_value(x);

		if (!name || !*name || strlen(name) >= AC_ACCOUNT_MAX ||
		    strlen(name) != json_string_length(x) || strchr(name, ':') ||
		    strchr(name, '/'))
			return fail(c, path, "entry %zu is not a %s name (1-32 characters)", i,
				    users ? "user" : "group");
		if (users && !strcmp(name, "*")) {
			m->everyone = true;
			continue;
		}
		if (!users && !strcmp(name, "*"))
			return fail(c, path, "\"*\" is for users only");
		ac_strlcpy(out[(*n)++], name, AC_ACCOUNT_MAX);
	}
	return 0;
}

/* "operators": {"users": [...], "groups": [...]} (root always is one) */
static int members_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
		       void *out)
{
	if (strcmp(key, "users") == 0)
		return get_names(c, kp, x, true, out);
	if (strcmp(key, "groups") == 0)
		return get_names(c, kp, x, false, out);
	return -ENOKEY;
}

static int get_operators(struct ctx *c, const char *path, const json_t *v, struct ac_members *m)
{
	*m = (struct ac_members){ 0 };
	if (each_key(c, path, v, "must be an object {\"users\": [...], \"groups\": [...]}",
		     members_key, m) < 0)
		return -EINVAL;
	if (m->everyone)
		return fail(c, path, "\"*\" would make every local user an operator");
	return 0;
}

/* A tenant: its budget (memory_max, cpu, pids), its members (users,
 * groups) and their policy (max_priority, session_budget). */
static int tenant_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
		      void *out)
{
	struct ac_tenant_config *t = out;
	int r;

	if ((r = budget_key(c, kp, key, x, &t->budget)) != -ENOKEY)
		return r;
	if ((r = members_key(c, kp, key, x, &t->members)) != -ENOKEY)
		return r;
	if (strcmp(key, "interpreter_user") == 0)
		return fail(c, kp, "removed: every interpreter runs under a dynamic uid of its own, "
			    "from interpreters.uid_range");
	if (strcmp(key, "max_priority") == 0) {
		if (!json_is_string(x) || ac_priority_parse(json_string_value(x), &t->max_priority) < 0)
			return fail(c, kp, "must be \"low\", \"normal\" or \"high\"");
		return 0;
	}
	if (strcmp(key, "session_budget") == 0) {
		t->has_session_budget = true;
		t->session_budget = (struct ac_budget){ .memory_max = AC_UNLIMITED,
							.pids_max = AC_UNLIMITED };
		return get_budget(c, kp, x, &t->session_budget);
	}
	return -ENOKEY;
}

/* A quota count: 0 .. AC_QUOTA_MAX (0: operators only). */
static int get_quota(struct ctx *c, const char *path, const json_t *v, uint32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > AC_QUOTA_MAX)
		return fail(c, path, "must be an integer from 0 to %d", AC_QUOTA_MAX);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* "per_uid": {"connections", "sessions", "calls_running", "calls_waiting",
 * "interp_ops", "interp_op_bytes", "subscriptions"} */
static int per_uid_key(struct ctx *c, const char *kp, const char *key, const json_t *x,
		       void *out)
{
	struct ac_per_uid *q = out;

	if (strcmp(key, "connections") == 0)
		return get_quota(c, kp, x, &q->connections);
	if (strcmp(key, "sessions") == 0)
		return get_quota(c, kp, x, &q->sessions);
	if (strcmp(key, "calls_running") == 0)
		return get_quota(c, kp, x, &q->calls_running);
	if (strcmp(key, "calls_waiting") == 0)
		return get_quota(c, kp, x, &q->calls_waiting);
	if (strcmp(key, "interp_ops") == 0)
		return get_quota(c, kp, x, &q->interp_ops);
	if (strcmp(key, "interp_op_bytes") == 0)
		return get_size(c, kp, x, &q->interp_op_bytes, 0, false);
	if (strcmp(key, "subscriptions") == 0)
		return get_quota(c, kp, x, &q->subscriptions);
	return -ENOKEY;
}

/* "auto" (0: derived) or a size of at least 64K. */
static int get_frame_max(struct ctx *c, const char *path, const json_t *v, uint64_t *out)
{
	if (json_is_string(v) && strcmp(json_string_value(v), "auto") == 0) {
		*out = 0;
		return 0;
	}
	return get_size(c, path, v, out, 64 * 1024, false);
}

/* ---- metrics_listen ------------------------------------------------- */

static int why_fail(char *why, size_t len, const char *fmt, ...) AC_PRINTF(3, 4);
static int why_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ":PORT" at s: 1-65535, decimal digits only. */
static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s++ != ':' || !*s || strlen(s) > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int ac_metrics_listen_parse(const char *s, struct ac_metrics_listen *out, char *why, size_t len)
{
	static const char where[] = "listen on 127.0.0.1:PORT, [::1]:PORT or a unix socket path "
				    "(the metrics name tenants and sessions)";
	struct ac_metrics_listen m = { .kind = AC_METRICS_OFF };
	char host[64];
	const char *colon;
	size_t n;

	ac_strlcpy(m.group, out->group, sizeof(m.group));
	if (strlen(s) >= sizeof(m.spec))
		return why_fail(why, len, "too long (at most %zu bytes)", sizeof(m.spec) - 1);
	ac_strlcpy(m.spec, s, sizeof(m.spec));
	if (!*s) {
		*out = m;
		return 0;
	}
	if (s[0] == '/') {
		/* the socket's directories are checked when it is made */
		if (s[1] == '\0' || s[strlen(s) - 1] == '/')
			return why_fail(why, len, "\"%s\" is not a socket path", s);
		m.kind = AC_METRICS_UNIX;
		ac_strlcpy(m.path, s, sizeof(m.path));
		*out = m;
		return 0;
	}
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		n = end ? (size_t)(end - s - 1) : 0;
		if (!end || n == 0 || n >= sizeof(host))
			return why_fail(why, len, "\"%s\" is not [IPv6]:PORT", s);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, m.addr) != 1)
			return why_fail(why, len, "\"%s\" is not an IPv6 address", host);
		if (memcmp(m.addr, &in6addr_loopback, 16) != 0)
			return why_fail(why, len, "%s is not the loopback address ::1: %s", host,
					where);
		if (parse_port(end + 1, &m.port) < 0)
			return why_fail(why, len, "\"%s\": the port must be 1-65535", s);
		m.kind = AC_METRICS_TCP6;
		*out = m;
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon || colon == s)
		return why_fail(why, len, "\"%s\" is neither ADDRESS:PORT nor an absolute path: %s",
				s, where);
	n = (size_t)(colon - s);
	if (n >= sizeof(host))
		return why_fail(why, len, "\"%s\": the address is too long", s);
	memcpy(host, s, n);
	host[n] = '\0';
	if (strchr(host, ':'))
		return why_fail(why, len, "\"%s\": an IPv6 address goes in brackets: [::1]:PORT", s);
	if (inet_pton(AF_INET, host, m.addr) != 1)
		return why_fail(why, len, "\"%s\" is not a numeric IPv4 address (names such as "
				"localhost are not resolved): %s", host, where);
	if (m.addr[0] != 127)
		return why_fail(why, len, "%s is not a loopback address (127.0.0.0/8): %s", host,
				where);
	if (parse_port(colon, &m.port) < 0)
		return why_fail(why, len, "\"%s\": the port must be 1-65535", s);
	m.kind = AC_METRICS_TCP4;
	*out = m;
	return 0;
}

static int get_metrics_listen(struct ctx *c, const char *path, const json_t *v,
			      struct ac_metrics_listen *m)
{
	char why[224];

	if (!json_is_string(v))
		return fail(c, path, "must be a string: \"127.0.0.1:PORT\", \"[::1]:PORT\", "
			    "a unix socket path or \"\" (off)");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(c, path, "must not contain NUL");
	if (ac_metrics_listen_parse(json_string_value(v), m, why, sizeof(why)) < 0)
		return fail(c, path, "%s", why);
	return 0;
}

static int get_metrics_group(struct ctx *c, const char *path, const json_t *v,
			     struct ac_metrics_listen *m)
{
	const char *name = json_string_value(v);

	if (!name || strlen(name) >= AC_ACCOUNT_MAX || strlen(name) != json_string_length(v) ||
	    strchr(name, ':') || strchr(name, '/') || !strcmp(name, "*"))
		return fail(c, path, "must be a group name (0-32 characters; \"\": root's group)");
	ac_strlcpy(m->group, name, sizeof(m->group));
	return 0;
}

/* After every key: what one key says about another. */
static int check_metrics(struct ctx *c, const struct ac_metrics_listen *m)
{
	if (m->group[0] && m->kind != AC_METRICS_UNIX)
		return fail(c, "metrics_group", "is the group of a unix socket: metrics_listen "
			    "must be an absolute path to use it (a TCP port has no group: every "
			    "local user may connect)");
	return 0;
}

static int get_tenants(struct ctx *c, const char *path, const json_t *v, struct ac_config *cfg)
{
	char kp[KEY_PATH_MAX];
	const char *name;
	json_t *x;
	int n = 0;

	if (!json_is_object(v))
		return fail(c, path, "must be an object {\"name\": {budget, members, policy}}");
	if (json_object_size(v) > AC_TENANTS_MAX)
		return fail(c, path, "too many tenants (at most %d)", AC_TENANTS_MAX);
	json_object_foreach((json_t *)v, name, x) {
		struct ac_tenant_config *t = &cfg->tenants[n];

		join(kp, sizeof(kp), path, name);
		if (!ac_name_valid(name))
			return fail(c, kp, "not a valid tenant name ([A-Za-z0-9_.-]{1,64}, not starting with '.')");
		*t = (struct ac_tenant_config){
			.budget = { .memory_max = AC_UNLIMITED, .cpu = 0, .pids_max = AC_UNLIMITED },
			.max_priority = AC_PRIO_NORMAL,
		};
		ac_strlcpy(t->name, name, sizeof(t->name));
		if (each_key(c, kp, x,
			     "must be an object {\"memory_max\", \"cpu\", \"pids\", \"users\", "
			     "\"groups\", \"max_priority\", \"session_budget\"}",
			     tenant_key, t) < 0)
			return -EINVAL;
		n++;
	}
	cfg->n_tenants = n;
	return 0;
}

static int parse_top(struct ctx *c, const json_t *root, struct ac_config *cfg)
{
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(root))
		return fail(c, "config", "must be a JSON object");
	json_object_foreach((json_t *)root, key, v) {
		if (strcmp(key, "socket") == 0)
			r = get_string(c, key, v, cfg->socket_path, sizeof(cfg->socket_path), true);
		else if (strcmp(key, "socket_mode") == 0)
			r = get_mode(c, key, v, &cfg->socket_mode);
		else if (strcmp(key, "root") == 0)
			r = get_string(c, key, v, cfg->root, sizeof(cfg->root), false);
		else if (strcmp(key, "output_limit") == 0)
			r = get_size(c, key, v, &cfg->output_limit, 0, false);
		else if (strcmp(key, "max_request") == 0)
			r = get_size(c, key, v, &cfg->max_request, 1024, false);
		else if (strcmp(key, "max_reply_backlog") == 0)
			r = get_size(c, key, v, &cfg->max_reply_backlog, 1024, false);
		else if (strcmp(key, "admission_wait_max") == 0)
			r = get_duration(c, key, v, &cfg->admission_wait_max_ns);
		else if (strcmp(key, "per_uid") == 0)
			r = each_key(c, key, v, "must be an object of quotas", per_uid_key,
				     &cfg->per_uid);
		else if (strcmp(key, "partial_line_timeout") == 0)
			r = get_duration(c, key, v, &cfg->partial_line_ns);
		else if (strcmp(key, "runner_frame_max") == 0)
			r = get_frame_max(c, key, v, &cfg->runner_frame_max);
		else if (strcmp(key, "defaults") == 0)
			r = get_defaults(c, key, v, &cfg->defaults);
		else if (strcmp(key, "adaptive") == 0)
			r = get_adaptive(c, key, v, &cfg->adaptive);
		else if (strcmp(key, "session_budget") == 0)
			r = get_budget(c, key, v, &cfg->session_budget);
		else if (strcmp(key, "call_pool") == 0)
			r = get_call_pool(c, key, v, &cfg->call_pool);
		else if (strcmp(key, "interpreters") == 0)
			r = get_interpreters(c, key, v, &cfg->interp);
		else if (strcmp(key, "memory_budget") == 0)
			r = get_size(c, key, v, &cfg->memory_budget, AC_MEMORY_MIN, true);
		else if (strcmp(key, "containment") == 0)
			r = get_containment(c, key, v, &cfg->contain);
		else if (strcmp(key, "bpf") == 0)
			r = get_bool(c, key, v, &cfg->bpf);
		else if (strcmp(key, "operators") == 0)
			r = get_operators(c, key, v, &cfg->operators);
		else if (strcmp(key, "tenants_on_demand") == 0)
			r = get_bool(c, key, v, &cfg->tenants_on_demand);
		else if (strcmp(key, "tenant_budget") == 0)
			r = get_budget(c, key, v, &cfg->tenant_budget);
		else if (strcmp(key, "tenants") == 0)
			r = get_tenants(c, key, v, cfg);
		else if (strcmp(key, "metrics_listen") == 0)
			r = get_metrics_listen(c, key, v, &cfg->metrics);
		else if (strcmp(key, "metrics_group") == 0)
			r = get_metrics_group(c, key, v, &cfg->metrics);
		else
			r = fail(c, key, "unknown key");
		if (r < 0)
			return r;
	}
	return 0;
}

int ac_config_parse(struct ac_config *cfg, const char *text, size_t len, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen };
	_cleanup_free_ struct ac_config *tmp = NULL;
	json_error_t jerr;
	json_t *root;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!text)
		return fail(&c, "config", "no text");
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (err && errlen)
			snprintf(err, errlen, "line %d column %d: %s", jerr.line, jerr.column,
				 jerr.text);
		return -EINVAL;
	}
	/* parse into a copy: a bad file leaves cfg untouched */
	tmp = malloc(sizeof(*tmp));
	if (!tmp) {
		json_decref(root);
		return -ENOMEM;
	}
	*tmp = *cfg;
	r = parse_top(&c, root, tmp);
	if (r == 0)
		r = check_metrics(&c, &tmp->metrics);
	json_decref(root);
	if (r < 0)
		return r;
	*cfg = *tmp;
	return 0;
}

/* Reads a whole (bounded) file into a NUL-terminated heap buffer. */
static int read_file(const char *path, char **out, size_t *out_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 16384;
			char *nbuf;

			if (ncap > CONFIG_FILE_MAX + 1)
				ncap = CONFIG_FILE_MAX + 1;
			if (ncap <= len + 1)
				return -EFBIG;
			nbuf = realloc(buf, ncap);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = AC_TAKE_PTR(buf);
	*out_len = len;
	return 0;
}

int ac_config_load_file(struct ac_config *cfg, const char *path, char *err, size_t errlen)
{
	_cleanup_free_ char *text = NULL;
	char inner[512];
	size_t len = 0;
	int r;

	r = read_file(path, &text, &len);
	if (r < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
				 r == -EFBIG ? "file too large" : strerror(-r));
		return r;
	}
	r = ac_config_parse(cfg, text, len, inner, sizeof(inner));
	if (r < 0 && err && errlen)
		snprintf(err, errlen, "%s: %s", path, inner);
	return r;
}

int ac_config_load_default(struct ac_config *cfg, char *err, size_t errlen)
{
	return ac_config_parse(cfg, ac_default_config, ac_default_config_len, err, errlen);
}

uint64_t ac_config_runner_frame_max(const struct ac_config *cfg)
{
	uint64_t big = cfg->max_request > cfg->output_limit ? cfg->max_request : cfg->output_limit;

	if (cfg->runner_frame_max)
		return cfg->runner_frame_max;
	/* a value read back may be what a request set (Python's json adds a
	 * space after each ',' and ':', so up to half again), or what a cell
	 * made, which is bounded like its output: twice the larger, and room
	 * for the envelope */
	return 2 * big + 64 * 1024;
}

const struct ac_tenant_config *ac_config_find_tenant(const struct ac_config *cfg, const char *name)
{
	for (int i = 0; name && i < cfg->n_tenants && i < AC_TENANTS_MAX; i++)
		if (strcmp(cfg->tenants[i].name, name) == 0)
			return &cfg->tenants[i];
	return NULL;
}

const struct ac_budget *ac_config_session_budget(const struct ac_config *cfg,
						 const struct ac_tenant_config *tc)
{
	return tc && tc->has_session_budget ? &tc->session_budget : &cfg->session_budget;
}
