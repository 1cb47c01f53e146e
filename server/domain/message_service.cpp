#include "domain/message_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "domain/pagination.h"

namespace messaging::domain {

absl::StatusOr<bool> ParseMessageOrder(absl::string_view order_by) {
  const std::vector<absl::string_view> words =
      absl::StrSplit(order_by, ' ', absl::SkipWhitespace());
  if (words.empty()) return false;
  if (words[0] == "create_time") {
    if (words.size() == 1) return false;
    if (words.size() == 2) {
      const std::string direction = absl::AsciiStrToLower(words[1]);
      if (direction == "asc") return false;
      if (direction == "desc") return true;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("order_by: ", QuoteForError(order_by),
                   " is not supported; use \"create_time\" or \"create_time desc\""));
}

std::string MessagePreview(const NewMessage& message, std::size_t max_chars) {
  if (!message.content.empty()) return Preview(message.content, max_chars);
  return absl::StrCat("[", ToDb(message.message_type.value_or(MessageType::kText)), "]");
}

absl::StatusOr<Message> MessageService::Create(const RequestContext& ctx, NewMessage message) {
  ASSIGN_OR_RETURN(message.conversation_id,
                   ParseUuid(message.conversation_id, "message.conversation_id"));
  if (!message.direction) return absl::InvalidArgumentError("message.direction: is required");
  if (!message.message_type) message.message_type = MessageType::kText;
  if (!message.delivery_status) {
    message.delivery_status = *message.direction == Direction::kInbound ? DeliveryStatus::kReceived
                                                                        : DeliveryStatus::kQueued;
  }
  if (!message.ai_processing_status) message.ai_processing_status = AiProcessingStatus::kPending;
  RETURN_IF_ERROR(ValidateNewMessage(message, limits_));
  return repository_.Create(ctx, message, MessagePreview(message, limits_.preview_chars));
}

absl::StatusOr<Message> MessageService::Get(const RequestContext& ctx, absl::string_view id) {
  ASSIGN_OR_RETURN(std::string message_id, ParseUuid(id, "id"));
  return repository_.Get(ctx, message_id);
}

absl::StatusOr<MessageList> MessageService::List(const RequestContext& ctx,
                                                 absl::string_view conversation_id,
                                                 absl::string_view order_by, std::int32_t page_size,
                                                 const std::string& page_token) {
  MessageQuery query;
  ASSIGN_OR_RETURN(query.conversation_id, ParseUuid(conversation_id, "conversation_id"));
  ASSIGN_OR_RETURN(query.descending, ParseMessageOrder(order_by));
  ASSIGN_OR_RETURN(query.limit, EffectivePageSize(page_size));
  query.max_bytes = PageByteBudget(limits_.max_page_bytes);
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(query.after,
                     page_tokens_.DecodeMessages(ctx.distributor_id, query.conversation_id,
                                                 query.descending, page_token));
  }
  ASSIGN_OR_RETURN(Page<Message> page, repository_.List(ctx, query));
  MessageList result;
  if (page.has_more && !page.items.empty()) {
    const Message& last = page.items.back();
    result.next_page_token = page_tokens_.EncodeMessages(
        ctx.distributor_id, query.conversation_id, query.descending, {last.created_at, last.id});
  }
  result.messages = std::move(page.items);
  result.stream_cursor = cursors_.Encode(
      ctx.distributor_id, CursorFromSnapshot(page.snapshot, absl::ToUnixMicros(absl::Now())));
  return result;
}

absl::StatusOr<Message> MessageService::Update(const RequestContext& ctx, absl::string_view id,
                                               const MessagePatch& patch) {
  ASSIGN_OR_RETURN(std::string message_id, ParseUuid(id, "message.id"));
  RETURN_IF_ERROR(ValidateMessagePatch(patch, limits_));
  return repository_.Update(ctx, message_id, patch);
}

absl::StatusOr<Message> MessageService::UpdateDeliveryStatus(const RequestContext& ctx,
                                                             MessageRef ref,
                                                             std::optional<DeliveryStatus> status,
                                                             std::string error_code,
                                                             std::string error_message) {
  if (!ref.id.empty()) {
    ASSIGN_OR_RETURN(ref.id, ParseUuid(ref.id, "id"));
  } else if (ref.external_message_id.empty()) {
    return absl::InvalidArgumentError("id: one of id or external_message_id is required");
  } else {
    RETURN_IF_ERROR(
        CheckText(ref.external_message_id, "external_message_id", limits_.max_text_field_bytes));
  }
  if (!status) return absl::InvalidArgumentError("delivery_status: is required");
  if (*status == DeliveryStatus::kReceived) {
    return absl::InvalidArgumentError(
        "delivery_status: RECEIVED is set on inbound messages at creation, not by a callback");
  }
  RETURN_IF_ERROR(CheckText(error_code, "error_code", limits_.max_text_field_bytes));
  RETURN_IF_ERROR(CheckText(error_message, "error_message", limits_.max_text_field_bytes));
  return repository_.UpdateDeliveryStatus(
      ctx, DeliveryStatusUpdate{std::move(ref), *status, std::move(error_code),
                                std::move(error_message)});
}

absl::Status MessageService::Delete(const RequestContext& ctx, absl::string_view id) {
  ASSIGN_OR_RETURN(std::string message_id, ParseUuid(id, "id"));
  return repository_.Delete(ctx, message_id);
}

}  // namespace messaging::domain
