// SPDX-License-Identifier: GPL-2.0
/* Sizes ("512M", "1.5GiB", "4096") and durations ("250ms", "1m30s").
 *
 * Strict grammar, no whitespace, no sign, no exponent, no hex:
 *   number   = digit+ [ "." digit+ ]
 *   size     = number [ "B" | ( K|M|G|T ) [ "B" | "iB" ] ]   (case-insensitive)
 *   duration = ( number unit )+     unit = h | m | s | ms | us | ns
 * A compound duration lists its units from the largest down, each once.
 * Arithmetic is done in 128 bits, so no input can overflow. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "agentcg/units.h"
#include "agentcg/util.h"

#define FRAC_DIGITS_MAX 18 /* fraction digits kept; later ones are dropped */
#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define NS_PER_M (60ULL * NS_PER_S)
#define NS_PER_H (60ULL * NS_PER_M)

typedef unsigned __int128 u128;

struct number {
	uint64_t whole;	   /* integer part, valid unless overflow */
	bool overflow;	   /* integer part does not fit in 64 bits */
	uint64_t frac;	   /* fraction digits as an integer ... */
	uint64_t frac_den; /* ... over 10^(digits kept) */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Parses `number` at *p, advancing *p. -EINVAL if there is none. */
static int parse_number(const char **p, struct number *n)
{
	const char *s = *p;

	*n = (struct number){ .frac_den = 1 };
	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (n->overflow || n->whole > (UINT64_MAX - d) / 10)
			n->overflow = true;
		else
			n->whole = n->whole * 10 + d;
	}
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return -EINVAL;
		for (int kept = 0; is_digit(*s); s++, kept++) {
			if (kept < FRAC_DIGITS_MAX) {
				n->frac = n->frac * 10 + (uint64_t)(*s - '0');
				n->frac_den *= 10;
			}
		}
	}
	*p = s;
	return 0;
}

/* n * mult, rounded down; the result saturates far above any limit. */
static u128 scale(const struct number *n, uint64_t mult)
{
	if (n->overflow)
		return (u128)UINT64_MAX * UINT64_MAX;
	return (u128)n->whole * mult + (u128)n->frac * mult / n->frac_den;
}

static bool suffix_eq(const char *s, const char *want)
{
	for (; *want; s++, want++)
		if (lower(*s) != *want)
			return false;
	return *s == '\0';
}

/* Multiplier of a size suffix, or 0 if the suffix is not one. */
static uint64_t size_suffix(const char *s)
{
	static const char units[] = "kmgt";
	const char *u;

	if (suffix_eq(s, "") || suffix_eq(s, "b"))
		return 1;
	u = *s ? strchr(units, lower(*s)) : NULL;
	if (!u)
		return 0;
	s++;
	if (!suffix_eq(s, "") && !suffix_eq(s, "b") && !suffix_eq(s, "ib"))
		return 0;
	return 1ULL << (10 * (u - units + 1));
}

int ac_parse_size(const char *s, uint64_t *out)
{
	struct number n;
	uint64_t mult;
	u128 v;

	if (!s)
		return -EINVAL;
	if (parse_number(&s, &n) < 0)
		return -EINVAL;
	mult = size_suffix(s);
	if (!mult)
		return -EINVAL;
	v = scale(&n, mult);
	if (v > AC_SIZE_LIMIT)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

/* ns per duration unit at *p (advancing it) and its rank (a larger unit
 * has a larger rank); 0 if there is no unit. */
static uint64_t duration_unit(const char **p, int *rank)
{
	static const struct {
		const char *name;
		uint64_t ns;
		int rank;
	} units[] = {
		/* two-letter units first: "ms" before "m" */
		{ "ms", NS_PER_MS, 3 }, { "us", NS_PER_US, 2 }, { "ns", 1, 1 },
		{ "h", NS_PER_H, 6 },	{ "m", NS_PER_M, 5 },	{ "s", NS_PER_S, 4 },
	};

	for (size_t i = 0; i < AC_ARRAY_SIZE(units); i++) {
		size_t len = strlen(units[i].name);

		if (strncmp(*p, units[i].name, len) == 0) {
			*p += len;
			*rank = units[i].rank;
			return units[i].ns;
		}
	}
	return 0;
}

int ac_parse_duration(const char *s, uint64_t *out_ns)
{
	int prev_rank = 7;
	u128 total = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		struct number n;
		uint64_t ns;
		int rank;

		if (parse_number(&s, &n) < 0)
			return -EINVAL;
		ns = duration_unit(&s, &rank);
		if (!ns || rank >= prev_rank)
			return -EINVAL;
		prev_rank = rank;
		total += scale(&n, ns);
		if (total > (u128)UINT64_MAX)
			total = (u128)UINT64_MAX + 1; /* saturate; still > limit */
	}
	if (total > AC_DURATION_LIMIT_NS)
		return -ERANGE;
	*out_ns = (uint64_t)total;
	return 0;
}

