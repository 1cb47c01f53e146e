#pragma once

// Shared pieces of the load generator: flags, the fixture (distributors,
// tokens, conversations written by bench/run.sh), latency statistics, /proc
// readings of the server process, and channel creation (loopback only).

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// `--name=value` flags. Every flag given must be read by the mode, so typos fail.
class Flags {
 public:
  Flags(int argc, char** argv, int first);
  std::string Str(const std::string& name, const std::string& fallback);
  int64_t Int(const std::string& name, int64_t fallback);
  double Double(const std::string& name, double fallback);
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // Exits with an error naming any flag no mode asked for.
  void CheckAllUsed() const;

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

// Written by run.sh:
//   distributor <uuid> <token>
//   conversation <uuid> <distributor uuid>
struct Fixture {
  std::vector<std::string> distributors;
  std::vector<std::string> tokens;  // Same index as distributors.
  std::vector<std::string> conversations;
  std::vector<int> conversation_distributor;       // Index into distributors.
  std::vector<std::vector<int>> conversations_of;  // Per distributor.

  static Fixture Load(const std::string& path);
};

struct LatencySummary {
  int64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0, min_ms = 0;
};
// Sorts `ns` in place.
LatencySummary Summarize(std::vector<int64_t>& ns);
std::string Format(const LatencySummary& s, const std::string& prefix);

// /proc/<pid> readings (0 / -1 when pid is 0 or unreadable).
struct ProcSample {
  int64_t cpu_ticks = -1;  // utime + stime
  int64_t rss_kib = -1;
  int threads = -1;
};
ProcSample ReadProc(int pid);
// "name xN, ..." for the threads of pid (from /proc/<pid>/task/*/comm).
std::string ThreadNames(int pid);
// utime + stime of `root` and its direct children (a PostgreSQL postmaster and
// its backends), plus the root's exited children, in clock ticks; -1 if root is 0.
int64_t TreeTicks(int root);
int64_t TicksPerSecond();

// Refuses anything but loopback: this tool must never load a remote service.
void RequireLoopback(const std::string& target);

// A channel with its own connection (no subchannel sharing between channels).
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int index);
// Connects `channels` and waits (up to 10 s) until each is ready.
std::vector<std::shared_ptr<grpc::Channel>> ConnectChannels(const std::string& target,
                                                            int channels);

[[noreturn]] void Die(const std::string& message);

// Completion-queue (async API) plumbing. gRPC 1.51's callback API runs client
// callbacks on its "callback alternative" queue, whose threads sleep 100 ms
// after an idle second: a measurement artifact. So every call here uses the
// async API on our own threads, each draining one CompletionQueue; many calls
// are in flight per thread.
class CqTag {
 public:
  virtual ~CqTag() = default;
  virtual void Proceed(bool ok) = 0;
};

class CqPool {
 public:
  explicit CqPool(int threads);
  // Shuts the queues down and joins the threads: every call must be finished.
  ~CqPool();
  CqPool(const CqPool&) = delete;
  CqPool& operator=(const CqPool&) = delete;
  grpc::CompletionQueue* cq(std::size_t i) { return cqs_[i % cqs_.size()].get(); }

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
};

}  // namespace bench
