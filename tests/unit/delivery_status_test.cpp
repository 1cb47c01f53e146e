#include "domain/delivery_status.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace messaging::domain {
namespace {

using S = DeliveryStatus;

constexpr std::array<S, 7> kAll = {S::kQueued, S::kSent,        S::kDelivered, S::kRead,
                                   S::kFailed, S::kUndelivered, S::kReceived};

// The rule, written out as a table: kAllowed[current][next].
//   queued < sent < delivered < read, forward only;
//   failed/undelivered are final and reachable from queued, sent, delivered (not read);
//   received never changes and cannot be entered; equal states are no transition.
constexpr bool kAllowed[7][7] = {
    //          Q      S      D      R      F      U      Rcv
    /* Q   */ {false, true, true, true, true, true, false},
    /* S   */ {false, false, true, true, true, true, false},
    /* D   */ {false, false, false, true, true, true, false},
    /* R   */ {false, false, false, false, false, false, false},
    /* F   */ {false, false, false, false, false, false, false},
    /* U   */ {false, false, false, false, false, false, false},
    /* Rcv */ {false, false, false, false, false, false, false},
};

TEST(CanTransitionTest, MatchesTheRuleForAllPairs) {
  for (std::size_t from = 0; from < kAll.size(); ++from) {
    for (std::size_t to = 0; to < kAll.size(); ++to) {
      EXPECT_EQ(CanTransition(kAll[from], kAll[to]), kAllowed[from][to])
          << ToDb(kAll[from]) << " -> " << ToDb(kAll[to]);
    }
  }
}

TEST(CanTransitionTest, EqualStatesAreNotATransition) {
  for (const S s : kAll) EXPECT_FALSE(CanTransition(s, s)) << ToDb(s);
}

TEST(CanTransitionTest, ReceivedCanBeNeitherLeftNorEntered) {
  for (const S s : kAll) {
    EXPECT_FALSE(CanTransition(S::kReceived, s)) << ToDb(s);
    EXPECT_FALSE(CanTransition(s, S::kReceived)) << ToDb(s);
  }
}

TEST(IsFinalTest, FailedUndeliveredAndReceivedAreFinal) {
  EXPECT_TRUE(IsFinal(S::kFailed));
  EXPECT_TRUE(IsFinal(S::kUndelivered));
  EXPECT_TRUE(IsFinal(S::kReceived));
  EXPECT_FALSE(IsFinal(S::kQueued));
  EXPECT_FALSE(IsFinal(S::kSent));
  EXPECT_FALSE(IsFinal(S::kDelivered));
}

TEST(IsFinalTest, FinalStatesHaveNoOutgoingTransition) {
  for (const S from : kAll) {
    if (!IsFinal(from)) continue;
    for (const S to : kAll) EXPECT_FALSE(CanTransition(from, to)) << ToDb(from) << "->" << ToDb(to);
  }
}

// Applies callbacks in arrival order the way the repository does: a status
// that cannot follow the current one is ignored.
S Apply(S current, const std::vector<S>& callbacks) {
  for (const S next : callbacks) {
    if (CanTransition(current, next)) current = next;
  }
  return current;
}

TEST(OutOfOrderCallbacksTest, ReadDeliveredSentOnAQueuedMessageEndsAtRead) {
  EXPECT_EQ(Apply(S::kQueued, {S::kRead, S::kDelivered, S::kSent}), S::kRead);
}

TEST(OutOfOrderCallbacksTest, EveryOrderOfSentDeliveredReadEndsAtRead) {
  std::vector<S> callbacks = {S::kSent, S::kDelivered, S::kRead};
  std::sort(callbacks.begin(), callbacks.end());
  int orders = 0;
  do {
    ++orders;
    EXPECT_EQ(Apply(S::kQueued, callbacks), S::kRead);
  } while (std::next_permutation(callbacks.begin(), callbacks.end()));
  EXPECT_EQ(orders, 6);
}

TEST(OutOfOrderCallbacksTest, LateFailureAfterReadIsIgnored) {
  EXPECT_EQ(Apply(S::kQueued, {S::kSent, S::kRead, S::kFailed, S::kUndelivered}), S::kRead);
}

TEST(OutOfOrderCallbacksTest, FailureIsFinalEvenIfLaterCallbacksArrive) {
  EXPECT_EQ(Apply(S::kQueued, {S::kSent, S::kFailed, S::kDelivered, S::kRead}), S::kFailed);
  EXPECT_EQ(Apply(S::kQueued, {S::kUndelivered, S::kSent, S::kFailed}), S::kUndelivered);
}

TEST(OutOfOrderCallbacksTest, InboundMessageNeverChanges) {
  EXPECT_EQ(Apply(S::kReceived, {S::kQueued, S::kSent, S::kDelivered, S::kRead, S::kFailed}),
            S::kReceived);
}

// What the repository's one-statement update takes as its condition.
TEST(StatesThatMayBecomeTest, ListsExactlyTheStatesCanTransitionAllows) {
  EXPECT_EQ(StatesThatMayBecome(S::kDelivered), (std::vector<S>{S::kQueued, S::kSent}));
  EXPECT_EQ(StatesThatMayBecome(S::kRead), (std::vector<S>{S::kQueued, S::kSent, S::kDelivered}));
  EXPECT_EQ(StatesThatMayBecome(S::kFailed), (std::vector<S>{S::kQueued, S::kSent, S::kDelivered}));
  EXPECT_EQ(StatesThatMayBecome(S::kQueued), std::vector<S>{});
  EXPECT_EQ(StatesThatMayBecome(S::kReceived), std::vector<S>{});
}

}  // namespace
}  // namespace messaging::domain
