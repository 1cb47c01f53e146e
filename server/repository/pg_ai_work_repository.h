#pragma once

// The AI work queue on PostgreSQL (migration 005). Claims, lists and requeues
// by a worker cross tenants only through the SECURITY DEFINER functions (ids
// and lease data); messages, conversations and items are then read and
// written in transactions of each item's tenant, so Row Level Security still
// applies.

#include <functional>
#include <vector>

#include "domain/repositories.h"
#include "repository/connection_pool.h"
#include "repository/pg_repository_base.h"

namespace messaging::repository {

class PgAiWorkRepository : public domain::AiWorkRepository, private PgRepositoryBase {
 public:
  // `on_change` runs after every committed write to messages.
  explicit PgAiWorkRepository(
      TransactionRunner& transactions, std::function<void()> on_change = [] {})
      : PgRepositoryBase(transactions, std::move(on_change)) {}

  // The statements this repository uses, for ConnectionPool.
  static std::vector<PreparedStatement> Statements();

  absl::StatusOr<std::vector<domain::AiWorkItem>> Claim(const domain::RequestContext& ctx,
                                                        const domain::AiWorkClaim& claim) override;
  absl::StatusOr<domain::AiWorkItem> Extend(const domain::RequestContext& ctx,
                                            const domain::AiWorkLease& lease,
                                            absl::Duration lease_duration) override;
  absl::StatusOr<domain::Message> Complete(const domain::RequestContext& ctx,
                                           const domain::AiWorkLease& lease,
                                           const domain::AiWorkResult& result) override;
  absl::StatusOr<domain::AiWorkItem> Fail(const domain::RequestContext& ctx,
                                          const domain::AiWorkLease& lease,
                                          const domain::AiWorkFailure& failure) override;
  absl::StatusOr<domain::Page<domain::AiWorkItem>> List(const domain::RequestContext& ctx,
                                                        const domain::AiWorkQuery& query) override;
  absl::StatusOr<domain::AiWorkItem> Requeue(const domain::RequestContext& ctx,
                                             const std::string& id) override;
  absl::StatusOr<std::optional<domain::Micros>> NextAvailable(
      const domain::RequestContext& ctx) override;
  absl::StatusOr<std::int64_t> Prune(absl::Duration retention) override;
  absl::StatusOr<std::vector<std::pair<domain::AiWorkState, std::int64_t>>> Depth() override;
};

}  // namespace messaging::repository
