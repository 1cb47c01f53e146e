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
// (sql::kEventHeads); streams never read beyond it. Usually the writers'
// own commits flush it a few milliseconds later at most: while a read waits,
// the listener looks at the flush position (a query of one function, not a
// second read) after `flush_check_interval`, then at growing intervals up
// to eight times that. When the WAL is still not flushed that far after
// `poll_interval`, the listener flushes it.
//
// * It LISTENs on messaging_events and wakes when another replica
//   announces new events.
// * Announce() (called after this replica's writes commit) makes it send one
//   NOTIFY messaging_events -- coalesced: at most one per `notify_interval`
//   however many writes committed -- and read the heads at once; this
//   replica's own streams look once that horizon is durable (see above).
//   The write transactions themselves never NOTIFY: a NOTIFY in a
//   transaction serializes every commit on a global lock.
// * When `poll_interval` passed without a read, it wakes anyway: events
//   become readable when older transactions finish, and writes by other
//   clients (psql, a PostgREST API, an older replica) announce nothing.
// * Right after (re)connecting it wakes, so streams catch up after a database
//   restart (the heads since the last answer cover the outage).
//
// Stop() (or the destructor) ends the thread.

#include <atomic>
#include <functional>
#include <optional>
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
  // The first look at the WAL's flush position after a read that must wait
  // for it (see above); at least 1 ms.
  absl::Duration flush_check_interval = absl::Milliseconds(1);
};

class EventListener {
 public:
  using OnHeads = std::function<void(const domain::EventHeads& heads, bool everything)>;

  // on_heads: durable answers, in order (streams read up to their horizon).
  // on_news (optional): every read at once, durable or not, naming only the
  // distributors with events newer than the previous read's: a hint for
  // callers that look in the database themselves (waiting claims), which
  // need not wait for the horizon to be durable.
  EventListener(const std::string& database_url, EventListenerOptions options, OnHeads on_heads,
                OnHeads on_news = {});
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
  struct HeadsRead {
    domain::EventHeads heads;
    bool everything = false;
    std::int64_t wal_insert = 0;  // WAL insert position when it was read.
    absl::Time taken;
  };
  // Reads the heads since the last published answer (sending the wake-up
  // NOTIFY after the read if `notify`), and publishes what is durable.
  void ReadHeads(pqxx::connection_base& conn, bool notify);
  // Hands on the read that waits for the WAL flush if the WAL is now
  // flushed up to it. Returns whether it did.
  bool CheckFlush(pqxx::connection_base& conn);
  void Publish(const HeadsRead& read);
  void TellNews(const HeadsRead& read);

  const std::string database_url_;
  const EventListenerOptions options_;
  const OnHeads on_heads_;
  const OnHeads on_news_;
  std::uint64_t published_ = 0;  // Horizon of the last answer; 0 = none yet.
  // The last read, not handed on yet: the WAL was not flushed up to it.
  std::optional<HeadsRead> unconfirmed_;
  std::uint64_t news_horizon_ = 0;  // Horizon of the last read; 0 = none since (re)connecting.
  int signal_fd_ = -1;              // eventfd: Announce() and Stop() interrupt the wait.
  std::atomic<bool> announce_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
  std::thread thread_;
};

}  // namespace messaging::repository
