#pragma once

// The one place where database exceptions become gRPC-style status codes
// (AIP-193). Callers see what they should do next; SQL text and driver
// details only go to the log.

#include <exception>

#include "absl/status/status.h"

namespace messaging::repository {

// unique_violation -> ALREADY_EXISTS, foreign_key_violation -> FAILED_PRECONDITION,
// serialization/deadlock -> ABORTED, statement timeout -> DEADLINE_EXCEEDED,
// connection errors -> UNAVAILABLE, anything else -> INTERNAL (generic text).
absl::Status MapDatabaseError(const std::exception& e);

// True for errors after which retrying the whole transaction may succeed.
bool IsRetryableTransactionError(const std::exception& e);

// SQLSTATE of a pqxx::sql_error, "" for other exceptions.
std::string SqlState(const std::exception& e);

}  // namespace messaging::repository
