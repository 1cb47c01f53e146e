#pragma once

// Internal (no stability promise): the generated gRPC stub behind an interface
// of our own, so MessagingConnectionImpl's retry and deadline logic can be
// tested with a fake that counts attempts.

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "messaging/client/rpcs.h"
#include "messaging/v1/messaging.pb.h"

namespace messaging::client::internal {

// One method per RPC; the unary ones from the list in messaging/client/rpcs.h.
class MessagingStub {
 public:
  virtual ~MessagingStub() = default;

#define MESSAGING_CLIENT_DECLARE_STUB_RPC(Name, Request, Response, Retry) \
  virtual UnaryResult<Response> Name(grpc::ClientContext& context, const Request& request) = 0;
  MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_DECLARE_STUB_RPC)
#undef MESSAGING_CLIENT_DECLARE_STUB_RPC

  // `context` must outlive the returned reader.
  virtual std::unique_ptr<grpc::ClientReaderInterface<v1::MessageEvent>> StreamMessages(
      grpc::ClientContext& context, const v1::StreamMessagesRequest& request) = 0;
};

// The generated v1::MessagingService::Stub over `channel`.
std::shared_ptr<MessagingStub> MakeDefaultMessagingStub(std::shared_ptr<grpc::Channel> channel);

// grpc::Status -> absl::Status (the codes are numerically the same).
absl::Status ToAbslStatus(const grpc::Status& status);

}  // namespace messaging::client::internal
