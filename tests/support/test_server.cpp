#include "support/test_server.h"

#include <chrono>
#include <stdexcept>

#include "absl/time/clock.h"
#include "auth/jwt.h"

namespace messaging::testing {

std::string TokenFor(const std::string& distributor_id) {
  auth::JwtOptions options;
  options.secret = kTestSecret;
  auto token = auth::MintToken(options, distributor_id, absl::Hours(1), absl::Now());
  if (!token.ok()) throw std::runtime_error(std::string(token.status().message()));
  return *token;
}

TestServer::TestServer(const std::string& database_url,
                       const std::function<void(app::ServerConfig&)>& configure) {
  app::ServerConfig config;
  config.database_url = database_url;
  config.listen = "127.0.0.1:0";
  config.jwt.secret = kTestSecret;
  config.pool_size = 8;
  config.health_interval = absl::Milliseconds(200);
  // Frequent heartbeats let tests see when a stream is live (StreamCollector::WaitLive).
  config.heartbeat_interval = absl::Milliseconds(100);
  if (configure) configure(config);
  auto server = app::MessagingServer::Start(config);
  if (!server.ok()) throw std::runtime_error(std::string(server.status().message()));
  server_ = *std::move(server);
  channel_ = grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  stub_ = v1::MessagingService::NewStub(channel_);
}

TestServer::~TestServer() { server_->Shutdown(absl::Seconds(1)); }

std::unique_ptr<grpc::ClientContext> TestServer::Context(const std::string& distributor_id) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + TokenFor(distributor_id));
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  return context;
}

}  // namespace messaging::testing
