#include "repository/pg_errors.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "common/logging.h"

namespace messaging::repository {

std::string SqlState(const std::exception& e) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) return sql->sqlstate();
  return "";
}

bool IsRetryableTransactionError(const std::exception& e) {
  const std::string state = SqlState(e);
  return state == "40001" || state == "40P01" ||
         dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr ||
         dynamic_cast<const pqxx::deadlock_detected*>(&e) != nullptr;
}

absl::Status MapDatabaseError(const std::exception& e) {
  const std::string state = SqlState(e);
  // Before the broken-connection test: a write that lost its connection may
  // have committed, and its message must say so.
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
      dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) {
    log::Warn("database commit outcome unknown: {}", e.what());
    return absl::UnavailableError("database connection lost; the outcome is unknown");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
      absl::StrContains(e.what(), "not connected") || absl::StartsWith(state, "08") ||
      state == "57P01" || state == "57P02" || state == "57P03" || state == "53300") {
    log::Warn("database unavailable: {}", e.what());
    return absl::UnavailableError("database unavailable; retry");
  }
  if (IsRetryableTransactionError(e)) {
    return absl::AbortedError("concurrent modification; retry the call");
  }
  if (state == "57014") return absl::DeadlineExceededError("database query cancelled at deadline");
  if (state == "23505") return absl::AlreadyExistsError("resource already exists");
  if (state == "23503")
    return absl::FailedPreconditionError("a referenced resource does not exist");
  if (absl::StartsWith(state, "53")) {
    log::Warn("database out of resources: {}", e.what());
    return absl::ResourceExhaustedError("database out of resources; retry later");
  }
  log::Error("database error (sqlstate {}): {}", state.empty() ? "none" : state, e.what());
  return absl::InternalError("internal error");
}

}  // namespace messaging::repository
