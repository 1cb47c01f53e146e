// Subscription under concurrent use, driven the way the server drives it: the
// hub's reads offer batches on one thread, the heartbeat offers its quiet
// batches and heartbeats on another, and the sink -- like the gRPC reactor --
// finishes each write later on a thread of its own. Properties: every event
// reaches the sink exactly once and in log order (also across a fall-back to
// catch-up reads), at most one write is in flight, Finish comes exactly once,
// never during a write, and nothing is written after it. scripts/test.sh also
// runs this file under ThreadSanitizer.

#include "streaming/subscription.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "domain/sealed_token.h"
#include "domain/stream_cursor_codec.h"
#include "streaming/stream_memory_budget.h"

namespace messaging::streaming {
namespace {

using domain::EventBatch;
using domain::EventType;
using domain::StreamEvent;
using domain::StreamPosition;

constexpr char kDistributor[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr std::uint64_t kFirstXid = 1000;
constexpr auto kWait = std::chrono::seconds(60);  // Generous: ThreadSanitizer is slow.

// The i-th event of the log; each in a transaction of its own.
StreamEvent EventAt(int i) {
  StreamEvent event;
  event.type = EventType::kCreated;
  event.position = {kFirstXid + static_cast<std::uint64_t>(i), 1};
  event.message.id = std::to_string(i);
  event.message.distributor_id = kDistributor;
  event.message.content = "message " + std::to_string(i);
  return event;
}

EventBatch Batch(std::vector<StreamEvent> events, bool complete = false) {
  EventBatch batch;
  batch.events = std::move(events);
  batch.complete = complete;
  return batch;
}

// The heartbeat's batch: nothing of this distributor below `horizon`.
EventBatch Quiet(std::uint64_t horizon) {
  EventBatch batch;
  batch.horizon = horizon;
  batch.complete = true;
  return batch;
}

// The reactor's side. Write() hands the event over to the sink's thread (as
// the reactor hands it to a completion-queue thread), which records it there
// and reports WriteDone(): false ("client gone") from the `fail_at`-th write
// on. While the gate is shut, writes wait.
class AsyncSink : public EventSink {
 public:
  explicit AsyncSink(Subscription& subscription, int fail_at = -1)
      : subscription_(subscription), fail_at_(fail_at), thread_([this] { Run(); }) {}
  ~AsyncSink() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  void Write(OutgoingEvent event) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_) ++overlapping_writes_;
      if (finishes_ > 0) ++writes_after_finish_;
      pending_ = std::move(event);
    }
    changed_.notify_all();
  }

  void Finish(const absl::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_) ++finished_during_write_;
      ++finishes_;
      finish_status_ = status;
    }
    changed_.notify_all();
  }

  // Only a stalled write is aborted, and these tests stall none for long.
  void Abort() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++aborts_;
  }

  void SetGate(bool open) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      gate_open_ = open;
    }
    changed_.notify_all();
  }

  // Waits until `done` holds for the written events (heartbeats included).
  bool WaitFor(const std::function<bool(const std::vector<OutgoingEvent>&)>& done) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kWait, [&] { return done(written_); });
  }
  bool WaitForFinish() {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kWait, [&] { return finishes_ > 0; });
  }

  std::vector<OutgoingEvent> written() {
    std::lock_guard<std::mutex> lock(mu_);
    return written_;
  }
  int finishes() {
    std::lock_guard<std::mutex> lock(mu_);
    return finishes_;
  }
  absl::Status finish_status() {
    std::lock_guard<std::mutex> lock(mu_);
    return finish_status_;
  }
  // Every protocol violation seen: overlapping writes, a write after Finish,
  // Finish during a write, an abort.
  int violations() {
    std::lock_guard<std::mutex> lock(mu_);
    return overlapping_writes_ + writes_after_finish_ + finished_during_write_ + aborts_;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      changed_.wait(lock, [&] { return stop_ || (pending_ && gate_open_); });
      if (stop_) return;
      written_.push_back(std::move(*pending_));
      pending_.reset();
      const bool ok = fail_at_ < 0 || static_cast<int>(written_.size()) < fail_at_;
      changed_.notify_all();
      lock.unlock();
      subscription_.WriteDone(ok);  // May call Write() or Finish() right away.
      lock.lock();
    }
  }

  Subscription& subscription_;
  const int fail_at_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::optional<OutgoingEvent> pending_;
  bool gate_open_ = true;
  bool stop_ = false;
  std::vector<OutgoingEvent> written_;
  int finishes_ = 0;
  absl::Status finish_status_;
  int overlapping_writes_ = 0;
  int writes_after_finish_ = 0;
  int finished_during_write_ = 0;
  int aborts_ = 0;
  std::thread thread_;  // Last: starts once everything above is initialised.
};

