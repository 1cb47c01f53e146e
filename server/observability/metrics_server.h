#pragma once

// Serves GET /metrics (Prometheus) over plain HTTP on its own port, apart
// from the gRPC port. Owns its thread: Stop() (or the destructor) ends it.

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "observability/metrics.h"

namespace httplib {
class Server;
}

namespace messaging::observability {

class MetricsServer {
 public:
  explicit MetricsServer(const Metrics& metrics);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on "host:port" (port 0 picks one).
  absl::Status Start(const std::string& listen);
  int port() const { return port_; }
  void Stop();

 private:
  const Metrics& metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace messaging::observability
