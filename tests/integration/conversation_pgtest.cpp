// Conversation methods end to end: real gRPC, real PostgreSQL.

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "support/api_test.h"

namespace messaging::testing {
namespace {

using grpc::StatusCode;

class ConversationApiTest : public ApiTest {
 protected:
  void SetUp() override {
    distributor_ = db().NewDistributor();
    customer_ = db().NewCustomer();
  }
  std::string distributor_;
  std::string customer_;
};

TEST_F(ConversationApiTest, CreateReturnsTheStoredConversation) {
  v1::CreateConversationRequest request;
  auto* c = request.mutable_conversation();
  c->set_customer_id(customer_);
  c->set_channel(v1::CHANNEL_SMS);
  c->set_ai_context_summary("asks about delivery");
  c->set_distributor_id("ffffffff-ffff-ffff-ffff-ffffffffffff");  // Ignored: from the token.
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(R"({"crm":{"tier":"gold"}})",
                                                          c->mutable_metadata())
                  .ok());
  v1::Conversation created;
  ASSERT_TRUE(Call(&Stub::CreateConversation, distributor_, request, &created).ok());
  EXPECT_EQ(created.distributor_id(), distributor_);
  EXPECT_EQ(created.customer_id(), customer_);
  EXPECT_EQ(created.channel(), v1::CHANNEL_SMS);
  EXPECT_EQ(created.status(), v1::CONVERSATION_STATUS_ACTIVE);
  EXPECT_EQ(created.ai_context_summary(), "asks about delivery");
  EXPECT_EQ(created.unread_count(), 0);
  EXPECT_FALSE(created.has_last_message_at());
  EXPECT_EQ(created.metadata().fields().at("crm").struct_value().fields().at("tier").string_value(),
            "gold");
  EXPECT_GT(created.create_time().seconds(), 0);

  v1::GetConversationRequest get;
  get.set_id(created.id());
  v1::Conversation fetched;
  ASSERT_TRUE(Call(&Stub::GetConversation, distributor_, get, &fetched).ok());
  EXPECT_EQ(fetched.SerializeAsString(), created.SerializeAsString());
}

TEST_F(ConversationApiTest, SecondActiveConversationForSameCustomerAndChannelIsAlreadyExists) {
  CreateConversation(distributor_, customer_, v1::CHANNEL_WHATSAPP);
  v1::CreateConversationRequest request;
  request.mutable_conversation()->set_customer_id(customer_);
  request.mutable_conversation()->set_channel(v1::CHANNEL_WHATSAPP);
  v1::Conversation second;
  EXPECT_EQ(Call(&Stub::CreateConversation, distributor_, request, &second).error_code(),
            StatusCode::ALREADY_EXISTS);
  // Another channel, or an archived one, is fine.
  request.mutable_conversation()->set_channel(v1::CHANNEL_EMAIL);
  EXPECT_TRUE(Call(&Stub::CreateConversation, distributor_, request, &second).ok());
  request.mutable_conversation()->set_channel(v1::CHANNEL_WHATSAPP);
  request.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_ARCHIVED);
  EXPECT_TRUE(Call(&Stub::CreateConversation, distributor_, request, &second).ok());
}

