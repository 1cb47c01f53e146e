#include "domain/field_mask.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "unit/status_matchers.h"

namespace messaging::domain {
namespace {

using ::messaging::testing::IsOk;
using ::messaging::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

TEST(ParseUpdateMaskTest, EmptyMaskIsRejectedMentioningUpdateMask) {
  const auto parsed = ParseUpdateMask({}, ConversationMaskPaths());
  EXPECT_THAT(parsed, StatusIs(kInvalid, "update_mask"));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("ai_context_summary"))
      << "lists the updatable paths";
}

TEST(ParseUpdateMaskTest, UnknownPathIsRejectedNamingIt) {
  EXPECT_THAT(ParseUpdateMask({"status", "unread_count"}, ConversationMaskPaths()),
              StatusIs(kInvalid, "\"unread_count\""));
  EXPECT_THAT(ParseUpdateMask({"unread_count"}, ConversationMaskPaths()),
              StatusIs(kInvalid, "update_mask"));
}

TEST(ParseUpdateMaskTest, PathsAreExactAndCaseSensitive) {
  for (const char* path : {"Status", "status ", "metadata.key", "", "*", "id", "distributor_id",
                           "customer_id", "create_time"}) {
    SCOPED_TRACE(path);
    EXPECT_THAT(ParseUpdateMask({path}, ConversationMaskPaths()),
                StatusIs(kInvalid, "update_mask"));
  }
}

TEST(ParseUpdateMaskTest, EveryAllowedConversationPathIsAccepted) {
  for (const auto& path : ConversationMaskPaths()) {
    const auto parsed = ParseUpdateMask({path}, ConversationMaskPaths());
    ASSERT_THAT(parsed, IsOk()) << path;
    EXPECT_THAT(*parsed, ElementsAre(path));
  }
  EXPECT_EQ(ConversationMaskPaths(),
            (std::set<std::string, std::less<>>{"status", "ai_context_summary", "metadata"}));
}

TEST(ParseUpdateMaskTest, EveryAllowedMessagePathIsAccepted) {
  const std::vector<std::string> all(MessageMaskPaths().begin(), MessageMaskPaths().end());
  const auto parsed = ParseUpdateMask(all, MessageMaskPaths());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, MessageMaskPaths());
  EXPECT_EQ(MessageMaskPaths().size(), 9u);
  // Conversation-only or immutable paths are not message paths.
  for (const char* path : {"status", "content", "conversation_id", "direction", "ai_processed_at",
                           "ai_context_summary"}) {
    EXPECT_THAT(ParseUpdateMask({path}, MessageMaskPaths()), StatusIs(kInvalid, path));
  }
}

TEST(ParseUpdateMaskTest, DuplicatePathsAreAcceptedOnce) {
  const auto parsed = ParseUpdateMask({"metadata", "status", "metadata"}, ConversationMaskPaths());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(*parsed, ElementsAre("metadata", "status"));
}

}  // namespace
}  // namespace messaging::domain
