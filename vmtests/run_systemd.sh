#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make vmtest-systemd: agentcg's systemd units under a real systemd as
# PID 1, in a VM (issue 15).
#
#   bash vmtests/run_systemd.sh [BUILD]        (as root; BUILD defaults to build)
#
# 1. Kernel: the Debian 6.12 kernel vmtests/run.sh uses (vmtests/kernel.sh:
#    fetched once, cached in BUILD/vm/).
# 2. Root filesystem: a minimal Debian with systemd, built once by
#    vmtests/systemd_rootfs.sh with mmdebstrap and cached as an ext4 image
#    in BUILD/vm/; qemu opens it with snapshot=on, so it never changes.
# 3. Initramfs (BUILD/vm/initramfs-systemd-<kver>.cpio.gz): busybox, the
#    virtio_blk, ext4 and 9p modules and vmtests/systemd_init, which mounts
#    the image, the run's files and switches to systemd.
# 4. The run's files (BUILD/vm/systemd-job/, a read-only 9p share, /vmtest
#    in the guest): the .deb of make deb, vmtests/systemd_guest.sh and
#    agentcg-vmtest.service, which runs it after multi-user.target and
#    powers off.
# 5. Boot under qemu TCG with the command line of vmtests/run.sh
#    (psi=1, bpf in lsm=) and systemd.unified_cgroup_hierarchy=1. The
#    test's TAP lines stream here from the guest's second serial port;
#    the last is "vmtest-systemd: exit N" and this script exits with N. A
#    guest that dies without it, or outlives VMTEST_TIMEOUT (seconds,
#    default 1800), is a failure. Exit 0 with a "vmtest-systemd: SKIP" line
#    only when qemu itself cannot start.
#
# Environment: VMTEST_TIMEOUT, VMTEST_MEM (default 2G), VMTEST_SMP (2),
# VMTEST_CPU (qemu64), VMTEST_TCG_THREAD (single), VMTEST_KERNEL_PKG, as
# for vmtests/run.sh; VMTEST_MIRRORS (vmtests/systemd_rootfs.sh);
# AGENTCG_TEST_WAIT (seconds each wait for a state in the guest may take,
# default 300).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
mkdir -p "$BUILD/vm" || exit 1
BUILD=$(cd "$BUILD" && pwd -P)
VM=$BUILD/vm
TIMEOUT=${VMTEST_TIMEOUT:-1800}
QEMU=qemu-system-x86_64
T0=$(date +%s)

say() { echo "vmtest-systemd: $*"; }
fail() { echo "vmtest-systemd: FAIL: $*" >&2; exit 1; }
elapsed() { echo "$(($(date +%s) - T0))s"; }

[ "$(id -u)" = 0 ] || fail "needs root (apt-get download, mmdebstrap)"
case "$BUILD" in *[[:space:]]* | *,*) fail "the build path must not contain spaces or commas" ;; esac

# ---- qemu (as vmtests/run.sh) ------------------------------------------------
if ! command -v $QEMU >/dev/null; then
	say "SKIP: $QEMU is not installed (make deps installs qemu-system-x86)"
	exit 0
fi
if ! qerr=$(echo quit | timeout 60 $QEMU -machine none -accel tcg -nodefaults -display none \
	-monitor stdio 2>&1 >/dev/null); then
	say "SKIP: $QEMU cannot start here: $qerr"
	exit 0
fi

# ---- the kernel, busybox and the module helpers ------------------------------
. vmtests/kernel.sh

# ---- the root filesystem --------------------------------------------------------
IMG=$(bash vmtests/systemd_rootfs.sh "$BUILD") || fail "no root filesystem image"
say "rootfs: $IMG ($(du -m "$IMG" | cut -f1) MB on disk)"

