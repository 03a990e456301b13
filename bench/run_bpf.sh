#!/bin/bash
# Build and run the BPF-layer benchmarks side by side (see bench/README.md):
#   bench/bpf_overhead.py  fork/exec-heavy tool calls with the BPF programs
#                          loaded, without them, and with no daemon
#   bench/bpf_reaction.py  crossing a cpu_time / memory budget -> stopped:
#                          BPF vs a 100 ms and a 1 s cgroup-file poller
#
#   bench/run_bpf.sh [--rev REV] [--quick] [--only overhead|reaction] [--save]
#
# Without --rev it measures the agentcgd in ./build (`make all` first only if
# it is missing). With --rev REV a committed revision is exported with
# `git archive` and built under /tmp/agentcg-bench-src-<sha> (the work tree
# and ./build are not touched), so the figures belong to one commit even
# while the work tree is being edited. The workloads (bench/forkexec.c,
# bench/burn.c) are always built from this work tree into build/bench/.
#
# --quick   small counts, about 1 minute in all (a smoke test, not figures)
# --save    also write the outputs to bench/results/<date>_<sha>_bpf_*.{txt,json}
# Extra options for each bench: BPF_OVERHEAD_ARGS="--rounds 8" and
# BPF_REACTION_ARGS="--bpf-n 300" in the environment.
# Needs root, python3, gcc; bpftool for the overhead attribution.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh
need_root

REV="" QUICK=0 SAVE=0 ONLY=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rev) REV=${2:?--rev needs a revision}; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--save) SAVE=1; shift ;;
	--only) ONLY=${2:?--only needs overhead or reaction}; shift 2 ;;
	-h|--help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "run_bpf.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

mkdir -p build/bench
for w in forkexec burn; do
	cc -O2 -Wall -Wextra -D_GNU_SOURCE "bench/$w.c" -o "build/bench/$w"
done

if [ -n "$REV" ]; then
	build_rev "$REV"
	BUILD_DIR=$REV_DIR/build
	CONFIG=$REV_DIR/tests/integration/agentcgd-test.json
	SHA=$REV_SHA
	DESC="revision $REV_SHA ($(git log -1 --format=%s "$REV_SHA" | cut -c1-80)), git archive built in $REV_DIR"
else
	BUILD_DIR=build
	CONFIG=tests/integration/agentcgd-test.json
	[ -x build/agentcgd ] || make all >&2
	SHA=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	dirty=$(git status --porcelain --untracked-files=no -- bpf userspace include config 2>/dev/null | wc -l)
	echo "run_bpf.sh: daemon = ./build (HEAD $SHA, $dirty modified source files in the work tree)" >&2
	[ "$dirty" = 0 ] || SHA=$SHA-dirty
	DESC="./build of the work tree (HEAD $SHA, $dirty modified source files)"
fi

OVH=(${BPF_OVERHEAD_ARGS:-})
REA=(${BPF_REACTION_ARGS:-})
if [ "$QUICK" = 1 ]; then
	OVH=(--rounds 2 -n 2000 --build-reps 1 --attr-n 1000 "${OVH[@]}")
	REA=(--bpf-n 20 --p100-n 8 --p1s-n 3 "${REA[@]}")
fi
COMMON=(--build "$BUILD_DIR" --config "$CONFIG" --bench-bin build/bench --daemon-desc "$DESC")

run() { # name script args...
	local name=$1 script=$2
	shift 2
	if [ "$SAVE" = 1 ]; then
		local base
		base=bench/results/$(date -u +%Y-%m-%d)_${SHA}_bpf_$name
		mkdir -p bench/results
		python3 "$script" "${COMMON[@]}" --json "$base.json" "$@" 2>&1 | tee "$base.txt"
		echo "run_bpf.sh: saved $base.txt and $base.json" >&2
	else
		python3 "$script" "${COMMON[@]}" "$@"
	fi
}

status=0
if [ -z "$ONLY" ] || [ "$ONLY" = overhead ]; then
	run overhead bench/bpf_overhead.py "${OVH[@]}" || status=1
	echo
fi
if [ -z "$ONLY" ] || [ "$ONLY" = reaction ]; then
	run reaction bench/bpf_reaction.py "${REA[@]}" || status=1
fi
exit $status
