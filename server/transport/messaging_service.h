#pragma once

// gRPC handlers for messaging.v1.MessagingService. Thin on purpose: convert
// the request to domain types, call the domain service, convert the result.

#include <grpcpp/grpcpp.h>

#include "domain/conversation_service.h"
#include "domain/message_service.h"
#include "domain/stream_cursor_codec.h"
#include "messaging/v1/messaging.grpc.pb.h"
#include "streaming/stream_hub.h"
#include "transport/call_handler.h"

namespace messaging::transport {

namespace v1 = ::messaging::v1;

// Unary methods use the synchronous API (a bounded pool of gRPC threads);
// StreamMessages uses the callback API so open streams hold no thread.
class MessagingServiceImpl : public v1::MessagingService::WithCallbackMethod_StreamMessages<
                                 v1::MessagingService::Service> {
 public:
  using Base =
      v1::MessagingService::WithCallbackMethod_StreamMessages<v1::MessagingService::Service>;
  using Base::StreamMessages;  // The disabled synchronous overload stays visible.

  struct StreamOptions {
    std::size_t queue_capacity = 64;  // Events buffered per stream before it catches up.
  };

  MessagingServiceImpl(const CallHandler& calls, domain::ConversationService& conversations,
                       domain::MessageService& messages, streaming::StreamHub& hub,
                       const domain::StreamCursorCodec& cursors, StreamOptions stream_options)
      : calls_(calls),
        conversations_(conversations),
        messages_(messages),
        hub_(hub),
        cursors_(cursors),
        stream_options_(stream_options) {}

  grpc::Status CreateConversation(grpc::ServerContext* context,
                                  const v1::CreateConversationRequest* request,
                                  v1::Conversation* response) override;
  grpc::Status GetOrCreateConversation(grpc::ServerContext* context,
                                       const v1::GetOrCreateConversationRequest* request,
                                       v1::Conversation* response) override;
  grpc::Status GetConversation(grpc::ServerContext* context,
                               const v1::GetConversationRequest* request,
                               v1::Conversation* response) override;
  grpc::Status ListConversations(grpc::ServerContext* context,
                                 const v1::ListConversationsRequest* request,
                                 v1::ListConversationsResponse* response) override;
  grpc::Status UpdateConversation(grpc::ServerContext* context,
                                  const v1::UpdateConversationRequest* request,
                                  v1::Conversation* response) override;
  grpc::Status DeleteConversation(grpc::ServerContext* context,
                                  const v1::DeleteConversationRequest* request,
                                  google::protobuf::Empty* response) override;
  grpc::Status MarkConversationRead(grpc::ServerContext* context,
                                    const v1::MarkConversationReadRequest* request,
                                    v1::Conversation* response) override;
  grpc::Status CreateMessage(grpc::ServerContext* context, const v1::CreateMessageRequest* request,
                             v1::Message* response) override;
  grpc::Status GetMessage(grpc::ServerContext* context, const v1::GetMessageRequest* request,
                          v1::Message* response) override;
  grpc::Status ListMessages(grpc::ServerContext* context, const v1::ListMessagesRequest* request,
                            v1::ListMessagesResponse* response) override;
  grpc::Status UpdateMessage(grpc::ServerContext* context, const v1::UpdateMessageRequest* request,
                             v1::Message* response) override;
  grpc::Status UpdateDeliveryStatus(grpc::ServerContext* context,
                                    const v1::UpdateDeliveryStatusRequest* request,
                                    v1::Message* response) override;
  grpc::Status DeleteMessage(grpc::ServerContext* context, const v1::DeleteMessageRequest* request,
                             google::protobuf::Empty* response) override;
  grpc::ServerWriteReactor<v1::MessageEvent>* StreamMessages(
      grpc::CallbackServerContext* context, const v1::StreamMessagesRequest* request) override;

 private:
  const CallHandler& calls_;
  domain::ConversationService& conversations_;
  domain::MessageService& messages_;
  streaming::StreamHub& hub_;
  const domain::StreamCursorCodec& cursors_;
  const StreamOptions stream_options_;
};

}  // namespace messaging::transport
