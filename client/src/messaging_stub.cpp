#include "messaging/client/internal/messaging_stub.h"

#include <utility>

#include "messaging/v1/messaging.grpc.pb.h"

namespace messaging::client::internal {
namespace {

using Stub = v1::MessagingService::Stub;

template <typename Response, typename Request>
absl::StatusOr<Response> Unary(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                            Response*),
                               Stub& stub, grpc::ClientContext& context, const Request& request) {
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return ToAbslStatus(status);
  return response;
}

class DefaultMessagingStub : public MessagingStub {
 public:
  explicit DefaultMessagingStub(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::MessagingService::NewStub(std::move(channel))) {}

  absl::StatusOr<v1::Conversation> CreateConversation(
      grpc::ClientContext& context, const v1::CreateConversationRequest& request) override {
    return Unary(&Stub::CreateConversation, *stub_, context, request);
  }
  absl::StatusOr<v1::Conversation> GetOrCreateConversation(
      grpc::ClientContext& context, const v1::GetOrCreateConversationRequest& request) override {
    return Unary(&Stub::GetOrCreateConversation, *stub_, context, request);
  }
  absl::StatusOr<v1::Conversation> GetConversation(
      grpc::ClientContext& context, const v1::GetConversationRequest& request) override {
    return Unary(&Stub::GetConversation, *stub_, context, request);
  }
  absl::StatusOr<v1::ListConversationsResponse> ListConversations(
      grpc::ClientContext& context, const v1::ListConversationsRequest& request) override {
    return Unary(&Stub::ListConversations, *stub_, context, request);
  }
  absl::StatusOr<v1::Conversation> UpdateConversation(
      grpc::ClientContext& context, const v1::UpdateConversationRequest& request) override {
    return Unary(&Stub::UpdateConversation, *stub_, context, request);
  }
  absl::Status DeleteConversation(grpc::ClientContext& context,
                                  const v1::DeleteConversationRequest& request) override {
    return Unary(&Stub::DeleteConversation, *stub_, context, request).status();
  }
  absl::StatusOr<v1::Conversation> MarkConversationRead(
      grpc::ClientContext& context, const v1::MarkConversationReadRequest& request) override {
    return Unary(&Stub::MarkConversationRead, *stub_, context, request);
  }
  absl::StatusOr<v1::Message> CreateMessage(grpc::ClientContext& context,
                                            const v1::CreateMessageRequest& request) override {
    return Unary(&Stub::CreateMessage, *stub_, context, request);
  }
  absl::StatusOr<v1::Message> GetMessage(grpc::ClientContext& context,
                                         const v1::GetMessageRequest& request) override {
    return Unary(&Stub::GetMessage, *stub_, context, request);
  }
  absl::StatusOr<v1::ListMessagesResponse> ListMessages(
      grpc::ClientContext& context, const v1::ListMessagesRequest& request) override {
    return Unary(&Stub::ListMessages, *stub_, context, request);
  }
  absl::StatusOr<v1::Message> UpdateMessage(grpc::ClientContext& context,
                                            const v1::UpdateMessageRequest& request) override {
    return Unary(&Stub::UpdateMessage, *stub_, context, request);
  }
  absl::StatusOr<v1::Message> UpdateDeliveryStatus(
      grpc::ClientContext& context, const v1::UpdateDeliveryStatusRequest& request) override {
    return Unary(&Stub::UpdateDeliveryStatus, *stub_, context, request);
  }
  absl::Status DeleteMessage(grpc::ClientContext& context,
                             const v1::DeleteMessageRequest& request) override {
    return Unary(&Stub::DeleteMessage, *stub_, context, request).status();
  }
  std::unique_ptr<grpc::ClientReaderInterface<v1::MessageEvent>> StreamMessages(
      grpc::ClientContext& context, const v1::StreamMessagesRequest& request) override {
    return stub_->StreamMessages(&context, request);
  }

 private:
  std::unique_ptr<Stub> stub_;
};

}  // namespace

std::shared_ptr<MessagingStub> MakeDefaultMessagingStub(std::shared_ptr<grpc::Channel> channel) {
  return std::make_shared<DefaultMessagingStub>(std::move(channel));
}

absl::Status ToAbslStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace messaging::client::internal
