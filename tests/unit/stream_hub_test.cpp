// StreamHub's wake-up logic, through its public API: which distributor groups
// read the event log when the log's heads arrive, and how idle groups follow
// the horizon. The repositories are gMock doubles, the executor is real (one
// thread, so it runs tasks in the order they were posted), and each stream's
// sink is a fake that records what would be written and acknowledges it at
// once, like a fast client.
//
// "Nothing happened" is never proven by sleeping: Settle() posts a marker task
// and waits for it; every task posted before it (every read the hub scheduled)
// has then run, so the mocks' call counts are final.

#include "streaming/stream_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/executor.h"
#include "domain/sealed_token.h"
#include "domain/stream_cursor_codec.h"
#include "streaming/subscription.h"
#include "unit/mock_repositories.h"

namespace messaging::streaming {
namespace {

using domain::EventBatch;
using domain::EventHeads;
using domain::EventType;
using domain::StreamPosition;
using ::messaging::testing::MockConversationRepository;
using ::messaging::testing::MockEventRepository;
using ::testing::_;
using ::testing::AllOf;
using ::testing::Return;
using ::testing::StrictMock;

constexpr char kA[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kB[] = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
constexpr char kConversationA[] = "cccccccc-cccc-cccc-cccc-cccccccccccc";
constexpr std::uint64_t kStart = 100;  // The horizon when the streams start.
constexpr auto kWait = std::chrono::seconds(5);
constexpr std::size_t kLargeContent = 10 * 1024;

MATCHER_P(ForDistributor, id, "") { return arg.distributor_id == id; }
MATCHER_P2(After, xid, seq, "") {
  return arg.after.position == (StreamPosition{static_cast<std::uint64_t>(xid), seq});
}
MATCHER_P(HorizonCap, xid, "") { return arg.horizon_cap == static_cast<std::uint64_t>(xid); }
MATCHER_P(AtMostBytes, bytes, "") { return arg.max_bytes <= static_cast<std::int64_t>(bytes); }

// A complete read with nothing below `horizon`.
EventBatch Quiet(std::uint64_t horizon) {
  EventBatch batch;
  batch.horizon = horizon;
  batch.complete = true;
  return batch;
}

domain::StreamEvent Created(const std::string& distributor, StreamPosition position) {
  domain::StreamEvent event;
  event.type = EventType::kCreated;
  event.position = position;
  event.message.id = "dddddddd-dddd-dddd-dddd-dddddddddddd";
  event.message.conversation_id = kConversationA;
  event.message.distributor_id = distributor;
  return event;
}

EventHeads Heads(std::uint64_t horizon, std::vector<domain::DistributorHead> changed = {}) {
  EventHeads heads;
  heads.horizon = horizon;
  heads.read_at = absl::ToUnixMicros(absl::Now());
  heads.changed = std::move(changed);
  return heads;
}

// Records every write and acknowledges it at once, like a fast client (or,
// after HoldWrites(), never, like a client that stopped reading).
class RecordingSink : public EventSink {
 public:
  void Bind(Subscription* subscription) { subscription_ = subscription; }
  void HoldWrites() { hold_ = true; }

  void Write(OutgoingEvent event) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      written_.push_back(std::move(event));
    }
    changed_.notify_all();
    if (!hold_) subscription_->WriteDone(true);
  }
  void Finish(const absl::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_.push_back(status);
    }
    changed_.notify_all();
  }
  void Abort() override { ++aborted_; }

  int aborted() const { return aborted_.load(); }
  std::vector<absl::Status> finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }

  bool WaitForWrites(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, kWait, [&] { return written_.size() >= n; });
  }
  std::vector<OutgoingEvent> written() {
    std::lock_guard<std::mutex> lock(mu_);
    return written_;
  }
  // The status the stream ended with (UNKNOWN "not finished" after kWait).
  absl::Status WaitForFinish() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait_for(lock, kWait, [&] { return !finished_.empty(); });
    return finished_.empty() ? absl::UnknownError("not finished") : finished_.front();
  }

 private:
  Subscription* subscription_ = nullptr;
  std::atomic<bool> hold_{false};
  std::atomic<int> aborted_{0};
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<OutgoingEvent> written_;
  std::vector<absl::Status> finished_;
};

