#include "app/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/executor.h"
#include "common/logging.h"
#include "common/periodic_task.h"
#include "domain/ai_work_service.h"
#include "domain/conversation_service.h"
#include "domain/message_service.h"
#include "domain/page_token.h"
#include "domain/rate_limiter.h"
#include "domain/sealed_token.h"
#include "domain/stream_cursor_codec.h"
#include "observability/metrics.h"
#include "observability/metrics_server.h"
#include "repository/connection_pool.h"
#include "repository/database_probe.h"
#include "repository/event_listener.h"
#include "repository/login_role_check.h"
#include "repository/pg_ai_work_repository.h"
#include "repository/pg_conversation_repository.h"
#include "repository/pg_event_repository.h"
#include "repository/pg_message_repository.h"
#include "repository/transaction.h"
#include "streaming/stream_hub.h"
#include "transport/async_method.h"
#include "transport/call_handler.h"
#include "transport/completion_queues.h"
#include "transport/health_service.h"
#include "transport/messaging_service.h"

namespace messaging::app {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view setting) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(setting, ": cannot read ", path));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerConfig& config) {
  if (config.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  auto cert = ReadFile(config.tls_cert_file, "MESSAGING_TLS_CERT");
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(config.tls_key_file, "MESSAGING_TLS_KEY");
  if (!key.ok()) return key.status();
  // The files were readable now (a clear error at start-up otherwise); from
  // here gRPC re-reads them every interval and serves new handshakes with the
  // newest pair whose key matches its certificate. Connections already open
  // keep the certificate they were made with.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.tls_key_file, config.tls_cert_file,
      static_cast<unsigned int>(
          std::max<int64_t>(1, absl::ToInt64Seconds(config.tls_reload_interval))));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  return grpc::experimental::TlsServerCredentials(options);
}

std::vector<repository::PreparedStatement> AllStatements() {
  std::vector<repository::PreparedStatement> all = {
      repository::TransactionRunner::TenantSetupStatement()};
  for (auto& s : repository::PgConversationRepository::Statements()) all.push_back(std::move(s));
  for (auto& s : repository::PgMessageRepository::Statements()) all.push_back(std::move(s));
  for (auto& s : repository::PgEventRepository::Statements()) all.push_back(std::move(s));
  for (auto& s : repository::PgAiWorkRepository::Statements()) all.push_back(std::move(s));
  return all;
}

// The largest message a response or stream event can carry on the wire: a
// JSON value of tiny elements ("[0,0,...]", 2 bytes each) grows to about 11
// bytes each as a google.protobuf.Struct.
std::size_t LargestMessageOnTheWire(const domain::Limits& limits) {
  return limits.max_content_bytes + 2 * 6 * limits.max_json_bytes + limits.max_summary_bytes +
         8 * limits.max_text_field_bytes + 4096;
}

// Every pooled connection refuses a login role that could get around RLS.
repository::PoolOptions PoolOptionsFor(const ServerConfig& config, int size) {
  repository::PoolOptions options;
  options.database_url = config.database_url;
  options.size = size;
  options.on_connect = repository::LoginRoleGuard(config.app_role);
  return options;
}

}  // namespace

