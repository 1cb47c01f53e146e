// Closed-loop unary load: `concurrency` slots, each with exactly one call in
// flight, issued with the async API on a few completion-queue threads (no
// thread per call or per slot: the next call starts from the previous one's
// completion, on the queue's thread). Calls completed inside the measurement
// window count.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "async_client.h"
#include "cli.h"
#include "fixture.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "latency.h"
#include "messaging/v1/messaging.grpc.pb.h"
#include "modes.h"
#include "proc_stats.h"

namespace bench {
namespace {

namespace v1 = ::messaging::v1;
using Done = std::function<void(const grpc::Status&)>;

// One kind of call. Start() must call `done` exactly once.
class Workload {
 public:
  virtual ~Workload() = default;
  virtual void Start(int slot, std::mt19937_64& rng, Done done) = 0;
};

std::string RandomHex(std::mt19937_64& rng, int chars) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(static_cast<std::size_t>(chars));
  uint64_t bits = rng();
  for (int i = 0; i < chars; ++i) {
    if (i % 16 == 15) bits = rng();
    out.push_back(digits[bits & 15]);
    bits >>= 4;
  }
  return out;
}

std::string Content(int bytes, std::mt19937_64& rng) {
  std::string c = "bench inbound message " + RandomHex(rng, 8) + " ";
  if (static_cast<int>(c.size()) < bytes) c.append(static_cast<std::size_t>(bytes) - c.size(), 'x');
  return c;
}

// One async unary call: its context, messages and status; `check` may turn an
// OK reply into an error (e.g. a short page); `done` gets the final status.
template <typename Request, typename Response>
struct Call : CqTag {
  grpc::ClientContext context;
  Request request;
  Response response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader;
  std::function<grpc::Status(const Response&)> check;
  Done done;

  void Proceed(bool /*ok*/) override {
    if (status.ok() && check) status = check(response);
    Done finish = std::move(done);
    const grpc::Status st = status;
    delete this;
    finish(st);
  }
};

template <typename Request, typename Response>
void Launch(Call<Request, Response>* call,
            std::unique_ptr<grpc::ClientAsyncResponseReader<Response>> reader) {
  call->reader = std::move(reader);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
}

class HealthWorkload : public Workload {
 public:
  HealthWorkload(const std::vector<std::shared_ptr<grpc::Channel>>& channels, CqPool& cqs,
                 int deadline_ms)
      : cqs_(cqs), deadline_ms_(deadline_ms) {
    for (const auto& ch : channels) stubs_.push_back(grpc::health::v1::Health::NewStub(ch));
  }
  void Start(int slot, std::mt19937_64& /*rng*/, Done done) override {
    using Response = grpc::health::v1::HealthCheckResponse;
    auto* call = new Call<grpc::health::v1::HealthCheckRequest, Response>;
    call->done = std::move(done);
    call->check = [](const Response& r) {
      return r.status() == Response::SERVING
                 ? grpc::Status::OK
                 : grpc::Status(grpc::StatusCode::UNAVAILABLE, "health: not SERVING");
    };
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(deadline_ms_));
    const auto i = static_cast<std::size_t>(slot);
    Launch(call,
           stubs_[i % stubs_.size()]->PrepareAsyncCheck(&call->context, call->request, cqs_.cq(i)));
  }

 private:
  CqPool& cqs_;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> stubs_;
  int deadline_ms_;
};

class MessagingWorkload : public Workload {
 public:
  MessagingWorkload(const std::vector<std::shared_ptr<grpc::Channel>>& channels, CqPool& cqs,
                    const Fixture& fixture, int deadline_ms)
      : cqs_(cqs), fixture_(fixture), deadline_ms_(deadline_ms) {
    for (const auto& ch : channels) stubs_.push_back(v1::MessagingService::NewStub(ch));
  }

 protected:
  void Prepare(grpc::ClientContext& context, int distributor) const {
    context.AddMetadata("authorization",
                        "Bearer " + fixture_.tokens[static_cast<std::size_t>(distributor)]);
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(deadline_ms_));
  }
  v1::MessagingService::Stub& Stub(int slot) {
    return *stubs_[static_cast<std::size_t>(slot) % stubs_.size()];
  }
  grpc::CompletionQueue* Cq(int slot) { return cqs_.cq(static_cast<std::size_t>(slot)); }
  int RandomConversation(std::mt19937_64& rng) const {
    return static_cast<int>(rng() % fixture_.conversations.size());
  }

  CqPool& cqs_;
  const Fixture& fixture_;
  const int deadline_ms_;
  std::vector<std::unique_ptr<v1::MessagingService::Stub>> stubs_;
};

