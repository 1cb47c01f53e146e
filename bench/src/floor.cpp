// The transport floor of fan-out: what gRPC 1.51 itself costs per message
// written to a server stream on this machine, with no database, no hub and no
// service code. `floor-server` is a bare async server (generic API, one
// completion queue per thread); `floor-fanout` opens the streams and publishes
// at a paced rate, each publish making the server write one canned message to
// the next `per-event` streams. It measures the server's CPU the same way the
// `fanout` mode measures the service's: publishing alone, then with the
// streams, the difference per delivered message; and its memory per stream
// the way the `idle` mode does.
//
// What the bare server does not do that the service does: serialize a message
// per stream (one shared slice is written to all), and hop to each stream's
// own queue thread (the publish's thread starts every write).

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "async_client.h"
#include "bare_server.h"
#include "cli.h"
#include "latency.h"
#include "modes.h"
#include "proc_stats.h"

namespace bench {
namespace {

constexpr char kSubscribe[] = "/bench.Floor/Subscribe";
constexpr char kPublish[] = "/bench.Floor/Publish";

grpc::ByteBuffer BytesOf(const std::string& s) {
  grpc::Slice slice(s);
  return grpc::ByteBuffer(&slice, 1);
}

std::string StringOf(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return {};
  std::string out;
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// A publish's request: how many streams it is for, in decimal (0: none).
int CountOf(const grpc::ByteBuffer& request) { return std::atoi(StringOf(request).c_str()); }

// ---------------------------------------------------------------------------
// The server. Every call is one object on one tag: what a call is (a stream
// or a publish) is known only once it arrives, and each has at most one
// operation outstanding at a time.

class FloorServer;

class FloorCall {
 public:
  FloorCall(FloorServer* server, grpc::ServerCompletionQueue* cq, const grpc::ByteBuffer& payload)
      : server_(server), cq_(cq), payload_(payload) {}
  grpc::GenericServerContext* context() { return &context_; }
  grpc::GenericServerAsyncReaderWriter* stream() { return &stream_; }

  void Proceed(bool ok);
  // A stream: from any thread, one more message to write.
  void Offer();

 private:
  enum class State { kArriving, kStreaming, kReading, kReplying };

  FloorServer* const server_;
  grpc::ServerCompletionQueue* const cq_;
  const grpc::ByteBuffer payload_;  // Shares the server's slice: no copy per write.
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  grpc::ByteBuffer request_;
  std::mutex mu_;  // A stream's write state: Offer runs on publishing threads.
  State state_ = State::kArriving;
  bool in_flight_ = false;
  bool dead_ = false;
  int64_t backlog_ = 0;
};

class FloorServer {
 public:
  FloorServer(int port, int threads, int payload_bytes)
      : payload_(BytesOf(std::string(static_cast<std::size_t>(payload_bytes), 'x'))) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureServerCredentials());
    builder.RegisterAsyncGenericService(&service_);
    for (int i = 0; i < threads; ++i) cqs_.push_back(builder.AddCompletionQueue());
    server_ = builder.BuildAndStart();
    if (!server_) Die("floor-server: cannot listen on port " + std::to_string(port));
  }

  // Serves until the process is killed (the load generator's script kills
  // it) or `max_runtime` has passed, whichever comes first.
  [[noreturn]] void Run(std::chrono::seconds max_runtime) {
    for (auto& cq : cqs_) {
      Listen(cq.get());
      ServeDetached<FloorCall>(cq.get());
    }
    ExitAfter("floor-server", max_runtime);
  }

  void Listen(grpc::ServerCompletionQueue* cq) {
    auto* call = new FloorCall(this, cq, payload_);
    service_.RequestCall(call->context(), call->stream(), cq, cq, call);
  }

  void AddSubscriber(FloorCall* call) {
    std::lock_guard<std::mutex> lock(mu_);
    subscribers_.push_back(call);
  }

  // One publish: a message to each of the next `k` streams, round robin.
  void WriteToNext(int k) {
    std::vector<FloorCall*> chosen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (subscribers_.empty()) return;
      for (int i = 0; i < k; ++i) chosen.push_back(subscribers_[next_++ % subscribers_.size()]);
    }
    for (FloorCall* s : chosen) s->Offer();
  }

 private:
  grpc::AsyncGenericService service_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs_;
  std::unique_ptr<grpc::Server> server_;
  const grpc::ByteBuffer payload_;
  std::mutex mu_;
  std::vector<FloorCall*> subscribers_;  // Never freed: the process ends with them.
  std::size_t next_ = 0;
};

