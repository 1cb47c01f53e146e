-- 005_ai_work_queue.sql
--
-- The AI work queue: inbound messages waiting for an AI worker, leased to one
-- worker at a time. See docs/ai-work-queue.md for the whole design.
--
-- HOW TO APPLY
--   Idempotent like every migration: safe to run again (IF NOT EXISTS, CREATE
--   OR REPLACE, DROP ... IF EXISTS + CREATE, guarded DO blocks, REVOKE/GRANT).
--     psql -v ON_ERROR_STOP=1 -1 -f migrations/005_ai_work_queue.sql "$DATABASE_URL"
--   No BEGIN/COMMIT, no psql meta-commands. Apply 000 to 004 first.
--
-- WHO CAN APPLY IT
--   The owner of the messaging objects, with CREATEROLE the first time (to
--   create the role messaging_ai_dispatcher) and the right to GRANT CREATE ON
--   SCHEMA public, like 003 and 004. No superuser.
--
-- TABLE ai_work_items (one row per message waiting for, or in, AI processing)
--   A narrow table of its own: messages rows are wide and carry many indexes,
--   and a queue row is updated on every claim, extend and retry.
--     id                 uuid, the work item's id (AiWorkItem.id)
--     message_id         the message; UNIQUE, ON DELETE CASCADE (deleting the
--                        message removes its item)
--     distributor_id     the message's tenant (RLS, fairness)
--     state              'available' | 'leased' | 'dead_lettered'
--     attempt            claims so far (the current attempt while leased)
--     available_at       when the item can next be claimed: now for a new
--                        item, the retry time after a failure, and the lease's
--                        expiry while leased (an expired lease is claimable
--                        again, by the claim itself: no reaper)
--     lease_token        fencing token of the current lease: a value of the
--                        sequence ai_work_lease_token_seq, strictly increasing
--                        per claim; every call on a lease must name it
--     lease_expire_time  end of the current lease (NULL when not leased)
--     leased_by          the worker name (token `sub`) of the current lease
--     last_error         the last failure's message
--     dead_lettered_at   when it became dead_lettered (retention counts from it)
--   Completed items are deleted: the message holds the result.
--
-- ENQUEUE (trigger messages_enqueue_ai_work, same transaction as the message)
--   An inbound message with something to read gets an item when it is
--   created with ai_processing_status 'pending', and again when an UPDATE
--   moves ai_processing_status back to 'pending' from another status (the
--   item, if any, is reset: available now, attempts 0). "Something to read":
--   non-blank content (a text, or a media caption) or a media_url (media,
--   audio and file messages are read by the worker from their media).
--   Outbound messages and messages created with another AI status are not
--   enqueued. Messages stored before this migration are not enqueued either
--   (no backfill: the queue starts empty; setting a message's
--   ai_processing_status to pending enqueues it).
--
-- ai_work_completions (item_id, lease_token): the completions of the last
--   hours, so a repeated CompleteAiWork with the same lease token returns the
--   message again instead of FAILED_PRECONDITION. Rows are removed by
--   ai_work_prune() with the dead letters.
--
-- ai_work_distributors (distributor_id, last_claimed_at): when a claim last
--   served each distributor; claims serve the least recently served first.
--   Owner and dispatcher only.
--
-- ROW LEVEL SECURITY
--   ai_work_items and ai_work_completions: the tenant policies of 001 (TO
--   PUBLIC, distributor_id = messaging_current_distributor_id()), so every
--   lease call, list and requeue runs in a transaction of the item's tenant.
--   messaging_app: SELECT, INSERT, UPDATE, DELETE on ai_work_items and
--   SELECT, INSERT, UPDATE on ai_work_completions (the enqueue trigger
--   runs as the writer of the message; another role that writes messages, e.g.
--   PostgREST's `authenticated`, needs INSERT, SELECT and UPDATE on
--   ai_work_items too). Nothing for PUBLIC, anon or authenticated.
--
-- CROSS-TENANT FUNCTIONS (SECURITY DEFINER, owned by messaging_ai_dispatcher,
-- SET search_path = pg_catalog, pg_temp, EXECUTE for messaging_app only)
--   ai_work_claim(max_items, lease, worker, only_distributor, leased_cap,
--                 max_attempts)
--     One statement claims across distributors: dead-letters expired leases
--     whose attempts are exhausted (and marks their messages 'failed', under
--     the message's tenant setting, so messages RLS still applies), then
--     serves the distributors with claimable items least recently served
--     first, giving each at most ceil(remaining / distributors left) items
--     and never more than `leased_cap` leased at once, locking items with
--     FOR UPDATE SKIP LOCKED. Returns ids, distributors, message ids,
--     attempts, lease tokens and expiry only; the server reads the messages
--     in a transaction of each item's tenant.
--   ai_work_next_available() -> timestamptz: the earliest available_at of any
--     item not dead-lettered (when a waiting claim should look again).
--   ai_work_locate(id) -> distributor_id: the tenant of one item (for a worker
--     not restricted to one distributor).
--   ai_work_list(state, after_id, limit, only_distributor): item ids and
--     tenants in id order, for ListAiWork by a worker.
--   ai_work_prune(dead_letter_retention) -> bigint: removes dead letters older
--     than the retention and completion records older than an hour.
--   ai_work_depth() -> (state, items): queue depth per state, for metrics.
--   messaging_ai_dispatcher: NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT, owns
--   only these functions; SELECT, UPDATE, DELETE on ai_work_items and DELETE
--   on ai_work_completions through policies of its own (USING (true));
--   SELECT, INSERT, UPDATE on ai_work_distributors; USAGE on the sequence;
--   on messages only SELECT (id, distributor_id, ai_processing_status) and
--   UPDATE (ai_processing_status), under the tenant policies; INSERT on
--   message_events (the messages trigger records the change).
--
-- INDEXES
--   ai_work_items_pkey (id); ai_work_items_message_id_key (message_id)
--   idx_ai_work_items_claimable (distributor_id, available_at, id)
--       WHERE state <> 'dead_lettered'
--       -- the claim: the distributors with items (a loose index scan) and
--          each one's oldest claimable items; also ai_work_next_available()
--   idx_ai_work_items_leased (distributor_id) WHERE state = 'leased'
--       -- the per-distributor leased cap
--   idx_ai_work_items_dead (dead_lettered_at) WHERE state = 'dead_lettered'
--       -- dead-letter retention
--
-- STORAGE
--   A queue row is updated two or three times (claim, extend, retry) and
--   deleted within seconds. fillfactor 70 keeps free space on each page, so
--   a row's new versions usually land on its own page, where page pruning
--   reclaims the old ones without waiting for a vacuum. Autovacuum runs after
--   1,000 dead (or inserted) rows instead of 20 % of the table, without cost
--   delay, so dead index entries do not pile up in front of the claim's index
--   scan however large the table once grew.

-- ---------------------------------------------------------------------------
-- The dispatcher role (cluster-wide; see 001 for the creation race)
-- ---------------------------------------------------------------------------

DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'messaging_ai_dispatcher') THEN
    BEGIN
      CREATE ROLE messaging_ai_dispatcher
        NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION;
      COMMENT ON ROLE messaging_ai_dispatcher IS
        'Messaging: owns the AI work queue functions (SECURITY DEFINER); claims work items of every tenant.';
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles
              WHERE rolname = 'messaging_ai_dispatcher' AND (rolsuper OR rolbypassrls)) THEN
    RAISE EXCEPTION 'role messaging_ai_dispatcher exists but is SUPERUSER or BYPASSRLS'
      USING HINT = 'A superuser must run: ALTER ROLE messaging_ai_dispatcher NOSUPERUSER NOBYPASSRLS;';
  END IF;
