#include "observability/metrics_server.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace messaging::observability {

MetricsServer::MetricsServer(const Metrics& metrics)
    : metrics_(metrics), http_(std::make_unique<httplib::Server>()) {}

MetricsServer::~MetricsServer() { Stop(); }

absl::Status MetricsServer::Start(const std::string& listen) {
  const auto colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("MESSAGING_METRICS_LISTEN: expected host:port, got \"", listen, "\""));
  }
  const std::string host = listen.substr(0, colon);
  // Scrapes are rare: one worker thread, not httplib's default pool of eight.
  http_->new_task_queue = [] { return new httplib::ThreadPool(1); };
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics_.Render(), "text/plain; version=0.0.4");
  });
  port_ = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("MESSAGING_METRICS_LISTEN: cannot listen on ", listen));
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return absl::OkStatus();
}

void MetricsServer::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace messaging::observability
