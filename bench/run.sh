#!/usr/bin/env bash
# Benchmarks of the messaging service against PostgreSQL's own limit (pgbench
# running the same SQL), one command per scenario. Each run starts its own
# throwaway PostgreSQL and messaging-server on loopback and removes them on
# exit; the LAST line printed is the scenario's figure.
#
#   bench/run.sh create     CreateMessage vs pgbench of the same transaction (32 clients)
#   bench/run.sh list       ListMessages (page of 50) vs pgbench of the same statements; ListConversations
#                           too, and on the List floor (bare gRPC + libpq + protobuf)
#   bench/run.sh health     no-op gRPC call (Health/Check): the transport limit; max latency with 1,000 streams open
#   bench/run.sh fanout     1,000 subscribers, 500 messages/s: commit-to-delivery, loss, duplicates;
#                           CPU per delivery against a bare gRPC server's (the transport floor)
#   bench/run.sh idle       10,000 open streams: RSS per stream (and the bare gRPC floor), threads
#   bench/run.sh notify     pgbench of the write: change-log cost, wake-up cost (32, 64 clients)
#   bench/run.sh growth     List latency at 100k vs 10M messages, deep pages, EXPLAIN
#   bench/run.sh fairness   distributor B's GetConversation alone vs while A floods (64 ListMessages of 8 MB)
#   bench/run.sh ai-queue   AI work queue: claim+complete vs pgbench; create->claim with long-poll; dead tuples
#   bench/run.sh smoke      every scenario in seconds with tiny counts (ctest: bench_smoke)
#   bench/run.sh trace      the statements PostgreSQL receives per call, service vs pgbench
#   bench/run.sh all        create list health fanout idle notify growth fairness ai-queue
#
# Options: --server=BIN --bench=BIN --bench-sql=BIN (default: build them in
# $BUILD_DIR, Release). Knobs (environment): DURATION (s per measured run, 15),
# ROUNDS (alternating service/pgbench rounds, 2), WARMUP (s, 3), CLIENTS (32),
# POOL_SIZE (server connections, 8), SYNC_COMMIT (on), FANOUT_SUBSCRIBERS (1000),
# FANOUT_RATE (500), FANOUT_WIDE (0.1), IDLE_STREAMS (10000), GROWTH_LARGE
# (10000000), GROWTH_SMALL (100000), FAIRNESS_SECONDS (8), FAIRNESS_ROUNDS (3),
# FAIRNESS_FLOOD (64), FAIRNESS_CONCURRENCY (4), FAIRNESS_SERVER_ENV (extra
# VAR=value settings for the fairness server), AI_WORKERS (16), AI_FILL (60000),
# AI_RATE (100), AI_COUNT (3000), FLOOR_LIST_THREADS (the List floor's serving
# threads, each with its own connection, 8). See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BUILD_DIR=${BUILD_DIR:-$root/build-bench}
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-3}
CLIENTS=${CLIENTS:-32}
POOL_SIZE=${POOL_SIZE:-8}
SYNC_COMMIT=${SYNC_COMMIT:-on}
PGBENCH_THREADS=${PGBENCH_THREADS:-2}

scenario=${1:-}
shift || true
SERVER_BIN="" BENCH_BIN="" SQL_BIN=""
for arg in "$@"; do
  case "$arg" in
    --server=*) SERVER_BIN=${arg#*=} ;;
    --bench=*) BENCH_BIN=${arg#*=} ;;
    --bench-sql=*) SQL_BIN=${arg#*=} ;;
    *) echo "run.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

