#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by vmtests/run.sh and vmtests/run_systemd.sh (both VMs boot the
# same kernel): fetches and unpacks the Debian 6.12 kernel into $VM once,
# checks busybox, and defines the module helpers mod_file, mod_cat and
# mod_order, and vm_run, which boots a guest and judges its result. Needs
# VM (the cache dir), say, fail and elapsed; sets KPKG, KTREE, VMLINUZ,
# KVER, MODDIR and BUSYBOX.

# ---- the kernel ------------------------------------------------------------
newest_kernel_pkg() {
	apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64-unsigned$' |
		awk '{print $1}' | sort -V | tail -1
}

# A kernel unpacked earlier is used as it is: `make vmtest` needs the
# mirror only the first time (or after `make clean`).
KPKG=
[ -s "$VM/kernel.pkg" ] && KPKG=$(cat "$VM/kernel.pkg")
[ -n "$KPKG" ] && ! [ -e "$VM/$KPKG/.unpacked" ] && KPKG=
[ -n "${VMTEST_KERNEL_PKG:-}" ] && KPKG=$VMTEST_KERNEL_PKG
KTREE=$VM/$KPKG
if [ -z "$KPKG" ] || ! [ -e "$KTREE/.unpacked" ]; then
	if [ -z "$KPKG" ]; then
		KPKG=$(newest_kernel_pkg)
		if [ -z "$KPKG" ]; then
			say "no linux-image-6.12 package known to apt: apt-get update"
			apt-get update -qq >/dev/null || fail "apt-get update failed"
			KPKG=$(newest_kernel_pkg)
		fi
		[ -n "$KPKG" ] || fail "apt knows no linux-image-6.12.*-amd64-unsigned package"
	fi
	KTREE=$VM/$KPKG
	say "fetching $KPKG"
	rm -f "$VM/$KPKG"_*.deb
	# _apt cannot write into a root-only build dir: download as root.
	if ! (cd "$VM" && apt-get download -o APT::Sandbox::User=root "$KPKG" >/dev/null); then
		say "apt-get download failed; apt-get update and retry"
		apt-get update -qq >/dev/null
		(cd "$VM" && apt-get download -o APT::Sandbox::User=root "$KPKG" >/dev/null) ||
			fail "apt-get download $KPKG failed"
	fi
	deb=$(ls "$VM/$KPKG"_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || fail "apt-get download left no .deb for $KPKG"
	rm -rf "$KTREE"
	mkdir -p "$KTREE"
	dpkg-deb -x "$deb" "$KTREE" || fail "cannot unpack $deb"
	touch "$KTREE/.unpacked"
	echo "$KPKG" >"$VM/kernel.pkg"
	say "unpacked $(basename "$deb") ($(elapsed))"
fi
VMLINUZ=$(ls "$KTREE"/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$VMLINUZ" ] || fail "no vmlinuz in $KTREE/boot"
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$KTREE/lib/modules/$KVER

# ---- the initramfs -----------------------------------------------------------
BUSYBOX=/bin/busybox
if ! "$BUSYBOX" --list 2>/dev/null | grep -qx cpio; then
	fail "$BUSYBOX (busybox-static) is missing: make deps installs it"
fi

# The file of module NAME (names use _ where file names may use -).
mod_file() {
	local alt=${1//_/-}
	find "$MODDIR/kernel" \( -name "$1.ko" -o -name "$1.ko.*" -o -name "$alt.ko" -o -name "$alt.ko.*" \) |
		head -1
}
mod_cat() {
	case "$1" in
	*.xz) "$BUSYBOX" xzcat "$1" ;;
	*.zst) zstd -qdc "$1" ;;
	*.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}
# Emits module names, dependencies first (depends= from .modinfo).
MOD_SEEN=" "
mod_order() {
	local f deps d
	case "$MOD_SEEN" in *" $1 "*) return 0 ;; esac
	MOD_SEEN="$MOD_SEEN$1 "
	f=$(mod_file "$1")
	[ -n "$f" ] || { echo "no module $1 in $MODDIR" >&2; return 1; }
	deps=$(mod_cat "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
	for d in $deps; do mod_order "$d" || return 1; done
	echo "$1"
}

# ---- boot and judge ----------------------------------------------------------
# vm_run TAG CONSOLE OUT QLOG QEMU_ARG...: boots $VMLINUZ with $INITRD and
# the command line $APPEND under qemu TCG ($QEMU), its first serial port
# to CONSOLE and its second to OUT, with the QEMU_ARGs (memory, disks,
# 9p shares); streams OUT while the guest runs; then ends the script with
# the N of the guest's last "TAG: exit N" line, or fails when the guest
# outlived $TIMEOUT seconds or stopped without saying. Single-threaded TCG
# and the plain qemu64 CPU: with thread=multi and -cpu max (LA57, PKU,
# ...) the guest kernel crashed now and then (an int3 Oops inside a
# text_poke'd static branch, double faults in mem_cgroup_css_online)
# while static keys flipped; with these it did not, and the suites, bound
# by latency rather than CPU, take as long.
vm_run() {
	local tag=$1 console=$2 out=$3 qlog=$4 t_boot qpid tpid qrc marker summary
	shift 4
	t_boot=$(date +%s)
	timeout -k 10 "$TIMEOUT" "$QEMU" -accel "tcg,thread=${VMTEST_TCG_THREAD:-single}" \
		-cpu "${VMTEST_CPU:-qemu64}" -smp "${VMTEST_SMP:-2}" \
		-nodefaults -display none -no-reboot \
		-kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND" \
		-serial "file:$console" -serial "file:$out" "$@" </dev/null >"$qlog" 2>&1 &
	qpid=$!
	# Ctrl-C or a killed make must not leave the VM running (timeout(1)
	# runs in a process group of its own: it would not get the SIGINT).
	trap "kill $qpid 2>/dev/null" EXIT
	trap 'exit 130' INT TERM
	tail -n +1 -f --pid=$qpid "$out" 2>/dev/null | tr -d '\r' &
	tpid=$!
	wait $qpid
	qrc=$?
	wait $tpid 2>/dev/null
	marker=$(tr -d '\r' <"$out" | sed -n "s/^$tag: exit \([0-9][0-9]*\)\$/\1/p" | tail -1)
	summary=$(tr -d '\r' <"$out" | grep -E "^$tag: [0-9]+ passed" | tail -1)
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "$tag: --- last lines of the guest console ---"
		tr -d '\r' <"$console" | tail -n 40
		fail "the guest did not finish within ${TIMEOUT}s (killed): a hang"
	fi
	if [ -z "$marker" ]; then
		echo "$tag: --- qemu ---"
		cat "$qlog"
		echo "$tag: --- last lines of the guest console ---"
		tr -d '\r' <"$console" | tail -n 40
		fail "the guest stopped without reporting a result (qemu status $qrc)"
	fi
	[ -n "$summary" ] && say "guest: ${summary#"$tag: "}"
	say "guest exit status $marker; VM $(($(date +%s) - t_boot))s (boot, test and power-off), total $(elapsed)"
	exit "$marker"
}