void FloorCall::Proceed(bool ok) {
  switch (state_) {
    case State::kArriving:
      if (!ok) {  // Shutting down.
        delete this;
        return;
      }
      server_->Listen(cq_);
      if (context_.method() == kSubscribe) {
        state_ = State::kStreaming;
        server_->AddSubscriber(this);
        Offer();  // The first message tells the client the stream is open.
      } else {
        state_ = State::kReading;
        stream_.Read(&request_, this);
      }
      return;
    case State::kStreaming: {  // A write completed.
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ = false;
      if (!ok) {
        dead_ = true;  // The client went away: nothing more is written.
      } else if (backlog_ > 0) {
        --backlog_;
        in_flight_ = true;
        stream_.Write(payload_, this);
      }
      return;
    }
    case State::kReading:
      if (!ok) {
        delete this;
        return;
      }
      state_ = State::kReplying;
      server_->WriteToNext(CountOf(request_));
      stream_.WriteAndFinish(BytesOf(""), grpc::WriteOptions(), grpc::Status::OK, this);
      return;
    case State::kReplying:
      delete this;
      return;
  }
}

void FloorCall::Offer() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dead_) return;
  if (in_flight_) {
    ++backlog_;
    return;
  }
  in_flight_ = true;
  stream_.Write(payload_, this);
}

// ---------------------------------------------------------------------------
// The client.

// One stream: counts what it reads.
class FloorReader final : public CqTag {
 public:
  FloorReader(grpc::GenericStub& stub, grpc::CompletionQueue* cq, std::atomic<int64_t>* opened,
              std::atomic<int64_t>* received)
      : opened_(opened), received_(received) {
    stream_ = stub.PrepareCall(&context_, kSubscribe, cq);
    stream_->StartCall(this);
  }
  void Cancel() { context_.TryCancel(); }
  bool done() const { return done_.load(); }

  void Proceed(bool ok) override {
    if (!ok) {  // Cancelled at the end.
      done_ = true;
      return;
    }
    if (started_) {
      if (first_) {
        first_ = false;
        opened_->fetch_add(1);
      } else {
        received_->fetch_add(1);
      }
    }
    started_ = true;
    stream_->Read(&message_, this);
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  grpc::ByteBuffer message_;
  std::atomic<int64_t>* const opened_;
  std::atomic<int64_t>* const received_;
  bool started_ = false;
  bool first_ = true;
  std::atomic<bool> done_{false};
};

// One publish, as a generic streaming call: a request, its reply, the status.
// (A generic unary call would do, but gcc 12 warns of null dereferences
// inside gRPC's unary client template when it is instantiated here.)
class PublishCall final : public CqTag {
 public:
  PublishCall(grpc::GenericStub& stub, grpc::CompletionQueue* cq, int k,
              std::atomic<int64_t>* pending, std::atomic<int64_t>* failed)
      : request_(BytesOf(std::to_string(k))), pending_(pending), failed_(failed) {
    pending_->fetch_add(1);
    stream_ = stub.PrepareCall(&context_, kPublish, cq);
    stream_->StartCall(this);
  }

