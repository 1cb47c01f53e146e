#pragma once

// Periodically checks that PostgreSQL answers, on a connection of its own (so a
// busy pool never makes the server look dead), and reports changes. Owns its
// thread: Stop() (or the destructor) ends it.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace messaging::repository {

class DatabaseProbe {
 public:
  using Listener = std::function<void(bool reachable)>;

  DatabaseProbe(std::string database_url, absl::Duration interval, Listener on_change);
  ~DatabaseProbe();
  DatabaseProbe(const DatabaseProbe&) = delete;
  DatabaseProbe& operator=(const DatabaseProbe&) = delete;

  // Checks once synchronously, then keeps checking in the background.
  void Start();
  void Stop();
  bool reachable() const { return reachable_.load(); }

 private:
  bool CheckOnce();
  void Loop();

  const std::string database_url_;
  const absl::Duration interval_;
  const Listener on_change_;
  // Kept open between checks, reopened when broken. Only Start() (before the
  // thread exists) and then Loop() use it.
  std::unique_ptr<pqxx::connection> conn_;
  std::atomic<bool> reachable_{false};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace messaging::repository
