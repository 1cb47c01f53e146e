#include "repository/pg_repository_base.h"

namespace messaging::repository {

absl::Status PgRepositoryBase::AnnouncedDelete(const domain::RequestContext& ctx,
                                               const Statement& statement,
                                               absl::string_view resource, const std::string& id) {
  return Announced(transactions_
                       .Run<bool>(ctx,
                                  [&](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
                                    if (Params(statement).Set("id", id).Exec(tx).empty()) {
                                      return domain::NotFound(resource, id);
                                    }
                                    return true;
                                  })
                       .status());
}

}  // namespace messaging::repository
