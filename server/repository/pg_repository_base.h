#pragma once

// What the PostgreSQL repositories of conversations and messages share: their
// transactions, and the announcement after every committed change that may
// have raised stream events (EventListener::Announce).

#include <functional>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/model.h"
#include "domain/not_found.h"
#include "repository/statement.h"
#include "repository/transaction.h"

namespace messaging::repository {

class PgRepositoryBase {
 protected:
  PgRepositoryBase(TransactionRunner& transactions, std::function<void()> on_change)
      : transactions_(transactions), on_change_(std::move(on_change)) {}

  // Passes `result` through, announcing the change when it succeeded.
  template <typename Result>
  Result Announced(Result result) const {
    if (result.ok()) on_change_();
    return result;
  }

  // Runs `statement` (DELETE ... WHERE id = :id RETURNING id) and announces
  // the change; NOT_FOUND naming `resource` if it deleted nothing.
  absl::Status AnnouncedDelete(const domain::RequestContext& ctx, const Statement& statement,
                               absl::string_view resource, const std::string& id);

  TransactionRunner& transactions_;

 private:
  const std::function<void()> on_change_;
};

// The one row `result` holds, read by `Reader`; NOT_FOUND naming `resource`
// and `id` if it holds none.
template <typename Reader>
auto SingleRow(const pqxx::result& result, absl::string_view resource, const std::string& id)
    -> absl::StatusOr<std::invoke_result_t<const Reader&, const pqxx::row&>> {
  if (result.empty()) return domain::NotFound(resource, id);
  return Reader(result)(result[0]);
}

}  // namespace messaging::repository
