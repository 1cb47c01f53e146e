-- 004_least_privilege.sql
--
-- Least privilege on every messaging object, and change-log retention that
-- one tenant's server cannot turn against another.
--
-- HOW TO APPLY
--   Idempotent like every migration: safe to run again (IF NOT EXISTS, CREATE
--   OR REPLACE, DROP ... IF EXISTS + CREATE, guarded DO blocks, REVOKE/GRANT).
--     psql -v ON_ERROR_STOP=1 -1 -f migrations/004_least_privilege.sql "$DATABASE_URL"
--   No BEGIN/COMMIT, no psql meta-commands, nothing that cannot run inside a
--   transaction block. Apply 000 to 003 first. Re-applying an earlier file by
--   hand undoes part of this one (001 grants EXECUTE on the tenant function
--   to PUBLIC, 002 DELETE on message_events to messaging_app, and 001/003
--   recreate trigger functions without a fixed search_path): always apply the
--   files in order, ending with the last one. scripts/verify.sql notices.
--
-- WHO CAN APPLY IT
--   The owner of the messaging objects (the role that applied 000 to 003),
--   with CREATEROLE the first time, to create the role messaging_event_pruner,
--   and the right to GRANT CREATE ON SCHEMA public, like 003. No superuser.
--
-- NOBODY ELSE GETS ANYTHING
--   PUBLIC, and Supabase's `anon` and `authenticated` where those roles exist
--   (default privileges in a Supabase project grant them ALL on new tables,
--   sequences and functions in public), lose every privilege on every object
--   the migrations create: the tables conversations, messages, message_events,
--   message_events_low_water and the runner's messaging_schema_migrations, the
--   identity sequence of message_events, the domain below and every function.
--   What remains is granted by name:
--     messaging_app (the role the server SETs in every transaction)
--       SELECT, INSERT, UPDATE, DELETE on conversations and messages (001);
--       SELECT, INSERT on message_events (no longer DELETE, see RETENTION);
--       EXECUTE on messaging_current_distributor_id(), messaging_event_heads(),
--       messaging_prune_events() and messaging_event_low_water(); nothing on
--       messaging_schema_migrations or message_events_low_water.
--     messaging_event_reader (003) and messaging_event_pruner (below): EXECUTE
--       on messaging_current_distributor_id(), which the tenant policies (TO
--       PUBLIC) call whenever those roles read message_events.
--   Row level security policies run their functions as the querying role, so
--   any other role that is granted a messaging table (e.g. `authenticated`,
--   to read messages through PostgREST with a distributor_id claim) also
--   needs EXECUTE on messaging_current_distributor_id(); without it, its
--   queries fail instead of returning rows. Identity columns and trigger
--   functions need no privilege of the writer (PostgreSQL does not check
--   them when a row is inserted or a trigger fires).
--
-- FIXED search_path
--   Every trigger function (messaging_touch_updated_at, messaging_bump_version,
--   messaging_record_message_event) now has SET search_path = pg_catalog,
--   pg_temp, like every SECURITY DEFINER function: a function never resolves
--   a name through a schema a caller could put first. Their bodies already
--   qualify every name outside pg_catalog.
--
-- RETENTION (replaces 002's prune policy)
--   002 let messaging_app DELETE from message_events under a session setting,
--   with a policy that picked events of every tenant older than the setting
--   (at least one hour). Now messaging_app has no DELETE on the log at all,
--   the policy message_events_prune of 002 is replaced, and pruning is one
--   function:
--     messaging_prune_events(retention messaging_event_retention) RETURNS bigint
--   which deletes the events of every tenant created before now() - retention
--   and returns how many it deleted. Its argument's domain,
--     messaging_event_retention  interval CHECK (VALUE >= interval '1 hour')
--   refuses a shorter retention (SQLSTATE 23514, constraint
--   messaging_event_retention_floor), so a compromised server cannot empty
--   the log under live streams; the function deletes nothing else and returns
--   no tenant data. It is SECURITY DEFINER, owned by the role
--     messaging_event_pruner  NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB
--                             NOCREATEROLE NOINHERIT NOREPLICATION
--   which holds USAGE on schema public, SELECT on message_events' columns xid,
--   seq and created_at only, DELETE on message_events, SELECT and UPDATE on
--   message_events_low_water, and two policies of its own on message_events:
--     message_events_prune       FOR DELETE TO messaging_event_pruner
--     message_events_prune_read  FOR SELECT TO messaging_event_pruner
--   both USING (created_at < now() - interval '1 hour'): even the pruner
--   cannot touch an event younger than the floor. It owns only its two
--   functions and has no members. (A non-superuser migrating role borrows
--   membership in it and in messaging_event_reader, and lends it CREATE on
--   public, to give it the functions and to revoke default grants on
--   messaging_event_heads(); all undone at the end, as in 003.) EXECUTE on
--   both functions: messaging_app only.
--
-- LOW-WATER MARK message_events_low_water (one row; owner and pruner only)
--   pruned_xid xid8, pruned_seq bigint: the highest (xid, seq) position any
--     prune has deleted ('0', 0 before the first one). It only grows.
--   pruned_at timestamptz: when it last moved (NULL: never).
--   Readers get it through
--     messaging_event_low_water() RETURNS TABLE (pruned_xid xid8, pruned_seq bigint, pruned_at timestamptz)
--   (SECURITY DEFINER as messaging_event_pruner, STABLE, always one row), in
--   the same statement and snapshot as the events they read: a stream whose
--   position is below the mark may have lost events to pruning and ends with
--   OUT_OF_RANGE (the client lists again) instead of silently skipping them.
--   Positions only, of no tenant in particular.
--   The functions' bodies are SQL-standard (BEGIN ATOMIC), so they depend on
--   the tables and domain they use: `DROP TABLE message_events CASCADE` and
--   `DROP DOMAIN messaging_event_retention CASCADE` (scripts/cleanup.sql)
--   remove them without the owner having to act as their role.
--
-- THE MIGRATIONS TABLE
--   messaging_schema_migrations (created by `messaging-server migrate`; absent
--   when the files are applied by hand) is readable and writable by its owner
--   only.

-- ---------------------------------------------------------------------------
-- The pruning role. Cluster-wide, so another database may be creating it
-- right now (see 001 for the same race on messaging_app).
-- ---------------------------------------------------------------------------

DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'messaging_event_pruner') THEN
    BEGIN
      CREATE ROLE messaging_event_pruner
        NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION;
      COMMENT ON ROLE messaging_event_pruner IS
        'Messaging: owns messaging_prune_events() and messaging_event_low_water() (SECURITY DEFINER); '
        'deletes change-log events older than an hour, nothing else.';
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
              WHERE rolname = 'messaging_event_pruner' AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role messaging_event_pruner exists but is SUPERUSER or BYPASSRLS'
      USING HINT = 'A superuser must run: ALTER ROLE messaging_event_pruner NOSUPERUSER NOBYPASSRLS;';
  END IF;