usage() { sed -n '2,29p' "${BASH_SOURCE[0]}" >&2; exit 2; }
say() { printf '%s\n' "$*"; }
# Other work on this machine skews every figure: print the load with them.
load() { say "machine load average (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"; }
# The scenario's figure: its last line, after the load at the end.
final() {
  say "machine load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  say "$*"
}
step() { printf '\n== %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

build() {
  if [[ -n $SERVER_BIN && -n $BENCH_BIN && -n $SQL_BIN ]]; then return; fi
  step "building (Release, $BUILD_DIR)"
  cmake -S "$root" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DMESSAGING_BUILD_TESTS=OFF -DMESSAGING_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target messaging-server messaging-bench \
    messaging-bench-sql | tail -1
  SERVER_BIN=$BUILD_DIR/server/messaging-server
  BENCH_BIN=$BUILD_DIR/bench/messaging-bench
  SQL_BIN=$BUILD_DIR/bench/messaging-bench-sql
}

# ---------------------------------------------------------------------------
# Environment: PostgreSQL (own throwaway cluster, or a throwaway database on
# $MESSAGING_TEST_ADMIN_URL's server for the smoke test), the server, fixture.
# ---------------------------------------------------------------------------
WORK="" DATADIR="" DB_URL="" ADMIN_URL="" DB_NAME="" PG_PID="" SERVER_PID="" SERVER_PORT=""
FLOOR_PID="" FLOOR_PORT=""
SECRET="bench-secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"

cleanup() {
  set +e
  if [[ -n ${FLOOD_PID:-} ]]; then kill "$FLOOD_PID" 2>/dev/null; wait "$FLOOD_PID" 2>/dev/null; fi
  stop_floor
  stop_server
  if [[ -n $ADMIN_URL && -n $DB_NAME ]]; then
    "$PG_BIN/psql" -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1
  fi
  if [[ -n $DATADIR ]]; then "$root/scripts/pg.sh" stop "$DATADIR" >/dev/null 2>&1; fi
  if [[ -n $WORK ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_db() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }

# The server logs in as a role that can only become messaging_app, as in
# production (it refuses a superuser); migrations and fixtures use DB_URL.
SERVER_LOGIN=messaging_bench_server
ensure_server_login() {
  psql_db -v role="$SERVER_LOGIN" -v password="$SERVER_LOGIN" -f "$root/scripts/login-role.sql" >/dev/null
}
# DB_URL with the server's login role instead of its user.
serve_url() {
  local rest=${DB_URL#*://}
  printf '%s://%s:%s@%s' "${DB_URL%%://*}" "$SERVER_LOGIN" "$SERVER_LOGIN" "${rest#*@}"
}

# The postmaster: parent of the checkpointer (works for any server we can query).
find_postmaster() {
  local ckpt
  ckpt=$(psql_db -Atc "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
  awk '{print $4}' "/proc/$ckpt/stat"
}

start_postgres() {
  WORK=$(mktemp -d /tmp/messaging-bench.XXXXXX)
  chmod 755 "$WORK"
  if [[ ${1:-} == shared && -n ${MESSAGING_TEST_ADMIN_URL:-} ]]; then
    ADMIN_URL=$MESSAGING_TEST_ADMIN_URL
    DB_NAME="bench_smoke_$$_$RANDOM"
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE $DB_NAME" >/dev/null
    DB_URL="${ADMIN_URL%/*}/$DB_NAME"
    say "PostgreSQL: database $DB_NAME on \$MESSAGING_TEST_ADMIN_URL's server"
  else
    local port
    port=$("$root/scripts/pg.sh" free-port)
    DATADIR=$WORK/data
    "$root/scripts/pg.sh" start "$DATADIR" "$port"
    DB_URL="postgresql://postgres@127.0.0.1:$port/postgres"
    # Headroom for bulk loads and write bursts; durability settings stay default.
    psql_db -c "ALTER SYSTEM SET shared_buffers = '${PG_SHARED_BUFFERS:-512MB}'" \
      -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
      -c "ALTER SYSTEM SET checkpoint_timeout = '30min'" \
      -c "ALTER SYSTEM SET synchronous_commit = '$SYNC_COMMIT'"
    "$root/scripts/pg.sh" stop "$DATADIR"
    "$root/scripts/pg.sh" start "$DATADIR" "$port"
    psql_db -c "CREATE DATABASE bench" >/dev/null
    DB_URL="postgresql://postgres@127.0.0.1:$port/bench"
    say "PostgreSQL 15 on 127.0.0.1:$port (fsync=on, synchronous_commit=$SYNC_COMMIT," \
      "shared_buffers=${PG_SHARED_BUFFERS:-512MB}), data in $DATADIR"
  fi
  PG_PID=$(find_postmaster)
  DATABASE_URL=$DB_URL MESSAGING_LOG_LEVEL=warn "$SERVER_BIN" migrate >"$WORK/migrate.log" 2>&1 ||
    { cat "$WORK/migrate.log" >&2; die "migrate failed"; }
  ensure_server_login
}

# seed DISTRIBUTORS CONVERSATIONS MESSAGES [DEEP] [REBUILD_INDEXES]
seed() {
  local t0=$SECONDS
  psql_db -v distributors="$1" -v conversations="$2" -v messages="$3" -v deep="${4:-0}" \
    -v rebuild_indexes="${5:-0}" -f "$here/sql/seed.sql" >/dev/null
  write_fixture
  say "seeded $1 distributors, $2 conversations, $3 messages in $((SECONDS - t0)) s" \
    "($(psql_db -Atc "SELECT pg_size_pretty(pg_database_size(current_database()))"))"
}

write_fixture() {
  local d
  : >"$WORK/fixture"
  for d in $(psql_db -Atc "SELECT id FROM distributors WHERE id::text LIKE 'd0000000-%' ORDER BY id"); do
    printf 'distributor %s %s\n' "$d" \
      "$(MESSAGING_JWT_SECRET=$SECRET "$SERVER_BIN" mint-token --distributor "$d" --ttl 86400)" \
      >>"$WORK/fixture"
  done
  psql_db -Atc "SELECT 'conversation ' || id || ' ' || distributor_id FROM conversations
                WHERE id::text LIKE 'a0000000-%' ORDER BY id" >>"$WORK/fixture"
}

# start_server [NAME=VALUE...]: extra environment for the server.
start_server() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if start_server_once "$@"; then return; fi
    # A port free to connect() may still be taken by a client socket: try another.
    grep -q 'cannot listen' "$WORK/server.log" || break
  done
  cat "$WORK/server.log" >&2
  die "server did not start"
}

start_server_once() {
  stop_server
  SERVER_PORT=$("$root/scripts/pg.sh" free-port)
  : >"$WORK/server.log"
  # The scale scenarios hold more streams per distributor than the default cap.
  DATABASE_URL=$(serve_url) MESSAGING_JWT_SECRET=$SECRET MESSAGING_LISTEN="127.0.0.1:$SERVER_PORT" \
    MESSAGING_POOL_SIZE=$POOL_SIZE MESSAGING_LOG_LEVEL=warn MESSAGING_DRAIN_TIMEOUT_SECONDS=5 \
    MESSAGING_MAX_CONNECTION_AGE_SECONDS=0 MESSAGING_MAX_STREAMS_PER_DISTRIBUTOR=100000 \
    env "$@" "$SERVER_BIN" serve >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 50); do
    if "$BENCH_BIN" health --target="127.0.0.1:$SERVER_PORT" --concurrency=1 --count=1 \
      --warmup=0 >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID" 2>/dev/null || true
      SERVER_PID=""
      return 1
    fi
    sleep 0.2
  done
  return 1
}

stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

# Fails the run if the server logged an error (anything at error level).
check_server_log() {
  if grep -q '"level":"error"\|\[error\]' "$WORK/server.log" 2>/dev/null; then
    grep '"level":"error"\|\[error\]' "$WORK/server.log" | head -5 >&2
    die "the server logged errors"
  fi
}

# ---------------------------------------------------------------------------
# Runs. Each prints one line and sets LAST_RATE.
# ---------------------------------------------------------------------------
LAST_RATE=0

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2" | tail -1; }

# bench MODE [flags...]: the load generator against the server.
bench() { bench_at service "$SERVER_PORT" "$SERVER_PID" "$@"; }

# bench_at LABEL PORT PID MODE [flags...]: the same against the server on PORT
# (process PID), its result line printed under LABEL.
bench_at() {
  local label=$1 port=$2 pid=$3 mode=$4
  shift 4
  local out perf_pid="" perf_stat_pid=""
  if [[ -n ${PERF_OUT:-} ]]; then
    # Profile the server for the whole run (PERF_OUT=DIR): flat profiles by DSO and symbol.
    mkdir -p "$PERF_OUT"
    # (Background jobs ignore SIGINT: each perf runs `sleep`, and ends when it is killed.)
    # System-wide, reported for the server's pid: its gRPC worker threads come and go, and
    # `perf record -p` would miss the threads created after it attached.
    perf record -q -a -F 499 -o "$WORK/perf.data" -- sleep 3600 2>/dev/null &
    perf_pid=$!
    perf stat -e task-clock,context-switches,cpu-migrations -p "$pid" \
      -o "$WORK/perf.stat" -- sleep 3600 2>/dev/null &
    perf_stat_pid=$!
  fi
  out=$("$BENCH_BIN" "$mode" --target="127.0.0.1:$port" --fixture="$WORK/fixture" \
    --server-pid="$pid" "$@") || { printf '%s\n' "$out"; die "messaging-bench $mode failed"; }
  if [[ -n $perf_pid ]]; then
    local child
    for child in $(pgrep -P "$perf_pid") $(pgrep -P "$perf_stat_pid"); do kill "$child"; done
    wait "$perf_pid" "$perf_stat_pid" 2>/dev/null || true
    local f=$PERF_OUT/server-$mode-$(date +%H%M%S).txt
    { grep -v '^#' "$WORK/perf.stat" | grep .
      perf report -i "$WORK/perf.data" --stdio --no-children --pid "$pid" --sort dso 2>/dev/null |
        grep -v '^#' | grep . | head -25
      echo
      perf report -i "$WORK/perf.data" --stdio --no-children --pid "$pid" --sort dso,sym 2>/dev/null |
        grep -v '^#' | grep . | head -100
    } >"$f" || true  # (head closes the pipe early)
    say "server profile: $f"
  fi
  printf '%s\n' "$out" | grep -v '^RESULT' || true
  local r
  r=$(grep '^RESULT' <<<"$out")
  LAST_RESULT=$r
  LAST_RATE=$(field rps "$r")
  say "$(printf '%-8s' "$label") $(sed 's/^RESULT //' <<<"$r")"
}

# CPU ticks of the postmaster and its backends, including backends that have
# exited (their time moves to the postmaster's cutime/cstime).
pg_ticks() {
  # (processes may exit while being read: cat's failure is expected)
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v root="$PG_PID" '{ if ($4 == root) t += $14 + $15; if ($1 == root) t += $14 + $15 + $16 + $17 }
         END { print t + 0 }'
}

# pgbench_run NAME SCRIPT CLIENTS SECONDS|-tN [pgbench -D vars...]
pgbench_run() {
  local name=$1 script=$2 clients=$3 length=$4
  shift 4
  local limit=(-T "$length")
  if [[ $length == -t* ]]; then limit=(-t "${length#-t}"); fi
  local threads=$PGBENCH_THREADS
  ((threads > clients)) && threads=$clients
  rm -f "$WORK/pgb_$name".*
  local before after out hz=100 start end
  hz=$(getconf CLK_TCK)
  before=$(pg_ticks)
  start=$(date +%s.%N)
  out=$( { TIMEFORMAT='%U %S'; time "$PG_BIN/pgbench" -n -M prepared -c "$clients" -j "$threads" \
    "${limit[@]}" -f "$script" -l --log-prefix="$WORK/pgb_$name" \
    -D role=messaging_app -D timeout=30000 "$@" "$DB_URL" 2>"$WORK/pgbench.err"; } 2>&1) ||
    { cat "$WORK/pgbench.err" >&2; printf '%s\n' "$out" >&2; die "pgbench $name failed"; }
  end=$(date +%s.%N)
  after=$(pg_ticks)
  if grep -q 'aborted\|error' "$WORK/pgbench.err"; then
    cat "$WORK/pgbench.err" >&2
    die "pgbench $name reported errors"
  fi
  local tps txns cpu_user cpu_sys
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out" | tail -1)
  txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  read -r cpu_user cpu_sys < <(tail -1 <<<"$out")
  local lat
  lat=$(cat "$WORK/pgb_$name".* | awk '{print $3}' | sort -n |
    awk '{a[NR]=$1} END { if (NR == 0) { print "n/a"; exit }
      i50=int(NR*0.50+0.999999); i95=int(NR*0.95+0.999999); i99=int(NR*0.99+0.999999);
      printf "p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f", a[i50]/1000, a[i95]/1000, a[i99]/1000, a[NR]/1000 }')
  LAST_RATE=$tps
  say "$(awk -v n="$name" -v c="$clients" -v tps="$tps" -v txns="$txns" -v lat="$lat" \
    -v pg="$((after - before))" -v hz="$hz" -v u="$cpu_user" -v s="$cpu_sys" -v t0="$start" -v t1="$end" \
    'BEGIN { secs = t1 - t0;
      printf "pgbench  mode=%s clients=%d txns=%d tps=%.1f %s pg_cpu_us_per_call=%.1f pg_cpu_pct=%.0f client_cpu_us_per_call=%.1f",
        n, c, txns, tps, lat, pg / hz * 1e6 / txns, 100 * pg / hz / secs, (u + s) * 1e6 / txns }')"
}

pgbench_vars=(-D conversations=1000 -D distributors=10 -D direction=inbound -D message_type=text
  -D delivery_status=received -D ai_status=pending -D metadata={} -D limit=51)

content64() { printf 'bench inbound message %s %s' "$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  "$(printf 'x%.0s' $(seq 1 32))"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mean() { awk '{ s += $1 } END { if (NR) printf "%.1f", s / NR; else print 0 }'; }
mean3() { awk '{ s += $1 } END { if (NR) printf "%.3f", s / NR; else print 0 }'; }

# floor FLAGS...: the transport's own cost, measured in the same run. A bare
# gRPC server (`messaging-bench floor-server`: no database, no service code)
# writes a canned message to as many streams per publish as the service
# delivers an event to, and `floor-fanout` reports its CPU per delivery and
# its memory per stream the way the fanout and idle modes report the
# service's (bench/README.md says what it leaves out). Sets FLOOR_RESULT.
floor() {
  local out
  start_floor_server floor-server
  out=$("$BENCH_BIN" floor-fanout --target="127.0.0.1:$FLOOR_PORT" --server-pid="$FLOOR_PID" "$@") || {
    printf '%s\n' "$out"
    cat "$WORK/floor-server.log" >&2
    die "messaging-bench floor-fanout failed"
  }
  stop_floor
  FLOOR_RESULT=$(grep '^RESULT' <<<"$out")
  say "floor    $(sed 's/^RESULT //' <<<"$FLOOR_RESULT")"
}

# start_floor_server MODE [FLAGS...]: a bare server of messaging-bench, on
# FLOOR_PORT, once it says it is serving.
start_floor_server() {
  local mode=$1 waited=0
  shift
  FLOOR_PORT=$("$root/scripts/pg.sh" free-port)
  "$BENCH_BIN" "$mode" --port="$FLOOR_PORT" "$@" >"$WORK/floor-server.log" 2>&1 &
  FLOOR_PID=$!
  until grep -q 'serving on' "$WORK/floor-server.log"; do
    kill -0 "$FLOOR_PID" 2>/dev/null || { cat "$WORK/floor-server.log" >&2; die "$mode did not start"; }
    ((waited++ < 100)) || die "$mode not serving after 10 s"
    sleep 0.1
  done
}

stop_floor() {
  if [[ -n $FLOOR_PID ]]; then
    kill "$FLOOR_PID" 2>/dev/null || true
    wait "$FLOOR_PID" 2>/dev/null || true
    FLOOR_PID=""
  fi
}

# list_floor SCRIPT CLIENTS [flags...]: ListConversations against the List
# floor (`messaging-bench floor-list-server`: a bare gRPC server whose serving
# threads read the page through libpq, with the server's own statement; what
# it leaves out is in bench/README.md), alternating with pgbench as compare
# does; sets SVC_MEAN (the floor's rate) and PGB_MEAN.
list_floor() {
  start_list_floor
  compare_at floor "$FLOOR_PORT" "$FLOOR_PID" list-conversations "$@"
  stop_floor
}

# start_list_floor: floor-list-server on FLOOR_PORT, on the scenario's
# database, with the server's page statement and the fixture's distributors.
start_list_floor() {
  "$SQL_BIN" show 'conversation_list_----' >"$WORK/floor-list.sql"
  start_floor_server floor-list-server --database-url="$(serve_url)" \
    --statement-file="$WORK/floor-list.sql" --fixture="$WORK/fixture" \
    --threads="${FLOOR_LIST_THREADS:-8}"
}

# service vs pgbench, alternating rounds; sets SVC_MEAN and PGB_MEAN.
compare() { compare_at service "$SERVER_PORT" "$SERVER_PID" "$@"; }

# compare_at LABEL PORT PID MODE SCRIPT CLIENTS [flags...]: the same for the
# server on PORT (process PID).
compare_at() {
  local label=$1 port=$2 pid=$3 mode=$4 script=$5 clients=$6
  shift 6
  local svc=() pgb=() r
  for r in $(seq 1 "$ROUNDS"); do
    psql_db -c CHECKPOINT
    bench_at "$label" "$port" "$pid" "$mode" --concurrency="$clients" --duration="$DURATION" \
      --warmup="$WARMUP" --pg-pid="$PG_PID" "$@"
    svc+=("$LAST_RATE")
    psql_db -c CHECKPOINT
    pgbench_run "$mode" "$script" "$clients" "$DURATION" "${pgbench_vars[@]}" \
      -D content="$(content64)"
    pgb+=("$LAST_RATE")
  done
  SVC_MEAN=$(printf '%s\n' "${svc[@]}" | mean)
  PGB_MEAN=$(printf '%s\n' "${pgb[@]}" | mean)
  say "rounds: $label ${svc[*]} /s; pgbench ${pgb[*]} tps"
}

env_standard() {
  start_postgres
  seed 10 1000 100000
  start_server
}

# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------
scenario_create() {
  step "CreateMessage: $CLIENTS clients, 1,000 conversations of 10 distributors, pool $POOL_SIZE"
  env_standard
  "$SQL_BIN" pgbench create >"$WORK/create.pgbench"
  # Warm both paths (caches, prepared statements, connections).
  pgbench_run warmup "$WORK/create.pgbench" "$CLIENTS" "$WARMUP" "${pgbench_vars[@]}" \
    -D content="$(content64)" >/dev/null
  compare create "$WORK/create.pgbench" "$CLIENTS"
  check_server_log
  # The targets: the server adds at most 5% with durable commits, 10% without.
  local target=0.95
  [[ $SYNC_COMMIT == on ]] || target=0.90
  final "create: service $SVC_MEAN/s vs pgbench $PGB_MEAN tps of the same transaction" \
    "= $(ratio "$SVC_MEAN" "$PGB_MEAN")x (target >= ${target}x, synchronous_commit $SYNC_COMMIT)"
}

scenario_list() {
  step "ListMessages page of 50, random conversations: $CLIENTS clients, pool $POOL_SIZE"
  env_standard
  "$SQL_BIN" pgbench list >"$WORK/list.pgbench"
  "$SQL_BIN" pgbench list-conversations >"$WORK/list-conversations.pgbench"
  pgbench_run warmup "$WORK/list.pgbench" "$CLIENTS" "$WARMUP" "${pgbench_vars[@]}" >/dev/null
  step "ListConversations (first page of 50), for reference"
  compare list-conversations "$WORK/list-conversations.pgbench" "$CLIENTS" --page-size=50
  local lc="$SVC_MEAN/$PGB_MEAN = $(ratio "$SVC_MEAN" "$PGB_MEAN")x"
  step "ListConversations on the List floor (bare gRPC + libpq + protobuf, no service code)"
  list_floor "$WORK/list-conversations.pgbench" "$CLIENTS" --page-size=50
  local lf="$SVC_MEAN/$PGB_MEAN = $(ratio "$SVC_MEAN" "$PGB_MEAN")x"
  step "ListMessages"
  compare list "$WORK/list.pgbench" "$CLIENTS" --page-size=50
  check_server_log
  say "list-conversations: $lc (target >= 0.90x); the List floor: $lf"
  final "list: service $SVC_MEAN/s vs pgbench $PGB_MEAN tps of the same statements" \
    "= $(ratio "$SVC_MEAN" "$PGB_MEAN")x (target >= 0.90x)"
}

scenario_health() {
  local streams=${HEALTH_STREAMS:-1000} secs=${HEALTH_SECONDS:-30}
  step "Transport baseline: grpc.health.v1.Health/Check (no database work), $CLIENTS in flight"
  env_standard
  local c1
  bench health --concurrency=1 --channels=1 --duration=5 --warmup=1
  c1=$(field p50_ms "$LAST_RESULT")
  bench health --concurrency="$CLIENTS" --duration="$DURATION" --warmup="$WARMUP"
  local rate=$LAST_RATE
  step "Health/Check at 1 in flight for $secs s while $streams streams are open (heartbeats on)"
  # The streams are held by a second load generator; the health run starts once all are live.
  local ready="$WORK/streams.ready" idle_pid waited=0
  rm -f "$ready"
  "$BENCH_BIN" idle --target="127.0.0.1:$SERVER_PORT" --fixture="$WORK/fixture" \
    --server-pid="$SERVER_PID" --streams="$streams" --baseline-streams=10 \
    --hold=$((secs + 10)) --ready-file="$ready" >"$WORK/health-streams.out" 2>&1 &
  idle_pid=$!
  while [[ ! -e $ready ]]; do
    kill -0 "$idle_pid" 2>/dev/null || { cat "$WORK/health-streams.out" >&2; die "streams did not open"; }
    ((waited++ < 600)) || die "streams not live after 120 s"
    sleep 0.2
  done
  bench health --concurrency=1 --channels=1 --duration="$secs" --warmup=1
  local r=$LAST_RESULT
  wait "$idle_pid" || { cat "$WORK/health-streams.out" >&2; die "the stream holder failed"; }
  check_server_log
  final "health: $rate calls/s at $CLIENTS in flight (no database); p50 $c1 ms at 1 in flight;" \
    "with $streams streams open: p99 $(field p99_ms "$r") ms, max $(field max_ms "$r") ms at 1 in flight" \
    "over $secs s (target max < 10 ms)"
}

scenario_fanout() {
  local subs=${FANOUT_SUBSCRIBERS:-1000} rate=${FANOUT_RATE:-500} wide=${FANOUT_WIDE:-0.1}
  step "Fan-out: $subs subscribers (fraction $wide distributor-wide), $rate messages/s for $DURATION s"
  env_standard
  local xacts="SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
  local x0 x1
  x0=$(psql_db -Atc "$xacts")
  bench fanout --subscribers="$subs" --rate="$rate" --wide-fraction="$wide" \
    --duration="$DURATION" --channels=10
  local r=$LAST_RESULT
  x1=$(psql_db -Atc "$xacts")
  say "database transactions during the whole run (incl. set-up and probes): $((x1 - x0))," \
    "$(awk -v x=$((x1 - x0)) -v n="$(field published "$r")" 'BEGIN { printf "%.1f", x / n }') per measured message"
  check_server_log
  # The same streams and publishing rate on a bare gRPC server, each publish
  # written to as many streams as an event reached above.
  local per_event
  per_event=$(awk -v d="$(field expected "$r")" -v n="$(field published "$r")" \
    'BEGIN { printf "%d", (n > 0 ? d / n + 0.5 : 1) }')
  floor --streams="$subs" --channels=10 --rate="$rate" --per-event="$((per_event > 0 ? per_event : 1))" \
    --duration="$DURATION"
  local floor_us
  floor_us=$(field server_cpu_us_per_event_marginal "$FLOOR_RESULT")
  say "transport floor (bare gRPC, no database): $floor_us us marginal server CPU per delivery;" \
    "the service: $(field server_cpu_us_per_event_marginal "$r") us" \
    "= $(ratio "$(field server_cpu_us_per_event_marginal "$r")" "$floor_us")x the floor (target <= 10 us)"
  # The targets: p99 < 20 ms at 500 messages/s, < 50 ms at 2,000.
  local target_ms=20
  if awk -v r="$rate" 'BEGIN { exit !(r >= 2000) }'; then target_ms=50; fi
  final "fanout: commit-to-delivery p99 <= $(field p99_ms "$r") ms (send->delivery; ack->delivery" \
    "p99 $(field low_p99_ms "$r") ms), lost $(field lost "$r"), duplicated $(field duplicated "$r")," \
    "server CPU $(field server_cpu_us_per_event "$r") us/event ($(field server_cpu_us_per_event_marginal "$r") us marginal)" \
    "(target p99 < $target_ms ms, 0 lost, 0 duplicated)"
}

scenario_idle() {
  local n=${IDLE_STREAMS:-10000}
  step "Idle scale: $n open streams on one server"
  env_standard
  bench idle --streams="$n" --baseline-streams=10 --hold="${IDLE_HOLD:-5}"
  local r=$LAST_RESULT
  check_server_log
  # The same number of streams on a bare gRPC server, one message each (the
  # idle mode's 500 streams per connection).
  floor --streams="$n" --channels="$(((n + 499) / 500))" --rate=100 --per-event=1 --duration=1 \
    --baseline=1
  say "transport floor (bare gRPC, no database): $(field kib_per_stream "$FLOOR_RESULT") KiB per" \
    "stream after one message; the service: $(field kib_per_stream "$r") KiB" \
    "= $(ratio "$(field kib_per_stream "$r")" "$(field kib_per_stream "$FLOOR_RESULT")")x the floor"
  final "idle: $n streams: $(field kib_per_stream "$r") KiB extra RSS per stream" \
    "($(field kib_per_stream_before_events "$r") before any event), threads" \
    "$(field threads_base "$r") with 10 -> $(field threads "$r") with $n (peak $(field threads_peak "$r"))" \
    "(target <= 15 KiB/stream; threads constant)"
}

# Scripts of the notify scenario, in $WORK:
#   create.pgbench           the server's CreateMessage transaction
#   heads.pgbench            a replica's read of messaging_event_heads() (HEADS_EVERY_MS)
#   notify.pgbench           the server's coalesced wake-up: NOTIFY messaging_events
#   trigger_state.sql        the change-log trigger function as migrated (state, no NOTIFY)
#   trigger_row_notify.sql   the same plus 002's per-row pg_notify (reference only)
notify_scripts() {
  "$SQL_BIN" pgbench create >"$WORK/create.pgbench"
  "$SQL_BIN" pgbench heads >"$WORK/heads.pgbench"
  "$SQL_BIN" pgbench wakeup >"$WORK/notify.pgbench"
  psql_db -Atc "SELECT pg_get_functiondef('public.messaging_record_message_event'::regproc)" \
    >"$WORK/trigger_state.sql"
  grep -q 'pg_notify' "$WORK/trigger_state.sql" && die "the migrated trigger function still NOTIFYs"
  sed "s/^\( *\)RETURN NULL;/\1PERFORM pg_notify('messaging_events', '');\n&/" \
    "$WORK/trigger_state.sql" >"$WORK/trigger_row_notify.sql"
  local added
  added=$(diff "$WORK/trigger_state.sql" "$WORK/trigger_row_notify.sql" | grep -c '^>' || true)
  [[ $added == 1 ]] || die "expected to add exactly one pg_notify line to the trigger function"
}

# What one replica adds to the database to wake its streams while it writes:
# a coalesced NOTIFY every NOTIFY_EVERY_MS (5) (its commit writes no WAL of its
# own, so it is never flushed), each followed by one read of the event heads.
# That read is the running server's: it LISTENs, and reads the heads on every
# notification, as a replica does after each of its own NOTIFYs. A replica
# woken that often polls no more (its poll timer restarts at every read), so
# HEADS_EVERY_MS (default 0: none) adds polls only to model a replica that
# announces nothing (a heads read every N ms, as the listener sends it: one
# statement, role set at connection).
# wakeup_start -T SECONDS | -t COUNT; wakeup_stop checks they exited cleanly.
WAKEUP_PIDS=() WAKEUP_OUTS=()
wakeup_start() {
  PGOPTIONS="-c synchronous_commit=off" "$PG_BIN/pgbench" -n -c 1 "$@" -f "$WORK/notify.pgbench" \
    -R "$((1000 / ${NOTIFY_EVERY_MS:-5}))" "$DB_URL" >"$WORK/wakeup_notify.out" 2>&1 &
  WAKEUP_PIDS=($!) WAKEUP_OUTS=("$WORK/wakeup_notify.out")
  if ((${HEADS_EVERY_MS:-0} > 0)); then
    local from
    from=$(psql_db -Atc "SELECT pg_snapshot_xmin(pg_current_snapshot())")
    PGOPTIONS="-c role=messaging_app -c statement_timeout=5000" "$PG_BIN/pgbench" -n -M prepared \
      -c 1 "$@" -f "$WORK/heads.pgbench" -R "$((1000 / HEADS_EVERY_MS))" -D from_xid="$from" \
      "$DB_URL" >"$WORK/wakeup_heads.out" 2>&1 &
    WAKEUP_PIDS+=($!) WAKEUP_OUTS+=("$WORK/wakeup_heads.out")
  fi
}
wakeup_stop() {
  local pid failed=0 polls=""
  for pid in "${WAKEUP_PIDS[@]}"; do wait "$pid" || failed=1; done
  WAKEUP_PIDS=()
  if ((failed)) || grep -q 'aborted\|error' "${WAKEUP_OUTS[@]}"; then
    cat "${WAKEUP_OUTS[@]}" >&2
    die "a wake-up client failed"
  fi
  ((${#WAKEUP_OUTS[@]} > 1)) && polls=", $(txns_of "$WORK/wakeup_heads.out") extra heads polls"
  say "         (wake-up client: $(txns_of "$WORK/wakeup_notify.out") NOTIFYs$polls)"
}
txns_of() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1"; }

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", 100 * (b - a) / b; else print "n/a" }'; }

# Alternating rounds per client count, each a pgbench run of the CreateMessage
# transaction:
#   logged   the change-log trigger as migrated (event row + message state)
#   bare     the trigger disabled (no change log at all)
#   wakeup   as logged, plus what one replica adds to wake its streams
#   rownotify  the trigger with 002's per-row pg_notify (reference: the old design)
# change-log cost = bare vs logged; wake-up cost = logged vs wakeup.
scenario_notify() {
  step "Change-log and wake-up cost: pgbench of the CreateMessage transaction"
  env_standard  # The server runs: its LISTEN connection consumes the notifications, as in production.
  notify_scripts
  pgbench_run warmup "$WORK/create.pgbench" 32 "$WARMUP" "${pgbench_vars[@]}" -D content="$(content64)" >/dev/null
  local summary="" reference="" c r
  for c in 32 64; do
    local logged=() bare=() wakeup=() rownotify=()
    for r in $(seq 1 "$ROUNDS"); do
      psql_db -c CHECKPOINT
      pgbench_run logged "$WORK/create.pgbench" "$c" "$DURATION" "${pgbench_vars[@]}" -D content="$(content64)"
      logged+=("$LAST_RATE")
      psql_db -c "ALTER TABLE messages DISABLE TRIGGER messages_record_event" -c CHECKPOINT
      pgbench_run bare "$WORK/create.pgbench" "$c" "$DURATION" "${pgbench_vars[@]}" -D content="$(content64)"
      bare+=("$LAST_RATE")
      psql_db -c "ALTER TABLE messages ENABLE TRIGGER messages_record_event" -c CHECKPOINT
      wakeup_start -T "$DURATION"
      pgbench_run wakeup "$WORK/create.pgbench" "$c" "$DURATION" "${pgbench_vars[@]}" -D content="$(content64)"
      wakeup_stop
      wakeup+=("$LAST_RATE")
      psql_db -f "$WORK/trigger_row_notify.sql" -c CHECKPOINT
      pgbench_run rownotify "$WORK/create.pgbench" "$c" "$DURATION" "${pgbench_vars[@]}" -D content="$(content64)"
      rownotify+=("$LAST_RATE")
      psql_db -f "$WORK/trigger_state.sql"
    done
    local l b w n
    l=$(printf '%s\n' "${logged[@]}" | mean)
    b=$(printf '%s\n' "${bare[@]}" | mean)
    w=$(printf '%s\n' "${wakeup[@]}" | mean)
    n=$(printf '%s\n' "${rownotify[@]}" | mean)
    say "$c clients: change log ${logged[*]} tps, no trigger ${bare[*]} tps," \
      "change log + wake-ups ${wakeup[*]} tps, per-row NOTIFY (old) ${rownotify[*]} tps"
    summary+="$c clients: change-log cost $(pct "$l" "$b")% ($l vs $b tps), wake-up cost $(pct "$w" "$l")% ($w vs $l tps); "
    reference+="$c cl. $(pct "$n" "$l")%, "
  done
  check_server_log
  final "notify: ${summary% } [old per-row NOTIFY in the trigger: ${reference%, } cost] (targets: change log <= 25%, wake-up <= 10%)"
}

# explain_plans CONVERSATION DEEP_CONVERSATION(or "") DISTRIBUTOR: the server's
# statements (PREPAREd from its own SQL), as messaging_app with the tenant set,
# EXPLAINed at their 6th execution: the plan a pooled connection of the server
# settles on (PostgreSQL plans the first 5 executions of a prepared statement
# for their parameters, then may switch to a generic plan), and with
# plan_cache_mode = force_generic_plan.
explain_plans() {
  local conv=$1 deep=$2 dist=$3
  "$SQL_BIN" prepare >"$WORK/prepare.sql"
  local key="" out
  if [[ -n $deep ]]; then
    key=$(psql_db -Atc "SELECT created_at || '|' || id FROM messages WHERE conversation_id = '$deep'
                        ORDER BY created_at, id OFFSET 49949 LIMIT 1")
  fi
  local explain="EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE"
  local page_bytes=1048576 # The server's default MESSAGING_MAX_PAGE_BYTES.
  local -a statements=(
    "ListConversations, first page|\"bench_conversation_list_----\"(51, $page_bytes)"
    "ListMessages, first page|\"bench_message_list_asc\"('$conv', 51, $page_bytes)")
  if [[ -n $key ]]; then
    statements+=("ListMessages, page 1,000 of the deep conversation (keyset after message 49,950)|\"bench_message_list_asc_k\"('$deep', 51, '${key%%|*}', '${key##*|}', $page_bytes)")
  fi
  {
    cat "$WORK/prepare.sql"
    echo "BEGIN;"
    echo "EXECUTE \"bench_tenant_setup\"('messaging_app', '$dist', '30000');"
    local entry i
    for entry in "${statements[@]}"; do
      echo "\\o /dev/null"
      for i in 1 2 3 4 5; do echo "EXECUTE ${entry#*|};"; done
      echo "\\o"
      echo "\\echo '--- ${entry%%|*}: 6th execution (the plan the server runs)'"
      echo "$explain ${entry#*|};"
    done
    echo "SET LOCAL plan_cache_mode = force_generic_plan;"
    for entry in "${statements[@]}"; do
      echo "\\echo '--- ${entry%%|*}: generic plan'"
      echo "$explain ${entry#*|};"
    done
    echo "COMMIT;"
  } >"$WORK/explain.sql"
  out=$("$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -P pager=off "$DB_URL" -f "$WORK/explain.sql" 2>&1) ||
    { printf '%s\n' "$out" >&2; die "EXPLAIN failed"; }
  PLANS=$(awk '/^--- /{p=1} p' <<<"$out" | grep -v '^-*$\|^ *QUERY PLAN\|^([0-9]* rows)\|^SET$\|^COMMIT$\|^$')
  printf '%s\n' "$PLANS"
}

plans_use_indexes() {
  # Every plan: index scans only, no sequential scan, no sort.
  if grep -q 'Seq Scan\|Sort Method\|->  Sort\|Bitmap Heap Scan' <<<"$PLANS"; then return 1; fi
  grep -q 'Index Scan\|Index Only Scan' <<<"$PLANS"
}

# growth_measure LABEL: latency at concurrency 1; sets LC_P50 LM_P50 (+p99).
growth_measure() {
  local label=$1 secs=${GROWTH_SECONDS:-8}
  bench list-conversations --concurrency=1 --channels=1 --duration="$secs" --warmup=1 --page-size=50
  LC_P50=$(field p50_ms "$LAST_RESULT") LC_P99=$(field p99_ms "$LAST_RESULT")
  bench list --concurrency=1 --channels=1 --duration="$secs" --warmup=1 --page-size=50
  LM_P50=$(field p50_ms "$LAST_RESULT") LM_P99=$(field p99_ms "$LAST_RESULT")
  say "$label: ListConversations p50 $LC_P50 ms p99 $LC_P99 ms; ListMessages p50 $LM_P50 ms p99 $LM_P99 ms"
}

scenario_growth() {
  local small=${GROWTH_SMALL:-100000} large=${GROWTH_LARGE:-10000000}
  local small_convs=${GROWTH_SMALL_CONVERSATIONS:-1000} large_convs=${GROWTH_LARGE_CONVERSATIONS:-10000}
  local deep=${GROWTH_DEEP:-60000}
  step "Growth: $small messages ($small_convs conversations) vs $large ($large_convs conversations)"
  start_postgres
  local large_url=${DB_URL%/*}/bench_large
  seed 10 "$small_convs" "$small"
  start_server
  growth_measure "$small messages"
  local s_lc=$LC_P50 s_lm=$LM_P50
  step "EXPLAIN at $small messages"
  explain_plans "a0000000-0000-4000-8000-000000000002" "" "d0000000-0000-4000-8000-000000000002"
  local small_idx="index scans only"
  # (Small tables: the planner may rightly prefer a sequential scan and a sort.)
  plans_use_indexes || small_idx="not only index scans (small tables)"
  stop_server

  step "Bulk-loading $large messages into a second database (COPY-free INSERT ... SELECT generate_series)"
  psql_db -c "CREATE DATABASE bench_large" >/dev/null
  DB_URL=$large_url
  DATABASE_URL=$DB_URL MESSAGING_LOG_LEVEL=warn "$SERVER_BIN" migrate >"$WORK/migrate.log" 2>&1
  seed 10 "$large_convs" "$large" "$deep" 1
  start_server
  growth_measure "$large messages"
  local l_lc=$LC_P50 l_lm=$LM_P50
  step "Deep pages: conversation 1 ($(psql_db -Atc "SELECT count(*) FROM messages WHERE conversation_id = 'a0000000-0000-4000-8000-000000000001'") messages)"
  local deep_conv=a0000000-0000-4000-8000-000000000001 r p1s=() p1000s=()
  for r in $(seq 1 "$ROUNDS"); do
    bench list --conversation=$deep_conv --page=1 --concurrency=1 --channels=1 \
      --duration="${GROWTH_SECONDS:-8}" --warmup=1 --page-size=50
    p1s+=("$(field p50_ms "$LAST_RESULT")")
    bench list --conversation=$deep_conv --page=1000 --concurrency=1 --channels=1 \
      --duration="${GROWTH_SECONDS:-8}" --warmup=1 --page-size=50
    p1000s+=("$(field p50_ms "$LAST_RESULT")")
  done
  local p1 p1000
  p1=$(printf '%s\n' "${p1s[@]}" | awk '{ s += $1 } END { printf "%.3f", s / NR }')
  p1000=$(printf '%s\n' "${p1000s[@]}" | awk '{ s += $1 } END { printf "%.3f", s / NR }')
  say "deep pages (p50 per round): page 1 ${p1s[*]} ms; page 1000 ${p1000s[*]} ms"
  step "EXPLAIN at $large messages"
  explain_plans "a0000000-0000-4000-8000-000000000011" "$deep_conv" "d0000000-0000-4000-8000-000000000001"
  local idx="index scans only"
  plans_use_indexes || idx="NOT ONLY INDEX SCANS"
  check_server_log
  final "growth: ${large}/${small} messages: ListConversations p50 $l_lc/$s_lc ms = $(ratio "$l_lc" "$s_lc")x," \
    "ListMessages p50 $l_lm/$s_lm ms = $(ratio "$l_lm" "$s_lm")x (target <= 1.5x);" \
    "page 1000 vs page 1 p50 $p1000/$p1 ms = $(ratio "$p1000" "$p1")x (target <= 1.2x);" \
    "plans at $large: $idx; at $small: $small_idx"
}

# Fairness data: distributor A (d...01) owns conversation a...01 with 500
# messages of 16 KiB of random hex each (~8 MB per page of 500, stored
# out of line and incompressible, as TOAST keeps it); distributor B (d...02)
# owns conversation a...02 with 500 short messages (GetConversation reads only
# the conversation's row).
FAIR_A_CONVERSATION=a0000000-0000-4000-8000-000000000001
FAIR_B_CONVERSATION=a0000000-0000-4000-8000-000000000002
fairness_seed() {
  seed 2 2 1000
  psql_db -c "SET session_replication_role = replica" \
    -c "UPDATE messages m SET content = (SELECT string_agg(md5(m.id::text || g || random()::text), '')
                                        FROM generate_series(1, 512) g)
        WHERE conversation_id = '$FAIR_A_CONVERSATION'" \
    -c "VACUUM (ANALYZE) messages" >/dev/null
  say "distributor A: $(psql_db -Atc "SELECT count(*) || ' messages of ' || min(octet_length(content)) ||
    ' bytes, ' || pg_size_pretty(sum(pg_column_size(content))) || ' stored'
    FROM messages WHERE conversation_id = '$FAIR_A_CONVERSATION'")"
}

# flood_start SECONDS: distributor A's FAIRNESS_FLOOD concurrent ListMessages
# (its whole conversation, page of 500) in a closed loop in the background,
# measured for SECONDS after a ramp of FAIRNESS_RAMP. RESOURCE_EXHAUSTED is
# counted (A is over its share: the server may refuse it), not a failure. A's
# calls wait seconds behind each other, so they count by when they end.
FLOOD_PID=""
flood_start() {
  "$BENCH_BIN" list --target="127.0.0.1:$SERVER_PORT" --fixture="$WORK/fixture" \
    --server-pid="$SERVER_PID" --conversation="$FAIR_A_CONVERSATION" --page-size=500 \
    --concurrency="${FAIRNESS_FLOOD:-64}" --deadline-ms=60000 --count-refused --count-by-end \
    --warmup="${FAIRNESS_RAMP:-3}" --duration="$1" >"$WORK/flood.out" 2>&1 &
  FLOOD_PID=$!
}
# flood_stop: waits for the flood's last calls; sets LAST_FLOOD (its RESULT line).
flood_stop() {
  wait "$FLOOD_PID" || { FLOOD_PID=""; cat "$WORK/flood.out" >&2; die "the flood (distributor A) failed"; }
  FLOOD_PID=""
  LAST_FLOOD=$(grep '^RESULT' "$WORK/flood.out")
  say "flood    $(sed 's/^RESULT //' <<<"$LAST_FLOOD")"
}

# Alternating rounds: B alone, then B while A floods (B's window lies inside
# A's: A starts FAIRNESS_RAMP s (3) before B, and its window ends about 1 s
# after B's). B runs FAIRNESS_CONCURRENCY calls
# in a closed loop, far under its share (half the pool), so the fair executor
# should never refuse it; RESOURCE_EXHAUSTED is counted for both phases.
scenario_fairness() {
  local secs=${FAIRNESS_SECONDS:-8} rounds=${FAIRNESS_ROUNDS:-3} flood=${FAIRNESS_FLOOD:-64}
  local conc=${FAIRNESS_CONCURRENCY:-4} ramp=${FAIRNESS_RAMP:-3}
  step "Tenant isolation: distributor B's GetConversation ($conc in flight) alone vs while" \
    "distributor A runs $flood ListMessages of 500 x 16 KiB in flight; pool $POOL_SIZE"
  start_postgres
  fairness_seed
  # A's full pages of ~8 MB, the flood this scenario was written for: by
  # default the server ends a page at 1 MiB (MESSAGING_MAX_PAGE_BYTES) and
  # sends at most 4 MiB, which would make the flood 8x lighter.
  start_server MESSAGING_MAX_PAGE_BYTES=$((16 << 20)) MESSAGING_MAX_SEND_BYTES=$((16 << 20)) ${FAIRNESS_SERVER_ENV:-}
  local b=(get-conversation --conversation="$FAIR_B_CONVERSATION" --concurrency="$conc"
    --duration="$secs" --warmup=1 --count-refused)
  # Warm B's path (the server's statements, token cache).
  bench get-conversation --conversation="$FAIR_B_CONVERSATION" --concurrency="$conc" --count=200 \
    --warmup=0 >/dev/null
  local alone_p99=() flood_p99=() alone_p50=() flood_p50=() a_rps=() a_p50=()
  local alone_calls=0 alone_refused=0 flood_calls=0 flood_refused=0 a_refused=0 r
  for r in $(seq 1 "$rounds"); do
    step "round $r of $rounds (load $(cut -d' ' -f1-3 /proc/loadavg))"
    bench "${b[@]}"
    alone_p50+=("$(field p50_ms "$LAST_RESULT")") alone_p99+=("$(field p99_ms "$LAST_RESULT")")
    alone_calls=$((alone_calls + $(field calls "$LAST_RESULT")))
    alone_refused=$((alone_refused + $(field refused "$LAST_RESULT")))
    flood_start "$((secs + 2))"
    sleep "$ramp"
    bench "${b[@]}"
    flood_stop
    flood_p50+=("$(field p50_ms "$LAST_RESULT")") flood_p99+=("$(field p99_ms "$LAST_RESULT")")
    flood_calls=$((flood_calls + $(field calls "$LAST_RESULT")))
    flood_refused=$((flood_refused + $(field refused "$LAST_RESULT")))
    a_rps+=("$(field rps "$LAST_FLOOD")") a_p50+=("$(field p50_ms "$LAST_FLOOD")")
    a_refused=$((a_refused + $(field refused "$LAST_FLOOD")))
  done
  local ap99 fp99 ap50 fp50 arps ratio99 share
  ap99=$(printf '%s\n' "${alone_p99[@]}" | mean3) fp99=$(printf '%s\n' "${flood_p99[@]}" | mean3)
  ap50=$(printf '%s\n' "${alone_p50[@]}" | mean3) fp50=$(printf '%s\n' "${flood_p50[@]}" | mean3)
  arps=$(printf '%s\n' "${a_rps[@]}" | mean)
  ratio99=$(ratio "$fp99" "$ap99")
  share=$(awk -v n="$flood_refused" -v c="$flood_calls" \
    'BEGIN { if (n + c > 0) printf "%.2f", 100 * n / (n + c); else print "n/a" }')
  say ""
  say "B alone:  p50 ${alone_p50[*]} ms, p99 ${alone_p99[*]} ms; $alone_calls calls, $alone_refused refused"
  say "B flood:  p50 ${flood_p50[*]} ms, p99 ${flood_p99[*]} ms; $flood_calls calls, $flood_refused refused"
  say "A flood:  ${a_rps[*]} calls/s (~8 MB each), p50 ${a_p50[*]} ms; $a_refused refused"
  local verdict=met
  if ((flood_refused > 0)) || awk -v r="$ratio99" 'BEGIN { exit !(r == "n/a" || r > 10) }'; then
    verdict=MISSED
  fi
  check_server_log
  final "fairness: B's GetConversation p99 while A floods $fp99 ms vs $ap99 ms alone = ${ratio99}x" \
    "(p50 $fp50 vs $ap50 ms), B refused (RESOURCE_EXHAUSTED) $flood_refused of" \
    "$((flood_calls + flood_refused)) = $share% under flood ($alone_refused alone);" \
    "A $arps ListMessages/s of 500 x 16 KiB (~8 MB) with $flood in flight, $a_refused refused" \
    "(targets: B refused 0, B p99 <= 10x alone): $verdict"
}

# ai_fill N [CONVERSATIONS DISTRIBUTORS]: N inbound text messages waiting for
# AI processing, spread over the fixture's conversations (default 1000 of 10);
# the messages' trigger enqueues one work item each.
ai_fill() {
  local convs=${2:-1000} dists=${3:-10}
  psql_db -c "INSERT INTO messages (conversation_id, distributor_id, direction, message_type,
                                    content, delivery_status, ai_processing_status)
              SELECT format('a0000000-0000-4000-8000-%s', lpad(((g % $convs) + 1)::text, 12, '0'))::uuid,
                     format('d0000000-0000-4000-8000-%s', lpad((((g % $convs) % $dists) + 1)::text, 12, '0'))::uuid,
                     'inbound', 'text', 'ai bench ' || g || ' where is my order?', 'received', 'pending'
                FROM generate_series(1, $1) g" >/dev/null
}
# The work table's churn: dead and live rows, autovacuum runs, size.
ai_table_stats() {
  psql_db -Atc "SELECT 'dead ' || n_dead_tup || ', live ' || n_live_tup || ', autovacuum runs ' ||
                       autovacuum_count || ', size ' || pg_size_pretty(pg_total_relation_size(relid))
                  FROM pg_stat_user_tables WHERE relname = 'ai_work_items'"
}
ai_table_dead() {
  psql_db -Atc "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'ai_work_items'"
}

# AI work queue: AI_WORKERS (16) workers, each claiming one item and completing
# it in a closed loop, through the service and through pgbench of the same
# statements (alternating rounds over a queue filled before each); then
# create->claim latency with claims waiting on the server (long-poll) while
# AI_RATE (100) messages/s arrive: WARMUP seconds of them timed apart, then
# AI_COUNT (3000) measured.
scenario_ai_queue() {
  local workers=${AI_WORKERS:-16} fill=${AI_FILL:-60000} rate=${AI_RATE:-100} count=${AI_COUNT:-3000}
  step "AI work queue: $workers workers (claim 1 + complete) vs pgbench of the same statements; pool $POOL_SIZE"
  start_postgres
  seed 10 1000 20000
  start_server
  local token
  token=$(MESSAGING_JWT_SECRET=$SECRET "$SERVER_BIN" mint-token --worker bench --ttl 86400)
  "$SQL_BIN" pgbench ai-queue >"$WORK/ai.pgbench"
  local ai_vars=(-D worker=bench -D max_items=1 -D lease_ms=60000 -D leased_cap=1000
    -D max_attempts=5)
  psql_db -c "DELETE FROM ai_work_items" >/dev/null
  ai_fill "$fill"
  psql_db -c "VACUUM (ANALYZE) ai_work_items" >/dev/null
  local dead0 stats0
  dead0=$(ai_table_dead) stats0=$(ai_table_stats)
  # Warm both paths.
  bench ai-throughput --worker-token="$token" --concurrency="$workers" --duration=1 --warmup=0 >/dev/null
  pgbench_run warmup "$WORK/ai.pgbench" "$workers" 1 "${ai_vars[@]}" >/dev/null
  local svc=() pgb=() r
  for r in $(seq 1 "$ROUNDS"); do
    ai_fill "$fill"
    bench ai-throughput --worker-token="$token" --concurrency="$workers" --duration="$DURATION" \
      --warmup="$WARMUP" --pg-pid="$PG_PID"
    svc+=("$LAST_RATE")
    ai_fill "$fill"
    pgbench_run ai-queue "$WORK/ai.pgbench" "$workers" "$DURATION" "${ai_vars[@]}"
    pgb+=("$LAST_RATE")
  done
  SVC_MEAN=$(printf '%s\n' "${svc[@]}" | mean)
  PGB_MEAN=$(printf '%s\n' "${pgb[@]}" | mean)
  say "rounds: service ${svc[*]} claim+complete/s; pgbench ${pgb[*]} tps"
  local dead1 stats1 churn
  dead1=$(ai_table_dead) stats1=$(ai_table_stats)
  churn="work table before: $stats0; after: $stats1"
  say "$churn"

  step "create->claim with long-poll: $workers workers waiting, $rate messages/s, $count messages"
  # The rounds above leave ~200,000 queued items; deleted at once, their dead
  # index entries would be walked by every claim until autovacuum comes by
  # (p99 337 ms instead of 42 ms, measured): vacuumed first, as for the rounds.
  psql_db -c "DELETE FROM ai_work_items" >/dev/null
  psql_db -c "VACUUM (ANALYZE) ai_work_items" >/dev/null
  # The first WARMUP seconds of messages are timed apart (the database's
  # backends plan each statement on first use): the figure is the rest.
  bench ai-latency --worker-token="$token" --workers="$workers" --rate="$rate" --count="$count" \
    --warmup="$WARMUP"
  local lat=$LAST_RESULT
  check_server_log
  say "ai-latency: create->claim p50 $(field p50_ms "$lat") ms, p99 $(field p99_ms "$lat") ms," \
    "max $(field max_ms "$lat") ms (target p99 < 50 ms); lost $(field lost "$lat")," \
    "duplicated $(field duplicated "$lat"); produced at $(field produced_rate "$lat")/s;" \
    "the CreateMessage call alone p50" \
    "$(field create_p50_ms "$lat") ms, p99 $(field create_p99_ms "$lat") ms;" \
    "from its return to the claim p50 $(field after_create_p50_ms "$lat") ms," \
    "p99 $(field after_create_p99_ms "$lat") ms; during the ${WARMUP} s warm-up before them" \
    "($(field warmup_messages "$lat") messages) p99 $(field warmup_p99_ms "$lat") ms," \
    "max $(field warmup_max_ms "$lat") ms"
  final "ai-queue: claim+complete service $SVC_MEAN/s vs pgbench $PGB_MEAN tps of the same statements" \
    "= $(ratio "$SVC_MEAN" "$PGB_MEAN")x (target >= 0.85x); create->claim p99 <=" \
    "$(field p99_ms "$lat") ms, lost $(field lost "$lat"), duplicated $(field duplicated "$lat");" \
    "dead tuples $dead0 -> $dead1"
}

scenario_smoke() {
  # Seconds, tiny counts: every mode and script runs; any error fails. Targets are not checked.
  local t0=$SECONDS
  DURATION=1 WARMUP=0.3
  start_postgres shared
  seed 2 20 1200
  start_server
  local tiny=(-D conversations=20 -D distributors=2)
  "$SQL_BIN" pgbench create >"$WORK/create.pgbench"
  "$SQL_BIN" pgbench list >"$WORK/list.pgbench"
  "$SQL_BIN" pgbench list-conversations >"$WORK/list-conversations.pgbench"
  bench health --concurrency=4 --count=200 --warmup=0
  bench create --concurrency=4 --duration=1 --warmup=0.3 --pg-pid="$PG_PID"
  bench list --concurrency=4 --duration=1 --warmup=0.3 --page-size=50
  bench list-conversations --concurrency=2 --duration=1 --warmup=0.3 --page-size=10
  bench get-conversation --concurrency=2 --duration=1 --warmup=0.3 --count-refused
  bench list --conversation=a0000000-0000-4000-8000-000000000003 --page=3 --page-size=20 \
    --concurrency=1 --count=20 --warmup=0
  pgbench_run create "$WORK/create.pgbench" 2 -t20 "${pgbench_vars[@]}" "${tiny[@]}" -D content="$(content64)"
  pgbench_run list "$WORK/list.pgbench" 2 -t20 "${pgbench_vars[@]}" "${tiny[@]}"
  pgbench_run list-conversations "$WORK/list-conversations.pgbench" 2 -t20 "${pgbench_vars[@]}" \
    "${tiny[@]}" -D limit=11
  start_list_floor
  bench_at floor "$FLOOR_PORT" "$FLOOR_PID" list-conversations --concurrency=2 --duration=1 \
    --warmup=0.3 --page-size=10
  stop_floor
  # The notify scenario's variants and scripts, a few transactions each.
  notify_scripts
  psql_db -c "ALTER TABLE messages DISABLE TRIGGER messages_record_event"
  pgbench_run bare "$WORK/create.pgbench" 2 -t10 "${pgbench_vars[@]}" "${tiny[@]}" -D content=x
  psql_db -c "ALTER TABLE messages ENABLE TRIGGER messages_record_event"
  wakeup_start -t 5
  pgbench_run wakeup "$WORK/create.pgbench" 2 -t10 "${pgbench_vars[@]}" "${tiny[@]}" -D content=x
  wakeup_stop
  psql_db -f "$WORK/trigger_row_notify.sql"
  pgbench_run rownotify "$WORK/create.pgbench" 2 -t10 "${pgbench_vars[@]}" "${tiny[@]}" -D content=x
  psql_db -f "$WORK/trigger_state.sql"
  bench fanout --subscribers=20 --rate=50 --duration=1 --baseline=0.3 --drain=5 --channels=2
  bench idle --streams=60 --baseline-streams=10 --hold=0.3 --settle=0.3 --ready-file="$WORK/smoke.ready"
  [[ -e $WORK/smoke.ready ]] || die "idle: no ready file"
  floor --streams=20 --channels=2 --rate=100 --per-event=3 --duration=0.3 --baseline=0.3 \
    --settle=0.2
  explain_plans "a0000000-0000-4000-8000-000000000002" "" "d0000000-0000-4000-8000-000000000002" >/dev/null
  # The AI work queue: a few items through the service, through pgbench, and long-poll claims.
  local token
  token=$(MESSAGING_JWT_SECRET=$SECRET "$SERVER_BIN" mint-token --worker smoke --ttl 600)
  "$SQL_BIN" pgbench ai-queue >"$WORK/ai.pgbench"
  ai_fill 300 20 2
  bench ai-throughput --worker-token="$token" --concurrency=2 --duration=1 --warmup=0.3
  pgbench_run ai-queue "$WORK/ai.pgbench" 2 -t20 -D worker=smoke -D max_items=1 -D lease_ms=60000 \
    -D leased_cap=1000 -D max_attempts=5
  psql_db -c "DELETE FROM ai_work_items" >/dev/null
  bench ai-latency --worker-token="$token" --workers=2 --rate=50 --count=20 --wait-ms=2000 \
    --warmup=0.2
  check_server_log
  final "smoke: every scenario ran without error in $((SECONDS - t0)) s"
}

# The statements PostgreSQL receives for one call of each kind, from the
# service and from the pgbench scripts (log_statement = all): the evidence
# that the baselines run the same SQL.
scenario_trace() {
  step "SQL trace: what PostgreSQL receives for one call (log_statement = all)"
  start_postgres
  seed 10 100 10000
  psql_db -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
  start_server
  "$SQL_BIN" pgbench create >"$WORK/create.pgbench"
  "$SQL_BIN" pgbench list >"$WORK/list.pgbench"
  local log=$DATADIR/server.log what
  for what in create list; do
    local mark pid
    mark=$(wc -l <"$log")
    "$BENCH_BIN" "$what" --target="127.0.0.1:$SERVER_PORT" --fixture="$WORK/fixture" \
      --concurrency=1 --count=1 --warmup=0 >/dev/null
    sleep 0.3
    # The lines since the mark, in a file: grep -m1 on a pipe would end its
    # writer with SIGPIPE, which pipefail turns into a failed run.
    tail -n +"$((mark + 1))" "$log" >"$WORK/trace.part"
    pid=$(grep -m1 'message_insert\|message_list_asc' "$WORK/trace.part" | sed -n 's/.*\[\([0-9]*\)\].*/\1/p')
    say "--- service $what (backend $pid):"
    grep "\[$pid\]" "$WORK/trace.part" | sed 's/^[^]]*] //' | cut -c1-160
    mark=$(wc -l <"$log")
    pgbench_run "trace_$what" "$WORK/$what.pgbench" 1 -t1 "${pgbench_vars[@]}" -D conversations=100 \
      -D content="$(content64)" >/dev/null
    tail -n +"$((mark + 1))" "$log" >"$WORK/trace.part"
    pid=$(grep -m1 'execute P_0' "$WORK/trace.part" | sed -n 's/.*\[\([0-9]*\)\].*/\1/p')
    say "--- pgbench $what (backend $pid):"
    grep "\[$pid\]" "$WORK/trace.part" | grep 'LOG:  \(statement\|execute\)\|DETAIL' |
      sed 's/^[^]]*] //' | cut -c1-160
  done
  final "trace: statements printed above (service and pgbench)"
}

# `source bench/run.sh` (no scenario) only defines the functions above, for
# interactive use: start_postgres; seed 10 1000 100000; start_server; bench ...
if [[ ${BASH_SOURCE[0]} != "$0" && -z $scenario ]]; then return 0; fi

case "$scenario" in
  create | list | health | fanout | idle | notify | growth | fairness | smoke | trace)
    build
    load
    "scenario_$scenario"
    ;;
  ai-queue)
    build
    load
    scenario_ai_queue
    ;;
  all)
    build
    for s in create list health fanout idle notify growth fairness ai-queue; do
      "$0" "$s" --server="$SERVER_BIN" --bench="$BENCH_BIN" --bench-sql="$SQL_BIN"
    done
    ;;
  *) usage ;;
esac
