#pragma once

// Runs a unit of work in one database transaction as the calling tenant:
// every transaction first switches to the non-privileged application role and
// sets app.distributor_id, so Row Level Security filters every statement even
// if C++ code forgets a WHERE clause. The statement timeout follows the call's
// deadline, so PostgreSQL cancels work nobody is waiting for.

#include <functional>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "domain/model.h"
#include "repository/connection_pool.h"
#include "repository/pg_errors.h"

namespace messaging::repository {

struct TransactionOptions {
  std::string app_role = "messaging_app";
  int max_attempts = 3;  // For serialization failures and deadlocks.
  absl::Duration default_statement_timeout = absl::Seconds(30);
};

enum class TransactionMode {
  kReadWrite,
  // REPEATABLE READ, READ ONLY: every statement sees one snapshot (a page and
  // the stream cursor taken with it).
  kSnapshotRead,
};

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
    absl::Status last = absl::AbortedError("transaction not attempted");
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
      auto lease = pool_.Acquire(ctx.deadline);
      if (!lease.ok()) return lease.status();
      bool work_started = false;
      try {
        absl::StatusOr<T> result =
            mode == TransactionMode::kSnapshotRead
                ? Attempt<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>, T>(
                      lease->connection(), ctx, work, &work_started)
                : Attempt<pqxx::work, T>(lease->connection(), ctx, work, &work_started);
        // ABORTED from the work itself means "lost a race; run me again".
        if (!result.ok() && absl::IsAborted(result.status()) && attempt < options_.max_attempts) {
          last = result.status();
          continue;
        }
        return result;
      } catch (const std::exception& e) {
        const bool broken = IsBrokenConnection(e) || !lease->connection().is_open();
        if (broken) lease->Discard();
        last = MapDatabaseError(e);
        // A pooled connection that died while idle (e.g. the database restarted)
        // fails at BEGIN: nothing was sent, so a fresh connection may simply retry.
        const bool stale = broken && !work_started;
        if (stale) pool_.DropIdle();
        if (!(stale || IsRetryableTransactionError(e)) || absl::Now() >= ctx.deadline) return last;
      }
    }
    return last;
  }

  // The statement that starts every transaction: role, tenant, timeout.
  static PreparedStatement TenantSetupStatement();

  ConnectionPool& pool() { return pool_; }

 private:
  // One try: BEGIN (with the isolation level, in the same round trip), the
  // tenant, the work; commit if it succeeded, roll back otherwise.
  template <typename Tx, typename T>
  absl::StatusOr<T> Attempt(pqxx::connection& connection, const domain::RequestContext& ctx,
                            const std::function<absl::StatusOr<T>(pqxx::transaction_base&)>& work,
                            bool* work_started) {
    Tx tx(connection);
    SetUpTenant(tx, ctx);
    *work_started = true;
    absl::StatusOr<T> result = work(tx);
    if (!result.ok()) {
      tx.abort();
      return result;
    }
    tx.commit();
    return result;
  }

  void SetUpTenant(pqxx::transaction_base& tx, const domain::RequestContext& ctx) const;
  static bool IsBrokenConnection(const std::exception& e);

  ConnectionPool& pool_;
  const TransactionOptions options_;
};

}  // namespace messaging::repository
