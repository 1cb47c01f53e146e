// Message methods end to end: real gRPC, real PostgreSQL.

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "support/api_test.h"

namespace messaging::testing {
namespace {

using grpc::StatusCode;

class MessageApiTest : public ApiTest {
 protected:
  void SetUp() override {
    distributor_ = db().NewDistributor();
    conversation_ = CreateConversation(distributor_, db().NewCustomer());
  }

  v1::Message Get(const std::string& id) {
    v1::GetMessageRequest request;
    request.set_id(id);
    v1::Message message;
    EXPECT_TRUE(Call(&Stub::GetMessage, distributor_, request, &message).ok());
    return message;
  }

  grpc::Status Deliver(const std::string& external_id, v1::DeliveryStatus status, v1::Message* out,
                       const std::string& error_code = "") {
    v1::UpdateDeliveryStatusRequest request;
    request.set_external_message_id(external_id);
    request.set_delivery_status(status);
    request.set_error_code(error_code);
    return Call(&Stub::UpdateDeliveryStatus, distributor_, request, out);
  }

  std::string distributor_;
  v1::Conversation conversation_;
};

TEST_F(MessageApiTest, CreateStoresEveryFieldAndUpdatesTheConversation) {
  v1::CreateMessageRequest request;
  auto* m = request.mutable_message();
  m->set_conversation_id(conversation_.id());
  m->set_direction(v1::DIRECTION_INBOUND);
  m->set_message_type(v1::MESSAGE_TYPE_MEDIA);
  m->set_content("look at this photo of the broken pallet");
  m->set_media_url("https://api.twilio.com/media/ME1");
  m->set_media_content_type("image/jpeg");
  m->set_external_message_id("SM0001");
  m->set_ai_intent("complaint");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(R"({"order":"A-17"})",
                                                          m->mutable_ai_extracted_data())
                  .ok());
  v1::Message created;
  ASSERT_TRUE(Call(&Stub::CreateMessage, distributor_, request, &created).ok());
  EXPECT_EQ(created.distributor_id(), distributor_);
  EXPECT_EQ(created.message_type(), v1::MESSAGE_TYPE_MEDIA);
  EXPECT_EQ(created.delivery_status(), v1::DELIVERY_STATUS_RECEIVED);
  EXPECT_EQ(created.ai_processing_status(), v1::AI_PROCESSING_STATUS_PENDING);
  EXPECT_EQ(created.media_content_type(), "image/jpeg");
  EXPECT_EQ(created.ai_extracted_data().fields().at("order").string_value(), "A-17");
  EXPECT_EQ(Get(created.id()).SerializeAsString(), created.SerializeAsString());

  v1::GetConversationRequest get;
  get.set_id(conversation_.id());
  v1::Conversation conversation;
  ASSERT_TRUE(Call(&Stub::GetConversation, distributor_, get, &conversation).ok());
  EXPECT_EQ(conversation.unread_count(), 1);
  EXPECT_EQ(conversation.last_message_preview(), created.content());
  EXPECT_EQ(conversation.last_message_at().SerializeAsString(),
            created.create_time().SerializeAsString());

