-- tests/sql/rls_test.sql -- tenant isolation and schema assertions.
--
--   psql -X -v ON_ERROR_STOP=1 -f tests/sql/rls_test.sql "$URL_OF_A_FRESHLY_MIGRATED_DB"
--
-- Run as a SUPERUSER (it inserts fixtures past RLS and switches roles) on a
-- database where migrations 000 to 004 were applied, preferably by a
-- non-superuser owner as tests/sql/run_sql_tests.sh does. Prints TAP-style
-- `ok N - description` lines and stops with a non-zero exit at the first
-- failure (`not ok N - ...` in the error). Its rows are deleted at the end;
-- every test that writes runs in a transaction that is rolled back.
--
-- "Acting as" a tenant is what the server does in each transaction:
--   SET LOCAL ROLE messaging_app;
--   SELECT set_config('app.distributor_id', '<uuid>', true);
-- here wrapped in pg_temp.act_as('app' | 'owner', 'A' | 'B' | NULL).
-- 'owner' is the role owning the tables, WITHOUT switching to messaging_app:
-- forced RLS must filter it too. If the owner is a superuser (which RLS cannot
-- restrict), a throw-away non-superuser role takes ownership inside the
-- (rolled back) transaction instead.

\set ON_ERROR_STOP 1
\set QUIET 1
\pset tuples_only on
\pset format unaligned
\pset pager off
SET client_min_messages = warning;

-- ---------------------------------------------------------------------------
-- Helpers (session-private, in pg_temp; every role may call them)
-- ---------------------------------------------------------------------------

CREATE TEMP SEQUENCE tap_counter;
GRANT USAGE ON SEQUENCE pg_temp.tap_counter TO PUBLIC;

-- Fixed ids with readable names.
CREATE FUNCTION pg_temp.uid(name text) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE name
    WHEN 'A'   THEN 'a0000000-0000-4000-8000-00000000000a'   -- distributor A
    WHEN 'B'   THEN 'b0000000-0000-4000-8000-00000000000b'   -- distributor B
    WHEN 'CA'  THEN 'ca000000-0000-4000-8000-0000000000ca'   -- customer of A
    WHEN 'CB'  THEN 'cb000000-0000-4000-8000-0000000000cb'   -- customer of B
    WHEN 'A1'  THEN 'a1000000-0000-4000-8000-0000000000a1'   -- A, CA, whatsapp
    WHEN 'A2'  THEN 'a2000000-0000-4000-8000-0000000000a2'   -- A, CA, sms
    WHEN 'B1'  THEN 'b1000000-0000-4000-8000-0000000000b1'   -- B, CB, whatsapp
    WHEN 'MA1' THEN 'ea100000-0000-4000-8000-000000000a11'   -- in A1, SM-A-1
    WHEN 'MA2' THEN 'ea200000-0000-4000-8000-000000000a12'   -- in A1, no external id
    WHEN 'MA3' THEN 'ea300000-0000-4000-8000-000000000a23'   -- in A2, SM-A-3
    WHEN 'MB1' THEN 'eb100000-0000-4000-8000-000000000b11'   -- in B1, SM-B-1
  END::uuid
$f$;

