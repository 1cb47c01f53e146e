#pragma once

// Rules for conversations: validates requests, resolves page tokens, and calls
// the repository. Knows nothing of gRPC or SQL.

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

struct ConversationList {
  std::vector<Conversation> conversations;
  std::string next_page_token;
  std::string stream_cursor;  // Resume point taken in the page's snapshot.
};

class ConversationService {
 public:
  ConversationService(ConversationRepository& repository, const PageTokenCodec& page_tokens,
                      const StreamCursorCodec& cursors, Limits limits)
      : repository_(repository), page_tokens_(page_tokens), cursors_(cursors), limits_(limits) {}

  absl::StatusOr<Conversation> Create(const RequestContext& ctx, NewConversation conversation);
  absl::StatusOr<Conversation> GetOrCreate(const RequestContext& ctx, absl::string_view customer_id,
                                           std::optional<Channel> channel);
  absl::StatusOr<Conversation> Get(const RequestContext& ctx, absl::string_view id);
  absl::StatusOr<ConversationList> List(const RequestContext& ctx, ConversationFilter filter,
                                        std::int32_t page_size, const std::string& page_token);
  absl::StatusOr<Conversation> Update(const RequestContext& ctx, absl::string_view id,
                                      const ConversationPatch& patch);
  absl::Status Delete(const RequestContext& ctx, absl::string_view id);
  absl::StatusOr<Conversation> MarkRead(const RequestContext& ctx, absl::string_view id);

 private:
  ConversationRepository& repository_;
  const PageTokenCodec& page_tokens_;
  const StreamCursorCodec& cursors_;
  Limits limits_;
};

}  // namespace messaging::domain
