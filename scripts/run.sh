#!/usr/bin/env bash
# Builds and runs the service on a local PostgreSQL 15 that it starts itself,
# on a fresh Debian 12 machine (as root, or a user with sudo). Prints a demo
# distributor's token and ready-to-paste grpcurl / buf curl lines, then serves
# until Ctrl-C (which also stops the database; its data is kept).
#
# Environment: MESSAGING_LISTEN (default 127.0.0.1:50051), PGPORT (default
# 55432), MESSAGING_JWT_SECRET (default: generated once, kept in .local/). The
# server logs in as messaging_server (password generated once, kept in
# .local/db-password); migrations run as the cluster's superuser.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
echo "==> Building messaging-server"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMESSAGING_BUILD_TESTS=OFF -DMESSAGING_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j "${JOBS:-2}" --target messaging-server
server="$root/build/release/server/messaging-server"

# The cluster's data lives under the checkout, unless the postgres user cannot
# reach it (a checkout in a private home directory): then under /var/tmp.
mkdir -p .local
state="$root/.local"
datadir="$state/pgdata"
if ! scripts/pg.sh reachable "$datadir"; then
  state="/var/tmp/messaging-$(printf '%s' "$root" | md5sum | cut -c1-12)"
  datadir="$state/pgdata"
  mkdir -p "$state" && chmod 755 "$state"
  echo "note: the postgres user cannot reach $root; keeping the database in $datadir"
fi
port=${PGPORT:-55432}
scripts/pg.sh start "$datadir" "$port"
trap 'scripts/pg.sh stop "$datadir"' EXIT

# Two roles, as in production: the owner (here the cluster's superuser)
# migrates; the server logs in as messaging_server, which can only become
# messaging_app (it refuses to serve as a superuser).
admin_url="postgresql://postgres@127.0.0.1:$port/postgres"
owner_url="postgresql://postgres@127.0.0.1:$port/messaging"
if [[ -z $(psql -X -At "$admin_url" -c "SELECT 1 FROM pg_database WHERE datname = 'messaging'") ]]; then
  psql -X -q "$admin_url" -c "CREATE DATABASE messaging"
fi
MESSAGING_MIGRATE_DATABASE_URL=$owner_url "$server" migrate --log-format text

[[ -s .local/db-password ]] || (umask 077 && openssl rand -hex 16 >.local/db-password)
db_password=$(cat .local/db-password)
psql -X -q -v ON_ERROR_STOP=1 -v role=messaging_server -v password="$db_password" \
  -f scripts/login-role.sql "$owner_url"
export DATABASE_URL="postgresql://messaging_server:$db_password@127.0.0.1:$port/messaging"

# A demo tenant and customer (the host application owns these tables).
distributor=00000000-0000-4000-8000-0000000000d1
customer=00000000-0000-4000-8000-0000000000c1
psql -X -q "$owner_url" \
  -c "INSERT INTO distributors (id) VALUES ('$distributor') ON CONFLICT DO NOTHING" \
  -c "INSERT INTO customers (id) VALUES ('$customer') ON CONFLICT DO NOTHING"

if [[ -z "${MESSAGING_JWT_SECRET:-}" ]]; then
  [[ -s .local/jwt-secret ]] || (umask 077 && openssl rand -hex 32 >.local/jwt-secret)
  MESSAGING_JWT_SECRET=$(cat .local/jwt-secret)
fi
export MESSAGING_JWT_SECRET
export MESSAGING_LISTEN=${MESSAGING_LISTEN:-127.0.0.1:50051}
export MESSAGING_LOG_FORMAT=${MESSAGING_LOG_FORMAT:-text}
token=$("$server" mint-token --distributor "$distributor" --ttl 86400)
addr=${MESSAGING_LISTEN/0.0.0.0/127.0.0.1}

cat <<INFO

Demo distributor: $distributor   demo customer: $customer
Token (24 h):
  export TOKEN=$token

Try it (grpcurl, or buf curl: scripts/tools.sh buf curl ...):
  grpcurl -plaintext -H "authorization: Bearer \$TOKEN" -d '{"customer_id":"$customer","channel":"CHANNEL_WHATSAPP"}' $addr messaging.v1.MessagingService/GetOrCreateConversation
  scripts/tools.sh buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer \$TOKEN" -d '{"customer_id":"$customer","channel":"CHANNEL_WHATSAPP"}' http://$addr/messaging.v1.MessagingService/GetOrCreateConversation
  grpcurl -plaintext $addr grpc.health.v1.Health/Check

Serving on $MESSAGING_LISTEN (Ctrl-C stops the server and the database).
INFO
"$server" serve