-- ok(condition, description[, detail]): prints "ok N - description" or raises.
CREATE FUNCTION pg_temp.ok(condition boolean, description text, detail text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  n bigint := nextval('pg_temp.tap_counter');
BEGIN
  IF condition IS NOT TRUE THEN
    RAISE EXCEPTION '%', format('not ok %s - %s%s', n, description, coalesce(' -- ' || detail, ''));
  END IF;
  RETURN format('ok %s - %s', n, description);
END
$f$;

-- error_of(sql): runs sql (as the current role) and returns
-- 'no error' or 'SQLSTATE [constraint]: message'. A failed statement is
-- rolled back (subtransaction); a successful one is kept.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  constraint_name text;
BEGIN
  EXECUTE sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
  RETURN SQLSTATE || coalesce(' ' || nullif(constraint_name, ''), '') || ': ' || SQLERRM;
END
$f$;

-- throws(sql, expected prefix of error_of(sql), description)
CREATE FUNCTION pg_temp.throws(sql text, expected text, description text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  got text := pg_temp.error_of(sql);
BEGIN
  RETURN pg_temp.ok(got LIKE expected || '%', description, format('expected %s, got %s', expected, got));
END
$f$;

-- rows_of(sql): number of rows the statement processed.
CREATE FUNCTION pg_temp.rows_of(sql text) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
  n bigint;
BEGIN
  EXECUTE sql;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$f$;

-- Visible row counts as a text tuple, e.g. 'conversations=2 messages=3'.
CREATE FUNCTION pg_temp.visible() RETURNS text
LANGUAGE sql AS $f$
  SELECT format('conversations=%s messages=%s',
                (SELECT count(*) FROM public.conversations),
                (SELECT count(*) FROM public.messages))
$f$;

-- EXPLAIN output as one string.
CREATE FUNCTION pg_temp.plan_of(sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  line text;
  plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || sql LOOP
    plan := plan || line || E'\n';
  END LOOP;
  RETURN plan;
END
$f$;

-- act_as('app' | 'owner', tenant name or NULL): switch role and tenant for the
-- rest of the current transaction (both settings are transaction-local).
CREATE FUNCTION pg_temp.act_as(who text, tenant text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  owner_name text;
  owner_super boolean;
  stand_in text;
BEGIN
  IF who = 'app' THEN
    PERFORM set_config('role', 'messaging_app', true);
  ELSIF who = 'owner' THEN
    SELECT r.rolname, r.rolsuper INTO owner_name, owner_super
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
     WHERE c.oid = 'public.conversations'::regclass;
    IF owner_super THEN
      -- Only inside a transaction that the caller rolls back.
      stand_in := 'rls_test_owner_' || pg_backend_pid();
      IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = stand_in) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', stand_in);
      END IF;
      EXECUTE format('ALTER TABLE public.conversations OWNER TO %I', stand_in);
      EXECUTE format('ALTER TABLE public.messages OWNER TO %I', stand_in);
      -- The policies call the tenant function as the querying role (004
      -- grants it by name only).
      EXECUTE format('GRANT EXECUTE ON FUNCTION public.messaging_current_distributor_id() TO %I', stand_in);
      owner_name := stand_in;
    END IF;
    PERFORM set_config('role', owner_name, true);
  ELSE
    RAISE EXCEPTION 'act_as: unknown role kind %', who;
  END IF;
  IF tenant IS NOT NULL THEN
    PERFORM set_config('app.distributor_id', pg_temp.uid(tenant)::text, true);
  END IF;
  RETURN format('# acting as %s (%s), tenant %s', who, current_user, coalesce(tenant, 'unset'));
END
$f$;

-- tenant_for(app setting, claims): the tenant function's answer for these
-- settings (both set transaction-locally; '' stands for "not set").
CREATE FUNCTION pg_temp.tenant_for(app text, claims text) RETURNS uuid
LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM set_config('app.distributor_id', app, true);
  PERFORM set_config('request.jwt.claims', claims, true);
  RETURN public.messaging_current_distributor_id();
END
$f$;

-- ---------------------------------------------------------------------------
-- Preconditions and fixtures (as superuser, committed)
-- ---------------------------------------------------------------------------

SELECT pg_temp.ok(
  (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user)
  AND current_setting('app.distributor_id', true) IS NULL
  AND current_setting('request.jwt.claims', true) IS NULL,
  'preconditions: run as superuser, no tenant setting in this session');

INSERT INTO public.distributors (id) VALUES (pg_temp.uid('A')), (pg_temp.uid('B'));
INSERT INTO public.customers (id) VALUES (pg_temp.uid('CA')), (pg_temp.uid('CB'));
INSERT INTO public.conversations (id, distributor_id, customer_id, channel) VALUES
  (pg_temp.uid('A1'), pg_temp.uid('A'), pg_temp.uid('CA'), 'whatsapp'),
  (pg_temp.uid('A2'), pg_temp.uid('A'), pg_temp.uid('CA'), 'sms'),
  (pg_temp.uid('B1'), pg_temp.uid('B'), pg_temp.uid('CB'), 'whatsapp');
INSERT INTO public.messages (id, conversation_id, distributor_id, direction, delivery_status, external_message_id, content) VALUES
  (pg_temp.uid('MA1'), pg_temp.uid('A1'), pg_temp.uid('A'), 'inbound',  'received', 'SM-A-1', 'hello from CA'),
  (pg_temp.uid('MA2'), pg_temp.uid('A1'), pg_temp.uid('A'), 'outbound', 'queued',   NULL,     'hello CA'),
  (pg_temp.uid('MA3'), pg_temp.uid('A2'), pg_temp.uid('A'), 'inbound',  'received', 'SM-A-3', 'sms to A'),
  (pg_temp.uid('MB1'), pg_temp.uid('B1'), pg_temp.uid('B'), 'inbound',  'received', 'SM-B-1', 'secret of B');
-- Old creation times, so the updated_at trigger and inbox order are observable.
UPDATE public.conversations SET created_at = '2024-01-01 00:00:00+00' WHERE id = pg_temp.uid('A1');
UPDATE public.conversations SET created_at = '2024-02-01 00:00:00+00' WHERE id = pg_temp.uid('A2');

SELECT pg_temp.ok(pg_temp.visible() = 'conversations=3 messages=4', 'fixtures: 2 distributors, 3 conversations, 4 messages');

-- ---------------------------------------------------------------------------
-- Schema: RLS, policies, role
-- ---------------------------------------------------------------------------

SELECT pg_temp.ok(relrowsecurity AND relforcerowsecurity, format('RLS enabled and forced on %s', relname))
  FROM pg_catalog.pg_class
 WHERE oid IN ('public.conversations'::regclass, 'public.messages'::regclass)
 ORDER BY relname;

SELECT pg_temp.ok(
  count(*) FILTER (WHERE p.policyname IS NOT NULL) = 1,
  format('%s has one tenant policy FOR %s TO PUBLIC', t.tbl, c.cmd))
  FROM (VALUES ('conversations'), ('messages')) AS t (tbl)
 CROSS JOIN (VALUES (1, 'SELECT'), (2, 'INSERT'), (3, 'UPDATE'), (4, 'DELETE')) AS c (ord, cmd)
  LEFT JOIN pg_catalog.pg_policies p
    ON p.schemaname = 'public' AND p.tablename = t.tbl AND p.cmd = c.cmd
   AND p.roles = '{public}' AND p.permissive = 'PERMISSIVE'
   AND coalesce(p.qual, '') || coalesce(p.with_check, '') LIKE '%messaging_current_distributor_id()%'
 GROUP BY t.tbl, c.ord, c.cmd
 ORDER BY t.tbl, c.ord;

SELECT pg_temp.ok(
  NOT rolsuper AND NOT rolbypassrls AND NOT rolcanlogin AND NOT rolcreaterole
  AND NOT rolcreatedb AND NOT rolreplication AND NOT rolinherit,
  'messaging_app is NOSUPERUSER NOBYPASSRLS NOLOGIN NOCREATEROLE NOCREATEDB NOREPLICATION NOINHERIT',
  format('%s', r))
  FROM pg_catalog.pg_roles r WHERE rolname = 'messaging_app';

SELECT pg_temp.ok(
  NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relowner = 'messaging_app'::regrole)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE proowner = 'messaging_app'::regrole)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspowner = 'messaging_app'::regrole),
  'messaging_app owns no table, function or schema');

SELECT pg_temp.ok(
  has_table_privilege('messaging_app', 'public.conversations', 'SELECT, INSERT, UPDATE, DELETE')
  AND has_table_privilege('messaging_app', 'public.messages', 'SELECT')
  AND has_table_privilege('messaging_app', 'public.messages', 'INSERT')
  AND has_table_privilege('messaging_app', 'public.messages', 'UPDATE')
  AND has_table_privilege('messaging_app', 'public.messages', 'DELETE')
  AND has_table_privilege('messaging_app', 'public.conversations', 'INSERT')
  AND has_table_privilege('messaging_app', 'public.conversations', 'UPDATE')
  AND has_table_privilege('messaging_app', 'public.conversations', 'DELETE')
  AND NOT has_table_privilege('messaging_app', 'public.conversations', 'TRUNCATE, REFERENCES, TRIGGER')
  AND NOT has_table_privilege('messaging_app', 'public.messages', 'TRUNCATE, REFERENCES, TRIGGER')
  AND NOT has_table_privilege('messaging_app', 'public.distributors', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
  AND NOT has_table_privilege('messaging_app', 'public.customers', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'),
  'messaging_app: SELECT/INSERT/UPDATE/DELETE on the two tables, nothing else (no TRUNCATE/REFERENCES, nothing on distributors/customers)');

SELECT pg_temp.ok(provolatile = 's' AND NOT prosecdef AND prorettype = 'uuid'::regtype,
                  'messaging_current_distributor_id() is STABLE, SECURITY INVOKER, returns uuid')
  FROM pg_catalog.pg_proc WHERE oid = 'public.messaging_current_distributor_id()'::regprocedure;

-- Migration 003: the event heads function and the role that owns it.
SELECT pg_temp.ok(
  NOT rolsuper AND NOT rolbypassrls AND NOT rolcanlogin AND NOT rolcreaterole
  AND NOT rolcreatedb AND NOT rolreplication AND NOT rolinherit
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid OR m.member = r.oid),
  'messaging_event_reader is NOSUPERUSER NOBYPASSRLS NOLOGIN NOCREATEROLE NOCREATEDB NOREPLICATION NOINHERIT, no members, member of nothing',
  format('%s', r))
  FROM pg_catalog.pg_roles r WHERE rolname = 'messaging_event_reader';

SELECT pg_temp.ok(
  p.prosecdef AND p.proowner = 'messaging_event_reader'::regrole
  AND p.proconfig = ARRAY['search_path=pg_catalog, pg_temp']
  AND has_function_privilege('messaging_app', p.oid, 'EXECUTE')
  AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc o WHERE o.proowner = p.proowner AND o.oid <> p.oid)
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relowner = p.proowner)
  AND p.proargnames = ARRAY['from_xid', 'to_xid', 'distributor_id', 'last_xid', 'last_seq'],
  'messaging_event_heads(): SECURITY DEFINER, owned by messaging_event_reader (owns nothing else), '
  'fixed search_path, EXECUTE for messaging_app and not PUBLIC, returns ids and positions only',
  format('%s', p))
  FROM pg_catalog.pg_proc p WHERE p.oid = 'public.messaging_event_heads(xid8, xid8)'::regprocedure;

