#pragma once

// The one LISTEN connection of a replica: a dedicated, direct connection (never
// through a transaction pooler) that waits for NOTIFY messaging_events and
// calls `wake`. It also calls `wake` every poll interval -- events become
// readable when older transactions finish, which sends no notification -- and
// right after reconnecting, so streams catch up after a database restart.
// Owns its thread: Stop() (or the destructor) ends it.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace messaging::repository {

class EventListener {
 public:
  EventListener(std::string database_url, absl::Duration poll_interval, std::function<void()> wake);
  ~EventListener();
  EventListener(const EventListener&) = delete;
  EventListener& operator=(const EventListener&) = delete;

  void Start();
  void Stop();
  bool connected() const { return connected_.load(); }

 private:
  void Loop();

  const std::string database_url_;
  const absl::Duration poll_interval_;
  const std::function<void()> wake_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace messaging::repository
