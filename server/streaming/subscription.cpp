#include "streaming/subscription.h"

namespace messaging::streaming {

Subscription::Subscription(std::string distributor_id, std::string conversation_id,
                           std::size_t capacity, const domain::StreamCursorCodec& cursors)
    : distributor_id_(std::move(distributor_id)),
      conversation_id_(std::move(conversation_id)),
      capacity_(capacity),
      cursors_(cursors) {}

void Subscription::Attach(EventSink* sink) {
  std::lock_guard<std::mutex> lock(mu_);
  sink_ = sink;
}

void Subscription::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  sink_ = nullptr;
  closing_ = true;
  finished_ = true;
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
  return queue_.size() >= capacity_ ? 0 : capacity_ - queue_.size();
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
                                       const domain::StreamCursor& at) const {
  return {event.type, event.message, cursors_.Encode(distributor_id_, at)};
}

EventSink* Subscription::TakeNextWriteLocked() {
  if (writing_ || closing_ || sink_ == nullptr || queue_.empty()) return nullptr;
  writing_ = true;
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  return sink_;
}

void Subscription::AppendCatchUp(const domain::EventBatch& batch) {
  EventSink* sink = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return;
    domain::StreamCursor at = cursor_;
    for (const auto& event : batch.events) {
      // Each event's cursor says exactly what has been seen once it is read.
      at.position = event.position;
      if (!at.snapshot.empty()) {
        const auto xmax = domain::SnapshotXmax(at.snapshot);
        if (xmax && at.position.xid >= *xmax) at.snapshot.clear();
      }
      queue_.push_back(ToOutgoing(event, at));
    }
    cursor_ = domain::Advance(cursor_, batch);
    sink = TakeNextWriteLocked();
  }
  if (sink != nullptr) sink->Write(in_flight_);
}

bool Subscription::OfferLive(const domain::EventBatch& batch) {
  EventSink* sink = nullptr;
  bool fitted = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ || mode_ != Mode::kLive) return true;
    std::vector<const domain::StreamEvent*> fresh;
    for (const auto& event : batch.events) {
      if (cursor_.position < event.position && Matches(event)) fresh.push_back(&event);
    }
    if (queue_.size() + fresh.size() > capacity_) {
      // Too slow: stop taking live events; catch-up reads will fetch them.
      mode_ = Mode::kCatchUp;
      fitted = false;
    } else {
      domain::StreamCursor at = cursor_;
      for (const auto* event : fresh) {
        at.position = event->position;
        queue_.push_back(ToOutgoing(*event, at));
      }
      // The batch covers every event of the distributor, so the cursor moves
      // with it even past events of other conversations.
      cursor_ = domain::Advance(cursor_, batch);
      sink = TakeNextWriteLocked();
    }
  }
  if (sink != nullptr) sink->Write(in_flight_);
  return fitted;
}

bool Subscription::TryGoLive(const domain::StreamPosition& group_head) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_ || mode_ != Mode::kCatchUp || !cursor_.snapshot.empty()) return false;
  if (cursor_.position < group_head) return false;
  mode_ = Mode::kLive;
  return true;
}

void Subscription::OfferHeartbeat() {
  EventSink* sink = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_ || mode_ == Mode::kStarting || writing_ || !queue_.empty()) return;
    OutgoingEvent heartbeat;
    heartbeat.type = domain::EventType::kHeartbeat;
    heartbeat.cursor = cursors_.Encode(distributor_id_, cursor_);
    queue_.push_back(std::move(heartbeat));
    sink = TakeNextWriteLocked();
  }
  if (sink != nullptr) sink->Write(in_flight_);
}

bool Subscription::ClaimCatchUp(std::size_t min_free) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closing_ || mode_ != Mode::kCatchUp || catch_up_claimed_) return false;
  if (capacity_ - std::min(capacity_, queue_.size()) < min_free) return false;
  catch_up_claimed_ = true;
  return true;
}

void Subscription::ReleaseCatchUp() {
  std::lock_guard<std::mutex> lock(mu_);
  catch_up_claimed_ = false;
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
  absl::Status finish_status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    in_flight_ = OutgoingEvent{};  // An idle stream keeps no copy of its last event.
    if (!ok && !closing_) {
      // The client went away; OnCancel will follow. Nothing more to write.
      closing_ = true;
      close_status_ = absl::CancelledError("client gone");
    }
    write_sink = TakeNextWriteLocked();
    FinishIfIdleLocked(&finish_sink, &finish_status);
  }
  if (write_sink != nullptr) write_sink->Write(in_flight_);
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
    queue_.clear();
    FinishIfIdleLocked(&finish_sink, &finish_status);
  }
  if (finish_sink != nullptr) finish_sink->Finish(finish_status);
}

}  // namespace messaging::streaming
