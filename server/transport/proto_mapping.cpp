#include "transport/proto_mapping.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "domain/field_mask.h"

namespace messaging::transport {
namespace {

using google::protobuf::util::TimeUtil;

void SetTime(domain::Micros micros, google::protobuf::Timestamp* to) {
  *to = TimeUtil::MicrosecondsToTimestamp(micros);
}

// The API spelling of each domain enum value, one table per enum (the
// database spelling is in domain/enums.h); FromProto and the enum fields of
// ToProto are derived from these. UNSPECIFIED (0) is no domain value.
template <typename E, typename P>
using ProtoSpelling = domain::EnumSpelling<E, P>;

constexpr ProtoSpelling<domain::Channel, v1::Channel> kChannelProto[] = {
    {domain::Channel::kWhatsapp, v1::CHANNEL_WHATSAPP},
    {domain::Channel::kSms, v1::CHANNEL_SMS},
    {domain::Channel::kEmail, v1::CHANNEL_EMAIL},
};
constexpr ProtoSpelling<domain::ConversationStatus, v1::ConversationStatus>
    kConversationStatusProto[] = {
        {domain::ConversationStatus::kActive, v1::CONVERSATION_STATUS_ACTIVE},
        {domain::ConversationStatus::kArchived, v1::CONVERSATION_STATUS_ARCHIVED},
        {domain::ConversationStatus::kClosed, v1::CONVERSATION_STATUS_CLOSED},
};
constexpr ProtoSpelling<domain::Direction, v1::Direction> kDirectionProto[] = {
    {domain::Direction::kInbound, v1::DIRECTION_INBOUND},
    {domain::Direction::kOutbound, v1::DIRECTION_OUTBOUND},
};
constexpr ProtoSpelling<domain::MessageType, v1::MessageType> kMessageTypeProto[] = {
    {domain::MessageType::kText, v1::MESSAGE_TYPE_TEXT},
    {domain::MessageType::kMedia, v1::MESSAGE_TYPE_MEDIA},
    {domain::MessageType::kAudio, v1::MESSAGE_TYPE_AUDIO},
    {domain::MessageType::kFile, v1::MESSAGE_TYPE_FILE},
};
constexpr ProtoSpelling<domain::DeliveryStatus, v1::DeliveryStatus> kDeliveryStatusProto[] = {
    {domain::DeliveryStatus::kQueued, v1::DELIVERY_STATUS_QUEUED},
    {domain::DeliveryStatus::kSent, v1::DELIVERY_STATUS_SENT},
    {domain::DeliveryStatus::kDelivered, v1::DELIVERY_STATUS_DELIVERED},
    {domain::DeliveryStatus::kRead, v1::DELIVERY_STATUS_READ},
    {domain::DeliveryStatus::kFailed, v1::DELIVERY_STATUS_FAILED},
    {domain::DeliveryStatus::kUndelivered, v1::DELIVERY_STATUS_UNDELIVERED},
    {domain::DeliveryStatus::kReceived, v1::DELIVERY_STATUS_RECEIVED},
};
constexpr ProtoSpelling<domain::AiProcessingStatus, v1::AiProcessingStatus>
    kAiProcessingStatusProto[] = {
        {domain::AiProcessingStatus::kPending, v1::AI_PROCESSING_STATUS_PENDING},
        {domain::AiProcessingStatus::kProcessing, v1::AI_PROCESSING_STATUS_PROCESSING},
        {domain::AiProcessingStatus::kCompleted, v1::AI_PROCESSING_STATUS_COMPLETED},
        {domain::AiProcessingStatus::kFailed, v1::AI_PROCESSING_STATUS_FAILED},
        {domain::AiProcessingStatus::kSkipped, v1::AI_PROCESSING_STATUS_SKIPPED},
};
constexpr ProtoSpelling<domain::AiWorkState, v1::AiWorkState> kAiWorkStateProto[] = {
    {domain::AiWorkState::kAvailable, v1::AI_WORK_STATE_AVAILABLE},
    {domain::AiWorkState::kLeased, v1::AI_WORK_STATE_LEASED},
    {domain::AiWorkState::kDeadLettered, v1::AI_WORK_STATE_DEAD_LETTERED},
};
constexpr ProtoSpelling<domain::EventType, v1::MessageEventType> kEventTypeProto[] = {
    {domain::EventType::kCreated, v1::MESSAGE_EVENT_TYPE_CREATED},
    {domain::EventType::kUpdated, v1::MESSAGE_EVENT_TYPE_UPDATED},
    {domain::EventType::kDeleted, v1::MESSAGE_EVENT_TYPE_DELETED},
    {domain::EventType::kHeartbeat, v1::MESSAGE_EVENT_TYPE_HEARTBEAT},
};

// The API value of `value`; UNSPECIFIED if its table lacks it.
template <typename E, typename P, std::size_t N>
P ProtoOf(const ProtoSpelling<E, P> (&table)[N], E value) {
  return domain::SpellingOf(table, value).value_or(static_cast<P>(0));
}

// A request's enum value: UNSPECIFIED -> nullopt, unknown -> INVALID_ARGUMENT.
template <typename E, typename P, std::size_t N>
absl::StatusOr<std::optional<E>> DomainOf(const ProtoSpelling<E, P> (&table)[N], P value,
                                          absl::string_view field) {
  if (static_cast<int>(value) == 0) return std::optional<E>();
  if (auto domain_value = domain::ValueOf(table, value)) return domain_value;
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": unknown enum value ", static_cast<int>(value)));
}

