#include "messaging/client/internal/messaging_connection_impl.h"

#include <grpcpp/client_context.h>

#include <thread>
#include <utility>

#include "absl/time/clock.h"
#include "messaging/client/internal/backoff.h"

namespace messaging::client::internal {
namespace {

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

// One StreamMessages call over the generated stub. The call starts on the
// first Read(), not in the constructor: the owner can publish the stream (so
// another thread can Cancel() it) before anything blocks on the network.
class GrpcMessageEventStream : public MessageEventStream {
 public:
  GrpcMessageEventStream(std::shared_ptr<MessagingStub> stub,
                         std::unique_ptr<grpc::ClientContext> context,
                         v1::StreamMessagesRequest request)
      : stub_(std::move(stub)), context_(std::move(context)), request_(std::move(request)) {}

  ~GrpcMessageEventStream() override {
    if (reader_ == nullptr || finished_) return;
    // gRPC wants Finish() on every started call; cancel so it returns at once.
    context_->TryCancel();
    v1::MessageEvent ignored;
    while (reader_->Read(&ignored)) {
    }
    reader_->Finish();
  }

  bool Read(v1::MessageEvent* event) override {
    if (finished_) return false;
    if (reader_ == nullptr) reader_ = stub_->StreamMessages(*context_, request_);
    return reader_->Read(event);
  }

  absl::Status Finish() override {
    if (finished_) return absl::FailedPreconditionError("Finish() called twice");
    if (reader_ == nullptr) reader_ = stub_->StreamMessages(*context_, request_);
    finished_ = true;
    return ToAbslStatus(reader_->Finish());
  }

  void Cancel() override { context_->TryCancel(); }

 private:
  std::shared_ptr<MessagingStub> stub_;
  std::unique_ptr<grpc::ClientContext> context_;
  v1::StreamMessagesRequest request_;
  std::unique_ptr<grpc::ClientReaderInterface<v1::MessageEvent>> reader_;
  bool finished_ = false;
};

class FailedStream : public MessageEventStream {
 public:
  explicit FailedStream(absl::Status status) : status_(std::move(status)) {}
  bool Read(v1::MessageEvent*) override { return false; }
  absl::Status Finish() override { return status_; }
  void Cancel() override {}

 private:
  absl::Status status_;
};

}  // namespace

std::unique_ptr<MessageEventStream> MakeFailedStream(absl::Status status) {
  return std::make_unique<FailedStream>(std::move(status));
}

Idempotency CreateMessageIdempotency(const v1::CreateMessageRequest& request) {
  return request.message().external_message_id().empty() ? Idempotency::kNonIdempotent
                                                         : Idempotency::kIdempotent;
}

MessagingConnectionImpl::MessagingConnectionImpl(std::shared_ptr<MessagingStub> stub,
                                                 TokenSource token, ClientOptions options)
    : stub_(std::move(stub)), token_(std::move(token)), options_(std::move(options)) {}

template <typename Result, typename Call>
Result MessagingConnectionImpl::Invoke(Idempotency idempotency, Call&& call) {
  Backoff backoff(options_.retry);
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<std::string> authorization = token_.AuthorizationHeader();
    if (!authorization.ok()) return authorization.status();
    grpc::ClientContext context;
    context.AddMetadata("authorization", *authorization);
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
    Result result = call(context);
    const absl::Status& status = StatusOf(result);
    if (status.ok() || idempotency != Idempotency::kIdempotent ||
        !IsRetryableForIdempotentCall(status.code()) || !AttemptsLeft(options_.retry, attempt)) {
      return result;
    }
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(backoff.Next()));
  }
}

absl::StatusOr<v1::Conversation> MessagingConnectionImpl::CreateConversation(
    const v1::CreateConversationRequest& request) {
  return Invoke<absl::StatusOr<v1::Conversation>>(
      Idempotency::kNonIdempotent,
      [&](grpc::ClientContext& context) { return stub_->CreateConversation(context, request); });
}

absl::StatusOr<v1::Conversation> MessagingConnectionImpl::GetOrCreateConversation(
    const v1::GetOrCreateConversationRequest& request) {
  // Atomic on the server: a repeat finds the conversation the first one made.
  return Invoke<absl::StatusOr<v1::Conversation>>(
      Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
        return stub_->GetOrCreateConversation(context, request);
      });
}

