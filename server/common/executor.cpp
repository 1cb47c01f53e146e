#include "common/executor.h"

#include "common/logging.h"

namespace messaging {

Executor::Executor(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

Executor::~Executor() { Shutdown(); }

void Executor::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  ready_.notify_one();
}

void Executor::Drain() { Stop(/*run_queued=*/true); }

void Executor::Shutdown() { Stop(/*run_queued=*/false); }

void Executor::Stop(bool run_queued) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    run_queued_ = run_queued;
    if (!run_queued) tasks_.clear();
  }
  ready_.notify_all();
  // Stop() may run on several threads at once (a shutdown racing the
  // destructor): one joins, the others wait until it has.
  std::lock_guard<std::mutex> joining(join_mu_);
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::size_t Executor::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

void Executor::Loop() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty() || (stopping_ && !run_queued_)) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      log::Error("executor task failed: {}", e.what());
    }
  }
}

}  // namespace messaging