class StreamHubTest : public ::testing::Test {
 protected:
  ~StreamHubTest() override { executor_.Shutdown(); }  // No task outlives the hub.

  // Runs every task posted so far (the executor has one thread and is FIFO).
  void Settle() {
    std::promise<void> ran;
    auto future = ran.get_future();
    executor_.Post([&ran] { ran.set_value(); });
    ASSERT_EQ(future.wait_for(kWait), std::future_status::ready) << "executor stuck";
  }

  // A distributor-wide live stream of `distributor`, started at horizon kStart:
  // after it, the group's head is (kStart, 0) and nothing has been written.
  std::shared_ptr<Subscription> LiveStream(const std::string& distributor, RecordingSink& sink) {
    return LiveStream(hub_, distributor, sink);
  }
  // The same following one conversation of `distributor`.
  std::shared_ptr<Subscription> LiveStream(StreamHub& hub, const std::string& distributor,
                                           RecordingSink& sink,
                                           const std::string& conversation_id = "") {
    if (!conversation_id.empty()) {
      domain::Conversation conversation;
      conversation.id = conversation_id;
      conversation.distributor_id = distributor;
      EXPECT_CALL(conversations_, Get(ForDistributor(distributor), conversation_id))
          .WillOnce(Return(conversation));
    }
    EXPECT_CALL(events_, Horizon(ForDistributor(distributor))).WillOnce(Return(kStart));
    EXPECT_CALL(events_, Read(ForDistributor(distributor), After(kStart, 0), conversation_id))
        .WillOnce(Return(Quiet(kStart)));
    auto subscription = std::make_shared<Subscription>(distributor, conversation_id, QueueLimits{},
                                                       hub.memory(), codec_);
    sink.Bind(subscription.get());
    subscription->Attach(&sink);
    hub.Subscribe(subscription, std::nullopt);
    Settle();  // The start (Horizon), which posts the first catch-up read...
    Settle();  // ...which finds nothing and joins the group.
    EXPECT_EQ(subscription->mode(), Subscription::Mode::kLive);
    ::testing::Mock::VerifyAndClearExpectations(&events_);
    ::testing::Mock::VerifyAndClearExpectations(&conversations_);
    return subscription;
  }

  // Sends a heartbeat; the cursor it carried on `sink`'s stream (which must
  // have written nothing else), decoded for `distributor`.
  domain::StreamCursor HeartbeatCursor(RecordingSink& sink, const std::string& distributor) {
    hub_.Heartbeat();
    EXPECT_TRUE(sink.WaitForWrites(1));
    const auto written = sink.written();
    EXPECT_EQ(written.size(), 1u);
    if (written.size() != 1) return {};
    EXPECT_EQ(written[0].type, EventType::kHeartbeat);
    const auto cursor = codec_.Decode(distributor, written[0].cursor, absl::Now());
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() ? *cursor : domain::StreamCursor{};
  }

  StrictMock<MockEventRepository> events_;
  StrictMock<MockConversationRepository> conversations_;
  const domain::TokenSealer sealer_{"stream-hub-test-key"};
  const domain::StreamCursorCodec codec_{sealer_, absl::Hours(24 * 7)};
  Executor executor_{1};
  // No read goes to every stream during a test, unless it uses refreshing_hub_.
  static HubOptions NoRefresh() {
    HubOptions options;
    options.refresh_every = absl::Hours(1);
    return options;
  }
  StreamHub hub_{events_, conversations_, executor_, NoRefresh()};
  static HubOptions RefreshAlways() {
    HubOptions options;
    options.refresh_every = absl::ZeroDuration();
    return options;
  }
  StreamHub refreshing_hub_{events_, conversations_, executor_, RefreshAlways()};
  // Two streams per distributor, room for about 1.5 kLargeContent events in
  // all, streams that stalled at all are ended under pressure.
  static HubOptions Limited() {
    HubOptions options;
    options.max_streams_per_distributor = 2;
    options.memory_bytes = kLargeContent * 3 / 2;
    options.read_bytes = 64 * 1024;
    options.stall_timeout = absl::ZeroDuration();
    return options;
  }
  StreamHub limited_hub_{events_, conversations_, executor_, Limited()};
  RecordingSink sink_a_, sink_b_;
};

