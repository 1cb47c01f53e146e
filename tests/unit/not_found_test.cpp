// The texts of NOT_FOUND that clients see (domain/not_found.h).

#include "domain/not_found.h"

#include <gtest/gtest.h>

namespace messaging::domain {
namespace {

TEST(NotFoundTest, NamesTheResourceAndItsId) {
  const absl::Status s = NotFound("conversation", "123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "conversation 123e4567-e89b-12d3-a456-426614174000 not found");
}

TEST(NotFoundTest, ByAnotherKeyQuotesTheCallersValue) {
  const absl::Status s = NotFoundBy("message", "external_message_id", "SM\n1");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "message with external_message_id \"SM\\n1\" not found");
}

TEST(NotFoundTest, ReferencedByAFieldNamesTheFieldFirst) {
  const absl::Status s = ReferencedNotFound("customer_id", "customer", "c1");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "customer_id: customer c1 not found");
}

}  // namespace
}  // namespace messaging::domain
