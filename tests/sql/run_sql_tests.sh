#!/usr/bin/env bash
# SQL-level tests of the migrations: idempotency, no-superuser application,
# verification, tenant isolation (tests/sql/rls_test.sql), cleanup and
# re-application.
#
#   tests/sql/run_sql_tests.sh DATABASE_ADMIN_URL
#   e.g. tests/sql/run_sql_tests.sh postgresql://postgres@127.0.0.1:55432/postgres
#
# DATABASE_ADMIN_URL (a postgresql:// URI or a "key=value" conninfo string)
# must connect as a superuser. The script creates, and always removes again:
#   * a non-superuser login role with CREATEROLE (like Supabase's `postgres`),
#   * a fresh database owned by it,
# both with unique names, so several runs can share one cluster concurrently.
# The cluster-wide role messaging_app is created by the migrations if missing
# and deliberately left in place (other databases may use it).
#
# Steps: apply 000-004 as the owner three times (psql -f; psql -1 -f; and the
# runner's way: each file as one multi-statement string in one transaction),
# verify.sql, rls_test.sql (as superuser), cleanup.sql twice, re-apply,
# verify.sql again, drop everything.
# Prints `ok N - ...` per step/assertion, then `sql tests: N passed, F failed`;
# exits non-zero on the first failure.
set -euo pipefail

usage() {
  sed -n '2,22p' "$0" >&2
  exit 2
}

ADMIN_URL=${1:-${DATABASE_ADMIN_URL:-}}
[[ -n "$ADMIN_URL" && "$ADMIN_URL" != -h && "$ADMIN_URL" != --help ]] || usage

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MIGRATIONS=("$ROOT/migrations/000_prerequisites.sql" "$ROOT/migrations/001_create_conversations_messages.sql"
  "$ROOT/migrations/002_message_events.sql" "$ROOT/migrations/003_event_state.sql"
  "$ROOT/migrations/004_least_privilege.sql")
VERIFY="$ROOT/scripts/verify.sql"
CLEANUP="$ROOT/scripts/cleanup.sql"
RLS_TEST="$ROOT/tests/sql/rls_test.sql"

for f in "${MIGRATIONS[@]}" "$VERIFY" "$CLEANUP" "$RLS_TEST"; do
  [[ -f "$f" ]] || { echo "run_sql_tests: missing $f" >&2; exit 2; }
done
command -v psql >/dev/null || { echo "run_sql_tests: psql not found (install postgresql-client)" >&2; exit 2; }

# Unique, lower-case identifiers (no quoting needed).
SUFFIX="$(date +%s)_$$_${RANDOM}"
DB="msg_sqltest_${SUFFIX}"
OWNER="msg_sqltest_owner_${SUFFIX}"
OWNER_PASSWORD="pw_${RANDOM}${RANDOM}${RANDOM}"   # used only if the server asks
LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/msg_sqltest.XXXXXX")

