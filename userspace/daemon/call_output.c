// SPDX-License-Identifier: GPL-2.0
/* A captured call's stdout and stderr: the pipes the command writes, read
 * into buffers capped at output_limit (past it output is read and
 * dropped, so the command never blocks and the daemon never grows), and
 * their text for the result. A cell's output arrives from its
 * interpreter instead (acd_call_capture). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call_priv.h"

/* Past the limit output is read and dropped, so the command never blocks
 * on a full pipe and the daemon never grows. */
static void capture_append(struct acd_ctx *ctx, struct acd_capture *cap, const char *data,
			   size_t n)
{
	uint64_t limit = ctx->cfg.output_limit;
	size_t room = cap->buf.len < limit ? (size_t)(limit - cap->buf.len) : 0;

	if (n > room)
		cap->truncated = true;
	if (room)
		ac_buf_append(&cap->buf, data, n < room ? n : room, limit);
}

void acd_call_capture(struct acd_ctx *ctx, struct acd_call *call, bool err, const char *data,
		      size_t len)
{
	if (!call->replied)
		capture_append(ctx, err ? &call->err : &call->out, data, len);
}

void call_output_close(struct acd_ctx *ctx, struct acd_capture *cap)
{
	acd_watch_close(ctx, &cap->w);
}

static void on_capture(struct acd_ctx *ctx, struct acd_watch *w, uint32_t events)
{
	struct acd_capture *cap = (struct acd_capture *)w;
	char buf[65536];
	ssize_t n = read(w->fd, buf, sizeof(buf));

	if (n > 0) {
		capture_append(ctx, cap, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	call_output_close(ctx, cap);
	call_maybe_finish(ctx, cap->call);
}

int call_output_open(struct acd_capture *cap, int *child_end)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	cap->w.fd = p[0];
	cap->w.fn = on_capture;
	*child_end = p[1];
	return 0;
}

json_t *call_output_json(const struct ac_buf *b)
{
	json_t *s = json_stringn(b->data ? b->data : "", b->len);
	char *clean, *o;
	size_t i = 0;

	if (s)
		return s;
	clean = malloc(b->len * 3 + 1);
	if (!clean)
		return json_string("");
	o = clean;
	while (i < b->len) {
		unsigned char ch = (unsigned char)b->data[i];
		size_t n = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
		bool ok = n > 0 && i + n <= b->len;

		for (size_t k = 1; ok && k < n; k++)
			ok = ((unsigned char)b->data[i + k] >> 6) == 2;
		if (ok && n > 1 && !json_stringn(b->data + i, n))
			ok = false; /* overlong or surrogate */
		if (ok && ch != 0) {
			memcpy(o, b->data + i, n);
			o += n;
			i += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	s = json_stringn(clean, (size_t)(o - clean));
	free(clean);
	return s ? s : json_string("");
}
