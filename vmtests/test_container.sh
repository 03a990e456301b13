#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Pure cgroup v2 only (run in the vmtest guest by vmtests/guest.sh):
# agentcgd as a container sidecar. A container runtime gives the container
# a cgroup of its own (the pod's, here POD below a slice that enables
# memory, cpu and pids), a cgroup namespace rooted there and a mount
# namespace with a private cgroup2 mount; config/kubernetes/ runs agentcgd
# that way. Here unshare(1) makes the same namespaces. Checks: the daemon
# sees the pod's cgroup as "/", builds its tree there (root "auto"), limits
# calls in it, and touches nothing outside POD; on SIGTERM it leaves POD as
# it found it.
set -u
. "$(dirname "$0")/../tests/integration/lib.sh"
A=$AGENTCG
CG=/sys/fs/cgroup
SLICE=$CG/vmtest-$$-kubepods.slice
POD=$SLICE/pod
SL="41.$$"

if [ "$(stat -fc %T $CG)" != cgroup2fs ] || ! grep -qw memory $CG/cgroup.subtree_control; then
	nok "needs a pure cgroup v2 host with memory enabled at $CG (the vmtest guest)"
	t_summary; exit 1
fi
mkdir "$SLICE" "$POD" || { nok "create $POD"; t_summary; exit 1; }
echo "+memory +cpu +pids" >"$SLICE/cgroup.subtree_control"
cleanup() {
	[ -n "$T_DAEMON_PID" ] && kill -KILL "$T_DAEMON_PID" 2>/dev/null
	pkill -f "[s]leep $SL"
	find "$SLICE" -depth -type d 2>/dev/null | while read -r d; do
		xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
		for _ in $(seq 1 50); do rmdir "$d" 2>/dev/null && break; [ -d "$d" ] || break; sleep 0.1; done
	done
}
trap cleanup EXIT

# Every cgroup outside the pod, before anything runs.
outside() { find "$CG" -type d -not -path "$SLICE*" | LC_ALL=C sort; }
before=$(outside)

# The container: into POD, then new cgroup and mount namespaces with a
# private cgroup2 mount on /sys/fs/cgroup, then agentcgd with its default
# root. The socket is on /tmp, which the container shares with this test
# (as a pod's emptyDir is shared with the agent's container).
sh -c 'echo 0 >"$1/cgroup.procs" && shift &&
	exec unshare --cgroup --mount --propagation private sh -c "
		umount -l /sys/fs/cgroup 2>/dev/null; mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"\$@\"" sh "$@"' \
	sh "$POD" "$AGENTCGD" --config "$T_CONFIG" >"$T_DAEMON_LOG" 2>&1 &
T_DAEMON_PID=$!
started() { [ -S "$AGENTCG_SOCKET" ] && "$A" info >/dev/null 2>&1; }
if wait_until started; then ok "agentcgd starts in its own cgroup and mount namespaces"; else
	nok "agentcgd starts in its own cgroup and mount namespaces: $(cat "$T_DAEMON_LOG")"
	t_summary; exit 1
fi
dpid=$T_DAEMON_PID # sh, unshare and sh exec each other: it is agentcgd's
expect_eq "its cgroup namespace is not this one" \
	"$([ "$(readlink /proc/"$dpid"/ns/cgroup)" != "$(readlink /proc/self/ns/cgroup)" ] && echo yes)" yes
expect_eq "it sees the pod's cgroup as / (/proc/PID/cgroup from inside)" \
	"$(nsenter -t "$dpid" -C cat /proc/"$dpid"/cgroup)" "0::/agentcg.daemon"
info=$($A --json info)
expect_eq "backend is v2" "$(jget "$info" 'd["backend"]')" v2
expect_eq "its root, in its own view, is /sys/fs/cgroup/agentcg" "$(jget "$info" 'd["root"]')" \
	"/sys/fs/cgroup/agentcg"
check "... which is the pod's cgroup's agentcg/ on the host" test -d "$POD/agentcg"
expect_eq "... and the daemon sits in the leaf beside it" "$(cat "$POD/agentcg.daemon/cgroup.procs")" \
	"$dpid"

limits=$($A run /t1/s1 --mem 100M --mem-max 200M --pids 20 -- sh -c '
	g=$(grep "^0::" /proc/self/cgroup | cut -d: -f3)
	echo $g $(cat /sys/fs/cgroup$g/memory.max) $(cat /sys/fs/cgroup$g/pids.max)')
expect_match "a call sees its cgroup relative to the pod, with its limits" "$limits" \
	"^/agentcg/t1/s1/call-[0-9]+ 209715200 20$"
$A run /t1/s2 --mem-max 150M -- sleep "$SL" & bg=$!
wait_until call_running /t1/s2 1
hostcg=$(find "$POD/agentcg/t1/s2" -maxdepth 1 -name 'call-*' -type d | head -1)
expect_eq "the host sees that call's memory.max inside the pod's cgroup" \
	"$(cat "$hostcg/memory.max" 2>/dev/null)" 157286400
$A kill /t1/s2/call-1 >/dev/null
wait $bg
j=$($A run /t1/s1 --json --mem 32M --mem-max 48M -- python3 -c 'x = bytearray(300*1024*1024)')
expect_match "a call over its memory_max is killed inside the pod" \
	"$(jget "$j" 'd["verdict"]["exceeded"]')" '"resource": "memory_max".*"action": "killed"'
expect_eq "no cgroup outside the pod was made or removed while it ran" "$(outside)" "$before"

kill -TERM "$T_DAEMON_PID"
wait "$T_DAEMON_PID"; rc=$?
T_DAEMON_PID=
expect_eq "the daemon exits 0 on SIGTERM" "$rc" 0
expect_eq "at exit nothing is left below the pod's cgroup" \
	"$(find "$POD" -mindepth 1 -type d | tr '\n' ' ')" ""
expect_eq "... and nothing outside it changed" "$(outside)" "$before"

t_summary
