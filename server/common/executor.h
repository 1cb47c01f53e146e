#pragma once

// A fixed pool of threads for blocking work (libpqxx calls) that must never
// run on a completion-queue thread. Threads are created once: no churn per
// call. Owns its threads: Drain() or Shutdown() (or the destructor) joins them.
//
// Fair across keys (tenants): each key has its own queue, and the threads take
// one task per key in turn (round robin), so a key with a thousand queued
// tasks delays another key's task by at most one task per thread, not by a
// thousand. Optionally a key may run at most `max_running_per_key` tasks at
// once (so it cannot hold every database connection) and queue at most
// `max_queued_per_key` (so its backlog is bounded; Post refuses beyond it).
// Tasks posted without a key share one queue with no limits.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace messaging {

class Executor {
 public:
  struct Limits {
    int max_running_per_key = 0;         // 0: no limit.
    std::size_t max_queued_per_key = 0;  // 0: no limit.
  };

  explicit Executor(int threads) : Executor(threads, Limits{}) {}
  Executor(int threads, Limits limits);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task` under no key; a no-op after Drain() or Shutdown().
  void Post(std::function<void()> task) { (void)Post({}, std::move(task)); }
  // Queues `task` under `key`. False (and `task` is dropped) when `key` has
  // max_queued_per_key tasks waiting, or after Drain() or Shutdown().
  bool Post(absl::string_view key, std::function<void()> task);
  // Refuses new tasks, runs the queued ones, joins.
  void Drain();
  // Refuses new tasks, drops the queued ones, joins.
  void Shutdown();
  std::size_t queued() const;

 private:
  struct Queue {
    std::deque<std::function<void()>> tasks;
    int running = 0;
    bool in_turn = false;  // Listed in turns_.
  };

  void Loop();
  void Stop(bool run_queued);
  bool CanRun(absl::string_view key, const Queue& queue) const;
  // Lists `key` for a turn if it has work it may run now.
  void MaybeTakeTurn(const std::string& key, Queue& queue);

  const Limits limits_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  absl::flat_hash_map<std::string, Queue> queues_;
  std::deque<std::string> turns_;  // Keys whose next task may run, in turn order.
  std::size_t queued_ = 0;
  bool stopping_ = false;
  bool run_queued_ = false;
  std::mutex join_mu_;  // Guards threads_ (joined and cleared by Stop).
  std::vector<std::thread> threads_;
};

}  // namespace messaging