absl::Status ValidateConfig(const ServerConfig& config) {
  if (config.database_url.empty()) {
    return absl::InvalidArgumentError("DATABASE_URL: is required (--database-url)");
  }
  if (auto st = auth::ValidateSecret(config.jwt.secret); !st.ok()) return st;
  if (config.jwt.claim.empty()) return absl::InvalidArgumentError("MESSAGING_JWT_CLAIM: is empty");
  if (config.pool_size < 1 || config.pool_size > 1000) {
    return absl::InvalidArgumentError("MESSAGING_POOL_SIZE: must be between 1 and 1000");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "MESSAGING_TLS_CERT and MESSAGING_TLS_KEY: set both or neither");
  }
  if (config.drain_timeout < absl::ZeroDuration() || config.shutdown_delay < absl::ZeroDuration() ||
      config.max_connection_age < absl::ZeroDuration() ||
      config.heartbeat_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("durations must not be negative");
  }
  if (config.event_retention < absl::Hours(1)) {
    return absl::InvalidArgumentError("MESSAGING_EVENT_RETENTION_HOURS: must be at least 1");
  }
  if (config.rate_limit.per_second < 0 || config.rate_limit.burst < 0) {
    return absl::InvalidArgumentError("MESSAGING_RATE_LIMIT_*: must not be negative");
  }
  if (config.worker_threads < 0 || config.worker_threads > 1024) {
    return absl::InvalidArgumentError("MESSAGING_WORKER_THREADS: must be between 0 and 1024");
  }
  if (config.tenant_concurrency < 0 || config.tenant_queue_limit < 1) {
    return absl::InvalidArgumentError(
        "MESSAGING_TENANT_CONCURRENCY must be >= 0 and MESSAGING_TENANT_QUEUE_LIMIT >= 1");
  }
  if (config.serving_threads < 0 || config.serving_threads > 256) {
    return absl::InvalidArgumentError("MESSAGING_SERVING_THREADS: must be between 0 and 256");
  }
  if (config.ai_work.max_attempts < 1 || config.ai_work.leased_cap < 1 ||
      config.ai_work.dead_letter_retention < absl::Hours(1)) {
    return absl::InvalidArgumentError(
        "MESSAGING_AI_MAX_ATTEMPTS and MESSAGING_AI_LEASED_CAP must be >= 1, "
        "MESSAGING_AI_DEAD_LETTER_RETENTION_HOURS >= 1");
  }
  if (config.stream_executor_threads < 1 || config.stream_queue_capacity < 1) {
    return absl::InvalidArgumentError("stream executor threads and queue capacity must be >= 1");
  }
  if (config.max_send_message_bytes < 0 || static_cast<std::size_t>(config.max_send_message_bytes) <
                                               LargestMessageOnTheWire(config.limits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MESSAGING_MAX_SEND_BYTES: must be at least ", LargestMessageOnTheWire(config.limits),
        " (the largest message the content and JSON limits allow)"));
  }
  if (config.limits.max_page_bytes < 1024 || config.stream_queue_bytes < 1024 ||
      config.stream_read_bytes < 1024) {
    return absl::InvalidArgumentError(
        "MESSAGING_MAX_PAGE_BYTES, MESSAGING_STREAM_QUEUE_BYTES and MESSAGING_STREAM_READ_BYTES: "
        "must be at least 1024");
  }
  // Every event must fit the budget on its own, or its streams could never take it.
  if (config.stream_memory_bytes <
      std::max(config.stream_queue_bytes, LargestMessageOnTheWire(config.limits))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MESSAGING_STREAM_MEMORY_BYTES: must be at least MESSAGING_STREAM_QUEUE_BYTES and ",
        LargestMessageOnTheWire(config.limits), " (the largest message the limits allow)"));
  }
  if (config.max_streams_per_distributor < 1) {
    return absl::InvalidArgumentError("MESSAGING_MAX_STREAMS_PER_DISTRIBUTOR: must be >= 1");
  }
  if (config.stream_stall_timeout < absl::Seconds(1)) {
    return absl::InvalidArgumentError("MESSAGING_STREAM_STALL_SECONDS: must be at least 1");
  }
  return absl::OkStatus();
}

