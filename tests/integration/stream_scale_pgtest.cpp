// Thousands of open streams cost memory, not threads: 2,000 subscribers on one
// messaging-server process (a real child process, so its threads can be
// counted) all receive a new message while the thread count stays bounded.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/server_process.h"
#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing {
namespace {

constexpr char kBinary[] = MESSAGING_SERVER_BINARY;

// One stream read with the callback API: no client thread per stream either.
class CountingReader : public grpc::ClientReadReactor<v1::MessageEvent> {
 public:
  CountingReader(v1::MessagingService::Stub& stub, const std::string& token,
                 std::atomic<int>& ready, std::atomic<int>& received, std::atomic<int>& finished)
      : ready_(ready), received_(received), finished_(finished) {
    context_.AddMetadata("authorization", "Bearer " + token);
    stub.async()->StreamMessages(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;
    // A heartbeat means the stream is live: later messages must reach it.
    if (event_.type() == v1::MESSAGE_EVENT_TYPE_HEARTBEAT && !live_) {
      live_ = true;
      ++ready_;
    }
    if (event_.type() == v1::MESSAGE_EVENT_TYPE_CREATED && !counted_) {
      counted_ = true;
      ++received_;
    }
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& /*status*/) override { ++finished_; }
  void Cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  v1::StreamMessagesRequest request_;
  v1::MessageEvent event_;
  bool live_ = false;
  bool counted_ = false;
  std::atomic<int>& ready_;
  std::atomic<int>& received_;
  std::atomic<int>& finished_;
};

bool WaitUntil(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

TEST(StreamScaleTest, TwoThousandStreamsShareABoundedNumberOfThreads) {
  TestDatabase db("stream_scale");
  const std::string distributor = db.NewDistributor();
  const std::string customer = db.NewCustomer();
  const std::string conversation =
      db.Exec("INSERT INTO conversations (distributor_id, customer_id, channel) VALUES ('" +
              distributor + "', '" + customer + "', 'whatsapp') RETURNING id::text")
          .at(0)
          .at(0)
          .as<std::string>();
  // One distributor holds all 2,000 streams: above the default per-distributor cap.
  ServerProcess server(
      kBinary, db.server_url(),
      {{"MESSAGING_HEARTBEAT_SECONDS", "1"}, {"MESSAGING_MAX_STREAMS_PER_DISTRIBUTOR", "2000"}});
  const std::string token = TokenFor(distributor);

  // Streams spread over 20 connections.
  std::vector<std::unique_ptr<v1::MessagingService::Stub>> stubs;
  for (int i = 0; i < 20; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(v1::MessagingService::NewStub(
        grpc::CreateCustomChannel(server.address(), grpc::InsecureChannelCredentials(), args)));
  }
  std::atomic<int> ready{0}, received{0}, finished{0};
  std::vector<std::unique_ptr<CountingReader>> readers;
  auto open = [&](int n) {
    for (int i = 0; i < n; ++i) {
      readers.push_back(std::make_unique<CountingReader>(*stubs[readers.size() % stubs.size()],
                                                         token, ready, received, finished));
    }
  };
  open(10);
  // The baseline: ten live streams (each got its first heartbeat).
  ASSERT_TRUE(WaitUntil([&] { return ready.load() == 10; }, std::chrono::seconds(30)))
      << ready.load() << " of 10 streams went live";
  const int threads_with_10 = server.Threads();
  const long rss_with_10 = server.RssKiB();
  open(1990);
  // Every stream is live once it got a heartbeat.
  EXPECT_TRUE(WaitUntil([&] { return ready.load() == 2000; }, std::chrono::seconds(90)))
      << ready.load() << " of 2000 streams went live";
  const int threads_with_2000 = server.Threads();
  const long rss_with_2000 = server.RssKiB();

  db.Exec(
      "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status) VALUES ('" +
      conversation + "', '" + distributor + "', 'inbound', 'to everyone', 'received')");
  EXPECT_TRUE(WaitUntil([&] { return received.load() == 2000; }, std::chrono::seconds(60)))
      << received.load() << " of 2000 streams received the message";
  EXPECT_EQ(finished.load(), 0) << "streams ended unexpectedly";

  std::printf(
      "server threads: %d with 10 streams, %d with 2000; RSS %ld KiB -> %ld KiB "
      "(%.1f KiB per extra stream)\n",
      threads_with_10, threads_with_2000, rss_with_10, rss_with_2000,
      static_cast<double>(rss_with_2000 - rss_with_10) / 1990.0);
  EXPECT_LT(threads_with_2000, 64);
  EXPECT_LE(threads_with_2000, threads_with_10 + 4) << "threads grew with the number of streams";

  for (auto& r : readers) r->Cancel();
  EXPECT_TRUE(WaitUntil([&] { return finished.load() == 2000; }, std::chrono::seconds(30)));
  EXPECT_EQ(server.Terminate(), 0);
}

}  // namespace
}  // namespace messaging::testing