SELECT pg_temp.ok(
  has_column_privilege('messaging_event_reader', 'public.message_events', 'distributor_id', 'SELECT')
  AND has_column_privilege('messaging_event_reader', 'public.message_events', 'xid', 'SELECT')
  AND has_column_privilege('messaging_event_reader', 'public.message_events', 'seq', 'SELECT')
  AND NOT has_column_privilege('messaging_event_reader', 'public.message_events', 'message_state', 'SELECT')
  AND NOT has_column_privilege('messaging_event_reader', 'public.message_events', 'message_id', 'SELECT')
  AND NOT has_table_privilege('messaging_event_reader', 'public.message_events', 'INSERT, UPDATE, DELETE, TRUNCATE')
  AND NOT has_table_privilege('messaging_event_reader', 'public.messages', 'SELECT')
  AND NOT has_table_privilege('messaging_event_reader', 'public.conversations', 'SELECT'),
  'messaging_event_reader may read event positions (distributor_id, xid, seq) and nothing else');

SELECT pg_temp.ok(
  (SELECT count(*) FROM pg_catalog.pg_policies WHERE tablename = 'message_events'
      AND policyname = 'message_events_heads' AND cmd = 'SELECT' AND roles = '{messaging_event_reader}') = 1
  AND (SELECT count(*) FROM pg_catalog.pg_policies WHERE tablename = 'message_events'
          AND roles = '{messaging_event_pruner}'
          AND ((policyname = 'message_events_prune' AND cmd = 'DELETE')
               OR (policyname = 'message_events_prune_read' AND cmd = 'SELECT'))) = 2
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policies WHERE tablename = 'message_events'
                     AND policyname NOT IN ('message_events_heads', 'message_events_prune',
                                            'message_events_prune_read')
                     AND roles <> '{public}'),
  'message_events: the only role-specific policies are message_events_heads (reader) and '
  'message_events_prune / _prune_read (pruner)');

-- Migration 004: pruning through an owner-side function, nothing for PUBLIC.
SELECT pg_temp.ok(
  NOT rolsuper AND NOT rolbypassrls AND NOT rolcanlogin AND NOT rolcreaterole
  AND NOT rolcreatedb AND NOT rolreplication AND NOT rolinherit
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m WHERE m.roleid = r.oid OR m.member = r.oid),
  'messaging_event_pruner is NOSUPERUSER NOBYPASSRLS NOLOGIN NOCREATEROLE NOCREATEDB NOREPLICATION NOINHERIT, no members, member of nothing',
  format('%s', r))
  FROM pg_catalog.pg_roles r WHERE rolname = 'messaging_event_pruner';

SELECT pg_temp.ok(
  p.prosecdef AND p.proowner = 'messaging_event_pruner'::regrole
  AND p.proconfig = ARRAY['search_path=pg_catalog, pg_temp']
  AND has_function_privilege('messaging_app', p.oid, 'EXECUTE')
  AND NOT has_function_privilege('public', p.oid, 'EXECUTE'),
  format('%s(): SECURITY DEFINER, owned by messaging_event_pruner, fixed search_path, '
         'EXECUTE for messaging_app and not PUBLIC', p.proname),
  format('%s', p))
  FROM pg_catalog.pg_proc p
 WHERE p.oid IN ('public.messaging_prune_events(public.messaging_event_retention)'::regprocedure,
                 'public.messaging_event_low_water()'::regprocedure)
 ORDER BY p.proname;

SELECT pg_temp.ok(
  NOT has_table_privilege('messaging_app', 'public.message_events', 'DELETE')
  AND NOT has_table_privilege('messaging_app', 'public.message_events_low_water', 'SELECT, INSERT, UPDATE, DELETE')
  AND NOT has_table_privilege('public', 'public.message_events_low_water', 'SELECT')
  AND has_table_privilege('messaging_event_pruner', 'public.message_events', 'DELETE')
  AND NOT has_column_privilege('messaging_event_pruner', 'public.message_events', 'message_state', 'SELECT')
  AND NOT has_column_privilege('messaging_event_pruner', 'public.message_events', 'distributor_id', 'SELECT'),
  'messaging_app cannot DELETE from message_events; the pruner deletes and reads positions and times only');

SELECT pg_temp.ok(
  NOT EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
               WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'messaging%'
                 AND (p.proconfig IS NULL OR NOT p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']
                      OR has_function_privilege('public', p.oid, 'EXECUTE'))),
  'every messaging function has a fixed search_path and no EXECUTE for PUBLIC');

SELECT pg_temp.ok(pg_get_functiondef('public.messaging_record_message_event()'::regprocedure) NOT LIKE '%notify%',
                  'the change-log trigger sends no NOTIFY (wake-ups are out of the write transaction)');

-- ---------------------------------------------------------------------------
-- No tenant: never set (NULL) -- must run before anything sets the GUC
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.act_as('app');
SELECT pg_temp.ok(current_setting('app.distributor_id', true) IS NULL
                  AND pg_temp.visible() = 'conversations=0 messages=0',
                  'app role, tenant never set (NULL): sees nothing', pg_temp.visible());
SELECT pg_temp.ok(pg_temp.rows_of('UPDATE public.conversations SET unread_count = 7') = 0
                  AND pg_temp.rows_of('DELETE FROM public.messages') = 0,
                  'app role, tenant never set: UPDATE and DELETE touch nothing');
SELECT pg_temp.throws(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel)
                               VALUES (%L, %L, 'email')$q$, pg_temp.uid('A'), pg_temp.uid('CA')),
                      '42501: new row violates row-level security policy',
                      'app role, tenant never set: INSERT rejected by RLS');
SELECT pg_temp.ok((SELECT count(*) FROM public.message_events) = 0
                  AND (SELECT array_agg(h.distributor_id)
                         FROM public.messaging_event_heads('0'::xid8, pg_snapshot_xmax(pg_current_snapshot())) h)
                      @> ARRAY[pg_temp.uid('A'), pg_temp.uid('B')],
                  'app role, tenant never set: sees no event, but messaging_event_heads() names A and B');
ROLLBACK;

