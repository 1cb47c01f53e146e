#pragma once

// The standard grpc.health.v1.Health service, generated from
// proto/grpc/health/v1/health.proto so server reflection describes it (gRPC's
// built-in health service is invisible to reflection). Serves "" and
// "messaging.v1.MessagingService": SERVING while the database answers. Check
// runs inline on the serving thread: it reads two flags and never blocks.

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "grpc/health/v1/health.grpc.pb.h"
#include "transport/async_method.h"
#include "transport/raw_service.h"

namespace messaging::transport {

using HealthRawService = RawService<grpc::health::v1::Health::Service, grpc::health::v1::Health>;

class HealthService {
 public:
  void SetServing(bool serving) { serving_ = serving; }
  // Once shutting down, always NOT_SERVING (load balancers stop sending calls).
  void Shutdown() {
    shutting_down_ = true;
    serving_ = false;
  }

  // For grpc::ServerBuilder::RegisterService.
  grpc::Service* service() { return &service_; }
  void Register(AsyncMethods& methods);

  grpc::health::v1::HealthCheckResponse::ServingStatus Check() const {
    return serving_ && !shutting_down_ ? grpc::health::v1::HealthCheckResponse::SERVING
                                       : grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  }

 private:
  HealthRawService service_;
  std::atomic<bool> serving_{false};
  std::atomic<bool> shutting_down_{false};
};

}  // namespace messaging::transport
