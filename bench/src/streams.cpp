// StreamMessages load: fan-out (subscribers + a paced publisher, measuring
// commit-to-delivery latency and checking that every subscriber gets every
// event in its scope exactly once) and idle scale (N open streams, the
// server's RSS and thread count). Streams use the async API on a few
// completion-queue threads: no client thread per stream either.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "async_client.h"
#include "cli.h"
#include "fixture.h"
#include "latency.h"
#include "messaging/v1/messaging.grpc.pb.h"
#include "modes.h"
#include "proc_stats.h"

namespace bench {
namespace {

namespace v1 = ::messaging::v1;

constexpr char kSeqTag[] = "bench seq=";

struct Delivery {
  int64_t seq;
  int64_t recv_ns;
  std::size_t id_hash;
};

class StreamSet;

// One subscriber (async API): start, then one Read at a time, then Finish.
// A reader has at most one operation pending, so its Proceed calls never
// overlap; the main thread reads the records only after the stream finished
// (through StreamSet's mutex).
class Reader : public CqTag {
 public:
  Reader(StreamSet& set, int distributor, int conversation, bool record)
      : set_(set), distributor_(distributor), conversation_(conversation), record_(record) {}

  void Begin(v1::MessagingService::Stub& stub, grpc::CompletionQueue* cq, const std::string& token,
             const std::string& conversation_id) {
    context_.AddMetadata("authorization", "Bearer " + token);
    request_.set_conversation_id(conversation_id);
    reader_ = stub.PrepareAsyncStreamMessages(&context_, request_, cq);
    state_ = State::kStarting;
    reader_->StartCall(this);
  }

  void Proceed(bool ok) override;
  void Cancel() {
    cancelled_.store(true);
    context_.TryCancel();
  }

  int distributor() const { return distributor_; }
  int conversation() const { return conversation_; }  // -1: distributor-wide.
  int64_t created_seen() const { return created_seen_.load(std::memory_order_relaxed); }
  int64_t measured_seen() const { return measured_seen_.load(std::memory_order_relaxed); }
  bool ended_early() const { return ended_early_.load(); }
  const grpc::Status& status() const { return status_; }
  std::vector<Delivery>& deliveries() { return deliveries_; }
  int64_t duplicate_cursors() const { return duplicate_cursors_; }
  int64_t heartbeats() const { return heartbeats_; }

 private:
  enum class State { kStarting, kReading, kFinishing };
  void OnEvent();

  StreamSet& set_;
  const int distributor_;
  const int conversation_;
  const bool record_;
  grpc::ClientContext context_;
  v1::StreamMessagesRequest request_;
  v1::MessageEvent event_;
  std::unique_ptr<grpc::ClientAsyncReader<v1::MessageEvent>> reader_;
  State state_ = State::kStarting;
  std::atomic<int64_t> created_seen_{0};
  std::atomic<int64_t> measured_seen_{0};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> ended_early_{false};
  std::vector<Delivery> deliveries_;
  std::unordered_set<std::string> cursors_;
  int64_t duplicate_cursors_ = 0;
  int64_t heartbeats_ = 0;
  grpc::Status status_;
};

class StreamSet {
 public:
  void Opened() {
    std::lock_guard<std::mutex> lock(mu_);
    ++open_;
  }
  void Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    cv_.notify_all();
  }
  bool WaitAllDone(std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [this] { return open_ == 0; });
  }
  std::atomic<int64_t> total_created{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int open_ = 0;
};

void Reader::Proceed(bool ok) {
  switch (state_) {
    case State::kStarting:
    case State::kReading:
      if (!ok) {  // The stream ended (or never started): collect its status.
        state_ = State::kFinishing;
        reader_->Finish(&status_, this);
        return;
      }
      if (state_ == State::kReading) OnEvent();
      state_ = State::kReading;
      reader_->Read(&event_, this);
      return;
    case State::kFinishing:
      ended_early_.store(!cancelled_.load());
      set_.Finished();
      return;
  }
}

void Reader::OnEvent() {
  const int64_t now = NowNs();
  if (event_.type() == v1::MESSAGE_EVENT_TYPE_CREATED) {
    int64_t seq = -1;
    const std::string& content = event_.message().content();
    if (content.compare(0, sizeof(kSeqTag) - 1, kSeqTag) == 0) {
      seq = std::strtoll(content.c_str() + sizeof(kSeqTag) - 1, nullptr, 10);
    }
    if (record_) {
      if (!cursors_.insert(event_.cursor()).second) ++duplicate_cursors_;
      if (seq >= 0) {
        deliveries_.push_back({seq, now, std::hash<std::string>{}(event_.message().id())});
      }
    }
    if (seq >= 0) measured_seen_.fetch_add(1, std::memory_order_relaxed);
    created_seen_.fetch_add(1, std::memory_order_relaxed);
    set_.total_created.fetch_add(1, std::memory_order_relaxed);
  } else if (event_.type() == v1::MESSAGE_EVENT_TYPE_HEARTBEAT) {
    ++heartbeats_;
  }
}

// CreateMessage calls (async API); each records its ack.
class Publisher {
 public:
  struct Record {
    int64_t send_ns = 0;
    int64_t ack_ns = 0;
    int conversation = -1;
    bool ok = false;
    std::size_t id_hash = 0;
  };

