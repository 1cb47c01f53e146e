#pragma once

// Rules for messages: validation, defaults, previews, page tokens and the
// delivery-status state machine. Knows nothing of gRPC or SQL.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/model.h"
#include "domain/page_token.h"
#include "domain/repositories.h"
#include "domain/stream_cursor_codec.h"
#include "domain/validation.h"

namespace messaging::domain {

struct MessageList {
  std::vector<Message> messages;
  std::string next_page_token;
  std::string stream_cursor;  // Resume point taken in the page's snapshot.
};

class MessageService {
 public:
  MessageService(MessageRepository& repository, const PageTokenCodec& page_tokens,
                 const StreamCursorCodec& cursors, Limits limits)
      : repository_(repository), page_tokens_(page_tokens), cursors_(cursors), limits_(limits) {}

  absl::StatusOr<Message> Create(const RequestContext& ctx, NewMessage message);
  absl::StatusOr<Message> Get(const RequestContext& ctx, absl::string_view id);
  // order_by: "", "create_time", "create_time asc" or "create_time desc".
  absl::StatusOr<MessageList> List(const RequestContext& ctx, absl::string_view conversation_id,
                                   absl::string_view order_by, std::int32_t page_size,
                                   const std::string& page_token);
  absl::StatusOr<Message> Update(const RequestContext& ctx, absl::string_view id,
                                 const MessagePatch& patch);
  // `status` nullopt means the request left it UNSPECIFIED.
  absl::StatusOr<Message> UpdateDeliveryStatus(const RequestContext& ctx, MessageRef ref,
                                               std::optional<DeliveryStatus> status,
                                               std::string error_code, std::string error_message);
  absl::Status Delete(const RequestContext& ctx, absl::string_view id);

 private:
  MessageRepository& repository_;
  const PageTokenCodec& page_tokens_;
  const StreamCursorCodec& cursors_;
  Limits limits_;
};

// Parses ListMessages.order_by; true means newest first.
absl::StatusOr<bool> ParseMessageOrder(absl::string_view order_by);

// The conversation preview for a new message: its text, or a placeholder for media.
std::string MessagePreview(const NewMessage& message, std::size_t max_chars);

}  // namespace messaging::domain
