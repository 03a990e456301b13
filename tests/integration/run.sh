#!/bin/bash
# Runs every integration test against the real kernel (as root), prints
# each suite's time, and closes with one line "integration: N passed, N failed".
#
#   bash tests/integration/run.sh [BUILD] [TEST...]
#
# TEST: file names under tests/integration (default: every test_*.sh and
# test_*.py). Environment: AGENTCG_CHURN_CALLS (calls of the map-churn
# test, default 3000; make soak runs 100000), AGENTCG_TEST_WAIT (the
# deadline, in seconds, of each wait for a state; default 60),
# AGENTCG_SUITE_TIMEOUT (bound of one test file, default 600 s).
set -u
BUILD=${1:-build}
shift 2>/dev/null
export BUILD
cd "$(dirname "$0")/../.." || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root (they create real cgroups)"; exit 1
fi
export AGENTCG_CHURN_CALLS=${AGENTCG_CHURN_CALLS:-3000}
BOUND=${AGENTCG_SUITE_TIMEOUT:-600}
if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do tests+=("tests/integration/${t##*/}"); done
else
	tests=(tests/integration/test_*.sh tests/integration/test_*.py)
fi
pass=0; fail=0; times=""
t_all=$SECONDS
for t in "${tests[@]}"; do
	[ -e "$t" ] || { echo "not ok - $t: no such test"; fail=$((fail + 1)); continue; }
	echo "== $t"
	out=$(mktemp)
	t0=$SECONDS
	case "$t" in
	*.py) timeout "$BOUND" python3 "$t" "$BUILD" 2>&1 | tee "$out" ;;
	*)    timeout "$BOUND" bash "$t" 2>&1 | tee "$out" ;;
	esac
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -eq 124 ]; then
		echo "not ok - $t did not finish within ${BOUND}s"; f=$((f + 1))
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with status $rc"; f=1
	fi
	pass=$((pass + p)); fail=$((fail + f))
	times="$times$(printf '#   %-28s %4ds  %3d passed, %d failed' "${t##*/}" $((SECONDS - t0)) "$p" "$f")"$'\n'
	rm -f "$out"
done
echo "# suite times (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '%s' "$times"
echo "#   total                        $((SECONDS - t_all))s"
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
