/* SPDX-License-Identifier: GPL-2.0 */
/* launch_bench: series of timings (microseconds) and their summaries:
 * median, p90, p99 (linear interpolation between closest ranks), mean,
 * min, max, as table rows and as JSON. */
#ifndef LB_STATS_H
#define LB_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct lb_series {
	const char *name;
	double *v;
	size_t n, cap;
};

struct lb_stat5 {
	size_t n;
	double med, p90, p99, mean, min, max;
};

static inline double lb_us_between(uint64_t a_ns, uint64_t b_ns)
{
	return (double)(int64_t)(b_ns - a_ns) / 1000.0;
}

/* 0 or -ENOMEM (the sample is then lost). */
int lb_series_push(struct lb_series *s, double us);
double lb_series_last(const struct lb_series *s);
void lb_series_free(struct lb_series *s);

struct lb_stat5 lb_stats(const struct lb_series *s);
/* b[i] - a[i] over the rounds both have. */
int lb_series_diff(const struct lb_series *b, const struct lb_series *a, struct lb_series *out);

json_t *lb_stat_json(struct lb_stat5 st);
void lb_stat_header(FILE *out, const char *first);
void lb_stat_row(FILE *out, const char *label, struct lb_stat5 st);

#endif
