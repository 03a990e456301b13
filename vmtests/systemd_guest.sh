#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The systemd VM's test (vmtests/run_systemd.sh): runs inside a minimal
# Debian booted with systemd as PID 1, as the oneshot unit
# agentcg-vmtest.service, after multi-user.target. The run's files are in
# /vmtest (a read-only 9p share of the host's BUILD/vm/systemd-job).
#
# It installs agentcg's .deb (make deb) with dpkg -i and checks, through
# dpkg, systemctl and journalctl:
# - the postinst made the group agentcg, enabled and started the socket;
#   `systemctl start agentcgd.socket` listens, and nothing else runs yet;
# - the first agentcg command starts agentcgd.service, whose main process
#   moved itself into the service cgroup's agentcg.daemon leaf;
# - a call runs within its intent, in a cgroup below the service's; an
#   unprivileged user's call runs with that user's uid;
# - `systemctl status agentcgd` shows the daemon's STATUS= line, which
#   counts the calls; the watchdog is pinged;
# - `systemctl stop agentcgd` with a call running: the daemon stops on
#   SIGTERM by itself (Result=success), kills the call, and leaves no
#   cgroup under the service's; the socket keeps listening;
# - `systemctl kill -s KILL agentcgd` (every process of the unit), and
#   again with --kill-whom=main (the daemon alone: its calls outlive it):
#   after the automatic restart no process of before is left and every
#   cgroup under the service's is the new daemon's;
# - `journalctl -u agentcgd -p warning` shows warnings only: the daemon's
#   lines there are all warnings, none worse (among them the one a
#   configured operator who does not exist makes), its info lines are at
#   info, and no <N> prefix is left in a message;
# - `dpkg -r agentcg` with a call running stops the socket and the daemon
#   (cleanly), leaving no process or cgroup, and keeps the configuration;
#   `dpkg -P agentcg` removes it, the group and the socket's enablement.
# Every wait is for a state, with a deadline of AGENTCG_TEST_WAIT seconds
# (300: TCG is 25-60x slower than the host). Prints TAP lines, then
# "vmtest-systemd: N passed, N failed (Ns)" and, last,
# "vmtest-systemd: exit N" (N = 0 when all passed), which the host waits for.
set -u
WAIT=${AGENTCG_TEST_WAIT:-300}
T0=$SECONDS
pass=0
fail=0
trap 'echo "vmtest-systemd: exit $?"' EXIT

