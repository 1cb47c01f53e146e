#include "domain/rate_limiter.h"

#include <gtest/gtest.h>

namespace messaging::domain {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST(RateLimiterTest, DisabledNeverLimits) {
  RateLimiter limiter({0, 0});
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.Acquire("d", kStart), absl::ZeroDuration());
}

TEST(RateLimiterTest, AllowsABurstThenRefillsAtTheRate) {
  RateLimiter limiter({2, 3});  // 2 per second, bursts of 3.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("d", kStart), absl::ZeroDuration());
  const absl::Duration wait = limiter.Acquire("d", kStart);
  EXPECT_EQ(wait, absl::Milliseconds(500));
  EXPECT_GT(limiter.Acquire("d", kStart + absl::Milliseconds(400)), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("d", kStart + absl::Milliseconds(500)), absl::ZeroDuration());
  // Long idle: back to a full burst, never more.
  const absl::Time later = kStart + absl::Hours(1);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("d", later), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("d", later), absl::ZeroDuration());
}

TEST(RateLimiterTest, DistributorsHaveSeparateBuckets) {
  RateLimiter limiter({1, 1});
  EXPECT_EQ(limiter.Acquire("a", kStart), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("a", kStart), absl::ZeroDuration());
  EXPECT_EQ(limiter.Acquire("b", kStart), absl::ZeroDuration());
}

TEST(RateLimiterTest, ClockGoingBackwardsDoesNotMintTokens) {
  RateLimiter limiter({1, 1});
  EXPECT_EQ(limiter.Acquire("a", kStart), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("a", kStart - absl::Hours(1)), absl::ZeroDuration());
}

}  // namespace
}  // namespace messaging::domain
