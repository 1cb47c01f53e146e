#pragma once

// What applications call. A thin, copyable handle over a MessagingConnection:
//
//   messaging::client::MessagingClient client("messaging:50051", token);
//   auto conversation = client.GetOrCreateConversation(customer_id,
//                                                      messaging::v1::CHANNEL_WHATSAPP);
//   if (!conversation.ok()) return conversation.status();
//
// Every method returns absl::StatusOr<T> / absl::Status (never throws). The
// status codes are the server's (see proto/messaging/v1/messaging.proto);
// which calls are retried is documented on MessagingConnection.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "messaging/client/messaging_connection.h"
#include "messaging/client/options.h"
#include "messaging/client/subscription.h"
#include "messaging/client/token_source.h"
#include "messaging/v1/messaging.pb.h"

namespace messaging::client {

class MessagingClient {
 public:
  // Connects to `target` (e.g. "messaging.default.svc:50051"); the channel
  // connects lazily, so this never fails.
  MessagingClient(const std::string& target, TokenSource token, ClientOptions options = {});
  // Over any connection, e.g. a MockMessagingConnection in a unit test.
  explicit MessagingClient(std::shared_ptr<MessagingConnection> connection);

  // Conversations.
  absl::StatusOr<v1::Conversation> CreateConversation(const v1::Conversation& conversation);
  absl::StatusOr<v1::Conversation> CreateConversation(const v1::CreateConversationRequest& request);
  absl::StatusOr<v1::Conversation> GetOrCreateConversation(const std::string& customer_id,
                                                           v1::Channel channel);
  absl::StatusOr<v1::Conversation> GetOrCreateConversation(
      const v1::GetOrCreateConversationRequest& request);
  absl::StatusOr<v1::Conversation> GetConversation(const std::string& id);
  absl::StatusOr<v1::Conversation> GetConversation(const v1::GetConversationRequest& request);
  absl::StatusOr<v1::ListConversationsResponse> ListConversations(
      const v1::ListConversationsRequest& request);
  absl::StatusOr<v1::Conversation> UpdateConversation(const v1::UpdateConversationRequest& request);
  absl::Status DeleteConversation(const std::string& id);
  absl::Status DeleteConversation(const v1::DeleteConversationRequest& request);
  absl::StatusOr<v1::Conversation> MarkConversationRead(const std::string& id);
  absl::StatusOr<v1::Conversation> MarkConversationRead(
      const v1::MarkConversationReadRequest& request);

  // Messages.
  absl::StatusOr<v1::Message> CreateMessage(const v1::Message& message);
  absl::StatusOr<v1::Message> CreateMessage(const v1::CreateMessageRequest& request);
  absl::StatusOr<v1::Message> GetMessage(const std::string& id);
  absl::StatusOr<v1::Message> GetMessage(const v1::GetMessageRequest& request);
  absl::StatusOr<v1::ListMessagesResponse> ListMessages(const v1::ListMessagesRequest& request);
  absl::StatusOr<v1::Message> UpdateMessage(const v1::UpdateMessageRequest& request);
  absl::StatusOr<v1::Message> UpdateDeliveryStatus(const v1::UpdateDeliveryStatusRequest& request);
  absl::Status DeleteMessage(const std::string& id);
  absl::Status DeleteMessage(const v1::DeleteMessageRequest& request);

  // Streaming. Subscribe() reconnects and resumes (see Subscription);
  // StreamMessages() is one raw stream, for callers that manage that themselves.
  std::unique_ptr<Subscription> Subscribe(SubscriptionOptions options,
                                          Subscription::EventCallback on_event,
                                          Subscription::DoneCallback on_done = nullptr);
  std::unique_ptr<MessageEventStream> StreamMessages(const v1::StreamMessagesRequest& request);

  const std::shared_ptr<MessagingConnection>& connection() const { return connection_; }

 private:
  std::shared_ptr<MessagingConnection> connection_;
};

}  // namespace messaging::client
