#include "repository/event_listener.h"

#include <pqxx/pqxx>

#include "common/logging.h"
#include "repository/connection_pool.h"

namespace messaging::repository {
namespace {

constexpr char kChannel[] = "messaging_events";

// LISTENs while it exists; the loop below wakes the hub after every
// await_notification, whether it returned for a notification or a timeout.
class ChannelReceiver : public pqxx::notification_receiver {
 public:
  explicit ChannelReceiver(pqxx::connection_base& conn)
      : pqxx::notification_receiver(conn, kChannel) {}
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override {}
};

}  // namespace

EventListener::EventListener(std::string database_url, absl::Duration poll_interval,
                             std::function<void()> wake)
    : database_url_(WithConnectTimeout(database_url, absl::Seconds(5))),
      poll_interval_(poll_interval),
      wake_(std::move(wake)) {}

EventListener::~EventListener() { Stop(); }

void EventListener::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void EventListener::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void EventListener::Loop() {
  const auto poll_us = std::max<int64_t>(1000, absl::ToInt64Microseconds(poll_interval_));
  absl::Duration backoff = absl::Milliseconds(100);
  while (!stopping_) {
    try {
      pqxx::connection conn(database_url_);
      ChannelReceiver receiver(conn);
      if (!connected_.exchange(true)) log::Info("listening for message events");
      backoff = absl::Milliseconds(100);
      wake_();  // Catch up on anything committed while we were not listening.
      while (!stopping_) {
        conn.await_notification(poll_us / 1000000, poll_us % 1000000);
        wake_();
      }
    } catch (const std::exception& e) {
      if (connected_.exchange(false)) log::Warn("event listener lost its connection: {}", e.what());
      // Retry with backoff, waking up streams meanwhile so they keep polling.
      const absl::Time until = absl::Now() + backoff;
      while (!stopping_ && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }
}

}  // namespace messaging::repository
