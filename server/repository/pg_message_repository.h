#pragma once

#include <vector>

#include "domain/repositories.h"
#include "repository/connection_pool.h"
#include "repository/transaction.h"

namespace messaging::repository {

class PgMessageRepository : public domain::MessageRepository {
 public:
  explicit PgMessageRepository(TransactionRunner& transactions) : transactions_(transactions) {}

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

 private:
  TransactionRunner& transactions_;
};

}  // namespace messaging::repository
