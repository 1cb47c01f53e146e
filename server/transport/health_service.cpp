#include "transport/health_service.h"

#include <utility>

namespace messaging::transport {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {

// Health/Watch is not offered (probes use Check): every call ends at once with
// UNIMPLEMENTED, as a synchronous service's default would answer.
class UnimplementedWatch final : public AsyncMethod {
 public:
  explicit UnimplementedWatch(StreamingRequest request) : request_(std::move(request)) {}

  void Listen(grpc::ServerCompletionQueue* cq) override {
    CompletionQueues::StartOperation(cq, [this, cq] { new Call(this, cq); });
  }

 private:
  class Call final : public CompletionTag {
   public:
    Call(UnimplementedWatch* method, grpc::ServerCompletionQueue* cq)
        : method_(method), cq_(cq), writer_(&context_) {
      method->request_(&context_, &request_, &writer_, cq, this);
    }
    void OnComplete(bool ok) override {
      if (ok && !finishing_) {
        finishing_ = true;
        method_->Listen(cq_);
        if (CompletionQueues::StartOperation(cq_, [this] {
              writer_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "use Check"), this);
            })) {
          return;
        }
      }
      delete this;
    }

   private:
    UnimplementedWatch* const method_;
    grpc::ServerCompletionQueue* const cq_;
    grpc::ServerContext context_;
    grpc::ByteBuffer request_;
    grpc::ServerAsyncWriter<grpc::ByteBuffer> writer_;
    bool finishing_ = false;
  };

  const StreamingRequest request_;
};

}  // namespace

void HealthService::Register(AsyncMethods& methods) {
  methods.AddUnary(
      &service_, "Check", Admission::kPublic,
      [this](const domain::RequestContext& /*ctx*/, const HealthCheckRequest& request,
             HealthCheckResponse* response) -> absl::Status {
        if (!request.service().empty() && request.service() != "messaging.v1.MessagingService") {
          return absl::NotFoundError("unknown service");
        }
        response->set_status(Check());
        return absl::OkStatus();
      });
  methods.Add(std::make_unique<UnimplementedWatch>(
      RequestStreamOf(&service_, MethodIndexOrDie<HealthRawService>("Watch"))));
}

}  // namespace messaging::transport
