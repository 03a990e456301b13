// SPDX-License-Identifier: GPL-2.0
/* The growable, capped byte buffer (include/agentcg/buf.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agentcg/buf.h"

/* Memory kept by an empty buffer; more is given back. */
#define AC_BUF_KEEP 65536

/* Grows the allocation to hold at least want bytes (want <= limit). */
static int buf_grow(struct ac_buf *b, size_t want, size_t first, size_t limit)
{
	size_t cap = b->cap ? b->cap : first;
	char *n;

	if (want <= b->cap)
		return 0;
	while (cap < want)
		cap = cap > limit / 2 ? limit : cap * 2;
	if (cap > limit)
		cap = limit;
	n = realloc(b->data, cap);
	if (!n)
		return -ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

int ac_buf_append(struct ac_buf *b, const void *data, size_t len, size_t limit)
{
	int r;

	if (len > limit || b->len > limit - len)
		return -ENOBUFS;
	if (!len)
		return 0;
	r = buf_grow(b, b->len + len, 4096, limit);
	if (r < 0)
		return r;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

long ac_buf_room(struct ac_buf *b, size_t first, size_t limit)
{
	int r;

	if (b->len >= limit)
		return -ENOBUFS;
	if (b->len == b->cap) {
		r = buf_grow(b, b->len + 1, first ? first : 4096, limit);
		if (r < 0)
			return r;
	}
	return (long)(b->cap - b->len);
}

void ac_buf_consume(struct ac_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	/* Give memory back after a burst (a big reply, a long line): all of
	 * it when empty, else down to twice what is held (a short line left
	 * after a long one must not keep a megabyte). */
	if (b->len == 0 && b->cap > AC_BUF_KEEP) {
		ac_buf_free(b);
	} else if (b->cap > AC_BUF_KEEP && b->len <= b->cap / 4) {
		size_t cap = 2 * b->len > AC_BUF_KEEP ? 2 * b->len : AC_BUF_KEEP;
		char *shrunk = realloc(b->data, cap);

		if (shrunk) {
			b->data = shrunk;
			b->cap = cap;
		}
	}
}

void ac_buf_free(struct ac_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
