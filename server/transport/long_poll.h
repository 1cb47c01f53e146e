#pragma once

// Long polls: calls that wait on the server for something to happen (a
// ClaimAiWork with a wait_duration) without a thread. A waiting call parks
// a grpc::Alarm on its completion queue, set for the latest time it must run
// again; a wake-up (the replica learned of new events) cancels every parked
// alarm, so each call's body runs again at once on the workers.

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <mutex>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"

namespace messaging::transport {

// What a long-poll body answers: `ready` sends the response now. Otherwise
// the call waits until the next wake-up, `retry_at` (e.g. when a backed-off
// item becomes claimable), or the end of `wait` from the call's start,
// whichever comes first, and the body runs again; once `wait` is over the
// response is sent as it is.
struct PollOutcome {
  bool ready = true;
  absl::Duration wait = absl::ZeroDuration();
  absl::Time retry_at = absl::InfiniteFuture();
};

class LongPollWaiters {
 public:
  // Taken before a body runs: a wake-up after it makes Park() refuse, so no
  // wake-up falls between a body finding nothing and its call parking.
  std::uint64_t generation() const;

  // Sets `alarm` to fire on `cq` with `tag` at `until`, and parks it for the
  // next WakeAll(). False, with nothing set, if a wake-up came after `seen`
  // (run the body again now) or the waiters are closed (answer now).
  bool Park(grpc::Alarm* alarm, grpc::CompletionQueue* cq, absl::Time until, void* tag,
            std::uint64_t seen);

  // The alarm fired or was cancelled: it is no longer parked.
  void Unpark(grpc::Alarm* alarm);

  // Cancels every parked alarm: their calls run again.
  void WakeAll();

  // Server shutdown: wakes every call and refuses to park any more.
  void Close();
  bool closed() const;

  std::size_t parked() const;

 private:
  mutable std::mutex mu_;
  std::uint64_t generation_ = 0;
  bool closed_ = false;
  absl::flat_hash_set<grpc::Alarm*> parked_;
};

}  // namespace messaging::transport
