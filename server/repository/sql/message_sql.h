#pragma once

// Every SQL statement on `messages`, prepared once per connection. Rows are
// filtered by Row Level Security; distributor_id is written only from the
// transaction's tenant setting (messaging_current_distributor_id()).

#include <deque>
#include <string>

#include "absl/strings/str_replace.h"
#include "repository/sql/byte_budget_sql.h"
#include "repository/statement.h"

namespace messaging::repository::sql {

// What every statement returning messages selects, from alias `m` (the table,
// a CTE of RETURNING *, or an event's recorded state): one column per field of
// domain::Message, which MessageReader (row_mapping.h) finds by these names.
// One column a line. Timestamps as integer microseconds since the epoch.
inline constexpr char kMessageColumns[] = R"sql(
  m.id::text                                      AS id,
  m.conversation_id::text                         AS conversation_id,
  m.distributor_id::text                          AS distributor_id,
  m.direction                                     AS direction,
  m.message_type                                  AS message_type,
  coalesce(m.content, '')                         AS content,
  coalesce(m.media_url, '')                       AS media_url,
  coalesce(m.media_content_type, '')              AS media_content_type,
  coalesce(m.external_message_id, '')             AS external_message_id,
  m.delivery_status                               AS delivery_status,
  coalesce(m.error_code, '')                      AS error_code,
  coalesce(m.error_message, '')                   AS error_message,
  m.ai_processing_status                          AS ai_processing_status,
  coalesce(m.ai_summary, '')                      AS ai_summary,
  coalesce(m.ai_intent, '')                       AS ai_intent,
  coalesce(m.ai_sentiment, '')                    AS ai_sentiment,
  m.ai_extracted_data::text                       AS ai_extracted_data,
  (extract(epoch FROM m.ai_processed_at) * 1000000)::int8 AS ai_processed_at,
  m.metadata::text                                AS metadata,
  (extract(epoch FROM m.created_at) * 1000000)::int8 AS created_at,
  (extract(epoch FROM m.updated_at) * 1000000)::int8 AS updated_at,
  m.version                                       AS version
)sql";

// CreateMessage in one statement: insert (unless the conversation is not the
// tenant's, or the external id is already stored: ON CONFLICT DO NOTHING) and
// bump the conversation's last message, preview and unread count. One row
// always: conversation_visible, and the message's columns (NULL when nothing
// was inserted). Checking the conversation here, rather than letting the
// composite foreign key refuse it, makes "not found" an answer, not an error
// (the statement runs in BEGIN's round trip); the key still guards a
// conversation deleted meanwhile.
inline const Statement kInsertMessage("message_insert", kMessageColumns, R"sql(
WITH v AS (
  SELECT EXISTS (SELECT 1 FROM conversations WHERE id = :conversation_id::uuid) AS visible),
m AS (
  INSERT INTO messages (conversation_id, distributor_id, direction, message_type, content,
    media_url, media_content_type, external_message_id, delivery_status, error_code,
    error_message, ai_processing_status, ai_summary, ai_intent, ai_sentiment,
    ai_extracted_data, ai_processed_at, metadata)
  SELECT :conversation_id::uuid, messaging_current_distributor_id(), :direction, :message_type,
    nullif(:content, ''), nullif(:media_url, ''), nullif(:media_content_type, ''),
    nullif(:external_message_id, ''), :delivery_status, nullif(:error_code, ''),
    nullif(:error_message, ''), :ai_processing_status, nullif(:ai_summary, ''),
    nullif(:ai_intent, ''), nullif(:ai_sentiment, ''), :ai_extracted_data::jsonb,
    CASE WHEN :ai_processing_status = 'completed' THEN now() END, :metadata::jsonb
  FROM v WHERE v.visible
  ON CONFLICT (distributor_id, external_message_id) WHERE external_message_id IS NOT NULL
  DO NOTHING
  RETURNING *),
bump AS (
  UPDATE conversations c SET
    last_message_at      = greatest(c.last_message_at, m.created_at),
    last_message_preview = CASE WHEN c.last_message_at IS NULL
                                  OR m.created_at >= c.last_message_at
                                THEN :preview ELSE c.last_message_preview END,
    unread_count         = c.unread_count + CASE WHEN m.direction = 'inbound' THEN 1 ELSE 0 END
  FROM m WHERE c.id = m.conversation_id
  RETURNING c.id)
SELECT v.visible AS conversation_visible, {columns} FROM v LEFT JOIN m ON true)sql");

inline const Statement kSelectMessageByExternalId("message_select_by_external_id", kMessageColumns,
                                                  R"sql(
SELECT {columns} FROM messages m
WHERE m.distributor_id = messaging_current_distributor_id()
  AND m.external_message_id = :external_message_id)sql");

inline const Statement kSelectMessage("message_select", kMessageColumns, R"sql(
SELECT {columns} FROM messages m WHERE m.id = :id::uuid)sql");

