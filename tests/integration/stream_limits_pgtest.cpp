// A distributor may hold only so many StreamMessages calls on one server: the
// next one ends at once with RESOURCE_EXHAUSTED, other distributors are not
// affected, and closing a stream makes room again.

#include <gtest/gtest.h>

#include "support/stream_collector.h"
#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing {
namespace {

constexpr int kCap = 3;

TEST(StreamLimitsTest, TheStreamPastADistributorsCapIsRefusedOthersAreNot) {
  TestDatabase db("stream_limits");
  TestServer server(db.server_url(), [](app::ServerConfig& c) {
    c.max_streams_per_distributor = kCap;
    c.heartbeat_interval = absl::Milliseconds(200);
  });
  const std::string a = db.NewDistributor();
  const std::string b = db.NewDistributor();

  std::vector<std::unique_ptr<StreamCollector>> a_streams;
  for (int i = 0; i < kCap; ++i) {
    a_streams.push_back(
        std::make_unique<StreamCollector>(server.stub(), a, v1::StreamMessagesRequest()));
    ASSERT_TRUE(a_streams.back()->WaitLive()) << "stream " << i;
  }

  StreamCollector refused(server.stub(), a, v1::StreamMessagesRequest());
  const grpc::Status status = refused.WaitDone();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_NE(status.error_message().find("too many open streams"), std::string::npos)
      << status.error_message();
  EXPECT_TRUE(refused.Changes().empty());

  // Another tenant opens as many as it may, while A is at its cap.
  std::vector<std::unique_ptr<StreamCollector>> b_streams;
  for (int i = 0; i < kCap; ++i) {
    b_streams.push_back(
        std::make_unique<StreamCollector>(server.stub(), b, v1::StreamMessagesRequest()));
    EXPECT_TRUE(b_streams.back()->WaitLive()) << "B's stream " << i;
  }
  // A's streams were not disturbed: they still get heartbeats.
  for (auto& s : a_streams) {
    std::size_t seen = 0;
    s->WaitFor([&](const std::vector<v1::MessageEvent>& events) {
      seen = events.size();
      return true;
    });
    EXPECT_TRUE(s->WaitFor([&](const std::vector<v1::MessageEvent>& events) {
      return events.size() > seen;
    })) << "A's stream stopped";
  }

  // Closing one makes room: a new stream is accepted once the closed one is
  // gone (the server learns of the cancel asynchronously, so a few refusals
  // may come first).
  a_streams.front()->Cancel();
  bool accepted = false;
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while (!accepted && absl::Now() < until) {
    StreamCollector again(server.stub(), a, v1::StreamMessagesRequest());
    accepted = again.WaitLive(std::chrono::seconds(5));
    if (!accepted) {
      EXPECT_EQ(again.WaitDone().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    }
  }
  EXPECT_TRUE(accepted);
}

}  // namespace
}  // namespace messaging::testing
