#include "repository/event_listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "repository/connection_pool.h"
#include "repository/pg_event_repository.h"
#include "repository/row_mapping.h"
#include "repository/sql/event_sql.h"
#include "repository/sql/wal_sql.h"
#include "repository/wal_durability.h"

namespace messaging::repository {
namespace {

constexpr char kChannel[] = "messaging_events";

// Records that another session announced events (our own NOTIFYs come back
// to us too; those streams were woken already).
class ChannelReceiver : public pqxx::notification_receiver {
 public:
  ChannelReceiver(pqxx::connection_base& conn, bool* heard)
      : pqxx::notification_receiver(conn, kChannel), own_pid_(conn.backendpid()), heard_(heard) {}
  void operator()(const std::string& /*payload*/, int backend_pid) override {
    if (backend_pid != own_pid_) *heard_ = true;
  }

 private:
  const int own_pid_;
  bool* const heard_;
};

int ToPollTimeoutMs(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(d + absl::Microseconds(999)), 60'000));
}

}  // namespace

EventListener::EventListener(const std::string& database_url, EventListenerOptions options,
                             OnHeads on_heads, OnHeads on_news)
    : database_url_(WithConnectTimeout(database_url, absl::Seconds(5))),
      options_(std::move(options)),
      on_heads_(std::move(on_heads)),
      on_news_(std::move(on_news)),
      signal_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (signal_fd_ < 0) throw std::runtime_error("eventfd failed");
}

EventListener::~EventListener() {
  Stop();
  close(signal_fd_);
}

void EventListener::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void EventListener::Stop() {
  stopping_ = true;
  Signal();
  if (thread_.joinable()) thread_.join();
}

void EventListener::Announce() {
  // Only the first announcement since the last NOTIFY needs to wake the thread.
  if (!announce_.exchange(true)) Signal();
}

void EventListener::Signal() {
  const uint64_t one = 1;
  // A full counter (it never is) still leaves the fd readable: nothing is lost.
  [[maybe_unused]] const auto n = write(signal_fd_, &one, sizeof one);
}

