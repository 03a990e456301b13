// SPDX-License-Identifier: GPL-2.0
/* agentcg mcp: the MCP server's protocol loop. Newline-delimited JSON-RPC
 * 2.0 on stdin and stdout (nothing else is ever written to stdout; logs
 * go to stderr). One poll() loop over stdin, a signalfd and one agentcgd
 * connection per tool call in flight, so pings, other calls,
 * session_interrupt and cancellations are served while calls run.
 * Closing a call's connection is how it is stopped: agentcgd kills a
 * call, and interrupts a cell, whose client went away. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "mcp.h"
#include "mcp_result.h"
#include "mcp_tools.h"

/* JSON-RPC's own error codes. */
#define RPC_PARSE_ERROR (-32700)
#define RPC_INVALID_REQUEST (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS (-32602)
#define RPC_INTERNAL (-32603)
/* agentcgd's (README "Error codes") that a tool call handles itself. */
#define ACD_NOT_FOUND (-32001)
#define ACD_EXISTS (-32006)

/* How long the end waits for agentcgd to confirm the sessions it closes. */
#define MCP_CLOSE_WAIT_MS 10000

/* The protocol versions served, newest first (the answer to a version we
 * do not know). */
static const char *const mcp_versions[] = { "2025-11-25", "2025-06-18", "2025-03-26" };

/* One tools/call in flight. */
struct mcp_op {
	json_t *id;	       /* the client's request id */
	struct mcp_plan plan;  /* what it becomes */
	struct cli conn;       /* its own connection to agentcgd */
	int64_t rid;	       /* the daemon request in flight */
	bool making;	       /* ... is the session.create of its session */
	bool remade;	       /* the default session was made again once */
	bool cancelled;	       /* no reply; kept only to learn what making made */
};

bool mcp_proto_at_least(const struct mcp *m, const char *v)
{
	return strcmp(m->version ? m->version : mcp_versions[0], v) >= 0;
}

static void AC_PRINTF(2, 3) mcp_log(const struct mcp *m, const char *fmt, ...)
{
	va_list ap;

	if (!m->c->verbose)
		return;
	fprintf(stderr, "%s mcp: ", CLI_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- sessions known, and made here ------------------------------------ */

static bool mcp_known(const struct mcp *m, const char *path)
{
	for (int i = 0; i < m->n_known; i++)
		if (!strcmp(m->known[i], path))
			return true;
	return false;
}

static void mcp_know(struct mcp *m, const char *path)
{
	if (mcp_known(m, path))
		return;
	if (m->n_known == MCP_KNOWN_MAX) /* the oldest goes */
		memmove(m->known[0], m->known[1], sizeof(m->known[0]) * --m->n_known);
	ac_strlcpy(m->known[m->n_known++], path, sizeof(m->known[0]));
}

static void mcp_forget(struct mcp *m, const char *path)
{
	for (int i = 0; i < m->n_known; i++)
		if (!strcmp(m->known[i], path)) {
			memmove(m->known[i], m->known[--m->n_known], sizeof(m->known[0]));
			return;
		}
}

/* Made here: closed at the end. */
static void mcp_own(struct mcp *m, const char *path)
{
	mcp_know(m, path);
	for (int i = 0; i < m->n_owned; i++)
		if (!strcmp(m->owned[i], path))
			return;
	if (m->n_owned == MCP_OWNED_MAX) {
		fprintf(stderr, "%s mcp: made more than %d sessions: %s stays open at the end\n",
			CLI_PROG, MCP_OWNED_MAX, path);
		return;
	}
	ac_strlcpy(m->owned[m->n_owned++], path, sizeof(m->owned[0]));
}

/* Closed (or gone): not ours to close any more, made again if used. */
static void mcp_disown(struct mcp *m, const char *path)
{
	mcp_forget(m, path);
	for (int i = 0; i < m->n_owned; i++)
		if (!strcmp(m->owned[i], path)) {
			memmove(m->owned[i], m->owned[--m->n_owned], sizeof(m->owned[0]));
			return;
		}
}

/* ---- stdout -------------------------------------------------------------- */

/* One message, one line. Steals msg. */
static void mcp_write(struct mcp *m, json_t *msg)
{
	char *line;
	size_t len, off = 0;

	if (!msg) {
		fprintf(stderr, "%s mcp: out of memory: a reply was lost\n", CLI_PROG);
		return;
	}
	line = m->out_gone ? NULL : json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!line)
		return;
	len = strlen(line);
	line[len++] = '\n'; /* json_dumps' NUL: the line is written by length */
	while (off < len) {
		ssize_t n = write(STDOUT_FILENO, line + off, len - off);

		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (errno != EPIPE)
			fprintf(stderr, "%s mcp: writing to stdout: %m\n", CLI_PROG);
		m->out_gone = true; /* no one reads: stop */
		break;
	}
	free(line);
}

static void mcp_reply(struct mcp *m, const json_t *id, json_t *result)
{
	if (!result) {
		mcp_write(m, json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error",
				       "code", RPC_INTERNAL, "message", "out of memory"));
		return;
	}
	mcp_write(m, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result));
}

