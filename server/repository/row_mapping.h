#pragma once

#include <algorithm>

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

// A page from rows fetched with LIMIT limit + 1: the extra row only says that
// more rows follow. `snapshot` is the pg_snapshot the rows were read in.
template <typename T>
domain::Page<T> ToPage(const pqxx::result& rows, int limit, T (*to_item)(const pqxx::row&),
                       std::string snapshot) {
  domain::Page<T> page;
  page.items.reserve(std::min(rows.size(), static_cast<std::size_t>(std::max(0, limit))));
  for (const auto& row : rows) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.has_more = true;
      break;
    }
    page.items.push_back(to_item(row));
  }
  page.snapshot = std::move(snapshot);
  return page;
}

// NULL for nullopt, for libpqxx 6.4 which has no std::optional parameters.
inline const char* NullableText(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

}  // namespace messaging::repository
