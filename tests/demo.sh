#!/bin/bash
# make demo: start agentcgd on its embedded default configuration in a
# throw-away cgroup root, run real tool calls (within their intent, over
# memory, time, forks; a Python session; two priorities under memory
# pressure; through MCP, the drop-in bash and the Python client), show
# their verdicts, stop the
# daemon and check that nothing is left behind.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
if [ "$(id -u)" != 0 ]; then echo "make demo needs root (it creates real cgroups)"; exit 1; fi

A=$BUILD/agentcg
export AGENTCG_SOCKET=/tmp/agentcg-demo-$$.sock
ROOT=agentcg-demo-$$
LOG=$(mktemp /tmp/agentcg-demo-log.XXXXXX)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; echo "(exit status $?)"; }

"$BUILD/agentcgd" --root "$ROOT" >"$LOG" 2>&1 &
DPID=$!
trap 'kill -TERM $DPID 2>/dev/null; wait $DPID 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 1 100); do "$A" info >/dev/null 2>&1 && break; sleep 0.05; done
step "agentcgd is up (embedded default configuration)"
head -1 "$LOG" | sed 's/^/  /'
grep ready "$LOG" | sed 's/^/  /'

step "1. a call within its intent: 64M of memory, 10s"
show "$A" -v run /demo/agent1 --mem 64M --timeout 10s --label compute -- \
	python3 -c 'print("sum =", sum(range(10**6)))'

step "2. a call that exceeds its memory: declares 64M (hard limit 128M), allocates 512M"
show "$A" -v run /demo/agent1 --mem 64M --mem-max 128M --label pytest -- \
	python3 -c 'x = bytearray(512 * 1024 * 1024); print("allocated", len(x))'

step "3. a call that exceeds its time: declares 1s, sleeps 10s"
show "$A" -v run /demo/agent1 --timeout 1s --label sleep -- sh -c 'echo started; sleep 10; echo never printed'

step "4. a fork loop under a forks budget of 20 (enforced in the kernel by BPF), and the processes it ran"
"$A" run /demo/agent1 --json --forks 20 -- sh -c 'for i in $(seq 100); do /bin/true; done' |
	python3 -c 'import json,sys; r=json.load(sys.stdin); print("verdict:", r["verdict"]["summary"]); print("processes (%d):" % r["processes_total"]); [print("  pid %d ppid %d %-14s %s" % (p["pid"], p["ppid"], p["command"], p.get("exit"))) for p in r["processes"][:5]]; print("  ...")'

step "5. a Python session keeps its state across tool calls; a cell over its memory is interrupted, not the session"
show "$A" session create /demo/nb --lang python
show "$A" session exec /demo/nb 'import json; rows = [{"id": i, "sq": i * i} for i in range(5)]; len(rows)'
show "$A" session exec /demo/nb --mem 64M --mem-max 256M 'big = [bytearray(1 << 20) for _ in range(200)]'
show "$A" session exec /demo/nb 'rows[-1]'
show "$A" session close /demo/nb

step "6. memory pressure in tenant /demo (budget 1G): a low-priority call holds 500M while a high-priority one grows to 540M"
GROW='import sys, time
keep = []
for mb in sys.argv[1:]:
    keep += [b"\x01" * (1 << 20) for _ in range(int(mb))]
    time.sleep(1)
print("allocated", len(keep), "MiB")'
"$A" session create /demo/batch --priority low >/dev/null
"$A" session create /demo/interactive --priority high >/dev/null
"$A" run /demo/batch --json --mem 400M --on-exceed report --label hold -- python3 -c "$GROW" 500 0 0 0 0 0 0 >/tmp/agentcg-demo-low-$$.json &
LOWPID=$!
sleep 1.5
echo "high-priority call (300M, then +100M, then +140M):"
"$A" run /demo/interactive --json --mem 400M --on-exceed report --label climb -- python3 -c "$GROW" 300 100 140 |
	python3 -c 'import json,sys; r=json.load(sys.stdin); print("  verdict:", r["verdict"]["status"], "-", r["verdict"]["summary"])'