static void AC_PRINTF(4, 5)
	mcp_error(struct mcp *m, const json_t *id, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mcp_log(m, "error %d: %s", code, msg);
	mcp_write(m, json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
			       id ? id : json_null(), "error", "code", code, "message", msg));
}

/* ---- tool calls in flight --------------------------------------------------- */

static void mcp_op_free(struct mcp *m, struct mcp_op *op)
{
	for (int i = 0; i < m->n_ops; i++)
		if (m->ops[i] == op) {
			m->ops[i] = m->ops[--m->n_ops];
			break;
		}
	cli_done(&op->conn); /* agentcgd stops what it still runs for us */
	mcp_plan_done(&op->plan);
	json_decref(op->id);
	free(op);
}

/* Answers the tools/call with result (a CallToolResult) and ends it. */
static void mcp_op_finish(struct mcp *m, struct mcp_op *op, json_t *result)
{
	const json_t *text = json_object_get(json_array_get(json_object_get(result, "content"), 0),
					     "text");

	mcp_log(m, "%s -> %s%.200s", op->plan.name,
		json_is_true(json_object_get(result, "isError")) ? "error: " : "",
		json_string_value(text) ? json_string_value(text) : "?");
	if (!op->cancelled)
		mcp_reply(m, op->id, result);
	else
		json_decref(result);
	mcp_op_free(m, op);
}

static void mcp_op_lost(struct mcp *m, struct mcp_op *op, int err)
{
	mcp_op_finish(m, op,
		      mcp_result_error("%s: lost the connection to agentcgd at %s (%s); the call "
				       "may not have run",
				       op->plan.name, m->c->socket_path, strerror(-err)));
}

/* Sends the op's next request: the session.create of its session when
 * the tool makes it and it is not known to exist, else its own. 0 or
 * -errno. */
static int mcp_op_send(struct mcp *m, struct mcp_op *op)
{
	bool make = op->plan.make && !mcp_known(m, op->plan.session);
	json_t *params = make ? mcp_tools_make_params(&op->plan) :
				json_incref(op->plan.params);

	if (!params)
		return -ENOMEM;
	op->making = make;
	if (make)
		mcp_log(m, "%s: making session %s", op->plan.name, op->plan.session);
	op->rid = cli_send(&op->conn, make ? "session.create" : op->plan.method, params, NULL, 0);
	return op->rid < 0 ? (int)op->rid : 0;
}

/* The reply to the op's request: sends the next one, or answers. */
static void mcp_op_reply(struct mcp *m, struct mcp_op *op, const json_t *res, const json_t *err)
{
	struct mcp_plan *p = &op->plan;
	json_int_t code = json_integer_value(json_object_get(err, "code"));
	char what[CLI_PATH_LEN + 32];
	int r;

	if (op->making) {
		if (!err)
			mcp_own(m, p->session);
		if (op->cancelled) {
			mcp_op_free(m, op);
			return;
		}
		if (err && code != ACD_EXISTS) {
			snprintf(what, sizeof(what), "cannot make the session %s", p->session);
			mcp_op_finish(m, op, mcp_result_rpc_error(p, err, what));
			return;
		}
		mcp_know(m, p->session);
	} else if (err && code == ACD_NOT_FOUND && p->make && !op->remade) {
		/* the session went away (closed by another client): make it
		 * again, once */
		op->remade = true;
		mcp_disown(m, p->session);
	} else {
		if (!err && !strcmp(p->method, "session.create"))
			mcp_own(m, p->session);
		else if (!err && !strcmp(p->method, "session.close"))
			mcp_disown(m, p->session);
		mcp_op_finish(m, op, err ? mcp_result_rpc_error(p, err, NULL) : mcp_result(m, p, res));
		return;
	}
	r = mcp_op_send(m, op);
	if (r < 0)
		mcp_op_lost(m, op, r);
}

