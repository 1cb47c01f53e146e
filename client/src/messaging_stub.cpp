#include "messaging/client/internal/messaging_stub.h"

#include <type_traits>
#include <utility>

#include "messaging/v1/messaging.grpc.pb.h"

namespace messaging::client::internal {
namespace {

using Stub = v1::MessagingService::Stub;

// One unary call over the generated stub; an Empty response becomes a bare status.
template <typename Response, typename Request>
UnaryResult<Response> Unary(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                         Response*),
                            Stub& stub, grpc::ClientContext& context, const Request& request) {
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return ToAbslStatus(status);
  if constexpr (std::is_same_v<UnaryResult<Response>, absl::Status>) {
    return absl::OkStatus();
  } else {
    return response;
  }
}

class DefaultMessagingStub : public MessagingStub {
 public:
  explicit DefaultMessagingStub(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::MessagingService::NewStub(std::move(channel))) {}

#define MESSAGING_CLIENT_DEFINE_STUB_RPC(Name, Request, Response, Retry)                      \
  UnaryResult<Response> Name(grpc::ClientContext& context, const Request& request) override { \
    return Unary(&Stub::Name, *stub_, context, request);                                      \
  }
  MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_DEFINE_STUB_RPC)
#undef MESSAGING_CLIENT_DEFINE_STUB_RPC

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
