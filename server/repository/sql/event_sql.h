#pragma once

// Statements on the message change log (migrations/002 and 003). Reads return
// the horizon they used in every row (at least one row, even with no event),
// so the caller knows how far the log is final.

#include <string>

#include "repository/sql/message_sql.h"

namespace messaging::repository::sql {

// The message of each event, as alias `m` with the columns of `messages`
// (for kMessageColumns): the state the event recorded (migration 003), decoded
// into a messages row; for older events without one, the current row, if the
// message still exists.
inline constexpr char kEventMessage[] =
    "LEFT JOIN LATERAL ("
    "SELECT s.* FROM jsonb_populate_record(NULL::messages, e.message_state) s "
    "WHERE e.message_state IS NOT NULL "
    "UNION ALL "
    "SELECT c.* FROM messages c WHERE e.message_state IS NULL AND c.id = e.message_id"
    ") m ON true";

// The next readable event after position (`xid`, `seq`) below the horizon,
// with its size: the length of its recorded state as text (for events older
// than migration 003, of the current message row). Nothing is decoded.
inline std::string NextEventSql(const std::string& xid, const std::string& seq,
                                bool by_conversation) {
  return "SELECT e.xid, e.seq, coalesce(octet_length(e.message_state::text), "
         "(SELECT octet_length(c::text) FROM messages c WHERE c.id = e.message_id), 0)::int8 "
         "AS row_bytes FROM message_events e WHERE (e.xid, e.seq) > (" +
         xid + ", " + seq +
         ") AND e.xid < h.horizon "
         "AND ($3 = '' OR NOT pg_visible_in_snapshot(e.xid, nullif($3, '')::pg_snapshot)) " +
         (by_conversation ? "AND e.conversation_id = $6::uuid " : "") +
         "ORDER BY e.xid, e.seq LIMIT 1";
}

// $1 after xid, $2 after seq, $3 snapshot ('' = none), $4 limit, $5 byte
// budget, [$6 conversation]. A walk through the log one event at a time (an
// index probe each) picks the events: in order, at most $4, and only while the
// ones before stay within $5 bytes -- so it stops early and decodes no event
// it does not return. Each row ends with bytes_through, the running total.
inline std::string ReadEventsSql(bool by_conversation) {
  return "WITH RECURSIVE h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) "
         "AS horizon, (extract(epoch FROM clock_timestamp()) * 1000000)::int8 AS read_at), "
         "walk(n, xid, seq, bytes_through) AS ("
         "SELECT 1, x.xid, x.seq, x.row_bytes FROM h, LATERAL (" +
         NextEventSql("$1::xid8", "$2::bigint", by_conversation) +
         ") x UNION ALL "
         "SELECT w.n + 1, x.xid, x.seq, w.bytes_through + x.row_bytes FROM walk w, h, "
         "LATERAL (" +
         NextEventSql("w.xid", "w.seq", by_conversation) +
         ") x WHERE w.n < $4 AND w.bytes_through <= $5::int8) "
         // LIMIT 1 keeps each lookup an index probe, whatever the planner
         // guesses of the walk's size.
         "SELECT h.horizon::text, h.read_at, ev.* FROM h LEFT JOIN LATERAL ("
         "SELECT x.* FROM walk w CROSS JOIN LATERAL ("
         "SELECT e.xid::text AS event_xid, e.seq AS event_seq, e.event_type, "
         "e.conversation_id::text AS event_conversation, e.message_id::text AS event_message, "
         "e.distributor_id::text AS event_distributor, m.id IS NOT NULL AS message_exists, " +
         std::string(kMessageColumns) + ", w.bytes_through FROM message_events e " + kEventMessage +
         " WHERE e.seq = w.seq LIMIT 1) x ORDER BY w.n) ev ON true";
}

inline constexpr char kReadEvents[] = "events_read";
inline constexpr char kReadConversationEvents[] = "events_read_conversation";

inline constexpr char kEventHorizon[] = "events_horizon";
inline std::string EventHorizonSql() {
  return "SELECT pg_snapshot_xmin(pg_current_snapshot())::text";
}

// Which distributors have events in [$1 from xid, horizon): ids and positions
// from the SECURITY DEFINER function messaging_event_heads (migration 003),
// which sees every tenant's event positions although no tenant is set. One row
// with NULL event columns when there are none.
inline constexpr char kEventHeads[] = "events_heads";
inline std::string EventHeadsSql() {
  return "WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon, "
         "(extract(epoch FROM clock_timestamp()) * 1000000)::int8 AS read_at) "
         "SELECT h.horizon::text, h.read_at, f.distributor_id::text, f.last_xid::text, "
         "f.last_seq FROM h "
         "LEFT JOIN LATERAL messaging_event_heads($1::xid8, h.horizon) f ON true "
         "ORDER BY f.distributor_id";
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
