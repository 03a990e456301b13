#!/bin/bash
# Interpreter sessions (issue 5) side by side with a Jupyter kernel
# (bench/session_bench.py, see bench/README.md): a trivial cell's round trip,
# session start (warm pool, cold, Jupyter kernel) and stateless execs.
#
#   bench/run_sessions.sh [--quick] [--save] [-- extra session_bench.py options]
#
# Measures the agentcgd in ./build (`make all` first only if it is missing);
# the bench copies the binary at start, so a rebuild during a run changes
# nothing. The Jupyter side is Debian's: python3-jupyter-client and
# python3-ipykernel, run with /usr/bin/python3 (`make bench-sessions`
# installs them when missing; this script installs nothing).
#
# --quick   small counts, about 30 s (a smoke test, not figures)
# --save    also write the output to bench/results/<date>_<rev>_sessions.txt
#           (and every sample to the .json next to it); <rev> is the short
#           HEAD, with -dirty when the work tree has changes
# Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/lib.sh
need_root
PY=/usr/bin/python3
if ! "$PY" -c 'import jupyter_client, ipykernel' 2>/dev/null; then
	echo "run_sessions.sh: $PY lacks jupyter_client/ipykernel;" \
		"apt-get install python3-jupyter-client python3-ipykernel (or make bench-sessions)" >&2
	exit 1
fi

QUICK=0 SAVE=0
ARGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1; shift ;;
	--save) SAVE=1; shift ;;
	--) shift; ARGS+=("$@"); break ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) ARGS+=("$1"); shift ;;
	esac
done
if [ "$QUICK" = 1 ]; then
	ARGS=(-n 60 --warmup 10 --idle-n 5 --start-n 3 --stateless-n 30 "${ARGS[@]}")
fi

[ -x build/agentcgd ] || make all >&2
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain 2>/dev/null)" ] || REV=$REV-dirty

if [ "$SAVE" = 1 ]; then
	base=bench/results/$(date -u +%Y-%m-%d)_${REV}_sessions
	mkdir -p bench/results
	status=0
	"$PY" bench/session_bench.py --json "$base.json" "${ARGS[@]}" 2>&1 | tee "$base.txt" ||
		status=1
	echo "run_sessions.sh: saved $base.txt and $base.json" >&2
	exit $status
fi
exec "$PY" bench/session_bench.py "${ARGS[@]}"
