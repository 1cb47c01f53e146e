#include "app/cli.h"

#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "app/server.h"
#include "auth/jwt.h"
#include "common/logging.h"
#include "migrate/migrator.h"

namespace messaging::app {
namespace {

struct CommonOptions {
  std::string log_level = "info";
  std::string log_format = "json";
};

int Fail(const absl::Status& status) {
  log::Error("{}", status.message());
  std::cerr << "messaging-server: " << status.message() << "\n";
  return 1;
}

// SIGTERM/SIGINT are blocked in every thread and awaited by the main thread,
// so gRPC's threads never run a signal handler.
sigset_t BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int Serve(const ServerConfig& config) {
  const sigset_t signals = BlockShutdownSignals();
  auto server = MessagingServer::Start(config);
  if (!server.ok()) return Fail(server.status());
  int received = 0;
  sigwait(&signals, &received);
  log::Info("received {}", received == SIGTERM ? "SIGTERM" : "SIGINT");
  if (config.shutdown_delay > absl::ZeroDuration()) {
    (*server)->StopAdvertising();
    log::Info("health is NOT_SERVING; serving on for {} (a second signal skips the wait)",
              absl::FormatDuration(config.shutdown_delay));
    const timespec delay = absl::ToTimespec(config.shutdown_delay);
    if (sigtimedwait(&signals, nullptr, &delay) > 0) log::Info("second signal: stopping now");
  }
  (*server)->Shutdown(config.drain_timeout);
  return 0;
}

// The owner's URL: --database-url, else MESSAGING_MIGRATE_DATABASE_URL, else
// DATABASE_URL (where one URL serves both).
int Migrate(std::string database_url, const std::string& dir) {
  if (database_url.empty()) {
    const char* serving_url = std::getenv("DATABASE_URL");
    if (serving_url != nullptr) database_url = serving_url;
  }
  if (database_url.empty()) {
    return Fail(absl::InvalidArgumentError(
        "MESSAGING_MIGRATE_DATABASE_URL or DATABASE_URL: is required (--database-url)"));
  }
  std::vector<migrate::MigrationFile> files;
  if (dir.empty()) {
    files = migrate::EmbeddedMigrations();
  } else {
    auto loaded = migrate::LoadMigrationDirectory(dir);
    if (!loaded.ok()) return Fail(loaded.status());
    files = *std::move(loaded);
  }
  auto report = migrate::Migrate({database_url}, std::move(files));
  if (!report.ok()) return Fail(report.status());
  log::Write(spdlog::level::info, "migrations complete",
             {{"applied", report->applied}, {"already_applied", report->already_applied}});
  return 0;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"messaging-server: conversations and messages over gRPC"};
  app.fallthrough();
  app.require_subcommand(0, 1);
  CommonOptions common;
  app.add_option("--log-level", common.log_level, "trace|debug|info|warn|error")
      ->envname("MESSAGING_LOG_LEVEL");
  app.add_option("--log-format", common.log_format, "json|text")
      ->envname("MESSAGING_LOG_FORMAT")
      ->check(CLI::IsMember({"json", "text"}));

