#!/usr/bin/env bash
# A/B of server builds on one load-generator mode: one throwaway PostgreSQL
# seeded once, the servers started in turn (alternating, ROUNDS times), each
# measured for SECS seconds after a short warm-up. Prints, per run, calls/s
# and the server's user and system CPU per call (from /proc), so that a change
# to per-call CPU is not lost in the run-to-run noise of whole scenarios.
#
#   bench/ab.sh MODE LABEL=SERVER_BIN [LABEL=SERVER_BIN...]
#
# MODE is a messaging-bench mode that takes --page-size (list,
# list-conversations). Knobs: ROUNDS (3), SECS (6), CLIENTS (32), BENCH_BIN
# (default: build/test/bench/messaging-bench). Uses bench/run.sh's helpers;
# see bench/README.md.
set -euo pipefail

if (($# < 2)); then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
mode=$1
shift
specs=("$@")
# (Read before run.sh, which sets its own defaults for these.)
rounds=${ROUNDS:-3} secs=${SECS:-6} clients=${CLIENTS:-32} bench_bin=${BENCH_BIN:-}
set --
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/run.sh
source "$here/run.sh"
BENCH_BIN=${bench_bin:-$root/build/test/bench/messaging-bench}
SERVER_BIN=${specs[0]#*=}
load
start_postgres >/dev/null
seed 10 1000 100000 >/dev/null
tck=$(getconf CLK_TCK)

# cpu_ticks FIELD: utime (14) or stime (15) of the server, in clock ticks.
cpu_ticks() { awk -v f="$1" '{ print $f }' "/proc/$SERVER_PID/stat"; }

for round in $(seq 1 "$rounds"); do
  for spec in "${specs[@]}"; do
    SERVER_BIN=${spec#*=}
    start_server >/dev/null
    flags=(--target="127.0.0.1:$SERVER_PORT" --fixture="$WORK/fixture" --server-pid="$SERVER_PID"
      --concurrency="$clients" --page-size=50)
    "$BENCH_BIN" "$mode" "${flags[@]}" --duration=2 --warmup=1 >/dev/null
    u0=$(cpu_ticks 14) s0=$(cpu_ticks 15)
    out=$("$BENCH_BIN" "$mode" "${flags[@]}" --duration="$secs" --warmup=0 | grep '^RESULT')
    u1=$(cpu_ticks 14) s1=$(cpu_ticks 15)
    calls=$(field calls "$out")
    ((calls > 0)) || die "no call completed: $out"
    say "$mode ${spec%%=*} round $round: $(field rps "$out") calls/s," \
      "user $(((u1 - u0) * 1000000 / tck / calls)) us, system $(((s1 - s0) * 1000000 / tck / calls)) us" \
      "per call (load $(cut -d' ' -f1 /proc/loadavg))"
    stop_server
  done
done