  Publisher(const std::vector<std::shared_ptr<grpc::Channel>>& channels, CqPool& cqs,
            const Fixture& fixture, int content_bytes, int deadline_ms)
      : cqs_(cqs), fixture_(fixture), content_bytes_(content_bytes), deadline_ms_(deadline_ms) {
    for (const auto& ch : channels) stubs_.push_back(v1::MessagingService::NewStub(ch));
  }

  void Reserve(int64_t n) { records_.assign(static_cast<std::size_t>(n), Record{}); }
  std::vector<Record>& records() { return records_; }
  int64_t errors() const { return errors_.load(); }
  int64_t max_inflight() const { return max_inflight_.load(); }

  // seq >= 0: a measured message (records_[seq]); -1: warm-up/probe.
  void Publish(int64_t seq, int conversation) {
    struct Call : CqTag {
      Publisher* publisher = nullptr;
      grpc::ClientContext context;
      v1::CreateMessageRequest request;
      v1::Message response;
      grpc::Status status;
      std::unique_ptr<grpc::ClientAsyncResponseReader<v1::Message>> reader;
      int64_t seq = -1;
      void Proceed(bool /*ok*/) override {
        publisher->Acked(seq, status, response);
        delete this;
      }
    };
    auto* call = new Call;
    call->publisher = this;
    call->seq = seq;
    const auto d = fixture_.conversation_distributor[static_cast<std::size_t>(conversation)];
    call->context.AddMetadata("authorization",
                              "Bearer " + fixture_.tokens[static_cast<std::size_t>(d)]);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(deadline_ms_));
    auto* m = call->request.mutable_message();
    m->set_conversation_id(fixture_.conversations[static_cast<std::size_t>(conversation)]);
    m->set_direction(v1::DIRECTION_INBOUND);
    m->set_message_type(v1::MESSAGE_TYPE_TEXT);
    const int64_t send_ns = NowNs();
    std::string content =
        seq >= 0 ? kSeqTag + std::to_string(seq) + " t=" + std::to_string(send_ns) + " "
                 : std::string("bench warmup ");
    if (static_cast<int>(content.size()) < content_bytes_) {
      content.append(static_cast<std::size_t>(content_bytes_) - content.size(), 'x');
    }
    m->set_content(content);
    if (seq >= 0) {
      records_[static_cast<std::size_t>(seq)].send_ns = send_ns;
      records_[static_cast<std::size_t>(seq)].conversation = conversation;
    }
    {
      // Bounded: the server rejects calls beyond its thread quota (RESOURCE_EXHAUSTED).
      std::unique_lock<std::mutex> lock(mu_);
      idle_.wait(lock, [this] { return inflight_.load() < kMaxInflight; });
    }
    const int64_t now_inflight = inflight_.fetch_add(1) + 1;
    int64_t prev = max_inflight_.load();
    while (now_inflight > prev && !max_inflight_.compare_exchange_weak(prev, now_inflight)) {
    }
    const std::size_t n = next_stub_.fetch_add(1);
    call->reader = stubs_[n % stubs_.size()]->PrepareAsyncCreateMessage(&call->context,
                                                                        call->request, cqs_.cq(n));
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
  }