  // Outbound messages default to QUEUED and do not count as unread.
  v1::Message outbound =
      CreateMessage(distributor_, conversation_.id(), "on its way", v1::DIRECTION_OUTBOUND);
  EXPECT_EQ(outbound.delivery_status(), v1::DELIVERY_STATUS_QUEUED);
  ASSERT_TRUE(Call(&Stub::GetConversation, distributor_, get, &conversation).ok());
  EXPECT_EQ(conversation.unread_count(), 1);
  EXPECT_EQ(conversation.last_message_preview(), "on its way");
}

TEST_F(MessageApiTest, CreateRejectsBadInputAndWritesNothing) {
  struct Case {
    const char* name;
    std::function<void(v1::Message*)> mutate;
    StatusCode code;
    const char* field;
  };
  const Case cases[] = {
      {"no direction", [](v1::Message* m) { m->set_direction(v1::DIRECTION_UNSPECIFIED); },
       StatusCode::INVALID_ARGUMENT, "message.direction"},
      {"direction out of range",
       [](v1::Message* m) { m->set_direction(static_cast<v1::Direction>(9)); },
       StatusCode::INVALID_ARGUMENT, "message.direction"},
      {"empty text", [](v1::Message* m) { m->clear_content(); }, StatusCode::INVALID_ARGUMENT,
       "message.content"},
      {"content over 64 KiB",
       [](v1::Message* m) { m->set_content(std::string(64 * 1024 + 1, 'x')); },
       StatusCode::INVALID_ARGUMENT, "message.content"},
      // protobuf itself refuses to parse a proto3 string that is not UTF-8;
      // the transport names the field.
      {"invalid UTF-8", [](v1::Message* m) { m->set_content("bad \xC3\x28"); },
       StatusCode::INVALID_ARGUMENT, "message.content: is not valid UTF-8"},
      {"media without url", [](v1::Message* m) { m->set_message_type(v1::MESSAGE_TYPE_AUDIO); },
       StatusCode::INVALID_ARGUMENT, "message.media_url"},
      {"malformed conversation", [](v1::Message* m) { m->set_conversation_id("123"); },
       StatusCode::INVALID_ARGUMENT, "message.conversation_id"},
      {"unknown conversation",
       [](v1::Message* m) { m->set_conversation_id("3d3d3d3d-0000-4000-8000-000000000000"); },
       StatusCode::NOT_FOUND, "conversation"},
      {"sql-looking content stays data",
       [](v1::Message* m) { m->set_content("'); DROP TABLE messages; --"); }, StatusCode::OK, ""},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    v1::CreateMessageRequest request;
    request.mutable_message()->set_conversation_id(conversation_.id());
    request.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
    request.mutable_message()->set_content("hello");
    tc.mutate(request.mutable_message());
    v1::Message out;
    const auto status = Call(&Stub::CreateMessage, distributor_, request, &out);
    EXPECT_EQ(status.error_code(), tc.code) << status.error_message();
    EXPECT_NE(status.error_message().find(tc.field), std::string::npos) << status.error_message();
  }
  // Only the SQL-looking (but valid) message was stored.
  EXPECT_EQ(db().Scalar("SELECT count(*) FROM messages WHERE conversation_id = '" +
                        conversation_.id() + "'"),
            1);
}

TEST_F(MessageApiTest, RepeatedExternalIdReturnsTheStoredMessageAndChangesNothing) {
  v1::Message first =
      CreateMessage(distributor_, conversation_.id(), "original", v1::DIRECTION_INBOUND, "SMretry");
  v1::Message again = CreateMessage(distributor_, conversation_.id(), "a retry with other text",
                                    v1::DIRECTION_INBOUND, "SMretry");
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  v1::GetConversationRequest get;
  get.set_id(conversation_.id());
  v1::Conversation conversation;
  ASSERT_TRUE(Call(&Stub::GetConversation, distributor_, get, &conversation).ok());
  EXPECT_EQ(conversation.unread_count(), 1);
  EXPECT_EQ(db().Scalar("SELECT count(*) FROM messages WHERE external_message_id = 'SMretry'"), 1);

  // The same external id in another conversation of the tenant is a conflict.
  v1::Conversation other = CreateConversation(distributor_, db().NewCustomer());
  v1::CreateMessageRequest request;
  request.mutable_message()->set_conversation_id(other.id());
  request.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
  request.mutable_message()->set_content("x");
  request.mutable_message()->set_external_message_id("SMretry");
  v1::Message out;
  EXPECT_EQ(Call(&Stub::CreateMessage, distributor_, request, &out).error_code(),
            StatusCode::ALREADY_EXISTS);

  // Another distributor may use the same provider id: keys are per tenant.
  const std::string other_distributor = db().NewDistributor();
  v1::Conversation theirs = CreateConversation(other_distributor, db().NewCustomer());
  v1::Message their_message =
      CreateMessage(other_distributor, theirs.id(), "theirs", v1::DIRECTION_INBOUND, "SMretry");
  EXPECT_NE(their_message.id(), first.id());
}

TEST_F(MessageApiTest, UpdateWritesOnlyMaskedFieldsAndStampsAiProcessedAt) {
  v1::Message m = CreateMessage(distributor_, conversation_.id(), "where is my order?");
  v1::UpdateMessageRequest request;
  request.mutable_message()->set_id(m.id());
  request.mutable_message()->set_ai_processing_status(v1::AI_PROCESSING_STATUS_COMPLETED);
  request.mutable_message()->set_ai_summary("order status question");
  request.mutable_message()->set_ai_intent("order_status");
  request.mutable_message()->set_ai_sentiment("neutral");
  request.mutable_message()->set_content("ignored: not updatable");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"order_id":"42"})", request.mutable_message()->mutable_ai_extracted_data())
                  .ok());
  for (const char* path :
       {"ai_processing_status", "ai_summary", "ai_intent", "ai_sentiment", "ai_extracted_data"}) {
    request.mutable_update_mask()->add_paths(path);
  }
  v1::Message updated;
  ASSERT_TRUE(Call(&Stub::UpdateMessage, distributor_, request, &updated).ok());
  EXPECT_EQ(updated.ai_processing_status(), v1::AI_PROCESSING_STATUS_COMPLETED);
  EXPECT_TRUE(updated.has_ai_processed_at());
  EXPECT_EQ(updated.ai_summary(), "order status question");
  EXPECT_EQ(updated.ai_intent(), "order_status");
  EXPECT_EQ(updated.ai_sentiment(), "neutral");
  EXPECT_EQ(updated.ai_extracted_data().fields().at("order_id").string_value(), "42");
  EXPECT_EQ(updated.content(), "where is my order?");

  // Clearing: a masked field without a value becomes empty.
  request.mutable_update_mask()->clear_paths();
  request.mutable_update_mask()->add_paths("ai_extracted_data");
  request.mutable_message()->clear_ai_extracted_data();
  ASSERT_TRUE(Call(&Stub::UpdateMessage, distributor_, request, &updated).ok());
  EXPECT_FALSE(updated.has_ai_extracted_data());
  EXPECT_EQ(updated.ai_summary(), "order status question");

  request.mutable_update_mask()->clear_paths();
  request.mutable_update_mask()->add_paths("content");
  auto status = Call(&Stub::UpdateMessage, distributor_, request, &updated);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("content"), std::string::npos);
  request.mutable_update_mask()->clear_paths();
  EXPECT_EQ(Call(&Stub::UpdateMessage, distributor_, request, &updated).error_code(),
            StatusCode::INVALID_ARGUMENT);
  request.mutable_message()->set_id("0e0e0e0e-0000-4000-8000-000000000000");
  request.mutable_update_mask()->add_paths("ai_summary");
  EXPECT_EQ(Call(&Stub::UpdateMessage, distributor_, request, &updated).error_code(),
            StatusCode::NOT_FOUND);
}

