-- scripts/cleanup.sql -- remove the messaging schema from this database
-- (start over). DESTROYS ALL CONVERSATIONS AND MESSAGES.
--
--   psql -v ON_ERROR_STOP=1 -1 -f scripts/cleanup.sql "$DATABASE_URL"
--
-- Safe to run again; applying the migrations afterwards recreates everything
-- (the runner re-applies them because its bookkeeping table is gone too).
-- Run it as the role that owns the tables (the one that applied the migrations).
--
-- Left alone on purpose:
--   * distributors and customers: owned by the host application (migration 000
--     only creates them when missing, and cannot tell whether it did).
--   * the roles messaging_app, messaging_event_reader (migration 003) and
--     messaging_event_pruner (migration 004), messaging_ai_dispatcher
--     (migration 005), and
--     their memberships: roles are cluster-wide, and
--     other databases of the same cluster (other environments, parallel test
--     databases) may use it; dropping it would break them, and DROP ROLE fails
--     anyway while any database still holds privileges for it. To remove it once
--     no database uses it: REVOKE ... in each database, then DROP ROLE messaging_app;
--   Only this database's privileges for those roles are revoked below.

-- The tables. Dropping them also drops their triggers, policies, indexes,
-- constraints and grants.
-- The AI work queue (migration 005) first: its items reference messages.
-- CASCADE for the SECURITY DEFINER functions whose SQL-standard bodies depend
-- on them (they belong to messaging_ai_dispatcher); ai_work_claim() is
-- PL/pgSQL and is dropped by name below.
DROP TABLE IF EXISTS public.ai_work_items CASCADE;
DROP TABLE IF EXISTS public.ai_work_completions CASCADE;
DROP TABLE IF EXISTS public.ai_work_distributors CASCADE;
DROP SEQUENCE IF EXISTS public.ai_work_lease_token_seq;
DROP TABLE IF EXISTS public.messages CASCADE;
DROP TABLE IF EXISTS public.conversations CASCADE;
-- The stream change log (migration 002). CASCADE for messaging_event_heads()
-- (migration 003): its SQL-standard body depends on the table, and the
-- function belongs to messaging_event_reader, so the owner could not drop it
-- by name. Nothing else may depend on message_events.
DROP TABLE IF EXISTS public.message_events CASCADE;
-- The log's low-water mark and the retention domain (migration 004). CASCADE
-- for messaging_event_low_water() and messaging_prune_events(): their
-- SQL-standard bodies depend on them, and they belong to
-- messaging_event_pruner (the table above already took the prune function).
DROP TABLE IF EXISTS public.message_events_low_water CASCADE;
DROP DOMAIN IF EXISTS public.messaging_event_retention CASCADE;

-- The migration runner's bookkeeping (may not exist).
DROP TABLE IF EXISTS public.messaging_schema_migrations;

-- Functions. No CASCADE: if something outside the messaging schema (a host
-- policy, a trigger) still uses them, fail rather than silently drop it.
DROP FUNCTION IF EXISTS public.ai_work_claim(integer, interval, text, uuid, integer, integer);
DROP FUNCTION IF EXISTS public.ai_work_enqueue();
DROP FUNCTION IF EXISTS public.messaging_record_message_event();
DROP FUNCTION IF EXISTS public.messaging_bump_version();
DROP FUNCTION IF EXISTS public.messaging_touch_updated_at();
DROP FUNCTION IF EXISTS public.messaging_current_distributor_id();

-- This database's privileges for the cluster-wide role.
DO $do$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'messaging_app') THEN
    REVOKE USAGE ON SCHEMA public FROM messaging_app;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'messaging_event_reader') THEN
    REVOKE USAGE ON SCHEMA public FROM messaging_event_reader;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'messaging_event_pruner') THEN
    REVOKE USAGE ON SCHEMA public FROM messaging_event_pruner;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'messaging_ai_dispatcher') THEN
    REVOKE USAGE ON SCHEMA public FROM messaging_ai_dispatcher;
  END IF;
END
$do$;
