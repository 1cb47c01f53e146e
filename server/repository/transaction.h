#pragma once

// Runs a unit of work in one database transaction as the calling tenant:
// every transaction first switches to the non-privileged application role and
// sets app.distributor_id, so Row Level Security filters every statement even
// if C++ code forgets a WHERE clause. The statement timeout follows the call's
// deadline, so PostgreSQL cancels work nobody is waiting for.

#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "domain/model.h"
#include "repository/connection_pool.h"
#include "repository/pg_errors.h"
#include "repository/statement.h"
#include "repository/wal_durability.h"

namespace messaging::repository {

struct TransactionOptions {
  std::string app_role = "messaging_app";
  int max_attempts = 3;  // For serialization failures and deadlocks.
  absl::Duration default_statement_timeout = absl::Seconds(30);
};

// A libpqxx transaction whose opening round trip also sets the tenant, and may
// run the call's first statement: BEGIN, the tenant statement and that
// statement go as one simple query, so every call saves a round trip or two
// (and the thread wake-ups that come with them).
template <pqxx::isolation_level Isolation, pqxx::readwrite_policy ReadWrite>
class TenantTransaction final : public pqxx::internal::basic_transaction {
 public:
  TenantTransaction(pqxx::connection_base& connection, std::string begin_sql)
      : pqxx::internal::namedclass{"TenantTransaction"},
        pqxx::internal::basic_transaction(connection, pqxx::isolation_traits<Isolation>::name(),
                                          ReadWrite),
        begin_sql_(std::move(begin_sql)) {
    Begin();
  }
  ~TenantTransaction() noexcept override { End(); }

  // The result of the opening query's last statement.
  const pqxx::result& opening_result() const { return opening_result_; }

 private:
  void do_begin() override {
    try {
      opening_result_ = direct_exec(begin_sql_.c_str());
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const pqxx::sql_error&) {
      // A statement after BEGIN failed: the session is left in an aborted
      // transaction block, which libpqxx (for which the transaction never
      // began) would not end. End it, so the pooled connection stays usable;
      // if that fails too, the connection is closed and not pooled again.
      try {
        direct_exec("ROLLBACK");
      } catch (const std::exception&) {
        conn().disconnect();
      }
      throw;
    }
  }

  const std::string begin_sql_;
  pqxx::result opening_result_;
};

enum class TransactionMode {
  kReadWrite,
  // REPEATABLE READ, READ ONLY: every statement sees one snapshot.
  kSnapshotRead,
  // One read-only statement (the opening; `work` runs no other): sent with the
  // tenant setup as one query string, which PostgreSQL runs as one implicit
  // transaction that ends with the string, so the call is one round trip and
  // no BEGIN or COMMIT. The statement sees one snapshot, as any statement does.
  kOneStatementRead,
  // The same for one statement that writes: it has committed when its result
  // is back. One round trip instead of two (BEGIN ...; COMMIT). `work` must
  // run no other statement: the tenant settings end with the string. The
  // statement is sent at most once: a pooled connection found closing before
  // the send (input waiting while idle: the last message of a backend that
  // was terminated, e.g. by a database restart) is replaced first, and a
  // connection that breaks after the send fails the call with UNAVAILABLE,
  // "outcome unknown", as a COMMIT that breaks does.
  kOneStatementWrite,
  // kOneStatementWrite for a statement that is safe to send again: a
  // connection that breaks before the answer is retried on a fresh one, as
  // a read is, although the lost attempt may have committed.
  kOneStatementIdempotentWrite,
};

// The status a call answers for an error its statement raises by design
// (a uniqueness or foreign-key violation), or nullopt for the generic
// mapping (pg_errors.h). For statements sent in the opening round trip,
// whose errors the work never sees.
using StatementErrors = std::function<std::optional<absl::Status>(const pqxx::sql_error&)>;

class TransactionRunner {
 public:
  TransactionRunner(ConnectionPool& pool, TransactionOptions options)
      : pool_(pool), options_(std::move(options)) {}

  // Runs `work` in a tenant transaction; commits if it returns OK, rolls back
  // otherwise. Database exceptions become statuses (pg_errors.h). Serialization
  // failures, deadlocks and ABORTED from `work` are retried up to max_attempts.
  template <typename T>
  absl::StatusOr<T> Run(const domain::RequestContext& ctx,
                        const std::function<absl::StatusOr<T>(pqxx::transaction_base&)>& work,
                        TransactionMode mode = TransactionMode::kReadWrite) {
    return RunWithOpening<T>(
        ctx, nullptr, [&work](pqxx::transaction_base& tx, const pqxx::result&) { return work(tx); },
        mode);
  }