// (a) Only the distributor the heads name reads the log.
TEST_F(StreamHubTest, HeadsNamingOneDistributorReadOnlyItsLog) {
  auto a = LiveStream(kA, sink_a_);
  auto b = LiveStream(kB, sink_b_);

  EventBatch news = Quiet(110);
  news.events = {Created(kA, {105, 1})};
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(kStart, 0), "")).WillOnce(Return(news));
  EXPECT_CALL(events_, Read(ForDistributor(kB), _, _)).Times(0);

  hub_.OnHeads(Heads(110, {{kA, {105, 1}}}), /*everything=*/false);
  ASSERT_TRUE(sink_a_.WaitForWrites(1));
  Settle();

  const auto written = sink_a_.written();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].type, EventType::kCreated);
  EXPECT_EQ(written[0].message.distributor_id, kA);
  EXPECT_EQ(a->cursor().position, (StreamPosition{110, 0}));
  EXPECT_TRUE(sink_b_.written().empty());
  EXPECT_EQ(b->cursor().position, (StreamPosition{kStart, 0})) << "B was not read";
}

// (a2) A batch is offered only to the streams it concerns: the
// distributor-wide ones and those following a conversation it has events of.
// The others are not touched (their cursors follow at the next heartbeat), so
// an event costs nothing for the streams of other conversations.
TEST_F(StreamHubTest, ABatchIsOfferedOnlyToTheStreamsItConcerns) {
  constexpr char kConversationB[] = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee";
  RecordingSink sink_on_a, sink_on_b;
  auto wide = LiveStream(kA, sink_a_);
  auto on_a = LiveStream(hub_, kA, sink_on_a, kConversationA);
  auto on_b = LiveStream(hub_, kA, sink_on_b, kConversationB);

  EventBatch news = Quiet(110);
  news.events = {Created(kA, {105, 1})};  // In kConversationA.
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(kStart, 0), "")).WillOnce(Return(news));
  hub_.OnHeads(Heads(110, {{kA, {105, 1}}}), /*everything=*/false);
  ASSERT_TRUE(sink_a_.WaitForWrites(1));
  ASSERT_TRUE(sink_on_a.WaitForWrites(1));
  Settle();

  EXPECT_EQ(wide->cursor().position, (StreamPosition{110, 0}));
  EXPECT_EQ(on_a->cursor().position, (StreamPosition{110, 0}));
  EXPECT_TRUE(sink_on_b.written().empty());
  EXPECT_EQ(on_b->cursor().position, (StreamPosition{kStart, 0})) << "offered a batch of A";

  EXPECT_EQ(HeartbeatCursor(sink_on_b, kA).position, (StreamPosition{110, 0}));
}

// (a3) Once a refresh is due, a read goes to every stream of the group, so
// that the cursors of streams it has no events for do not lag.
TEST_F(StreamHubTest, ADueRefreshOffersTheReadToEveryStream) {
  constexpr char kConversationB[] = "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee";
  RecordingSink sink_on_b;
  auto wide = LiveStream(refreshing_hub_, kA, sink_a_);
  auto on_b = LiveStream(refreshing_hub_, kA, sink_on_b, kConversationB);

  EventBatch news = Quiet(110);
  news.events = {Created(kA, {105, 1})};                              // In kConversationA.
  news.read_at = absl::ToUnixMicros(absl::Now() + absl::Seconds(1));  // After the streams began.
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(kStart, 0), "")).WillOnce(Return(news));
  refreshing_hub_.OnHeads(Heads(110, {{kA, {105, 1}}}), /*everything=*/false);
  ASSERT_TRUE(sink_a_.WaitForWrites(1));
  Settle();

  EXPECT_TRUE(sink_on_b.written().empty());
  EXPECT_EQ(on_b->cursor().position, (StreamPosition{110, 0}));
  EXPECT_EQ(on_b->cursor().issued_at, news.read_at);
}

