#pragma once

// Every SQL statement on `conversations`, prepared once per connection. Rows
// are filtered by Row Level Security (the tenant is set per transaction), so
// no statement takes distributor_id from anywhere but the tenant setting.

#include <deque>
#include <string>

#include "repository/sql/byte_budget_sql.h"
#include "repository/statement.h"

namespace messaging::repository::sql {

// What every statement returning conversations selects, from alias `c` (the
// table, or a CTE of RETURNING *): one column per field of
// domain::Conversation, which ConversationReader (row_mapping.h) finds by
// these names. One column a line. Timestamps as integer microseconds since
// the epoch: exact, no text parsing.
inline constexpr char kConversationColumns[] = R"sql(
  c.id::text                                      AS id,
  c.distributor_id::text                          AS distributor_id,
  c.customer_id::text                             AS customer_id,
  c.channel                                       AS channel,
  c.status                                        AS status,
  coalesce(c.ai_context_summary, '')              AS ai_context_summary,
  c.unread_count                                  AS unread_count,
  (extract(epoch FROM c.last_message_at) * 1000000)::int8 AS last_message_at,
  coalesce(c.last_message_preview, '')            AS last_message_preview,
  c.metadata::text                                AS metadata,
  (extract(epoch FROM c.created_at) * 1000000)::int8 AS created_at,
  (extract(epoch FROM c.updated_at) * 1000000)::int8 AS updated_at,
  (extract(epoch FROM c.inbox_at) * 1000000)::int8 AS inbox_at
)sql";

inline const Statement kInsertConversation("conversation_insert", kConversationColumns, R"sql(
WITH c AS (
  INSERT INTO conversations
    (distributor_id, customer_id, channel, status, ai_context_summary, metadata)
  VALUES (messaging_current_distributor_id(), :customer_id::uuid, :channel, :status,
          nullif(:ai_context_summary, ''), :metadata::jsonb)
  RETURNING *)
SELECT {columns} FROM c)sql");

// GetOrCreate in one statement: the active conversation, or a new one if
// there is none. An inserter that races us and commits after this
// statement's snapshot makes the insert do nothing (the partial unique index
// decides, after waiting for it): no row, and the caller reads the winner
// with kSelectActiveConversation. Safe to send again: a repeat finds the
// conversation the first attempt inserted. A conversation archived by a
// transaction that commits after this statement's snapshot is still
// returned: the call is ordered before the archive, as if it had finished a
// moment earlier (a lock to see the archive would write every call's row).
inline const Statement kGetOrInsertActiveConversation("conversation_get_or_insert",
                                                      kConversationColumns, R"sql(
WITH existing AS (
  SELECT * FROM conversations
  WHERE customer_id = :customer_id::uuid AND channel = :channel AND status = 'active'),
inserted AS (
  INSERT INTO conversations (distributor_id, customer_id, channel)
  SELECT messaging_current_distributor_id(), :customer_id::uuid, :channel
  WHERE NOT EXISTS (SELECT 1 FROM existing)
  ON CONFLICT (distributor_id, customer_id, channel) WHERE status = 'active' DO NOTHING
  RETURNING *),
c AS (SELECT * FROM existing UNION ALL SELECT * FROM inserted)
SELECT {columns} FROM c)sql");

// GetOrCreate after a lost race: the active one that won.
inline const Statement kSelectActiveConversation("conversation_select_active", kConversationColumns,
                                                 R"sql(
SELECT {columns} FROM conversations c
WHERE c.customer_id = :customer_id::uuid AND c.channel = :channel AND c.status = 'active')sql");

inline const Statement kSelectConversation("conversation_select", kConversationColumns, R"sql(
SELECT {columns} FROM conversations c WHERE c.id = :id::uuid)sql");

// A patch: each column is written only when its set_ flag is true
// (Params::Patch binds both).
inline const Statement kUpdateConversation("conversation_update", kConversationColumns, R"sql(
WITH c AS (
  UPDATE conversations SET
    status             = CASE WHEN :set_status::bool THEN :status ELSE status END,
    ai_context_summary = CASE WHEN :set_ai_context_summary::bool
                              THEN nullif(:ai_context_summary, '') ELSE ai_context_summary END,
    metadata           = CASE WHEN :set_metadata::bool THEN :metadata::jsonb ELSE metadata END
  WHERE id = :id::uuid
  RETURNING *)
SELECT {columns} FROM c)sql");

inline const Statement kDeleteConversation("conversation_delete", R"sql(
DELETE FROM conversations WHERE id = :id::uuid RETURNING id)sql");

inline const Statement kMarkConversationRead("conversation_mark_read", kConversationColumns, R"sql(
WITH c AS (UPDATE conversations SET unread_count = 0 WHERE id = :id::uuid RETURNING *)
SELECT {columns} FROM c)sql");

// ListConversations: one statement per combination of filters present, so each
// gets a plan that uses the matching index (a generic ":x IS NULL OR ..." plan
// cannot). Pages are bounded by :limit rows and :max_bytes; rows end with
// bytes_through (byte_budget_sql.h).
struct ConversationListShape {
  bool by_customer = false;  // :customer_id
  bool by_channel = false;   // :channel
  bool by_status = false;    // :status
  bool after_key = false;    // Resuming after (:after_inbox_at, :after_id).

  static constexpr int kCount = 16;
  int Index() const {
    return (by_customer ? 1 : 0) | (by_channel ? 2 : 0) | (by_status ? 4 : 0) | (after_key ? 8 : 0);
  }
  static ConversationListShape FromIndex(int i) {
    return {(i & 1) != 0, (i & 2) != 0, (i & 4) != 0, (i & 8) != 0};
  }
};

// Every list statement, at the Index() of its shape (and named after it).
inline const std::deque<Statement> kListConversations = [] {
  std::deque<Statement> all;
  for (int i = 0; i < ConversationListShape::kCount; ++i) {
    const auto s = ConversationListShape::FromIndex(i);
    std::string name = std::string("conversation_list_") + (s.by_customer ? "c" : "-") +
                       (s.by_channel ? "h" : "-") + (s.by_status ? "s" : "-") +
                       (s.after_key ? "k" : "-");
    std::string where = "WHERE true";
    if (s.after_key) {
      where += " AND (c.inbox_at, c.id) < (:after_inbox_at::timestamptz, :after_id::uuid)";
    }
    if (s.by_customer) where += " AND c.customer_id = :customer_id::uuid";
    if (s.by_channel) where += " AND c.channel = :channel";
    if (s.by_status) where += " AND c.status = :status";
    all.emplace_back(
        std::move(name), kConversationColumns,
        BudgetedPageSql("conversations", "c", where, "ORDER BY c.inbox_at DESC, c.id DESC", ""));
  }
  return all;
}();

}  // namespace messaging::repository::sql
