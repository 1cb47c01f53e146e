#include "repository/row_mapping.h"

#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace messaging::repository {

ColumnIndex ColumnNumber(const pqxx::result& result, const char* name) {
  try {
    return result.column_number(name);
  } catch (const pqxx::argument_error&) {
    throw std::logic_error(absl::StrCat("the result of ", result.query(), " has no column \"", name,
                                        "\" (the row mapping and the SQL disagree)"));
  }
}

void ThrowUnexpectedValue(const pqxx::field& field) {
  throw std::runtime_error(absl::StrCat("unexpected value in column ", field.name()));
}

std::string MicrosToTimestampText(domain::Micros micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

StreamEventReader::StreamEventReader(const pqxx::result& r)
    : message_(r),
      xid_(ColumnNumber(r, "event_xid")),
      seq_(ColumnNumber(r, "event_seq")),
      type_(ColumnNumber(r, "event_type")),
      conversation_(ColumnNumber(r, "event_conversation")),
      message_id_(ColumnNumber(r, "event_message")),
      distributor_(ColumnNumber(r, "event_distributor")),
      message_exists_(ColumnNumber(r, "message_exists")) {}

domain::StreamEvent StreamEventReader::operator()(const pqxx::row& row) const {
  domain::StreamEvent event;
  event.position = {row[xid_].as<std::uint64_t>(), row[seq_].as<std::int64_t>()};
  Decode(row[type_], event.type);
  if (row[message_exists_].as<bool>()) {
    // The recorded state (or, for events older than migration 003, the current row).
    event.message = message_(row);
  } else {
    // An event without a recorded state whose message is gone.
    Decode(row[message_id_], event.message.id);
    Decode(row[conversation_], event.message.conversation_id);
    Decode(row[distributor_], event.message.distributor_id);
  }
  return event;
}

}  // namespace messaging::repository
