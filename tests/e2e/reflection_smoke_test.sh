#!/usr/bin/env bash
# End-to-end through the real binary and a real gRPC client that has no proto
# files (buf curl, like grpcurl, relies on server reflection):
#   - reflection lists messaging.v1.MessagingService and grpc.health.v1.Health;
#   - health answers through reflection without a token;
#   - a call with a minted token works, one without is UNAUTHENTICATED.
# Usage: reflection_smoke_test.sh SERVER_BINARY SOURCE_DIR   (needs MESSAGING_TEST_ADMIN_URL)
set -euo pipefail
server=$1
src=$2
: "${MESSAGING_TEST_ADMIN_URL:?MESSAGING_TEST_ADMIN_URL must point at a PostgreSQL server}"

db="t_reflection_$$"
admin=$MESSAGING_TEST_ADMIN_URL
db_url="${admin%/*}/$db"
secret="reflection-smoke-secret-0123456789abcdef"
buf() { "$src/scripts/tools.sh" buf "$@"; }
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  psql -X -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  [[ -n "${server_log:-}" ]] && rm -f "$server_log"
  return 0
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

psql -X -q "$admin" -c "CREATE DATABASE $db"
DATABASE_URL=$db_url "$server" migrate --log-format text >/dev/null 2>&1
# The server logs in as the tests' login role, which can only become
# messaging_app (tests/support/test_database.h); the migration ran as the owner.
login=messaging_test_server
psql -X -q -v ON_ERROR_STOP=1 -v role=$login -v password=$login -f "$src/scripts/login-role.sql" "$admin"
rest=${db_url#*://}
serve_url="${db_url%%://*}://$login:$login@${rest#*@}"
distributor=$(psql -X -q -At "$db_url" -c "INSERT INTO distributors DEFAULT VALUES RETURNING id")
customer=$(psql -X -q -At "$db_url" -c "INSERT INTO customers DEFAULT VALUES RETURNING id")

# Port 0: the kernel picks a free port and the server logs the one it got, so
# no other test can take it between choosing and binding.
server_log="$(mktemp)"
DATABASE_URL=$serve_url MESSAGING_JWT_SECRET=$secret MESSAGING_LISTEN=127.0.0.1:0 \
  MESSAGING_LOG_LEVEL=info "$server" serve >"$server_log" 2>&1 &
pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*"msg":"serving".*"port":\([0-9]*\).*/\1/p' "$server_log")
  [[ -n "$port" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$server_log" >&2; fail "the server exited before serving"; }
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$server_log" >&2; fail "the server did not log its port"; }
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  buf curl --protocol grpc --http2-prior-knowledge "$base/grpc.health.v1.Health/Check" >/dev/null 2>&1 && break
  sleep 0.1
done

methods=$(buf curl --protocol grpc --http2-prior-knowledge --list-methods "$base")
grep -q "^messaging.v1.MessagingService/StreamMessages$" <<<"$methods" || fail "reflection: $methods"
grep -q "^grpc.health.v1.Health/Check$" <<<"$methods" || fail "health not in reflection"

health=$(buf curl --protocol grpc --http2-prior-knowledge "$base/grpc.health.v1.Health/Check")
grep -q '"SERVING"' <<<"$health" || fail "health: $health"

token=$(MESSAGING_JWT_SECRET=$secret "$server" mint-token --distributor "$distributor" --ttl 60)
created=$(buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $token" \
  -d "{\"customer_id\":\"$customer\",\"channel\":\"CHANNEL_WHATSAPP\"}" \
  "$base/messaging.v1.MessagingService/GetOrCreateConversation")
grep -q "\"distributorId\": \"$distributor\"" <<<"$created" || fail "GetOrCreateConversation: $created"

if unauth=$(buf curl --protocol grpc --http2-prior-knowledge -d '{}' \
  "$base/messaging.v1.MessagingService/ListConversations" 2>&1); then
  fail "call without a token succeeded: $unauth"
fi
grep -q "unauthenticated" <<<"$unauth" || fail "expected unauthenticated: $unauth"
echo "reflection smoke: 5 passed, 0 failed"