// Paths of a mask, for domain::ParseUpdateMask.
std::vector<std::string> Paths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

}  // namespace

absl::StatusOr<std::optional<domain::Channel>> FromProto(v1::Channel v, absl::string_view field) {
  return DomainOf(kChannelProto, v, field);
}
absl::StatusOr<std::optional<domain::ConversationStatus>> FromProto(v1::ConversationStatus v,
                                                                    absl::string_view field) {
  return DomainOf(kConversationStatusProto, v, field);
}
absl::StatusOr<std::optional<domain::Direction>> FromProto(v1::Direction v,
                                                           absl::string_view field) {
  return DomainOf(kDirectionProto, v, field);
}
absl::StatusOr<std::optional<domain::MessageType>> FromProto(v1::MessageType v,
                                                             absl::string_view field) {
  return DomainOf(kMessageTypeProto, v, field);
}
absl::StatusOr<std::optional<domain::DeliveryStatus>> FromProto(v1::DeliveryStatus v,
                                                                absl::string_view field) {
  return DomainOf(kDeliveryStatusProto, v, field);
}
absl::StatusOr<std::optional<domain::AiProcessingStatus>> FromProto(v1::AiProcessingStatus v,
                                                                    absl::string_view field) {
  return DomainOf(kAiProcessingStatusProto, v, field);
}

absl::StatusOr<std::optional<domain::AiWorkState>> FromProto(v1::AiWorkState v,
                                                             absl::string_view field) {
  return DomainOf(kAiWorkStateProto, v, field);
}

v1::MessageEventType ToProto(domain::EventType type) { return ProtoOf(kEventTypeProto, type); }