wait $LOWPID
echo "low-priority call:"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); v=r["verdict"]; print("  verdict:", v["status"], "-", v["summary"]); print("  containment:", json.dumps(v.get("containment")))' /tmp/agentcg-demo-low-$$.json
rm -f /tmp/agentcg-demo-low-$$.json
"$A" session close /demo/batch >/dev/null
"$A" session close /demo/interactive >/dev/null

step "7. the doors agents use: an MCP tools/call, a drop-in bash, the Python client"
echo "an MCP client calls the tool run_command through agentcg mcp (JSON-RPC on its stdin):"
MCP_CALL='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_command","arguments":{"command":"python3 -c \"x = bytearray(256 << 20)\"","memory":"64M","memory_max":"96M","label":"mcp-demo"}}}'
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"make-demo","version":"1"}}}' \
	'{"jsonrpc":"2.0","method":"notifications/initialized"}' "$MCP_CALL" |
	"$A" mcp --session /demo/mcp 2>/dev/null |
	python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("id") == 1:
        print("  initialize: protocol %s, server %s" % (m["result"]["protocolVersion"], m["result"]["serverInfo"]["name"]))
    if m.get("id") == 2:
        r = m["result"]
        print("  tools/call run_command: isError %s" % json.dumps(r.get("isError", False)))
        print("  text: " + r["content"][0]["text"].replace("\n", "\n        "))
        print("  structuredContent.verdict.status: %s" % r["structuredContent"]["verdict"]["status"])'
FARM=$(mktemp -d /tmp/agentcg-demo-farm.XXXXXX)
ln -s "$(realpath "$BUILD/agentcg-sh")" "$FARM/bash"
echo "an unmodified agent with the drop-in bash first in its PATH (agentcg-sh, installed as /usr/lib/agentcg/bash):"
SH_CMD='cd /tmp && echo "in $(tail -1 /proc/self/cgroup | cut -d/ -f3-)" && python3 -c "x = bytearray(256 << 20)"'
printf "$ PATH=%s:\$PATH AGENTCG_SESSION=/demo/coder AGENTCG_INTENT=memory=64M,memory_max=96M bash -c '%s'\n" \
	"$FARM" "$SH_CMD"
PATH="$FARM:$PATH" AGENTCG_SESSION=/demo/coder AGENTCG_INTENT=memory=64M,memory_max=96M bash -c "$SH_CMD"
echo "(exit status $?)"
rm -rf "$FARM"
echo "the Python client (userspace/python, stdlib only):"
PYTHONPATH=userspace/python python3 -c 'import agentcg
with agentcg.Client() as c:
    r = c.run(["python3", "-c", "print(6 * 7)"], path="/demo/py", memory="64M", label="answer")
    print("  Client().run: stdout %r, status %s: %s" % (r.stdout.strip(), r.status, r.summary))
    c.request("session.close", {"path": "/demo/py"})'
"$A" session close /demo/mcp >/dev/null 2>&1
"$A" session close /demo/coder >/dev/null 2>&1

step "the structured result an agent gets back (call 2 again, --json, verdict part)"
"$A" run /demo/agent1 --json --mem 64M --mem-max 128M -- \
	python3 -c 'x = bytearray(512 * 1024 * 1024)' |
	python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("path","intent","usage","verdict")}, indent=2))'

step "the live tree"
"$A" ls -R /

step "stopping agentcgd"
ROOTS=$("$A" --json info | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["roots"]))')
kill -TERM $DPID; wait $DPID; rc=$?
trap - EXIT
left=""
for r in $ROOTS; do [ -e "$r" ] && left="$left $r"; done
rm -f "$LOG"
if [ -n "$left" ] || [ $rc -ne 0 ]; then
	echo "demo: daemon exit $rc, left behind:$left"; exit 1
fi
echo "agentcgd stopped (exit 0); its cgroups are gone from every hierarchy:"
for r in $ROOTS; do echo "  $r: removed"; done
