#pragma once

// A StreamMessages call that survives failures: it remembers the cursor of the
// last event, and when the stream breaks for a transient reason (server
// restart, network, deadline) it reconnects with backoff and resumes from that
// cursor. The server's contract makes the resumed stream gap-free and
// duplicate-free, so the callback sees every event exactly once.

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "messaging/client/messaging_connection.h"
#include "messaging/client/options.h"
#include "messaging/v1/messaging.pb.h"

namespace messaging::client {

struct SubscriptionOptions {
  // Only this conversation's events; empty: every conversation of the caller.
  std::string conversation_id;
  // Start after this cursor (from an event, or the stream_cursor of a
  // ListMessages / ListConversations response to continue a listing without a
  // gap). Empty: start with live events.
  std::string resume_cursor;
  // Heartbeats always advance the cursor; they reach the callback only if set.
  bool deliver_heartbeats = false;
  // Reconnect when nothing (not even a heartbeat) arrived for this long: it
  // catches a connection that died without a reset. Set it to a few times the
  // server's heartbeat interval (30 s by default). Zero disables it.
  absl::Duration idle_timeout = absl::ZeroDuration();
  // Backoff between reconnects. max_attempts counts consecutive failed
  // connections (reset by any received event); 0 retries until Stop().
  RetryPolicy reconnect{/*max_attempts=*/0, /*initial_backoff=*/absl::Milliseconds(200),
                        /*max_backoff=*/absl::Seconds(10), /*multiplier=*/2.0,
                        /*jitter=*/0.2};
};

// Runs on its own thread (plus a watchdog thread with idle_timeout) from
// Start() until Stop() or a final error.
//
// Ends by itself (no reconnect) on OUT_OF_RANGE (the cursor expired: list
// again and subscribe from the new stream_cursor), INVALID_ARGUMENT,
// UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, FAILED_PRECONDITION,
// UNIMPLEMENTED, or when `reconnect.max_attempts` consecutive connections
// failed. Reconnects on everything else (UNAVAILABLE, DEADLINE_EXCEEDED,
// INTERNAL, UNKNOWN, ABORTED, RESOURCE_EXHAUSTED, a cancellation it did not
// ask for, or the server closing the stream with OK).
class Subscription {
 public:
  // Called on the subscription's thread, one event at a time, in stream order.
  // Must not throw. The cursor advances past an event once its call returns.
  using EventCallback = std::function<void(const v1::MessageEvent&)>;
  // Called once, on the subscription's thread, as the last thing it does: with
  // the final error, or CANCELLED after Stop().
  using DoneCallback = std::function<void(const absl::Status&)>;

  static std::unique_ptr<Subscription> Start(std::shared_ptr<MessagingConnection> connection,
                                             SubscriptionOptions options, EventCallback on_event,
                                             DoneCallback on_done = nullptr);

  // Stop()s.
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Cancels the stream and waits for the thread to end: once Stop() returns,
  // no callback runs any more (on_done has run). Safe from any thread and more
  // than once. Called from inside a callback it does not wait (it cannot):
  // the thread ends as soon as that callback returns. Do not hold a lock that
  // your callbacks take while calling Stop().
  void Stop();

  // Blocks until the subscription has ended (by itself or by Stop()) and
  // returns the status given to on_done. Not from inside a callback.
  absl::Status Wait();

  // True once the subscription has ended.
  bool done() const;

  // Cursor of the last event handed to the callback (or skipped heartbeat):
  // persist it to resume later with SubscriptionOptions::resume_cursor.
  std::string last_cursor() const;

 private:
  struct State;
  explicit Subscription(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
  std::mutex join_mu_;  // Serializes concurrent Stop()s around join().
  std::thread thread_;
  std::thread watchdog_;
};

}  // namespace messaging::client