absl::StatusOr<v1::Conversation> MessagingConnectionImpl::GetConversation(
    const v1::GetConversationRequest& request) {
  return Invoke<absl::StatusOr<v1::Conversation>>(
      Idempotency::kIdempotent,
      [&](grpc::ClientContext& context) { return stub_->GetConversation(context, request); });
}

absl::StatusOr<v1::ListConversationsResponse> MessagingConnectionImpl::ListConversations(
    const v1::ListConversationsRequest& request) {
  return Invoke<absl::StatusOr<v1::ListConversationsResponse>>(
      Idempotency::kIdempotent,
      [&](grpc::ClientContext& context) { return stub_->ListConversations(context, request); });
}

absl::StatusOr<v1::Conversation> MessagingConnectionImpl::UpdateConversation(
    const v1::UpdateConversationRequest& request) {
  return Invoke<absl::StatusOr<v1::Conversation>>(
      Idempotency::kNonIdempotent,
      [&](grpc::ClientContext& context) { return stub_->UpdateConversation(context, request); });
}

absl::Status MessagingConnectionImpl::DeleteConversation(
    const v1::DeleteConversationRequest& request) {
  // Idempotent in effect; a retry after a lost answer may report NOT_FOUND.
  return Invoke<absl::Status>(Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
    return stub_->DeleteConversation(context, request);
  });
}

absl::StatusOr<v1::Conversation> MessagingConnectionImpl::MarkConversationRead(
    const v1::MarkConversationReadRequest& request) {
  return Invoke<absl::StatusOr<v1::Conversation>>(
      Idempotency::kIdempotent,
      [&](grpc::ClientContext& context) { return stub_->MarkConversationRead(context, request); });
}

absl::StatusOr<v1::Message> MessagingConnectionImpl::CreateMessage(
    const v1::CreateMessageRequest& request) {
  return Invoke<absl::StatusOr<v1::Message>>(
      CreateMessageIdempotency(request),
      [&](grpc::ClientContext& context) { return stub_->CreateMessage(context, request); });
}

absl::StatusOr<v1::Message> MessagingConnectionImpl::GetMessage(
    const v1::GetMessageRequest& request) {
  return Invoke<absl::StatusOr<v1::Message>>(
      Idempotency::kIdempotent,
      [&](grpc::ClientContext& context) { return stub_->GetMessage(context, request); });
}

absl::StatusOr<v1::ListMessagesResponse> MessagingConnectionImpl::ListMessages(
    const v1::ListMessagesRequest& request) {
  return Invoke<absl::StatusOr<v1::ListMessagesResponse>>(
      Idempotency::kIdempotent,
      [&](grpc::ClientContext& context) { return stub_->ListMessages(context, request); });
}

absl::StatusOr<v1::Message> MessagingConnectionImpl::UpdateMessage(
    const v1::UpdateMessageRequest& request) {
  return Invoke<absl::StatusOr<v1::Message>>(
      Idempotency::kNonIdempotent,
      [&](grpc::ClientContext& context) { return stub_->UpdateMessage(context, request); });
}

absl::StatusOr<v1::Message> MessagingConnectionImpl::UpdateDeliveryStatus(
    const v1::UpdateDeliveryStatusRequest& request) {
  // The status never moves backwards, so applying the same report twice is a no-op.
  return Invoke<absl::StatusOr<v1::Message>>(
      Idempotency::kIdempotent,
      [&](grpc::ClientContext& context) { return stub_->UpdateDeliveryStatus(context, request); });
}

absl::Status MessagingConnectionImpl::DeleteMessage(const v1::DeleteMessageRequest& request) {
  return Invoke<absl::Status>(Idempotency::kIdempotent, [&](grpc::ClientContext& context) {
    return stub_->DeleteMessage(context, request);
  });
}

std::unique_ptr<MessageEventStream> MessagingConnectionImpl::StreamMessages(
    const v1::StreamMessagesRequest& request) {
  absl::StatusOr<std::string> authorization = token_.AuthorizationHeader();
  if (!authorization.ok()) return MakeFailedStream(authorization.status());
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", *authorization);
  return std::make_unique<GrpcMessageEventStream>(stub_, std::move(context), request);
}

}  // namespace messaging::client::internal
