#!/usr/bin/env bash
# Lays out the smallest root filesystem that runs the given binaries
# (messaging-server, messaging-probe): each stripped into /usr/local/bin,
# exactly the shared libraries the dynamic loader resolves for them (and the
# loader), the CA bundle, a passwd/group naming the non-root user,
# each package's copyright file, and an SBOM: the Debian package and version
# behind every file copied. The Dockerfile's runtime stage is this tree and
# nothing else (no shell, no apt, no libc utilities).
#
#   scripts/collect-runtime.sh OUT_DIR BINARY...
#
# Runs inside the image's build stage (Debian 12); fails if the collected tree
# cannot run each binary on its own (checked with chroot).
set -euo pipefail

out=$1
shift
binaries=("$@")
uid=65532

mkdir -p "$out"
libraries=()
for binary in "${binaries[@]}"; do
  install -D -m 0755 "$binary" "$out/usr/local/bin/$(basename "$binary")"
  strip "$out/usr/local/bin/$(basename "$binary")"
  # The loader's resolution, as it will happen at run time: "name => path"
  # lines and the loader's own absolute path. A "not found" is a build failure.
  if ldd "$binary" | grep -q 'not found'; then
    ldd "$binary" | grep 'not found' >&2
    echo "collect-runtime: $binary has unresolved shared libraries" >&2
    exit 1
  fi
  mapfile -t -O "${#libraries[@]}" libraries < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
done
mapfile -t libraries < <(printf '%s\n' "${libraries[@]}" | sort -u)

# Debian 12 merged /lib into /usr/lib, but dpkg records each file under the
# path its package ships: try the path as loaded, its target, and the target
# without /usr.
owner_of() {
  local path=$1 real
  real=$(readlink -f "$path")
  for candidate in "$path" "$real" "${real#/usr}"; do
    if dpkg-query -S "$candidate" >/dev/null 2>&1; then
      dpkg-query -S "$candidate" | head -n 1 | cut -d: -f1
      return
    fi
  done
  echo "collect-runtime: no Debian package owns $path" >&2
  exit 1
}

packages=(ca-certificates)
for library in "${libraries[@]}"; do
  # Copied to the path the loader asked for (the file, not the symlink).
  install -D -m 0644 "$(readlink -f "$library")" "$out$library"
  packages+=("$(owner_of "$library")")
done
chmod 0755 "$out"/lib64/ld-linux-*.so.* 2>/dev/null || true

install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$out/etc" "$out/tmp"
chmod 1777 "$out/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nmessaging:x:%d:%d::/nonexistent:/usr/sbin/nologin\n' \
  "$uid" "$uid" >"$out/etc/passwd"
printf 'root:x:0:\nmessaging:x:%d:\n' "$uid" >"$out/etc/group"

# Licences travel with the binaries they cover.
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
for package in "${packages[@]}"; do
  name=${package%%:*}
  if [[ -f /usr/share/doc/$name/copyright ]]; then
    install -D -m 0644 "/usr/share/doc/$name/copyright" "$out/usr/share/doc/$name/copyright"
  fi
done

# SBOM: one line per Debian package in the image, tab-separated.
sbom="$out/usr/share/doc/messaging-server/sbom.tsv"
mkdir -p "$(dirname "$sbom")"
{
  printf 'package\tversion\tarchitecture\tsource\n'
  dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\t${source:Package}\n' "${packages[@]}"
} >"$sbom"

# The tree alone must run each binary: no library may come from the build stage.
for binary in "${binaries[@]}"; do
  chroot "$out" "/usr/local/bin/$(basename "$binary")" --help >/dev/null
done
echo "collect-runtime: $(du -sh "$out" | cut -f1) in $out, ${#packages[@]} packages (SBOM: ${sbom#"$out"})"
