#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Swap on zram, in the vmtest guest only (vmtests/guest.sh runs it): a
# frozen call's pages are pushed out to swap. Makes a zram device of its
# own (hot_add; 1G, the kernel's default compressor) with swap on it, runs
# vmtests/zram_freeze.py (agentcgd, freeze "auto", a tenant's memory
# pressure), then turns the swap off and resets and removes the device,
# and checks that nothing of it is left.
#
# It makes swap, so it refuses to run anywhere but in the vmtest guest
# (vmtest.job= on the kernel command line, a pure cgroup v2 tree): never
# on a host. vmtests/run.sh puts zram (and the lz4 modules it depends on)
# in the guest's initramfs.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
FAILED=0
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; FAILED=1; }
CTL=/sys/class/zram-control

if ! grep -q 'vmtest\.job=' /proc/cmdline; then
	nok "test_zram.sh makes swap: it runs only in the vmtest guest (make vmtest)"
	exit 1
fi
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
	nok "needs a pure cgroup v2 tree at /sys/fs/cgroup (the vmtest guest)"
	exit 1
fi
if ! [ -w $CTL/hot_add ]; then
	nok "no zram in this kernel ($CTL/hot_add missing: vmtests/run.sh loads it in the initramfs)"
	exit 1
fi
if [ -n "$(tail -n +2 /proc/swaps)" ]; then
	nok "swap is on before the test: $(tail -n +2 /proc/swaps | tr '\n' ';')"
	exit 1
fi

DEV=
teardown() {
	[ -n "$DEV" ] || return 0
	grep -q "^/dev/$DEV " /proc/swaps && swapoff "/dev/$DEV"
	[ -e "/sys/block/$DEV" ] && echo 1 >"/sys/block/$DEV/reset"
	# (busy for a moment after swapoff)
	for _ in $(seq 1 100); do
		[ -e "/sys/block/$DEV" ] || break
		echo "${DEV#zram}" >$CTL/hot_remove 2>/dev/null && break
		sleep 0.05
	done
	DEV=
}
trap teardown EXIT

id=$(cat $CTL/hot_add) || { nok "zram hot_add"; exit 1; }
DEV=zram$id
for _ in $(seq 1 100); do [ -b "/dev/$DEV" ] && break; sleep 0.05; done
if echo 1G >"/sys/block/$DEV/disksize" && mkswap "/dev/$DEV" >/dev/null &&
	swapon "/dev/$DEV" && grep -q "^/dev/$DEV " /proc/swaps; then
	ok "swap on /dev/$DEV (zram, 1G, $(sed 's/.*\[\(.*\)\].*/\1/' "/sys/block/$DEV/comp_algorithm"))"
else
	nok "swap on /dev/$DEV: $(cat /proc/swaps)"
	exit 1
fi

AGENTCG_TEST_WAIT=${AGENTCG_TEST_WAIT:-300} python3 vmtests/zram_freeze.py "$BUILD"
rc=$?
[ "$rc" -ne 0 ] && FAILED=1
# orig_data_size compr_data_size mem_used_total ... same_pages ... (Documentation/admin-guide/blockdev/zram.rst)
echo "# zram $DEV mm_stat: $(cat "/sys/block/$DEV/mm_stat")"
echo "# /proc/swaps: $(tail -n +2 /proc/swaps | tr -s ' \t' ' ')"

d=$DEV
teardown
trap - EXIT
if [ -z "$(tail -n +2 /proc/swaps)" ] && ! [ -e "/sys/block/$d" ]; then
	ok "teardown: swap off, /dev/$d reset and removed"
else
	nok "teardown left: $(tail -n +2 /proc/swaps | tr '\n' ';') $(ls -d /sys/block/$d 2>/dev/null)"
fi
exit $FAILED
