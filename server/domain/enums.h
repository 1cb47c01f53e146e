#pragma once

// Enum-like columns of the schema, as the domain sees them, and the database
// text of each value. Each spelling is written once, in one table per enum
// keyed by the domain value: the database text here (the CHECK constraints in
// migrations/ hold the same words), the API value in transport/proto_mapping.cpp.
// The two are separate tables, not one, because the domain must not know the
// API's types; every conversion either way is derived from its table.

#include <cstddef>
#include <optional>

#include "absl/strings/string_view.h"

namespace messaging::domain {

enum class Channel { kWhatsapp, kSms, kEmail };
enum class ConversationStatus { kActive, kArchived, kClosed };
enum class Direction { kInbound, kOutbound };
enum class MessageType { kText, kMedia, kAudio, kFile };
enum class DeliveryStatus { kQueued, kSent, kDelivered, kRead, kFailed, kUndelivered, kReceived };
enum class AiProcessingStatus { kPending, kProcessing, kCompleted, kFailed, kSkipped };
enum class AiWorkState { kAvailable, kLeased, kDeadLettered };
// message_events.event_type; a heartbeat is never stored.
enum class EventType { kCreated, kUpdated, kDeleted, kHeartbeat };

// One row of a spelling table: a domain value and how another layer writes it.
template <typename E, typename Spelling>
struct EnumSpelling {
  E value;
  Spelling spelling;
};

// The spelling of `value` in `table`; nullopt if it has none.
template <typename E, typename S, std::size_t N>
constexpr std::optional<S> SpellingOf(const EnumSpelling<E, S> (&table)[N], E value) {
  for (const auto& row : table) {
    if (row.value == value) return row.spelling;
  }
  return std::nullopt;
}

// The value spelled `spelling` in `table`; nullopt if none is.
template <typename E, typename S, std::size_t N>
constexpr std::optional<E> ValueOf(const EnumSpelling<E, S> (&table)[N], S spelling) {
  for (const auto& row : table) {
    if (row.spelling == spelling) return row.value;
  }
  return std::nullopt;
}

template <typename E>
using DbSpelling = EnumSpelling<E, absl::string_view>;

inline constexpr DbSpelling<Channel> kChannelDb[] = {
    {Channel::kWhatsapp, "whatsapp"},
    {Channel::kSms, "sms"},
    {Channel::kEmail, "email"},
};
inline constexpr DbSpelling<ConversationStatus> kConversationStatusDb[] = {
    {ConversationStatus::kActive, "active"},
    {ConversationStatus::kArchived, "archived"},
    {ConversationStatus::kClosed, "closed"},
};
inline constexpr DbSpelling<Direction> kDirectionDb[] = {
    {Direction::kInbound, "inbound"},
    {Direction::kOutbound, "outbound"},
};
inline constexpr DbSpelling<MessageType> kMessageTypeDb[] = {
    {MessageType::kText, "text"},
    {MessageType::kMedia, "media"},
    {MessageType::kAudio, "audio"},
    {MessageType::kFile, "file"},
};
inline constexpr DbSpelling<DeliveryStatus> kDeliveryStatusDb[] = {
    {DeliveryStatus::kQueued, "queued"},       {DeliveryStatus::kSent, "sent"},
    {DeliveryStatus::kDelivered, "delivered"}, {DeliveryStatus::kRead, "read"},
    {DeliveryStatus::kFailed, "failed"},       {DeliveryStatus::kUndelivered, "undelivered"},
    {DeliveryStatus::kReceived, "received"},
};
inline constexpr DbSpelling<AiProcessingStatus> kAiProcessingStatusDb[] = {
    {AiProcessingStatus::kPending, "pending"},     {AiProcessingStatus::kProcessing, "processing"},
    {AiProcessingStatus::kCompleted, "completed"}, {AiProcessingStatus::kFailed, "failed"},
    {AiProcessingStatus::kSkipped, "skipped"},
};
inline constexpr DbSpelling<AiWorkState> kAiWorkStateDb[] = {
    {AiWorkState::kAvailable, "available"},
    {AiWorkState::kLeased, "leased"},
    {AiWorkState::kDeadLettered, "dead_lettered"},
};
inline constexpr DbSpelling<EventType> kEventTypeDb[] = {
    {EventType::kCreated, "created"},
    {EventType::kUpdated, "updated"},
    {EventType::kDeleted, "deleted"},
};

// The table of each enum, found by its type (for ToDb and FromDb).
constexpr const auto& DbSpellings(Channel) { return kChannelDb; }
constexpr const auto& DbSpellings(ConversationStatus) { return kConversationStatusDb; }
constexpr const auto& DbSpellings(Direction) { return kDirectionDb; }
constexpr const auto& DbSpellings(MessageType) { return kMessageTypeDb; }
constexpr const auto& DbSpellings(DeliveryStatus) { return kDeliveryStatusDb; }
constexpr const auto& DbSpellings(AiProcessingStatus) { return kAiProcessingStatusDb; }
constexpr const auto& DbSpellings(AiWorkState) { return kAiWorkStateDb; }
constexpr const auto& DbSpellings(EventType) { return kEventTypeDb; }

// Database text of a value ("" for one that is never stored).
template <typename E>
constexpr absl::string_view ToDb(E value) {
  return SpellingOf(DbSpellings(value), value).value_or("");
}

// Parsing of database text; nullopt for an unknown value.
template <typename E>
constexpr std::optional<E> FromDb(absl::string_view text) {
  return ValueOf(DbSpellings(E{}), text);
}

}  // namespace messaging::domain