END
$do$;

-- A loan to a non-superuser migrating role, undone at the end of the file
-- (as in 003 and 004): membership in the dispatcher and CREATE on public for
-- it, to give it the functions below.
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  BEGIN
    GRANT CREATE ON SCHEMA public TO messaging_ai_dispatcher;
  EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE EXCEPTION 'migration 005: % cannot grant CREATE on schema public to messaging_ai_dispatcher: %',
      current_user, SQLERRM
      USING HINT = 'Apply it as the owner of schema public (the database owner on PostgreSQL 15+).';
  END;
  IF current_setting('server_version_num')::int >= 160000 THEN
    IF NOT pg_catalog.pg_has_role(current_user, 'messaging_ai_dispatcher', 'SET') THEN
      EXECUTE format('GRANT messaging_ai_dispatcher TO %I WITH INHERIT FALSE, SET TRUE', current_user);
    END IF;
  ELSIF NOT pg_catalog.pg_has_role(current_user, 'messaging_ai_dispatcher', 'MEMBER') THEN
    EXECUTE format('GRANT messaging_ai_dispatcher TO %I', current_user);
  END IF;
END
$do$;

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

CREATE SEQUENCE IF NOT EXISTS public.ai_work_lease_token_seq AS bigint;

-- Storage parameters for a high-churn queue (see STORAGE in the header):
-- HOT updates need free space on the page, and dead rows must be vacuumed
-- long before the default 20 % of the table.
CREATE TABLE IF NOT EXISTS public.ai_work_items (
  id                uuid        NOT NULL DEFAULT gen_random_uuid(),
  message_id        uuid        NOT NULL,
  distributor_id    uuid        NOT NULL,
  state             text        NOT NULL DEFAULT 'available',
  attempt           integer     NOT NULL DEFAULT 0,
  available_at      timestamptz NOT NULL DEFAULT now(),
  lease_token       bigint,
  lease_expire_time timestamptz,
  leased_by         text,
  last_error        text,
  dead_lettered_at  timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_work_items_pkey PRIMARY KEY (id),
  CONSTRAINT ai_work_items_message_id_key UNIQUE (message_id),
  CONSTRAINT ai_work_items_message_id_fkey FOREIGN KEY (message_id)
    REFERENCES public.messages (id) ON DELETE CASCADE,
  CONSTRAINT ai_work_items_state_check CHECK (state IN ('available', 'leased', 'dead_lettered')),
  CONSTRAINT ai_work_items_attempt_check CHECK (attempt >= 0),
  CONSTRAINT ai_work_items_lease_check CHECK (
    (state = 'leased') = (lease_token IS NOT NULL AND lease_expire_time IS NOT NULL))
) WITH (
  fillfactor = 70,
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0,
  autovacuum_vacuum_insert_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.05,
  autovacuum_vacuum_cost_delay = 0
);

