#pragma once

// Helpers shared by the fault tests: a write load that records every attempt
// (what was acknowledged, how each failure looked and how long it took),
// health checks, waiting, and reading the database as the admin.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "messaging/v1/messaging.grpc.pb.h"
#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing::faults {

// An idle gRPC client channel notices a server's GOAWAY or a listener coming
// up only when its backup poller runs, every 5 s by default: a server process
// with an idle connected test client then takes 5 s to exit, and a replica
// 5 s to look healthy. Poll faster (read by gRPC when it initialises, after
// static initialisation; an explicit environment setting wins).
inline const bool kFastClientPolling =
    setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0) == 0;

using HealthStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;
using grpc::health::v1::HealthCheckResponse;

inline bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout,
                      absl::Duration poll = absl::Milliseconds(50)) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    if (condition()) return true;
    absl::SleepFor(poll);
  }
  return condition();
}

// Health of the server behind `channel`; UNKNOWN if the check itself failed.
inline HealthStatus CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                absl::Duration timeout = absl::Seconds(1)) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  HealthCheckResponse response;
  if (!stub->Check(&context, request, &response).ok()) return HealthCheckResponse::UNKNOWN;
  return response.status();
}

inline std::shared_ptr<grpc::Channel> Connect(const std::string& address) {
  // A channel of its own (no shared subchannel), so one test's broken
  // connection never affects another channel.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

inline std::unique_ptr<grpc::ClientContext> ContextFor(const std::string& distributor,
                                                       absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + TokenFor(distributor));
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

// The outcome of one call.
struct Attempt {
  std::string tag;  // Content and external_message_id of the message.
  int target = 0;   // Index of the stub it went to.
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string error;
  std::string id;  // The message id when acknowledged.
  absl::Time start;
  absl::Duration elapsed;
};

// Threads that create messages (content = external_message_id = a unique
// tag) as fast as the server answers, and remember every attempt. With
// `retry_until_acknowledged`, a failed tag is retried (idempotent thanks to
// external_message_id) on the next stub until acknowledged: a client failing
// over between replicas.
class WriteLoad {
 public:
  struct Options {
    int threads = 4;
    absl::Duration deadline = absl::Seconds(5);
    bool retry_until_acknowledged = false;
    int max_attempts_per_tag = 100;
    absl::Duration pause_after_failure = absl::Milliseconds(20);
    std::string tag_prefix = "load";
  };

  WriteLoad(std::vector<v1::MessagingService::Stub*> stubs, std::string distributor,
            std::string conversation_id, Options options)
      : stubs_(std::move(stubs)),
        distributor_(std::move(distributor)),
        conversation_id_(std::move(conversation_id)),
        options_(std::move(options)) {
    for (int t = 0; t < options_.threads; ++t) threads_.emplace_back([this, t] { Run(t); });
  }
  ~WriteLoad() { Stop(); }

  // Asks the threads to stop and waits for them; a thread retrying a tag
  // finishes that tag first (bounded by max_attempts_per_tag).
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  int acknowledged_count() const { return acknowledged_.load(); }

  std::vector<Attempt> attempts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }

  // tag -> message id of every acknowledged write.
  std::map<std::string, std::string> Acknowledged() const {
    std::map<std::string, std::string> out;
    for (const auto& a : attempts()) {
      if (a.code == grpc::StatusCode::OK) out[a.tag] = a.id;
    }
    return out;
  }

  // Every tag ever sent.
  std::set<std::string> Tags() const {
    std::set<std::string> out;
    for (const auto& a : attempts()) out.insert(a.tag);
    return out;
  }

  // Tags that were tried but never acknowledged.
  std::set<std::string> Unacknowledged() const {
    const auto acked = Acknowledged();
    std::set<std::string> out;
    for (const auto& tag : Tags()) {
      if (acked.count(tag) == 0) out.insert(tag);
    }
    return out;
  }

  // Failed attempts, for assertions on codes and durations.
  std::vector<Attempt> Failures() const {
    std::vector<Attempt> out;
    for (const auto& a : attempts()) {
      if (a.code != grpc::StatusCode::OK) out.push_back(a);
    }
    return out;
  }

  // OK attempts that started after `t`.
  int AcknowledgedAfter(absl::Time t) const {
    int n = 0;
    for (const auto& a : attempts()) n += a.code == grpc::StatusCode::OK && a.start > t;
    return n;
  }

 private:
  void Run(int thread) {
    int target = thread % static_cast<int>(stubs_.size());
    for (int i = 0; !stop_; ++i) {
      const std::string tag = absl::StrCat(options_.tag_prefix, "-", thread, "-", i);
      for (int attempt = 0; attempt < options_.max_attempts_per_tag; ++attempt) {
        const bool ok = Once(tag, target);
        if (ok) break;
        target = (target + 1) % static_cast<int>(stubs_.size());
        absl::SleepFor(options_.pause_after_failure);
        if (!options_.retry_until_acknowledged) break;
      }
    }
  }

  bool Once(const std::string& tag, int target) {
    v1::CreateMessageRequest request;
    request.mutable_message()->set_conversation_id(conversation_id_);
    request.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
    request.mutable_message()->set_content(tag);
    request.mutable_message()->set_external_message_id(tag);
    auto context = ContextFor(distributor_, options_.deadline);
    v1::Message response;
    Attempt a;
    a.tag = tag;
    a.target = target;
    a.start = absl::Now();
    const grpc::Status status = stubs_[target]->CreateMessage(context.get(), request, &response);
    a.elapsed = absl::Now() - a.start;
    a.code = status.error_code();
    a.error = status.error_message();
    if (status.ok()) {
      a.id = response.id();
      ++acknowledged_;
    }
    std::lock_guard<std::mutex> lock(mu_);
    attempts_.push_back(std::move(a));
    return status.ok();
  }

  const std::vector<v1::MessagingService::Stub*> stubs_;
  const std::string distributor_;
  const std::string conversation_id_;
  const Options options_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acknowledged_{0};
  mutable std::mutex mu_;
  std::vector<Attempt> attempts_;
  std::vector<std::thread> threads_;
};

