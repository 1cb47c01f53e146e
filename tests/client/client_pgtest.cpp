// The client facade against the real server (in-process, real PostgreSQL):
// every RPC, error codes, deadlines, and which calls are retried when the
// server is not there yet.

#include <grpcpp/create_channel.h>
#include <grpcpp/support/client_interceptor.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "absl/time/clock.h"
#include "client/client_test_util.h"
#include "messaging/client/messaging_client.h"
#include "support/api_test.h"

namespace messaging::testing {
namespace {

using client::ClientOptions;
using client::MessagingClient;

// Counts the calls (attempts) a channel makes, per method.
class AttemptCounter : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* info) override {
    std::string method = info->method();
    method = method.substr(method.rfind('/') + 1);
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[method];
    return new PassThrough;
  }
  int count(const std::string& method) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(method);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  class PassThrough : public grpc::experimental::Interceptor {
   public:
    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
      methods->Proceed();
    }
  };
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;
};

// A connection whose channel counts attempts; quick retries and reconnects so
// that a server coming up late is found within a second.
std::shared_ptr<client::MessagingConnection> CountingConnection(const std::string& address,
                                                                const std::string& token,
                                                                AttemptCounter** counter,
                                                                int max_attempts = 100) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  auto owned = std::make_unique<AttemptCounter>();
  *counter = owned.get();
  factories.push_back(std::move(owned));
  auto channel = grpc::experimental::CreateCustomChannelWithInterceptors(
      address, grpc::InsecureChannelCredentials(), args, std::move(factories));
  ClientOptions options;
  options.call_timeout = absl::Seconds(5);
  options.retry.max_attempts = max_attempts;
  options.retry.initial_backoff = absl::Milliseconds(50);
  options.retry.max_backoff = absl::Milliseconds(200);
  return client::MakeMessagingConnection(channel, token, options);
}

class ClientApiTest : public ApiTest {
 protected:
  void SetUp() override {
    distributor_ = db().NewDistributor();
    client_ = std::make_unique<MessagingClient>(server().address(), TokenFor(distributor_));
  }

  std::string distributor_;
  std::unique_ptr<MessagingClient> client_;
};

