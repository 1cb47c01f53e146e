#include "repository/pg_repository_base.h"

#include "repository/sql/event_sql.h"

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

std::string CurrentSnapshot(pqxx::transaction_base& tx) {
  return Params(sql::kCurrentSnapshot).Exec(tx).at(0)[0].as<std::string>();
}

}  // namespace messaging::repository