  // The same with the call's first statement, `opening`, sent in the round
  // trip of BEGIN and the tenant statement; `work` gets its result. Required
  // by the one-statement modes. `errors` names the opening's expected errors.
  template <typename T>
  absl::StatusOr<T> Run(
      const domain::RequestContext& ctx, const Params& opening,
      const std::function<absl::StatusOr<T>(pqxx::transaction_base&, const pqxx::result&)>& work,
      TransactionMode mode = TransactionMode::kReadWrite, const StatementErrors& errors = nullptr) {
    return RunWithOpening<T>(ctx, &opening, work, mode, errors);
  }

  // A one-statement read whose snapshot goes to the client (a List page and
  // the stream cursor taken with it, a live stream's starting horizon):
  // `opening` also returns wal_insert and
  // wal_flush (sql::kWalPositionColumns) in its first row, and the result is
  // returned only once that snapshot is durable (repository/wal_durability.h).
  // An opening that returns no row hands out no snapshot.
  template <typename T>
  absl::StatusOr<T> RunDurableSnapshotRead(
      const domain::RequestContext& ctx, const Params& opening,
      const std::function<absl::StatusOr<T>(pqxx::transaction_base&, const pqxx::result&)>& work) {
    std::optional<WalPositions> wal;
    absl::StatusOr<T> result = Run<T>(
        ctx, opening,
        [&](pqxx::transaction_base& tx, const pqxx::result& rows) {
          if (!rows.empty()) wal = WalPositions::Of(rows);
          return work(tx, rows);
        },
        TransactionMode::kOneStatementRead);
    if (!result.ok() || !wal) return result;
    if (absl::Status durable = AwaitDurable(pool_, *wal, ctx.deadline); !durable.ok()) {
      return durable;
    }
    return result;
  }

  // The tenant statement every transaction starts with (role, tenant,
  // timeout), as a prepared statement: what pgbench baselines run, as pgbench
  // cannot send it in BEGIN's round trip the way BeginSql() does.
  static PreparedStatement TenantSetupStatement();

  ConnectionPool& pool() { return pool_; }

 private:
  template <typename T>
  absl::StatusOr<T> RunWithOpening(
      const domain::RequestContext& ctx, const Params* opening,
      const std::function<absl::StatusOr<T>(pqxx::transaction_base&, const pqxx::result&)>& work,
      TransactionMode mode, const StatementErrors& errors = nullptr) {
    absl::Status last = absl::AbortedError("transaction not attempted");
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
      auto lease = pool_.Acquire(ctx.deadline);
      if (!lease.ok()) return lease.status();
      bool work_started = false;
      try {
        absl::StatusOr<T> result;
        switch (mode) {
          case TransactionMode::kOneStatementRead:
          case TransactionMode::kOneStatementWrite:
          case TransactionMode::kOneStatementIdempotentWrite:
            if (opening == nullptr) {
              return absl::InternalError("a one-statement transaction needs its statement");
            }
            result = AttemptOneStatement<T>(lease->connection(), ctx, *opening, work, mode,
                                            &work_started);
            break;
          case TransactionMode::kSnapshotRead:
            result = Attempt<TenantTransaction<pqxx::repeatable_read, pqxx::read_only>, T>(
                lease->connection(), ctx, mode, opening, work, &work_started);
            break;
          case TransactionMode::kReadWrite:
            result = Attempt<TenantTransaction<pqxx::read_committed, pqxx::read_write>, T>(
                lease->connection(), ctx, mode, opening, work, &work_started);
            break;
        }
        // ABORTED from the work itself means "lost a race; run me again",
        // except after a write that is sent at most once and has committed.
        if (!result.ok() && absl::IsAborted(result.status()) &&
            mode != TransactionMode::kOneStatementWrite && attempt < options_.max_attempts) {
          last = result.status();
          continue;
        }
        return result;
      } catch (const std::exception& e) {
        if (const auto* sql_error = dynamic_cast<const pqxx::sql_error*>(&e);
            sql_error != nullptr && errors && lease->connection().is_open()) {
          if (std::optional<absl::Status> named = errors(*sql_error)) return *std::move(named);
        }
        const bool broken = IsBrokenConnection(e) || !lease->connection().is_open();
        if (broken) lease->Discard();
        last = MapDatabaseError(e);
        // A pooled connection that died while idle (e.g. the database restarted)
        // fails at BEGIN: nothing was committed, so a fresh connection may simply retry.
        const bool stale = broken && !work_started;
        if (stale) pool_.DropIdle();
        if (!(stale || IsRetryableTransactionError(e)) || absl::Now() >= ctx.deadline) return last;
      }
    }
    return last;
  }

