#include "transport/stream_reactor.h"

#include "transport/call_handler.h"
#include "transport/proto_mapping.h"

namespace messaging::transport {
namespace {

v1::MessageEventType ToProto(domain::EventType type) {
  switch (type) {
    case domain::EventType::kCreated:
      return v1::MESSAGE_EVENT_TYPE_CREATED;
    case domain::EventType::kUpdated:
      return v1::MESSAGE_EVENT_TYPE_UPDATED;
    case domain::EventType::kDeleted:
      return v1::MESSAGE_EVENT_TYPE_DELETED;
    case domain::EventType::kHeartbeat:
      return v1::MESSAGE_EVENT_TYPE_HEARTBEAT;
  }
  return v1::MESSAGE_EVENT_TYPE_UNSPECIFIED;
}

}  // namespace

StreamReactor::StreamReactor(grpc::CallbackServerContext* context, const CallHandler& calls,
                             std::string request_id, streaming::StreamHub& hub,
                             std::shared_ptr<streaming::Subscription> subscription,
                             std::size_t capacity)
    : context_(context),
      calls_(calls),
      request_id_(std::move(request_id)),
      hub_(&hub),
      subscription_(std::move(subscription)),
      capacity_(capacity) {
  subscription_->Attach(this);
}

StreamReactor::StreamReactor(grpc::CallbackServerContext* context, const CallHandler& calls,
                             std::string request_id, const absl::Status& error)
    : context_(context), calls_(calls), request_id_(std::move(request_id)) {
  Finish(error);
}

void StreamReactor::Write(const streaming::OutgoingEvent& event) {
  // `event` may be replaced as soon as the write completes: read it first.
  if (event.type != domain::EventType::kHeartbeat) calls_.metrics().AddEventsDelivered(1);
  current_.Clear();
  current_.set_type(ToProto(event.type));
  current_.set_cursor(event.cursor);
  if (event.type == domain::EventType::kDeleted) {
    current_.mutable_message()->set_id(event.message.id);
    current_.mutable_message()->set_conversation_id(event.message.conversation_id);
    current_.mutable_message()->set_distributor_id(event.message.distributor_id);
    current_.mutable_message()->set_version(event.message.version);
  } else if (event.type != domain::EventType::kHeartbeat) {
    transport::ToProto(event.message, current_.mutable_message());
  }
  StartWrite(&current_);
}

void StreamReactor::OnWriteDone(bool ok) {
  subscription_->WriteDone(ok);
  if (ok && subscription_->mode() == streaming::Subscription::Mode::kCatchUp) {
    hub_->ResumeCatchUp(subscription_, capacity_);
  }
}

void StreamReactor::Finish(const absl::Status& status) {
  final_status_ = status;
  grpc::ServerWriteReactor<v1::MessageEvent>::Finish(CallHandler::ToGrpc(status));
}

void StreamReactor::OnCancel() {
  if (subscription_) subscription_->Close(absl::CancelledError("cancelled by the client"));
}

void StreamReactor::OnDone() {
  std::string distributor;
  if (subscription_) {
    distributor = subscription_->distributor_id();
    subscription_->Detach();
    hub_->Unsubscribe(subscription_);
  }
  calls_.Finish("StreamMessages", final_status_, absl::Now() - started_, distributor, request_id_,
                context_);
  delete this;
}

}  // namespace messaging::transport
