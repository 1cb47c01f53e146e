#pragma once

// Base fixture for end-to-end API tests: one migrated database and one
// in-process server per suite, plus helpers that make calls as a distributor.

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing {

using Stub = v1::MessagingService::Stub;

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_suite();
    std::string prefix = info != nullptr ? info->name() : "api";
    for (auto& ch : prefix) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    db_ = new TestDatabase(prefix.substr(0, 30));
    server_ = new TestServer(db_->server_url());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete db_;
    db_ = nullptr;
  }

  // Throw (so the test FAILS, never skips) if the suite could not start.
  static TestDatabase& db() {
    if (db_ == nullptr) throw std::runtime_error("no test database: see SetUpTestSuite's failure");
    return *db_;
  }
  static TestServer& server() {
    if (server_ == nullptr)
      throw std::runtime_error("no test server: see SetUpTestSuite's failure");
    return *server_;
  }

  // Calls `method` as `distributor`.
  template <typename Request, typename Response>
  static grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                           const std::string& distributor, const Request& request,
                           Response* response) {
    auto context = server().Context(distributor);
    return (server().stub().*method)(context.get(), request, response);
  }

  static v1::Conversation CreateConversation(const std::string& distributor,
                                             const std::string& customer,
                                             v1::Channel channel = v1::CHANNEL_WHATSAPP) {
    v1::CreateConversationRequest request;
    request.mutable_conversation()->set_customer_id(customer);
    request.mutable_conversation()->set_channel(channel);
    v1::Conversation conversation;
    const auto status = Call(&Stub::CreateConversation, distributor, request, &conversation);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return conversation;
  }

  static v1::Message CreateMessage(const std::string& distributor,
                                   const std::string& conversation_id, const std::string& content,
                                   v1::Direction direction = v1::DIRECTION_INBOUND,
                                   const std::string& external_id = "") {
    v1::CreateMessageRequest request;
    auto* m = request.mutable_message();
    m->set_conversation_id(conversation_id);
    m->set_direction(direction);
    m->set_content(content);
    m->set_external_message_id(external_id);
    v1::Message message;
    const auto status = Call(&Stub::CreateMessage, distributor, request, &message);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return message;
  }

  static inline TestDatabase* db_ = nullptr;
  static inline TestServer* server_ = nullptr;
};

}  // namespace messaging::testing
