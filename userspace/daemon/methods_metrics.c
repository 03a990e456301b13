// SPDX-License-Identifier: GPL-2.0
/* The metrics: every module's families put together as Prometheus text
 * (acd_metrics_text), for the `metrics` method (operators only: the
 * series name tenants and sessions) and the metrics_listen listener
 * (metrics_http.c). README "Metrics" lists the series. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agentcg/util.h"
#include "bpf.h"
#include "contain.h"
#include "interp.h"
#include "methods.h"
#include "metrics.h"
#include "metrics_http.h"
#include "pool.h"
#include "pressure.h"
#include "rpc.h"
#include "tree.h"

/* The daemon's resident memory, from /proc/self/statm; 0 if unknown. */
static uint64_t self_rss(void)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* The daemon's open fds (the directory's own fd not counted); -1 if unknown. */
static int64_t self_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int64_t n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

static void daemon_metrics(struct acd_ctx *ctx, struct acd_metrics *m)
{
	struct rlimit rl;
	uint64_t waiting = 0;
	int64_t fds = self_fds();

	for (const struct acd_call *w = ctx->calls->waiting; w; w = w->wait_next)
		waiting++;
	acd_metrics_family(m, "agentcg_build_info", ACD_GAUGE,
			   "Always 1: the daemon's version and cgroup backend as labels.");
	acd_metrics_u64(m, 1, "version", ACD_VERSION, "backend", ac_cg_backend_name(&ctx->cg),
			NULL);
	acd_metrics_family(m, "agentcg_daemon_resident_memory_bytes", ACD_GAUGE,
			   "Resident memory of agentcgd itself (/proc/self/statm).");
	acd_metrics_u64(m, self_rss(), NULL);
	if (fds >= 0) {
		acd_metrics_family(m, "agentcg_daemon_open_fds", ACD_GAUGE,
				   "File descriptors agentcgd holds open (/proc/self/fd).");
		acd_metrics_u64(m, (uint64_t)fds, NULL);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		acd_metrics_family(m, "agentcg_daemon_max_fds", ACD_GAUGE,
				   "The most file descriptors agentcgd may hold (RLIMIT_NOFILE).");
		acd_metrics_u64(m, (uint64_t)rl.rlim_cur, NULL);
	}
	acd_metrics_family(m, "agentcg_clients", ACD_GAUGE,
			   "Connections to the daemon's JSON-RPC socket now.");
	acd_metrics_u64(m, (uint64_t)ctx->n_clients, NULL);
	acd_metrics_family(m, "agentcg_calls_running", ACD_GAUGE,
			   "Calls (commands and cells) running now.");
	acd_metrics_u64(m, (uint64_t)(ctx->calls_running > 0 ? ctx->calls_running : 0), NULL);
	acd_metrics_family(m, "agentcg_calls_waiting", ACD_GAUGE,
			   "Calls waiting at admission now (for budget, or held by memory pressure).");
	acd_metrics_u64(m, waiting, NULL);
	acd_metrics_family(m, "agentcg_calls_started_total", ACD_COUNTER,
			   "Calls whose command or cell started (a retried call counts each run).");
	acd_metrics_u64(m, ctx->calls_total, NULL);
}

int acd_metrics_text(struct acd_ctx *ctx, struct ac_buf *out)
{
	struct acd_metrics m;

	acd_metrics_init(&m, out, ACD_METRICS_TEXT_MAX);
	daemon_metrics(ctx, &m);
	acd_tree_metrics(ctx, &m);
	acd_pressure_metrics(ctx, &m);
	acd_contain_metrics(ctx, &m);
	acd_pool_metrics(ctx, &m);
	acd_interp_metrics(ctx, &m);
	acd_bpf_metrics(ctx, &m);
	acd_metrics_http_metrics(ctx, &m);
	if (acd_metrics_end(&m) < 0)
		return ac_log_errno(acd_metrics_end(&m), "metrics: the text (at most %u bytes)",
				    ACD_METRICS_TEXT_MAX);
	return 0;
}

int acd_m_metrics(struct acd_ctx *ctx, struct acd_req *r)
{
	struct ac_buf text = { 0 };
	json_t *s;
	int e = acd_metrics_text(ctx, &text);

	if (e < 0) {
		ac_buf_free(&text);
		return acd_req_errno(r, e, "metrics");
	}
	s = json_stringn(text.data ? text.data : "", text.len);
	ac_buf_free(&text);
	if (!s)
		return acd_req_errno(r, -EILSEQ, "metrics (not UTF-8)");
	acd_reply_result(ctx, r->c, r->id,
			 json_pack("{s:o, s:s}", "text", s, "content_type", ACD_METRICS_CONTENT_TYPE));
	return 0;
}
