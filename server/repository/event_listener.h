#pragma once

// A replica's one connection for stream wake-ups: a dedicated, direct
// connection (never through a transaction pooler) and its own thread.
//
// A wake-up reads the log's heads on this connection: one cheap query (the
// SECURITY DEFINER function messaging_event_heads) that names the
// distributors with events that became readable since the previous wake-up,
// so idle tenants cost nothing; `on_heads` gets the answer. The very first
// answer (everything = true) names nobody: every stream must look. An answer's
// horizon is durable: it is handed on only once the WAL is flushed up to where
// it was read, so no xid below it can be handed out again after a crash
// (sql::kEventHeads); streams never read beyond it.
//
// * It LISTENs on messaging_events and wakes when another replica
//   announces new events.
// * Announce() (called after this replica's writes commit) makes it send one
//   NOTIFY messaging_events -- coalesced: at most one per `notify_interval`
//   however many writes committed -- in a transaction whose commit is flushed
//   (its xid must never be handed out again after a crash, see
//   sql::kNotifyEvents), and wake this replica's own streams at once. The
//   write transactions themselves never NOTIFY: a NOTIFY in a transaction
//   serializes every commit on a global lock.
// * When `poll_interval` passed without a read, it wakes anyway: events
//   become readable when older transactions finish, and writes by other
//   clients (psql, a PostgREST API, an older replica) announce nothing.
// * Right after (re)connecting it wakes, so streams catch up after a database
//   restart (the heads since the last answer cover the outage).
//
// Stop() (or the destructor) ends the thread.

#include <atomic>
#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "domain/stream.h"

namespace messaging::repository {

struct EventListenerOptions {
  absl::Duration poll_interval = absl::Milliseconds(25);
  absl::Duration notify_interval = absl::Milliseconds(5);
  std::string app_role = "messaging_app";  // The heads query runs as this role.
};

class EventListener {
 public:
  using OnHeads = std::function<void(const domain::EventHeads& heads, bool everything)>;

  EventListener(const std::string& database_url, EventListenerOptions options, OnHeads on_heads);
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
  // Reads the heads since the last answer, makes their horizon durable
  // (sending the wake-up NOTIFY if `notify`) and hands them on.
  void ReadHeads(pqxx::connection_base& conn, bool notify);

  const std::string database_url_;
  const EventListenerOptions options_;
  const OnHeads on_heads_;
  const std::string wake_up_sql_;
  std::uint64_t heads_from_ = 0;  // Horizon of the last answer; 0 = none yet.
  int signal_fd_ = -1;            // eventfd: Announce() and Stop() interrupt the wait.
  std::atomic<bool> announce_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace messaging::repository
