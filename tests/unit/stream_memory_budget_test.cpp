// The server-wide stream memory budget: reservations never pass the limit,
// partial reservations take what is free, and refusals are remembered once.

#include "streaming/stream_memory_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace messaging::streaming {
namespace {

TEST(StreamMemoryBudgetTest, ReservesUpToTheLimitAndNoFurther) {
  StreamMemoryBudget budget(1000);
  EXPECT_TRUE(budget.TryReserve(600));
  EXPECT_TRUE(budget.TryReserve(400));
  EXPECT_EQ(budget.used(), 1000u);
  EXPECT_FALSE(budget.TryReserve(1)) << "all or nothing, never past the limit";
  EXPECT_EQ(budget.used(), 1000u);
  budget.Release(400);
  EXPECT_TRUE(budget.TryReserve(400));
  EXPECT_FALSE(budget.TryReserve(2000));
}

TEST(StreamMemoryBudgetTest, ReserveUpToTakesWhatIsFreeIfThatIsEnough) {
  StreamMemoryBudget budget(1000);
  ASSERT_TRUE(budget.TryReserve(700));
  EXPECT_EQ(budget.ReserveUpTo(500, 1), 300u) << "what is free";
  EXPECT_EQ(budget.ReserveUpTo(500, 1), 0u) << "nothing is";
  budget.Release(300);
  EXPECT_EQ(budget.ReserveUpTo(500, 301), 0u) << "less than the minimum asked for";
  EXPECT_EQ(budget.ReserveUpTo(200, 100), 200u) << "no more than wanted";
  EXPECT_EQ(budget.used(), 900u);
}

TEST(StreamMemoryBudgetTest, RefusalsAreReportedOnceAndHasRoomForCounts) {
  StreamMemoryBudget budget(100);
  EXPECT_FALSE(budget.TakeRefusals());
  EXPECT_TRUE(budget.HasRoomFor(100));
  EXPECT_FALSE(budget.TakeRefusals()) << "a yes is no refusal";
  EXPECT_FALSE(budget.TryReserve(101));
  EXPECT_TRUE(budget.TakeRefusals());
  EXPECT_FALSE(budget.TakeRefusals()) << "reported once";
  ASSERT_TRUE(budget.TryReserve(100));
  EXPECT_FALSE(budget.HasRoomFor(1));
  EXPECT_TRUE(budget.TakeRefusals());
  EXPECT_EQ(budget.ReserveUpTo(10, 1), 0u);
  EXPECT_TRUE(budget.TakeRefusals());
}

TEST(StreamMemoryBudgetTest, ConcurrentReservationsNeverOvershoot) {
  StreamMemoryBudget budget(10'000);
  std::atomic<std::size_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (budget.TryReserve(7)) granted += 7;
        granted += budget.ReserveUpTo(5, 3);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(budget.used(), budget.limit());
  EXPECT_EQ(budget.used(), granted.load());
}

}  // namespace
}  // namespace messaging::streaming