std::optional<absl::Duration> DurationFromProto(bool has, const google::protobuf::Duration& d) {
  if (!has) return std::nullopt;
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ToProto(domain::AiWorkItem&& from, v1::AiWorkItem* to) {
  to->set_id(std::move(from.id));
  to->set_distributor_id(std::move(from.distributor_id));
  to->set_state(ProtoOf(kAiWorkStateProto, from.state));
  to->set_attempt(from.attempt);
  to->set_lease_token(std::move(from.sealed_lease_token));
  if (from.state == domain::AiWorkState::kLeased && from.lease_expire_time) {
    SetTime(*from.lease_expire_time, to->mutable_lease_expire_time());
  }
  if (from.state == domain::AiWorkState::kAvailable) {
    SetTime(from.available_at, to->mutable_available_time());
  }
  to->set_last_error(std::move(from.last_error));
  if (from.message) ToProto(*std::move(from.message), to->mutable_message());
  if (from.conversation) ToProto(*std::move(from.conversation), to->mutable_conversation());
  to->mutable_context_messages()->Reserve(static_cast<int>(from.context_messages.size()));
  for (auto& message : from.context_messages) {
    ToProto(std::move(message), to->add_context_messages());
  }
}

namespace {

// Values JSON (and PostgreSQL's jsonb) cannot hold: NUL characters in keys or
// strings, NaN and infinities.
absl::Status CheckJsonValue(const google::protobuf::Value& value, absl::string_view field);

absl::Status CheckJsonStruct(const google::protobuf::Struct& s, absl::string_view field) {
  for (const auto& [key, value] : s.fields()) {
    if (key.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": keys must not contain NUL"));
    }
    RETURN_IF_ERROR(CheckJsonValue(value, field));
  }
  return absl::OkStatus();
}

absl::Status CheckJsonValue(const google::protobuf::Value& value, absl::string_view field) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": numbers must be finite"));
      }
      return absl::OkStatus();
    case google::protobuf::Value::kStringValue:
      if (value.string_value().find('\0') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(field, ": strings must not contain NUL"));
      }
      return absl::OkStatus();
    case google::protobuf::Value::kStructValue:
      return CheckJsonStruct(value.struct_value(), field);
    case google::protobuf::Value::kListValue:
      for (const auto& item : value.list_value().values()) {
        RETURN_IF_ERROR(CheckJsonValue(item, field));
      }
      return absl::OkStatus();
    default:
      return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<std::string> StructToJson(const google::protobuf::Struct& s,
                                         absl::string_view field) {
  if (s.fields().empty()) return std::string("{}");
  RETURN_IF_ERROR(CheckJsonStruct(s, field));
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(s, &json);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not representable as JSON"));
  }
  return json;
}

namespace {

void JsonToValue(const nlohmann::json& json, google::protobuf::Value* to);

void JsonObjectToStruct(const nlohmann::json& object, google::protobuf::Struct* to) {
  auto& fields = *to->mutable_fields();
  for (const auto& [key, value] : object.items()) JsonToValue(value, &fields[key]);
}

void JsonToValue(const nlohmann::json& json, google::protobuf::Value* to) {
  switch (json.type()) {
    case nlohmann::json::value_t::null:
      to->set_null_value(google::protobuf::NULL_VALUE);
      break;
    case nlohmann::json::value_t::boolean:
      to->set_bool_value(json.get<bool>());
      break;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      to->set_number_value(json.get<double>());
      break;
    case nlohmann::json::value_t::string:
      to->set_string_value(json.get_ref<const std::string&>());
      break;
    case nlohmann::json::value_t::array: {
      auto* list = to->mutable_list_value();
      list->mutable_values()->Reserve(static_cast<int>(json.size()));
      for (const auto& item : json) JsonToValue(item, list->add_values());
      break;
    }
    case nlohmann::json::value_t::object:
      JsonObjectToStruct(json, to->mutable_struct_value());
      break;
    default:  // Binary and discarded values do not come from PostgreSQL's JSON.
      to->set_null_value(google::protobuf::NULL_VALUE);
      break;
  }
}

}  // namespace

void JsonToStruct(const std::string& json, google::protobuf::Struct* to) {
  // Almost every stored object is empty: no parse at all for those. Others are
  // parsed once, straight into the Struct (protobuf's JSON parser builds type
  // descriptors per call, which used to dominate a page's CPU).
  to->Clear();
  if (json.empty() || json == "{}") return;
  // The database only holds JSON objects (CHECK constraint), so this cannot fail
  // on stored data; an unparsable value leaves the field empty.
  const auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return;
  JsonObjectToStruct(parsed, to);
}

