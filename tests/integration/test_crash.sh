#!/bin/bash
# A daemon that dies without cleaning up (SIGKILL): its calls and spare
# stubs die with it (PR_SET_PDEATHSIG), and the next daemon on the same
# root clears what was left, then removes it all on a clean stop.
set -u
. "$(dirname "$0")/lib.sh"
A=$AGENTCG
SL="77.$$"

daemon_start || { nok "daemon starts"; t_summary; exit 1; }
roots=$(daemon_roots)
$A run /t1/crash -- sleep "$SL" 2>/dev/null &
cli=$!
running() { pgrep -f "$1" >/dev/null; }
wait_until running "^sleep $SL"
check "the call is running" running "^sleep $SL"
kill -KILL "$T_DAEMON_PID"; wait "$T_DAEMON_PID" 2>/dev/null; T_DAEMON_PID=
wait $cli 2>/dev/null
not_running() { ! pgrep -f "$1" >/dev/null; }
gone() { wait_until not_running "$1"; }
check "the call's process dies with the daemon" gone "^sleep $SL"
check "the spare stubs die with the daemon" gone "[a]gentcgd --config $T_CONFIG"
left=0; for r in $roots; do [ -d "$r" ] && left=$((left + 1)); done
check "a killed daemon leaves its root behind ($left hierarchies)" test "$left" -gt 0

daemon_start || { nok "a new daemon starts on the leftover root"; t_summary; exit 1; }
cleared=$(grep -c 'removed leftover root' "$T_DAEMON_LOG")
expect_eq "the new daemon clears the leftover root in every hierarchy" "$cleared" "$(echo "$roots" | wc -l)"
out=$($A run /t1/crash -- echo alive)
expect_eq "and serves calls" "$out" alive
daemon_stop
left=""; for r in $roots; do [ -e "$r" ] && left="$left $r"; done
expect_eq "a clean stop removes everything" "$left" ""
t_summary