// CreateMessage, inbound text with a Twilio-like external id, into a random
// conversation (uniform over the fixture), as that conversation's distributor.
class CreateWorkload : public MessagingWorkload {
 public:
  CreateWorkload(const std::vector<std::shared_ptr<grpc::Channel>>& channels, CqPool& cqs,
                 const Fixture& fixture, int deadline_ms, int content_bytes)
      : MessagingWorkload(channels, cqs, fixture, deadline_ms), content_bytes_(content_bytes) {}
  void Start(int slot, std::mt19937_64& rng, Done done) override {
    auto* call = new Call<v1::CreateMessageRequest, v1::Message>;
    call->done = std::move(done);
    const int conversation = RandomConversation(rng);
    Prepare(call->context,
            fixture_.conversation_distributor[static_cast<std::size_t>(conversation)]);
    auto* m = call->request.mutable_message();
    m->set_conversation_id(fixture_.conversations[static_cast<std::size_t>(conversation)]);
    m->set_direction(v1::DIRECTION_INBOUND);
    m->set_message_type(v1::MESSAGE_TYPE_TEXT);
    m->set_content(Content(content_bytes_, rng));
    m->set_external_message_id("SM" + RandomHex(rng, 32));
    Launch(call, Stub(slot).PrepareAsyncCreateMessage(&call->context, call->request, Cq(slot)));
  }

 private:
  const int content_bytes_;
};

// ListMessages: first page of a random conversation, or a fixed page token.
class ListMessagesWorkload : public MessagingWorkload {
 public:
  ListMessagesWorkload(const std::vector<std::shared_ptr<grpc::Channel>>& channels, CqPool& cqs,
                       const Fixture& fixture, int deadline_ms, int page_size, int conversation,
                       std::string page_token, std::string order_by)
      : MessagingWorkload(channels, cqs, fixture, deadline_ms),
        page_size_(page_size),
        conversation_(conversation),
        page_token_(std::move(page_token)),
        order_by_(std::move(order_by)) {}
  void Start(int slot, std::mt19937_64& rng, Done done) override {
    auto* call = new Call<v1::ListMessagesRequest, v1::ListMessagesResponse>;
    call->done = std::move(done);
    const int conversation = conversation_ >= 0 ? conversation_ : RandomConversation(rng);
    Prepare(call->context,
            fixture_.conversation_distributor[static_cast<std::size_t>(conversation)]);
    call->request.set_conversation_id(
        fixture_.conversations[static_cast<std::size_t>(conversation)]);
    call->request.set_page_size(page_size_);
    call->request.set_page_token(page_token_);
    call->request.set_order_by(order_by_);
    const int expected = page_size_;
    call->check = [expected](const v1::ListMessagesResponse& r) {
      if (r.messages_size() == expected) return grpc::Status::OK;
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "ListMessages returned " + std::to_string(r.messages_size()) +
                              " messages, expected a full page of " + std::to_string(expected));
    };
    Launch(call, Stub(slot).PrepareAsyncListMessages(&call->context, call->request, Cq(slot)));
  }

 private:
  const int page_size_;
  const int conversation_;
  const std::string page_token_;
  const std::string order_by_;
};

// ListConversations: first inbox page of a random distributor.
class ListConversationsWorkload : public MessagingWorkload {
 public:
  ListConversationsWorkload(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                            CqPool& cqs, const Fixture& fixture, int deadline_ms, int page_size)
      : MessagingWorkload(channels, cqs, fixture, deadline_ms), page_size_(page_size) {}
  void Start(int slot, std::mt19937_64& rng, Done done) override {
    auto* call = new Call<v1::ListConversationsRequest, v1::ListConversationsResponse>;
    call->done = std::move(done);
    const int distributor = static_cast<int>(rng() % fixture_.distributors.size());
    Prepare(call->context, distributor);
    call->request.set_page_size(page_size_);
    const int expected = page_size_;
    call->check = [expected](const v1::ListConversationsResponse& r) {
      if (r.conversations_size() == expected) return grpc::Status::OK;
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "ListConversations returned " + std::to_string(r.conversations_size()) +
                              " conversations, expected " + std::to_string(expected));
    };
    Launch(call, Stub(slot).PrepareAsyncListConversations(&call->context, call->request, Cq(slot)));
  }

 private:
  const int page_size_;
};