void EventListener::Loop() {
  absl::Duration backoff = absl::Milliseconds(100);
  while (!stopping_) {
    try {
      pqxx::connection conn(database_url_);
      // kFlushWal must flush, whatever the database's default says; `local`:
      // the xid counter after a local crash depends on the local disk only.
      conn.set_variable("synchronous_commit", "local");
      conn.set_variable("statement_timeout", "5000");
      conn.set_variable("role", conn.quote(options_.app_role));
      conn.prepare(sql::kEventHeads.name(), sql::kEventHeads.sql());
      conn.prepare_now(sql::kEventHeads.name());  // ReadHeads may EXECUTE it by name.
      bool heard = false;
      ChannelReceiver receiver(conn, &heard);
      if (!connected_.exchange(true)) log::Info("listening for message events");
      backoff = absl::Milliseconds(100);
      // Reads of an earlier connection may be from before a crash: their WAL
      // positions mean nothing now.
      unconfirmed_.reset();
      news_horizon_ = 0;
      // Catch up on anything committed while we were not listening.
      ReadHeads(conn, /*notify=*/false);
      conn.get_notifs();  // Any that came in during the read (see the end of the loop).
      absl::Time next_poll = absl::Now() + options_.poll_interval;
      absl::Time next_notify_allowed = absl::InfinitePast();
      // While a read waits for the WAL flush (unconfirmed_): when to look at
      // the flush position next, and how long the wait after that is.
      const absl::Duration first_look =
          std::max(options_.flush_check_interval, absl::Milliseconds(1));
      absl::Duration flush_pause = first_look;
      absl::Time next_flush_check =
          unconfirmed_ ? absl::Now() + flush_pause : absl::InfiniteFuture();
      while (!stopping_) {
        const absl::Time now = absl::Now();
        absl::Time until = std::min(next_poll, next_flush_check);
        if (announce_) until = std::min(until, std::max(now, next_notify_allowed));
        if (heard) until = now;  // A notification came in during the last query.
        pollfd fds[2] = {{conn.sock(), POLLIN, 0}, {signal_fd_, POLLIN, 0}};
        if (poll(fds, 2, ToPollTimeoutMs(until - now)) < 0 && errno != EINTR) {
          throw std::runtime_error("poll failed");
        }
        if (fds[1].revents & POLLIN) {
          uint64_t drained = 0;
          [[maybe_unused]] const auto n = read(signal_fd_, &drained, sizeof drained);
        }
        if (stopping_) break;
        conn.get_notifs();  // Also notices a closed connection (throws).
        const bool notify = announce_ && absl::Now() >= next_notify_allowed;
        if (notify) {
          announce_ = false;
          next_notify_allowed = absl::Now() + options_.notify_interval;
        }
        // Our own streams look at once on an announce, without waiting for
        // the echo.
        if (heard || notify || absl::Now() >= next_poll) {
          heard = false;  // The read covers whatever was announced before it.
          const absl::Time held = unconfirmed_ ? unconfirmed_->taken : absl::InfinitePast();
          ReadHeads(conn, notify);
          // A read is a poll: the timer only covers quiet spells, so a
          // replica that reads on every announce or notification (every
          // notify_interval under writes) adds no polls on top.
          next_poll = absl::Now() + options_.poll_interval;
          // A read newly held starts the looks afresh; one still held keeps
          // its schedule, so the looks thin out while nothing flushes.
          if (unconfirmed_ && unconfirmed_->taken != held) {
            flush_pause = first_look;
            next_flush_check = absl::Now() + flush_pause;
          }
        } else if (absl::Now() >= next_flush_check) {
          if (!CheckFlush(conn)) flush_pause = std::min(flush_pause * 2, first_look * 8);
          next_flush_check = absl::Now() + flush_pause;
        }
        if (!unconfirmed_) next_flush_check = absl::InfiniteFuture();
        // libpq reads the socket during a query, so a notification that came
        // in meanwhile waits in its queue, and poll() would not report it.
        conn.get_notifs();
      }
    } catch (const std::exception& e) {
      if (connected_.exchange(false)) log::Warn("event listener lost its connection: {}", e.what());
      // Retry with backoff.
      const absl::Time until = absl::Now() + backoff;
      while (!stopping_ && absl::Now() < until) absl::SleepFor(absl::Milliseconds(50));
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  }
}

void EventListener::ReadHeads(pqxx::connection_base& conn, bool notify) {
  HeadsRead read;
  read.taken = absl::Now();
  // The first read only learns the horizon: the range is empty, and every
  // stream must look.
  read.everything = published_ == 0;
  const std::uint64_t from =
      read.everything ? std::numeric_limits<std::uint64_t>::max() : published_;
  WalPositions wal;
  {
    pqxx::nontransaction tx(conn);
    Params heads(sql::kEventHeads);
    heads.Set("from_xid", absl::StrCat(from));
    // With the NOTIFY, one query string and one round trip: PostgreSQL runs it
    // as one implicit transaction and delivers the notification when that
    // commits, after the read. The transaction gets its xid only at that
    // commit, after the read's snapshot, as a NOTIFY of its own would.
    const pqxx::result r =
        notify ? tx.exec(absl::StrCat(sql::kNotifyEvents, "; ", heads.ExecuteSql(conn)))
               : heads.Exec(tx);
    read.heads = HeadsFromResult(r);
    wal = WalPositions::Of(r);
  }
  read.wal_insert = wal.insert;
  const std::int64_t wal_flush = wal.flush;
  TellNews(read);

  // Streams may pass a horizon only once no crash can hand out again an xid
  // below it, i.e. once the WAL is flushed up to where it stood at the read
  // (sql::kEventHeads). Usually it already is, or is a few milliseconds later
  // (every synchronous commit flushes all WAL before its own). If it still is
  // not after a poll interval, something ended without a flush and nobody is
  // flushing: flush it ourselves.
  if (wal_flush >= read.wal_insert) {
    unconfirmed_.reset();
    Publish(read);
  } else if (unconfirmed_ && wal_flush >= unconfirmed_->wal_insert) {
    Publish(*unconfirmed_);
    unconfirmed_ = std::move(read);  // Covers the same range and more.
  } else if (unconfirmed_ && absl::Now() - unconfirmed_->taken >= options_.poll_interval) {
    try {
      pqxx::nontransaction(conn).exec(sql::kFlushWal);
    } catch (const std::exception& e) {
      log::Warn("event listener could not flush the WAL: {}", e.what());
      throw;  // Reconnects; the reads before are not handed on.
    }
    unconfirmed_.reset();
    Publish(read);
  } else if (!unconfirmed_) {
    unconfirmed_ = std::move(read);
  }
  // Otherwise keep waiting for the older read: the next read covers this
  // one's range again.
}

bool EventListener::CheckFlush(pqxx::connection_base& conn) {
  if (!unconfirmed_) return true;
  if (WalFlushPosition(conn) < unconfirmed_->wal_insert) return false;
  Publish(*unconfirmed_);
  unconfirmed_.reset();
  return true;
}

void EventListener::Publish(const HeadsRead& read) {
  // Never backwards. Every read's range starts at the last published horizon,
  // so a read handed on after an older one overlaps it: harmless.
  if (!read.everything && read.heads.horizon < published_) return;
  published_ = read.heads.horizon;
  on_heads_(read.heads, read.everything);
}

void EventListener::TellNews(const HeadsRead& read) {
  const std::uint64_t previous = news_horizon_;
  news_horizon_ = std::max(news_horizon_, read.heads.horizon);
  if (!on_news_) return;
  // After (re)connecting every distributor the read names is news: a crash
  // may have handed out again xids below the previous horizon.
  if (read.everything || previous == 0) {
    on_news_(read.heads, read.everything);
    return;
  }
  // A distributor whose newest event is below the previous read's horizon
  // was named by that read already.
  domain::EventHeads news{read.heads.horizon, read.heads.read_at, {}};
  for (const auto& head : read.heads.changed) {
    if (head.last.xid >= previous) news.changed.push_back(head);
  }
  if (!news.changed.empty()) on_news_(news, false);
}

}  // namespace messaging::repository
