// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentcg/units.h"
#include "agentcg/util.h"

#define K (1ULL << 10)
#define M (1ULL << 20)
#define G (1ULL << 30)
#define T (1ULL << 40)
#define MS 1000000ULL
#define S 1000000000ULL

static void size_ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;
	int r = ac_parse_size(s, &v);

	if (r != 0 || v != want)
		fail_msg("ac_parse_size(\"%s\") = %d, %llu; want 0, %llu", s, r,
			 (unsigned long long)v, (unsigned long long)want);
}

static void size_bad(const char *s, int want)
{
	uint64_t v = 777;
	int r = ac_parse_size(s, &v);

	if (r != want)
		fail_msg("ac_parse_size(\"%s\") = %d; want %d", s, r, want);
	assert_int_equal(v, 777); /* untouched on error */
}

static void test_size_plain(void **state)
{
	size_ok("0", 0);
	size_ok("1", 1);
	size_ok("1000", 1000);
	size_ok("4096", 4096);
	size_ok("007", 7);
	size_ok("0B", 0);
	size_ok("10B", 10);
	size_ok("10b", 10);
	size_ok("1.9", 1); /* rounded down */
	size_ok("1.5B", 1);
}

static void test_size_suffixes(void **state)
{
	size_ok("1K", K);
	size_ok("1k", K);
	size_ok("1KB", K);
	size_ok("1kb", K);
	size_ok("1KiB", K);
	size_ok("1kib", K);
	size_ok("1KIB", K);
	size_ok("512M", 512 * M);
	size_ok("512MiB", 512 * M);
	size_ok("512mb", 512 * M);
	size_ok("1G", G);
	size_ok("4g", 4 * G);
	size_ok("1T", T);
	size_ok("2TiB", 2 * T);
	size_ok("0M", 0);
}

static void test_size_decimals(void **state)
{
	size_ok("1.5G", G + G / 2);
	size_ok("1.5M", 1572864);
	size_ok("0.5K", 512);
	size_ok("0.25M", M / 4);
	size_ok("1.0G", G);
	size_ok("1.00000000000000000000000001G", G); /* long fraction is fine */
	size_ok("0.001K", 1);			     /* 1.024 rounded down */
	size_ok("0.0001K", 0);
	size_ok("2.999999999999999999999T", 3 * T - 1);
}

static void test_size_malformed(void **state)
{
	static const char *const bad[] = {
		"",	 "-1",	  "+1",	   "1X",   "1.2.3", ".",    "1.",  ".5",	"1e9",
		"0x10",	 " 1",	  "1 ",	   "1 K",  "K",	    "B",    "1KK", "1Ki",	"1iB",
		"1KBB",	 "1P",	  "1E",	   "1Kb ", "1,5G",  "１",   "1\t", "1KiBx", "nan",
		"inf",	 "1_000", "1/2",   "--1",  "1-",    "1.-1", "1.e3", "1MIBB", "1BB",
		"12Q",	 "1bi",
	};

	for (size_t i = 0; i < AC_ARRAY_SIZE(bad); i++)
		size_bad(bad[i], -EINVAL);
	size_bad(NULL, -EINVAL);
}

static void test_size_limits(void **state)
{
	char buf[64];

	size_ok("1024T", AC_SIZE_LIMIT);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)AC_SIZE_LIMIT);
	size_ok(buf, AC_SIZE_LIMIT);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)AC_SIZE_LIMIT + 1);
	size_bad(buf, -ERANGE);
	size_bad("1025T", -ERANGE);
	size_bad("1024.000001T", -ERANGE);
	size_ok("1023.999999T", 1023 * T + 999999 * T / 1000000);
	size_bad("1048577G", -ERANGE);
	size_bad("18446744073709551615", -ERANGE); /* UINT64_MAX */
	size_bad("18446744073709551616", -ERANGE); /* UINT64_MAX + 1 */
	size_bad("1234567890123456789012345678901234567890", -ERANGE);
	size_bad("1234567890123456789012345678901234567890T", -ERANGE);
	size_bad("99999999999999999999.5M", -ERANGE);
	/* an overlong number is still malformed if its suffix is */
	size_bad("1234567890123456789012345678901234567890X", -EINVAL);
	size_bad("16777216T", -ERANGE); /* would wrap to 0 in 64 bits */
}

