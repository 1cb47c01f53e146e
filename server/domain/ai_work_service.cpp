#include "domain/ai_work_service.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "domain/not_found.h"
#include "domain/pagination.h"
#include "domain/validation.h"

namespace messaging::domain {
namespace {

double UnitRandom() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

}  // namespace

absl::StatusOr<AiWorkClaim> AiWorkService::PrepareClaim(std::int64_t max_items,
                                                        std::optional<absl::Duration> lease,
                                                        std::optional<absl::Duration> wait) const {
  AiWorkClaim claim;
  ASSIGN_OR_RETURN(claim.max_items, ClaimItems(max_items));
  ASSIGN_OR_RETURN(claim.lease, LeaseDuration(lease, "lease_duration"));
  ASSIGN_OR_RETURN(claim.wait, ClaimWait(wait));
  claim.leased_cap = settings_.leased_cap;
  claim.max_attempts = settings_.max_attempts;
  return claim;
}

absl::StatusOr<std::vector<AiWorkItem>> AiWorkService::Claim(const RequestContext& ctx,
                                                             const AiWorkClaim& claim) {
  ASSIGN_OR_RETURN(auto items, repository_.Claim(ctx, claim));
  for (auto& item : items) {
    item.sealed_lease_token = leases_.Encode({item.id, item.distributor_id, item.lease_token});
  }
  return items;
}

absl::StatusOr<std::optional<absl::Time>> AiWorkService::NextAvailable(const RequestContext& ctx) {
  ASSIGN_OR_RETURN(auto next, repository_.NextAvailable(ctx));
  if (!next) return std::optional<absl::Time>();
  return std::optional<absl::Time>(absl::FromUnixMicros(*next));
}

absl::StatusOr<std::pair<RequestContext, AiWorkLease>> AiWorkService::OpenLease(
    const RequestContext& ctx, absl::string_view id, absl::string_view lease_token) const {
  ASSIGN_OR_RETURN(auto item_id, ParseUuid(id, "id"));
  ASSIGN_OR_RETURN(auto lease, leases_.Decode(lease_token, item_id));
  // A worker restricted to one distributor never held another's lease.
  if (!ctx.distributor_id.empty() && ctx.distributor_id != lease.distributor_id) {
    return NotFound("ai work item", item_id);
  }
  RequestContext tenant = ctx.AsTenant(lease.distributor_id);
  return std::make_pair(std::move(tenant), std::move(lease));
}

absl::StatusOr<AiWorkItem> AiWorkService::Extend(const RequestContext& ctx, absl::string_view id,
                                                 absl::string_view lease_token,
                                                 std::optional<absl::Duration> lease) {
  ASSIGN_OR_RETURN(auto duration, LeaseDuration(lease, "lease_duration"));
  ASSIGN_OR_RETURN(auto opened, OpenLease(ctx, id, lease_token));
  ASSIGN_OR_RETURN(auto item, repository_.Extend(opened.first, opened.second, duration));
  item.sealed_lease_token = std::string(lease_token);  // Still the holder's lease.
  return item;
}

absl::StatusOr<Message> AiWorkService::Complete(const RequestContext& ctx, absl::string_view id,
                                                absl::string_view lease_token,
                                                AiWorkResult result) {
  const Limits limits;
  RETURN_IF_ERROR(CheckText(result.ai_summary, "ai_summary", limits.max_summary_bytes));
  RETURN_IF_ERROR(CheckText(result.ai_intent, "ai_intent", limits.max_text_field_bytes));
  RETURN_IF_ERROR(CheckText(result.ai_sentiment, "ai_sentiment", limits.max_text_field_bytes));
  if (result.ai_extracted_data_json) {
    RETURN_IF_ERROR(
        CheckText(*result.ai_extracted_data_json, "ai_extracted_data", limits.max_json_bytes));
  }
  if (result.conversation_ai_context_summary) {
    RETURN_IF_ERROR(CheckText(*result.conversation_ai_context_summary,
                              "conversation_ai_context_summary", limits.max_summary_bytes));
  }
  ASSIGN_OR_RETURN(auto opened, OpenLease(ctx, id, lease_token));
  return repository_.Complete(opened.first, opened.second, result);
}

absl::StatusOr<AiWorkItem> AiWorkService::Fail(const RequestContext& ctx, absl::string_view id,
                                               absl::string_view lease_token,
                                               std::string error_message, bool retryable,
                                               absl::Duration retry_delay) {
  if (retry_delay < absl::ZeroDuration() || retry_delay > absl::Hours(24)) {
    return absl::InvalidArgumentError("retry_delay: must be between 0 and 24 hours");
  }
  RETURN_IF_ERROR(CheckText(error_message, "error_message", kMaxAiErrorBytes));
  ASSIGN_OR_RETURN(auto opened, OpenLease(ctx, id, lease_token));
  AiWorkFailure failure;
  failure.error_message = std::move(error_message);
  failure.retryable = retryable;
  failure.max_attempts = settings_.max_attempts;
  failure.retry_delay = [retry_delay](int attempt) {
    return RetryDelay(attempt, retry_delay, UnitRandom());
  };
  return repository_.Fail(opened.first, opened.second, failure);
}

std::string AiWorkService::PageBinding(const RequestContext& ctx,
                                       std::optional<AiWorkState> state) const {
  return absl::StrCat("ai-work-list|", ctx.distributor_id, "|", ctx.worker_name, "|",
                      state ? ToDb(*state) : "");
}

absl::StatusOr<AiWorkList> AiWorkService::List(const RequestContext& ctx,
                                               std::optional<AiWorkState> state,
                                               std::int32_t page_size,
                                               const std::string& page_token) {
  AiWorkQuery query;
  query.state = state;
  ASSIGN_OR_RETURN(query.limit, EffectivePageSize(page_size));
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(query.after_id,
                     sealer_.Open(page_token, PageBinding(ctx, state), "page_token"));
  }
  ASSIGN_OR_RETURN(auto page, repository_.List(ctx, query));
  AiWorkList list;
  if (page.has_more && !page.items.empty()) {
    list.next_page_token = sealer_.Seal(PageBinding(ctx, state), page.items.back().id);
  }
  list.items = std::move(page.items);
  return list;
}

absl::StatusOr<AiWorkItem> AiWorkService::Requeue(const RequestContext& ctx, absl::string_view id) {
  ASSIGN_OR_RETURN(auto item_id, ParseUuid(id, "id"));
  return repository_.Requeue(ctx, item_id);
}

}  // namespace messaging::domain
