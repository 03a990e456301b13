// SPDX-License-Identifier: GPL-2.0
/* Memory pressure, detected by the kernel: every source is an fd in the
 * epoll set or a BPF record, none is a fixed-interval poll.
 *
 * A domain is a memory budget the ladder (contain.c, layers above,
 * stepped through ctx->hooks.pressure_kick) defends: the root
 * (memory_budget, written as its memory.max / v1 memory.limit_in_bytes;
 * without one, the host's memory) and every tenant with a memory_max.
 * Its usage, as a fraction of the budget, puts it in a band (calm, hold,
 * throttle, freeze, kill: the containment.* marks).
 *
 * Sources, each of which kicks the ladder:
 *  - a PSI trigger on each domain's memory.pressure ("some" stall of
 *    PSI_STALL_US in a 2 s window: the windows must be multiples of 2 s
 *    here); while one fired, the domain counts as at least throttling;
 *  - v1 (hybrid): usage thresholds of the domain's memory cgroup at every
 *    mark (cgroup.event_control + an eventfd), signalled by the kernel
 *    when the usage crosses one in either direction;
 *  - v2: memory.events of the root, tenants and sessions (a change is a
 *    file-modified event: EPOLLPRI);
 *  - BPF: at a call's page fault the programs compare the root's charge
 *    with a mark armed just above its current band, and send one record
 *    (bpf/agentcg.bpf.c, check_pressure).
 * While calls are contained the ladder steps on its own timer, which is
 * how it sees usage fall. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agentcg/units.h"
#include "agentcg/util.h"
#include "bpf.h"
#include "events.h"
#include "metrics.h"
#include "pressure.h"
#include "server.h"

#define PSI_STALL_US 100000ULL	     /* 100 ms of stall ... */
#define PSI_WINDOW_US 2000000ULL     /* ... in 2 s */
#define PSI_HOLD_NS (2ULL * 1000000000)

#define DOM_OF(w, member) ((struct acd_domain *)((char *)(w) - offsetof(struct acd_domain, member)))

/* ---- host memory (the root without a budget) ------------------------- */

static int meminfo(uint64_t *total, uint64_t *avail)
{
	char buf[4096];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	const char *p;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	p = strstr(buf, "MemTotal:");
	if (!p || sscanf(p, "MemTotal: %" SCNu64, total) != 1)
		return -EIO;
	p = strstr(buf, "MemAvailable:");
	if (!p || sscanf(p, "MemAvailable: %" SCNu64, avail) != 1)
		return -EIO;
	*total *= 1024;
	*avail *= 1024;
	return 0;
}

/* ---- bands ----------------------------------------------------------- */

static enum acd_band band_of(const struct ac_containment *k, uint64_t usage, uint64_t budget)
{
	double f = budget ? (double)usage / (double)budget : 0;

	if (f >= k->kill_at)
		return BAND_KILL;
	if (f >= k->freeze_at)
		return BAND_FREEZE;
	if (f >= k->throttle_at)
		return BAND_THROTTLE;
	if (f >= k->thaw_below)
		return BAND_HOLD;
	return BAND_CALM;
}

static void sample_domain(struct acd_ctx *ctx, struct acd_domain *d, uint64_t now)
{
	const struct ac_containment *k = &ctx->cfg.contain;
	enum acd_band was = d->band;

	d->usage = ac_cg_memory_current(&ctx->cg, d->node);
	d->usage_ns = now;
	if (!d->host)
		d->limit_hits = ac_cg_memory_limit_hits(&ctx->cg, d->node);
	if (d->host) {
		uint64_t total = 0, avail = 0;

		if (meminfo(&total, &avail) == 0) {
			d->budget = total;
			if (total - avail > d->usage)
				d->usage = total - avail;
		}
	}
	d->band = band_of(k, d->usage, d->budget);
	d->release_band = band_of(k, d->usage + (uint64_t)((k->throttle_at - k->thaw_below) *
							   (double)d->budget), d->budget);
	if (d->psi_until_ns > now && d->band >= BAND_HOLD && d->band < BAND_THROTTLE)
		d->band = d->release_band = BAND_THROTTLE;
	if (d->band != was && (unsigned)d->band < ACD_BANDS)
		d->band_entries[d->band]++;
}

