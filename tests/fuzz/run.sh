#!/bin/bash
# Runs each libFuzzer harness for SECONDS, one after the other (nice'd:
# the machine is shared), and prints each one's executions, coverage and
# crashes, then "fuzz: N passed, N failed" (a target passes when it ran
# its time with no crash, leak or timeout).
#
#   bash tests/fuzz/run.sh BUILD SECONDS [TARGET...]
#
# TARGET: rpc intent units config (the default: all). Each harness starts
# from the seeds in tests/fuzz/corpus/TARGET/ (which libFuzzer runs first:
# every regression input there is replayed before fuzzing) plus what
# earlier runs found, kept in BUILD/corpus/TARGET/; a crash input is
# written to BUILD/crashes/TARGET/ and its report shown. Once the bug is
# fixed, copy the input to tests/fuzz/corpus/TARGET/regress-<what> (see
# README "Fuzzing"). Every run is appended to BUILD/fuzz-hours.log
# (date, target, seconds, executions, crashes).
set -u
BUILD=${1:-build-fuzz}
SECS=${2:-300}
shift 2 2>/dev/null
cd "$(dirname "$0")/../.." || exit 1
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rpc intent units config)

max_len() {
	case "$1" in
	rpc | config) echo 16384 ;;
	units) echo 64 ;;
	*) echo 4096 ;;
	esac
}

pass=0; fail=0; summary=""
for t in "${targets[@]}"; do
	bin=$BUILD/fuzz/fuzz_$t
	seeds=tests/fuzz/corpus/$t
	corpus=$BUILD/corpus/$t
	crashes=$BUILD/crashes/$t
	log=$BUILD/fuzz-$t.log
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz_$t: $bin is not built (make fuzz-build)"
		fail=$((fail + 1)); continue
	fi
	mkdir -p "$corpus" "$crashes"
	marker=$(mktemp)
	echo "== fuzz_$t: ${SECS}s, seeds $seeds ($(find "$seeds" -type f 2>/dev/null | wc -l) inputs)"
	t0=$SECONDS
	nice -n 19 "$bin" -max_total_time="$SECS" -print_final_stats=1 -timeout=20 \
		-rss_limit_mb=2048 -max_len="$(max_len "$t")" -artifact_prefix="$crashes/" \
		"$corpus" "$seeds" >"$log" 2>&1
	rc=$?
	took=$((SECONDS - t0))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	units=$(find "$corpus" -type f | wc -l)
	found=$(find "$crashes" -type f -newer "$marker" | wc -l)
	echo "$(date -u +%FT%TZ) $t ${took}s ${execs:-0} execs rc $rc crashes $found" >>"$BUILD/fuzz-hours.log"
	line=$(printf '%-12s %5ds %10s execs (%s/s), cov %s, ft %s, corpus %s, crashes %d' "fuzz_$t" \
		"$took" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units" "$found")
	if [ "$rc" -eq 0 ] && [ "$found" -eq 0 ]; then
		echo "ok - $line"
		pass=$((pass + 1))
	else
		echo "not ok - $line (exit $rc)"
		# the report: from the sanitizer's or the harness's first line on
		grep -n -m1 -E '^==[0-9]+==|runtime error|^fuzz_[a-z]+: |deadly signal|ERROR: libFuzzer' "$log" |
			cut -d: -f1 | { read -r n && tail -n +"$n" "$log" | head -60; }
		find "$crashes" -type f -newer "$marker" | sed 's/^/#   input: /'
		fail=$((fail + 1))
	fi
	rm -f "$marker"
	summary="$summary#   $line"$'\n'
done
echo "# fuzz (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '%s' "$summary"
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
