// CursorMemo: a batch offered to many streams seals each distinct cursor once,
// and every stream still gets exactly the token the codec alone would make.

#include "streaming/cursor_memo.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "domain/sealed_token.h"
#include "domain/stream_cursor_codec.h"
#include "streaming/stream_memory_budget.h"
#include "streaming/subscription.h"

namespace messaging::streaming {
namespace {

constexpr char kDistributor[] = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
constexpr char kOtherDistributor[] = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";
constexpr char kConversation[] = "cccccccc-cccc-cccc-cccc-cccccccccccc";

class RecordingSink : public EventSink {
 public:
  void Write(OutgoingEvent event) override { written.push_back(std::move(event)); }
  void Finish(const absl::Status&) override {}
  void Abort() override {}

  std::vector<OutgoingEvent> written;
};

class CursorMemoTest : public ::testing::Test {
 protected:
  domain::StreamCursor Cursor() const {
    domain::StreamCursor cursor;
    cursor.position = {1000, 7};
    cursor.issued_at = 1'700'000'000'000'000;
    return cursor;
  }

  // A live subscription (filter `conversation_id`, "" = all) at position (100, 0),
  // with the cursor every live stream of the distributor has once they all
  // took the same batches (the same position and issue time).
  std::shared_ptr<Subscription> LiveSubscription(const std::string& conversation_id,
                                                 RecordingSink& sink) {
    auto s = std::make_shared<Subscription>(kDistributor, conversation_id, QueueLimits{}, memory_,
                                            codec_);
    s->Attach(&sink);
    domain::StreamCursor start;
    start.position = {100, 0};
    start.issued_at = issued_at_;
    s->Start(start);
    EXPECT_TRUE(s->TryGoLive(start.position));
    return s;
  }

  const domain::TokenSealer sealer_{"cursor-memo-test-key"};
  const domain::StreamCursorCodec codec_{sealer_, absl::Hours(24 * 7)};
  StreamMemoryBudget memory_{1 << 30};
  const domain::Micros issued_at_ = absl::ToUnixMicros(absl::Now());
};

TEST_F(CursorMemoTest, AnEqualCursorIsSealedOnceAndGetsTheCodecsToken) {
  CursorMemo memo;
  EXPECT_EQ(memo.Encode(codec_, kDistributor, Cursor()), codec_.Encode(kDistributor, Cursor()));
  EXPECT_EQ(memo.Encode(codec_, kDistributor, Cursor()), codec_.Encode(kDistributor, Cursor()));
  EXPECT_EQ(memo.sealed(), 1u) << "the second request is served from the memo";
}

TEST_F(CursorMemoTest, PastItsCapacityItSealsWithoutKeeping) {
  CursorMemo memo;
  domain::StreamCursor cursor = Cursor();
  for (std::size_t i = 0; i <= CursorMemo::kMaxEntries; ++i) {
    cursor.position.seq = static_cast<std::int64_t>(i);
    memo.Encode(codec_, kDistributor, cursor);
  }
  ASSERT_EQ(memo.sealed(), CursorMemo::kMaxEntries + 1);
  // The last one was not kept: asked again, it is sealed again (and the same).
  EXPECT_EQ(memo.Encode(codec_, kDistributor, cursor), codec_.Encode(kDistributor, cursor));
  EXPECT_EQ(memo.sealed(), CursorMemo::kMaxEntries + 2);
  // The first ones were.
  cursor.position.seq = 0;
  EXPECT_EQ(memo.Encode(codec_, kDistributor, cursor), codec_.Encode(kDistributor, cursor));
  EXPECT_EQ(memo.sealed(), CursorMemo::kMaxEntries + 2);
}

TEST_F(CursorMemoTest, EveryFieldOfTheRequestTellsCursorsApart) {
  std::vector<std::pair<std::string, domain::StreamCursor>> requests;
  requests.emplace_back(kDistributor, Cursor());
  requests.emplace_back(kOtherDistributor, Cursor());
  auto changed = [&](auto change) {
    domain::StreamCursor cursor = Cursor();
    change(cursor);
    requests.emplace_back(kDistributor, cursor);
  };
  changed([](domain::StreamCursor& c) { c.position.xid += 1; });
  changed([](domain::StreamCursor& c) { c.position.seq += 1; });
  changed([](domain::StreamCursor& c) { c.snapshot = "1000:1002:1000"; });
  changed([](domain::StreamCursor& c) { c.conversation_id = kConversation; });
  changed([](domain::StreamCursor& c) { c.issued_at += 1; });

  CursorMemo memo;
  for (const auto& [distributor, cursor] : requests) {
    EXPECT_EQ(memo.Encode(codec_, distributor, cursor), codec_.Encode(distributor, cursor));
  }
  EXPECT_EQ(memo.sealed(), requests.size()) << "no two of them may share a token";
}

TEST_F(CursorMemoTest, ABatchOfferedToManyStreamsSealsOnePerFilter) {
  RecordingSink wide_a, wide_b, wide_c, by_conversation;
  const auto a = LiveSubscription("", wide_a);
  const auto b = LiveSubscription("", wide_b);
  const auto c = LiveSubscription("", wide_c);
  const auto d = LiveSubscription(kConversation, by_conversation);

  domain::EventBatch batch;
  domain::StreamEvent event;
  event.position = {200, 1};
  event.message.id = "dddddddd-dddd-dddd-dddd-dddddddddddd";
  event.message.distributor_id = kDistributor;
  event.message.conversation_id = kConversation;
  batch.events.push_back(event);
  batch.horizon = 201;

  CursorMemo memo;
  for (const auto& s : {a, b, d}) ASSERT_TRUE(s->OfferLive(batch, &memo));
  ASSERT_TRUE(c->OfferLive(batch));  // Without the memo: the codec's own token.

  for (const RecordingSink* sink : {&wide_a, &wide_b, &wide_c, &by_conversation}) {
    ASSERT_EQ(sink->written.size(), 1u);
  }
  EXPECT_EQ(wide_a.written[0].cursor, wide_c.written[0].cursor);
  EXPECT_EQ(wide_b.written[0].cursor, wide_c.written[0].cursor);
  EXPECT_NE(by_conversation.written[0].cursor, wide_c.written[0].cursor)
      << "a conversation's stream cannot resume a distributor-wide one";
  auto decoded = codec_.Decode(kDistributor, by_conversation.written[0].cursor, absl::Now());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->conversation_id, kConversation);
  EXPECT_EQ(decoded->position, event.position);
  EXPECT_EQ(memo.sealed(), 2u) << "one for the wide streams, one for the conversation's";
}

}  // namespace
}  // namespace messaging::streaming
