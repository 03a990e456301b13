#!/bin/bash
# What the drop-in shell costs (bench/shell_bench.py): `bash -c CMD` with
# the real bash, through agentcg-sh, and through `agentcg run`, interleaved.
#
#   bench/run_shell.sh [--quick] [--save]
#
# --quick   20 rounds per command (a smoke test, not figures)
# --save    also write the output to bench/results/<date>_<rev>_shell.txt
#           (every sample in the .json next to it)
# Needs root. Measures ./build (`make all` first if it is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
need_root
N=200 SAVE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) N=20; shift ;;
	--save) SAVE=1; shift ;;
	-h|--help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "run_shell.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -x build/agentcg-sh ] || make all >&2
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || REV=$REV-dirty
args=(build/agentcgd build/agentcg build/agentcg-sh -n "$N")
if [ "$SAVE" = 1 ]; then
	out=bench/results/$(date +%F)_${REV}_shell
	python3 bench/shell_bench.py "${args[@]}" --json "$out.json" | tee "$out.txt"
else
	python3 bench/shell_bench.py "${args[@]}"
fi
