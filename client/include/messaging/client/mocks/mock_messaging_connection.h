#pragma once

// gMock doubles for unit tests of code that uses MessagingClient: build the
// client over a MockMessagingConnection and no server or network is involved.
//
//   auto mock = std::make_shared<messaging::client::MockMessagingConnection>();
//   EXPECT_CALL(*mock, GetConversation).WillOnce(Return(conversation));
//   messaging::client::MessagingClient client(mock);
//
// Header-only; the test links GTest::gmock itself.

#include <gmock/gmock.h>

#include <memory>

#include "messaging/client/messaging_connection.h"

namespace messaging::client {

class MockMessagingConnection : public MessagingConnection {
 public:
  MOCK_METHOD(absl::StatusOr<v1::Conversation>, CreateConversation,
              (const v1::CreateConversationRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Conversation>, GetOrCreateConversation,
              (const v1::GetOrCreateConversationRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Conversation>, GetConversation,
              (const v1::GetConversationRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListConversationsResponse>, ListConversations,
              (const v1::ListConversationsRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Conversation>, UpdateConversation,
              (const v1::UpdateConversationRequest&), (override));
  MOCK_METHOD(absl::Status, DeleteConversation, (const v1::DeleteConversationRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Conversation>, MarkConversationRead,
              (const v1::MarkConversationReadRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Message>, CreateMessage, (const v1::CreateMessageRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Message>, GetMessage, (const v1::GetMessageRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::ListMessagesResponse>, ListMessages,
              (const v1::ListMessagesRequest&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Message>, UpdateMessage, (const v1::UpdateMessageRequest&),
              (override));
  MOCK_METHOD(absl::StatusOr<v1::Message>, UpdateDeliveryStatus,
              (const v1::UpdateDeliveryStatusRequest&), (override));
  MOCK_METHOD(absl::Status, DeleteMessage, (const v1::DeleteMessageRequest&), (override));
  MOCK_METHOD(std::unique_ptr<MessageEventStream>, StreamMessages,
              (const v1::StreamMessagesRequest&), (override));
};

class MockMessageEventStream : public MessageEventStream {
 public:
  MOCK_METHOD(bool, Read, (v1::MessageEvent*), (override));
  MOCK_METHOD(absl::Status, Finish, (), (override));
  MOCK_METHOD(void, Cancel, (), (override));
};

}  // namespace messaging::client
