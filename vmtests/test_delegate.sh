#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Pure cgroup v2 only (run in the vmtest guest by vmtests/guest.sh): agentcgd
# started the way systemd starts a service with Delegate=yes, i.e. alone in
# a cgroup of its own whose parent enables memory, cpu and pids, and the
# daemon's default root (`auto`). cgroup v2 forbids processes in a cgroup
# that enables controllers for its children, so the daemon has to leave its
# own cgroup for a leaf first; at exit everything is as it found it. And
# when other processes share that cgroup, it refuses with a clear error and
# leaves nothing behind; so it does where the controllers are not
# available to it (no delegation).
set -u
. "$(dirname "$0")/../tests/integration/lib.sh"
A=$AGENTCG
CG=/sys/fs/cgroup
SLICE=$CG/vmtest-$$.slice
SVC=$SLICE/agentcgd.service
SL="31.$$"

if [ "$(stat -fc %T $CG)" != cgroup2fs ] || ! grep -qw memory $CG/cgroup.subtree_control; then
	nok "needs a pure cgroup v2 host with memory enabled at $CG (the vmtest guest)"
	t_summary; exit 1
fi

# The layout systemd makes for Delegate=yes: the slice enables the
# controllers, the service cgroup has them available and holds the daemon.
mkdir "$SLICE" "$SVC" || { nok "create $SVC"; t_summary; exit 1; }
echo "+memory +cpu +pids" >"$SLICE/cgroup.subtree_control"
cleanup() {
	[ -n "$T_DAEMON_PID" ] && kill -KILL "$T_DAEMON_PID" 2>/dev/null
	pkill -f "[s]leep $SL"
	find "$SLICE" "$CG/vmtest-$$-plain.slice" -depth -type d 2>/dev/null | while read -r d; do
		xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
		for _ in $(seq 1 50); do rmdir "$d" 2>/dev/null && break; [ -d "$d" ] || break; sleep 0.1; done
	done
}
trap cleanup EXIT