-- ---------------------------------------------------------------------------
-- The tenant function, case by case (as superuser, rolled back)
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.ok(pg_temp.tenant_for(app, claims) IS NOT DISTINCT FROM expected::uuid,
                  'messaging_current_distributor_id(): ' || description,
                  format('app=%L claims=%L expected %s got %s', app, claims, expected,
                         pg_temp.tenant_for(app, claims)))
  FROM (VALUES
    (1,  '', '', NULL, 'both empty -> NULL'),
    (2,  'a0000000-0000-4000-8000-00000000000a', '', 'a0000000-0000-4000-8000-00000000000a', 'app setting only -> it'),
    (3,  'A0000000-0000-4000-8000-00000000000A', '', 'a0000000-0000-4000-8000-00000000000a', 'upper-case app setting accepted'),
    (4,  'not-a-uuid', '', NULL, 'malformed app setting -> NULL'),
    (5,  ' a0000000-0000-4000-8000-00000000000a', '', NULL, 'app setting with a space -> NULL'),
    (6,  '{a0000000-0000-4000-8000-00000000000a}', '', NULL, 'non-canonical (braced) app setting -> NULL'),
    (7,  'a00000000000400080000000000000a', '', NULL, 'non-canonical (no hyphens) app setting -> NULL'),
    (8,  '', '{"distributor_id":"a0000000-0000-4000-8000-00000000000a"}', 'a0000000-0000-4000-8000-00000000000a', 'JWT claim only -> it'),
    (9,  '', '{"distributor_id":"a0000000-0000-4000-8000-00000000000a","role":"authenticated"}', 'a0000000-0000-4000-8000-00000000000a', 'JWT claim among other claims -> it'),
    (10, '', '{"distributor_id":', NULL, 'malformed claims JSON -> NULL, no error'),
    (11, '', 'not json at all', NULL, 'claims not JSON -> NULL, no error'),
    (12, '', '{"distributor_id":"nope"}', NULL, 'claim not a UUID -> NULL'),
    (13, '', '{"distributor_id":42}', NULL, 'claim a number -> NULL'),
    (14, '', '{"distributor_id":null}', NULL, 'claim JSON null -> NULL'),
    (15, '', '{"distributor_id":{"id":"a0000000-0000-4000-8000-00000000000a"}}', NULL, 'claim an object -> NULL'),
    (16, '', '["a0000000-0000-4000-8000-00000000000a"]', NULL, 'claims an array -> NULL'),
    (17, '', '"a0000000-0000-4000-8000-00000000000a"', NULL, 'claims a JSON string -> NULL'),
    (18, '', '{"role":"anon"}', NULL, 'claims without distributor_id, no app setting -> NULL'),
    (19, 'a0000000-0000-4000-8000-00000000000a', '{"role":"authenticated"}', 'a0000000-0000-4000-8000-00000000000a', 'claims without distributor_id + app setting -> app setting'),
    (20, 'a0000000-0000-4000-8000-00000000000a', '{"distributor_id":"a0000000-0000-4000-8000-00000000000a"}', 'a0000000-0000-4000-8000-00000000000a', 'app setting and claim agree -> it'),
    (21, 'a0000000-0000-4000-8000-00000000000a', '{"distributor_id":"A0000000-0000-4000-8000-00000000000A"}', 'a0000000-0000-4000-8000-00000000000a', 'agreeing in different case -> it'),
    (22, 'a0000000-0000-4000-8000-00000000000a', '{"distributor_id":"b0000000-0000-4000-8000-00000000000b"}', NULL, 'app setting and claim disagree -> NULL'),
    (23, 'a0000000-0000-4000-8000-00000000000a', '{"distributor_id":', NULL, 'valid app setting + malformed claims -> NULL'),
    (24, 'a0000000-0000-4000-8000-00000000000a', '{"distributor_id":"nope"}', NULL, 'valid app setting + non-UUID claim -> NULL'),
    (25, 'junk', '{"distributor_id":"a0000000-0000-4000-8000-00000000000a"}', NULL, 'malformed app setting + valid claim -> NULL')
  ) AS c (ord, app, claims, expected, description)
 ORDER BY ord;
ROLLBACK;

-- ---------------------------------------------------------------------------
-- App role acting as A: sees and changes only A's rows
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=2 messages=3',
                  'app role as A: sees exactly A''s 2 conversations and 3 messages', pg_temp.visible());
SELECT pg_temp.ok(NOT EXISTS (SELECT 1 FROM public.conversations WHERE distributor_id <> pg_temp.uid('A'))
                  AND NOT EXISTS (SELECT 1 FROM public.messages WHERE distributor_id <> pg_temp.uid('A'))
                  AND NOT EXISTS (SELECT 1 FROM public.messages WHERE id = pg_temp.uid('MB1'))
                  AND NOT EXISTS (SELECT 1 FROM public.messages WHERE external_message_id = 'SM-B-1'),
                  'app role as A: no row of B, by id or by external id');
SELECT pg_temp.ok(pg_temp.rows_of(format('UPDATE public.conversations SET unread_count = 9 WHERE id = %L', pg_temp.uid('B1'))) = 0
                  AND pg_temp.rows_of(format('UPDATE public.messages SET content = %L WHERE distributor_id = %L', 'pwned', pg_temp.uid('B'))) = 0,
                  'app role as A: UPDATE of B''s rows touches nothing');
SELECT pg_temp.ok(pg_temp.rows_of(format('DELETE FROM public.messages WHERE id = %L', pg_temp.uid('MB1'))) = 0
                  AND pg_temp.rows_of(format('DELETE FROM public.conversations WHERE id = %L', pg_temp.uid('B1'))) = 0,
                  'app role as A: DELETE of B''s rows touches nothing');
SELECT pg_temp.ok(pg_temp.rows_of('UPDATE public.conversations SET unread_count = unread_count + 1') = 2,
                  'app role as A: unfiltered UPDATE touches only A''s 2 conversations');
SELECT pg_temp.throws(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel)
                               VALUES (%L, %L, 'email')$q$, pg_temp.uid('B'), pg_temp.uid('CB')),
                      '42501: new row violates row-level security policy for table "conversations"',
                      'app role as A: INSERT of a conversation for B rejected');
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status)
                               VALUES (%L, %L, 'outbound', 'queued')$q$, pg_temp.uid('B1'), pg_temp.uid('B')),
                      '42501: new row violates row-level security policy for table "messages"',
                      'app role as A: INSERT of a message for B rejected');
SELECT pg_temp.throws(format('UPDATE public.conversations SET distributor_id = %L WHERE id = %L', pg_temp.uid('B'), pg_temp.uid('A2')),
                      '42501: new row violates row-level security policy',
                      'app role as A: moving A''s conversation to B rejected (WITH CHECK)');
SELECT pg_temp.throws(format('UPDATE public.messages SET distributor_id = %L WHERE id = %L', pg_temp.uid('B'), pg_temp.uid('MA3')),
                      '42501: new row violates row-level security policy',
                      'app role as A: moving A''s message to B rejected (WITH CHECK)');
SELECT pg_temp.throws(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel)
                               VALUES (%L, %L, 'email') ON CONFLICT DO NOTHING$q$, pg_temp.uid('A'), pg_temp.uid('CA')),
                      'no error', 'app role as A: INSERT of its own conversation allowed');
