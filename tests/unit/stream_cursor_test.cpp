// Stream positions, cursor advancement and the cursor codec.

#include <gtest/gtest.h>

#include "domain/stream.h"
#include "domain/stream_cursor_codec.h"

namespace messaging::domain {
namespace {

StreamEvent EventAt(std::uint64_t xid, std::int64_t seq) {
  StreamEvent e;
  e.position = {xid, seq};
  return e;
}

TEST(StreamPositionTest, OrdersByXidThenSeq) {
  EXPECT_LT((StreamPosition{5, 100}), (StreamPosition{6, 1}));
  EXPECT_LT((StreamPosition{5, 1}), (StreamPosition{5, 2}));
  EXPECT_FALSE((StreamPosition{5, 2}) < (StreamPosition{5, 2}));
  EXPECT_LE((StreamPosition{5, 2}), (StreamPosition{5, 2}));
}

TEST(AdvanceTest, MovesPastTheLastEventAndToTheHorizonWhenComplete) {
  StreamCursor cursor;
  cursor.position = {10, 0};
  EventBatch partial;
  partial.events = {EventAt(11, 3), EventAt(12, 4)};
  partial.horizon = 20;
  partial.complete = false;
  partial.read_at = 777;
  StreamCursor next = Advance(cursor, partial);
  EXPECT_EQ(next.position, (StreamPosition{12, 4}));
  EXPECT_EQ(next.issued_at, 0) << "an incomplete read proves nothing about newer events";

  partial.complete = true;
  next = Advance(cursor, partial);
  EXPECT_EQ(next.position, (StreamPosition{20, 0}));
  EXPECT_EQ(next.issued_at, 777);
}

// A live subscription that caught up past its group by itself is then offered
// the group's older batch: its cursor must stay put, or the events between
// the batch's end and the cursor would be delivered again (a replica-failover
// test caught this as one event streamed twice).
TEST(AdvanceTest, NeverMovesACursorBackwards) {
  StreamCursor cursor;
  cursor.position = {15, 9};
  EventBatch older;
  older.events = {EventAt(11, 3), EventAt(12, 4)};
  older.horizon = 13;
  older.complete = false;
  EXPECT_EQ(Advance(cursor, older).position, (StreamPosition{15, 9}));
  older.complete = true;
  EXPECT_EQ(Advance(cursor, older).position, (StreamPosition{15, 9}));
}

TEST(AdvanceTest, RetiresTheSnapshotOnceThePositionPassesItsXmax) {
  StreamCursor cursor = CursorFromSnapshot("100:105:101,103", 5);
  EXPECT_EQ(cursor.position, (StreamPosition{100, 0}));
  EventBatch batch;
  batch.events = {EventAt(101, 1)};
  batch.horizon = 104;
  batch.complete = true;
  EXPECT_EQ(Advance(cursor, batch).snapshot, "100:105:101,103") << "xid 104 may still matter";
  batch.horizon = 105;
  EXPECT_EQ(Advance(cursor, batch).snapshot, "");
}

// The log's low-water mark: the highest position pruning deleted.
EventBatch PrunedThrough(std::uint64_t xid, std::int64_t seq) {
  EventBatch batch;
  batch.pruned_through = {xid, seq};
  return batch;
}

TEST(CheckNotPrunedTest, ACursorAtOrPastTheMarkMissedNothing) {
  StreamCursor cursor;
  cursor.position = {50, 7};
  EXPECT_TRUE(CheckNotPruned(cursor, PrunedThrough(0, 0)).ok()) << "nothing pruned yet";
  EXPECT_TRUE(CheckNotPruned(cursor, PrunedThrough(50, 7)).ok());
  EXPECT_TRUE(CheckNotPruned(cursor, PrunedThrough(49, 900)).ok());
  const absl::Status behind = CheckNotPruned(cursor, PrunedThrough(50, 8));
  EXPECT_EQ(behind.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(behind.message().find("list again"), std::string::npos) << behind.message();
  EXPECT_EQ(CheckNotPruned(cursor, PrunedThrough(51, 1)).code(), absl::StatusCode::kOutOfRange);
}

// A List response's cursor stands at its snapshot's xmin but has also seen
// every transaction the snapshot saw: pruned events of those are no loss.
TEST(CheckNotPrunedTest, ASnapshotCoversTheTransactionsItSaw) {
  StreamCursor listed = CursorFromSnapshot("100:110:103,107", 1);
  EXPECT_TRUE(CheckNotPruned(listed, PrunedThrough(102, 9)).ok()) << "102 was visible";
  EXPECT_EQ(CheckNotPruned(listed, PrunedThrough(103, 1)).code(), absl::StatusCode::kOutOfRange)
      << "103 was in progress: its events were not in the list";
  EXPECT_EQ(CheckNotPruned(listed, PrunedThrough(105, 1)).code(), absl::StatusCode::kOutOfRange)
      << "the mark passed 103 too";
  EXPECT_EQ(CheckNotPruned(listed, PrunedThrough(110, 1)).code(), absl::StatusCode::kOutOfRange)
      << "110 started after the snapshot";
  EXPECT_TRUE(CheckNotPruned(CursorFromSnapshot("100:110:", 1), PrunedThrough(109, 3)).ok());
}

TEST(SnapshotXmaxTest, ParsesOrRejects) {
  EXPECT_EQ(SnapshotXmax("10:20:"), 20u);
  EXPECT_EQ(SnapshotXmax("10:20:11,12"), 20u);
  EXPECT_FALSE(SnapshotXmax("garbage").has_value());
}

class StreamCursorCodecTest : public ::testing::Test {
 protected:
  TokenSealer sealer_{"0123456789abcdef0123456789abcdef"};
  StreamCursorCodec codec_{sealer_, absl::Hours(24 * 7)};
  const absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(StreamCursorCodecTest, RoundTrips) {
  StreamCursor cursor = CursorFromSnapshot("100:105:101,103", absl::ToUnixMicros(now_));
  cursor.conversation_id = "0b0b0b0b-0000-4000-8000-000000000000";
  auto decoded = codec_.Decode("d1", codec_.Encode("d1", cursor), now_);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->position, cursor.position);
  EXPECT_EQ(decoded->snapshot, cursor.snapshot);
  EXPECT_EQ(decoded->conversation_id, cursor.conversation_id);
  EXPECT_EQ(decoded->issued_at, cursor.issued_at);
}

TEST_F(StreamCursorCodecTest, IsBoundToTheDistributor) {
  StreamCursor cursor;
  cursor.issued_at = absl::ToUnixMicros(now_);
  EXPECT_EQ(codec_.Decode("d2", codec_.Encode("d1", cursor), now_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StreamCursorCodecTest, OlderThanRetentionIsOutOfRange) {
  StreamCursor cursor;
  cursor.issued_at = absl::ToUnixMicros(now_ - absl::Hours(24 * 7 + 1));
  EXPECT_EQ(codec_.Decode("d1", codec_.Encode("d1", cursor), now_).status().code(),
            absl::StatusCode::kOutOfRange);
  cursor.issued_at = absl::ToUnixMicros(now_ - absl::Hours(24 * 7 - 1));
  EXPECT_TRUE(codec_.Decode("d1", codec_.Encode("d1", cursor), now_).ok());
}

TEST_F(StreamCursorCodecTest, EveryAlteredCharacterIsRejected) {
  StreamCursor cursor;
  cursor.position = {42, 7};
  cursor.issued_at = absl::ToUnixMicros(now_);
  const std::string token = codec_.Encode("d1", cursor);
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string altered = token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(codec_.Decode("d1", altered, now_).ok()) << "position " << i;
  }
}

}  // namespace
}  // namespace messaging::domain
