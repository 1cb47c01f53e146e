#include "domain/ai_work.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace messaging::domain {
namespace {

constexpr char kLeaseBinding[] = "ai-work-lease";

}  // namespace

absl::StatusOr<int> ClaimItems(std::int64_t max_items) {
  if (max_items == 0) return 1;
  if (max_items < 0 || max_items > kMaxClaimItems) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_items: must be between 1 and ", kMaxClaimItems));
  }
  return static_cast<int>(max_items);
}

absl::StatusOr<absl::Duration> LeaseDuration(std::optional<absl::Duration> requested,
                                             absl::string_view field) {
  if (!requested) return kDefaultLease;
  if (*requested <= absl::ZeroDuration() || *requested > kMaxLease) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be positive and at most 15 minutes"));
  }
  return *requested;
}

absl::StatusOr<absl::Duration> ClaimWait(std::optional<absl::Duration> requested) {
  if (!requested) return absl::ZeroDuration();
  if (*requested < absl::ZeroDuration() || *requested > kMaxClaimWait) {
    return absl::InvalidArgumentError("wait_duration: must be between 0 and 30 seconds");
  }
  return *requested;
}

absl::Duration RetryDelay(int attempt, absl::Duration requested, double unit, absl::Duration base,
                          absl::Duration cap) {
  const int doublings = std::clamp(attempt - 1, 0, 30);
  const absl::Duration backoff = std::min(cap, base * std::ldexp(1.0, doublings));
  const double jitter = 0.5 + 0.5 * std::clamp(unit, 0.0, 1.0);
  return std::max(requested, backoff * jitter);
}

std::string LeaseTokenCodec::Encode(const AiWorkLease& lease) const {
  return sealer_.Seal(kLeaseBinding,
                      absl::StrCat(lease.item_id, "|", lease.distributor_id, "|", lease.fence));
}

absl::StatusOr<AiWorkLease> LeaseTokenCodec::Decode(absl::string_view token,
                                                    absl::string_view item_id) const {
  const auto stale = [] {
    return absl::FailedPreconditionError(
        "lease_token: not the current lease of this item (expired, claimed again, completed or "
        "requeued)");
  };
  if (token.empty()) return absl::InvalidArgumentError("lease_token: is required");
  auto payload = sealer_.Open(token, kLeaseBinding, "lease_token");
  if (!payload.ok()) return stale();
  const std::vector<std::string> parts = absl::StrSplit(*payload, '|');
  AiWorkLease lease;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[2], &lease.fence) || parts[0] != item_id) {
    return stale();
  }
  lease.item_id = parts[0];
  lease.distributor_id = parts[1];
  return lease;
}

}  // namespace messaging::domain
