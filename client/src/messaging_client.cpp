#include "messaging/client/messaging_client.h"

#include <utility>

namespace messaging::client {
namespace {

// A request that names one resource by id.
template <typename Request>
Request WithId(const std::string& id) {
  Request request;
  request.set_id(id);
  return request;
}

}  // namespace

MessagingClient::MessagingClient(const std::string& target, TokenSource token,
                                 ClientOptions options)
    : connection_(MakeMessagingConnection(target, std::move(token), std::move(options))) {}

MessagingClient::MessagingClient(std::shared_ptr<MessagingConnection> connection)
    : connection_(std::move(connection)) {}

#define MESSAGING_CLIENT_DEFINE_FACADE_RPC(Name, Request, Response, Retry) \
  UnaryResult<Response> MessagingClient::Name(const Request& request) {    \
    return connection_->Name(request);                                     \
  }
MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_DEFINE_FACADE_RPC)
#undef MESSAGING_CLIENT_DEFINE_FACADE_RPC

absl::StatusOr<v1::Conversation> MessagingClient::CreateConversation(
    const v1::Conversation& conversation) {
  v1::CreateConversationRequest request;
  *request.mutable_conversation() = conversation;
  return CreateConversation(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::GetOrCreateConversation(
    const std::string& customer_id, v1::Channel channel) {
  v1::GetOrCreateConversationRequest request;
  request.set_customer_id(customer_id);
  request.set_channel(channel);
  return GetOrCreateConversation(request);
}

absl::StatusOr<v1::Conversation> MessagingClient::GetConversation(const std::string& id) {
  return GetConversation(WithId<v1::GetConversationRequest>(id));
}

absl::Status MessagingClient::DeleteConversation(const std::string& id) {
  return DeleteConversation(WithId<v1::DeleteConversationRequest>(id));
}

absl::StatusOr<v1::Conversation> MessagingClient::MarkConversationRead(const std::string& id) {
  return MarkConversationRead(WithId<v1::MarkConversationReadRequest>(id));
}

absl::StatusOr<v1::Message> MessagingClient::CreateMessage(const v1::Message& message) {
  v1::CreateMessageRequest request;
  *request.mutable_message() = message;
  return CreateMessage(request);
}

absl::StatusOr<v1::Message> MessagingClient::GetMessage(const std::string& id) {
  return GetMessage(WithId<v1::GetMessageRequest>(id));
}

absl::Status MessagingClient::DeleteMessage(const std::string& id) {
  return DeleteMessage(WithId<v1::DeleteMessageRequest>(id));
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
