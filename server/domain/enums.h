#pragma once

// Enum-like columns of the schema, as the domain sees them. Each maps 1:1 to the
// text values of the CHECK constraints in migrations/001.

#include <optional>

#include "absl/strings/string_view.h"

namespace messaging::domain {

enum class Channel { kWhatsapp, kSms, kEmail };
enum class ConversationStatus { kActive, kArchived, kClosed };
enum class Direction { kInbound, kOutbound };
enum class MessageType { kText, kMedia, kAudio, kFile };
enum class DeliveryStatus { kQueued, kSent, kDelivered, kRead, kFailed, kUndelivered, kReceived };
enum class AiProcessingStatus { kPending, kProcessing, kCompleted, kFailed, kSkipped };

// Database text of each value.
absl::string_view ToDb(Channel v);
absl::string_view ToDb(ConversationStatus v);
absl::string_view ToDb(Direction v);
absl::string_view ToDb(MessageType v);
absl::string_view ToDb(DeliveryStatus v);
absl::string_view ToDb(AiProcessingStatus v);

// Parsing of database text; nullopt for an unknown value.
std::optional<Channel> ChannelFromDb(absl::string_view s);
std::optional<ConversationStatus> ConversationStatusFromDb(absl::string_view s);
std::optional<Direction> DirectionFromDb(absl::string_view s);
std::optional<MessageType> MessageTypeFromDb(absl::string_view s);
std::optional<DeliveryStatus> DeliveryStatusFromDb(absl::string_view s);
std::optional<AiProcessingStatus> AiProcessingStatusFromDb(absl::string_view s);

}  // namespace messaging::domain
