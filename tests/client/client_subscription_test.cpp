// Subscription over a scripted connection: resume cursors, which errors end
// it, heartbeats, and stopping from any thread. No network.

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "messaging/client/subscription.h"

namespace messaging::client {
namespace {

v1::MessageEvent Event(const std::string& cursor,
                       v1::MessageEventType type = v1::MESSAGE_EVENT_TYPE_CREATED) {
  v1::MessageEvent event;
  event.set_type(type);
  event.set_cursor(cursor);
  event.mutable_message()->set_id("m-" + cursor);
  return event;
}

// Yields its events, then ends with `end`, or (hang = true) blocks until
// cancelled. With `endless`, keeps producing events until cancelled.
class ScriptedStream : public MessageEventStream {
 public:
  ScriptedStream(std::vector<v1::MessageEvent> events, absl::Status end, bool hang = false)
      : events_(events.begin(), events.end()), end_(std::move(end)), hang_(hang) {}
  static std::unique_ptr<ScriptedStream> Endless() {
    auto stream =
        std::make_unique<ScriptedStream>(std::vector<v1::MessageEvent>{}, absl::OkStatus());
    stream->endless_ = true;
    return stream;
  }

  bool Read(v1::MessageEvent* event) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (cancelled_) return false;
    if (endless_) {
      *event = Event("e" + std::to_string(++produced_));
      return true;
    }
    if (!events_.empty()) {
      *event = events_.front();
      events_.pop_front();
      return true;
    }
    if (hang_) cv_.wait(lock, [&] { return cancelled_; });
    return false;
  }
  absl::Status Finish() override {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_ ? absl::CancelledError("cancelled") : end_;
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::MessageEvent> events_;
  absl::Status end_;
  bool hang_;
  bool endless_ = false;
  bool cancelled_ = false;
  int produced_ = 0;
};

// Hands out the scripted streams in order, then streams that hang until
// cancelled; records each request.
class ScriptedConnection : public MessagingConnection {
 public:
  void Add(std::unique_ptr<MessageEventStream> stream) {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.push_back(std::move(stream));
  }
  std::unique_ptr<MessageEventStream> StreamMessages(
      const v1::StreamMessagesRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (streams_.empty()) {
      return std::make_unique<ScriptedStream>(std::vector<v1::MessageEvent>{}, absl::OkStatus(),
                                              /*hang=*/true);
    }
    auto stream = std::move(streams_.front());
    streams_.pop_front();
    return stream;
  }
  std::vector<v1::StreamMessagesRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::unique_ptr<MessageEventStream>> streams_;
  std::vector<v1::StreamMessagesRequest> requests_;
};

// Collects what the callbacks see.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> cursors;
  std::vector<absl::Status> done;

  Subscription::EventCallback OnEvent() {
    return [this](const v1::MessageEvent& event) {
      std::lock_guard<std::mutex> lock(mu);
      cursors.push_back(event.cursor());
      cv.notify_all();
    };
  }
  Subscription::DoneCallback OnDone() {
    return [this](const absl::Status& status) {
      std::lock_guard<std::mutex> lock(mu);
      done.push_back(status);
      cv.notify_all();
    };
  }
  bool WaitForEvents(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return cursors.size() >= n; });
  }
  std::vector<std::string> Cursors() {
    std::lock_guard<std::mutex> lock(mu);
    return cursors;
  }
};