static void dur_ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;
	int r = ac_parse_duration(s, &v);

	if (r != 0 || v != want)
		fail_msg("ac_parse_duration(\"%s\") = %d, %llu; want 0, %llu", s, r,
			 (unsigned long long)v, (unsigned long long)want);
}

static void dur_bad(const char *s, int want)
{
	uint64_t v = 777;
	int r = ac_parse_duration(s, &v);

	if (r != want)
		fail_msg("ac_parse_duration(\"%s\") = %d; want %d", s, r, want);
	assert_int_equal(v, 777);
}

static void test_duration_ok(void **state)
{
	dur_ok("250ms", 250 * MS);
	dur_ok("1.5s", 1500 * MS);
	dur_ok("30s", 30 * S);
	dur_ok("10m", 600 * S);
	dur_ok("2h", 7200 * S);
	dur_ok("0.5h", 1800 * S);
	dur_ok("100us", 100000);
	dur_ok("7ns", 7);
	dur_ok("0s", 0);
	dur_ok("1m30s", 90 * S);
	dur_ok("1h2m3s", 3723 * S);
	dur_ok("1s500ms", 1500 * MS);
	dur_ok("1h1ms", 3600 * S + MS);
	dur_ok("1.25ms", 1250000);
	dur_ok("0.0000000001s", 0);
	dur_ok("8784h", 8784ULL * 3600 * S); /* 366 days exactly */
}

static void test_duration_bad(void **state)
{
	static const char *const bad[] = {
		"",	 "30",	   "1.5",  "-1s",  "+1s",  "s",	   "1x",    "1S",    "1 s",
		" 1s",	 "1s ",	   "1.s",  ".5s",  "1e3s", "0x1s", "1.2.3s", "1sec", "1min",
		"1d",	 "1s1",	   "1s1m", "1s1s", "1m1h", "1mm",  "1ms1s", "1hh",   "1s,2s",
		"1.5.s", "1m30",   "ms",   "h1",   "1H",   "1M",   "1us1ms", "inf",  "nan",
	};

	for (size_t i = 0; i < AC_ARRAY_SIZE(bad); i++)
		dur_bad(bad[i], -EINVAL);
	dur_bad(NULL, -EINVAL);
}

static void test_duration_range(void **state)
{
	dur_bad("8785h", -ERANGE);
	dur_bad("8784h1ns", -ERANGE);
	dur_bad("367000000000000000000000000000000000ns", -ERANGE);
	dur_bad("99999999999999999999h", -ERANGE);
	dur_bad("18446744073709551615ns", -ERANGE);
	dur_bad("5124095576030431h", -ERANGE); /* * 3.6e12 wraps 64 bits */
	dur_bad("99999999999999999999h59m", -ERANGE);
	dur_ok("31622400s", 31622400ULL * S);
	dur_bad("31622400.000000001s", -ERANGE);
}

static void fmt_size_is(uint64_t v, const char *want)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	ac_format_size(v, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("ac_format_size(%llu) = \"%s\"; want \"%s\"", (unsigned long long)v, buf,
			 want);
}

static void test_format_size(void **state)
{
	fmt_size_is(0, "0");
	fmt_size_is(1, "1");
	fmt_size_is(1000, "1000");
	fmt_size_is(1023, "1023");
	fmt_size_is(K, "1K");
	fmt_size_is(1536, "1.5K");
	fmt_size_is(1280, "1.25K");
	fmt_size_is(1572864, "1.5M");
	fmt_size_is(G, "1G");
	fmt_size_is(512 * M, "512M");
	fmt_size_is(T, "1T");
	fmt_size_is(AC_SIZE_LIMIT, "1024T");
	fmt_size_is(UINT64_MAX, "max");
	fmt_size_is(5000, "5000");
	fmt_size_is(3 * G + 256 * M, "3.25G");
	/* not exact in a short form: one decimal, rounded down */
	fmt_size_is(13512704, "12.8M");
	fmt_size_is(G - 1, "1023.9M");
	fmt_size_is(M + 1, "1.0M");
	fmt_size_is(1000 * 1000 * 1000, "953.6M");
}

