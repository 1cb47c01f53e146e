#pragma once

// The server-wide budget for stream events held in memory: queued in a
// subscription or being written to its client. Every subscription reserves the
// bytes of an event before it takes it and releases them once the event is
// written (or dropped), so what all streams hold stays near the limit however
// many streams there are and whatever their clients do. A refused reservation
// is remembered: someone waits for memory, and the hub then ends streams that
// have stopped reading (StreamHub::RelieveMemoryPressure).

#include <atomic>
#include <cstddef>

namespace messaging::streaming {

class StreamMemoryBudget {
 public:
  explicit StreamMemoryBudget(std::size_t limit) : limit_(limit) {}

  // All or nothing.
  bool TryReserve(std::size_t bytes);
  // As much as is free up to `want`, if that is at least `at_least`; else 0.
  std::size_t ReserveUpTo(std::size_t want, std::size_t at_least);
  // Whether `bytes` would fit now (a no counts as a refusal); reserves nothing.
  bool HasRoomFor(std::size_t bytes);
  void Release(std::size_t bytes);

  // True once after any refusal since the last call.
  bool TakeRefusals();

  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
  std::atomic<bool> refused_{false};
};

}  // namespace messaging::streaming
