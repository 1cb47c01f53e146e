#include "domain/conversation_service.h"

#include "common/status_macros.h"
#include "domain/pagination.h"

namespace messaging::domain {

absl::StatusOr<Conversation> ConversationService::Create(const RequestContext& ctx,
                                                         NewConversation conversation) {
  ASSIGN_OR_RETURN(conversation.customer_id,
                   ParseUuid(conversation.customer_id, "conversation.customer_id"));
  if (!conversation.channel) return absl::InvalidArgumentError("conversation.channel: is required");
  if (!conversation.status) conversation.status = ConversationStatus::kActive;
  RETURN_IF_ERROR(ValidateNewConversation(conversation, limits_));
  return repository_.Create(ctx, conversation);
}

absl::StatusOr<Conversation> ConversationService::GetOrCreate(const RequestContext& ctx,
                                                              absl::string_view customer_id,
                                                              std::optional<Channel> channel) {
  ASSIGN_OR_RETURN(std::string customer, ParseUuid(customer_id, "customer_id"));
  if (!channel) return absl::InvalidArgumentError("channel: is required");
  return repository_.GetOrCreate(ctx, customer, *channel);
}

absl::StatusOr<Conversation> ConversationService::Get(const RequestContext& ctx,
                                                      absl::string_view id) {
  ASSIGN_OR_RETURN(std::string conversation_id, ParseUuid(id, "id"));
  return repository_.Get(ctx, conversation_id);
}

absl::StatusOr<ConversationList> ConversationService::List(const RequestContext& ctx,
                                                           ConversationFilter filter,
                                                           std::int32_t page_size,
                                                           const std::string& page_token) {
  if (filter.customer_id) {
    ASSIGN_OR_RETURN(filter.customer_id, ParseUuid(*filter.customer_id, "customer_id"));
  }
  ConversationQuery query;
  ASSIGN_OR_RETURN(query.limit, EffectivePageSize(page_size));
  query.max_bytes = PageByteBudget(limits_.max_page_bytes);
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(query.after,
                     page_tokens_.DecodeConversations(ctx.distributor_id, filter, page_token));
  }
  query.filter = filter;
  ASSIGN_OR_RETURN(Page<Conversation> page, repository_.List(ctx, query));
  ConversationList result;
  if (page.has_more && !page.items.empty()) {
    const Conversation& last = page.items.back();
    result.next_page_token =
        page_tokens_.EncodeConversations(ctx.distributor_id, filter, {last.inbox_at, last.id});
  }
  result.conversations = std::move(page.items);
  result.stream_cursor = cursors_.Encode(
      ctx.distributor_id, CursorFromSnapshot(page.snapshot, absl::ToUnixMicros(absl::Now())));
  return result;
}

absl::StatusOr<Conversation> ConversationService::Update(const RequestContext& ctx,
                                                         absl::string_view id,
                                                         const ConversationPatch& patch) {
  ASSIGN_OR_RETURN(std::string conversation_id, ParseUuid(id, "conversation.id"));
  RETURN_IF_ERROR(ValidateConversationPatch(patch, limits_));
  return repository_.Update(ctx, conversation_id, patch);
}

absl::Status ConversationService::Delete(const RequestContext& ctx, absl::string_view id) {
  ASSIGN_OR_RETURN(std::string conversation_id, ParseUuid(id, "id"));
  return repository_.Delete(ctx, conversation_id);
}

absl::StatusOr<Conversation> ConversationService::MarkRead(const RequestContext& ctx,
                                                           absl::string_view id) {
  ASSIGN_OR_RETURN(std::string conversation_id, ParseUuid(id, "id"));
  return repository_.MarkRead(ctx, conversation_id);
}

}  // namespace messaging::domain
