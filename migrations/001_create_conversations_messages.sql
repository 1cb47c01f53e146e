-- 001_create_conversations_messages.sql
--
-- Conversations and messages of the messaging service, with tenant isolation
-- enforced by PostgreSQL row level security.
--
-- HOW TO APPLY
--   Idempotent: every statement can run again (IF NOT EXISTS, CREATE OR
--   REPLACE, DROP POLICY IF EXISTS + CREATE POLICY, guarded DO blocks).
--     psql -v ON_ERROR_STOP=1 -1 -f migrations/001_create_conversations_messages.sql "$DATABASE_URL"
--   (`-1` = one transaction). The runner (`messaging-server migrate`) sends the
--   whole file as one multi-statement string inside its own transaction, so the
--   file has no BEGIN/COMMIT, no psql meta-commands, nothing that cannot run in
--   a transaction block (no CREATE INDEX CONCURRENTLY, no VACUUM). The Supabase
--   SQL editor and `supabase db push` work too. Apply 000_prerequisites.sql first.
--
-- WHO CAN APPLY IT
--   No superuser needed: the database owner with CREATEROLE (Supabase's
--   `postgres` role) is enough. CREATEROLE is used once per cluster, to create
--   the role `messaging_app` (below); if that role already exists, the owner
--   needs no CREATEROLE on PostgreSQL <= 15.
--
-- ROLE messaging_app (cluster-wide; created here if missing)
--   NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT, owns
--   nothing. Privileges: USAGE on schema public; SELECT, INSERT, UPDATE, DELETE
--   on conversations and messages; nothing else (no TRUNCATE: it bypasses RLS;
--   no REFERENCES: a foreign key would let it probe other tenants' ids; nothing
--   on distributors/customers: foreign-key checks run as their owner). The
--   server logs in with its own role and runs every transaction as
--     SET LOCAL ROLE messaging_app;   -- or SET ROLE once per connection
--     SELECT set_config('app.distributor_id', '<tenant uuid>', true);
--   so isolation holds even when the login role is a superuser.
--   This file grants messaging_app to the role applying it (unless that role
--   is a superuser, which can SET ROLE to anything). If the server logs in as a
--   DIFFERENT role, a DBA must run once:
--     GRANT messaging_app TO <server_login_role>;
--   (On PostgreSQL 16+ the creator of a role only gets ADMIN on it, not SET;
--   the guarded GRANT below covers the migrating role on 16+ as well.)
--
-- TENANT FUNCTION messaging_current_distributor_id() -> uuid
--   1. current_setting('app.distributor_id', true): the messaging server's
--      per-transaction setting. Unset is NULL in a session that never set it
--      and '' after a transaction-local set_config ended: both mean NO tenant.
--      Accepted only in canonical 8-4-4-4-12 hex form (any case), checked by
--      regular expression before the cast, so the hot path never raises and
--      never enters an exception block. Anything else yields NULL.
--   2. current_setting('request.jwt.claims', true): the JSON that Supabase's
--      PostgREST sets per request; its top-level string claim `distributor_id`
--      (same canonical form). Malformed JSON, a claims value that is not an
--      object, a claim that is not a string or not a UUID: NULL, never an error.
--      Parsing the JSON is the only place with an exception handler, entered
--      only when claims are present.
--   If both sources are present they must agree, otherwise NULL (fail closed).
--   If either source is present but malformed: NULL (fail closed). Claims
--   without a `distributor_id` claim (e.g. PostgREST's anon role) are "no
--   claim": the app setting alone decides.
--   NULL matches no row, so a session without a tenant sees and changes nothing.
--   The function is PARALLEL UNSAFE (because of the exception block): queries
--   on these tables never use parallel workers, which OLTP paths do not need.
--
-- ROW LEVEL SECURITY
--   ENABLEd and FORCEd on both tables, so even the owning (migrating) role is
--   filtered; only superusers and BYPASSRLS roles (e.g. Supabase's
--   service_role) bypass it. One permissive policy per command, TO PUBLIC:
--     <table>_tenant_select  USING      (distributor_id = (SELECT messaging_current_distributor_id()))
--     <table>_tenant_insert  WITH CHECK (same)
--     <table>_tenant_update  USING + WITH CHECK (same; a row cannot move tenant)
--     <table>_tenant_delete  USING      (same)
--   The sub-select makes the tenant an InitPlan evaluated once per query; the
--   planner uses it as an index condition (every index below leads with
--   distributor_id where the query is per tenant). Keep the server's own
--   filters to plain comparisons (=, <, row comparisons on uuid/text/
--   timestamptz): those operators are leakproof, so the planner may use them
--   as index conditions under RLS; a non-leakproof function would be applied
--   only after the security filter.
--   messages.distributor_id is tied to its conversation's by the composite
--   foreign key (conversation_id, distributor_id) -> conversations (id,
--   distributor_id): declarative, checked as the table owner without RLS, so a
--   message can never point at another tenant's conversation (the error is the
--   same foreign-key violation as for a conversation that does not exist).
--   Every unique key includes distributor_id, so a unique violation never
--   reveals another tenant's row.
--
-- COLUMNS WORTH KNOWING
--   conversations.inbox_at is GENERATED ALWAYS AS (coalesce(last_message_at,
--   created_at)) STORED: never write it. Inbox order is (inbox_at DESC, id DESC);
--   keyset pages compare (inbox_at, id) < ($at, $id). A conversation without
--   messages sorts by its creation time.
--   messages.external_message_id must be NULL or non-empty (map proto '' to
--   NULL). jsonb columns metadata / ai_extracted_data hold JSON objects only
--   (google.protobuf.Struct).
--   updated_at is set to now() by BEFORE UPDATE triggers
--   (messaging_touch_updated_at()); created_at defaults to now().
--
-- CONSTRAINT NAMES (for mapping errors to gRPC codes)
--   23505 idx_conversations_unique_active           -> ALREADY_EXISTS (an active one exists)
--   23505 idx_messages_unique_external_id           -> duplicate Twilio SID (idempotent replay)
--   23503 conversations_customer_id_fkey            -> customer NOT_FOUND
--   23503 conversations_distributor_id_fkey         -> tenant has no distributors row
--   23503 messages_conversation_id_distributor_id_fkey -> conversation NOT_FOUND
--   23514 <table>_<column>_check                    -> INVALID_ARGUMENT (the server validates first)
--   42501 "new row violates row-level security policy" -> a tenant bug in the server
--   Upserts must repeat the partial index predicate to infer it:
--     INSERT ... ON CONFLICT (distributor_id, customer_id, channel) WHERE status = 'active' DO NOTHING
--     INSERT ... ON CONFLICT (distributor_id, external_message_id) WHERE external_message_id IS NOT NULL DO NOTHING
--
-- INDEXES (name: columns -- the query it serves)
--   conversations_pkey (id) -- GetConversation/Update/Delete/MarkRead by id
--   conversations_id_distributor_id_key (id, distributor_id) -- target of the
--       messages composite foreign key
--   idx_conversations_inbox (distributor_id, inbox_at DESC, id DESC)
--       -- ListConversations without filters: WHERE (inbox_at, id) < ($at, $id)
--          ORDER BY inbox_at DESC, id DESC LIMIT n; also the distributors
--          ON DELETE CASCADE lookup
--   idx_conversations_customer (distributor_id, customer_id, inbox_at DESC, id DESC)
--       -- ListConversations filtered by customer_id (optionally channel/status)
--   idx_conversations_customer_fk (customer_id)
--       -- the customers foreign key check when a customer row is deleted
--   idx_conversations_channel (distributor_id, channel, inbox_at DESC, id DESC)
--       -- ListConversations filtered by channel
--   idx_conversations_status (distributor_id, status, inbox_at DESC, id DESC)
--       -- ListConversations filtered by status (e.g. the active inbox)
--   idx_conversations_unique_active UNIQUE (distributor_id, customer_id, channel)
--       WHERE status = 'active'
--       -- at most one active conversation per (distributor, customer, channel);
--          GetOrCreateConversation lookup and ON CONFLICT target
--   messages_pkey (id) -- GetMessage/UpdateMessage/DeleteMessage, UpdateDeliveryStatus by id
--   idx_messages_conversation (conversation_id, created_at, id)
--       -- ListMessages keyset in both directions (forward scan for
--          "create_time", backward scan for "create_time desc"); also the
--          ON DELETE CASCADE lookup from conversations
--   idx_messages_created_at (created_at)
--       -- time-range scans and retention (DELETE ... WHERE created_at < $t)
--   idx_messages_ai_pending (distributor_id, created_at) WHERE ai_processing_status = 'pending'
--       -- AI workers: oldest pending messages of a tenant
--   idx_messages_unique_external_id UNIQUE (distributor_id, external_message_id)
--       WHERE external_message_id IS NOT NULL
--       -- one message per Twilio SID per tenant; UpdateDeliveryStatus and
--          CreateMessage idempotency lookups by (distributor_id, external_message_id)

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS public.conversations (
  id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
  distributor_id       uuid        NOT NULL,
  customer_id          uuid        NOT NULL,
  channel              text        NOT NULL,
  status               text        NOT NULL DEFAULT 'active',
  ai_context_summary   text,
  unread_count         integer     NOT NULL DEFAULT 0,
  last_message_at      timestamptz,
  last_message_preview text,
  metadata             jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  inbox_at             timestamptz GENERATED ALWAYS AS (coalesce(last_message_at, created_at)) STORED,
  CONSTRAINT conversations_pkey PRIMARY KEY (id),
  CONSTRAINT conversations_id_distributor_id_key UNIQUE (id, distributor_id),
  CONSTRAINT conversations_distributor_id_fkey FOREIGN KEY (distributor_id)
    REFERENCES public.distributors (id) ON DELETE CASCADE,
  CONSTRAINT conversations_customer_id_fkey FOREIGN KEY (customer_id)
    REFERENCES public.customers (id) ON DELETE RESTRICT,
  CONSTRAINT conversations_channel_check CHECK (channel IN ('whatsapp', 'sms', 'email')),
  CONSTRAINT conversations_status_check CHECK (status IN ('active', 'archived', 'closed')),
  CONSTRAINT conversations_unread_count_check CHECK (unread_count >= 0),
  CONSTRAINT conversations_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE TABLE IF NOT EXISTS public.messages (
  id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
  conversation_id      uuid        NOT NULL,
  distributor_id       uuid        NOT NULL,
  direction            text        NOT NULL,
  message_type         text        NOT NULL DEFAULT 'text',
  content              text,
  media_url            text,
  media_content_type   text,
  external_message_id  text,
  delivery_status      text        NOT NULL,
  error_code           text,
  error_message        text,
  ai_processing_status text        NOT NULL DEFAULT 'pending',
  ai_summary           text,
  ai_intent            text,
  ai_sentiment         text,
  ai_extracted_data    jsonb,
  ai_processed_at      timestamptz,
  metadata             jsonb       NOT NULL DEFAULT '{}'::jsonb,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_pkey PRIMARY KEY (id),
  -- The tenant guard: a message's distributor_id equals its conversation's.
  CONSTRAINT messages_conversation_id_distributor_id_fkey
    FOREIGN KEY (conversation_id, distributor_id)
    REFERENCES public.conversations (id, distributor_id) ON DELETE CASCADE,
  CONSTRAINT messages_direction_check CHECK (direction IN ('inbound', 'outbound')),
  CONSTRAINT messages_message_type_check CHECK (message_type IN ('text', 'media', 'audio', 'file')),
  CONSTRAINT messages_delivery_status_check CHECK (delivery_status IN
    ('queued', 'sent', 'delivered', 'read', 'failed', 'undelivered', 'received')),
  CONSTRAINT messages_ai_processing_status_check CHECK (ai_processing_status IN
    ('pending', 'processing', 'completed', 'failed', 'skipped')),
  CONSTRAINT messages_external_message_id_check CHECK (external_message_id <> ''),
  CONSTRAINT messages_ai_extracted_data_check CHECK (jsonb_typeof(ai_extracted_data) = 'object'),
  CONSTRAINT messages_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);

-- CREATE TABLE IF NOT EXISTS skips a table that already exists, whatever its
-- shape (e.g. created by the original Supabase seed migration). Fail loudly
-- instead of leaving a half-compatible schema behind.
DO $do$
DECLARE
  missing text;
BEGIN
  SELECT string_agg(format('%s.%s', t.tbl, t.col), ', ')
    INTO missing
    FROM (VALUES
      ('conversations', 'id'), ('conversations', 'distributor_id'),
      ('conversations', 'customer_id'), ('conversations', 'channel'),
      ('conversations', 'status'), ('conversations', 'ai_context_summary'),
      ('conversations', 'unread_count'), ('conversations', 'last_message_at'),
      ('conversations', 'last_message_preview'), ('conversations', 'metadata'),
      ('conversations', 'created_at'), ('conversations', 'updated_at'),
      ('conversations', 'inbox_at'),
      ('messages', 'id'), ('messages', 'conversation_id'),
      ('messages', 'distributor_id'), ('messages', 'direction'),
      ('messages', 'message_type'), ('messages', 'content'),
      ('messages', 'media_url'), ('messages', 'media_content_type'),
      ('messages', 'external_message_id'), ('messages', 'delivery_status'),
      ('messages', 'error_code'), ('messages', 'error_message'),
      ('messages', 'ai_processing_status'), ('messages', 'ai_summary'),
      ('messages', 'ai_intent'), ('messages', 'ai_sentiment'),
      ('messages', 'ai_extracted_data'), ('messages', 'ai_processed_at'),
      ('messages', 'metadata'), ('messages', 'created_at'),
      ('messages', 'updated_at')) AS t (tbl, col)
   WHERE NOT EXISTS (
     SELECT 1 FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = format('public.%I', t.tbl)::regclass
        AND a.attname = t.col AND a.attnum > 0 AND NOT a.attisdropped);
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'messaging migration 001: existing tables have an incompatible shape (missing %)', missing
      USING HINT = 'Migrate or drop the old tables first (see scripts/cleanup.sql).';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
                  WHERE conrelid = 'public.messages'::regclass
                    AND conname = 'messages_conversation_id_distributor_id_fkey'
                    AND contype = 'f') THEN
    RAISE EXCEPTION 'messaging migration 001: messages lacks the composite foreign key messages_conversation_id_distributor_id_fkey'
      USING HINT = 'Migrate or drop the old tables first (see scripts/cleanup.sql).';
  END IF;
