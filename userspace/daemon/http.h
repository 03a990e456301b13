/* SPDX-License-Identifier: GPL-2.0 */
/* http.c (layer 0): what metrics_http.c needs of HTTP/1.0 and 1.1, pure:
 * the answer to a request head, and the head of a response. The only
 * resource is GET (or HEAD) /metrics; every connection is closed after
 * one response, so nothing after the head (a body, a second request) is
 * ever read as a request. */
#ifndef AGENTCGD_HTTP_H
#define AGENTCGD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest request head taken (request line and header fields). */
#define ACD_HTTP_HEAD_MAX 8192

/* The status to answer the request whose first len bytes are buf: 0
 * while its head is not complete yet (no empty line) and shorter than
 * max; else 200 (GET or HEAD /metrics, a query string allowed), 400 (not
 * an HTTP/1.x request: a bad request line or header field, a control
 * byte), 404 (another path), 405 (another method on /metrics), 431 (no
 * end of the head within max bytes), 505 (an HTTP version other than
 * 1.0 and 1.1). *head_only: a HEAD request (no body in the answer). */
int acd_http_request(const char *buf, size_t len, size_t max, bool *head_only);

/* "Not Found" for 404, ...; "Error" for a status it does not know. */
const char *acd_http_reason(int status);

/* The head of a response: status line, Date (now_unix, seconds since
 * the epoch), Content-Type, Content-Length, Connection: close, and for
 * 405 "Allow: GET, HEAD". Returns its length, or -ENOBUFS when it does
 * not fit in len. */
int acd_http_response_head(char *buf, size_t len, int status, const char *content_type,
			   uint64_t content_length, int64_t now_unix);

#endif