// Polls `condition` for up to 10 s.
template <typename Condition>
bool Eventually(Condition condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

SubscriptionOptions FastReconnect() {
  SubscriptionOptions options;
  options.conversation_id = "c-1";
  options.reconnect.initial_backoff = absl::Milliseconds(1);
  options.reconnect.max_backoff = absl::Milliseconds(5);
  return options;
}

std::unique_ptr<ScriptedStream> Stream(std::vector<v1::MessageEvent> events, absl::Status end,
                                       bool hang = false) {
  return std::make_unique<ScriptedStream>(std::move(events), std::move(end), hang);
}

TEST(SubscriptionTest, ResumesFromTheLastCursorAfterTransientErrors) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(Stream({Event("1"), Event("2")}, absl::UnavailableError("server went away")));
  connection->Add(Stream({}, absl::InternalError("rst_stream")));
  connection->Add(Stream({}, absl::DeadlineExceededError("slow")));
  connection->Add(Stream({Event("3"), Event("4", v1::MESSAGE_EVENT_TYPE_HEARTBEAT), Event("5")},
                         absl::OkStatus(), /*hang=*/true));
  Recorder recorder;
  SubscriptionOptions options = FastReconnect();
  options.resume_cursor = "0";
  auto subscription =
      Subscription::Start(connection, options, recorder.OnEvent(), recorder.OnDone());
  ASSERT_TRUE(recorder.WaitForEvents(4));
  // The heartbeat moved the cursor but was not delivered.
  EXPECT_EQ(recorder.Cursors(), (std::vector<std::string>{"1", "2", "3", "5"}));
  // The cursor moves past an event once its callback has returned.
  EXPECT_TRUE(Eventually([&] { return subscription->last_cursor() == "5"; }));

  const auto requests = connection->requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].resume_cursor(), "0");
  EXPECT_EQ(requests[1].resume_cursor(), "2");
  EXPECT_EQ(requests[2].resume_cursor(), "2");
  EXPECT_EQ(requests[3].resume_cursor(), "2");
  for (const auto& request : requests) EXPECT_EQ(request.conversation_id(), "c-1");

  EXPECT_FALSE(subscription->done());
  subscription->Stop();
  EXPECT_TRUE(subscription->done());
  EXPECT_EQ(subscription->Wait().code(), absl::StatusCode::kCancelled);
  ASSERT_EQ(recorder.done.size(), 1u);
  EXPECT_EQ(recorder.done[0].code(), absl::StatusCode::kCancelled);
}

TEST(SubscriptionTest, DeliversHeartbeatsWhenAsked) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(Stream({Event("1", v1::MESSAGE_EVENT_TYPE_HEARTBEAT), Event("2")},
                         absl::OkStatus(), /*hang=*/true));
  Recorder recorder;
  SubscriptionOptions options = FastReconnect();
  options.deliver_heartbeats = true;
  auto subscription = Subscription::Start(connection, options, recorder.OnEvent());
  ASSERT_TRUE(recorder.WaitForEvents(2));
  EXPECT_EQ(recorder.Cursors(), (std::vector<std::string>{"1", "2"}));
}

TEST(SubscriptionTest, EndsWithoutReconnectingOnPermanentErrors) {
  for (const absl::Status& error :
       {absl::OutOfRangeError("cursor expired"), absl::InvalidArgumentError("bad cursor"),
        absl::UnauthenticatedError("token expired"), absl::NotFoundError("conversation"),
        absl::PermissionDeniedError("no")}) {
    SCOPED_TRACE(error.ToString());
    auto connection = std::make_shared<ScriptedConnection>();
    connection->Add(Stream({Event("1")}, error));
    Recorder recorder;
    auto subscription =
        Subscription::Start(connection, FastReconnect(), recorder.OnEvent(), recorder.OnDone());
    EXPECT_EQ(subscription->Wait(), error);
    EXPECT_TRUE(subscription->done());
    EXPECT_EQ(connection->requests().size(), 1u);
    EXPECT_EQ(recorder.Cursors(), std::vector<std::string>{"1"});
    ASSERT_EQ(recorder.done.size(), 1u);
    EXPECT_EQ(recorder.done[0], error);
    subscription->Stop();  // After the end: harmless, on_done is not called again.
    EXPECT_EQ(recorder.done.size(), 1u);
  }
}

TEST(SubscriptionTest, GivesUpAfterMaxConsecutiveFailedConnections) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(Stream({Event("1")}, absl::UnavailableError("a")));  // Progress: resets.
  for (int i = 0; i < 3; ++i) connection->Add(Stream({}, absl::UnavailableError("down")));
  SubscriptionOptions options = FastReconnect();
  options.reconnect.max_attempts = 3;
  Recorder recorder;
  auto subscription = Subscription::Start(connection, options, recorder.OnEvent());
  EXPECT_EQ(subscription->Wait(), absl::UnavailableError("down"));
  EXPECT_EQ(connection->requests().size(), 4u);
}

TEST(SubscriptionTest, StopFromAnotherThreadInterruptsABlockedRead) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(Stream({Event("1")}, absl::OkStatus(), /*hang=*/true));
  Recorder recorder;
  auto subscription =
      Subscription::Start(connection, FastReconnect(), recorder.OnEvent(), recorder.OnDone());
  ASSERT_TRUE(recorder.WaitForEvents(1));
  const absl::Time start = absl::Now();
  std::thread stopper([&] { subscription->Stop(); });
  stopper.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_TRUE(subscription->done());
  EXPECT_EQ(recorder.done.size(), 1u);
}

