#pragma once

// Fan-out of the message change log to open streams. Subscriptions are grouped
// by distributor. Every wake-up brings the log's heads (which distributors
// have new readable events); only those groups read the log -- once, below
// the stable horizon -- and offer the batch to their live subscriptions, so
// an event is read once per replica, not once per stream, and idle
// distributors cost no query. An idle group just moves its head to the new
// horizon (nothing of its distributor lies below it). Subscriptions that start from a cursor, or
// fall behind, read for themselves (catch-up) until they reach the group's
// head and join it. All database reads run on the executor, never on a gRPC
// thread; no subscription holds a thread or a connection of its own.
//
// Memory is bounded by configuration: a read holds at most `read_bytes` of
// events (plus one), every event a subscription holds is reserved from the
// hub's StreamMemoryBudget, and a distributor has at most
// `max_streams_per_distributor` streams. When the budget runs out, streams
// that take no more events fall back to catch-up, and streams whose client
// stopped reading are ended (docs/streaming.md, "Memory").

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "domain/repositories.h"
#include "streaming/stream_memory_budget.h"
#include "streaming/subscription.h"

namespace messaging::streaming {

struct HubOptions {
  int batch_size = 256;  // Events per read.
  // Bytes of events per read (row text; one event more at most).
  std::int64_t read_bytes = 4 * 1024 * 1024;
  absl::Duration read_timeout = absl::Seconds(10);
  // Server-wide: events queued in, or being written to, all streams.
  std::size_t memory_bytes = 128 * 1024 * 1024;
  std::size_t max_streams_per_distributor = 1000;
  // Once the memory budget refused someone, a stream whose write has not
  // completed for this long (its client stopped reading) is ended.
  absl::Duration stall_timeout = absl::Seconds(10);
  // A group read is offered to every live stream of the distributor at least
  // this often, not only to the streams it has events for: the others' cursors
  // (position and issue time) then never lag the group by much more, whatever
  // the heartbeat setting. Zero: every read goes to every stream.
  absl::Duration refresh_every = absl::Seconds(1);
};

class StreamHub {
 public:
  StreamHub(domain::EventRepository& events, domain::ConversationRepository& conversations,
            Executor& executor, HubOptions options);

  // Starts delivery: checks the conversation filter (NOT_FOUND if not the
  // tenant's), then streams from `cursor`, or live when there is none.
  // RESOURCE_EXHAUSTED when the distributor already has the most streams allowed.
  void Subscribe(const std::shared_ptr<Subscription>& subscription,
                 std::optional<domain::StreamCursor> cursor);
  void Unsubscribe(const std::shared_ptr<Subscription>& subscription);

  // The log's heads: read for the groups that have new events (every group
  // when `everything`), move the others' heads to the horizon.
  void OnHeads(const domain::EventHeads& heads, bool everything);
  // A subscription's queue drained; if it is catching up, read more once half
  // the queue is free (one read per half-queue, not per event).
  void ResumeCatchUp(const std::shared_ptr<Subscription>& subscription);
  // If the memory budget refused a reservation since the last call, ends the
  // streams whose write has been in flight for longer than the stall timeout
  // (RESOURCE_EXHAUSTED; they free what they held). Runs on every wake-up.
  void RelieveMemoryPressure();
  // Sends a heartbeat on every idle stream.
  void Heartbeat();
  // Ends every stream with `status` and refuses new ones.
  void Shutdown(const absl::Status& status);

  std::size_t subscriptions() const;
  StreamMemoryBudget& memory() { return memory_; }
  // Streams ended by RelieveMemoryPressure so far.
  std::uint64_t stalled_streams_ended() const { return stalled_ended_.load(); }

 private:
  struct Group {
    void Add(const std::shared_ptr<Subscription>& s);
    void Remove(const std::shared_ptr<Subscription>& s);
    // Lists `s` among maybe_catching_up, if it is still a member.
    void CatchingUp(const std::shared_ptr<Subscription>& s);
    // The members a batch can concern: the distributor-wide ones and those
    // following a conversation it has events of. Any other member would
    // only move its cursor (HubOptions::refresh_every).
    std::vector<std::shared_ptr<Subscription>> ConcernedBy(const domain::EventBatch& batch) const;

    std::mutex mu;
    std::set<std::shared_ptr<Subscription>> members;
    // The same members by the conversation they follow ("": all of them), so
    // that an event costs nothing for the streams of other conversations.
    absl::flat_hash_map<std::string, absl::flat_hash_set<std::shared_ptr<Subscription>>>
        by_conversation;
    // Members that may be catching up: added when one starts or falls behind,
    // dropped by the wake-up that finds it live (OnHeads), so that a wake-up
    // looks at them only, not at every stream of the distributor.
    absl::flat_hash_set<std::shared_ptr<Subscription>> maybe_catching_up;
    absl::Time refreshed_at = absl::Now();       // Last read offered to every member.
    std::optional<domain::StreamPosition> head;  // Set while someone is live.
    domain::Micros head_read_at = 0;             // Database clock when head was known final.
    bool read_running = false;
    bool read_again = false;
  };

  std::shared_ptr<Group> FindGroup(const std::string& distributor_id);
  void StartSubscription(const std::shared_ptr<Subscription>& s,
                         std::optional<domain::StreamCursor> cursor);
  // Reads for `s` once at least `min_free_events` (and `min_free_bytes`) fit in its queue.
  void ScheduleCatchUp(const std::shared_ptr<Subscription>& s, std::size_t min_free_events = 1,
                       std::size_t min_free_bytes = 1);
  void ForgetGroupIfEmpty(const std::string& distributor_id);
  void CatchUp(const std::shared_ptr<Subscription>& s);
  void ScheduleGroupRead(const std::string& distributor_id, const std::shared_ptr<Group>& group);
  void GroupRead(const std::string& distributor_id, const std::shared_ptr<Group>& group);
  // The group's head fell below the log's low-water mark (its read may have
  // missed pruned events): its live members end with `status`.
  void ClosePrunedGroup(const std::string& distributor_id, const std::shared_ptr<Group>& group,
                        const absl::Status& status);
  // Nothing new below `heads.horizon` for this group: move its head there.
  // Returns false when its head is older than the range the heads covered.
  bool AdvanceIdleGroup(Group& group, const domain::EventHeads& heads, std::uint64_t from);
  domain::RequestContext ContextFor(const std::string& distributor_id) const;
  // The horizon of the last heads: no read goes beyond it (a crash can no
  // longer hand out an xid below it again). 0 before the first heads.
  std::uint64_t DurableHorizon() const;

  domain::EventRepository& events_;
  domain::ConversationRepository& conversations_;
  Executor& executor_;
  const HubOptions options_;
  StreamMemoryBudget memory_;
  std::atomic<std::uint64_t> stalled_ended_{0};

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Group>> groups_;
  // Of the last heads: where the next range starts, and how far reads go.
  std::uint64_t heads_horizon_ = 0;
  bool shut_down_ = false;
};

}  // namespace messaging::streaming
