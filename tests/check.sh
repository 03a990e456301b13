#!/bin/bash
# make check, after the build: the daemon's layering (tests/check_layers.sh),
# the unit tests, make install and make deb (tests/check_package.sh), the
# man pages against the code (tests/check_man.sh), the
# integration suite on
# this host, the suite again on a pure cgroup v2 kernel in a VM, the
# systemd units under a real systemd in a VM (make vmtest-systemd), each
# libFuzzer harness for 30 s, and the host suite against an ASan+UBSan
# build of agentcgd (make check-asan). Every
# phase runs even when one before it failed (CI shows all that is wrong at
# once); each one's time and counts are printed at the end, then one
# closing line "check: N passed, N failed".
#
#   bash tests/check.sh [BUILD]
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
LOGDIR=$(mktemp -d /tmp/agentcg-check.XXXXXX)
trap 'rm -rf "$LOGDIR"' EXIT
T_START=$SECONDS
summary=""
total_pass=0
total_fail=0

# phase NAME CMD...: runs CMD with its output shown and kept; counts its
# results: cmocka's "[  PASSED  ] N test(s)" / "[  FAILED  ] N test(s)"
# and the "N passed, N failed" closing lines of the other runners. A
# non-zero exit with no failure counted is one failure.
phase() {
	local name=$1 log=$LOGDIR/$1.log t0=$SECONDS rc p f
	shift
	echo "==== $name: $*"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s += $1} END {print s + 0}')
	case "$name" in
	layers | package | man)
		p=$(grep -c '^ok ' "$log")
		f=$(grep -c '^not ok ' "$log") ;;
	unit) # the runner's own TAP lines
		p=$((p + $(grep -c '^ok ' "$log")))
		f=$((f + $(grep -c '^not ok ' "$log"))) ;;
	integration)
		read -r p f < <(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -1)
		p=${p:-0}; f=${f:-0} ;;
	fuzz)
		read -r p f < <(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -1)
		p=${p:-0}; f=${f:-0} ;;
	asan)
		read -r p f < <(sed -n 's/^asan: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -1)
		p=${p:-0}; f=${f:-0} ;;
	vmtest)
		read -r p f < <(sed -n 's/^vmtest: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$log" | tail -1)
		p=${p:-0}; f=${f:-0}
		grep -q '^vmtest: SKIP' "$log" && name="vmtest (skipped: qemu cannot start)" ;;
	vmtest-systemd)
		read -r p f < <(sed -n 's/^vmtest-systemd: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$log" | tail -1)
		p=${p:-0}; f=${f:-0}
		grep -q '^vmtest-systemd: SKIP' "$log" && name="vmtest-systemd (skipped: qemu cannot start)" ;;
	esac
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	summary="$summary$(printf '#   %-12s %5ds  %4d passed, %d failed' "$name" $((SECONDS - t0)) "$p" "$f")"$'\n'
}

phase layers bash -c "bash tests/check_layers.sh --selftest && bash tests/check_layers.sh '$BUILD'"
phase unit make --no-print-directory unit BUILD="$BUILD"
phase package bash tests/check_package.sh "$BUILD"
phase man bash -c "bash tests/check_man.sh --selftest '$BUILD' && bash tests/check_man.sh '$BUILD'"
phase integration bash tests/integration/run.sh "$BUILD"
phase vmtest bash vmtests/run.sh "$BUILD"
# The systemd units under a real systemd as PID 1 (make vmtest-systemd:
# through make, so that the package it installs is built first).
phase vmtest-systemd make --no-print-directory vmtest-systemd BUILD="$BUILD"
# Each libFuzzer harness for 30 s (a crash fails it), then the integration
# suite once more against the ASan+UBSan build (any report fails it).
phase fuzz make --no-print-directory fuzz FUZZ_TIME="${AGENTCG_CHECK_FUZZ_TIME:-30}"
phase asan make --no-print-directory check-asan

echo "==== check: times (load average now $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s' "$summary"
echo "#   total        $((SECONDS - T_START))s"
echo "check: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
