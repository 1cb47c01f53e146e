#!/usr/bin/env bash
# Command-line tools that exist only on npm, installed under .cache/tools.
#   scripts/tools.sh buf ARGS...   runs buf (lint, curl, breaking)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.cache/tools"
BUF_VERSION=1.75.0

ensure_buf() {
  if [[ ! -x "$prefix/node_modules/.bin/buf" ]]; then
    mkdir -p "$prefix"
    npm install --silent --no-save --no-audit --no-fund --prefix "$prefix" \
      "@bufbuild/buf@$BUF_VERSION" >/dev/null
  fi
}

case "${1:-}" in
  buf)
    shift
    ensure_buf
    exec "$prefix/node_modules/.bin/buf" "$@"
    ;;
  *)
    echo "usage: scripts/tools.sh buf ARGS..." >&2
    exit 2
    ;;
esac
