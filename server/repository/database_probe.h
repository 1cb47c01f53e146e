#pragma once

// Periodically checks that PostgreSQL answers, on a connection of its own (so a
// busy pool never makes the server look dead), and reports changes. Checks
// run on a PeriodicTask: Stop() (or the destructor) ends them.

#include <atomic>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "absl/time/time.h"
#include "common/periodic_task.h"

namespace messaging::repository {

class DatabaseProbe {
 public:
  using Listener = std::function<void(bool reachable)>;

  DatabaseProbe(const std::string& database_url, absl::Duration interval, Listener on_change);
  ~DatabaseProbe();
  DatabaseProbe(const DatabaseProbe&) = delete;
  DatabaseProbe& operator=(const DatabaseProbe&) = delete;

  // Checks once synchronously, then keeps checking in the background.
  void Start();
  void Stop();
  bool reachable() const { return reachable_.load(); }

 private:
  bool CheckOnce();
  // CheckOnce(), and on_change_ when the answer differs from the last one.
  void CheckAndReport();

  const std::string database_url_;
  const absl::Duration interval_;
  const Listener on_change_;
  // Kept open between checks, reopened when broken. Only Start() (before the
  // task exists) and then the task use it.
  std::unique_ptr<pqxx::connection> conn_;
  std::atomic<bool> reachable_{false};
  std::unique_ptr<PeriodicTask> checks_;  // Last: stops before the members it uses go.
};

}  // namespace messaging::repository