// version: 1 at creation, +1 per change by any writer; a no-op call (webhook
// retry, stale delivery callback) changes nothing, so it bumps nothing.
TEST_F(MessageApiTest, VersionStartsAtOneAndCountsEveryChange) {
  const v1::Message m = CreateMessage(distributor_, conversation_.id(), "versioned",
                                      v1::DIRECTION_OUTBOUND, "SMversion");
  EXPECT_EQ(m.version(), 1);
  const v1::Message retry = CreateMessage(distributor_, conversation_.id(), "versioned",
                                          v1::DIRECTION_OUTBOUND, "SMversion");
  EXPECT_EQ(retry.version(), 1);
  EXPECT_EQ(Get(m.id()).version(), 1);

  v1::UpdateMessageRequest update;
  update.mutable_message()->set_id(m.id());
  update.mutable_message()->set_ai_summary("a summary");
  update.mutable_update_mask()->add_paths("ai_summary");
  v1::Message out;
  ASSERT_TRUE(Call(&Stub::UpdateMessage, distributor_, update, &out).ok());
  EXPECT_EQ(out.version(), 2);
  ASSERT_TRUE(Deliver("SMversion", v1::DELIVERY_STATUS_SENT, &out).ok());
  EXPECT_EQ(out.version(), 3);
  ASSERT_TRUE(Deliver("SMversion", v1::DELIVERY_STATUS_QUEUED, &out).ok());  // Stale: no-op.
  EXPECT_EQ(out.version(), 3);

  // Any other writer counts too, and cannot set the version itself.
  db().Exec("UPDATE messages SET content = content, version = 42 WHERE id = '" + m.id() + "'");
  EXPECT_EQ(Get(m.id()).version(), 4);
  v1::ListMessagesRequest list;
  list.set_conversation_id(conversation_.id());
  v1::ListMessagesResponse page;
  ASSERT_TRUE(Call(&Stub::ListMessages, distributor_, list, &page).ok());
  ASSERT_EQ(page.messages_size(), 1);
  EXPECT_EQ(page.messages(0).version(), 4);
}