// Copies from an lvalue, moves the strings out of an rvalue.
template <typename T>
void ConversationToProto(T&& c, v1::Conversation* to) {
  to->set_id(std::forward<T>(c).id);
  to->set_distributor_id(std::forward<T>(c).distributor_id);
  to->set_customer_id(std::forward<T>(c).customer_id);
  to->set_channel(ProtoOf(kChannelProto, c.channel));
  to->set_status(ProtoOf(kConversationStatusProto, c.status));
  to->set_ai_context_summary(std::forward<T>(c).ai_context_summary);
  to->set_unread_count(std::forward<T>(c).unread_count);
  if (c.last_message_at) SetTime(*c.last_message_at, to->mutable_last_message_at());
  to->set_last_message_preview(std::forward<T>(c).last_message_preview);
  JsonToStruct(c.metadata_json, to->mutable_metadata());
  SetTime(c.created_at, to->mutable_create_time());
  SetTime(c.updated_at, to->mutable_update_time());
}

void ToProto(const domain::Conversation& from, v1::Conversation* to) {
  ConversationToProto(from, to);
}
void ToProto(domain::Conversation&& from, v1::Conversation* to) {
  ConversationToProto(std::move(from), to);
}

// Copies from an lvalue, moves the strings out of an rvalue.
template <typename T>
void MessageToProto(T&& m, v1::Message* to) {
  to->set_id(std::forward<T>(m).id);
  to->set_conversation_id(std::forward<T>(m).conversation_id);
  to->set_distributor_id(std::forward<T>(m).distributor_id);
  to->set_direction(ProtoOf(kDirectionProto, m.direction));
  to->set_message_type(ProtoOf(kMessageTypeProto, m.message_type));
  to->set_content(std::forward<T>(m).content);
  to->set_media_url(std::forward<T>(m).media_url);
  to->set_media_content_type(std::forward<T>(m).media_content_type);
  to->set_external_message_id(std::forward<T>(m).external_message_id);
  to->set_delivery_status(ProtoOf(kDeliveryStatusProto, m.delivery_status));
  to->set_error_code(std::forward<T>(m).error_code);
  to->set_error_message(std::forward<T>(m).error_message);
  to->set_ai_processing_status(ProtoOf(kAiProcessingStatusProto, m.ai_processing_status));
  to->set_ai_summary(std::forward<T>(m).ai_summary);
  to->set_ai_intent(std::forward<T>(m).ai_intent);
  to->set_ai_sentiment(std::forward<T>(m).ai_sentiment);
  if (m.ai_extracted_data_json)
    JsonToStruct(*m.ai_extracted_data_json, to->mutable_ai_extracted_data());
  if (m.ai_processed_at) SetTime(*m.ai_processed_at, to->mutable_ai_processed_at());
  JsonToStruct(m.metadata_json, to->mutable_metadata());
  SetTime(m.created_at, to->mutable_create_time());
  SetTime(m.updated_at, to->mutable_update_time());
  to->set_version(std::forward<T>(m).version);
}

void ToProto(const domain::Message& from, v1::Message* to) { MessageToProto(from, to); }
void ToProto(domain::Message&& from, v1::Message* to) { MessageToProto(std::move(from), to); }

absl::StatusOr<domain::NewConversation> NewConversationFromProto(const v1::Conversation& c) {
  domain::NewConversation out;
  out.customer_id = c.customer_id();
  ASSIGN_OR_RETURN(out.channel, FromProto(c.channel(), "conversation.channel"));
  ASSIGN_OR_RETURN(out.status, FromProto(c.status(), "conversation.status"));
  out.ai_context_summary = c.ai_context_summary();
  ASSIGN_OR_RETURN(out.metadata_json, StructToJson(c.metadata(), "conversation.metadata"));
  return out;
}

