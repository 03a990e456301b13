# Shared helpers of the integration tests: a throw-away daemon under this
# shell's own cgroup, TAP-style results, and leak checks.
# Sourced by tests/integration/test_*.sh with BUILD set.

BUILD=${BUILD:-build}
AGENTCGD=${AGENTCGD:-$BUILD/agentcgd}
AGENTCG=${AGENTCG:-$BUILD/agentcg}
T_PASS=0
T_FAIL=0

ok()   { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
nok()  { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }
# check DESC CMD...: passes when CMD succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }
# expect_eq DESC GOT WANT
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1 (got '$2', want '$3')"; fi; }
# expect_match DESC TEXT REGEX
expect_match() { if printf '%s' "$2" | grep -Eq -- "$3"; then ok "$1"; else nok "$1 (no /$3/ in: $(printf '%s' "$2" | head -c 600))"; fi; }

# jq-less JSON field access: jget JSON 'python expression on d'
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1" "$2"; }

# The tests' configuration (tenants t1 and small, a 64K output limit), in
# a copy a test may change.
T_CONFIG=$(mktemp /tmp/agentcg-test-cfg.XXXXXX)
cp "$(dirname "${BASH_SOURCE[0]}")/agentcgd-test.json" "$T_CONFIG"

T_ROOT="agentcg-test-$$"
export AGENTCG_SOCKET="/tmp/agentcg-test-$$.sock"
T_DAEMON_LOG=$(mktemp /tmp/agentcg-test-log.XXXXXX)
T_DAEMON_PID=

daemon_start() {
	"$AGENTCGD" --config "$T_CONFIG" --root "$T_ROOT" "$@" >"$T_DAEMON_LOG" 2>&1 &
	T_DAEMON_PID=$!
	for _ in $(seq 1 100); do
		[ -S "$AGENTCG_SOCKET" ] && "$AGENTCG" info >/dev/null 2>&1 && return 0
		kill -0 "$T_DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "daemon did not start:"; cat "$T_DAEMON_LOG"
	return 1
}

# All root directories of the daemon, in every hierarchy.
daemon_roots() { "$AGENTCG" --json info | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["roots"]))'; }

daemon_stop() {
	[ -n "$T_DAEMON_PID" ] || return 0
	kill -TERM "$T_DAEMON_PID" 2>/dev/null
	for _ in $(seq 1 200); do kill -0 "$T_DAEMON_PID" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$T_DAEMON_PID" 2>/dev/null; then
		nok "daemon stops on SIGTERM"; kill -KILL "$T_DAEMON_PID"
	fi
	wait "$T_DAEMON_PID" 2>/dev/null
	T_DAEMON_PID=
}

# Every call-* directory below the root, in any hierarchy, is a spare the
# daemon reports (sessions keep call_pool cgroups ready, already named
# after their next calls): none is left over from a finished call. Waits up
# to 2 s for removals, which happen after the reply.
leftover_calls() {
	"$AGENTCG" --json ls -R / | python3 -c '
import json, os, sys
tree = json.load(sys.stdin)
roots = sys.argv[1:]
spares = set()
for t in tree["children"]:
    for s in t.get("children", []):
        for name in s.get("spares", []):
            spares.add(s["path"].lstrip("/") + "/" + name)
for r in roots:
    for d, subdirs, _ in os.walk(r):
        for x in subdirs:
            if x.startswith("call-"):
                rel = os.path.relpath(os.path.join(d, x), r)
                if rel not in spares:
                    print(os.path.join(d, x))
' $(daemon_roots)
}
no_call_cgroups() {
	local left
	for _ in $(seq 1 40); do
		left=$(leftover_calls)
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	echo "$left"
	return 1
}

t_summary() {
	rm -f "$T_CONFIG" "$T_DAEMON_LOG"
	echo "# $T_PASS passed, $T_FAIL failed ($(basename "$0"))"
	[ "$T_FAIL" -eq 0 ]
}