TEST_F(ClientApiTest, EveryRpcWorksThroughTheFacade) {
  MessagingClient& client = *client_;
  const std::string customer = db().NewCustomer();

  v1::Conversation draft;
  draft.set_customer_id(customer);
  draft.set_channel(v1::CHANNEL_SMS);
  auto created = client.CreateConversation(draft);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->distributor_id(), distributor_);

  auto same = client.GetOrCreateConversation(customer, v1::CHANNEL_SMS);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->id(), created->id());

  auto fetched = client.GetConversation(created->id());
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->customer_id(), customer);

  v1::Message inbound;
  inbound.set_conversation_id(created->id());
  inbound.set_direction(v1::DIRECTION_INBOUND);
  inbound.set_content("hello from the client library");
  inbound.set_external_message_id("SMclient1");
  auto message = client.CreateMessage(inbound);
  ASSERT_TRUE(message.ok()) << message.status();
  auto again = client.CreateMessage(inbound);  // Deduplicated by the server.
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id(), message->id());

  auto got = client.GetMessage(message->id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->content(), "hello from the client library");

  v1::ListMessagesRequest list_messages;
  list_messages.set_conversation_id(created->id());
  auto messages = client.ListMessages(list_messages);
  ASSERT_TRUE(messages.ok()) << messages.status();
  ASSERT_EQ(messages->messages_size(), 1);  // The repeat stored nothing.
  EXPECT_EQ(messages->messages(0).id(), message->id());
  EXPECT_FALSE(messages->stream_cursor().empty());

  v1::UpdateMessageRequest update_message;
  update_message.mutable_message()->set_id(message->id());
  update_message.mutable_message()->set_ai_intent("greeting");
  update_message.mutable_update_mask()->add_paths("ai_intent");
  auto updated_message = client.UpdateMessage(update_message);
  ASSERT_TRUE(updated_message.ok()) << updated_message.status();
  EXPECT_EQ(updated_message->ai_intent(), "greeting");

  v1::Message outbound;
  outbound.set_conversation_id(created->id());
  outbound.set_direction(v1::DIRECTION_OUTBOUND);
  outbound.set_content("on its way");
  outbound.set_external_message_id("SMclient2");
  auto sent = client.CreateMessage(outbound);
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->delivery_status(), v1::DELIVERY_STATUS_QUEUED);
  v1::UpdateDeliveryStatusRequest delivery;
  delivery.set_external_message_id("SMclient2");
  delivery.set_delivery_status(v1::DELIVERY_STATUS_DELIVERED);
  auto delivered = client.UpdateDeliveryStatus(delivery);
  ASSERT_TRUE(delivered.ok()) << delivered.status();
  EXPECT_EQ(delivered->id(), sent->id());
  EXPECT_EQ(delivered->delivery_status(), v1::DELIVERY_STATUS_DELIVERED);

  auto unread = client.GetConversation(created->id());
  ASSERT_TRUE(unread.ok());
  EXPECT_EQ(unread->unread_count(), 1);
  auto read = client.MarkConversationRead(created->id());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->unread_count(), 0);

  v1::ListConversationsRequest list_conversations;
  list_conversations.set_customer_id(customer);
  auto conversations = client.ListConversations(list_conversations);
  ASSERT_TRUE(conversations.ok()) << conversations.status();
  ASSERT_EQ(conversations->conversations_size(), 1);
  EXPECT_EQ(conversations->conversations(0).id(), created->id());

  v1::UpdateConversationRequest archive;
  archive.mutable_conversation()->set_id(created->id());
  archive.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_ARCHIVED);
  archive.mutable_update_mask()->add_paths("status");
  auto archived = client.UpdateConversation(archive);
  ASSERT_TRUE(archived.ok()) << archived.status();
  EXPECT_EQ(archived->status(), v1::CONVERSATION_STATUS_ARCHIVED);

  EXPECT_TRUE(client.DeleteMessage(message->id()).ok());
  EXPECT_EQ(client.GetMessage(message->id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(client.DeleteConversation(created->id()).ok());
  EXPECT_EQ(client.GetConversation(created->id()).status().code(), absl::StatusCode::kNotFound);
  // A repeated delete reports NOT_FOUND (documented on MessagingConnection).
  EXPECT_EQ(client.DeleteConversation(created->id()).code(), absl::StatusCode::kNotFound);
}

TEST_F(ClientApiTest, ErrorsCarryTheServersCodeAndMessage) {
  auto malformed = client_->GetConversation("not-a-uuid");
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(malformed.status().message().find("id"), absl::string_view::npos);

  EXPECT_EQ(client_->GetConversation("3d3d3d3d-0000-4000-8000-000000000000").status().code(),
            absl::StatusCode::kNotFound);

  v1::Conversation draft;
  draft.set_customer_id(db().NewCustomer());
  draft.set_channel(v1::CHANNEL_EMAIL);
  ASSERT_TRUE(client_->CreateConversation(draft).ok());
  EXPECT_EQ(client_->CreateConversation(draft).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(ClientApiTest, TheTokenSourceIsAskedForEveryCall) {
  MessagingClient bad(server().address(), "not-a-jwt");
  EXPECT_EQ(bad.GetConversation("3d3d3d3d-0000-4000-8000-000000000000").status().code(),
            absl::StatusCode::kUnauthenticated);

  std::atomic<int> asked{0};
  const std::string token = TokenFor(distributor_);
  MessagingClient refreshing(server().address(),
                             client::TokenSource([&]() -> absl::StatusOr<std::string> {
                               ++asked;
                               return token;
                             }));
  EXPECT_TRUE(refreshing.ListConversations({}).ok());
  EXPECT_TRUE(refreshing.ListConversations({}).ok());
  EXPECT_EQ(asked, 2);
}

TEST_F(ClientApiTest, ADeadlineCutsOffAServerThatNeverAnswers) {
  LoopbackSocket silent(/*listening=*/true);  // Accepts TCP, never speaks HTTP/2.
  ClientOptions options;
  options.call_timeout = absl::Milliseconds(300);
  MessagingClient client(silent.address(), TokenFor(distributor_), options);
  const absl::Time start = absl::Now();
  auto result = client.GetConversation("3d3d3d3d-0000-4000-8000-000000000000");
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  EXPECT_GE(elapsed, absl::Milliseconds(250));
  EXPECT_LT(elapsed, absl::Seconds(3)) << "DEADLINE_EXCEEDED must not be retried";
}

TEST_F(ClientApiTest, IdempotentCallsRetryUntilALateServerComesUp) {
  const std::string address = ReserveFreeAddress();
  AttemptCounter* counter = nullptr;
  MessagingClient client(CountingConnection(address, TokenFor(distributor_), &counter));

  std::unique_ptr<TestServer> late;
  std::thread starter([&] {
    // Up only once the client has tried and is retrying (or, if it never
    // retries, after 10 s: the count below then fails the test).
    for (int i = 0; i < 1000 && counter->count("GetOrCreateConversation") < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // Polling.
    }
    late = std::make_unique<TestServer>(
        db().server_url(), [&](app::ServerConfig& config) { config.listen = address; });
  });
  const std::string customer = db().NewCustomer();
  auto conversation = client.GetOrCreateConversation(customer, v1::CHANNEL_WHATSAPP);
  starter.join();
  ASSERT_TRUE(conversation.ok()) << conversation.status();
  EXPECT_GT(counter->count("GetOrCreateConversation"), 1);
  EXPECT_EQ(
      db().Scalar("SELECT count(*) FROM conversations WHERE customer_id = '" + customer + "'"), 1);
}

TEST_F(ClientApiTest, NonIdempotentCreatesAreNeverRetried) {
  const std::string address = ReserveFreeAddress();  // Nobody listens there.
  AttemptCounter* counter = nullptr;
  MessagingClient client(CountingConnection(address, TokenFor(distributor_), &counter));

  v1::Conversation draft;
  draft.set_customer_id(db().NewCustomer());
  draft.set_channel(v1::CHANNEL_WHATSAPP);
  EXPECT_EQ(client.CreateConversation(draft).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(counter->count("CreateConversation"), 1);

  v1::Message message;
  message.set_conversation_id("3d3d3d3d-0000-4000-8000-000000000000");
  message.set_direction(v1::DIRECTION_OUTBOUND);
  message.set_content("no external id: not safe to repeat");
  EXPECT_EQ(client.CreateMessage(message).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(counter->count("CreateMessage"), 1);

  // The same call is retried once it carries an external id the server
  // deduplicates on.
  AttemptCounter* retried = nullptr;
  MessagingClient retrying(CountingConnection(address, TokenFor(distributor_), &retried, 3));
  message.set_external_message_id("SMidempotent");
  EXPECT_EQ(retrying.CreateMessage(message).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(retried->count("CreateMessage"), 3);
}

}  // namespace
}  // namespace messaging::testing
