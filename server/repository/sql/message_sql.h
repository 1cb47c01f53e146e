#pragma once

// Every SQL statement on `messages`, prepared once per connection. Rows are
// filtered by Row Level Security; distributor_id is written only from the
// transaction's tenant setting (messaging_current_distributor_id()).

#include <string>

#include "repository/sql/byte_budget_sql.h"

namespace messaging::repository::sql {

// Column list read by RowToMessage (row_mapping.h), in this order.
inline constexpr char kMessageColumns[] =
    "m.id::text, m.conversation_id::text, m.distributor_id::text, m.direction, m.message_type, "
    "coalesce(m.content, ''), coalesce(m.media_url, ''), coalesce(m.media_content_type, ''), "
    "coalesce(m.external_message_id, ''), m.delivery_status, coalesce(m.error_code, ''), "
    "coalesce(m.error_message, ''), m.ai_processing_status, coalesce(m.ai_summary, ''), "
    "coalesce(m.ai_intent, ''), coalesce(m.ai_sentiment, ''), m.ai_extracted_data::text, "
    "(extract(epoch FROM m.ai_processed_at) * 1000000)::int8, m.metadata::text, "
    "(extract(epoch FROM m.created_at) * 1000000)::int8, "
    "(extract(epoch FROM m.updated_at) * 1000000)::int8, m.version";

inline std::string MessageSelect(const std::string& rest) {
  return std::string("SELECT ") + kMessageColumns + " FROM messages m " + rest;
}

// CreateMessage in one statement: insert (unless the external id is already
// stored: ON CONFLICT DO NOTHING returns no row) and bump the conversation's
// last message, preview and unread count. The composite foreign key rejects a
// conversation that is not the tenant's.
// $1 conversation_id, $2 direction, $3 message_type, $4 content, $5 media_url,
// $6 media_content_type, $7 external_message_id, $8 delivery_status,
// $9 error_code, $10 error_message, $11 ai_processing_status, $12 ai_summary,
// $13 ai_intent, $14 ai_sentiment, $15 ai_extracted_data (NULL or JSON),
// $16 metadata, $17 conversation preview.
inline constexpr char kInsertMessage[] = "message_insert";
inline std::string InsertMessageSql() {
  return std::string(
             "WITH m AS (INSERT INTO messages (conversation_id, distributor_id, direction, "
             "message_type, content, media_url, media_content_type, external_message_id, "
             "delivery_status, error_code, error_message, ai_processing_status, ai_summary, "
             "ai_intent, ai_sentiment, ai_extracted_data, ai_processed_at, metadata) "
             "VALUES ($1::uuid, messaging_current_distributor_id(), $2, $3, nullif($4, ''), "
             "nullif($5, ''), nullif($6, ''), nullif($7, ''), $8, nullif($9, ''), "
             "nullif($10, ''), $11, nullif($12, ''), nullif($13, ''), nullif($14, ''), "
             "$15::jsonb, CASE WHEN $11 = 'completed' THEN now() END, $16::jsonb) "
             "ON CONFLICT (distributor_id, external_message_id) "
             "WHERE external_message_id IS NOT NULL DO NOTHING RETURNING *), "
             "bump AS (UPDATE conversations c SET "
             "last_message_at = greatest(c.last_message_at, m.created_at), "
             "last_message_preview = CASE WHEN c.last_message_at IS NULL "
             "OR m.created_at >= c.last_message_at THEN $17 ELSE c.last_message_preview END, "
             "unread_count = c.unread_count + CASE WHEN m.direction = 'inbound' THEN 1 ELSE 0 END "
             "FROM m WHERE c.id = m.conversation_id RETURNING c.id) "
             "SELECT ") +
         kMessageColumns + " FROM m";
}

inline constexpr char kSelectMessageByExternalId[] = "message_select_by_external_id";
inline std::string SelectMessageByExternalIdSql() {
  return MessageSelect(
      "WHERE m.distributor_id = messaging_current_distributor_id() "
      "AND m.external_message_id = $1");
}

inline constexpr char kSelectMessage[] = "message_select";
inline std::string SelectMessageSql() { return MessageSelect("WHERE m.id = $1::uuid"); }

inline constexpr char kLockMessage[] = "message_lock";
inline std::string LockMessageSql() { return MessageSelect("WHERE m.id = $1::uuid FOR UPDATE"); }

inline constexpr char kLockMessageByExternalId[] = "message_lock_by_external_id";
inline std::string LockMessageByExternalIdSql() {
  return MessageSelect(
      "WHERE m.distributor_id = messaging_current_distributor_id() "
      "AND m.external_message_id = $1 FOR UPDATE");
}

inline constexpr char kConversationVisible[] = "message_conversation_visible";
inline std::string ConversationVisibleSql() {
  return "SELECT 1 FROM conversations WHERE id = $1::uuid";
}

// ListMessages keyset pages: $1 conversation_id, $2 limit, [$3 created_at,
// $4 id], then the byte budget; rows end with bytes_through (byte_budget_sql.h).
inline std::string ListMessagesName(bool descending, bool after_key) {
  return std::string("message_list_") + (descending ? "desc" : "asc") + (after_key ? "_k" : "");
}
inline std::string ListMessagesSql(bool descending, bool after_key) {
  std::string where = "WHERE m.conversation_id = $1::uuid";
  if (after_key) {
    where += std::string(" AND (m.created_at, m.id) ") + (descending ? "<" : ">") +
             " ($3::timestamptz, $4::uuid)";
  }
  const char* order =
      descending ? "ORDER BY m.created_at DESC, m.id DESC" : "ORDER BY m.created_at, m.id";
  return BudgetedPageSql(kMessageColumns, "messages", "m", where, order, "$2",
                         after_key ? "$5" : "$3");
}

// Patch: each field is written only when its flag is true.
inline constexpr char kUpdateMessage[] = "message_update";
inline std::string UpdateMessageSql() {
  return std::string(
             "WITH m AS (UPDATE messages SET "
             "delivery_status = CASE WHEN $2::bool THEN $3 ELSE delivery_status END, "
             "error_code = CASE WHEN $4::bool THEN nullif($5, '') ELSE error_code END, "
             "error_message = CASE WHEN $6::bool THEN nullif($7, '') ELSE error_message END, "
             "ai_processing_status = CASE WHEN $8::bool THEN $9 ELSE ai_processing_status END, "
             "ai_processed_at = CASE WHEN $8::bool AND $9 = 'completed' THEN now() "
             "ELSE ai_processed_at END, "
             "ai_summary = CASE WHEN $10::bool THEN nullif($11, '') ELSE ai_summary END, "
             "ai_intent = CASE WHEN $12::bool THEN nullif($13, '') ELSE ai_intent END, "
             "ai_sentiment = CASE WHEN $14::bool THEN nullif($15, '') ELSE ai_sentiment END, "
             "ai_extracted_data = CASE WHEN $16::bool THEN $17::jsonb "
             "ELSE ai_extracted_data END, "
             "metadata = CASE WHEN $18::bool THEN $19::jsonb ELSE metadata END "
             "WHERE id = $1::uuid RETURNING *) SELECT ") +
         kMessageColumns + " FROM m";
}

// A delivery callback that moves the status forward; error fields are kept
// unless the callback reports new ones.
inline constexpr char kSetDeliveryStatus[] = "message_set_delivery_status";
inline std::string SetDeliveryStatusSql() {
  return std::string(
             "WITH m AS (UPDATE messages SET delivery_status = $2, "
             "error_code = coalesce(nullif($3, ''), error_code), "
             "error_message = coalesce(nullif($4, ''), error_message) "
             "WHERE id = $1::uuid RETURNING *) SELECT ") +
         kMessageColumns + " FROM m";
}

inline constexpr char kDeleteMessage[] = "message_delete";
inline std::string DeleteMessageSql() {
  return "DELETE FROM messages WHERE id = $1::uuid RETURNING id";
}

}  // namespace messaging::repository::sql
