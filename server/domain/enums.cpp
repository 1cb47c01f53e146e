#include "domain/enums.h"

#include <array>
#include <utility>

namespace messaging::domain {
namespace {

template <typename E, std::size_t N>
using Table = std::array<std::pair<E, absl::string_view>, N>;

constexpr Table<Channel, 3> kChannels{{
    {Channel::kWhatsapp, "whatsapp"},
    {Channel::kSms, "sms"},
    {Channel::kEmail, "email"},
}};
constexpr Table<ConversationStatus, 3> kConversationStatuses{{
    {ConversationStatus::kActive, "active"},
    {ConversationStatus::kArchived, "archived"},
    {ConversationStatus::kClosed, "closed"},
}};
constexpr Table<Direction, 2> kDirections{{
    {Direction::kInbound, "inbound"},
    {Direction::kOutbound, "outbound"},
}};
constexpr Table<MessageType, 4> kMessageTypes{{
    {MessageType::kText, "text"},
    {MessageType::kMedia, "media"},
    {MessageType::kAudio, "audio"},
    {MessageType::kFile, "file"},
}};
constexpr Table<DeliveryStatus, 7> kDeliveryStatuses{{
    {DeliveryStatus::kQueued, "queued"},
    {DeliveryStatus::kSent, "sent"},
    {DeliveryStatus::kDelivered, "delivered"},
    {DeliveryStatus::kRead, "read"},
    {DeliveryStatus::kFailed, "failed"},
    {DeliveryStatus::kUndelivered, "undelivered"},
    {DeliveryStatus::kReceived, "received"},
}};
constexpr Table<AiProcessingStatus, 5> kAiStatuses{{
    {AiProcessingStatus::kPending, "pending"},
    {AiProcessingStatus::kProcessing, "processing"},
    {AiProcessingStatus::kCompleted, "completed"},
    {AiProcessingStatus::kFailed, "failed"},
    {AiProcessingStatus::kSkipped, "skipped"},
}};

template <typename E, std::size_t N>
absl::string_view Name(const Table<E, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return {};
}

template <typename E, std::size_t N>
std::optional<E> Parse(const Table<E, N>& table, absl::string_view s) {
  for (const auto& [v, name] : table) {
    if (name == s) return v;
  }
  return std::nullopt;
}

}  // namespace

absl::string_view ToDb(Channel v) { return Name(kChannels, v); }
absl::string_view ToDb(ConversationStatus v) { return Name(kConversationStatuses, v); }
absl::string_view ToDb(Direction v) { return Name(kDirections, v); }
absl::string_view ToDb(MessageType v) { return Name(kMessageTypes, v); }
absl::string_view ToDb(DeliveryStatus v) { return Name(kDeliveryStatuses, v); }
absl::string_view ToDb(AiProcessingStatus v) { return Name(kAiStatuses, v); }

std::optional<Channel> ChannelFromDb(absl::string_view s) { return Parse(kChannels, s); }
std::optional<ConversationStatus> ConversationStatusFromDb(absl::string_view s) {
  return Parse(kConversationStatuses, s);
}
std::optional<Direction> DirectionFromDb(absl::string_view s) { return Parse(kDirections, s); }
std::optional<MessageType> MessageTypeFromDb(absl::string_view s) {
  return Parse(kMessageTypes, s);
}
std::optional<DeliveryStatus> DeliveryStatusFromDb(absl::string_view s) {
  return Parse(kDeliveryStatuses, s);
}
std::optional<AiProcessingStatus> AiProcessingStatusFromDb(absl::string_view s) {
  return Parse(kAiStatuses, s);
}

}  // namespace messaging::domain
