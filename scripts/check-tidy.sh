#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy at the repository root) on every project C++
# source in a configured build's compile_commands.json; any finding fails.
#   scripts/check-tidy.sh [BUILD_DIR]     default build/test
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/test}
if [[ ! -f $build/compile_commands.json ]]; then
  echo "check-tidy: $build/compile_commands.json missing (configure the build first)" >&2
  exit 1
fi
# Project sources only: generated protobuf code and third-party headers are not ours.
mapfile -t sources < <(git ls-files 'server/*.cpp' 'client/*.cpp' 'bench/*.cpp' 'tests/*.cpp' \
  'examples/*.cpp' | grep -v '^tests/faults/fuzz/' | grep -v '^examples/')
echo "clang-tidy: ${#sources[@]} files"
run-clang-tidy -quiet -p "$build" -j "${JOBS:-2}" "${sources[@]/#/$PWD/}" >"$build/clang-tidy.log" 2>&1 || status=$?
if grep -E '(warning|error):' "$build/clang-tidy.log" | grep -v '^Suppressed' >/dev/null; then
  grep -E -A3 '(warning|error):' "$build/clang-tidy.log" | head -200
  echo "check-tidy: findings above (full log: $build/clang-tidy.log)" >&2
  exit 1
fi
if [[ ${status:-0} -ne 0 ]]; then
  tail -50 "$build/clang-tidy.log"
  exit "$status"
fi
echo "clang-tidy: clean"
