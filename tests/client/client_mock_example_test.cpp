// How to unit-test your own code that uses the messaging client: build the
// MessagingClient over a MockMessagingConnection (installed with the package,
// header messaging/client/mocks/mock_messaging_connection.h) and set
// expectations per RPC. No server, no network, no threads.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "messaging/client/messaging_client.h"
#include "messaging/client/mocks/mock_messaging_connection.h"

namespace {

namespace v1 = ::messaging::v1;
using ::messaging::client::MessagingClient;
using ::messaging::client::MockMessagingConnection;
using ::testing::_;
using ::testing::AllOf;
using ::testing::Property;
using ::testing::Return;

// --- The code under test: what an application would write. -----------------

// Sends an outbound WhatsApp text to a customer, in their active conversation.
// `request_id` makes a retry of the whole operation safe (and lets the client
// retry the CreateMessage call itself).
absl::StatusOr<v1::Message> SendWhatsAppText(MessagingClient& client,
                                             const std::string& customer_id,
                                             const std::string& text,
                                             const std::string& request_id) {
  auto conversation = client.GetOrCreateConversation(customer_id, v1::CHANNEL_WHATSAPP);
  if (!conversation.ok()) return conversation.status();
  v1::Message message;
  message.set_conversation_id(conversation->id());
  message.set_direction(v1::DIRECTION_OUTBOUND);
  message.set_content(text);
  message.set_external_message_id(request_id);
  return client.CreateMessage(message);
}

// --- Its tests. ---------------------------------------------------------------

TEST(MockExampleTest, SendsIntoTheCustomersActiveConversation) {
  auto mock = std::make_shared<MockMessagingConnection>();
  v1::Conversation conversation;
  conversation.set_id("conv-1");
  EXPECT_CALL(*mock,
              GetOrCreateConversation(AllOf(
                  Property(&v1::GetOrCreateConversationRequest::customer_id, "cust-1"),
                  Property(&v1::GetOrCreateConversationRequest::channel, v1::CHANNEL_WHATSAPP))))
      .WillOnce(Return(conversation));
  EXPECT_CALL(*mock, CreateMessage(_)).WillOnce([](const v1::CreateMessageRequest& request) {
    EXPECT_EQ(request.message().conversation_id(), "conv-1");
    EXPECT_EQ(request.message().direction(), v1::DIRECTION_OUTBOUND);
    EXPECT_EQ(request.message().external_message_id(), "req-42");
    v1::Message stored = request.message();
    stored.set_id("msg-1");
    return absl::StatusOr<v1::Message>(stored);
  });

  MessagingClient client(mock);
  auto sent = SendWhatsAppText(client, "cust-1", "Your order shipped", "req-42");
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->id(), "msg-1");
  EXPECT_EQ(sent->content(), "Your order shipped");
}

TEST(MockExampleTest, StopsAtTheFirstError) {
  auto mock = std::make_shared<MockMessagingConnection>();
  EXPECT_CALL(*mock, GetOrCreateConversation(_))
      .WillOnce(Return(absl::NotFoundError("customer not found")));
  EXPECT_CALL(*mock, CreateMessage(_)).Times(0);

  MessagingClient client(mock);
  EXPECT_EQ(SendWhatsAppText(client, "nobody", "hi", "req-1").status(),
            absl::NotFoundError("customer not found"));
}

}  // namespace
