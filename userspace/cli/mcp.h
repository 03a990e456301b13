/* SPDX-License-Identifier: GPL-2.0 */
/* agentcg mcp: a Model Context Protocol server on stdio that turns tool
 * calls into agentcgd requests, made as the user who runs it (the daemon
 * knows who from SO_PEERCRED). Modules:
 *   mcp.c         the protocol loop: newline-delimited JSON-RPC on stdin
 *                 and stdout, the lifecycle (initialize, ping), tools/list
 *                 and tools/call, one daemon connection per tool call in
 *                 flight, cancellation, and closing what it made at the end
 *   mcp_tools.c   the tools: input and output schemas, arguments checked
 *                 and turned into a daemon request (mcp_tools.h)
 *   mcp_result.c  a daemon reply as a CallToolResult: a text summary that
 *                 says what to change, structuredContent, isError
 *                 (mcp_result.h)
 * One context (struct mcp), no globals. */
#ifndef AGENTCG_MCP_H
#define AGENTCG_MCP_H

#include <stdbool.h>

#include "agentcg/buf.h"
#include "agentcg/names.h"
#include "cli.h"

#define MCP_LINE_MAX (16u << 20) /* longest request line read from stdin */
#define MCP_OPS_MAX 16		 /* tool calls in flight at once */
#define MCP_OWNED_MAX 64	 /* sessions made here (per_uid.sessions) */
#define MCP_KNOWN_MAX 64	 /* sessions known to exist (no session.create first) */
#define MCP_SERVER_VERSION "0.1.0"

/* The default sessions: one for commands, one per interpreter. Their
 * paths are the --session path and that path with a suffix. */
enum mcp_dflt {
	MCP_D_NONE = -1,
	MCP_D_CMD = 0, /* S: run_command */
	MCP_D_PYTHON,  /* S-python: python_exec */
	MCP_D_BASH,    /* S-bash: bash_exec */
	MCP_D_N,
};
/* The longest session name a default may have: room for the suffix. */
#define MCP_DFLT_NAME_MAX (AC_NAME_MAX - 7) /* strlen("-python") */

struct mcp_op;

struct mcp {
	struct cli *c;	     /* socket path, -v */
	const char *version; /* negotiated protocol version; NULL before initialize */
	bool initialized;    /* notifications/initialized seen */
	char tenant[AC_NAME_MAX + 1];	  /* of the default sessions (bare names) */
	char dflt[MCP_D_N][CLI_PATH_LEN]; /* the default sessions' paths */
	/* Sessions known to exist (made here, or found): a call there needs no
	 * session.create first. Forgetting one only costs that request. */
	char known[MCP_KNOWN_MAX][CLI_PATH_LEN];
	int n_known;
	char owned[MCP_OWNED_MAX][CLI_PATH_LEN]; /* made here: closed at the end */
	int n_owned;
	/* stdin, read line by line */
	struct ac_buf in;
	size_t scanned;	 /* prefix of in known to hold no '\n' */
	bool discarding; /* dropping the rest of a line over MCP_LINE_MAX */
	bool eof;	 /* stdin closed: finish what runs, then stop */
	bool out_gone;	 /* stdout closed: no one reads, stop now */
	int sigfd;	 /* SIGINT, SIGTERM, SIGHUP: stop now */
	int stop_signal;
	struct mcp_op *ops[MCP_OPS_MAX]; /* tool calls in flight */
	int n_ops;
};

/* The negotiated version is at least v ("2025-06-18"); before
 * initialize, the latest counts. */
bool mcp_proto_at_least(const struct mcp *m, const char *v);

#endif
