#pragma once

// Every SQL statement on `conversations`, prepared once per connection. Rows
// are filtered by Row Level Security (the tenant is set per transaction), so
// no statement takes distributor_id from anywhere but the tenant setting.

#include <string>

#include "repository/sql/byte_budget_sql.h"

namespace messaging::repository::sql {

// Column list read by RowToConversation (row_mapping.h), in this order.
// Timestamps as integer microseconds since the epoch: exact, no text parsing.
inline constexpr char kConversationColumns[] =
    "c.id::text, c.distributor_id::text, c.customer_id::text, c.channel, c.status, "
    "coalesce(c.ai_context_summary, ''), c.unread_count, "
    "(extract(epoch FROM c.last_message_at) * 1000000)::int8, "
    "coalesce(c.last_message_preview, ''), c.metadata::text, "
    "(extract(epoch FROM c.created_at) * 1000000)::int8, "
    "(extract(epoch FROM c.updated_at) * 1000000)::int8, "
    "(extract(epoch FROM c.inbox_at) * 1000000)::int8";

inline std::string ConversationSelect(const std::string& rest) {
  return std::string("SELECT ") + kConversationColumns + " FROM conversations c " + rest;
}

inline constexpr char kInsertConversation[] = "conversation_insert";
inline std::string InsertConversationSql() {
  return std::string(
             "WITH c AS (INSERT INTO conversations "
             "(distributor_id, customer_id, channel, status, ai_context_summary, metadata) "
             "VALUES (messaging_current_distributor_id(), $1::uuid, $2, $3, nullif($4, ''), "
             "$5::jsonb) RETURNING *) SELECT ") +
         kConversationColumns + " FROM c";
}

// GetOrCreate, step 1: insert unless an active one exists (the partial unique
// index decides atomically; a concurrent inserter waits for us to commit).
inline constexpr char kInsertActiveConversationIfAbsent[] = "conversation_insert_if_absent";
inline std::string InsertActiveConversationIfAbsentSql() {
  return std::string(
             "WITH c AS (INSERT INTO conversations (distributor_id, customer_id, channel) "
             "VALUES (messaging_current_distributor_id(), $1::uuid, $2) "
             "ON CONFLICT (distributor_id, customer_id, channel) WHERE status = 'active' "
             "DO NOTHING RETURNING *) SELECT ") +
         kConversationColumns + " FROM c";
}

// GetOrCreate, step 2: the active one that won.
inline constexpr char kSelectActiveConversation[] = "conversation_select_active";
inline std::string SelectActiveConversationSql() {
  return ConversationSelect(
      "WHERE c.customer_id = $1::uuid AND c.channel = $2 AND c.status = 'active'");
}

inline constexpr char kSelectConversation[] = "conversation_select";
inline std::string SelectConversationSql() { return ConversationSelect("WHERE c.id = $1::uuid"); }

// Patch: each field is written only when its flag is true.
inline constexpr char kUpdateConversation[] = "conversation_update";
inline std::string UpdateConversationSql() {
  return std::string(
             "WITH c AS (UPDATE conversations SET "
             "status = CASE WHEN $2::bool THEN $3 ELSE status END, "
             "ai_context_summary = CASE WHEN $4::bool THEN nullif($5, '') "
             "ELSE ai_context_summary END, "
             "metadata = CASE WHEN $6::bool THEN $7::jsonb ELSE metadata END "
             "WHERE id = $1::uuid RETURNING *) SELECT ") +
         kConversationColumns + " FROM c";
}

inline constexpr char kDeleteConversation[] = "conversation_delete";
inline std::string DeleteConversationSql() {
  return "DELETE FROM conversations WHERE id = $1::uuid RETURNING id";
}

inline constexpr char kMarkConversationRead[] = "conversation_mark_read";
inline std::string MarkConversationReadSql() {
  return std::string(
             "WITH c AS (UPDATE conversations SET unread_count = 0 WHERE id = $1::uuid "
             "RETURNING *) SELECT ") +
         kConversationColumns + " FROM c";
}

// ListConversations: one statement per combination of filters present, so each
// gets a plan that uses the matching index (a generic "$1 IS NULL OR ..." plan
// cannot). Parameters, in order: limit, then (after inbox_at, after id) when
// resuming, then the filters present: customer_id, channel, status, and last
// the byte budget; rows end with bytes_through (byte_budget_sql.h).
struct ConversationListShape {
  bool by_customer = false;
  bool by_channel = false;
  bool by_status = false;
  bool after_key = false;
};

inline std::string ListConversationsName(const ConversationListShape& s) {
  return std::string("conversation_list_") + (s.by_customer ? "c" : "-") +
         (s.by_channel ? "h" : "-") + (s.by_status ? "s" : "-") + (s.after_key ? "k" : "-");
}

inline std::string ListConversationsSql(const ConversationListShape& s) {
  int param = 2;
  auto next = [&param] { return "$" + std::to_string(param++); };
  std::string where = "WHERE true";
  if (s.after_key) {
    const std::string inbox_at = next();
    where += " AND (c.inbox_at, c.id) < (" + inbox_at + "::timestamptz, " + next() + "::uuid)";
  }
  if (s.by_customer) where += " AND c.customer_id = " + next() + "::uuid";
  if (s.by_channel) where += " AND c.channel = " + next();
  if (s.by_status) where += " AND c.status = " + next();
  return BudgetedPageSql(kConversationColumns, "conversations", "c", where,
                         "ORDER BY c.inbox_at DESC, c.id DESC", "$1", next());
}

}  // namespace messaging::repository::sql
