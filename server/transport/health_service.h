#pragma once

// The standard grpc.health.v1.Health service, generated from
// proto/grpc/health/v1/health.proto so server reflection describes it (gRPC's
// built-in health service is invisible to reflection). Serves "" and
// "messaging.v1.MessagingService": SERVING while the database answers.

#include <grpcpp/grpcpp.h>

#include <atomic>

#include "grpc/health/v1/health.grpc.pb.h"

namespace messaging::transport {

class HealthService : public grpc::health::v1::Health::Service {
 public:
  void SetServing(bool serving) { serving_ = serving; }
  // Once shutting down, always NOT_SERVING (load balancers stop sending calls).
  void Shutdown() {
    shutting_down_ = true;
    serving_ = false;
  }

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;

 private:
  std::atomic<bool> serving_{false};
  std::atomic<bool> shutting_down_{false};
};

}  // namespace messaging::transport
