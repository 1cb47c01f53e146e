#pragma once

#include <algorithm>

// Database rows <-> domain structs, for the column lists in sql/.

#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "domain/model.h"
#include "domain/pagination.h"

namespace messaging::repository {

domain::Conversation RowToConversation(const pqxx::row& row);
domain::Message RowToMessage(const pqxx::row& row);

// Exact timestamptz literal for a keyset parameter ("2026-01-02T03:04:05.123456Z").
std::string MicrosToTimestampText(domain::Micros micros);

// A page from rows fetched with LIMIT limit + 1 and a byte budget
// (sql::BudgetedPageSql, whose last column is bytes_through): rows beyond the
// page only say that more rows follow. `snapshot` is the pg_snapshot the rows
// were read in.
template <typename T>
domain::Page<T> ToPage(const pqxx::result& rows, int limit, std::int64_t max_bytes,
                       T (*to_item)(const pqxx::row&), std::string snapshot) {
  std::vector<std::int64_t> bytes_through;
  bytes_through.reserve(rows.size());
  for (const auto& row : rows) bytes_through.push_back(row.back().as<std::int64_t>());
  const std::size_t taken = domain::RowsInPage(bytes_through, limit, max_bytes);
  domain::Page<T> page;
  page.items.reserve(taken);
  for (std::size_t i = 0; i < taken; ++i) page.items.push_back(to_item(rows[static_cast<int>(i)]));
  page.has_more = taken < rows.size();
  page.snapshot = std::move(snapshot);
  return page;
}

// NULL for nullopt, for libpqxx 6.4 which has no std::optional parameters.
inline const char* NullableText(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

}  // namespace messaging::repository