// GetConversation: one conversation (fixed, or uniform over the fixture), as
// its distributor; the reply must be that conversation.
class GetConversationWorkload : public MessagingWorkload {
 public:
  GetConversationWorkload(const std::vector<std::shared_ptr<grpc::Channel>>& channels, CqPool& cqs,
                          const Fixture& fixture, int deadline_ms, int conversation)
      : MessagingWorkload(channels, cqs, fixture, deadline_ms), conversation_(conversation) {}
  void Start(int slot, std::mt19937_64& rng, Done done) override {
    auto* call = new Call<v1::GetConversationRequest, v1::Conversation>;
    call->done = std::move(done);
    const int conversation = conversation_ >= 0 ? conversation_ : RandomConversation(rng);
    Prepare(call->context,
            fixture_.conversation_distributor[static_cast<std::size_t>(conversation)]);
    call->request.set_id(fixture_.conversations[static_cast<std::size_t>(conversation)]);
    call->check = [id = call->request.id()](const v1::Conversation& r) {
      if (r.id() == id) return grpc::Status::OK;
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "GetConversation returned " + r.id() + ", asked for " + id);
    };
    Launch(call, Stub(slot).PrepareAsyncGetConversation(&call->context, call->request, Cq(slot)));
  }

 private:
  const int conversation_;
};

struct Slot {
  int index = 0;
  std::mt19937_64 rng;
  Clock::time_point started;
  std::vector<int64_t> latencies_ns;
  int64_t errors = 0;
  int64_t refused = 0;  // RESOURCE_EXHAUSTED inside the window, with count_refused.
  Clock::time_point last_end{};
};

class Driver {
 public:
  struct Config {
    int concurrency = 32;
    double warmup_s = 2;
    double duration_s = 10;  // Ignored when count > 0.
    int64_t count = 0;       // Measured calls; 0 = run for duration_s.
    int max_error_lines = 5;
    // RESOURCE_EXHAUSTED (the server shedding load) is counted, not an error:
    // the slot issues its next call at once, as a closed-loop client would.
    bool count_refused = false;
    // A call counts when it ends inside the window, wherever it started: for
    // calls nearly as long as the window (a deep closed-loop backlog), which
    // the default rule (started and ended inside) would hardly ever count.
    bool count_by_end = false;
  };

  Driver(Workload& workload, Config config) : workload_(workload), config_(config) {}

  // Runs to completion; returns false if a call failed or calls hung.
  bool Run(int deadline_ms) {
    const auto t0 = Clock::now();
    window_start_ = t0 + std::chrono::microseconds(static_cast<int64_t>(config_.warmup_s * 1e6));
    window_end_ = config_.count > 0
                      ? Clock::time_point::max()
                      : window_start_ + std::chrono::microseconds(
                                            static_cast<int64_t>(config_.duration_s * 1e6));
    slots_.resize(static_cast<std::size_t>(config_.concurrency));
    active_ = config_.concurrency;
    std::random_device seed;
    for (int i = 0; i < config_.concurrency; ++i) {
      Slot& s = slots_[static_cast<std::size_t>(i)];
      s.index = i;
      s.rng.seed((static_cast<uint64_t>(seed()) << 32) ^ static_cast<uint64_t>(i));
    }
    for (auto& s : slots_) Issue(&s);
    std::unique_lock<std::mutex> lock(mu_);
    // Always stops by itself: the window, plus every call's deadline, plus slack.
    const auto limit = (config_.count > 0 ? Clock::now() + std::chrono::hours(1) : window_end_) +
                       std::chrono::milliseconds(deadline_ms) + std::chrono::seconds(10);
    if (!all_done_.wait_until(lock, limit, [this] { return active_ == 0; })) {
      Die(std::to_string(active_) + " call slots still busy at the time limit");
    }
    return total_errors() == 0;
  }

  int64_t total_errors() const {
    int64_t e = 0;
    for (const auto& s : slots_) e += s.errors;
    return e;
  }

