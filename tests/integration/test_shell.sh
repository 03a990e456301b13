#!/bin/bash
# agentcg-sh, the drop-in bash, driven the way a coding agent drives
# bash: `bash -c CMD` with the wrapper first in PATH (a farm of links named
# bash and sh). Each command runs twice in a fresh directory at the same
# path, once with the real bash and once through the wrapper, and their
# stdout, stderr and exit status must be the same; each wrapped run must
# be exactly one call of the daemon. Then: a make -j4 build and a pytest
# run of a generated project, an intent exceeded (one stderr line), the
# intent from AGENTCG_INTENT and AGENT_RESOURCE_HINT, a label from the
# command, bad intents, a nested bash in the same call, a signal to the
# wrapper, and the real bash with one warning when no daemon is there.
set -u
. "$(dirname "$0")/lib.sh"
if [ ! -x "$BUILD/agentcg-sh" ]; then
	nok "$BUILD/agentcg-sh is built (without it the farm's bash is the real one)"
	t_summary
	exit 1
fi
SH=$(realpath "$BUILD/agentcg-sh")
REAL_BASH=$(command -v bash)
SESSION=/t1/sh-$$
export AGENTCG_SESSION=$SESSION
PY=/usr/bin/python3

FARM=$(mktemp -d /tmp/agentcg-test-farm.XXXXXX)
WORK=$(mktemp -d /tmp/agentcg-test-sh.XXXXXX)
OUT=$(mktemp -d /tmp/agentcg-test-shout.XXXXXX)
ln -s "$SH" "$FARM/bash"
ln -s "$SH" "$FARM/sh"
cleanup() {
	# an aborted run must not leave its daemon (and its runners) behind
	[ -n "$T_DAEMON_PID" ] && kill -TERM "$T_DAEMON_PID" 2>/dev/null && wait "$T_DAEMON_PID"
	rm -rf "$FARM" "$WORK" "$OUT"
}
trap cleanup EXIT

daemon_start || { nok "daemon starts"; t_summary; exit 1; }
ok "daemon starts"
"$AGENTCG" session create "$SESSION" >/dev/null
check "session $SESSION created" eval '"$AGENTCG" stat "$SESSION" >/dev/null'

calls_total() { info_get 'd["calls_total"]'; }

# fresh_dir SETUP: $WORK/d emptied, then SETUP run in it by the real bash.
fresh_dir() {
	rm -rf "$WORK/d" && mkdir "$WORK/d" && (cd "$WORK/d" && "$REAL_BASH" -c "$1")
}

# run_as WHICH STDIN-FILE ARGS...: `bash ARGS` in $WORK/d, with the real
# bash (WHICH=real) or the farm first in PATH (WHICH=sh); its stdout,
# stderr and status in $OUT/WHICH.{out,err,rc}.
run_as() {
	local which=$1 in=$2 path=$PATH
	shift 2
	[ "$which" = sh ] && path=$FARM:$PATH
	(cd "$WORK/d" && PATH=$path timeout 300 bash "$@" <"$in" >"$OUT/$which.out" \
		2>"$OUT/$which.err"; echo $? >"$OUT/$which.rc") 2>/dev/null
}

