#!/bin/bash
# Runs a command while every core is kept busy (stress-ng --cpu N, N = the
# number of cores), then stops the load, whatever the command did, and
# exits with the command's status. make check-stress runs the integration
# suite this way; `bash tests/with_cpu_load.sh make check` runs all of it.
#
#   bash tests/with_cpu_load.sh CMD [ARGS...]
set -u
[ $# -gt 0 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
command -v stress-ng >/dev/null || {
	echo "with_cpu_load: stress-ng is missing (make check-stress installs it)" >&2; exit 2; }
n=${AGENTCG_LOAD_CPUS:-$(nproc)}
# Bounded by itself too: a load never outlives a forgotten run by long.
stress-ng --cpu "$n" --timeout 3h --quiet &
load=$!
trap 'kill "$load" 2>/dev/null; wait "$load" 2>/dev/null' EXIT
trap 'exit 130' INT TERM
echo "with_cpu_load: stress-ng --cpu $n (pid $load) while: $*"
"$@"
rc=$?
echo "with_cpu_load: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