// ListMessages keyset pages, one statement per order and start (the first
// page, or after (:after_created_at, :after_id)), found by ListMessages().
// Pages are bounded by :limit rows and :max_bytes; rows end with
// bytes_through and snapshot (byte_budget_sql.h). No row at all: the
// conversation is not the tenant's.
inline const std::deque<Statement> kListMessages = [] {
  std::deque<Statement> all;
  for (const bool descending : {false, true}) {
    for (const bool after_key : {false, true}) {
      std::string where = "WHERE m.conversation_id = :conversation_id::uuid";
      if (after_key) {
        where += std::string(" AND (m.created_at, m.id) ") + (descending ? "<" : ">") +
                 " (:after_created_at::timestamptz, :after_id::uuid)";
      }
      const char* order =
          descending ? "ORDER BY m.created_at DESC, m.id DESC" : "ORDER BY m.created_at, m.id";
      all.emplace_back(
          std::string("message_list_") + (descending ? "desc" : "asc") + (after_key ? "_k" : ""),
          kMessageColumns,
          BudgetedPageSql("messages", "m", where, order,
                          "FROM conversations WHERE id = :conversation_id::uuid"));
    }
  }
  return all;
}();

inline const Statement& ListMessages(bool descending, bool after_key) {
  return kListMessages[(descending ? 2 : 0) + (after_key ? 1 : 0)];
}

// A patch: each column is written only when its set_ flag is true
// (Params::Patch binds both, so each value is bound next to its column's name).
inline const Statement kUpdateMessage("message_update", kMessageColumns, R"sql(
WITH m AS (
  UPDATE messages SET
    delivery_status      = CASE WHEN :set_delivery_status::bool
                                THEN :delivery_status ELSE delivery_status END,
    error_code           = CASE WHEN :set_error_code::bool
                                THEN nullif(:error_code, '') ELSE error_code END,
    error_message        = CASE WHEN :set_error_message::bool
                                THEN nullif(:error_message, '') ELSE error_message END,
    ai_processing_status = CASE WHEN :set_ai_processing_status::bool
                                THEN :ai_processing_status ELSE ai_processing_status END,
    ai_processed_at      = CASE WHEN :set_ai_processing_status::bool
                                 AND :ai_processing_status = 'completed'
                                THEN now() ELSE ai_processed_at END,
    ai_summary           = CASE WHEN :set_ai_summary::bool
                                THEN nullif(:ai_summary, '') ELSE ai_summary END,
    ai_intent            = CASE WHEN :set_ai_intent::bool
                                THEN nullif(:ai_intent, '') ELSE ai_intent END,
    ai_sentiment         = CASE WHEN :set_ai_sentiment::bool
                                THEN nullif(:ai_sentiment, '') ELSE ai_sentiment END,
    ai_extracted_data    = CASE WHEN :set_ai_extracted_data::bool
                                THEN :ai_extracted_data::jsonb ELSE ai_extracted_data END,
    metadata             = CASE WHEN :set_metadata::bool
                                THEN :metadata::jsonb ELSE metadata END
  WHERE id = :id::uuid
  RETURNING *)
SELECT {columns} FROM m)sql");

// A delivery callback that moves the status forward, in one statement: the
// row is updated only from a state in :from_states (the states the domain
// allows to become :delivery_status), so out-of-order callbacks change
// nothing. A concurrent callback's update is waited for and the condition
// checked again on its result (READ COMMITTED), so callbacks for one
// message apply one at a time. Error fields are kept unless the callback
// reports new ones. No row: the message is absent, or the transition is not
// allowed.
inline constexpr char kAdvanceDeliveryStatusSql[] = R"sql(
WITH m AS (
  UPDATE messages SET
    delivery_status = :delivery_status,
    error_code      = coalesce(nullif(:error_code, ''), error_code),
    error_message   = coalesce(nullif(:error_message, ''), error_message)
  WHERE {message} AND delivery_status = ANY (:from_states::text[])
  RETURNING *)
SELECT {columns} FROM m)sql";

inline const Statement kAdvanceDeliveryStatus(
    "message_advance_delivery_status", kMessageColumns,
    absl::StrReplaceAll(kAdvanceDeliveryStatusSql, {{"{message}", "id = :id::uuid"}}));

inline const Statement kAdvanceDeliveryStatusByExternalId(
    "message_advance_delivery_status_by_external_id", kMessageColumns,
    absl::StrReplaceAll(kAdvanceDeliveryStatusSql,
                        {{"{message}",
                          "distributor_id = messaging_current_distributor_id() "
                          "AND external_message_id = :external_message_id"}}));

inline const Statement kDeleteMessage("message_delete", R"sql(
DELETE FROM messages WHERE id = :id::uuid RETURNING id)sql");

}  // namespace messaging::repository::sql