# same DESC [--stdin TEXT] [--setup SH] [--filter SED] ARGS...: bash ARGS
# gives the same stdout, stderr and status through the wrapper as with
# the real bash, and the wrapped run is one call.
same() {
	local desc=$1 in=/dev/null setup=: filter= n0 n1
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--stdin) printf '%s' "$2" >"$OUT/stdin"; in=$OUT/stdin; shift 2 ;;
		--setup) setup=$2; shift 2 ;;
		--filter) filter=$2; shift 2 ;;
		*) break ;;
		esac
	done
	fresh_dir "$setup"
	run_as real "$in" "$@"
	fresh_dir "$setup"
	n0=$(calls_total)
	run_as sh "$in" "$@"
	n1=$(calls_total)
	if [ -n "$filter" ]; then
		for f in "$OUT"/real.out "$OUT"/real.err "$OUT"/sh.out "$OUT"/sh.err; do
			sed -E -i "$filter" "$f"
		done
	fi
	if cmp -s "$OUT/real.out" "$OUT/sh.out" && cmp -s "$OUT/real.err" "$OUT/sh.err" &&
		cmp -s "$OUT/real.rc" "$OUT/sh.rc"; then
		ok "$desc: the same stdout, stderr and status $(cat "$OUT/sh.rc") as bash"
	else
		nok "$desc: differs from bash: status $(cat "$OUT/real.rc") vs $(cat "$OUT/sh.rc");" \
			"out: $(diff "$OUT/real.out" "$OUT/sh.out" | head -c 400);" \
			"err: $(diff "$OUT/real.err" "$OUT/sh.err" | head -c 400)"
	fi
	expect_eq "$desc: one call of the daemon" "$((n1 - n0))" 1
}

# ---- the command forms an agent sends ----
same "pipes" -c "printf 'b\na\nc\n' | sort | head -2 | tr a-z A-Z"
same "&& and ||, exit status" -c 'true && echo yes || echo no; false && echo x || echo fallback; exit 7'
same "quoting" -c "echo \"a  b\" 'c \$HOME' \\\"d\\\" \$'e\\tf' \"\$(echo 'nested \"q\"')\""
same "\$0 and arguments" -c 'echo "$0|$1|$2|$#"' zero 'one two' three
same "heredocs" -c "$(printf 'x=5\ncat <<'"'"'EOF'"'"'\nliteral $x\nEOF\ncat <<EOF\nexpanded $x $((2+3))\nEOF\n')"
same "cd, and the working directory passed in" --setup 'mkdir -p sub/deep && touch sub/deep/f' \
	-c 'pwd; cd sub/deep && ls && pwd; cd ../.. && ls -d sub'
same "stderr and a status of the command's own" -c 'echo out; echo err >&2; exit 3'
same "a missing command (bash's own message and 127)" -c 'no_such_command_agentcg_sh'
same "stdin passes through" --stdin $'one\ntwo\nthree\n' -c 'wc -l; echo done'
same "the environment passes through" -c 'echo "[$HOME] [$LANG] [${AGENTCG_TEST_VAR:-unset}]"'
AGENTCG_TEST_VAR='a b' same "an exported variable with a space" -c 'echo "[$AGENTCG_TEST_VAR]"'
same "options before -c (-e -o pipefail)" -e -o pipefail -c 'false | true; echo not reached'
same "a combined -ec" -ec 'echo first; false; echo not reached'
same "a script file with arguments" --setup 'printf "echo script \$1 \$#\nexit 4\n" >s.sh' \
	s.sh arg1 arg2
same "commands on stdin (bash < script)" --stdin $'echo from stdin\ncd /\npwd\n'
same "a nested bash stays in the same call" -c 'bash -c "echo inner \$((6*7))"; sh -c "echo sh too"'
same "a killed command's status (128+9)" -c 'kill -9 $$'

# ---- a make -j4 build of a generated project ----
setup_make='for i in 1 2 3 4 5 6 7 8; do
	printf "int f%d(void) { return %d; }\n" $i $i >f$i.c
done
{ echo "#include <stdio.h>"
  for i in 1 2 3 4 5 6 7 8; do echo "int f$i(void);"; done
  echo "int main(void) { int s = 0;"
  for i in 1 2 3 4 5 6 7 8; do echo "s += f$i();"; done
  echo "printf(\"sum %d\\n\", s); return 0; }"; } >main.c
printf "OBJ := main.o \$(patsubst %%.c,%%.o,\$(wildcard f*.c))\nprog: \$(OBJ)\n\t\$(CC) -o \$@ \$^\n%%.o: %%.c\n\t\$(CC) -c -o \$@ \$<\n" >Makefile'
same "make -j4 of a generated project, then the program" --setup "$setup_make" \
	-c 'make -s -j4 && ./prog && ls *.o | wc -l'
