#pragma once

// CPU, memory and thread readings of local processes from /proc (the server
// and PostgreSQL under load).

#include <chrono>
#include <cstdint>
#include <string>

namespace bench {

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
double TicksToSeconds(int64_t ticks);

// CPU seconds per second of wall-clock time that process `pid` used while
// `work` ran (0 when pid is 0 or unreadable).
template <typename Work>
double CpuShareWhile(int pid, Work&& work) {
  const ProcSample before = ReadProc(pid);
  const auto start = std::chrono::steady_clock::now();
  work();
  const ProcSample after = ReadProc(pid);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (before.cpu_ticks < 0 || after.cpu_ticks < 0 || secs <= 0) return 0;
  return TicksToSeconds(after.cpu_ticks - before.cpu_ticks) / secs;
}

}  // namespace bench
