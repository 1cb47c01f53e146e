#include "transport/stream_messages_method.h"

#include <grpcpp/alarm.h>

#include <atomic>
#include <memory>

#include "domain/validation.h"
#include "transport/proto_mapping.h"

namespace messaging::transport {
// One StreamMessages call. Its lifetime is counted in operations outstanding
// on its queue (request, done notification, alarm, write, finish): it frees
// itself when none is left and Finish has been started -- after Finish the
// Subscription never calls it again, before it one may still be on its way.
class StreamCall final : public streaming::EventSink {
 public:
  StreamCall(StreamMessagesMethod* method, grpc::ServerCompletionQueue* cq)
      : method_(method), cq_(cq), writer_(&context_) {
    context_.AsyncNotifyWhenDone(&done_tag_);
    method_->request_(&context_, &raw_request_, &writer_, cq, &request_tag_);
  }

  // EventSink: called by the Subscription, from any thread, one event at a time.
  void Write(streaming::OutgoingEvent event) override {
    pending_ = std::make_unique<streaming::OutgoingEvent>(std::move(event));
    if (CompletionQueues::OnThreadOf(cq_)) {
      StartWrite();
    } else {
      // Made for this hop and freed when it fires: an idle stream holds none
      // (see pending_).
      alarm_ = std::make_unique<grpc::Alarm>();
      Acquire();
      // A deadline already past: gRPC queues the completion at once, from
      // this thread. "Now" would be rounded up to the next millisecond and
      // fired by gRPC's timer thread: a thread wake-up more per event and up
      // to a millisecond of delay.
      Begin([this] { alarm_->Set(cq_, gpr_inf_past(GPR_CLOCK_MONOTONIC), &alarm_tag_); });
    }
  }

  void Finish(const absl::Status& status) override {
    final_status_ = status;
    Acquire();  // Before finishing_ (see Release).
    finishing_ = true;
    Begin([this] { writer_.Finish(CallHandler::ToGrpc(final_status_), &finish_tag_); });
  }

  // The pending write then completes with ok = false, freeing its buffers.
  void Abort() override { context_.TryCancel(); }

 private:
  enum class Event { kRequest, kDone, kAlarm, kWrite, kFinish };

  class Tag final : public CompletionTag {
   public:
    Tag(StreamCall* call, Event event) : call_(call), event_(event) {}
    void OnComplete(bool ok) override { call_->OnEvent(event_, ok); }

   private:
    StreamCall* const call_;
    const Event event_;
  };

  void OnEvent(Event event, bool ok) {
    switch (event) {
      case Event::kRequest:
        if (!ok) {  // The server is shutting down: no call came, no done notification either.
          delete this;
          return;
        }
        method_->Listen(cq_);
        Acquire();  // The done notification comes for every call that started.
        Start();
        break;
      case Event::kDone:
        if (context_.IsCancelled() && subscription_) {
          subscription_->Close(absl::CancelledError("cancelled by the client"));
        }
        break;
      case Event::kAlarm:
        alarm_.reset();  // Fired: nothing of it is outstanding.
        StartWrite();
        break;
      case Event::kWrite:
        subscription_->WriteDone(ok);
        if (ok && subscription_->mode() == streaming::Subscription::Mode::kCatchUp) {
          method_->hub_.ResumeCatchUp(subscription_);
        }
        break;
      case Event::kFinish:
        break;
    }
    Release();
  }

