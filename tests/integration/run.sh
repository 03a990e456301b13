#!/bin/bash
# Runs every integration test against the real kernel (as root) and prints
# one closing line "N passed, N failed".
set -u
BUILD=${1:-build}
export BUILD
cd "$(dirname "$0")/../.." || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root (they create real cgroups)"; exit 1
fi
pass=0; fail=0
for t in tests/integration/test_*.sh tests/integration/test_*.py; do
	[ -e "$t" ] || continue
	echo "== $t"
	out=$(mktemp)
	case "$t" in
	*.py) timeout 600 python3 "$t" "$BUILD" 2>&1 | tee "$out" ;;
	*)    timeout 600 bash "$t" 2>&1 | tee "$out" ;;
	esac
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with status $rc"; f=1
	fi
	pass=$((pass + p)); fail=$((fail + f))
	rm -f "$out"
done
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
