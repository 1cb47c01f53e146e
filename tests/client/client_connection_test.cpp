// MessagingConnectionImpl over a fake stub: which calls are retried, how often,
// with what token and deadline. No network.

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/time/clock.h"
#include "messaging/client/internal/messaging_connection_impl.h"
#include "messaging/client/internal/messaging_stub.h"

namespace messaging::client {
namespace {

using internal::MessagingConnectionImpl;

// Fails each call with the next scripted status (OK once the script is used
// up) and records every attempt.
class FakeStub : public internal::MessagingStub {
 public:
  std::deque<absl::StatusCode> script;
  std::map<std::string, int> attempts;
  std::vector<std::chrono::system_clock::time_point> deadlines;

#define FAKE_STUB_RPC(Name, Request, Response, Retry)                                 \
  UnaryResult<Response> Name(grpc::ClientContext& context, const Request&) override { \
    return Answer<Response>(#Name, context);                                          \
  }
  MESSAGING_CLIENT_UNARY_RPCS(FAKE_STUB_RPC)
#undef FAKE_STUB_RPC

  std::unique_ptr<grpc::ClientReaderInterface<v1::MessageEvent>> StreamMessages(
      grpc::ClientContext&, const v1::StreamMessagesRequest&) override {
    ADD_FAILURE() << "not used here";
    return nullptr;
  }

 private:
  template <typename Response>
  UnaryResult<Response> Answer(const std::string& method, grpc::ClientContext& context) {
    ++attempts[method];
    deadlines.push_back(context.deadline());
    absl::StatusCode code = absl::StatusCode::kOk;
    if (!script.empty()) {
      code = script.front();
      script.pop_front();
    }
    if (code != absl::StatusCode::kOk) return absl::Status(code, "scripted");
    if constexpr (std::is_same_v<UnaryResult<Response>, absl::Status>) {
      return absl::OkStatus();
    } else {
      return Response();
    }
  }
};

ClientOptions FastRetries(int max_attempts = 5) {
  ClientOptions options;
  options.retry.max_attempts = max_attempts;
  options.retry.initial_backoff = absl::Milliseconds(1);
  options.retry.max_backoff = absl::Milliseconds(2);
  return options;
}

struct Call {
  std::string method;
  std::function<absl::Status(MessagingConnection&)> invoke;
};

v1::CreateMessageRequest CreateMessageRequest(const std::string& external_id) {
  v1::CreateMessageRequest request;
  request.mutable_message()->set_external_message_id(external_id);
  return request;
}

const std::vector<Call>& IdempotentCalls() {
  static const auto* calls = new std::vector<Call>{
      {"GetOrCreateConversation",
       [](MessagingConnection& c) { return c.GetOrCreateConversation({}).status(); }},
      {"GetConversation", [](MessagingConnection& c) { return c.GetConversation({}).status(); }},
      {"ListConversations",
       [](MessagingConnection& c) { return c.ListConversations({}).status(); }},
      {"DeleteConversation", [](MessagingConnection& c) { return c.DeleteConversation({}); }},
      {"MarkConversationRead",
       [](MessagingConnection& c) { return c.MarkConversationRead({}).status(); }},
      {"CreateMessage",
       [](MessagingConnection& c) {
         return c.CreateMessage(CreateMessageRequest("SM1")).status();
       }},
      {"GetMessage", [](MessagingConnection& c) { return c.GetMessage({}).status(); }},
      {"ListMessages", [](MessagingConnection& c) { return c.ListMessages({}).status(); }},
      {"UpdateDeliveryStatus",
       [](MessagingConnection& c) { return c.UpdateDeliveryStatus({}).status(); }},
      {"DeleteMessage", [](MessagingConnection& c) { return c.DeleteMessage({}); }},
      {"ClaimAiWork", [](MessagingConnection& c) { return c.ClaimAiWork({}).status(); }},
      {"ExtendAiWorkLease",
       [](MessagingConnection& c) { return c.ExtendAiWorkLease({}).status(); }},
      {"CompleteAiWork", [](MessagingConnection& c) { return c.CompleteAiWork({}).status(); }},
      {"ListAiWork", [](MessagingConnection& c) { return c.ListAiWork({}).status(); }},
      {"RequeueAiWork", [](MessagingConnection& c) { return c.RequeueAiWork({}).status(); }},
  };
  return *calls;
}

const std::vector<Call>& NonIdempotentCalls() {
  static const auto* calls = new std::vector<Call>{
      {"CreateConversation",
       [](MessagingConnection& c) { return c.CreateConversation({}).status(); }},
      {"CreateMessage",
       [](MessagingConnection& c) { return c.CreateMessage(CreateMessageRequest("")).status(); }},
      {"UpdateConversation",
       [](MessagingConnection& c) { return c.UpdateConversation({}).status(); }},
      {"UpdateMessage", [](MessagingConnection& c) { return c.UpdateMessage({}).status(); }},
      {"FailAiWork", [](MessagingConnection& c) { return c.FailAiWork({}).status(); }},
  };
  return *calls;
}

// The tables above state the expected retry behaviour independently of the
// Retry column of messaging/client/rpcs.h; a new RPC must be added to one.
TEST(ConnectionRetryTest, EveryUnaryRpcHasAnExpectedRetryBehaviour) {
  std::set<std::string> expected;
  for (const auto& call : IdempotentCalls()) expected.insert(call.method);
  for (const auto& call : NonIdempotentCalls()) expected.insert(call.method);
#define RPC_NAME(Name, Request, Response, Retry) #Name,
  const std::set<std::string> listed = {MESSAGING_CLIENT_UNARY_RPCS(RPC_NAME)};
#undef RPC_NAME
  EXPECT_EQ(expected, listed);
}

// The generated methods keep the signatures written out by hand before.
static_assert(std::is_same_v<decltype(&MessagingConnection::GetConversation),
                             absl::StatusOr<v1::Conversation> (MessagingConnection::*)(
                                 const v1::GetConversationRequest&)>);
static_assert(
    std::is_same_v<decltype(&MessagingConnection::DeleteMessage),
                   absl::Status (MessagingConnection::*)(const v1::DeleteMessageRequest&)>);

TEST(ConnectionRetryTest, IdempotentCallsRetryOnUnavailableAndAborted) {
  for (const auto& call : IdempotentCalls()) {
    SCOPED_TRACE(call.method);
    auto stub = std::make_shared<FakeStub>();
    stub->script = {absl::StatusCode::kUnavailable, absl::StatusCode::kAborted,
                    absl::StatusCode::kUnavailable};
    MessagingConnectionImpl connection(stub, "token", FastRetries());
    EXPECT_TRUE(call.invoke(connection).ok());
    EXPECT_EQ(stub->attempts[call.method], 4);
  }
}

TEST(ConnectionRetryTest, NonIdempotentCallsAreTriedExactlyOnce) {
  for (const auto& call : NonIdempotentCalls()) {
    SCOPED_TRACE(call.method);
    auto stub = std::make_shared<FakeStub>();
    stub->script = {absl::StatusCode::kUnavailable};
    MessagingConnectionImpl connection(stub, "token", FastRetries());
    EXPECT_EQ(call.invoke(connection).code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(stub->attempts[call.method], 1);
  }
}

TEST(ConnectionRetryTest, OtherErrorsAreNotRetried) {
  for (auto code : {absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kNotFound,
                    absl::StatusCode::kInternal, absl::StatusCode::kUnauthenticated,
                    absl::StatusCode::kInvalidArgument, absl::StatusCode::kResourceExhausted}) {
    SCOPED_TRACE(absl::StatusCodeToString(code));
    auto stub = std::make_shared<FakeStub>();
    stub->script = {code};
    MessagingConnectionImpl connection(stub, "token", FastRetries());
    EXPECT_EQ(connection.GetConversation({}).status().code(), code);
    EXPECT_EQ(stub->attempts["GetConversation"], 1);
  }
}

TEST(ConnectionRetryTest, GivesUpAfterMaxAttemptsWithTheLastError) {
  auto stub = std::make_shared<FakeStub>();
  stub->script = std::deque<absl::StatusCode>(10, absl::StatusCode::kUnavailable);
  MessagingConnectionImpl connection(stub, "token", FastRetries(3));
  EXPECT_EQ(connection.ListMessages({}).status(), absl::UnavailableError("scripted"));
  EXPECT_EQ(stub->attempts["ListMessages"], 3);
}

TEST(ConnectionRetryTest, WaitsTheBackoffBetweenAttempts) {
  auto stub = std::make_shared<FakeStub>();
  stub->script = {absl::StatusCode::kUnavailable, absl::StatusCode::kUnavailable,
                  absl::StatusCode::kUnavailable};
  ClientOptions options;
  options.retry.initial_backoff = absl::Milliseconds(40);
  options.retry.multiplier = 2.0;
  options.retry.jitter = 0.0;
  MessagingConnectionImpl connection(stub, "token", options);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(connection.GetMessage({}).ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(40 + 80 + 160));
}

TEST(ConnectionRetryTest, EveryAttemptGetsAFreshTokenAndDeadline) {
  auto stub = std::make_shared<FakeStub>();
  stub->script = {absl::StatusCode::kUnavailable, absl::StatusCode::kUnavailable};
  int tokens = 0;
  ClientOptions options = FastRetries();
  options.call_timeout = absl::Seconds(7);
  MessagingConnectionImpl connection(stub, TokenSource([&tokens]() -> absl::StatusOr<std::string> {
                                       return "t" + std::to_string(++tokens);
                                     }),
                                     options);
  const auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(connection.GetConversation({}).ok());
  const auto after = std::chrono::system_clock::now();
  EXPECT_EQ(tokens, 3);
  ASSERT_EQ(stub->deadlines.size(), 3u);
  for (const auto& deadline : stub->deadlines) {
    EXPECT_GE(deadline, before + std::chrono::seconds(7));
    EXPECT_LE(deadline, after + std::chrono::seconds(7));
  }
}

TEST(ConnectionRetryTest, AClaimThatWaitsForWorkGetsItsWaitOnTopOfTheDeadline) {
  auto stub = std::make_shared<FakeStub>();
  ClientOptions options = FastRetries();
  options.call_timeout = absl::Seconds(7);
  MessagingConnectionImpl connection(stub, "token", options);
  v1::ClaimAiWorkRequest claim;
  claim.mutable_wait_duration()->set_seconds(20);
  const auto before = std::chrono::system_clock::now();
  ASSERT_TRUE(connection.ClaimAiWork(claim).ok());
  ASSERT_TRUE(connection.ListAiWork({}).ok());
  const auto after = std::chrono::system_clock::now();
  ASSERT_EQ(stub->deadlines.size(), 2u);
  EXPECT_GE(stub->deadlines[0], before + std::chrono::seconds(27));
  EXPECT_LE(stub->deadlines[0], after + std::chrono::seconds(27));
  EXPECT_LE(stub->deadlines[1], after + std::chrono::seconds(7));
}

TEST(ConnectionRetryTest, AFailingTokenSourceFailsTheCallBeforeAnyAttempt) {
  auto stub = std::make_shared<FakeStub>();
  MessagingConnectionImpl connection(stub, TokenSource([]() -> absl::StatusOr<std::string> {
                                       return absl::InternalError("no key");
                                     }),
                                     FastRetries());
  EXPECT_EQ(connection.GetConversation({}).status(), absl::InternalError("no key"));
  EXPECT_EQ(stub->attempts["GetConversation"], 0);
  auto stream = connection.StreamMessages({});
  v1::MessageEvent event;
  EXPECT_FALSE(stream->Read(&event));
  EXPECT_EQ(stream->Finish(), absl::InternalError("no key"));
}

TEST(ConnectionRetryTest, CreateMessageIsIdempotentOnlyWithAnExternalId) {
  EXPECT_TRUE(internal::kIfExternalMessageIdSet(CreateMessageRequest("SM1")));
  EXPECT_FALSE(internal::kIfExternalMessageIdSet(CreateMessageRequest("")));
}

TEST(ConnectionRetryTest, TheBaseInterfaceAnswersUnimplemented) {
  MessagingConnection base;
  EXPECT_EQ(base.GetConversation({}).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(base.DeleteMessage({}).code(), absl::StatusCode::kUnimplemented);
  auto stream = base.StreamMessages({});
  v1::MessageEvent event;
  EXPECT_FALSE(stream->Read(&event));
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace messaging::client
