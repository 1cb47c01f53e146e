// One tenant opens many StreamMessages calls that never read, then writes
// messages of the maximum size: every stream would like to buffer them all.
// The server is a real process so its memory can be measured.
//
// Proves: the server's peak resident memory stays within what its budgets
// allow (not what the tenant sent, times its streams); another tenant's calls
// and stream keep working meanwhile; and nothing is lost: every stalled
// stream, read (and resumed from its last cursor where the server ended it),
// yields every message once, in log order.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "faults/fault_util.h"
#include "support/server_process.h"
#include "support/stream_collector.h"
#include "support/test_database.h"

namespace messaging::testing {
namespace {

constexpr char kBinary[] = MESSAGING_SERVER_BINARY;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Sanitizer builds stream the same way, several times slower: a smaller
// attack, still ten times what the budget allows (80 x 30 x 192 KiB).
constexpr int kStalledStreams = 80;
constexpr int kMessages = 30;
#else
constexpr int kStalledStreams = 200;
constexpr int kMessages = 60;
#endif
// The attacker's connections; the bystander has its own, as another tenant's
// service would (a client that never reads can stall its own connection's
// HTTP/2 window, which says nothing about the server).
constexpr int kChannels = 10;
constexpr int kBystanderChannels = 3;
constexpr long kMiB = 1024;  // In KiB, as /proc reports.
// The server's budgets below allow about 48 MiB of queued events, 2 MiB per
// read (4 readers), 1 MiB per List page; with the process itself and gRPC's
// per-stream buffers that fits well within this.
constexpr long kPeakGrowthLimitKiB = 200 * kMiB;

// A stream that read its first event (so it is live) and then stops reading.
struct StalledStream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::MessageEvent>> reader;
  std::string cursor;
};

// Messages of the maximum size the API accepts: 64 KiB of content, and
// metadata and ai_extracted_data of about 64 KiB of JSON each.
void InsertLargeMessages(TestDatabase& db, const std::string& distributor,
                         const std::string& conversation, int from, int count) {
  db.Exec(
      absl::StrCat("INSERT INTO messages (conversation_id, distributor_id, direction, content, "
                   "delivery_status, metadata, ai_extracted_data) SELECT '",
                   conversation, "', '", distributor,
                   "', 'inbound', repeat(md5(g::text), 2048), 'received', "
                   "jsonb_build_object('k', repeat(md5(g::text), 2040)), "
                   "jsonb_build_object('k', repeat(md5((-g)::text), 2040)) FROM generate_series(",
                   from, ", ", from + count - 1, ") g"));
}

// Reads `stream` to its end or until it has `want` creations, then resumes
// from its last cursor until it has them all. Returns the ids in order.
std::vector<std::string> ReadAll(v1::MessagingService::Stub& stub, const std::string& distributor,
                                 StalledStream& stream, std::size_t want, int* resumes) {
  std::vector<std::string> ids;
  std::string cursor = stream.cursor;
  auto drain = [&](grpc::ClientReader<v1::MessageEvent>& reader, grpc::ClientContext& context) {
    v1::MessageEvent event;
    while (ids.size() < want && reader.Read(&event)) {
      if (event.type() == v1::MESSAGE_EVENT_TYPE_CREATED) ids.push_back(event.message().id());
      cursor = event.cursor();
    }
    if (ids.size() >= want) context.TryCancel();
    return reader.Finish();
  };
  grpc::Status status = drain(*stream.reader, stream.context);
  const absl::Time until = absl::Now() + absl::Seconds(120);
  while (ids.size() < want && absl::Now() < until) {
    // Ended for memory (RESOURCE_EXHAUSTED), by the client, or by the
    // connection (UNAVAILABLE: the server's maximum connection age on a slow
    // run): each is resumed from the last cursor.
    if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED &&
        status.error_code() != grpc::StatusCode::CANCELLED &&
        status.error_code() != grpc::StatusCode::UNAVAILABLE) {
      ADD_FAILURE() << "a stream may only end so that its client resumes: " << status.error_code()
                    << " " << status.error_message();
      break;
    }
    ++*resumes;
    auto context = faults::ContextFor(distributor, absl::Seconds(120));
    v1::StreamMessagesRequest request;
    request.set_resume_cursor(cursor);
    auto reader = stub.StreamMessages(context.get(), request);
    status = drain(*reader, *context);
  }
  return ids;
}

