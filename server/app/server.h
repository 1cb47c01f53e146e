#pragma once

// Composition root of `messaging-server serve`: wires the connection pool,
// repositories, domain services and gRPC services together and owns them.
// Tests start it in-process, so they exercise exactly what the binary runs.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "auth/jwt.h"
#include "domain/ai_work_service.h"
#include "domain/rate_limiter.h"
#include "domain/validation.h"

namespace messaging::app {

struct ServerConfig {
  std::string database_url;
  std::string listen = "0.0.0.0:50051";
  auth::JwtOptions jwt;
  int pool_size = 16;
  std::string app_role = "messaging_app";
  std::string tls_cert_file;  // Both or neither.
  std::string tls_key_file;
  // How often the certificate and key files are read again: a renewed
  // certificate (cert-manager rewriting the mounted Secret) serves new
  // connections without a restart.
  absl::Duration tls_reload_interval = absl::Seconds(60);
  absl::Duration drain_timeout = absl::Seconds(20);
  // After SIGTERM, health says NOT_SERVING but calls are still served for this
  // long, so load balancers and Kubernetes endpoints drop the replica before it
  // refuses anything. (The image has no shell for a preStop `sleep`.)
  absl::Duration shutdown_delay = absl::ZeroDuration();
  absl::Duration max_connection_age = absl::Seconds(300);  // Zero disables.
  absl::Duration default_deadline = absl::Seconds(30);
  absl::Duration health_interval = absl::Seconds(2);
  int max_receive_message_bytes = 4 * 1024 * 1024;
  domain::Limits limits;
  domain::RateLimit rate_limit;  // Per distributor; per_second 0 = off.

  // Transport limits (docs/operations.md).
  int max_concurrent_streams = 1000;                            // HTTP/2 streams per connection.
  absl::Duration keepalive_time = absl::Minutes(2);             // Server pings idle connections.
  absl::Duration keepalive_timeout = absl::Seconds(20);         // ...and drops them if no answer.
  absl::Duration min_client_ping_interval = absl::Seconds(10);  // Faster pings: GOAWAY.
  // Threads polling gRPC completion queues (one queue each); 0 = one per core.
  int serving_threads = 0;
  // Threads that run unary calls' database work (each holds one while it
  // runs); 0 = twice the pool size, so calls beyond the pool wait for a
  // connection (up to the pool's maximum wait) rather than for a thread.
  int worker_threads = 0;
  // Fairness between distributors on those threads: at most this many of one
  // distributor's calls run at once (0 = TenantConcurrency()'s default), and
  // at most this many wait (beyond it: RESOURCE_EXHAUSTED at once, instead of
  // a backlog that delays everyone).
  int tenant_concurrency = 0;
  int tenant_queue_limit = 256;

  // Prometheus /metrics over HTTP ("host:port"; empty = off).
  std::string metrics_listen;

  // StreamMessages.
  absl::Duration event_retention = absl::Hours(24 * 7);
  // Polls for events nobody announced (writes by other clients).
  absl::Duration stream_poll_interval = absl::Milliseconds(25);
  // At most one NOTIFY per interval announces this replica's writes.
  absl::Duration stream_notify_interval = absl::Milliseconds(5);
  absl::Duration heartbeat_interval = absl::Seconds(30);  // Zero disables.
  absl::Duration prune_interval = absl::Minutes(10);
  int stream_executor_threads = 4;
  int stream_queue_capacity = 64;

  // Memory budgets (docs/operations.md, "Memory"). List pages are bounded by
  // limits.max_page_bytes.
  int max_send_message_bytes = 4 * 1024 * 1024;             // Any one response or stream event.
  std::size_t stream_queue_bytes = 1024 * 1024;             // Held per stream.
  std::size_t stream_memory_bytes = 128 * 1024 * 1024;      // Held by all streams.
  std::size_t stream_read_bytes = 4 * 1024 * 1024;          // One read of the change log.
  std::size_t max_streams_per_distributor = 1000;           // Open streams per server.
  absl::Duration stream_stall_timeout = absl::Seconds(10);  // See StreamHub.
  // The AI work queue: attempts before an item is dead-lettered, leased
  // items per distributor at once, and how long dead letters are kept.
  domain::AiWorkSettings ai_work;
};

// INVALID_ARGUMENT naming the setting that is missing or wrong.
absl::Status ValidateConfig(const ServerConfig& config);

// serving_threads, or one per core when it is 0.
int ServingThreads(const ServerConfig& config);

// tenant_concurrency, or by default half the pool (so one distributor never
// holds every connection) and at most kTenantCallsPerServingThread per serving
// thread: one distributor's heavy calls compete with everyone's for the cores,
// and more of them running at once only makes every other call wait for a
// core (measured in bench/README.md, "Tenant isolation", and again in "Fewer
// transactions at once").
constexpr int kTenantCallsPerServingThread = 2;
int TenantConcurrency(const ServerConfig& config);

class MessagingServer {
 public:
  static absl::StatusOr<std::unique_ptr<MessagingServer>> Start(const ServerConfig& config);
  ~MessagingServer();

  // The TCP port actually bound (useful with port 0).
  int port() const;
  // The metrics port actually bound, 0 when metrics are off.
  int metrics_port() const;

  // Health goes NOT_SERVING, open streams end with UNAVAILABLE (clients resume
  // from their last cursor elsewhere), new calls are refused, in-flight calls
  // get until `drain` to finish, then are cancelled. Idempotent.
  void Shutdown(absl::Duration drain);
  // Health goes NOT_SERVING for good; everything else goes on serving. The
  // first step of a graceful stop (ServerConfig::shutdown_delay).
  void StopAdvertising();

 private:
  struct Components;
  explicit MessagingServer(std::unique_ptr<Components> components);
  std::unique_ptr<Components> c_;
};

}  // namespace messaging::app
