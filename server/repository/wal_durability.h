#pragma once

// A snapshot or horizon handed to a client must stay true after a database
// crash. PostgreSQL hands an xid out again after a crash when the record that
// ended its transaction never reached the disk (a rollback, an asynchronous
// commit, a transaction that wrote no WAL of its own such as a bare NOTIFY).
// A List cursor's snapshot, or the horizon a live stream starts at, counts
// such an xid as finished; a transaction that got it again after the crash
// would then be skipped by a stream opened from it. So a read that gives one
// out also reads the WAL's insert and flush positions (sql::kWalPositionColumns,
// after its snapshot), and the snapshot is handed out only once the WAL is
// flushed up to that insert position. docs/streaming.md, "A crash must not
// hand an xid out twice", has the whole argument.

#include <cstdint>
#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "repository/connection_pool.h"

namespace messaging::repository {

// The WAL positions a statement read after its snapshot.
struct WalPositions {
  std::int64_t insert = 0;  // Every transaction the snapshot saw as ended wrote its end before.
  std::int64_t flush = 0;   // On disk up to here at the read.

  bool durable() const { return flush >= insert; }
  // The wal_insert and wal_flush columns of the first row of `result`.
  static WalPositions Of(const pqxx::result& result);
};

// The WAL's flush position now (bytes), read on `conn` outside any transaction.
std::int64_t WalFlushPosition(pqxx::connection_base& conn);

// How long a read waits for other commits to flush the WAL before it flushes
// the WAL itself (which costs an fsync and an xid). Under synchronous writes
// the next commit flushes it within about one fsync.
inline constexpr absl::Duration kWalFlushWait = absl::Milliseconds(2);

// Returns once the WAL is on disk up to `read.insert`: at once when it was at
// the read; otherwise it looks again on a pooled connection, and when no other
// commit flushed that far within kWalFlushWait it flushes the WAL itself.
// An error (the database is gone, the deadline passed) means the snapshot must
// not be handed out.
absl::Status AwaitDurable(ConnectionPool& pool, const WalPositions& read, absl::Time deadline);

}  // namespace messaging::repository