/* op is still in flight (no op is made while one is handled, so its
 * address cannot have been reused). */
static bool mcp_op_alive(const struct mcp *m, const struct mcp_op *op)
{
	for (int i = 0; i < m->n_ops; i++)
		if (m->ops[i] == op)
			return true;
	return false;
}

/* What arrived on the op's connection. */
static void mcp_op_input(struct mcp *m, struct mcp_op *op)
{
	for (;;) {
		json_t *msg = NULL, *id, *err;
		int r = cli_recv_nowait(&op->conn, &msg);

		if (r == 0)
			return;
		if (r < 0) {
			mcp_op_lost(m, op, r);
			return;
		}
		id = json_object_get(msg, "id");
		err = json_object_get(msg, "error");
		if (json_is_null(err))
			err = NULL;
		/* our reply, or an error about a line it could not take */
		if ((json_is_integer(id) && json_integer_value(id) == op->rid) ||
		    ((!id || json_is_null(id)) && err)) {
			mcp_op_reply(m, op, json_object_get(msg, "result"), err);
			json_decref(msg);
			if (!mcp_op_alive(m, op))
				return;
			continue;
		}
		json_decref(msg); /* call.started, or a stale reply */
	}
}

static struct mcp_op *mcp_op_by_fd(struct mcp *m, int fd)
{
	for (int i = 0; i < m->n_ops; i++)
		if (m->ops[i]->conn.fd == fd)
			return m->ops[i];
	return NULL;
}

/* ---- methods ---------------------------------------------------------------- */

static json_t *mcp_instructions(const struct mcp *m)
{
	return json_sprintf(
		"Each tool call runs in its own cgroup under the limits you declare in its "
		"arguments (memory, memory_max, cpu, pids, timeout, cpu_time, ...; sizes like "
		"\"512M\", durations like \"30s\"); what you leave out comes from the host's "
		"policy. The result reports what the call used and a verdict; a verdict other "
		"than ok is a tool error whose text says what to change (e.g. a larger "
		"memory_max, or fewer parallel workers). run_command runs in session %s; "
		"python_exec and bash_exec keep their interpreter's state in %s and %s. "
		"Sessions made here are closed when this server stops.",
		m->dflt[MCP_D_CMD], m->dflt[MCP_D_PYTHON], m->dflt[MCP_D_BASH]);
}

static void mcp_initialize(struct mcp *m, const json_t *id, const json_t *params)
{
	const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
	const json_t *client = json_object_get(params, "clientInfo");
	json_t *info;

	if (!asked) {
		mcp_error(m, id, RPC_INVALID_PARAMS,
			  "initialize needs params.protocolVersion (a string such as \"%s\")",
			  mcp_versions[0]);
		return;
	}
	if (m->version) {
		mcp_error(m, id, RPC_INVALID_REQUEST, "already initialized (protocol version %s)",
			  m->version);
		return;
	}
	/* The version asked for if we speak it, else our latest: the client
	 * decides whether it can go on with that. */
	m->version = mcp_versions[0];
	for (size_t i = 0; i < AC_ARRAY_SIZE(mcp_versions); i++)
		if (!strcmp(asked, mcp_versions[i]))
			m->version = mcp_versions[i];
	mcp_log(m, "client %s %s asked for protocol %s; speaking %s",
		cli_json_str(client, "name", "?"), cli_json_str(client, "version", "?"), asked,
		m->version);
	info = json_pack("{s:s, s:s}", "name", CLI_PROG, "version", MCP_SERVER_VERSION);
	if (info && mcp_proto_at_least(m, "2025-06-18"))
		json_object_set_new(info, "title", json_string("agentcg: resource-limited tool calls"));
	if (info && mcp_proto_at_least(m, "2025-11-25"))
		json_object_set_new(info, "description",
				    json_string("Runs commands and interpreter code as tool calls "
						"under agentcgd: each in its own cgroup, with the "
						"limits the model declares, and a verdict on what it "
						"used."));
	mcp_reply(m, id,
		  json_pack("{s:s, s:{s:{s:b}}, s:o, s:o}", "protocolVersion", m->version,
			    "capabilities", "tools", "listChanged", 0, "serverInfo", info,
			    "instructions", mcp_instructions(m)));
}