// The ids of the written events, heartbeats left out.
std::vector<int> EventIds(const std::vector<OutgoingEvent>& written) {
  std::vector<int> ids;
  for (const auto& event : written) {
    if (event.type != EventType::kHeartbeat) ids.push_back(std::stoi(event.message.id));
  }
  return ids;
}

std::vector<int> Iota(int n) {
  std::vector<int> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = i;
  return ids;
}

class SubscriptionConcurrencyTest : public ::testing::Test {
 protected:
  // A distributor-wide subscription, live from just before the first event,
  // holding at most `capacity` queued events (bytes are no limit here).
  std::unique_ptr<Subscription> LiveSubscription(std::size_t capacity) {
    QueueLimits limits;
    limits.max_events = capacity;
    limits.max_bytes = std::numeric_limits<std::size_t>::max();
    auto subscription = std::make_unique<Subscription>(kDistributor, "", limits, memory_, codec_);
    domain::StreamCursor start;
    start.position = {kFirstXid, 0};
    start.issued_at = absl::ToUnixMicros(absl::Now());
    subscription->Start(start);
    EXPECT_TRUE(subscription->TryGoLive(start.position));
    return subscription;
  }

  // Every cursor decodes, they never go backwards, and each event's cursor
  // stands exactly at that event.
  void ExpectCursorsFollowTheLog(const std::vector<OutgoingEvent>& written) {
    StreamPosition previous;
    for (const auto& event : written) {
      const auto cursor = codec_.Decode(kDistributor, event.cursor, absl::Now());
      ASSERT_TRUE(cursor.ok()) << cursor.status();
      EXPECT_LE(previous, cursor->position) << "a cursor went backwards";
      previous = cursor->position;
      if (event.type != EventType::kHeartbeat) {
        EXPECT_EQ(cursor->position, EventAt(std::stoi(event.message.id)).position);
      }
    }
  }

  const domain::TokenSealer sealer_{"subscription-test-key"};
  const domain::StreamCursorCodec codec_{sealer_, absl::Hours(24 * 7)};
  StreamMemoryBudget memory_{std::numeric_limits<std::size_t>::max()};
};

// Room for everything: live delivery alone, while the heartbeat thread keeps
// offering quiet batches and heartbeats, and another thread watches the
// cursor only ever move forward.
TEST_F(SubscriptionConcurrencyTest, LiveEventsReachTheSinkOnceAndInOrder) {
  constexpr int kEvents = 2000;
  auto subscription = LiveSubscription(kEvents + 1);
  AsyncSink sink(*subscription);
  subscription->Attach(&sink);

  std::atomic<int> offered{0};
  std::atomic<bool> done{false};
  std::thread heartbeat([&] {
    while (!done.load()) {
      // Every event below the next one's transaction has been offered.
      if (const int n = offered.load(); n > 0) subscription->OfferLive(Quiet(kFirstXid + n));
      subscription->OfferHeartbeat();
      EXPECT_EQ(subscription->mode(), Subscription::Mode::kLive);
      EXPECT_FALSE(subscription->closed());
      EXPECT_LE(subscription->free_capacity(), kEvents + 1);
      std::this_thread::yield();
    }
  });
  // Reads the cursor and nothing else, so only cursor()'s own locking orders
  // these reads with the writes.
  std::thread observer([&] {
    StreamPosition seen;
    while (!done.load()) {
      const StreamPosition now = subscription->cursor().position;
      EXPECT_LE(seen, now) << "the cursor went backwards";
      seen = now;
    }
  });
  for (int i = 0; i < kEvents; ++i) {
    EXPECT_TRUE(subscription->OfferLive(Batch({EventAt(i)})));
    offered = i + 1;
  }
  EXPECT_TRUE(sink.WaitFor([&](const auto& w) { return EventIds(w).size() == kEvents; }));
  done = true;
  heartbeat.join();
  observer.join();

  const auto written = sink.written();
  EXPECT_EQ(EventIds(written), Iota(kEvents));
  ExpectCursorsFollowTheLog(written);
  EXPECT_EQ(sink.violations(), 0);
  EXPECT_EQ(sink.finishes(), 0);
  EXPECT_LE(EventAt(kEvents - 1).position, subscription->cursor().position);
}

