#include "messaging/client/internal/backoff.h"

#include <algorithm>

namespace messaging::client::internal {

Backoff::Backoff(const RetryPolicy& policy)
    : policy_(policy), current_(policy.initial_backoff), random_(std::random_device{}()) {}

absl::Duration Backoff::Next() {
  const absl::Duration cap = std::max(policy_.max_backoff, absl::ZeroDuration());
  const absl::Duration delay = std::min(current_, cap);
  current_ = std::min(current_ * std::max(policy_.multiplier, 1.0), cap);
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> fraction(1.0 - jitter, 1.0);
  return delay * fraction(random_);
}

void Backoff::Reset() { current_ = policy_.initial_backoff; }

bool AttemptsLeft(const RetryPolicy& policy, int attempts) {
  return policy.max_attempts <= 0 || attempts < policy.max_attempts;
}

bool IsRetryableForIdempotentCall(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kAborted;
}

bool IsResumableStreamEnd(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:         // The server closed the stream (e.g. max connection age).
    case absl::StatusCode::kCancelled:  // Not by us: Subscription checks Stop() first.
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnavailable:
      return true;
    default:
      // OUT_OF_RANGE (expired cursor), INVALID_ARGUMENT, UNAUTHENTICATED,
      // PERMISSION_DENIED, NOT_FOUND, FAILED_PRECONDITION, UNIMPLEMENTED...:
      // the same request would fail the same way.
      return false;
  }
}

}  // namespace messaging::client::internal
