// SPDX-License-Identifier: GPL-2.0
/* HTTP/1.0 and 1.1, as much as one GET /metrics needs (RFC 9112): the
 * request head checked and answered, the response head written. Lenient
 * only where the RFC asks a server to be (a bare LF ends a line). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"

#define METRICS_PATH "/metrics"

/* RFC 9110 tchar: what a method and a header field name are made of. */
static bool tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the head: the index just past its empty line, or 0. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* One line of the head, [s, e) without its CR LF. */
static size_t line_len(const char *s, const char *e)
{
	const char *nl = memchr(s, '\n', (size_t)(e - s));
	size_t n = nl ? (size_t)(nl - s) : (size_t)(e - s);

	return n > 0 && s[n - 1] == '\r' ? n - 1 : n;
}

/* A header field line: name ":" value, the name a token, no control
 * byte but tab in the value (obs-fold, a line that starts with
 * whitespace, is refused as RFC 9112 allows). */
static bool field_valid(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);

	if (!colon || colon == s)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!tchar((unsigned char)*p))
			return false;
	for (const char *p = colon + 1; p < s + n; p++)
		if ((unsigned char)*p < 0x20 ? *p != '\t' : *p == 0x7f)
			return false;
	return true;
}

/* The request line: METHOD SP TARGET SP HTTP/1.x. */
static int request_line(const char *s, size_t n, bool *head_only)
{
	const char *sp1 = memchr(s, ' ', n), *sp2, *target, *path_end, *ver;
	size_t tlen, vlen, plen;

	if (!sp1 || sp1 == s)
		return 400;
	for (const char *p = s; p < sp1; p++)
		if (!tchar((unsigned char)*p))
			return 400;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', (size_t)(s + n - target));
	if (!sp2 || sp2 == target)
		return 400;
	tlen = (size_t)(sp2 - target);
	ver = sp2 + 1;
	vlen = (size_t)(s + n - ver);
	for (const char *p = target; p < sp2; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 400;
	if (vlen != 8 || memcmp(ver, "HTTP/", 5) != 0 || ver[5] < '0' || ver[5] > '9' ||
	    ver[6] != '.' || ver[7] < '0' || ver[7] > '9')
		return 400;
	if (ver[5] != '1' || (ver[7] != '0' && ver[7] != '1'))
		return 505;
	if (target[0] != '/')
		return 400; /* origin-form only: no proxy requests, no "*" */
	path_end = memchr(target, '?', tlen);
	plen = path_end ? (size_t)(path_end - target) : tlen;
	if (plen != strlen(METRICS_PATH) || memcmp(target, METRICS_PATH, plen) != 0)
		return 404;
	*head_only = (size_t)(sp1 - s) == 4 && !memcmp(s, "HEAD", 4);
	if (!*head_only && !((size_t)(sp1 - s) == 3 && !memcmp(s, "GET", 3)))
		return 405;
	return 200;
}

int acd_http_request(const char *buf, size_t len, size_t max, bool *head_only)
{
	size_t end, n;
	const char *s, *e;
	int status;

	*head_only = false;
	/* a NUL or another control byte in the head: no HTTP client sends
	 * one, so do not wait for the rest */
	for (size_t i = 0; i < len && i < max; i++)
		if ((unsigned char)buf[i] < 0x20 && buf[i] != '\r' && buf[i] != '\n' &&
		    buf[i] != '\t')
			return 400;
	if (len > max)
		len = max;
	/* RFC 9112 2.2: empty lines before the request line are ignored */
	for (s = buf; s < buf + len && (*s == '\r' || *s == '\n'); s++)
		;
	end = head_end(s, (size_t)(buf + len - s));
	if (!end)
		return len >= max ? 431 : 0;
	e = s + end;
	n = line_len(s, e);
	status = request_line(s, n, head_only);
	if (status == 400 || status == 505)
		return status;
	for (s = memchr(s, '\n', (size_t)(e - s)) + 1; s < e; s = memchr(s, '\n', (size_t)(e - s)) + 1) {
		n = line_len(s, e);
		if (n == 0)
			break; /* the empty line: the end */
		if (!field_valid(s, n))
			return 400;
	}
	return status;
}

const char *acd_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	}
	return "Error";
}

int acd_http_response_head(char *buf, size_t len, int status, const char *content_type,
			   uint64_t content_length, int64_t now_unix)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)now_unix;
	struct tm tm;
	int n;

	if (!gmtime_r(&t, &tm))
		return -EINVAL;
	/* the IMF-fixdate of RFC 9110, in English whatever the locale */
	n = snprintf(buf, len,
		     "HTTP/1.1 %d %s\r\n"
		     "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %llu\r\n"
		     "%s"
		     "Connection: close\r\n"
		     "\r\n",
		     status, acd_http_reason(status), days[tm.tm_wday % 7], tm.tm_mday,
		     months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     content_type, (unsigned long long)content_length,
		     status == 405 ? "Allow: GET, HEAD\r\n" : "");
	return n < 0 || (size_t)n >= len ? -ENOBUFS : n;
}
