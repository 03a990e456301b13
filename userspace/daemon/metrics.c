// SPDX-License-Identifier: GPL-2.0
/* The Prometheus text exposition format (0.0.4): families with HELP and
 * TYPE lines, samples with escaped label values, into a bounded buffer. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agentcg/util.h"
#include "metrics.h"

void acd_metrics_init(struct acd_metrics *m, struct ac_buf *out, size_t limit)
{
	*m = (struct acd_metrics){ .out = out, .limit = limit };
}

int acd_metrics_end(const struct acd_metrics *m)
{
	return m->err;
}

static void put(struct acd_metrics *m, const char *s, size_t n)
{
	int r;

	if (m->err)
		return;
	r = ac_buf_append(m->out, s, n, m->limit);
	if (r < 0)
		m->err = r;
}

static void puts_(struct acd_metrics *m, const char *s)
{
	put(m, s, strlen(s));
}

static bool name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

/* A metric name (colon: true) or a label name (false, and no "__"). */
static bool name_valid(const char *s, bool colon)
{
	if (!s || !*s || (!colon && s[0] == '_' && s[1] == '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!name_char(*p, p == s, colon))
			return false;
	return true;
}

/* Escapes s: backslash and newline always, the double quote in label
 * values only (HELP text keeps it). */
static void put_escaped(struct acd_metrics *m, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" :
				  quote && *s == '"' ? "\\\"" : NULL;

		if (!esc)
			continue;
		put(m, run, (size_t)(s - run));
		puts_(m, esc);
		run = s + 1;
	}
	put(m, run, (size_t)(s - run));
}

void acd_metrics_escape(const char *s, char *buf, size_t len)
{
	struct ac_buf b = { 0 };
	struct acd_metrics m;

	acd_metrics_init(&m, &b, (size_t)-1 / 2);
	put_escaped(&m, s, true);
	put(&m, "", 1);
	ac_strlcpy(buf, m.err || !b.data ? "" : b.data, len);
	ac_buf_free(&b);
}

void acd_metrics_family(struct acd_metrics *m, const char *name, enum acd_metric_type type,
			const char *help)
{
	if (m->err)
		return;
	if (!name_valid(name, true) || strlen(name) >= sizeof(m->family)) {
		m->err = -EINVAL;
		return;
	}
	ac_strlcpy(m->family, name, sizeof(m->family));
	m->families++;
	puts_(m, "# HELP ");
	puts_(m, name);
	puts_(m, " ");
	put_escaped(m, help ? help : "", false);
	puts_(m, "\n# TYPE ");
	puts_(m, name);
	puts_(m, type == ACD_COUNTER ? " counter\n" : " gauge\n");
}

/* name{labels} of a sample; the value follows. */
static void sample_head(struct acd_metrics *m, va_list ap)
{
	const char *lname;
	int n = 0;

	if (m->err)
		return;
	if (!m->family[0]) { /* a sample before any family */
		m->err = -EINVAL;
		return;
	}
	puts_(m, m->family);
	while ((lname = va_arg(ap, const char *))) {
		const char *value = va_arg(ap, const char *);

		if (!name_valid(lname, false) || !value) {
			m->err = -EINVAL;
			return;
		}
		puts_(m, n++ ? ",": "{");
		puts_(m, lname);
		puts_(m, "=\"");
		put_escaped(m, value, true);
		puts_(m, "\"");
	}
	if (n)
		puts_(m, "}");
	puts_(m, " ");
}

void acd_metrics_u64(struct acd_metrics *m, uint64_t v, ...)
{
	char num[32];
	va_list ap;

	va_start(ap, v);
	sample_head(m, ap);
	va_end(ap);
	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)v);
	puts_(m, num);
}

void acd_metrics_f64(struct acd_metrics *m, double v, ...)
{
	char num[40];
	va_list ap;

	va_start(ap, v);
	sample_head(m, ap);
	va_end(ap);
	if (isnan(v))
		snprintf(num, sizeof(num), "NaN\n");
	else if (isinf(v))
		snprintf(num, sizeof(num), "%cInf\n", v > 0 ? '+' : '-');
	else
		snprintf(num, sizeof(num), "%.17g\n", v);
	puts_(m, num);
}