COMMENT ON TABLE public.ai_work_items IS
  'Messaging: AI work queue, one item per inbound message waiting for or in AI processing. '
  'Tenant-isolated by RLS; claimed across tenants through ai_work_claim().';

CREATE INDEX IF NOT EXISTS idx_ai_work_items_claimable
  ON public.ai_work_items (distributor_id, available_at, id)
  WHERE state <> 'dead_lettered';
CREATE INDEX IF NOT EXISTS idx_ai_work_items_leased
  ON public.ai_work_items (distributor_id)
  WHERE state = 'leased';
CREATE INDEX IF NOT EXISTS idx_ai_work_items_dead
  ON public.ai_work_items (dead_lettered_at)
  WHERE state = 'dead_lettered';

CREATE TABLE IF NOT EXISTS public.ai_work_completions (
  item_id        uuid        NOT NULL,
  lease_token    bigint      NOT NULL,
  distributor_id uuid        NOT NULL,
  message_id     uuid        NOT NULL,
  completed_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ai_work_completions_pkey PRIMARY KEY (item_id)
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);

COMMENT ON TABLE public.ai_work_completions IS
  'Messaging: recent AI work completions by (item, lease token), so a repeated CompleteAiWork '
  'returns the same message. Kept about an hour.';

CREATE INDEX IF NOT EXISTS idx_ai_work_completions_completed_at
  ON public.ai_work_completions (completed_at);

CREATE TABLE IF NOT EXISTS public.ai_work_distributors (
  distributor_id  uuid        NOT NULL,
  last_claimed_at timestamptz NOT NULL,
  CONSTRAINT ai_work_distributors_pkey PRIMARY KEY (distributor_id)
);

COMMENT ON TABLE public.ai_work_distributors IS
  'Messaging: when an AI work claim last served each distributor (least recently served first).';

CREATE OR REPLACE TRIGGER ai_work_items_touch_updated_at
  BEFORE UPDATE ON public.ai_work_items
  FOR EACH ROW EXECUTE FUNCTION public.messaging_touch_updated_at();

-- ---------------------------------------------------------------------------
-- Row level security
-- ---------------------------------------------------------------------------

ALTER TABLE public.ai_work_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ai_work_items FORCE ROW LEVEL SECURITY;
ALTER TABLE public.ai_work_completions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ai_work_completions FORCE ROW LEVEL SECURITY;