  void Acked(int64_t seq, const grpc::Status& st, const v1::Message& response) {
    const int64_t ack = NowNs();
    if (!st.ok()) {
      if (errors_.fetch_add(1) < 5) {
        std::fprintf(stderr, "messaging-bench: CreateMessage failed: %d %s\n", st.error_code(),
                     st.error_message().c_str());
      }
    } else if (seq >= 0) {
      Record& r = records_[static_cast<std::size_t>(seq)];
      r.ack_ns = ack;
      r.ok = true;
      r.id_hash = std::hash<std::string>{}(response.id());
    }
    std::lock_guard<std::mutex> lock(mu_);
    --inflight_;
    idle_.notify_all();
  }

  bool WaitIdle(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return idle_.wait_for(lock, timeout, [this] { return inflight_.load() == 0; });
  }

 private:
  static constexpr int64_t kMaxInflight = 32;
  CqPool& cqs_;
  const Fixture& fixture_;
  const int content_bytes_;
  const int deadline_ms_;
  std::vector<std::unique_ptr<v1::MessagingService::Stub>> stubs_;
  std::vector<Record> records_;
  std::atomic<int64_t> inflight_{0};
  std::atomic<int64_t> max_inflight_{0};
  std::atomic<int64_t> errors_{0};
  std::atomic<std::size_t> next_stub_{0};
  std::mutex mu_;
  std::condition_variable idle_;
};

struct Streams {
  explicit Streams(CqPool& pool) : cqs(pool) {}
  CqPool& cqs;
  StreamSet set;
  std::vector<std::unique_ptr<Reader>> readers;
  std::vector<std::unique_ptr<v1::MessagingService::Stub>> stubs;
};

// Opens `n` streams: round(n * wide_fraction) distributor-wide (round robin
// over distributors), the rest on distinct conversations (wrapping around).
void OpenStreams(Streams& s, const Fixture& fixture, int n, double wide_fraction, bool record,
                 std::mt19937_64& rng, std::vector<int>& conversation_order, int& next_wide,
                 int& next_conversation) {
  const int wide_target = static_cast<int>(std::lround(static_cast<double>(n) * wide_fraction));
  for (int i = 0; i < n; ++i) {
    const bool wide = i < wide_target;
    int distributor, conversation = -1;
    if (wide) {
      distributor = next_wide++ % static_cast<int>(fixture.distributors.size());
    } else {
      if (conversation_order.empty()) {
        conversation_order.resize(fixture.conversations.size());
        std::iota(conversation_order.begin(), conversation_order.end(), 0);
        std::shuffle(conversation_order.begin(), conversation_order.end(), rng);
      }
      conversation = conversation_order[static_cast<std::size_t>(next_conversation++) %
                                        conversation_order.size()];
      distributor = fixture.conversation_distributor[static_cast<std::size_t>(conversation)];
    }
    auto reader = std::make_unique<Reader>(s.set, distributor, conversation, record);
    s.set.Opened();
    const std::size_t stub = s.readers.size() % s.stubs.size();
    reader->Begin(
        *s.stubs[stub], s.cqs.cq(s.readers.size()),
        fixture.tokens[static_cast<std::size_t>(distributor)],
        conversation < 0 ? "" : fixture.conversations[static_cast<std::size_t>(conversation)]);
    s.readers.push_back(std::move(reader));
  }
}

// Publishes probe messages until every stream has received at least one
// CREATED event: proof that each is registered and live on the server.
bool ProbeUntilLive(Streams& s, Publisher& publisher, const Fixture& fixture, std::mt19937_64& rng,
                    std::chrono::seconds timeout) {
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    std::set<int> conversations;
    std::set<int> distributors;
    for (const auto& r : s.readers) {
      if (r->created_seen() > 0) continue;
      if (r->ended_early()) Die("a stream ended early: " + r->status().error_message());
      if (r->conversation() >= 0) {
        conversations.insert(r->conversation());
      } else {
        distributors.insert(r->distributor());
      }
    }
    if (conversations.empty() && distributors.empty()) return true;
    for (int c : conversations) {
      distributors.erase(fixture.conversation_distributor[static_cast<std::size_t>(c)]);
      publisher.Publish(-1, c);
    }
    for (int d : distributors) {
      const auto& own = fixture.conversations_of[static_cast<std::size_t>(d)];
      if (own.empty()) Die("distributor without conversations in the fixture");
      publisher.Publish(-1, own[rng() % own.size()]);
    }
    publisher.WaitIdle(std::chrono::seconds(30));
    if (publisher.errors() > 0) Die("probe messages failed");
    const auto all_live = [&] {
      return std::all_of(s.readers.begin(), s.readers.end(),
                         [](const auto& r) { return r->created_seen() > 0; });
    };
    if (PollUntil(all_live, std::chrono::seconds(2), std::chrono::milliseconds(20))) return true;
  }
  return false;
}

