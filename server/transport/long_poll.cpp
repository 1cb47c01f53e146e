#include "transport/long_poll.h"

#include "transport/completion_queues.h"

namespace messaging::transport {

std::uint64_t LongPollWaiters::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

bool LongPollWaiters::Park(grpc::Alarm* alarm, grpc::CompletionQueue* cq, absl::Time until,
                           void* tag, std::uint64_t seen, const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || generation_ != seen) return false;
  // Under mu_: a wake-up cannot run between setting and parking, so it
  // finds every alarm that was set before it.
  const bool set =
      CompletionQueues::StartOperation(cq, [&] { alarm->Set(cq, absl::ToChronoTime(until), tag); });
  if (!set) {
    closed_ = true;  // The queues are shut down: nothing can park any more.
    return false;
  }
  auto& queue = by_tenant_[tenant];
  parked_.emplace(alarm, std::make_pair(tenant, queue.insert(queue.end(), alarm)));
  return true;
}

void LongPollWaiters::Unpark(grpc::Alarm* alarm) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = parked_.find(alarm);
  if (it == parked_.end()) return;  // Woken: already out.
  const auto queue = by_tenant_.find(it->second.first);
  queue->second.erase(it->second.second);
  if (queue->second.empty()) by_tenant_.erase(queue);
  parked_.erase(it);
}

bool LongPollWaiters::WakeOldestLocked(const std::string& tenant) {
  const auto queue = by_tenant_.find(tenant);
  if (queue == by_tenant_.end()) return false;
  grpc::Alarm* alarm = queue->second.front();
  queue->second.pop_front();
  if (queue->second.empty()) by_tenant_.erase(queue);
  parked_.erase(alarm);
  // Cancelling only queues the alarm's completion (ok = false): no call runs
  // on this thread.
  alarm->Cancel();
  return true;
}

void LongPollWaiters::Wake(const std::vector<std::string>& tenants) {
  std::lock_guard<std::mutex> lock(mu_);
  bool woke_any = false;  // A call serving any tenant, woken for those without their own.
  bool missed = false;
  for (const auto& tenant : tenants) {
    if (!tenant.empty() && WakeOldestLocked(tenant)) continue;
    if (woke_any) continue;
    woke_any = WakeOldestLocked("");
    missed = missed || !woke_any;
  }
  if (missed) ++generation_;
}

void LongPollWaiters::WakeAnother(const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  // Work of one tenant can be taken by a call serving it or any tenant.
  const bool woke = (!tenant.empty() && WakeOldestLocked(tenant)) || WakeOldestLocked("");
  if (!woke) ++generation_;
}

void LongPollWaiters::WakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  for (const auto& [alarm, where] : parked_) alarm->Cancel();
  parked_.clear();
  by_tenant_.clear();
}

void LongPollWaiters::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  WakeAll();
}

bool LongPollWaiters::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

std::size_t LongPollWaiters::parked() const {
  std::lock_guard<std::mutex> lock(mu_);
  return parked_.size();
}

}  // namespace messaging::transport
