// The serve/mint-token behaviour around the API: health follows the database,
// the binary validates its configuration, exits cleanly on SIGTERM, and
// prints tokens the server accepts.

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "auth/jwt.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "support/api_test.h"
#include "support/subprocess.h"

namespace messaging::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

constexpr char kBinary[] = MESSAGING_SERVER_BINARY;

HealthCheckResponse::ServingStatus Health(TestServer& server, const std::string& service = "") {
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  if (!stub->Check(&context, request, &response).ok()) return HealthCheckResponse::UNKNOWN;
  return response.status();
}

bool WaitForHealth(TestServer& server, HealthCheckResponse::ServingStatus want) {
  for (int i = 0; i < 100; ++i) {
    if (Health(server) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(HealthTest, FollowsTheDatabase) {
  TestDatabase db("health");
  TestServer server(db.server_url());
  EXPECT_EQ(Health(server), HealthCheckResponse::SERVING);
  EXPECT_EQ(Health(server, "messaging.v1.MessagingService"), HealthCheckResponse::SERVING);

  pqxx::connection admin(AdminUrl());
  pqxx::nontransaction(admin).exec(
      absl::StrCat("ALTER DATABASE ", db.name(), " ALLOW_CONNECTIONS false"));
  pqxx::nontransaction(admin).exec(absl::StrCat(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '", db.name(), "'"));
  EXPECT_TRUE(WaitForHealth(server, HealthCheckResponse::NOT_SERVING));

  // Calls fail fast with the retryable code while the database is away.
  v1::GetConversationRequest request;
  request.set_id("1d1d1d1d-0000-4000-8000-000000000000");
  v1::Conversation out;
  auto context = server.Context("2e2e2e2e-0000-4000-8000-000000000000");
  EXPECT_EQ(server.stub().GetConversation(context.get(), request, &out).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  pqxx::nontransaction(admin).exec(
      absl::StrCat("ALTER DATABASE ", db.name(), " ALLOW_CONNECTIONS true"));
  EXPECT_TRUE(WaitForHealth(server, HealthCheckResponse::SERVING));
  // The pool reconnects: the same call now reaches the database.
  auto again = server.Context("2e2e2e2e-0000-4000-8000-000000000000");
  EXPECT_EQ(server.stub().GetConversation(again.get(), request, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(HealthTest, UnknownServiceIsNotFound) {
  TestDatabase db("health_unknown");
  TestServer server(db.server_url());
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("no.such.Service");
  HealthCheckResponse response;
  EXPECT_EQ(stub->Check(&context, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Watch is not offered: it must end at once with UNIMPLEMENTED (clients then
// fall back to Check), never hang until the deadline -- and keep doing so,
// since every call re-arms the method on its completion queue.
TEST(HealthTest, WatchAnswersUnimplementedPromptly) {
  TestDatabase db("health_watch");
  TestServer server(db.server_url());
  auto stub = grpc::health::v1::Health::NewStub(server.channel());
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckRequest request;
    const absl::Time start = absl::Now();
    auto reader = stub->Watch(&context, request);
    HealthCheckResponse response;
    EXPECT_FALSE(reader->Read(&response)) << "Watch sent a status: " << response.DebugString();
    const grpc::Status status = reader->Finish();
    const absl::Duration took = absl::Now() - start;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
    EXPECT_LT(took, absl::Seconds(2)) << "Watch #" << i << " took " << took;
    std::printf("[ latency  ] Health/Watch #%d -> UNIMPLEMENTED in %.1f ms\n", i,
                absl::ToDoubleMilliseconds(took));
  }
}

TEST(CliTest, MintTokenPrintsATokenTheServerAccepts) {
  const std::string distributor = "4f4f4f4f-0000-4000-8000-00000000abcd";
  const auto result =
      RunCommand(absl::StrCat("MESSAGING_JWT_SECRET=", ShellQuote(kTestSecret), " ", kBinary,
                              " mint-token --distributor ", distributor, " --ttl 120"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string token(absl::StripAsciiWhitespace(result.output));
  auth::JwtOptions options;
  options.secret = kTestSecret;
  auto verified = auth::TokenVerifier(options).Authenticate("Bearer " + token, absl::Now());
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(*verified, distributor);
  // The ttl is honoured: the token is expired two minutes and a leeway later.
  EXPECT_FALSE(auth::TokenVerifier(options)
                   .Authenticate("Bearer " + token, absl::Now() + absl::Seconds(120 + 31))
                   .ok());
}

TEST(CliTest, MintTokenRejectsBadInput) {
  EXPECT_NE(RunCommand(absl::StrCat("MESSAGING_JWT_SECRET=", ShellQuote(kTestSecret), " ", kBinary,
                                    " mint-token --distributor nope"))
                .exit_code,
            0);
  EXPECT_NE(
      RunCommand(absl::StrCat("MESSAGING_JWT_SECRET=short ", kBinary,
                              " mint-token --distributor 4f4f4f4f-0000-4000-8000-00000000abcd"))
          .exit_code,
      0);
}

TEST(CliTest, ServeRefusesAMissingOrShortSecret) {
  TestDatabase db("cli_secret");
  auto result = RunCommand(absl::StrCat("DATABASE_URL=", ShellQuote(db.url()),
                                        " MESSAGING_JWT_SECRET=tooshort ", kBinary,
                                        " serve --listen 127.0.0.1:0 --log-format text"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("MESSAGING_JWT_SECRET"), std::string::npos) << result.output;
  result =
      RunCommand(absl::StrCat("env -u MESSAGING_JWT_SECRET DATABASE_URL=", ShellQuote(db.url()),
                              " ", kBinary, " --listen 127.0.0.1:0 --log-format text"));
  EXPECT_NE(result.exit_code, 0);
  result =
      RunCommand(absl::StrCat("env -u DATABASE_URL MESSAGING_JWT_SECRET=", ShellQuote(kTestSecret),
                              " ", kBinary, " serve --log-format text"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("DATABASE_URL"), std::string::npos) << result.output;
}

TEST(CliTest, SigtermStopsTheServerWithExitZero) {
  TestDatabase db("cli_sigterm");
  const auto result = RunCommand(absl::StrCat(
      "log=$(mktemp); DATABASE_URL=", ShellQuote(db.server_url()), " MESSAGING_JWT_SECRET=",
      ShellQuote(kTestSecret), " MESSAGING_DRAIN_TIMEOUT_SECONDS=2 ", kBinary,
      " serve --listen 127.0.0.1:0 --log-format text >\"$log\" 2>&1 & pid=$!; "
      // Signalled once it serves (its handlers are in place by then), not after a guessed pause.
      "for i in $(seq 1 600); do grep -q ' serving ' \"$log\" && break; sleep 0.1; done; "
      "kill -TERM $pid; start=$(date +%s); wait $pid; code=$?; cat \"$log\"; rm -f \"$log\"; "
      "echo exit_code=$code elapsed=$(( $(date +%s) - start ))"));
  EXPECT_NE(result.output.find("exit_code=0"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("shut down"), std::string::npos) << result.output;
}

class StreamAuthTest : public ApiTest {};

TEST_F(StreamAuthTest, StreamWithoutATokenIsUnauthenticated) {
  grpc::ClientContext context;
  v1::StreamMessagesRequest request;
  auto reader = server().stub().StreamMessages(&context, request);
  v1::MessageEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace messaging::testing
