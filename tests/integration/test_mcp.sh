#!/bin/bash
# agentcg mcp, the MCP server on stdio, driven by the official MCP
# TypeScript SDK client (tests/mcp/test_mcp.mjs; the SDK is pinned by
# tests/mcp/package-lock.json and installed here with `npm ci` when
# tests/mcp/node_modules is missing) against a real agentcgd: protocol
# negotiation, the tools and their schemas, a call over its memory and
# its verdict, Python state across calls, a bad intent, interrupt and
# cancel while calls run, raw lines (2025-03-26, bad and over-long lines,
# the default session), and that every session it made is closed.
set -u
. "$(dirname "$0")/lib.sh"
MCPDIR=$(cd "$(dirname "$0")/../mcp" && pwd)

for t in node npm; do
	if ! command -v "$t" >/dev/null; then
		nok "agentcg mcp's tests need $t (make deps installs nodejs and npm)"
		t_summary
		exit 1
	fi
done
if [ ! -e "$MCPDIR/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
	echo "# npm ci --prefix tests/mcp (the MCP SDK, as tests/mcp/package-lock.json pins it)"
	if ! npm ci --prefix "$MCPDIR" --no-audit --no-fund >"$T_DAEMON_LOG" 2>&1; then
		nok "npm ci in tests/mcp: $(tail -5 "$T_DAEMON_LOG")"
		t_summary
		exit 1
	fi
fi
sdk=$(node -p "require('$MCPDIR/node_modules/@modelcontextprotocol/sdk/package.json').version" 2>&1)
want=$(node -p "require('$MCPDIR/package.json').dependencies['@modelcontextprotocol/sdk']" 2>&1)
expect_eq "the MCP SDK installed is the one tests/mcp pins" "$sdk" "$want"

# A tenant "default" too: without --session the server uses /default/mcp-PID.
python3 - "$T_CONFIG" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["tenants"]["default"] = {"memory_max": "4G", "cpu": 0, "pids": 4096, "users": ["*"]}
json.dump(c, open(sys.argv[1], "w"), indent=2)
EOF

daemon_start || { nok "daemon starts"; t_summary; exit 1; }
ok "daemon starts"

out=$(mktemp /tmp/agentcg-test-mcp.XXXXXX)
AGENTCG_BIN=$(realpath "$AGENTCG") MCP_SESSION="/t1/mcp-$$" T_WAIT=$T_WAIT \
	node "$MCPDIR/test_mcp.mjs" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
p=$(grep -c '^ok ' "$out")
f=$(grep -c '^not ok ' "$out")
T_PASS=$((T_PASS + p))
T_FAIL=$((T_FAIL + f))
rm -f "$out"
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && nok "test_mcp.mjs exited with status $rc"
check "the SDK test ran its checks ($p passed, $f failed)" test $((p + f)) -ge 40

# Nothing agentcg mcp made is left: no session of its names, no call
# cgroup, no agentcg mcp process.
left=$("$AGENTCG" --json ls -R / | python3 -c '
import json, sys
for t in json.load(sys.stdin)["children"]:
    for s in t.get("children", []):
        if s["name"].startswith("mcp-"):
            print(s["path"])')
expect_eq "no session made by agentcg mcp is left" "$left" ""
check "no call cgroup is left" no_call_cgroups
check "no agentcg mcp is left running" wait_until eval "! pgrep -f '^$(realpath "$AGENTCG") mcp' >/dev/null"

daemon_stop
t_summary
