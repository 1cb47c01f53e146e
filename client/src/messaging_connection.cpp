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

#define MESSAGING_CLIENT_DEFINE_UNIMPLEMENTED_RPC(Name, Request, Response, Retry) \
  UnaryResult<Response> MessagingConnection::Name(const Request&) { return Unimplemented(#Name); }
MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_DEFINE_UNIMPLEMENTED_RPC)
#undef MESSAGING_CLIENT_DEFINE_UNIMPLEMENTED_RPC

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
