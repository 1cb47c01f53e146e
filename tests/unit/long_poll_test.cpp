// LongPollWaiters: which parked calls a wake-up wakes. Alarms are parked with
// deadlines an hour away, so any completion on the queue comes from a wake-up;
// that the others did not fire is shown by parked() and by collecting them
// all at the end.

#include "transport/long_poll.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <set>

namespace messaging::transport {
namespace {

using ::testing::UnorderedElementsAreArray;

class LongPollTest : public ::testing::Test {
 protected:
  ~LongPollTest() override {
    waiters_.WakeAll();
    Collect(parked_count_);
    cq_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // Parks alarm `i` under `tenant`.
  void Park(int i, const std::string& tenant) {
    ASSERT_TRUE(waiters_.Park(&alarms_[i], &cq_, absl::Now() + absl::Hours(1), Tag(i),
                              waiters_.generation(), tenant));
    ++parked_count_;
  }

  // Takes `n` completions off the queue: the indexes of the alarms that completed.
  std::multiset<int> Collect(int n) {
    std::multiset<int> got;
    for (int k = 0; k < n; ++k) {
      void* tag = nullptr;
      bool ok = true;
      const auto status =
          cq_.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + std::chrono::seconds(30));
      EXPECT_EQ(status, grpc::CompletionQueue::GOT_EVENT);
      if (status != grpc::CompletionQueue::GOT_EVENT) break;
      EXPECT_FALSE(ok) << "a woken alarm completes as cancelled";
      const int i = Index(tag);
      waiters_.Unpark(&alarms_[i]);  // What a resumed call does.
      got.insert(i);
      --parked_count_;
    }
    return got;
  }

  // Each alarm's tag is its own address.
  void* Tag(int i) { return &alarms_[static_cast<std::size_t>(i)]; }
  int Index(void* tag) const {
    return static_cast<int>(static_cast<grpc::Alarm*>(tag) - alarms_.data());
  }

  grpc::CompletionQueue cq_;
  std::array<grpc::Alarm, 8> alarms_;
  LongPollWaiters waiters_;
  int parked_count_ = 0;
};

TEST_F(LongPollTest, NewWorkWakesTheOldestCallOfEachTenant) {
  Park(0, "");
  Park(1, "a");
  Park(2, "");
  Park(3, "a");
  Park(4, "b");
  Park(5, "c");
  waiters_.Wake({"a", "b"});
  EXPECT_THAT(Collect(2), UnorderedElementsAreArray({1, 4}));
  EXPECT_EQ(waiters_.parked(), 4u);  // 0 and 2 (any), 3 (a) and 5 (c) still wait.
  waiters_.WakeAll();
  EXPECT_THAT(Collect(4), UnorderedElementsAreArray({0, 2, 3, 5}));
  EXPECT_EQ(waiters_.parked(), 0u);
}

TEST_F(LongPollTest, TenantsWithoutACallOfTheirOwnWakeOneCallServingAny) {
  Park(0, "");
  Park(1, "a");
  Park(2, "");
  waiters_.Wake({"b", "a", "c"});  // 1 takes a's work; 0 takes b's and c's.
  EXPECT_THAT(Collect(2), UnorderedElementsAreArray({0, 1}));
  EXPECT_EQ(waiters_.parked(), 1u);
  waiters_.Wake({"a"});  // No call of a is left: one serving any tenant.
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({2}));
  EXPECT_EQ(waiters_.parked(), 0u);
}

TEST_F(LongPollTest, AFullAnswerWakesTheNextCallOfItsTenantElseOneServingAny) {
  Park(0, "a");
  Park(1, "");
  Park(2, "a");
  waiters_.WakeAnother("a");
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({0}));
  waiters_.WakeAnother("a");
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({2}));
  waiters_.WakeAnother("a");  // No call of a is left: one serving any tenant.
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({1}));
  EXPECT_EQ(waiters_.parked(), 0u);
}

TEST_F(LongPollTest, AFullAnswerOfACallServingAnyWakesOnlyACallServingAny) {
  Park(0, "a");
  waiters_.WakeAnother("");
  EXPECT_EQ(waiters_.parked(), 1u);
  Park(1, "");
  waiters_.WakeAnother("");
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({1}));
  EXPECT_EQ(waiters_.parked(), 1u);
}

TEST_F(LongPollTest, AWakeUpThatWokeNobodyMakesARunningBodyLookAgainInsteadOfParking) {
  Park(1, "a");
  const std::uint64_t seen = waiters_.generation();
  waiters_.Wake({"b"});  // Nobody can take b's work but the body running now.
  EXPECT_FALSE(waiters_.Park(&alarms_[0], &cq_, absl::Now() + absl::Hours(1), Tag(0), seen, "b"));
  EXPECT_EQ(waiters_.parked(), 1u);
  EXPECT_TRUE(waiters_.Park(&alarms_[0], &cq_, absl::Now() + absl::Hours(1), Tag(0),
                            waiters_.generation(), "b"));
  ++parked_count_;
}

TEST_F(LongPollTest, AWakeUpThatWokeAParkedCallLetsARunningBodyPark) {
  Park(1, "");
  const std::uint64_t seen = waiters_.generation();
  waiters_.Wake({"a"});  // 1 runs after the change: it takes the work.
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({1}));
  EXPECT_TRUE(waiters_.Park(&alarms_[0], &cq_, absl::Now() + absl::Hours(1), Tag(0), seen, ""));
  ++parked_count_;
  waiters_.WakeAnother("a");  // A full answer: 0 is woken, so again nobody need look twice.
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({0}));
  EXPECT_TRUE(waiters_.Park(&alarms_[1], &cq_, absl::Now() + absl::Hours(1), Tag(1), seen, ""));
  ++parked_count_;
  waiters_.WakeAnother("");
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({1}));
  waiters_.WakeAnother("");  // Nobody left: running bodies look again.
  EXPECT_FALSE(waiters_.Park(&alarms_[2], &cq_, absl::Now() + absl::Hours(1), Tag(2), seen, ""));
}

TEST_F(LongPollTest, UnparkAfterAFiredAlarmForgetsIt) {
  ASSERT_TRUE(waiters_.Park(&alarms_[0], &cq_, absl::Now(), Tag(0), waiters_.generation(), "a"));
  void* tag = nullptr;
  bool ok = false;
  ASSERT_EQ(cq_.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + std::chrono::seconds(30)),
            grpc::CompletionQueue::GOT_EVENT);
  EXPECT_TRUE(ok) << "fired at its time, not cancelled";
  waiters_.Unpark(&alarms_[0]);
  EXPECT_EQ(waiters_.parked(), 0u);
  Park(1, "a");
  waiters_.Wake({"a"});  // Wakes 1; the forgotten 0 is not cancelled twice.
  EXPECT_THAT(Collect(1), UnorderedElementsAreArray({1}));
}

TEST_F(LongPollTest, CloseWakesEveryCallAndRefusesMore) {
  Park(0, "");
  Park(1, "a");
  waiters_.Close();
  EXPECT_THAT(Collect(2), UnorderedElementsAreArray({0, 1}));
  EXPECT_TRUE(waiters_.closed());
  EXPECT_FALSE(waiters_.Park(&alarms_[2], &cq_, absl::Now() + absl::Hours(1), Tag(2),
                             waiters_.generation(), ""));
}

}  // namespace
}  // namespace messaging::transport