TEST(SubscriptionTest, NoCallbackRunsAfterStopReturns) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(ScriptedStream::Endless());
  std::atomic<int> delivered{0};
  std::atomic<bool> stopped{false};
  std::atomic<int> after_stop{0};
  std::string last_delivered;
  auto subscription =
      Subscription::Start(connection, FastReconnect(), [&](const v1::MessageEvent& event) {
        if (stopped) ++after_stop;
        last_delivered = event.cursor();
        ++delivered;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      });
  ASSERT_TRUE(Eventually([&] { return delivered >= 20; }));
  std::thread stopper([&] { subscription->Stop(); });
  stopper.join();
  stopped = true;
  const int count = delivered;
  const std::string cursor = subscription->last_cursor();
  // Every thread of the subscription holds the connection: once only this
  // test does, no thread is left that could still run a callback.
  subscription.reset();
  ASSERT_TRUE(Eventually([&] { return connection.use_count() == 1; }))
      << "a thread of the subscription is still running";
  EXPECT_EQ(delivered, count);
  EXPECT_EQ(after_stop, 0);
  // The cursor is the last event the callback finished, none of the dropped ones.
  EXPECT_EQ(cursor, last_delivered);
}

TEST(SubscriptionTest, StopFromInsideTheCallbackEndsAfterThatCallback) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(ScriptedStream::Endless());
  std::mutex mu;
  std::condition_variable started;
  Subscription* self = nullptr;
  std::atomic<int> delivered{0};
  auto subscription =
      Subscription::Start(connection, FastReconnect(), [&](const v1::MessageEvent&) {
        std::unique_lock<std::mutex> lock(mu);
        started.wait(lock, [&] { return self != nullptr; });
        if (++delivered == 3) self->Stop();
      });
  {
    std::lock_guard<std::mutex> lock(mu);
    self = subscription.get();
  }
  started.notify_all();
  EXPECT_EQ(subscription->Wait().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(delivered, 3);
  EXPECT_EQ(subscription->last_cursor(), "e3");
}

TEST(SubscriptionTest, ReconnectsWhenTheStreamStaysSilentPastTheIdleTimeout) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(Stream({Event("1")}, absl::OkStatus(), /*hang=*/true));  // Then silence.
  connection->Add(Stream({Event("2")}, absl::OkStatus(), /*hang=*/true));
  SubscriptionOptions options = FastReconnect();
  options.idle_timeout = absl::Milliseconds(100);
  Recorder recorder;
  auto subscription = Subscription::Start(connection, options, recorder.OnEvent());
  ASSERT_TRUE(recorder.WaitForEvents(2));
  const auto requests = connection->requests();
  ASSERT_GE(requests.size(), 2u);
  EXPECT_EQ(requests[1].resume_cursor(), "1");
  EXPECT_EQ(recorder.Cursors(), (std::vector<std::string>{"1", "2"}));
}

TEST(SubscriptionTest, ASlowCallbackIsNotMistakenForASilentStream) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(Stream({Event("1"), Event("2")}, absl::OkStatus(), /*hang=*/true));
  SubscriptionOptions options = FastReconnect();
  options.idle_timeout = absl::Milliseconds(20);
  Recorder recorder;
  auto on_event = recorder.OnEvent();
  auto subscription = Subscription::Start(connection, options, [&](const v1::MessageEvent& e) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    on_event(e);
  });
  ASSERT_TRUE(recorder.WaitForEvents(2));
  EXPECT_EQ(connection->requests().size(), 1u);
}

TEST(SubscriptionTest, StopInterruptsTheBackoff) {
  auto connection = std::make_shared<ScriptedConnection>();
  connection->Add(Stream({}, absl::UnavailableError("down")));
  SubscriptionOptions options;
  options.reconnect.initial_backoff = absl::Hours(1);
  options.reconnect.max_backoff = absl::Hours(1);
  auto subscription = Subscription::Start(connection, options, [](const v1::MessageEvent&) {});
  ASSERT_TRUE(Eventually([&] { return !connection->requests().empty(); }));
  const absl::Time start = absl::Now();
  subscription.reset();  // The destructor stops it.
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(connection->requests().size(), 1u);
}

}  // namespace
}  // namespace messaging::client
