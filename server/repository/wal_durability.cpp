#include "repository/wal_durability.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "repository/pg_errors.h"
#include "repository/row_mapping.h"
#include "repository/sql/wal_sql.h"

namespace messaging::repository {

WalPositions WalPositions::Of(const pqxx::result& result) {
  const pqxx::row row = result.at(0);
  return {row[ColumnNumber(result, "wal_insert")].as<std::int64_t>(),
          row[ColumnNumber(result, "wal_flush")].as<std::int64_t>()};
}

std::int64_t WalFlushPosition(pqxx::connection_base& conn) {
  return pqxx::nontransaction(conn).exec1(sql::kWalFlushPosition)[0].as<std::int64_t>();
}

absl::Status AwaitDurable(ConnectionPool& pool, const WalPositions& read, absl::Time deadline) {
  if (read.durable()) return absl::OkStatus();
  auto lease = pool.Acquire(deadline);
  if (!lease.ok()) return lease.status();
  try {
    pqxx::connection& conn = lease->connection();
    const absl::Time give_up_waiting = absl::Now() + kWalFlushWait;
    absl::Duration pause = absl::Microseconds(250);
    for (;;) {
      if (WalFlushPosition(conn) >= read.insert) return absl::OkStatus();
      const absl::Time now = absl::Now();
      if (now >= deadline) return absl::DeadlineExceededError("deadline exceeded");
      if (now >= give_up_waiting) break;
      absl::SleepFor(std::min(pause, give_up_waiting - now));
      pause *= 2;
    }
    // Nobody else is flushing (only rollbacks, asynchronous commits or wake-ups
    // since): flush, with a timeout that keeps to the caller's deadline.
    pqxx::work flush(conn);
    flush.exec("SET LOCAL synchronous_commit = local");
    flush.exec(
        absl::StrCat("SET LOCAL statement_timeout = ",
                     std::max<std::int64_t>(1, absl::ToInt64Milliseconds(deadline - absl::Now()))));
    flush.exec(sql::kFlushWal);
    flush.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    if (!lease->connection().is_open()) lease->Discard();
    return MapDatabaseError(e);
  }
}

}  // namespace messaging::repository
