#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The root filesystem of the systemd VM (vmtests/run_systemd.sh): a
# minimal Debian with systemd as PID 1, built once with mmdebstrap from
# Debian's packages and kept as an ext4 image in the build directory, like
# the kernel.
#
#   bash vmtests/systemd_rootfs.sh BUILD     (as root; prints the image's path)
#
# - Release: the host's own (VERSION_CODENAME of /etc/os-release). The
#   guest runs binaries built on this host, so it needs the same glibc,
#   libbpf and libsystemd ABI the host linked against.
# - Packages: --variant=minbase (dpkg, apt, passwd, util-linux: what a
#   real minimal host has, and what a .deb's maintainer scripts may use),
#   systemd and systemd-sysv (systemd as /sbin/init), procps (pgrep and ps
#   for the checks), python3 (agentcgd's interpreter pool starts Python and
#   bash interpreters at start), and the packages of every shared library
#   that build/agentcgd and build/agentcg link (ldd, then dpkg -S), so the
#   binaries, or the .deb, run as they are. No udev (the test needs no
#   hot-plugged device: the kernel's devtmpfs has ttyS0, ttyS1 and vda),
#   no dbus (systemctl talks to PID 1 over its private socket as root).
# - Mirrors: the host's own apt sources (VMTEST_MIRRORS, a space-separated
#   list of mmdebstrap MIRROR arguments, replaces them): the machines reach
#   Debian only through what apt is set up with.
# - Image: BUILD/vm/systemd-rootfs-<release>-<key>.img, written by
#   `mke2fs -d` from the unpacked tree (no loop mount). <key> is a hash of
#   this script, the release and the package list: a change to any of them
#   builds a new image (and removes the old ones); otherwise the image is
#   reused as it is and the mirror is not touched. qemu boots it with
#   -snapshot, so no run ever changes it.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
VM=$BUILD/vm
mkdir -p "$VM" || exit 1
T0=$(date +%s)

say() { echo "vmtest-systemd: $*" >&2; }
fail() { echo "vmtest-systemd: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "building the rootfs needs root (mmdebstrap, file owners)"
for b in "$BUILD/agentcgd" "$BUILD/agentcg"; do
	[ -x "$b" ] || fail "$b is missing: make first"
done
command -v mmdebstrap >/dev/null || fail "mmdebstrap is missing (make deps installs it)"
command -v mke2fs >/dev/null || fail "mke2fs is missing (make deps installs e2fsprogs)"

SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$SUITE" ] || fail "no VERSION_CODENAME in /etc/os-release: which Debian release is this?"

# The packages of the binaries' shared libraries (libc6 comes with any
# variant; listing it does no harm).
lib_pkgs() {
	local lib pkg
	ldd "$BUILD/agentcgd" "$BUILD/agentcg" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
		while read -r lib; do
			pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null) ||
				{ echo "no package owns $lib" >&2; return 1; }
			echo "${pkg%%:*}"
		done
}
libs=$(lib_pkgs) || fail "cannot tell which packages hold the binaries' libraries"
PKGS=$(printf '%s\n' systemd systemd-sysv procps python3 $libs | sort -u | paste -sd, -)

KEY=$( { cat vmtests/systemd_rootfs.sh; echo "$SUITE"; echo "$PKGS"; } | sha256sum | cut -c1-12)
IMG=$VM/systemd-rootfs-$SUITE-$KEY.img
if [ -s "$IMG" ]; then
	echo "$IMG"
	exit 0
fi

if [ -n "${VMTEST_MIRRORS:-}" ]; then
	read -ra MIRRORS <<<"$VMTEST_MIRRORS"
else
	MIRRORS=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -qE '^[[:space:]]*(deb|Types:)' "$f" && MIRRORS+=("$f")
	done
	[ ${#MIRRORS[@]} -gt 0 ] || fail "the host has no apt sources to build the rootfs from"
fi

say "building the rootfs: Debian $SUITE minbase + $PKGS (mmdebstrap, a few minutes)"
TREE=$VM/systemd-rootfs.tree
LOG=$VM/systemd-rootfs.log
rm -rf "$TREE" "$IMG.tmp"
if ! mmdebstrap --variant=minbase --include="$PKGS" --logfile="$LOG" \
	"$SUITE" "$TREE" "${MIRRORS[@]}" </dev/null; then
	tail -n 20 "$LOG" >&2
	rm -rf "$TREE"
	fail "mmdebstrap failed (its log: $LOG)"
fi

# What makes it boot straight into the test, quietly:
# - a machine-id, so that no boot is a "first boot" (systemd-firstboot
#   and friends would run, and ask questions, on every -snapshot boot);
# - no timers: apt's daily runs, e2scrub, fstrim, dpkg's database backup
#   cost minutes under TCG and have nothing to do with the test;
# - /vmtest, where the initramfs mounts the run's files (run_systemd.sh).
echo agentcg-vm >"$TREE/etc/hostname"
echo "a9e17c6f0b3d4e2a8c5f1d7b6e0a3c91" >"$TREE/etc/machine-id"
printf '# / is mounted read-write by the initramfs (vmtests/systemd_init)\n' >"$TREE/etc/fstab"
rm -f "$TREE"/etc/systemd/system/timers.target.wants/*
mkdir -p "$TREE/vmtest"
rm -rf "$TREE"/var/cache/apt/archives/*.deb "$TREE"/var/lib/apt/lists/*_Packages

used=$(du -sm "$TREE" | cut -f1)
size=$((used + used / 2 + 256))
if ! mke2fs -q -t ext4 -L agentcg-root -d "$TREE" -F "$IMG.tmp" "${size}M" >"$LOG.mke2fs" 2>&1; then
	cat "$LOG.mke2fs" >&2
	rm -rf "$TREE" "$IMG.tmp"
	fail "mke2fs -d failed"
fi
rm -rf "$TREE" "$LOG.mke2fs"
# Older images (another script or package list) are of no more use.
for old in "$VM"/systemd-rootfs-*.img; do
	[ "$old" != "$IMG" ] && rm -f "$old"
done
mv "$IMG.tmp" "$IMG"
say "rootfs $IMG: ${used} MB of files in a ${size} MB image, built in $(($(date +%s) - T0))s"
echo "$IMG"