enum acd_band acd_pressure_release_band(const struct acd_ctx *ctx, const struct acd_domain *d,
					uint64_t back)
{
	const struct ac_containment *k = &ctx->cfg.contain;
	enum acd_band b;

	if (!back)
		return d->release_band;
	b = band_of(k, d->usage + back + (uint64_t)((k->throttle_at - k->thaw_below) *
						    (double)d->budget), d->budget);
	return b > d->release_band ? b : d->release_band;
}

void acd_pressure_sample(struct acd_ctx *ctx, uint64_t now)
{
	sample_domain(ctx, &ctx->pressure->root, now);
	for (struct acd_domain *d = ctx->pressure->tenants; d; d = d->next)
		sample_domain(ctx, d, now);
}

void acd_pressure_rearm(struct acd_ctx *ctx)
{
	const struct ac_containment *k = &ctx->cfg.contain;
	const struct acd_domain *d = &ctx->pressure->root;
	double next = 0;

	if (!ctx->pressure->bpf_mark)
		return;
	switch (d->band) {
	case BAND_CALM:
	case BAND_HOLD: next = k->throttle_at; break;
	case BAND_THROTTLE: next = k->freeze_at; break;
	case BAND_FREEZE: next = k->kill_at; break;
	default: /* in the kill band: within 1% of the budget, a kill is due */
		acd_bpf_pressure_arm(ctx, d->budget - d->budget / 100);
		return;
	}
	acd_bpf_pressure_arm(ctx, (uint64_t)((double)d->budget * next));
}

void acd_pressure_kernel_event(struct acd_ctx *ctx, uint64_t bytes)
{
	ac_debug("pressure: the root's charge reached %" PRIu64 " bytes (BPF)", bytes);
	ctx->hooks.pressure_kick(ctx, "bpf");
}

/* ---- watchers -------------------------------------------------------- */

static void on_psi(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_domain *d = DOM_OF(w, psi);

	if (events & EPOLLERR) { /* the cgroup went away */
		acd_watch_close(ctx, w);
		return;
	}
	d->psi_until_ns = ac_now_ns() + PSI_HOLD_NS;
	acd_event(ctx, "pressure.psi", d->path,
		  json_pack("{s:I, s:I}", "stall_us", (json_int_t)PSI_STALL_US, "window_us",
			    (json_int_t)PSI_WINDOW_US));
	ctx->hooks.pressure_kick(ctx, "psi");
}

static void on_thresholds(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	uint64_t n;

	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		acd_watch_close(ctx, w);
	ctx->hooks.pressure_kick(ctx, "threshold");
}

/* memory.events: low, high, max, oom_kill; an event names what moved. */
static bool memevents_changed(struct acd_ctx *ctx, int fd, uint64_t last[4], json_t **delta)
{
	static const char *const keys[4] = { "low", "high", "max", "oom_kill" };
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	bool changed = false;

	*delta = NULL;
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (int i = 0; i < 4; i++) {
		char key[16];
		const char *p;
		uint64_t v;

		snprintf(key, sizeof(key), "%s ", keys[i]);
		p = strstr(buf, key);
		if (!p || (p != buf && p[-1] != '\n') || sscanf(p + strlen(key), "%" SCNu64, &v) != 1)
			continue;
		if (v != last[i]) {
			if (!*delta)
				*delta = json_object();
			json_object_set_new(*delta, keys[i], json_integer((json_int_t)(v - last[i])));
			last[i] = v;
			changed = true;
		}
	}
	return changed;
}

static void memevents_fire(struct acd_ctx *ctx, const char *path, int fd, uint64_t last[4])
{
	json_t *delta;

	if (!memevents_changed(ctx, fd, last, &delta))
		return;
	acd_event(ctx, "pressure.memory_events", path, delta);
	ctx->hooks.pressure_kick(ctx, "memory.events");
}

static void on_dom_memevents(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_domain *d = DOM_OF(w, memevents);

	memevents_fire(ctx, d->path, w->fd, d->last_events);
}

static void on_node_memevents(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_mem_watch *mw = (struct acd_mem_watch *)w;

	memevents_fire(ctx, mw->path, w->fd, mw->last);
}