DO $do$
DECLARE
  tbl text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['ai_work_items', 'ai_work_completions'] LOOP
    EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', tbl || '_tenant_select', tbl);
    EXECUTE format('CREATE POLICY %I ON public.%I AS PERMISSIVE FOR SELECT TO PUBLIC '
                   'USING (distributor_id = (SELECT public.messaging_current_distributor_id()))',
                   tbl || '_tenant_select', tbl);
    EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', tbl || '_tenant_insert', tbl);
    EXECUTE format('CREATE POLICY %I ON public.%I AS PERMISSIVE FOR INSERT TO PUBLIC '
                   'WITH CHECK (distributor_id = (SELECT public.messaging_current_distributor_id()))',
                   tbl || '_tenant_insert', tbl);
    EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', tbl || '_tenant_update', tbl);
    EXECUTE format('CREATE POLICY %I ON public.%I AS PERMISSIVE FOR UPDATE TO PUBLIC '
                   'USING (distributor_id = (SELECT public.messaging_current_distributor_id())) '
                   'WITH CHECK (distributor_id = (SELECT public.messaging_current_distributor_id()))',
                   tbl || '_tenant_update', tbl);
    EXECUTE format('DROP POLICY IF EXISTS %I ON public.%I', tbl || '_tenant_delete', tbl);
    EXECUTE format('CREATE POLICY %I ON public.%I AS PERMISSIVE FOR DELETE TO PUBLIC '
                   'USING (distributor_id = (SELECT public.messaging_current_distributor_id()))',
                   tbl || '_tenant_delete', tbl);
  END LOOP;
END
$do$;

-- The dispatcher sees and changes every tenant's items, through its functions only.
DROP POLICY IF EXISTS ai_work_items_dispatch_select ON public.ai_work_items;
CREATE POLICY ai_work_items_dispatch_select ON public.ai_work_items
  AS PERMISSIVE FOR SELECT TO messaging_ai_dispatcher USING (true);
DROP POLICY IF EXISTS ai_work_items_dispatch_update ON public.ai_work_items;
CREATE POLICY ai_work_items_dispatch_update ON public.ai_work_items
  AS PERMISSIVE FOR UPDATE TO messaging_ai_dispatcher USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS ai_work_items_dispatch_delete ON public.ai_work_items;
CREATE POLICY ai_work_items_dispatch_delete ON public.ai_work_items
  AS PERMISSIVE FOR DELETE TO messaging_ai_dispatcher USING (state = 'dead_lettered');
DROP POLICY IF EXISTS ai_work_completions_dispatch_select ON public.ai_work_completions;
CREATE POLICY ai_work_completions_dispatch_select ON public.ai_work_completions
  AS PERMISSIVE FOR SELECT TO messaging_ai_dispatcher USING (true);
DROP POLICY IF EXISTS ai_work_completions_dispatch_delete ON public.ai_work_completions;
CREATE POLICY ai_work_completions_dispatch_delete ON public.ai_work_completions
  AS PERMISSIVE FOR DELETE TO messaging_ai_dispatcher USING (true);

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------

GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.ai_work_items TO messaging_app;
-- No DELETE: completion records are removed by ai_work_prune() only.
GRANT SELECT, INSERT, UPDATE ON TABLE public.ai_work_completions TO messaging_app;

GRANT USAGE ON SCHEMA public TO messaging_ai_dispatcher;
GRANT SELECT, UPDATE, DELETE ON TABLE public.ai_work_items TO messaging_ai_dispatcher;
GRANT SELECT, DELETE ON TABLE public.ai_work_completions TO messaging_ai_dispatcher;
GRANT SELECT, INSERT, UPDATE ON TABLE public.ai_work_distributors TO messaging_ai_dispatcher;
-- Only claims draw lease tokens.
GRANT USAGE ON SEQUENCE public.ai_work_lease_token_seq TO messaging_ai_dispatcher;
GRANT SELECT (id, distributor_id, ai_processing_status), UPDATE (ai_processing_status)
  ON TABLE public.messages TO messaging_ai_dispatcher;
GRANT INSERT ON TABLE public.message_events TO messaging_ai_dispatcher;
GRANT EXECUTE ON FUNCTION public.messaging_current_distributor_id() TO messaging_ai_dispatcher;

