#!/bin/bash
# Replay of real agent traces (../shared/traces) on a shared memory budget
# below the sum of their peaks (bench/replay.py, see bench/README.md):
# (a) one shared budget, the OOM killer decides; (b) static per-agent
# limits; (c) agentcg's containment + adaptive intents; each against every
# trace replayed alone.
#
#   bench/run_replay.sh [--rev REV] [--quick] [--save] [replay.py options]
#
# Builds build/bench/tracealloc from bench/tracealloc.c, and uses the
# agentcgd of ./build (`make all` first only if it is missing) or, with
# --rev REV, one built from `git archive REV` under
# /tmp/agentcg-bench-src-<sha> (the work tree and ./build stay untouched).
# The bench copies the binaries at start: a rebuild during a run changes
# nothing.
#
# --quick   3 traces at speed 40 (about 2 minutes; a smoke test, not figures)
# --save    also write the output to bench/results/<date>_<rev>_replay.txt,
#           every call to the .json and the figure (--plot) to the .png
#           next to it (a _<time> suffix when those exist already)
# Everything else goes to replay.py (--traces N, --speed X, --mem-scale S,
# --budget SIZE, --modes a,b,c, --seed S, --json FILE, ...). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh
need_root

REV="" QUICK=0 SAVE=0
ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--rev) REV=${2:?--rev needs a revision}; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--save) SAVE=1; shift ;;
	--) shift; ARGS+=("$@"); break ;;
	-h|--help) sed -n '2,22p' "$0"; exit 0 ;;
	*) ARGS+=("$1"); shift ;;
	esac
done
if [ "$QUICK" = 1 ]; then
	ARGS=(--traces 3 --speed 40 "${ARGS[@]}")
fi

mkdir -p build/bench
cc -O2 -Wall -Wextra -D_GNU_SOURCE bench/tracealloc.c -o build/bench/tracealloc

if [ -n "$REV" ]; then
	build_rev "$REV"
	BUILD=$REV_DIR/build
	DESC=$REV_SHA
else
	[ -x build/agentcgd ] || make all >&2
	BUILD=build
	DESC=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	[ -z "$(git status --porcelain -- bpf userspace include config 2>/dev/null)" ] ||
		DESC=$DESC-dirty
fi

ARGS=(--build "$BUILD" --tracealloc build/bench/tracealloc "${ARGS[@]}")
if [ "$SAVE" = 1 ]; then
	base=bench/results/$(date -u +%Y-%m-%d)_${DESC}_replay
	# never overwrite an earlier run's files
	[ ! -e "$base.txt" ] && [ ! -e "$base.json" ] || base=${base}_$(date -u +%H%M%S)
	mkdir -p bench/results
	status=0
	# a --plot given explicitly comes later and wins
	python3 bench/replay.py --json "$base.json" --plot "$base.png" "${ARGS[@]}" 2>&1 |
		tee "$base.txt" ||
		status=1
	echo "run_replay.sh: saved $base.txt, $base.json and the figure (see its figure: line)" >&2
	exit $status
fi
exec python3 bench/replay.py "${ARGS[@]}"