# svc_start: the daemon alone in $SVC, default root, like ExecStart=.
svc_start() {
	sh -c 'echo 0 >"$1/cgroup.procs" && shift && exec "$@"' sh "$SVC" \
		"$AGENTCGD" --config "$T_CONFIG" >"$T_DAEMON_LOG" 2>&1 &
	T_DAEMON_PID=$!
	local end=$((SECONDS + T_WAIT))
	while [ "$SECONDS" -lt "$end" ]; do
		[ -S "$AGENTCG_SOCKET" ] && "$AGENTCG" info >/dev/null 2>&1 && return 0
		kill -0 "$T_DAEMON_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
procs() { tr '\n' ' ' <"$1/cgroup.procs" | sed 's/ $//'; }

# --- alone in a delegated cgroup -----------------------------------------
if svc_start; then ok "daemon starts alone in $SVC (Delegate=yes layout)"; else
	nok "daemon starts alone in $SVC: $(cat "$T_DAEMON_LOG")"; t_summary; exit 1
fi
info=$($A --json info)
expect_eq "backend is v2" "$(jget "$info" 'd["backend"]')" v2
expect_eq "the root is <service>/agentcg" "$(jget "$info" 'd["root"]')" "$SVC/agentcg"
expect_eq "the daemon moved itself into the leaf agentcg.daemon" "$(procs "$SVC/agentcg.daemon")" "$T_DAEMON_PID"
expect_eq "no process is left in the service cgroup itself" "$(procs "$SVC")" ""
expect_match "memory, cpu and pids are enabled below the service cgroup" \
	"$(cat "$SVC/cgroup.subtree_control")" "cpu memory pids"

limits=$($A run /t1/s1 --mem 100M --mem-max 200M --cpu 0.5 --pids 20 -- sh -c '
	g=$(grep "^0::" /proc/self/cgroup | cut -d: -f3)
	echo $g $(cat /sys/fs/cgroup$g/memory.high) $(cat /sys/fs/cgroup$g/memory.max) $(cat /sys/fs/cgroup$g/cpu.max) $(cat /sys/fs/cgroup$g/pids.max)')
expect_match "a call runs below the service's root with its limits in place" "$limits" \
	"^${SVC#"$CG"}/agentcg/t1/s1/call-[0-9]+ 104857600 209715200 50000 100000 20$"
j=$($A run /t1/s1 --json --mem 32M --mem-max 48M -- python3 -c 'x = bytearray(300*1024*1024)')
expect_match "memory_max overrun in the delegated tree: killed by the OOM killer" \
	"$(jget "$j" 'd["verdict"]["exceeded"]')" '"resource": "memory_max".*"action": "killed"'
$A run /t1/s2 -- sleep "$SL" & bg=$!
wait_until call_running /t1/s2 1
$A kill /t1/s2/call-1 >/dev/null
wait $bg; rc=$?
expect_eq "kill works in the delegated tree" "$rc" 137

kill -TERM "$T_DAEMON_PID"
wait "$T_DAEMON_PID"; rc=$?
T_DAEMON_PID=
expect_eq "daemon exits 0 on SIGTERM" "$rc" 0
expect_eq "at exit nothing is left below the service cgroup" \
	"$(find "$SVC" -mindepth 1 -type d | tr '\n' ' ')" ""
expect_eq "at exit the service cgroup enables no controllers again" \
	"$(cat "$SVC/cgroup.subtree_control")" ""

# --- a second start in the same cgroup (a service restart) --------------
if svc_start; then ok "daemon starts again in the same service cgroup"; else
	nok "daemon starts again: $(cat "$T_DAEMON_LOG")"
fi
expect_eq "a call runs after the restart" "$($A run /t1/s1 -- echo again)" again
daemon_stop
expect_eq "after the restart's exit nothing is left" \
	"$(find "$SVC" -mindepth 1 -type d | tr '\n' ' ')$(cat "$SVC/cgroup.subtree_control")" ""

# --- sharing its cgroup with another process: refused, nothing left -----
sh -c 'echo 0 >"$1/cgroup.procs" && exec sleep "$2"' sh "$SVC" "$SL" & other=$!
shares_svc() { grep -qx "$other" "$SVC/cgroup.procs"; }
wait_until shares_svc
if svc_start; then
	nok "the daemon refuses a cgroup that other processes share (it started)"
	daemon_stop
else
	wait "$T_DAEMON_PID" 2>/dev/null
	T_DAEMON_PID=
	ok "the daemon refuses a cgroup that other processes share"
fi
expect_match "the refusal says why (other processes)" "$(cat "$T_DAEMON_LOG")" \
	"hold no processes but agentcgd.*busy"
expect_eq "the refusal leaves no cgroup behind" "$(find "$SVC" -mindepth 1 -type d | tr '\n' ' ')" ""
expect_eq "the refusal leaves the other process where it was" "$(procs "$SVC")" "$other"
expect_eq "the refusal leaves no controller enabled" "$(cat "$SVC/cgroup.subtree_control")" ""
kill "$other"; wait "$other" 2>/dev/null

# --- not delegated: the controllers are not available -------------------
PLAIN=$CG/vmtest-$$-plain.slice
mkdir "$PLAIN" "$PLAIN/agentcgd.service"
SVC=$PLAIN/agentcgd.service
if svc_start; then
	nok "the daemon refuses a cgroup without the controllers (it started)"
	daemon_stop
else
	wait "$T_DAEMON_PID" 2>/dev/null
	T_DAEMON_PID=
	ok "the daemon refuses a cgroup without the controllers"
fi
expect_match "the refusal says why (no controllers)" "$(cat "$T_DAEMON_LOG")" \
	"cannot enable memory, cpu, pids above .*No such file or directory"
expect_eq "that refusal leaves no cgroup behind" "$(find "$SVC" -mindepth 1 -type d | tr '\n' ' ')" ""
rmdir "$SVC" "$PLAIN"

t_summary
