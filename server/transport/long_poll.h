#pragma once

// Long polls: calls that wait on the server for something to happen (a
// ClaimAiWork with a wait_duration) without a thread. A waiting call parks
// a grpc::Alarm on its completion queue, set for the latest time it must run
// again; a wake-up cancels parked alarms, so those calls' bodies run again at
// once on the workers.
//
// A wake-up wakes one call, not all: with every waiting worker woken by each
// new message, 16 waiting claims ran 16 claim queries per message and the
// database spent its time finding nothing (create->claim p99 over a second at
// 200 messages/s). One call is woken per tenant that has new events: its own
// longest-parked call, else one that serves any tenant (one such call for all
// the tenants of a wake-up). A call whose answer was full wakes the next
// (WakeAnother), so a burst is taken by as many calls as it needs.
//
// A body that is running while a wake-up comes looks again instead of
// parking only if the wake-up found no parked call to take the work: a woken
// call runs after the change that caused the wake-up was committed, so it
// sees the work. (Every wake-up making every running body look again, with
// the already-due retry timers of migration 007's header, ran about six
// claim queries per message at ~130 messages/s, and the database's CPU was
// the create->claim latency.)

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace messaging::transport {

// What a long-poll body answers: `ready` sends the response now. Otherwise
// the call waits until a wake-up, `retry_at` (e.g. when a backed-off item
// becomes claimable), or the end of `wait` from the call's start, whichever
// comes first, and the body runs again; once `wait` is over the response is
// sent as it is. `full`: the answer took all it could, so more may be
// waiting for another call.
struct PollOutcome {
  bool ready = true;
  bool full = false;
  absl::Duration wait = absl::ZeroDuration();
  absl::Time retry_at = absl::InfiniteFuture();
};

class LongPollWaiters {
 public:
  // Taken before a body runs: a wake-up after it that found no parked call to
  // wake makes Park() refuse, so no work is left between a body finding
  // nothing and its call parking.
  std::uint64_t generation() const;

  // Sets `alarm` to fire on `cq` with `tag` at `until`, and parks it under
  // `tenant` (the one distributor the call serves, "" for any). False, with
  // nothing set, if a wake-up came after `seen` (run the body again now) or
  // the waiters are closed (answer now).
  bool Park(grpc::Alarm* alarm, grpc::CompletionQueue* cq, absl::Time until, void* tag,
            std::uint64_t seen, const std::string& tenant);

  // The alarm fired or was cancelled: it is no longer parked.
  void Unpark(grpc::Alarm* alarm);

  // New work may have come for `tenants`: wakes the longest-parked call of
  // each, or else (once for all such tenants) the longest-parked call that
  // serves any tenant.
  void Wake(const std::vector<std::string>& tenants);

  // A call serving `tenant` ("" for any) took all it could: wakes the
  // longest-parked call that can take more of the same work.
  void WakeAnother(const std::string& tenant);

  // Cancels every parked alarm: their calls run again.
  void WakeAll();

  // Server shutdown: wakes every call and refuses to park any more.
  void Close();
  bool closed() const;

  std::size_t parked() const;

 private:
  // Under mu_: cancels the longest-parked alarm of `tenant`; false if none.
  bool WakeOldestLocked(const std::string& tenant);

  mutable std::mutex mu_;
  std::uint64_t generation_ = 0;
  bool closed_ = false;
  // Parked alarms per tenant, longest-parked first, and where each one is.
  absl::flat_hash_map<std::string, std::list<grpc::Alarm*>> by_tenant_;
  absl::flat_hash_map<grpc::Alarm*, std::pair<std::string, std::list<grpc::Alarm*>::iterator>>
      parked_;
};

}  // namespace messaging::transport
