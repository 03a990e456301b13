#!/bin/bash
# The daemon's layering (userspace/daemon/daemon.h), checked two ways: no
# file includes the header of a module above its own, and no object uses
# a symbol defined by a module above its own. A lower layer reaches a
# higher one only through an upcall in ctx->hooks.
#
#   bash tests/check_layers.sh [BUILD]     check build/userspace/daemon
#   bash tests/check_layers.sh --selftest  show that a violation fails
#
# Prints every crossing and exits 1 if there is one.
set -u
cd "$(dirname "$0")/.." || exit 1

# The layer of a module, from a file name (foo.c, foo.h, foo.o).
layer_of() {
	case "${1%.*}" in
	daemon | runner_blob | metrics | http) echo 0 ;;
	server | rpc | quota | service | peercred) echo 1 ;;
	events) echo 2 ;;
	bpf | pressure | procs | mover | uids) echo 3 ;;
	tree | pool | priority | access) echo 4 ;;
	call | call_* | contain | interp | interp_* | adaptive) echo 5 ;;
	methods | methods_* | metrics_http | main | hooks) echo 6 ;;
	*) echo "?" ;;
	esac
}

# check SRC_DIR OBJ_DIR: prints the crossings, returns how many.
check() {
	local src=$1 obj=$2 bad=0 f l inc il o m s d dl
	local -A def_of

	for f in "$src"/*.c "$src"/*.h; do
		[ -e "$f" ] || continue
		l=$(layer_of "$(basename "$f")")
		if [ "$l" = "?" ]; then
			echo "layers: $(basename "$f") has no layer: add it to tests/check_layers.sh and daemon.h"
			bad=$((bad + 1))
			continue
		fi
		while read -r inc; do
			[ -e "$src/$inc" ] || continue # not a daemon header
			il=$(layer_of "$inc")
			if [ "$il" != "?" ] && [ "$il" -gt "$l" ]; then
				echo "layers: $(basename "$f") (layer $l) includes $inc (layer $il)"
				bad=$((bad + 1))
			fi
		done < <(sed -n 's/^#include "\([^"/]*\)".*/\1/p' "$f")
	done
	for o in "$obj"/*.o; do
		[ -e "$o" ] || continue
		m=$(basename "$o")
		# an object left from a source that is gone is not part of it
		[ -e "$src/${m%.o}.c" ] || [ -e "$src/${m%.o}.S" ] || continue
		for s in $(nm --defined-only -g "$o" 2>/dev/null | awk '{print $3}'); do
			def_of[$s]=$m
		done
	done
	for o in "$obj"/*.o; do
		[ -e "$o" ] || continue
		m=$(basename "$o")
		[ -e "$src/${m%.o}.c" ] || [ -e "$src/${m%.o}.S" ] || continue
		l=$(layer_of "$m")
		[ "$l" = "?" ] && continue
		for s in $(nm -u "$o" 2>/dev/null | awk '{print $2}'); do
			d=${def_of[$s]:-}
			[ -n "$d" ] && [ "$d" != "$m" ] || continue
			dl=$(layer_of "$d")
			if [ "$dl" != "?" ] && [ "$dl" -gt "$l" ]; then
				echo "layers: ${m%.o} (layer $l) calls $s of ${d%.o} (layer $dl)"
				bad=$((bad + 1))
			fi
		done
	done
	return $bad
}

if [ "${1:-}" = "--selftest" ]; then
	# A server that includes call.h and calls into the call module: two
	# crossings, which the check must report.
	t=$(mktemp -d /tmp/agentcg-layers.XXXXXX)
	trap 'rm -rf "$t"' EXIT
	printf 'void acd_call_kill(void);\n' > "$t/call.h"
	printf '#include "call.h"\nvoid acd_call_kill(void) {}\n' > "$t/call.c"
	printf '#include "call.h"\nvoid acd_server_x(void) { acd_call_kill(); }\n' > "$t/server.c"
	cc -c -o "$t/call.o" "$t/call.c" && cc -c -o "$t/server.o" "$t/server.c" || exit 1
	out=$(check "$t" "$t")
	n=$?
	echo "$out"
	if [ "$n" -eq 2 ] && grep -q 'server.c (layer 1) includes call.h' <<<"$out" &&
	   grep -q 'server (layer 1) calls acd_call_kill of call' <<<"$out"; then
		echo "ok - check_layers.sh reports an include and a call across layers"
		exit 0
	fi
	echo "not ok - check_layers.sh missed a crossing ($n reported)"
	exit 1
fi

BUILD=${1:-build}
objs=$(ls "$BUILD"/userspace/daemon/*.o 2>/dev/null | wc -l)
if [ "$objs" -eq 0 ]; then
	echo "not ok - check_layers.sh: no objects in $BUILD/userspace/daemon (build first)"
	exit 1
fi
out=$(check userspace/daemon "$BUILD/userspace/daemon")
n=$?
[ -n "$out" ] && echo "$out"
if [ "$n" -eq 0 ]; then
	echo "ok - the daemon's $objs objects and their includes keep to the layers of daemon.h"
	exit 0
fi
echo "not ok - $n crossings of the daemon's layers (see userspace/daemon/daemon.h)"
exit 1
