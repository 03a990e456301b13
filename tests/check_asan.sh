#!/bin/bash
# The host integration suite against agentcgd and agentcg built with
# ASan+UBSan (make asan-build: BUILD_ASAN, default build-asan). Every
# sanitizer stops the process at its first report (halt_on_error) and
# writes it to a log of its own (log_path), whatever the test did with the
# daemon's output; any such report fails the run, and is shown. Closes
# with "asan: N passed, N failed" (the suite's counts, plus one failure
# per process with a report).
#
#   bash tests/check_asan.sh [BUILD_ASAN] [TEST...]
#
# Known leaks outside this project's code are suppressed in
# tests/asan.supp (each with its reason).
set -u
BUILD=${1:-build-asan}
shift 2>/dev/null
cd "$(dirname "$0")/.." || exit 1
if [ ! -x "$BUILD/agentcgd" ]; then
	echo "not ok - $BUILD/agentcgd is not built (make asan-build)"; echo "asan: 0 passed, 1 failed"; exit 1
fi
LOGS=$(mktemp -d /tmp/agentcg-asan.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
SYM=$(command -v llvm-symbolizer || true)
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$LOGS/asan:fast_unwind_on_malloc=0${SYM:+:external_symbolizer_path=$SYM}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/ubsan${SYM:+:external_symbolizer_path=$SYM}"
export LSAN_OPTIONS="suppressions=$PWD/tests/asan.supp:print_suppressions=0"
# A sanitized daemon is slower and bigger: waits get longer deadlines, and
# the memory bound of test_bpf_churn.sh (an RSS figure) is for the real
# build (ASan's quarantine holds freed memory by design).
export AGENTCG_TEST_WAIT=${AGENTCG_TEST_WAIT:-180}
export AGENTCG_SANITIZED=1
t0=$SECONDS
bash tests/integration/run.sh "$BUILD" "$@" 2>&1 | tee "$LOGS/suite.log"
read -r p f < <(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$LOGS/suite.log" | tail -1)
p=${p:-0}; f=${f:-1}
reports=0
for r in "$LOGS"/asan.* "$LOGS"/ubsan.*; do
	[ -s "$r" ] || continue
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error|SUMMARY: ' "$r" || continue
	reports=$((reports + 1))
	echo "not ok - sanitizer report of pid ${r##*.}:"
	head -40 "$r" | sed 's/^/#   /'
done
[ "$reports" -eq 0 ] && echo "ok - no sanitizer report (ASan, UBSan, LSan)" && p=$((p + 1))
f=$((f + reports))
echo "# asan: suite and scan took $((SECONDS - t0))s"
echo "asan: $p passed, $f failed"
[ "$f" -eq 0 ]
