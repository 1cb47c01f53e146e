#pragma once

// Internal (no stability promise): the real MessagingConnection. For every
// call it asks the token source, sets the per-attempt deadline, and retries
// with backoff the calls that the list in messaging/client/rpcs.h marks as
// safe to repeat.

#include <memory>

#include "messaging/client/internal/messaging_stub.h"
#include "messaging/client/messaging_connection.h"
#include "messaging/client/options.h"
#include "messaging/client/token_source.h"

namespace messaging::client::internal {

class MessagingConnectionImpl : public MessagingConnection {
 public:
  MessagingConnectionImpl(std::shared_ptr<MessagingStub> stub, TokenSource token,
                          ClientOptions options);

#define MESSAGING_CLIENT_DECLARE_CONNECTION_IMPL_RPC(Name, Request, Response, Retry) \
  UnaryResult<Response> Name(const Request& request) override;
  MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_DECLARE_CONNECTION_IMPL_RPC)
#undef MESSAGING_CLIENT_DECLARE_CONNECTION_IMPL_RPC

  std::unique_ptr<MessageEventStream> StreamMessages(
      const v1::StreamMessagesRequest& request) override;

 private:
  // Calls `method` with a fresh, authenticated context per attempt; tries
  // again after UNAVAILABLE or ABORTED only when `repeatable`.
  template <typename Result, typename Request>
  Result Invoke(Result (MessagingStub::*method)(grpc::ClientContext&, const Request&),
                const Request& request, bool repeatable);

  std::shared_ptr<MessagingStub> stub_;
  TokenSource token_;
  ClientOptions options_;
};

// A stream that has already ended with `status`.
std::unique_ptr<MessageEventStream> MakeFailedStream(absl::Status status);

}  // namespace messaging::client::internal
