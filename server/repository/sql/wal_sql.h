#pragma once

// WAL positions, for reads whose snapshot or horizon must survive a database
// crash (repository/wal_durability.h).

namespace messaging::repository::sql {

// Select-list columns wal_insert and wal_flush: the WAL's insert and flush
// positions in bytes. In a statement they are read after its snapshot, so
// every transaction that snapshot saw as ended wrote its end record before
// wal_insert.
inline constexpr char kWalPositionColumns[] =
    "(pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8 AS wal_insert, "
    "(pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::int8 AS wal_flush";

inline constexpr char kWalFlushPosition[] =
    "SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::int8 AS wal_flush";

// Flushes the WAL up to here: a transaction that writes a record (an empty
// transactional logical message: no privilege needed, any wal_level) returns
// once its commit record, and everything before it, is on disk -- with
// synchronous_commit at least `local`, which the caller sets (`local`: a
// synchronous standby has nothing to do with the local xid counter).
inline constexpr char kFlushWal[] = "SELECT pg_logical_emit_message(true, 'messaging', '')";

}  // namespace messaging::repository::sql
