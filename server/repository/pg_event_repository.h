#pragma once

#include <vector>

#include "domain/repositories.h"
#include "repository/connection_pool.h"
#include "repository/transaction.h"

namespace messaging::repository {

// The rows of sql::kEventHeads as EventHeads (shared with the EventListener,
// which runs the statement on its own connection).
domain::EventHeads HeadsFromResult(const pqxx::result& r);

class PgEventRepository : public domain::EventRepository {
 public:
  explicit PgEventRepository(TransactionRunner& transactions) : transactions_(transactions) {}

  static std::vector<PreparedStatement> Statements();

  absl::StatusOr<domain::EventBatch> Read(const domain::RequestContext& ctx,
                                          const domain::EventQuery& query,
                                          const std::string& conversation_id) override;
  absl::StatusOr<std::uint64_t> Horizon(const domain::RequestContext& ctx) override;
  absl::StatusOr<domain::EventHeads> Heads(std::uint64_t from_xid) override;
  absl::StatusOr<std::int64_t> Prune(absl::Duration retention) override;

 private:
  TransactionRunner& transactions_;
};

}  // namespace messaging::repository
