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

// $1 after xid, $2 after seq, $3 snapshot ('' = none), $4 limit, [$5 conversation].
// The log's low-water mark (migration 004) comes last, from the same snapshot
// as the events.
inline std::string ReadEventsSql(bool by_conversation) {
  return std::string(
             "WITH h AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon, "
             "(extract(epoch FROM clock_timestamp()) * 1000000)::int8 AS read_at, "
             "lw.pruned_xid::text AS pruned_xid, lw.pruned_seq "
             "FROM messaging_event_low_water() lw) "
             "SELECT h.horizon::text, h.read_at, ev.*, h.pruned_xid, h.pruned_seq FROM h "
             "LEFT JOIN LATERAL ("
             "SELECT e.xid::text AS event_xid, e.seq AS event_seq, e.event_type, "
             "e.conversation_id::text AS event_conversation, e.message_id::text AS event_message, "
             "e.distributor_id::text AS event_distributor, m.id IS NOT NULL AS message_exists, ") +
         kMessageColumns + " FROM message_events e " + kEventMessage +
         " WHERE (e.xid, e.seq) > ($1::xid8, $2::bigint) AND e.xid < h.horizon "
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

// Retention: the owner-side function deletes every tenant's events older
// than $1 (at least an hour) and raises the low-water mark (migration 004).
inline constexpr char kPruneEvents[] = "events_prune";
inline std::string PruneEventsSql() { return "SELECT messaging_prune_events($1::interval)"; }

}  // namespace messaging::repository::sql
