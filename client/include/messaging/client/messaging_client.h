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
// which calls are retried is listed in messaging/client/rpcs.h.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "messaging/client/messaging_connection.h"
#include "messaging/client/options.h"
#include "messaging/client/rpcs.h"
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

  // One method per unary RPC of messaging/client/rpcs.h (which says what each
  // does and whether it is retried), taking the request and returning the
  // connection's answer, e.g.
  //   absl::StatusOr<v1::Conversation> GetConversation(const v1::GetConversationRequest&);
  //   absl::Status DeleteMessage(const v1::DeleteMessageRequest&);
#define MESSAGING_CLIENT_DECLARE_FACADE_RPC(Name, Request, Response, Retry) \
  UnaryResult<Response> Name(const Request& request);
  MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_DECLARE_FACADE_RPC)
#undef MESSAGING_CLIENT_DECLARE_FACADE_RPC

  // Shortcuts that build the request from its main fields.
  absl::StatusOr<v1::Conversation> CreateConversation(const v1::Conversation& conversation);
  absl::StatusOr<v1::Conversation> GetOrCreateConversation(const std::string& customer_id,
                                                           v1::Channel channel);
  absl::StatusOr<v1::Conversation> GetConversation(const std::string& id);
  absl::Status DeleteConversation(const std::string& id);
  absl::StatusOr<v1::Conversation> MarkConversationRead(const std::string& id);
  absl::StatusOr<v1::Message> CreateMessage(const v1::Message& message);
  absl::StatusOr<v1::Message> GetMessage(const std::string& id);
  absl::Status DeleteMessage(const std::string& id);

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