static void mcp_tools_call(struct mcp *m, const json_t *id, const json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	json_t *args = json_object_get(params, "arguments"), *tool_error = NULL;
	_cleanup_free_ char *summary = NULL;
	struct mcp_plan plan;
	struct mcp_op *op;
	int r;

	if (!name) {
		mcp_error(m, id, RPC_INVALID_PARAMS, "tools/call needs params.name (a string)");
		return;
	}
	if (args && !json_is_object(args)) {
		mcp_error(m, id, RPC_INVALID_PARAMS, "tools/call: params.arguments must be an object");
		return;
	}
	args = args ? json_incref(args) : json_object();
	r = mcp_tools_plan(m, name, args, &plan, &tool_error);
	json_decref(args);
	if (r == -ENOENT) {
		mcp_error(m, id, RPC_INVALID_PARAMS, "Unknown tool: %.128s", name);
		return;
	}
	if (r < 0) {
		mcp_reply(m, id, tool_error); /* NULL (no memory) is answered too */
		return;
	}
	if (m->n_ops == MCP_OPS_MAX) {
		mcp_plan_done(&plan);
		mcp_reply(m, id,
			  mcp_result_error("%s: %d tool calls are already running here; wait for "
					   "one to finish",
					   name, MCP_OPS_MAX));
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		mcp_plan_done(&plan);
		mcp_reply(m, id, NULL);
		return;
	}
	op->id = json_incref((json_t *)id);
	op->plan = plan;
	cli_init(&op->conn);
	op->conn.socket_path = m->c->socket_path;
	m->ops[m->n_ops++] = op;
	if (m->c->verbose) { /* the request, but the environment */
		json_t *shown = json_copy(op->plan.params);

		json_object_del(shown, "env");
		summary = json_dumps(shown, JSON_COMPACT);
		json_decref(shown);
		mcp_log(m, "%s -> %s %.300s", name, op->plan.method, summary ? summary : "");
	}
	r = cli_connect(&op->conn); /* says why on stderr */
	if (r < 0) {
		mcp_op_finish(m, op,
			      mcp_result_error("%s: cannot reach agentcgd at %s: %s (is it running? "
					       "agentcg mcp takes --socket or $AGENTCG_SOCKET)",
					       name, m->c->socket_path, strerror(-r)));
		return;
	}
	r = mcp_op_send(m, op);
	if (r < 0)
		mcp_op_lost(m, op, r);
}

/* notifications/cancelled: the call's connection is closed, which kills
 * the call (or interrupts the cell); no reply, as the spec says. */
static void mcp_cancel(struct mcp *m, const json_t *params)
{
	const json_t *rid = json_object_get(params, "requestId");

	for (int i = 0; rid && i < m->n_ops; i++) {
		struct mcp_op *op = m->ops[i];

		if (!json_equal(op->id, (json_t *)rid) || op->cancelled)
			continue;
		mcp_log(m, "%s cancelled (%s)", op->plan.name,
			cli_json_str(params, "reason", "no reason given"));
		if (op->making) /* learn whether the session was made */
			op->cancelled = true;
		else
			mcp_op_free(m, op);
		return;
	}
}

static void mcp_request(struct mcp *m, const char *method, const json_t *id, const json_t *params)
{
	if (!strcmp(method, "initialize")) {
		mcp_initialize(m, id, params);
	} else if (!strcmp(method, "ping")) {
		mcp_reply(m, id, json_object());
	} else if (!m->version) {
		mcp_error(m, id, RPC_INVALID_REQUEST,
			  "not initialized: the first request must be initialize");
	} else if (!strcmp(method, "tools/list")) {
		json_t *tools = mcp_tools_list(m);

		mcp_reply(m, id, tools ? json_pack("{s:o}", "tools", tools) : NULL);
	} else if (!strcmp(method, "tools/call")) {
		mcp_tools_call(m, id, params);
	} else {
		mcp_error(m, id, RPC_METHOD_NOT_FOUND, "Method not found: %.128s", method);
	}
}

