#pragma once

// The domain's view of conversations and messages: plain structs, no protobuf,
// no SQL. Optional text columns use "" for NULL; timestamps are microseconds
// since the Unix epoch (PostgreSQL's precision, so keyset tokens are exact).

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "domain/enums.h"

namespace messaging::domain {

using Micros = std::int64_t;

// Who is calling and until when: every repository call runs as this tenant.
struct RequestContext {
  RequestContext() = default;
  RequestContext(std::string distributor, absl::Time until)
      : distributor_id(std::move(distributor)), deadline(until) {}

  // Canonical lower-case UUID from the caller's token. For an AI worker: the
  // distributor it is restricted to, or "" (no tenant: a transaction run with
  // it sees no rows).
  std::string distributor_id;
  absl::Time deadline = absl::InfiniteFuture();
  std::string worker_name;  // An AI worker's name (its token's sub); "" for a distributor.

  bool is_worker() const { return !worker_name.empty(); }

  // The same caller, with the same deadline, acting in `distributor`'s
  // tenant (an AI worker on one item of that distributor).
  RequestContext AsTenant(std::string distributor) const {
    RequestContext tenant(std::move(distributor), deadline);
    tenant.worker_name = worker_name;
    return tenant;
  }
};

struct Conversation {
  std::string id;
  std::string distributor_id;
  std::string customer_id;
  Channel channel = Channel::kWhatsapp;
  ConversationStatus status = ConversationStatus::kActive;
  std::string ai_context_summary;
  std::int32_t unread_count = 0;
  std::optional<Micros> last_message_at;
  std::string last_message_preview;
  std::string metadata_json = "{}";  // A JSON object.
  Micros created_at = 0;
  Micros updated_at = 0;
  Micros inbox_at = 0;  // Sort key: last_message_at, or created_at before any message.
};

struct Message {
  std::string id;
  std::string conversation_id;
  std::string distributor_id;
  Direction direction = Direction::kInbound;
  MessageType message_type = MessageType::kText;
  std::string content;
  std::string media_url;
  std::string media_content_type;
  std::string external_message_id;
  DeliveryStatus delivery_status = DeliveryStatus::kReceived;
  std::string error_code;
  std::string error_message;
  AiProcessingStatus ai_processing_status = AiProcessingStatus::kPending;
  std::string ai_summary;
  std::string ai_intent;
  std::string ai_sentiment;
  std::optional<std::string> ai_extracted_data_json;  // A JSON object, or NULL.
  std::optional<Micros> ai_processed_at;
  std::string metadata_json = "{}";
  Micros created_at = 0;
  Micros updated_at = 0;
  std::int64_t version = 0;  // 1 at creation, +1 on every change (migration 003).
};

// ---- Inputs -----------------------------------------------------------------

// Enum fields left unset are required (channel) or defaulted by the service.
struct NewConversation {
  std::string customer_id;
  std::optional<Channel> channel;
  std::optional<ConversationStatus> status;
  std::string ai_context_summary;
  std::string metadata_json = "{}";
};

// Fields of UpdateConversation; a set optional means "write this value".
struct ConversationPatch {
  std::optional<ConversationStatus> status;
  std::optional<std::string> ai_context_summary;
  std::optional<std::string> metadata_json;
};

struct ConversationFilter {
  std::optional<std::string> customer_id;
  std::optional<Channel> channel;
  std::optional<ConversationStatus> status;
};

// Keyset position in inbox order (inbox_at desc, id desc).
struct ConversationKey {
  Micros inbox_at = 0;
  std::string id;
};

// A page holds at most `limit` rows and stops adding rows once their text
// would pass `max_bytes` (it always holds one, so paging makes progress).
inline constexpr std::int64_t kNoByteLimit = std::numeric_limits<std::int64_t>::max();

struct ConversationQuery {
  ConversationFilter filter;
  std::optional<ConversationKey> after;
  int limit = 50;
  std::int64_t max_bytes = kNoByteLimit;
};

// Enum fields left unset are required (direction) or defaulted by the service
// before the repository sees them.
struct NewMessage {
  std::string conversation_id;
  std::optional<Direction> direction;
  std::optional<MessageType> message_type;
  std::string content;
  std::string media_url;
  std::string media_content_type;
  std::string external_message_id;
  std::optional<DeliveryStatus> delivery_status;
  std::string error_code;
  std::string error_message;
  std::optional<AiProcessingStatus> ai_processing_status;
  std::string ai_summary;
  std::string ai_intent;
  std::string ai_sentiment;
  std::optional<std::string> ai_extracted_data_json;
  std::string metadata_json = "{}";
};

struct MessagePatch {
  std::optional<DeliveryStatus> delivery_status;
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
  std::optional<AiProcessingStatus> ai_processing_status;
  std::optional<std::string> ai_summary;
  std::optional<std::string> ai_intent;
  std::optional<std::string> ai_sentiment;
  std::optional<std::optional<std::string>> ai_extracted_data_json;  // Inner nullopt = clear.
  std::optional<std::string> metadata_json;
};

// Keyset position in (created_at, id) order.
struct MessageKey {
  Micros created_at = 0;
  std::string id;
};

struct MessageQuery {
  std::string conversation_id;
  bool descending = false;
  std::optional<MessageKey> after;
  int limit = 50;
  std::int64_t max_bytes = kNoByteLimit;
};

// Identifies a message for UpdateDeliveryStatus.
struct MessageRef {
  std::string id;                   // Set, or
  std::string external_message_id;  // this.
};

struct DeliveryStatusUpdate {
  MessageRef ref;
  DeliveryStatus status = DeliveryStatus::kQueued;
  std::string error_code;
  std::string error_message;
};

// ---- Results ----------------------------------------------------------------

template <typename T>
struct Page {
  std::vector<T> items;
  bool has_more = false;  // More rows exist after the last item.
  std::string snapshot;   // pg_snapshot the page was read in (for stream cursors).
};

}  // namespace messaging::domain
