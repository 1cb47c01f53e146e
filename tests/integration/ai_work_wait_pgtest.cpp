// ClaimAiWork's wait_duration: a claim with nothing to take waits on the
// server (no thread, no polling) and returns as soon as work arrives, when a
// backed-off item becomes claimable again, or empty when its wait is over.

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auth/jwt.h"
#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing {
namespace {

using google::protobuf::util::TimeUtil;
using Stub = v1::MessagingService::Stub;

class AiWorkWaitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>("ai_work_wait");
    server_ = std::make_unique<TestServer>(
        db_->server_url(), [](app::ServerConfig& c) { c.metrics_listen = "127.0.0.1:0"; });
    distributor_ = db_->NewDistributor();
    auth::JwtOptions options;
    options.secret = kTestSecret;
    worker_ = *auth::MintWorkerToken(options, "waiter", "", absl::Hours(1), absl::Now());
    v1::CreateConversationRequest create;
    create.mutable_conversation()->set_customer_id(db_->NewCustomer());
    create.mutable_conversation()->set_channel(v1::CHANNEL_WHATSAPP);
    v1::Conversation conversation;
    auto context = server_->Context(distributor_);
    ASSERT_TRUE(server_->stub().CreateConversation(context.get(), create, &conversation).ok());
    conversation_ = conversation.id();
  }

  v1::Message CreateInbound(const std::string& content) {
    v1::CreateMessageRequest request;
    request.mutable_message()->set_conversation_id(conversation_);
    request.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
    request.mutable_message()->set_content(content);
    v1::Message message;
    auto context = server_->Context(distributor_);
    EXPECT_TRUE(server_->stub().CreateMessage(context.get(), request, &message).ok());
    return message;
  }

  // A claim of one item that may wait up to `wait`; sets `elapsed`.
  v1::ClaimAiWorkResponse Claim(absl::Duration wait, absl::Duration* elapsed = nullptr) {
    v1::ClaimAiWorkRequest request;
    request.set_max_items(1);
    *request.mutable_wait_duration() =
        TimeUtil::MillisecondsToDuration(absl::ToInt64Milliseconds(wait));
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + worker_);
    context.set_deadline(absl::ToChronoTime(absl::Now() + wait + absl::Seconds(30)));
    v1::ClaimAiWorkResponse response;
    const absl::Time start = absl::Now();
    const grpc::Status status = server_->stub().ClaimAiWork(&context, request, &response);
    if (elapsed != nullptr) *elapsed = absl::Now() - start;
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Claims waiting on the server, from its /metrics.
  int Waiting() {
    httplib::Client http("127.0.0.1", server_->server().metrics_port());
    const auto response = http.Get("/metrics");
    if (!response || response->status != 200) return -1;
    const std::string name = "\nmessaging_ai_claims_waiting ";
    const auto at = response->body.find(name);
    return at == std::string::npos ? -1 : std::atoi(response->body.c_str() + at + name.size());
  }

  bool WaitUntilWaiting(int n) {
    const absl::Time until = absl::Now() + absl::Seconds(20);
    while (absl::Now() < until) {
      if (Waiting() == n) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<TestServer> server_;
  std::string distributor_, conversation_, worker_;
};

TEST_F(AiWorkWaitTest, AWaitingClaimReturnsTheMessageCreatedWhileItWaits) {
  auto claim = std::async(std::launch::async, [&] {
    absl::Duration elapsed;
    auto response = Claim(absl::Seconds(20), &elapsed);
    return std::make_pair(response, elapsed);
  });
  // Parked on the server, with nothing to take: only a wake-up can end it early.
  ASSERT_TRUE(WaitUntilWaiting(1));
  const absl::Time created_at = absl::Now();
  const v1::Message message = CreateInbound("is my order on its way?");
  const auto [response, elapsed] = claim.get();
  ASSERT_EQ(response.items_size(), 1);
  EXPECT_EQ(response.items(0).message().id(), message.id());
  // Woken by the replica's wake-up, not by the end of its 20 s wait.
  EXPECT_LT(absl::Now() - created_at, absl::Seconds(10));
  EXPECT_LT(elapsed, absl::Seconds(15));
  EXPECT_EQ(Waiting(), 0);
}

// A wake-up wakes one waiting claim, and a claim that took all it asked for
// wakes the next: a burst must still reach as many claims as it has items.
TEST_F(AiWorkWaitTest, ABurstOfWorkIsTakenByAsManyWaitingClaimsAsItNeeds) {
  constexpr int kClaims = 4;
  constexpr int kMessages = 3;
  std::vector<std::future<v1::ClaimAiWorkResponse>> claims;
  for (int i = 0; i < kClaims; ++i) {
    claims.push_back(std::async(std::launch::async, [&] { return Claim(absl::Seconds(20)); }));
    ASSERT_TRUE(WaitUntilWaiting(i + 1));
  }
  // In one transaction from another client: one change of the log head, so
  // the replica's wake-up wakes one claim and the rest must be passed on.
  const absl::Time created_at = absl::Now();
  db_->Exec(absl::StrCat(
      "BEGIN; SELECT set_config('app.distributor_id', '", distributor_,
      "', true); INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status) SELECT '",
      conversation_, "', '", distributor_, "', 'inbound', 'burst ' || g, 'received' ",
      "FROM generate_series(1, ", kMessages, ") g; COMMIT"));
  std::set<std::string> created;
  for (const auto& row : db_->Exec("SELECT id FROM messages WHERE content LIKE 'burst %'")) {
    created.insert(row[0].as<std::string>());
  }
  ASSERT_EQ(created.size(), static_cast<std::size_t>(kMessages));
  // Each item reaches its own claim, long before any claim's wait is over.
  std::set<std::string> claimed;
  std::vector<bool> answered(kClaims, false);
  const absl::Time until = created_at + absl::Seconds(10);
  while (claimed.size() < static_cast<std::size_t>(kMessages) && absl::Now() < until) {
    for (int i = 0; i < kClaims; ++i) {
      if (answered[i] ||
          claims[i].wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) {
        continue;
      }
      answered[i] = true;
      const auto response = claims[i].get();
      ASSERT_EQ(response.items_size(), 1);
      claimed.insert(response.items(0).message().id());
    }
  }
  EXPECT_EQ(claimed, created);
  // The claim left over found nothing and waits again.
  EXPECT_TRUE(WaitUntilWaiting(kClaims - kMessages));
  // The last claim takes the next message.
  const std::string next = CreateInbound("after the burst").id();
  for (auto& claim : claims) {
    if (!claim.valid()) continue;
    const auto response = claim.get();
    ASSERT_EQ(response.items_size(), 1);
    EXPECT_EQ(response.items(0).message().id(), next);
  }
}

TEST_F(AiWorkWaitTest, WithNoWorkTheClaimAnswersEmptyWhenItsWaitIsOver) {
  absl::Duration elapsed;
  EXPECT_EQ(Claim(absl::ZeroDuration(), &elapsed).items_size(), 0);
  EXPECT_EQ(Claim(absl::Seconds(1), &elapsed).items_size(), 0);
  EXPECT_GE(elapsed, absl::Milliseconds(900));  // It did wait.
  EXPECT_EQ(Waiting(), 0);
}

TEST_F(AiWorkWaitTest, AWaitingClaimTakesAnItemWhenItsBackoffEnds) {
  CreateInbound("first try fails");
  auto first = Claim(absl::ZeroDuration());
  ASSERT_EQ(first.items_size(), 1);
  v1::FailAiWorkRequest fail;
  fail.set_id(first.items(0).id());
  fail.set_lease_token(first.items(0).lease_token());
  fail.set_retryable(true);
  *fail.mutable_retry_delay() = TimeUtil::MillisecondsToDuration(2000);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + worker_);
  v1::AiWorkItem failed;
  ASSERT_TRUE(server_->stub().FailAiWork(&context, fail, &failed).ok());
  // No new event will come: only the item's own retry time can end the wait early.
  absl::Duration elapsed;
  const auto again = Claim(absl::Seconds(20), &elapsed);
  ASSERT_EQ(again.items_size(), 1);
  EXPECT_EQ(again.items(0).id(), first.items(0).id());
  EXPECT_EQ(again.items(0).attempt(), 2);
  EXPECT_LT(elapsed, absl::Seconds(15));
}

