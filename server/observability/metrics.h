#pragma once

// Prometheus metrics, kept in memory and rendered in the text exposition
// format. Small on purpose (prometheus-cpp is not packaged for Debian 12):
// counters, gauges read at scrape time, and fixed-bucket histograms.

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace messaging::observability {

class Metrics {
 public:
  Metrics();

  // One finished RPC (unary or stream).
  void RecordCall(absl::string_view method, absl::string_view code, absl::Duration elapsed);
  void AddEventsDelivered(std::int64_t n) { events_delivered_ += n; }
  void AddCatchUpRead() { ++catch_up_reads_; }
  void AddRateLimited() { ++rate_limited_; }
  // AI work items leased by claims, those of them on a second or later
  // attempt, and items failed for good (dead-lettered by FailAiWork).
  void AddAiClaimed(std::int64_t items, std::int64_t retries) {
    ai_claimed_ += items;
    ai_retried_ += retries;
  }
  void AddAiDeadLettered() { ++ai_dead_lettered_; }

  // A value read when scraped, e.g. pool connections in use.
  void AddGauge(std::string name, std::string help, std::function<double()> read);

  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   5};
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Gauge {
    std::string name;
    std::string help;
    std::function<double()> read;
  };

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> calls_;  // (method, code)
  std::map<std::string, Histogram> durations_;                          // method
  std::vector<Gauge> gauges_;
  std::atomic<std::int64_t> events_delivered_{0};
  std::atomic<std::int64_t> catch_up_reads_{0};
  std::atomic<std::int64_t> rate_limited_{0};
  std::atomic<std::int64_t> ai_claimed_{0};
  std::atomic<std::int64_t> ai_retried_{0};
  std::atomic<std::int64_t> ai_dead_lettered_{0};
};

}  // namespace messaging::observability