/* memory.events of a node, watched for changes (v2). */
static int watch_memevents(struct acd_ctx *ctx, const struct ac_cg_node *node,
			   struct acd_watch *w, uint64_t last[4],
			   void (*fn)(struct acd_ctx *, struct acd_watch *, uint32_t))
{
	json_t *delta;
	int fd;

	if (!ac_cg_has_memory_events(&ctx->cg))
		return 0;
	fd = ac_cg_open_file(&ctx->cg, node, AC_H_UNIFIED, "memory.events", O_RDONLY);
	if (fd < 0)
		return fd;
	w->fd = fd;
	w->fn = fn;
	memevents_changed(ctx, fd, last, &delta); /* the baseline */
	json_decref(delta);
	return acd_watch_add(ctx, w, EPOLLPRI);
}

/* A PSI trigger on the node's memory.pressure (the unified tree has one
 * on both backends). */
static int watch_psi(struct acd_ctx *ctx, struct acd_domain *d)
{
	char trig[64];
	int fd, n;

	fd = ac_cg_open_file(&ctx->cg, d->node, AC_H_UNIFIED, "memory.pressure",
			     O_RDWR | O_NONBLOCK);
	if (fd < 0)
		return fd;
	n = snprintf(trig, sizeof(trig), "some %llu %llu", (unsigned long long)PSI_STALL_US,
		     (unsigned long long)PSI_WINDOW_US);
	if (write(fd, trig, (size_t)n + 1) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	d->psi.fd = fd;
	d->psi.fn = on_psi;
	return acd_watch_add(ctx, &d->psi, EPOLLPRI);
}

/* v1: the kernel signals an eventfd when the usage crosses a mark. */
static int watch_thresholds(struct acd_ctx *ctx, struct acd_domain *d)
{
	const struct ac_containment *k = &ctx->cfg.contain;
	const double marks[] = { k->thaw_below, k->throttle_at, k->freeze_at, k->kill_at, 0.99 };
	int efd, ufd, cfd, r = 0;

	if (!ac_cg_has_usage_thresholds(&ctx->cg) || d->host)
		return 0;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		return -errno;
	ufd = ac_cg_open_file(&ctx->cg, d->node, AC_H_MEMORY, "memory.usage_in_bytes", O_RDONLY);
	cfd = ac_cg_open_file(&ctx->cg, d->node, AC_H_MEMORY, "cgroup.event_control", O_WRONLY);
	if (ufd < 0 || cfd < 0)
		r = ufd < 0 ? ufd : cfd;
	for (size_t i = 0; r == 0 && i < AC_ARRAY_SIZE(marks); i++) {
		char line[96];
		int n = snprintf(line, sizeof(line), "%d %d %" PRIu64, efd, ufd,
				 (uint64_t)((double)d->budget * marks[i]));

		if (write(cfd, line, (size_t)n) < 0)
			r = -errno;
	}
	if (ufd >= 0)
		close(ufd);
	if (cfd >= 0)
		close(cfd);
	if (r < 0) {
		close(efd); /* closing it unregisters what was registered */
		return r;
	}
	d->thresholds.fd = efd;
	d->thresholds.fn = on_thresholds;
	return acd_watch_add(ctx, &d->thresholds, EPOLLIN);
}

/* A source that failed is closed (it may have been opened, not watched):
 * daemon.info says which are armed. */
static void domain_watch(struct acd_ctx *ctx, struct acd_domain *d)
{
	int r;

	d->psi.fd = d->memevents.fd = d->thresholds.fd = -1;
	if ((r = watch_psi(ctx, d)) < 0) {
		ac_log_errno(r, "pressure: no PSI trigger on %s", d->path);
		acd_watch_close(ctx, &d->psi);
	}
	if ((r = watch_memevents(ctx, d->node, &d->memevents, d->last_events,
				 on_dom_memevents)) < 0) {
		ac_log_errno(r, "pressure: cannot watch memory.events of %s", d->path);
		acd_watch_close(ctx, &d->memevents);
	}
	if ((r = watch_thresholds(ctx, d)) < 0) {
		ac_log_errno(r, "pressure: no usage thresholds on %s", d->path);
		acd_watch_close(ctx, &d->thresholds);
	}
}

static void domain_unwatch(struct acd_ctx *ctx, struct acd_domain *d)
{
	acd_watch_close(ctx, &d->psi);
	acd_watch_close(ctx, &d->memevents);
	acd_watch_close(ctx, &d->thresholds);
}

/* ---- setup ----------------------------------------------------------- */

int acd_pressure_init(struct acd_ctx *ctx)
{
	struct acd_domain *d;
	uint64_t total = 0, avail = 0;
	int r;

	ctx->pressure = calloc(1, sizeof(*ctx->pressure));
	if (!ctx->pressure)
		return -ENOMEM;
	d = &ctx->pressure->root;

	d->psi.fd = d->memevents.fd = d->thresholds.fd = -1;
	ac_strlcpy(d->path, "/", sizeof(d->path));
	d->node = &ctx->cg.root;
	if (ctx->cfg.memory_budget != AC_UNLIMITED) {
		struct ac_limits l;

		ac_limits_unlimited(&l);
		l.memory_max = ctx->cfg.memory_budget;
		r = ac_cg_apply_limits(&ctx->cg, &ctx->cg.root, &l, true);
		if (r < 0)
			return ac_log_errno(r, "cannot write the root's memory budget");
		d->budget = ctx->cfg.memory_budget;
	} else {
		d->host = true;
		if (meminfo(&total, &avail) == 0)
			d->budget = total;
	}
	if (!acd_contain_enabled(ctx))
		return 0;
	domain_watch(ctx, d);
	/* The kernel-side mark compares the root's own charge: with a budget. */
	ctx->pressure->bpf_mark = !d->host && acd_bpf_pressure_arm(ctx, 0);
	acd_pressure_sample(ctx, ac_now_ns());
	acd_pressure_rearm(ctx);
	return 0;
}

void acd_pressure_shutdown(struct acd_ctx *ctx)
{
	if (!ctx->pressure)
		return;
	if (ctx->pressure->bpf_mark)
		acd_bpf_pressure_arm(ctx, 0);
	domain_unwatch(ctx, &ctx->pressure->root);
	for (struct acd_domain *d = ctx->pressure->tenants; d; d = d->next)
		domain_unwatch(ctx, d); /* the tree frees them with its tenants */
}

void acd_pressure_free(struct acd_ctx *ctx)
{
	free(ctx->pressure);
	ctx->pressure = NULL;
}

int acd_pressure_domain_add(struct acd_ctx *ctx, const char *path, const struct ac_cg_node *node,
			    uint64_t budget, struct acd_domain **out)
{
	struct acd_domain *d;

	if (!acd_contain_enabled(ctx) || budget == AC_UNLIMITED || *out)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	ac_strlcpy(d->path, path, sizeof(d->path));
	d->node = node;
	d->budget = budget;
	domain_watch(ctx, d);
	d->next = ctx->pressure->tenants;
	ctx->pressure->tenants = d;
	*out = d;
	return 0;
}

void acd_pressure_domain_remove(struct acd_ctx *ctx, struct acd_domain **dp)
{
	struct acd_domain *d = *dp;

	if (!d)
		return;
	for (struct acd_domain **pp = &ctx->pressure->tenants; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	domain_unwatch(ctx, d);
	free(d);
	*dp = NULL;
}

void acd_pressure_watch_node(struct acd_ctx *ctx, struct acd_mem_watch *mw,
			     const struct ac_cg_node *node, const char *path)
{
	int r;

	mw->w.fd = -1;
	mw->path = path;
	if (!acd_contain_enabled(ctx))
		return;
	r = watch_memevents(ctx, node, &mw->w, mw->last, on_node_memevents);
	if (r < 0) {
		ac_log_errno(r, "pressure: cannot watch memory.events of %s", path);
		acd_watch_close(ctx, &mw->w); /* opened, not watched */
	}
}

void acd_pressure_unwatch_node(struct acd_ctx *ctx, struct acd_mem_watch *mw)
{
	acd_watch_close(ctx, &mw->w);
}

static const char *band_name(enum acd_band b)
{
	static const char *const names[] = { "calm", "hold", "throttle", "freeze", "kill" };

	return (unsigned)b < AC_ARRAY_SIZE(names) ? names[b] : "?";
}

static json_t *domain_json(const struct acd_domain *d)
{
	return json_pack("{s:s, s:I, s:I, s:s, s:b, s:b, s:b, s:b}", "path",
			 d->host ? "host" : d->path, "usage", (json_int_t)d->usage, "budget",
			 (json_int_t)d->budget, "band", band_name(d->band), "psi_trigger",
			 d->psi.fd >= 0, "memory_events", d->memevents.fd >= 0, "v1_thresholds",
			 d->thresholds.fd >= 0, "host", d->host);
}

json_t *acd_pressure_info(struct acd_ctx *ctx)
{
	json_t *doms;

	if (!acd_contain_enabled(ctx))
		return json_pack("{s:b}", "enabled", 0);
	doms = json_array();
	acd_pressure_sample(ctx, ac_now_ns());
	json_array_append_new(doms, domain_json(&ctx->pressure->root));
	for (const struct acd_domain *d = ctx->pressure->tenants; d; d = d->next)
		json_array_append_new(doms, domain_json(d));
	return json_pack("{s:b, s:b, s:o}", "enabled", 1, "bpf_mark", ctx->pressure->bpf_mark,
			 "domains", doms);
}

/* ---- metrics ----------------------------------------------------------- */

const char *acd_domain_name(const struct acd_domain *d)
{
	return d->host ? "host" : d->path;
}

const struct acd_domain *acd_domain_next(const struct acd_ctx *ctx, const struct acd_domain *d,
				       int *n)
{
	if (!d)
		d = &ctx->pressure->root;
	else if (d == &ctx->pressure->root)
		d = ctx->pressure->tenants;
	else
		d = d->next;
	return d && (*n)++ <= ACD_METRICS_TENANTS_MAX ? d : NULL;
}

/* The root's domain, then at most ACD_METRICS_TENANTS_MAX tenants'
 * (n: a counter, 0 at the start). */
#define FOR_EACH_DOMAIN(ctx, d, n)                                                             \
	for (const struct acd_domain *d = ((n) = 0, acd_domain_next(ctx, NULL, &(n))); d;      \
	     d = acd_domain_next(ctx, d, &(n)))

void acd_pressure_metrics(struct acd_ctx *ctx, struct acd_metrics *m)
{
	int n;

	if (!acd_contain_enabled(ctx))
		return;
	acd_pressure_sample(ctx, ac_now_ns()); /* as daemon.info does */
	acd_metrics_family(m, "agentcg_pressure_band", ACD_GAUGE,
			   "The memory pressure band each domain (the root, a tenant with a "
			   "memory_max) is in now: 1 for its band, 0 for the others (calm, hold, "
			   "throttle, freeze, kill).");
	FOR_EACH_DOMAIN(ctx, d, n)
		for (int b = 0; b < ACD_BANDS; b++)
			acd_metrics_u64(m, d->band == (enum acd_band)b, "domain", acd_domain_name(d),
					"band", band_name((enum acd_band)b), NULL);
	acd_metrics_family(m, "agentcg_pressure_band_entries_total", ACD_COUNTER,
			   "Times a domain was found in a band it was not in before (sampled at "
			   "the ladder's steps, its kernel events and scrapes).");
	FOR_EACH_DOMAIN(ctx, d, n)
		for (int b = 0; b < ACD_BANDS; b++)
			acd_metrics_u64(m, d->band_entries[b], "domain", acd_domain_name(d), "band",
					band_name((enum acd_band)b), NULL);
	acd_metrics_family(m, "agentcg_pressure_usage_bytes", ACD_GAUGE,
			   "Memory a domain uses now (its cgroup's charge; for host: MemTotal - "
			   "MemAvailable if larger).");
	FOR_EACH_DOMAIN(ctx, d, n)
		acd_metrics_u64(m, d->usage, "domain", acd_domain_name(d), NULL);
	acd_metrics_family(m, "agentcg_pressure_budget_bytes", ACD_GAUGE,
			   "The memory budget of a domain (memory_budget, a tenant's memory_max, "
			   "or the host's MemTotal).");
	FOR_EACH_DOMAIN(ctx, d, n)
		acd_metrics_u64(m, d->budget, "domain", acd_domain_name(d), NULL);
}