same "make -j4 that fails (a broken file)" --setup "$setup_make; echo 'int f3(void) { return }' >f3.c" \
	--filter 's/^make(\[[0-9]+\])?: \*\*\* \[[^]]*\] /make: *** /; /Waiting for unfinished jobs/d' \
	-c 'make -s -j4 2>&1 | grep -c "error:"; exit ${PIPESTATUS[0]}'

# ---- python3 -m pytest of a generated project (one test fails) ----
setup_py='mkdir -p pkg tests
printf "def add(a, b):\n    return a + b\n" >pkg/__init__.py
printf "from pkg import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\ndef test_big():\n    assert len(bytearray(32 << 20)) == 32 << 20\n\ndef test_wrong():\n    assert add(2, 2) == 5\n" >tests/test_pkg.py'
AGENTCG_INTENT=memory=512M same "python3 -m pytest of a generated project" --setup "$setup_py" \
	--filter 's/ in [0-9.]+s//; s/^=+ //; s/ =+$//' \
	-c "$PY -m pytest -q -p no:cacheprovider tests; echo status \$?"

# ---- the intent, the verdict line, the label ----
if [ -x "$PY" ] && "$PY" -c 'import pytest' 2>/dev/null; then :; else
	nok "python3-pytest is installed (make deps installs it)"
fi
fresh_dir :
# (exec: the allocating process is the shell's own, so that the status is
# the kill's whether the kernel kills the whole call, as agentcg's BPF
# budget does on hybrid hosts, or just that process, as memory.max's OOM
# killer does on pure v2)
out=$(cd "$WORK/d" && AGENTCG_INTENT=memory=32M,memory_max=48M,label=hog PATH=$FARM:$PATH \
	bash -c "echo before; exec $PY -c 'x = bytearray(200 << 20)'" 2>"$OUT/err")
rc=$?
expect_eq "over its memory: killed, status 137" "$rc" 137
expect_eq "... its stdout up to the kill" "$out" before
expect_eq "... one line on stderr" "$(wc -l <"$OUT/err")" 1
expect_match "... which says what happened and what to change" "$(cat "$OUT/err")" \
	'^agentcg: /t1/sh-[0-9]+/call-[0-9]+ exceeded: .*memory.*(declare more|raise|use less)'

fresh_dir :
AGENTCG_INTENT='{"timeout": "1s", "label": "sleeper"}' PATH=$FARM:$PATH \
	bash -c 'sleep 120' 2>"$OUT/err"
rc=$?
check "AGENTCG_INTENT as JSON: the timeout ended the call (status $rc)" test "$rc" -ge 128
expect_match "... its line names the timeout" "$(cat "$OUT/err")" '^agentcg: .* exceeded: .*timeout'

