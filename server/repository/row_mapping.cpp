#include "repository/row_mapping.h"

#include "absl/time/time.h"

namespace messaging::repository {
namespace {

std::optional<domain::Micros> OptionalMicros(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<domain::Micros>();
}

template <typename E>
E EnumOrDie(std::optional<E> value, const char* column) {
  // The CHECK constraints make this unreachable; fail loudly if they drift.
  if (!value) throw std::runtime_error(std::string("unexpected value in column ") + column);
  return *value;
}

}  // namespace

std::string MicrosToTimestampText(domain::Micros micros) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(micros),
                          absl::UTCTimeZone());
}

domain::Conversation RowToConversation(const pqxx::row& row) {
  domain::Conversation c;
  c.id = row[0].as<std::string>();
  c.distributor_id = row[1].as<std::string>();
  c.customer_id = row[2].as<std::string>();
  c.channel = EnumOrDie(domain::FromDb<domain::Channel>(row[3].c_str()), "channel");
  c.status = EnumOrDie(domain::FromDb<domain::ConversationStatus>(row[4].c_str()), "status");
  c.ai_context_summary = row[5].as<std::string>();
  c.unread_count = row[6].as<std::int32_t>();
  c.last_message_at = OptionalMicros(row[7]);
  c.last_message_preview = row[8].as<std::string>();
  c.metadata_json = row[9].as<std::string>();
  c.created_at = row[10].as<domain::Micros>();
  c.updated_at = row[11].as<domain::Micros>();
  c.inbox_at = row[12].as<domain::Micros>();
  return c;
}

domain::Message RowToMessage(const pqxx::row& row) {
  domain::Message m;
  m.id = row[0].as<std::string>();
  m.conversation_id = row[1].as<std::string>();
  m.distributor_id = row[2].as<std::string>();
  m.direction = EnumOrDie(domain::FromDb<domain::Direction>(row[3].c_str()), "direction");
  m.message_type = EnumOrDie(domain::FromDb<domain::MessageType>(row[4].c_str()), "message_type");
  m.content = row[5].as<std::string>();
  m.media_url = row[6].as<std::string>();
  m.media_content_type = row[7].as<std::string>();
  m.external_message_id = row[8].as<std::string>();
  m.delivery_status =
      EnumOrDie(domain::FromDb<domain::DeliveryStatus>(row[9].c_str()), "delivery_status");
  m.error_code = row[10].as<std::string>();
  m.error_message = row[11].as<std::string>();
  m.ai_processing_status = EnumOrDie(domain::FromDb<domain::AiProcessingStatus>(row[12].c_str()),
                                     "ai_processing_status");
  m.ai_summary = row[13].as<std::string>();
  m.ai_intent = row[14].as<std::string>();
  m.ai_sentiment = row[15].as<std::string>();
  if (!row[16].is_null()) m.ai_extracted_data_json = row[16].as<std::string>();
  m.ai_processed_at = OptionalMicros(row[17]);
  m.metadata_json = row[18].as<std::string>();
  m.created_at = row[19].as<domain::Micros>();
  m.updated_at = row[20].as<domain::Micros>();
  m.version = row[21].as<std::int64_t>();
  return m;
}

}  // namespace messaging::repository
