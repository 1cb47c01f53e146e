#include "common.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

namespace bench {

void Die(const std::string& message) {
  std::fprintf(stderr, "messaging-bench: %s\n", message.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  // No destructors: calls or streams may still be in flight on gRPC's threads.
  std::_Exit(2);
}

Flags::Flags(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) Die("unexpected argument '" + arg + "' (flags are --name=value)");
    const auto eq = arg.find('=');
    if (eq == std::string::npos) {
      values_[arg.substr(2)] = "1";
    } else {
      values_[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
    }
  }
}

std::string Flags::Str(const std::string& name, const std::string& fallback) {
  used_.insert(name);
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

int64_t Flags::Int(const std::string& name, int64_t fallback) {
  const std::string v = Str(name, "");
  if (v.empty()) return fallback;
  char* end = nullptr;
  const long long parsed = std::strtoll(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0') Die("--" + name + ": not an integer: " + v);
  return parsed;
}

double Flags::Double(const std::string& name, double fallback) {
  const std::string v = Str(name, "");
  if (v.empty()) return fallback;
  char* end = nullptr;
  const double parsed = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0') Die("--" + name + ": not a number: " + v);
  return parsed;
}

void Flags::CheckAllUsed() const {
  for (const auto& [name, value] : values_) {
    if (used_.count(name) == 0) Die("unknown flag --" + name + " for this mode");
  }
}

Fixture Fixture::Load(const std::string& path) {
  if (path.empty()) Die("--fixture is required");
  std::ifstream in(path);
  if (!in) Die("cannot read fixture " + path);
  Fixture f;
  std::map<std::string, int> distributor_index;
  std::vector<std::pair<std::string, std::string>> conversations;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind, a, b;
    if (!(words >> kind)) continue;
    words >> a >> b;
    if (a.empty() || b.empty()) Die("fixture: malformed line: " + line);
    if (kind == "distributor") {
      distributor_index[a] = static_cast<int>(f.distributors.size());
      f.distributors.push_back(a);
      f.tokens.push_back(b);
    } else if (kind == "conversation") {
      conversations.emplace_back(a, b);
    } else {
      Die("fixture: unknown line kind: " + kind);
    }
  }
  f.conversations_of.resize(f.distributors.size());
  for (const auto& [conversation, distributor] : conversations) {
    const auto it = distributor_index.find(distributor);
    if (it == distributor_index.end()) Die("fixture: no token for distributor " + distributor);
    f.conversations_of[static_cast<std::size_t>(it->second)].push_back(
        static_cast<int>(f.conversations.size()));
    f.conversations.push_back(conversation);
    f.conversation_distributor.push_back(it->second);
  }
  if (f.distributors.empty()) Die("fixture: no distributors in " + path);
  return f;
}

LatencySummary Summarize(std::vector<int64_t>& ns) {
  LatencySummary s;
  s.count = static_cast<int64_t>(ns.size());
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    std::size_t i = static_cast<std::size_t>(q * static_cast<double>(ns.size()) + 0.999999);
    i = std::min(std::max<std::size_t>(i, 1), ns.size()) - 1;
    return static_cast<double>(ns[i]) / 1e6;
  };
  s.p50_ms = at(0.50);
  s.p95_ms = at(0.95);
  s.p99_ms = at(0.99);
  s.max_ms = static_cast<double>(ns.back()) / 1e6;
  s.min_ms = static_cast<double>(ns.front()) / 1e6;
  long double sum = 0;
  for (int64_t v : ns) sum += static_cast<long double>(v);
  s.mean_ms = static_cast<double>(sum / static_cast<long double>(ns.size()) / 1e6L);
  return s;
}

std::string Format(const LatencySummary& s, const std::string& prefix) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "%sp50_ms=%.3f %sp95_ms=%.3f %sp99_ms=%.3f %smax_ms=%.3f %smean_ms=%.3f",
                prefix.c_str(), s.p50_ms, prefix.c_str(), s.p95_ms, prefix.c_str(), s.p99_ms,
                prefix.c_str(), s.max_ms, prefix.c_str(), s.mean_ms);
  return buf;
}

