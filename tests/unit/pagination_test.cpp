#include "domain/pagination.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "unit/status_matchers.h"

namespace messaging::domain {
namespace {

using ::messaging::testing::StatusIs;

TEST(EffectivePageSizeTest, ZeroMeansTheDefaultOf50) {
  EXPECT_EQ(EffectivePageSize(0).value(), 50);
  EXPECT_EQ(kDefaultPageSize, 50);
}

TEST(EffectivePageSizeTest, SizesUpToTheMaximumAreKept) {
  for (const std::int32_t size : {1, 2, 49, 50, 51, 499, 500}) {
    EXPECT_EQ(EffectivePageSize(size).value(), size);
  }
}

TEST(EffectivePageSizeTest, LargerSizesAreClampedTo500) {
  for (const std::int32_t size : {501, 1000, std::numeric_limits<std::int32_t>::max()}) {
    EXPECT_EQ(EffectivePageSize(size).value(), 500) << size;
  }
}

TEST(EffectivePageSizeTest, NegativeIsInvalidNamingPageSize) {
  for (const std::int32_t size : {-1, -50, std::numeric_limits<std::int32_t>::min()}) {
    EXPECT_THAT(EffectivePageSize(size), StatusIs(absl::StatusCode::kInvalidArgument, "page_size"))
        << size;
  }
}

}  // namespace
}  // namespace messaging::domain