ok() { echo "ok - $*"; pass=$((pass + 1)); }
nok() { echo "not ok - $*"; fail=$((fail + 1)); }
# check NAME CMD...: one TAP line, by CMD's status.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else nok "$name"; fi
}
note() { echo "# $*"; }
# Prints stdin as "#   " lines (what a failure needs to be understood).
show() { sed 's/^/#   /'; }
# wait_for CMD...: polls CMD until it succeeds or WAIT seconds pass.
wait_for() {
	local end=$((SECONDS + WAIT))
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
prop() { systemctl show -p "$2" --value "$1"; }
active() { [ "$(prop "$1" ActiveState)" = active ]; }
not_running() { [ "$(prop agentcgd.service ActiveState)" != active ] && [ "$(prop agentcgd.service ActiveState)" != activating ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# The pid of the process whose command line is exactly $1 (none: empty).
pid_of() { pgrep -xf "$1" | head -1; }
running() { [ -n "$(pid_of "$1")" ]; }

# ---- the guest ------------------------------------------------------------
note "guest: kernel $(uname -r), $(nproc) CPUs, $(systemctl --version | head -1)"
note "guest: $(. /etc/os-release && echo "$PRETTY_NAME"); PID 1 is $(cat /proc/1/comm)"
note "guest: the test starts $(cut -d' ' -f1 /proc/uptime)s after the kernel did"
check "PID 1 is systemd" [ "$(cat /proc/1/comm)" = systemd ]
check "/sys/fs/cgroup is a pure cgroup2 hierarchy" [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]

# ---- install ----------------------------------------------------------------
# The package the host built (make deb), as an operator installs it. Its
# postinst makes the operators' group agentcg, enables the socket and
# starts it.
deb=$(ls /vmtest/agentcg_*.deb 2>/dev/null | head -1)
out=$(dpkg -i "$deb" 2>&1)
rc=$?
echo "$out" | show
check "dpkg -i ${deb##*/}" eval '[ -n "$deb" ] && [ "$rc" = 0 ]'
check "the postinst started agentcgd.socket" active agentcgd.socket
for f in /usr/sbin/agentcgd /usr/bin/agentcg /usr/lib/systemd/system/agentcgd.service \
	/usr/lib/systemd/system/agentcgd.socket /etc/agentcg/agentcgd.json; do
	[ -e "$f" ] || nok "installed: $f is missing"
done
check "the postinst made the system group agentcg" eval 'getent group agentcg >/dev/null'
check "agentcgd.socket is enabled" systemctl -q is-enabled agentcgd.socket

# ---- socket activation --------------------------------------------------------
out=$(systemctl start agentcgd.socket 2>&1)
check "systemctl start agentcgd.socket" [ $? = 0 ]
[ -n "$out" ] && echo "$out" | show
check "agentcgd.socket is active" active agentcgd.socket
check "/run/agentcg/agentcgd.sock is a socket" [ -S /run/agentcg/agentcgd.sock ]
check "agentcgd.service does not run before the first client" not_running

t=$SECONDS
out=$(timeout "$WAIT" agentcg ls / 2>&1)
rc=$?
check "the first agentcg command (agentcg ls /) is answered" [ "$rc" = 0 ]
[ "$rc" = 0 ] || echo "$out" | show
check "... and it started agentcgd.service" wait_for active agentcgd.service
note "socket activation: agentcg ls answered after $((SECONDS - t))s"
MAIN=$(prop agentcgd MainPID)
CGREL=$(prop agentcgd ControlGroup)
SVC=/sys/fs/cgroup$CGREL
note "agentcgd: MainPID $MAIN, ControlGroup $CGREL"
check "the service's cgroup is /system.slice/agentcgd.service" [ "$CGREL" = /system.slice/agentcgd.service ]
check "agentcgd moved itself into the service cgroup's agentcg.daemon leaf" \
	[ "$(cat /proc/"$MAIN"/cgroup 2>/dev/null)" = "0::$CGREL/agentcg.daemon" ]
check "the call tree is at $CGREL/agentcg" [ -d "$SVC/agentcg" ]

# ---- calls ------------------------------------------------------------------------
j=$(timeout "$WAIT" agentcg run /default/vm --json --mem 64M --cpu 1 --pids 16 --timeout 60s -- true)
st=$(echo "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"]["status"])' 2>&1)
check "a call runs within its intent (verdict status ok)" [ "$st" = ok ]
[ "$st" = ok ] || echo "$j" | show
out=$(timeout "$WAIT" agentcg run /default/vm --mem 64M -- cat /proc/self/cgroup 2>&1)
check "the call ran in a cgroup of its own below the service's" \
	eval '[[ $out == "0::$CGREL/agentcg/default/vm/call-"* ]]'
note "the call's cgroup: $out"
out=$(timeout "$WAIT" setpriv --reuid=nobody --regid=nogroup --clear-groups agentcg run /default/vmu -- id -u 2>&1)
check "an unprivileged user's call (socket mode 0666) runs with that user's uid" [ "$out" = "$(id -u nobody)" ]
[ "$out" = "$(id -u nobody)" ] || echo "$out" | show

# ---- the drop-in shell, as the package installs it ----------------------------
# (a fourth call, counted below)
out=$(cd /tmp && PATH=/usr/lib/agentcg:$PATH AGENTCG_SESSION=/default/vmsh timeout "$WAIT" \
	bash -c 'cat /proc/self/cgroup; echo "$0 $1"' zero one 2>&1)
check "PATH=/usr/lib/agentcg:\$PATH bash -c CMD runs CMD as a call below the service" \
	eval '[[ $out == "0::$CGREL/agentcg/default/vmsh/call-"*"zero one" ]]'
[[ $out == "0::$CGREL/agentcg/default/vmsh/call-"* ]] || echo "$out" | show

# ---- status, watchdog -------------------------------------------------------------
# STATUS= follows at most once a second: wait for it to count the 4 calls.
status_counts() { [[ $(prop agentcgd StatusText) == "serving /run/agentcg/agentcgd.sock: "*", 4 since start" ]]; }
check "STATUS= counts the calls (StatusText ends \"4 since start\")" wait_for status_counts
note "StatusText: $(prop agentcgd StatusText)"
out=$(systemctl status --no-pager --lines=0 agentcgd 2>&1)
echo "$out" | cut -c1-150 | show
check "systemctl status agentcgd shows the STATUS line" \
	eval '[[ $out == *"Status: \"serving /run/agentcg/agentcgd.sock: "* ]]'
check "WatchdogSec is 30s" [ "$(prop agentcgd WatchdogUSec)" = 30s ]
# systemd moves WatchdogTimestamp on every WATCHDOG=1 (every 15 s here).
wd0=$(prop agentcgd WatchdogTimestampMonotonic)
wd_moved() { [ "$(prop agentcgd WatchdogTimestampMonotonic)" != "$wd0" ]; }
check "the watchdog is pinged (WatchdogTimestamp moves)" wait_for wd_moved

# ---- systemctl stop, a call running ----------------------------------------------
timeout "$WAIT" agentcg run /default/vmstop --timeout 30m -- sleep 3601 >/dev/null 2>&1 &
client=$!
check "a long call runs (sleep 3601)" wait_for running "sleep 3601"
sp=$(pid_of "sleep 3601")
note "sleep 3601 is pid $sp in $(cat /proc/"$sp"/cgroup 2>/dev/null)"
t=$SECONDS
out=$(systemctl stop agentcgd 2>&1)
rc=$?
note "systemctl stop agentcgd took $((SECONDS - t))s"
[ -n "$out" ] && echo "$out" | show
check "systemctl stop agentcgd" [ "$rc" = 0 ]
check "agentcgd stopped by itself on SIGTERM (Result=success, not killed)" [ "$(prop agentcgd Result)" = success ]
no_cgroup_left() { [ ! -d "$SVC" ] || [ -z "$(find "$SVC" -mindepth 1 -type d)" ]; }
check "no cgroup is left under the service's" no_cgroup_left
no_cgroup_left || find "$SVC" -mindepth 1 -type d | show
check "the call's process is gone" gone "$sp"
check "the call's client was answered and exited" wait_for gone "$client"
check "agentcgd.socket still listens" active agentcgd.socket
check "the daemon logged its clean stop" \
	eval 'journalctl -q -u agentcgd _PID='"$MAIN"' -o cat | grep -q "stopped; root removed"'

# ---- SIGKILL and the restart ------------------------------------------------------------
# The cgroup ids below the service (their inode numbers, which only grow).
cg_ids() { find "$SVC" -mindepth 1 -type d -printf '%i %P\n' 2>/dev/null; }
# every_proc_new NEWMAIN: each process in the service's cgroups is NEWMAIN
# or a descendant of it.
every_proc_new() {
	local p q bad=0
	for p in $(find "$SVC" -name cgroup.procs -exec cat {} + 2>/dev/null); do
		q=$p
		while [ "$q" != "$1" ] && [ "$q" -gt 1 ]; do
			q=$(awk '/^PPid:/ {print $2}' /proc/"$q"/status 2>/dev/null) || q=0
			q=${q:-0}
		done
		if [ "$q" != "$1" ] && kill -0 "$p" 2>/dev/null; then
			echo "#   pid $p ($(cat /proc/"$p"/cmdline 2>/dev/null | tr '\0' ' ')) is not the new daemon's"
			bad=1
		fi
	done
	return $bad
}
# every_cgroup_new MAXID: every cgroup below the service's, except the two
# the daemon keeps (its leaf agentcg.daemon and its root agentcg), has an
# id above MAXID: none was left from before.
every_cgroup_new() {
	local id path bad=0
	while read -r id path; do
		case "$path" in agentcg.daemon | agentcg) continue ;; esac
		[ "$id" -gt "$1" ] && continue
		echo "#   $path is left from before the kill (id $id)"
		bad=1
	done < <(cg_ids)
	return $bad
}
restarted() {
	local m
	[ "$(prop agentcgd NRestarts)" -gt "$1" ] && active agentcgd.service || return 1
	m=$(prop agentcgd MainPID)
	[ "$m" != 0 ] && [ "$m" != "$2" ]
}
# kill_and_restart WHOM MARKER: a call (sleep MARKER) running, SIGKILL
# to WHOM (all: every process of the unit; main: agentcgd alone), then
# what the restart must leave.
kill_and_restart() {
	local whom=$1 marker="sleep $2" old nr maxid sp new t client
	timeout "$WAIT" agentcg run /default/vmkill --timeout 30m -- $marker >/dev/null 2>&1 &
	client=$!
	check "[kill-whom=$whom] the socket starts agentcgd again; a call runs ($marker)" wait_for running "$marker"
	sp=$(pid_of "$marker")
	old=$(prop agentcgd MainPID)
	nr=$(prop agentcgd NRestarts)
	maxid=$(cg_ids | awk 'BEGIN {m = 0} $1 > m {m = $1} END {print m}')
	note "[kill-whom=$whom] agentcgd pid $old, NRestarts $nr, $(cg_ids | wc -l) cgroups, call pid $sp"
	t=$SECONDS
	systemctl kill -s KILL --kill-whom="$whom" agentcgd
	check "[kill-whom=$whom] systemctl kill -s KILL agentcgd: systemd restarts it" wait_for restarted "$nr" "$old"
	new=$(prop agentcgd MainPID)
	note "[kill-whom=$whom] restarted after $((SECONDS - t))s: agentcgd pid $new, NRestarts $(prop agentcgd NRestarts)"
	check "[kill-whom=$whom] the old agentcgd is gone" gone "$old"
	check "[kill-whom=$whom] the call's process is gone" wait_for gone "$sp"
	check "[kill-whom=$whom] no stray process: each one in the service's cgroups is the new agentcgd or its child" \
		every_proc_new "$new"
	check "[kill-whom=$whom] no cgroup under the service's but the new daemon's" every_cgroup_new "$maxid"
	check "[kill-whom=$whom] the new agentcgd is in agentcg.daemon" \
		[ "$(cat /proc/"$new"/cgroup 2>/dev/null)" = "0::$CGREL/agentcg.daemon" ]
	out=$(timeout "$WAIT" agentcg run /default/vm --json -- true 2>&1)
	check "[kill-whom=$whom] the new agentcgd runs calls" eval '[[ $out == *"\"status\": \"ok\""* ]]'
	wait_for gone "$client"
	# With Delegate=yes systemd removes the unit's cgroups itself once
	# they are empty, before the restart: the new daemon then finds no
	# leftover root to clear (which it would, and say so, otherwise).
	note "[kill-whom=$whom] the new agentcgd's warnings: $(journalctl -q -u agentcgd _PID="$new" -p warning -o cat | paste -sd';' -)"
}
kill_and_restart all 3602
kill_and_restart main 3603

# ---- a warning ---------------------------------------------------------------------
# An operator named in the configuration who does not exist: agentcgd
# starts all the same and warns (at priority warning, through its <4>
# prefix). The configuration is put back afterwards.
MISSING=agentcg-vmtest-missing
cp /etc/agentcg/agentcgd.json /tmp/agentcgd.json.orig
python3 -c '
import json, sys
p = "/etc/agentcg/agentcgd.json"
c = json.load(open(p))
c.setdefault("operators", {})["users"] = [sys.argv[1]]
json.dump(c, open(p, "w"), indent=2)' "$MISSING"
out=$(systemctl restart agentcgd 2>&1)
check "systemctl restart agentcgd with an operator who does not exist" [ $? = 0 ]
[ -n "$out" ] && echo "$out" | show
check "... it runs" wait_for active agentcgd.service
cp /tmp/agentcgd.json.orig /etc/agentcg/agentcgd.json && rm -f /tmp/agentcgd.json.orig

# ---- the journal ---------------------------------------------------------------------
# The daemon's own entries (systemd's messages about the unit come from
# PID 1) seen through `journalctl -u agentcgd -p warning`, and at info.
journal_check() {
	journalctl -q -u agentcgd -o json "$@" | python3 -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e.get("_PID") == "1":
        continue
    m = e.get("MESSAGE")
    if isinstance(m, list):
        m = bytes(m).decode("utf-8", "replace")
    print(e.get("PRIORITY"), m)'
}
warn=$(journal_check -p warning)
info=$(journal_check -p info)
note "journalctl -u agentcgd -p warning (agentcgd's own lines):"
echo "$warn" | show
check "journalctl -u agentcgd -p warning: agentcgd's lines there are warnings (priority 4), none worse" \
	eval '[ -n "$warn" ] && ! echo "$warn" | grep -qv "^4 "'
check "... among them the missing operator's" eval 'echo "$warn" | grep -q "^4 .*no user .$MISSING."'
check "agentcgd's info lines are at info (priority 6), not in the warning view" \
	eval 'echo "$info" | grep -q "^6 .*stopped; root removed" && ! echo "$warn" | grep -q "stopped; root removed"'
check "no <N> priority prefix is left in a message" eval '! echo "$info" | grep -qE "^[0-9] <[0-7]>"'

# ---- dpkg -r, dpkg -P ----------------------------------------------------------------
# Removal with the daemon serving and a call running: the prerm stops the
# socket and the daemon, which kills the call and removes its cgroups.
timeout "$WAIT" agentcg run /default/vmrm --timeout 30m -- sleep 3604 >/dev/null 2>&1 &
client=$!
check "before dpkg -r: agentcgd serves a call (sleep 3604)" wait_for running "sleep 3604"
sp=$(pid_of "sleep 3604")
main=$(prop agentcgd MainPID)
out=$(dpkg -r agentcg 2>&1)
rc=$?
echo "$out" | show
check "dpkg -r agentcg" [ "$rc" = 0 ]
check "... stopped the socket and the daemon" eval '! active agentcgd.socket && not_running'
check "... agentcgd stopped by itself (Result=success)" [ "$(prop agentcgd Result)" = success ]
check "... no cgroup is left under the service's" no_cgroup_left
check "... the call's process and the daemon are gone" eval 'gone "$sp" && gone "$main"'
check "... the client was answered and exited" wait_for gone "$client"
check "... no process of agentcg is left" eval '! pgrep -x agentcgd >/dev/null && ! pgrep -f "^sleep 360[0-9]$" >/dev/null'
check "... the binaries and units are gone, the configuration is kept" \
	eval '! [ -e /usr/sbin/agentcgd ] && ! [ -e /usr/lib/systemd/system/agentcgd.service ] && [ -e /etc/agentcg/agentcgd.json ]'
out=$(dpkg -P agentcg 2>&1)
rc=$?
echo "$out" | show
check "dpkg -P agentcg" [ "$rc" = 0 ]
check "... removed the configuration and the group agentcg the package made" \
	eval '! [ -e /etc/agentcg ] && ! getent group agentcg >/dev/null'
check "... and systemd forgot the socket's enablement" \
	eval '! [ -e /etc/systemd/system/sockets.target.wants/agentcgd.socket ]'

echo "vmtest-systemd: $pass passed, $fail failed ($((SECONDS - T0))s)"
[ "$fail" = 0 ]
