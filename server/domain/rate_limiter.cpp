#include "domain/rate_limiter.h"

#include <algorithm>

namespace messaging::domain {
namespace {

// Full buckets carry no information; drop them when the map grows this big.
constexpr std::size_t kMaxTrackedDistributors = 100000;

}  // namespace

absl::Duration RateLimiter::Acquire(const std::string& distributor_id, absl::Time now) {
  if (!enabled()) return absl::ZeroDuration();
  const double burst = std::max(1.0, limit_.burst);
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() > kMaxTrackedDistributors) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      const double refill = absl::ToDoubleSeconds(now - it->second.updated) * limit_.per_second;
      it = it->second.tokens + refill >= burst ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, inserted] = buckets_.try_emplace(distributor_id, Bucket{burst, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * limit_.per_second);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1.0 - bucket.tokens) / limit_.per_second);
}

}  // namespace messaging::domain
