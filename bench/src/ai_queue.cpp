// The AI work queue under load, as workers use it:
//
//   ai-throughput  `concurrency` workers, each in a closed loop of ClaimAiWork
//                  (one item, no wait) then CompleteAiWork, over a queue
//                  filled beforehand. An empty claim is an error: the queue
//                  must outlast the run.
//   ai-latency     `workers` claims waiting on the server (wait_duration) while
//                  a producer creates inbound messages at `rate` per second:
//                  the time from sending CreateMessage to a claim returning the
//                  item, and whether every message was claimed exactly once;
//                  also the CreateMessage call alone (create_*) and the time
//                  from its return to the claim (after_create_*). The first
//                  `warmup` seconds of messages are created, claimed and
//                  checked like the rest, but timed apart (warmup_*): a server
//                  whose database backends have not yet run these statements
//                  (each plans them and compiles the PL/pgSQL functions on
//                  first use) is slower for about a second.
//
// Workers use gRPC's synchronous API on a thread each: a worker is one call
// at a time by nature, and the figures are the server's, not the client's.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_map>

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

void SetMillis(int64_t ms, google::protobuf::Duration* out) {
  out->set_seconds(ms / 1000);
  out->set_nanos(static_cast<int32_t>((ms % 1000) * 1'000'000));
}

void Authorize(grpc::ClientContext& context, const std::string& token, int64_t deadline_ms) {
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
}

