// Pure rules of the AI work queue: argument limits, backoff with jitter,
// lease tokens.

#include "domain/ai_work.h"

#include <gtest/gtest.h>

#include "unit/status_matchers.h"

namespace messaging::domain {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::StatusIs;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

TEST(AiWorkArgumentsTest, MaxItemsDefaultsToOneAndStopsAtAHundred) {
  EXPECT_EQ(*ClaimItems(0), 1);
  EXPECT_EQ(*ClaimItems(100), 100);
  EXPECT_THAT(ClaimItems(101), StatusIs(kInvalid, "max_items"));
  EXPECT_THAT(ClaimItems(-1), StatusIs(kInvalid, "max_items"));
}

TEST(AiWorkArgumentsTest, LeaseDefaultsToAMinuteAndStopsAtFifteen) {
  EXPECT_EQ(*LeaseDuration(std::nullopt, "lease_duration"), absl::Seconds(60));
  EXPECT_EQ(*LeaseDuration(absl::Minutes(15), "lease_duration"), absl::Minutes(15));
  EXPECT_THAT(LeaseDuration(absl::Minutes(15) + absl::Milliseconds(1), "lease_duration"),
              StatusIs(kInvalid, "lease_duration"));
  EXPECT_THAT(LeaseDuration(absl::ZeroDuration(), "lease_duration"),
              StatusIs(kInvalid, "lease_duration"));
}

TEST(AiWorkArgumentsTest, WaitDefaultsToZeroAndStopsAtThirtySeconds) {
  EXPECT_EQ(*ClaimWait(std::nullopt), absl::ZeroDuration());
  EXPECT_EQ(*ClaimWait(absl::Seconds(30)), absl::Seconds(30));
  EXPECT_THAT(ClaimWait(absl::Seconds(31)), StatusIs(kInvalid, "wait_duration"));
  EXPECT_THAT(ClaimWait(absl::Seconds(-1)), StatusIs(kInvalid, "wait_duration"));
}

TEST(RetryDelayTest, DoublesPerAttemptWithJitterInTheUpperHalfAndACap) {
  for (int attempt = 1; attempt <= 8; ++attempt) {
    const absl::Duration full = absl::Seconds(1) * (1 << (attempt - 1));
    EXPECT_EQ(RetryDelay(attempt, absl::ZeroDuration(), 0.0), full / 2) << attempt;
    EXPECT_EQ(RetryDelay(attempt, absl::ZeroDuration(), 1.0), full) << attempt;
    const absl::Duration mid = RetryDelay(attempt, absl::ZeroDuration(), 0.37);
    EXPECT_GE(mid, full / 2);
    EXPECT_LE(mid, full);
  }
  EXPECT_EQ(RetryDelay(40, absl::ZeroDuration(), 1.0), absl::Minutes(10));
  EXPECT_EQ(RetryDelay(1, absl::Minutes(5), 0.5), absl::Minutes(5)) << "the worker's delay wins";
}

TEST(LeaseTokenTest, RoundTripsAndRefusesAnotherItemOrAForgery) {
  const TokenSealer sealer("0123456789abcdef0123456789abcdef-secret");
  const LeaseTokenCodec codec(sealer);
  const std::string token = codec.Encode({"item-1", "tenant-1", 42});
  const auto lease = codec.Decode(token, "item-1");
  ASSERT_THAT(lease, IsOk());
  EXPECT_EQ(lease->fence, 42);
  EXPECT_EQ(lease->distributor_id, "tenant-1");
  EXPECT_THAT(codec.Decode(token, "item-2"),
              StatusIs(absl::StatusCode::kFailedPrecondition, "lease_token"));
  EXPECT_THAT(codec.Decode("forged", "item-1"),
              StatusIs(absl::StatusCode::kFailedPrecondition, "lease_token"));
  EXPECT_THAT(codec.Decode("", "item-1"), StatusIs(kInvalid, "lease_token"));
}

}  // namespace
}  // namespace messaging::domain
