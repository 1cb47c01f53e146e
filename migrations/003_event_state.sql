-- 003_event_state.sql
--
-- Events carry their own state, and wake-ups leave the write transaction.
--
-- HOW TO APPLY
--   Idempotent like every migration: safe to run again (ADD COLUMN IF NOT
--   EXISTS, CREATE OR REPLACE, DROP ... IF EXISTS + CREATE, guarded DO blocks).
--     psql -v ON_ERROR_STOP=1 -1 -f migrations/003_event_state.sql "$DATABASE_URL"
--   No BEGIN/COMMIT, no psql meta-commands, nothing that cannot run inside a
--   transaction block (the runner sends the file as one string in one
--   transaction). Apply 000, 001 and 002 first.
--
-- WHO CAN APPLY IT
--   The database owner with CREATEROLE, like 001 (no superuser). CREATEROLE is
--   used once per cluster to create the role messaging_event_reader (below),
--   and on PostgreSQL <= 15 to lend that role to the migrating role for the
--   duration of this file (see HEADS FUNCTION). The migrating role must be able
--   to GRANT CREATE ON SCHEMA public (the schema's owner, or the database owner
--   on PostgreSQL 15, where public belongs to pg_database_owner).
--
-- messages.version bigint NOT NULL DEFAULT 1
--   1 when the message is created, +1 on every UPDATE statement that touches
--   the row, by the BEFORE UPDATE trigger messages_bump_version (so every write
--   path counts: the server, psql, PostgREST). A value a writer sets is
--   ignored. Consumers order and deduplicate the states of one message by it.
--   Rows that existed before this migration start at 1.
--
-- message_events.message_state jsonb
--   The message row as it was right after the change, `to_jsonb(NEW)` for
--   created/updated and `to_jsonb(OLD)` (its last state) for deleted, written
--   by the same trigger that appends the event. A replayed event therefore
--   shows exactly what the live one showed, even if the message changed or
--   was deleted since. Readers decode it with
--     jsonb_populate_record(NULL::public.messages, e.message_state)
--   which yields a messages row (columns added to messages later are NULL in
--   older states). NULL for events written before this migration: readers
--   fall back to the current messages row (or the ids in the event).
--
-- NO NOTIFY IN THE TRIGGER
--   002's trigger sent pg_notify('messaging_events', '') in every writing
--   transaction. PostgreSQL serialises the commits of notifying transactions
--   (a global lock held until the commit record is flushed), which cost more
--   than half of the write throughput. The trigger now only appends the event;
--   the server sends one coalesced `NOTIFY messaging_events` after its own
--   writes (from a separate connection, synchronous_commit off), and every
--   replica polls messaging_event_heads() below, which also catches writes by
--   psql or PostgREST. See docs/streaming.md.
--
-- HEADS FUNCTION messaging_event_heads(from_xid xid8, to_xid xid8)
--     RETURNS TABLE (distributor_id uuid, last_xid xid8, last_seq bigint)
--   Per distributor with events whose xid is in [from_xid, to_xid): its newest
--   event position, (max xid, then max seq). Ids and positions only, never
--   message data, so a replica can learn which tenants to read without reading
--   as every tenant; a poll over a range with no events costs one index probe
--   on idx_message_events_xid, whatever the number of tenants.
--   message_events has FORCE ROW LEVEL SECURITY, so a SECURITY DEFINER
--   function owned by an ordinary role would still see only the (unset)
--   tenant's rows. The function is therefore owned by the role
--     messaging_event_reader  NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB
--                             NOCREATEROLE NOINHERIT NOREPLICATION
--   which holds USAGE on schema public, SELECT on message_events' columns
--   distributor_id, xid and seq only (not message_state), and the policy
--     message_events_heads  FOR SELECT TO messaging_event_reader USING (true).
--   It owns nothing else and has no members. EXECUTE: messaging_app only
--   (revoked from PUBLIC). SET search_path = pg_catalog, pg_temp.
--   Giving the function to that role needs, for the migrating non-superuser,
--   membership in it and CREATE on schema public for it; both are granted at
--   the start of the block below and revoked at its end (on PostgreSQL 16+
--   the membership is granted WITH INHERIT FALSE and kept: without inheritance
--   it lends no privilege, and the policy does not apply to it).
--   The body is SQL-standard (BEGIN ATOMIC), so the function depends on
--   message_events and `DROP TABLE message_events CASCADE` removes it too
--   (scripts/cleanup.sql), without the owner having to act as its role.
--
-- INDEXES
--   idx_message_events_xid (xid) -- messaging_event_heads' range scan.
--   Its write cost is measured by `bench/run.sh notify` (change-log cost).

-- ---------------------------------------------------------------------------
-- messages.version
-- ---------------------------------------------------------------------------

-- A constant default: existing rows get 1 without a table rewrite.
ALTER TABLE public.messages ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1;

COMMENT ON COLUMN public.messages.version IS
  'Messaging: 1 at creation, +1 on every UPDATE of the row (trigger messages_bump_version).';

CREATE OR REPLACE FUNCTION public.messaging_bump_version()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
  -- From OLD, not NEW: a writer cannot set (or reset) the version.
  NEW.version := OLD.version + 1;
  RETURN NEW;
END
$fn$;

COMMENT ON FUNCTION public.messaging_bump_version() IS
  'Messaging: BEFORE UPDATE trigger function on messages: version := OLD.version + 1.';

CREATE OR REPLACE TRIGGER messages_bump_version
  BEFORE UPDATE ON public.messages
  FOR EACH ROW EXECUTE FUNCTION public.messaging_bump_version();

-- ---------------------------------------------------------------------------
-- The change log carries the state; the trigger no longer NOTIFYs
-- ---------------------------------------------------------------------------

