-- Benchmark data, bulk-loaded directly (not through the API), run as a
-- superuser by bench/run.sh:
--
--   psql -v ON_ERROR_STOP=1 -v distributors=10 -v conversations=1000 \
--        -v messages=100000 -v deep=0 -v rebuild_indexes=0 -f seed.sql
--
-- Fixture ids are deterministic so pgbench scripts can compute them from
-- integers (bench/src/sql_tool.cpp):
--   distributor d   d0000000-0000-4000-8000-<d, 12 digits>
--   customer n      c0000000-0000-4000-8000-<n, 12 digits>
--   conversation n  a0000000-0000-4000-8000-<n, 12 digits>, of distributor ((n-1) % distributors) + 1
-- Messages are interleaved over conversations in time order (row i goes to
-- conversation ((i-1) % conversations) + 1), as real traffic would lay them
-- out in the heap; with deep > 0, every (messages/deep)-th row instead goes to
-- conversation 1 (the "deep" conversation for page-1,000 reads) and the round
-- robin continues over the other rows. Half inbound,
-- half outbound; 99% already AI-processed. Stream events are not generated for
-- bulk rows (triggers are off for the load: session_replication_role).
--
-- rebuild_indexes=1 drops the messages indexes (saving their exact
-- definitions from the catalog), loads, and recreates them: much faster for
-- millions of rows, same indexes afterwards.

\set ON_ERROR_STOP 1
SET maintenance_work_mem = '1GB';
SET session_replication_role = replica;  -- No triggers (events, FK checks) for bulk rows.

INSERT INTO distributors (id, name)
SELECT format('d0000000-0000-4000-8000-%s', lpad(d::text, 12, '0'))::uuid, 'bench distributor ' || d
FROM generate_series(1, :distributors) d
ON CONFLICT DO NOTHING;

INSERT INTO customers (id, name)
SELECT format('c0000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid, 'bench customer ' || n
FROM generate_series(1, :conversations) n
ON CONFLICT DO NOTHING;

INSERT INTO conversations (id, distributor_id, customer_id, channel, created_at, updated_at)
SELECT format('a0000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
       format('d0000000-0000-4000-8000-%s', lpad((((n - 1) % :distributors) + 1)::text, 12, '0'))::uuid,
       format('c0000000-0000-4000-8000-%s', lpad(n::text, 12, '0'))::uuid,
       'whatsapp', now() - interval '400 days', now() - interval '400 days'
FROM generate_series(1, :conversations) n
ON CONFLICT DO NOTHING;

\if :rebuild_indexes
CREATE TEMP TABLE bench_saved_indexes AS
SELECT indexname, indexdef FROM pg_indexes
WHERE schemaname = 'public' AND tablename = 'messages'
  AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'public.messages'::regclass);
CREATE TEMP TABLE bench_saved_pkey AS
SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
WHERE conrelid = 'public.messages'::regclass AND contype = 'p';
SELECT format('DROP INDEX public.%I', indexname) FROM bench_saved_indexes \gexec
SELECT format('ALTER TABLE public.messages DROP CONSTRAINT %I', conname) FROM bench_saved_pkey \gexec
\endif

-- One statement, time-ordered rows. The last :messages rows end one minute ago.
INSERT INTO messages (id, conversation_id, distributor_id, direction, message_type, content,
                      external_message_id, delivery_status, ai_processing_status,
                      ai_processed_at, created_at, updated_at)
SELECT gen_random_uuid(),
       format('a0000000-0000-4000-8000-%s', lpad(conv::text, 12, '0'))::uuid,
       format('d0000000-0000-4000-8000-%s', lpad((((conv - 1) % :distributors) + 1)::text, 12, '0'))::uuid,
       CASE WHEN i % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
       'text',
       'bulk message ' || i || ' lorem ipsum dolor sit amet, consectetur adipiscing',
       CASE WHEN i % 2 = 0 THEN 'SMbulk' || lpad(i::text, 28, '0') END,
       CASE WHEN i % 2 = 0 THEN 'received' ELSE 'delivered' END,
       CASE WHEN i > :messages * 0.99 THEN 'pending' ELSE 'completed' END,
       CASE WHEN i > :messages * 0.99 THEN NULL ELSE ts END,
       ts, ts
FROM (
  SELECT i,
         CASE WHEN :deep > 0 AND i % greatest(:messages / greatest(:deep, 1), 1) = 0 THEN 1
              -- Other rows go round robin (counting only the rows not given to conversation 1).
              ELSE ((i - 1 - CASE WHEN :deep > 0 THEN i / greatest(:messages / greatest(:deep, 1), 1)
                                  ELSE 0 END) % :conversations) + 1 END AS conv,
         now() - interval '1 minute' - (:messages - i) * interval '10 milliseconds' AS ts
  FROM generate_series(1, :messages) i
) g;

\if :rebuild_indexes
SELECT format('ALTER TABLE public.messages ADD CONSTRAINT %I %s', conname, def) FROM bench_saved_pkey \gexec
SELECT indexdef FROM bench_saved_indexes \gexec
\endif

-- Conversations reflect their messages (inbox order, preview, unread count).
SET work_mem = '256MB';
UPDATE conversations c
SET last_message_at = x.last_at,
    last_message_preview = 'bulk message',
    unread_count = x.inbound
FROM (
  SELECT conversation_id, max(created_at) AS last_at,
         count(*) FILTER (WHERE direction = 'inbound') AS inbound
  FROM messages
  GROUP BY conversation_id
) x
WHERE c.id = x.conversation_id;

RESET session_replication_role;
VACUUM (ANALYZE) distributors, customers, conversations, messages, message_events;
