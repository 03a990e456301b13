#!/bin/bash
# Tool calls against the real kernel: limits in place before the command
# runs, real memory / cpu / pids / time overruns and their verdicts, stdio
# and exit status pass-through, identity, admission, and no leftovers.
set -u
. "$(dirname "$0")/lib.sh"
A=$AGENTCG
SL="30.$$"  # a sleep only this test runs, to look for leftovers

daemon_start || { nok "daemon starts"; t_summary; exit 1; }
ok "daemon starts ($(grep -o 'backend [a-z0-9]*' "$T_DAEMON_LOG" | head -1))"
BACKEND=$($A --json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["backend"])')

# --- pass-through -------------------------------------------------------
out=$($A run /t1/s1 -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 7' 2>/tmp/acg-err.$$); rc=$?
expect_eq "stdout passes through" "$out" "to-stdout"
expect_match "stderr passes through" "$(cat /tmp/acg-err.$$)" "to-stderr"
expect_eq "exit status passes through" "$rc" 7
out=$(echo piped-in | $A run /t1/s1 -- cat)
expect_eq "stdin passes through" "$out" "piped-in"
# An environment of 300K (legal for execve) reaches the command whole.
X=$(head -c 100000 /dev/zero | tr '\0' x)
out=$(E1=$X E2=$X E3=$X $A run /t1/s1 -- sh -c 'echo $((${#E1} + ${#E2} + ${#E3}))' 2>&1)
expect_eq "a 300K environment reaches the command" "$out" 300000
$A run /t1/s1 -- sh -c 'kill -TERM $$'; rc=$?
expect_eq "death by signal gives 128+N" "$rc" 143
$A run /t1/s1 -- /nonexistent/cmd 2>/tmp/acg-err.$$; rc=$?
expect_eq "a missing command is a clear error (125)" "$rc" 125
expect_match "spawn error names the command" "$(cat /tmp/acg-err.$$)" "nonexistent/cmd.*(No such file|not found)"

# --- limits are in place before the first instruction -------------------
# The command reads its own cgroup's limits: they must already be the intent's.
if [ "$BACKEND" = hybrid ]; then
	limits=$($A run /t1/s1 --mem 100M --mem-max 200M --cpu 0.5 --pids 20 -- sh -c '
		m=$(grep ":memory:" /proc/self/cgroup | cut -d: -f3); c=$(grep ":cpu:" /proc/self/cgroup | cut -d: -f3)
		p=$(grep ":pids:" /proc/self/cgroup | cut -d: -f3)
		echo $(cat /sys/fs/cgroup/memory$m/memory.limit_in_bytes) $(cat /sys/fs/cgroup/cpu$c/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/pids$p/pids.max)')
	expect_eq "v1 limits set before exec (memory.max, cpu quota, pids)" "$limits" "209715200 50000 20"
else
	limits=$($A run /t1/s1 --mem 100M --mem-max 200M --cpu 0.5 --pids 20 -- sh -c '
		g=$(grep "^0::" /proc/self/cgroup | cut -d: -f3)
		echo $(cat /sys/fs/cgroup$g/memory.high) $(cat /sys/fs/cgroup$g/memory.max) $(cat /sys/fs/cgroup$g/cpu.max) $(cat /sys/fs/cgroup$g/pids.max)')
	expect_eq "v2 limits set before exec" "$limits" "104857600 209715200 50000 100000 20"
fi
# Spare cgroups are written ahead with the session's last limits: a call
# that drops a limit must not inherit the previous call's.
$A run /t1/lim --cpu 0.5 --pids 20 -- true
if [ "$BACKEND" = hybrid ]; then
	limits=$($A run /t1/lim -- sh -c '
		c=$(grep ":cpu:" /proc/self/cgroup | cut -d: -f3); p=$(grep ":pids:" /proc/self/cgroup | cut -d: -f3)
		echo $(cat /sys/fs/cgroup/cpu$c/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/pids$p/pids.max)')
	expect_eq "no stale limits from a spare: cpu back to unlimited, pids to the default" "$limits" "-1 256"
else
	limits=$($A run /t1/lim -- sh -c 'g=$(grep "^0::" /proc/self/cgroup | cut -d: -f3); echo $(cat /sys/fs/cgroup$g/cpu.max) $(cat /sys/fs/cgroup$g/pids.max)')
	expect_eq "no stale limits from a spare: cpu back to unlimited, pids to the default" "$limits" "max 100000 256"
fi
spares=$($A --json stat /t1/lim | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["spares"]))')
check "a session keeps spare call cgroups ready ($spares)" test "$spares" -ge 1
cg=$($A run /t1/s1 -- cat /proc/self/cgroup)
expect_match "the call runs in its own leaf cgroup /t1/s1/call-N" "$cg" "0::.*/$T_ROOT/t1/s1/call-[0-9]+$"

# --- memory_max: OOM kill -------------------------------------------------
# (on_exceed report: on v1 a memory overrun would stop the call before the
# OOM killer gets to act; test_bpf.sh checks that)
j=$($A run /t1/s1 --json --mem 32M --mem-max 48M --on-exceed report -- python3 -c 'x = bytearray(300*1024*1024); print(len(x))')
expect_eq "memory_max overrun: status exceeded" "$(jget "$j" 'd["verdict"]["status"]')" exceeded
expect_match "memory_max overrun: verdict names memory_max, killed" "$(jget "$j" 'd["verdict"]["exceeded"]')" '"resource": "memory_max".*"action": "killed"'
expect_eq "memory_max overrun: killed by SIGKILL" "$(jget "$j" 'd["exit"].get("signal")')" 9
peak=$(jget "$j" 'd["usage"]["memory_peak"]')
check "memory_max overrun: peak near the 48M limit ($peak)" test "$peak" -ge $((40 << 20)) -a "$peak" -le $((49 << 20))
check "memory_max overrun: oom_kill event counted" test "$(jget "$j" 'd["usage"]["memory_events"]["oom_kill"]')" -ge 1

# --- memory (high) overrun without reaching memory_max --------------------
j=$($A run /t1/s1 --json --mem 16M --mem-max 256M --on-exceed report -- python3 -c 'x = bytearray(64*1024*1024); x[::4096] = b"a" * len(x[::4096]); print("done")')
expect_eq "memory overrun below memory_max: command completes" "$(jget "$j" 'd["stdout"]')" "done"
expect_match "memory overrun: verdict names memory" "$(jget "$j" 'd["verdict"]["exceeded"]')" '"resource": "memory"'
if [ "$BACKEND" = hybrid ]; then
	expect_match "memory overrun on v1: reported (no memory.high knob)" "$(jget "$j" 'd["verdict"]["exceeded"]')" '"action": "reported"'
else
	expect_match "memory overrun on v2: throttled by memory.high" "$(jget "$j" 'd["verdict"]["exceeded"]')" '"action": "throttled"'
fi

# --- timeout --------------------------------------------------------------
start=$(date +%s%N)
j=$($A run /t1/s1 --json --timeout 300ms -- sh -c "sleep $SL & sleep $SL")
el=$((($(date +%s%N) - start) / 1000000))
expect_match "timeout: verdict names timeout, killed" "$(jget "$j" 'd["verdict"]["exceeded"]')" '"resource": "timeout".*"action": "killed"'
check "timeout: returns soon after 300ms (${el}ms)" test "$el" -lt 3000
wall=$(jget "$j" 'd["usage"]["wall_us"]')
check "timeout: wall time >= 300ms ($wall us)" test "$wall" -ge 300000

# --- cpu ------------------------------------------------------------------
j=$($A run /t1/s1 --json --cpu 0.2 -- sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done')
expect_match "cpu overrun: throttled" "$(jget "$j" 'd["verdict"]["exceeded"]')" '"resource": "cpu".*"action": "throttled"'
check "cpu overrun: throttled time > 0" test "$(jget "$j" 'd["usage"]["cpu_throttled_us"]')" -gt 0

# --- cpu_time -------------------------------------------------------------
j=$($A run /t1/s1 --json --cpu-time 300ms -- sh -c 'while :; do :; done')
expect_match "cpu_time overrun: killed" "$(jget "$j" 'd["verdict"]["exceeded"]')" '"resource": "cpu_time".*"action": "killed"'
used=$(( $(jget "$j" 'd["usage"]["cpu_user_us"]') + $(jget "$j" 'd["usage"]["cpu_system_us"]') ))
check "cpu_time overrun: stopped within 100ms of CPU past the budget ($used us)" test "$used" -ge 300000 -a "$used" -lt 400000

# --- pids -----------------------------------------------------------------
j=$($A run /t1/s1 --json --pids 5 -- sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait')
expect_match "pids overrun: forks refused" "$(jget "$j" 'd["verdict"]["exceeded"]')" '"resource": "pids".*"action": "refused"'
check "pids overrun: pids.events max > 0" test "$(jget "$j" 'd["usage"]["pids_max_events"]')" -gt 0
check "pids overrun: peak <= 5" test "$(jget "$j" 'd["usage"]["pids_peak"]')" -le 5

# --- within intent --------------------------------------------------------
j=$($A run /t1/s1 --json --mem 64M --cpu 1 --pids 16 --timeout 10s --label unit -- true)
expect_eq "a modest call is within its intent" "$(jget "$j" 'd["verdict"]["status"]')" ok
expect_eq "the result echoes the label" "$(jget "$j" 'd["intent"]["label"]')" unit

# --- identity -------------------------------------------------------------
out=$($A run /t1/s1 --user nobody -- id -u)
expect_eq "a root client may run as another user" "$out" "$(id -u nobody)"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups $A run /t1/nobody -- id -u 2>&1)
expect_eq "a non-root client's call runs with its own uid" "$out" "$(id -u nobody)"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups $A run /t1/s1 -- id -u 2>&1)
expect_match "a non-root client cannot run a call in root's session" "$out" "permission denied: the session is another user's"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups $A run /t1/nobody --user root -- id -u 2>&1); rc=$?
expect_match "a non-root client cannot name another user" "$out" "permission denied"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups $A run /t1/nobody -- \
	sh -c 'grep "^NoNewPrivs:" /proc/self/status' 2>&1)
expect_match "a call cannot gain privileges by exec (no_new_privs)" "$out" "^NoNewPrivs:[[:space:]]+1$"
# The cgroup2 tree is /sys/fs/cgroup/unified on hybrid, /sys/fs/cgroup on v2.
U2=/sys/fs/cgroup; [ "$BACKEND" = hybrid ] && U2=/sys/fs/cgroup/unified
out=$($A run /t1/s1 --user nobody -- sh -c 'f='$U2'$(grep "^0::" /proc/self/cgroup | cut -d: -f3)/cgroup.freeze
	[ -e "$f" ] || { echo "no $f"; exit; }; echo 1 > "$f" && echo wrote' 2>&1)
expect_match "a call cannot write its own cgroup's files" "$out" "[Pp]ermission denied"

# --- output is bounded ----------------------------------------------------
j=$($A run /t1/s1 --json -- sh -c 'head -c 20000000 /dev/zero | tr "\0" x')
expect_eq "output capture is cut at output_limit (64K)" "$(jget "$j" 'len(d["stdout"])')" 65536
expect_eq "output capture flags truncation" "$(jget "$j" 'd["stdout_truncated"]')" true

# --- admission ------------------------------------------------------------
out=$($A run /small/a --mem 300M --mem-max 400M -- true 2>&1); rc=$?
expect_match "a call larger than its tenant's whole budget is refused" "$out" "admission refused.*budget"
# The first call holds 100M of /small's 256M until it is killed below.
$A run /small/a --mem 100M --mem-max 200M -- sleep $SL & bg=$!
wait_until call_running /small/a 1
out=$($A run /small/b --mem 200M --mem-max 250M -- true 2>&1); rc=$?
expect_match "a call that does not fit the remaining budget is refused" "$out" "admission refused.*left"
$A run /small/b --wait --mem 200M --mem-max 250M -- echo admitted >/tmp/acg-wait.$$ 2>&1 & wbg=$!
wait_until info_at_least 'd["calls_waiting"]' 1
expect_eq "with --wait it waits while the budget is taken" \
	"$(jget "$($A --json info)" 'd["calls_waiting"]') $(cat /tmp/acg-wait.$$)" "1 "
$A kill /small/a/call-1 >/dev/null
wait $bg
wait $wbg
expect_eq "with --wait it runs once budget frees up" "$(cat /tmp/acg-wait.$$)" admitted
rm -f /tmp/acg-wait.$$

# --- operator commands ----------------------------------------------------
$A run /t1/ops -- sleep $SL & bg=$!
wait_until call_running /t1/ops 1
ls_out=$($A ls /t1/ops)
expect_match "ls shows the running call" "$ls_out" "call-1"
stat_out=$($A --json stat /t1/ops/call-1)
expect_match "stat shows the call's argv and state" "$stat_out" '"state": "running"'
expect_match "cat memory.peak works" "$($A cat /t1/ops/call-1/memory.peak)" '^[0-9]+$'
expect_match "cat cpu.stat works" "$($A cat /t1/ops/call-1/cpu.stat)" 'usage_usec [0-9]+'
expect_match "cat pids.max works" "$($A cat /t1/ops/call-1/pids.max)" '^[0-9]+$'
$A set /t1/ops memory.max 512M >/dev/null
expect_eq "set memory.max on a session" "$($A cat /t1/ops/memory.max)" 536870912
$A set /t1/ops/call-1 memory.max 100M >/dev/null
expect_eq "stat shows the live limit after set, not the intent's" \
	"$($A --json stat /t1/ops/call-1 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["limits"]["memory.max"], "intent", d["intent_limits"]["memory.max"])')" \
	"104857600 intent 192M"
$A freeze /t1/ops/call-1 >/dev/null
expect_match "freeze a call" "$($A cat /t1/ops/call-1/cgroup.events)" "frozen 1"
$A thaw /t1/ops/call-1 >/dev/null
expect_match "thaw a call" "$($A cat /t1/ops/call-1/cgroup.events)" "frozen 0"
$A kill /t1/ops/call-1 >/dev/null
wait $bg; rc=$?
expect_eq "kill ends the call (SIGKILL)" "$rc" 137
out=$($A cat /t1/ops/nosuch/memory.peak 2>&1)
expect_match "cat of a missing call is a clear error" "$out" "no such"

# --- events ---------------------------------------------------------------
events_start /tmp/acg-ev.$$ --json /t1/ev
$A run /t1/ev -- true
wait_until file_has /tmp/acg-ev.$$ '"type": *"call.end"'
events_stop
evs=$(cat /tmp/acg-ev.$$)
expect_match "events: session.create" "$evs" '"type": *"session.create"'
expect_match "events: call.start" "$evs" '"type": *"call.start"'
expect_match "events: call.end with status" "$evs" '"type": *"call.end".*"status": *"ok"'

# --- sessions -------------------------------------------------------------
$A session create /t1/sc --mem-max 1G --priority high >/dev/null
expect_match "session create sets its budget" "$($A cat /t1/sc/memory.max)" "^1073741824$"
$A run /t1/sc -- sleep $SL & bg=$!
wait_until call_running /t1/sc 1
out=$($A session close /t1/sc)
wait $bg
expect_match "session close kills its running call" "$out" "1"
out=$($A ls /t1 2>&1)
check "closed session is gone" sh -c "! printf '%s' \"$out\" | grep -q ' sc '"

# --- nothing left behind --------------------------------------------------
check "no call cgroup left in any hierarchy" no_call_cgroups
roots=$(daemon_roots)
daemon_stop
left=""
for r in $roots; do [ -e "$r" ] && left="$left $r"; done
expect_eq "daemon stop removes its root in every hierarchy" "$left" ""
# [s]leep: the pattern must not match the checking shell's own command line
check "no process of ours left (sleep $SL)" sh -c "! pgrep -f '[s]leep $SL' >/dev/null"
rm -f /tmp/acg-err.$$ /tmp/acg-ev.$$
t_summary