/* "W" or "W.F" with F the digits of frac/den (den a power of ten),
 * trailing zeros removed, then sfx. */
static void format_decimal(char *buf, size_t len, uint64_t whole, uint64_t frac, uint64_t den,
			   const char *sfx)
{
	char digits[24];
	int width = 0;

	for (uint64_t d = den; d > 1; d /= 10)
		width++;
	while (frac && frac % 10 == 0) {
		frac /= 10;
		width--;
	}
	if (!frac) {
		snprintf(buf, len, "%llu%s", (unsigned long long)whole, sfx);
		return;
	}
	snprintf(digits, sizeof(digits), "%0*llu", width, (unsigned long long)frac);
	snprintf(buf, len, "%llu.%s%s", (unsigned long long)whole, digits, sfx);
}

/* bytes in unit 1024^(4-i) with one decimal, rounded down ("12.8M"). */
static void format_approx(uint64_t bytes, int i, char *buf, size_t len)
{
	static const char names[][2] = { "T", "G", "M", "K" };
	unsigned shift = 10 * (4 - (unsigned)i);
	uint64_t unit = 1ULL << shift;
	uint64_t tenths = (uint64_t)((u128)(bytes & (unit - 1)) * 10 / unit);

	snprintf(buf, len, "%llu.%llu%s", (unsigned long long)(bytes >> shift),
		 (unsigned long long)tenths, names[i]);
}

void ac_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char names[][2] = { "T", "G", "M", "K" };
	int first = -1;

	if (!buf || !len)
		return;
	if (bytes == UINT64_MAX) {
		ac_strlcpy(buf, "max", len);
		return;
	}
	/* the largest unit that is exact with at most two decimals and a
	 * short whole part ("1.5M", "1.25K", "1024.5M") */
	for (int i = 0; i < 4; i++) {
		unsigned shift = 10 * (4 - (unsigned)i);
		uint64_t unit = 1ULL << shift, rem = bytes & (unit - 1);

		if (bytes < unit)
			continue;
		if (first < 0)
			first = i;
		if ((bytes >> shift) < 10000 && rem * 100 % unit == 0) {
			format_decimal(buf, len, bytes >> shift, rem * 100 / unit, 100, names[i]);
			return;
		}
	}
	if (first < 0 || bytes < 10000)
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	else
		format_approx(bytes, first, buf, len);
}

/* Appends "<value><unit>" for ns in units of `unit`, keeping at most
 * three decimals (rounded down). */
static size_t append_unit(char *buf, size_t len, uint64_t ns, uint64_t unit, const char *name)
{
	uint64_t milli = unit >= 1000 ? unit / 1000 : 1;
	uint64_t den = unit >= 1000 ? 1000 : 1;

	format_decimal(buf, len, ns / unit, ns % unit / milli, den, name);
	return strlen(buf);
}

void ac_format_duration(uint64_t ns, char *buf, size_t len)
{
	size_t off = 0;
	uint64_t h, m;

	if (!buf || !len)
		return;
	buf[0] = '\0';
	if (ns == UINT64_MAX) {
		ac_strlcpy(buf, "max", len);
		return;
	}
	if (ns == 0) {
		ac_strlcpy(buf, "0s", len);
		return;
	}
	if (ns < NS_PER_US) {
		append_unit(buf, len, ns, 1, "ns");
		return;
	}
	if (ns < NS_PER_MS) {
		append_unit(buf, len, ns, NS_PER_US, "us");
		return;
	}
	if (ns < NS_PER_S) {
		append_unit(buf, len, ns, NS_PER_MS, "ms");
		return;
	}
	if (ns < NS_PER_M) {
		append_unit(buf, len, ns, NS_PER_S, "s");
		return;
	}
	h = ns / NS_PER_H;
	ns %= NS_PER_H;
	m = ns / NS_PER_M;
	ns %= NS_PER_M;
	if (h)
		off += append_unit(buf + off, len - off, h, 1, "h");
	if (m && off < len)
		off += append_unit(buf + off, len - off, m, 1, "m");
	if (ns >= NS_PER_MS && off < len)
		append_unit(buf + off, len - off, ns, NS_PER_S, "s");
}
