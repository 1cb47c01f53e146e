// AiWorker's protocol around the handler, over a MockMessagingConnection: what
// it completes, fails (and whether retryable), extends, and what it drops.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "messaging/client/ai_worker.h"
#include "messaging/client/mocks/mock_messaging_connection.h"

namespace messaging::client {
namespace {

using ::testing::AllOf;
using ::testing::Invoke;
using ::testing::Property;
using ::testing::Return;

v1::ClaimAiWorkResponse OneItem() {
  v1::ClaimAiWorkResponse response;
  auto* item = response.add_items();
  item->set_id("item-1");
  item->set_lease_token("token-1");
  item->set_attempt(1);
  item->mutable_message()->set_content("where is my order?");
  return response;
}

AiWorkerOptions FastOptions() {
  AiWorkerOptions options;
  options.lease_duration = absl::Milliseconds(300);  // Extended every 100 ms.
  options.wait_duration = absl::ZeroDuration();
  options.error_pause = absl::Milliseconds(10);
  return options;
}

TEST(AiWorkerTest, CompletesTheItemWithTheHandlersResult) {
  auto mock = std::make_shared<MockMessagingConnection>();
  EXPECT_CALL(*mock, ClaimAiWork(AllOf(Property(&v1::ClaimAiWorkRequest::max_items, 1))))
      .WillOnce(Return(OneItem()));
  EXPECT_CALL(*mock,
              CompleteAiWork(AllOf(
                  Property(&v1::CompleteAiWorkRequest::id, "item-1"),
                  Property(&v1::CompleteAiWorkRequest::lease_token, "token-1"),
                  Property(&v1::CompleteAiWorkRequest::ai_intent, "order_status"),
                  Property(&v1::CompleteAiWorkRequest::ai_summary, "asks for an order"),
                  Property(&v1::CompleteAiWorkRequest::has_conversation_ai_context_summary, true))))
      .WillOnce(Return(v1::Message()));
  EXPECT_CALL(*mock, FailAiWork).Times(0);
  AiWorker worker(MessagingClient(mock), [](const v1::AiWorkItem& item) {
    EXPECT_EQ(item.message().content(), "where is my order?");
    AiWorkResult result;
    result.ai_intent = "order_status";
    result.ai_summary = "asks for an order";
    result.conversation_ai_context_summary = "customer waiting for an order";
    return absl::StatusOr<AiWorkResult>(result);
  });
  EXPECT_EQ(worker.RunOnce().value_or(-1), 1);
  EXPECT_EQ(worker.stats().completed, 1);
}

TEST(AiWorkerTest, FailsTheItemRetryableUnlessTheInputIsAtFault) {
  const struct {
    absl::Status status;
    bool retryable;
  } cases[] = {
      {absl::UnavailableError("model overloaded"), true},
      {absl::DeadlineExceededError("model timed out"), true},
      {absl::InvalidArgumentError("not a language we read"), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.status.ToString());
    auto mock = std::make_shared<MockMessagingConnection>();
    EXPECT_CALL(*mock, ClaimAiWork).WillOnce(Return(OneItem()));
    EXPECT_CALL(*mock, CompleteAiWork).Times(0);
    EXPECT_CALL(*mock, FailAiWork(AllOf(Property(&v1::FailAiWorkRequest::id, "item-1"),
                                        Property(&v1::FailAiWorkRequest::lease_token, "token-1"),
                                        Property(&v1::FailAiWorkRequest::retryable, c.retryable),
                                        Property(&v1::FailAiWorkRequest::error_message,
                                                 std::string(c.status.message())))))
        .WillOnce(Return(v1::AiWorkItem()));
    AiWorker worker(MessagingClient(mock),
                    [&](const v1::AiWorkItem&) { return absl::StatusOr<AiWorkResult>(c.status); });
    EXPECT_EQ(worker.RunOnce().value_or(-1), 1);
    EXPECT_EQ(worker.stats().failed, 1);
  }
}

TEST(AiWorkerTest, AHandlerThatThrowsFailsTheItemRetryable) {
  auto mock = std::make_shared<MockMessagingConnection>();
  EXPECT_CALL(*mock, ClaimAiWork).WillOnce(Return(OneItem()));
  EXPECT_CALL(*mock, FailAiWork(AllOf(
                         Property(&v1::FailAiWorkRequest::retryable, true),
                         Property(&v1::FailAiWorkRequest::error_message, "handler threw: boom"))))
      .WillOnce(Return(v1::AiWorkItem()));
  AiWorker worker(MessagingClient(mock), [](const v1::AiWorkItem&) -> absl::StatusOr<AiWorkResult> {
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(worker.RunOnce().value_or(-1), 1);
}

TEST(AiWorkerTest, ExtendsTheLeaseWhileTheHandlerRuns) {
  auto mock = std::make_shared<MockMessagingConnection>();
  std::promise<void> extended_twice;
  int extensions = 0;
  EXPECT_CALL(*mock, ClaimAiWork).WillOnce(Return(OneItem()));
  EXPECT_CALL(*mock, ExtendAiWorkLease(
                         AllOf(Property(&v1::ExtendAiWorkLeaseRequest::id, "item-1"),
                               Property(&v1::ExtendAiWorkLeaseRequest::lease_token, "token-1"))))
      .WillRepeatedly(Invoke([&](const v1::ExtendAiWorkLeaseRequest& request) {
        EXPECT_EQ(request.lease_duration().nanos(), 300'000'000);
        if (++extensions == 2) extended_twice.set_value();
        return absl::StatusOr<v1::AiWorkItem>(v1::AiWorkItem());
      }));
  EXPECT_CALL(*mock, CompleteAiWork).WillOnce(Return(v1::Message()));
  auto done = extended_twice.get_future();
  AiWorker slow(
      MessagingClient(mock),
      [&](const v1::AiWorkItem&) {
        // A handler longer than the lease: it returns only once the
        // lease was extended twice.
        EXPECT_EQ(done.wait_for(std::chrono::seconds(30)), std::future_status::ready);
        return absl::StatusOr<AiWorkResult>(AiWorkResult());
      },
      FastOptions());
  EXPECT_EQ(slow.RunOnce().value_or(-1), 1);
  EXPECT_EQ(slow.stats().completed, 1);
}

TEST(AiWorkerTest, AResultIsDroppedWhenTheLeaseWasLost) {
  auto mock = std::make_shared<MockMessagingConnection>();
  std::promise<void> refused;
  EXPECT_CALL(*mock, ClaimAiWork).WillOnce(Return(OneItem()));
  EXPECT_CALL(*mock, ExtendAiWorkLease).WillOnce(Invoke([&](const v1::ExtendAiWorkLeaseRequest&) {
    refused.set_value();
    return absl::StatusOr<v1::AiWorkItem>(absl::FailedPreconditionError("not the current lease"));
  }));
  EXPECT_CALL(*mock, CompleteAiWork).Times(0);
  EXPECT_CALL(*mock, FailAiWork).Times(0);
  auto lost = refused.get_future();
  AiWorker worker(
      MessagingClient(mock),
      [&](const v1::AiWorkItem&) {
        EXPECT_EQ(lost.wait_for(std::chrono::seconds(30)), std::future_status::ready);
        return absl::StatusOr<AiWorkResult>(AiWorkResult());
      },
      FastOptions());
  EXPECT_EQ(worker.RunOnce().value_or(-1), 1);
  EXPECT_EQ(worker.stats().leases_lost, 1);
  EXPECT_EQ(worker.stats().completed, 0);
}

TEST(AiWorkerTest, RunGoesOnAfterTransientClaimErrorsAndStopsOnStop) {
  auto mock = std::make_shared<MockMessagingConnection>();
  AiWorker* running = nullptr;
  EXPECT_CALL(*mock, ClaimAiWork)
      .WillOnce(Return(absl::UnavailableError("server restarting")))
      .WillOnce(Invoke([&](const v1::ClaimAiWorkRequest&) {
        running->Stop();
        return absl::StatusOr<v1::ClaimAiWorkResponse>(v1::ClaimAiWorkResponse());
      }));
  AiWorker worker(
      MessagingClient(mock),
      [](const v1::AiWorkItem&) { return absl::StatusOr<AiWorkResult>(AiWorkResult()); },
      FastOptions());
  running = &worker;
  EXPECT_TRUE(worker.Run().ok());
  EXPECT_EQ(worker.stats().claim_errors, 1);
}

TEST(AiWorkerTest, RunReturnsWhenTheTokenIsNotAWorkers) {
  auto mock = std::make_shared<MockMessagingConnection>();
  EXPECT_CALL(*mock, ClaimAiWork)
      .WillOnce(Return(absl::PermissionDeniedError("a distributor token cannot claim work")));
  AiWorker worker(
      MessagingClient(mock),
      [](const v1::AiWorkItem&) { return absl::StatusOr<AiWorkResult>(AiWorkResult()); },
      FastOptions());
  EXPECT_EQ(worker.Run().code(), absl::StatusCode::kPermissionDenied);
}

TEST(AiWorkerTest, RetryableErrorsByCode) {
  EXPECT_TRUE(IsRetryableAiWorkError(absl::UnavailableError("")));
  EXPECT_TRUE(IsRetryableAiWorkError(absl::ResourceExhaustedError("")));
  EXPECT_TRUE(IsRetryableAiWorkError(absl::InternalError("")));
  EXPECT_FALSE(IsRetryableAiWorkError(absl::InvalidArgumentError("")));
  EXPECT_FALSE(IsRetryableAiWorkError(absl::FailedPreconditionError("")));
  EXPECT_FALSE(IsRetryableAiWorkError(absl::NotFoundError("")));
}

}  // namespace
}  // namespace messaging::client
