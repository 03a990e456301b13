# SPDX-License-Identifier: GPL-2.0
# Shared by the bench/run_*.sh scripts (sourced after `cd` to the top).

BENCH_NAME=$(basename "$0")

# Benchmarks create cgroups and run agentcgd.
need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "$BENCH_NAME: needs root (it creates cgroups and runs agentcgd)" >&2
		exit 1
	fi
}

# A committed revision, exported with `git archive` and built under
# /tmp/agentcg-bench-src-<sha> (the work tree and ./build stay untouched).
# Sets REV_DIR and REV_SHA.
build_rev() {
	local rev=$1 sha src
	sha=$(git rev-parse --short "$rev^{commit}")
	src=/tmp/agentcg-bench-src-$sha
	if [ ! -x "$src/build/agentcgd" ] || [ ! -x "$src/build/agentcg" ]; then
		rm -rf "$src"
		mkdir -p "$src"
		git archive "$sha" | tar -x -C "$src"
		make -C "$src" all >"$src/build.log" 2>&1 || {
			echo "$BENCH_NAME: building $rev failed, see $src/build.log" >&2
			exit 1
		}
	fi
	echo "$BENCH_NAME: revision $rev = $sha, built in $src" >&2
	REV_DIR=$src
	REV_SHA=$sha
}