  ServerConfig config;
  int64_t drain_seconds = 20, shutdown_delay_seconds = 0, tls_reload_seconds = 60,
          max_age_seconds = 300, leeway_seconds = 30, max_lifetime_seconds = 0;
  int64_t max_content_bytes = static_cast<int64_t>(config.limits.max_content_bytes);
  int64_t retention_hours = 24 * 7, heartbeat_seconds = 30, poll_ms = 25, notify_ms = 5;
  int64_t default_deadline_seconds = 30, max_receive_bytes = config.max_receive_message_bytes;
  int64_t max_send_bytes = config.max_send_message_bytes, stall_seconds = 10;
  auto* serve = app.add_subcommand("serve", "Serve the gRPC API (default)");
  serve
      ->add_option("--database-url", config.database_url,
                   "PostgreSQL URL; its role must only be able to become --db-role")
      ->envname("DATABASE_URL");
  serve->add_option("--listen", config.listen, "host:port to listen on")
      ->envname("MESSAGING_LISTEN")
      ->capture_default_str();
  serve->add_option("--jwt-secret", config.jwt.secret, "HS256 secret (>= 32 bytes)")
      ->envname("MESSAGING_JWT_SECRET");
  serve->add_option("--jwt-claim", config.jwt.claim, "claim holding the distributor UUID")
      ->envname("MESSAGING_JWT_CLAIM")
      ->capture_default_str();
  serve->add_option("--jwt-leeway", leeway_seconds, "clock skew allowed on exp/nbf, seconds")
      ->envname("MESSAGING_JWT_LEEWAY_SECONDS")
      ->capture_default_str();
  serve->add_option("--jwt-audience", config.jwt.audience, "required aud claim; empty = unchecked")
      ->envname("MESSAGING_JWT_AUDIENCE");
  serve->add_option("--jwt-issuer", config.jwt.issuer, "required iss claim; empty = unchecked")
      ->envname("MESSAGING_JWT_ISSUER");
  serve
      ->add_option("--jwt-max-lifetime", max_lifetime_seconds,
                   "longest token validity accepted, seconds; 0 = no limit")
      ->envname("MESSAGING_JWT_MAX_LIFETIME_SECONDS")
      ->capture_default_str();
  serve->add_option("--pool-size", config.pool_size, "database connections")
      ->envname("MESSAGING_POOL_SIZE")
      ->capture_default_str();
  serve->add_option("--db-role", config.app_role, "role every transaction switches to")
      ->envname("MESSAGING_DB_ROLE")
      ->capture_default_str();
  serve->add_option("--tls-cert", config.tls_cert_file, "PEM certificate chain file")
      ->envname("MESSAGING_TLS_CERT");
  serve->add_option("--tls-key", config.tls_key_file, "PEM private key file")
      ->envname("MESSAGING_TLS_KEY");
  serve
      ->add_option("--tls-reload", tls_reload_seconds,
                   "seconds between re-reads of the certificate and key files")
      ->envname("MESSAGING_TLS_RELOAD_SECONDS")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  serve->add_option("--drain-timeout", drain_seconds, "seconds to finish calls on SIGTERM")
      ->envname("MESSAGING_DRAIN_TIMEOUT_SECONDS")
      ->capture_default_str();
  serve
      ->add_option("--shutdown-delay", shutdown_delay_seconds,
                   "seconds to keep serving after SIGTERM with health NOT_SERVING, before draining")
      ->envname("MESSAGING_SHUTDOWN_DELAY_SECONDS")
      ->capture_default_str();
  serve->add_option("--max-connection-age", max_age_seconds, "seconds; 0 disables")
      ->envname("MESSAGING_MAX_CONNECTION_AGE_SECONDS")
      ->capture_default_str();
  serve->add_option("--max-content-bytes", max_content_bytes, "limit on message content")
      ->envname("MESSAGING_MAX_CONTENT_BYTES")
      ->capture_default_str();
  serve
      ->add_option("--event-retention-hours", retention_hours,
                   "how long stream events are kept (resume window)")
      ->envname("MESSAGING_EVENT_RETENTION_HOURS")
      ->capture_default_str();
  serve
      ->add_option("--ai-max-attempts", config.ai_work.max_attempts,
                   "AI work: attempts before an item is dead-lettered")
      ->envname("MESSAGING_AI_MAX_ATTEMPTS")
      ->capture_default_str();
  serve
      ->add_option("--ai-leased-cap", config.ai_work.leased_cap,
                   "AI work: items of one distributor leased at once")
      ->envname("MESSAGING_AI_LEASED_CAP")
      ->capture_default_str();
  int64_t dead_letter_hours = 24 * 7;
  serve
      ->add_option("--ai-dead-letter-retention-hours", dead_letter_hours,
                   "AI work: how long dead-lettered items are kept")
      ->envname("MESSAGING_AI_DEAD_LETTER_RETENTION_HOURS")
      ->capture_default_str();
  serve
      ->add_option("--heartbeat-seconds", heartbeat_seconds,
                   "heartbeat on idle streams; 0 disables")
      ->envname("MESSAGING_HEARTBEAT_SECONDS")
      ->capture_default_str();
  serve
      ->add_option("--stream-poll-ms", poll_ms,
                   "how often streams look for events no replica announced (writes by psql...)")
      ->envname("MESSAGING_STREAM_POLL_MS")
      ->capture_default_str();
  serve
      ->add_option("--stream-notify-ms", notify_ms,
                   "at most one NOTIFY per this interval announces this replica's writes")
      ->envname("MESSAGING_STREAM_NOTIFY_MS")
      ->capture_default_str();
  serve
      ->add_option("--metrics-listen", config.metrics_listen,
                   "host:port for Prometheus /metrics over HTTP; empty = off")
      ->envname("MESSAGING_METRICS_LISTEN");
  serve
      ->add_option("--rate-limit", config.rate_limit.per_second,
                   "calls per second per distributor; 0 = off")
      ->envname("MESSAGING_RATE_LIMIT_PER_SECOND")
      ->capture_default_str();
  serve->add_option("--rate-limit-burst", config.rate_limit.burst, "burst size per distributor")
      ->envname("MESSAGING_RATE_LIMIT_BURST")
      ->capture_default_str();
  serve
      ->add_option("--default-deadline", default_deadline_seconds,
                   "seconds of database work for calls without a deadline")
      ->envname("MESSAGING_DEFAULT_DEADLINE_SECONDS")
      ->capture_default_str();
  serve->add_option("--max-receive-bytes", max_receive_bytes, "largest request accepted")
      ->envname("MESSAGING_MAX_RECEIVE_BYTES")
      ->capture_default_str();
  serve
      ->add_option("--max-send-bytes", max_send_bytes,
                   "largest response or stream event sent (gRPC max send message size)")
      ->envname("MESSAGING_MAX_SEND_BYTES")
      ->capture_default_str();
  serve
      ->add_option("--max-page-bytes", config.limits.max_page_bytes,
                   "List pages stop adding rows at this many bytes (at least one row)")
      ->envname("MESSAGING_MAX_PAGE_BYTES")
      ->capture_default_str();
  serve
      ->add_option("--stream-queue-bytes", config.stream_queue_bytes,
                   "bytes of events one stream may hold before it reads from the log instead")
      ->envname("MESSAGING_STREAM_QUEUE_BYTES")
      ->capture_default_str();
  serve
      ->add_option("--stream-memory-bytes", config.stream_memory_bytes,
                   "bytes of events all streams together may hold")
      ->envname("MESSAGING_STREAM_MEMORY_BYTES")
      ->capture_default_str();
  serve
      ->add_option("--stream-read-bytes", config.stream_read_bytes,
                   "bytes of events one read of the change log may hold")
      ->envname("MESSAGING_STREAM_READ_BYTES")
      ->capture_default_str();
  serve
      ->add_option("--max-streams-per-distributor", config.max_streams_per_distributor,
                   "open StreamMessages calls per distributor on this server")
      ->envname("MESSAGING_MAX_STREAMS_PER_DISTRIBUTOR")
      ->capture_default_str();
  serve
      ->add_option("--stream-stall-seconds", stall_seconds,
                   "when stream memory runs out, end streams whose client has not taken an "
                   "event for this long")
      ->envname("MESSAGING_STREAM_STALL_SECONDS")
      ->capture_default_str();
  serve
      ->add_option("--max-concurrent-streams", config.max_concurrent_streams,
                   "HTTP/2 streams per client connection")
      ->envname("MESSAGING_MAX_CONCURRENT_STREAMS")
      ->capture_default_str();
  serve
      ->add_option("--serving-threads", config.serving_threads,
                   "Threads polling gRPC completion queues (0 = one per core)")
      ->envname("MESSAGING_SERVING_THREADS")
      ->capture_default_str();
  serve
      ->add_option("--worker-threads", config.worker_threads,
                   "Threads running unary calls' database work")
      ->envname("MESSAGING_WORKER_THREADS")
      ->capture_default_str();
  serve
      ->add_option("--tenant-concurrency", config.tenant_concurrency,
                   "calls of one distributor running at once (0 = half the pool, at most 2 per "
                   "serving thread)")
      ->envname("MESSAGING_TENANT_CONCURRENCY")
      ->capture_default_str();
  serve
      ->add_option("--tenant-queue-limit", config.tenant_queue_limit,
                   "calls of one distributor waiting for a thread; more: RESOURCE_EXHAUSTED")
      ->envname("MESSAGING_TENANT_QUEUE_LIMIT")
      ->capture_default_str();