-- ---------------------------------------------------------------------------
-- Enqueue
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.ai_work_enqueue()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  -- Inbound, pending, and something to read: text or caption, or media.
  IF NEW.direction <> 'inbound' OR NEW.ai_processing_status <> 'pending'
     OR (coalesce(btrim(NEW.content), '') = '' AND NEW.media_url IS NULL) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.ai_processing_status = 'pending' THEN
    RETURN NULL;  -- Still pending: its item (if any) stands.
  END IF;
  INSERT INTO public.ai_work_items (message_id, distributor_id)
  VALUES (NEW.id, NEW.distributor_id)
  ON CONFLICT (message_id) DO UPDATE
    SET state = 'available', attempt = 0, available_at = now(), lease_token = NULL,
        lease_expire_time = NULL, leased_by = NULL, last_error = NULL, dead_lettered_at = NULL;
  RETURN NULL;
END
$fn$;

COMMENT ON FUNCTION public.ai_work_enqueue() IS
  'Messaging: AFTER INSERT/UPDATE trigger on messages: enqueues inbound pending messages with '
  'something to read for AI processing (again when the status returns to pending).';

CREATE OR REPLACE TRIGGER messages_enqueue_ai_work
  AFTER INSERT OR UPDATE OF ai_processing_status ON public.messages
  FOR EACH ROW EXECUTE FUNCTION public.ai_work_enqueue();

-- ---------------------------------------------------------------------------
-- Claim (cross-tenant, SECURITY DEFINER as messaging_ai_dispatcher)
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.ai_work_claim(
  max_items integer, lease interval, worker text, only_distributor uuid,
  leased_cap integer, max_attempts integer)
RETURNS TABLE (id uuid, distributor_id uuid, message_id uuid, attempt integer,
               lease_token bigint, lease_expire_time timestamptz)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
  caller_tenant text := current_setting('app.distributor_id', true);
  exhausted record;
  distributors uuid[];
  rooms integer[];
  remaining integer := greatest(max_items, 0);
  left_count integer;
  take integer;
  taken integer;