// (a') Reads never go beyond the horizon of the last heads, which the
// listener made durable (no crash can hand out an xid below it again); the
// database's own horizon may be further on. A live start begins there too.
TEST_F(StreamHubTest, ReadsAndLiveStartsStopAtTheHorizonOfTheLastHeads) {
  auto a = LiveStream(kA, sink_a_);
  EXPECT_CALL(events_, Read(ForDistributor(kA), AllOf(After(kStart, 0), HorizonCap(110)), ""))
      .WillOnce(Return(Quiet(110)));
  hub_.OnHeads(Heads(110, {{kA, {105, 1}}}), /*everything=*/false);
  Settle();
  ::testing::Mock::VerifyAndClearExpectations(&events_);

  EXPECT_CALL(events_, Horizon(ForDistributor(kB))).WillOnce(Return(150));
  EXPECT_CALL(events_, Read(ForDistributor(kB), AllOf(After(110, 0), HorizonCap(110)), ""))
      .WillOnce(Return(Quiet(110)));
  auto b = std::make_shared<Subscription>(kB, "", QueueLimits{}, hub_.memory(), codec_);
  sink_b_.Bind(b.get());
  b->Attach(&sink_b_);
  hub_.Subscribe(b, std::nullopt);
  Settle();
  Settle();
  EXPECT_EQ(b->mode(), Subscription::Mode::kLive);
  EXPECT_EQ(b->cursor().position, (StreamPosition{110, 0}));
}

// (b) An idle group costs no read; its head moves to the horizon, and the next
// heartbeat hands that position (and the heads' read time) to its streams.
TEST_F(StreamHubTest, IdleGroupMovesToTheHorizonAndItsHeartbeatCarriesIt) {
  auto a = LiveStream(kA, sink_a_);
  EXPECT_CALL(events_, Read(_, _, _)).Times(0);

  const EventHeads heads = Heads(120);
  hub_.OnHeads(heads, /*everything=*/false);
  Settle();
  EXPECT_TRUE(sink_a_.written().empty()) << "an idle group writes nothing";
  EXPECT_EQ(a->cursor().position, (StreamPosition{kStart, 0}))
      << "the stream's cursor follows lazily";

  const domain::StreamCursor cursor = HeartbeatCursor(sink_a_, kA);
  EXPECT_EQ(cursor.position, (StreamPosition{120, 0}));
  EXPECT_EQ(cursor.issued_at, heads.read_at);
}

// (c) The first answer after (re)connecting names nobody: every group reads.
TEST_F(StreamHubTest, EverythingReadsEveryGroup) {
  auto a = LiveStream(kA, sink_a_);
  auto b = LiveStream(kB, sink_b_);
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(kStart, 0), "")).WillOnce(Return(Quiet(130)));
  EXPECT_CALL(events_, Read(ForDistributor(kB), After(kStart, 0), "")).WillOnce(Return(Quiet(130)));

  hub_.OnHeads(Heads(130), /*everything=*/true);
  Settle();

  ::testing::Mock::VerifyAndClearExpectations(&events_);
  EXPECT_EQ(a->cursor().position, (StreamPosition{130, 0}));
  EXPECT_EQ(b->cursor().position, (StreamPosition{130, 0}));
}