// What a claim that found nothing sets its timer to: the next item to become
// claimable later (an expiring lease here), never an item claimable now that
// it could not take (locked by another claim, or over its distributor's
// cap). A timer already due would run the claim again at once, and again,
// until that other claim ended.
TEST_F(AiWorkWaitTest, TheRetryTimeIsTheNextItemToBecomeClaimableNotOneClaimableNow) {
  EXPECT_EQ(db_->Scalar("SELECT (ai_work_next_available(NULL) IS NULL)::int"), 1);
  CreateInbound("claimable now");
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM ai_work_items WHERE available_at <= now()"), 1);
  EXPECT_EQ(db_->Scalar("SELECT (ai_work_next_available(NULL) IS NULL)::int"), 1);
  ASSERT_EQ(Claim(absl::ZeroDuration()).items_size(), 1);  // Leased for 60 s.
  EXPECT_EQ(db_->Scalar("SELECT (ai_work_next_available(NULL) > now() + interval '50 s')::int"), 1);
  EXPECT_EQ(db_->Scalar(absl::StrCat("SELECT (ai_work_next_available('", distributor_,
                                     "') > now() + interval '50 s')::int")),
            1);
}

// An item over its distributor's cap waits for room, and the completion that
// makes room wakes a waiting claim (no timer: the lease left is 60 s long).
TEST_F(AiWorkWaitTest, ACompletionThatMakesRoomUnderTheCapWakesAWaitingClaim) {
  server_.reset();
  server_ = std::make_unique<TestServer>(db_->server_url(), [](app::ServerConfig& c) {
    c.metrics_listen = "127.0.0.1:0";
    c.ai_work.leased_cap = 1;
  });
  const std::string first = CreateInbound("first").id();
  const std::string second = CreateInbound("second, over the cap").id();
  const auto leased = Claim(absl::ZeroDuration());
  ASSERT_EQ(leased.items_size(), 1);
  ASSERT_EQ(leased.items(0).message().id(), first);
  EXPECT_EQ(Claim(absl::ZeroDuration()).items_size(), 0);  // At the cap.
  absl::Duration elapsed;
  auto waiting = std::async(std::launch::async, [&] { return Claim(absl::Seconds(20), &elapsed); });
  ASSERT_TRUE(WaitUntilWaiting(1));
  v1::CompleteAiWorkRequest complete;
  complete.set_id(leased.items(0).id());
  complete.set_lease_token(leased.items(0).lease_token());
  complete.set_ai_summary("done");
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + worker_);
  v1::Message done;
  ASSERT_TRUE(server_->stub().CompleteAiWork(&context, complete, &done).ok());
  const auto response = waiting.get();
  ASSERT_EQ(response.items_size(), 1);
  EXPECT_EQ(response.items(0).message().id(), second);
  EXPECT_LT(elapsed, absl::Seconds(15));
}

TEST_F(AiWorkWaitTest, WaitingClaimsAnswerWhenTheServerStops) {
  auto claim = std::async(std::launch::async, [&] {
    absl::Duration elapsed;
    Claim(absl::Seconds(25), &elapsed);
    return elapsed;
  });
  ASSERT_TRUE(WaitUntilWaiting(1));
  server_->server().Shutdown(absl::Seconds(5));
  EXPECT_LT(claim.get(), absl::Seconds(20));  // Not held for its whole wait.
}

}  // namespace
}  // namespace messaging::testing