BEGIN
  -- 1. Expired leases whose attempts are exhausted become dead letters, and
  --    their messages FAILED (under the message's tenant: RLS applies).
  FOR exhausted IN
    WITH dead AS (
      UPDATE public.ai_work_items w
         SET state = 'dead_lettered', dead_lettered_at = now(), lease_token = NULL,
             lease_expire_time = NULL, leased_by = NULL,
             last_error = coalesce(w.last_error, 'lease expired')
       WHERE w.id IN (SELECT x.id FROM public.ai_work_items x
                       WHERE x.state = 'leased' AND x.available_at <= now()
                         AND x.attempt >= max_attempts
                         AND (only_distributor IS NULL OR x.distributor_id = only_distributor)
                       FOR UPDATE SKIP LOCKED)
      RETURNING w.distributor_id AS d, w.message_id AS m)
    SELECT dead.d, dead.m FROM dead
  LOOP
    PERFORM set_config('app.distributor_id', exhausted.d::text, true);
    UPDATE public.messages SET ai_processing_status = 'failed' WHERE messages.id = exhausted.m;
  END LOOP;
  PERFORM set_config('app.distributor_id', coalesce(caller_tenant, ''), true);

  -- 2. Distributors with claimable items and room under the cap, least
  --    recently served first. The recursive CTE walks
  --    idx_ai_work_items_claimable one distributor at a time (a loose index
  --    scan), so a long backlog costs one probe, not a scan.
  SELECT coalesce(array_agg(c.d ORDER BY c.served_at NULLS FIRST, c.d), '{}'),
         coalesce(array_agg(c.room ORDER BY c.served_at NULLS FIRST, c.d), '{}')
    INTO distributors, rooms
    FROM (
      WITH RECURSIVE walk AS (
        (SELECT w.distributor_id AS d FROM public.ai_work_items w
          WHERE w.state <> 'dead_lettered'
            AND (only_distributor IS NULL OR w.distributor_id = only_distributor)
          ORDER BY w.distributor_id LIMIT 1)
        UNION ALL
        SELECT (SELECT w.distributor_id FROM public.ai_work_items w
                 WHERE w.state <> 'dead_lettered' AND w.distributor_id > walk.d
                   AND (only_distributor IS NULL OR w.distributor_id = only_distributor)
                 ORDER BY w.distributor_id LIMIT 1)
          FROM walk WHERE walk.d IS NOT NULL)
      SELECT walk.d,
             leased_cap - (SELECT count(*) FROM public.ai_work_items l
                            WHERE l.distributor_id = walk.d AND l.state = 'leased'
                              AND l.available_at > now())::integer AS room,
             s.last_claimed_at AS served_at
        FROM walk
        LEFT JOIN public.ai_work_distributors s ON s.distributor_id = walk.d
       WHERE walk.d IS NOT NULL
         AND EXISTS (SELECT 1 FROM public.ai_work_items c
                      WHERE c.distributor_id = walk.d AND c.state <> 'dead_lettered'
                        AND c.available_at <= now())) c
   WHERE c.room > 0;
  left_count := cardinality(distributors);

  -- 3. Each distributor in turn takes its share of what is left, so one
  --    backlog cannot starve the others, and a short one leaves its share to
  --    the next.
  FOR i IN 1 .. left_count LOOP
    EXIT WHEN remaining <= 0;
    take := least((remaining + left_count - 1) / left_count, rooms[i]);
    RETURN QUERY
      UPDATE public.ai_work_items w
         SET state = 'leased', attempt = w.attempt + 1,
             lease_token = nextval('public.ai_work_lease_token_seq'),
             lease_expire_time = now() + lease, available_at = now() + lease,
             leased_by = worker
       WHERE w.id IN (SELECT x.id FROM public.ai_work_items x
                       WHERE x.distributor_id = distributors[i] AND x.state <> 'dead_lettered'
                         AND x.available_at <= now()
                         AND (x.state = 'available' OR x.attempt < max_attempts)
                       ORDER BY x.available_at, x.id
                       LIMIT take
                       FOR UPDATE SKIP LOCKED)
      RETURNING w.id, w.distributor_id, w.message_id, w.attempt, w.lease_token,
                w.lease_expire_time;
    GET DIAGNOSTICS taken = ROW_COUNT;
    remaining := remaining - taken;
    left_count := left_count - 1;
    IF taken > 0 THEN
      -- Served now. A concurrent claim that holds the row is marking it
      -- served too: skip it rather than queue every claim behind one row.
      UPDATE public.ai_work_distributors s SET last_claimed_at = clock_timestamp()
       WHERE s.distributor_id IN (SELECT l.distributor_id FROM public.ai_work_distributors l
                                   WHERE l.distributor_id = distributors[i]
                                   FOR UPDATE SKIP LOCKED);
      INSERT INTO public.ai_work_distributors AS s (distributor_id, last_claimed_at)
      VALUES (distributors[i], clock_timestamp())
      ON CONFLICT ON CONSTRAINT ai_work_distributors_pkey DO NOTHING;
    END IF;
  END LOOP;
END
$fn$;

COMMENT ON FUNCTION public.ai_work_claim(integer, interval, text, uuid, integer, integer) IS
  'Messaging: leases up to max_items AI work items across distributors (least recently served '
  'first, fair shares, at most leased_cap leased per distributor); dead-letters exhausted '
  'expired leases. Ids and lease data only. SECURITY DEFINER as messaging_ai_dispatcher.';

CREATE OR REPLACE FUNCTION public.ai_work_next_available(only_distributor uuid)
RETURNS timestamptz
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT min(w.available_at) FROM public.ai_work_items w
   WHERE w.state <> 'dead_lettered'
     AND (only_distributor IS NULL OR w.distributor_id = only_distributor);
END;

COMMENT ON FUNCTION public.ai_work_next_available(uuid) IS
  'Messaging: when the next AI work item becomes claimable (NULL: none). SECURITY DEFINER as '
  'messaging_ai_dispatcher.';

CREATE OR REPLACE FUNCTION public.ai_work_locate(item_id uuid)
RETURNS uuid
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT w.distributor_id FROM public.ai_work_items w WHERE w.id = item_id;
END;

COMMENT ON FUNCTION public.ai_work_locate(uuid) IS
  'Messaging: the distributor of one AI work item (NULL: none). SECURITY DEFINER as '
  'messaging_ai_dispatcher.';

CREATE OR REPLACE FUNCTION public.ai_work_list(
  wanted_state text, after_id uuid, max_rows integer, only_distributor uuid)
RETURNS TABLE (id uuid, distributor_id uuid)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT w.id, w.distributor_id FROM public.ai_work_items w
   WHERE (wanted_state IS NULL OR w.state = wanted_state)
     AND (after_id IS NULL OR w.id > after_id)
     AND (only_distributor IS NULL OR w.distributor_id = only_distributor)
   ORDER BY w.id
   LIMIT max_rows;
END;

COMMENT ON FUNCTION public.ai_work_list(text, uuid, integer, uuid) IS
  'Messaging: AI work item ids and distributors in id order, for ListAiWork by a worker. '
  'SECURITY DEFINER as messaging_ai_dispatcher.';

CREATE OR REPLACE FUNCTION public.ai_work_prune(dead_letter_retention interval)
RETURNS bigint
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  WITH dead AS (
    DELETE FROM public.ai_work_items w
     WHERE w.state = 'dead_lettered' AND w.dead_lettered_at < now() - dead_letter_retention
    RETURNING 1
  ), done AS (
    DELETE FROM public.ai_work_completions c
     WHERE c.completed_at < now() - interval '1 hour'
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM dead) + (SELECT count(*) FROM done);
END;

COMMENT ON FUNCTION public.ai_work_prune(interval) IS
  'Messaging: removes dead-lettered AI work items older than the retention and completion '
  'records older than an hour. SECURITY DEFINER as messaging_ai_dispatcher.';

CREATE OR REPLACE FUNCTION public.ai_work_depth()
RETURNS TABLE (state text, items bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT s.state, (SELECT count(*) FROM public.ai_work_items w WHERE w.state = s.state)
    FROM (VALUES ('available'), ('leased'), ('dead_lettered')) AS s (state);
END;

COMMENT ON FUNCTION public.ai_work_depth() IS
  'Messaging: number of AI work items per state. SECURITY DEFINER as messaging_ai_dispatcher.';

DO $do$
DECLARE
  fn text;
  grantee text;
BEGIN
  FOREACH fn IN ARRAY ARRAY[
      'public.ai_work_claim(integer, interval, text, uuid, integer, integer)',
      'public.ai_work_next_available(uuid)', 'public.ai_work_locate(uuid)',
      'public.ai_work_list(text, uuid, integer, uuid)', 'public.ai_work_prune(interval)',
      'public.ai_work_depth()'] LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO messaging_ai_dispatcher', fn);
  END LOOP;
  -- Nothing for PUBLIC, anon or authenticated; the rest by name.
  FOR grantee IN
    SELECT 'PUBLIC'
    UNION ALL
    SELECT quote_ident(rolname) FROM pg_catalog.pg_roles WHERE rolname IN ('anon', 'authenticated')
  LOOP
    EXECUTE format('REVOKE ALL ON TABLE public.ai_work_items, public.ai_work_completions, '
                   'public.ai_work_distributors FROM %s', grantee);
    EXECUTE format('REVOKE ALL ON SEQUENCE public.ai_work_lease_token_seq FROM %s', grantee);
    EXECUTE format('REVOKE ALL ON FUNCTION public.ai_work_enqueue() FROM %s', grantee);
    FOREACH fn IN ARRAY ARRAY[
        'public.ai_work_claim(integer, interval, text, uuid, integer, integer)',
        'public.ai_work_next_available(uuid)', 'public.ai_work_locate(uuid)',
        'public.ai_work_list(text, uuid, integer, uuid)', 'public.ai_work_prune(interval)',
        'public.ai_work_depth()'] LOOP
      EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %s', fn, grantee);
    END LOOP;
  END LOOP;
  FOREACH fn IN ARRAY ARRAY[
      'public.ai_work_claim(integer, interval, text, uuid, integer, integer)',
      'public.ai_work_next_available(uuid)', 'public.ai_work_locate(uuid)',
      'public.ai_work_list(text, uuid, integer, uuid)', 'public.ai_work_prune(interval)',
      'public.ai_work_depth()'] LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO messaging_app', fn);
  END LOOP;
END
$do$;

-- Undo the loan: the dispatcher keeps no CREATE, and (on PostgreSQL <= 15)
-- no members.
DO $do$
BEGIN
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  REVOKE CREATE ON SCHEMA public FROM messaging_ai_dispatcher;
  IF current_setting('server_version_num')::int < 160000
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members
                  WHERE roleid = 'messaging_ai_dispatcher'::regrole
                    AND member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN
    EXECUTE format('REVOKE messaging_ai_dispatcher FROM %I', current_user);
  END IF;
END
$do$;
