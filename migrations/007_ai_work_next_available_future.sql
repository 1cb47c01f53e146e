-- 007_ai_work_next_available_future.sql
--
-- ai_work_next_available() names only a time still to come. It is what a
-- waiting ClaimAiWork sets its timer to when it found nothing: the next
-- backed-off retry or expiring lease. 005 returned the earliest available_at
-- of any item, including items claimable now that this claim could not take
-- (locked by a concurrent claim, committed after its snapshot, or over its
-- distributor's cap). The timer was then already due: the call ran its claim
-- again at once, found nothing again, and so on until the other claim
-- committed -- about 150 wasted claims a second under 16 waiting workers at
-- 80 messages/s (see docs/ai-work-queue.md). Work claimable now reaches a
-- waiting claim by a wake-up instead: its enqueuing commit, the end of a
-- failed claim, or a completion freeing room under the cap each wake one.
--
-- Nothing else changes: same signature, owner and privileges.
--
-- HOW TO APPLY
--   Idempotent like every migration (a loan granted and undone, CREATE OR
--   REPLACE):
--     psql -v ON_ERROR_STOP=1 -1 -f migrations/007_ai_work_next_available_future.sql "$DATABASE_URL"
--   No BEGIN/COMMIT, no psql meta-commands. Apply 000 to 006 first.
--
-- WHO CAN APPLY IT
--   The owner of the messaging objects, like 005 and 006: only the function's
--   owner (messaging_ai_dispatcher) may replace it, so the migrating role
--   becomes that role for the one statement (SET LOCAL ROLE), after lending it
--   CREATE on schema public; the loan is undone at the end. No superuser.

-- The loan (as in 005): membership in the dispatcher, and CREATE on public for
-- it, which CREATE OR REPLACE FUNCTION needs as the function's owner.
DO $do$
BEGIN
  BEGIN
    GRANT CREATE ON SCHEMA public TO messaging_ai_dispatcher;
  EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
    RAISE EXCEPTION 'migration 007: % cannot grant CREATE on schema public to messaging_ai_dispatcher: %',
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

CREATE OR REPLACE FUNCTION public.ai_work_next_available(only_distributor uuid)
RETURNS timestamptz
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT min(w.available_at) FROM public.ai_work_items w
   WHERE w.state <> 'dead_lettered' AND w.available_at > now()
     AND (only_distributor IS NULL OR w.distributor_id = only_distributor);
END;

COMMENT ON FUNCTION public.ai_work_next_available(uuid) IS
  'Messaging: when the next AI work item becomes claimable, later than now (NULL: none). '
  'SECURITY DEFINER as messaging_ai_dispatcher.';

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
