#!/bin/bash
# The BPF layer against the running kernel: the processes of each call
# (fork, exec, exit, peak RSS) in its result and in `agentcg events`, the
# OOM victim named from the kernel's mark_victim event, the budgets the
# kernel enforces at the event (cpu_time, forks, and memory on v1 hosts)
# with kill, freeze and report, nothing outside the daemon's cgroups
# reported or signalled, and no map entry left after the calls.
set -u
. "$(dirname "$0")/lib.sh"
A=$AGENTCG
EV=/tmp/acg-bpf-ev.$$

daemon_start || { nok "daemon starts"; t_summary; exit 1; }
info=$($A --json info)
BACKEND=$(jget "$info" 'd["backend"]')
expect_eq "BPF programs loaded" "$(jget "$info" 'd["bpf"]["loaded"]')" true
expect_eq "BPF: lifecycle, OOM victims, forks, cpu_time in the kernel" \
	"$(jget "$info" '[d["bpf"][k] for k in ("lifecycle", "oom_victims", "forks", "cpu_time")]')" \
	'[true, true, true, "kernel"]'
if [ "$BACKEND" = hybrid ]; then
	expect_eq "BPF: memory budget in the kernel on v1" "$(jget "$info" 'd["bpf"]["memory"]')" kernel
else
	expect_eq "BPF: memory budget by memory.high on v2" "$(jget "$info" 'd["bpf"]["memory"]')" memory.high
fi

# py EXPR on the last result ($j), as for jget
r() { jget "$j" "$1"; }

# --- lifecycle: the call's processes --------------------------------------
events_start "$EV" /t1
j=$($A run /t1/life --json -- sh -c '/bin/echo hi >/dev/null; (exit 4); sh -c "exit 5"; sleep 0.05 & wait; kill -9 $$')
main=$(r 'd["pid"]')
expect_match "lifecycle: the main process is listed first, with its exec'd file" \
	"$(r '[d["processes"][0]["pid"], d["processes"][0]["command"]]')" "^\[$main, \".*/sh\"\]$"
expect_eq "lifecycle: the main process died of SIGKILL" "$(r 'd["processes"][0]["exit"]')" \
	'{"signal": 9, "signal_name": "SIGKILL"}'
expect_eq "lifecycle: /bin/echo listed as a child of the main process, exit 0" \
	"$(r '[(p["ppid"], p["exit"]) for p in d["processes"] if p["command"].endswith("/echo")]')" \
	"[[$main, {\"code\": 0}]]"
expect_eq "lifecycle: a subshell (fork without exec) and its exit code 4" \
	"$(r '[p["command"] for p in d["processes"] if p["exit"] == {"code": 4}]')" '["sh"]'
expect_eq "lifecycle: sh -c \"exit 5\" exits 5" \
	"$(r 'len([p for p in d["processes"] if p["exit"] == {"code": 5}])')" 1
expect_eq "lifecycle: 5 processes, 4 forks" "$(r '[d["processes_total"], len(d["processes"]), d["usage"]["forks"]]')" \
	"[5, 5, 4]"
expect_eq "lifecycle: every process has a peak RSS" "$(r 'all(p["peak_rss"] > 100000 for p in d["processes"])')" true
call=$(r 'd["path"]')
# Records reach the daemon lazily (up to 100 ms while someone follows):
# wait for the ones looked at below.
wait_until file_has "$EV" "proc.exec +$call .*exe=/bin/echo" "proc.fork +$call " "proc.exit +$call .*exit=\"exit 5\""
events_stop
expect_match "events: proc.exec of /bin/echo, live" "$(grep "$call" "$EV")" "proc.exec +$call .*exe=/bin/echo"
expect_match "events: proc.fork with the parent" "$(grep "$call" "$EV")" "proc.fork +$call .*ppid=$main"
expect_match "events: proc.exit with the exit status" "$(grep "$call" "$EV")" "proc.exit +$call .*exit=\"exit 5\""

