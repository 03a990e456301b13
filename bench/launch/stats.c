// SPDX-License-Identifier: GPL-2.0
/* launch_bench: timing series and their summaries. */
#include "stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int lb_series_push(struct lb_series *s, double us)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		double *v = realloc(s->v, cap * sizeof(double));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = us;
	return 0;
}

double lb_series_last(const struct lb_series *s)
{
	return s->n ? s->v[s->n - 1] : 0;
}

void lb_series_free(struct lb_series *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile with linear interpolation between closest ranks. */
static double pct_sorted(const double *v, size_t n, double p)
{
	double x, f;
	size_t i;

	if (!n)
		return 0;
	x = p * (double)(n - 1);
	i = (size_t)x;
	f = x - (double)i;
	return i + 1 < n ? v[i] + f * (v[i + 1] - v[i]) : v[i];
}

struct lb_stat5 lb_stats(const struct lb_series *s)
{
	struct lb_stat5 r = { 0 };
	double *v, sum = 0;

	r.n = s->n;
	if (!s->n)
		return r;
	v = malloc(s->n * sizeof(double));
	if (!v)
		return r;
	memcpy(v, s->v, s->n * sizeof(double));
	qsort(v, s->n, sizeof(double), cmp_double);
	for (size_t i = 0; i < s->n; i++)
		sum += v[i];
	r.med = pct_sorted(v, s->n, 0.50);
	r.p90 = pct_sorted(v, s->n, 0.90);
	r.p99 = pct_sorted(v, s->n, 0.99);
	r.mean = sum / (double)s->n;
	r.min = v[0];
	r.max = v[s->n - 1];
	free(v);
	return r;
}

int lb_series_diff(const struct lb_series *b, const struct lb_series *a, struct lb_series *out)
{
	for (size_t i = 0; i < a->n && i < b->n; i++) {
		int r = lb_series_push(out, b->v[i] - a->v[i]);

		if (r < 0)
			return r;
	}
	return 0;
}

json_t *lb_stat_json(struct lb_stat5 st)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "n", (json_int_t)st.n, "median_us",
			 st.med, "p90_us", st.p90, "p99_us", st.p99, "mean_us", st.mean, "min_us",
			 st.min, "max_us", st.max);
}

void lb_stat_header(FILE *out, const char *first)
{
	fprintf(out, "  %-44s %6s %9s %9s %9s %9s\n", first, "n", "median", "p90", "p99", "mean");
}

void lb_stat_row(FILE *out, const char *label, struct lb_stat5 st)
{
	fprintf(out, "  %-44s %6zu %9.1f %9.1f %9.1f %9.1f\n", label, st.n, st.med, st.p90, st.p99,
		st.mean);
}