static void mcp_notification(struct mcp *m, const char *method, const json_t *params)
{
	if (!strcmp(method, "notifications/initialized"))
		m->initialized = true;
	else if (!strcmp(method, "notifications/cancelled"))
		mcp_cancel(m, params);
	/* others (progress, roots changed, ...) need nothing from us */
}

static void mcp_message(struct mcp *m, const json_t *msg)
{
	const json_t *id = json_object_get(msg, "id"), *params = json_object_get(msg, "params");
	const char *method = json_string_value(json_object_get(msg, "method"));
	const char *version = json_string_value(json_object_get(msg, "jsonrpc"));

	if (json_is_array(msg)) {
		mcp_error(m, NULL, RPC_INVALID_REQUEST,
			  "batches are not supported: send one JSON-RPC object per line");
		return;
	}
	if (!json_is_object(msg)) {
		mcp_error(m, NULL, RPC_INVALID_REQUEST, "not a JSON-RPC request object");
		return;
	}
	if (!json_object_get(msg, "method") &&
	    (json_object_get(msg, "result") || json_object_get(msg, "error")))
		return; /* a response: we send no requests, so it answers nothing */
	if (id && !json_is_string(id) && !json_is_integer(id)) {
		mcp_error(m, NULL, RPC_INVALID_REQUEST, "the id must be a string or an integer");
		return;
	}
	if (!version || strcmp(version, "2.0") || !method) {
		if (id)
			mcp_error(m, id, RPC_INVALID_REQUEST,
				  "not a JSON-RPC 2.0 request (\"jsonrpc\": \"2.0\" and a method "
				  "name are needed)");
		return;
	}
	if (params && !json_is_object(params)) {
		if (id)
			mcp_error(m, id, RPC_INVALID_PARAMS, "params must be an object");
		return;
	}
	if (id)
		mcp_request(m, method, id, params);
	else
		mcp_notification(m, method, params);
}

/* ---- stdin -------------------------------------------------------------------- */

static void mcp_line(struct mcp *m, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg;
	size_t i = 0;

	while (i < len && strchr(" \t\r", line[i]))
		i++;
	if (i == len)
		return; /* a blank line */
	msg = json_loadb(line, len, 0, &jerr);
	if (!msg) {
		mcp_error(m, NULL, RPC_PARSE_ERROR, "parse error: %s (line %d, column %d)",
			  jerr.text, jerr.line, jerr.column);
		return;
	}
	mcp_message(m, msg);
	json_decref(msg);
}

/* Handles each complete line of the buffer. */
static void mcp_lines(struct mcp *m)
{
	struct ac_buf *b = &m->in;

	while (!m->out_gone) {
		char *nl = b->len > m->scanned ?
				   memchr(b->data + m->scanned, '\n', b->len - m->scanned) :
				   NULL;
		size_t len;

		if (!nl) {
			m->scanned = b->len;
			if (m->discarding) {
				ac_buf_consume(b, b->len);
				m->scanned = 0;
			} else if (b->len >= MCP_LINE_MAX) {
				mcp_error(m, NULL, RPC_INVALID_REQUEST,
					  "request line longer than %u MiB: refused (the rest of "
					  "the line is skipped)",
					  MCP_LINE_MAX >> 20);
				ac_buf_consume(b, b->len);
				m->scanned = 0;
				m->discarding = true;
			} else if (m->eof && b->len) { /* a last line without '\n' */
				mcp_line(m, b->data, b->len);
				ac_buf_consume(b, b->len);
				m->scanned = 0;
			}
			return;
		}
		len = (size_t)(nl - b->data);
		if (m->discarding)
			m->discarding = false; /* the end of the line refused */
		else
			mcp_line(m, b->data, len);
		ac_buf_consume(b, len + 1);
		m->scanned = 0;
	}
}