TEST_F(ConversationApiTest, CreateRejectsBadInput) {
  struct Case {
    const char* name;
    std::function<void(v1::Conversation*)> mutate;
    StatusCode code;
    const char* field;
  };
  const std::string unknown_customer = "0c0c0c0c-0000-4000-8000-000000000000";
  const Case cases[] = {
      {"missing customer", [](v1::Conversation* c) { c->clear_customer_id(); },
       StatusCode::INVALID_ARGUMENT, "conversation.customer_id"},
      {"malformed customer", [](v1::Conversation* c) { c->set_customer_id("not-a-uuid"); },
       StatusCode::INVALID_ARGUMENT, "conversation.customer_id"},
      {"unspecified channel", [](v1::Conversation* c) { c->set_channel(v1::CHANNEL_UNSPECIFIED); },
       StatusCode::INVALID_ARGUMENT, "conversation.channel"},
      {"out of range channel",
       [](v1::Conversation* c) { c->set_channel(static_cast<v1::Channel>(42)); },
       StatusCode::INVALID_ARGUMENT, "conversation.channel"},
      {"unknown customer", [&](v1::Conversation* c) { c->set_customer_id(unknown_customer); },
       StatusCode::NOT_FOUND, "customer"},
      {"summary with NUL",
       [](v1::Conversation* c) { c->set_ai_context_summary(std::string("a\0b", 3)); },
       StatusCode::INVALID_ARGUMENT, "conversation.ai_context_summary"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    v1::CreateConversationRequest request;
    request.mutable_conversation()->set_customer_id(db().NewCustomer());
    request.mutable_conversation()->set_channel(v1::CHANNEL_WHATSAPP);
    tc.mutate(request.mutable_conversation());
    v1::Conversation out;
    const auto status = Call(&Stub::CreateConversation, distributor_, request, &out);
    EXPECT_EQ(status.error_code(), tc.code) << status.error_message();
    EXPECT_NE(status.error_message().find(tc.field), std::string::npos) << status.error_message();
  }
  EXPECT_EQ(db().Scalar("SELECT count(*) FROM conversations WHERE distributor_id = '" +
                        distributor_ + "'"),
            0);
}

TEST_F(ConversationApiTest, GetOrCreateReturnsTheActiveConversationOrCreatesOne) {
  v1::GetOrCreateConversationRequest request;
  request.set_customer_id(customer_);
  request.set_channel(v1::CHANNEL_WHATSAPP);
  v1::Conversation first, second;
  ASSERT_TRUE(Call(&Stub::GetOrCreateConversation, distributor_, request, &first).ok());
  ASSERT_TRUE(Call(&Stub::GetOrCreateConversation, distributor_, request, &second).ok());
  EXPECT_EQ(first.id(), second.id());

  // Once archived, the next call starts a new active conversation.
  v1::UpdateConversationRequest archive;
  archive.mutable_conversation()->set_id(first.id());
  archive.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_ARCHIVED);
  archive.mutable_update_mask()->add_paths("status");
  v1::Conversation archived;
  ASSERT_TRUE(Call(&Stub::UpdateConversation, distributor_, archive, &archived).ok());
  v1::Conversation third;
  ASSERT_TRUE(Call(&Stub::GetOrCreateConversation, distributor_, request, &third).ok());
  EXPECT_NE(third.id(), first.id());
  EXPECT_EQ(third.status(), v1::CONVERSATION_STATUS_ACTIVE);

  request.set_channel(v1::CHANNEL_UNSPECIFIED);
  EXPECT_EQ(Call(&Stub::GetOrCreateConversation, distributor_, request, &third).error_code(),
            StatusCode::INVALID_ARGUMENT);
  request.set_channel(v1::CHANNEL_SMS);
  request.set_customer_id("7a7a7a7a-0000-4000-8000-000000000000");
  EXPECT_EQ(Call(&Stub::GetOrCreateConversation, distributor_, request, &third).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(ConversationApiTest, GetUnknownOrMalformedId) {
  v1::GetConversationRequest request;
  v1::Conversation out;
  request.set_id("5b5b5b5b-0000-4000-8000-000000000000");
  EXPECT_EQ(Call(&Stub::GetConversation, distributor_, request, &out).error_code(),
            StatusCode::NOT_FOUND);
  request.set_id("5b5b5b5b");
  const auto status = Call(&Stub::GetConversation, distributor_, request, &out);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("id"), std::string::npos);
}

TEST_F(ConversationApiTest, UpdateWritesOnlyMaskedFields) {
  v1::Conversation c = CreateConversation(distributor_, customer_);
  v1::UpdateConversationRequest request;
  request.mutable_conversation()->set_id(c.id());
  request.mutable_conversation()->set_ai_context_summary("new summary");
  request.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_CLOSED);  // Not in mask.
  request.mutable_update_mask()->add_paths("ai_context_summary");
  v1::Conversation updated;
  ASSERT_TRUE(Call(&Stub::UpdateConversation, distributor_, request, &updated).ok());
  EXPECT_EQ(updated.ai_context_summary(), "new summary");
  EXPECT_EQ(updated.status(), v1::CONVERSATION_STATUS_ACTIVE);
  EXPECT_GE(updated.update_time().seconds() * 1000000000LL + updated.update_time().nanos(),
            c.update_time().seconds() * 1000000000LL + c.update_time().nanos());

  request.mutable_update_mask()->clear_paths();
  auto status = Call(&Stub::UpdateConversation, distributor_, request, &updated);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("update_mask"), std::string::npos);

  request.mutable_update_mask()->add_paths("unread_count");
  status = Call(&Stub::UpdateConversation, distributor_, request, &updated);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("unread_count"), std::string::npos);

  request.mutable_update_mask()->clear_paths();
  request.mutable_update_mask()->add_paths("status");
  request.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_UNSPECIFIED);
  EXPECT_EQ(Call(&Stub::UpdateConversation, distributor_, request, &updated).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(ConversationApiTest, ReactivatingWhileAnotherIsActiveIsAlreadyExists) {
  v1::Conversation first = CreateConversation(distributor_, customer_);
  v1::UpdateConversationRequest request;
  request.mutable_conversation()->set_id(first.id());
  request.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_ARCHIVED);
  request.mutable_update_mask()->add_paths("status");
  v1::Conversation out;
  ASSERT_TRUE(Call(&Stub::UpdateConversation, distributor_, request, &out).ok());
  CreateConversation(distributor_, customer_);  // A new active one.
  request.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_ACTIVE);
  EXPECT_EQ(Call(&Stub::UpdateConversation, distributor_, request, &out).error_code(),
            StatusCode::ALREADY_EXISTS);
}