// (d) Heads only cover the xids since the previous heads. A group whose head
// is older than that range (here: its read for the previous heads failed)
// must read, not jump to the horizon over events it never saw. A group that
// was idle all along (B) still just moves.
TEST_F(StreamHubTest, GroupBehindThePreviousHeadsReadsInsteadOfAdvancing) {
  auto a = LiveStream(kA, sink_a_);
  auto b = LiveStream(kB, sink_b_);

  // Heads #1 name A, but its read fails (e.g. the database restarts): A's head
  // stays at kStart while B's moves to 150.
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(kStart, 0), ""))
      .WillOnce(Return(absl::UnavailableError("connection lost")));
  hub_.OnHeads(Heads(150, {{kA, {120, 1}}}), /*everything=*/false);
  Settle();
  ::testing::Mock::VerifyAndClearExpectations(&events_);
  EXPECT_TRUE(sink_a_.written().empty());

  // Heads #2 cover [150, 200) and name nobody. A's event at xid 120 lies
  // before that range: A must read from its own head.
  EventBatch missed = Quiet(200);
  missed.events = {Created(kA, {120, 1})};
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(kStart, 0), "")).WillOnce(Return(missed));
  EXPECT_CALL(events_, Read(ForDistributor(kB), _, _)).Times(0);
  hub_.OnHeads(Heads(200), /*everything=*/false);
  ASSERT_TRUE(sink_a_.WaitForWrites(1));
  Settle();

  const auto written = sink_a_.written();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].type, EventType::kCreated);
  EXPECT_EQ(a->cursor().position, (StreamPosition{200, 0}));

  // B was advanced, not read: its next heartbeat stands at the new horizon.
  EXPECT_TRUE(sink_b_.written().empty());
  hub_.Heartbeat();
  ASSERT_TRUE(sink_b_.WaitForWrites(1));
  const auto heartbeat = codec_.Decode(kB, sink_b_.written()[0].cursor, absl::Now());
  ASSERT_TRUE(heartbeat.ok()) << heartbeat.status();
  EXPECT_EQ(heartbeat->position, (StreamPosition{200, 0}));
}

// (e) A distributor has at most max_streams_per_distributor streams; the next
// one ends at once with RESOURCE_EXHAUSTED, and other distributors are not
// affected.
TEST_F(StreamHubTest, ADistributorsStreamsAreCappedOthersAreNot) {
  RecordingSink first, second, third;
  auto a1 = LiveStream(limited_hub_, kA, first);
  auto a2 = LiveStream(limited_hub_, kA, second);

  auto a3 = std::make_shared<Subscription>(kA, "", QueueLimits{}, limited_hub_.memory(), codec_);
  third.Bind(a3.get());
  a3->Attach(&third);
  limited_hub_.Subscribe(a3, std::nullopt);  // No read: refused before any.
  Settle();
  ASSERT_EQ(third.finished().size(), 1u);
  EXPECT_EQ(third.finished()[0].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(third.finished()[0].message()), ::testing::HasSubstr("at most 2"));
  EXPECT_EQ(limited_hub_.subscriptions(), 2u);

  auto b = LiveStream(limited_hub_, kB, sink_b_);
  EXPECT_EQ(limited_hub_.subscriptions(), 3u);
  EXPECT_TRUE(first.finished().empty());
  EXPECT_TRUE(sink_b_.finished().empty());

  // A closed stream frees its place.
  limited_hub_.Unsubscribe(a1);
  auto a4 = LiveStream(limited_hub_, kA, third);
  EXPECT_TRUE(third.finished().size() == 1u) << "accepted this time";
}

// (f) Every read of the log is bounded by bytes: a group read by read_bytes,
// a catch-up read by what the stream may still hold.
TEST_F(StreamHubTest, ReadsAreBoundedByTheReadBudget) {
  RecordingSink sink;
  auto a = LiveStream(limited_hub_, kA, sink);
  EventBatch news = Quiet(110);
  news.events = {Created(kA, {105, 1})};
  EXPECT_CALL(events_, Read(ForDistributor(kA), AtMostBytes(64 * 1024), "")).WillOnce(Return(news));
  limited_hub_.OnHeads(Heads(110, {{kA, {105, 1}}}), /*everything=*/false);
  ASSERT_TRUE(sink.WaitForWrites(1));
  Settle();
}

