#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# What the vmtest guest runs (vmtests/init -> BUILD/vm/job -> this), in the
# project dir, as root, in the root cgroup of a pure cgroup v2 hierarchy:
# the facts of the guest, the whole integration suite
# (tests/integration/run.sh), then the tests that only make sense on a
# pure v2 host (vmtests/test_*.sh). Closes with
# "vmtest: N passed, N failed (...)" and exits non-zero if any failed.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 2

echo "guest: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
echo "guest: cmdline: $(cat /proc/cmdline)"
echo "guest: lsm: $(cat /sys/kernel/security/lsm 2>/dev/null)"
echo "guest: cgroup mounts: $(awk '$3 ~ /^cgroup/ {printf "%s %s %s; ", $2, $3, $4}' /proc/mounts)"
echo "guest: root cgroup: controllers '$(cat /sys/fs/cgroup/cgroup.controllers)'," \
	"subtree_control '$(cat /sys/fs/cgroup/cgroup.subtree_control)'"
echo "guest: psi: $(head -1 /proc/pressure/memory 2>/dev/null || echo none)"

# TCG runs calls ~30x slower: the map-churn test does fewer of them here.
export AGENTCG_CHURN_CALLS=${AGENTCG_CHURN_CALLS:-1000}
# Waits for a state get a longer deadline under TCG (25-60x slower).
export AGENTCG_TEST_WAIT=${AGENTCG_TEST_WAIT:-300}

t0=$(date +%s)
pass=0; fail=0
out=$(mktemp)
bash tests/integration/run.sh "$BUILD" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
pass=$((pass + p)); fail=$((fail + f))
t1=$(date +%s)
echo "guest: integration suite took $((t1 - t0))s"

# Pure-v2-only tests: the same bookkeeping as tests/integration/run.sh.
for t in vmtests/test_*.sh; do
	[ -e "$t" ] || continue
	echo "== $t"
	BUILD=$BUILD timeout 600 bash "$t" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with status $rc"; f=1
	fi
	pass=$((pass + p)); fail=$((fail + f))
done
rm -f "$out"
echo "guest: v2-only tests took $(($(date +%s) - t1))s"
echo "vmtest: $pass passed, $fail failed (integration suite and vmtests/test_*.sh, $(($(date +%s) - t0))s)"
[ "$fail" -eq 0 ]
