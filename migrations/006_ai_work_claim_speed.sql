-- 006_ai_work_claim_speed.sql
--
-- ai_work_claim() without the two waits and scans that made it the queue's
-- bottleneck (measured with pg_stat_statements, 16 workers claiming one item
-- each over 10 distributors; see docs/ai-work-queue.md):
--
--   * Marking a distributor served: 005 ran INSERT ... ON CONFLICT DO NOTHING
--     after every successful UPDATE of ai_work_distributors. When another
--     claim had just updated that row and not yet committed, the insert's
--     conflict check waited for that claim's transaction to end: claims of
--     the same distributor queued behind each other (5.5 ms of a 10 ms claim).
--     Now the row is inserted only when it is not there at all (a plain MVCC
--     read, which never waits).
--   * Bitmap scans off inside the function. The planner chose bitmap heap
--     scans for the count of leased items and the expired-lease scan; a bitmap
--     scan never marks the index entries of dead rows, so every claim visited
--     every dead version a lease had left behind since the last vacuum (up to
--     7 ms per claim after a minute of churn). A plain index scan marks them
--     dead on first visit and skips them afterwards.
--
-- Nothing else changes: same signature, results, owner and privileges.
--
-- HOW TO APPLY
--   Idempotent like every migration (a loan granted and undone, CREATE OR
--   REPLACE):
--     psql -v ON_ERROR_STOP=1 -1 -f migrations/006_ai_work_claim_speed.sql "$DATABASE_URL"
--   No BEGIN/COMMIT, no psql meta-commands. Apply 000 to 005 first.
--
-- WHO CAN APPLY IT
--   The owner of the messaging objects, like 005: only the function's owner
--   (messaging_ai_dispatcher) may replace it, so the migrating role becomes
--   that role for the one statement (SET LOCAL ROLE), after lending it
--   CREATE on schema public; the loan is undone at the end. No superuser.

-- The loan (as in 005): membership in the dispatcher, and CREATE on public for
-- it, which CREATE OR REPLACE FUNCTION needs as the function's owner.
DO $do$
BEGIN
  BEGIN
    GRANT CREATE ON SCHEMA public TO messaging_ai_dispatcher;
  EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE EXCEPTION 'migration 006: % cannot grant CREATE on schema public to messaging_ai_dispatcher: %',
      current_user, SQLERRM
      USING HINT = 'Apply it as the owner of schema public (the database owner on PostgreSQL 15+).';
  END;
  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  IF current_setting('server_version_num')::int >= 160000 THEN
    IF NOT pg_catalog.pg_has_role(current_user, 'messaging_ai_dispatcher', 'SET') THEN
      EXECUTE format('GRANT messaging_ai_dispatcher TO %I WITH INHERIT FALSE, SET TRUE', current_user);
    END IF;
  ELSIF NOT pg_catalog.pg_has_role(current_user, 'messaging_ai_dispatcher', 'MEMBER') THEN
    EXECUTE format('GRANT messaging_ai_dispatcher TO %I', current_user);
  END IF;
END
$do$;

SET LOCAL ROLE messaging_ai_dispatcher;

CREATE OR REPLACE FUNCTION public.ai_work_claim(
  max_items integer, lease interval, worker text, only_distributor uuid,
  leased_cap integer, max_attempts integer)
RETURNS TABLE (id uuid, distributor_id uuid, message_id uuid, attempt integer,
               lease_token bigint, lease_expire_time timestamptz)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- Plain index scans mark dead rows' index entries (see the header).
SET enable_bitmapscan = off
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
      -- Insert the row only when it does not exist at all: an INSERT ... ON
      -- CONFLICT against a row another claim just updated would wait for it.
      UPDATE public.ai_work_distributors s SET last_claimed_at = clock_timestamp()
       WHERE s.distributor_id IN (SELECT l.distributor_id FROM public.ai_work_distributors l
                                   WHERE l.distributor_id = distributors[i]
                                   FOR UPDATE SKIP LOCKED);
      IF NOT FOUND AND NOT EXISTS (SELECT 1 FROM public.ai_work_distributors s
                                    WHERE s.distributor_id = distributors[i]) THEN
        INSERT INTO public.ai_work_distributors AS s (distributor_id, last_claimed_at)
        VALUES (distributors[i], clock_timestamp())
        ON CONFLICT ON CONSTRAINT ai_work_distributors_pkey DO NOTHING;
      END IF;
    END IF;
  END LOOP;
END
$fn$;

COMMENT ON FUNCTION public.ai_work_claim(integer, interval, text, uuid, integer, integer) IS
  'Messaging: leases up to max_items AI work items across distributors (least recently served '
  'first, fair shares, at most leased_cap leased per distributor); dead-letters exhausted '
  'expired leases. Ids and lease data only. SECURITY DEFINER as messaging_ai_dispatcher.';

RESET ROLE;

-- Undo the loan: the dispatcher keeps no CREATE, and (on PostgreSQL <= 15)
-- no members.
DO $do$
BEGIN
  REVOKE CREATE ON SCHEMA public FROM messaging_ai_dispatcher;
  IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
     AND current_setting('server_version_num')::int < 160000
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members
                  WHERE roleid = 'messaging_ai_dispatcher'::regrole
                    AND member = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)) THEN
    EXECUTE format('REVOKE messaging_ai_dispatcher FROM %I', current_user);
  END IF;
END
$do$;
