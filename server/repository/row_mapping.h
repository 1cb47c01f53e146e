#pragma once

// Database rows -> domain structs, by column name. A reader finds the numbers
// of the columns it reads once per result (by the names in sql/), then reads
// every row by number: as cheap per row as positional reads, and a statement
// that lists its columns in another order, or among others, still maps every
// field to its own column. A column missing from the result throws
// std::logic_error naming it, on the statement's first use.

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "domain/model.h"
#include "domain/pagination.h"
#include "domain/stream.h"

namespace messaging::repository {

using ColumnIndex = pqxx::row::size_type;

// The number of column `name` in `result`; std::logic_error if it has none.
ColumnIndex ColumnNumber(const pqxx::result& result, const char* name);

// One field of a domain struct and the column it is read from.
template <typename T, typename Member>
struct FieldColumn {
  const char* column;
  Member T::*field;
};
template <typename T, typename Member>
constexpr FieldColumn<T, Member> ReadColumn(const char* column, Member T::*field) {
  return {column, field};
}

[[noreturn]] void ThrowUnexpectedValue(const pqxx::field& field);

// Column text -> field, by the field's type: a domain enum from its database
// text (domain/enums.h), anything else as libpqxx converts it.
template <typename V>
void Decode(const pqxx::field& from, V& to) {
  if constexpr (std::is_enum_v<V>) {
    const auto value = domain::FromDb<V>(from.c_str());
    // The CHECK constraints make this unreachable; fail loudly if they drift.
    if (!value) ThrowUnexpectedValue(from);
    to = *value;
  } else if constexpr (std::is_same_v<V, std::string>) {
    // The length libpq already has: no strlen, no temporary string.
    if (from.is_null()) ThrowUnexpectedValue(from);
    to.assign(from.c_str(), from.size());
  } else if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
    // Not from.as<V>(): libpqxx 6.4 checks each digit for overflow with a
    // division, and a page of 50 rows has some 3,000 digits (timestamps are
    // microseconds). from_chars refuses overflow and junk; all of the text
    // must be the number.
    if (from.is_null()) ThrowUnexpectedValue(from);
    const char* const end = from.c_str() + from.size();
    const auto [stop, error] = std::from_chars(from.c_str(), end, to);
    if (error != std::errc() || stop != end) ThrowUnexpectedValue(from);
  } else {
    to = from.as<V>();
  }
}
// NULL: nullopt.
template <typename V>
void Decode(const pqxx::field& from, std::optional<V>& to) {
  if (from.is_null()) {
    to.reset();
  } else {
    Decode(from, to.emplace());
  }
}

// Reads rows into T by `kFields` (a tuple of ReadColumn).
template <typename T, const auto& kFields>
class RowReader {
 public:
  explicit RowReader(const pqxx::result& result) : columns_(Resolve(result)) {}
  T operator()(const pqxx::row& row) const { return Read(row, std::make_index_sequence<kCount>()); }

 private:
  static constexpr std::size_t kCount = std::tuple_size_v<std::decay_t<decltype(kFields)>>;
  using Columns = std::array<ColumnIndex, kCount>;

  // A statement returns the same columns every time, so the numbers found for
  // this thread's previous result are checked first (one name comparison per
  // column), and looked up only if they do not fit (a search per column).
  static Columns Resolve(const pqxx::result& result) {
    thread_local Columns last{};
    thread_local bool known = false;
    if (!known || !Fits(result, last, std::make_index_sequence<kCount>())) {
      last = LookUp(result, std::make_index_sequence<kCount>());
      known = true;
    }
    return last;
  }
  template <std::size_t... I>
  static bool Fits(const pqxx::result& result, const Columns& columns, std::index_sequence<I...>) {
    return ((columns[I] < result.columns() &&
             std::strcmp(result.column_name(columns[I]), std::get<I>(kFields).column) == 0) &&
            ...);
  }
  template <std::size_t... I>
  static Columns LookUp(const pqxx::result& result, std::index_sequence<I...>) {
    return {ColumnNumber(result, std::get<I>(kFields).column)...};
  }

  // Every field of the row through one column cursor: a pqxx::field holds a
  // copy of the whole result (two reference counts), so making one per value
  // costs more than decoding most values; the cursor is made once per row and
  // moved from column to column.
  template <std::size_t... I>
  T Read(const pqxx::row& row, std::index_sequence<I...>) const {
    T out;
    pqxx::row::const_iterator cursor = row.begin();
    (ReadField<I>(cursor, out), ...);
    return out;
  }
  template <std::size_t I>
  void ReadField(pqxx::row::const_iterator& cursor, T& out) const {
    using Difference = pqxx::row::const_iterator::difference_type;
    cursor += static_cast<Difference>(columns_[I]) - static_cast<Difference>(cursor.num());
    Decode(static_cast<const pqxx::field&>(cursor), out.*(std::get<I>(kFields).field));
  }

  const Columns columns_;
};

