#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make vmtest: the integration suite on a pure cgroup v2 kernel, in a VM.
#
#   bash vmtests/run.sh [BUILD]        (as root; BUILD defaults to build)
#
# 1. Kernel: the newest linux-image-6.12.*-amd64-unsigned Debian package,
#    fetched with `apt-get download` and unpacked (never installed) into
#    BUILD/vm/. Both the .deb and the tree are kept: later runs reuse them.
# 2. Initramfs: busybox-static, the kernel's 9p modules and zram (for the
#    swap of vmtests/test_zram.sh), in dependency order, and vmtests/init;
#    rebuilt only when one of those changed.
# 3. Boot under qemu with TCG (KVM cannot boot a guest on the dev/CI
#    hosts), psi=1 and bpf in lsm=. The guest mounts this host's root
#    read-only over virtio-9p, so it runs this very build with the host's
#    own python3, shell and libraries; it gets tmpfs on /tmp and /run and
#    a pure cgroup2 tree with +memory +cpu +pids (vmtests/init).
# 4. The job (BUILD/vm/job, written below) runs vmtests/guest.sh inside:
#    the integration suite, then the pure-v2-only vmtests/test_*.sh. Its
#    output streams here from the guest's second serial port and ends with
#    "vmtest: exit N". This script exits with N; a guest that
#    dies without saying so, or outlives VMTEST_TIMEOUT (seconds, default
#    1800), is a failure. Exit 0 with a "vmtest: SKIP" line only when qemu
#    itself cannot start.
#
# Environment: VMTEST_TIMEOUT, VMTEST_MEM (default 4G), VMTEST_SMP (2),
# VMTEST_CPU (qemu -cpu, default qemu64), VMTEST_TCG_THREAD (single),
# VMTEST_KERNEL_PKG (a package name instead of the newest),
# VMTEST_CMD (what the guest runs in the project dir instead of the suite,
# e.g. VMTEST_CMD='bash tests/integration/test_calls.sh').
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
PROJ=$(pwd -P)
mkdir -p "$BUILD/vm" || exit 1
BUILD=$(cd "$BUILD" && pwd -P)
VM=$BUILD/vm
TIMEOUT=${VMTEST_TIMEOUT:-1800}
QEMU=qemu-system-x86_64
T0=$(date +%s)

say() { echo "vmtest: $*"; }
fail() { echo "vmtest: FAIL: $*" >&2; exit 1; }
elapsed() { echo "$(($(date +%s) - T0))s"; }

[ "$(id -u)" = 0 ] || fail "needs root (apt-get download, and the suite creates cgroups)"
case "$PROJ$BUILD" in *[[:space:]]*) fail "the project and build paths must not contain spaces" ;; esac

# ---- qemu ------------------------------------------------------------------
if ! command -v $QEMU >/dev/null; then
	say "SKIP: $QEMU is not installed (make deps installs qemu-system-x86)"
	exit 0
fi
if ! qerr=$(echo quit | timeout 60 $QEMU -machine none -accel tcg -nodefaults -display none \
	-monitor stdio 2>&1 >/dev/null); then
	say "SKIP: $QEMU cannot start here: $qerr"
	exit 0
fi

# ---- the kernel, busybox and the module helpers (shared with run_systemd.sh) --
. vmtests/kernel.sh

INITRD=$VM/initramfs-$KVER.cpio.gz
if ! [ -s "$INITRD" ] || [ vmtests/init -nt "$INITRD" ] || [ "$BUSYBOX" -nt "$INITRD" ] ||
	[ vmtests/run.sh -nt "$INITRD" ] || [ vmtests/kernel.sh -nt "$INITRD" ]; then
	say "building the initramfs for $KVER"
	stage=$VM/initramfs-root
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,lib/modules,proc,sys,dev,newroot,tmp}
	cp "$BUSYBOX" "$stage/bin/busybox"
	cp vmtests/init "$stage/init"
	chmod 755 "$stage/init" "$stage/bin/busybox"
	# zram (and the lz4 compressors it depends on; zsmalloc is built in):
	# loaded at boot, it only makes the zram-control files and an empty
	# zram0; vmtests/test_zram.sh makes its own device and swap on it.
	# inet_diag and tcp_diag: the metrics listener asks sock_diag who owns
	# a TCP client's socket, as on a host with the usual modules.
	mods=$(mod_order 9pnet_virtio && mod_order 9p && mod_order zram && mod_order inet_diag &&
		mod_order tcp_diag) || fail "cannot resolve the 9p, zram and sock_diag modules"
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

# ---- the job -------------------------------------------------------------------
# What the guest's init runs in a chroot of the shared host root.
JOB=$VM/job
CMD=${VMTEST_CMD:-bash vmtests/guest.sh $BUILD}
printf '# Written by vmtests/run.sh; run by vmtests/init inside the guest.\ncd %s || exit 2\n%s\n' \
	"$PROJ" "$CMD" >"$JOB"

# ---- boot ------------------------------------------------------------------------
CONSOLE=$VM/console.log
OUT=$VM/tests.log
rm -f "$CONSOLE" "$OUT"
: >"$OUT"
APPEND="console=ttyS0 loglevel=4 panic=-1 psi=1 lsm=lockdown,capability,landlock,yama,apparmor,bpf"
APPEND="$APPEND rdinit=/init vmtest.job=$JOB vmtest.keep=$PROJ,$BUILD"
say "booting $KVER under qemu TCG (thread=${VMTEST_TCG_THREAD:-single}, -cpu ${VMTEST_CPU:-qemu64}, -m ${VMTEST_MEM:-4G}, -smp ${VMTEST_SMP:-2}), time bound ${TIMEOUT}s"
say "guest console: $CONSOLE; test output follows"
vm_run vmtest "$CONSOLE" "$OUT" "$VM/qemu.log" -m "${VMTEST_MEM:-4G}" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