absl::StatusOr<domain::NewMessage> NewMessageFromProto(const v1::Message& m) {
  domain::NewMessage out;
  out.conversation_id = m.conversation_id();
  ASSIGN_OR_RETURN(out.direction, FromProto(m.direction(), "message.direction"));
  ASSIGN_OR_RETURN(out.message_type, FromProto(m.message_type(), "message.message_type"));
  out.content = m.content();
  out.media_url = m.media_url();
  out.media_content_type = m.media_content_type();
  out.external_message_id = m.external_message_id();
  ASSIGN_OR_RETURN(out.delivery_status, FromProto(m.delivery_status(), "message.delivery_status"));
  out.error_code = m.error_code();
  out.error_message = m.error_message();
  ASSIGN_OR_RETURN(out.ai_processing_status,
                   FromProto(m.ai_processing_status(), "message.ai_processing_status"));
  out.ai_summary = m.ai_summary();
  out.ai_intent = m.ai_intent();
  out.ai_sentiment = m.ai_sentiment();
  if (m.has_ai_extracted_data()) {
    ASSIGN_OR_RETURN(out.ai_extracted_data_json,
                     StructToJson(m.ai_extracted_data(), "message.ai_extracted_data"));
  }
  ASSIGN_OR_RETURN(out.metadata_json, StructToJson(m.metadata(), "message.metadata"));
  return out;
}

absl::StatusOr<domain::ConversationPatch> ConversationPatchFromProto(
    const v1::Conversation& c, const google::protobuf::FieldMask& mask) {
  ASSIGN_OR_RETURN(const auto paths,
                   domain::ParseUpdateMask(Paths(mask), domain::ConversationMaskPaths()));
  domain::ConversationPatch patch;
  if (paths.count("status")) {
    ASSIGN_OR_RETURN(patch.status, FromProto(c.status(), "conversation.status"));
    if (!patch.status) return absl::InvalidArgumentError("conversation.status: is required");
  }
  if (paths.count("ai_context_summary")) patch.ai_context_summary = c.ai_context_summary();
  if (paths.count("metadata")) {
    ASSIGN_OR_RETURN(patch.metadata_json, StructToJson(c.metadata(), "conversation.metadata"));
  }
  return patch;
}

absl::StatusOr<domain::MessagePatch> MessagePatchFromProto(
    const v1::Message& m, const google::protobuf::FieldMask& mask) {
  ASSIGN_OR_RETURN(const auto paths,
                   domain::ParseUpdateMask(Paths(mask), domain::MessageMaskPaths()));
  domain::MessagePatch patch;
  if (paths.count("delivery_status")) {
    ASSIGN_OR_RETURN(patch.delivery_status,
                     FromProto(m.delivery_status(), "message.delivery_status"));
    if (!patch.delivery_status) {
      return absl::InvalidArgumentError("message.delivery_status: is required");
    }
  }
  if (paths.count("ai_processing_status")) {
    ASSIGN_OR_RETURN(patch.ai_processing_status,
                     FromProto(m.ai_processing_status(), "message.ai_processing_status"));
    if (!patch.ai_processing_status) {
      return absl::InvalidArgumentError("message.ai_processing_status: is required");
    }
  }
  if (paths.count("error_code")) patch.error_code = m.error_code();
  if (paths.count("error_message")) patch.error_message = m.error_message();
  if (paths.count("ai_summary")) patch.ai_summary = m.ai_summary();
  if (paths.count("ai_intent")) patch.ai_intent = m.ai_intent();
  if (paths.count("ai_sentiment")) patch.ai_sentiment = m.ai_sentiment();
  if (paths.count("ai_extracted_data")) {
    patch.ai_extracted_data_json.emplace();  // Cleared unless the request carries a value.
    if (m.has_ai_extracted_data()) {
      ASSIGN_OR_RETURN(*patch.ai_extracted_data_json,
                       StructToJson(m.ai_extracted_data(), "message.ai_extracted_data"));
    }
  }
  if (paths.count("metadata")) {
    ASSIGN_OR_RETURN(patch.metadata_json, StructToJson(m.metadata(), "message.metadata"));
  }
  return patch;
}

}  // namespace messaging::transport
