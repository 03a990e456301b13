/* SPDX-License-Identifier: GPL-2.0 */
/* A growable byte buffer with a hard cap: what the daemon's client
 * queues, a call's captured output and the CLI's reply reader hold. The
 * cap is the caller's (a client can fill only what its limit allows);
 * a buffer that emptied after a burst gives its memory back. */
#ifndef AGENTCG_BUF_H
#define AGENTCG_BUF_H

#include <stddef.h>

struct ac_buf {
	char *data;
	size_t len; /* bytes held */
	size_t cap; /* bytes allocated */
};

/* Appends len bytes; -ENOBUFS if len + held would pass limit (nothing is
 * appended then), -ENOMEM. */
int ac_buf_append(struct ac_buf *b, const void *data, size_t len, size_t limit);
/* Room for at least one more byte at data + len (to read into), growing
 * by doubling up to limit: the room in bytes, -ENOBUFS when the buffer
 * already holds limit bytes, -ENOMEM. */
long ac_buf_room(struct ac_buf *b, size_t first, size_t limit);
/* Drops the first n bytes (all if n >= len); a big buffer that is left
 * mostly empty shrinks (its memory is given back). */
void ac_buf_consume(struct ac_buf *b, size_t n);
void ac_buf_free(struct ac_buf *b);

#endif
