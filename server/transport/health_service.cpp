#include "transport/health_service.h"

namespace messaging::transport {

using grpc::health::v1::HealthCheckResponse;

grpc::Status HealthService::Check(grpc::ServerContext* /*context*/,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  if (!request->service().empty() && request->service() != "messaging.v1.MessagingService") {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service");
  }
  response->set_status(serving_ && !shutting_down_ ? HealthCheckResponse::SERVING
                                                   : HealthCheckResponse::NOT_SERVING);
  return grpc::Status::OK;
}

}  // namespace messaging::transport
