// SPDX-License-Identifier: GPL-2.0
/* The daemon's Prometheus text builder (userspace/daemon/metrics.c) and
 * its HTTP request check and response head (userspace/daemon/http.c):
 * HELP and TYPE lines before every family's samples, label values and
 * HELP text escaped as the 0.0.4 format says, bad names and a full
 * buffer refused; requests answered 200, 400, 404, 405, 431 or 505. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http.h"
#include "metrics.h"

/* The text built so far, NUL-terminated (b keeps it). */
static const char *text(struct ac_buf *b)
{
	assert_int_equal(ac_buf_append(b, "", 1, (size_t)-1 / 2), 0);
	b->len--;
	return b->data;
}

static void test_families(void **state)
{
	struct ac_buf b = { 0 };
	struct acd_metrics m;

	acd_metrics_init(&m, &b, 1 << 20);
	acd_metrics_family(&m, "agentcg_calls_total", ACD_COUNTER, "Calls that ended.");
	acd_metrics_u64(&m, 3, "tenant", "t1", "status", "ok", NULL);
	acd_metrics_u64(&m, 0, "tenant", "t1", "status", "failed", NULL);
	acd_metrics_family(&m, "agentcg_calls_running", ACD_GAUGE, "Calls running now.");
	acd_metrics_u64(&m, 18446744073709551615ULL, NULL);
	acd_metrics_family(&m, "agentcg_ratio", ACD_GAUGE, "A real.");
	acd_metrics_f64(&m, 0.5, NULL);
	acd_metrics_f64(&m, NAN, "k", "nan", NULL);
	acd_metrics_f64(&m, INFINITY, "k", "inf", NULL);
	acd_metrics_f64(&m, -INFINITY, "k", "-inf", NULL);
	acd_metrics_f64(&m, 1e21, "k", "big", NULL);
	assert_int_equal(acd_metrics_end(&m), 0);
	assert_int_equal(m.families, 3);
	assert_string_equal(text(&b),
			    "# HELP agentcg_calls_total Calls that ended.\n"
			    "# TYPE agentcg_calls_total counter\n"
			    "agentcg_calls_total{tenant=\"t1\",status=\"ok\"} 3\n"
			    "agentcg_calls_total{tenant=\"t1\",status=\"failed\"} 0\n"
			    "# HELP agentcg_calls_running Calls running now.\n"
			    "# TYPE agentcg_calls_running gauge\n"
			    "agentcg_calls_running 18446744073709551615\n"
			    "# HELP agentcg_ratio A real.\n"
			    "# TYPE agentcg_ratio gauge\n"
			    "agentcg_ratio 0.5\n"
			    "agentcg_ratio{k=\"nan\"} NaN\n"
			    "agentcg_ratio{k=\"inf\"} +Inf\n"
			    "agentcg_ratio{k=\"-inf\"} -Inf\n"
			    "agentcg_ratio{k=\"big\"} 1e+21\n");
	ac_buf_free(&b);
}

static void test_escaping(void **state)
{
	struct ac_buf b = { 0 };
	struct acd_metrics m;
	char esc[64];

	acd_metrics_init(&m, &b, 1 << 20);
	/* HELP: backslash and newline escaped, a double quote kept */
	acd_metrics_family(&m, "x_total", ACD_COUNTER, "a \\ b\nc \"d\"");
	/* label values: backslash, double quote and newline escaped */
	acd_metrics_u64(&m, 1, "v", "back\\slash \"quoted\"\nnext line", NULL);
	acd_metrics_u64(&m, 2, "v", "", "w", "\\\\", NULL);
	acd_metrics_u64(&m, 3, "v", "é ü {}=,", NULL); /* UTF-8 and braces as they are */
	assert_int_equal(acd_metrics_end(&m), 0);
	assert_string_equal(text(&b),
			    "# HELP x_total a \\\\ b\\nc \"d\"\n"
			    "# TYPE x_total counter\n"
			    "x_total{v=\"back\\\\slash \\\"quoted\\\"\\nnext line\"} 1\n"
			    "x_total{v=\"\",w=\"\\\\\\\\\"} 2\n"
			    "x_total{v=\"é ü {}=,\"} 3\n");
	ac_buf_free(&b);

	acd_metrics_escape("a\"b\\c\nd", esc, sizeof(esc));
	assert_string_equal(esc, "a\\\"b\\\\c\\nd");
	acd_metrics_escape("\"\"\"\"", esc, 5); /* cut, NUL-terminated */
	assert_string_equal(esc, "\\\"\\\"");
}

