#pragma once

#include <functional>
#include <vector>

#include "domain/repositories.h"
#include "repository/connection_pool.h"
#include "repository/pg_repository_base.h"

namespace messaging::repository {

class PgConversationRepository : public domain::ConversationRepository, private PgRepositoryBase {
 public:
  // `on_change` runs after a committed delete (its messages' events must be
  // announced: EventListener::Announce).
  explicit PgConversationRepository(
      TransactionRunner& transactions, std::function<void()> on_change = [] {})
      : PgRepositoryBase(transactions, std::move(on_change)) {}

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
};

}  // namespace messaging::repository