ALTER TABLE public.message_events ADD COLUMN IF NOT EXISTS message_state jsonb;

COMMENT ON COLUMN public.message_events.message_state IS
  'The message right after the change (deleted: its last state), as to_jsonb(messages row); '
  'NULL for events written before migration 003.';

COMMENT ON TABLE public.message_events IS
  'Change log of messages for StreamMessages, with each message state; read in (xid, seq) '
  'order below the xmin horizon.';

-- Appends the event, with the row as the change left it. The AFTER trigger
-- sees the final row: version and updated_at were set by the BEFORE triggers.
CREATE OR REPLACE FUNCTION public.messaging_record_message_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  row_data public.messages;
BEGIN
  IF TG_OP = 'DELETE' THEN
    row_data := OLD;
  ELSE
    row_data := NEW;
  END IF;
  INSERT INTO public.message_events
    (distributor_id, conversation_id, message_id, event_type, message_state)
  VALUES (row_data.distributor_id, row_data.conversation_id, row_data.id,
          CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END,
          to_jsonb(row_data));
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION public.messaging_record_message_event() IS
  'Trigger: records each message change, with the resulting message state, in message_events. '
  'Sends no NOTIFY (the server wakes its replicas itself).';

-- (The trigger messages_record_event from 002 keeps calling this function.)

-- ---------------------------------------------------------------------------
-- Which distributors have new events: messaging_event_heads()
-- ---------------------------------------------------------------------------

-- messaging_event_heads: WHERE xid >= $from AND xid < $to.
CREATE INDEX IF NOT EXISTS idx_message_events_xid
  ON public.message_events (xid);

-- The owning role. Cluster-wide, so another database may be creating it right
-- now (see 001 for the same race on messaging_app).
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'messaging_event_reader') THEN
    BEGIN
      CREATE ROLE messaging_event_reader
        NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION;
      COMMENT ON ROLE messaging_event_reader IS
        'Messaging: owns messaging_event_heads() (SECURITY DEFINER); reads event positions of every tenant, nothing else.';
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
              WHERE rolname = 'messaging_event_reader' AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role messaging_event_reader exists but is SUPERUSER or BYPASSRLS'
      USING HINT = 'A superuser must run: ALTER ROLE messaging_event_reader NOSUPERUSER NOBYPASSRLS;';
  END IF;
END
$do$;

GRANT USAGE ON SCHEMA public TO messaging_event_reader;
-- Positions only: the reader cannot select message_state or any tenant data.
GRANT SELECT (distributor_id, xid, seq) ON TABLE public.message_events TO messaging_event_reader;

DROP POLICY IF EXISTS message_events_heads ON public.message_events;
CREATE POLICY message_events_heads ON public.message_events
  AS PERMISSIVE FOR SELECT TO messaging_event_reader
  USING (true);

-- Let a non-superuser migrating role give the function to
-- messaging_event_reader (ALTER ... OWNER needs membership in the new owner,
-- and the new owner needs CREATE on the schema). Undone at the end of the file.
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;  -- A superuser needs neither.
  END IF;
  BEGIN
    GRANT CREATE ON SCHEMA public TO messaging_event_reader;
  EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE EXCEPTION 'migration 003: % cannot grant CREATE on schema public to messaging_event_reader: %',
      current_user, SQLERRM
      USING HINT = 'Apply it as the owner of schema public (the database owner on PostgreSQL 15+).';
  END;
  IF current_setting('server_version_num')::int >= 160000 THEN
    IF NOT pg_catalog.pg_has_role(current_user, 'messaging_event_reader', 'SET') THEN
      EXECUTE format('GRANT messaging_event_reader TO %I WITH INHERIT FALSE, SET TRUE', current_user);
    END IF;
  ELSIF NOT pg_catalog.pg_has_role(current_user, 'messaging_event_reader', 'MEMBER') THEN
    EXECUTE format('GRANT messaging_event_reader TO %I', current_user);
  END IF;
END
$do$;

CREATE OR REPLACE FUNCTION public.messaging_event_heads(from_xid xid8, to_xid xid8)
RETURNS TABLE (distributor_id uuid, last_xid xid8, last_seq bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  -- Newest (xid, seq) per distributor in the range; the index on xid bounds
  -- the scan to the range, so distributors without events cost nothing.
  SELECT DISTINCT ON (e.distributor_id) e.distributor_id, e.xid, e.seq
    FROM public.message_events e
   WHERE e.xid >= from_xid AND e.xid < to_xid
   ORDER BY e.distributor_id, e.xid DESC, e.seq DESC;
END;

ALTER FUNCTION public.messaging_event_heads(xid8, xid8) OWNER TO messaging_event_reader;

COMMENT ON FUNCTION public.messaging_event_heads(xid8, xid8) IS
  'Messaging: per distributor with events whose xid is in [from_xid, to_xid), its newest '
  'event position. Ids and positions only. SECURITY DEFINER as messaging_event_reader, whose '
  'policy sees every tenant''s event positions; callable by messaging_app.';

REVOKE ALL ON FUNCTION public.messaging_event_heads(xid8, xid8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.messaging_event_heads(xid8, xid8) TO messaging_app;

-- Undo the loan above: messaging_event_reader keeps no CREATE and (on
-- PostgreSQL <= 15, where members inherit its privileges and its policy) no
-- members.
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  REVOKE CREATE ON SCHEMA public FROM messaging_event_reader;
  IF current_setting('server_version_num')::int < 160000
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members
                  WHERE roleid = 'messaging_event_reader'::regrole
                    AND member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN
    EXECUTE format('REVOKE messaging_event_reader FROM %I', current_user);
  END IF;
END
$do$;