// The fields of a conversation by the names of sql::kConversationColumns.
inline constexpr auto kConversationFields =
    std::make_tuple(ReadColumn("id", &domain::Conversation::id),
                    ReadColumn("distributor_id", &domain::Conversation::distributor_id),
                    ReadColumn("customer_id", &domain::Conversation::customer_id),
                    ReadColumn("channel", &domain::Conversation::channel),
                    ReadColumn("status", &domain::Conversation::status),
                    ReadColumn("ai_context_summary", &domain::Conversation::ai_context_summary),
                    ReadColumn("unread_count", &domain::Conversation::unread_count),
                    ReadColumn("last_message_at", &domain::Conversation::last_message_at),
                    ReadColumn("last_message_preview", &domain::Conversation::last_message_preview),
                    ReadColumn("metadata", &domain::Conversation::metadata_json),
                    ReadColumn("created_at", &domain::Conversation::created_at),
                    ReadColumn("updated_at", &domain::Conversation::updated_at),
                    ReadColumn("inbox_at", &domain::Conversation::inbox_at));
using ConversationReader = RowReader<domain::Conversation, kConversationFields>;

// The fields of a message by the names of sql::kMessageColumns.
inline constexpr auto kMessageFields =
    std::make_tuple(ReadColumn("id", &domain::Message::id),
                    ReadColumn("conversation_id", &domain::Message::conversation_id),
                    ReadColumn("distributor_id", &domain::Message::distributor_id),
                    ReadColumn("direction", &domain::Message::direction),
                    ReadColumn("message_type", &domain::Message::message_type),
                    ReadColumn("content", &domain::Message::content),
                    ReadColumn("media_url", &domain::Message::media_url),
                    ReadColumn("media_content_type", &domain::Message::media_content_type),
                    ReadColumn("external_message_id", &domain::Message::external_message_id),
                    ReadColumn("delivery_status", &domain::Message::delivery_status),
                    ReadColumn("error_code", &domain::Message::error_code),
                    ReadColumn("error_message", &domain::Message::error_message),
                    ReadColumn("ai_processing_status", &domain::Message::ai_processing_status),
                    ReadColumn("ai_summary", &domain::Message::ai_summary),
                    ReadColumn("ai_intent", &domain::Message::ai_intent),
                    ReadColumn("ai_sentiment", &domain::Message::ai_sentiment),
                    ReadColumn("ai_extracted_data", &domain::Message::ai_extracted_data_json),
                    ReadColumn("ai_processed_at", &domain::Message::ai_processed_at),
                    ReadColumn("metadata", &domain::Message::metadata_json),
                    ReadColumn("created_at", &domain::Message::created_at),
                    ReadColumn("updated_at", &domain::Message::updated_at),
                    ReadColumn("version", &domain::Message::version));
using MessageReader = RowReader<domain::Message, kMessageFields>;

// Rows of sql::ReadEventsSql: an event and the message it carries.
class StreamEventReader {
 public:
  explicit StreamEventReader(const pqxx::result& result);
  // False for the LEFT JOIN's "no event" row.
  bool HasEvent(const pqxx::row& row) const { return !row[xid_].is_null(); }
  domain::StreamEvent operator()(const pqxx::row& row) const;

 private:
  MessageReader message_;
  ColumnIndex xid_, seq_, type_, conversation_, message_id_, distributor_, message_exists_;
};

// The first row of `result` read by `Reader`; nullopt if there is none.
template <typename Reader>
auto FirstRow(const pqxx::result& result)
    -> std::optional<std::invoke_result_t<const Reader&, const pqxx::row&>> {
  if (result.empty()) return std::nullopt;
  return Reader(result)(result[0]);
}

// Exact timestamptz literal for a keyset parameter ("2026-01-02T03:04:05.123456Z").
std::string MicrosToTimestampText(domain::Micros micros);

// A page from the rows of a sql::BudgetedPageSql statement (fetched with LIMIT
// limit + 1 and a byte budget; each ends with bytes_through and snapshot):
// rows beyond the page only say that more rows follow; one row of NULLs is an
// empty page. The statement must have returned a row (its scope found one).
template <typename Reader>
auto ToPage(const pqxx::result& rows, int limit, std::int64_t max_bytes)
    -> domain::Page<std::invoke_result_t<const Reader&, const pqxx::row&>> {
  domain::Page<std::invoke_result_t<const Reader&, const pqxx::row&>> page;
  page.snapshot = rows.at(0)[ColumnNumber(rows, "snapshot")].as<std::string>();
  const ColumnIndex bytes = ColumnNumber(rows, "bytes_through");
  if (rows[0][bytes].is_null()) return page;  // The empty page.
  std::vector<std::int64_t> bytes_through;
  bytes_through.reserve(rows.size());
  for (auto row = rows.begin(); row != rows.end(); ++row) {
    bytes_through.push_back(row->at(bytes).as<std::int64_t>());
  }
  const std::size_t taken = domain::RowsInPage(bytes_through, limit, max_bytes);
  page.items.reserve(taken);
  const Reader read(rows);
  // The iterator is the row (no copy of the result per row, as rows[i] makes).
  auto row = rows.begin();
  for (std::size_t i = 0; i < taken; ++i, ++row) {
    page.items.push_back(read(static_cast<const pqxx::row&>(row)));
  }
  page.has_more = taken < rows.size();
  return page;
}

}  // namespace messaging::repository
