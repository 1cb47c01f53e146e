#pragma once

// Statements on the message change log (migrations/002, 003 and 004). Reads
// return the horizon they used in every row (at least one row, even with no
// event), so the caller knows how far the log is final.

#include <string>

#include "repository/sql/message_sql.h"
#include "repository/sql/wal_sql.h"
#include "repository/statement.h"

namespace messaging::repository::sql {

// The horizon of a read and the database clock, as CTE `h`: every event of a
// transaction below the horizon is final. `horizon` is an xid8 expression.
inline std::string HorizonCte(const std::string& horizon) {
  return R"sql(
WITH h AS MATERIALIZED (
  SELECT )sql" +
         horizon + R"sql( AS horizon,
         (extract(epoch FROM clock_timestamp()) * 1000000)::int8 AS read_at))sql";
}
inline const std::string kSnapshotHorizon = "pg_snapshot_xmin(pg_current_snapshot())";

// The next readable event after position (`after_xid`, `after_seq`): below
// the horizon, one :snapshot ('' = none) did not see, of :conversation_id if
// `by_conversation`. With its size: the length of its recorded state as text
// (for events older than migration 003, of the current message row). Nothing
// is decoded. LIMIT 1 keeps each lookup an index probe, whatever the planner
// guesses of the walk's size.
inline std::string NextEventSql(const std::string& after_xid, const std::string& after_seq,
                                bool by_conversation) {
  return R"sql(
      SELECT e.xid, e.seq,
             coalesce(octet_length(e.message_state::text),
                      (SELECT octet_length(c::text) FROM messages c WHERE c.id = e.message_id),
                      0)::int8 AS row_bytes
      FROM message_events e
      WHERE (e.xid, e.seq) > ()sql" +
         after_xid + ", " + after_seq + R"sql() AND e.xid < h.horizon
        AND (:snapshot = '' OR NOT pg_visible_in_snapshot(e.xid, nullif(:snapshot, '')::pg_snapshot))
        )sql" +
         (by_conversation ? "AND e.conversation_id = :conversation_id::uuid" : "") + R"sql(
      ORDER BY e.xid, e.seq
      LIMIT 1)sql";
}

// Events after (:after_xid, :after_seq) that :snapshot did not see, below the
// horizon, which is at most :horizon_cap (the last horizon known durable, see
// kEventHeads): a walk through the log one event at a time (an index probe each)
// picks them, in order, at most :limit, and only while the ones before stay
// within :max_bytes -- so it stops early and decodes no event it does not
// return. Then the message of each (kMessageColumns of `m`): the state the
// event recorded (migration 003), decoded into a messages row; for older
// events without one, the current row, if the message still exists. Each row
// ends with bytes_through, the running total of the events' sizes.
// Every row also carries the log's low-water mark (migration 004), read in the
// same snapshot as the events, so the caller can tell whether pruning deleted
// events its cursor had not seen.
inline std::string ReadEventsSql(bool by_conversation) {
  return HorizonCte("least(" + kSnapshotHorizon + ", :horizon_cap::xid8)") + R"sql(
SELECT h.horizon::text AS horizon, h.read_at,
       lw.pruned_xid::text AS pruned_xid, lw.pruned_seq AS pruned_seq, ev.*
FROM h CROSS JOIN messaging_event_low_water() lw
LEFT JOIN LATERAL (
  WITH RECURSIVE walk (n, xid, seq, bytes_through) AS (
    SELECT 1, x.xid, x.seq, x.row_bytes
    FROM h, LATERAL ()sql" +
         NextEventSql(":after_xid::xid8", ":after_seq::bigint", by_conversation) + R"sql(
    ) x
    UNION ALL
    SELECT w.n + 1, x.xid, x.seq, w.bytes_through + x.row_bytes
    FROM walk w, h, LATERAL ()sql" +
         NextEventSql("w.xid", "w.seq", by_conversation) + R"sql(
    ) x
    WHERE w.n < :limit AND w.bytes_through <= :max_bytes::int8)
  SELECT x.*
  FROM walk w CROSS JOIN LATERAL (
    SELECT e.xid::text AS event_xid, e.seq AS event_seq, e.event_type,
           e.conversation_id::text AS event_conversation, e.message_id::text AS event_message,
           e.distributor_id::text AS event_distributor, m.id IS NOT NULL AS message_exists,
           {columns}, w.bytes_through
    FROM message_events e
    LEFT JOIN LATERAL (
      SELECT s.* FROM jsonb_populate_record(NULL::messages, e.message_state) s
      WHERE e.message_state IS NOT NULL
      UNION ALL
      SELECT c.* FROM messages c WHERE e.message_state IS NULL AND c.id = e.message_id
    ) m ON true
    WHERE e.seq = w.seq
    LIMIT 1) x
  ORDER BY w.n
) ev ON true)sql";
}

inline const Statement kReadEvents("events_read", kMessageColumns, ReadEventsSql(false));

inline const Statement kReadConversationEvents("events_read_conversation", kMessageColumns,
                                               ReadEventsSql(true));

// The horizon a live stream starts from, with the WAL positions that tell
// when it is durable (see kEventHeads).
inline const Statement kEventHorizon("events_horizon", std::string(R"sql(
SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, )sql") +
                                                           kWalPositionColumns);

// Which distributors have events in [:from_xid, horizon): ids and positions
// from the SECURITY DEFINER function messaging_event_heads (migration 003),
// which sees every tenant's event positions although no tenant is set. One row
// with NULL event columns when there are none.
// wal_insert, wal_flush: the WAL's insert and flush positions (bytes), read
// after the statement's snapshot. Below the horizon every transaction has
// ended, but one that ended without a flush (a rollback, an asynchronous
// commit, a transaction that wrote no WAL of its own such as a bare NOTIFY)
// may have its end record in the unflushed part: after a crash PostgreSQL
// would hand its xid out again. The horizon is durable once the WAL is
// flushed up to wal_insert.
inline const Statement kEventHeads("events_heads", HorizonCte(kSnapshotHorizon) + R"sql(,
w AS MATERIALIZED (SELECT )sql" + kWalPositionColumns + R"sql()
SELECT h.horizon::text AS horizon, h.read_at, w.wal_insert, w.wal_flush,
       f.distributor_id::text AS distributor_id,
       f.last_xid::text AS last_xid, f.last_seq AS last_seq
FROM h CROSS JOIN w LEFT JOIN LATERAL messaging_event_heads(:from_xid::xid8, h.horizon) f ON true
ORDER BY f.distributor_id)sql");

// A replica's wake-up for the streams of every replica (no payload: NOTIFY
// payloads are visible to every database user). It commits without a flush;
// its xid is covered like any other by the durable horizon (see kEventHeads).
inline constexpr char kNotifyEvents[] = "NOTIFY messaging_events";

// Retention: the owner-side function deletes every tenant's events older than
// :retention (at least an hour), raises the low-water mark and returns how
// many it deleted (migration 004).
inline const Statement kPruneEvents("events_prune", R"sql(
SELECT messaging_prune_events(:retention::interval) AS pruned)sql");

}  // namespace messaging::repository::sql