int ServingThreads(const ServerConfig& config) {
  return config.serving_threads > 0
             ? config.serving_threads
             : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

int TenantConcurrency(const ServerConfig& config) {
  if (config.tenant_concurrency > 0) return config.tenant_concurrency;
  return std::max(
      1, std::min(config.pool_size / 2, kTenantCallsPerServingThread * ServingThreads(config)));
}

namespace {

streaming::HubOptions HubOptionsOf(const ServerConfig& config) {
  streaming::HubOptions options;
  options.read_bytes = static_cast<std::int64_t>(config.stream_read_bytes);
  options.memory_bytes = config.stream_memory_bytes;
  options.max_streams_per_distributor = config.max_streams_per_distributor;
  options.stall_timeout = config.stream_stall_timeout;
  return options;
}

}  // namespace

struct MessagingServer::Components {
  explicit Components(const ServerConfig& config)
      : pool(PoolOptionsFor(config, config.pool_size), AllStatements()),
        transactions(pool, {config.app_role}),
        conversation_repository(transactions, [this] { listener.Announce(); }),
        message_repository(transactions, [this] { listener.Announce(); }),
        event_repository(transactions),
        ai_work_repository(transactions, [this] { listener.Announce(); }),
        stream_pool(PoolOptionsFor(config, config.stream_executor_threads), AllStatements()),
        stream_transactions(stream_pool, {config.app_role}),
        stream_events(stream_transactions),
        stream_conversations(stream_transactions),
        sealer(config.jwt.secret),
        page_tokens(sealer),
        cursors(sealer, config.event_retention),
        conversations(conversation_repository, page_tokens, cursors, config.limits),
        messages(message_repository, page_tokens, cursors, config.limits),
        ai_work(ai_work_repository, sealer, config.ai_work),
        verifier(config.jwt),
        rate_limiter(config.rate_limit),
        calls(verifier, rate_limiter, metrics, {config.default_deadline}),
        workers(
            config.worker_threads > 0 ? config.worker_threads : std::max(4, 2 * config.pool_size),
            {TenantConcurrency(config), static_cast<std::size_t>(config.tenant_queue_limit)}),
        executor(config.stream_executor_threads),
        hub(stream_events, stream_conversations, executor, HubOptionsOf(config)),
        messaging_service(conversations, messages, ai_work),
        methods({&calls, &workers, &refusing, &long_polls}),
        probe(config.database_url, config.health_interval,
              [this](bool reachable) { health.SetServing(reachable); }),
        listener(
            config.database_url,
            {config.stream_poll_interval, config.stream_notify_interval, config.app_role},
            [this](const domain::EventHeads& heads, bool everything) {
              hub.OnHeads(heads, everything);
            },
            // New events may be new work (an item is enqueued with its
            // message): waiting claims of those tenants look again, as
            // soon as the events are read.
            [this](const domain::EventHeads& heads, bool everything) {
              if (everything) {
                long_polls.WakeAll();
              } else if (!heads.changed.empty()) {
                std::vector<std::string> tenants;
                tenants.reserve(heads.changed.size());
                for (const auto& head : heads.changed) tenants.push_back(head.distributor_id);
                long_polls.Wake(tenants);
              }
            }),
        metrics_server(metrics) {
    metrics.AddGauge("messaging_db_pool_size", "Database connections allowed.",
                     [this] { return pool.size(); });
    metrics.AddGauge("messaging_db_pool_in_use", "Database connections leased.",
                     [this] { return pool.in_use(); });
    metrics.AddGauge("messaging_db_pool_waiting", "Callers waiting for a connection.",
                     [this] { return pool.waiting(); });
    const std::pair<const char*, domain::AiWorkState> ai_states[] = {
        {"messaging_ai_work_available", domain::AiWorkState::kAvailable},
        {"messaging_ai_work_leased", domain::AiWorkState::kLeased},
        {"messaging_ai_work_dead_lettered", domain::AiWorkState::kDeadLettered}};
    for (const auto& [name, state] : ai_states) {
      metrics.AddGauge(name,
                       "AI work items in this state (all distributors; refreshed every 15 s).",
                       [this, i = static_cast<std::size_t>(state)] {
                         return static_cast<double>(ai_items[i].load());
                       });
    }
    metrics.AddGauge("messaging_ai_claims_waiting",
                     "ClaimAiWork calls waiting on this server for work (long polls).",
                     [this] { return static_cast<double>(long_polls.parked()); });
    metrics.AddGauge("messaging_streams_open", "Open StreamMessages calls.",
                     [this] { return static_cast<double>(hub.subscriptions()); });
    metrics.AddGauge("messaging_stream_listener_connected", "1 while the LISTEN connection is up.",
                     [this] { return listener.connected() ? 1 : 0; });
    metrics.AddGauge("messaging_stream_executor_queued", "Stream reads waiting for a thread.",
                     [this] { return static_cast<double>(executor.queued()); });
    metrics.AddGauge("messaging_stream_memory_bytes",
                     "Bytes of events queued in or being written to streams.",
                     [this] { return static_cast<double>(hub.memory().used()); });
    metrics.AddGauge("messaging_stream_memory_limit_bytes", "The stream memory budget.",
                     [this] { return static_cast<double>(hub.memory().limit()); });
    metrics.AddGauge("messaging_streams_ended_stalled",
                     "Streams ended since start because their client stopped reading while "
                     "stream memory was exhausted.",
                     [this] { return static_cast<double>(hub.stalled_streams_ended()); });
    metrics.AddGauge("messaging_database_reachable", "1 while the database answers.",
                     [this] { return probe.reachable() ? 1 : 0; });
    messaging_service.Register(
        methods, calls, hub, cursors,
        {{static_cast<std::size_t>(config.stream_queue_capacity), config.stream_queue_bytes}});
    health.Register(methods);
  }

  repository::ConnectionPool pool;
  repository::TransactionRunner transactions;
  repository::PgConversationRepository conversation_repository;
  repository::PgMessageRepository message_repository;
  repository::PgEventRepository event_repository;
  repository::PgAiWorkRepository ai_work_repository;
  // Stream reads have connections of their own (one per stream executor
  // thread): they never queue behind unary calls for the main pool.
  repository::ConnectionPool stream_pool;
  repository::TransactionRunner stream_transactions;
  repository::PgEventRepository stream_events;
  repository::PgConversationRepository stream_conversations;
  domain::TokenSealer sealer;
  domain::PageTokenCodec page_tokens;
  domain::StreamCursorCodec cursors;
  domain::ConversationService conversations;
  domain::MessageService messages;
  domain::AiWorkService ai_work;
  auth::TokenVerifier verifier;
  domain::RateLimiter rate_limiter;
  observability::Metrics metrics;
  transport::CallHandler calls;
  Executor workers;   // Unary calls' database work.
  Executor executor;  // Stream reads.
  streaming::StreamHub hub;
  transport::MessagingService messaging_service;
  transport::HealthService health;
  std::atomic<bool> refusing{false};      // Past the drain deadline: start no more database work.
  transport::LongPollWaiters long_polls;  // Woken by the listener's heads.
  transport::AsyncMethods methods;
  std::unique_ptr<transport::CompletionQueues> queues;
  repository::DatabaseProbe probe;
  repository::EventListener listener;
  observability::MetricsServer metrics_server;
  std::unique_ptr<PeriodicTask> heartbeats;
  std::unique_ptr<PeriodicTask> pruning;
  // AI work items per state (AiWorkState order), refreshed by ai_depth: a
  // scrape never waits for the database.
  std::array<std::atomic<std::int64_t>, 3> ai_items{};
  std::unique_ptr<PeriodicTask> ai_depth;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  bool shut_down = false;
};

absl::StatusOr<std::unique_ptr<MessagingServer>> MessagingServer::Start(
    const ServerConfig& config) {
  if (auto st = ValidateConfig(config); !st.ok()) return st;
#ifdef NDEBUG
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex inside gRPC
  // would run the deadlock detector (a graph update per lock). Debug builds keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  auto credentials = Credentials(config);
  if (!credentials.ok()) return credentials.status();
  if (auto st = repository::CheckLoginRoleAtStart(
          config.database_url, repository::PoolOptions{}.connect_timeout, config.app_role);
      !st.ok()) {
    return st;
  }

  auto c = std::make_unique<Components>(config);
  if (!config.metrics_listen.empty()) {
    if (auto st = c->metrics_server.Start(config.metrics_listen); !st.ok()) return st;
  }
  c->probe.Start();  // Health reflects the database from the first call on.
  c->listener.Start();
  auto* raw = c.get();
  if (config.heartbeat_interval > absl::ZeroDuration()) {
    c->heartbeats =
        std::make_unique<PeriodicTask>(config.heartbeat_interval, [raw] { raw->hub.Heartbeat(); });
  }
  c->ai_depth = std::make_unique<PeriodicTask>(absl::Seconds(15), [raw] {
    auto depth = raw->ai_work_repository.Depth();
    if (!depth.ok()) {
      log::Debug("reading the AI work queue's depth failed: {}", depth.status().message());
      return;
    }
    std::array<std::int64_t, 3> counts{};
    for (const auto& [state, n] : *depth) counts[static_cast<std::size_t>(state)] = n;
    for (std::size_t i = 0; i < counts.size(); ++i) raw->ai_items[i] = counts[i];
  });
  c->pruning = std::make_unique<PeriodicTask>(
      config.prune_interval, [raw, retention = config.event_retention] {
        auto pruned = raw->event_repository.Prune(retention);
        if (!pruned.ok()) {
          log::Warn("pruning stream events failed: {}", pruned.status().message());
        } else if (*pruned > 0) {
          log::Info("pruned {} stream events", *pruned);
        }
        // Dead letters past their retention, on the same schedule.
        auto dead = raw->ai_work_repository.Prune(raw->ai_work.settings().dead_letter_retention);
        if (!dead.ok()) {
          log::Warn("pruning AI work dead letters failed: {}", dead.status().message());
        } else if (*dead > 0) {
          log::Info("pruned {} AI work dead letters and completion records", *dead);
        }
      });

  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen, *credentials, &c->port);
  builder.RegisterService(c->messaging_service.service());
  builder.RegisterService(c->health.service());
  builder.SetMaxReceiveMessageSize(config.max_receive_message_bytes);
  builder.SetMaxSendMessageSize(config.max_send_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, config.max_concurrent_streams);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(config.keepalive_time)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             static_cast<int>(absl::ToInt64Milliseconds(config.keepalive_timeout)));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config.min_client_ping_interval)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (config.max_connection_age > absl::ZeroDuration()) {
    // GOAWAY after this age so clients reconnect and load spreads over new replicas.
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(config.max_connection_age)));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               static_cast<int>(absl::ToInt64Milliseconds(config.drain_timeout)));
  }
  const int serving_threads = ServingThreads(config);
  c->queues = std::make_unique<transport::CompletionQueues>(builder, serving_threads);
  c->server = builder.BuildAndStart();
  if (c->server == nullptr || c->port == 0) {
    c->queues.reset();
    c->probe.Stop();
    c->listener.Stop();
    c->metrics_server.Stop();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", config.listen));
  }
  c->methods.ListenOn(*c->queues);
  c->queues->Start();
  log::Write(spdlog::level::info, "serving",
             {{"listen", config.listen},
              {"serving_threads", serving_threads},
              {"port", c->port},
              {"tls", !config.tls_cert_file.empty()},
              {"pool_size", config.pool_size},
              {"tenant_concurrency", TenantConcurrency(config)}});
  return std::unique_ptr<MessagingServer>(new MessagingServer(std::move(c)));
}

