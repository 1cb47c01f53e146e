// `kill -9` of one of two replicas (real messaging-server processes sharing
// one database) while clients write, read and stream.
//
// Proves: the surviving replica keeps serving (health SERVING, calls work);
// writers that retry UNAVAILABLE on the other address fail over and every
// write they started is eventually acknowledged exactly once (the retry
// carries the same external_message_id, so a write the dead replica had
// committed is not stored twice); no acknowledged write is lost; a reader on
// one channel over both addresses (round_robin, as a client of a headless
// Service does) keeps reading; the stream on the dead replica ends with a
// retryable status and, resumed on the survivor from its last cursor, misses
// and repeats nothing; the survivor's own stream saw everything.

#include <gtest/gtest.h>

#include "faults/fault_util.h"
#include "support/server_process.h"
#include "support/stream_collector.h"
#include "support/test_database.h"

namespace messaging::testing {
namespace {

using faults::WaitUntil;
using grpc::StatusCode;
using grpc::health::v1::HealthCheckResponse;

constexpr char kBinary[] = MESSAGING_SERVER_BINARY;

// Reads in a loop through one channel balanced over both replicas, retrying
// UNAVAILABLE like a client library does.
class BalancedReader {
 public:
  BalancedReader(const std::string& target, std::string distributor, std::string conversation_id)
      : distributor_(std::move(distributor)), conversation_id_(std::move(conversation_id)) {
    grpc::ChannelArguments args;
    args.SetLoadBalancingPolicyName("round_robin");
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stub_ = v1::MessagingService::NewStub(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
    thread_ = std::thread([this] { Run(); });
  }
  ~BalancedReader() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_.load(); }
  int longest_failure_streak() const { return longest_streak_.load(); }
  std::map<std::string, int> failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  void Run() {
    int streak = 0;
    while (!stop_) {
      v1::GetConversationRequest request;
      request.set_id(conversation_id_);
      v1::Conversation out;
      auto context = faults::ContextFor(distributor_, absl::Seconds(3));
      const auto status = stub_->GetConversation(context.get(), request, &out);
      if (status.ok()) {
        ++ok_;
        streak = 0;
      } else {
        ++streak;
        longest_streak_ = std::max(longest_streak_.load(), streak);
        std::lock_guard<std::mutex> lock(mu_);
        ++failures_[faults::CodeName(status.error_code()) + ": " + status.error_message()];
      }
      absl::SleepFor(absl::Milliseconds(status.ok() ? 5 : 50));
    }
  }

