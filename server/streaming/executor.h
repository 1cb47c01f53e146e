#pragma once

// A fixed pool of threads for blocking work (database reads) that must never
// run on a gRPC reactor thread. Owns its threads: Shutdown() (or the
// destructor) drops queued tasks and joins.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace messaging::streaming {

class Executor {
 public:
  explicit Executor(int threads);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`; a no-op after Shutdown().
  void Post(std::function<void()> task);
  void Shutdown();
  std::size_t queued() const;

 private:
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace messaging::streaming
