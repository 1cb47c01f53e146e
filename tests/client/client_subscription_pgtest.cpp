// Subscription against the real server: the server is shut down and started
// again mid-stream (while another replica keeps writing), and the subscriber
// still sees every event exactly once, in order.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "client/client_test_util.h"
#include "messaging/client/messaging_client.h"
#include "support/api_test.h"

namespace messaging::testing {
namespace {

using client::MessagingClient;

// What the subscription delivered: "<type>:<message id>" per event.
class EventLog {
 public:
  client::Subscription::EventCallback OnEvent() {
    return [this](const v1::MessageEvent& event) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(v1::MessageEventType_Name(event.type()) + ":" + event.message().id());
      cv_.notify_all();
    };
  }
  client::Subscription::DoneCallback OnDone() {
    return [this](const absl::Status& status) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(status);
      cv_.notify_all();
    };
  }
  bool WaitFor(size_t count, absl::Duration timeout = absl::Seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      return events_.size() >= count || !done_.empty();
    }) && events_.size() >= count;
  }
  // Waits until `event` ("<type>:<message id>") was delivered.
  bool WaitForEvent(const std::string& event, absl::Duration timeout = absl::Seconds(30)) {
    std::unique_lock<std::mutex> lock(mu_);
    auto seen = [&] { return std::find(events_.begin(), events_.end(), event) != events_.end(); };
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      return seen() || !done_.empty();
    }) && seen();
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::vector<absl::Status> done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
  std::vector<absl::Status> done_;
};

client::ClientOptions QuickReconnects() {
  client::ClientOptions options;
  options.channel_arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  options.channel_arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return options;
}

class SubscriptionApiTest : public ApiTest {
 protected:
  void SetUp() override {
    distributor_ = db().NewDistributor();
    token_ = TokenFor(distributor_);
    conversation_ = CreateConversation(distributor_, db().NewCustomer());
    // Writes go through the suite's server: "another replica".
    writer_ = std::make_unique<MessagingClient>(server().address(), token_);
  }

  std::string Write(const std::string& content) {
    v1::Message message;
    message.set_conversation_id(conversation_.id());
    message.set_direction(v1::DIRECTION_INBOUND);
    message.set_content(content);
    auto created = writer_->CreateMessage(message);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->id() : "";
  }

  std::string ListCursor() {
    v1::ListMessagesRequest request;
    request.set_conversation_id(conversation_.id());
    auto page = writer_->ListMessages(request);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->stream_cursor() : "";
  }

  std::string distributor_;
  std::string token_;
  v1::Conversation conversation_;
  std::unique_ptr<MessagingClient> writer_;
};

TEST_F(SubscriptionApiTest, EveryEventExactlyOnceAcrossAServerRestart) {
  const std::string address = ReserveFreeAddress();
  auto listen_there = [&](app::ServerConfig& config) { config.listen = address; };
  auto replica = std::make_unique<TestServer>(db().server_url(), listen_there);

  Write("before the listing");  // Covered by the listing: must not be streamed.
  client::SubscriptionOptions options;
  options.conversation_id = conversation_.id();
  options.resume_cursor = ListCursor();  // Snapshot, then subscribe: nothing missed.
  options.reconnect.initial_backoff = absl::Milliseconds(50);
  options.reconnect.max_backoff = absl::Milliseconds(200);
  MessagingClient reader(address, token_, QuickReconnects());
  EventLog log;
  auto subscription = reader.Subscribe(options, log.OnEvent(), log.OnDone());

  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    expected.push_back("MESSAGE_EVENT_TYPE_CREATED:" + Write("live " + std::to_string(i)));
  }
  ASSERT_TRUE(log.WaitFor(5)) << log.events().size();

  replica.reset();  // Shut down mid-stream: the stream ends, the reader retries.
  for (int i = 0; i < 5; ++i) {
    expected.push_back("MESSAGE_EVENT_TYPE_CREATED:" + Write("while down " + std::to_string(i)));
  }
  v1::UpdateMessageRequest update;
  update.mutable_message()->set_id(expected.back().substr(expected.back().find(':') + 1));
  update.mutable_message()->set_ai_intent("order_status");
  update.mutable_update_mask()->add_paths("ai_intent");
  ASSERT_TRUE(writer_->UpdateMessage(update).ok());
  expected.push_back("MESSAGE_EVENT_TYPE_UPDATED:" + update.message().id());
  // Down for a while on purpose, so the reader's reconnects fail meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  replica = std::make_unique<TestServer>(db().server_url(), listen_there);
  for (int i = 0; i < 5; ++i) {
    expected.push_back("MESSAGE_EVENT_TYPE_CREATED:" + Write("after " + std::to_string(i)));
  }
  // Written last: a duplicate would arrive before it.
  expected.push_back("MESSAGE_EVENT_TYPE_CREATED:" + Write("marker"));
  ASSERT_TRUE(log.WaitForEvent(expected.back())) << log.events().size();
  EXPECT_EQ(log.events(), expected);
  EXPECT_TRUE(log.done().empty()) << log.done()[0];
  EXPECT_FALSE(subscription->last_cursor().empty());

  subscription->Stop();
  ASSERT_EQ(log.done().size(), 1u);
  EXPECT_EQ(log.done()[0].code(), absl::StatusCode::kCancelled);
}

TEST_F(SubscriptionApiTest, ResumesFromASavedCursorInANewSubscription) {
  MessagingClient reader(server().address(), token_);
  client::SubscriptionOptions options;
  options.conversation_id = conversation_.id();
  options.resume_cursor = ListCursor();
  EventLog first;
  auto subscription = reader.Subscribe(options, first.OnEvent());
  const std::string a = Write("a");
  ASSERT_TRUE(first.WaitFor(1));
  subscription->Stop();
  const std::string saved = subscription->last_cursor();
  const std::string b = Write("b");  // Written while nobody listens.

  options.resume_cursor = saved;
  EventLog second;
  auto resumed = reader.Subscribe(options, second.OnEvent());
  const std::string c = Write("c");  // Written last: a repeat of a would arrive before it.
  ASSERT_TRUE(second.WaitForEvent("MESSAGE_EVENT_TYPE_CREATED:" + c));
  EXPECT_EQ(second.events(), (std::vector<std::string>{"MESSAGE_EVENT_TYPE_CREATED:" + b,
                                                       "MESSAGE_EVENT_TYPE_CREATED:" + c}));
}

TEST_F(SubscriptionApiTest, ABadCursorEndsTheSubscriptionWithoutRetrying) {
  MessagingClient reader(server().address(), token_);
  client::SubscriptionOptions options;
  options.resume_cursor = "not-a-cursor";
  EventLog log;
  auto subscription = reader.Subscribe(options, log.OnEvent(), log.OnDone());
  EXPECT_EQ(subscription->Wait().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(log.events().empty());
  ASSERT_EQ(log.done().size(), 1u);
}

TEST_F(SubscriptionApiTest, ABadTokenEndsTheSubscriptionWithoutRetrying) {
  MessagingClient reader(server().address(), "not-a-jwt");
  auto subscription = reader.Subscribe({}, [](const v1::MessageEvent&) {});
  EXPECT_EQ(subscription->Wait().code(), absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace messaging::testing
