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
  // One MOCK_METHOD per unary RPC of messaging/client/rpcs.h, e.g.
  //   MOCK_METHOD(absl::StatusOr<v1::Conversation>, GetConversation,
  //               (const v1::GetConversationRequest&), (override));
#define MESSAGING_CLIENT_MOCK_RPC(Name, Request, Response, Retry) \
  MOCK_METHOD(UnaryResult<Response>, Name, (const Request&), (override));
  MESSAGING_CLIENT_UNARY_RPCS(MESSAGING_CLIENT_MOCK_RPC)
#undef MESSAGING_CLIENT_MOCK_RPC

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
