/* SPDX-License-Identifier: GPL-2.0 */
/* The tools of `agentcg mcp`: what tools/list shows (names, descriptions,
 * input schemas with the intent fields, output schemas) and what a
 * tools/call becomes (one agentcgd request, maybe after the session.create
 * of a default session). */
#ifndef AGENTCG_MCP_TOOLS_H
#define AGENTCG_MCP_TOOLS_H

#include <jansson.h>

#include "mcp.h"

enum mcp_tool_id {
	MCP_T_RUN = 0,	      /* run_command -> call.run */
	MCP_T_SESSION_CREATE, /* session_create -> session.create */
	MCP_T_PYTHON,	      /* python_exec -> session.exec */
	MCP_T_BASH,	      /* bash_exec -> session.exec */
	MCP_T_GET,	      /* session_get -> session.get */
	MCP_T_SET,	      /* session_set -> session.set */
	MCP_T_INTERRUPT,      /* session_interrupt -> session.interrupt */
	MCP_T_RESET,	      /* session_reset -> session.reset */
	MCP_T_CLOSE,	      /* session_close -> session.close */
};

/* What one tools/call becomes. */
struct mcp_plan {
	enum mcp_tool_id tool;
	const char *name;		/* the tool's name */
	const char *method;		/* the agentcgd method */
	json_t *params;			/* its params (owned) */
	char session[CLI_PATH_LEN];	/* the session it acts on */
	/* The session is made (session.create) first when it is not known
	 * to exist, with an interpreter of lang (NULL: for commands). */
	bool make;
	const char *lang;
};

/* tools/list's "tools", for the negotiated version (outputSchema and
 * title from 2025-06-18 on). NULL when out of memory. */
json_t *mcp_tools_list(const struct mcp *m);

/* The session.create params that make the session of p. */
json_t *mcp_tools_make_params(const struct mcp_plan *p);

/* A tools/call of tool name with args (an object): 0 with *p filled;
 * -ENOENT for an unknown tool (a protocol error); -EINVAL with *tool_error
 * (a CallToolResult with isError, saying what is wrong with which
 * argument); -ENOMEM. */
int mcp_tools_plan(const struct mcp *m, const char *name, const json_t *args,
		   struct mcp_plan *p, json_t **tool_error);
void mcp_plan_done(struct mcp_plan *p);

#endif
