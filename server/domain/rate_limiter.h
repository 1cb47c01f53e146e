#pragma once

// Per-distributor token buckets: each distributor may make `rate` calls per
// second on average, in bursts of up to `burst`. A call over the limit is
// RESOURCE_EXHAUSTED with the time until a token is available, so clients
// back off instead of hammering. One replica's view: with N replicas behind a
// load balancer a distributor gets about N times the rate.

#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/time/time.h"

namespace messaging::domain {

struct RateLimit {
  double per_second = 0;  // 0 disables limiting.
  double burst = 0;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  // Zero if the call may proceed now, else how long until it could.
  absl::Duration Acquire(const std::string& distributor_id, absl::Time now);

  bool enabled() const { return limit_.per_second > 0; }

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };

  const RateLimit limit_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace messaging::domain
