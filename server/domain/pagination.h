#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

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

// A configured byte budget as a query bound (SQL bigint); 0 means no limit.
inline std::int64_t PageByteBudget(std::size_t max_bytes) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return max_bytes == 0 || max_bytes > kMax ? std::numeric_limits<std::int64_t>::max()
                                            : static_cast<std::int64_t>(max_bytes);
}

// How many rows of a keyset read form the page. `bytes_through[i]` is the
// running total of the rows' sizes up to and including row i. The page takes
// rows in order while it has fewer than `limit` and their total stays within
// `max_bytes`; the first row is always taken, so paging makes progress even
// past a row larger than the budget. Rows not taken mean more rows follow.
inline std::size_t RowsInPage(const std::vector<std::int64_t>& bytes_through, int limit,
                              std::int64_t max_bytes) {
  std::size_t rows = 0;
  while (rows < bytes_through.size() && static_cast<int>(rows) < limit &&
         (rows == 0 || bytes_through[rows] <= max_bytes)) {
    ++rows;
  }
  return rows;
}

}  // namespace messaging::domain