  const std::string distributor_;
  const std::string conversation_id_;
  std::unique_ptr<v1::MessagingService::Stub> stub_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> longest_streak_{0};
  mutable std::mutex mu_;
  std::map<std::string, int> failures_;
  std::thread thread_;
};

TEST(ReplicaFailoverTest, KillNineOfOneReplicaLosesNoAcknowledgedWrite) {
  const absl::Time t0 = absl::Now();
  auto phase = [&](const char* what) {
    std::printf("[%6.2fs] %s\n", absl::ToDoubleSeconds(absl::Now() - t0), what);
    std::fflush(stdout);
  };
  TestDatabase db("failover");
  const std::string distributor = db.NewDistributor();
  const std::string conversation =
      faults::InsertConversation(db.url(), distributor, db.NewCustomer());
  const std::map<std::string, std::string> env = {{"MESSAGING_STREAM_POLL_MS", "100"},
                                                  {"MESSAGING_POOL_SIZE", "4"}};
  ServerProcess a(kBinary, db.server_url(), env);
  ServerProcess b(kBinary, db.server_url(), env);
  phase("two replicas serving");
  auto channel_a = faults::Connect(a.address());
  auto channel_b = faults::Connect(b.address());
  auto stub_a = v1::MessagingService::NewStub(channel_a);
  auto stub_b = v1::MessagingService::NewStub(channel_b);

  StreamCollector stream_a(*stub_a, distributor, v1::StreamMessagesRequest());
  StreamCollector stream_b(*stub_b, distributor, v1::StreamMessagesRequest());
  ASSERT_TRUE(stream_b.WaitLive());

  faults::WriteLoad::Options options;
  options.threads = 4;
  options.deadline = absl::Seconds(3);
  options.retry_until_acknowledged = true;
  options.max_attempts_per_tag = 40;
  faults::WriteLoad load({stub_a.get(), stub_b.get()}, distributor, conversation, options);
  BalancedReader reader(absl::StrCat("ipv4:", a.address(), ",", b.address()), distributor,
                        conversation);
  ASSERT_TRUE(WaitUntil([&] { return load.acknowledged_count() >= 60 && reader.ok() >= 10; },
                        absl::Seconds(20)))
      << "no load before the kill";
  // Both streams are delivering (so the one on A has a cursor to resume from).
  ASSERT_TRUE(stream_a.WaitForChanges(20, std::chrono::seconds(10)));
  ASSERT_TRUE(stream_b.WaitForChanges(20, std::chrono::seconds(10)));

  phase("load running; kill -9 of replica A");
  const int reads_before = reader.ok();
  const absl::Time killed = absl::Now();
  a.Kill();

  // The stream on the dead replica ends with a status clients retry.
  const grpc::Status a_status = stream_a.WaitDone(std::chrono::seconds(10));
  EXPECT_EQ(a_status.error_code(), StatusCode::UNAVAILABLE) << a_status.error_message();

  // Writers and readers carry on against the survivor.
  EXPECT_TRUE(WaitUntil([&] { return load.AcknowledgedAfter(killed) >= 100; }, absl::Seconds(15)))
      << "writes did not fail over";
  EXPECT_TRUE(WaitUntil([&] { return reader.ok() >= reads_before + 20; }, absl::Seconds(15)))
      << "reads did not fail over";
  phase("failed over");
  load.Stop();
  reader.Stop();

  EXPECT_EQ(faults::CheckHealth(channel_b), HealthCheckResponse::SERVING);

  // Every write that was started was acknowledged, each failure was a
  // retryable UNAVAILABLE, and the retries of one write found each other.
  EXPECT_TRUE(load.Unacknowledged().empty())
      << load.Unacknowledged().size() << " writes never acknowledged, e.g. "
      << *load.Unacknowledged().begin();
  std::map<std::string, int> codes;
  for (const auto& f : load.Failures()) {
    ++codes[faults::CodeName(f.code)];
    EXPECT_EQ(f.code, StatusCode::UNAVAILABLE)
        << f.tag << " on replica " << f.target << ": " << f.error;
  }
  EXPECT_GT(load.Failures().size(), 0u) << "no writer noticed the kill";
  for (const auto& [what, n] : reader.failures()) {
    EXPECT_EQ(what.rfind("UNAVAILABLE", 0), 0u) << n << " x " << what;
  }
  EXPECT_LE(reader.longest_failure_streak(), 5) << "the balanced reader kept picking the dead one";

  const auto acked = load.Acknowledged();
  const auto stored = faults::StoredMessages(db.url(), conversation);
  for (const auto& [tag, id] : acked) {
    const auto it = stored.find(tag);
    ASSERT_NE(it, stored.end()) << "acknowledged write lost: " << tag;
    EXPECT_EQ(it->second, id) << "a retry of " << tag << " returned another message";
  }
  EXPECT_EQ(stored.size(), acked.size()) << "stored writes nobody got an answer for";

  // Streams: the survivor's saw everything; the dead replica's, resumed on the
  // survivor from its last cursor, continues without a gap or a repeat.
  auto log = faults::CreatedInLogOrder(db.url(), distributor);
  ASSERT_EQ(log.size(), stored.size());
  // A marker after everything: once a stream has it, every event before it
  // (and any repeat of one) has arrived too.
  const std::string marker = faults::InsertMessage(db.url(), distributor, conversation, "marker");
  log.push_back(marker);
  ASSERT_TRUE(stream_b.WaitForMessage(marker)) << stream_b.Changes().size() << " of " << log.size();
  EXPECT_EQ(faults::CreatedIds(stream_b.Changes()), log);

  phase("the survivor's stream has everything");
  std::vector<std::string> via_a = faults::CreatedIds(stream_a.Changes());
  v1::StreamMessagesRequest resume;
  resume.set_resume_cursor(stream_a.LastCursor());
  ASSERT_FALSE(resume.resume_cursor().empty()) << "the stream on A received nothing";
  StreamCollector resumed(*stub_b, distributor, resume);
  EXPECT_TRUE(resumed.WaitForMessage(marker)) << "the resumed stream stalled";
  for (const auto& id : faults::CreatedIds(resumed.Changes())) via_a.push_back(id);
  EXPECT_EQ(via_a, log) << "resuming on the other replica skipped or repeated events";

  std::printf("acknowledged %zu writes (%d after the kill); failures:", acked.size(),
              load.AcknowledgedAfter(killed));
  for (const auto& [code, n] : codes) std::printf(" %s=%d", code.c_str(), n);
  std::printf("; reader: %d reads, longest failure streak %d\n", reader.ok(),
              reader.longest_failure_streak());

  phase("the dead replica's stream resumed");
  stream_b.Cancel();
  resumed.Cancel();
  EXPECT_EQ(b.Terminate(), 0);
}

}  // namespace
}  // namespace messaging::testing
