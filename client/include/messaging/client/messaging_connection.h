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

// Every method is safe to call from several threads at once.
//
// Which calls are retried (with backoff, on UNAVAILABLE or ABORTED, under
// ClientOptions::retry) by the real implementation: the reads (Get*, List*),
// GetOrCreateConversation, MarkConversationRead, UpdateDeliveryStatus (its
// status never moves backwards, so a repeat is harmless), CreateMessage when
// the message has an external_message_id (the server deduplicates on it), and
// the deletes. A delete is idempotent in effect, but when an attempt whose
// answer was lost had already deleted the resource, the retry reports
// NOT_FOUND: treat NOT_FOUND from a delete as "it is gone".
// Never retried, as a repeat could apply twice: CreateConversation,
// CreateMessage without an external_message_id, UpdateConversation,
// UpdateMessage.
//
// The defaults below return UNIMPLEMENTED, so that a subclass written against
// this version still compiles when a later version adds a method.
class MessagingConnection {
 public:
  virtual ~MessagingConnection() = default;

  virtual absl::StatusOr<v1::Conversation> CreateConversation(
      const v1::CreateConversationRequest& request);
  virtual absl::StatusOr<v1::Conversation> GetOrCreateConversation(
      const v1::GetOrCreateConversationRequest& request);
  virtual absl::StatusOr<v1::Conversation> GetConversation(
      const v1::GetConversationRequest& request);
  virtual absl::StatusOr<v1::ListConversationsResponse> ListConversations(
      const v1::ListConversationsRequest& request);
  virtual absl::StatusOr<v1::Conversation> UpdateConversation(
      const v1::UpdateConversationRequest& request);
  virtual absl::Status DeleteConversation(const v1::DeleteConversationRequest& request);
  virtual absl::StatusOr<v1::Conversation> MarkConversationRead(
      const v1::MarkConversationReadRequest& request);

  virtual absl::StatusOr<v1::Message> CreateMessage(const v1::CreateMessageRequest& request);
  virtual absl::StatusOr<v1::Message> GetMessage(const v1::GetMessageRequest& request);
  virtual absl::StatusOr<v1::ListMessagesResponse> ListMessages(
      const v1::ListMessagesRequest& request);
  virtual absl::StatusOr<v1::Message> UpdateMessage(const v1::UpdateMessageRequest& request);
  virtual absl::StatusOr<v1::Message> UpdateDeliveryStatus(
      const v1::UpdateDeliveryStatusRequest& request);
  virtual absl::Status DeleteMessage(const v1::DeleteMessageRequest& request);

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