static void test_format_size_truncates(void **state)
{
	char small[4];
	char one[1] = { 'x' };

	ac_format_size(512 * M, small, sizeof(small));
	assert_string_equal(small, "512");
	ac_format_size(1572864, small, sizeof(small));
	assert_string_equal(small, "1.5");
	ac_format_size(5, one, sizeof(one));
	assert_int_equal(one[0], '\0');
	ac_format_size(5, NULL, 0); /* must not crash */
}

static void test_size_round_trip(void **state)
{
	static const uint64_t vals[] = {
		0,	 1,	  999,	  1000,	     K,		1536,	  M,	 1572864, 512 * M,
		G,	 G + G / 2, 3 * G + 256 * M, 7 * T, AC_SIZE_LIMIT, 1280, 100 * K, 9999,
		10 * M + 512 * K, 9999 * K,
	};

	for (size_t i = 0; i < AC_ARRAY_SIZE(vals); i++) {
		char buf[64];
		uint64_t back = 1;

		ac_format_size(vals[i], buf, sizeof(buf));
		if (ac_parse_size(buf, &back) != 0 || back != vals[i])
			fail_msg("round trip %llu -> \"%s\" -> %llu", (unsigned long long)vals[i],
				 buf, (unsigned long long)back);
	}
}

static void fmt_dur_is(uint64_t ns, const char *want)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	ac_format_duration(ns, buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("ac_format_duration(%llu) = \"%s\"; want \"%s\"", (unsigned long long)ns,
			 buf, want);
}

static void test_format_duration(void **state)
{
	fmt_dur_is(0, "0s");
	fmt_dur_is(7, "7ns");
	fmt_dur_is(1500, "1.5us");
	fmt_dur_is(100000, "100us");
	fmt_dur_is(MS, "1ms");
	fmt_dur_is(1250000, "1.25ms");
	fmt_dur_is(250 * MS, "250ms");
	fmt_dur_is(S, "1s");
	fmt_dur_is(1500 * MS, "1.5s");
	fmt_dur_is(10 * S + 250 * MS, "10.25s");
	fmt_dur_is(30 * S, "30s");
	fmt_dur_is(60 * S, "1m");
	fmt_dur_is(90 * S, "1m30s");
	fmt_dur_is(600 * S, "10m");
	fmt_dur_is(3600 * S, "1h");
	fmt_dur_is(3605 * S, "1h5s");
	fmt_dur_is(3723 * S + 500 * MS, "1h2m3.5s");
	fmt_dur_is(8784ULL * 3600 * S, "8784h");
	fmt_dur_is(S + 1, "1s"); /* sub-ms dropped above 1s */
	fmt_dur_is(UINT64_MAX, "max");
}

static void test_duration_round_trip(void **state)
{
	static const uint64_t vals[] = {
		1,	   999,	      1000,	   1500,     MS,	 250 * MS, S,
		1500 * MS, 59 * S,    60 * S,	   90 * S,   3600 * S,	 3723 * S, 86400 * S,
		AC_DURATION_LIMIT_NS, 12345 * MS, 61 * S + 1 * MS,
	};

	for (size_t i = 0; i < AC_ARRAY_SIZE(vals); i++) {
		char buf[64];
		uint64_t back = 1;

		ac_format_duration(vals[i], buf, sizeof(buf));
		if (ac_parse_duration(buf, &back) != 0 || back != vals[i])
			fail_msg("round trip %llu -> \"%s\" -> %llu", (unsigned long long)vals[i],
				 buf, (unsigned long long)back);
	}
}