ROLLBACK;

BEGIN;
SELECT pg_temp.ok(
  (SELECT count(*) FROM public.conversations WHERE distributor_id = pg_temp.uid('B') AND unread_count = 0) = 1
  AND (SELECT content FROM public.messages WHERE id = pg_temp.uid('MB1')) = 'secret of B',
  'B''s rows are intact (checked as superuser)');
COMMIT;

-- ---------------------------------------------------------------------------
-- No tenant: '' after a transaction-local setting ended, and '' set explicitly
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.act_as('app');
SELECT pg_temp.ok(current_setting('app.distributor_id', true) = ''
                  AND pg_temp.visible() = 'conversations=0 messages=0',
                  'app role, next transaction after acting as A (setting is ''''): sees nothing', pg_temp.visible());
COMMIT;

SELECT set_config('app.distributor_id', pg_temp.uid('A')::text, false) IS NOT NULL AS set_session_tenant \gset
SELECT set_config('app.distributor_id', '', false) IS NOT NULL AS cleared_session_tenant \gset
BEGIN;
SELECT pg_temp.act_as('app');
SELECT pg_temp.ok(current_setting('app.distributor_id', true) = ''
                  AND pg_temp.visible() = 'conversations=0 messages=0'
                  AND pg_temp.rows_of('UPDATE public.messages SET content = content') = 0,
                  'app role, set_config(''app.distributor_id'', '''', false) then new transaction: sees and updates nothing',
                  pg_temp.visible());
COMMIT;

BEGIN;
SELECT pg_temp.act_as('app');
SELECT set_config('app.distributor_id', 'not-a-uuid', true) IS NOT NULL AS junk \gset
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=0 messages=0',
                  'app role, malformed app.distributor_id: zero rows, no error');
ROLLBACK;

-- ---------------------------------------------------------------------------
-- Supabase / PostgREST path: request.jwt.claims
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.act_as('app');
SELECT set_config('request.jwt.claims', format('{"sub":"user-1","role":"authenticated","distributor_id":"%s"}', pg_temp.uid('A')), true) IS NOT NULL AS claims \gset
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=2 messages=3'
                  AND NOT EXISTS (SELECT 1 FROM public.conversations WHERE distributor_id <> pg_temp.uid('A')),
                  'JWT claims for A: sees exactly A''s rows', pg_temp.visible());
SELECT pg_temp.throws(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel)
                               VALUES (%L, %L, 'email')$q$, pg_temp.uid('B'), pg_temp.uid('CB')),
                      '42501: new row violates row-level security policy',
                      'JWT claims for A: INSERT for B rejected');
SELECT pg_temp.ok(pg_temp.rows_of(format('DELETE FROM public.conversations WHERE id = %L', pg_temp.uid('B1'))) = 0,
                  'JWT claims for A: DELETE of B''s conversation touches nothing');
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app');
SELECT set_config('request.jwt.claims', '{"distributor_id":', true) IS NOT NULL AS claims \gset
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=0 messages=0', 'malformed JWT claims JSON: zero rows, no error');
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app');
SELECT set_config('request.jwt.claims', '{"distributor_id":"not-a-uuid"}', true) IS NOT NULL AS claims \gset
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=0 messages=0', 'non-UUID distributor_id claim: zero rows, no error');
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app');
SELECT set_config('request.jwt.claims', '{"distributor_id":12345}', true) IS NOT NULL AS claims \gset
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=0 messages=0', 'non-string distributor_id claim: zero rows, no error');
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT set_config('request.jwt.claims', format('{"distributor_id":"%s"}', pg_temp.uid('B')), true) IS NOT NULL AS claims \gset
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=0 messages=0',
                  'app setting A with JWT claim B (conflict): zero rows', pg_temp.visible());
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT set_config('request.jwt.claims', format('{"distributor_id":"%s"}', pg_temp.uid('A')), true) IS NOT NULL AS claims \gset
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=2 messages=3',
                  'app setting A with JWT claim A (agree): A''s rows', pg_temp.visible());
ROLLBACK;

-- ---------------------------------------------------------------------------
-- The table owner (non-superuser, no SET ROLE to the app role): forced RLS
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.act_as('owner');
SELECT pg_temp.ok(NOT (SELECT rolsuper OR rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user)
                  AND pg_has_role(current_user, (SELECT relowner FROM pg_catalog.pg_class WHERE oid = 'public.conversations'::regclass), 'USAGE')
                  AND pg_temp.visible() = 'conversations=0 messages=0',
                  'table owner (non-superuser), no tenant: sees nothing', pg_temp.visible());
SELECT pg_temp.throws(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel)
                               VALUES (%L, %L, 'email')$q$, pg_temp.uid('A'), pg_temp.uid('CA')),
                      '42501: new row violates row-level security policy',
                      'table owner, no tenant: INSERT rejected');
SELECT set_config('app.distributor_id', pg_temp.uid('A')::text, true) IS NOT NULL AS tenant \gset
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=2 messages=3',
                  'table owner as A: sees exactly A''s rows', pg_temp.visible());
SELECT pg_temp.ok(pg_temp.rows_of(format('UPDATE public.conversations SET unread_count = 5 WHERE distributor_id = %L', pg_temp.uid('B'))) = 0
                  AND pg_temp.rows_of(format('DELETE FROM public.messages WHERE distributor_id = %L', pg_temp.uid('B'))) = 0
                  AND pg_temp.rows_of(format('DELETE FROM public.conversations WHERE id = %L', pg_temp.uid('B1'))) = 0,
                  'table owner as A: UPDATE/DELETE of B''s rows touch nothing');
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status)
                               VALUES (%L, %L, 'outbound', 'queued')$q$, pg_temp.uid('B1'), pg_temp.uid('B')),
                      '42501: new row violates row-level security policy',
                      'table owner as A: INSERT of a message for B rejected');
ROLLBACK;

-- ---------------------------------------------------------------------------
-- Composite foreign key: messages.distributor_id = its conversation's
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status)
                               VALUES (%L, %L, 'inbound', 'received')$q$, pg_temp.uid('A1'), pg_temp.uid('B')),
                      '23503 messages_conversation_id_distributor_id_fkey',
                      'composite FK: a message of A''s conversation with distributor B rejected (even as superuser)');
SELECT pg_temp.act_as('app', 'B');
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status)
                               VALUES (%L, %L, 'inbound', 'received')$q$, pg_temp.uid('A1'), pg_temp.uid('B')),
                      '23503 messages_conversation_id_distributor_id_fkey',
                      'composite FK: B cannot attach a message (passing RLS as B) to A''s conversation');
SELECT pg_temp.throws(format('UPDATE public.messages SET conversation_id = %L WHERE id = %L', pg_temp.uid('A1'), pg_temp.uid('MB1')),
                      '23503 messages_conversation_id_distributor_id_fkey',
                      'composite FK: B cannot move its message into A''s conversation');
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status)
                               VALUES (%L, %L, 'inbound', 'received')$q$, gen_random_uuid(), pg_temp.uid('B')),
                      '23503 messages_conversation_id_distributor_id_fkey',
                      'composite FK: same error for a conversation that does not exist (no existence leak)');
