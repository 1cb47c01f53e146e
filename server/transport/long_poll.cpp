#include "transport/long_poll.h"

#include "transport/completion_queues.h"

namespace messaging::transport {

std::uint64_t LongPollWaiters::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

bool LongPollWaiters::Park(grpc::Alarm* alarm, grpc::CompletionQueue* cq, absl::Time until,
                           void* tag, std::uint64_t seen) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_ || generation_ != seen) return false;
  // Under mu_: a WakeAll() cannot run between setting and parking, so it
  // cancels every alarm that was set before it.
  const bool set =
      CompletionQueues::StartOperation(cq, [&] { alarm->Set(cq, absl::ToChronoTime(until), tag); });
  if (!set) {
    closed_ = true;  // The queues are shut down: nothing can park any more.
    return false;
  }
  parked_.insert(alarm);
  return true;
}

void LongPollWaiters::Unpark(grpc::Alarm* alarm) {
  std::lock_guard<std::mutex> lock(mu_);
  parked_.erase(alarm);
}

void LongPollWaiters::WakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  // Cancelling only queues each alarm's completion (ok = false): no call
  // runs on this thread.
  for (grpc::Alarm* alarm : parked_) alarm->Cancel();
  parked_.clear();
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
