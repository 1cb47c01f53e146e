#include "repository/connection_pool.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace messaging::repository {

std::string WithConnectTimeout(const std::string& database_url, absl::Duration timeout) {
  if (absl::StrContains(database_url, "connect_timeout")) return database_url;
  const auto seconds = std::max<int64_t>(1, absl::ToInt64Seconds(timeout));
  if (absl::StrContains(database_url, "://")) {
    return absl::StrCat(database_url, absl::StrContains(database_url, "?") ? "&" : "?",
                        "connect_timeout=", seconds);
  }
  return absl::StrCat(database_url, " connect_timeout=", seconds);
}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(leased_, std::move(conn_));
}

ConnectionPool::ConnectionPool(PoolOptions options, std::vector<PreparedStatement> statements)
    : options_(std::move(options)),
      connection_string_(WithConnectTimeout(options_.database_url, options_.connect_timeout)),
      statements_(std::move(statements)) {}

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectionPool::Open() {
  try {
    auto conn = std::make_unique<pqxx::connection>(connection_string_);
    if (options_.on_connect) {
      if (auto refused = options_.on_connect(*conn); !refused.ok()) {
        log::Error("database connection refused: {}", refused.message());
        return absl::UnavailableError("database unavailable");
      }
    }
    for (const auto& statement : statements_) conn->prepare(statement.name, statement.sql);
    return conn;
  } catch (const std::exception& e) {
    log::Warn("database connection failed: {}", e.what());
    return absl::UnavailableError("database unavailable");
  }
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire(absl::Time deadline) {
  const absl::Time give_up = std::min(deadline, absl::Now() + options_.max_wait);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      ++in_use_;
      leased_.insert(conn.get());
      return Lease(this, std::move(conn));
    }
    if (open_ < options_.size) {
      ++open_;
      ++in_use_;
      lock.unlock();
      auto conn = Open();
      lock.lock();
      if (!conn.ok()) {
        --open_;
        --in_use_;
        freed_.notify_one();
        return conn.status();
      }
      leased_.insert(conn->get());
      return Lease(this, *std::move(conn));
    }
    ++waiting_;
    const bool freed = freed_.wait_until(lock, absl::ToChronoTime(give_up),
                                         [&] { return !idle_.empty() || open_ < options_.size; });
    --waiting_;
    if (!freed) {
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError("deadline exceeded waiting for a database connection");
      }
      return absl::ResourceExhaustedError(
          absl::StrCat("all ", options_.size, " database connections are busy; retry later"));
    }
  }
}

void ConnectionPool::DropIdle() {
  std::vector<std::unique_ptr<pqxx::connection>> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    open_ -= static_cast<int>(idle_.size());
    dropped.swap(idle_);
  }
  freed_.notify_all();
}  // `dropped` closes outside the lock.

void ConnectionPool::CancelRunningQueries() {
  std::lock_guard<std::mutex> lock(mu_);
  for (pqxx::connection* conn : leased_) {
    try {
      conn->cancel_query();  // libpq's PQcancel: safe from another thread.
    } catch (const std::exception& e) {
      log::Warn("cancelling a query failed: {}", e.what());
    }
  }
}

void ConnectionPool::Forget(pqxx::connection* leased) {
  std::lock_guard<std::mutex> lock(mu_);
  leased_.erase(leased);
}

void ConnectionPool::Release(pqxx::connection* leased, std::unique_ptr<pqxx::connection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    leased_.erase(leased);
    --in_use_;
    if (conn && conn->is_open()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;  // Broken or discarded: the next Acquire opens a new one.
    }
  }
  freed_.notify_one();
}

}  // namespace messaging::repository
