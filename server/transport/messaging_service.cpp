#include "transport/messaging_service.h"

#include "common/status_macros.h"
#include "domain/validation.h"
#include "transport/proto_mapping.h"
#include "transport/stream_reactor.h"

namespace messaging::transport {

using domain::RequestContext;

grpc::Status MessagingServiceImpl::CreateConversation(grpc::ServerContext* context,
                                                      const v1::CreateConversationRequest* request,
                                                      v1::Conversation* response) {
  return calls_.Run(context, "CreateConversation", [&](const RequestContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(auto input, NewConversationFromProto(request->conversation()));
    ASSIGN_OR_RETURN(auto conversation, conversations_.Create(ctx, std::move(input)));
    ToProto(conversation, response);
    return absl::OkStatus();
  });
}

grpc::Status MessagingServiceImpl::GetOrCreateConversation(
    grpc::ServerContext* context, const v1::GetOrCreateConversationRequest* request,
    v1::Conversation* response) {
  return calls_.Run(
      context, "GetOrCreateConversation", [&](const RequestContext& ctx) -> absl::Status {
        ASSIGN_OR_RETURN(auto channel, FromProto(request->channel(), "channel"));
        ASSIGN_OR_RETURN(auto conversation,
                         conversations_.GetOrCreate(ctx, request->customer_id(), channel));
        ToProto(conversation, response);
        return absl::OkStatus();
      });
}

grpc::Status MessagingServiceImpl::GetConversation(grpc::ServerContext* context,
                                                   const v1::GetConversationRequest* request,
                                                   v1::Conversation* response) {
  return calls_.Run(context, "GetConversation", [&](const RequestContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(auto conversation, conversations_.Get(ctx, request->id()));
    ToProto(conversation, response);
    return absl::OkStatus();
  });
}

grpc::Status MessagingServiceImpl::ListConversations(grpc::ServerContext* context,
                                                     const v1::ListConversationsRequest* request,
                                                     v1::ListConversationsResponse* response) {
  return calls_.Run(context, "ListConversations", [&](const RequestContext& ctx) -> absl::Status {
    domain::ConversationFilter filter;
    if (!request->customer_id().empty()) filter.customer_id = request->customer_id();
    ASSIGN_OR_RETURN(filter.channel, FromProto(request->channel(), "channel"));
    ASSIGN_OR_RETURN(filter.status, FromProto(request->status(), "status"));
    ASSIGN_OR_RETURN(auto list, conversations_.List(ctx, std::move(filter), request->page_size(),
                                                    request->page_token()));
    for (const auto& conversation : list.conversations) {
      ToProto(conversation, response->add_conversations());
    }
    response->set_next_page_token(list.next_page_token);
    response->set_stream_cursor(list.stream_cursor);
    return absl::OkStatus();
  });
}

grpc::Status MessagingServiceImpl::UpdateConversation(grpc::ServerContext* context,
                                                      const v1::UpdateConversationRequest* request,
                                                      v1::Conversation* response) {
  return calls_.Run(context, "UpdateConversation", [&](const RequestContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(auto patch,
                     ConversationPatchFromProto(request->conversation(), request->update_mask()));
    ASSIGN_OR_RETURN(auto conversation,
                     conversations_.Update(ctx, request->conversation().id(), patch));
    ToProto(conversation, response);
    return absl::OkStatus();
  });
}

grpc::Status MessagingServiceImpl::DeleteConversation(grpc::ServerContext* context,
                                                      const v1::DeleteConversationRequest* request,
                                                      google::protobuf::Empty* /*response*/) {
  return calls_.Run(context, "DeleteConversation", [&](const RequestContext& ctx) {
    return conversations_.Delete(ctx, request->id());
  });
}

grpc::Status MessagingServiceImpl::MarkConversationRead(
    grpc::ServerContext* context, const v1::MarkConversationReadRequest* request,
    v1::Conversation* response) {
  return calls_.Run(
      context, "MarkConversationRead", [&](const RequestContext& ctx) -> absl::Status {
        ASSIGN_OR_RETURN(auto conversation, conversations_.MarkRead(ctx, request->id()));
        ToProto(conversation, response);
        return absl::OkStatus();
      });
}

grpc::Status MessagingServiceImpl::CreateMessage(grpc::ServerContext* context,
                                                 const v1::CreateMessageRequest* request,
                                                 v1::Message* response) {
  return calls_.Run(context, "CreateMessage", [&](const RequestContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(auto input, NewMessageFromProto(request->message()));
    ASSIGN_OR_RETURN(auto message, messages_.Create(ctx, std::move(input)));
    ToProto(message, response);
    return absl::OkStatus();
  });
}

grpc::Status MessagingServiceImpl::GetMessage(grpc::ServerContext* context,
                                              const v1::GetMessageRequest* request,
                                              v1::Message* response) {
  return calls_.Run(context, "GetMessage", [&](const RequestContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(auto message, messages_.Get(ctx, request->id()));
    ToProto(message, response);
    return absl::OkStatus();
  });
}

grpc::Status MessagingServiceImpl::ListMessages(grpc::ServerContext* context,
                                                const v1::ListMessagesRequest* request,
                                                v1::ListMessagesResponse* response) {
  return calls_.Run(context, "ListMessages", [&](const RequestContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(auto list, messages_.List(ctx, request->conversation_id(), request->order_by(),
                                               request->page_size(), request->page_token()));
    for (const auto& message : list.messages) ToProto(message, response->add_messages());
    response->set_next_page_token(list.next_page_token);
    response->set_stream_cursor(list.stream_cursor);
    return absl::OkStatus();
  });
}

grpc::Status MessagingServiceImpl::UpdateMessage(grpc::ServerContext* context,
                                                 const v1::UpdateMessageRequest* request,
                                                 v1::Message* response) {
  return calls_.Run(context, "UpdateMessage", [&](const RequestContext& ctx) -> absl::Status {
    ASSIGN_OR_RETURN(auto patch, MessagePatchFromProto(request->message(), request->update_mask()));
    ASSIGN_OR_RETURN(auto message, messages_.Update(ctx, request->message().id(), patch));
    ToProto(message, response);
    return absl::OkStatus();
  });
}

grpc::Status MessagingServiceImpl::UpdateDeliveryStatus(
    grpc::ServerContext* context, const v1::UpdateDeliveryStatusRequest* request,
    v1::Message* response) {
  return calls_.Run(
      context, "UpdateDeliveryStatus", [&](const RequestContext& ctx) -> absl::Status {
        domain::MessageRef ref;
        if (request->has_id()) ref.id = request->id();
        if (request->has_external_message_id())
          ref.external_message_id = request->external_message_id();
        ASSIGN_OR_RETURN(auto status, FromProto(request->delivery_status(), "delivery_status"));
        ASSIGN_OR_RETURN(auto message, messages_.UpdateDeliveryStatus(ctx, std::move(ref), status,
                                                                      request->error_code(),
                                                                      request->error_message()));
        ToProto(message, response);
        return absl::OkStatus();
      });
}

grpc::Status MessagingServiceImpl::DeleteMessage(grpc::ServerContext* context,
                                                 const v1::DeleteMessageRequest* request,
                                                 google::protobuf::Empty* /*response*/) {
  return calls_.Run(context, "DeleteMessage", [&](const RequestContext& ctx) {
    return messages_.Delete(ctx, request->id());
  });
}

grpc::ServerWriteReactor<v1::MessageEvent>* MessagingServiceImpl::StreamMessages(
    grpc::CallbackServerContext* context, const v1::StreamMessagesRequest* request) {
  // Only pure checks here: this runs on a gRPC thread. Database work (does the
  // conversation exist?) happens on the hub's executor.
  std::string request_id = CallHandler::AssignRequestId(context);
  auto reject = [&](const absl::Status& error) {
    return new StreamReactor(context, calls_, std::move(request_id), error);
  };
  auto ctx = calls_.Admit(context);
  if (!ctx.ok()) return reject(ctx.status());
  auto conversation_id = domain::ParseOptionalUuid(request->conversation_id(), "conversation_id");
  if (!conversation_id.ok()) return reject(conversation_id.status());
  std::optional<domain::StreamCursor> cursor;
  if (!request->resume_cursor().empty()) {
    auto decoded = cursors_.Decode(ctx->distributor_id, request->resume_cursor(), absl::Now());
    if (!decoded.ok()) return reject(decoded.status());
    if (!decoded->conversation_id.empty() && decoded->conversation_id != *conversation_id) {
      // Its position skipped other conversations' events: it cannot resume a wider stream.
      return reject(absl::InvalidArgumentError(
          "resume_cursor: was issued for another conversation_id filter"));
    }
    cursor = *std::move(decoded);
  }
  auto subscription = std::make_shared<streaming::Subscription>(
      ctx->distributor_id, *conversation_id, stream_options_.queue_capacity, cursors_);
  auto* reactor = new StreamReactor(context, calls_, std::move(request_id), hub_, subscription,
                                    stream_options_.queue_capacity);
  hub_.Subscribe(subscription, std::move(cursor));
  return reactor;
}

}  // namespace messaging::transport
