#include "streaming/subscription.h"

#include <algorithm>

#include "domain/footprint.h"

namespace messaging::streaming {

std::size_t Footprint(const OutgoingEvent& event) {
  return domain::Footprint(event.message) + event.cursor.size();
}

Subscription::Subscription(std::string distributor_id, std::string conversation_id,
                           QueueLimits limits, StreamMemoryBudget& memory,
                           const domain::StreamCursorCodec& cursors)
    : distributor_id_(std::move(distributor_id)),
      conversation_id_(std::move(conversation_id)),
      limits_(limits),
      memory_(memory),
      cursors_(cursors) {}

Subscription::~Subscription() { memory_.Release(held_bytes_); }

void Subscription::Attach(EventSink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sink_ = sink;
}

void Subscription::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  sink_ = nullptr;
  closing_ = true;
  finished_ = true;
  DropQueueLocked();
}

bool Subscription::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closing_;
}

Subscription::Mode Subscription::mode() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mode_;
}

domain::StreamCursor Subscription::cursor() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cursor_;
}

std::size_t Subscription::free_capacity() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size() >= limits_.max_events ? 0 : limits_.max_events - queue_.size();
}

std::size_t Subscription::free_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (held_bytes_ == 0) return std::max(limits_.max_bytes, next_event_bytes_);
  return held_bytes_ >= limits_.max_bytes ? 0 : limits_.max_bytes - held_bytes_;
}

std::size_t Subscription::next_event_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_event_bytes_;
}

std::size_t Subscription::held_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_bytes_;
}

void Subscription::Start(domain::StreamCursor cursor) {
  std::lock_guard<std::mutex> lock(mu_);
  cursor_ = std::move(cursor);
  cursor_.conversation_id = conversation_id_;
  mode_ = Mode::kCatchUp;
}

bool Subscription::Matches(const domain::StreamEvent& event) const {
  return conversation_id_.empty() || event.message.conversation_id == conversation_id_;
}

OutgoingEvent Subscription::ToOutgoing(const domain::StreamEvent& event,
                                       const domain::StreamCursor& at, CursorMemo* memo) const {
  return {event.type, event.message, Encode(at, memo)};
}

std::string Subscription::Encode(const domain::StreamCursor& at, CursorMemo* memo) const {
  if (memo == nullptr) return cursors_.Encode(distributor_id_, at);
  return memo->Encode(cursors_, distributor_id_, at);
}

bool Subscription::FitsBytesLocked(std::size_t bytes, std::size_t events) const {
  // Nothing held: any one event fits, or a large one could never be sent.
  if (held_bytes_ == 0 && events == 1) return true;
  return held_bytes_ <= limits_.max_bytes && bytes <= limits_.max_bytes - held_bytes_;
}

EventSink* Subscription::TakeNextWriteLocked(OutgoingEvent* next) {
  if (writing_ || closing_ || sink_ == nullptr || queue_.empty()) return nullptr;
  writing_ = true;
  write_started_ = Clock::now();
  *next = std::move(queue_.front().event);
  in_flight_bytes_ = queue_.front().bytes;
  queue_.pop_front();
  return sink_;
}

void Subscription::DropQueueLocked() {
  std::size_t queued = 0;
  for (const auto& q : queue_) queued += q.bytes;
  queue_.clear();
  held_bytes_ -= queued;
  memory_.Release(queued);
}

bool Subscription::AppendCatchUp(const domain::EventBatch& batch, std::size_t reserved) {
  EventSink* sink = nullptr;
  OutgoingEvent next;
  bool took_all = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) {
      memory_.Release(reserved);
      return false;
    }
    domain::StreamCursor at = cursor_;
    for (const auto& event : batch.events) {
      // Each event's cursor says exactly what has been seen once it is read.
      domain::StreamCursor after = at;
      after.position = event.position;
      if (!after.snapshot.empty()) {
        const auto xmax = domain::SnapshotXmax(after.snapshot);
        if (xmax && after.position.xid >= *xmax) after.snapshot.clear();
      }
      OutgoingEvent out = ToOutgoing(event, after, /*memo=*/nullptr);
      const std::size_t bytes = Footprint(out);
      bool fits = queue_.size() < limits_.max_events && FitsBytesLocked(bytes, 1);
      if (fits && bytes > reserved) {
        fits = memory_.TryReserve(bytes - reserved);
        if (fits) reserved = bytes;
      }
      if (!fits) {
        // The rest stays in the log; the next read starts here and needs this much room.
        took_all = false;
        next_event_bytes_ = bytes;
        break;
      }
      reserved -= bytes;
      held_bytes_ += bytes;
      queue_.push_back({std::move(out), bytes});
      at = std::move(after);
    }
    memory_.Release(reserved);
    if (took_all) {
      cursor_ = domain::Advance(cursor_, batch);
      next_event_bytes_ = 0;
    } else {
      cursor_ = std::move(at);
    }
    sink = TakeNextWriteLocked(&next);
  }
  if (sink != nullptr) sink->Write(std::move(next));
  return took_all;
}

