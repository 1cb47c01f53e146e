#include "messaging/client/subscription.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "absl/time/clock.h"
#include "messaging/client/internal/backoff.h"

namespace messaging::client {

struct Subscription::State {
  std::shared_ptr<MessagingConnection> connection;
  SubscriptionOptions options;
  EventCallback on_event;
  DoneCallback on_done;

  mutable std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false;            // Guarded by mu.
  bool finished = false;                  // Guarded by mu.
  absl::Status final_status;              // Guarded by mu.
  std::string cursor;                     // Guarded by mu.
  MessageEventStream* current = nullptr;  // Guarded by mu; owned by Run().
  std::thread::id thread_id;              // Guarded by mu; set when Run() starts.
  absl::Time last_activity;               // Guarded by mu: stream opened or event read.
  bool in_callback = false;               // Guarded by mu.

  bool StopRequested() const {
    std::lock_guard<std::mutex> lock(mu);
    return stop_requested;
  }

  // False if Stop() came first.
  bool SleepUnlessStopped(absl::Duration delay) {
    std::unique_lock<std::mutex> lock(mu);
    return !cv.wait_for(lock, absl::ToChronoNanoseconds(delay), [&] { return stop_requested; });
  }

  // Streams until the stream ends; returns how it ended.
  absl::Status StreamOnce(const v1::StreamMessagesRequest& request, bool* progressed) {
    std::unique_ptr<MessageEventStream> stream = connection->StreamMessages(request);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stop_requested) stream->Cancel();
      current = stream.get();
      last_activity = absl::Now();
    }
    v1::MessageEvent event;
    while (stream->Read(&event)) {
      *progressed = true;
      const bool deliver =
          event.type() != v1::MESSAGE_EVENT_TYPE_HEARTBEAT || options.deliver_heartbeats;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop_requested) break;
        last_activity = absl::Now();
        in_callback = deliver;
      }
      if (deliver) on_event(event);
      std::lock_guard<std::mutex> lock(mu);
      in_callback = false;
      last_activity = absl::Now();
      cursor = event.cursor();
    }
    if (StopRequested()) {
      // Events still buffered are dropped undelivered: the cursor stays before them.
      stream->Cancel();
      while (stream->Read(&event)) {
      }
    }
    absl::Status status = stream->Finish();
    std::lock_guard<std::mutex> lock(mu);
    current = nullptr;
    return status;
  }

  void Run() {
    {
      std::lock_guard<std::mutex> lock(mu);
      thread_id = std::this_thread::get_id();
    }
    internal::Backoff backoff(options.reconnect);
    v1::StreamMessagesRequest request;
    request.set_conversation_id(options.conversation_id);
    int failures = 0;
    absl::Status final_result;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        request.set_resume_cursor(cursor);
      }
      const absl::Time started = absl::Now();
      bool progressed = false;
      absl::Status status = StreamOnce(request, &progressed);
      if (StopRequested()) {
        final_result = absl::CancelledError("the subscription was stopped");
        break;
      }
      if (!internal::IsResumableStreamEnd(status.code())) {
        final_result = status;
        break;
      }
      // A stream that delivered something, or stayed up a while, was a
      // success: start the backoff over. Otherwise it was a failed attempt.
      if (progressed || absl::Now() - started >= options.reconnect.max_backoff) {
        backoff.Reset();
        failures = 0;
      } else if (!internal::AttemptsLeft(options.reconnect, ++failures)) {
        final_result =
            status.ok() ? absl::UnavailableError("the server kept closing the stream") : status;
        break;
      }
      if (!SleepUnlessStopped(backoff.Next())) {
        final_result = absl::CancelledError("the subscription was stopped");
        break;
      }
    }
    if (on_done) on_done(final_result);
    {
      std::lock_guard<std::mutex> lock(mu);
      finished = true;
      final_status = final_result;
    }
    cv.notify_all();
  }

  // Cancels a stream that has been silent for longer than idle_timeout; Run()
  // then reconnects (a cancellation it did not ask for is resumable).
  void WatchIdle() {
    const absl::Duration timeout = options.idle_timeout;
    const absl::Duration tick = std::max(timeout / 4, absl::Milliseconds(5));
    std::unique_lock<std::mutex> lock(mu);
    while (!stop_requested && !finished) {
      cv.wait_for(lock, absl::ToChronoNanoseconds(tick));
      if (current != nullptr && !in_callback && absl::Now() - last_activity > timeout) {
        current->Cancel();
        last_activity = absl::Now();
      }
    }
  }
};

std::unique_ptr<Subscription> Subscription::Start(std::shared_ptr<MessagingConnection> connection,
                                                  SubscriptionOptions options,
                                                  EventCallback on_event, DoneCallback on_done) {
  auto state = std::make_shared<State>();
  state->connection = std::move(connection);
  state->cursor = options.resume_cursor;
  state->options = std::move(options);
  state->on_event = on_event ? std::move(on_event) : [](const v1::MessageEvent&) {};
  state->on_done = std::move(on_done);
  return std::unique_ptr<Subscription>(new Subscription(std::move(state)));
}

// The threads own a reference to the state, so it stays valid even when the
// Subscription is destroyed from inside one of its own callbacks.
Subscription::Subscription(std::shared_ptr<State> state) : state_(std::move(state)) {
  thread_ = std::thread([state = state_] { state->Run(); });
  if (state_->options.idle_timeout > absl::ZeroDuration()) {
    watchdog_ = std::thread([state = state_] { state->WatchIdle(); });
  }
}

Subscription::~Subscription() {
  Stop();
  // Still joinable only when destroyed from inside its own callback.
  if (thread_.joinable()) thread_.detach();
  if (watchdog_.joinable()) watchdog_.detach();
}

void Subscription::Stop() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stop_requested = true;
    if (state_->current != nullptr) state_->current->Cancel();
    state_->cv.notify_all();
    // From inside a callback: the thread ends once that callback returns.
    if (state_->thread_id == std::this_thread::get_id()) return;
  }
  std::lock_guard<std::mutex> join_lock(join_mu_);
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

absl::Status Subscription::Wait() {
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->finished; });
  return state_->final_status;
}

bool Subscription::done() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->finished;
}

std::string Subscription::last_cursor() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cursor;
}

}  // namespace messaging::client
