#pragma once

// Protobuf <-> domain conversion for the messaging.v1 API. Handlers use these
// and nothing below the transport layer sees a protobuf type.

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/struct.pb.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/ai_work.h"
#include "domain/model.h"
#include "messaging/v1/messaging.pb.h"

namespace messaging::transport {

namespace v1 = ::messaging::v1;

void ToProto(const domain::Conversation& from, v1::Conversation* to);
void ToProto(const domain::Message& from, v1::Message* to);
// The same, moving strings out of `from` (pages of rows that are not needed after).
void ToProto(domain::Conversation&& from, v1::Conversation* to);
void ToProto(domain::Message&& from, v1::Message* to);

// Enum values from requests: UNSPECIFIED -> nullopt; a number outside the enum
// (proto3 keeps unknown values) -> INVALID_ARGUMENT naming `field`.
absl::StatusOr<std::optional<domain::Channel>> FromProto(v1::Channel v, absl::string_view field);
absl::StatusOr<std::optional<domain::ConversationStatus>> FromProto(v1::ConversationStatus v,
                                                                    absl::string_view field);
absl::StatusOr<std::optional<domain::Direction>> FromProto(v1::Direction v,
                                                           absl::string_view field);
absl::StatusOr<std::optional<domain::MessageType>> FromProto(v1::MessageType v,
                                                             absl::string_view field);
absl::StatusOr<std::optional<domain::DeliveryStatus>> FromProto(v1::DeliveryStatus v,
                                                                absl::string_view field);
absl::StatusOr<std::optional<domain::AiProcessingStatus>> FromProto(v1::AiProcessingStatus v,
                                                                    absl::string_view field);
absl::StatusOr<std::optional<domain::AiWorkState>> FromProto(v1::AiWorkState v,
                                                             absl::string_view field);
// A Duration field: nullopt when unset.
std::optional<absl::Duration> DurationFromProto(bool has, const google::protobuf::Duration& d);
// A work item (its lease token only if the item carries one: the holder's).
void ToProto(domain::AiWorkItem&& from, v1::AiWorkItem* to);
// The API value of a stream event's type.
v1::MessageEventType ToProto(domain::EventType type);

// A Struct as JSON object text, and back.
absl::StatusOr<std::string> StructToJson(const google::protobuf::Struct& s,
                                         absl::string_view field);
void JsonToStruct(const std::string& json, google::protobuf::Struct* to);

absl::StatusOr<domain::NewConversation> NewConversationFromProto(const v1::Conversation& c);
absl::StatusOr<domain::NewMessage> NewMessageFromProto(const v1::Message& m);
// Only the fields named in the (already checked) update mask are set.
absl::StatusOr<domain::ConversationPatch> ConversationPatchFromProto(
    const v1::Conversation& c, const google::protobuf::FieldMask& mask);
absl::StatusOr<domain::MessagePatch> MessagePatchFromProto(const v1::Message& m,
                                                           const google::protobuf::FieldMask& mask);

}  // namespace messaging::transport
