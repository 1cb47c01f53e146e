#include "repository/transaction.h"

#include <poll.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace messaging::repository {
namespace {

constexpr char kTenantSetup[] = "tenant_setup";

}  // namespace

PreparedStatement TransactionRunner::TenantSetupStatement() {
  // set_config(..., true) is SET LOCAL: it ends with the transaction, so a
  // pooled connection never carries one tenant's setting into the next call.
  return {kTenantSetup,
          "SELECT set_config('role', $1, true), "
          "set_config('app.distributor_id', $2, true), "
          "set_config('statement_timeout', $3, true)"};
}

std::string TransactionRunner::BeginSql(pqxx::connection_base& connection,
                                        const domain::RequestContext& ctx,
                                        TransactionMode mode) const {
  return absl::StrCat(mode == TransactionMode::kSnapshotRead
                          ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "
                          : "BEGIN; ",
                      TenantSql(connection, ctx, /*read_only=*/false));
}

std::string TransactionRunner::TenantSql(pqxx::connection_base& connection,
                                         const domain::RequestContext& ctx, bool read_only) const {
  absl::Duration timeout = options_.default_statement_timeout;
  if (ctx.deadline != absl::InfiniteFuture()) {
    timeout = std::min(timeout, std::max(ctx.deadline - absl::Now(), absl::Milliseconds(1)));
  }
  const int64_t timeout_ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout));
  // Same settings as TenantSetupStatement(); set_config(..., true) is SET LOCAL.
  return absl::StrCat("SELECT set_config('role', ", connection.quote(options_.app_role),
                      ", true), set_config('app.distributor_id', ",
                      connection.quote(ctx.distributor_id),
                      ", true), set_config('statement_timeout', '", timeout_ms, "', true)",
                      read_only ? ", set_config('transaction_read_only', 'on', true)" : "");
}

bool TransactionRunner::IsBrokenConnection(const std::exception& e) {
  return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
         dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
         dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr;
}

bool TransactionRunner::IsClosing(const pqxx::connection_base& connection) {
  pollfd socket{connection.sock(), POLLIN, 0};
  if (socket.fd < 0) return true;
  // No wait: an idle connection to a live backend has nothing to read.
  int ready = 0;
  do {
    ready = poll(&socket, 1, 0);
  } while (ready < 0 && errno == EINTR);
  return ready != 0;
}

}  // namespace messaging::repository
