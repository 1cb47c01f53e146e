#include "observability/metrics.h"

#include "absl/strings/str_cat.h"

namespace messaging::observability {

Metrics::Metrics() = default;

void Metrics::RecordCall(absl::string_view method, absl::string_view code, absl::Duration elapsed) {
  const double seconds = absl::ToDoubleSeconds(elapsed);
  std::lock_guard<std::mutex> lock(mu_);
  ++calls_[{std::string(method), std::string(code)}];
  Histogram& h = durations_[std::string(method)];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::AddGauge(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string Metrics::Render() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  absl::StrAppend(&out,
                  "# HELP messaging_rpc_requests_total Finished RPCs by method and status code.\n"
                  "# TYPE messaging_rpc_requests_total counter\n");
  for (const auto& [key, n] : calls_) {
    absl::StrAppend(&out, "messaging_rpc_requests_total{method=\"", key.first, "\",code=\"",
                    key.second, "\"} ", n, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP messaging_rpc_duration_seconds RPC latency (streams: their lifetime).\n"
                  "# TYPE messaging_rpc_duration_seconds histogram\n");
  for (const auto& [method, h] : durations_) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      absl::StrAppend(&out, "messaging_rpc_duration_seconds_bucket{method=\"", method, "\",le=\"",
                      kBuckets[i], "\"} ", h.buckets[i], "\n");
    }
    absl::StrAppend(&out, "messaging_rpc_duration_seconds_bucket{method=\"", method,
                    "\",le=\"+Inf\"} ", h.count, "\n");
    absl::StrAppend(&out, "messaging_rpc_duration_seconds_sum{method=\"", method, "\"} ", h.sum,
                    "\n");
    absl::StrAppend(&out, "messaging_rpc_duration_seconds_count{method=\"", method, "\"} ", h.count,
                    "\n");
  }
  const std::pair<const char*, std::int64_t> counters[] = {
      {"messaging_stream_events_delivered_total", events_delivered_.load()},
      {"messaging_stream_catch_up_reads_total", catch_up_reads_.load()},
      {"messaging_rate_limited_total", rate_limited_.load()},
      {"messaging_ai_work_claimed_total", ai_claimed_.load()},
      {"messaging_ai_work_retried_total", ai_retried_.load()},
      {"messaging_ai_work_dead_lettered_total", ai_dead_lettered_.load()},
  };
  for (const auto& [name, value] : counters) {
    absl::StrAppend(&out, "# TYPE ", name, " counter\n", name, " ", value, "\n");
  }
  for (const auto& g : gauges_) {
    absl::StrAppend(&out, "# HELP ", g.name, " ", g.help, "\n# TYPE ", g.name, " gauge\n", g.name,
                    " ", g.read(), "\n");
  }
  return out;
}

}  // namespace messaging::observability
