#!/usr/bin/env bash
# Fails when an #include points up the layer graph (docs/design.md, "Layers").
#
# A file's layer is its folder under server/ (server/main.cpp belongs to app).
# Each layer may include its own headers, the layers listed under "may use"
# and any library not listed under "libraries it must not use". The same
# graph is what server/CMakeLists.txt links; this keeps the #include lines
# honest, since every layer shares one include directory.
#
# The client library (client/) ships on its own: it may not include server
# headers or the server-only protos (grpc/health, google/rpc).
#
#   scripts/check-layers.sh        exit 0 if clean, 1 with one line per violation
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# layer          may use (project layers)                            libraries it must not use
table='
common           -                                                   grpcpp/ grpc/ google/ messaging/ pqxx/ httplib.h CLI/ jwt/
domain           common                                              grpcpp/ grpc/ google/ messaging/ pqxx/ httplib.h CLI/ jwt/
auth             domain,common                                       grpcpp/ grpc/ google/ messaging/ pqxx/ httplib.h CLI/
observability    common                                              grpcpp/ grpc/ google/ messaging/ pqxx/ CLI/ jwt/
streaming        domain,common                                       grpcpp/ grpc/ google/ messaging/ pqxx/ httplib.h CLI/ jwt/
repository       domain,common                                       grpcpp/ grpc/ google/ messaging/ httplib.h CLI/ jwt/
migrate          common                                              grpcpp/ grpc/ google/ messaging/ httplib.h CLI/ jwt/
transport        domain,streaming,auth,observability,common          pqxx/ httplib.h CLI/ messaging/client/
app              common,domain,auth,observability,streaming,repository,migrate,transport   messaging/client/
probe            auth,domain,common                                  pqxx/ httplib.h messaging/client/
'

declare -A may_use forbidden
layers=()
while read -r layer uses libs; do
  [[ -z "$layer" ]] && continue
  layers+=("$layer")
  may_use[$layer]=",${uses//-/},"
  forbidden[$layer]="$libs"
done <<<"$table"

violations=0
report() {
  echo "$*" >&2
  violations=$((violations + 1))
}

list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard -- "$@"
  else
    find "$@" -type f
  fi
}

# Every folder under server/ must be a layer in the table.
for dir in server/*/; do
  dir=${dir#server/}
  dir=${dir%/}
  if [[ -z "${may_use[$dir]+x}" ]]; then
    report "server/$dir/: not a layer in scripts/check-layers.sh; add it to the table (and to docs/design.md, server/CMakeLists.txt)"
  fi
done

# Prints "file<TAB>line<TAB>included path" for every #include of the C++
# files under the given folders.
includes_in() {
  list_files "$@" | grep -E '\.(h|cpp)$' | tr '\n' '\0' |
    xargs -0 -r grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' |
    sed 's/^\([^:]*\):\([0-9]*\):[^<"]*[<"]\([^">]*\)[">].*/\1\t\2\t\3/'
}

is_layer() {
  [[ -n "${may_use[$1]+x}" ]]
}

while IFS=$'\t' read -r file line path; do
  rel=${file#server/}
  if [[ "$rel" == */* ]]; then layer=${rel%%/*}; else layer=app; fi
  is_layer "$layer" || continue # reported above
  top=${path%%/*}
  if [[ "$path" == */* && "$top" != "$layer" ]] && is_layer "$top" &&
    [[ "${may_use[$layer]}" != *",$top,"* ]]; then
    uses=${may_use[$layer]#,}
    uses=${uses%,}
    uses=${uses//,/ }
    report "$file:$line: $layer may not include \"$path\": $layer may use only ${uses:-itself}." \
      "Move the code down to the lowest layer that needs it."
  fi
  for lib in ${forbidden[$layer]}; do
    if [[ "$path" == "$lib"* ]]; then
      report "$file:$line: $layer may not include <$path> ($layer must not depend on ${lib%/})."
    fi
  done
done < <(includes_in server)

# The client library: no server layer, no server-only protos.
while IFS=$'\t' read -r file line path; do
  top=${path%%/*}
  if [[ "$path" == */* ]] && is_layer "$top"; then
    report "$file:$line: the client library may not include the server's \"$path\"."
  fi
  case "$path" in
    grpc/health/* | google/rpc/*)
      report "$file:$line: the client library may not include the server-only proto \"$path\"."
      ;;
  esac
done < <(includes_in client)

if ((violations > 0)); then
  echo "check-layers: $violations include(s) break the layer graph (table: scripts/check-layers.sh, docs/design.md \"Layers\")" >&2
  exit 1
fi
echo "check-layers: ok (${#layers[@]} server layers, client)"
