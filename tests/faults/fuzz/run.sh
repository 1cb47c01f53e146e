#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default: $MESSAGING_FUZZ_SECONDS, else 30). Fails if any target
# crashes, trips a sanitizer, hits an input slower than 5 s or overruns its
# time; reproducers land in BUILD_DIR as crash-*, timeout-*, oom-*. New
# interesting inputs stay in BUILD_DIR/corpus (the seeds in the source tree
# are never written).
#   tests/faults/fuzz/run.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-${MESSAGING_FUZZ_SECONDS:-30}}
build=${2:-$here/../../../build/fuzz}
if ! command -v clang++ >/dev/null; then
  echo "run.sh: clang++ not found (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
CXX=clang++ cmake -S "$here" -B "$build" -G Ninja >/dev/null
cmake --build "$build" -j "${JOBS:-2}"
mapfile -t targets <"$build/targets.txt"
failed=()
for name in "${targets[@]}"; do
  mkdir -p "$build/corpus/$name"
  echo "== $name (${seconds}s)"
  # The outer timeout only catches a fuzzer that hangs outside its own clock.
  timeout --kill-after=10 $((seconds + 60)) \
    "$build/$name" -max_total_time="$seconds" -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$build/" "$build/corpus/$name" "$here/corpus/$name" || failed+=("$name")
done
if ((${#failed[@]})); then
  echo "run.sh: failed: ${failed[*]} (reproducers: $build/crash-* etc.; rerun one with" \
    "$build/<target> <file>)" >&2
  exit 1
fi