  struct Cpu {
    int64_t server = -1, pg = -1, self = -1;
  };
  void Report(const std::string& mode, Cpu before, Cpu after) {
    std::vector<int64_t> all;
    Clock::time_point last_end = window_start_;
    for (auto& s : slots_) {
      all.insert(all.end(), s.latencies_ns.begin(), s.latencies_ns.end());
      last_end = std::max(last_end, s.last_end);
    }
    const auto end = config_.count > 0 ? last_end : window_end_;
    const double secs = std::chrono::duration<double>(end - window_start_).count();
    LatencySummary lat = Summarize(all);
    const double rps = secs > 0 ? static_cast<double>(lat.count) / secs : 0;
    std::string cpu;
    auto add_cpu = [&](const char* name, int64_t a, int64_t b) {
      if (a < 0 || b < 0 || lat.count == 0) return;
      const double cpu_s = static_cast<double>(b - a) / static_cast<double>(TicksPerSecond());
      char buf[128];
      std::snprintf(buf, sizeof buf, " %s_cpu_us_per_call=%.1f %s_cpu_pct=%.0f", name,
                    cpu_s * 1e6 / static_cast<double>(lat.count), name,
                    100.0 * cpu_s / std::max(secs, 1e-9));
      cpu += buf;
    };
    add_cpu("server", before.server, after.server);
    add_cpu("pg", before.pg, after.pg);
    add_cpu("client", before.self, after.self);
    std::string refused;
    if (config_.count_refused) {
      int64_t n = 0;
      for (const auto& s : slots_) n += s.refused;
      refused = " refused=" + std::to_string(n);
    }
    std::printf("RESULT mode=%s concurrency=%d calls=%lld errors=%lld%s secs=%.2f rps=%.1f %s%s\n",
                mode.c_str(), config_.concurrency, static_cast<long long>(lat.count),
                static_cast<long long>(total_errors()), refused.c_str(), secs, rps,
                Format(lat, "").c_str(), cpu.c_str());
  }

 private:
  void Issue(Slot* s) {
    const auto now = Clock::now();
    bool go = now < window_end_;
    if (go && config_.count > 0 && now >= window_start_) {
      go = issued_in_window_.fetch_add(1) < config_.count;
    }
    if (!go) {
      SlotFinished();
      return;
    }
    s->started = now;
    workload_.Start(s->index, s->rng, [this, s](const grpc::Status& st) { Completed(s, st); });
  }

  void Completed(Slot* s, const grpc::Status& st) {
    const auto end = Clock::now();
    const bool in_window = (config_.count_by_end || s->started >= window_start_) &&
                           end >= window_start_ && end <= window_end_;
    if (config_.count_refused && st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      if (in_window) ++s->refused;
      Issue(s);
      return;
    }
    if (!st.ok()) {
      ++s->errors;
      if (error_lines_.fetch_add(1) < config_.max_error_lines) {
        std::fprintf(stderr, "messaging-bench: call failed: %d %s\n", st.error_code(),
                     st.error_message().c_str());
      }
      // A failing slot stops (an error fails the run anyway); never retries in a tight loop.
      SlotFinished();
      return;
    }
    if (in_window) {
      s->latencies_ns.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(end - s->started).count());
      s->last_end = end;
    }
    Issue(s);
  }

  void SlotFinished() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--active_ == 0) all_done_.notify_all();
  }

  Workload& workload_;
  const Config config_;
  std::vector<Slot> slots_;
  Clock::time_point window_start_, window_end_;
  std::atomic<int64_t> issued_in_window_{0};
  std::atomic<int> error_lines_{0};
  std::mutex mu_;
  std::condition_variable all_done_;
  int active_ = 0;
};

// Follows next_page_token from page 1 to `page` of one conversation (setup for
// deep-page latency; synchronous, not measured).
std::string TokenForPage(v1::MessagingService::Stub& stub, const Fixture& fixture, int conversation,
                         int page, int page_size, const std::string& order_by) {
  std::string token;
  for (int p = 1; p < page; ++p) {
    grpc::ClientContext context;
    context.AddMetadata(
        "authorization",
        "Bearer " + fixture.tokens[static_cast<std::size_t>(
                        fixture.conversation_distributor[static_cast<std::size_t>(conversation)])]);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::ListMessagesRequest req;
    req.set_conversation_id(fixture.conversations[static_cast<std::size_t>(conversation)]);
    req.set_page_size(page_size);
    req.set_page_token(token);
    req.set_order_by(order_by);
    v1::ListMessagesResponse resp;
    const grpc::Status st = stub.ListMessages(&context, req, &resp);
    if (!st.ok()) Die("walking pages: " + st.error_message());
    if (resp.next_page_token().empty()) {
      Die("conversation has only " + std::to_string(p) + " pages of " + std::to_string(page_size) +
          "; cannot reach page " + std::to_string(page));
    }
    token = resp.next_page_token();
  }
  return token;
}

