#include "messaging/client/messaging_connection.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <utility>

#include "messaging/client/internal/messaging_connection_impl.h"
#include "messaging/client/internal/messaging_stub.h"

namespace messaging::client {
namespace {

absl::Status Unimplemented(const char* method) {
  return absl::UnimplementedError(std::string(method) +
                                  " is not implemented by this MessagingConnection");
}

}  // namespace

absl::StatusOr<v1::Conversation> MessagingConnection::CreateConversation(
    const v1::CreateConversationRequest&) {
  return Unimplemented("CreateConversation");
}
absl::StatusOr<v1::Conversation> MessagingConnection::GetOrCreateConversation(
    const v1::GetOrCreateConversationRequest&) {
  return Unimplemented("GetOrCreateConversation");
}
absl::StatusOr<v1::Conversation> MessagingConnection::GetConversation(
    const v1::GetConversationRequest&) {
  return Unimplemented("GetConversation");
}
absl::StatusOr<v1::ListConversationsResponse> MessagingConnection::ListConversations(
    const v1::ListConversationsRequest&) {
  return Unimplemented("ListConversations");
}
absl::StatusOr<v1::Conversation> MessagingConnection::UpdateConversation(
    const v1::UpdateConversationRequest&) {
  return Unimplemented("UpdateConversation");
}
absl::Status MessagingConnection::DeleteConversation(const v1::DeleteConversationRequest&) {
  return Unimplemented("DeleteConversation");
}
absl::StatusOr<v1::Conversation> MessagingConnection::MarkConversationRead(
    const v1::MarkConversationReadRequest&) {
  return Unimplemented("MarkConversationRead");
}
absl::StatusOr<v1::Message> MessagingConnection::CreateMessage(const v1::CreateMessageRequest&) {
  return Unimplemented("CreateMessage");
}
absl::StatusOr<v1::Message> MessagingConnection::GetMessage(const v1::GetMessageRequest&) {
  return Unimplemented("GetMessage");
}
absl::StatusOr<v1::ListMessagesResponse> MessagingConnection::ListMessages(
    const v1::ListMessagesRequest&) {
  return Unimplemented("ListMessages");
}
absl::StatusOr<v1::Message> MessagingConnection::UpdateMessage(const v1::UpdateMessageRequest&) {
  return Unimplemented("UpdateMessage");
}
absl::StatusOr<v1::Message> MessagingConnection::UpdateDeliveryStatus(
    const v1::UpdateDeliveryStatusRequest&) {
  return Unimplemented("UpdateDeliveryStatus");
}
absl::Status MessagingConnection::DeleteMessage(const v1::DeleteMessageRequest&) {
  return Unimplemented("DeleteMessage");
}
std::unique_ptr<MessageEventStream> MessagingConnection::StreamMessages(
    const v1::StreamMessagesRequest&) {
  return internal::MakeFailedStream(Unimplemented("StreamMessages"));
}

std::shared_ptr<grpc::Channel> MakeMessagingChannel(const std::string& target,
                                                    const ClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls.has_value()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls->pem_root_certs;
    ssl.pem_cert_chain = options.tls->pem_cert_chain;
    ssl.pem_private_key = options.tls->pem_private_key;
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(target, credentials, options.channel_arguments);
}

std::shared_ptr<MessagingConnection> MakeMessagingConnection(const std::string& target,
                                                             TokenSource token,
                                                             ClientOptions options) {
  auto channel = MakeMessagingChannel(target, options);
  return MakeMessagingConnection(std::move(channel), std::move(token), std::move(options));
}

std::shared_ptr<MessagingConnection> MakeMessagingConnection(std::shared_ptr<grpc::Channel> channel,
                                                             TokenSource token,
                                                             ClientOptions options) {
  return std::make_shared<internal::MessagingConnectionImpl>(
      internal::MakeDefaultMessagingStub(std::move(channel)), std::move(token), std::move(options));
}

}  // namespace messaging::client
