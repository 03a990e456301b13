#!/bin/bash
# A daemon that dies without cleaning up (SIGKILL): its calls and spare
# stubs die with it (PR_SET_PDEATHSIG), but what its calls started
# (grandchildren) does not. The next daemon on the same root kills those,
# logging each (pid, command, uid), and only those: a process outside the
# root is untouched. It clears the root, serves, and removes it all on a
# clean stop. A root whose daemon is alive is never cleared.
set -u
. "$(dirname "$0")/lib.sh"
A=$AGENTCG
SL="77.$$"
GC="78.$$"   # the grandchild's
OUT="79.$$"  # a process outside the root

daemon_start || { nok "daemon starts"; t_summary; exit 1; }
roots=$(daemon_roots)
$A run /t1/crash -- sh -c "sleep $GC & exec sleep $SL" 2>/dev/null &
cli=$!
sleep "$OUT" &
outside=$!
running() { pgrep -f "$1" >/dev/null; }
wait_until running "^sleep $SL" && wait_until running "^sleep $GC"
check "the call is running" running "^sleep $SL"
check "and so is its grandchild" running "^sleep $GC"
gc_pid=$(pgrep -f "^sleep $GC")

# A second daemon on the root of a live one is refused and changes nothing.
log2=$(mktemp /tmp/agentcg-test-log2.XXXXXX)
AGENTCG_SOCKET="/tmp/agentcg-test-$$-2.sock" timeout "$T_WAIT" \
	"$AGENTCGD" --config "$T_CONFIG" --root "$T_ROOT" >"$log2" 2>&1
rc=$?
check "a second daemon on a live daemon's root is refused (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
expect_match "... saying the root is in use" "$(cat "$log2")" "in use by a running agentcgd"
check "... and the live daemon's call and grandchild run on" running "^sleep $GC"
serves() { "$A" info >/dev/null; }
check "... and it still serves" serves
rm -f "$log2"

kill -KILL "$T_DAEMON_PID"; wait "$T_DAEMON_PID" 2>/dev/null; T_DAEMON_PID=
wait $cli 2>/dev/null
not_running() { ! pgrep -f "$1" >/dev/null; }
gone() { wait_until not_running "$1"; }
check "the call's process dies with the daemon" gone "^sleep $SL"
check "the spare stubs die with the daemon" gone "[a]gentcgd --config $T_CONFIG"
check "the call's grandchild outlives the daemon" running "^sleep $GC"
left=0; for r in $roots; do [ -d "$r" ] && left=$((left + 1)); done
check "a killed daemon leaves its root behind ($left hierarchies)" test "$left" -gt 0

# The socket is made at PATH.new and renamed into place once it listens;
# a stale one there (a daemon killed in between) is replaced.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
	"$AGENTCG_SOCKET.new"
daemon_start || { nok "a new daemon starts on the leftover root"; t_summary; exit 1; }
ok "a new daemon starts on a leftover root that still holds processes"
check "... past a stale socket at its socket's .new path, which is gone" \
	test ! -e "$AGENTCG_SOCKET.new"
check "it kills the grandchild" gone "^sleep $GC"
expect_match "it logs what it killed: pid, command, uid" "$(cat "$T_DAEMON_LOG")" \
	"killed leftover pid $gc_pid \\(sleep, uid 0\\) in "
check "a process outside its root is untouched" kill -0 "$outside"
cleared=$(grep -c 'removed leftover root' "$T_DAEMON_LOG")
expect_eq "the new daemon clears the leftover root in every hierarchy" "$cleared" "$(echo "$roots" | wc -l)"
out=$($A run /t1/crash -- echo alive)
expect_eq "and serves calls" "$out" alive
daemon_stop
kill "$outside"; wait "$outside" 2>/dev/null
left=""; for r in $roots; do [ -e "$r" ] && left="$left $r"; done
expect_eq "a clean stop removes everything" "$left" ""
t_summary
