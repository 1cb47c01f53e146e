#pragma once

// The gRPC side of one StreamMessages call (callback API): a reactor that
// never blocks. It writes what its Subscription queues, one event at a time,
// and ends when the client cancels, the hub closes the stream, or the server
// shuts down.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "messaging/v1/messaging.pb.h"
#include "streaming/stream_hub.h"
#include "streaming/subscription.h"
#include "transport/call_handler.h"

namespace messaging::transport {

class StreamReactor : public grpc::ServerWriteReactor<v1::MessageEvent>,
                      public streaming::EventSink {
 public:
  // Starts the stream; on a validation error, finishes it at once.
  StreamReactor(grpc::CallbackServerContext* context, const CallHandler& calls,
                std::string request_id, streaming::StreamHub& hub,
                std::shared_ptr<streaming::Subscription> subscription, std::size_t capacity);
  // For requests rejected before any subscription exists.
  StreamReactor(grpc::CallbackServerContext* context, const CallHandler& calls,
                std::string request_id, const absl::Status& error);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // EventSink
  void Write(const streaming::OutgoingEvent& event) override;
  void Finish(const absl::Status& status) override;

 private:
  grpc::CallbackServerContext* context_;
  const CallHandler& calls_;
  const std::string request_id_;
  streaming::StreamHub* hub_ = nullptr;
  std::shared_ptr<streaming::Subscription> subscription_;
  std::size_t capacity_ = 0;
  v1::MessageEvent current_;
  absl::Time started_ = absl::Now();
  absl::Status final_status_;
};

}  // namespace messaging::transport