// (g) When the memory budget refuses a stream, streams whose client stopped
// reading are ended (freeing what they hold), and the refused stream then
// gets its events from the log: nothing is lost, nothing waits forever.
TEST_F(StreamHubTest, StalledStreamsAreEndedWhenMemoryRunsOut) {
  RecordingSink stalled;
  auto a = LiveStream(limited_hub_, kA, stalled);
  auto b = LiveStream(limited_hub_, kB, sink_b_);
  stalled.HoldWrites();
  auto large = [](const std::string& distributor, StreamPosition at) {
    auto event = Created(distributor, at);
    event.message.content = std::string(kLargeContent, 'x');
    return event;
  };

  // A's client takes one large event and then stops reading.
  EventBatch for_a = Quiet(110);
  for_a.events = {large(kA, {105, 1})};
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(kStart, 0), "")).WillOnce(Return(for_a));
  limited_hub_.OnHeads(Heads(110, {{kA, {105, 1}}}), /*everything=*/false);
  ASSERT_TRUE(stalled.WaitForWrites(1));
  Settle();
  limited_hub_.RelieveMemoryPressure();
  EXPECT_EQ(stalled.aborted(), 0) << "nobody was refused memory yet";

  // B's large event does not fit what is left: B falls back to catch-up.
  // (B's group was idle at the last heads: its head moved to 110.)
  EventBatch for_b = Quiet(120);
  for_b.events = {large(kB, {115, 1})};
  EXPECT_CALL(events_, Read(ForDistributor(kB), After(110, 0), "")).WillOnce(Return(for_b));
  limited_hub_.OnHeads(Heads(120, {{kB, {115, 1}}}), /*everything=*/false);
  Settle();
  ::testing::Mock::VerifyAndClearExpectations(&events_);
  EXPECT_TRUE(sink_b_.written().empty());
  EXPECT_EQ(b->mode(), Subscription::Mode::kCatchUp);

  // The next wake-up ends A (its write has been in flight past the stall
  // timeout); B waits for the memory A held, reading nothing meanwhile.
  EXPECT_CALL(events_, Read(_, _, _)).Times(0);
  limited_hub_.OnHeads(Heads(120), /*everything=*/false);
  Settle();
  EXPECT_EQ(stalled.aborted(), 1);
  ::testing::Mock::VerifyAndClearExpectations(&events_);

  // The cancelled write comes back: A finishes with RESOURCE_EXHAUSTED, and
  // B reads its event from the log after its cursor.
  a->WriteDone(false);
  ASSERT_EQ(stalled.finished().size(), 1u);
  EXPECT_EQ(stalled.finished()[0].code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(limited_hub_.memory().used(), 0u);
  EXPECT_CALL(events_, Read(ForDistributor(kB), After(kStart, 0), "")).WillOnce(Return(for_b));
  limited_hub_.OnHeads(Heads(120), /*everything=*/false);
  ASSERT_TRUE(sink_b_.WaitForWrites(1));
  Settle();
  EXPECT_EQ(sink_b_.written()[0].message.content.size(), kLargeContent);
  EXPECT_EQ(limited_hub_.stalled_streams_ended(), 1u);
}

// (h) A stream that resumes from a cursor the log was pruned past (the read's
// low-water mark is beyond it) may have lost events: it ends with
// OUT_OF_RANGE and writes nothing.
TEST_F(StreamHubTest, ResumingBelowThePrunedMarkEndsWithOutOfRange) {
  domain::StreamCursor old;
  old.position = {90, 1};
  EventBatch pruned = Quiet(kStart);
  pruned.pruned_through = {95, 4};
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(90, 1), "")).WillOnce(Return(pruned));

  auto subscription = std::make_shared<Subscription>(kA, "", QueueLimits{}, hub_.memory(), codec_);
  sink_a_.Bind(subscription.get());
  subscription->Attach(&sink_a_);
  hub_.Subscribe(subscription, old);
  Settle();
  Settle();

  EXPECT_EQ(sink_a_.WaitForFinish().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(sink_a_.written().empty());
}

// (i) A group whose head fell below the mark (a long transaction elsewhere
// held the horizon back for longer than the retention) ends its live streams
// with OUT_OF_RANGE instead of skipping what was pruned.
TEST_F(StreamHubTest, AGroupBelowThePrunedMarkEndsItsLiveStreams) {
  auto a = LiveStream(kA, sink_a_);
  EventBatch pruned = Quiet(130);
  pruned.pruned_through = {kStart + 5, 1};
  EXPECT_CALL(events_, Read(ForDistributor(kA), After(kStart, 0), "")).WillOnce(Return(pruned));

  hub_.OnHeads(Heads(130, {{kA, {kStart + 10, 1}}}), /*everything=*/false);
  Settle();

  EXPECT_EQ(sink_a_.WaitForFinish().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(sink_a_.written().empty());
}

}  // namespace
}  // namespace messaging::streaming
