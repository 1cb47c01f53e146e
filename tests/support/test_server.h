#pragma once

// The real server, started in-process on a free loopback port against a test
// database, plus a client stub and helpers to build authenticated calls.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "app/server.h"
#include "messaging/v1/messaging.grpc.pb.h"

namespace messaging::testing {

inline constexpr char kTestSecret[] = "test-secret-0123456789abcdef-0123456789";

class TestServer {
 public:
  // `configure` may adjust the config (pool size, limits...) before start.
  explicit TestServer(const std::string& database_url,
                      const std::function<void(app::ServerConfig&)>& configure = nullptr);
  ~TestServer();

  int port() const { return server_->port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  v1::MessagingService::Stub& stub() { return *stub_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }
  app::MessagingServer& server() { return *server_; }

  // A context authenticated as `distributor_id`, with a 20 s deadline.
  std::unique_ptr<grpc::ClientContext> Context(const std::string& distributor_id) const;

 private:
  std::unique_ptr<app::MessagingServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::MessagingService::Stub> stub_;
};

// A signed token for `distributor_id` (valid one hour).
std::string TokenFor(const std::string& distributor_id);

}  // namespace messaging::testing
