/* SPDX-License-Identifier: GPL-2.0 */
/* metrics.c (layer 0): the Prometheus text exposition format, version
 * 0.0.4, built into a bounded buffer. Pure: no I/O, no daemon state; the
 * modules that own counters write their families with it (acd_*_metrics)
 * and methods_metrics.c puts them together.
 *
 * A family is started once, with its HELP and TYPE lines, and its samples
 * follow it. Names are checked ([a-zA-Z_:][a-zA-Z0-9_:]*; label names
 * [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"), label values escaped
 * (backslash, double quote, newline), HELP text escaped (backslash,
 * newline). The first error sticks: what follows it is not written, and
 * acd_metrics_end returns it. */
#ifndef AGENTCGD_METRICS_H
#define AGENTCGD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "agentcg/buf.h"

#define ACD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The most tenants (and their pressure domains) and sessions in all that
 * label values name: tenants are the configuration's and those operators
 * make, sessions have a quota per uid but none for operators, so a
 * scrape's size and work are bounded here (agentcg_metrics_omitted). */
#define ACD_METRICS_TENANTS_MAX 256
#define ACD_METRICS_SESSIONS_MAX 256

enum acd_metric_type { ACD_COUNTER, ACD_GAUGE };

struct acd_metrics {
	struct ac_buf *out;
	size_t limit;	   /* bytes out may hold */
	int err;	   /* the first error: -EINVAL (a bad name), -ENOBUFS, -ENOMEM */
	char family[128];  /* the family samples go to ("": none yet) */
	int families;	   /* started so far */
};

/* Appends to out, which holds at most limit bytes. */
void acd_metrics_init(struct acd_metrics *m, struct ac_buf *out, size_t limit);
/* "# HELP name help" and "# TYPE name counter|gauge": the samples that
 * follow are this family's. */
void acd_metrics_family(struct acd_metrics *m, const char *name, enum acd_metric_type type,
			const char *help);
/* One sample of the current family: the labels as name, value pairs,
 * then NULL ("name{a="x",b="y"} value"). */
void acd_metrics_u64(struct acd_metrics *m, uint64_t v, ...) __attribute__((sentinel));
/* The same with a real value (NaN, +Inf and -Inf as Prometheus writes them). */
void acd_metrics_f64(struct acd_metrics *m, double v, ...) __attribute__((sentinel));
/* 0, or the first error. */
int acd_metrics_end(const struct acd_metrics *m);

/* Writes a label value escaped into buf (NUL-terminated, cut at len):
 * the escaping of the format, for tests and log lines. */
void acd_metrics_escape(const char *s, char *buf, size_t len);

#endif
