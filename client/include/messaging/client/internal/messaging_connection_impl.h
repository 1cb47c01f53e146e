#pragma once

// Internal (no stability promise): the real MessagingConnection. For every
// call it asks the token source, sets the per-attempt deadline, and retries
// idempotent calls with backoff.

#include <memory>

#include "messaging/client/internal/messaging_stub.h"
#include "messaging/client/messaging_connection.h"
#include "messaging/client/options.h"
#include "messaging/client/token_source.h"

namespace messaging::client::internal {

enum class Idempotency { kIdempotent, kNonIdempotent };

class MessagingConnectionImpl : public MessagingConnection {
 public:
  MessagingConnectionImpl(std::shared_ptr<MessagingStub> stub, TokenSource token,
                          ClientOptions options);

  absl::StatusOr<v1::Conversation> CreateConversation(
      const v1::CreateConversationRequest& request) override;
  absl::StatusOr<v1::Conversation> GetOrCreateConversation(
      const v1::GetOrCreateConversationRequest& request) override;
  absl::StatusOr<v1::Conversation> GetConversation(
      const v1::GetConversationRequest& request) override;
  absl::StatusOr<v1::ListConversationsResponse> ListConversations(
      const v1::ListConversationsRequest& request) override;
  absl::StatusOr<v1::Conversation> UpdateConversation(
      const v1::UpdateConversationRequest& request) override;
  absl::Status DeleteConversation(const v1::DeleteConversationRequest& request) override;
  absl::StatusOr<v1::Conversation> MarkConversationRead(
      const v1::MarkConversationReadRequest& request) override;
  absl::StatusOr<v1::Message> CreateMessage(const v1::CreateMessageRequest& request) override;
  absl::StatusOr<v1::Message> GetMessage(const v1::GetMessageRequest& request) override;
  absl::StatusOr<v1::ListMessagesResponse> ListMessages(
      const v1::ListMessagesRequest& request) override;
  absl::StatusOr<v1::Message> UpdateMessage(const v1::UpdateMessageRequest& request) override;
  absl::StatusOr<v1::Message> UpdateDeliveryStatus(
      const v1::UpdateDeliveryStatusRequest& request) override;
  absl::Status DeleteMessage(const v1::DeleteMessageRequest& request) override;
  std::unique_ptr<MessageEventStream> StreamMessages(
      const v1::StreamMessagesRequest& request) override;

 private:
  // Runs `call(context)` with a fresh, authenticated context per attempt.
  template <typename Result, typename Call>
  Result Invoke(Idempotency idempotency, Call&& call);

  std::shared_ptr<MessagingStub> stub_;
  TokenSource token_;
  ClientOptions options_;
};

// A stream that has already ended with `status`.
std::unique_ptr<MessageEventStream> MakeFailedStream(absl::Status status);

// CreateMessage is idempotent only when the server can deduplicate it.
Idempotency CreateMessageIdempotency(const v1::CreateMessageRequest& request);

}  // namespace messaging::client::internal