END
$do$;

-- ---------------------------------------------------------------------------
-- A loan to a non-superuser migrating role, undone at the end of the file (as
-- in 003): membership in messaging_event_pruner, to give it the functions
-- below (ALTER ... OWNER needs membership in the new owner, and the new owner
-- CREATE on the schema), and in messaging_event_reader, to revoke what default
-- privileges granted on its messaging_event_heads().
-- ---------------------------------------------------------------------------

DO $do$
DECLARE
  lender text;
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;  -- A superuser needs none of it.
  END IF;
  BEGIN
    GRANT CREATE ON SCHEMA public TO messaging_event_pruner;
  EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE EXCEPTION 'migration 004: % cannot grant CREATE on schema public to messaging_event_pruner: %',
      current_user, SQLERRM
      USING HINT = 'Apply it as the owner of schema public (the database owner on PostgreSQL 15+).';
  END;
  FOREACH lender IN ARRAY ARRAY['messaging_event_pruner', 'messaging_event_reader'] LOOP
    IF current_setting('server_version_num')::int >= 160000 THEN
      IF NOT pg_catalog.pg_has_role(current_user, lender, 'SET') THEN
        EXECUTE format('GRANT %I TO %I WITH INHERIT FALSE, SET TRUE', lender, current_user);
      END IF;
    ELSIF NOT pg_catalog.pg_has_role(current_user, lender, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', lender, current_user);
    END IF;
  END LOOP;
END
$do$;

-- ---------------------------------------------------------------------------
-- The low-water mark and the retention floor
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS public.message_events_low_water (
  singleton  boolean     NOT NULL DEFAULT true,
  pruned_xid xid8        NOT NULL DEFAULT '0',
  pruned_seq bigint      NOT NULL DEFAULT 0,
  pruned_at  timestamptz,
  CONSTRAINT message_events_low_water_pkey PRIMARY KEY (singleton),
  CONSTRAINT message_events_low_water_singleton CHECK (singleton)
);

COMMENT ON TABLE public.message_events_low_water IS
  'Messaging: the highest (xid, seq) position messaging_prune_events() deleted from message_events, '
  'and when it last moved. One row. Streams below it end with OUT_OF_RANGE.';

INSERT INTO public.message_events_low_water DEFAULT VALUES ON CONFLICT DO NOTHING;

DO $do$
BEGIN
  IF to_regtype('public.messaging_event_retention') IS NULL THEN
    CREATE DOMAIN public.messaging_event_retention AS interval
      CONSTRAINT messaging_event_retention_floor CHECK (VALUE >= interval '1 hour');
    COMMENT ON DOMAIN public.messaging_event_retention IS
      'Messaging: how long change-log events are kept; at least one hour, so live streams are never pruned.';
  END IF;
END
$do$;

-- ---------------------------------------------------------------------------
-- What the pruner may do
-- ---------------------------------------------------------------------------

GRANT USAGE ON SCHEMA public TO messaging_event_pruner;
GRANT SELECT (xid, seq, created_at), DELETE ON TABLE public.message_events TO messaging_event_pruner;
GRANT SELECT, UPDATE ON TABLE public.message_events_low_water TO messaging_event_pruner;

DROP POLICY IF EXISTS message_events_prune ON public.message_events;
CREATE POLICY message_events_prune ON public.message_events
  AS PERMISSIVE FOR DELETE TO messaging_event_pruner
  USING (created_at < now() - interval '1 hour');

DROP POLICY IF EXISTS message_events_prune_read ON public.message_events;
CREATE POLICY message_events_prune_read ON public.message_events
  AS PERMISSIVE FOR SELECT TO messaging_event_pruner
  USING (created_at < now() - interval '1 hour');

-- messaging_app prunes through the function only.
REVOKE DELETE ON TABLE public.message_events FROM messaging_app;

-- ---------------------------------------------------------------------------
-- The functions, given to messaging_event_pruner
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.messaging_prune_events(retention public.messaging_event_retention)
RETURNS bigint
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  -- Every data-modifying CTE runs to completion, referenced or not.
  WITH gone AS (
    DELETE FROM public.message_events e
     WHERE e.created_at < now() - retention
    RETURNING e.xid, e.seq
  ), newest AS (
    SELECT g.xid, g.seq FROM gone g ORDER BY g.xid DESC, g.seq DESC LIMIT 1
  ), mark AS (
    UPDATE public.message_events_low_water w
       SET pruned_xid = n.xid, pruned_seq = n.seq, pruned_at = now()
      FROM newest n
     WHERE (w.pruned_xid, w.pruned_seq) < (n.xid, n.seq)
    RETURNING w.pruned_xid
  )
  SELECT count(*) FROM gone;
END;

ALTER FUNCTION public.messaging_prune_events(public.messaging_event_retention) OWNER TO messaging_event_pruner;

COMMENT ON FUNCTION public.messaging_prune_events(public.messaging_event_retention) IS
  'Messaging: deletes the change-log events of every tenant created before now() - retention '
  '(at least 1 hour) and raises the low-water mark; returns the number deleted. SECURITY DEFINER '
  'as messaging_event_pruner; callable by messaging_app.';

CREATE OR REPLACE FUNCTION public.messaging_event_low_water()
RETURNS TABLE (pruned_xid xid8, pruned_seq bigint, pruned_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  -- Always one row, also if the table's row were missing.
  SELECT coalesce(w.pruned_xid, '0'::xid8), coalesce(w.pruned_seq, 0), w.pruned_at
    FROM (VALUES (true)) AS one (singleton)
    LEFT JOIN public.message_events_low_water w ON w.singleton = one.singleton;
END;

ALTER FUNCTION public.messaging_event_low_water() OWNER TO messaging_event_pruner;

COMMENT ON FUNCTION public.messaging_event_low_water() IS
  'Messaging: the highest change-log position pruning deleted, and when it moved (one row). '
  'SECURITY DEFINER as messaging_event_pruner; callable by messaging_app.';

-- ---------------------------------------------------------------------------
-- Fixed search_path on the trigger functions
-- ---------------------------------------------------------------------------

ALTER FUNCTION public.messaging_touch_updated_at() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.messaging_bump_version() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION public.messaging_record_message_event() SET search_path = pg_catalog, pg_temp;

-- ---------------------------------------------------------------------------
-- Nothing for PUBLIC, anon or authenticated; the rest by name
-- ---------------------------------------------------------------------------

DO $do$
DECLARE
  grantee text;
  object_name text;
BEGIN
  FOR grantee IN
    SELECT 'PUBLIC'
    UNION ALL
    SELECT quote_ident(rolname) FROM pg_catalog.pg_roles WHERE rolname IN ('anon', 'authenticated')
  LOOP
    FOREACH object_name IN ARRAY ARRAY[
        'public.conversations', 'public.messages', 'public.message_events',
        'public.message_events_low_water', 'public.messaging_schema_migrations'] LOOP
      IF to_regclass(object_name) IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON TABLE %s FROM %s', object_name, grantee);
      END IF;
    END LOOP;
    EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM %s',
                   pg_catalog.pg_get_serial_sequence('public.message_events', 'seq'), grantee);
    EXECUTE format('REVOKE ALL ON DOMAIN public.messaging_event_retention FROM %s', grantee);
    FOREACH object_name IN ARRAY ARRAY[
        'public.messaging_current_distributor_id()', 'public.messaging_touch_updated_at()',
        'public.messaging_bump_version()', 'public.messaging_record_message_event()',
        'public.messaging_event_heads(xid8, xid8)',
        'public.messaging_prune_events(public.messaging_event_retention)',
        'public.messaging_event_low_water()'] LOOP
      EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %s', object_name, grantee);
    END LOOP;
  END LOOP;
END
$do$;

-- The migrations table is the owner's alone.
DO $do$
BEGIN
  IF to_regclass('public.messaging_schema_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE public.messaging_schema_migrations FROM messaging_app;
  END IF;
END
$do$;

GRANT EXECUTE ON FUNCTION public.messaging_current_distributor_id()
  TO messaging_app, messaging_event_reader, messaging_event_pruner;
GRANT EXECUTE ON FUNCTION public.messaging_event_heads(xid8, xid8) TO messaging_app;
GRANT EXECUTE ON FUNCTION public.messaging_prune_events(public.messaging_event_retention) TO messaging_app;
GRANT EXECUTE ON FUNCTION public.messaging_event_low_water() TO messaging_app;

-- ---------------------------------------------------------------------------
-- Undo the loan: messaging_event_pruner keeps no CREATE, and (on PostgreSQL
-- <= 15, where members inherit a role's privileges and policies) neither
-- role keeps the migrating role as a member.
-- ---------------------------------------------------------------------------

DO $do$
DECLARE
  lender text;
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  REVOKE CREATE ON SCHEMA public FROM messaging_event_pruner;
  IF current_setting('server_version_num')::int >= 160000 THEN
    RETURN;
  END IF;
  FOREACH lender IN ARRAY ARRAY['messaging_event_pruner', 'messaging_event_reader'] LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members
                WHERE roleid = lender::regrole
                  AND member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN
      EXECUTE format('REVOKE %I FROM %I', lender, current_user);
    END IF;
  END LOOP;
END
$do$;
