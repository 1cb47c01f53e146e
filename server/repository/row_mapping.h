#pragma once

// Database rows <-> domain structs, for the column lists in sql/.

#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "domain/model.h"

namespace messaging::repository {

domain::Conversation RowToConversation(const pqxx::row& row);
domain::Message RowToMessage(const pqxx::row& row);

// Exact timestamptz literal for a keyset parameter ("2026-01-02T03:04:05.123456Z").
std::string MicrosToTimestampText(domain::Micros micros);

// NULL for nullopt, for libpqxx 6.4 which has no std::optional parameters.
inline const char* NullableText(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

}  // namespace messaging::repository
