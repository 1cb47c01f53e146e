#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 30). New interesting inputs stay in the build directory.
#   tests/faults/fuzz/run.sh [SECONDS] [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-30}
build=${2:-$here/../../../build-fuzz}
if ! command -v clang++ >/dev/null; then
  echo "run.sh: clang++ not found (apt-get install clang)" >&2
  exit 1
fi
CXX=clang++ cmake -S "$here" -B "$build" -G Ninja >/dev/null
cmake --build "$build" -j2
failed=()
for name in fuzz_validation fuzz_jwt fuzz_sealed_tokens; do
  mkdir -p "$build/corpus/$name"
  echo "== $name (${seconds}s)"
  "$build/$name" -max_total_time="$seconds" -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$build/" \
    "$build/corpus/$name" "$here/corpus/$name" || failed+=("$name")
done
if ((${#failed[@]})); then
  echo "run.sh: failed: ${failed[*]} (reproducers: $build/crash-*)" >&2
  exit 1
fi