TEST_F(ConversationApiTest, DeleteCascadesToMessages) {
  v1::Conversation c = CreateConversation(distributor_, customer_);
  CreateMessage(distributor_, c.id(), "one");
  CreateMessage(distributor_, c.id(), "two");
  v1::DeleteConversationRequest request;
  request.set_id(c.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(&Stub::DeleteConversation, distributor_, request, &empty).ok());
  EXPECT_EQ(db().Scalar("SELECT count(*) FROM messages WHERE conversation_id = '" + c.id() + "'"),
            0);
  EXPECT_EQ(Call(&Stub::DeleteConversation, distributor_, request, &empty).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(ConversationApiTest, MarkReadResetsUnreadCount) {
  v1::Conversation c = CreateConversation(distributor_, customer_);
  CreateMessage(distributor_, c.id(), "in 1");
  CreateMessage(distributor_, c.id(), "in 2");
  CreateMessage(distributor_, c.id(), "out", v1::DIRECTION_OUTBOUND);
  v1::GetConversationRequest get;
  get.set_id(c.id());
  v1::Conversation before;
  ASSERT_TRUE(Call(&Stub::GetConversation, distributor_, get, &before).ok());
  EXPECT_EQ(before.unread_count(), 2);
  EXPECT_EQ(before.last_message_preview(), "out");
  v1::MarkConversationReadRequest request;
  request.set_id(c.id());
  v1::Conversation after;
  ASSERT_TRUE(Call(&Stub::MarkConversationRead, distributor_, request, &after).ok());
  EXPECT_EQ(after.unread_count(), 0);
  request.set_id("6c6c6c6c-0000-4000-8000-000000000000");
  EXPECT_EQ(Call(&Stub::MarkConversationRead, distributor_, request, &after).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(ConversationApiTest, ListIsInInboxOrderWithFilters) {
  const std::string other_customer = db().NewCustomer();
  v1::Conversation a = CreateConversation(distributor_, customer_, v1::CHANNEL_WHATSAPP);
  v1::Conversation b = CreateConversation(distributor_, customer_, v1::CHANNEL_SMS);
  v1::Conversation c = CreateConversation(distributor_, other_customer, v1::CHANNEL_WHATSAPP);
  CreateMessage(distributor_, b.id(), "b first");
  CreateMessage(distributor_, a.id(), "a latest");

  v1::ListConversationsRequest request;
  v1::ListConversationsResponse response;
  ASSERT_TRUE(Call(&Stub::ListConversations, distributor_, request, &response).ok());
  ASSERT_EQ(response.conversations_size(), 3);
  // a and b have messages (a most recent); c has none and sorts by creation time.
  std::vector<std::string> ids;
  for (const auto& conv : response.conversations()) ids.push_back(conv.id());
  EXPECT_EQ(ids, (std::vector<std::string>{a.id(), b.id(), c.id()}));
  EXPECT_TRUE(response.next_page_token().empty());

  request.set_customer_id(customer_);
  ASSERT_TRUE(Call(&Stub::ListConversations, distributor_, request, &response).ok());
  EXPECT_EQ(response.conversations_size(), 2);
  request.set_channel(v1::CHANNEL_SMS);
  ASSERT_TRUE(Call(&Stub::ListConversations, distributor_, request, &response).ok());
  ASSERT_EQ(response.conversations_size(), 1);
  EXPECT_EQ(response.conversations(0).id(), b.id());
  request.clear_customer_id();
  request.clear_channel();
  request.set_status(v1::CONVERSATION_STATUS_ARCHIVED);
  ASSERT_TRUE(Call(&Stub::ListConversations, distributor_, request, &response).ok());
  EXPECT_EQ(response.conversations_size(), 0);

  request.clear_status();
  request.set_customer_id("nope");
  EXPECT_EQ(Call(&Stub::ListConversations, distributor_, request, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
  request.clear_customer_id();
  request.set_page_size(-1);
  EXPECT_EQ(Call(&Stub::ListConversations, distributor_, request, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(ConversationApiTest, ListPagesCoverEveryConversationOnceAndRejectForeignTokens) {
  for (int i = 0; i < 23; ++i) CreateConversation(distributor_, db().NewCustomer());
  std::set<std::string> seen;
  v1::ListConversationsRequest request;
  request.set_page_size(5);
  int pages = 0;
  std::string token_from_unfiltered;
  do {
    v1::ListConversationsResponse response;
    ASSERT_TRUE(Call(&Stub::ListConversations, distributor_, request, &response).ok());
    for (const auto& c : response.conversations()) EXPECT_TRUE(seen.insert(c.id()).second);
    if (pages == 0) token_from_unfiltered = response.next_page_token();
    request.set_page_token(response.next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_EQ(seen.size(), 23u);
  EXPECT_EQ(pages, 5);

  // A token is bound to its query: other filters, or another tenant, fail.
  v1::ListConversationsRequest other;
  other.set_page_token(token_from_unfiltered);
  other.set_channel(v1::CHANNEL_SMS);
  v1::ListConversationsResponse response;
  auto status = Call(&Stub::ListConversations, distributor_, other, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("page_token"), std::string::npos);
  other.clear_channel();
  EXPECT_EQ(Call(&Stub::ListConversations, db().NewDistributor(), other, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
  other.set_page_token("forged");
  EXPECT_EQ(Call(&Stub::ListConversations, distributor_, other, &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(ConversationApiTest, PageSizeIsClampedTo500AndZeroMeans50) {
  const std::string distributor = db().NewDistributor();
  db().Exec("INSERT INTO customers (id) SELECT gen_random_uuid() FROM generate_series(1, 510)");
  db().Exec(
      "INSERT INTO conversations (distributor_id, customer_id, channel) "
      "SELECT '" +
      distributor +
      "', id, 'sms' FROM customers "
      "WHERE id NOT IN (SELECT customer_id FROM conversations) LIMIT 510");
  v1::ListConversationsRequest request;
  request.set_page_size(100000);
  v1::ListConversationsResponse response;
  ASSERT_TRUE(Call(&Stub::ListConversations, distributor, request, &response).ok());
  EXPECT_EQ(response.conversations_size(), 500);
  EXPECT_FALSE(response.next_page_token().empty());
  request.set_page_size(0);
  ASSERT_TRUE(Call(&Stub::ListConversations, distributor, request, &response).ok());
  EXPECT_EQ(response.conversations_size(), 50);
}

}  // namespace
}  // namespace messaging::testing
