#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/executor.h"

namespace messaging {
namespace {

// Records the order tasks started in.
class StartLog {
 public:
  void Add(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    order_.push_back(what);
  }
  std::vector<std::string> order() const {
    std::lock_guard<std::mutex> lock(mu_);
    return order_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> order_;
};

// One thread, tenant A has 1,000 tasks queued before tenant B posts one: B's
// task runs second, not 1,001st.
TEST(ExecutorFairnessTest, ABacklogDelaysAnotherKeyByOneTaskPerThread) {
  Executor executor(1);
  absl::Notification release;
  StartLog log;
  ASSERT_TRUE(executor.Post("a", [&] {
    log.Add("a");
    release.WaitForNotification();  // Holds the only thread while the rest queue.
  }));
  for (int i = 0; i < 999; ++i) ASSERT_TRUE(executor.Post("a", [&] { log.Add("a"); }));
  ASSERT_TRUE(executor.Post("b", [&] { log.Add("b"); }));
  release.Notify();
  executor.Drain();
  const auto order = log.order();
  ASSERT_EQ(order.size(), 1001u);
  const auto b = std::find(order.begin(), order.end(), "b") - order.begin();
  EXPECT_LE(b, 2) << "b ran after " << b << " tasks of a";
}

TEST(ExecutorFairnessTest, AKeyRunsAtMostItsLimitAtOnce) {
  Executor executor(8, {/*max_running_per_key=*/2, /*max_queued_per_key=*/0});
  absl::Notification release;
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(executor.Post("a", [&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        ++started;
      }
      cv.notify_all();
      release.WaitForNotification();
    }));
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return started == 2; });
  }
  // Six threads are idle. A task of another key runs to completion on one of
  // them, so the threads have looked at the queues since: the third task of
  // "a" was eligible and still did not start.
  absl::Notification b_done;
  ASSERT_TRUE(executor.Post("b", [&] { b_done.Notify(); }));
  b_done.WaitForNotification();
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(started, 2);
  }
  EXPECT_EQ(executor.queued(), 1u);
  release.Notify();
  executor.Drain();
  EXPECT_EQ(started, 3);
}

// A key's tasks posted back to back, before a thread has taken the first:
// the key is listed for one turn at a time, so the thread that takes the
// first must wake another for the second. Both run at once (the key's limit
// is two), round after round; neither ends before the check is done, so a
// second task that did not start cannot catch up behind the first.
TEST(ExecutorFairnessTest, ASecondTaskOfAKeyStartsWhileItsFirstRuns) {
  std::mutex mu;
  std::condition_variable cv;
  int started = 0;
  int finished = 0;
  bool released = false;
  Executor executor(8, {/*max_running_per_key=*/2, /*max_queued_per_key=*/0});
  const auto task = [&] {
    std::unique_lock<std::mutex> lock(mu);
    ++started;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return released; });
    ++finished;
    cv.notify_all();
  };
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE(round);
    {
      std::lock_guard<std::mutex> lock(mu);
      started = finished = 0;
      released = false;
    }
    ASSERT_TRUE(executor.Post("a", task));
    ASSERT_TRUE(executor.Post("a", task));
    std::unique_lock<std::mutex> lock(mu);
    const bool both = cv.wait_for(lock, std::chrono::seconds(5), [&] { return started == 2; });
    released = true;
    cv.notify_all();
    // Both end before the next round (a second that did not start runs after the first).
    cv.wait(lock, [&] { return finished == 2; });
    ASSERT_TRUE(both) << "the key's second task did not start while its first ran";
  }
}

TEST(ExecutorFairnessTest, ALimitedKeyDoesNotHoldBackOthers) {
  Executor executor(2, {/*max_running_per_key=*/1, /*max_queued_per_key=*/0});
  absl::Notification release, b_ran;
  ASSERT_TRUE(executor.Post("a", [&] { release.WaitForNotification(); }));
  ASSERT_TRUE(executor.Post("a", [&] {}));  // Held back: a is at its limit.
  ASSERT_TRUE(executor.Post("b", [&] { b_ran.Notify(); }));
  // The second thread is free and a may not use it: b runs while a blocks.
  b_ran.WaitForNotification();
  EXPECT_EQ(executor.queued(), 1u);
  release.Notify();
  executor.Drain();
  EXPECT_EQ(executor.queued(), 0u);
}

TEST(ExecutorFairnessTest, PostRefusesBeyondTheKeysQueueLimit) {
  Executor executor(1, {/*max_running_per_key=*/0, /*max_queued_per_key=*/3});
  absl::Notification release;
  std::atomic<int> ran{0};
  ASSERT_TRUE(executor.Post("a", [&] { release.WaitForNotification(); }));
  // The first task may still be queued or already running: fill the queue.
  int accepted = 0;
  while (executor.Post("a", [&] { ++ran; })) ++accepted;
  EXPECT_GE(accepted, 2);
  EXPECT_LE(accepted, 3);
  EXPECT_TRUE(executor.Post("b", [&] { ++ran; })) << "another key has its own queue";
  EXPECT_TRUE(executor.Post({}, [&] { ++ran; })) << "tasks without a key are not limited";
  release.Notify();
  executor.Drain();
  EXPECT_EQ(ran.load(), accepted + 2);
}

TEST(ExecutorFairnessTest, DrainRunsEveryQueuedTaskShutdownDropsThem) {
  std::atomic<int> ran{0};
  {
    Executor executor(3, {/*max_running_per_key=*/1, /*max_queued_per_key=*/0});
    for (int i = 0; i < 300; ++i)
      executor.Post(std::string(1, static_cast<char>('a' + i % 5)), [&] { ++ran; });
    executor.Drain();
    EXPECT_EQ(ran.load(), 300);
    EXPECT_FALSE(executor.Post("a", [&] { ++ran; }));
  }
  Executor executor(1);
  absl::Notification release;
  executor.Post("a", [&] { release.WaitForNotification(); });
  for (int i = 0; i < 10; ++i) executor.Post("a", [&] { ++ran; });
  std::thread stopper([&] { executor.Shutdown(); });
  release.Notify();
  stopper.join();
  EXPECT_LE(ran.load(), 310) << "queued tasks are dropped, not run";
}

}  // namespace
}  // namespace messaging