  // One try: BEGIN with the isolation level, the tenant and the opening
  // statement (one round trip), the work; commit if it succeeded, roll back
  // otherwise.
  template <typename Tx, typename T>
  absl::StatusOr<T> Attempt(
      pqxx::connection& connection, const domain::RequestContext& ctx, TransactionMode mode,
      const Params* opening,
      const std::function<absl::StatusOr<T>(pqxx::transaction_base&, const pqxx::result&)>& work,
      bool* work_started) {
    std::string begin_sql = BeginSql(connection, ctx, mode);
    if (opening != nullptr) {
      connection.prepare_now(opening->statement().name());  // A no-op once prepared.
      absl::StrAppend(&begin_sql, "; ", opening->ExecuteSql(connection));
    }
    Tx tx(connection, std::move(begin_sql));
    *work_started = true;
    absl::StatusOr<T> result = work(tx, tx.opening_result());
    if (!result.ok()) {
      tx.abort();
      return result;
    }
    tx.commit();
    return result;
  }

  // The one-statement modes: the tenant setup and `statement` in one query
  // string, outside any transaction block (an error aborts the implicit
  // transaction, which leaves the connection idle and clean).
  template <typename T>
  absl::StatusOr<T> AttemptOneStatement(
      pqxx::connection& connection, const domain::RequestContext& ctx, const Params& statement,
      const std::function<absl::StatusOr<T>(pqxx::transaction_base&, const pqxx::result&)>& work,
      TransactionMode mode, bool* work_started) {
    connection.prepare_now(statement.statement().name());  // A no-op once prepared.
    const std::string sql =
        absl::StrCat(TenantSql(connection, ctx, mode == TransactionMode::kOneStatementRead), "; ",
                     statement.ExecuteSql(connection));
    pqxx::nontransaction tx(connection);
    pqxx::result rows;
    if (mode == TransactionMode::kOneStatementWrite) {
      // Sent at most once: a connection already closing is replaced before
      // the send, and a break after it is an unknown outcome, not a retry.
      if (IsClosing(connection)) throw pqxx::broken_connection("pooled connection is closing");
      *work_started = true;
      try {
        rows = tx.exec(sql);
      } catch (const pqxx::sql_error&) {
        throw;  // PostgreSQL's answer: the statement failed and wrote nothing.
      } catch (const pqxx::failure& e) {
        // No answer (libpqxx reports a closed connection as
        // broken_connection, a missing result as failure): it may have
        // committed.
        throw pqxx::statement_completion_unknown(e.what());
      }
    } else {
      // A connection that breaks before this point may be retried (a read,
      // or a write that is safe to send again).
      rows = tx.exec(sql);
      *work_started = true;
    }
    return work(tx, rows);
  }

  // "BEGIN [ISOLATION LEVEL ...]; " and TenantSql().
  std::string BeginSql(pqxx::connection_base& connection, const domain::RequestContext& ctx,
                       TransactionMode mode) const;
  // "SELECT set_config(...) ..." (role, tenant, statement timeout, and with
  // `read_only` transaction_read_only), every value quoted as a literal (the
  // role is configuration, the tenant a parsed UUID), each setting local to
  // the transaction.
  std::string TenantSql(pqxx::connection_base& connection, const domain::RequestContext& ctx,
                        bool read_only) const;
  static bool IsBrokenConnection(const std::exception& e);
  // Whether an idle connection has input waiting. A pooled connection
  // listens to nothing, so what arrives while it is idle is a terminated
  // backend's last message and its end of stream: it is closing.
  static bool IsClosing(const pqxx::connection_base& connection);

  ConnectionPool& pool_;
  const TransactionOptions options_;
};

}  // namespace messaging::repository