// A sink that stops taking writes fills the queue: the subscription drops to
// catch-up, reads the log for itself (the hub's CatchUp, on another thread)
// until it reaches the group's head, and goes live again -- losing nothing,
// repeating nothing.
TEST_F(SubscriptionConcurrencyTest, ASinkThatFallsBehindCatchesUpWithoutLossOrRepeats) {
  constexpr int kEvents = 1000;
  constexpr std::size_t kCapacity = 8;
  auto subscription = LiveSubscription(kCapacity);
  AsyncSink sink(*subscription);
  sink.SetGate(false);  // Stuck until the queue has overflowed once.
  subscription->Attach(&sink);

  // The distributor's group, as in StreamHub: the log it has read and its head.
  struct Group {
    std::mutex mu;
    std::vector<StreamEvent> log;
    StreamPosition head{kFirstXid, 0};
    bool offering = false;  // The hub's read_running: the head is not yet offered.
  } group;
  std::atomic<bool> done{false};
  std::atomic<int> catch_up_reads{0};

  std::thread catch_up([&] {
    while (!done.load()) {
      if (subscription->mode() != Subscription::Mode::kCatchUp ||
          !subscription->ClaimCatchUp(1, 1)) {
        std::this_thread::yield();
        continue;
      }
      const std::size_t room = subscription->free_capacity();
      const StreamPosition after = subscription->cursor().position;
      std::vector<StreamEvent> events;
      bool complete = true;
      {
        std::lock_guard<std::mutex> lock(group.mu);
        for (const auto& event : group.log) {
          if (!(after < event.position)) continue;
          if (events.size() == room) {
            complete = false;
            break;
          }
          events.push_back(event);
        }
      }
      ++catch_up_reads;
      // A heartbeat queued meanwhile may leave the last event for the next read.
      if (subscription->AppendCatchUp(Batch(std::move(events), complete), 0) && complete) {
        std::lock_guard<std::mutex> lock(group.mu);
        subscription->TryGoLive(group.head);
      }
      subscription->ReleaseCatchUp();
    }
  });
  std::thread heartbeat([&] {
    while (!done.load()) {
      std::uint64_t horizon = 0;
      {
        std::lock_guard<std::mutex> lock(group.mu);
        if (!group.offering) horizon = group.head.xid;
      }
      if (horizon != 0) subscription->OfferLive(Quiet(horizon));
      subscription->OfferHeartbeat();
      std::this_thread::yield();
    }
  });

  int overflows = 0;
  for (int i = 0; i < kEvents; ++i) {
    {
      std::lock_guard<std::mutex> lock(group.mu);
      group.log.push_back(EventAt(i));
      group.head = EventAt(i).position;
      group.offering = true;
    }
    if (!subscription->OfferLive(Batch({EventAt(i)})) && ++overflows == 1) sink.SetGate(true);
    {
      std::lock_guard<std::mutex> lock(group.mu);
      group.offering = false;
    }
  }
  EXPECT_TRUE(sink.WaitFor([&](const auto& w) { return EventIds(w).size() >= kEvents; }));
  done = true;
  catch_up.join();
  heartbeat.join();

  EXPECT_GE(overflows, 1);
  EXPECT_GE(catch_up_reads.load(), 1);
  const auto written = sink.written();
  EXPECT_EQ(EventIds(written), Iota(kEvents));
  ExpectCursorsFollowTheLog(written);
  EXPECT_EQ(sink.violations(), 0);
}

// Close() (a cancel, or the server shutting down) and a failed write (the
// client went away) racing live delivery and heartbeats: Finish exactly once,
// after the write in flight, nothing written after it, and what was written
// is the log's beginning, in order.
TEST_F(SubscriptionConcurrencyTest, CloseRacingWritesFinishesOnceAndNeverDuringAWrite) {
  constexpr int kRounds = 60;
  constexpr int kEvents = 200;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    auto subscription = LiveSubscription(kEvents + 1);
    const int fail_at = round % 3 == 0 ? 1 + round % 7 : -1;
    AsyncSink sink(*subscription, fail_at);
    subscription->Attach(&sink);

    std::atomic<bool> done{false};
    std::thread heartbeat([&] {
      while (!done.load()) {
        subscription->OfferHeartbeat();
        std::this_thread::yield();
      }
    });
    const absl::Status shutting_down = absl::UnavailableError("shutting down");
    std::thread closer([&] {
      for (int i = 0; i < round * 20; ++i) std::this_thread::yield();
      subscription->Close(shutting_down);
    });
    for (int i = 0; i < kEvents && !subscription->closed(); ++i) {
      subscription->OfferLive(Batch({EventAt(i)}));
    }
    closer.join();
    const bool finished = sink.WaitForFinish();
    done = true;
    heartbeat.join();
    ASSERT_TRUE(finished);
    // A write still on its way may complete after Finish; it must not start one.
    subscription->OfferLive(Batch({EventAt(kEvents)}));
    subscription->OfferHeartbeat();

    EXPECT_EQ(sink.finishes(), 1);
    EXPECT_EQ(sink.violations(), 0);
    const absl::Status status = sink.finish_status();
    EXPECT_TRUE(status == shutting_down || absl::IsCancelled(status)) << status;
    const auto ids = EventIds(sink.written());
    EXPECT_EQ(ids, Iota(static_cast<int>(ids.size())));
  }
}

}  // namespace
}  // namespace messaging::streaming
