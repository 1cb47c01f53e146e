#pragma once

// Every SQL statement of the AI work queue. Statements on one item run in a
// transaction of the item's tenant (Row Level Security); the cross-tenant
// steps go through the SECURITY DEFINER functions of migration 005.

#include <string>

#include "repository/sql/message_sql.h"
#include "repository/statement.h"

namespace messaging::repository::sql {

// What every statement returning work items selects, from alias `w`; read by
// AiWorkItemReader (pg_ai_work_repository.cpp).
inline constexpr char kAiWorkColumns[] = R"sql(
  w.id::text                                                   AS id,
  w.distributor_id::text                                       AS distributor_id,
  w.message_id::text                                           AS message_id,
  w.state                                                      AS state,
  w.attempt                                                    AS attempt,
  coalesce(w.lease_token, 0)                                   AS lease_token,
  (extract(epoch FROM w.lease_expire_time) * 1000000)::int8    AS lease_expire_time,
  (extract(epoch FROM w.available_at) * 1000000)::int8         AS available_at,
  coalesce(w.last_error, '')                                   AS last_error
)sql";

// The lease condition every call on a lease repeats: the current token, and
// not expired (an expired lease may be claimed again at any moment).
inline const std::string kCurrentLease =
    " w.id = :id::uuid AND w.lease_token = :fence::int8 AND w.state = 'leased'"
    " AND w.lease_expire_time > now() ";

inline const Statement kClaimAiWork("ai_work_claim", R"sql(
SELECT c.id::text AS id, c.distributor_id::text AS distributor_id,
       c.message_id::text AS message_id, 'leased' AS state, c.attempt AS attempt,
       c.lease_token AS lease_token,
       (extract(epoch FROM c.lease_expire_time) * 1000000)::int8 AS lease_expire_time,
       (extract(epoch FROM c.lease_expire_time) * 1000000)::int8 AS available_at,
       '' AS last_error
  FROM ai_work_claim(:max_items::int4, :lease_ms::int8 * interval '1 millisecond', :worker,
                     nullif(:only_distributor, '')::uuid, :leased_cap::int4,
                     :max_attempts::int4) c)sql");

inline const Statement kNextAvailableAiWork("ai_work_next_available", R"sql(
SELECT (extract(epoch FROM ai_work_next_available(nullif(:only_distributor, '')::uuid))
        * 1000000)::int8)sql");

inline const Statement kSelectAiWork("ai_work_select", kAiWorkColumns, R"sql(
SELECT {columns} FROM ai_work_items w WHERE w.id = :id::uuid)sql");

// A claim's items are read in one snapshot transaction, tenant after tenant:
// this switches the tenant (set_config(..., true) is SET LOCAL, as in the
// transaction's first statement), so Row Level Security applies.
inline const Statement kEnterAiWorkTenant("ai_work_enter_tenant", R"sql(
SELECT set_config('app.distributor_id', :distributor_id, true))sql");

// The item's message and the conversation's latest messages before it, up to
// 20, oldest first: the message itself is the last row (none if it is gone).
inline const Statement kAiWorkMessageWithContext("ai_work_message_with_context", kMessageColumns,
                                                 R"sql(
SELECT {columns} FROM (
  SELECT m.* FROM messages m, messages this
   WHERE this.id = :message_id::uuid AND m.conversation_id = this.conversation_id
     AND (m.created_at, m.id) <= (this.created_at, this.id)
   ORDER BY m.created_at DESC, m.id DESC
   LIMIT 21) m
ORDER BY m.created_at, m.id)sql");

inline const Statement kExtendAiWork(
    "ai_work_extend", kAiWorkColumns,
    "UPDATE ai_work_items w SET lease_expire_time = now() + :lease_ms::int8 * interval '1 ms',"
    " available_at = now() + :lease_ms::int8 * interval '1 ms' WHERE" +
        kCurrentLease + "RETURNING {columns}");

// Locks the item while its lease is current (FailAiWork decides by its attempt).
inline const Statement kLockAiWorkLease("ai_work_lock_lease", kAiWorkColumns,
                                        "SELECT {columns} FROM ai_work_items w WHERE" +
                                            kCurrentLease + "FOR UPDATE");

inline const Statement kRetryAiWork("ai_work_retry", kAiWorkColumns, R"sql(
UPDATE ai_work_items w SET state = 'available',
       available_at = now() + :delay_ms::int8 * interval '1 millisecond',
       lease_token = NULL, lease_expire_time = NULL, leased_by = NULL,
       last_error = nullif(:error, '')
 WHERE w.id = :id::uuid
RETURNING {columns})sql");

