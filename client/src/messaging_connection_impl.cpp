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

MessagingConnectionImpl::MessagingConnectionImpl(std::shared_ptr<MessagingStub> stub,
                                                 TokenSource token, ClientOptions options)
    : stub_(std::move(stub)), token_(std::move(token)), options_(std::move(options)) {}

template <typename Result, typename Request>
Result MessagingConnectionImpl::Invoke(Result (MessagingStub::*method)(grpc::ClientContext&,
                                                                       const Request&),
                                       const Request& request, bool repeatable) {
  Backoff backoff(options_.retry);
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<std::string> authorization = token_.AuthorizationHeader();
    if (!authorization.ok()) return authorization.status();
    grpc::ClientContext context;
    context.AddMetadata("authorization", *authorization);
    context.set_deadline(
        absl::ToChronoTime(absl::Now() + options_.call_timeout + ServerWait(request)));
    Result result = (stub_.get()->*method)(context, request);
    const absl::Status& status = StatusOf(result);
    if (status.ok() || !repeatable || !IsRetryableForIdempotentCall(status.code()) ||
        !AttemptsLeft(options_.retry, attempt)) {
      return result;
    }
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(backoff.Next()));
  }
}

// The Retry column decides, per request, whether a failed attempt may be repeated.
#define MESSAGING_CLIENT_DEFINE_CONNECTION_IMPL_RPC(Name, Request, Response, Retry) \
  UnaryResult<Response> MessagingConnectionImpl::Name(const Request& request) {     \
    return Invoke(&MessagingStub::Name, request, /*repeatable=*/Retry(request));    \
  }
MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_DEFINE_CONNECTION_IMPL_RPC)
#undef MESSAGING_CLIENT_DEFINE_CONNECTION_IMPL_RPC

std::unique_ptr<MessageEventStream> MessagingConnectionImpl::StreamMessages(
    const v1::StreamMessagesRequest& request) {
  absl::StatusOr<std::string> authorization = token_.AuthorizationHeader();
  if (!authorization.ok()) return MakeFailedStream(authorization.status());
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", *authorization);
  return std::make_unique<GrpcMessageEventStream>(stub_, std::move(context), request);
}

}  // namespace messaging::client::internal
