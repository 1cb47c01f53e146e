#pragma once

#include <vector>

#include "domain/repositories.h"
#include "repository/connection_pool.h"
#include "repository/transaction.h"

namespace messaging::repository {

class PgConversationRepository : public domain::ConversationRepository {
 public:
  explicit PgConversationRepository(TransactionRunner& transactions)
      : transactions_(transactions) {}

  // The statements this repository uses, for ConnectionPool.
  static std::vector<PreparedStatement> Statements();

  absl::StatusOr<domain::Conversation> Create(const domain::RequestContext& ctx,
                                              const domain::NewConversation& conversation) override;
  absl::StatusOr<domain::Conversation> GetOrCreate(const domain::RequestContext& ctx,
                                                   const std::string& customer_id,
                                                   domain::Channel channel) override;
  absl::StatusOr<domain::Conversation> Get(const domain::RequestContext& ctx,
                                           const std::string& id) override;
  absl::StatusOr<domain::Page<domain::Conversation>> List(
      const domain::RequestContext& ctx, const domain::ConversationQuery& query) override;
  absl::StatusOr<domain::Conversation> Update(const domain::RequestContext& ctx,
                                              const std::string& id,
                                              const domain::ConversationPatch& patch) override;
  absl::Status Delete(const domain::RequestContext& ctx, const std::string& id) override;
  absl::StatusOr<domain::Conversation> MarkRead(const domain::RequestContext& ctx,
                                                const std::string& id) override;

 private:
  TransactionRunner& transactions_;
};

}  // namespace messaging::repository
