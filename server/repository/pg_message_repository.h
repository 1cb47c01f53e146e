#pragma once

#include <functional>
#include <vector>

#include "domain/repositories.h"
#include "repository/connection_pool.h"
#include "repository/pg_repository_base.h"

namespace messaging::repository {

class PgMessageRepository : public domain::MessageRepository, private PgRepositoryBase {
 public:
  // `on_change` runs after every committed write to messages (it announces
  // new stream events: EventListener::Announce).
  explicit PgMessageRepository(
      TransactionRunner& transactions, std::function<void()> on_change = [] {})
      : PgRepositoryBase(transactions, std::move(on_change)) {}

  // The statements this repository uses, for ConnectionPool.
  static std::vector<PreparedStatement> Statements();

  absl::StatusOr<domain::Message> Create(const domain::RequestContext& ctx,
                                         const domain::NewMessage& message,
                                         const std::string& preview) override;
  absl::StatusOr<domain::Message> Get(const domain::RequestContext& ctx,
                                      const std::string& id) override;
  absl::StatusOr<domain::Page<domain::Message>> List(const domain::RequestContext& ctx,
                                                     const domain::MessageQuery& query) override;
  absl::StatusOr<domain::Message> Update(const domain::RequestContext& ctx, const std::string& id,
                                         const domain::MessagePatch& patch) override;
  absl::StatusOr<domain::Message> UpdateDeliveryStatus(
      const domain::RequestContext& ctx, const domain::DeliveryStatusUpdate& update) override;
  absl::Status Delete(const domain::RequestContext& ctx, const std::string& id) override;
};

}  // namespace messaging::repository