MessagingServer::MessagingServer(std::unique_ptr<Components> components)
    : c_(std::move(components)) {}

MessagingServer::~MessagingServer() { Shutdown(absl::ZeroDuration()); }

int MessagingServer::port() const { return c_->port; }

int MessagingServer::metrics_port() const { return c_->metrics_server.port(); }

void MessagingServer::StopAdvertising() { c_->health.Shutdown(); }

void MessagingServer::Shutdown(absl::Duration drain) {
  if (c_->shut_down) return;
  c_->shut_down = true;
  c_->health.Shutdown();
  log::Info("shutting down; draining in-flight calls for up to {}", absl::FormatDuration(drain));
  // Streams never end by themselves: end them now with a status clients resume from.
  c_->hub.Shutdown(absl::UnavailableError("server shutting down; resume from the last cursor"));
  // Waiting claims answer now (empty unless work came meanwhile).
  c_->long_polls.Close();
  // gRPC waits for in-flight calls until the deadline, then cancels them and
  // returns. A body blocked in PostgreSQL would still run on (and could still
  // commit): from then on no body starts, and running statements are
  // cancelled until every worker is idle, so the process stops at the deadline.
  c_->server->Shutdown(absl::ToChronoTime(absl::Now() + drain));
  c_->server->Wait();
  c_->refusing = true;
  std::atomic<bool> drained{false};
  std::thread canceller([this, &drained] {
    while (!drained) {
      c_->pool.CancelRunningQueries();
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  c_->workers.Drain();  // Queued bodies answer UNAVAILABLE.
  drained = true;
  canceller.join();
  // Nothing may start an operation on a queue once it is shut down: stop
  // everything that writes to streams first.
  if (c_->heartbeats) c_->heartbeats->Stop();
  c_->pruning->Stop();
  c_->ai_depth->Stop();
  c_->listener.Stop();
  c_->executor.Shutdown();
  c_->queues->Shutdown();
  c_->probe.Stop();
  c_->metrics_server.Stop();
  log::Info("shut down");
}

}  // namespace messaging::app
