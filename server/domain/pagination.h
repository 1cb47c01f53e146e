#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace messaging::domain {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 500;

// 0 means the default; larger than the maximum is clamped (AIP-158).
inline absl::StatusOr<int> EffectivePageSize(std::int32_t requested) {
  if (requested < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  if (requested == 0) return kDefaultPageSize;
  return requested > kMaxPageSize ? kMaxPageSize : static_cast<int>(requested);
}

}  // namespace messaging::domain
