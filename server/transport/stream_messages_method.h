#pragma once

// StreamMessages on the async API. Each call lives on the completion queue it
// arrived on and holds no thread: the hub fills its Subscription's queue from
// worker threads, and the call writes one event at a time on its own queue
// thread (a grpc::Alarm hops there when the event comes from elsewhere), so
// fan-out to many streams runs in parallel on every serving thread.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <utility>

#include "domain/stream_cursor_codec.h"
#include "messaging/v1/messaging.grpc.pb.h"
#include "streaming/stream_hub.h"
#include "transport/async_method.h"
#include "transport/call_handler.h"
#include "transport/raw_service.h"

namespace messaging::transport {

class StreamMessagesMethod final : public AsyncMethod {
 public:
  struct Options {
    streaming::QueueLimits queue;  // Held per stream before it catches up.
  };

  StreamMessagesMethod(StreamingRequest request, const CallHandler& calls,
                       streaming::StreamHub& hub, const domain::StreamCursorCodec& cursors,
                       Options options)
      : request_(std::move(request)),
        calls_(calls),
        hub_(hub),
        cursors_(cursors),
        options_(options) {}

  void Listen(grpc::ServerCompletionQueue* cq) override;

 private:
  friend class StreamCall;
  const StreamingRequest request_;
  const CallHandler& calls_;
  streaming::StreamHub& hub_;
  const domain::StreamCursorCodec& cursors_;
  const Options options_;
};

}  // namespace messaging::transport