TEST(StreamMemoryTest, StreamsThatNeverReadCannotMakeTheServerHoldWhatATenantWrites) {
  TestDatabase db("stream_memory");
  const std::string attacker = db.NewDistributor();
  const std::string bystander = db.NewDistributor();
  const std::string attacker_conversation =
      faults::InsertConversation(db.url(), attacker, db.NewCustomer());
  const std::string bystander_conversation =
      faults::InsertConversation(db.url(), bystander, db.NewCustomer());
  // See slow_consumer_pgtest: no ASan quarantine, so RSS measures live memory.
  const char* asan = std::getenv("ASAN_OPTIONS");
  const std::string asan_options =
      absl::StrCat(asan != nullptr ? asan : "", asan ? ":" : "",
                   "quarantine_size_mb=0:thread_local_quarantine_size_kb=0");
  // A short stall time keeps the test quick; not so short that a client that
  // does read, on a machine slowed by sanitizers, passes for a stalled one.
  ServerProcess server(kBinary, db.server_url(),
                       {{"MESSAGING_STREAM_MEMORY_BYTES", std::to_string(48 << 20)},
                        {"MESSAGING_STREAM_QUEUE_BYTES", std::to_string(512 << 10)},
                        {"MESSAGING_STREAM_READ_BYTES", std::to_string(2 << 20)},
                        {"MESSAGING_STREAM_STALL_SECONDS", "3"},
                        {"MESSAGING_MAX_STREAMS_PER_DISTRIBUTOR", "1000"},
                        {"ASAN_OPTIONS", asan_options}});
  std::vector<std::unique_ptr<v1::MessagingService::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) {
    stubs.push_back(v1::MessagingService::NewStub(faults::Connect(server.address())));
  }
  std::vector<std::unique_ptr<v1::MessagingService::Stub>> bystander_stubs;
  for (int i = 0; i < kBystanderChannels; ++i) {
    bystander_stubs.push_back(v1::MessagingService::NewStub(faults::Connect(server.address())));
  }

  // The bystander: a stream that reads, and unary calls throughout.
  StreamCollector bystander_stream(*bystander_stubs[0], bystander, v1::StreamMessagesRequest());
  ASSERT_TRUE(bystander_stream.WaitLive());

  // The attacker's streams, live (each read its first heartbeat), then idle.
  std::vector<std::unique_ptr<StalledStream>> stalled;
  for (int i = 0; i < kStalledStreams; ++i) {
    auto s = std::make_unique<StalledStream>();
    s->context.AddMetadata("authorization", "Bearer " + TokenFor(attacker));
    s->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(10)));
    s->reader = stubs[static_cast<std::size_t>(i) % stubs.size()]->StreamMessages(
        &s->context, v1::StreamMessagesRequest());
    stalled.push_back(std::move(s));
  }
  for (auto& s : stalled) {
    v1::MessageEvent event;
    ASSERT_TRUE(s->reader->Read(&event)) << s->reader->Finish().error_message();
    ASSERT_EQ(event.type(), v1::MESSAGE_EVENT_TYPE_HEARTBEAT);
    s->cursor = event.cursor();
  }
  const long rss_before = server.RssKiB();
  ASSERT_GT(rss_before, 0);

  // A watchdog: a server that buffers what it should not is killed before it
  // takes the machine with it (the test then fails on the peak it reached).
  std::atomic<bool> attack_over{false}, test_over{false};
  std::atomic<long> highest_seen{rss_before};
  std::thread watchdog([&] {
    while (!test_over) {
      const long rss = server.RssKiB();
      if (rss > highest_seen) highest_seen = rss;
      if (rss > rss_before + 4 * kPeakGrowthLimitKiB) {
        kill(server.pid(), SIGKILL);
        return;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  std::atomic<int> bystander_calls{0}, bystander_failures{0};
  std::string bystander_error;
  // Its calls must succeed; the deadlines are generous because sanitizer
  // builds on two cores are slow (latency under load is bench/run.sh fairness's).
  std::thread bystander_load([&] {
    for (int i = 0; !attack_over; ++i) {
      v1::CreateMessageRequest create;
      create.mutable_message()->set_conversation_id(bystander_conversation);
      create.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
      create.mutable_message()->set_content(absl::StrCat("bystander ", i));
      v1::Message created;
      auto context = faults::ContextFor(bystander, absl::Seconds(30));
      grpc::Status status = bystander_stubs[1]->CreateMessage(context.get(), create, &created);
      if (status.ok()) {
        v1::ListMessagesRequest list;
        list.set_conversation_id(bystander_conversation);
        list.set_page_size(5);
        list.set_order_by("create_time desc");
        v1::ListMessagesResponse page;
        auto list_context = faults::ContextFor(bystander, absl::Seconds(30));
        status = bystander_stubs[2]->ListMessages(list_context.get(), list, &page);
      }
      ++bystander_calls;
      if (!status.ok()) {
        if (bystander_failures++ == 0) bystander_error = status.error_message();
      }
    }
  });

  // The attack: every message reaches every stalled stream's group.
  for (int batch = 0; batch < kMessages / 5; ++batch) {
    InsertLargeMessages(db, attacker, attacker_conversation, batch * 5 + 1, 5);
  }
  // Synchronisation, not a pause: the bystander completes calls after the
  // attack's last write, and its stream then receives every one of them.
  const int bystander_before = bystander_calls.load();
  EXPECT_TRUE(faults::WaitUntil([&] { return bystander_calls.load() >= bystander_before + 5; },
                                absl::Seconds(60)))
      << "the bystander's calls stopped";
  attack_over = true;
  bystander_load.join();
  const int bystander_created = bystander_calls.load() - bystander_failures.load();
  EXPECT_EQ(bystander_failures.load(), 0) << bystander_error;
  EXPECT_TRUE(bystander_stream.WaitForChanges(static_cast<std::size_t>(bystander_created),
                                              std::chrono::seconds(60)))
      << "the bystander's stream received " << bystander_stream.Changes().size() << " of "
      << bystander_created << "; stream status: "
      << bystander_stream.WaitDone(std::chrono::milliseconds(0)).error_message();

  // Nothing lost: every stalled stream yields every message once, in order.
  const auto log = faults::CreatedInLogOrder(db.url(), attacker);
  EXPECT_EQ(log.size(), static_cast<std::size_t>(kMessages));
  std::atomic<int> next{0}, resumes{0}, complete{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&] {
      for (int i = next++; i < kStalledStreams; i = next++) {
        int resumed = 0;
        auto stub = v1::MessagingService::NewStub(faults::Connect(server.address()));
        const auto ids =
            ReadAll(*stub, attacker, *stalled[static_cast<std::size_t>(i)], log.size(), &resumed);
        resumes += resumed;
        if (ids == log) ++complete;
      }
    });
  }
  for (auto& t : readers) t.join();
  test_over = true;
  watchdog.join();
  EXPECT_EQ(complete.load(), kStalledStreams) << "streams that lost or repeated an event";

  const long peak = std::max(server.PeakRssKiB(), highest_seen.load());
  std::printf(
      "%d streams that never read, %d messages of ~192 KiB: server RSS %ld KiB before, peak "
      "%ld KiB (+%ld KiB); %d resumes; bystander made %d calls\n",
      kStalledStreams, kMessages, rss_before, peak, peak - rss_before, resumes.load(),
      bystander_created);
  EXPECT_LT(peak - rss_before, kPeakGrowthLimitKiB)
      << "the server held what a tenant sent instead of what its budgets allow";
  EXPECT_EQ(server.Terminate(), 0);
}

}  // namespace
}  // namespace messaging::testing
