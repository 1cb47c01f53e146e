#pragma once

// One StreamMessages call: its filter, its cursor, and a small bounded queue of
// events waiting to be written. The hub fills the queue (live fan-out or the
// subscription's own catch-up reads); the transport's reactor drains it one
// write at a time. A subscriber that falls behind never makes the queue grow:
// it drops to catch-up reads from the database instead. The queue is bounded
// in events and in bytes, and every byte it holds (the event being written
// included) is reserved from the server-wide StreamMemoryBudget first.

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "domain/stream.h"
#include "domain/stream_cursor_codec.h"
#include "streaming/cursor_memo.h"
#include "streaming/stream_memory_budget.h"

namespace messaging::streaming {

// An event ready for the wire: the cursor is already encoded.
struct OutgoingEvent {
  domain::EventType type = domain::EventType::kCreated;
  domain::Message message;
  std::string cursor;
};

// Bytes an event holds while it is queued or being written.
std::size_t Footprint(const OutgoingEvent& event);

// Where a subscription's events go (the gRPC reactor). Write() is called for
// one event at a time and hands it over (the sink drops it once serialized);
// the sink calls Subscription::WriteDone when it is out.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Write(OutgoingEvent event) = 0;
  virtual void Finish(const absl::Status& status) = 0;
  // Cancels the call at once, write in flight included (its client stopped
  // reading): the write then completes with ok = false.
  virtual void Abort() = 0;
};

// What one subscription may hold: queued events plus the one being written.
struct QueueLimits {
  std::size_t max_events = 64;
  // A single event larger than this is still taken when nothing else is held.
  std::size_t max_bytes = 1024 * 1024;
};

class Subscription {
 public:
  enum class Mode { kStarting, kCatchUp, kLive };
  using Clock = std::chrono::steady_clock;

  Subscription(std::string distributor_id, std::string conversation_id, QueueLimits limits,
               StreamMemoryBudget& memory, const domain::StreamCursorCodec& cursors);
  ~Subscription();

  const std::string& distributor_id() const { return distributor_id_; }
  const std::string& conversation_id() const { return conversation_id_; }
  const QueueLimits& limits() const { return limits_; }

  // ---- Transport side ---------------------------------------------------------
  void Attach(EventSink* sink);
  // The sink is going away (reactor OnDone): never touch it again.
  void Detach();
  // The write handed to the sink finished; false = the client is gone.
  void WriteDone(bool ok);
  // Ends the stream with `status` once the write in flight (if any) is done.
  void Close(const absl::Status& status);
  bool closed() const;

  // ---- Hub side ---------------------------------------------------------------
  Mode mode() const;
  domain::StreamCursor cursor() const;
  // Sets the starting cursor and enters catch-up mode.
  void Start(domain::StreamCursor cursor);
  // Room left in the queue, in events and in bytes (when nothing is held, at
  // least the size of the event it could not take last).
  std::size_t free_capacity() const;
  std::size_t free_bytes() const;
  // The event a catch-up stopped at (0 if none): a read needs this much room.
  std::size_t next_event_bytes() const;
  // Bytes held: queued events and the one being written.
  std::size_t held_bytes() const;
  // Appends a catch-up batch read with `reserved` bytes already taken from the
  // memory budget: events in order while they fit in the queue and the budget
  // (reserving more as needed; what is left over is given back). The cursor
  // moves past what was taken. Returns true if every event was taken.
  bool AppendCatchUp(const domain::EventBatch& batch, std::size_t reserved);
  // Offers a batch read for the whole distributor. Only a live subscription
  // takes it: events past its cursor and matching its filter. Returns false if
  // they did not fit (queue or memory budget): the subscription is then in
  // catch-up mode. `memo`, if given, seals the cursors: one per batch, shared
  // by the streams it is offered to.
  bool OfferLive(const domain::EventBatch& batch, CursorMemo* memo = nullptr);
  // Joins live delivery if the cursor has reached `group_head`.
  bool TryGoLive(const domain::StreamPosition& group_head);
  // Queues a heartbeat carrying the current cursor if nothing else is queued.
  void OfferHeartbeat(CursorMemo* memo = nullptr);
  // Catch-up bookkeeping: true if the caller should schedule a read now (it
  // is catching up, not already reading, and has that much room).
  bool ClaimCatchUp(std::size_t min_free_events, std::size_t min_free_bytes);
  void ReleaseCatchUp();
  // Ends the stream with `status` at once, dropping what it holds, if its
  // write has been in flight since before `stalled_before`. True if it did.
  bool AbortIfStalled(Clock::time_point stalled_before, const absl::Status& status);

 private:
  struct Queued {
    OutgoingEvent event;
    std::size_t bytes = 0;  // Reserved from the memory budget.
  };

  bool Matches(const domain::StreamEvent& event) const;
  OutgoingEvent ToOutgoing(const domain::StreamEvent& event, const domain::StreamCursor& at,
                           CursorMemo* memo) const;
  // The sealed cursor, through `memo` if there is one.
  std::string Encode(const domain::StreamCursor& at, CursorMemo* memo) const;
  // Whether `events` more events of `bytes` in all fit the byte limit.
  bool FitsBytesLocked(std::size_t bytes, std::size_t events) const;
  // Takes the next queued event for the sink, if nothing is being written.
  // Called with mu_ held; returns the sink to call Write(*next) on (outside mu_).
  EventSink* TakeNextWriteLocked(OutgoingEvent* next);
  void DropQueueLocked();
  void FinishIfIdleLocked(EventSink** finish_sink, absl::Status* finish_status);

  const std::string distributor_id_;
  const std::string conversation_id_;
  const QueueLimits limits_;
  StreamMemoryBudget& memory_;
  const domain::StreamCursorCodec& cursors_;

  mutable std::mutex mu_;
  Mode mode_ = Mode::kStarting;
  domain::StreamCursor cursor_;  // Position of the last queued event.
  // A list, not a deque: an empty list allocates nothing (most streams are idle).
  std::list<Queued> queue_;
  std::size_t held_bytes_ = 0;  // Queued plus in flight; all reserved from memory_.
  std::size_t in_flight_bytes_ = 0;
  std::size_t next_event_bytes_ = 0;
  Clock::time_point write_started_;
  bool writing_ = false;
  bool catch_up_claimed_ = false;
  bool closing_ = false;
  bool finished_ = false;
  absl::Status close_status_;
  EventSink* sink_ = nullptr;
};

}  // namespace messaging::streaming
