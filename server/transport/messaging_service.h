#pragma once

// The RPCs of messaging.v1.MessagingService, as one table of handlers. Thin on
// purpose: convert the request to domain types, call the domain service,
// convert the result. Serving (async API, authentication, worker pool, call
// log) is transport/async_method.h; StreamMessages is
// transport/stream_messages_method.h.

#include <grpcpp/grpcpp.h>

#include "domain/ai_work_service.h"
#include "domain/conversation_service.h"
#include "domain/message_service.h"
#include "domain/stream_cursor_codec.h"
#include "messaging/v1/messaging.grpc.pb.h"
#include "streaming/stream_hub.h"
#include "transport/async_method.h"
#include "transport/call_handler.h"
#include "transport/raw_service.h"
#include "transport/stream_messages_method.h"

namespace messaging::transport {

namespace v1 = ::messaging::v1;

using MessagingRawService = RawService<v1::MessagingService::Service, v1::MessagingService>;

class MessagingService {
 public:
  MessagingService(domain::ConversationService& conversations, domain::MessageService& messages,
                   domain::AiWorkService& ai_work)
      : conversations_(conversations), messages_(messages), ai_work_(ai_work) {}

  // For grpc::ServerBuilder::RegisterService.
  grpc::Service* service() { return &service_; }

  // Adds every method to `methods`.
  void Register(AsyncMethods& methods, const CallHandler& calls, streaming::StreamHub& hub,
                const domain::StreamCursorCodec& cursors,
                StreamMessagesMethod::Options stream_options);

 private:
  MessagingRawService service_;
  domain::ConversationService& conversations_;
  domain::MessageService& messages_;
  domain::AiWorkService& ai_work_;
};

}  // namespace messaging::transport
