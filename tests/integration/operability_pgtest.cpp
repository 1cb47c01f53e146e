// What operators rely on: Prometheus metrics, the per-distributor rate limit
// (RESOURCE_EXHAUSTED with google.rpc.RetryInfo), and x-request-id echoing.

#include <gtest/gtest.h>
#include <httplib.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing {
namespace {

grpc::Status GetConversation(TestServer& server, const std::string& distributor,
                             grpc::ClientContext* context) {
  context->AddMetadata("authorization", "Bearer " + TokenFor(distributor));
  v1::GetConversationRequest request;
  request.set_id("5e5e5e5e-0000-4000-8000-000000000000");
  v1::Conversation out;
  return server.stub().GetConversation(context, request, &out);
}

TEST(MetricsTest, ScrapeShowsCallsPoolAndStreams) {
  TestDatabase db("metrics");
  TestServer server(db.server_url(),
                    [](app::ServerConfig& c) { c.metrics_listen = "127.0.0.1:0"; });
  ASSERT_GT(server.server().metrics_port(), 0);
  const std::string distributor = db.NewDistributor();
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext context;
    EXPECT_EQ(GetConversation(server, distributor, &context).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  httplib::Client http("127.0.0.1", server.server().metrics_port());
  const auto response = http.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  const std::string& body = response->body;
  EXPECT_NE(
      body.find("messaging_rpc_requests_total{method=\"GetConversation\",code=\"NOT_FOUND\"} 3"),
      std::string::npos)
      << body;
  EXPECT_NE(body.find("messaging_rpc_duration_seconds_count{method=\"GetConversation\"} 3"),
            std::string::npos);
  for (const char* gauge :
       {"messaging_db_pool_in_use", "messaging_db_pool_waiting", "messaging_streams_open",
        "messaging_stream_listener_connected", "messaging_database_reachable 1"}) {
    EXPECT_NE(body.find(gauge), std::string::npos) << gauge;
  }
  EXPECT_EQ(body.find(kTestSecret), std::string::npos);
}

TEST(RateLimitTest, OverTheLimitIsResourceExhaustedWithRetryInfo) {
  TestDatabase db("rate_limit");
  TestServer server(db.server_url(), [](app::ServerConfig& c) {
    c.rate_limit.per_second = 0.5;
    c.rate_limit.burst = 2;
  });
  const std::string noisy = db.NewDistributor();
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext context;
    EXPECT_EQ(GetConversation(server, noisy, &context).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  grpc::ClientContext context;
  const grpc::Status limited = GetConversation(server, noisy, &context);
  ASSERT_EQ(limited.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(limited.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::RetryInfo retry;
  ASSERT_TRUE(details.details(0).UnpackTo(&retry));
  EXPECT_GT(retry.retry_delay().seconds() * 1000 + retry.retry_delay().nanos() / 1000000, 100);
  EXPECT_LE(retry.retry_delay().seconds(), 2);

  // Other distributors are not affected.
  grpc::ClientContext other;
  EXPECT_EQ(GetConversation(server, db.NewDistributor(), &other).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(RequestIdTest, IsEchoedOrAssigned) {
  TestDatabase db("request_id");
  TestServer server(db.server_url());
  const std::string distributor = db.NewDistributor();
  grpc::ClientContext given;
  given.AddMetadata("x-request-id", "trace-42");
  GetConversation(server, distributor, &given);
  const auto& echoed = given.GetServerInitialMetadata();
  ASSERT_EQ(echoed.count("x-request-id"), 1u);
  EXPECT_EQ(std::string(echoed.find("x-request-id")->second.data(),
                        echoed.find("x-request-id")->second.size()),
            "trace-42");
  grpc::ClientContext fresh;
  GetConversation(server, distributor, &fresh);
  const auto& assigned = fresh.GetServerInitialMetadata();
  ASSERT_EQ(assigned.count("x-request-id"), 1u);
  EXPECT_EQ(assigned.find("x-request-id")->second.size(), 16u);
}

}  // namespace
}  // namespace messaging::testing
