#include "messaging/client/messaging_client.h"

#include <utility>

namespace messaging::client {

MessagingClient::MessagingClient(const std::string& target, TokenSource token,
                                 ClientOptions options)
    : connection_(MakeMessagingConnection(target, std::move(token), std::move(options))) {}

MessagingClient::MessagingClient(std::shared_ptr<MessagingConnection> connection)
    : connection_(std::move(connection)) {}

absl::StatusOr<v1::Conversation> MessagingClient::CreateConversation(
    const v1::Conversation& conversation) {
  v1::CreateConversationRequest request;
  *request.mutable_conversation() = conversation;
  return connection_->CreateConversation(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::CreateConversation(
    const v1::CreateConversationRequest& request) {
  return connection_->CreateConversation(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::GetOrCreateConversation(
    const std::string& customer_id, v1::Channel channel) {
  v1::GetOrCreateConversationRequest request;
  request.set_customer_id(customer_id);
  request.set_channel(channel);
  return connection_->GetOrCreateConversation(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::GetOrCreateConversation(
    const v1::GetOrCreateConversationRequest& request) {
  return connection_->GetOrCreateConversation(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::GetConversation(const std::string& id) {
  v1::GetConversationRequest request;
  request.set_id(id);
  return connection_->GetConversation(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::GetConversation(
    const v1::GetConversationRequest& request) {
  return connection_->GetConversation(request);
}

absl::StatusOr<v1::ListConversationsResponse> MessagingClient::ListConversations(
    const v1::ListConversationsRequest& request) {
  return connection_->ListConversations(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::UpdateConversation(
    const v1::UpdateConversationRequest& request) {
  return connection_->UpdateConversation(request);
}

absl::Status MessagingClient::DeleteConversation(const std::string& id) {
  v1::DeleteConversationRequest request;
  request.set_id(id);
  return connection_->DeleteConversation(request);
}

absl::Status MessagingClient::DeleteConversation(const v1::DeleteConversationRequest& request) {
  return connection_->DeleteConversation(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::MarkConversationRead(const std::string& id) {
  v1::MarkConversationReadRequest request;
  request.set_id(id);
  return connection_->MarkConversationRead(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::MarkConversationRead(
    const v1::MarkConversationReadRequest& request) {
  return connection_->MarkConversationRead(request);
}

absl::StatusOr<v1::Message> MessagingClient::CreateMessage(const v1::Message& message) {
  v1::CreateMessageRequest request;
  *request.mutable_message() = message;
  return connection_->CreateMessage(request);
}

absl::StatusOr<v1::Message> MessagingClient::CreateMessage(
    const v1::CreateMessageRequest& request) {
  return connection_->CreateMessage(request);
}

absl::StatusOr<v1::Message> MessagingClient::GetMessage(const std::string& id) {
  v1::GetMessageRequest request;
  request.set_id(id);
  return connection_->GetMessage(request);
}

absl::StatusOr<v1::Message> MessagingClient::GetMessage(const v1::GetMessageRequest& request) {
  return connection_->GetMessage(request);
}

absl::StatusOr<v1::ListMessagesResponse> MessagingClient::ListMessages(
    const v1::ListMessagesRequest& request) {
  return connection_->ListMessages(request);
}

absl::StatusOr<v1::Message> MessagingClient::UpdateMessage(
    const v1::UpdateMessageRequest& request) {
  return connection_->UpdateMessage(request);
}

absl::StatusOr<v1::Message> MessagingClient::UpdateDeliveryStatus(
    const v1::UpdateDeliveryStatusRequest& request) {
  return connection_->UpdateDeliveryStatus(request);
}

absl::Status MessagingClient::DeleteMessage(const std::string& id) {
  v1::DeleteMessageRequest request;
  request.set_id(id);
  return connection_->DeleteMessage(request);
}

absl::Status MessagingClient::DeleteMessage(const v1::DeleteMessageRequest& request) {
  return connection_->DeleteMessage(request);
}

std::unique_ptr<Subscription> MessagingClient::Subscribe(SubscriptionOptions options,
                                                         Subscription::EventCallback on_event,
                                                         Subscription::DoneCallback on_done) {
  return Subscription::Start(connection_, std::move(options), std::move(on_event),
                             std::move(on_done));
}

std::unique_ptr<MessageEventStream> MessagingClient::StreamMessages(
    const v1::StreamMessagesRequest& request) {
  return connection_->StreamMessages(request);
}

}  // namespace messaging::client
