#pragma once

// A replica's one connection for stream wake-ups: a dedicated, direct
// connection (never through a transaction pooler) and its own thread.
//
// * It LISTENs on messaging_events and calls `wake` when another replica
//   announces new events.
// * Announce() (called after this replica's writes commit) makes it send one
//   NOTIFY messaging_events -- coalesced: at most one per `notify_interval`
//   however many writes committed -- with synchronous_commit off (a wake-up
//   needs no durability), and wake this replica's own streams at once. The
//   write transactions themselves never NOTIFY: a NOTIFY in a transaction
//   serializes every commit on a global lock.
// * Every `poll_interval` it calls `wake` anyway: events become readable
//   when older transactions finish, and writes by other clients (psql, a
//   PostgREST API, an older replica) announce nothing. `wake` costs one
//   cheap query per replica when no distributor has new events.
// * Right after (re)connecting it calls `wake`, so streams catch up after a
//   database restart.
//
// Stop() (or the destructor) ends the thread.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace messaging::repository {

struct EventListenerOptions {
  absl::Duration poll_interval = absl::Milliseconds(25);
  absl::Duration notify_interval = absl::Milliseconds(5);
};

class EventListener {
 public:
  EventListener(std::string database_url, EventListenerOptions options, std::function<void()> wake);
  ~EventListener();
  EventListener(const EventListener&) = delete;
  EventListener& operator=(const EventListener&) = delete;

  void Start();
  void Stop();
  // This replica committed a change to messages: announce it. Never blocks.
  void Announce();
  bool connected() const { return connected_.load(); }

 private:
  void Loop();
  void Signal();

  const std::string database_url_;
  const EventListenerOptions options_;
  const std::function<void()> wake_;
  int signal_fd_ = -1;  // eventfd: Announce() and Stop() interrupt the wait.
  std::atomic<bool> announce_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace messaging::repository
