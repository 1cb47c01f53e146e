#include "transport/messaging_service.h"

#include "common/status_macros.h"
#include "domain/validation.h"
#include "transport/proto_mapping.h"

namespace messaging::transport {

using domain::RequestContext;
using google::protobuf::Empty;

void MessagingService::Register(AsyncMethods& methods, const CallHandler& calls,
                                streaming::StreamHub& hub, const domain::StreamCursorCodec& cursors,
                                StreamMessagesMethod::Options stream_options) {
  constexpr Admission kTenant = Admission::kDistributor;

  methods.AddUnary(&service_, "CreateConversation", kTenant,
                   [this](const RequestContext& ctx, const v1::CreateConversationRequest& request,
                          v1::Conversation* response) -> absl::Status {
                     ASSIGN_OR_RETURN(auto input, NewConversationFromProto(request.conversation()));
                     ASSIGN_OR_RETURN(auto conversation,
                                      conversations_.Create(ctx, std::move(input)));
                     ToProto(conversation, response);
                     return absl::OkStatus();
                   });

  methods.AddUnary(
      &service_, "GetOrCreateConversation", kTenant,
      [this](const RequestContext& ctx, const v1::GetOrCreateConversationRequest& request,
             v1::Conversation* response) -> absl::Status {
        ASSIGN_OR_RETURN(auto channel, FromProto(request.channel(), "channel"));
        ASSIGN_OR_RETURN(auto conversation,
                         conversations_.GetOrCreate(ctx, request.customer_id(), channel));
        ToProto(conversation, response);
        return absl::OkStatus();
      });

  methods.AddUnary(&service_, "GetConversation", kTenant,
                   [this](const RequestContext& ctx, const v1::GetConversationRequest& request,
                          v1::Conversation* response) -> absl::Status {
                     ASSIGN_OR_RETURN(auto conversation, conversations_.Get(ctx, request.id()));
                     ToProto(conversation, response);
                     return absl::OkStatus();
                   });

  methods.AddUnary(
      &service_, "ListConversations", kTenant,
      [this](const RequestContext& ctx, const v1::ListConversationsRequest& request,
             v1::ListConversationsResponse* response) -> absl::Status {
        domain::ConversationFilter filter;
        if (!request.customer_id().empty()) filter.customer_id = request.customer_id();
        ASSIGN_OR_RETURN(filter.channel, FromProto(request.channel(), "channel"));
        ASSIGN_OR_RETURN(filter.status, FromProto(request.status(), "status"));
        ASSIGN_OR_RETURN(auto list, conversations_.List(ctx, std::move(filter), request.page_size(),
                                                        request.page_token()));
        response->mutable_conversations()->Reserve(static_cast<int>(list.conversations.size()));
        for (auto& conversation : list.conversations) {
          ToProto(std::move(conversation), response->add_conversations());
        }
        response->set_next_page_token(std::move(list.next_page_token));
        response->set_stream_cursor(std::move(list.stream_cursor));
        return absl::OkStatus();
      });

  methods.AddUnary(
      &service_, "UpdateConversation", kTenant,
      [this](const RequestContext& ctx, const v1::UpdateConversationRequest& request,
             v1::Conversation* response) -> absl::Status {
        ASSIGN_OR_RETURN(auto patch,
                         ConversationPatchFromProto(request.conversation(), request.update_mask()));
        ASSIGN_OR_RETURN(auto conversation,
                         conversations_.Update(ctx, request.conversation().id(), patch));
        ToProto(conversation, response);
        return absl::OkStatus();
      });

  methods.AddUnary(
      &service_, "DeleteConversation", kTenant,
      [this](const RequestContext& ctx, const v1::DeleteConversationRequest& request,
             Empty* /*response*/) { return conversations_.Delete(ctx, request.id()); });

  methods.AddUnary(&service_, "MarkConversationRead", kTenant,
                   [this](const RequestContext& ctx, const v1::MarkConversationReadRequest& request,
                          v1::Conversation* response) -> absl::Status {
                     ASSIGN_OR_RETURN(auto conversation,
                                      conversations_.MarkRead(ctx, request.id()));
                     ToProto(conversation, response);
                     return absl::OkStatus();
                   });

  methods.AddUnary(&service_, "CreateMessage", kTenant,
                   [this](const RequestContext& ctx, const v1::CreateMessageRequest& request,
                          v1::Message* response) -> absl::Status {
                     ASSIGN_OR_RETURN(auto input, NewMessageFromProto(request.message()));
                     ASSIGN_OR_RETURN(auto message, messages_.Create(ctx, std::move(input)));
                     ToProto(message, response);
                     return absl::OkStatus();
                   });

  methods.AddUnary(&service_, "GetMessage", kTenant,
                   [this](const RequestContext& ctx, const v1::GetMessageRequest& request,
                          v1::Message* response) -> absl::Status {
                     ASSIGN_OR_RETURN(auto message, messages_.Get(ctx, request.id()));
                     ToProto(message, response);
                     return absl::OkStatus();
                   });

  methods.AddUnary(&service_, "ListMessages", kTenant,
                   [this](const RequestContext& ctx, const v1::ListMessagesRequest& request,
                          v1::ListMessagesResponse* response) -> absl::Status {
                     ASSIGN_OR_RETURN(
                         auto list,
                         messages_.List(ctx, request.conversation_id(), request.order_by(),
                                        request.page_size(), request.page_token()));
                     response->mutable_messages()->Reserve(static_cast<int>(list.messages.size()));
                     for (auto& message : list.messages)
                       ToProto(std::move(message), response->add_messages());
                     response->set_next_page_token(std::move(list.next_page_token));
                     response->set_stream_cursor(std::move(list.stream_cursor));
                     return absl::OkStatus();
                   });

  methods.AddUnary(
      &service_, "UpdateMessage", kTenant,
      [this](const RequestContext& ctx, const v1::UpdateMessageRequest& request,
             v1::Message* response) -> absl::Status {
        ASSIGN_OR_RETURN(auto patch,
                         MessagePatchFromProto(request.message(), request.update_mask()));
        ASSIGN_OR_RETURN(auto message, messages_.Update(ctx, request.message().id(), patch));
        ToProto(message, response);
        return absl::OkStatus();
      });

  methods.AddUnary(
      &service_, "UpdateDeliveryStatus", kTenant,
      [this](const RequestContext& ctx, const v1::UpdateDeliveryStatusRequest& request,
             v1::Message* response) -> absl::Status {
        domain::MessageRef ref;
        if (request.has_id()) ref.id = request.id();
        if (request.has_external_message_id()) {
          ref.external_message_id = request.external_message_id();
        }
        ASSIGN_OR_RETURN(auto status, FromProto(request.delivery_status(), "delivery_status"));
        ASSIGN_OR_RETURN(auto message, messages_.UpdateDeliveryStatus(ctx, std::move(ref), status,
                                                                      request.error_code(),
                                                                      request.error_message()));
        ToProto(message, response);
        return absl::OkStatus();
      });

  methods.AddUnary(&service_, "DeleteMessage", kTenant,
                   [this](const RequestContext& ctx, const v1::DeleteMessageRequest& request,
                          Empty* /*response*/) { return messages_.Delete(ctx, request.id()); });

  // ---- AI work queue ----
  constexpr Admission kWorker = Admission::kWorker;
  constexpr Admission kEither = Admission::kDistributorOrWorker;

  // A long poll: with a wait_duration, an empty claim waits (no thread) for
  // the replica's next wake-up or the next item to come off its backoff.
  observability::Metrics& metrics = calls.metrics();
  methods.AddLongPoll(
      &service_, "ClaimAiWork", kWorker,
      [this, &metrics](const RequestContext& ctx, const v1::ClaimAiWorkRequest& request,
                       v1::ClaimAiWorkResponse* response) -> absl::StatusOr<PollOutcome> {
        ASSIGN_OR_RETURN(
            auto claim,
            ai_work_.PrepareClaim(
                request.max_items(),
                DurationFromProto(request.has_lease_duration(), request.lease_duration()),
                DurationFromProto(request.has_wait_duration(), request.wait_duration())));
        ASSIGN_OR_RETURN(auto items, ai_work_.Claim(ctx, claim));
        PollOutcome outcome;
        outcome.ready = !items.empty() || claim.wait <= absl::ZeroDuration();
        outcome.full = static_cast<std::int64_t>(items.size()) >= claim.max_items;
        outcome.wait = claim.wait;
        if (!outcome.ready) {
          ASSIGN_OR_RETURN(auto next, ai_work_.NextAvailable(ctx));
          if (next) outcome.retry_at = *next;
        }
        std::int64_t retries = 0;
        for (const auto& item : items) retries += item.attempt > 1 ? 1 : 0;
        metrics.AddAiClaimed(static_cast<std::int64_t>(items.size()), retries);
        response->mutable_items()->Reserve(static_cast<int>(items.size()));
        for (auto& item : items) ToProto(std::move(item), response->add_items());
        return outcome;
      });

  methods.AddUnary(&service_, "ExtendAiWorkLease", kWorker,
                   [this](const RequestContext& ctx, const v1::ExtendAiWorkLeaseRequest& request,
                          v1::AiWorkItem* response) -> absl::Status {
                     ASSIGN_OR_RETURN(
                         auto item, ai_work_.Extend(ctx, request.id(), request.lease_token(),
                                                    DurationFromProto(request.has_lease_duration(),
                                                                      request.lease_duration())));
                     ToProto(std::move(item), response);
                     return absl::OkStatus();
                   });

  methods.AddUnary(
      &service_, "CompleteAiWork", kWorker,
      [this](const RequestContext& ctx, const v1::CompleteAiWorkRequest& request,
             v1::Message* response) -> absl::Status {
        domain::AiWorkResult result;
        result.ai_summary = request.ai_summary();
        result.ai_intent = request.ai_intent();
        result.ai_sentiment = request.ai_sentiment();
        if (request.has_ai_extracted_data()) {
          ASSIGN_OR_RETURN(result.ai_extracted_data_json,
                           StructToJson(request.ai_extracted_data(), "ai_extracted_data"));
        }
        if (request.has_conversation_ai_context_summary()) {
          result.conversation_ai_context_summary = request.conversation_ai_context_summary();
        }
        ASSIGN_OR_RETURN(auto message, ai_work_.Complete(ctx, request.id(), request.lease_token(),
                                                         std::move(result)));
        ToProto(message, response);
        return absl::OkStatus();
      });

  methods.AddUnary(
      &service_, "FailAiWork", kWorker,
      [this, &metrics](const RequestContext& ctx, const v1::FailAiWorkRequest& request,
                       v1::AiWorkItem* response) -> absl::Status {
        const auto delay = DurationFromProto(request.has_retry_delay(), request.retry_delay());
        ASSIGN_OR_RETURN(auto item, ai_work_.Fail(ctx, request.id(), request.lease_token(),
                                                  request.error_message(), request.retryable(),
                                                  delay.value_or(absl::ZeroDuration())));
        if (item.state == domain::AiWorkState::kDeadLettered) metrics.AddAiDeadLettered();
        ToProto(std::move(item), response);
        return absl::OkStatus();
      });

  methods.AddUnary(&service_, "ListAiWork", kEither,
                   [this](const RequestContext& ctx, const v1::ListAiWorkRequest& request,
                          v1::ListAiWorkResponse* response) -> absl::Status {
                     ASSIGN_OR_RETURN(auto state, FromProto(request.state(), "state"));
                     ASSIGN_OR_RETURN(auto list, ai_work_.List(ctx, state, request.page_size(),
                                                               request.page_token()));
                     response->mutable_items()->Reserve(static_cast<int>(list.items.size()));
                     for (auto& item : list.items) ToProto(std::move(item), response->add_items());
                     response->set_next_page_token(std::move(list.next_page_token));
                     return absl::OkStatus();
                   });

  methods.AddUnary(&service_, "RequeueAiWork", kEither,
                   [this](const RequestContext& ctx, const v1::RequeueAiWorkRequest& request,
                          v1::AiWorkItem* response) -> absl::Status {
                     ASSIGN_OR_RETURN(auto item, ai_work_.Requeue(ctx, request.id()));
                     ToProto(std::move(item), response);
                     return absl::OkStatus();
                   });

  methods.Add(std::make_unique<StreamMessagesMethod>(
      RequestStreamOf(&service_, MethodIndexOrDie<MessagingRawService>("StreamMessages")), calls,
      hub, cursors, stream_options));
}

}  // namespace messaging::transport