// Polls health every `every` on a thread and records each change.
class HealthRecorder {
 public:
  HealthRecorder(std::shared_ptr<grpc::Channel> channel,
                 absl::Duration every = absl::Milliseconds(50))
      : channel_(std::move(channel)) {
    thread_ = std::thread([this, every] {
      while (!stop_) {
        const HealthStatus s = CheckHealth(channel_, absl::Milliseconds(500));
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (seen_.empty() || seen_.back() != s) seen_.push_back(s);
        }
        absl::SleepFor(every);
      }
    });
  }
  ~HealthRecorder() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // The distinct consecutive statuses seen, e.g. SERVING, NOT_SERVING, SERVING.
  std::vector<HealthStatus> Seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<HealthStatus> seen_;
  std::thread thread_;
};

inline std::string HealthHistory(const std::vector<HealthStatus>& seen) {
  std::string out;
  for (auto s : seen)
    absl::StrAppend(&out, out.empty() ? "" : " -> ", HealthCheckResponse::ServingStatus_Name(s));
  return out;
}

// Runs SQL as the admin over `url` in its own transaction.
inline pqxx::result AdminExec(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  auto result = tx.exec(sql);
  tx.commit();
  return result;
}

// content -> id of every message of a conversation, as the admin sees it.
inline std::map<std::string, std::string> StoredMessages(const std::string& url,
                                                         const std::string& conversation_id) {
  std::map<std::string, std::string> out;
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  for (const auto& row : tx.exec_params(
           "SELECT content, id::text FROM messages WHERE conversation_id = $1", conversation_id)) {
    out[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  return out;
}

// Ids of a distributor's CREATED events in log order ((xid, seq), the order
// streams deliver in).
inline std::vector<std::string> CreatedInLogOrder(const std::string& url,
                                                  const std::string& distributor) {
  std::vector<std::string> out;
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  for (const auto& row :
       tx.exec_params("SELECT message_id::text FROM message_events WHERE distributor_id = $1 "
                      "AND event_type = 'created' ORDER BY xid, seq",
                      distributor)) {
    out.push_back(row[0].as<std::string>());
  }
  return out;
}

inline std::vector<std::string> CreatedIds(const std::vector<v1::MessageEvent>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) {
    if (e.type() == v1::MESSAGE_EVENT_TYPE_CREATED) ids.push_back(e.message().id());
  }
  return ids;
}

// A conversation made directly in the database (no server needed).
inline std::string InsertConversation(const std::string& url, const std::string& distributor,
                                      const std::string& customer) {
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  auto id = tx.exec_params(
                  "INSERT INTO conversations (distributor_id, customer_id, channel) "
                  "VALUES ($1, $2, 'whatsapp') RETURNING id::text",
                  distributor, customer)
                .at(0)
                .at(0)
                .as<std::string>();
  tx.commit();
  return id;
}

// A message written directly in the database (no server needed), e.g. a
// marker that follows an action in log order.
inline std::string InsertMessage(const std::string& url, const std::string& distributor,
                                 const std::string& conversation_id, const std::string& content) {
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  auto id = tx.exec_params(
                  "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
                  "delivery_status) VALUES ($1, $2, 'inbound', $3, 'received') RETURNING id::text",
                  conversation_id, distributor, content)
                .at(0)
                .at(0)
                .as<std::string>();
  tx.commit();
  return id;
}

inline std::string InsertRow(const std::string& url, const std::string& table) {
  return AdminExec(url, "INSERT INTO " + table + " DEFAULT VALUES RETURNING id::text")
      .at(0)
      .at(0)
      .as<std::string>();
}

// Backends (in any database of the cluster at `admin_url`) blocked by the
// backend of `holder`, e.g. calls waiting for a row lock a test holds.
inline long long BlockedBy(const std::string& admin_url, pqxx::connection& holder) {
  pqxx::connection conn(admin_url);
  pqxx::nontransaction tx(conn);
  return tx
      .exec_params("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                   holder.backendpid())
      .at(0)
      .at(0)
      .as<long long>();
}

// Backends the servers under test (kServerLoginRole) have in `database`:
// once there are none, nothing a server started there can still commit.
inline long long ServerBackends(const std::string& admin_url, const std::string& database) {
  pqxx::connection conn(admin_url);
  pqxx::nontransaction tx(conn);
  return tx
      .exec_params("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND usename = $2",
                   database, std::string(kServerLoginRole))
      .at(0)
      .at(0)
      .as<long long>();
}

inline std::string CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i <= 16 ? kNames[i] : absl::StrCat("code ", i);
}

}  // namespace messaging::testing::faults