ROLLBACK;

-- ---------------------------------------------------------------------------
-- Unique keys (all include distributor_id)
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.throws(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel)
                               VALUES (%L, %L, 'whatsapp')$q$, pg_temp.uid('A'), pg_temp.uid('CA')),
                      '23505 idx_conversations_unique_active',
                      'second active conversation for (A, customer, whatsapp) rejected');
SELECT pg_temp.ok(pg_temp.rows_of(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel)
                                            VALUES (%L, %L, 'whatsapp')
                                            ON CONFLICT (distributor_id, customer_id, channel) WHERE status = 'active'
                                            DO NOTHING$q$, pg_temp.uid('A'), pg_temp.uid('CA'))) = 0,
                  'ON CONFLICT (distributor_id, customer_id, channel) WHERE status = ''active'' DO NOTHING infers the partial index');
SELECT pg_temp.ok(pg_temp.rows_of(format($q$UPDATE public.conversations SET status = 'archived' WHERE id = %L$q$, pg_temp.uid('A1'))) = 1,
                  'archive the active whatsapp conversation of (A, customer)');
SELECT pg_temp.throws(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel)
                               VALUES (%L, %L, 'whatsapp')$q$, pg_temp.uid('A'), pg_temp.uid('CA')),
                      'no error', 'a new active conversation is allowed once the first is archived');
SELECT pg_temp.throws(format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel, status)
                               VALUES (%L, %L, 'whatsapp', 'closed')$q$, pg_temp.uid('A'), pg_temp.uid('CA')),
                      'no error', 'any number of non-active conversations allowed');
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status, external_message_id)
                               VALUES (%L, %L, 'inbound', 'received', 'SM-A-1')$q$, pg_temp.uid('A2'), pg_temp.uid('A')),
                      '23505 idx_messages_unique_external_id',
                      'duplicate external_message_id within A rejected');
SELECT pg_temp.ok(pg_temp.rows_of(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status, external_message_id)
                                            VALUES (%L, %L, 'inbound', 'received', 'SM-A-1')
                                            ON CONFLICT (distributor_id, external_message_id) WHERE external_message_id IS NOT NULL
                                            DO NOTHING$q$, pg_temp.uid('A2'), pg_temp.uid('A'))) = 0,
                  'ON CONFLICT (distributor_id, external_message_id) WHERE external_message_id IS NOT NULL DO NOTHING infers the partial index');
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status, external_message_id)
                               VALUES (%L, %L, 'inbound', 'received', 'SM-B-1')$q$, pg_temp.uid('A2'), pg_temp.uid('A')),
                      'no error', 'A may use an external_message_id that B already has (unique per distributor)');
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status, external_message_id)
                               VALUES (%L, %L, 'inbound', 'received', '')$q$, pg_temp.uid('A2'), pg_temp.uid('A')),
                      '23514 messages_external_message_id_check',
                      'empty external_message_id rejected (use NULL)');
SELECT pg_temp.ok(pg_temp.rows_of(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status)
                                            SELECT %L, %L, 'outbound', 'queued' FROM generate_series(1, 3)$q$,
                                            pg_temp.uid('A2'), pg_temp.uid('A'))) = 3,
                  'any number of messages without external_message_id');
ROLLBACK;

-- ---------------------------------------------------------------------------
-- Cascades, triggers, generated inbox_at, checks
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.ok(pg_temp.rows_of(format('DELETE FROM public.conversations WHERE id = %L', pg_temp.uid('A1'))) = 1,
                  'app role as A: delete conversation A1');
RESET ROLE;
SELECT pg_temp.ok((SELECT count(*) FROM public.messages WHERE conversation_id = pg_temp.uid('A1')) = 0
                  AND (SELECT count(*) FROM public.messages WHERE conversation_id = pg_temp.uid('A2')) = 1
                  AND (SELECT count(*) FROM public.messages WHERE distributor_id = pg_temp.uid('B')) = 1,
                  'deleting a conversation cascades to its messages only (checked as superuser)');
ROLLBACK;

BEGIN;
DELETE FROM public.distributors WHERE id = pg_temp.uid('B');
SELECT pg_temp.ok(NOT EXISTS (SELECT 1 FROM public.conversations WHERE distributor_id = pg_temp.uid('B'))
                  AND NOT EXISTS (SELECT 1 FROM public.messages WHERE distributor_id = pg_temp.uid('B'))
                  AND pg_temp.visible() = 'conversations=2 messages=3',
                  'deleting a distributor cascades to its conversations and messages');
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.ok(pg_temp.rows_of(format($q$UPDATE public.messages SET content = 'v2', version = 100 WHERE id = %L$q$,
                                         pg_temp.uid('MA2'))) = 1,
                  'app role as A: update a message, trying to set its version');
SELECT pg_temp.ok((SELECT version FROM public.messages WHERE id = pg_temp.uid('MA2')) = 2
                  AND (SELECT version FROM public.messages WHERE id = pg_temp.uid('MA1')) = 1,
                  'version: 1 at creation, +1 per UPDATE, a value the writer sets is ignored');
SELECT pg_temp.ok((SELECT event_type = 'updated' AND message_state ->> 'content' = 'v2'
                          AND (message_state ->> 'version')::int = 2
                     FROM public.message_events WHERE message_id = pg_temp.uid('MA2')
                    ORDER BY xid DESC, seq DESC LIMIT 1),
                  'the change log records the message state after the change');
SELECT pg_temp.ok(pg_temp.rows_of(format('DELETE FROM public.messages WHERE id = %L', pg_temp.uid('MA2'))) = 1,
                  'app role as A: delete that message');
SELECT pg_temp.ok((SELECT event_type = 'deleted' AND message_state ->> 'content' = 'v2'
                              AND (jsonb_populate_record(NULL::public.messages, message_state)).version = 2
                         FROM public.message_events WHERE message_id = pg_temp.uid('MA2')
                        ORDER BY xid DESC, seq DESC LIMIT 1),
                  'a deleted event records the last state, readable as a messages row');
ROLLBACK;

-- Retention (migration 004): only through messaging_prune_events(), which
-- refuses less than an hour and deletes every tenant's older events only.
BEGIN;
UPDATE public.message_events SET created_at = now() - interval '8 days'
 WHERE message_id IN (pg_temp.uid('MA1'), pg_temp.uid('MB1'));
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.throws('DELETE FROM public.message_events', '42501',
                      'app role as A: DELETE on message_events is denied');
SELECT pg_temp.throws($q$SELECT public.messaging_prune_events('59 minutes')$q$, '23514',
                      'app role: messaging_prune_events() refuses a retention below an hour');
SELECT pg_temp.ok(public.messaging_prune_events('7 days') = 2,
                  'app role: messaging_prune_events(''7 days'') deletes the two old events, of A and B');
