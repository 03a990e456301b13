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

# Deadlines: tests wait for a state (an event, a cgroup file, a count)
# and never for a fixed time; a deadline only ends a wait that would
# otherwise hang. Generous, since machines of one kind differ 4-10x in
# speed and the suite also runs under CPU load (make check-stress).
T_WAIT=${AGENTCG_TEST_WAIT:-60}
T_WAIT=${T_WAIT%%.*} # whole seconds here

# wait_until CMD...: runs CMD every 50 ms until it succeeds (0) or
# T_WAIT seconds have passed (1).
wait_until() {
	local end=$((SECONDS + T_WAIT))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

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
	local end=$((SECONDS + T_WAIT))
	while [ "$SECONDS" -lt "$end" ]; do
		[ -S "$AGENTCG_SOCKET" ] && "$AGENTCG" info >/dev/null 2>&1 && return 0
		kill -0 "$T_DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "daemon did not start:"; cat "$T_DAEMON_LOG"
	return 1
}

daemon_gone() { ! kill -0 "$T_DAEMON_PID" 2>/dev/null; }

# info_get EXPR: the daemon.info field EXPR (on d); each CLI call is
# bounded too, so a stuck daemon cannot outlast T_WAIT.
info_get() { jget "$(timeout "$T_WAIT" "$AGENTCG" --json info)" "$1"; }
# info_at_least / info_at_most EXPR N: that field is >= / <= N.
info_at_least() { [ "$(info_get "$1")" -ge "$2" ] 2>/dev/null; }
info_at_most() { [ "$(info_get "$1")" -le "$2" ] 2>/dev/null; }

# events_start FILE [agentcg events ARGS]: follows events into FILE in the
# background (T_EV_PID), once the daemon counts the new subscriber;
# events_stop ends it and waits until the daemon has let it go.
T_EV_PID=
events_start() {
	local f=$1 n0
	shift
	n0=$(info_get 'd["subscribers"]')
	"$AGENTCG" events "$@" >"$f" 2>&1 &
	T_EV_PID=$!
	wait_until info_at_least 'd["subscribers"]' $((n0 + 1))
}
events_stop() {
	local n0
	n0=$(info_get 'd["subscribers"]')
	kill "$T_EV_PID" 2>/dev/null
	wait "$T_EV_PID" 2>/dev/null
	T_EV_PID=
	wait_until info_at_most 'd["subscribers"]' $((n0 - 1))
}
# file_has FILE REGEX...: FILE has a line matching each extended REGEX.
file_has() {
	local f=$1 re
	shift
	for re in "$@"; do grep -Eq -- "$re" "$f" || return 1; done
}

# call_running SESSION N: call-N of SESSION is listed as running.
call_running() {
	local j
	j=$(timeout "$T_WAIT" "$AGENTCG" --json ls "$1" 2>/dev/null) || return 1
	[ "$(jget "$j" "any(c.get('name') == 'call-$2' and c.get('state') == 'running' for c in d.get('children', []))")" = true ]
}

# All root directories of the daemon, in every hierarchy.
daemon_roots() { "$AGENTCG" --json info | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["roots"]))'; }

daemon_stop() {
	[ -n "$T_DAEMON_PID" ] || return 0
	kill -TERM "$T_DAEMON_PID" 2>/dev/null
	wait_until daemon_gone
	if kill -0 "$T_DAEMON_PID" 2>/dev/null; then
		nok "daemon stops on SIGTERM"; kill -KILL "$T_DAEMON_PID"
	fi
	wait "$T_DAEMON_PID" 2>/dev/null
	T_DAEMON_PID=
}

# Every call-* directory below the root, in any hierarchy, is a spare the
# daemon reports (sessions keep call_pool cgroups ready, already named
# after their next calls): none is left over from a finished call. Waits up
# up to T_WAIT seconds for removals, which happen after the reply.
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
	local left end=$((SECONDS + T_WAIT))
	while :; do
		left=$(leftover_calls)
		[ -z "$left" ] && return 0
		[ "$SECONDS" -lt "$end" ] || break
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
