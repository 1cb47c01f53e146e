// Named statement parameters (repository/statement.h): how `:name` becomes
// PostgreSQL's `$n`, and the errors of a Params that does not match its
// statement. Running statements is covered by the pg suites.

#include "repository/statement.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace messaging::repository {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(StatementTest, NumbersParametersInOrderOfFirstUse) {
  const Statement s("s", "SELECT :b, :a, :b_2, :b");
  EXPECT_EQ(s.sql(), "SELECT $1, $2, $3, $1");
  EXPECT_THAT(s.parameters(), ElementsAre("b", "a", "b_2"));
}

TEST(StatementTest, CastsAndQuotedTextAreNoParameters) {
  const Statement s("s",
                    "SELECT :id::uuid, NULL::messages, ':not_one', \":nor_this\", x::text = :x");
  EXPECT_EQ(s.sql(), "SELECT $1::uuid, NULL::messages, ':not_one', \":nor_this\", x::text = $2");
  EXPECT_THAT(s.parameters(), ElementsAre("id", "x"));
}

TEST(StatementTest, PreparedHasTheNameAndTheSqlWithColumns) {
  const Statement s("message_select", "m.a AS a, m.b AS b",
                    "SELECT {columns} FROM m WHERE id = :id");
  EXPECT_EQ(std::string(s.Prepared().name), "message_select");
  EXPECT_EQ(s.Prepared().sql, "SELECT m.a AS a, m.b AS b FROM m WHERE id = $1");
}

TEST(StatementTest, AColumnListWithoutItsPlaceIsAnError) {
  EXPECT_THROW(Statement("s", "m.a AS a", "SELECT 1"), std::logic_error);
  EXPECT_THROW(Statement("s", "SELECT {columns} FROM m"), std::logic_error);
}

TEST(ParamsTest, UnknownNameIsAnErrorNamingIt) {
  const Statement s("update_x", "UPDATE x SET a = CASE WHEN :set_a THEN :a ELSE a END");
  Params params(s);
  try {
    params.Set("b", std::string("1"));
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("update_x has no parameter :b"));
  }
  EXPECT_THROW(params.Patch("b", std::optional<std::string>("1")), std::logic_error);
  EXPECT_NO_THROW(params.Patch("a", std::optional<std::string>()));
}

}  // namespace
}  // namespace messaging::repository
