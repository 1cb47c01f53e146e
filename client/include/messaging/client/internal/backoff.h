#pragma once

// Internal (no stability promise): the delays of a RetryPolicy, and which
// status codes are worth another attempt.

#include <random>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "messaging/client/options.h"

namespace messaging::client::internal {

// Successive delays: initial_backoff, then times `multiplier` up to
// max_backoff, each reduced by a random fraction of at most `jitter`.
class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy);

  absl::Duration Next();
  // Back to initial_backoff (after a success).
  void Reset();

 private:
  RetryPolicy policy_;
  absl::Duration current_;
  std::minstd_rand random_;
};

// Whether `attempt` (1-based) failed attempts leave room for another one.
bool AttemptsLeft(const RetryPolicy& policy, int attempts);

// UNAVAILABLE or ABORTED: the codes on which an idempotent unary call is tried
// again.
bool IsRetryableForIdempotentCall(absl::StatusCode code);

// Whether a Subscription reconnects after its stream ended with `code`.
bool IsResumableStreamEnd(absl::StatusCode code);

}  // namespace messaging::client::internal