static void mcp_read_stdin(struct mcp *m)
{
	struct ac_buf *b = &m->in;
	long room = ac_buf_room(b, 65536, MCP_LINE_MAX);
	ssize_t n;

	if (room < 0) { /* -ENOMEM (a full buffer was handled by mcp_lines) */
		fprintf(stderr, "%s mcp: out of memory reading stdin\n", CLI_PROG);
		m->eof = true;
		return;
	}
	n = read(STDIN_FILENO, b->data + b->len, (size_t)room);
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		fprintf(stderr, "%s mcp: reading stdin: %m\n", CLI_PROG);
		m->eof = true;
	} else if (n == 0) {
		m->eof = true;
	} else {
		b->len += (size_t)n;
	}
	mcp_lines(m);
	if (m->eof)
		mcp_log(m, "stdin closed%s", m->n_ops ? ": finishing the calls that run" : "");
}

/* ---- the loop and the end ------------------------------------------------------ */

static void mcp_loop(struct mcp *m)
{
	struct pollfd pfd[2 + MCP_OPS_MAX];

	while (!m->stop_signal && !m->out_gone && !(m->eof && m->n_ops == 0)) {
		int n = 0;

		pfd[n++] = (struct pollfd){ .fd = m->eof ? -1 : STDIN_FILENO, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = m->sigfd, .events = POLLIN };
		for (int i = 0; i < m->n_ops; i++)
			pfd[n++] = (struct pollfd){ .fd = m->ops[i]->conn.fd, .events = POLLIN };
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s mcp: poll: %m\n", CLI_PROG);
			break;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			if (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				m->stop_signal = (int)si.ssi_signo;
			break;
		}
		/* Calls first: a cancellation read from stdin may free one. */
		for (int i = 2; i < n; i++) {
			struct mcp_op *op = pfd[i].revents ? mcp_op_by_fd(m, pfd[i].fd) : NULL;

			if (op)
				mcp_op_input(m, op);
		}
		if (pfd[0].revents)
			mcp_read_stdin(m);
	}
}

/* Closes the sessions made here: every session.close is sent before any
 * answer is awaited, so agentcgd closes them all even if we are killed
 * while waiting. */
static void mcp_close_owned(struct mcp *m)
{
	struct cli conn;
	int64_t ids[MCP_OWNED_MAX];
	int left = 0;
	uint64_t end = ac_now_ns() + MCP_CLOSE_WAIT_MS * 1000000ULL;

	if (!m->n_owned)
		return;
	cli_init(&conn);
	conn.socket_path = m->c->socket_path;
	if (cli_connect(&conn) < 0) {
		fprintf(stderr, "%s mcp: could not close the %d session%s made here\n", CLI_PROG,
			m->n_owned, m->n_owned == 1 ? "" : "s");
		return;
	}
	for (int i = 0; i < m->n_owned; i++) {
		ids[i] = cli_send(&conn, "session.close", json_pack("{s:s}", "path", m->owned[i]),
				  NULL, 0);
		if (ids[i] > 0)
			left++;
		mcp_log(m, "closing %s", m->owned[i]);
	}
	while (left > 0 && ac_now_ns() < end) {
		struct pollfd pfd = { .fd = conn.fd, .events = POLLIN };
		json_t *msg = NULL;
		int r = cli_recv_nowait(&conn, &msg);

		if (r < 0)
			break;
		if (r == 0) {
			poll(&pfd, 1, ac_ns_to_ms_ceil(end - ac_now_ns()));
			continue;
		}
		for (int i = 0; i < m->n_owned; i++) {
			const json_t *err = json_object_get(msg, "error");

			if (json_integer_value(json_object_get(msg, "id")) != ids[i])
				continue;
			left--;
			ids[i] = 0;
			if (err && !json_is_null(err) &&
			    json_integer_value(json_object_get(err, "code")) != ACD_NOT_FOUND)
				fprintf(stderr, "%s mcp: closing %s: %s\n", CLI_PROG, m->owned[i],
					cli_json_str(err, "message", "?"));
		}
		json_decref(msg);
	}
	if (left)
		fprintf(stderr, "%s mcp: agentcgd did not confirm %d session close%s\n", CLI_PROG,
			left, left == 1 ? "" : "s");
	m->n_owned = 0;
	cli_done(&conn);
}