bool Subscription::OfferLive(const domain::EventBatch& batch, CursorMemo* memo) {
  EventSink* sink = nullptr;
  OutgoingEvent next;
  bool fitted = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ || mode_ != Mode::kLive) return true;
    std::vector<const domain::StreamEvent*> fresh;
    for (const auto& event : batch.events) {
      if (cursor_.position < event.position && Matches(event)) fresh.push_back(&event);
    }
    std::vector<Queued> taken;
    std::size_t bytes = 0;
    if (queue_.size() + fresh.size() <= limits_.max_events) {
      domain::StreamCursor at = cursor_;
      for (const auto* event : fresh) {
        at.position = event->position;
        taken.push_back({ToOutgoing(*event, at, memo), 0});
        taken.back().bytes = Footprint(taken.back().event);
        bytes += taken.back().bytes;
      }
      fitted = fresh.empty() || (FitsBytesLocked(bytes, fresh.size()) && memory_.TryReserve(bytes));
      // Catch-up starts at the first of them: its read needs room for it.
      if (!fitted) next_event_bytes_ = taken.front().bytes;
    } else {
      fitted = false;
    }
    if (!fitted) {
      // Too slow, or memory is short: stop taking live events; catch-up
      // reads will fetch them once there is room.
      mode_ = Mode::kCatchUp;
    } else {
      held_bytes_ += bytes;
      for (auto& q : taken) queue_.push_back(std::move(q));
      // The batch covers every event of the distributor, so the cursor moves
      // with it even past events of other conversations.
      cursor_ = domain::Advance(cursor_, batch);
      sink = TakeNextWriteLocked(&next);
    }
  }
  if (sink != nullptr) sink->Write(std::move(next));
  return fitted;
}

bool Subscription::TryGoLive(const domain::StreamPosition& group_head) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_ || mode_ != Mode::kCatchUp || !cursor_.snapshot.empty()) return false;
  if (cursor_.position < group_head) return false;
  mode_ = Mode::kLive;
  return true;
}

void Subscription::OfferHeartbeat(CursorMemo* memo) {
  EventSink* sink = nullptr;
  OutgoingEvent next;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ || mode_ == Mode::kStarting || writing_ || !queue_.empty()) return;
    // A few hundred bytes, at most one per stream, only when it holds
    // nothing else: not worth reserving.
    OutgoingEvent heartbeat;
    heartbeat.type = domain::EventType::kHeartbeat;
    heartbeat.cursor = Encode(cursor_, memo);
    queue_.push_back({std::move(heartbeat), 0});
    sink = TakeNextWriteLocked(&next);
  }
  if (sink != nullptr) sink->Write(std::move(next));
}

bool Subscription::ClaimCatchUp(std::size_t min_free_events, std::size_t min_free_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_ || mode_ != Mode::kCatchUp || catch_up_claimed_) return false;
  if (limits_.max_events - std::min(limits_.max_events, queue_.size()) < min_free_events) {
    return false;
  }
  // A read must have room for the event the last one stopped at.
  const std::size_t need = std::max<std::size_t>({1, min_free_bytes, next_event_bytes_});
  if (!FitsBytesLocked(need, 1) ||
      !memory_.HasRoomFor(std::max<std::size_t>(1, next_event_bytes_))) {
    return false;
  }
  catch_up_claimed_ = true;
  return true;
}

void Subscription::ReleaseCatchUp() {
  std::lock_guard<std::mutex> lock(mu_);
  catch_up_claimed_ = false;
}

bool Subscription::AbortIfStalled(Clock::time_point stalled_before, const absl::Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_ || !writing_ || write_started_ >= stalled_before) return false;
  closing_ = true;
  close_status_ = status;
  DropQueueLocked();
  // Under mu_: the sink cannot be detached meanwhile (its write is pending),
  // and cancelling only queues completions, it never calls back in here.
  if (sink_ != nullptr) sink_->Abort();
  return true;
}

void Subscription::FinishIfIdleLocked(EventSink** finish_sink, absl::Status* finish_status) {
  if (closing_ && !writing_ && !finished_ && sink_ != nullptr) {
    finished_ = true;
    *finish_sink = sink_;
    *finish_status = close_status_;
  }
}

void Subscription::WriteDone(bool ok) {
  EventSink* write_sink = nullptr;
  EventSink* finish_sink = nullptr;
  OutgoingEvent next;
  absl::Status finish_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    held_bytes_ -= in_flight_bytes_;
    memory_.Release(in_flight_bytes_);
    in_flight_bytes_ = 0;
    if (!ok && !closing_) {
      // The client went away; OnCancel will follow. Nothing more to write.
      closing_ = true;
      close_status_ = absl::CancelledError("client gone");
      DropQueueLocked();
    }
    write_sink = TakeNextWriteLocked(&next);
    FinishIfIdleLocked(&finish_sink, &finish_status);
  }
  if (write_sink != nullptr) write_sink->Write(std::move(next));
  if (finish_sink != nullptr) finish_sink->Finish(finish_status);
}

void Subscription::Close(const absl::Status& status) {
  EventSink* finish_sink = nullptr;
  absl::Status finish_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return;
    closing_ = true;
    close_status_ = status;
    DropQueueLocked();
    FinishIfIdleLocked(&finish_sink, &finish_status);
  }
  if (finish_sink != nullptr) finish_sink->Finish(finish_status);
}

}  // namespace messaging::streaming