SELECT pg_temp.ok((SELECT pruned_at IS NOT NULL FROM public.messaging_event_low_water()),
                  'app role: messaging_event_low_water() shows the mark moved');
RESET ROLE;
SELECT pg_temp.ok(NOT EXISTS (SELECT 1 FROM public.message_events
                               WHERE message_id IN (pg_temp.uid('MA1'), pg_temp.uid('MB1')))
                  AND (SELECT count(*) FROM public.message_events) > 0
                  AND pg_temp.visible() = 'conversations=3 messages=4',
                  'pruning removed exactly the old events, of both tenants, and no message');
ROLLBACK;

BEGIN;
SELECT pg_temp.throws(format('DELETE FROM public.customers WHERE id = %L', pg_temp.uid('CB')),
                      '23503 conversations_customer_id_fkey',
                      'a customer with conversations cannot be deleted (RESTRICT)');
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app', 'A');
-- (A statement does not see changes made by functions it calls: its snapshot
-- is older. So each change is its own statement, checked by the next one.)
SELECT pg_temp.ok(pg_temp.rows_of(format($q$UPDATE public.conversations SET metadata = '{"k":1}' WHERE id = %L$q$, pg_temp.uid('A1'))) = 1
                  AND pg_temp.rows_of(format($q$UPDATE public.messages SET updated_at = '2000-01-01', ai_processing_status = 'completed' WHERE id = %L$q$, pg_temp.uid('MA1'))) = 1,
                  'app role as A: update a conversation and a message (setting updated_at explicitly on the message)');
SELECT pg_temp.ok((SELECT updated_at = now() AND created_at < now() FROM public.conversations WHERE id = pg_temp.uid('A1'))
                  AND (SELECT updated_at = now() FROM public.messages WHERE id = pg_temp.uid('MA1')),
                  'updated_at triggers set updated_at to now() on both tables, overriding an explicit value');
SELECT pg_temp.ok((SELECT array_agg(id ORDER BY inbox_at DESC, id DESC) FROM public.conversations)
                  = ARRAY[pg_temp.uid('A2'), pg_temp.uid('A1')],
                  'inbox order without messages: newest created first (inbox_at = created_at)');
SELECT pg_temp.ok(pg_temp.rows_of(format($q$UPDATE public.conversations SET last_message_at = '2024-03-01', last_message_preview = 'hi' WHERE id = %L$q$, pg_temp.uid('A1'))) = 1,
                  'app role as A: set last_message_at of A1');
SELECT pg_temp.ok((SELECT array_agg(id ORDER BY inbox_at DESC, id DESC) FROM public.conversations)
                      = ARRAY[pg_temp.uid('A1'), pg_temp.uid('A2')]
                  AND (SELECT inbox_at = '2024-03-01' FROM public.conversations WHERE id = pg_temp.uid('A1')),
                  'inbox_at follows last_message_at once set');
SELECT pg_temp.throws(format($q$UPDATE public.conversations SET inbox_at = now() WHERE id = %L$q$, pg_temp.uid('A1')),
                      '428C9', 'inbox_at cannot be written (generated column)');
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.throws(format($q$INSERT INTO public.messages (conversation_id, distributor_id, direction, delivery_status)
                               VALUES (%L, %L, 'outbound', 'queued')$q$, pg_temp.uid('A2'), pg_temp.uid('A')),
                      'no error', 'app role as A: insert a message with only the required columns');
SELECT pg_temp.ok(
  (SELECT status = 'active' AND unread_count = 0 AND metadata = '{}'::jsonb AND ai_context_summary IS NULL
     FROM public.conversations WHERE id = pg_temp.uid('A2'))
  AND (SELECT count(*) = 1 AND bool_and(message_type = 'text' AND ai_processing_status = 'pending'
                                        AND metadata = '{}'::jsonb AND created_at = now() AND updated_at = now())
         FROM public.messages WHERE content IS NULL),
  'defaults: status active, unread 0, metadata {}, message_type text, ai_processing_status pending, timestamps now()');
SELECT pg_temp.throws(sql, '23514 ' || constraint_name, 'check: ' || description)
  FROM (VALUES
    (1, format($q$INSERT INTO public.conversations (distributor_id, customer_id, channel) VALUES (%L, %L, 'fax')$q$, pg_temp.uid('A'), pg_temp.uid('CA')),
        'conversations_channel_check', 'channel must be whatsapp|sms|email'),
    (2, format($q$UPDATE public.conversations SET status = 'deleted' WHERE id = %L$q$, pg_temp.uid('A1')),
        'conversations_status_check', 'status must be active|archived|closed'),
    (3, format($q$UPDATE public.conversations SET unread_count = -1 WHERE id = %L$q$, pg_temp.uid('A1')),
        'conversations_unread_count_check', 'unread_count >= 0'),
    (4, format($q$UPDATE public.conversations SET metadata = '[1]' WHERE id = %L$q$, pg_temp.uid('A1')),
        'conversations_metadata_check', 'conversations.metadata must be a JSON object'),
    (5, format($q$UPDATE public.messages SET direction = 'sideways' WHERE id = %L$q$, pg_temp.uid('MA1')),
        'messages_direction_check', 'direction must be inbound|outbound'),
    (6, format($q$UPDATE public.messages SET message_type = 'video' WHERE id = %L$q$, pg_temp.uid('MA1')),
        'messages_message_type_check', 'message_type must be text|media|audio|file'),
    (7, format($q$UPDATE public.messages SET delivery_status = 'lost' WHERE id = %L$q$, pg_temp.uid('MA1')),
        'messages_delivery_status_check', 'delivery_status must be a Twilio status'),
    (8, format($q$UPDATE public.messages SET ai_processing_status = 'done' WHERE id = %L$q$, pg_temp.uid('MA1')),
        'messages_ai_processing_status_check', 'ai_processing_status must be pending|processing|completed|failed|skipped'),
    (9, format($q$UPDATE public.messages SET ai_extracted_data = '"text"' WHERE id = %L$q$, pg_temp.uid('MA1')),
        'messages_ai_extracted_data_check', 'ai_extracted_data must be a JSON object'),
    (10, format($q$UPDATE public.messages SET metadata = 'null' WHERE id = %L$q$, pg_temp.uid('MA1')),
        'messages_metadata_check', 'messages.metadata must be a JSON object')
  ) AS c (ord, sql, constraint_name, description)
 ORDER BY ord;
ROLLBACK;

-- ---------------------------------------------------------------------------
-- The tenant condition is an index condition under RLS
-- ---------------------------------------------------------------------------

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.ok(plan LIKE '%Index Scan using idx_conversations_inbox%'
                  AND plan ~ 'Index Cond: \(\(distributor_id = \$\d+\) AND \(ROW\(inbox_at, id\) <',
                  'ListConversations keyset page uses idx_conversations_inbox with the tenant as index condition', plan)
  FROM pg_temp.plan_of(format($q$SELECT * FROM public.conversations WHERE (inbox_at, id) < (now(), %L::uuid)
                                ORDER BY inbox_at DESC, id DESC LIMIT 51$q$, pg_temp.uid('B1'))) AS plan;
