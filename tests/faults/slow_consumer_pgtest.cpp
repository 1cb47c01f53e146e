// A StreamMessages client that opens a stream and then never reads, while
// 5,000 messages of 8 KiB (40 MiB of content) are written. The server is a
// real process so its memory can be measured.
//
// Proves: the server does not buffer a slow stream without bound (its RSS
// grows by far less than the content written); PostgreSQL's NOTIFY queue
// stays near empty (the server's LISTEN connection keeps consuming even when
// a stream cannot take more); and nothing is lost: when the client finally
// reads, it gets all 5,000 events once, in log order.

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>

#include "faults/fault_util.h"
#include "support/server_process.h"
#include "support/stream_collector.h"
#include "support/test_database.h"

namespace messaging::testing {
namespace {

using faults::WaitUntil;

constexpr char kBinary[] = MESSAGING_SERVER_BINARY;

void InsertMessages(TestDatabase& db, const std::string& distributor,
                    const std::string& conversation, int from, int count) {
  // 8 KiB of content per message (md5 hex repeated 256 times).
  db.Exec(
      absl::StrCat("INSERT INTO messages (conversation_id, distributor_id, direction, content, "
                   "delivery_status) SELECT '",
                   conversation, "', '", distributor,
                   "', 'inbound', repeat(md5(g::text), 256), 'received' FROM generate_series(",
                   from, ", ", from + count - 1, ") g"));
}

// StreamMessages calls open on the server, from its /metrics.
int OpenStreams(int metrics_port) {
  httplib::Client http("127.0.0.1", metrics_port);
  const auto response = http.Get("/metrics");
  if (!response || response->status != 200) return -1;
  const std::string name = "\nmessaging_streams_open ";
  const auto at = response->body.find(name);
  if (at == std::string::npos) return -1;
  return std::atoi(response->body.c_str() + at + name.size());
}

TEST(SlowConsumerTest, AStreamThatNeverReadsKeepsServerMemoryAndTheNotifyQueueBounded) {
  TestDatabase db("slow_consumer");
  const std::string distributor = db.NewDistributor();
  const std::string conversation =
      faults::InsertConversation(db.url(), distributor, db.NewCustomer());
  // Under AddressSanitizer, freed memory sits in a quarantine (256 MB by
  // default) instead of being reused, so RSS would measure the allocation
  // volume instead of the live memory: turn the quarantine off for the server.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string asan_options =
      absl::StrCat(asan != nullptr ? asan : "", asan ? ":" : "",
                   "quarantine_size_mb=0:thread_local_quarantine_size_kb=0");
  const int metrics_port = FreePort();
  ServerProcess server(kBinary, db.server_url(),
                       {{"MESSAGING_STREAM_POLL_MS", "100"},
                        {"ASAN_OPTIONS", asan_options},
                        {"MESSAGING_METRICS_LISTEN", absl::StrCat("127.0.0.1:", metrics_port)}});
  auto stub = v1::MessagingService::NewStub(faults::Connect(server.address()));
  // Marker messages go to a conversation of their own, watched by a stream
  // filtered to it: it shares the distributor's group (one log read offers a
  // batch to every member), so the marker's arrival proves that every earlier
  // write was offered to the slow stream too, without reading 40 MiB.
  const std::string marker_conversation =
      faults::InsertConversation(db.url(), distributor, db.NewCustomer());
  v1::StreamMessagesRequest marker_request;
  marker_request.set_conversation_id(marker_conversation);

  // Warm-up with a stream that reads, so allocator arenas and connections
  // exist before the baseline is taken.
  {
    StreamCollector warm(*stub, distributor, v1::StreamMessagesRequest());
    ASSERT_TRUE(warm.WaitLive());
    InsertMessages(db, distributor, conversation, 1, 300);
    ASSERT_TRUE(warm.WaitForChanges(300, std::chrono::seconds(30)));
  }
  // The warm-up stream is gone from the server before the baseline.
  ASSERT_TRUE(WaitUntil([&] { return OpenStreams(metrics_port) == 0; }, absl::Seconds(10)))
      << "the warm-up stream is still open: " << OpenStreams(metrics_port);
  const long rss_before = server.RssKiB();
  ASSERT_GT(rss_before, 0);

  // The client that never reads.
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + TokenFor(distributor));
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));  // Bounds the test.
  auto reader = stub->StreamMessages(&context, v1::StreamMessagesRequest());
  // Live once its first heartbeat arrived; from then on it reads nothing.
  v1::MessageEvent first;
  ASSERT_TRUE(reader->Read(&first));
  ASSERT_EQ(first.type(), v1::MESSAGE_EVENT_TYPE_HEARTBEAT);
  StreamCollector markers(*stub, distributor, marker_request);
  ASSERT_TRUE(markers.WaitLive());

  constexpr int kMessages = 5000;
  double max_queue_usage = 0;
  pqxx::connection monitor(db.url());
  for (int batch = 0; batch < 50; ++batch) {  // 50 commits, 50 notifications.
    InsertMessages(db, distributor, conversation, 1000 + batch * 100, kMessages / 50);
    max_queue_usage = std::max(max_queue_usage, pqxx::nontransaction(monitor)
                                                    .exec("SELECT pg_notification_queue_usage()")
                                                    .at(0)
                                                    .at(0)
                                                    .as<double>());
  }
  // Every write has been offered to the slow stream once the marker arrived:
  // whatever the server buffers for it, it holds now.
  const std::string marker =
      faults::InsertMessage(db.url(), distributor, marker_conversation, "marker");
  ASSERT_TRUE(markers.WaitForMessage(marker, std::chrono::seconds(60)))
      << "the server never got through the writes";
  max_queue_usage = std::max(max_queue_usage, pqxx::nontransaction(monitor)
                                                  .exec("SELECT pg_notification_queue_usage()")
                                                  .at(0)
                                                  .at(0)
                                                  .as<double>());
  const long rss_after = server.RssKiB();
  const long grown_kib = rss_after - rss_before;
  std::printf(
      "RSS %ld KiB -> %ld KiB (+%ld KiB) while %d x 8 KiB events waited; max NOTIFY "
      "queue usage %.6f\n",
      rss_before, rss_after, grown_kib, kMessages, max_queue_usage);
  // 40 MiB of content was written; buffering it would cost more than that.
  EXPECT_LT(grown_kib, 16 * 1024) << "the server buffers for a client that does not read";
  EXPECT_LT(max_queue_usage, 0.001) << "NOTIFY queue filling up: is the listener consuming?";

  // Nothing lost: reading now yields every event once, in log order.
  std::vector<std::string> ids;
  v1::MessageEvent event;
  const absl::Time until = absl::Now() + absl::Seconds(40);
  while (ids.size() < static_cast<std::size_t>(kMessages) && absl::Now() < until &&
         reader->Read(&event)) {
    if (event.type() == v1::MESSAGE_EVENT_TYPE_CREATED) ids.push_back(event.message().id());
  }
  context.TryCancel();
  reader->Finish();
  auto log = faults::CreatedInLogOrder(db.url(), distributor);
  log.erase(log.begin(), log.begin() + 300);  // The warm-up's.
  log.pop_back();                             // The marker: read only up to kMessages.
  EXPECT_EQ(ids.size(), log.size());
  EXPECT_EQ(ids, log);
  EXPECT_EQ(server.Terminate(), 0);
}

}  // namespace
}  // namespace messaging::testing
