#include "streaming/stream_memory_budget.h"

#include <algorithm>

namespace messaging::streaming {

bool StreamMemoryBudget::TryReserve(std::size_t bytes) {
  std::size_t used = used_.load(std::memory_order_relaxed);
  do {
    if (used > limit_ || bytes > limit_ - used) {
      refused_.store(true, std::memory_order_relaxed);
      return false;
    }
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

std::size_t StreamMemoryBudget::ReserveUpTo(std::size_t want, std::size_t at_least) {
  std::size_t used = used_.load(std::memory_order_relaxed);
  std::size_t take = 0;
  do {
    take = used >= limit_ ? 0 : std::min(want, limit_ - used);
    if (take == 0 || take < at_least) {
      refused_.store(true, std::memory_order_relaxed);
      return 0;
    }
  } while (!used_.compare_exchange_weak(used, used + take, std::memory_order_relaxed));
  return take;
}

bool StreamMemoryBudget::HasRoomFor(std::size_t bytes) {
  const std::size_t used = used_.load(std::memory_order_relaxed);
  if (used <= limit_ && bytes <= limit_ - used) return true;
  refused_.store(true, std::memory_order_relaxed);
  return false;
}

void StreamMemoryBudget::Release(std::size_t bytes) {
  used_.fetch_sub(bytes, std::memory_order_relaxed);
}

bool StreamMemoryBudget::TakeRefusals() {
  return refused_.exchange(false, std::memory_order_relaxed);
}

}  // namespace messaging::streaming
