#pragma once

// Statements on the message change log (migrations/002). Reads return the
// horizon they used in every row (at least one row, even with no event), so
// the caller knows how far the log is final.

#include <string>

#include "repository/sql/message_sql.h"

namespace messaging::repository::sql {

// $1 after xid, $2 after seq, $3 snapshot ('' = none), $4 limit, [$5 conversation].
inline std::string ReadEventsSql(bool by_conversation) {
  return std::string(
             "WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon, "
             "(extract(epoch FROM clock_timestamp()) * 1000000)::int8 AS read_at) "
             "SELECT h.horizon::text, h.read_at, ev.* FROM h LEFT JOIN LATERAL ("
             "SELECT e.xid::text AS event_xid, e.seq AS event_seq, e.event_type, "
             "e.conversation_id::text AS event_conversation, e.message_id::text AS event_message, "
             "e.distributor_id::text AS event_distributor, m.id IS NOT NULL AS message_exists, ") +
         kMessageColumns +
         " FROM message_events e LEFT JOIN messages m ON m.id = e.message_id "
         "WHERE (e.xid, e.seq) > ($1::xid8, $2::bigint) AND e.xid < h.horizon "
         "AND ($3 = '' OR NOT pg_visible_in_snapshot(e.xid, nullif($3, '')::pg_snapshot)) " +
         (by_conversation ? "AND e.conversation_id = $5::uuid " : "") +
         "ORDER BY e.xid, e.seq LIMIT $4) ev ON true";
}

inline constexpr char kReadEvents[] = "events_read";
inline constexpr char kReadConversationEvents[] = "events_read_conversation";

inline constexpr char kEventHorizon[] = "events_horizon";
inline std::string EventHorizonSql() {
  return "SELECT pg_snapshot_xmin(pg_current_snapshot())::text";
}

inline constexpr char kCurrentSnapshot[] = "events_current_snapshot";
inline std::string CurrentSnapshotSql() { return "SELECT pg_current_snapshot()::text"; }

// Retention: the prune policy picks the rows (see migrations/002).
inline constexpr char kSetRetention[] = "events_set_retention";
inline std::string SetRetentionSql() {
  return "SELECT set_config('messaging.event_retention', $1, true)";
}
inline constexpr char kPruneEvents[] = "events_prune";
inline std::string PruneEventsSql() { return "DELETE FROM message_events"; }

}  // namespace messaging::repository::sql
