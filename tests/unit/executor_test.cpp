// Executor under concurrent use: many threads post while others drain or shut
// it down. Each task writes its own plain (non-atomic) slot, so a task run
// twice, or a slot read before the executor's threads were joined, is a
// wrong count here and a data race under ThreadSanitizer (scripts/test.sh
// runs this file under it too).

#include "common/executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace messaging {
namespace {

constexpr int kProducers = 8;
constexpr int kTasksPerProducer = 2000;

// One slot per (producer, task): how often that task ran.
class RunCounts {
 public:
  RunCounts() : counts_(kProducers * kTasksPerProducer, 0) {}
  int& at(int producer, int task) { return counts_[producer * kTasksPerProducer + task]; }
  int Total() const {
    int total = 0;
    for (const int n : counts_) total += n;
    return total;
  }
  int MostRuns() const {
    int most = 0;
    for (const int n : counts_) most = std::max(most, n);
    return most;
  }

 private:
  std::vector<int> counts_;
};

void JoinAll(std::vector<std::thread>& threads) {
  for (auto& t : threads) t.join();
}

TEST(ExecutorTest, EveryTaskPostedFromManyThreadsRunsExactlyOnce) {
  RunCounts runs;
  Executor executor(4);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int t = 0; t < kTasksPerProducer; ++t) executor.Post([&runs, p, t] { ++runs.at(p, t); });
    });
  }
  JoinAll(producers);
  executor.Drain();  // Runs what is queued and joins: the counts are final.

  EXPECT_EQ(runs.Total(), kProducers * kTasksPerProducer);
  EXPECT_EQ(runs.MostRuns(), 1);
  EXPECT_EQ(executor.queued(), 0u);
}

// Drain() while producers keep posting: every task posted before Drain() was
// called runs, none twice, and nothing runs once Drain() has returned.
TEST(ExecutorTest, DrainWhilePostingRunsEveryEarlierTaskAndNothingAfterwards) {
  RunCounts runs;
  Executor executor(3);
  std::vector<std::atomic<int>> posted(kProducers);
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (int t = 0; t < kTasksPerProducer; ++t) {
        executor.Post([&runs, p, t] { ++runs.at(p, t); });
        posted[p].store(t + 1, std::memory_order_release);
      }
    });
  }
  // Drain once every producer is under way.
  std::vector<int> posted_before_drain(kProducers);
  for (int p = 0; p < kProducers; ++p) {
    while ((posted_before_drain[p] = posted[p].load(std::memory_order_acquire)) < 100) {
      std::this_thread::yield();
    }
  }
  executor.Drain();
  std::vector<int> after_drain;
  for (int p = 0; p < kProducers; ++p) {
    for (int t = 0; t < kTasksPerProducer; ++t) after_drain.push_back(runs.at(p, t));
  }
  JoinAll(producers);  // Their later posts are refused.

  for (int p = 0; p < kProducers; ++p) {
    for (int t = 0; t < posted_before_drain[p]; ++t) {
      ASSERT_EQ(runs.at(p, t), 1) << "task " << t << " of producer " << p << " was lost";
    }
  }
  std::size_t i = 0;
  for (int p = 0; p < kProducers; ++p) {
    for (int t = 0; t < kTasksPerProducer; ++t, ++i) {
      ASSERT_EQ(runs.at(p, t), after_drain[i]) << "a task ran after Drain() returned";
    }
  }
  EXPECT_EQ(runs.MostRuns(), 1);
  EXPECT_EQ(executor.queued(), 0u);
}

// Shutdown() while every thread is busy: the queued tasks are dropped, the
// running ones finish, and Shutdown() returns only once they have.
TEST(ExecutorTest, ShutdownDropsQueuedTasksAndWaitsForRunningOnes) {
  constexpr int kThreads = 2;
  Executor executor(kThreads);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  int finished = 0;  // Written by the running tasks under `mu`, read after the join.
  std::mutex mu;
  for (int i = 0; i < kThreads; ++i) {
    executor.Post([&] {
      ++started;
      released.wait();
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
    });
  }
  while (started.load() < kThreads) std::this_thread::yield();
  std::atomic<int> dropped_ran{0};
  for (int i = 0; i < 100; ++i) executor.Post([&] { ++dropped_ran; });
  ASSERT_EQ(executor.queued(), 100u);

  auto shutdown = std::async(std::launch::async, [&] { executor.Shutdown(); });
  while (executor.queued() != 0) std::this_thread::yield();  // Dropped at once...
  EXPECT_EQ(shutdown.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "...but Shutdown() waits for the running tasks";
  release.set_value();
  shutdown.get();

  EXPECT_EQ(finished, kThreads);
  EXPECT_EQ(dropped_ran.load(), 0);
  executor.Post([&] { ++dropped_ran; });  // Refused after Shutdown().
  EXPECT_EQ(executor.queued(), 0u);
}

// Drain() and Shutdown() from several threads at once (e.g. a signal's
// shutdown racing the destructor): each returns once the threads are joined,
// none joins a thread twice.
TEST(ExecutorTest, DrainAndShutdownFromManyThreadsAtOnce) {
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> ran{0};
    auto executor = std::make_unique<Executor>(3);
    for (int i = 0; i < 200; ++i) executor->Post([&] { ++ran; });
    std::atomic<bool> go{false};
    std::atomic<int> stopped{0};
    std::vector<std::thread> stoppers;
    for (int i = 0; i < 4; ++i) {
      stoppers.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        if (i % 2 == 0) {
          executor->Drain();
        } else {
          executor->Shutdown();
        }
        // Whoever returns first, the threads are joined: nothing runs any more.
        const int seen = ran.load();
        std::this_thread::yield();
        EXPECT_EQ(ran.load(), seen) << "a task ran after Drain()/Shutdown() returned";
        ++stopped;
      });
    }
    go = true;
    JoinAll(stoppers);
    EXPECT_EQ(stopped.load(), 4);
    EXPECT_LE(ran.load(), 200);
    executor.reset();  // The destructor stops once more.
  }
}

}  // namespace
}  // namespace messaging