# --- cpu_time: all processes together, enforced at the scheduler tick -----
j=$($A run /t1/cpu --json --cpu-time 200ms -- sh -c 'while :; do :; done')
expect_eq "cpu_time: killed" "$(r '[(e["resource"], e["action"]) for e in d["verdict"]["exceeded"]]')" '[["cpu_time", "killed"]]'
used=$(r 'd["usage"]["cpu_user_us"] + d["usage"]["cpu_system_us"]')
check "cpu_time: stopped within 50 ms of CPU past 200 ms ($used us)" test "$used" -ge 200000 -a "$used" -le 250000
j=$($A run /t1/cpu --json --cpu-time 300ms -- sh -c 'while :; do :; done & while :; do :; done')
used=$(r 'd["usage"]["cpu_user_us"] + d["usage"]["cpu_system_us"]')
expect_eq "cpu_time: two busy processes share one budget: killed" "$(r 'd["verdict"]["exceeded"][0]["action"]')" killed
check "cpu_time: both processes counted ($used us, budget 300 ms)" test "$used" -ge 300000 -a "$used" -le 400000
j=$($A run /t1/cpu --json --cpu-time 100ms --on-exceed report -- sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo done')
expect_eq "cpu_time report: the call runs to its end" "$(r 'd["stdout"]')" done
expect_eq "cpu_time report: verdict says reported" "$(r 'd["verdict"]["exceeded"][0]["action"]')" reported
j=$($A run /t1/cpu --json --cpu-time 100ms --on-exceed freeze -- sh -c 'while :; do :; done')
path=$(r 'd["path"]')
expect_eq "cpu_time freeze: the call is left frozen" "$(r '[d["verdict"]["exceeded"][0]["action"], d["verdict"].get("frozen")]')" '["frozen", true]'
pid=$(head -1 "$(daemon_roots | head -1)$path/cgroup.procs")
$A thaw "$path" >/dev/null
task_state() { awk '/^State:/ {print $2}' /proc/$pid/status 2>&1; }
task_runs() { [ "$(task_state)" = R ]; }
wait_until task_runs
expect_match "cpu_time freeze: after thaw the stopped task runs again" "$(task_state)" '^R$'
$A kill "$path" >/dev/null

# --- forks: a fork budget of the whole call -------------------------------
j=$($A run /t1/fork --json --forks 10 -- sh -c 'for i in $(seq 50); do /bin/true; done; echo finished')
expect_eq "forks: killed at the 11th fork" "$(r '[(e["resource"], e["limit"], e["used"], e["action"]) for e in d["verdict"]["exceeded"]]')" \
	'[["forks", 10, 11, "killed"]]'
expect_eq "forks: the loop did not finish" "$(r 'd["stdout"]')" ""
j=$($A run /t1/fork --json --forks 200 --timeout 20s -- sh -c 'while :; do /bin/true & done')
forks=$(r 'd["usage"]["forks"]')
expect_eq "forks: a fork loop is killed by its budget" "$(r '[d["verdict"]["exceeded"][0]["resource"], d["verdict"]["exceeded"][0]["action"]]')" '["forks", "killed"]'
check "forks: stopped just past 200 ($forks)" test "$forks" -gt 200 -a "$forks" -le 220
j=$($A run /t1/fork --json --forks 5 --on-exceed report -- sh -c 'for i in 1 2 3 4 5 6 7 8; do /bin/true; done; echo finished')
expect_eq "forks report: the call runs to its end" "$(r 'd["stdout"]')" finished
expect_eq "forks report: verdict says reported, 8 forks" "$(r '[d["verdict"]["exceeded"][0]["action"], d["usage"]["forks"]]')" '["reported", 8]'
j=$($A run /t1/fork --json --forks 3 --on-exceed freeze -- sh -c 'for i in 1 2 3 4 5 6; do /bin/true; done; echo finished')
expect_eq "forks freeze: the call is left frozen" "$(r '[d["verdict"]["exceeded"][0]["action"], d["verdict"].get("frozen")]')" '["frozen", true]'
$A kill "$(r 'd["path"]')" >/dev/null

# --- memory on v1: stopped in the kernel when the charge passes it --------
if [ "$BACKEND" = hybrid ]; then
	j=$($A run /t1/mem --json --mem 32M --mem-max 256M -- python3 -c 'x = bytearray(100 << 20); print("survived")')
	peak=$(r 'd["usage"]["memory_peak"]')
	expect_eq "memory (v1): killed at the intent" "$(r '[(e["resource"], e["action"]) for e in d["verdict"]["exceeded"]]')" '[["memory", "killed"]]'
	expect_eq "memory (v1): the allocation did not finish" "$(r 'd["stdout"]')" ""
	check "memory (v1): peak within 2M of 32M ($peak)" test "$peak" -ge $((32 << 20)) -a "$peak" -le $((34 << 20))
	j=$($A run /t1/mem --json --mem 32M --mem-max 256M --on-exceed freeze -- python3 -c 'x = bytearray(100 << 20)')
	expect_eq "memory (v1) freeze: left frozen" "$(r '[d["verdict"]["exceeded"][0]["action"], d["verdict"].get("frozen")]')" '["frozen", true]'
	$A kill "$(r 'd["path"]')" >/dev/null
fi

# --- OOM: the victim, named from the kernel's event -----------------------
events_start "$EV" /t1/oom
# tail -n 1 of input without a newline keeps all of it: a quick anonymous
# allocation from a small binary (python's own file pages would thrash
# for long at the limit under qemu TCG before the OOM killer acts).
j=$($A run /t1/oom --json --mem 64M --mem-max 64M --on-exceed report -- sh -c 'head -c 300M /dev/zero | tail -n 1 | wc -c; echo after')
expect_eq "oom: the shell goes on after its child is killed" "$(r 'd["stdout"].split()')" '["0", "after"]'
expect_eq "oom: verdict names the victim" "$(r 'd["verdict"]["oom"]["command"]')" tail
victim=$(r 'd["verdict"]["oom"]["pid"]')
expect_eq "oom: the victim is listed, killed by SIGKILL" \
	"$(r '[p["exit"]["signal"] for p in d["processes"] if p["pid"] == d["verdict"]["oom"]["pid"]]')" '[9]'
rss=$(r 'd["verdict"]["oom"]["rss"]')
check "oom: the victim's RSS near the 64M limit ($rss)" test "$rss" -ge $((40 << 20)) -a "$rss" -le $((80 << 20))
expect_eq "oom: the limit hit is the call's memory_max" "$(r '[d["verdict"]["oom"]["limit"]["level"], d["verdict"]["oom"]["limit"]["bytes"]]')" \
	'["call", 67108864]'
expect_match "oom: the summary names the victim" "$(r 'd["verdict"]["summary"]')" "OOM killer killed tail .pid $victim"
wait_until file_has "$EV" "oom +/t1/oom/call-[0-9]+ .*pid=$victim"
events_stop
expect_match "oom: an oom event, live" "$(cat "$EV")" "oom +/t1/oom/call-[0-9]+ .*pid=$victim"

# --- nothing outside the daemon's cgroups is reported or signalled --------
# The same things as the calls below (forks, execs, CPU, memory), in this
# test's own cgroup, while calls with tiny budgets run.
sh -c 'while :; do /bin/true; python3 -c "x = bytearray(40 << 20)"; done' >/dev/null 2>&1 & outside=$!
events_start "$EV" /
for i in 1 2 3; do
	$A run /t1/out --json --cpu-time 50ms --forks 3 --mem 16M --mem-max 64M -- \
		sh -c 'for i in 1 2 3 4 5; do /bin/true; done; python3 -c "x = bytearray(40 << 20)"; while :; do :; done' >/dev/null
done
# The calls' own records have arrived: any of the outside process's,
# which ran all along, would have come before them.
wait_until file_has "$EV" "proc.exit +/t1/out/call-3 "
events_stop
check "outside: a busy process outside the root survives the calls' budgets" kill -0 "$outside"
kids=$(pgrep -P "$outside" | tr '\n' ' ')
bad=""
for p in $outside $kids; do grep -q "pid=$p\b" "$EV" && bad="$bad $p"; done
expect_eq "outside: none of its processes is in the events" "$bad" ""
expect_match "outside: the calls themselves were reported" "$(cat "$EV")" "proc.exec +/t1/out/"
kill "$outside"; wait "$outside" 2>/dev/null

# --- no map entry outlives its call ---------------------------------------
check "no call cgroup left in any hierarchy" no_call_cgroups
entries=$(jget "$($A --json info)" 'd["bpf"]["map_entries"]')
expect_eq "no entry left in the BPF calls map" "$entries" 0
expect_eq "no ring buffer record lost" "$(jget "$($A --json info)" 'd["bpf"]["lost_records"]')" 0
daemon_stop
rm -f "$EV"
t_summary
