#pragma once

// Timing and latency statistics (percentiles of nanosecond samples).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Sleeps until the `i`th (from 0) of a series paced at `rate` per second
// from `start`: the schedule is kept even when one step runs late.
inline void SleepUntilNth(Clock::time_point start, int64_t i, double rate) {
  std::this_thread::sleep_until(
      start + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(i) * 1e9 / rate)));
}

// Checks `done` every `every` until it holds; false if it still does not
// after `timeout`.
inline bool PollUntil(const std::function<bool()>& done, Clock::duration timeout,
                      Clock::duration every = std::chrono::milliseconds(1)) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

struct LatencySummary {
  int64_t count = 0;
  double mean_ms = 0, p50_ms = 0, p95_ms = 0, p99_ms = 0, max_ms = 0, min_ms = 0;
};
// Sorts `ns` in place.
LatencySummary Summarize(std::vector<int64_t>& ns);
std::string Format(const LatencySummary& s, const std::string& prefix);

}  // namespace bench
