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
#include "messaging/v1/messaging.pb.h"

namespace messaging::client::internal {

class MessagingStub {
 public:
  virtual ~MessagingStub() = default;

  virtual absl::StatusOr<v1::Conversation> CreateConversation(
      grpc::ClientContext& context, const v1::CreateConversationRequest& request) = 0;
  virtual absl::StatusOr<v1::Conversation> GetOrCreateConversation(
      grpc::ClientContext& context, const v1::GetOrCreateConversationRequest& request) = 0;
  virtual absl::StatusOr<v1::Conversation> GetConversation(
      grpc::ClientContext& context, const v1::GetConversationRequest& request) = 0;
  virtual absl::StatusOr<v1::ListConversationsResponse> ListConversations(
      grpc::ClientContext& context, const v1::ListConversationsRequest& request) = 0;
  virtual absl::StatusOr<v1::Conversation> UpdateConversation(
      grpc::ClientContext& context, const v1::UpdateConversationRequest& request) = 0;
  virtual absl::Status DeleteConversation(grpc::ClientContext& context,
                                          const v1::DeleteConversationRequest& request) = 0;
  virtual absl::StatusOr<v1::Conversation> MarkConversationRead(
      grpc::ClientContext& context, const v1::MarkConversationReadRequest& request) = 0;
  virtual absl::StatusOr<v1::Message> CreateMessage(grpc::ClientContext& context,
                                                    const v1::CreateMessageRequest& request) = 0;
  virtual absl::StatusOr<v1::Message> GetMessage(grpc::ClientContext& context,
                                                 const v1::GetMessageRequest& request) = 0;
  virtual absl::StatusOr<v1::ListMessagesResponse> ListMessages(
      grpc::ClientContext& context, const v1::ListMessagesRequest& request) = 0;
  virtual absl::StatusOr<v1::Message> UpdateMessage(grpc::ClientContext& context,
                                                    const v1::UpdateMessageRequest& request) = 0;
  virtual absl::StatusOr<v1::Message> UpdateDeliveryStatus(
      grpc::ClientContext& context, const v1::UpdateDeliveryStatusRequest& request) = 0;
  virtual absl::Status DeleteMessage(grpc::ClientContext& context,
                                     const v1::DeleteMessageRequest& request) = 0;
  // `context` must outlive the returned reader.
  virtual std::unique_ptr<grpc::ClientReaderInterface<v1::MessageEvent>> StreamMessages(
      grpc::ClientContext& context, const v1::StreamMessagesRequest& request) = 0;
};

// The generated v1::MessagingService::Stub over `channel`.
std::shared_ptr<MessagingStub> MakeDefaultMessagingStub(std::shared_ptr<grpc::Channel> channel);

// grpc::Status -> absl::Status (the codes are numerically the same).
absl::Status ToAbslStatus(const grpc::Status& status);

}  // namespace messaging::client::internal
