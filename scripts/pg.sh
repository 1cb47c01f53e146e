#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for development and tests.
#
#   scripts/pg.sh start DATADIR PORT   initdb if needed, start on 127.0.0.1:PORT
#   scripts/pg.sh stop DATADIR         fast shutdown (no error if not running)
#   scripts/pg.sh free-port            print a free TCP port on 127.0.0.1
#   scripts/pg.sh reachable DIR        exit 0 if the postgres user can use DIR
#
# initdb refuses to run as root, so as root the cluster runs as the `postgres`
# user; as any other user it runs as that user.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_db_user() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Every parent directory must be searchable by the cluster's user.
reachable() {
  local dir=$1
  if [[ $(id -u) -ne 0 ]]; then return 0; fi
  runuser -u postgres -- test -x "$(dirname "$dir")" 2>/dev/null
}

cmd=${1:-}
case "$cmd" in
  start)
    datadir=$2 port=$3
    if [[ ! -x "$PG_BIN/initdb" ]]; then
      echo "pg.sh: $PG_BIN/initdb not found; run scripts/install-deps.sh" >&2
      exit 1
    fi
    if [[ -f "$datadir/postmaster.pid" ]] && as_db_user "$PG_BIN/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
      echo "pg.sh: PostgreSQL already running from $datadir" >&2
      exit 0
    fi
    if port_in_use "$port"; then
      echo "pg.sh: port $port on 127.0.0.1 is already in use; choose another (PGPORT=...)" >&2
      exit 1
    fi
    mkdir -p "$datadir"
    if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$datadir"; fi
    chmod 700 "$datadir"
    if ! reachable "$datadir"; then
      echo "pg.sh: the postgres user cannot reach $datadir (a parent directory is private)" >&2
      exit 1
    fi
    if [[ ! -f "$datadir/PG_VERSION" ]]; then
      as_db_user "$PG_BIN/initdb" -D "$datadir" -U postgres -A trust -E UTF8 \
        --locale=C.UTF-8 >"$datadir.initdb.log" 2>&1 ||
        { cat "$datadir.initdb.log" >&2; exit 1; }
    fi
    as_db_user "$PG_BIN/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 60 \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=${PG_FSYNC:-on}" \
      start >/dev/null || { tail -20 "$datadir/server.log" >&2; exit 1; }
    ;;
  stop)
    datadir=$2
    if [[ -f "$datadir/postmaster.pid" ]]; then
      as_db_user "$PG_BIN/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  free-port)
    # Below the kernel's ephemeral range, so an outgoing connection (the
    # tests make thousands) never holds the port when the server binds it.
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [[ $low -gt 12000 ]] || low=32768
    for _ in $(seq 1 200); do
      p=$((10000 + RANDOM % (low - 10000)))
      if ! port_in_use "$p"; then echo "$p"; exit 0; fi
    done
    echo "pg.sh: no free port found" >&2
    exit 1
    ;;
  reachable)
    reachable "$2"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