SELECT pg_temp.ok(plan LIKE '%Index Scan using idx_conversations_customer%' AND plan ~ 'distributor_id = \$\d+',
                  'ListConversations by customer uses idx_conversations_customer', plan)
  FROM pg_temp.plan_of(format($q$SELECT * FROM public.conversations WHERE customer_id = %L
                                ORDER BY inbox_at DESC, id DESC LIMIT 51$q$, pg_temp.uid('CA'))) AS plan;
SELECT pg_temp.ok(plan LIKE '%Index Scan using idx_conversations_channel%',
                  'ListConversations by channel uses idx_conversations_channel', plan)
  FROM pg_temp.plan_of($q$SELECT * FROM public.conversations WHERE channel = 'sms'
                          ORDER BY inbox_at DESC, id DESC LIMIT 51$q$) AS plan;
SELECT pg_temp.ok(plan LIKE '%Index Scan Backward using idx_messages_conversation%',
                  'ListMessages "create_time desc" page scans idx_messages_conversation backward', plan)
  FROM pg_temp.plan_of(format($q$SELECT * FROM public.messages WHERE conversation_id = %L
                                AND (created_at, id) < (now(), %L::uuid)
                                ORDER BY created_at DESC, id DESC LIMIT 51$q$, pg_temp.uid('A1'), pg_temp.uid('MA1'))) AS plan;
SELECT pg_temp.ok(plan LIKE '%Index Scan using idx_messages_unique_external_id%' AND plan ~ 'distributor_id = \$\d+',
                  'lookup by external_message_id uses idx_messages_unique_external_id', plan)
  FROM pg_temp.plan_of($q$SELECT * FROM public.messages WHERE external_message_id = 'SM-A-1'$q$) AS plan;
SELECT pg_temp.ok(plan LIKE '%Index Scan using idx_messages_ai_pending%',
                  'pending AI work uses idx_messages_ai_pending', plan)
  FROM pg_temp.plan_of($q$SELECT * FROM public.messages WHERE ai_processing_status = 'pending'
                          ORDER BY created_at LIMIT 10$q$) AS plan;
ROLLBACK;

-- ---------------------------------------------------------------------------
-- The app role cannot escape: DDL, TRUNCATE, row_security
-- ---------------------------------------------------------------------------
-- (Not tested: SET ROLE / RESET ROLE back to the login role. PostgreSQL checks
-- those against the SESSION user, so a superuser login can always switch back:
-- SET ROLE messaging_app guards against bugs that forget the tenant, not
-- against arbitrary SQL. Production should log in as a non-superuser.)

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.throws(sql, '42501', 'app role cannot ' || description)
  FROM (VALUES
    (1,  'ALTER TABLE public.conversations DISABLE ROW LEVEL SECURITY', 'disable RLS'),
    (2,  'ALTER TABLE public.messages NO FORCE ROW LEVEL SECURITY', 'un-force RLS'),
    (3,  'ALTER TABLE public.messages DROP CONSTRAINT messages_conversation_id_distributor_id_fkey', 'drop the composite FK'),
    (4,  'DROP POLICY conversations_tenant_select ON public.conversations', 'drop a policy'),
    (5,  'CREATE POLICY everything ON public.messages USING (true)', 'add a policy'),
    (6,  'DROP TABLE public.messages', 'DROP TABLE messages'),
    (7,  'DROP TABLE public.conversations CASCADE', 'DROP TABLE conversations'),
    (8,  'TRUNCATE public.messages', 'TRUNCATE (which would bypass RLS)'),
    (9,  'ALTER TABLE public.conversations OWNER TO messaging_app', 'take ownership'),
    (10, $q$CREATE OR REPLACE FUNCTION public.messaging_current_distributor_id() RETURNS uuid
            LANGUAGE sql AS $f$SELECT NULL::uuid$f$$q$, 'replace the tenant function'),
    (11, 'ALTER FUNCTION public.messaging_current_distributor_id() SECURITY DEFINER', 'alter the tenant function'),
    (12, 'DROP TRIGGER conversations_touch_updated_at ON public.conversations', 'drop a trigger'),
    (13, 'SELECT count(*) FROM public.customers', 'read customers'),
    (14, 'SELECT count(*) FROM public.distributors', 'read distributors')
  ) AS c (ord, sql, description)
 ORDER BY ord;
ROLLBACK;

BEGIN;
SELECT pg_temp.act_as('app', 'A');
SET LOCAL row_security = off;
SELECT pg_temp.throws('SELECT count(*) FROM public.conversations',
                      '42501: query would be affected by row-level security policy',
                      'app role with row_security = off gets an error, not the rows');
ROLLBACK;

-- The runner's bookkeeping table: a real one if present, else a stand-in
-- created by the owner the way the runner would, in a rolled-back transaction.
SELECT to_regclass('public.messaging_schema_migrations') IS NOT NULL AS has_bookkeeping \gset
BEGIN;
\if :has_bookkeeping
SELECT 'real messaging_schema_migrations' AS bookkeeping_kind \gset
\else
SELECT set_config('role', pg_get_userbyid(relowner), true) IS NOT NULL AS as_table_owner
  FROM pg_catalog.pg_class WHERE oid = 'public.conversations'::regclass \gset
CREATE TABLE public.messaging_schema_migrations (version text PRIMARY KEY, checksum text NOT NULL,
                                                 applied_at timestamptz NOT NULL DEFAULT now());
RESET ROLE;
SELECT 'stand-in messaging_schema_migrations created by the owner' AS bookkeeping_kind \gset
\endif
SELECT pg_temp.act_as('app', 'A');
SELECT pg_temp.throws('SELECT * FROM public.messaging_schema_migrations', '42501: permission denied',
                      'app role cannot read the migrations table (' || :'bookkeeping_kind' || ')');
SELECT pg_temp.throws($q$INSERT INTO public.messaging_schema_migrations (version, checksum) VALUES ('999', 'x')$q$,
                      '42501: permission denied',
                      'app role cannot write the migrations table (' || :'bookkeeping_kind' || ')');
ROLLBACK;

-- ---------------------------------------------------------------------------
-- Clean up (as superuser)
-- ---------------------------------------------------------------------------

RESET ROLE;
DELETE FROM public.distributors WHERE id IN (pg_temp.uid('A'), pg_temp.uid('B'));  -- cascades
DELETE FROM public.customers WHERE id IN (pg_temp.uid('CA'), pg_temp.uid('CB'));
SELECT pg_temp.ok(pg_temp.visible() = 'conversations=0 messages=0'
                  AND NOT EXISTS (SELECT 1 FROM public.customers WHERE id IN (pg_temp.uid('CA'), pg_temp.uid('CB')))
                  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname LIKE 'rls\_test\_owner\_%'),
                  'test rows removed, no stand-in role left');
SELECT '1..' || currval('pg_temp.tap_counter');