// --conversation=ID as an index into the fixture; -1 (random calls) without it.
int FixedConversation(const Fixture& fixture, Flags& flags) {
  const std::string fixed = flags.Str("conversation", "");
  if (fixed.empty()) return -1;
  const auto it = std::find(fixture.conversations.begin(), fixture.conversations.end(), fixed);
  if (it == fixture.conversations.end()) Die("--conversation not in the fixture");
  return static_cast<int>(it - fixture.conversations.begin());
}

}  // namespace

int RunUnary(const std::string& mode, Flags& flags) {
  const std::string target = flags.Str("target", "127.0.0.1:50051");
  const int concurrency = static_cast<int>(flags.Int("concurrency", 32));
  const int channels_n = static_cast<int>(flags.Int("channels", std::min(concurrency, 8)));
  const int deadline_ms = static_cast<int>(flags.Int("deadline-ms", 10000));
  const int server_pid = static_cast<int>(flags.Int("server-pid", 0));
  const int pg_pid = static_cast<int>(flags.Int("pg-pid", 0));
  Driver::Config config;
  config.concurrency = concurrency;
  config.warmup_s = flags.Double("warmup", 2);
  config.duration_s = flags.Double("duration", 10);
  config.count = flags.Int("count", 0);
  config.count_refused = flags.Int("count-refused", 0) != 0;
  config.count_by_end = flags.Int("count-by-end", 0) != 0;
  if (concurrency < 1) Die("--concurrency must be >= 1");

  Fixture fixture;
  // Declared before the workload: destroyed after it, once every call is done.
  CqPool cqs(static_cast<int>(flags.Int("client-threads", 2)));
  std::unique_ptr<Workload> workload;
  const auto channels = ConnectChannels(target, channels_n);
  if (mode == "health") {
    flags.Str("fixture", "");  // Accepted for uniformity; no messaging calls are made.
    workload = std::make_unique<HealthWorkload>(channels, cqs, deadline_ms);
  } else {
    fixture = Fixture::Load(flags.Str("fixture", ""));
    if (fixture.conversations.empty()) Die("fixture has no conversations");
    if (mode == "create") {
      workload = std::make_unique<CreateWorkload>(channels, cqs, fixture, deadline_ms,
                                                  static_cast<int>(flags.Int("content-bytes", 64)));
    } else if (mode == "list") {
      const int page_size = static_cast<int>(flags.Int("page-size", 50));
      const int page = static_cast<int>(flags.Int("page", 1));
      const std::string order_by = flags.Str("order-by", "");
      const int conversation = FixedConversation(fixture, flags);
      std::string token;
      if (page > 1) {
        if (conversation < 0) Die("--page > 1 needs --conversation");
        auto stub = v1::MessagingService::NewStub(channels[0]);
        const auto t = Clock::now();
        token = TokenForPage(*stub, fixture, conversation, page, page_size, order_by);
        std::printf("walked to page %d in %.1f s\n", page,
                    std::chrono::duration<double>(Clock::now() - t).count());
      }
      workload = std::make_unique<ListMessagesWorkload>(channels, cqs, fixture, deadline_ms,
                                                        page_size, conversation, token, order_by);
    } else if (mode == "list-conversations") {
      workload = std::make_unique<ListConversationsWorkload>(
          channels, cqs, fixture, deadline_ms, static_cast<int>(flags.Int("page-size", 50)));
    } else if (mode == "get-conversation") {
      workload = std::make_unique<GetConversationWorkload>(channels, cqs, fixture, deadline_ms,
                                                           FixedConversation(fixture, flags));
    } else {
      Die("unknown mode " + mode);
    }
  }
  flags.CheckAllUsed();

  Driver driver(*workload, config);
  // CPU (server, PostgreSQL backends, this client) sampled at the window's edges.
  Driver::Cpu before, after;
  auto sample = [&] {
    Driver::Cpu c;
    c.server = ReadProc(server_pid).cpu_ticks;
    c.pg = TreeTicks(pg_pid);
    c.self = ReadProc(static_cast<int>(getpid())).cpu_ticks;
    return c;
  };
  std::thread sampler;
  if (config.count == 0) {
    sampler = std::thread([&] {
      std::this_thread::sleep_for(
          std::chrono::microseconds(static_cast<int64_t>(config.warmup_s * 1e6)));
      before = sample();
      std::this_thread::sleep_for(
          std::chrono::microseconds(static_cast<int64_t>(config.duration_s * 1e6)));
      after = sample();
    });
  }
  const bool ok = driver.Run(deadline_ms);
  if (sampler.joinable()) sampler.join();
  driver.Report(mode, before, after);
  return ok ? 0 : 1;
}

}  // namespace bench