static void mcp_done(struct mcp *m)
{
	while (m->n_ops) /* killed (calls) or interrupted (cells) by agentcgd */
		mcp_op_free(m, m->ops[0]);
	mcp_close_owned(m);
	ac_buf_free(&m->in);
	if (m->sigfd >= 0)
		close(m->sigfd);
}

/* SIGINT, SIGTERM and SIGHUP arrive on a signalfd, so that the loop ends
 * and the sessions made here are closed; SIGPIPE is ignored (a client
 * that went away shows as EPIPE on stdout). */
static int mcp_signals(struct mcp *m)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sigfd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The default sessions: S, S-python, S-bash. */
static int mcp_sessions(struct mcp *m, struct cli *c, const char *session)
{
	char path[CLI_PATH_LEN], dflt[CLI_PATH_LEN];
	struct ac_path p;
	int e;

	if (!session) {
		snprintf(dflt, sizeof(dflt), "/default/mcp-%d", (int)getpid());
		session = dflt;
	}
	e = cli_parse_path(c, session, AC_LEVEL_SESSION, AC_LEVEL_SESSION, path, sizeof(path));
	if (e)
		return e;
	ac_path_parse(path, &p);
	if (strlen(p.comp[1]) > MCP_DFLT_NAME_MAX)
		return cli_usage_error(c, "session name '%s' is longer than %d characters (-python "
					  "and -bash are added to it)",
				       p.comp[1], MCP_DFLT_NAME_MAX);
	ac_strlcpy(m->tenant, p.comp[0], sizeof(m->tenant));
	/* "/" 64 "/" 57 "-python" fits CLI_PATH_LEN */
	if (ac_snprintf(m->dflt[MCP_D_CMD], sizeof(m->dflt[0]), "%s", path) < 0 ||
	    ac_snprintf(m->dflt[MCP_D_PYTHON], sizeof(m->dflt[0]), "%s-python", path) < 0 ||
	    ac_snprintf(m->dflt[MCP_D_BASH], sizeof(m->dflt[0]), "%s-bash", path) < 0)
		return cli_usage_error(c, "session path too long: '%s'", path);
	return 0;
}

enum { MCP_O_SESSION = 1 };

static const struct cli_opt mcp_opts[] = {
	{ "session", 0, true, MCP_O_SESSION },
	{ NULL, 0, false, 0 },
};

int cli_cmd_mcp(struct cli *c, int argc, char **argv)
{
	struct cli_parser p = { .c = c, .argc = argc, .argv = argv, .i = 1 };
	struct mcp m = { .c = c, .sigfd = -1 };
	const char *arg, *session = NULL, *env = getenv("AGENTCG_SESSION");
	int id, e;

	while ((id = cli_opt_next(&p, mcp_opts, &arg)) != CLI_OPT_END) {
		if (id == CLI_OPT_HELP)
			return cli_help(c);
		if (id == CLI_OPT_ERROR)
			return CLI_EXIT_USAGE;
		if (id == CLI_OPT_POSITIONAL)
			return cli_usage_error(c, "unexpected argument '%s'", arg);
		session = arg;
	}
	if (p.dashdash && p.i < argc)
		return cli_usage_error(c, "unexpected argument '%s'", argv[p.i]);
	if (!session && env && *env)
		session = env;
	e = mcp_sessions(&m, c, session);
	if (e)
		return e;
	e = mcp_signals(&m);
	if (e < 0) {
		fprintf(stderr, "%s mcp: signals: %s\n", CLI_PROG, strerror(-e));
		return CLI_EXIT_FAIL;
	}
	mcp_log(&m, "serving MCP on stdio; agentcgd at %s; sessions %s, %s, %s", c->socket_path,
		m.dflt[MCP_D_CMD], m.dflt[MCP_D_PYTHON], m.dflt[MCP_D_BASH]);
	mcp_loop(&m);
	if (m.stop_signal)
		mcp_log(&m, "stopping on %s", strsignal(m.stop_signal));
	mcp_done(&m);
	return m.stop_signal ? 128 + m.stop_signal : CLI_EXIT_OK;
}
