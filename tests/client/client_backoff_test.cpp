// The retry policy's arithmetic and the client's error classification.

#include <gtest/gtest.h>

#include "messaging/client/internal/backoff.h"
#include "messaging/client/token_source.h"

namespace messaging::client {
namespace {

using internal::Backoff;

TEST(BackoffTest, GrowsByTheMultiplierUpToTheCap) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(100);
  policy.max_backoff = absl::Milliseconds(1000);
  policy.multiplier = 2.0;
  policy.jitter = 0.0;
  Backoff backoff(policy);
  for (int expected_ms : {100, 200, 400, 800, 1000, 1000}) {
    EXPECT_EQ(backoff.Next(), absl::Milliseconds(expected_ms));
  }
  backoff.Reset();
  EXPECT_EQ(backoff.Next(), absl::Milliseconds(100));
}

TEST(BackoffTest, JitterOnlyShortensTheDelayAndVaries) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Seconds(1);
  policy.max_backoff = absl::Seconds(1);
  policy.jitter = 0.5;
  Backoff backoff(policy);
  absl::Duration low = absl::InfiniteDuration();
  absl::Duration high = absl::ZeroDuration();
  for (int i = 0; i < 200; ++i) {
    const absl::Duration d = backoff.Next();
    EXPECT_GE(d, absl::Milliseconds(500));
    EXPECT_LE(d, absl::Seconds(1));
    low = std::min(low, d);
    high = std::max(high, d);
  }
  EXPECT_GT(high - low, absl::Milliseconds(100)) << "no jitter at all";
}

TEST(BackoffTest, AttemptLimitCountsTheFirstAttemptAndZeroMeansUnlimited) {
  RetryPolicy policy;
  policy.max_attempts = 3;
  EXPECT_TRUE(internal::AttemptsLeft(policy, 1));
  EXPECT_TRUE(internal::AttemptsLeft(policy, 2));
  EXPECT_FALSE(internal::AttemptsLeft(policy, 3));
  policy.max_attempts = 1;
  EXPECT_FALSE(internal::AttemptsLeft(policy, 1));
  policy.max_attempts = 0;
  EXPECT_TRUE(internal::AttemptsLeft(policy, 1000000));
}

TEST(BackoffTest, OnlyUnavailableAndAbortedAreRetryableForUnaryCalls) {
  for (int c = 0; c <= 16; ++c) {
    const auto code = static_cast<absl::StatusCode>(c);
    EXPECT_EQ(internal::IsRetryableForIdempotentCall(code),
              code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kAborted)
        << absl::StatusCodeToString(code);
  }
}

TEST(BackoffTest, StreamsResumeOnTransientEndsOnly) {
  for (auto code :
       {absl::StatusCode::kOk, absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded,
        absl::StatusCode::kInternal, absl::StatusCode::kUnknown, absl::StatusCode::kAborted,
        absl::StatusCode::kResourceExhausted, absl::StatusCode::kCancelled}) {
    EXPECT_TRUE(internal::IsResumableStreamEnd(code)) << absl::StatusCodeToString(code);
  }
  for (auto code : {absl::StatusCode::kOutOfRange, absl::StatusCode::kInvalidArgument,
                    absl::StatusCode::kUnauthenticated, absl::StatusCode::kPermissionDenied,
                    absl::StatusCode::kNotFound, absl::StatusCode::kFailedPrecondition,
                    absl::StatusCode::kUnimplemented}) {
    EXPECT_FALSE(internal::IsResumableStreamEnd(code)) << absl::StatusCodeToString(code);
  }
}

TEST(TokenSourceTest, AddsTheBearerPrefixOnce) {
  EXPECT_EQ(*TokenSource("abc").AuthorizationHeader(), "Bearer abc");
  EXPECT_EQ(*TokenSource(std::string("Bearer abc")).AuthorizationHeader(), "Bearer abc");
  int calls = 0;
  TokenSource refreshing(
      [&calls]() -> absl::StatusOr<std::string> { return "t" + std::to_string(++calls); });
  EXPECT_EQ(*refreshing.AuthorizationHeader(), "Bearer t1");
  EXPECT_EQ(*refreshing.AuthorizationHeader(), "Bearer t2");
}

TEST(TokenSourceTest, ErrorsAndEmptyTokensFailTheCall) {
  TokenSource failing(
      []() -> absl::StatusOr<std::string> { return absl::UnavailableError("vault is down"); });
  EXPECT_EQ(failing.AuthorizationHeader().status(), absl::UnavailableError("vault is down"));
  EXPECT_EQ(TokenSource("").AuthorizationHeader().status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace messaging::client
