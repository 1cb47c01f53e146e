// Rows are read by column name (repository/row_mapping.h): a SELECT that lists
// the columns in another order, or among other columns, maps every field to
// its own column, and a SELECT that lacks one fails naming it instead of
// shifting fields.

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "repository/row_mapping.h"
#include "repository/sql/conversation_sql.h"
#include "repository/sql/message_sql.h"
#include "support/test_database.h"
#include "transport/proto_mapping.h"

namespace messaging::testing {
namespace {

using google::protobuf::util::MessageDifferencer;

// The columns of a list in sql/ (one a line), without their separators.
std::vector<std::string> ColumnsOf(const char* list) {
  std::vector<std::string> columns;
  for (absl::string_view line : absl::StrSplit(list, '\n', absl::SkipWhitespace())) {
    columns.emplace_back(absl::StripSuffix(absl::StripAsciiWhitespace(line), ","));
  }
  return columns;
}

std::string Join(const std::vector<std::string>& columns) { return absl::StrJoin(columns, ", "); }

class RowMappingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase("row_mapping");
    const std::string distributor = db_->NewDistributor();
    // Every column a value of its own, so a field read from another column shows.
    conversation_id_ =
        db_->Exec(
               "INSERT INTO conversations (distributor_id, customer_id, channel, status, "
               "ai_context_summary, unread_count, last_message_at, last_message_preview, "
               "metadata) VALUES ('" +
               distributor + "', '" + db_->NewCustomer() +
               "', 'email', 'archived', 'summary', 7, now() - interval '1 hour', 'preview', "
               "'{\"k\": 1}') RETURNING id::text")
            .at(0)
            .at(0)
            .as<std::string>();
    message_id_ =
        db_->Exec(
               "INSERT INTO messages (conversation_id, distributor_id, direction, "
               "message_type, content, media_url, media_content_type, external_message_id, "
               "delivery_status, error_code, error_message, ai_processing_status, ai_summary, "
               "ai_intent, ai_sentiment, ai_extracted_data, ai_processed_at, metadata) "
               "VALUES ('" +
               conversation_id_ + "', '" + distributor +
               "', 'outbound', 'media', 'content', 'https://m.example/1', 'image/png', 'SM1', "
               "'failed', '30003', 'unreachable', 'completed', 'ai summary', 'intent', "
               "'sentiment', '{\"x\": [1]}', now() - interval '1 minute', '{\"m\": true}') "
               "RETURNING id::text")
            .at(0)
            .at(0)
            .as<std::string>();
  }
  static void TearDownTestSuite() { delete db_; }

  static pqxx::result Conversations(const std::vector<std::string>& columns) {
    return db_->Exec("SELECT " + Join(columns) + " FROM conversations c WHERE c.id = '" +
                     conversation_id_ + "'");
  }
  static pqxx::result Messages(const std::vector<std::string>& columns) {
    return db_->Exec("SELECT " + Join(columns) + " FROM messages m WHERE m.id = '" + message_id_ +
                     "'");
  }

  static TestDatabase* db_;
  static std::string conversation_id_;
  static std::string message_id_;
};

TestDatabase* RowMappingTest::db_ = nullptr;
std::string RowMappingTest::conversation_id_;
std::string RowMappingTest::message_id_;

TEST_F(RowMappingTest, ReorderedConversationColumnsMapToTheSameFields) {
  auto columns = ColumnsOf(repository::sql::kConversationColumns);
  const auto expected = Conversations(columns);
  const domain::Conversation in_order = repository::ConversationReader(expected)(expected.at(0));
  EXPECT_EQ(in_order.id, conversation_id_);
  EXPECT_EQ(in_order.channel, domain::Channel::kEmail);
  EXPECT_EQ(in_order.status, domain::ConversationStatus::kArchived);
  EXPECT_EQ(in_order.ai_context_summary, "summary");
  EXPECT_EQ(in_order.last_message_preview, "preview");
  EXPECT_EQ(in_order.unread_count, 7);

  std::reverse(columns.begin(), columns.end());
  columns.insert(columns.begin(), "'not a column of the mapping' AS unrelated");
  const auto reordered = Conversations(columns);
  const domain::Conversation read = repository::ConversationReader(reordered)(reordered.at(0));
  v1::Conversation a, b;
  transport::ToProto(in_order, &a);
  transport::ToProto(read, &b);
  EXPECT_TRUE(MessageDifferencer::Equals(a, b)) << a.DebugString() << "\nvs\n" << b.DebugString();
  EXPECT_EQ(read.inbox_at, in_order.inbox_at);
}

