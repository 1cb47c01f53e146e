// The AI work queue end to end: real gRPC, real PostgreSQL.

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auth/jwt.h"
#include "support/api_test.h"

namespace messaging::testing {
namespace {

using google::protobuf::util::TimeUtil;
using grpc::StatusCode;

std::string WorkerToken(const std::string& worker, const std::string& distributor = "") {
  auth::JwtOptions options;
  options.secret = kTestSecret;
  auto token = auth::MintWorkerToken(options, worker, distributor, absl::Hours(1), absl::Now());
  if (!token.ok()) throw std::runtime_error(std::string(token.status().message()));
  return *token;
}

class AiWorkTest : public ApiTest {
 protected:
  void SetUp() override {
    distributor_ = db().NewDistributor();
    conversation_ = CreateConversation(distributor_, db().NewCustomer());
    worker_ = WorkerToken("worker-" + distributor_.substr(0, 8), distributor_);
  }

  // Calls `method` with `token` (a worker's or a distributor's).
  template <typename Request, typename Response>
  static grpc::Status As(const std::string& token,
                         grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                      Response*),
                         const Request& request, Response* response) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return (server().stub().*method)(&context, request, response);
  }

  static v1::ClaimAiWorkResponse Claim(const std::string& token, int max_items = 1,
                                       absl::Duration lease = absl::Seconds(60)) {
    v1::ClaimAiWorkRequest request;
    request.set_max_items(max_items);
    *request.mutable_lease_duration() =
        TimeUtil::MillisecondsToDuration(absl::ToInt64Milliseconds(lease));
    v1::ClaimAiWorkResponse response;
    const auto status = As(token, &Stub::ClaimAiWork, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  static grpc::Status Complete(const std::string& token, const v1::AiWorkItem& item,
                               const std::string& intent, v1::Message* out) {
    v1::CompleteAiWorkRequest request;
    request.set_id(item.id());
    request.set_lease_token(item.lease_token());
    request.set_ai_intent(intent);
    request.set_ai_summary("summary of " + item.message().content());
    return As(token, &Stub::CompleteAiWork, request, out);
  }

  static grpc::Status Fail(const std::string& token, const v1::AiWorkItem& item, bool retryable,
                           absl::Duration delay, v1::AiWorkItem* out) {
    v1::FailAiWorkRequest request;
    request.set_id(item.id());
    request.set_lease_token(item.lease_token());
    request.set_error_message("model unavailable");
    request.set_retryable(retryable);
    *request.mutable_retry_delay() =
        TimeUtil::MillisecondsToDuration(absl::ToInt64Milliseconds(delay));
    return As(token, &Stub::FailAiWork, request, out);
  }

  long long Items(const std::string& where = "true") {
    return db().Scalar(absl::StrCat("SELECT count(*) FROM ai_work_items WHERE distributor_id = '",
                                    distributor_, "' AND ", where));
  }

  std::string distributor_;
  v1::Conversation conversation_;
  std::string worker_;
};

TEST_F(AiWorkTest, RoleMixUpsArePermissionDeniedBothWays) {
  v1::ClaimAiWorkResponse claimed;
  EXPECT_EQ(As(TokenFor(distributor_), &Stub::ClaimAiWork, v1::ClaimAiWorkRequest(), &claimed)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::CompleteAiWorkRequest complete;
  v1::Message message;
  EXPECT_EQ(As(TokenFor(distributor_), &Stub::CompleteAiWork, complete, &message).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::GetConversationRequest get;
  get.set_id(conversation_.id());
  v1::Conversation conversation;
  EXPECT_EQ(As(worker_, &Stub::GetConversation, get, &conversation).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::CreateMessageRequest create;
  EXPECT_EQ(As(worker_, &Stub::CreateMessage, create, &message).error_code(),
            StatusCode::PERMISSION_DENIED);
  // Both kinds may list.
  v1::ListAiWorkResponse list;
  EXPECT_TRUE(As(worker_, &Stub::ListAiWork, v1::ListAiWorkRequest(), &list).ok());
  EXPECT_TRUE(As(TokenFor(distributor_), &Stub::ListAiWork, v1::ListAiWorkRequest(), &list).ok());
}

TEST_F(AiWorkTest, BadArgumentsAreInvalidArgumentNamingTheField) {
  const std::vector<std::pair<std::function<void(v1::ClaimAiWorkRequest&)>, std::string>> cases = {
      {[](auto& r) { r.set_max_items(101); }, "max_items"},
      {[](auto& r) { r.set_max_items(-1); }, "max_items"},
      {[](auto& r) { *r.mutable_lease_duration() = TimeUtil::SecondsToDuration(16 * 60); },
       "lease_duration"},
      {[](auto& r) { *r.mutable_lease_duration() = TimeUtil::SecondsToDuration(0); },
       "lease_duration"},
      {[](auto& r) { *r.mutable_wait_duration() = TimeUtil::SecondsToDuration(31); },
       "wait_duration"},
  };
  for (const auto& [edit, field] : cases) {
    v1::ClaimAiWorkRequest request;
    edit(request);
    v1::ClaimAiWorkResponse response;
    const auto status = As(worker_, &Stub::ClaimAiWork, request, &response);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_NE(status.error_message().find(field), std::string::npos) << status.error_message();
  }
  v1::CompleteAiWorkRequest complete;
  complete.set_id("nope");
  v1::Message message;
  EXPECT_EQ(As(worker_, &Stub::CompleteAiWork, complete, &message).error_code(),
            StatusCode::INVALID_ARGUMENT);
  v1::ListAiWorkRequest list;
  list.set_page_token("forged");
  v1::ListAiWorkResponse listed;
  EXPECT_EQ(As(worker_, &Stub::ListAiWork, list, &listed).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(AiWorkTest, InboundMessagesAreEnqueuedOutboundAndBlankOnesAreNot) {
  const auto inbound = CreateMessage(distributor_, conversation_.id(), "where is my order?");
  CreateMessage(distributor_, conversation_.id(), "it ships today", v1::DIRECTION_OUTBOUND);
  CreateMessage(distributor_, conversation_.id(), "   ");
  EXPECT_EQ(Items(), 1);
  EXPECT_EQ(Items(absl::StrCat("message_id = '", inbound.id(), "' AND state = 'available'")), 1);

  // Completed, then set back to pending: enqueued again.
  auto claimed = Claim(worker_);
  ASSERT_EQ(claimed.items_size(), 1);
  v1::Message done;
  ASSERT_TRUE(Complete(worker_, claimed.items(0), "order_status", &done).ok());
  EXPECT_EQ(Items(), 0);
  v1::UpdateMessageRequest update;
  update.mutable_message()->set_id(inbound.id());
  update.mutable_message()->set_ai_processing_status(v1::AI_PROCESSING_STATUS_PENDING);
  update.mutable_update_mask()->add_paths("ai_processing_status");
  v1::Message updated;
  ASSERT_TRUE(Call(&Stub::UpdateMessage, distributor_, update, &updated).ok());
  EXPECT_EQ(Items("state = 'available' AND attempt = 0"), 1);

  // Deleting the message removes its item.
  v1::DeleteMessageRequest remove;
  remove.set_id(inbound.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(&Stub::DeleteMessage, distributor_, remove, &empty).ok());
  EXPECT_EQ(Items(), 0);
}

TEST_F(AiWorkTest, ClaimThenCompleteWritesTheResultsOnceAndRepeatsReturnTheSameMessage) {
  const auto first = CreateMessage(distributor_, conversation_.id(), "hello");
  const auto second = CreateMessage(distributor_, conversation_.id(), "where is order A-17?");
  auto claimed = Claim(worker_, 10);
  ASSERT_EQ(claimed.items_size(), 2);
  const auto& item =
      claimed.items(1).message().id() == second.id() ? claimed.items(1) : claimed.items(0);
  EXPECT_EQ(item.state(), v1::AI_WORK_STATE_LEASED);
  EXPECT_EQ(item.attempt(), 1);
  EXPECT_FALSE(item.lease_token().empty());
  EXPECT_EQ(item.conversation().id(), conversation_.id());
  ASSERT_EQ(item.context_messages_size(), 1);
  EXPECT_EQ(item.context_messages(0).id(), first.id());

  v1::CompleteAiWorkRequest request;
  request.set_id(item.id());
  request.set_lease_token(item.lease_token());
  request.set_ai_intent("order_status");
  request.set_ai_summary("asks for order A-17");
  request.set_ai_sentiment("neutral");
  request.set_conversation_ai_context_summary("customer waiting for A-17");
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(R"({"order":"A-17"})",
                                                          request.mutable_ai_extracted_data())
                  .ok());
  v1::Message done;
  ASSERT_TRUE(As(worker_, &Stub::CompleteAiWork, request, &done).ok());
  EXPECT_EQ(done.id(), second.id());
  EXPECT_EQ(done.ai_processing_status(), v1::AI_PROCESSING_STATUS_COMPLETED);
  EXPECT_EQ(done.ai_intent(), "order_status");
  EXPECT_EQ(done.ai_extracted_data().fields().at("order").string_value(), "A-17");
  EXPECT_TRUE(done.has_ai_processed_at());
  EXPECT_EQ(db().Scalar(absl::StrCat("SELECT count(*) FROM conversations WHERE id = '",
                                     conversation_.id(),
                                     "' AND ai_context_summary = 'customer waiting for A-17'")),
            1);
  EXPECT_EQ(db().Scalar(absl::StrCat("SELECT count(*) FROM message_events WHERE message_id = '",
                                     second.id(), "' AND event_type = 'updated'")),
            1);

  v1::Message again;
  ASSERT_TRUE(As(worker_, &Stub::CompleteAiWork, request, &again).ok());
  EXPECT_EQ(again.SerializeAsString(), done.SerializeAsString());
  EXPECT_EQ(db().Scalar(absl::StrCat("SELECT count(*) FROM message_events WHERE message_id = '",
                                     second.id(), "' AND event_type = 'updated'")),
            1)
      << "a repeat writes nothing";
}

TEST_F(AiWorkTest, StaleLeaseTokensAreFailedPreconditionAndWriteNothing) {
  const auto message = CreateMessage(distributor_, conversation_.id(), "hi");
  auto first = Claim(worker_, 1, absl::Milliseconds(300));
  ASSERT_EQ(first.items_size(), 1);
  absl::SleepFor(absl::Milliseconds(400));
  auto second = Claim(worker_, 1);
  ASSERT_EQ(second.items_size(), 1) << "an expired lease is claimable again";
  EXPECT_EQ(second.items(0).id(), first.items(0).id());
  EXPECT_EQ(second.items(0).attempt(), 2);

  const auto& stale = first.items(0);
  v1::Message done;
  EXPECT_EQ(Complete(worker_, stale, "x", &done).error_code(), StatusCode::FAILED_PRECONDITION);
  v1::AiWorkItem item;
  EXPECT_EQ(Fail(worker_, stale, true, absl::ZeroDuration(), &item).error_code(),
            StatusCode::FAILED_PRECONDITION);
  v1::ExtendAiWorkLeaseRequest extend;
  extend.set_id(stale.id());
  extend.set_lease_token(stale.lease_token());
  EXPECT_EQ(As(worker_, &Stub::ExtendAiWorkLease, extend, &item).error_code(),
            StatusCode::FAILED_PRECONDITION);
  // Nothing written: the item is still the second lease's, the message untouched.
  EXPECT_EQ(Items("state = 'leased' AND attempt = 2 AND last_error IS NULL"), 1);
  EXPECT_EQ(db().Scalar(absl::StrCat("SELECT count(*) FROM messages WHERE id = '", message.id(),
                                     "' AND ai_processing_status = 'pending' AND version = 1")),
            1);
  // The current lease still works.
  extend.set_lease_token(second.items(0).lease_token());
  ASSERT_TRUE(As(worker_, &Stub::ExtendAiWorkLease, extend, &item).ok());
  EXPECT_EQ(item.state(), v1::AI_WORK_STATE_LEASED);
  ASSERT_TRUE(Complete(worker_, second.items(0), "greeting", &done).ok());
}

TEST_F(AiWorkTest, FailRetriesAfterTheDelayThenDeadLettersAndRequeueResets) {
  const auto message = CreateMessage(distributor_, conversation_.id(), "hi");
  auto claimed = Claim(worker_);
  ASSERT_EQ(claimed.items_size(), 1);
  v1::AiWorkItem failed;
  ASSERT_TRUE(Fail(worker_, claimed.items(0), true, absl::Seconds(2), &failed).ok());
  EXPECT_EQ(failed.state(), v1::AI_WORK_STATE_AVAILABLE);
  EXPECT_EQ(failed.last_error(), "model unavailable");
  EXPECT_EQ(Claim(worker_).items_size(), 0) << "not before the retry delay";
  // Due now (as if the delay had passed).
  db().Exec(
      absl::StrCat("UPDATE ai_work_items SET available_at = now() WHERE id = '", failed.id(), "'"));
  claimed = Claim(worker_);
  ASSERT_EQ(claimed.items_size(), 1);
  EXPECT_EQ(claimed.items(0).attempt(), 2);

  // Not retryable: dead-lettered at once, the message FAILED.
  ASSERT_TRUE(Fail(worker_, claimed.items(0), false, absl::ZeroDuration(), &failed).ok());
  EXPECT_EQ(failed.state(), v1::AI_WORK_STATE_DEAD_LETTERED);
  EXPECT_EQ(failed.message().ai_processing_status(), v1::AI_PROCESSING_STATUS_FAILED);
  EXPECT_EQ(Claim(worker_).items_size(), 0);
  v1::ListAiWorkRequest list;
  list.set_state(v1::AI_WORK_STATE_DEAD_LETTERED);
  v1::ListAiWorkResponse listed;
  ASSERT_TRUE(As(TokenFor(distributor_), &Stub::ListAiWork, list, &listed).ok());
  ASSERT_EQ(listed.items_size(), 1);
  EXPECT_TRUE(listed.items(0).lease_token().empty());

  v1::RequeueAiWorkRequest requeue;
  requeue.set_id(failed.id());
  v1::AiWorkItem requeued;
  ASSERT_TRUE(As(worker_, &Stub::RequeueAiWork, requeue, &requeued).ok());
  EXPECT_EQ(requeued.state(), v1::AI_WORK_STATE_AVAILABLE);
  EXPECT_EQ(requeued.attempt(), 0);
  EXPECT_EQ(requeued.message().ai_processing_status(), v1::AI_PROCESSING_STATUS_PENDING);
  claimed = Claim(worker_);
  ASSERT_EQ(claimed.items_size(), 1);
  EXPECT_EQ(claimed.items(0).attempt(), 1);
}

TEST_F(AiWorkTest, ExhaustedAttemptsAreDeadLetteredByTheClaim) {
  const auto message = CreateMessage(distributor_, conversation_.id(), "hi");
  db().Exec(
      absl::StrCat("UPDATE ai_work_items SET attempt = 4 WHERE message_id = '", message.id(), "'"));
  auto claimed = Claim(worker_, 1, absl::Milliseconds(200));
  ASSERT_EQ(claimed.items_size(), 1);
  EXPECT_EQ(claimed.items(0).attempt(), 5);
  absl::SleepFor(absl::Milliseconds(300));  // The lease lapses: the worker crashed.
  EXPECT_EQ(Claim(worker_).items_size(), 0);
  EXPECT_EQ(Items("state = 'dead_lettered'"), 1);
  EXPECT_EQ(db().Scalar(absl::StrCat("SELECT count(*) FROM messages WHERE id = '", message.id(),
                                     "' AND ai_processing_status = 'failed'")),
            1);
}

TEST_F(AiWorkTest, WorkersAndDistributorsSeeOnlyTheirDistributorsItems) {
  const std::string other = db().NewDistributor();
  const auto other_conversation = CreateConversation(other, db().NewCustomer());
  CreateMessage(other, other_conversation.id(), "other tenant's message");
  CreateMessage(distributor_, conversation_.id(), "mine");

  auto claimed = Claim(worker_, 100);
  ASSERT_EQ(claimed.items_size(), 1);
  EXPECT_EQ(claimed.items(0).distributor_id(), distributor_);
  v1::ListAiWorkResponse listed;
  ASSERT_TRUE(As(worker_, &Stub::ListAiWork, v1::ListAiWorkRequest(), &listed).ok());
  ASSERT_EQ(listed.items_size(), 1);
  EXPECT_EQ(listed.items(0).distributor_id(), distributor_);
  ASSERT_TRUE(As(TokenFor(other), &Stub::ListAiWork, v1::ListAiWorkRequest(), &listed).ok());
  ASSERT_EQ(listed.items_size(), 1);
  EXPECT_EQ(listed.items(0).distributor_id(), other);

  // The other distributor (and a worker restricted to it) cannot requeue or
  // complete this distributor's item.
  v1::RequeueAiWorkRequest requeue;
  requeue.set_id(claimed.items(0).id());
  v1::AiWorkItem item;
  EXPECT_EQ(As(TokenFor(other), &Stub::RequeueAiWork, requeue, &item).error_code(),
            StatusCode::NOT_FOUND);
  const std::string other_worker = WorkerToken("other-worker", other);
  EXPECT_EQ(As(other_worker, &Stub::RequeueAiWork, requeue, &item).error_code(),
            StatusCode::NOT_FOUND);
  v1::Message done;
  EXPECT_EQ(Complete(other_worker, claimed.items(0), "x", &done).error_code(),
            StatusCode::NOT_FOUND);
  EXPECT_TRUE(Complete(worker_, claimed.items(0), "x", &done).ok());
}

// A database of its own: these claims are by unrestricted workers.
class AiWorkFairnessTest : public AiWorkTest {};

TEST_F(AiWorkFairnessTest, ASmallBacklogIsServedWithinTheFirstRoundsBesideAHugeOne) {
  const std::string big = distributor_;
  const std::string small = db().NewDistributor();
  const auto small_conversation = CreateConversation(small, db().NewCustomer());
  // 10,000 waiting items for `big`, inserted fast as the owner under its tenant.
  db().Exec(absl::StrCat(
      "BEGIN; SELECT set_config('app.distributor_id', '", big,
      "', true); INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status) SELECT '",
      conversation_.id(), "', '", big,
      "', 'inbound', 'backlog ' || g, 'received' FROM generate_series(1, 10000) g; COMMIT"));
  for (int i = 0; i < 10; ++i)
    CreateMessage(small, small_conversation.id(), "small " + std::to_string(i));
  ASSERT_EQ(db().Scalar("SELECT count(*) FROM ai_work_items"), 10010);

  const std::string anyone = WorkerToken("fair-worker");
  int small_claimed = 0;
  for (int round = 0; round < 3; ++round) {
    const auto claimed = Claim(anyone, 10);
    for (const auto& item : claimed.items()) {
      if (item.distributor_id() == small) ++small_claimed;
    }
  }
  EXPECT_EQ(small_claimed, 10) << "B's 10 items within 3 rounds of 10";
}

// A database and server of their own: 16 workers drain it. Attempts are
// not the subject here, so a lease that lapses on a slow machine never
// dead-letters an item.
class AiWorkExactlyOnceTest : public AiWorkTest {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase("ai_work_exactly_once");
    server_ = new TestServer(db_->server_url(),
                             [](app::ServerConfig& config) { config.ai_work.max_attempts = 1000; });
  }
};

// Every item is completed exactly once although workers crash mid-item
// (they drop the lease and never complete). The item count is
// MESSAGING_AI_QUEUE_TEST_ITEMS (default 20,000; sanitizer builds may lower it).
TEST_F(AiWorkExactlyOnceTest, SixteenWorkersWithCrashesCompleteEveryItemExactlyOnce) {
  const char* configured = std::getenv("MESSAGING_AI_QUEUE_TEST_ITEMS");
  const int total = configured != nullptr ? std::atoi(configured) : 20000;
  db().Exec(absl::StrCat(
      "BEGIN; SELECT set_config('app.distributor_id', '", distributor_,
      "', true); INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status) SELECT '",
      conversation_.id(), "', '", distributor_,
      "', 'inbound', 'item ' || g, 'received' FROM generate_series(1, ", total, ") g; COMMIT"));
  ASSERT_EQ(Items(), total);

  const absl::Time start = absl::Now();
  std::mutex mu;
  std::map<std::string, int> completions;                // message id -> successful completions
  std::set<std::pair<std::string, std::string>> tokens;  // (item, lease token) completed
  std::atomic<int> crashes{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 16; ++w) {
    workers.emplace_back([&, w] {
      const std::string token = WorkerToken(absl::StrCat("w", w), distributor_);
      int idle = 0;
      // Empty claims for longer than a lease: crashed workers' leases have
      // lapsed and been reclaimed, so the queue is really empty.
      for (int n = 0; idle < 8; ++n) {
        const auto claimed = Claim(token, 20, absl::Seconds(5));
        if (claimed.items().empty()) {
          ++idle;
          absl::SleepFor(absl::Seconds(1));
          continue;
        }
        idle = 0;
        for (int i = 0; i < claimed.items_size(); ++i) {
          const auto& item = claimed.items(i);
          if ((n * 31 + i * 7 + w) % 97 == 0) {  // A crash: the lease is dropped.
            ++crashes;
            continue;
          }
          v1::Message done;
          if (Complete(token, item, "x", &done).ok()) {
            std::lock_guard<std::mutex> lock(mu);
            ++completions[done.id()];
            EXPECT_TRUE(tokens.emplace(item.id(), item.lease_token()).second);
          }
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  const absl::Duration took = absl::Now() - start;
  std::printf("[ ai-queue ] %d items, 16 workers, %d crashes: %.1f s (%.0f items/s)\n", total,
              crashes.load(), absl::ToDoubleSeconds(took), total / absl::ToDoubleSeconds(took));
  EXPECT_GT(crashes.load(), 0);
  EXPECT_EQ(static_cast<int>(completions.size()), total) << "none lost";
  for (const auto& [id, count] : completions) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(Items(), 0) << "none left (leased or otherwise)";
  EXPECT_EQ(db().Scalar(absl::StrCat("SELECT count(*) FROM messages WHERE distributor_id = '",
                                     distributor_, "' AND ai_processing_status <> 'completed'")),
            0);
}

}  // namespace
}  // namespace messaging::testing
