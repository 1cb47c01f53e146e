#!/usr/bin/env bash
# Runs the built image the way the Helm chart does and checks it end to end:
# non-root (65532), read-only root filesystem, no capabilities, against a
# throwaway local PostgreSQL. The owner migrates (`migrate`), the server logs
# in as a NOINHERIT role (`serve`); then health must be SERVING, one CRUD call
# and one stream event must go through `buf curl`, messaging-probe (the chart's
# `helm test`) must pass, and SIGTERM must drain: the open stream ends and the
# container exits 0.
#
#   scripts/image-smoke.sh [IMAGE]    default: messaging-server:<git sha>
#
# Needs podman (scripts/install-deps.sh --image) and PostgreSQL 15 (the
# default install-deps set).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

sha=$(git rev-parse --short=12 HEAD)
[[ -z "$(git status --porcelain --untracked-files=no)" ]] || sha+="-dirty"
image=${1:-messaging-server:$sha}
buf() { scripts/tools.sh buf "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
fail() {
  echo "image-smoke: FAILED: $*" >&2
  exit 1
}

# As the chart's securityContext: runAsNonRoot 65532, readOnlyRootFilesystem,
# drop ALL capabilities, no privilege escalation. Host network: the sandboxes
# this runs in leave bridge networks behind; ulimits: they forbid raising them.
podman_run=(podman run --pull=never --runtime runc --network host
  --read-only --user 65532:65532 --cap-drop ALL --security-opt no-new-privileges
  --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)

work=$(mktemp -d /tmp/messaging-image-smoke.XXXXXX)
chmod 755 "$work"
container="messaging-smoke-$$"
stream_pid=""
cleanup() {
  [[ -z "$stream_pid" ]] || kill "$stream_pid" 2>/dev/null || true
  podman rm --force --time 0 "$container" >/dev/null 2>&1 || true
  scripts/pg.sh stop "$work/data" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

pg_port=$(scripts/pg.sh free-port)
PG_FSYNC=off scripts/pg.sh start "$work/data" "$pg_port" >/dev/null
admin_url="postgresql://postgres@127.0.0.1:$pg_port/postgres"
owner_url="postgresql://postgres@127.0.0.1:$pg_port/messaging"
psql -X -q "$admin_url" -c "CREATE DATABASE messaging"

echo "==> migrate (owner URL)"
"${podman_run[@]}" --rm -e MESSAGING_MIGRATE_DATABASE_URL="$owner_url" "$image" migrate

password=$(openssl rand -hex 16)
psql -X -q -v ON_ERROR_STOP=1 -v role=messaging_server -v password="$password" \
  -f scripts/login-role.sql "$owner_url"
distributor=00000000-0000-4000-8000-00000000e2e1
customer=00000000-0000-4000-8000-00000000e2c1
psql -X -q "$owner_url" \
  -c "INSERT INTO distributors (id) VALUES ('$distributor')" \
  -c "INSERT INTO customers (id) VALUES ('$customer')"

secret=$(openssl rand -hex 32)
grpc_port=$(scripts/pg.sh free-port)
addr="127.0.0.1:$grpc_port"
echo "==> serve on $addr (login role messaging_server)"
"${podman_run[@]}" --detach --name "$container" \
  -e DATABASE_URL="postgresql://messaging_server:$password@127.0.0.1:$pg_port/messaging" \
  -e MESSAGING_JWT_SECRET="$secret" -e MESSAGING_LISTEN="$addr" \
  -e MESSAGING_DRAIN_TIMEOUT_SECONDS=20 "$image" >/dev/null
token=$("${podman_run[@]}" --rm -e MESSAGING_JWT_SECRET="$secret" "$image" \
  mint-token --distributor "$distributor" --ttl 600)

call() {
  local method=$1 body=$2
  buf curl --protocol grpc --http2-prior-knowledge --timeout 10s \
    -H "authorization: Bearer $token" -d "$body" "http://$addr/$method"
}

echo "==> health"
status=""
for _ in $(seq 1 60); do
  status=$(buf curl --protocol grpc --http2-prior-knowledge --timeout 2s \
    "http://$addr/grpc.health.v1.Health/Check" 2>/dev/null | json '["status"]' 2>/dev/null) || true
  [[ "$status" == SERVING ]] && break
  if [[ "$(podman inspect --format '{{.State.Running}}' "$container")" != true ]]; then
    podman logs "$container" >&2
    fail "the server exited before serving"
  fi
  sleep 1
done
[[ "$status" == SERVING ]] || fail "health is '$status', not SERVING"

echo "==> messaging-probe (what the chart's helm test runs)"
probe=("${podman_run[@]}" --rm --entrypoint /usr/local/bin/messaging-probe)
"${probe[@]}" -e MESSAGING_JWT_SECRET="$secret" "$image" --target "$addr" ||
  fail "messaging-probe failed against a healthy server"
# ...and it can fail: a token the server does not accept.
if "${probe[@]}" -e MESSAGING_JWT_SECRET="$(openssl rand -hex 32)" "$image" --target "$addr"; then
  fail "messaging-probe passed with the wrong JWT secret"
fi

echo "==> CRUD: GetOrCreateConversation, ListMessages"
conversation=$(call messaging.v1.MessagingService/GetOrCreateConversation \
  "{\"customer_id\":\"$customer\",\"channel\":\"CHANNEL_WHATSAPP\"}" | json '["id"]')
cursor=$(call messaging.v1.MessagingService/ListMessages \
  "{\"conversation_id\":\"$conversation\"}" | json '["streamCursor"]')
[[ -n "$cursor" ]] || fail "ListMessages returned no stream cursor"

echo "==> stream: one event after the cursor"
buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $token" \
  -d "{\"conversation_id\":\"$conversation\",\"resume_cursor\":\"$cursor\"}" \
  "http://$addr/messaging.v1.MessagingService/StreamMessages" >"$work/stream.json" 2>"$work/stream.err" &
stream_pid=$!
message=$(call messaging.v1.MessagingService/CreateMessage \
  "{\"message\":{\"conversation_id\":\"$conversation\",\"direction\":\"DIRECTION_INBOUND\",\"content\":\"hello from the image\"}}" |
  json '["id"]')
for _ in $(seq 1 100); do
  grep -q "$message" "$work/stream.json" && break
  kill -0 "$stream_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "$message" "$work/stream.json" || {
  cat "$work/stream.err" >&2
  fail "the stream did not deliver message $message"
}
grep -q MESSAGE_EVENT_TYPE_CREATED "$work/stream.json" || fail "the event is not CREATED"

echo "==> SIGTERM drains"
started=$(date +%s)
podman kill --signal TERM "$container" >/dev/null
exit_code=$(podman wait "$container")
elapsed=$(($(date +%s) - started))
wait "$stream_pid" || true # The server ends the stream as it drains.
stream_pid=""
podman logs "$container" 2>&1 | tail -n 5
[[ "$exit_code" == 0 ]] || fail "exit code $exit_code after SIGTERM"
((elapsed < 20)) || fail "took ${elapsed}s to stop (drain timeout 20s)"

size=$(podman image inspect --format '{{.Size}}' "$image")
echo "image-smoke: $image ok ($((size / 1000000)) MB): migrate, health SERVING, CRUD, stream event, SIGTERM exit 0 in ${elapsed}s"