/* Each misuse sticks as the error, and nothing after it is written. */
static void bad_use(int which)
{
	struct ac_buf b = { 0 };
	struct acd_metrics m;
	size_t len;

	acd_metrics_init(&m, &b, 1 << 20);
	if (which != 0)
		acd_metrics_family(&m, "ok_total", ACD_COUNTER, "fine");
	len = b.len;
	switch (which) {
	case 0: acd_metrics_u64(&m, 1, NULL); break; /* a sample before any family */
	case 1: acd_metrics_family(&m, "9starts_with_digit", ACD_GAUGE, ""); break;
	case 2: acd_metrics_family(&m, "has-dash", ACD_GAUGE, ""); break;
	case 3: acd_metrics_family(&m, "", ACD_GAUGE, ""); break;
	case 4: acd_metrics_u64(&m, 1, "__reserved", "x", NULL); break;
	case 5: acd_metrics_u64(&m, 1, "has:colon", "x", NULL); break;
	case 6: acd_metrics_u64(&m, 1, "1digit", "x", NULL); break;
	case 7: acd_metrics_u64(&m, 1, "l", (const char *)NULL, NULL); break;
	}
	assert_int_equal(acd_metrics_end(&m), -EINVAL);
	if (which == 1 || which == 2 || which == 3)
		assert_int_equal(b.len, len); /* a bad family name writes nothing */
	len = b.len;
	acd_metrics_family(&m, "later_total", ACD_COUNTER, "after the error");
	acd_metrics_u64(&m, 1, NULL);
	assert_int_equal(b.len, len);
	assert_int_equal(acd_metrics_end(&m), -EINVAL);
	ac_buf_free(&b);
}

static void test_bad_names(void **state)
{
	for (int i = 0; i <= 7; i++)
		bad_use(i);
}

static void test_metric_names_allowed(void **state)
{
	struct ac_buf b = { 0 };
	struct acd_metrics m;

	acd_metrics_init(&m, &b, 1 << 20);
	acd_metrics_family(&m, "a:b_c9", ACD_GAUGE, NULL);
	acd_metrics_u64(&m, 1, "_x", "1", "X9", "2", NULL);
	assert_int_equal(acd_metrics_end(&m), 0);
	assert_string_equal(text(&b), "# HELP a:b_c9 \n# TYPE a:b_c9 gauge\n"
			    "a:b_c9{_x=\"1\",X9=\"2\"} 1\n");
	ac_buf_free(&b);
}

/* A buffer at its cap: -ENOBUFS, and it holds at most the cap. */
static void test_bounded(void **state)
{
	struct ac_buf b = { 0 };
	struct acd_metrics m;
	int i;

	acd_metrics_init(&m, &b, 4096);
	acd_metrics_family(&m, "many_total", ACD_COUNTER, "many samples");
	for (i = 0; i < 10000 && !acd_metrics_end(&m); i++)
		acd_metrics_u64(&m, (uint64_t)i, "i", "some label value", NULL);
	assert_int_equal(acd_metrics_end(&m), -ENOBUFS);
	assert_true(i < 10000);
	assert_true(b.len <= 4096);
	ac_buf_free(&b);
}

/* ---- HTTP ---- */

static int req(const char *s, bool *head_only)
{
	return acd_http_request(s, strlen(s), ACD_HTTP_HEAD_MAX, head_only);
}

