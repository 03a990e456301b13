// SPDX-License-Identifier: GPL-2.0
/* The verdict on a finished call: which resources of its intent were
 * exceeded, what was done about each, and one summary line an agent can
 * act on. Pure logic over ac_usage / ac_call_end. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "agentcg/units.h"
#include "agentcg/util.h"
#include "agentcg/verdict.h"

#define FINDINGS_MAX 8
#define PHRASE_MAX 320
#define SUMMARY_MAX 512
#define HUMAN_MAX 32

/* Severity of an action: the most severe finding leads the summary. */
enum severity { SEV_REPORTED = 1, SEV_RECLAIMED, SEV_THROTTLED, SEV_REFUSED, SEV_FROZEN, SEV_KILLED };

struct finding {
	const char *resource;
	const char *unit;
	const char *action;
	enum severity sev;
	json_t *limit, *used, *over_by; /* owned until rendered */
	char phrase[PHRASE_MAX];
};

struct findings {
	int n;
	struct finding f[FINDINGS_MAX];
};

static json_t *u64_json(uint64_t v)
{
	if (v == AC_UNLIMITED)
		return json_string("max");
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static struct finding *finding_add(struct findings *fs, const char *resource, const char *unit,
				   const char *action, enum severity sev)
{
	struct finding *f;

	if (fs->n >= FINDINGS_MAX)
		return NULL;
	f = &fs->f[fs->n++];
	*f = (struct finding){ .resource = resource, .unit = unit, .action = action, .sev = sev };
	return f;
}

static void finding_bytes(struct finding *f, uint64_t limit, uint64_t used)
{
	f->limit = u64_json(limit);
	f->used = u64_json(used);
	f->over_by = u64_json(limit == AC_UNLIMITED ? 0 : sub0(used, limit));
}

static void human_size(uint64_t b, char *buf, size_t len)
{
	ac_format_size(b, buf, len);
}

static void human_us(uint64_t us, char *buf, size_t len)
{
	ac_format_duration(us > UINT64_MAX / 1000 ? UINT64_MAX - 1 : us * 1000, buf, len);
}

/* What stopping a call over a limit meant: frozen, interrupted (a
 * session.exec cell; its session keeps its state) or killed. */
static const char *stop_action(const struct ac_call_end *end)
{
	return end->frozen ? "frozen" : end->interrupted ? "interrupted" : "killed";
}

static enum severity stop_severity(const struct ac_call_end *end)
{
	return end->frozen || end->interrupted ? SEV_FROZEN : SEV_KILLED;
}

static bool died_of(const struct ac_call_end *end, int sig)
{
	return !end->exited && end->term_signal == sig;
}

/* "python3 (pid 12, RSS 250M)" */
static void victim_phrase(const struct ac_oom_victim *v, char *buf, size_t len)
{
	char rss[HUMAN_MAX];

	human_size(v->rss, rss, sizeof(rss));
	snprintf(buf, len, "%.16s (pid %d, RSS %s)", v->comm, v->pid, rss);
}

static void check_memory_max(struct findings *fs, const struct ac_limits *lim,
			     const struct ac_usage *u, const struct ac_call_end *end)
{
	const struct ac_oom_victim *v = &end->oom;
	bool killed = v->seen || u->mem_oom_kill > 0 ||
		      (u->mem_max > 0 && end->stop == AC_STOP_NONE && died_of(end, SIGKILL));
	char peak[HUMAN_MAX], max[HUMAN_MAX], who[96] = "";
	struct finding *f;

	/* reclaim at a limit the call does not have is not the call's */
	if (!killed && (!u->mem_max || lim->memory_max == AC_UNLIMITED))
		return;
	f = finding_add(fs, "memory_max", "bytes", killed ? "killed" : "reclaimed",
			killed ? SEV_KILLED : SEV_RECLAIMED);
	if (!f)
		return;
	finding_bytes(f, lim->memory_max, u->memory_peak);
	human_size(u->memory_peak, peak, sizeof(peak));
	human_size(lim->memory_max, max, sizeof(max));
	if (v->seen)
		victim_phrase(v, who, sizeof(who));
	if (v->seen && v->level && strcmp(v->level, "call") != 0) {
		char lim_h[HUMAN_MAX];

		human_size(v->limit, lim_h, sizeof(lim_h));
		if (v->limit == AC_UNLIMITED)
			snprintf(f->phrase, sizeof(f->phrase),
				 "the OOM killer killed %.60s: the host ran out of memory (call peak "
				 "%s); use less memory or retry later", who, peak);
		else
			snprintf(f->phrase, sizeof(f->phrase),
				 "the OOM killer killed %.40s at the %.8s budget of %s (%.60s; call peak "
				 "%s); use less memory, or ask for a bigger %.8s budget", who, v->level,
				 lim_h, v->path, peak, v->level);
	} else if (killed && lim->memory_max == AC_UNLIMITED)
		snprintf(f->phrase, sizeof(f->phrase),
			 "killed by the OOM killer (peak %s; the call has no memory_max, so its "
			 "session, tenant or the host ran out of memory); use less memory or ask for "
			 "a bigger budget", peak);
	else if (killed && v->seen)
		snprintf(f->phrase, sizeof(f->phrase),
			 "exceeded memory_max (%s): the OOM killer killed %.60s (call peak %s); declare "
			 "more memory or use less (e.g. fewer parallel workers)", max, who, peak);
	else if (killed)
		snprintf(f->phrase, sizeof(f->phrase),
			 "exceeded memory_max (peak %s of %s): killed by the OOM killer; declare more "
			 "memory or use less (e.g. fewer parallel workers)", peak, max);
	else
		snprintf(f->phrase, sizeof(f->phrase),
			 "exceeded memory_max (peak %s of %s): the kernel reclaimed memory at the "
			 "hard limit %llu times, which slows the call; declare more memory_max",
			 peak, max, (unsigned long long)u->mem_max);
}

static void check_memory_high(struct findings *fs, const struct ac_limits *lim,
			      const struct ac_usage *u, const struct ac_call_end *end)
{
	char peak[HUMAN_MAX], high[HUMAN_MAX], over[HUMAN_MAX];
	struct finding *f;

	human_size(u->memory_peak, peak, sizeof(peak));
	human_size(lim->memory_high, high, sizeof(high));
	if (end->stop == AC_STOP_MEMORY) { /* stopped by BPF (v1; exec cells on v2) */
		const char *act = stop_action(end);

		f = finding_add(fs, "memory", "bytes", act, stop_severity(end));
		if (!f)
			return;
		finding_bytes(f, lim->memory_high, u->memory_peak);
		snprintf(f->phrase, sizeof(f->phrase),
			 "exceeded memory (%s): %s when its charge passed it (peak %s); declare "
			 "more memory or use less", high, act, peak);
		return;
	}
	if (u->has_mem_high_knob && u->mem_high > 0 && lim->memory_high != AC_UNLIMITED) {
		f = finding_add(fs, "memory", "bytes", "throttled", SEV_THROTTLED);
		if (!f)
			return;
		finding_bytes(f, lim->memory_high, u->memory_peak);
		snprintf(f->phrase, sizeof(f->phrase),
			 "exceeded memory (peak %s, memory %s): throttled and reclaimed %llu times, "
			 "which slows the call; declare more memory", peak, high,
			 (unsigned long long)u->mem_high);
		return;
	}
	if (u->has_mem_high_knob || lim->memory_high == AC_UNLIMITED ||
	    u->memory_peak <= lim->memory_high)
		return;
	f = finding_add(fs, "memory", "bytes", "reported", SEV_REPORTED);
	if (!f)
		return;
	finding_bytes(f, lim->memory_high, u->memory_peak);
	human_size(u->memory_peak - lim->memory_high, over, sizeof(over));
	snprintf(f->phrase, sizeof(f->phrase),
		 "exceeded memory (peak %s over %s by %s): reported only (this host cannot "
		 "throttle at memory); declare more memory", peak, high, over);
}

/* Cores rounded to 3 decimals, for people and agents reading them. */
static double round3(double x)
{
	return x > 0 ? (double)(int64_t)(x * 1000.0 + 0.5) / 1000.0 : 0;
}

static double limit_cores(const struct ac_intent *in, const struct ac_limits *lim)
{
	if (in->set & AC_F_CPU)
		return in->cpu;
	if (lim->cpu_quota_us != AC_UNLIMITED && lim->cpu_period_us)
		return (double)lim->cpu_quota_us / (double)lim->cpu_period_us;
	return 0;
}

static void check_cpu(struct findings *fs, const struct ac_intent *in,
		      const struct ac_limits *lim, const struct ac_usage *u)
{
	double limit = limit_cores(in, lim), used = 0;
	char thr[HUMAN_MAX];
	struct finding *f;

	/* Throttled with no quota of its own: the containment ladder did it
	 * (the verdict's "containment" says so), not an intent. */
	if (!u->cpu_nr_throttled || lim->cpu_quota_us == AC_UNLIMITED)
		return;
	if (u->wall_ns)
		used = round3((double)(u->cpu_user_us + u->cpu_system_us) * 1000.0 /
			      (double)u->wall_ns);
	f = finding_add(fs, "cpu", "cores", "throttled", SEV_THROTTLED);
	if (!f)
		return;
	f->limit = json_real(limit);
	f->used = json_real(used);
	f->over_by = json_real(round3(used - limit));
	human_us(u->cpu_throttled_us, thr, sizeof(thr));
	snprintf(f->phrase, sizeof(f->phrase),
		 "exceeded cpu (%g cores): throttled for %s in %llu periods, %.2f cores used on "
		 "average; declare more cpu to finish sooner", limit, thr,
		 (unsigned long long)u->cpu_nr_throttled, used);
}

static void check_pids(struct findings *fs, const struct ac_limits *lim,
		       const struct ac_usage *u)
{
	char max[HUMAN_MAX];
	struct finding *f;

	if (!u->pids_max_events)
		return;
	f = finding_add(fs, "pids", "processes", "refused", SEV_REFUSED);
	if (!f)
		return;
	f->limit = u64_json(lim->pids_max);
	f->used = u64_json(u->pids_peak);
	f->over_by = u64_json(u->pids_max_events); /* forks refused */
	if (lim->pids_max == AC_UNLIMITED)
		ac_strlcpy(max, "max", sizeof(max));
	else
		snprintf(max, sizeof(max), "%llu", (unsigned long long)lim->pids_max);
	snprintf(f->phrase, sizeof(f->phrase),
		 "exceeded pids (%s): %llu forks refused (peak %llu processes); declare more pids "
		 "or start fewer processes", max, (unsigned long long)u->pids_max_events,
		 (unsigned long long)u->pids_peak);
}

static void check_timeout(struct findings *fs, const struct ac_intent *in,
			  const struct ac_usage *u, const struct ac_call_end *end)
{
	char lim_h[HUMAN_MAX], wall[HUMAN_MAX];
	uint64_t limit_us = in->timeout_ns / 1000, used_us = u->wall_ns / 1000;
	struct finding *f;

	if (end->stop != AC_STOP_TIMEOUT)
		return;
	f = finding_add(fs, "timeout", "us", stop_action(end),
			stop_severity(end));
	if (!f)
		return;
	f->limit = u64_json(limit_us);
	f->used = u64_json(used_us);
	f->over_by = u64_json(sub0(used_us, limit_us));
	ac_format_duration(in->timeout_ns, lim_h, sizeof(lim_h));
	ac_format_duration(u->wall_ns, wall, sizeof(wall));
	snprintf(f->phrase, sizeof(f->phrase),
		 "exceeded timeout (%s): %s after %s; declare a longer timeout or do less per call",
		 lim_h, stop_action(end), wall);
}

static void check_cpu_time(struct findings *fs, const struct ac_intent *in,
			   const struct ac_usage *u, const struct ac_call_end *end)
{
	char lim_h[HUMAN_MAX], used_h[HUMAN_MAX];
	uint64_t limit_us = in ? in->cpu_time_ns / 1000 : 0;
	uint64_t used_us = u->cpu_user_us + u->cpu_system_us;
	struct finding *f;
	const char *action;
	bool stopped = end->stop == AC_STOP_CPU_TIME;

	/* With on_exceed "report" the call ran on past its budget: say so. */
	if (!stopped && (!in || !(in->set & AC_F_CPU_TIME) || used_us <= limit_us))
		return;
	action = !stopped ? "reported" : stop_action(end);
	f = finding_add(fs, "cpu_time", "us", action,
			!stopped ? SEV_REPORTED : stop_severity(end));
	if (!f)
		return;
	f->limit = u64_json(limit_us);
	f->used = u64_json(used_us);
	f->over_by = u64_json(sub0(used_us, limit_us));
	ac_format_duration(in->cpu_time_ns, lim_h, sizeof(lim_h));
	human_us(used_us, used_h, sizeof(used_h));
	snprintf(f->phrase, sizeof(f->phrase),
		 "exceeded cpu_time (%s): %s after %s of CPU; declare more cpu_time or do less per "
		 "call", lim_h, stopped ? action : "used", used_h);
}

static void check_forks(struct findings *fs, const struct ac_intent *in,
			const struct ac_usage *u, const struct ac_call_end *end)
{
	struct finding *f;
	const char *action;
	bool stopped = end->stop == AC_STOP_FORKS;

	if (!stopped && (!(in->set & AC_F_FORKS) || !u->forks_known || u->forks <= in->forks))
		return;
	action = !stopped ? "reported" : stop_action(end);
	f = finding_add(fs, "forks", "processes", action,
			!stopped ? SEV_REPORTED : stop_severity(end));
	if (!f)
		return;
	f->limit = u64_json(in->forks);
	f->used = u64_json(u->forks);
	f->over_by = u64_json(sub0(u->forks, in->forks));
	snprintf(f->phrase, sizeof(f->phrase),
		 "exceeded forks (%u): %s at fork %llu; start fewer processes (e.g. no loop of "
		 "subshells) or declare more forks", in->forks,
		 stopped ? action : "reported", (unsigned long long)u->forks);
}

static const char *stopped_by(enum ac_stop_reason stop)
{
	switch (stop) {
	case AC_STOP_DISCONNECT:
		return "client disconnect";
	case AC_STOP_OPERATOR:
		return "operator";
	case AC_STOP_SHUTDOWN:
		return "shutdown";
	case AC_STOP_PRESSURE:
		return "memory pressure";
	default:
		return NULL;
	}
}

static json_t *exit_json(const struct ac_call_end *end)
{
	char name[32];

	if (end->exited)
		return json_pack("{s:i}", "code", end->exit_code);
	if (end->term_signal > 0) {
		ac_signal_name(end->term_signal, name, sizeof(name));
		return json_pack("{s:i, s:s}", "signal", end->term_signal, "signal_name", name);
	}
	return json_object();
}

/* Bounded appends to the summary line. */
struct line {
	char buf[SUMMARY_MAX];
	size_t len;
};

static void line_add(struct line *l, const char *fmt, ...) AC_PRINTF(2, 3);
static void line_add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof(l->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len = (size_t)n >= sizeof(l->buf) - l->len ? sizeof(l->buf) - 1 : l->len + (size_t)n;
}

/* "(peak 12M, cpu 10ms, 20ms wall)" */
static void line_add_usage(struct line *l, const struct ac_usage *u)
{
	char peak[HUMAN_MAX], cpu[HUMAN_MAX], wall[HUMAN_MAX];

	human_size(u->memory_peak, peak, sizeof(peak));
	human_us(u->cpu_user_us + u->cpu_system_us, cpu, sizeof(cpu));
	ac_format_duration(u->wall_ns, wall, sizeof(wall));
	line_add(l, "(peak %s, cpu %s, %s wall)", peak, cpu, wall);
}

static int leading_finding(const struct findings *fs)
{
	int best = 0;

	for (int i = 1; i < fs->n; i++)
		if (fs->f[i].sev > fs->f[best].sev)
			best = i;
	return best;
}

static bool was_contained(const struct ac_call_end *end)
{
	return end->contain.throttled || end->contain.frozen || end->stop == AC_STOP_PRESSURE;
}

/* The ladder's last step: what happened and what the agent can change. */
static void line_add_pressure(struct line *l, const struct ac_call_end *end)
{
	const struct ac_contain_report *c = &end->contain;
	char usage[HUMAN_MAX], budget[HUMAN_MAX];

	human_size(c->usage, usage, sizeof(usage));
	human_size(c->budget, budget, sizeof(budget));
	line_add(l, "%s under memory pressure: %s%s was at %s of %s and this %s-priority %s was "
		 "the largest one contained; run it later, with less memory, or at a higher "
		 "priority ", end->interrupted ? "interrupted" : "killed",
		 c->host ? "the host" : "budget ", c->host ? "" : c->domain, usage, budget,
		 ac_priority_name(c->priority), end->interrupted ? "cell" : "call");
}

/* "; slowed under memory pressure: throttled 1.2s, frozen 300ms" and,
 * when its pages went to swap while frozen, ", 280M of it pushed out to
 * swap" */
static void line_add_contained(struct line *l, const struct ac_call_end *end)
{
	const struct ac_contain_report *c = &end->contain;
	char t[HUMAN_MAX], f[HUMAN_MAX], r[HUMAN_MAX];

	if (!c->throttled && !c->frozen)
		return;
	ac_format_duration(c->throttled_ns, t, sizeof(t));
	ac_format_duration(c->frozen_ns, f, sizeof(f));
	line_add(l, "; slowed under memory pressure (%s-priority): throttled %s, frozen %s",
		 ac_priority_name(c->priority), t, f);
	if (c->reclaimed) {
		human_size(c->reclaimed, r, sizeof(r));
		line_add(l, ", %s of it pushed out to swap", r);
	}
}

static json_t *contain_json(const struct ac_call_end *end)
{
	const struct ac_contain_report *c = &end->contain;

	return json_pack("{s:s, s:i, s:I, s:i, s:I, s:b, s:o, s:I, s:{s:s, s:o, s:o}}",
			 "priority", ac_priority_name(c->priority), "throttled", (int)c->throttled,
			 "throttled_ms", (json_int_t)(c->throttled_ns / 1000000), "frozen",
			 (int)c->frozen, "frozen_ms", (json_int_t)(c->frozen_ns / 1000000),
			 "killed", end->stop == AC_STOP_PRESSURE, "reclaimed", u64_json(c->reclaimed),
			 "reclaim_ms", (json_int_t)(c->reclaim_ns / 1000000), "domain", "path",
			 c->host ? "host" : c->domain, "usage", u64_json(c->usage), "budget",
			 u64_json(c->budget));
}

static void summarize(struct line *l, const struct findings *fs, const struct ac_usage *u,
		      const struct ac_call_end *end, const char *stopper)
{
	char sig[32];

	if (end->stop == AC_STOP_PRESSURE) {
		line_add_pressure(l, end);
		line_add_usage(l, u);
		return;
	}
	if (fs->n) {
		int lead = leading_finding(fs);
		const char *sep = "; also exceeded: ";

		line_add(l, "%s", fs->f[lead].phrase);
		for (int i = 0; i < fs->n; i++) {
			if (i == lead)
				continue;
			line_add(l, "%s%s (%s)", sep, fs->f[i].resource, fs->f[i].action);
			sep = ", ";
		}
		if (end->exited && end->exit_code != 0)
			line_add(l, "; exited with code %d", end->exit_code);
		line_add_contained(l, end);
		return;
	}
	if (stopper) {
		if (end->stop == AC_STOP_OPERATOR)
			line_add(l, "stopped by the operator: killed ");
		else if (end->stop == AC_STOP_DISCONNECT)
			line_add(l, "killed because the client disconnected ");
		else
			line_add(l, "killed because the daemon is shutting down ");
	} else if (end->exited && end->exit_code != 0) {
		line_add(l, "exited with code %d ", end->exit_code);
	} else if (!end->exited && end->term_signal > 0) {
		ac_signal_name(end->term_signal, sig, sizeof(sig));
		line_add(l, "killed by signal %s ", sig);
	} else {
		line_add(l, "within intent ");
	}
	line_add_usage(l, u);
	line_add_contained(l, end);
}

static json_t *findings_json(struct findings *fs)
{
	json_t *arr = json_array();

	for (int i = 0; i < fs->n; i++) {
		struct finding *f = &fs->f[i];
		json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:s, s:s}", "resource", f->resource,
				      "limit", f->limit ? f->limit : json_null(), "used",
				      f->used ? f->used : json_null(), "over_by",
				      f->over_by ? f->over_by : json_null(), "unit", f->unit,
				      "action", f->action);

		/* "o" steals the references even on failure */
		f->limit = f->used = f->over_by = NULL;
		if (arr && o)
			json_array_append_new(arr, o);
		else
			json_decref(o);
	}
	return arr;
}

