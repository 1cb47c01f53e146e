#!/usr/bin/env bash
# Proves that the client library works from an install prefix: installs this
# project into a fresh prefix, then configures and builds examples/messaging-tail
# and examples/ai-worker (separate CMake projects) against that prefix only,
# and runs each once.
#
#   examples/build-against-install.sh [BUILD_DIR [WORK_DIR]]
#
# BUILD_DIR  an existing build of this project: brought up to date (a no-op
#            after a full build) and installed. Without it the project is
#            configured and built from scratch in WORK_DIR (slow).
# WORK_DIR   where the prefix (WORK_DIR/prefix) and the example's build
#            (WORK_DIR/example, binary WORK_DIR/example/messaging-tail; and
#            WORK_DIR/ai-worker/messaging-ai-worker) go; kept
#            afterwards. Default: a temporary directory, deleted on exit.
#
# ctest runs it as client_install_test with BUILD_DIR = its own build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
jobs=${JOBS:-2}
build=${1:-}
work=${2:-}

if [[ -z "$work" ]]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/messaging-install-test.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix
example=$work/example
rm -rf "$prefix" "$example"

step() { printf '\n==> %s\n' "$*"; }
fail() {
  echo "build-against-install: $*" >&2
  exit 1
}

if [[ -n "$build" ]]; then
  [[ -f "$build/CMakeCache.txt" ]] || fail "$build is not a CMake build directory"
  step "Bringing $build up to date"
  cmake --build "$build" -j "$jobs"
else
  build=$work/build
  step "Configuring and building the project in $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DMESSAGING_BUILD_TESTS=OFF -DMESSAGING_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build" -j "$jobs"
fi

step "Installing into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in lib/cmake/messaging/messagingConfig.cmake \
  lib/cmake/messaging/messagingConfigVersion.cmake \
  lib/cmake/messaging/messagingTargets.cmake \
  include/messaging/client/messaging_client.h \
  include/messaging/client/ai_worker.h \
  include/messaging/client/mocks/mock_messaging_connection.h \
  include/messaging/v1/messaging.pb.h \
  include/messaging/v1/messaging.grpc.pb.h \
  share/messaging/proto/messaging/v1/messaging.proto; do
  [[ -f "$prefix/$f" ]] || fail "not installed: $f"
done
ls "$prefix"/lib*/libmessaging_client.a "$prefix"/lib*/libmessaging_proto.a >/dev/null ||
  fail "libraries not installed"
# The installed package must not point back into the source or build tree.
if grep -rlF -e "$root/" -e "$(cd "$build" && pwd)/" "$prefix/lib/cmake/messaging"; then
  fail "the installed CMake files above refer to the source or build tree"
fi

step "Building examples/messaging-tail against $prefix only"
cmake -S "$here/messaging-tail" -B "$example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
found=$(sed -n 's/^messaging_DIR:PATH=//p' "$example/CMakeCache.txt")
[[ "$found" == "$prefix/lib/cmake/messaging" ]] ||
  fail "found the messaging package in '$found', not in the install prefix"
cmake --build "$example" -j "$jobs"

step "Running it"
"$example/messaging-tail" --help 2>&1 | head -n 1
"$example/messaging-tail" --target 127.0.0.1:1 2>/dev/null && fail "missing --token was accepted"
echo "OK: $example/messaging-tail built against the installed package"

worker=$work/ai-worker
rm -rf "$worker"
step "Building examples/ai-worker against $prefix only"
cmake -S "$here/ai-worker" -B "$worker" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
cmake --build "$worker" -j "$jobs"
"$worker/messaging-ai-worker" --help 2>&1 | head -n 1
"$worker/messaging-ai-worker" --target 127.0.0.1:1 2>/dev/null && fail "missing --token was accepted"
echo "OK: $worker/messaging-ai-worker built against the installed package"