  std::string migrate_url, migrations_dir;
  auto* migrate_cmd = app.add_subcommand("migrate", "Apply SQL migrations and exit");
  migrate_cmd
      ->add_option("--database-url", migrate_url,
                   "PostgreSQL URL of the role that owns the schema (default: DATABASE_URL)")
      ->envname("MESSAGING_MIGRATE_DATABASE_URL");
  migrate_cmd->add_option("--dir", migrations_dir,
                          "read *.sql from this directory instead of the built-in files");

  std::string distributor;
  std::string worker;
  int64_t ttl_seconds = 3600;
  auth::JwtOptions mint_jwt;
  auto* mint =
      app.add_subcommand("mint-token", "Print a signed token for a distributor or an AI worker");
  mint->add_option("--distributor", distributor,
                   "distributor UUID (required; with --worker: restricts the worker to it)");
  mint->add_option("--worker", worker, "AI worker name: mint a worker token");
  mint->add_option("--ttl", ttl_seconds, "lifetime in seconds")->capture_default_str();
  mint->add_option("--jwt-secret", mint_jwt.secret, "HS256 secret")
      ->envname("MESSAGING_JWT_SECRET");
  mint->add_option("--jwt-claim", mint_jwt.claim, "claim name")
      ->envname("MESSAGING_JWT_CLAIM")
      ->capture_default_str();
  mint->add_option("--jwt-audience", mint_jwt.audience, "aud claim to include")
      ->envname("MESSAGING_JWT_AUDIENCE");
  mint->add_option("--jwt-issuer", mint_jwt.issuer, "iss claim to include")
      ->envname("MESSAGING_JWT_ISSUER");