  void Proceed(bool ok) override {
    switch (step_++) {
      case 0:  // Started.
        if (ok) return stream_->WriteLast(request_, grpc::WriteOptions(), this);
        break;
      case 1:  // Written.
        if (ok) return stream_->Read(&reply_, this);
        break;
      case 2:  // Replied (or not: the status says).
        return stream_->Finish(&status_, this);
      default:
        if (!status_.ok()) failed_->fetch_add(1);
        pending_->fetch_sub(1);
        delete this;
        return;
    }
    step_ = 3;  // A step failed: the status says why.
    stream_->Finish(&status_, this);
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> stream_;
  const grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
  grpc::Status status_;
  int step_ = 0;
  std::atomic<int64_t>* const pending_;
  std::atomic<int64_t>* const failed_;
};

// `secs * rate` publishes, paced, each asking the server to write to `k`
// streams; returns once every one has its reply.
int64_t PublishPaced(std::vector<std::unique_ptr<grpc::GenericStub>>& stubs, CqPool& cqs,
                     double rate, double secs, int k) {
  std::atomic<int64_t> pending{0}, failed{0};
  const int64_t n = static_cast<int64_t>(secs * rate);
  const auto start = Clock::now();
  for (int64_t i = 0; i < n; ++i) {
    SleepUntilNth(start, i, rate);
    const auto slot = static_cast<std::size_t>(i);
    new PublishCall(*stubs[slot % stubs.size()], cqs.cq(slot), k, &pending, &failed);
  }
  const bool replied = PollUntil([&] { return pending.load() == 0; }, std::chrono::seconds(10));
  if (!replied || failed.load() > 0) Die("floor-fanout: publishes failed");
  return n;
}

}  // namespace

int RunFloorServer(Flags& flags) {
  const int port = static_cast<int>(flags.Int("port", 0));
  const int threads = static_cast<int>(flags.Int("threads", std::thread::hardware_concurrency()));
  const int payload_bytes = static_cast<int>(flags.Int("payload-bytes", 600));
  const int max_seconds = static_cast<int>(flags.Int("max-seconds", 900));
  flags.CheckAllUsed();
  if (port <= 0) Die("floor-server: --port is required");
  if (max_seconds <= 0) Die("floor-server: --max-seconds must be positive");
  // Ends with the script that started it, even if that script is killed.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  FloorServer server(port, std::max(1, threads), payload_bytes);
  std::printf("floor-server: serving on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  server.Run(std::chrono::seconds(max_seconds));
}

int RunFloorFanout(Flags& flags) {
  const std::string target = flags.Str("target", "");
  const int server_pid = static_cast<int>(flags.Int("server-pid", 0));
  const int streams_n = static_cast<int>(flags.Int("streams", 1000));
  const int channels_n = static_cast<int>(flags.Int("channels", 10));
  const double rate = flags.Double("rate", 500);
  const int per_event = static_cast<int>(flags.Int("per-event", 11));
  const double duration = flags.Double("duration", 10);
  const double baseline_secs = flags.Double("baseline", 3);
  const int client_threads = static_cast<int>(flags.Int("client-threads", 2));
  const int baseline_streams = static_cast<int>(flags.Int("baseline-streams", 10));
  const double settle = flags.Double("settle", 2);
  flags.CheckAllUsed();
  if (server_pid <= 0) Die("floor-fanout: --server-pid is required (its CPU is the figure)");
  if (baseline_streams <= 0 || streams_n <= baseline_streams) {
    Die("floor-fanout: --streams must exceed --baseline-streams, which must be positive");
  }
  if (rate <= 0 || duration <= 0 || baseline_secs <= 0 || per_event <= 0) {
    Die("floor-fanout: --rate, --duration, --baseline and --per-event must be positive");
  }

  CqPool cqs(client_threads);
  std::vector<std::unique_ptr<grpc::GenericStub>> publishers;
  for (const auto& ch : ConnectChannels(target, 2)) {
    publishers.push_back(std::make_unique<grpc::GenericStub>(ch));
  }

  // 1. Publishing alone: the server's CPU per second with no stream to write to.
  PublishPaced(publishers, cqs, rate, 0.5, 0);
  const double cpu_share_alone =
      CpuShareWhile(server_pid, [&] { PublishPaced(publishers, cqs, rate, baseline_secs, 0); });

  // 2. The streams, each proven open by its first message: a few first, then
  // the rest, memory read after each (after a settle, as the `idle` mode does).
  std::vector<std::unique_ptr<grpc::GenericStub>> stubs;
  for (const auto& ch : ConnectChannels(target, channels_n)) {
    stubs.push_back(std::make_unique<grpc::GenericStub>(ch));
  }
  std::atomic<int64_t> opened{0}, received{0};
  std::vector<std::unique_ptr<FloorReader>> readers;
  const auto open_until = [&](int total) {
    while (static_cast<int>(readers.size()) < total) {
      const auto i = readers.size();
      readers.push_back(
          std::make_unique<FloorReader>(*stubs[i % stubs.size()], cqs.cq(i), &opened, &received));
    }
    if (!PollUntil([&] { return opened.load() >= total; }, std::chrono::seconds(60))) {
      Die("floor-fanout: streams did not open within 60 s");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(settle * 1e6)));
    return ReadProc(server_pid);
  };
  const ProcSample with_baseline_streams = open_until(baseline_streams);
  const ProcSample with_all_streams = open_until(streams_n);
  const double kib_per_stream =
      static_cast<double>(with_all_streams.rss_kib - with_baseline_streams.rss_kib) /
      static_cast<double>(streams_n - baseline_streams);

  // 3. Measured: paced publishes, each written to `per_event` streams, until all arrive.
  const auto measured_start = Clock::now();
  const ProcSample cpu_start = ReadProc(server_pid);
  const int64_t published = PublishPaced(publishers, cqs, rate, duration, per_event);
  const int64_t expected = published * per_event;
  if (!PollUntil([&] { return received.load() >= expected; }, std::chrono::seconds(30))) {
    Die("floor-fanout: not every message arrived within 30 s");
  }
  const ProcSample cpu_end = ReadProc(server_pid);
  const double secs = std::chrono::duration<double>(Clock::now() - measured_start).count();
  const double cpu = TicksToSeconds(cpu_end.cpu_ticks - cpu_start.cpu_ticks);
  const double us_per_delivery = cpu * 1e6 / static_cast<double>(expected);
  const double marginal_us_per_delivery =
      (cpu - cpu_share_alone * secs) * 1e6 / static_cast<double>(expected);

  for (auto& r : readers) r->Cancel();
  const auto all_ended = [&] {
    return std::all_of(readers.begin(), readers.end(), [](const auto& r) { return r->done(); });
  };
  if (!PollUntil(all_ended, std::chrono::seconds(10))) {
    Die("floor-fanout: streams did not end after cancel");
  }
  if (received.load() != expected) Die("floor-fanout: more messages arrived than were written");
  // The CPU keys are the `fanout` mode's, which also divides by deliveries.
  std::printf(
      "RESULT mode=floor-fanout streams=%d channels=%d rate=%.0f per_event=%d published=%lld "
      "delivered=%lld server_cpu_us_per_event=%.2f server_cpu_us_per_event_marginal=%.2f "
      "kib_per_stream=%.2f ok=1\n",
      streams_n, channels_n, rate, per_event, static_cast<long long>(published),
      static_cast<long long>(received.load()), us_per_delivery, marginal_us_per_delivery,
      kib_per_stream);
  return 0;
}

}  // namespace bench