int64_t TicksPerSecond() { return sysconf(_SC_CLK_TCK); }

ProcSample ReadProc(int pid) {
  ProcSample p;
  if (pid <= 0) return p;
  {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content;
    std::getline(stat, content);  // One line.
    const auto close = content.rfind(')');
    if (close != std::string::npos) {
      // Fields after the command name: state(3) ... utime(14) stime(15).
      std::istringstream rest(content.substr(close + 2));
      std::vector<std::string> fields;
      std::string f;
      while (rest >> f) fields.push_back(f);
      if (fields.size() > 12) p.cpu_ticks = std::stoll(fields[11]) + std::stoll(fields[12]);
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) p.rss_kib = std::stoll(line.substr(6));
    if (line.rfind("Threads:", 0) == 0) p.threads = std::stoi(line.substr(8));
  }
  return p;
}

namespace {
// (ppid, utime + stime) from /proc/<pid>/stat; false if gone.
// With children_too, also the waited-for children's (cutime + cstime).
bool StatOf(const std::string& pid, bool children_too, int* ppid, int64_t* ticks) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return false;
  const auto close = content.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(content.substr(close + 2));
  std::vector<std::string> fields;
  std::string f;
  while (rest >> f) fields.push_back(f);
  if (fields.size() <= 12) return false;
  *ppid = std::stoi(fields[1]);
  *ticks = std::stoll(fields[11]) + std::stoll(fields[12]);
  if (children_too) *ticks += std::stoll(fields[13]) + std::stoll(fields[14]);
  return true;
}
}  // namespace

int64_t TreeTicks(int root) {
  if (root <= 0) return -1;
  int64_t total = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* entry = readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    int ppid = 0;
    int64_t ticks = 0;
    const bool is_root = std::stoi(name) == root;
    if (!StatOf(name, is_root, &ppid, &ticks)) continue;
    if (ppid == root || is_root) total += ticks;
  }
  closedir(proc);
  return total;
}

std::string ThreadNames(int pid) {
  std::map<std::string, int> names;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* tasks = opendir(dir.c_str())) {
    while (dirent* entry = readdir(tasks)) {
      if (entry->d_name[0] == '.') continue;
      std::ifstream comm(dir + "/" + entry->d_name + "/comm");
      std::string name;
      if (std::getline(comm, name)) ++names[name];
    }
    closedir(tasks);
  }
  std::string out;
  for (const auto& [name, count] : names) {
    if (!out.empty()) out += ", ";
    out += name + " x" + std::to_string(count);
  }
  return out;
}

void RequireLoopback(const std::string& target) {
  static const char* const allowed[] = {
      "127.", "localhost:", "[::1]:", "ipv4:127.", "ipv6:[::1]", "unix:"};
  for (const char* prefix : allowed) {
    if (target.rfind(prefix, 0) == 0) return;
  }
  Die("--target must be a loopback address (127.x.x.x, localhost, [::1] or unix:), got " + target);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("messaging.bench.channel", index);  // Distinct args: never shared.
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

std::vector<std::shared_ptr<grpc::Channel>> ConnectChannels(const std::string& target,
                                                            int channels) {
  RequireLoopback(target);
  std::vector<std::shared_ptr<grpc::Channel>> out;
  for (int i = 0; i < std::max(1, channels); ++i) out.push_back(MakeChannel(target, i));
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(10);
  for (auto& ch : out) {
    if (!ch->WaitForConnected(deadline)) Die("cannot connect to " + target);
  }
  return out;
}

}  // namespace bench

namespace bench {

CqPool::CqPool(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    cqs_.push_back(std::make_unique<grpc::CompletionQueue>());
    grpc::CompletionQueue* q = cqs_.back().get();
    threads_.emplace_back([q] {
      void* tag = nullptr;
      bool ok = false;
      while (q->Next(&tag, &ok)) static_cast<CqTag*>(tag)->Proceed(ok);
    });
  }
}

CqPool::~CqPool() {
  for (auto& q : cqs_) q->Shutdown();
  for (auto& t : threads_) t.join();
}

}  // namespace bench