  // `serve` is the default subcommand.
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool has_subcommand =
      !args.empty() && (args[0] == "serve" || args[0] == "migrate" || args[0] == "mint-token");
  const bool wants_help = !args.empty() && (args[0] == "--help" || args[0] == "-h");
  if (!has_subcommand && !wants_help) args.insert(args.begin(), "serve");
  std::reverse(args.begin(), args.end());  // CLI11 takes them last-first.
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  const auto format = common.log_format == "text" ? log::Format::kText : log::Format::kJson;
  if (auto st = log::Init(common.log_level, format); !st.ok()) {
    std::cerr << "messaging-server: " << st.message() << "\n";
    return 2;
  }

  if (mint->parsed()) {
    auto token = worker.empty() ? auth::MintToken(mint_jwt, distributor, absl::Seconds(ttl_seconds),
                                                  absl::Now())
                                : auth::MintWorkerToken(mint_jwt, worker, distributor,
                                                        absl::Seconds(ttl_seconds), absl::Now());
    if (!token.ok()) {
      std::cerr << "messaging-server: " << token.status().message() << "\n";
      return 1;
    }
    std::cout << *token << "\n";
    return 0;
  }
  if (migrate_cmd->parsed()) return Migrate(migrate_url, migrations_dir);

  config.drain_timeout = absl::Seconds(drain_seconds);
  config.shutdown_delay = absl::Seconds(shutdown_delay_seconds);
  config.tls_reload_interval = absl::Seconds(tls_reload_seconds);
  config.max_connection_age = absl::Seconds(max_age_seconds);
  config.jwt.leeway = absl::Seconds(leeway_seconds);
  config.jwt.max_lifetime = absl::Seconds(std::max<int64_t>(0, max_lifetime_seconds));
  config.event_retention = absl::Hours(retention_hours);
  config.ai_work.dead_letter_retention = absl::Hours(dead_letter_hours);
  config.default_deadline = absl::Seconds(std::max<int64_t>(1, default_deadline_seconds));
  config.max_receive_message_bytes =
      static_cast<int>(std::clamp<int64_t>(max_receive_bytes, 64 * 1024, 64 * 1024 * 1024));
  config.max_send_message_bytes =
      static_cast<int>(std::clamp<int64_t>(max_send_bytes, 0, std::numeric_limits<int>::max()));
  config.stream_stall_timeout = absl::Seconds(stall_seconds);
  config.heartbeat_interval = absl::Seconds(heartbeat_seconds);
  config.stream_poll_interval = absl::Milliseconds(std::clamp<int64_t>(poll_ms, 5, 60'000));
  config.stream_notify_interval = absl::Milliseconds(std::clamp<int64_t>(notify_ms, 1, 1'000));
  config.limits.max_content_bytes =
      static_cast<std::size_t>(std::max<int64_t>(1, max_content_bytes));
  return Serve(config);
}

}  // namespace messaging::app
