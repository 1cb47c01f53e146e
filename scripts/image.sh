#!/usr/bin/env bash
# Builds the messaging-server image from the Dockerfile with buildah (no
# daemon, no registry needed), tags it with the version and the git commit, and
# writes its SBOM (the Debian packages inside, with versions) beside it.
#
#   scripts/image.sh                   base image: local, else registry, else apt
#   MESSAGING_IMAGE_BASE=apt scripts/image.sh        always build debian:12 from apt
#   MESSAGING_IMAGE_BASE=registry scripts/image.sh   never build it (pull or fail)
#
# Output: the tags messaging-server:<version> and messaging-server:<sha>, and
# build/image/messaging-server-<version>-<sha>.sbom.tsv. The last line printed
# is the image's name and size.
set -euo pipefail
cd "$(dirname "$0")/.."

name=${MESSAGING_IMAGE_NAME:-messaging-server}
base_mode=${MESSAGING_IMAGE_BASE:-auto}
out_dir=build/image
base=docker.io/library/debian:12

scripts/install-deps.sh --image

version=$(sed -n 's/^project(messaging VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
sha=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  sha+="-dirty"
fi

# The sandboxes this runs in forbid raising limits, and crun cannot run on
# hosts with mixed cgroup v1/v2: state both explicitly.
runtime_flags=(--runtime runc --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)

# Debian 12 made from Debian's own archive: the same packages a registry's
# debian:12 holds, for hosts that reach apt but no container registry.
base_from_apt() {
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/debian-base.XXXXXX")
  echo "image: building $base from the apt archive (mmdebstrap)" >&2
  mmdebstrap --quiet --variant=minbase bookworm "$work/base.tar" /etc/apt/sources.list.d/debian.sources
  podman import --quiet --change 'CMD ["bash"]' "$work/base.tar" "$base" >/dev/null
  rm -rf "$work"
}

if podman image exists "$base"; then
  echo "image: using the local $base" >&2
else
  case "$base_mode" in
    apt) base_from_apt ;;
    registry) podman pull "$base" ;;
    auto) timeout 120 podman pull --quiet "$base" >/dev/null 2>&1 || base_from_apt ;;
    *)
      echo "image: MESSAGING_IMAGE_BASE must be auto, apt or registry" >&2
      exit 2
      ;;
  esac
fi

buildah bud --pull=never --network host --layers "${runtime_flags[@]}" \
  --build-arg "VERSION=$version" --build-arg "REVISION=$sha" \
  --tag "$name:$version" --tag "$name:$sha" .

# The SBOM is inside the image; copy it out without running anything (the
# image has no shell).
mkdir -p "$out_dir"
sbom="$out_dir/$name-$version-$sha.sbom.tsv"
container=$(podman create --pull=never "$name:$sha")
podman cp "$container:/usr/share/doc/messaging-server/sbom.tsv" "$sbom"
podman rm --force "$container" >/dev/null

size=$(podman image inspect --format '{{.Size}}' "$name:$sha")
echo "image: SBOM $sbom ($(($(wc -l <"$sbom") - 1)) packages)"
echo "image: $name:$version $name:$sha $((size / 1000000)) MB"
