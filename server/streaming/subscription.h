#pragma once

// One StreamMessages call: its filter, its cursor, and a small bounded queue of
// events waiting to be written. The hub fills the queue (live fan-out or the
// subscription's own catch-up reads); the transport's reactor drains it one
// write at a time. A subscriber that falls behind never makes the queue grow:
// it drops to catch-up reads from the database instead.

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "domain/stream.h"
#include "domain/stream_cursor_codec.h"

namespace messaging::streaming {

// An event ready for the wire: the cursor is already encoded.
struct OutgoingEvent {
  domain::EventType type = domain::EventType::kCreated;
  domain::Message message;
  std::string cursor;
};

// Where a subscription's events go (the gRPC reactor). Write() is called for
// one event at a time; the sink calls Subscription::WriteDone when it is out.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Write(const OutgoingEvent& event) = 0;
  virtual void Finish(const absl::Status& status) = 0;
};

class Subscription {
 public:
  enum class Mode { kStarting, kCatchUp, kLive };

  Subscription(std::string distributor_id, std::string conversation_id, std::size_t capacity,
               const domain::StreamCursorCodec& cursors);

  const std::string& distributor_id() const { return distributor_id_; }
  const std::string& conversation_id() const { return conversation_id_; }

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
  // Room left in the queue.
  std::size_t free_capacity() const;
  // Appends a catch-up batch (the caller sized it to free_capacity()) and
  // advances the cursor past it.
  void AppendCatchUp(const domain::EventBatch& batch);
  // Offers a batch read for the whole distributor. Only a live subscription
  // takes it: events past its cursor and matching its filter. Returns false if
  // they did not fit: the subscription is then in catch-up mode.
  bool OfferLive(const domain::EventBatch& batch);
  // Joins live delivery if the cursor has reached `group_head`.
  bool TryGoLive(const domain::StreamPosition& group_head);
  // Queues a heartbeat carrying the current cursor if nothing else is queued.
  void OfferHeartbeat();
  // Catch-up bookkeeping: true if the caller should schedule a read now.
  bool ClaimCatchUp(std::size_t min_free);
  void ReleaseCatchUp();

 private:
  bool Matches(const domain::StreamEvent& event) const;
  OutgoingEvent ToOutgoing(const domain::StreamEvent& event, const domain::StreamCursor& at) const;
  // Takes the next queued event for the sink, if nothing is being written.
  // Called with mu_ held; returns the sink to call Write on (outside mu_).
  EventSink* TakeNextWriteLocked();
  void FinishIfIdleLocked(EventSink** finish_sink, absl::Status* finish_status);

  const std::string distributor_id_;
  const std::string conversation_id_;
  const std::size_t capacity_;
  const domain::StreamCursorCodec& cursors_;

  mutable std::mutex mu_;
  Mode mode_ = Mode::kStarting;
  domain::StreamCursor cursor_;  // Position of the last queued event.
  // A list, not a deque: an empty list allocates nothing (most streams are idle).
  std::list<OutgoingEvent> queue_;
  OutgoingEvent in_flight_;
  bool writing_ = false;
  bool catch_up_claimed_ = false;
  bool closing_ = false;
  bool finished_ = false;
  absl::Status close_status_;
  EventSink* sink_ = nullptr;
};

}  // namespace messaging::streaming
