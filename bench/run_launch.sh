#!/bin/bash
# Build and run the launch-cost benchmark (bench/launch/, built by
# `make build/bench/launch_bench`).
#
#   bench/run_launch.sh [--rev REV] [--rev2 REV] [launch_bench options...]
#
# Without --rev it measures the agentcgd/agentcg in ./build (running `make
# all` first only if they are missing) with ./config/agentcgd.json as the
# config template. With --rev REV it measures a committed revision instead:
# `git archive REV` is unpacked and built under /tmp (the repository, its
# work tree and ./build are not touched), handy to compare a change against
# its base while the work tree is being edited. With --rev2 REV a second
# daemon (B) built from REV is measured as (d2) in the same rounds as (d):
# the fair way to compare two daemons on a noisy machine.
#
# Examples:
#   bench/run_launch.sh                       # n=1000, table only
#   bench/run_launch.sh --breakdown           # + what the daemon's cost is made of
#   bench/run_launch.sh --rev HEAD --breakdown --json > result.json
#   bench/run_launch.sh --rev 494ad26 --rev2 ca810f4 --breakdown   # before/after
#   bench/run_launch.sh -n 100 --tools-n 20   # quick look
# Needs root, cgroup-tools, libjansson-dev; strace for --breakdown's trace.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh
need_root

REV="" REV2=""
while [ $# -gt 0 ]; do
	case "$1" in
	--rev) REV=${2:?--rev needs a revision}; shift 2 ;;
	--rev2) REV2=${2:?--rev2 needs a revision}; shift 2 ;;
	*) break ;;
	esac
done

# The bench itself always comes from the work tree; its replica links the
# work tree's libagentcg-cgroup. make's chatter goes to stderr (--json
# writes its one line to stdout).
make --no-print-directory build/bench/launch_bench >&2

if [ -n "$REV" ]; then
	build_rev "$REV"
	BUILD_DIR=$REV_DIR/build
	CONFIG=$REV_DIR/config/agentcgd.json
else
	BUILD_DIR=build
	CONFIG=config/agentcgd.json
	if [ ! -x build/agentcgd ] || [ ! -x build/agentcg ]; then
		make all >&2
	fi
	dirty=$(git status --porcelain --untracked-files=no -- userspace include config 2>/dev/null | wc -l)
	echo "run_launch.sh: daemon A = ./build (HEAD $(git rev-parse --short HEAD 2>/dev/null || echo ?)," \
		"$dirty modified source files in the work tree)" >&2
fi
EXTRA=()
if [ -n "$REV2" ]; then
	build_rev "$REV2"
	EXTRA=(--build2 "$REV_DIR/build" --config2 "$REV_DIR/config/agentcgd.json")
fi

exec build/bench/launch_bench --build "$BUILD_DIR" --config "$CONFIG" "${EXTRA[@]}" "$@"