# conninfo_for URL DB [USER]: the admin URL pointed at another database/user.
conninfo_for() {
  local url=$1 db=$2 user=${3:-}
  if [[ "$url" =~ ^postgres(ql)?:// ]]; then
    local scheme=${url%%://*} rest=${url#*://} query="" kept="" param
    if [[ "$rest" == *\?* ]]; then query=${rest#*\?}; rest=${rest%%\?*}; fi
    local authority=${rest%%/*}
    if [[ -n "$user" ]]; then
      authority="${user}@${authority##*@}"
    fi
    # Query parameters may name the database/user too; ours must win.
    local IFS='&'
    for param in $query; do
      case "$param" in
        dbname=*) ;;
        user=* | password=*) [[ -n "$user" ]] || kept+="${kept:+&}$param" ;;
        *) kept+="${kept:+&}$param" ;;
      esac
    done
    printf '%s://%s/%s%s' "$scheme" "$authority" "$db" "${kept:+?$kept}"
  else
    # key=value conninfo: later keywords win (so the admin's password, if
    # any, is replaced by the throw-away owner's).
    printf '%s dbname=%s%s' "$url" "$db" "${user:+ user=$user password=$OWNER_PASSWORD}"
  fi
}

ADMIN_DB_URL=$(conninfo_for "$ADMIN_URL" "$DB")
OWNER_DB_URL=$(conninfo_for "$ADMIN_URL" "$DB" "$OWNER")

export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10}
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

passed=0
failed=0
created_role=0
created_db=0

cleanup_everything() {
  local rc=$?
  set +e
  if ((created_db)); then
    "${PSQL[@]}" -d "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 ||
      echo "run_sql_tests: WARNING: could not drop database $DB" >&2
  fi
  if ((created_role)); then
    "${PSQL[@]}" -d "$ADMIN_URL" -c "DROP ROLE IF EXISTS $OWNER" >/dev/null 2>&1 ||
      echo "run_sql_tests: WARNING: could not drop role $OWNER" >&2
  fi
  rm -rf "$LOG_DIR"
  exit "$rc"
}
trap cleanup_everything EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  failed=$((failed + 1))
  echo "not ok $((passed + failed)) - $1"
  if [[ -s "$2" ]]; then sed 's/^/#   /' "$2"; fi
  echo "sql tests: $passed passed, $failed failed"
  exit 1
}

# step DESCRIPTION COMMAND...: runs the command, output to a log; one ok line.
step() {
  local description=$1 log="$LOG_DIR/step.log"
  shift
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "ok $passed - $description"
  else
    fail "$description" "$log"
  fi
}

as_admin() { "${PSQL[@]}" -d "$ADMIN_URL" "$@"; }
as_owner_on_db() { PGPASSWORD="$OWNER_PASSWORD" "${PSQL[@]}" -d "$OWNER_DB_URL" "$@"; }
as_admin_on_db() { "${PSQL[@]}" -d "$ADMIN_DB_URL" "$@"; }

apply_with_f() {             # psql -f, statement by statement (autocommit)
  local f
  for f in "${MIGRATIONS[@]}"; do as_owner_on_db -f "$f" || return 1; done
}
apply_single_transaction() { # psql -1 -f
  local f
  for f in "${MIGRATIONS[@]}"; do as_owner_on_db -1 -f "$f" || return 1; done
}
apply_like_runner() {        # the whole file as one multi-statement string, in a transaction
  local f
  for f in "${MIGRATIONS[@]}"; do as_owner_on_db -1 -c "$(cat "$f")" || return 1; done
}

echo "# database $DB, owner $OWNER (non-superuser, CREATEROLE)"

step "admin connection is a superuser" \
  as_admin -tAc "DO \$\$ BEGIN IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                   RAISE EXCEPTION 'DATABASE_ADMIN_URL must connect as a superuser'; END IF; END \$\$"

created_role=1
step "create owner role $OWNER (LOGIN CREATEROLE, not superuser)" \
  as_admin -c "CREATE ROLE $OWNER LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS NOCREATEDB PASSWORD '$OWNER_PASSWORD'"

created_db=1
step "create database $DB owned by $OWNER" \
  as_admin -c "CREATE DATABASE $DB OWNER $OWNER"

step "apply migrations as the owner with psql -f (pass 1)" apply_with_f
step "apply migrations again with psql -1 -f (pass 2: idempotent)" apply_single_transaction
step "apply migrations again as one multi-statement string in a transaction, like the runner (pass 3)" apply_like_runner

step "migrations ran as $OWNER, not a superuser" \
  as_owner_on_db -c "DO \$\$ BEGIN
    IF current_user <> '$OWNER' OR (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user)
       OR (SELECT relowner::regrole::text FROM pg_class WHERE oid = 'public.messages'::regclass) <> '$OWNER' THEN
      RAISE EXCEPTION 'expected to run as the non-superuser owner $OWNER, not %', current_user;
    END IF;
  END \$\$"
step "owner can SET ROLE messaging_app" \
  as_owner_on_db -c "SET ROLE messaging_app; RESET ROLE;"
# Migration 003 lends the owner membership in messaging_event_reader and that
# role CREATE on public, to give it the heads function; both must be undone.
step "migration 003 gave messaging_event_heads() to messaging_event_reader and left no loan behind" \
  as_owner_on_db -c "DO \$\$ BEGIN
    IF (SELECT proowner::regrole::text FROM pg_proc
         WHERE oid = 'public.messaging_event_heads(xid8, xid8)'::regprocedure) <> 'messaging_event_reader'
       OR pg_has_role('$OWNER', 'messaging_event_reader', 'MEMBER')
       OR has_schema_privilege('messaging_event_reader', 'public', 'CREATE') THEN
      RAISE EXCEPTION 'heads function owner, owner membership or CREATE on public is wrong';
    END IF;
  END \$\$"
# The function must see every tenant's positions although the migrating role
# (not a superuser) created it and RLS is forced: messaging_app, no tenant.
# Migration 004 lends the owner membership in messaging_event_pruner and
# messaging_event_reader, and the pruner CREATE on public; all undone.
step "migration 004 gave the prune functions to messaging_event_pruner and left no loan behind" \
  as_owner_on_db -c "DO \$\$ BEGIN
    IF (SELECT count(*) FROM pg_proc WHERE proowner = 'messaging_event_pruner'::regrole
          AND proname IN ('messaging_prune_events', 'messaging_event_low_water')) <> 2
       OR pg_has_role('$OWNER', 'messaging_event_pruner', 'MEMBER')
       OR pg_has_role('$OWNER', 'messaging_event_reader', 'MEMBER')
       OR has_schema_privilege('messaging_event_pruner', 'public', 'CREATE') THEN
      RAISE EXCEPTION 'prune function owner, owner membership or CREATE on public is wrong';
    END IF;
  END \$\$"
step "messaging_event_heads() as messaging_app without a tenant sees another transaction's events" \
  as_owner_on_db -1 -c "
    INSERT INTO distributors (id) VALUES ('d0000000-0000-4000-8000-0000000000d1');
    INSERT INTO customers (id) VALUES ('c0000000-0000-4000-8000-0000000000c1');
    SELECT set_config('app.distributor_id', 'd0000000-0000-4000-8000-0000000000d1', true);
    INSERT INTO conversations (id, distributor_id, customer_id, channel) VALUES
      ('e0000000-0000-4000-8000-0000000000e1', 'd0000000-0000-4000-8000-0000000000d1',
       'c0000000-0000-4000-8000-0000000000c1', 'sms');
    INSERT INTO messages (conversation_id, distributor_id, direction, delivery_status)
      VALUES ('e0000000-0000-4000-8000-0000000000e1', 'd0000000-0000-4000-8000-0000000000d1',
              'inbound', 'received');
    SELECT set_config('app.distributor_id', '', true);
    SET LOCAL ROLE messaging_app;
    DO \$\$ BEGIN
      IF (SELECT count(*) FROM message_events) <> 0 THEN
        RAISE EXCEPTION 'messaging_app without a tenant sees events';
      END IF;
      IF (SELECT array_agg(distributor_id::text) FROM messaging_event_heads('0', '18446744073709551615'))
         IS DISTINCT FROM ARRAY['d0000000-0000-4000-8000-0000000000d1'] THEN
        RAISE EXCEPTION 'messaging_event_heads() does not see the event';
      END IF;
    END \$\$;
    RESET ROLE;
    SELECT set_config('app.distributor_id', 'd0000000-0000-4000-8000-0000000000d1', true);
    DELETE FROM distributors WHERE id = 'd0000000-0000-4000-8000-0000000000d1';
    DELETE FROM customers WHERE id = 'c0000000-0000-4000-8000-0000000000c1';"

step "scripts/verify.sql passes (as the owner)" as_owner_on_db -f "$VERIFY"

# The assertion suite prints its own ok lines; renumber them into ours.
rls_log="$LOG_DIR/rls.log"
if as_admin_on_db -f "$RLS_TEST" >"$rls_log" 2>&1; then
  rls_ok=0
  while IFS= read -r line; do
    if [[ "$line" =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then
      passed=$((passed + 1))
      rls_ok=$((rls_ok + 1))
      echo "ok $passed - rls_test: ${BASH_REMATCH[1]}"
    fi
  done <"$rls_log"
  ((rls_ok > 0)) || fail "rls_test.sql printed no ok lines" "$rls_log"
else
  while IFS= read -r line; do
    if [[ "$line" =~ ^ok\ [0-9]+\ -\ (.*)$ ]]; then
      passed=$((passed + 1))
      echo "ok $passed - rls_test: ${BASH_REMATCH[1]}"
    fi
  done <"$rls_log"
  grep -v '^ok [0-9]' "$rls_log" >"$LOG_DIR/rls_fail.log" || true
  fail "rls_test: failed" "$LOG_DIR/rls_fail.log"
fi

step "scripts/cleanup.sql (as the owner)" as_owner_on_db -1 -f "$CLEANUP"
step "scripts/cleanup.sql again (idempotent)" as_owner_on_db -1 -f "$CLEANUP"
step "cleanup removed the messaging objects and kept distributors/customers" \
  as_owner_on_db -c "DO \$\$ BEGIN
    IF to_regclass('public.conversations') IS NOT NULL OR to_regclass('public.messages') IS NOT NULL
       OR to_regprocedure('public.messaging_current_distributor_id()') IS NOT NULL
       OR to_regprocedure('public.messaging_touch_updated_at()') IS NOT NULL
       OR to_regprocedure('public.messaging_event_heads(xid8, xid8)') IS NOT NULL
       OR to_regprocedure('public.messaging_bump_version()') IS NOT NULL
       OR to_regclass('public.message_events') IS NOT NULL
       OR to_regclass('public.messaging_schema_migrations') IS NOT NULL
       OR to_regclass('public.message_events_low_water') IS NOT NULL
       OR to_regtype('public.messaging_event_retention') IS NOT NULL
       OR to_regproc('public.messaging_prune_events') IS NOT NULL
       OR to_regproc('public.messaging_event_low_water') IS NOT NULL THEN
      RAISE EXCEPTION 'cleanup left messaging objects behind';
    END IF;
    IF to_regclass('public.distributors') IS NULL OR to_regclass('public.customers') IS NULL THEN
      RAISE EXCEPTION 'cleanup dropped the host tables';
    END IF;
  END \$\$"
step "re-apply migrations after cleanup (like the runner)" apply_like_runner
step "scripts/verify.sql passes after re-applying" as_owner_on_db -f "$VERIFY"

echo "sql tests: $passed passed, $failed failed"
