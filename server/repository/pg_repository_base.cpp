#include "repository/pg_repository_base.h"

namespace messaging::repository {

absl::Status PgRepositoryBase::AnnouncedDelete(const domain::RequestContext& ctx,
                                               const Statement& statement,
                                               absl::string_view resource, const std::string& id) {
  return Announced(
      transactions_
          .Run<bool>(
              ctx, Params(statement).Set("id", id),
              [&](pqxx::transaction_base&, const pqxx::result& deleted) -> absl::StatusOr<bool> {
                if (deleted.empty()) return domain::NotFound(resource, id);
                return true;
              },
              TransactionMode::kOneStatementWrite)
          .status());
}

}  // namespace messaging::repository