void CloseStreams(Streams& s) {
  for (auto& r : s.readers) r->Cancel();
  if (!s.set.WaitAllDone(std::chrono::seconds(60))) Die("streams did not finish after cancel");
}

}  // namespace

int RunFanout(Flags& flags) {
  const std::string target = flags.Str("target", "127.0.0.1:50051");
  const Fixture fixture = Fixture::Load(flags.Str("fixture", ""));
  const int subscribers = static_cast<int>(flags.Int("subscribers", 1000));
  const double wide_fraction = flags.Double("wide-fraction", 0.1);
  const double rate = flags.Double("rate", 500);
  const double duration = flags.Double("duration", 10);
  const double baseline_secs = flags.Double("baseline", 3);
  const double drain_secs = flags.Double("drain", 5);
  const int channels_n = static_cast<int>(flags.Int("channels", 10));
  const int deadline_ms = static_cast<int>(flags.Int("deadline-ms", 10000));
  const int content_bytes = static_cast<int>(flags.Int("content-bytes", 64));
  const int server_pid = static_cast<int>(flags.Int("server-pid", 0));
  const int client_threads = static_cast<int>(flags.Int("client-threads", 2));
  flags.CheckAllUsed();
  if (rate <= 0 || duration <= 0) Die("--rate and --duration must be positive");

  std::mt19937_64 rng(std::random_device{}());
  CqPool cqs(client_threads);  // Outlives every call below.
  const auto pub_channels = ConnectChannels(target, 2);
  Publisher publisher(pub_channels, cqs, fixture, content_bytes, deadline_ms);
  auto random_conversation = [&] { return static_cast<int>(rng() % fixture.conversations.size()); };
  auto paced = [&](double secs, int64_t first_seq) {
    const int64_t n = static_cast<int64_t>(secs * rate);
    const auto start = Clock::now();
    for (int64_t k = 0; k < n; ++k) {
      SleepUntilNth(start, k, rate);
      publisher.Publish(first_seq < 0 ? -1 : first_seq + k, random_conversation());
    }
    if (!publisher.WaitIdle(std::chrono::milliseconds(deadline_ms) + std::chrono::seconds(5))) {
      Die("CreateMessage calls did not finish");
    }
    return n;
  };

  // 1. Server CPU for the publishing alone (no subscribers).
  double cpu_per_sec_without_streams = 0;
  if (baseline_secs > 0 && server_pid > 0) {
    paced(0.5, -1);  // Warm the path.
    cpu_per_sec_without_streams = CpuShareWhile(server_pid, [&] { paced(baseline_secs, -1); });
  }

  // 2. Subscribers, proven live.
  Streams streams(cqs);
  for (const auto& ch : ConnectChannels(target, channels_n)) {
    streams.stubs.push_back(v1::MessagingService::NewStub(ch));
  }
  std::vector<int> order;
  int next_wide = 0, next_conversation = 0;
  OpenStreams(streams, fixture, subscribers, wide_fraction, true, rng, order, next_wide,
              next_conversation);
  if (!ProbeUntilLive(streams, publisher, fixture, rng, std::chrono::seconds(60))) {
    Die("not every stream received a probe event within 60 s");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  // 3. Measured: paced publishing, then drain.
  const int64_t planned = static_cast<int64_t>(duration * rate);
  publisher.Reserve(planned);
  const ProcSample cpu_a = ReadProc(server_pid);
  const int64_t created_a = streams.set.total_created.load();
  const auto t_start = Clock::now();
  paced(duration, 0);
  const auto t_published = Clock::now();

  std::vector<int64_t> expected(streams.readers.size(), 0);
  {
    std::unordered_map<int, std::vector<int>> by_conversation, wide_by_distributor;
    for (std::size_t i = 0; i < streams.readers.size(); ++i) {
      const auto& r = streams.readers[i];
      if (r->conversation() >= 0) {
        by_conversation[r->conversation()].push_back(static_cast<int>(i));
      } else {
        wide_by_distributor[r->distributor()].push_back(static_cast<int>(i));
      }
    }
    for (const auto& rec : publisher.records()) {
      if (!rec.ok) continue;
      for (int i : by_conversation[rec.conversation]) ++expected[static_cast<std::size_t>(i)];
      const int d = fixture.conversation_distributor[static_cast<std::size_t>(rec.conversation)];
      for (int i : wide_by_distributor[d]) ++expected[static_cast<std::size_t>(i)];
    }
  }
  // Until every stream has its events, or the drain time is over (what is
  // missing then is counted as lost below).
  const auto all_delivered = [&] {
    for (std::size_t i = 0; i < streams.readers.size(); ++i) {
      if (streams.readers[i]->measured_seen() < expected[i]) return false;
    }
    return true;
  };
  PollUntil(all_delivered, std::chrono::microseconds(static_cast<int64_t>(drain_secs * 1e6)),
            std::chrono::milliseconds(5));
  const auto t_end = Clock::now();
  const ProcSample cpu_b = ReadProc(server_pid);
  const int64_t created_b = streams.set.total_created.load();
  CloseStreams(streams);

  // 4. Every subscriber: each expected message exactly once.
  const auto& recs = publisher.records();
  int64_t lost = 0, duplicated = 0, wrong_id = 0, dup_cursors = 0, ended_early = 0, delivered = 0,
          expected_total = 0, unexpected = 0;
  std::vector<int64_t> upper, lower;
  std::unordered_map<int, std::vector<int>> by_conversation_seq;
  for (std::size_t i = 0; i < streams.readers.size(); ++i) {
    Reader& r = *streams.readers[i];
    if (r.ended_early()) {
      ++ended_early;
      std::fprintf(stderr, "messaging-bench: stream ended early: %d %s\n", r.status().error_code(),
                   r.status().error_message().c_str());
    }
    dup_cursors += r.duplicate_cursors();
    std::unordered_map<int64_t, int> seen;
    for (const Delivery& d : r.deliveries()) {
      if (d.seq >= static_cast<int64_t>(recs.size())) {
        ++unexpected;
        continue;
      }
      const auto& rec = recs[static_cast<std::size_t>(d.seq)];
      const int dist = fixture.conversation_distributor[static_cast<std::size_t>(rec.conversation)];
      const bool in_scope =
          r.conversation() >= 0 ? rec.conversation == r.conversation() : dist == r.distributor();
      if (!in_scope) {
        ++unexpected;
        continue;
      }
      if (++seen[d.seq] > 1) {
        ++duplicated;
        continue;
      }
      ++delivered;
      if (d.id_hash != rec.id_hash) ++wrong_id;
      upper.push_back(d.recv_ns - rec.send_ns);
      lower.push_back(std::max<int64_t>(0, d.recv_ns - rec.ack_ns));
    }
    expected_total += expected[i];
    lost += expected[i] - static_cast<int64_t>(seen.size());
  }
  const LatencySummary up = Summarize(upper);
  const LatencySummary low = Summarize(lower);
  const double window = std::chrono::duration<double>(t_end - t_start).count();
  const double publish_secs = std::chrono::duration<double>(t_published - t_start).count();
  const int64_t events_in_window = created_b - created_a;
  double cpu_s = -1, cpu_us_per_event = -1, marginal_us_per_event = -1;
  if (cpu_a.cpu_ticks >= 0 && cpu_b.cpu_ticks >= 0 && events_in_window > 0) {
    cpu_s = TicksToSeconds(cpu_b.cpu_ticks - cpu_a.cpu_ticks);
    cpu_us_per_event = cpu_s * 1e6 / static_cast<double>(events_in_window);
    marginal_us_per_event = (cpu_s - cpu_per_sec_without_streams * window) * 1e6 /
                            static_cast<double>(events_in_window);
  }
  int wide = 0;
  for (const auto& r : streams.readers) wide += r->conversation() < 0 ? 1 : 0;
  std::printf(
      "fan-out: %d subscribers (%d distributor-wide, %d per-conversation), %lld messages in "
      "%.2f s (%.0f/s), max %lld CreateMessage in flight\n",
      subscribers, wide, subscribers - wide, static_cast<long long>(recs.size()), publish_secs,
      static_cast<double>(recs.size()) / publish_secs,
      static_cast<long long>(publisher.max_inflight()));
  std::printf("deliveries: %lld expected, %lld delivered once, %lld lost, %lld duplicated\n",
              static_cast<long long>(expected_total), static_cast<long long>(delivered),
              static_cast<long long>(lost), static_cast<long long>(duplicated));
  std::printf("send->delivery (upper bound of commit->delivery): %s\n", Format(up, "").c_str());
  std::printf("ack->delivery  (lower bound of commit->delivery): %s\n", Format(low, "").c_str());
  if (cpu_s >= 0) {
    std::printf(
        "server CPU: %.2f s in %.2f s (%.0f%%); %.1f us per delivered event overall, %.1f us "
        "marginal (minus %.0f%% CPU for the creates alone)\n",
        cpu_s, window, 100 * cpu_s / window, cpu_us_per_event, marginal_us_per_event,
        100 * cpu_per_sec_without_streams);
  }
  const bool ok = lost == 0 && duplicated == 0 && wrong_id == 0 && dup_cursors == 0 &&
                  ended_early == 0 && unexpected == 0 && publisher.errors() == 0 &&
                  static_cast<int64_t>(recs.size()) == planned;
  std::printf(
      "RESULT mode=fanout subscribers=%d wide=%d rate=%.0f published=%lld publish_errors=%lld "
      "expected=%lld delivered=%lld lost=%lld duplicated=%lld duplicate_cursors=%lld "
      "wrong_id=%lld unexpected=%lld ended_early=%lld %s low_p50_ms=%.3f low_p99_ms=%.3f "
      "server_cpu_us_per_event=%.2f server_cpu_us_per_event_marginal=%.2f ok=%d\n",
      subscribers, wide, rate, static_cast<long long>(recs.size()),
      static_cast<long long>(publisher.errors()), static_cast<long long>(expected_total),
      static_cast<long long>(delivered), static_cast<long long>(lost),
      static_cast<long long>(duplicated), static_cast<long long>(dup_cursors),
      static_cast<long long>(wrong_id), static_cast<long long>(unexpected),
      static_cast<long long>(ended_early), Format(up, "").c_str(), low.p50_ms, low.p99_ms,
      cpu_us_per_event, marginal_us_per_event, ok ? 1 : 0);
  return ok ? 0 : 1;
}

int RunIdle(Flags& flags) {
  const std::string target = flags.Str("target", "127.0.0.1:50051");
  const Fixture fixture = Fixture::Load(flags.Str("fixture", ""));
  const int n = static_cast<int>(flags.Int("streams", 10000));
  const int base = static_cast<int>(flags.Int("baseline-streams", 10));
  const double wide_fraction = flags.Double("wide-fraction", 0.1);
  const double hold = flags.Double("hold", 5);
  const double settle = flags.Double("settle", 2);
  const int per_channel = static_cast<int>(flags.Int("streams-per-channel", 500));
  const int server_pid = static_cast<int>(flags.Int("server-pid", 0));
  const int deadline_ms = static_cast<int>(flags.Int("deadline-ms", 10000));
  // --probe=0: never send an event to the new streams (memory of streams that only
  // opened; their liveness is then not proven).
  const bool probe = flags.Int("probe", 1) != 0;
  const int client_threads = static_cast<int>(flags.Int("client-threads", 2));
  // --ready-file=PATH: created once every stream is live, so another load can
  // run against the server while the streams are held open (run.sh health).
  const std::string ready_file = flags.Str("ready-file", "");
  flags.CheckAllUsed();
  if (server_pid <= 0) Die("--server-pid is required (RSS and threads are read from /proc)");
  if (n <= base) Die("--streams must exceed --baseline-streams");

  std::mt19937_64 rng(std::random_device{}());
  CqPool cqs(client_threads);  // Outlives every call below.
  Publisher publisher(ConnectChannels(target, 1), cqs, fixture, 64, deadline_ms);
  Streams streams(cqs);
  for (const auto& ch : ConnectChannels(target, std::max(1, (n + per_channel - 1) / per_channel))) {
    streams.stubs.push_back(v1::MessagingService::NewStub(ch));
  }
  std::vector<int> order;
  int next_wide = 0, next_conversation = 0;
  const auto settle_for = std::chrono::microseconds(static_cast<int64_t>(settle * 1e6));

  OpenStreams(streams, fixture, base, wide_fraction, false, rng, order, next_wide,
              next_conversation);
  if (!ProbeUntilLive(streams, publisher, fixture, rng, std::chrono::seconds(60))) {
    Die("baseline streams are not live");
  }
  std::this_thread::sleep_for(settle_for);
  const ProcSample a = ReadProc(server_pid);
  const std::string threads_a = ThreadNames(server_pid);

  const auto t_open = Clock::now();
  OpenStreams(streams, fixture, n - base, wide_fraction, false, rng, order, next_wide,
              next_conversation);
  std::this_thread::sleep_for(settle_for);
  const ProcSample opened = ReadProc(server_pid);  // Before any event flowed to the new streams.
  if (probe && !ProbeUntilLive(streams, publisher, fixture, rng, std::chrono::seconds(120))) {
    int live = 0;
    for (const auto& r : streams.readers) live += r->created_seen() > 0 ? 1 : 0;
    Die("only " + std::to_string(live) + " of " + std::to_string(n) + " streams are live");
  }
  const double open_secs = std::chrono::duration<double>(Clock::now() - t_open).count();
  std::this_thread::sleep_for(settle_for);
  const ProcSample b = ReadProc(server_pid);
  const std::string threads_b = ThreadNames(server_pid);
  if (!ready_file.empty()) std::ofstream(ready_file) << "live\n";
  ProcSample peak = b;
  const auto hold_until =
      Clock::now() + std::chrono::microseconds(static_cast<int64_t>(hold * 1e6));
  while (Clock::now() < hold_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const ProcSample p = ReadProc(server_pid);
    peak.rss_kib = std::max(peak.rss_kib, p.rss_kib);
    peak.threads = std::max(peak.threads, p.threads);
  }
  int early = 0;
  for (const auto& r : streams.readers) early += r->ended_early() ? 1 : 0;
  const ProcSample client = ReadProc(static_cast<int>(getpid()));
  CloseStreams(streams);

  const double extra = static_cast<double>(n - base);
  const double kib_live = static_cast<double>(b.rss_kib - a.rss_kib) / extra;
  const double kib_opened = static_cast<double>(opened.rss_kib - a.rss_kib) / extra;
  const double kib_peak = static_cast<double>(peak.rss_kib - a.rss_kib) / extra;
  std::printf("server with %d streams: RSS %lld KiB, %d threads\n", base,
              static_cast<long long>(a.rss_kib), a.threads);
  std::printf(
      "server with %d streams: RSS %lld KiB after opening (%.2f KiB/stream), %lld KiB once "
      "every stream received an event (%.2f KiB/stream), peak %lld KiB while held %.0f s "
      "(%.2f KiB/stream); threads %d (peak %d); all live %.1f s after opening\n",
      n, static_cast<long long>(opened.rss_kib), kib_opened, static_cast<long long>(b.rss_kib),
      kib_live, static_cast<long long>(peak.rss_kib), hold, kib_peak, b.threads, peak.threads,
      open_secs);
  std::printf("server threads with %d streams: %s\nserver threads with %d streams: %s\n", base,
              threads_a.c_str(), n, threads_b.c_str());
  std::printf("client (this process): RSS %lld KiB, %d threads\n",
              static_cast<long long>(client.rss_kib), client.threads);
  const bool ok = early == 0 && publisher.errors() == 0;
  std::printf(
      "RESULT mode=idle streams=%d base_streams=%d base_rss_kib=%lld rss_kib=%lld "
      "kib_per_stream=%.2f kib_per_stream_before_events=%.2f kib_per_stream_peak=%.2f "
      "threads_base=%d threads=%d threads_peak=%d ended_early=%d ok=%d\n",
      n, base, static_cast<long long>(a.rss_kib), static_cast<long long>(b.rss_kib), kib_live,
      kib_opened, kib_peak, a.threads, b.threads, peak.threads, early, ok ? 1 : 0);
  return ok ? 0 : 1;
}

}  // namespace bench
