#pragma once

// The layer under MessagingClient: one virtual method per RPC. The real
// implementation (MakeMessagingConnection) adds the token, the deadline and
// retries; tests replace it with a gMock (messaging/client/mocks/...) and never
// touch the network.

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "messaging/client/options.h"
#include "messaging/client/rpcs.h"
#include "messaging/client/token_source.h"
#include "messaging/v1/messaging.pb.h"

namespace messaging::client {

// One StreamMessages call. Not reconnecting: Subscription builds that on top.
class MessageEventStream {
 public:
  virtual ~MessageEventStream() = default;

  // Blocks until the next event and stores it in `event`. False when the
  // stream has ended; Finish() then tells why.
  virtual bool Read(v1::MessageEvent* event) = 0;

  // The final status, once Read() has returned false. Call it once.
  virtual absl::Status Finish() = 0;

  // Ends the stream early: a blocked Read() returns false soon after. Safe to
  // call from any thread, more than once, or after the stream ended.
  virtual void Cancel() = 0;
};

// One virtual method per RPC, each safe to call from several threads at once.
// The unary ones come from the list in messaging/client/rpcs.h, which also
// says which of them the real implementation retries. Each one reads
//
//   virtual UnaryResult<Response> Name(const Request& request);
//
// that is, for example:
//
//   absl::StatusOr<v1::Conversation> GetConversation(const v1::GetConversationRequest&);
//   absl::Status DeleteMessage(const v1::DeleteMessageRequest&);
//
// The defaults return UNIMPLEMENTED, so that a subclass written against this
// version still compiles when a later version adds a method.
class MessagingConnection {
 public:
  virtual ~MessagingConnection() = default;

#define MESSAGING_CLIENT_DECLARE_CONNECTION_RPC(Name, Request, Response, Retry) \
  virtual UnaryResult<Response> Name(const Request& request);
  MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_DECLARE_CONNECTION_RPC)
#undef MESSAGING_CLIENT_DECLARE_CONNECTION_RPC

  // Opens one stream (no deadline, no retry). Errors, including a failing
  // token source, surface through Finish().
  virtual std::unique_ptr<MessageEventStream> StreamMessages(
      const v1::StreamMessagesRequest& request);
};

// A connection to `target` ("host:port", "dns:///name:port", ...).
std::shared_ptr<MessagingConnection> MakeMessagingConnection(const std::string& target,
                                                             TokenSource token,
                                                             ClientOptions options = {});

// A connection over a channel the caller built (custom credentials,
// interceptors...). options.tls and options.channel_arguments are ignored.
std::shared_ptr<MessagingConnection> MakeMessagingConnection(std::shared_ptr<grpc::Channel> channel,
                                                             TokenSource token,
                                                             ClientOptions options = {});

// The channel MakeMessagingConnection(target, ...) would use.
std::shared_ptr<grpc::Channel> MakeMessagingChannel(const std::string& target,
                                                    const ClientOptions& options);

}  // namespace messaging::client