static void test_http_request(void **state)
{
	bool head = true;
	char big[ACD_HTTP_HEAD_MAX + 100];

	assert_int_equal(req("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &head), 200);
	assert_false(head);
	assert_int_equal(req("GET /metrics HTTP/1.0\r\n\r\n", &head), 200);
	assert_int_equal(req("GET /metrics?x=1&y HTTP/1.1\r\n\r\n", &head), 200);
	assert_int_equal(req("GET /metrics HTTP/1.1\n\n", &head), 200); /* bare LF */
	assert_int_equal(req("\r\nGET /metrics HTTP/1.1\r\n\r\n", &head), 200); /* leading CRLF */
	assert_int_equal(req("HEAD /metrics HTTP/1.1\r\n\r\n", &head), 200);
	assert_true(head);
	/* not complete yet */
	assert_int_equal(req("", &head), 0);
	assert_int_equal(req("GET /metrics HTTP/1.1\r\n", &head), 0);
	assert_int_equal(req("GET /metr", &head), 0);
	assert_int_equal(req("\r\n\r\n", &head), 0);
	/* other paths, other methods */
	assert_int_equal(req("GET / HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(req("GET /metricsx HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(req("GET /metrics/ HTTP/1.1\r\n\r\n", &head), 404);
	assert_int_equal(req("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", &head), 405);
	assert_int_equal(req("get /metrics HTTP/1.1\r\n\r\n", &head), 405); /* methods are case-sensitive */
	assert_int_equal(req("DELETE /x HTTP/1.1\r\n\r\n", &head), 404);
	/* garbage */
	assert_int_equal(req("GET /metrics\r\n\r\n", &head), 400); /* HTTP/0.9 */
	assert_int_equal(req("GET  /metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(req("GET /metrics HTTP/1.1 \r\n\r\n", &head), 400);
	assert_int_equal(req("GET http://h/metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(req("GET /metrics FTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(req("G(T /metrics HTTP/1.1\r\n\r\n", &head), 400);
	assert_int_equal(req("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", &head), 400);
	assert_int_equal(req("GET /metrics HTTP/1.1\r\n: empty name\r\n\r\n", &head), 400);
	assert_int_equal(req("GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &head), 400);
	assert_int_equal(req("GET /metrics HTTP/1.1\r\nBad Name: b\r\n\r\n", &head), 400);
	assert_int_equal(acd_http_request("GET /\0metrics", 13, ACD_HTTP_HEAD_MAX, &head), 400);
	assert_int_equal(req("\x16\x03\x01\x02", &head), 400); /* a TLS hello: at once */
	/* versions */
	assert_int_equal(req("GET /metrics HTTP/2.0\r\n\r\n", &head), 505);
	assert_int_equal(req("GET /metrics HTTP/1.2\r\n\r\n", &head), 505);
	/* too long: 431 once max bytes came without the end of the head */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	assert_int_equal(acd_http_request(big, ACD_HTTP_HEAD_MAX - 1, ACD_HTTP_HEAD_MAX, &head), 0);
	assert_int_equal(acd_http_request(big, ACD_HTTP_HEAD_MAX, ACD_HTTP_HEAD_MAX, &head), 431);
	assert_int_equal(acd_http_request(big, sizeof(big), ACD_HTTP_HEAD_MAX, &head), 431);
	/* an end past max does not count */
	memcpy(big + ACD_HTTP_HEAD_MAX + 10, "\r\n\r\n", 4);
	assert_int_equal(acd_http_request(big, sizeof(big), ACD_HTTP_HEAD_MAX, &head), 431);
}

static void test_http_response_head(void **state)
{
	char buf[512];
	int n;

	/* 2001-09-09 01:46:40 UTC was a Sunday */
	n = acd_http_response_head(buf, sizeof(buf), 200, ACD_METRICS_CONTENT_TYPE, 1234,
				   1000000000);
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "HTTP/1.1 200 OK\r\n"
			    "Date: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
			    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			    "Content-Length: 1234\r\n"
			    "Connection: close\r\n\r\n");
	n = acd_http_response_head(buf, sizeof(buf), 405, "text/plain", 0, 0);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(buf, "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
	assert_non_null(strstr(buf, "\r\nAllow: GET, HEAD\r\n"));
	assert_int_equal(acd_http_response_head(buf, 40, 200, "text/plain", 0, 0), -ENOBUFS);
	assert_string_equal(acd_http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(acd_http_reason(299), "Error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_families),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_metric_names_allowed),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_http_request),
		cmocka_unit_test(test_http_response_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
