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

// Running byte totals of rows read with LIMIT limit + 1, each row starting
// within the budget (what the list statements return).
TEST(RowsInPageTest, WithinTheBudgetThePageIsCutOnlyByTheLimit) {
  EXPECT_EQ(RowsInPage({10, 20, 30}, 2, 1000), 2u) << "the extra row says more follow";
  EXPECT_EQ(RowsInPage({10, 20}, 2, 1000), 2u);
  EXPECT_EQ(RowsInPage({}, 50, 1000), 0u);
}

TEST(RowsInPageTest, ThePageStopsBeforeTheRowThatWouldPassTheBudget) {
  // Rows of 40 bytes, budget 100: two fit (80), the third would make 120.
  EXPECT_EQ(RowsInPage({40, 80, 120}, 50, 100), 2u);
  // Exactly at the budget still fits.
  EXPECT_EQ(RowsInPage({40, 100, 140}, 50, 100), 2u);
}

TEST(RowsInPageTest, ARowLargerThanTheBudgetStillMakesAPageOfOne) {
  EXPECT_EQ(RowsInPage({500, 510}, 50, 100), 1u);
  EXPECT_EQ(RowsInPage({500}, 50, 100), 1u);
}

TEST(PageByteBudgetTest, ZeroAndHugeMeanNoLimit) {
  EXPECT_EQ(PageByteBudget(0), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(PageByteBudget(std::numeric_limits<std::size_t>::max()),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(PageByteBudget(4096), 4096);
}

}  // namespace
}  // namespace messaging::domain