inline const Statement kDeadLetterAiWork("ai_work_dead_letter", kAiWorkColumns, R"sql(
UPDATE ai_work_items w SET state = 'dead_lettered', dead_lettered_at = now(),
       lease_token = NULL, lease_expire_time = NULL, leased_by = NULL,
       last_error = nullif(:error, '')
 WHERE w.id = :id::uuid
RETURNING {columns})sql");

inline const Statement kSetAiStatus("ai_work_set_message_status", R"sql(
UPDATE messages SET ai_processing_status = :status WHERE id = :message_id::uuid
RETURNING id)sql");

// CompleteAiWork in one statement: removes the item if the lease is current,
// writes the results to its message, optionally the conversation's summary,
// and remembers the completion (so a repeat returns the message again); the
// message as written. No row: the lease is not current (or was completed).
inline const Statement kCompleteAiWork("ai_work_complete", kMessageColumns, R"sql(
WITH finished AS (
  DELETE FROM ai_work_items w WHERE)sql" + kCurrentLease + R"sql(
  RETURNING w.id, w.message_id),
m AS (
  UPDATE messages SET ai_summary = nullif(:ai_summary, ''), ai_intent = nullif(:ai_intent, ''),
         ai_sentiment = nullif(:ai_sentiment, ''),
         ai_extracted_data = :ai_extracted_data::jsonb,
         ai_processing_status = 'completed', ai_processed_at = now()
   WHERE id = (SELECT message_id FROM finished)
  RETURNING *),
summary AS (
  UPDATE conversations SET ai_context_summary = nullif(:summary, '')
   WHERE :set_summary::bool AND id = (SELECT conversation_id FROM m)
  RETURNING id),
recorded AS (
  INSERT INTO ai_work_completions (item_id, lease_token, distributor_id, message_id)
  SELECT finished.id, :fence::int8, messaging_current_distributor_id(), m.id
    FROM finished JOIN m ON m.id = finished.message_id
  ON CONFLICT (item_id) DO UPDATE SET lease_token = excluded.lease_token,
    message_id = excluded.message_id, completed_at = now()
  RETURNING item_id)
SELECT {columns} FROM m)sql");

inline const Statement kFindAiCompletion("ai_work_find_completion", R"sql(
SELECT c.message_id::text AS message_id FROM ai_work_completions c
 WHERE c.item_id = :id::uuid AND c.lease_token = :fence::int8)sql");

inline const Statement kRequeueAiWork("ai_work_requeue", kAiWorkColumns, R"sql(
UPDATE ai_work_items w SET state = 'available', attempt = 0, available_at = now(),
       lease_token = NULL, lease_expire_time = NULL, leased_by = NULL, last_error = NULL,
       dead_lettered_at = NULL
 WHERE w.id = :id::uuid
RETURNING {columns})sql");

inline const Statement kRequeueMessage("ai_work_requeue_message", R"sql(
UPDATE messages SET ai_processing_status = 'pending'
 WHERE id = :message_id::uuid AND ai_processing_status <> 'pending'
RETURNING id)sql");

inline const Statement kLocateAiWork("ai_work_locate", R"sql(
SELECT ai_work_locate(:id::uuid)::text AS distributor_id)sql");

// ListAiWork of a distributor (RLS), in id order after :after_id ('' : first page).
inline const Statement kListAiWork("ai_work_list", kAiWorkColumns, R"sql(
SELECT {columns} FROM ai_work_items w
 WHERE (:state = '' OR w.state = :state)
   AND w.id > coalesce(nullif(:after_id, '')::uuid, '00000000-0000-0000-0000-000000000000')
 ORDER BY w.id
 LIMIT :limit::int4)sql");

// ListAiWork of a worker: ids and tenants of every distributor (or one).
inline const Statement kListAiWorkAcrossTenants("ai_work_list_all", R"sql(
SELECT l.id::text AS id, l.distributor_id::text AS distributor_id
  FROM ai_work_list(nullif(:state, ''), nullif(:after_id, '')::uuid, :limit::int4,
                    nullif(:only_distributor, '')::uuid) l)sql");

inline const Statement kPruneAiWork("ai_work_prune", R"sql(
SELECT ai_work_prune(:retention_s::int8 * interval '1 second'))sql");

inline const Statement kAiWorkDepth("ai_work_depth", R"sql(
SELECT d.state AS state, d.items AS items FROM ai_work_depth() d)sql");

}  // namespace messaging::repository::sql
