#include "common/executor.h"

#include <utility>

#include "common/logging.h"

namespace messaging {

Executor::Executor(int threads, Limits limits) : limits_(limits) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

Executor::~Executor() { Shutdown(); }

bool Executor::CanRun(absl::string_view key, const Queue& queue) const {
  const bool limited = !key.empty() && limits_.max_running_per_key > 0;
  return !queue.tasks.empty() && (!limited || queue.running < limits_.max_running_per_key);
}

void Executor::MaybeTakeTurn(const std::string& key, Queue& queue) {
  if (queue.in_turn || !CanRun(key, queue)) return;
  queue.in_turn = true;
  turns_.push_back(key);
  ready_.notify_one();
}

bool Executor::Post(absl::string_view key, std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  auto [it, inserted] = queues_.try_emplace(key);
  Queue& queue = it->second;
  if (!key.empty() && limits_.max_queued_per_key > 0 &&
      queue.tasks.size() >= limits_.max_queued_per_key) {
    return false;
  }
  queue.tasks.push_back(std::move(task));
  ++queued_;
  MaybeTakeTurn(it->first, queue);
  return true;
}

void Executor::Drain() { Stop(/*run_queued=*/true); }

void Executor::Shutdown() { Stop(/*run_queued=*/false); }

void Executor::Stop(bool run_queued) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    run_queued_ = run_queued;
    if (!run_queued) {
      turns_.clear();
      queued_ = 0;
      // Dropped work leaves no queue behind; a key still running keeps its
      // queue until its task ends (Loop() looks it up then).
      for (auto it = queues_.begin(); it != queues_.end();) {
        it->second.tasks.clear();
        it->second.in_turn = false;
        if (it->second.running == 0) {
          queues_.erase(it++);
        } else {
          ++it;
        }
      }
    }
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
  return queued_;
}

void Executor::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Draining waits for tasks held back by a per-key limit: a running task
    // of that key will list it again when it ends.
    ready_.wait(lock,
                [&] { return !turns_.empty() || (stopping_ && (!run_queued_ || queued_ == 0)); });
    if (turns_.empty()) {
      ready_.notify_all();  // Let the other threads see the end too.
      return;
    }
    std::string key = std::move(turns_.front());
    turns_.pop_front();
    Queue& queue = queues_.find(key)->second;
    queue.in_turn = false;
    std::function<void()> task = std::move(queue.tasks.front());
    queue.tasks.pop_front();
    --queued_;
    ++queue.running;
    MaybeTakeTurn(key, queue);  // Its next task waits behind the other keys.

    lock.unlock();
    try {
      task();
    } catch (const std::exception& e) {
      log::Error("executor task failed: {}", e.what());
    }
    task = nullptr;  // Destroy captures outside the lock, as the task ran.
    lock.lock();

    // `queue` may have been rehashed away from this reference: look it up again.
    auto it = queues_.find(key);
    Queue& ran = it->second;
    --ran.running;
    if (ran.running == 0 && ran.tasks.empty() && !ran.in_turn) {
      queues_.erase(it);  // Idle keys cost nothing.
    } else {
      MaybeTakeTurn(key, ran);
    }
    if (stopping_ && queued_ == 0) ready_.notify_all();
  }
}

}  // namespace messaging