END
$do$;

COMMENT ON TABLE public.conversations IS
  'Messaging: one thread between a distributor and a customer on one channel. Tenant-isolated by RLS on distributor_id.';
COMMENT ON COLUMN public.conversations.inbox_at IS
  'Generated: coalesce(last_message_at, created_at). Inbox order is (inbox_at DESC, id DESC).';
COMMENT ON TABLE public.messages IS
  'Messaging: one message of a conversation. distributor_id equals the conversation''s (composite FK). Tenant-isolated by RLS.';

-- ---------------------------------------------------------------------------
-- Indexes (see the header for the query each one serves)
-- ---------------------------------------------------------------------------

CREATE INDEX IF NOT EXISTS idx_conversations_inbox
  ON public.conversations (distributor_id, inbox_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_conversations_customer
  ON public.conversations (distributor_id, customer_id, inbox_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_conversations_customer_fk
  ON public.conversations (customer_id);
CREATE INDEX IF NOT EXISTS idx_conversations_channel
  ON public.conversations (distributor_id, channel, inbox_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_conversations_status
  ON public.conversations (distributor_id, status, inbox_at DESC, id DESC);
CREATE UNIQUE INDEX IF NOT EXISTS idx_conversations_unique_active
  ON public.conversations (distributor_id, customer_id, channel)
  WHERE status = 'active';

CREATE INDEX IF NOT EXISTS idx_messages_conversation
  ON public.messages (conversation_id, created_at, id);
CREATE INDEX IF NOT EXISTS idx_messages_created_at
  ON public.messages (created_at);
CREATE INDEX IF NOT EXISTS idx_messages_ai_pending
  ON public.messages (distributor_id, created_at)
  WHERE ai_processing_status = 'pending';
CREATE UNIQUE INDEX IF NOT EXISTS idx_messages_unique_external_id
  ON public.messages (distributor_id, external_message_id)
  WHERE external_message_id IS NOT NULL;

-- ---------------------------------------------------------------------------
-- updated_at triggers
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.messaging_touch_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $fn$
BEGIN
  NEW.updated_at := pg_catalog.now();
  RETURN NEW;
END
$fn$;

COMMENT ON FUNCTION public.messaging_touch_updated_at() IS
  'Messaging: BEFORE UPDATE trigger function that sets updated_at to now().';

CREATE OR REPLACE TRIGGER conversations_touch_updated_at
  BEFORE UPDATE ON public.conversations
  FOR EACH ROW EXECUTE FUNCTION public.messaging_touch_updated_at();
CREATE OR REPLACE TRIGGER messages_touch_updated_at
  BEFORE UPDATE ON public.messages
  FOR EACH ROW EXECUTE FUNCTION public.messaging_touch_updated_at();

-- ---------------------------------------------------------------------------
-- Tenant of the current transaction (see the header)
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.messaging_current_distributor_id()
RETURNS uuid
LANGUAGE plpgsql
STABLE
PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  uuid_pattern constant text :=
    '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';
  app_setting text := current_setting('app.distributor_id', true);
  raw_claims  text := current_setting('request.jwt.claims', true);
  app_tenant  uuid;
  claims      jsonb;
  claim       jsonb;
  claim_tenant uuid;
BEGIN
  -- 1. The messaging server's setting. NULL (never set) and '' (reset after a
  --    transaction-local set_config) both mean "no tenant".
  IF app_setting IS NOT NULL AND app_setting <> '' THEN
    IF app_setting !~ uuid_pattern THEN
      RETURN NULL;  -- malformed: fail closed, whatever the claims say
    END IF;
    app_tenant := app_setting::uuid;
  END IF;

  -- Hot path: no PostgREST claims (the messaging server never sets them).
  IF raw_claims IS NULL OR raw_claims = '' THEN
    RETURN app_tenant;
  END IF;

  -- 2. Supabase / PostgREST claims. Only the JSON parse can raise.
  BEGIN
    claims := raw_claims::jsonb;
  EXCEPTION WHEN data_exception OR program_limit_exceeded THEN
    RETURN NULL;  -- malformed JSON: no tenant, no error
  END;
  IF jsonb_typeof(claims) IS DISTINCT FROM 'object' THEN
    RETURN NULL;
  END IF;
  claim := claims -> 'distributor_id';
  IF claim IS NULL THEN
    RETURN app_tenant;  -- claims without a tenant claim: the app setting decides
  END IF;
  IF jsonb_typeof(claim) <> 'string' OR (claim #>> '{}') !~ uuid_pattern THEN
    RETURN NULL;  -- claim present but not a UUID string: fail closed
  END IF;
  claim_tenant := (claim #>> '{}')::uuid;

  IF app_tenant IS NOT NULL AND app_tenant <> claim_tenant THEN
    RETURN NULL;  -- both present and disagreeing: fail closed
  END IF;
  RETURN claim_tenant;
END
$fn$;

COMMENT ON FUNCTION public.messaging_current_distributor_id() IS
  'Messaging: the tenant of the current transaction, from app.distributor_id '
  'and/or the request.jwt.claims claim distributor_id (Supabase). NULL (no rows) '
  'when unset, malformed or conflicting; never raises.';

-- Policies apply TO PUBLIC, so every role that may touch the tables must be
-- able to call the function, whatever default privileges say.
GRANT EXECUTE ON FUNCTION public.messaging_current_distributor_id() TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------

ALTER TABLE public.conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.conversations FORCE ROW LEVEL SECURITY;
ALTER TABLE public.messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.messages FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS conversations_tenant_select ON public.conversations;
CREATE POLICY conversations_tenant_select ON public.conversations
  AS PERMISSIVE FOR SELECT TO PUBLIC
  USING (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS conversations_tenant_insert ON public.conversations;
CREATE POLICY conversations_tenant_insert ON public.conversations
  AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS conversations_tenant_update ON public.conversations;
CREATE POLICY conversations_tenant_update ON public.conversations
  AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING (distributor_id = (SELECT public.messaging_current_distributor_id()))
  WITH CHECK (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS conversations_tenant_delete ON public.conversations;
CREATE POLICY conversations_tenant_delete ON public.conversations
  AS PERMISSIVE FOR DELETE TO PUBLIC
  USING (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS messages_tenant_select ON public.messages;
CREATE POLICY messages_tenant_select ON public.messages
  AS PERMISSIVE FOR SELECT TO PUBLIC
  USING (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS messages_tenant_insert ON public.messages;
CREATE POLICY messages_tenant_insert ON public.messages
  AS PERMISSIVE FOR INSERT TO PUBLIC
  WITH CHECK (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS messages_tenant_update ON public.messages;
CREATE POLICY messages_tenant_update ON public.messages
  AS PERMISSIVE FOR UPDATE TO PUBLIC
  USING (distributor_id = (SELECT public.messaging_current_distributor_id()))
  WITH CHECK (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS messages_tenant_delete ON public.messages;
CREATE POLICY messages_tenant_delete ON public.messages
  AS PERMISSIVE FOR DELETE TO PUBLIC
  USING (distributor_id = (SELECT public.messaging_current_distributor_id()));

-- ---------------------------------------------------------------------------
-- The server's role
-- ---------------------------------------------------------------------------

-- Roles are cluster-wide: another database of the same cluster may be creating
-- it at this very moment. Its committed CREATE shows up as duplicate_object;
-- a racing, still uncommitted one as unique_violation on pg_authid once it
-- commits. Either way the role exists afterwards.
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'messaging_app') THEN
    BEGIN
      CREATE ROLE messaging_app
        NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION;
      COMMENT ON ROLE messaging_app IS
        'Messaging server: non-privileged role the server SETs ROLE to; tenant isolation by RLS. Owns nothing.';
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  -- A pre-existing role with powers that defeat RLS would silently void the
  -- isolation guarantee: refuse (altering these attributes needs a superuser).
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
              WHERE rolname = 'messaging_app' AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role messaging_app exists but is SUPERUSER or BYPASSRLS; row level security would not apply to it'
      USING HINT = 'A superuser must run: ALTER ROLE messaging_app NOSUPERUSER NOBYPASSRLS;';
  END IF;
END
$do$;

GRANT USAGE ON SCHEMA public TO messaging_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.conversations, public.messages TO messaging_app;

-- Let the migrating role SET ROLE messaging_app (the server may log in as it).
-- Superusers can already. PostgreSQL 16+ gives the creator ADMIN but not SET,
-- so check the SET privilege there; PostgreSQL <= 15 has plain membership.
DO $do$
DECLARE
  can_set boolean;
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  IF current_setting('server_version_num')::int >= 160000 THEN
    can_set := pg_catalog.pg_has_role(current_user, 'messaging_app', 'SET');
  ELSE
    can_set := pg_catalog.pg_has_role(current_user, 'messaging_app', 'MEMBER');
  END IF;
  IF can_set THEN
    RETURN;
  END IF;
  BEGIN
    EXECUTE format('GRANT messaging_app TO %I', current_user);
  EXCEPTION
    WHEN unique_violation THEN
      NULL;  -- granted concurrently by a migration of another database
    WHEN insufficient_privilege OR invalid_grant_operation THEN
      RAISE WARNING 'could not grant messaging_app to %: %', current_user, SQLERRM
        USING HINT = 'The server''s login role needs: GRANT messaging_app TO <login role>; (run by an administrator)';
  END;
END
$do$;
