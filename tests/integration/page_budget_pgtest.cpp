// List pages are bounded by bytes as well as rows: a page of large rows stops
// before the row that would take it past the budget (one row at least), and
// its next_page_token continues right after the last row it holds, so paging
// returns every row exactly once.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing {
namespace {

constexpr std::size_t kBudget = 100 * 1024;
constexpr std::size_t kRowContent = 30 * 1024;

class PageBudgetTest : public ::testing::Test {
 protected:
  PageBudgetTest()
      : server_(db_.server_url(), [](app::ServerConfig& c) { c.limits.max_page_bytes = kBudget; }) {
  }

  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (v1::MessagingService::Stub::*method)(grpc::ClientContext*,
                                                                       const Request&, Response*),
                    const Request& request, Response* response) {
    auto context = server_.Context(distributor_);
    return (server_.stub().*method)(context.get(), request, response);
  }

  v1::Conversation NewConversation(std::size_t metadata_bytes) {
    v1::CreateConversationRequest request;
    request.mutable_conversation()->set_customer_id(db_.NewCustomer());
    request.mutable_conversation()->set_channel(v1::CHANNEL_SMS);
    (*request.mutable_conversation()->mutable_metadata()->mutable_fields())["note"]
        .set_string_value(std::string(metadata_bytes, 'n'));
    v1::Conversation conversation;
    const auto status =
        Call(&v1::MessagingService::Stub::CreateConversation, request, &conversation);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return conversation;
  }

  std::string NewMessage(const std::string& conversation, std::size_t content_bytes,
                         std::size_t metadata_bytes) {
    v1::CreateMessageRequest request;
    auto* m = request.mutable_message();
    m->set_conversation_id(conversation);
    m->set_direction(v1::DIRECTION_INBOUND);
    m->set_content(std::string(content_bytes, 'c'));
    if (metadata_bytes > 0) {
      (*m->mutable_metadata()->mutable_fields())["blob"].set_string_value(
          std::string(metadata_bytes, 'm'));
    }
    v1::Message message;
    const auto status = Call(&v1::MessagingService::Stub::CreateMessage, request, &message);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return message.id();
  }

  TestDatabase db_{"page_budget"};
  TestServer server_;
  const std::string distributor_ = db_.NewDistributor();
};

TEST_F(PageBudgetTest, MessagePagesStopAtTheBudgetAndPagingLosesNothing) {
  const auto conversation = NewConversation(0);
  std::vector<std::string> created;
  for (int i = 0; i < 20; ++i) {
    // One row larger than the whole budget: a page of its own.
    const bool huge = i == 7;
    created.push_back(
        NewMessage(conversation.id(), huge ? 64 * 1024 : kRowContent, huge ? 60 * 1024 : 0));
  }
  for (const bool descending : {false, true}) {
    std::vector<std::string> listed;
    std::string token;
    int pages = 0;
    do {
      v1::ListMessagesRequest request;
      request.set_conversation_id(conversation.id());
      request.set_page_size(500);
      request.set_page_token(token);
      if (descending) request.set_order_by("create_time desc");
      v1::ListMessagesResponse page;
      const auto status = Call(&v1::MessagingService::Stub::ListMessages, request, &page);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_GE(page.messages_size(), 1) << "every page makes progress";
      std::size_t content = 0;
      for (const auto& m : page.messages()) {
        listed.push_back(m.id());
        content += m.content().size() + m.metadata().ByteSizeLong();
      }
      if (page.messages_size() > 1) {
        EXPECT_LE(content, kBudget) << "a page of several rows stays within the budget";
      }
      EXPECT_LE(page.messages_size(), 3) << "30 KiB rows, 100 KiB pages";
      token = page.next_page_token();
      ++pages;
    } while (!token.empty() && pages < 100);
    std::vector<std::string> expected = created;
    if (descending) expected.assign(created.rbegin(), created.rend());
    EXPECT_EQ(listed, expected) << "every message once, in order";
    EXPECT_GE(pages, 8) << "the budget, not page_size, cut the pages";
  }
}

TEST_F(PageBudgetTest, ConversationPagesStopAtTheBudgetAndPagingLosesNothing) {
  std::set<std::string> created;
  for (int i = 0; i < 12; ++i) created.insert(NewConversation(kRowContent).id());
  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    v1::ListConversationsRequest request;
    request.set_page_size(500);
    request.set_page_token(token);
    v1::ListConversationsResponse page;
    const auto status = Call(&v1::MessagingService::Stub::ListConversations, request, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_GE(page.conversations_size(), 1);
    EXPECT_LE(page.conversations_size(), 3);
    for (const auto& c : page.conversations()) listed.push_back(c.id());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(listed.size(), created.size()) << "no conversation twice";
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), created);
  EXPECT_GE(pages, 4);
}

TEST_F(PageBudgetTest, SmallRowsStillFillThePage) {
  const auto conversation = NewConversation(0);
  for (int i = 0; i < 60; ++i) NewMessage(conversation.id(), 100, 0);
  v1::ListMessagesRequest request;
  request.set_conversation_id(conversation.id());
  request.set_page_size(50);
  v1::ListMessagesResponse page;
  ASSERT_TRUE(Call(&v1::MessagingService::Stub::ListMessages, request, &page).ok());
  EXPECT_EQ(page.messages_size(), 50);
  EXPECT_FALSE(page.next_page_token().empty());
}

}  // namespace
}  // namespace messaging::testing