# ---- the initramfs ----------------------------------------------------------------
INITRD=$VM/initramfs-systemd-$KVER.cpio.gz
if ! [ -s "$INITRD" ] || [ vmtests/systemd_init -nt "$INITRD" ] || [ "$BUSYBOX" -nt "$INITRD" ] ||
	[ vmtests/run_systemd.sh -nt "$INITRD" ] || [ vmtests/kernel.sh -nt "$INITRD" ]; then
	say "building the initramfs for $KVER"
	stage=$VM/initramfs-systemd-root
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,lib/modules,proc,sys,dev,newroot}
	cp "$BUSYBOX" "$stage/bin/busybox"
	cp vmtests/systemd_init "$stage/init"
	chmod 755 "$stage/init" "$stage/bin/busybox"
	# crc32c_generic before ext4: ext4's metadata checksums ask the crypto
	# API for crc32c, and nothing here could load it on demand (the qemu64
	# CPU has no SSE4.2 for crc32c-intel).
	mods=$(mod_order virtio_blk && mod_order crc32c_generic && mod_order ext4 &&
		mod_order 9pnet_virtio && mod_order 9p) || fail "cannot resolve the disk, ext4 and 9p modules"
	for m in $mods; do
		mod_cat "$(mod_file "$m")" >"$stage/lib/modules/$m.ko" || fail "cannot unpack module $m"
		echo "$m.ko" >>"$stage/lib/modules/order"
	done
	(cd "$stage" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) |
		gzip -1 >"$INITRD.tmp" || fail "cannot build the initramfs"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$stage"
	say "initramfs: modules $(echo "$mods" | tr '\n' ' ')($(du -k "$INITRD" | cut -f1) kB)"
fi

# ---- the run's files ------------------------------------------------------------------
JOB=$VM/systemd-job
rm -rf "$JOB"
mkdir -p "$JOB" || fail "cannot make $JOB"
# The package make deb built for this version (make vmtest-systemd builds
# it first).
VERSION=$(sed -n 's/^#define ACD_VERSION "\(.*\)"/\1/p' userspace/daemon/daemon.h)
deb=$BUILD/agentcg_${VERSION}_$(dpkg --print-architecture).deb
[ -s "$deb" ] || fail "no $deb: make deb (make vmtest-systemd does)"
[ "$BUILD/agentcgd" -nt "$deb" ] && fail "$deb is older than $BUILD/agentcgd: make deb (make vmtest-systemd does)"
cp "$deb" "$JOB/" || fail "cannot copy $deb"
say "installing ${deb##*/} in the guest"
cp vmtests/systemd_guest.sh vmtests/agentcg-vmtest.service "$JOB/" || fail "cannot copy the test"
# The deadline of each wait for a state in the guest (the unit reads it).
echo "AGENTCG_TEST_WAIT=${AGENTCG_TEST_WAIT:-300}" >"$JOB/env"

# ---- boot ---------------------------------------------------------------------------
CONSOLE=$VM/systemd-console.log
OUT=$VM/systemd-tests.log
QLOG=$VM/systemd-qemu.log
rm -f "$CONSOLE" "$OUT"
: >"$OUT"
APPEND="console=ttyS0 loglevel=4 panic=-1 psi=1 lsm=lockdown,capability,landlock,yama,apparmor,bpf"
# systemd: cgroup v2 only; no gettys (no one logs in, and serial-getty
# would wait for a udev device that never comes).
APPEND="$APPEND rdinit=/init rw systemd.unified_cgroup_hierarchy=1 systemd.getty_auto=0"
say "booting $KVER with systemd under qemu TCG (thread=${VMTEST_TCG_THREAD:-single}, -cpu ${VMTEST_CPU:-qemu64}, -m ${VMTEST_MEM:-2G}, -smp ${VMTEST_SMP:-2}), time bound ${TIMEOUT}s"
say "guest console: $CONSOLE; test output follows"
# snapshot=on: the guest's writes go to a temporary file qemu drops at exit.
vm_run vmtest-systemd "$CONSOLE" "$OUT" "$QLOG" -m "${VMTEST_MEM:-2G}" \
	-drive "file=$IMG,format=raw,if=virtio,snapshot=on" \
	-virtfs "local,path=$JOB,mount_tag=vmtestjob,security_model=none,readonly=on"