grpc::Status Complete(v1::MessagingService::Stub& stub, const std::string& token,
                      const v1::AiWorkItem& item) {
  grpc::ClientContext context;
  Authorize(context, token, 10'000);
  v1::CompleteAiWorkRequest request;
  request.set_id(item.id());
  request.set_lease_token(item.lease_token());
  request.set_ai_summary("bench summary");
  request.set_ai_intent("bench");
  request.set_ai_sentiment("neutral");
  v1::Message message;
  return stub.CompleteAiWork(&context, request, &message);
}

int RunThroughput(Flags& flags) {
  const std::string target = flags.Str("target", "127.0.0.1:50051");
  const std::string token = flags.Str("worker-token", "");
  const int concurrency = static_cast<int>(flags.Int("concurrency", 16));
  const double warmup_s = flags.Double("warmup", 2);
  const double duration_s = flags.Double("duration", 10);
  const int server_pid = static_cast<int>(flags.Int("server-pid", 0));
  const int pg_pid = static_cast<int>(flags.Int("pg-pid", 0));
  flags.Str("fixture", "");  // Accepted for uniformity: workers need only their token.
  flags.CheckAllUsed();
  if (token.empty()) Die("--worker-token is required");

  const auto channels = ConnectChannels(target, std::min(concurrency, 8));
  const auto start = Clock::now();
  const auto window_start = start + std::chrono::microseconds(static_cast<int64_t>(warmup_s * 1e6));
  const auto window_end =
      window_start + std::chrono::microseconds(static_cast<int64_t>(duration_s * 1e6));
  std::mutex mu;
  std::vector<int64_t> latencies;
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&, w] {
      auto stub =
          v1::MessagingService::NewStub(channels[static_cast<std::size_t>(w) % channels.size()]);
      std::vector<int64_t> mine;
      while (Clock::now() < window_end) {
        const auto t0 = Clock::now();
        grpc::ClientContext context;
        Authorize(context, token, 10'000);
        v1::ClaimAiWorkRequest claim;
        claim.set_max_items(1);
        SetMillis(60'000, claim.mutable_lease_duration());
        v1::ClaimAiWorkResponse claimed;
        grpc::Status status = stub->ClaimAiWork(&context, claim, &claimed);
        if (status.ok() && claimed.items_size() != 1) {
          status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                "the queue ran dry: fill it with more items than the run takes");
        }
        if (status.ok()) status = Complete(*stub, token, claimed.items(0));
        if (!status.ok()) {
          if (errors++ < 5) {
            std::fprintf(stderr, "messaging-bench: %d %s\n", status.error_code(),
                         status.error_message().c_str());
          }
          return;
        }
        const auto t1 = Clock::now();
        if (t0 >= window_start && t1 <= window_end) {
          mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  // CPU of the server and PostgreSQL over the window.
  std::this_thread::sleep_until(window_start);
  const int64_t server0 = ReadProc(server_pid).cpu_ticks, pg0 = TreeTicks(pg_pid);
  std::this_thread::sleep_until(window_end);
  const int64_t server1 = ReadProc(server_pid).cpu_ticks, pg1 = TreeTicks(pg_pid);
  for (auto& t : workers) t.join();
  LatencySummary lat = Summarize(latencies);
  const double rps = static_cast<double>(lat.count) / duration_s;
  auto cpu = [&](int64_t a, int64_t b) {
    if (a < 0 || b < 0 || lat.count == 0) return -1.0;
    return static_cast<double>(b - a) / static_cast<double>(TicksPerSecond()) * 1e6 /
           static_cast<double>(lat.count);
  };
  std::printf(
      "RESULT mode=ai-throughput concurrency=%d calls=%lld errors=%lld secs=%.2f rps=%.1f %s "
      "server_cpu_us_per_call=%.1f pg_cpu_us_per_call=%.1f\n",
      concurrency, static_cast<long long>(lat.count), static_cast<long long>(errors.load()),
      duration_s, rps, Format(lat, "").c_str(), cpu(server0, server1), cpu(pg0, pg1));
  return errors.load() == 0 ? 0 : 1;
}

int RunLatency(Flags& flags) {
  const std::string target = flags.Str("target", "127.0.0.1:50051");
  const std::string token = flags.Str("worker-token", "");
  const int workers_n = static_cast<int>(flags.Int("workers", 16));
  const double rate = flags.Double("rate", 200);
  const int64_t count = flags.Int("count", 2000);
  const double warmup_s = flags.Double("warmup", 2);
  const int64_t wait_ms = flags.Int("wait-ms", 10'000);
  const int producers_n = static_cast<int>(flags.Int("producers", 4));
  const Fixture fixture = Fixture::Load(flags.Str("fixture", ""));
  flags.Int("server-pid", 0);
  flags.CheckAllUsed();
  if (token.empty()) Die("--worker-token is required");
  if (fixture.conversations.empty()) Die("fixture has no conversations");

  const auto channels = ConnectChannels(target, std::min(workers_n + 1, 8));
  std::mutex mu;
  // Messages 0..warmup_n-1 are the warm-up; `count` more are measured.
  const int64_t warmup_n = static_cast<int64_t>(warmup_s * rate);
  const int64_t total = warmup_n + count;
  const auto is_warmup = [warmup_n](const std::string& content) {
    return std::stoll(content.substr(content.rfind(' ') + 1)) < warmup_n;
  };
  std::unordered_map<std::string, int64_t> sent_ns;  // content -> when CreateMessage was sent
  std::unordered_map<std::string, int> claimed;      // content -> times claimed
  // content -> when CreateMessage returned, and when a claim first returned
  // the item: the part of create->claim after the write was known committed.
  std::unordered_map<std::string, int64_t> created_ns, first_claim_ns;
  std::vector<int64_t> latencies, warmup_latencies;
  // The CreateMessage calls alone: how much of create->claim is the write.
  std::vector<int64_t> create_ns;
  create_ns.reserve(static_cast<std::size_t>(count));
  std::atomic<bool> producing{true};
  std::atomic<int64_t> errors{0}, claimed_total{0};
  auto fail = [&](const grpc::Status& status, const char* what) {
    if (errors++ < 5) {
      std::fprintf(stderr, "messaging-bench: %s: %d %s\n", what, status.error_code(),
                   status.error_message().c_str());
    }
  };

  std::vector<std::thread> workers;
  for (int w = 0; w < workers_n; ++w) {
    workers.emplace_back([&, w] {
      auto stub =
          v1::MessagingService::NewStub(channels[static_cast<std::size_t>(w) % channels.size()]);
      // Until every message was claimed, or production is over and a wait
      // came back empty.
      while (claimed_total.load() < total) {
        grpc::ClientContext context;
        Authorize(context, token, wait_ms + 10'000);
        v1::ClaimAiWorkRequest claim;
        claim.set_max_items(10);
        SetMillis(60'000, claim.mutable_lease_duration());
        SetMillis(wait_ms, claim.mutable_wait_duration());
        v1::ClaimAiWorkResponse response;
        const grpc::Status status = stub->ClaimAiWork(&context, claim, &response);
        const int64_t now = NowNs();
        if (!status.ok()) {
          fail(status, "ClaimAiWork");
          return;
        }
        if (response.items_size() == 0 && !producing) return;
        for (const auto& item : response.items()) {
          {
            std::lock_guard<std::mutex> lock(mu);
            const auto it = sent_ns.find(item.message().content());
            if (it != sent_ns.end()) {
              (is_warmup(it->first) ? warmup_latencies : latencies).push_back(now - it->second);
            }
            if (++claimed[item.message().content()] == 1) {
              first_claim_ns[item.message().content()] = now;
            }
          }
          ++claimed_total;
          const grpc::Status done = Complete(*stub, token, item);
          if (!done.ok()) fail(done, "CompleteAiWork");
        }
      }
    });
  }

  // Paced production over the fixture's conversations, round robin: message
  // i is due at start + i / rate. Several producers, so a slow CreateMessage
  // delays only its own message and the rate holds (one synchronous producer
  // fell to ~130 messages/s once creates took 7 ms).
  std::atomic<int64_t> next_index{0};
  const auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / rate));
  const auto production_start = Clock::now();
  std::vector<std::thread> producers;
  for (int p = 0; p < producers_n; ++p) {
    producers.emplace_back([&, p] {
      auto stub =
          v1::MessagingService::NewStub(channels[static_cast<std::size_t>(p) % channels.size()]);
      for (int64_t i = next_index++; i < total; i = next_index++) {
        std::this_thread::sleep_until(production_start + interval * i);
        const auto c = static_cast<std::size_t>(i) % fixture.conversations.size();
        const std::string content = "ai-latency " + std::to_string(i);
        v1::CreateMessageRequest request;
        request.mutable_message()->set_conversation_id(fixture.conversations[c]);
        request.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
        request.mutable_message()->set_content(content);
        grpc::ClientContext context;
        Authorize(context,
                  fixture.tokens[static_cast<std::size_t>(fixture.conversation_distributor[c])],
                  10'000);
        const int64_t start = NowNs();
        {
          std::lock_guard<std::mutex> lock(mu);
          sent_ns[content] = start;
        }
        v1::Message created;
        const grpc::Status status = stub->CreateMessage(&context, request, &created);
        const int64_t took = NowNs() - start;
        if (i >= warmup_n) {
          std::lock_guard<std::mutex> lock(mu);
          create_ns.push_back(took);
          created_ns[content] = start + took;
        }
        if (!status.ok()) fail(status, "CreateMessage");
      }
    });
  }
  for (auto& t : producers) t.join();
  const double produced_rate =
      static_cast<double>(total) /
      std::chrono::duration<double>(Clock::now() - production_start).count();
  producing = false;
  for (auto& t : workers) t.join();

  int64_t lost = 0, duplicated = 0;
  for (const auto& [content, at] : sent_ns) {
    const auto it = claimed.find(content);
    if (it == claimed.end()) {
      ++lost;
    } else if (it->second > 1) {
      duplicated += it->second - 1;
    }
  }
  // A claim may return the item before its CreateMessage call does: 0 then.
  std::vector<int64_t> after_create_ns;
  after_create_ns.reserve(first_claim_ns.size());
  for (const auto& [content, at] : first_claim_ns) {
    const auto it = created_ns.find(content);
    if (it != created_ns.end()) after_create_ns.push_back(std::max<int64_t>(0, at - it->second));
  }
  LatencySummary lat = Summarize(latencies);
  LatencySummary create = Summarize(create_ns);
  LatencySummary after_create = Summarize(after_create_ns);
  LatencySummary warmup = Summarize(warmup_latencies);
  std::printf(
      "RESULT mode=ai-latency workers=%d rate=%.0f produced_rate=%.1f messages=%lld claimed=%lld "
      "errors=%lld %s lost=%lld duplicated=%lld %s %s warmup_messages=%lld %s\n",
      workers_n, rate, produced_rate, static_cast<long long>(count),
      static_cast<long long>(lat.count), static_cast<long long>(errors.load()),
      Format(lat, "").c_str(), static_cast<long long>(lost), static_cast<long long>(duplicated),
      Format(create, "create_").c_str(), Format(after_create, "after_create_").c_str(),
      static_cast<long long>(warmup.count), Format(warmup, "warmup_").c_str());
  return errors.load() == 0 && lost == 0 && duplicated == 0 ? 0 : 1;
}

}  // namespace

int RunAiQueue(const std::string& mode, Flags& flags) {
  if (mode == "ai-throughput") return RunThroughput(flags);
  if (mode == "ai-latency") return RunLatency(flags);
  Die("unknown mode " + mode);
}

}  // namespace bench
