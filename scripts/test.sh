#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine (as root, or a user
# with sudo): installs what it needs, lints, builds with warnings as errors,
# starts a throwaway PostgreSQL on a free port, runs every test with ctest,
# runs clang-tidy on the project's code, then builds again with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs everything once more,
# runs the concurrency tests under ThreadSanitizer,
# fuzzes the parsers of untrusted input for a bounded time, and builds the
# container image and runs it as the Helm chart does. The database is stopped
# and deleted on exit, even on failure.
#
#   scripts/test.sh                    everything (what CI runs)
#   MESSAGING_SKIP_SANITIZERS=1 scripts/test.sh   skip the ASan+UBSan and TSan passes
#   MESSAGING_FUZZ_SECONDS=60 scripts/test.sh     fuzz each target 60 s (default 30; 0 skips)
#   MESSAGING_SKIP_IMAGE=1 scripts/test.sh        skip building and running the image
#   MESSAGING_SKIP_TIDY=1 scripts/test.sh         skip clang-tidy
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${JOBS:-2}

step() { printf '\n==> %s\n' "$*"; }

step "Installing packages"
scripts/install-deps.sh

step "buf lint (API contract)"
scripts/tools.sh buf lint
scripts/tools.sh buf build -o /dev/null

if [[ -x scripts/check-helm.sh ]]; then
  step "Helm chart"
  scripts/check-helm.sh
fi

step "clang-format"
mapfile -t sources < <(git ls-files '*.cpp' '*.h' 2>/dev/null || find server client tests bench examples -name '*.cpp' -o -name '*.h')
clang-format --dry-run --Werror "${sources[@]}"

step "Layers (no upward #include)"
scripts/check-layers.sh

step "Starting a throwaway PostgreSQL"
pg_root=$(mktemp -d /tmp/messaging-test-pg.XXXXXX)
chmod 755 "$pg_root"
port=$(scripts/pg.sh free-port)
cleanup() {
  scripts/pg.sh stop "$pg_root/data" || true
  rm -rf "$pg_root"
}
trap cleanup EXIT
PG_FSYNC=off scripts/pg.sh start "$pg_root/data" "$port"
export MESSAGING_TEST_ADMIN_URL="postgresql://postgres@127.0.0.1:$port/postgres"
echo "PostgreSQL on 127.0.0.1:$port"

run_suite() {
  local dir=$1
  shift
  step "Building $dir ($*)"
  cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  step "Testing $dir"
  ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 900
}

run_suite build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [[ "${MESSAGING_SKIP_TIDY:-0}" != 1 ]]; then
  # On build/test's compile_commands.json (the generated protobuf headers
  # exist now); about 7 minutes on 2 cores.
  step "clang-tidy (.clang-tidy)"
  JOBS=$jobs scripts/check-tidy.sh build/test
fi

if [[ "${MESSAGING_SKIP_SANITIZERS:-0}" != 1 ]]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"
  # The exactly-once queue test runs its full 20,000 items above; a Debug
  # build under ASan is about five times slower, so a fifth of them here.
  export MESSAGING_AI_QUEUE_TEST_ITEMS=4000
  run_suite build/asan -DCMAKE_BUILD_TYPE=Debug -DMESSAGING_SANITIZE=address,undefined

  # Only the tests of our own concurrency (ctest label `concurrency`: executor,
  # subscriptions, stream hub, stream memory budget, connection pool), which
  # reach no gRPC: Debian's gRPC, protobuf and Abseil are not built with TSan,
  # so it cannot see their synchronisation and reports races through them that
  # are not there.
  step "Building build/tsan (ThreadSanitizer, concurrency tests only)"
  cmake -S "$root" -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMESSAGING_SANITIZE=thread -DMESSAGING_BUILD_BENCH=OFF >/dev/null
  cmake --build build/tsan -j "$jobs" --target concurrency_tests
  step "Testing build/tsan (ctest -L concurrency)"
  TSAN_OPTIONS="suppressions=$root/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build/tsan -L concurrency -j "$jobs" --output-on-failure --timeout 600
fi

fuzz_seconds=${MESSAGING_FUZZ_SECONDS:-30}
if [[ "$fuzz_seconds" != 0 ]]; then
  step "Fuzzing (libFuzzer, ${fuzz_seconds}s per target)"
  # With libFuzzer's own sanitizer settings, not the ASan pass's.
  env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS \
    tests/faults/fuzz/run.sh "$fuzz_seconds" "$root/build/fuzz"
fi

if [[ "${MESSAGING_SKIP_IMAGE:-0}" != 1 ]]; then
  step "Container image (scripts/image.sh, scripts/image-smoke.sh)"
  scripts/image.sh
  scripts/image-smoke.sh
fi