static json_t *oom_json(const struct ac_oom_victim *o)
{
	char rss[HUMAN_MAX];

	human_size(o->rss, rss, sizeof(rss));
	return json_pack("{s:i, s:s, s:o, s:s, s:{s:s, s:s, s:o}}", "pid", o->pid, "command",
			 o->comm, "rss", u64_json(o->rss), "rss_h", rss, "limit", "level",
			 o->level ? o->level : "call", "path", o->path, "bytes",
			 u64_json(o->limit));
}

json_t *ac_verdict_build(const struct ac_intent *in, const struct ac_limits *lim,
			 const struct ac_usage *u, const struct ac_call_end *end)
{
	static const struct ac_intent no_intent;
	static const struct ac_usage no_usage;
	static const struct ac_call_end no_end;
	struct findings fs = { 0 };
	struct ac_limits unl;
	struct line line = { .len = 0 };
	const char *stopper, *status;
	json_t *v;

	if (!lim) {
		ac_limits_unlimited(&unl);
		lim = &unl;
	}
	in = in ? in : &no_intent;
	u = u ? u : &no_usage;
	end = end ? end : &no_end;

	check_memory_max(&fs, lim, u, end);
	check_memory_high(&fs, lim, u, end);
	check_cpu(&fs, in, lim, u);
	check_pids(&fs, lim, u);
	check_timeout(&fs, in, u, end);
	check_cpu_time(&fs, in, u, end);
	check_forks(&fs, in, u, end);
	stopper = stopped_by(end->stop);

	if (fs.n)
		status = "exceeded";
	else if (stopper || (end->exited && end->exit_code != 0) ||
		 (!end->exited && end->term_signal > 0))
		status = "failed";
	else
		status = "ok";
	summarize(&line, &fs, u, end, stopper);
	if (end->retried) {
		char w[HUMAN_MAX];

		ac_format_duration(end->retry_lost_ns, w, sizeof(w));
		line_add(&line, "; run again %u time%s after memory pressure killed it (%s lost)",
			 end->retried, end->retried == 1 ? "" : "s", w);
	}
	if (end->waited_ns >= 1000000) {
		char w[HUMAN_MAX];

		ac_format_duration(end->waited_ns, w, sizeof(w));
		line_add(&line, "; waited %s to start (%s)", w,
			 end->waited_pressure ? "held back by memory pressure" : "for budget");
	}

	v = json_pack("{s:s, s:o, s:s, s:o}", "status", status, "exceeded", findings_json(&fs),
		      "summary", line.buf, "exit", exit_json(end));
	if (v && stopper)
		json_object_set_new(v, "stopped_by", json_string(stopper));
	if (v && end->frozen)
		json_object_set_new(v, "frozen", json_true());
	if (v && end->oom.seen)
		json_object_set_new(v, "oom", oom_json(&end->oom));
	if (v && was_contained(end))
		json_object_set_new(v, "containment", contain_json(end));
	if (v && end->retried)
		json_object_set_new(v, "retry",
				    json_pack("{s:i, s:i, s:I}", "attempts", (int)end->retried + 1,
					      "killed", (int)end->retried, "lost_ms",
					      (json_int_t)(end->retry_lost_ns / 1000000)));
	if (v && end->waited_ns)
		json_object_set_new(v, "admission",
				    json_pack("{s:I, s:s}", "waited_ms",
					      (json_int_t)(end->waited_ns / 1000000), "held_by",
					      end->waited_pressure ? "memory pressure" : "budget"));
	return v;
}

json_t *ac_usage_to_json(const struct ac_usage *u)
{
	char peak[HUMAN_MAX];
	json_t *o;

	human_size(u->memory_peak, peak, sizeof(peak));
	o = json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:o, s:o}",
			 "memory_peak", u64_json(u->memory_peak), "memory_peak_h", peak,
			 "cpu_user_us", u64_json(u->cpu_user_us), "cpu_system_us",
			 u64_json(u->cpu_system_us), "wall_us", u64_json(u->wall_ns / 1000),
			 "cpu_throttled_us", u64_json(u->cpu_throttled_us), "cpu_nr_throttled",
			 u64_json(u->cpu_nr_throttled), "memory_events", "high",
			 u64_json(u->mem_high), "max", u64_json(u->mem_max), "oom",
			 u64_json(u->mem_oom), "oom_kill", u64_json(u->mem_oom_kill), "pids_peak",
			 u64_json(u->pids_peak), "pids_max_events", u64_json(u->pids_max_events));
	if (o && u->forks_known)
		json_object_set_new(o, "forks", u64_json(u->forks));
	return o;
}
