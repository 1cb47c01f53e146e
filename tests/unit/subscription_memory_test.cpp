// A Subscription's byte accounting: what it holds (queued events and the one
// being written) stays within its own byte limit and is reserved from the
// server-wide budget; whatever does not fit stays in the log for catch-up,
// and every byte is given back when written, dropped or abandoned.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "domain/sealed_token.h"
#include "domain/stream_cursor_codec.h"
#include "streaming/stream_memory_budget.h"
#include "streaming/subscription.h"

namespace messaging::streaming {
namespace {

using domain::EventBatch;
using domain::StreamPosition;

constexpr char kDistributor[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr std::size_t kContent = 10 * 1024;

// Holds each write until the test completes it.
class HoldingSink : public EventSink {
 public:
  void Write(OutgoingEvent event) override { written.push_back(std::move(event)); }
  void Finish(const absl::Status& status) override { finished.push_back(status); }
  void Abort() override { ++aborted; }

  std::vector<OutgoingEvent> written;
  std::vector<absl::Status> finished;
  int aborted = 0;
};

domain::StreamEvent Event(int i) {
  domain::StreamEvent event;
  event.position = {static_cast<std::uint64_t>(100 + i), i};
  event.message.id = "dddddddd-dddd-dddd-dddd-dddddddddddd";
  event.message.distributor_id = kDistributor;
  event.message.content = std::string(kContent, 'x');
  return event;
}

EventBatch Batch(int from, int count) {
  EventBatch batch;
  for (int i = from; i < from + count; ++i) batch.events.push_back(Event(i));
  batch.horizon = Event(from + count).position.xid;  // Just past the last one.
  return batch;
}

class SubscriptionMemoryTest : public ::testing::Test {
 protected:
  // A subscription whose byte limit holds `events_fit` (and a half) events.
  std::shared_ptr<Subscription> Make(double events_fit, StreamMemoryBudget& budget) {
    QueueLimits limits;
    limits.max_bytes = static_cast<std::size_t>(events_fit * static_cast<double>(EventBytes()));
    auto s = std::make_shared<Subscription>(kDistributor, "", limits, budget, codec_);
    s->Attach(&sink_);
    domain::StreamCursor start;
    start.position = {100, 0};
    start.issued_at = absl::ToUnixMicros(absl::Now());
    s->Start(start);
    return s;
  }

  void GoLive(Subscription& s) { ASSERT_TRUE(s.TryGoLive(s.cursor().position)); }

  // What one test event holds once queued (its cursor included).
  std::size_t EventBytes() const {
    domain::StreamCursor at;
    at.position = Event(1).position;
    at.issued_at = absl::ToUnixMicros(absl::Now());  // As in the streams' cursors.
    return Footprint(OutgoingEvent{domain::EventType::kCreated, Event(0).message,
                                   codec_.Encode(kDistributor, at)});
  }

  StreamPosition Decoded(const OutgoingEvent& event) const {
    auto cursor = codec_.Decode(kDistributor, event.cursor, absl::Now());
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() ? cursor->position : StreamPosition{};
  }

  const domain::TokenSealer sealer_{"subscription-test-key"};
  const domain::StreamCursorCodec codec_{sealer_, absl::Hours(24 * 7)};
  StreamMemoryBudget plenty_{1 << 30};
  HoldingSink sink_;
};

TEST_F(SubscriptionMemoryTest, ALiveStreamPastItsByteLimitFallsBackToCatchUp) {
  auto s = Make(2.5, plenty_);
  GoLive(*s);
  EXPECT_TRUE(s->OfferLive(Batch(1, 1)));  // Being written.
  EXPECT_TRUE(s->OfferLive(Batch(2, 1)));  // Queued.
  EXPECT_EQ(s->held_bytes(), 2 * EventBytes());
  EXPECT_EQ(plenty_.used(), 2 * EventBytes()) << "everything held is reserved";

  EXPECT_FALSE(s->OfferLive(Batch(3, 1))) << "a third event passes 2.5 events of bytes";
  EXPECT_EQ(s->mode(), Subscription::Mode::kCatchUp);
  EXPECT_EQ(s->held_bytes(), 2 * EventBytes()) << "nothing of the refused batch is held";
  EXPECT_EQ(s->cursor().position, (StreamPosition{102, 2})) << "the log keeps the rest";
  ASSERT_EQ(sink_.written.size(), 1u);

  s->WriteDone(true);  // Hands over the queued one.
  s->WriteDone(true);
  EXPECT_EQ(sink_.written.size(), 2u);
  EXPECT_EQ(s->held_bytes(), 0u);
  EXPECT_EQ(plenty_.used(), 0u);
}

TEST_F(SubscriptionMemoryTest, AnExhaustedServerBudgetRefusesAndIsGivenBackOnWrite) {
  StreamMemoryBudget small(EventBytes() * 3 / 2);
  auto s = Make(10, small);
  GoLive(*s);
  EXPECT_TRUE(s->OfferLive(Batch(1, 1)));
  EXPECT_FALSE(s->OfferLive(Batch(2, 1))) << "the server-wide budget has no room";
  EXPECT_EQ(s->mode(), Subscription::Mode::kCatchUp);
  EXPECT_TRUE(small.TakeRefusals()) << "someone waits for memory";
  EXPECT_LE(small.used(), small.limit());

  EXPECT_FALSE(s->ClaimCatchUp(1, 1)) << "no catch-up read while the budget is full";
  s->WriteDone(true);
  EXPECT_EQ(small.used(), 0u);
  EXPECT_TRUE(s->ClaimCatchUp(1, 1));
}

TEST_F(SubscriptionMemoryTest, CatchUpTakesWhatFitsAndTheNextReadStartsAfterIt) {
  auto s = Make(2.5, plenty_);
  const std::size_t reserved = 4 * EventBytes();
  ASSERT_TRUE(plenty_.TryReserve(reserved));  // What the hub reserved for the read.

  EXPECT_FALSE(s->AppendCatchUp(Batch(1, 5), reserved));
  ASSERT_EQ(sink_.written.size(), 1u);
  EXPECT_EQ(Decoded(sink_.written[0]), (StreamPosition{101, 1}));
  EXPECT_EQ(s->held_bytes(), 2 * EventBytes()) << "one being written, one queued";
  EXPECT_EQ(plenty_.used(), 2 * EventBytes()) << "the unused reservation was given back";
  EXPECT_EQ(s->cursor().position, (StreamPosition{102, 2})) << "after the last event taken";
  EXPECT_EQ(s->next_event_bytes(), EventBytes());

  EXPECT_FALSE(s->ClaimCatchUp(1, 1)) << "no room for the event it stopped at";
  s->WriteDone(true);
  EXPECT_TRUE(s->ClaimCatchUp(1, 1));
  s->ReleaseCatchUp();

  // The next read starts at event 3; taking it whole moves past the batch.
  ASSERT_TRUE(plenty_.TryReserve(EventBytes()));
  EXPECT_TRUE(s->AppendCatchUp(Batch(3, 1), EventBytes()));
  EXPECT_EQ(s->next_event_bytes(), 0u);
  s->WriteDone(true);
  s->WriteDone(true);
  ASSERT_EQ(sink_.written.size(), 3u);
  EXPECT_EQ(Decoded(sink_.written[1]), (StreamPosition{102, 2}));
  EXPECT_EQ(Decoded(sink_.written[2]), (StreamPosition{103, 3}));
  EXPECT_EQ(plenty_.used(), 0u);
}

TEST_F(SubscriptionMemoryTest, CatchUpReservesMoreWhenTheReadBroughtMoreThanReserved) {
  StreamMemoryBudget budget(EventBytes() * 5 / 2);
  auto s = Make(10, budget);
  EXPECT_FALSE(s->AppendCatchUp(Batch(1, 3), 0)) << "two fit the server budget, not three";
  EXPECT_EQ(s->held_bytes(), 2 * EventBytes());
  EXPECT_EQ(budget.used(), 2 * EventBytes());
  EXPECT_EQ(s->cursor().position, (StreamPosition{102, 2}));
}

TEST_F(SubscriptionMemoryTest, AnEventLargerThanTheLimitIsTakenWhenNothingElseIsHeld) {
  auto s = Make(0.5, plenty_);
  EXPECT_FALSE(s->AppendCatchUp(Batch(1, 2), 0));
  EXPECT_EQ(sink_.written.size(), 1u) << "one at a time";
  EXPECT_EQ(s->held_bytes(), EventBytes());
  EXPECT_FALSE(s->ClaimCatchUp(1, 1)) << "not while that one is held";
  s->WriteDone(true);
  EXPECT_TRUE(s->ClaimCatchUp(1, 1));
}

TEST_F(SubscriptionMemoryTest, AStalledWriteIsAbortedAndEverythingItHeldIsFreed) {
  auto s = Make(10, plenty_);
  GoLive(*s);
  ASSERT_TRUE(s->OfferLive(Batch(1, 3)));
  ASSERT_EQ(sink_.written.size(), 1u);
  const auto error = absl::ResourceExhaustedError("stalled");

  EXPECT_FALSE(s->AbortIfStalled(Subscription::Clock::now() - std::chrono::hours(1), error))
      << "its write started after that";
  EXPECT_EQ(sink_.aborted, 0);

  EXPECT_TRUE(s->AbortIfStalled(Subscription::Clock::now() + std::chrono::seconds(1), error));
  EXPECT_EQ(sink_.aborted, 1);
  EXPECT_EQ(s->held_bytes(), EventBytes()) << "the queue is dropped; the write is in flight";
  EXPECT_FALSE(s->AbortIfStalled(Subscription::Clock::now() + std::chrono::seconds(1), error))
      << "once";

  s->WriteDone(false);  // The cancelled write comes back.
  EXPECT_EQ(s->held_bytes(), 0u);
  EXPECT_EQ(plenty_.used(), 0u);
  ASSERT_EQ(sink_.finished.size(), 1u);
  EXPECT_EQ(sink_.finished[0].code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(SubscriptionMemoryTest, AnIdleStreamIsNeverStalled) {
  auto s = Make(10, plenty_);
  GoLive(*s);
  EXPECT_FALSE(s->AbortIfStalled(Subscription::Clock::now() + std::chrono::hours(1),
                                 absl::ResourceExhaustedError("stalled")));
  EXPECT_EQ(sink_.aborted, 0);
}

TEST_F(SubscriptionMemoryTest, CloseAndDestructionGiveEverythingBack) {
  {
    auto s = Make(10, plenty_);
    GoLive(*s);
    ASSERT_TRUE(s->OfferLive(Batch(1, 3)));
    s->Close(absl::CancelledError("bye"));
    EXPECT_EQ(plenty_.used(), EventBytes()) << "queued events dropped, the write in flight kept";
    EXPECT_TRUE(sink_.finished.empty()) << "finishes once the write is done";
    // The call goes away without completing its write (server shutdown).
    s->Detach();
  }
  EXPECT_EQ(plenty_.used(), 0u);
}

}  // namespace
}  // namespace messaging::streaming
