#include "latency.h"

#include <algorithm>
#include <cstdio>

namespace bench {

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

}  // namespace bench
