#pragma once

// A bounded pool of libpqxx connections. pqxx::connection is not thread-safe,
// so a connection is leased to one caller at a time. Connections are opened
// lazily, prepare every registered statement once, and are dropped when they
// break (the next lease opens a fresh one), so the pool heals after a
// database restart without a restart of the server.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace messaging::repository {

struct PreparedStatement {
  const char* name;
  std::string sql;
};

struct PoolOptions {
  std::string database_url;
  int size = 16;
  absl::Duration connect_timeout = absl::Seconds(5);
  // Longest a caller waits for a free connection, whatever its deadline.
  absl::Duration max_wait = absl::Seconds(10);
  // Runs on every new connection; an error refuses it (logged; the caller
  // gets UNAVAILABLE).
  std::function<absl::Status(pqxx::connection&)> on_connect;
};

class ConnectionPool {
 public:
  // A connection borrowed from the pool; returned when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          leased_(other.leased_),
          conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    pqxx::connection& connection() { return *conn_; }
    // The connection is unusable (broken, or its state unknown): close it.
    void Discard() {
      if (pool_ != nullptr) pool_->Forget(leased_);
      conn_.reset();
    }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), leased_(conn.get()), conn_(std::move(conn)) {}

    ConnectionPool* pool_;
    pqxx::connection* leased_;  // Identity in the pool's leased set, even after Discard().
    std::unique_ptr<pqxx::connection> conn_;
  };

  ConnectionPool(PoolOptions options, std::vector<PreparedStatement> statements);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection, waiting until `deadline` (at most max_wait) for one to be
  // free: RESOURCE_EXHAUSTED when none frees up in time, DEADLINE_EXCEEDED if
  // the deadline has passed, UNAVAILABLE when the database cannot be reached.
  absl::StatusOr<Lease> Acquire(absl::Time deadline);

  // Closes every idle connection (after one turned out dead: the others, idle
  // as long, probably are too, e.g. after a database restart).
  void DropIdle();

  // Asks PostgreSQL to cancel the statement running on every leased
  // connection (at the end of a shutdown's drain deadline).
  void CancelRunningQueries();

  int size() const { return options_.size; }
  int in_use() const { return in_use_.load(); }
  int waiting() const { return waiting_.load(); }

 private:
  void Release(pqxx::connection* leased, std::unique_ptr<pqxx::connection> conn);
  void Forget(pqxx::connection* leased);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Open();

  const PoolOptions options_;
  const std::string connection_string_;
  const std::vector<PreparedStatement> statements_;

  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::set<pqxx::connection*> leased_;
  int open_ = 0;  // Idle plus leased (plus being opened).
  std::atomic<int> in_use_{0};
  std::atomic<int> waiting_{0};
};

// Adds libpq's connect_timeout to a URL or key=value connection string.
std::string WithConnectTimeout(const std::string& database_url, absl::Duration timeout);

}  // namespace messaging::repository