# running_intent ENV-ASSIGNMENTS COMMAND: the intent of the call that
# `bash -c COMMAND` makes with those variables set, read with agentcg stat
# while it runs (COMMAND waits for $WORK/go).
running_intent() {
	local n0 call
	rm -f "$WORK/go"
	n0=$(info_get 'd["calls_running"]')
	env "$1" PATH="$FARM:$PATH" bash -c "$2" 2>"$OUT/err" &
	local wpid=$!
	if wait_until info_at_least 'd["calls_running"]' $((n0 + 1)); then
		call=$("$AGENTCG" --json ls "$SESSION" | python3 -c '
import json, sys
for c in json.load(sys.stdin).get("children", []):
    if c.get("state", "running") == "running" and "/call-" in c.get("path", ""):
        print(c["path"])' | tail -1)
		"$AGENTCG" --json stat "$call" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("intent"), sort_keys=True))'
	fi
	touch "$WORK/go"
	wait "$wpid"
}
GO_WAIT="while [ ! -e $WORK/go ]; do sleep 0.05; done"
i=$(running_intent AGENT_RESOURCE_HINT=memory:low "cd / && python3 -c 'import os, time
while not os.path.exists(\"$WORK/go\"): time.sleep(0.05)'")
expect_match "AGENT_RESOURCE_HINT=memory:low becomes memory_hint low" "$i" '"memory_hint": "low"'
expect_match "... and the label is the first word past cd DIR && (python3)" "$i" '"label": "python3"'
i=$(running_intent AGENT_RESOURCE_HINT=memory:64m,cpu:4 "$GO_WAIT")
expect_match "AGENT_RESOURCE_HINT=memory:64m becomes memory_hint 64M" "$i" '"memory_hint": "64M"'
expect_match "... a part it cannot use is one warning" "$(cat "$OUT/err")" \
	"^agentcg-sh: warning: AGENT_RESOURCE_HINT: 'cpu' left out"
i=$(running_intent AGENTCG_INTENT=memory_hint=32M "FOO=1 exec /usr/bin/env sh -c '$GO_WAIT'")
expect_match "a memory_hint in AGENTCG_INTENT" "$i" '"memory_hint": "32M"'
expect_match "... the label past assignments and exec, a base name (env)" "$i" '"label": "env"'
i=$(running_intent AGENTCG_INTENT=memory=96M,label=mine,cpu=0.5,pids=50 "$GO_WAIT")
expect_match "AGENTCG_INTENT key=value: memory" "$i" '"memory": "96M"'
expect_match "... cpu as a number" "$i" '"cpu": 0.5'
expect_match "... pids as a number" "$i" '"pids": 50'
expect_match "... and its label wins" "$i" '"label": "mine"'

# ---- bad input, and the command does not run ----
fresh_dir :
(cd "$WORK/d" && AGENTCG_INTENT='memory 1G' PATH=$FARM:$PATH bash -c 'touch ran') 2>"$OUT/err"
rc=$?
expect_eq "AGENTCG_INTENT that is not key=value: status 2" "$rc" 2
expect_match "... a clear message" "$(cat "$OUT/err")" "^agentcg-sh: AGENTCG_INTENT: 'memory 1G' is not key=value"
check "... and the command did not run" test ! -e "$WORK/d/ran"
(cd "$WORK/d" && AGENTCG_INTENT='memory=lots,pids=many' PATH=$FARM:$PATH bash -c 'touch ran') \
	2>"$OUT/err"
rc=$?
expect_eq "a bad value: the daemon refuses the call, status 125" "$rc" 125
expect_match "... naming each bad field" "$(cat "$OUT/err")" 'memory: "lots" is not a size'
expect_match "... both of them" "$(cat "$OUT/err")" 'pids'
check "... and the command did not run" test ! -e "$WORK/d/ran"
AGENTCG_SESSION=/nope PATH=$FARM:$PATH bash -c true 2>"$OUT/err"
expect_eq "AGENTCG_SESSION that is no session path: status 2" "$?" 2
expect_eq "... and one line saying so" "$(cat "$OUT/err")" \
	"agentcg-sh: AGENTCG_SESSION '/nope' is not a session path: /TENANT/SESSION, names of [A-Za-z0-9_.-] not starting with '.'"
AGENTCG_SESSION=/t1/no-such-session-$$ PATH=$FARM:$PATH bash -c true 2>"$OUT/err"
rc=$?
check "a session that is not there: refused or created on demand (status $rc)" \
	test "$rc" = 0 -o "$rc" = 125
"$AGENTCG" session close "/t1/no-such-session-$$" >/dev/null 2>&1

# ---- agentcg-sh --help; AGENTCG_REAL_SHELL naming itself ----
expect_match "agentcg-sh --help explains the environment" "$("$SH" --help)" 'AGENTCG_INTENT'
expect_match "bash --help through the farm is bash's" \
	"$(PATH=$FARM:$PATH bash --help 2>&1 | head -3)" 'GNU bash'
AGENTCG_SH_CALL=x AGENTCG_REAL_SHELL=$SH "$SH" -c true 2>"$OUT/err"
expect_eq "AGENTCG_REAL_SHELL naming agentcg-sh itself: status 127" "$?" 127
expect_match "... with a clear message" "$(cat "$OUT/err")" "is agentcg-sh itself"

# ---- a signal to the wrapper ends the call ----
n_run=$(info_get 'd["calls_running"]')
PATH=$FARM:$PATH bash -c "exec sleep 300" &
wpid=$!
if wait_until info_at_least 'd["calls_running"]' $((n_run + 1)); then
	kill -TERM "$wpid"
	wait "$wpid"
	rc=$?
	expect_eq "SIGTERM to the wrapper: its status is 143" "$rc" 143
	check "... and the daemon ends the call" wait_until info_at_most 'd["calls_running"]' "$n_run"
else
	nok "the wrapped sleep runs as a call"
	kill -KILL "$wpid"
fi

# ---- no daemon: the real bash, one warning ----
n0=$(calls_total)
fresh_dir :
(cd "$WORK/d" && AGENTCG_SOCKET=/nonexistent/agentcg.sock PATH=$FARM:$PATH \
	bash -c 'echo out $((1+1)); echo err >&2; exit 5' >"$OUT/sh.out" 2>"$OUT/sh.err")
rc=$?
expect_eq "no daemon: the real bash runs it, status 5" "$rc" 5
expect_eq "... its stdout" "$(cat "$OUT/sh.out")" "out 2"
expect_eq "... its stderr after one warning" "$(tail -n +2 "$OUT/sh.err")" "err"
expect_match "... the warning names the socket" "$(head -1 "$OUT/sh.err")" \
	"^agentcg-sh: warning: agentcgd is not reachable at /nonexistent/agentcg.sock"
expect_eq "... and no call was made" "$(calls_total)" "$n0"

# ---- a socket that is not root's: nothing is sent to it ----
FAKE=$WORK/fake.sock
rm -f "$WORK/fake.got"
chmod 0777 "$WORK"
setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 \
	-c "$(cat "$(dirname "$0")/fake_socket.py")" "$FAKE" >"$WORK/fake.got" &
fake=$!
if wait_until grep -qx ready "$WORK/fake.got"; then
	out=$(AGENTCG_SOCKET=$FAKE PATH=$FARM:$PATH bash -c 'echo ran' 2>"$OUT/err")
	expect_eq "a socket served by another user (nobody): the real bash runs the command" "$out" ran
	expect_match "... with one warning saying the socket is not root's" "$(cat "$OUT/err")" \
		"^agentcg-sh: warning: agentcgd is not reachable at $FAKE \\(the socket is not root's\\)"
	wait_until grep -q '^got' "$WORK/fake.got"
	expect_eq "... and the socket got nothing (no request, no environment)" \
		"$(grep '^got' "$WORK/fake.got")" "got 0"
else
	nok "a listener of user nobody starts"
fi
kill "$fake" 2>/dev/null; wait "$fake" 2>/dev/null

# ---- an argument JSON cannot carry; a real shell that leads back ----
out=$(PATH=$FARM:$PATH bash -c 'printf "%s" "$1" | od -An -tx1 | tr -d " "' x $'\xff\xfe' 2>"$OUT/err")
expect_eq "an argument that is not UTF-8 reaches the real bash intact" "$out" fffe
expect_match "... with one warning" "$(cat "$OUT/err")" "^agentcg-sh: warning: an argument is not valid UTF-8"
printf '#!/bin/sh\nexec bash "$@"\n' >"$WORK/loop.sh"
chmod +x "$WORK/loop.sh"
AGENTCG_SOCKET=/nonexistent/agentcg.sock AGENTCG_REAL_SHELL=$WORK/loop.sh PATH=$FARM:$PATH \
	bash -c 'echo never' >"$OUT/out" 2>"$OUT/err"
rc=$?
expect_eq "AGENTCG_REAL_SHELL a script that runs bash again: a loop, stopped (status 127)" "$rc" 127
expect_match "... saying so" "$(tail -1 "$OUT/err")" "led back to agentcg-sh 16 times: a loop"

"$AGENTCG" session close "$SESSION" >/dev/null
check "no call cgroup left over" no_call_cgroups
daemon_stop
t_summary
