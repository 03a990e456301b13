/* SPDX-License-Identifier: GPL-2.0 */
/* A daemon reply as an MCP CallToolResult: {"content": [text],
 * "structuredContent": the result object, "isError"}. The text is what a
 * model reads: the verdict's summary, what to change when a limit was
 * passed (in the tool's own argument names), the exit and usage, the
 * output. */
#ifndef AGENTCG_MCP_RESULT_H
#define AGENTCG_MCP_RESULT_H

#include <jansson.h>

#include "mcp.h"
#include "mcp_tools.h"

/* The text of a tool's result is cut at this length (the output itself
 * is bounded by the daemon's output_limit; structuredContent has it all). */
#define MCP_TEXT_MAX (4u << 20)

/* The CallToolResult of plan p's successful reply: isError when a call's
 * verdict is not ok. NULL when out of memory. */
json_t *mcp_result(const struct mcp *m, const struct mcp_plan *p, const json_t *result);

/* The CallToolResult of a JSON-RPC error object of agentcgd: its message,
 * each bad field, and what to do. what (may be NULL) says what failed when
 * it was not the tool's own request ("cannot make the session /t/s"). */
json_t *mcp_result_rpc_error(const struct mcp_plan *p, const json_t *error, const char *what);

/* A tool error: {"content": [{"type": "text", "text": ...}], "isError": true}. */
json_t *mcp_result_error(const char *fmt, ...) AC_PRINTF(1, 2);

#endif
