-- scripts/verify.sql -- check that the messaging migrations are in place.
--
--   psql -v ON_ERROR_STOP=1 -f scripts/verify.sql "$DATABASE_URL"
--
-- Prints three quick result sets to read by eye (the tables exist, their
-- rowsecurity flag, their indexes), then checks everything the service
-- relies on and RAISEs (non-zero exit with ON_ERROR_STOP) naming every problem
-- found. Read-only; plain SQL (no psql meta-commands), so it also runs in the
-- Supabase SQL editor. Needs no superuser: the catalogs are readable by anyone.

-- Check tables exist
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public'
AND table_name IN ('conversations', 'messages');

-- Check RLS is enabled
SELECT schemaname, tablename, rowsecurity
FROM pg_tables
WHERE tablename IN ('conversations', 'messages');

-- Check indexes
SELECT indexname, tablename FROM pg_indexes
WHERE tablename IN ('conversations', 'messages');

DO $verify$
DECLARE
  problems text[] := '{}';
  r record;
  v_tbl text;
  v_cmd text;
  v_idx text;
BEGIN
  -- Tables, RLS enabled AND forced.
  FOREACH v_tbl IN ARRAY ARRAY['conversations', 'messages'] LOOP
    SELECT c.relrowsecurity, c.relforcerowsecurity INTO r
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = v_tbl AND c.relkind = 'r';
    IF NOT FOUND THEN
      problems := problems || format('table public.%s is missing', v_tbl);
      CONTINUE;
    END IF;
    IF NOT r.relrowsecurity THEN
      problems := problems || format('row level security is not enabled on %s', v_tbl);
    END IF;
    IF NOT r.relforcerowsecurity THEN
      problems := problems || format('row level security is not forced on %s', v_tbl);
    END IF;

    -- One permissive tenant policy per command, for PUBLIC, using the tenant function.
    FOREACH v_cmd IN ARRAY ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] LOOP
      PERFORM 1 FROM pg_catalog.pg_policies p
        WHERE p.schemaname = 'public' AND p.tablename = v_tbl
          AND p.policyname = format('%s_tenant_%s', v_tbl, lower(v_cmd))
          AND p.cmd = v_cmd AND p.permissive = 'PERMISSIVE' AND p.roles = '{public}'
          AND coalesce(p.qual, p.with_check) LIKE '%messaging_current_distributor_id()%'
          AND (v_cmd <> 'UPDATE' OR p.with_check LIKE '%messaging_current_distributor_id()%');
      IF NOT FOUND THEN
        problems := problems || format('policy %s_tenant_%s (FOR %s) on %s is missing or altered',
                                       v_tbl, lower(v_cmd), v_cmd, v_tbl);
      END IF;
    END LOOP;

    -- Permissive policies are OR-ed: any other one would widen access.
    FOR r IN SELECT p.policyname FROM pg_catalog.pg_policies p
              WHERE p.schemaname = 'public' AND p.tablename = v_tbl
                AND p.permissive = 'PERMISSIVE'
                AND p.policyname NOT LIKE v_tbl || '\_tenant\_%' LOOP
      problems := problems || format('unexpected permissive policy %s on %s weakens tenant isolation',
                                     r.policyname, v_tbl);
    END LOOP;

    -- updated_at trigger.
    PERFORM 1 FROM pg_catalog.pg_trigger t
      WHERE t.tgrelid = format('public.%I', v_tbl)::regclass
        AND t.tgname = v_tbl || '_touch_updated_at' AND t.tgenabled <> 'D'
        AND t.tgfoid = 'public.messaging_touch_updated_at()'::regprocedure;
    IF NOT FOUND THEN
      problems := problems || format('trigger %s_touch_updated_at on %s is missing or disabled', v_tbl, v_tbl);
    END IF;
  END LOOP;

  -- Indexes by name (all valid).
  FOREACH v_idx IN ARRAY ARRAY[
      'conversations_pkey', 'conversations_id_distributor_id_key',
      'idx_conversations_inbox', 'idx_conversations_customer',
      'idx_conversations_customer_fk', 'idx_conversations_channel',
      'idx_conversations_status', 'idx_conversations_unique_active',
      'messages_pkey', 'idx_messages_conversation', 'idx_messages_created_at',
      'idx_messages_ai_pending', 'idx_messages_unique_external_id'] LOOP
    PERFORM 1 FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = v_idx AND i.indisvalid;
    IF NOT FOUND THEN
      problems := problems || format('index %s is missing or invalid', v_idx);
    END IF;
  END LOOP;
  FOREACH v_idx IN ARRAY ARRAY['idx_conversations_unique_active', 'idx_messages_unique_external_id'] LOOP
    PERFORM 1 FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relname = v_idx AND i.indisunique AND i.indpred IS NOT NULL;
    IF NOT FOUND THEN
      problems := problems || format('index %s is not a partial unique index', v_idx);
    END IF;
  END LOOP;

  -- The composite foreign key that ties messages.distributor_id to its conversation's.
  IF to_regclass('public.messages') IS NOT NULL THEN
    PERFORM 1 FROM pg_catalog.pg_constraint
      WHERE conrelid = 'public.messages'::regclass
        AND conname = 'messages_conversation_id_distributor_id_fkey'
        AND contype = 'f' AND confrelid = 'public.conversations'::regclass
        AND confdeltype = 'c' AND convalidated
        AND array_length(conkey, 1) = 2;
    IF NOT FOUND THEN
      problems := problems || 'foreign key messages_conversation_id_distributor_id_fkey (conversation_id, distributor_id) -> conversations ON DELETE CASCADE is missing'::text;
    END IF;
  END IF;

  -- The tenant function.
  PERFORM 1 FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'public' AND p.proname = 'messaging_current_distributor_id'
     AND p.pronargs = 0 AND p.prorettype = 'uuid'::regtype
     AND p.provolatile = 's' AND NOT p.prosecdef;
  IF NOT FOUND THEN
    problems := problems || 'function public.messaging_current_distributor_id() (STABLE, SECURITY INVOKER, returns uuid) is missing'::text;
  END IF;

  -- The server's role.
  SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'messaging_app';
  IF NOT FOUND THEN
    problems := problems || 'role messaging_app is missing'::text;
  ELSE
    IF r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb
       OR r.rolreplication OR r.rolcanlogin THEN
      problems := problems || format(
        'role messaging_app must be NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB NOREPLICATION NOLOGIN '
        '(super=%s bypassrls=%s createrole=%s createdb=%s replication=%s login=%s)',
        r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb, r.rolreplication, r.rolcanlogin);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE relowner = r.oid)
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE proowner = r.oid)
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspowner = r.oid) THEN
      problems := problems || 'role messaging_app owns objects in this database (it must own nothing)'::text;
    END IF;
    IF NOT has_schema_privilege('messaging_app', 'public', 'USAGE') THEN
      problems := problems || 'messaging_app lacks USAGE on schema public'::text;
    END IF;
    FOREACH v_tbl IN ARRAY ARRAY['conversations', 'messages'] LOOP
      IF to_regclass('public.' || v_tbl) IS NULL THEN
        CONTINUE;
      END IF;
      FOREACH v_cmd IN ARRAY ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] LOOP
        IF NOT has_table_privilege('messaging_app', 'public.' || v_tbl, v_cmd) THEN
          problems := problems || format('messaging_app lacks %s on %s', v_cmd, v_tbl);
        END IF;
      END LOOP;
      -- TRUNCATE ignores RLS; REFERENCES would allow probing other tenants' keys.
      FOREACH v_cmd IN ARRAY ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER'] LOOP
        IF has_table_privilege('messaging_app', 'public.' || v_tbl, v_cmd) THEN
          problems := problems || format('messaging_app must not have %s on %s', v_cmd, v_tbl);
        END IF;
      END LOOP;
    END LOOP;
    IF to_regclass('public.messaging_schema_migrations') IS NOT NULL
       AND has_table_privilege('messaging_app', 'public.messaging_schema_migrations',
                               'SELECT, INSERT, UPDATE, DELETE, TRUNCATE') THEN
      problems := problems || 'messaging_app must have no privilege on messaging_schema_migrations'::text;
    END IF;
  END IF;

  -- Least privilege and retention (migration 004).
  IF to_regclass('public.message_events') IS NOT NULL THEN
    IF has_table_privilege('messaging_app', 'public.message_events', 'DELETE') THEN
      problems := problems || 'messaging_app must not DELETE from message_events (pruning goes through messaging_prune_events())'::text;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_policies p
                WHERE p.schemaname = 'public' AND p.tablename = 'message_events'
                  AND p.cmd IN ('DELETE', 'ALL') AND p.roles <> '{messaging_event_pruner}') THEN
      problems := problems || 'message_events has a DELETE policy for roles other than messaging_event_pruner'::text;
    END IF;
  END IF;
  FOREACH v_idx IN ARRAY ARRAY['public.messaging_prune_events(public.messaging_event_retention)',
                               'public.messaging_event_low_water()'] LOOP
    IF to_regprocedure(v_idx) IS NULL THEN
      problems := problems || format('function %s is missing', v_idx);
      CONTINUE;
    END IF;
    PERFORM 1 FROM pg_catalog.pg_proc p
      WHERE p.oid = to_regprocedure(v_idx) AND p.prosecdef
        AND p.proowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'messaging_event_pruner')
        AND has_function_privilege('messaging_app', p.oid, 'EXECUTE');
    IF NOT FOUND THEN
      problems := problems || format('function %s must be SECURITY DEFINER, owned by messaging_event_pruner, executable by messaging_app', v_idx);
    END IF;
  END LOOP;
  FOR r IN SELECT p.proname FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'messaging%'
              AND (p.proconfig IS NULL OR NOT p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']) LOOP
    problems := problems || format('function %s has no fixed search_path (SET search_path = pg_catalog, pg_temp)', r.proname);
  END LOOP;
  FOR r IN SELECT p.proname FROM pg_catalog.pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'messaging%'
              AND has_function_privilege('public', p.oid, 'EXECUTE') LOOP
    problems := problems || format('PUBLIC may execute function %s', r.proname);
  END LOOP;
  FOREACH v_tbl IN ARRAY ARRAY['conversations', 'messages', 'message_events',
                               'message_events_low_water', 'messaging_schema_migrations'] LOOP
    IF to_regclass('public.' || v_tbl) IS NOT NULL
       AND has_table_privilege('public', 'public.' || v_tbl,
                               'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') THEN
      problems := problems || format('PUBLIC has privileges on %s', v_tbl);
    END IF;
  END LOOP;

  IF cardinality(problems) > 0 THEN
    RAISE EXCEPTION 'messaging schema verification failed (% problem(s)):%',
      cardinality(problems), E'\n  - ' || array_to_string(problems, E'\n  - ');
  END IF;
  RAISE NOTICE 'messaging schema verification passed';
END
$verify$;
