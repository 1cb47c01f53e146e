#pragma once

// A fixed pool of threads for blocking work (libpqxx calls) that must never
// run on a completion-queue thread. Threads are created once: no churn per
// call. Owns its threads: Drain() or Shutdown() (or the destructor) joins them.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace messaging {

class Executor {
 public:
  explicit Executor(int threads);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`; a no-op after Drain() or Shutdown().
  void Post(std::function<void()> task);
  // Refuses new tasks, runs the queued ones, joins.
  void Drain();
  // Refuses new tasks, drops the queued ones, joins.
  void Shutdown();
  std::size_t queued() const;

 private:
  void Loop();
  void Stop(bool run_queued);

  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  bool run_queued_ = false;
  std::mutex join_mu_;  // Guards threads_ (joined and cleared by Stop).
  std::vector<std::thread> threads_;
};

}  // namespace messaging