  void Start() {
    // Only pure checks here, on the queue thread; the hub checks the
    // conversation (a database read) on its own workers.
    started_ = absl::Now();
    request_id_ = CallHandler::AssignRequestId(&context_);
    auto ctx = method_->calls_.Admit(&context_);
    if (!ctx.ok()) return Finish(ctx.status());
    distributor_id_ = ctx->distributor_id;
    v1::StreamMessagesRequest request;
    if (auto parsed = ParseRequest(raw_request_, &request); !parsed.ok()) return Finish(parsed);
    raw_request_.Clear();
    auto conversation_id = domain::ParseOptionalUuid(request.conversation_id(), "conversation_id");
    if (!conversation_id.ok()) return Finish(conversation_id.status());
    std::optional<domain::StreamCursor> cursor;
    if (!request.resume_cursor().empty()) {
      auto decoded =
          method_->cursors_.Decode(ctx->distributor_id, request.resume_cursor(), absl::Now());
      if (!decoded.ok()) return Finish(decoded.status());
      if (!decoded->conversation_id.empty() && decoded->conversation_id != *conversation_id) {
        // Its position skipped other conversations' events: it cannot resume a wider stream.
        return Finish(absl::InvalidArgumentError(
            "resume_cursor: was issued for another conversation_id filter"));
      }
      cursor = *std::move(decoded);
    }
    subscription_ = std::make_shared<streaming::Subscription>(
        ctx->distributor_id, *conversation_id, method_->options_.queue, method_->hub_.memory(),
        method_->cursors_);
    subscription_->Attach(this);
    method_->hub_.Subscribe(subscription_, std::move(cursor));
  }

  void StartWrite() {
    // Taken out of pending_ (and freed once serialized): the serialized copy
    // is the only one left while the write is in flight.
    const std::unique_ptr<const streaming::OutgoingEvent> taken = std::move(pending_);
    const streaming::OutgoingEvent& event = *taken;
    if (event.type != domain::EventType::kHeartbeat)
      method_->calls_.metrics().AddEventsDelivered(1);
    v1::MessageEvent out;
    out.set_type(ToProto(event.type));
    out.set_cursor(event.cursor);
    if (event.type == domain::EventType::kDeleted) {
      // A deletion names the message and the version it ended at.
      auto* message = out.mutable_message();
      message->set_id(event.message.id);
      message->set_conversation_id(event.message.conversation_id);
      message->set_distributor_id(event.message.distributor_id);
      message->set_version(event.message.version);
    } else if (event.type != domain::EventType::kHeartbeat) {
      transport::ToProto(event.message, out.mutable_message());
    }
    Acquire();
    // Serialized now, so an idle stream keeps no copy of its last event.
    grpc::ByteBuffer bytes = SerializeResponse(out);
    Begin([this, &bytes] { writer_.Write(bytes, &write_tag_); });
  }

  // Begins an operation counted by a preceding Acquire(). On a queue already
  // shut down (the server is stopping) nothing begins: the call is over, and
  // freed once nothing else of it is outstanding. May free `this`.
  void Begin(absl::FunctionRef<void()> start) {
    if (CompletionQueues::StartOperation(cq_, start)) return;
    finishing_ = true;
    Release();
  }

  void Acquire() { refs_.fetch_add(1, std::memory_order_relaxed); }

  void Release() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    // Nothing outstanding. Unless Finish has started, an event may still be
    // on its way to Write(), which will start an operation again.
    if (!finishing_.load(std::memory_order_acquire)) return;
    if (subscription_) {
      subscription_->Detach();
      method_->hub_.Unsubscribe(subscription_);
    }
    method_->calls_.Finish("StreamMessages", final_status_, absl::Now() - started_, distributor_id_,
                           request_id_, &context_);
    delete this;
  }

  StreamMessagesMethod* const method_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  grpc::ByteBuffer raw_request_;
  grpc::ServerAsyncWriter<grpc::ByteBuffer> writer_;
  std::unique_ptr<grpc::Alarm> alarm_;
  Tag request_tag_{this, Event::kRequest};
  Tag done_tag_{this, Event::kDone};
  Tag alarm_tag_{this, Event::kAlarm};
  Tag write_tag_{this, Event::kWrite};
  Tag finish_tag_{this, Event::kFinish};
  std::atomic<int> refs_{1};  // The pending request.
  std::atomic<bool> finishing_{false};
  std::shared_ptr<streaming::Subscription> subscription_;
  // Handed over by Write, until StartWrite. Held only then: most streams are
  // idle most of the time, and an event is ~0.5 KiB even when empty.
  std::unique_ptr<streaming::OutgoingEvent> pending_;
  std::string request_id_;
  std::string distributor_id_;
  absl::Time started_;
  absl::Status final_status_;
};

void StreamMessagesMethod::Listen(grpc::ServerCompletionQueue* cq) {
  CompletionQueues::StartOperation(cq, [this, cq] { new StreamCall(this, cq); });
}

}  // namespace messaging::transport
