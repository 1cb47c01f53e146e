-- 002_message_events.sql
--
-- The change log behind StreamMessages (docs/streaming.md): every insert, update
-- and delete of a message appends one row here, in the same transaction, by
-- trigger, so no write path (the server, psql, Supabase's PostgREST) can
-- change a message without producing its event. Each transaction that writes
-- an event also sends NOTIFY messaging_events with an empty payload: a
-- wake-up only (NOTIFY payloads are visible to every database user, so they
-- carry no tenant data), and identical notifications of one transaction are
-- folded into one by PostgreSQL.
--
-- ORDER AND GAP-FREE RESUME
--   Sequence numbers are taken before commit, so a later number can become
--   visible before an earlier one. Readers therefore order events by
--   (xid, seq) -- the writing transaction's id, then the sequence -- and only
--   read events whose xid is below pg_snapshot_xmin(pg_current_snapshot()):
--   every transaction with a smaller xid has finished, so that prefix of the
--   log is final and a cursor (xid, seq) into it never skips an event that
--   commits late. See docs/streaming.md.
--
-- RETENTION
--   The server prunes events older than its retention (default 7 days) with a
--   bare `DELETE FROM message_events` under `SET LOCAL
--   messaging.event_retention = '<interval>'`: the prune policy alone picks
--   the rows (of every tenant, as no tenant is set), and never one younger than
--   one hour whatever the setting says, so it cannot disturb live streams. A
--   DELETE without a WHERE clause needs no SELECT policy and returns nothing,
--   so pruning reveals no other tenant's data.
--
-- Idempotent like every migration: safe to run again.

CREATE TABLE IF NOT EXISTS public.message_events (
  seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid             xid8 NOT NULL DEFAULT pg_current_xact_id(),
  distributor_id  uuid NOT NULL,
  conversation_id uuid NOT NULL,
  message_id      uuid NOT NULL,
  event_type      text NOT NULL CHECK (event_type IN ('created', 'updated', 'deleted')),
  created_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE public.message_events IS
  'Change log of messages for StreamMessages; read in (xid, seq) order below the xmin horizon.';

-- Distributor-wide streams: WHERE distributor_id = tenant AND (xid, seq) > cursor ORDER BY xid, seq.
CREATE INDEX IF NOT EXISTS idx_message_events_distributor
  ON public.message_events (distributor_id, xid, seq);
-- One-conversation streams: WHERE conversation_id = $1 AND (xid, seq) > cursor ORDER BY xid, seq.
CREATE INDEX IF NOT EXISTS idx_message_events_conversation
  ON public.message_events (conversation_id, xid, seq);
-- Retention: DELETE ... WHERE created_at < now() - retention.
CREATE INDEX IF NOT EXISTS idx_message_events_created_at
  ON public.message_events (created_at);

ALTER TABLE public.message_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.message_events FORCE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS message_events_tenant_select ON public.message_events;
CREATE POLICY message_events_tenant_select ON public.message_events
  FOR SELECT
  USING (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS message_events_tenant_insert ON public.message_events;
CREATE POLICY message_events_tenant_insert ON public.message_events
  FOR INSERT
  WITH CHECK (distributor_id = (SELECT public.messaging_current_distributor_id()));

DROP POLICY IF EXISTS message_events_prune ON public.message_events;
CREATE POLICY message_events_prune ON public.message_events
  FOR DELETE
  USING (created_at < now() - greatest(
    coalesce(nullif(current_setting('messaging.event_retention', true), '')::interval,
             interval '7 days'),
    interval '1 hour'));

GRANT SELECT, INSERT, DELETE ON TABLE public.message_events TO messaging_app;

-- Appends the event for each changed message row and wakes the listeners.
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
  INSERT INTO public.message_events (distributor_id, conversation_id, message_id, event_type)
  VALUES (row_data.distributor_id, row_data.conversation_id, row_data.id,
          CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END);
  PERFORM pg_notify('messaging_events', '');
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION public.messaging_record_message_event() IS
  'Trigger: records message changes in message_events and NOTIFYs messaging_events.';

DROP TRIGGER IF EXISTS messages_record_event ON public.messages;
CREATE TRIGGER messages_record_event
  AFTER INSERT OR UPDATE OR DELETE ON public.messages
  FOR EACH ROW EXECUTE FUNCTION public.messaging_record_message_event();
