// Every method, called with distributor B's token against distributor A's
// resources, answers NOT_FOUND (never PERMISSION_DENIED, which would confirm
// the id exists) or an empty result, and A's rows stay exactly as they were.

#include <gtest/gtest.h>

#include "support/api_test.h"

namespace messaging::testing {
namespace {

using grpc::StatusCode;

class TenantIsolationTest : public ApiTest {
 protected:
  void SetUp() override {
    a_ = db().NewDistributor();
    b_ = db().NewDistributor();
    customer_ = db().NewCustomer();
    conversation_ = CreateConversation(a_, customer_);
    message_ = CreateMessage(a_, conversation_.id(), "A's secret", v1::DIRECTION_OUTBOUND,
                             "SM-A-" + conversation_.id());
    fingerprint_ = Fingerprint();
  }

  void TearDown() override {
    EXPECT_EQ(Fingerprint(), fingerprint_) << "distributor A's rows changed";
  }

  // Every column of every row of A, as seen by the superuser (no RLS).
  std::string Fingerprint() {
    return db()
        .Exec(
            "SELECT coalesce((SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) "
            "FROM conversations c WHERE distributor_id = '" +
            a_ +
            "'), '') || '/' || "
            "coalesce((SELECT md5(string_agg(m::text, ',' ORDER BY m.id)) "
            "FROM messages m WHERE distributor_id = '" +
            a_ + "'), '')")
        .at(0)
        .at(0)
        .as<std::string>();
  }

  std::string a_, b_, customer_, fingerprint_;
  v1::Conversation conversation_;
  v1::Message message_;
};

TEST_F(TenantIsolationTest, GetConversation) {
  v1::GetConversationRequest request;
  request.set_id(conversation_.id());
  v1::Conversation out;
  EXPECT_EQ(Call(&Stub::GetConversation, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(TenantIsolationTest, ListConversationsShowsNothingOfA) {
  v1::ListConversationsRequest request;
  v1::ListConversationsResponse out;
  ASSERT_TRUE(Call(&Stub::ListConversations, b_, request, &out).ok());
  EXPECT_EQ(out.conversations_size(), 0);
  request.set_customer_id(customer_);
  ASSERT_TRUE(Call(&Stub::ListConversations, b_, request, &out).ok());
  EXPECT_EQ(out.conversations_size(), 0);
}

TEST_F(TenantIsolationTest, PageTokenOfAIsRejectedForB) {
  CreateConversation(a_, db().NewCustomer());
  fingerprint_ = Fingerprint();
  v1::ListConversationsRequest request;
  request.set_page_size(1);
  v1::ListConversationsResponse page;
  ASSERT_TRUE(Call(&Stub::ListConversations, a_, request, &page).ok());
  ASSERT_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  EXPECT_EQ(Call(&Stub::ListConversations, b_, request, &page).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(TenantIsolationTest, GetOrCreateConversationCreatesBsOwn) {
  v1::GetOrCreateConversationRequest request;
  request.set_customer_id(customer_);
  request.set_channel(conversation_.channel());
  v1::Conversation out;
  ASSERT_TRUE(Call(&Stub::GetOrCreateConversation, b_, request, &out).ok());
  EXPECT_NE(out.id(), conversation_.id());
  EXPECT_EQ(out.distributor_id(), b_);
}

TEST_F(TenantIsolationTest, CreateConversationIsBsOwnEvenIfTheRequestNamesA) {
  v1::CreateConversationRequest request;
  request.mutable_conversation()->set_customer_id(customer_);
  request.mutable_conversation()->set_channel(conversation_.channel());
  request.mutable_conversation()->set_distributor_id(a_);
  v1::Conversation out;
  ASSERT_TRUE(Call(&Stub::CreateConversation, b_, request, &out).ok());
  EXPECT_EQ(out.distributor_id(), b_);
}

TEST_F(TenantIsolationTest, UpdateConversation) {
  v1::UpdateConversationRequest request;
  request.mutable_conversation()->set_id(conversation_.id());
  request.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_CLOSED);
  request.mutable_update_mask()->add_paths("status");
  v1::Conversation out;
  EXPECT_EQ(Call(&Stub::UpdateConversation, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(TenantIsolationTest, DeleteConversation) {
  v1::DeleteConversationRequest request;
  request.set_id(conversation_.id());
  google::protobuf::Empty out;
  EXPECT_EQ(Call(&Stub::DeleteConversation, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(TenantIsolationTest, MarkConversationRead) {
  CreateMessage(a_, conversation_.id(), "unread");
  fingerprint_ = Fingerprint();
  v1::MarkConversationReadRequest request;
  request.set_id(conversation_.id());
  v1::Conversation out;
  EXPECT_EQ(Call(&Stub::MarkConversationRead, b_, request, &out).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(TenantIsolationTest, CreateMessageInAsConversation) {
  v1::CreateMessageRequest request;
  request.mutable_message()->set_conversation_id(conversation_.id());
  request.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
  request.mutable_message()->set_content("injected");
  v1::Message out;
  EXPECT_EQ(Call(&Stub::CreateMessage, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
  // Not even through A's external id (idempotency must not leak A's message).
  request.mutable_message()->set_external_message_id(message_.external_message_id());
  EXPECT_EQ(Call(&Stub::CreateMessage, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(TenantIsolationTest, GetMessage) {
  v1::GetMessageRequest request;
  request.set_id(message_.id());
  v1::Message out;
  EXPECT_EQ(Call(&Stub::GetMessage, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(TenantIsolationTest, ListMessages) {
  v1::ListMessagesRequest request;
  request.set_conversation_id(conversation_.id());
  v1::ListMessagesResponse out;
  EXPECT_EQ(Call(&Stub::ListMessages, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(out.messages_size(), 0);
}

TEST_F(TenantIsolationTest, UpdateMessage) {
  v1::UpdateMessageRequest request;
  request.mutable_message()->set_id(message_.id());
  request.mutable_message()->set_ai_summary("overwritten");
  request.mutable_update_mask()->add_paths("ai_summary");
  v1::Message out;
  EXPECT_EQ(Call(&Stub::UpdateMessage, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(TenantIsolationTest, UpdateDeliveryStatusByIdAndByExternalId) {
  v1::UpdateDeliveryStatusRequest request;
  request.set_id(message_.id());
  request.set_delivery_status(v1::DELIVERY_STATUS_DELIVERED);
  v1::Message out;
  EXPECT_EQ(Call(&Stub::UpdateDeliveryStatus, b_, request, &out).error_code(),
            StatusCode::NOT_FOUND);
  request.set_external_message_id(message_.external_message_id());
  EXPECT_EQ(Call(&Stub::UpdateDeliveryStatus, b_, request, &out).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(TenantIsolationTest, DeleteMessage) {
  v1::DeleteMessageRequest request;
  request.set_id(message_.id());
  google::protobuf::Empty out;
  EXPECT_EQ(Call(&Stub::DeleteMessage, b_, request, &out).error_code(), StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace messaging::testing