TEST_F(RowMappingTest, ReorderedMessageColumnsMapToTheSameFields) {
  auto columns = ColumnsOf(repository::sql::kMessageColumns);
  const auto expected = Messages(columns);
  const domain::Message in_order = repository::MessageReader(expected)(expected.at(0));
  EXPECT_EQ(in_order.id, message_id_);
  EXPECT_EQ(in_order.conversation_id, conversation_id_);
  EXPECT_EQ(in_order.direction, domain::Direction::kOutbound);
  EXPECT_EQ(in_order.message_type, domain::MessageType::kMedia);
  EXPECT_EQ(in_order.content, "content");
  EXPECT_EQ(in_order.media_content_type, "image/png");
  EXPECT_EQ(in_order.error_code, "30003");
  EXPECT_EQ(in_order.error_message, "unreachable");
  EXPECT_EQ(in_order.ai_intent, "intent");
  EXPECT_EQ(in_order.ai_sentiment, "sentiment");
  EXPECT_EQ(in_order.delivery_status, domain::DeliveryStatus::kFailed);
  EXPECT_EQ(in_order.ai_processing_status, domain::AiProcessingStatus::kCompleted);
  EXPECT_TRUE(in_order.ai_processed_at.has_value());
  EXPECT_EQ(in_order.version, 1);

  std::reverse(columns.begin(), columns.end());
  columns.insert(columns.begin(), "'not a column of the mapping' AS unrelated");
  const auto reordered = Messages(columns);
  const domain::Message read = repository::MessageReader(reordered)(reordered.at(0));
  v1::Message a, b;
  transport::ToProto(in_order, &a);
  transport::ToProto(read, &b);
  EXPECT_TRUE(MessageDifferencer::Equals(a, b)) << a.DebugString() << "\nvs\n" << b.DebugString();

  // Back to the first order: the column numbers kept from the previous result
  // no longer fit and are looked up again.
  const domain::Message again = repository::MessageReader(expected)(expected.at(0));
  v1::Message c;
  transport::ToProto(again, &c);
  EXPECT_TRUE(MessageDifferencer::Equals(a, c)) << c.DebugString();
}

// The conversation's columns with `replacements` (alias -> expression) in
// place of those columns' own expressions.
std::vector<std::string> ConversationColumnsWith(
    const std::vector<std::pair<std::string, std::string>>& replacements) {
  auto columns = ColumnsOf(repository::sql::kConversationColumns);
  for (const auto& replacement : replacements) {
    const std::string as_alias = " AS " + replacement.first;
    const auto it = std::find_if(columns.begin(), columns.end(),
                                 [&](const std::string& c) { return absl::EndsWith(c, as_alias); });
    EXPECT_NE(it, columns.end()) << replacement.first;
    if (it != columns.end()) *it = replacement.second + as_alias;
  }
  return columns;
}

TEST_F(RowMappingTest, IntegersAreReadExactlyToTheLimitsOfTheirFields) {
  const auto result = Conversations(ConversationColumnsWith({
      {"unread_count", "2147483647"},
      {"created_at", "(-9223372036854775807 - 1)::int8"},
      {"updated_at", "9223372036854775807::int8"},
      {"inbox_at", "-1::int8"},
  }));
  const domain::Conversation read = repository::ConversationReader(result)(result.at(0));
  EXPECT_EQ(read.unread_count, 2147483647);
  EXPECT_EQ(read.created_at, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(read.updated_at, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(read.inbox_at, -1);
}

TEST_F(RowMappingTest, AnIntegerThatDoesNotFitItsFieldIsAnErrorNamingTheColumn) {
  for (const char* value : {"2147483648", "-2147483649", "NULL::int4", "'12x'", "''"}) {
    const auto result = Conversations(ConversationColumnsWith({{"unread_count", value}}));
    try {
      const domain::Conversation read = repository::ConversationReader(result)(result.at(0));
      ADD_FAILURE() << value << " was read as " << read.unread_count;
    } catch (const std::runtime_error& e) {
      EXPECT_TRUE(absl::StrContains(e.what(), "unexpected value in column unread_count"))
          << value << ": " << e.what();
    }
  }
}

TEST_F(RowMappingTest, AMissingColumnIsAnErrorNamingIt) {
  auto columns = ColumnsOf(repository::sql::kMessageColumns);
  columns.erase(
      std::remove_if(columns.begin(), columns.end(),
                     [](const std::string& c) { return absl::EndsWith(c, "AS version"); }),
      columns.end());
  const auto result = Messages(columns);
  try {
    repository::MessageReader reader(result);
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_TRUE(absl::StrContains(e.what(), "no column \"version\"")) << e.what();
  }
}

}  // namespace
}  // namespace messaging::testing