TEST_F(MessageApiTest, DeliveryCallbacksOutOfOrderEndAtRead) {
  v1::Message m = CreateMessage(distributor_, conversation_.id(), "your order shipped",
                                v1::DIRECTION_OUTBOUND, "SMout1");
  EXPECT_EQ(m.delivery_status(), v1::DELIVERY_STATUS_QUEUED);
  v1::Message out;
  ASSERT_TRUE(Deliver("SMout1", v1::DELIVERY_STATUS_READ, &out).ok());
  EXPECT_EQ(out.delivery_status(), v1::DELIVERY_STATUS_READ);
  ASSERT_TRUE(Deliver("SMout1", v1::DELIVERY_STATUS_DELIVERED, &out).ok());
  EXPECT_EQ(out.delivery_status(), v1::DELIVERY_STATUS_READ);
  ASSERT_TRUE(Deliver("SMout1", v1::DELIVERY_STATUS_SENT, &out).ok());
  EXPECT_EQ(out.delivery_status(), v1::DELIVERY_STATUS_READ);
  EXPECT_EQ(Get(m.id()).delivery_status(), v1::DELIVERY_STATUS_READ);
}

TEST_F(MessageApiTest, DeliveryFailureIsFinalAndKeepsTheErrorCode) {
  CreateMessage(distributor_, conversation_.id(), "hi", v1::DIRECTION_OUTBOUND, "SMout2");
  v1::Message out;
  ASSERT_TRUE(Deliver("SMout2", v1::DELIVERY_STATUS_SENT, &out).ok());
  ASSERT_TRUE(Deliver("SMout2", v1::DELIVERY_STATUS_UNDELIVERED, &out, "30003").ok());
  EXPECT_EQ(out.delivery_status(), v1::DELIVERY_STATUS_UNDELIVERED);
  EXPECT_EQ(out.error_code(), "30003");
  ASSERT_TRUE(Deliver("SMout2", v1::DELIVERY_STATUS_DELIVERED, &out).ok());
  EXPECT_EQ(out.delivery_status(), v1::DELIVERY_STATUS_UNDELIVERED);

  // By id works too; unknown ids and missing references are errors.
  v1::UpdateDeliveryStatusRequest request;
  request.set_id(out.id());
  request.set_delivery_status(v1::DELIVERY_STATUS_READ);
  ASSERT_TRUE(Call(&Stub::UpdateDeliveryStatus, distributor_, request, &out).ok());
  EXPECT_EQ(out.delivery_status(), v1::DELIVERY_STATUS_UNDELIVERED);
  EXPECT_EQ(Deliver("SMnope", v1::DELIVERY_STATUS_SENT, &out).error_code(), StatusCode::NOT_FOUND);
  v1::UpdateDeliveryStatusRequest empty;
  empty.set_delivery_status(v1::DELIVERY_STATUS_SENT);
  EXPECT_EQ(Call(&Stub::UpdateDeliveryStatus, distributor_, empty, &out).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Deliver("SMout2", v1::DELIVERY_STATUS_UNSPECIFIED, &out).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(MessageApiTest, DeleteRemovesTheMessage) {
  v1::Message m = CreateMessage(distributor_, conversation_.id(), "oops");
  v1::DeleteMessageRequest request;
  request.set_id(m.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(&Stub::DeleteMessage, distributor_, request, &empty).ok());
  v1::GetMessageRequest get;
  get.set_id(m.id());
  v1::Message out;
  EXPECT_EQ(Call(&Stub::GetMessage, distributor_, get, &out).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(Call(&Stub::DeleteMessage, distributor_, request, &empty).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(MessageApiTest, ListInBothOrdersWithValidation) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(CreateMessage(distributor_, conversation_.id(), "m" + std::to_string(i)).id());
  }
  v1::ListMessagesRequest request;
  request.set_conversation_id(conversation_.id());
  v1::ListMessagesResponse response;
  ASSERT_TRUE(Call(&Stub::ListMessages, distributor_, request, &response).ok());
  std::vector<std::string> listed;
  for (const auto& m : response.messages()) listed.push_back(m.id());
  EXPECT_EQ(listed, ids);

  request.set_order_by("create_time desc");
  ASSERT_TRUE(Call(&Stub::ListMessages, distributor_, request, &response).ok());
  listed.clear();
  for (const auto& m : response.messages()) listed.push_back(m.id());
  EXPECT_EQ(listed, std::vector<std::string>(ids.rbegin(), ids.rend()));

  request.set_order_by("content");
  auto status = Call(&Stub::ListMessages, distributor_, request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("order_by"), std::string::npos);
  request.set_order_by("");
  request.set_conversation_id("7e7e7e7e-0000-4000-8000-000000000000");
  EXPECT_EQ(Call(&Stub::ListMessages, distributor_, request, &response).error_code(),
            StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace messaging::testing
