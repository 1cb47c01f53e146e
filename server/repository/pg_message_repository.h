#pragma once

#include <functional>
#include <vector>

#include "domain/repositories.h"
#include "repository/connection_pool.h"
#include "repository/transaction.h"

namespace messaging::repository {

class PgMessageRepository : public domain::MessageRepository {
 public:
  // `on_change` runs after every committed write to messages (it announces
  // new stream events: EventListener::Announce).
  explicit PgMessageRepository(
      TransactionRunner& transactions, std::function<void()> on_change = [] {})
      : transactions_(transactions), on_change_(std::move(on_change)) {}

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
  // Passes `result` through, announcing the change when it succeeded.
  template <typename Result>
  Result Announced(Result result) const {
    if (result.ok()) on_change_();
    return result;
  }

  TransactionRunner& transactions_;
  const std::function<void()> on_change_;
};

}  // namespace messaging::repository