static void test_format_duration_truncates(void **state)
{
	char small[3];

	ac_format_duration(3723 * S, small, sizeof(small));
	assert_true(strlen(small) < sizeof(small));
	assert_memory_equal(small, "1h", 2);
	ac_format_duration(1, NULL, 0);
}

/* ---- util.h helpers (no test file of their own) ---- */

static void test_snprintf(void **state)
{
	char buf[6];

	assert_int_equal(ac_snprintf(buf, sizeof(buf), "%s", "abc"), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(ac_snprintf(buf, sizeof(buf), "%d", 12345), 5); /* exact fit */
	assert_string_equal(buf, "12345");
	assert_int_equal(ac_snprintf(buf, sizeof(buf), "%d", 123456), -ENAMETOOLONG);
	assert_int_equal(strlen(buf), 5); /* still terminated */
	assert_int_equal(ac_snprintf(buf, 0, "x"), -ENAMETOOLONG);
	assert_int_equal(ac_snprintf(buf, sizeof(buf), "%s", ""), 0);
}

static void test_strlcpy(void **state)
{
	char buf[4] = "zzz";

	assert_int_equal(ac_strlcpy(buf, "ab", sizeof(buf)), 2);
	assert_string_equal(buf, "ab");
	assert_int_equal(ac_strlcpy(buf, "abcdef", sizeof(buf)), 6);
	assert_string_equal(buf, "abc");
	assert_int_equal(ac_strlcpy(buf, "q", 0), 1);
	assert_string_equal(buf, "abc"); /* size 0: untouched */
	assert_int_equal(ac_strlcpy(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void test_now_ns(void **state)
{
	uint64_t a = ac_now_ns(), b = ac_now_ns();

	assert_true(a > 0);
	assert_true(b >= a);
}

/* Runs fn with stderr going to a temporary file; returns what it wrote. */
static void capture_stderr(void (*fn)(void), char *out, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, len - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
}

static int log_errno_ret;

static void log_some(void)
{
	ac_log_set_level(AC_LOG_INFO);
	ac_err("hello %d", 42);
	ac_warn("careful");
	ac_info("fyi");
	ac_debug("hidden");
	ac_log_set_level(AC_LOG_DEBUG);
	ac_debug("shown");
	ac_log_set_level(AC_LOG_ERR);
	ac_warn("hidden too");
	log_errno_ret = ac_log_errno(-ENOENT, "open %s", "/x");
	ac_log_set_prefix("agentcg");
	ac_err("cli");
	ac_log_set_prefix("");
	ac_err("bare");
	ac_log_set_prefix("agentcgd");
	ac_log_set_level(AC_LOG_INFO);
}

static void test_log(void **state)
{
	char out[1024];

	capture_stderr(log_some, out, sizeof(out));
	assert_string_equal(out, "agentcgd: error: hello 42\n"
				 "agentcgd: warning: careful\n"
				 "agentcgd: info: fyi\n"
				 "agentcgd: debug: shown\n"
				 "agentcgd: error: open /x: No such file or directory\n"
				 "agentcg: error: cli\n"
				 "error: bare\n");
	assert_int_equal(log_errno_ret, -ENOENT);
}

static void log_long(void)
{
	char big[5000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ac_err("%s", big);
	ac_err("next");
}

static void test_log_long_line(void **state)
{
	static char out[8192];
	char *nl;

	capture_stderr(log_long, out, sizeof(out));
	nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_true(nl - out < 2048); /* truncated, still one line */
	assert_string_equal(nl + 1, "agentcgd: error: next\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_plain),
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_size_decimals),
		cmocka_unit_test(test_size_malformed),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_duration_ok),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_duration_range),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_format_size_truncates),
		cmocka_unit_test(test_size_round_trip),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_duration_round_trip),
		cmocka_unit_test(test_format_duration_truncates),
		cmocka_unit_test(test_snprintf),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_now_ns),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_log_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
