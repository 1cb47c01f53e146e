#include "repository/pg_ai_work_repository.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "domain/footprint.h"
#include "domain/not_found.h"
#include "repository/row_mapping.h"
#include "repository/sql/ai_work_sql.h"
#include "repository/sql/conversation_sql.h"
#include "repository/sql/message_sql.h"

namespace messaging::repository {
namespace {

using domain::AiWorkItem;

// The fields of a work item by the names of sql::kAiWorkColumns.
inline constexpr auto kAiWorkFields = std::make_tuple(
    ReadColumn("id", &AiWorkItem::id), ReadColumn("distributor_id", &AiWorkItem::distributor_id),
    ReadColumn("message_id", &AiWorkItem::message_id), ReadColumn("state", &AiWorkItem::state),
    ReadColumn("attempt", &AiWorkItem::attempt),
    ReadColumn("lease_token", &AiWorkItem::lease_token),
    ReadColumn("lease_expire_time", &AiWorkItem::lease_expire_time),
    ReadColumn("available_at", &AiWorkItem::available_at),
    ReadColumn("last_error", &AiWorkItem::last_error));
using AiWorkItemReader = RowReader<AiWorkItem, kAiWorkFields>;

absl::Status StaleLease() {
  return absl::FailedPreconditionError(
      "lease_token: not the current lease of this item (expired, claimed again, completed or "
      "requeued)");
}

std::string Millis(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

// Claimed items by tenant, in the order their tenants are entered.
using ItemsByTenant = std::map<std::string, std::vector<AiWorkItem*>>;

// Fills each item's message, conversation and context messages, read in `tx`
// as the item's tenant, one tenant after the other; `tx` already acts as the
// first tenant of `by_tenant`. An item whose message is gone keeps none.
void ReadAsTenants(pqxx::transaction_base& tx, const ItemsByTenant& by_tenant) {
  for (const auto& [tenant, tenant_items] : by_tenant) {
    if (tenant != by_tenant.begin()->first) {
      Params(sql::kEnterAiWorkTenant).Set("distributor_id", tenant).Exec(tx);
    }
    for (AiWorkItem* item : tenant_items) {
      const auto rows =
          Params(sql::kAiWorkMessageWithContext).Set("message_id", item->message_id).Exec(tx);
      const MessageReader read_message(rows);
      item->message.reset();
      item->context_messages.clear();
      for (const auto& row : rows) item->context_messages.push_back(read_message(row));
      if (item->context_messages.empty()) continue;  // The message is gone.
      item->message = std::move(item->context_messages.back());
      item->context_messages.pop_back();
      item->conversation = FirstRow<ConversationReader>(
          Params(sql::kSelectConversation).Set("id", item->message->conversation_id).Exec(tx));
    }
  }
}

}  // namespace

std::vector<PreparedStatement> PgAiWorkRepository::Statements() {
  return {
      sql::kClaimAiWork.Prepared(),
      sql::kNextAvailableAiWork.Prepared(),
      sql::kSelectAiWork.Prepared(),
      sql::kEnterAiWorkTenant.Prepared(),
      sql::kAiWorkMessageWithContext.Prepared(),
      sql::kExtendAiWork.Prepared(),
      sql::kLockAiWorkLease.Prepared(),
      sql::kRetryAiWork.Prepared(),
      sql::kDeadLetterAiWork.Prepared(),
      sql::kSetAiStatus.Prepared(),
      sql::kCompleteAiWork.Prepared(),
      sql::kFindAiCompletion.Prepared(),
      sql::kRequeueAiWork.Prepared(),
      sql::kRequeueMessage.Prepared(),
      sql::kLocateAiWork.Prepared(),
      sql::kListAiWork.Prepared(),
      sql::kListAiWorkAcrossTenants.Prepared(),
      sql::kPruneAiWork.Prepared(),
      sql::kAiWorkDepth.Prepared(),
  };
}

absl::StatusOr<std::vector<AiWorkItem>> PgAiWorkRepository::Claim(
    const domain::RequestContext& ctx, const domain::AiWorkClaim& claim) {
  Params claim_statement(sql::kClaimAiWork);
  claim_statement.Set("max_items", absl::StrCat(claim.max_items))
      .Set("lease_ms", Millis(claim.lease))
      .Set("worker", ctx.worker_name)
      .Set("only_distributor", ctx.distributor_id)
      .Set("leased_cap", absl::StrCat(claim.leased_cap))
      .Set("max_attempts", absl::StrCat(claim.max_attempts));
  // One statement, safe to send again (kOneStatementIdempotentWrite): leases nobody
  // received expire and their items are claimed again.
  auto claimed = transactions_.Run<std::vector<AiWorkItem>>(
      ctx, claim_statement,
      [&](pqxx::transaction_base&,
          const pqxx::result& rows) -> absl::StatusOr<std::vector<AiWorkItem>> {
        std::vector<AiWorkItem> items;
        items.reserve(rows.size());
        const AiWorkItemReader read(rows);
        for (const auto& row : rows) items.push_back(read(row));
        return items;
      },
      TransactionMode::kOneStatementIdempotentWrite);
  if (!claimed.ok() || claimed->empty()) return claimed;
  // Dead-lettering in the claim may have changed messages: wake the streams.
  std::vector<AiWorkItem> items = *Announced(std::move(claimed));
  // Read in a transaction of its own, after the claim committed: the claim's
  // row locks (its items, the distributors' served marks) are then held for
  // one statement. Reading inside the claim's transaction was measured slower
  // (bench ai-queue, create->claim with 16 waiting workers, alternating runs:
  // p50 17-19 ms vs 14-15 ms, p99 47-70 ms vs 40-42 ms). A read that fails
  // leaves the leases to expire and be claimed again. The first tenant is
  // entered in the round trip of BEGIN.
  ItemsByTenant by_tenant;
  for (auto& item : items) by_tenant[item.distributor_id].push_back(&item);
  auto read = transactions_.Run<bool>(
      ctx, Params(sql::kEnterAiWorkTenant).Set("distributor_id", by_tenant.begin()->first),
      [&](pqxx::transaction_base& tx, const pqxx::result&) -> absl::StatusOr<bool> {
        ReadAsTenants(tx, by_tenant);
        return true;
      },
      TransactionMode::kSnapshotRead);
  if (!read.ok()) return read.status();
  // A message deleted since it was enqueued took its item with it.
  items.erase(std::remove_if(items.begin(), items.end(),
                             [](const AiWorkItem& item) { return !item.message.has_value(); }),
              items.end());
  return items;
}

absl::StatusOr<AiWorkItem> PgAiWorkRepository::Extend(const domain::RequestContext& ctx,
                                                      const domain::AiWorkLease& lease,
                                                      absl::Duration lease_duration) {
  Params extend(sql::kExtendAiWork);
  extend.Set("id", lease.item_id)
      .Set("fence", absl::StrCat(lease.fence))
      .Set("lease_ms", Millis(lease_duration));
  auto extended = transactions_.Run<AiWorkItem>(
      ctx, extend,
      [&](pqxx::transaction_base& tx,
          const pqxx::result& extended_rows) -> absl::StatusOr<AiWorkItem> {
        auto item = FirstRow<AiWorkItemReader>(extended_rows);
        if (!item) return StaleLease();
        item->message = FirstRow<MessageReader>(
            Params(sql::kSelectMessage).Set("id", item->message_id).Exec(tx));
        return *std::move(item);
      });
  return extended;
}

absl::StatusOr<domain::Message> PgAiWorkRepository::Complete(const domain::RequestContext& ctx,
                                                             const domain::AiWorkLease& lease,
                                                             const domain::AiWorkResult& result) {
  const std::string fence = absl::StrCat(lease.fence);
  const auto& summary = result.conversation_ai_context_summary;
  Params complete(sql::kCompleteAiWork);
  complete.Set("id", lease.item_id)
      .Set("fence", fence)
      .Set("ai_summary", result.ai_summary)
      .Set("ai_intent", result.ai_intent)
      .Set("ai_sentiment", result.ai_sentiment)
      .Set("ai_extracted_data", result.ai_extracted_data_json)
      .Set("set_summary", summary.has_value())
      .Set("summary", summary.value_or(""));
  // One statement, safe to send again (kOneStatementIdempotentWrite): a repeat writes
  // nothing and is answered below.
  auto written = transactions_.Run<std::optional<domain::Message>>(
      ctx, complete,
      [](pqxx::transaction_base&,
         const pqxx::result& written_rows) -> absl::StatusOr<std::optional<domain::Message>> {
        return FirstRow<MessageReader>(written_rows);
      },
      TransactionMode::kOneStatementIdempotentWrite);
  if (!written.ok()) return written.status();
  if (written->has_value()) {
    return Announced(absl::StatusOr<domain::Message>(**std::move(written)));
  }
  // Nothing written: a repeat of a completion with the same lease returns its
  // message; any other lease is stale.
  return transactions_.Run<domain::Message>(
      ctx,
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<domain::Message> {
        const auto done =
            Params(sql::kFindAiCompletion).Set("id", lease.item_id).Set("fence", fence).Exec(tx);
        if (done.empty()) return StaleLease();
        const std::string message_id = done[0][0].as<std::string>();
        return SingleRow<MessageReader>(Params(sql::kSelectMessage).Set("id", message_id).Exec(tx),
                                        "message", message_id);
      },
      TransactionMode::kSnapshotRead);
}

absl::StatusOr<AiWorkItem> PgAiWorkRepository::Fail(const domain::RequestContext& ctx,
                                                    const domain::AiWorkLease& lease,
                                                    const domain::AiWorkFailure& failure) {
  return Announced(transactions_.Run<AiWorkItem>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<AiWorkItem> {
        auto locked = FirstRow<AiWorkItemReader>(Params(sql::kLockAiWorkLease)
                                                     .Set("id", lease.item_id)
                                                     .Set("fence", absl::StrCat(lease.fence))
                                                     .Exec(tx));
        if (!locked) return StaleLease();
        const bool retry = failure.retryable && locked->attempt < failure.max_attempts;
        std::optional<AiWorkItem> item;
        if (retry) {
          item = FirstRow<AiWorkItemReader>(
              Params(sql::kRetryAiWork)
                  .Set("id", lease.item_id)
                  .Set("delay_ms", Millis(failure.retry_delay(locked->attempt)))
                  .Set("error", failure.error_message)
                  .Exec(tx));
        } else {
          item = FirstRow<AiWorkItemReader>(Params(sql::kDeadLetterAiWork)
                                                .Set("id", lease.item_id)
                                                .Set("error", failure.error_message)
                                                .Exec(tx));
          Params(sql::kSetAiStatus)
              .Set("message_id", locked->message_id)
              .Set("status", domain::AiProcessingStatus::kFailed)
              .Exec(tx);
        }
        if (!item) return StaleLease();
        item->message = FirstRow<MessageReader>(
            Params(sql::kSelectMessage).Set("id", item->message_id).Exec(tx));
        return *std::move(item);
      }));
}

absl::StatusOr<domain::Page<AiWorkItem>> PgAiWorkRepository::List(
    const domain::RequestContext& ctx, const domain::AiWorkQuery& query) {
  const std::string state(query.state ? domain::ToDb(*query.state) : "");
  if (!ctx.is_worker()) {
    return transactions_.Run<domain::Page<AiWorkItem>>(
        ctx,
        [&](pqxx::transaction_base& tx) -> absl::StatusOr<domain::Page<AiWorkItem>> {
          const auto rows = Params(sql::kListAiWork)
                                .Set("state", state)
                                .Set("after_id", query.after_id)
                                .Set("limit", absl::StrCat(query.limit + 1))
                                .Exec(tx);
          const AiWorkItemReader read(rows);
          domain::Page<AiWorkItem> page;
          std::size_t bytes = 0;
          for (const auto& row : rows) {
            if (static_cast<int>(page.items.size()) == query.limit || bytes >= query.max_bytes) {
              page.has_more = true;
              break;
            }
            AiWorkItem item = read(row);
            item.message = FirstRow<MessageReader>(
                Params(sql::kSelectMessage).Set("id", item.message_id).Exec(tx));
            if (item.message) bytes += domain::Footprint(*item.message);
            page.items.push_back(std::move(item));
          }
          return page;
        },
        TransactionMode::kSnapshotRead);
  }
  // A worker: ids across tenants, then each tenant's items under its RLS.
  auto ids = transactions_.Run<std::vector<std::pair<std::string, std::string>>>(
      ctx,
      [&](pqxx::transaction_base& tx)
          -> absl::StatusOr<std::vector<std::pair<std::string, std::string>>> {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& row : Params(sql::kListAiWorkAcrossTenants)
                                   .Set("state", state)
                                   .Set("after_id", query.after_id)
                                   .Set("limit", absl::StrCat(query.limit + 1))
                                   .Set("only_distributor", ctx.distributor_id)
                                   .Exec(tx)) {
          out.emplace_back(row[0].as<std::string>(), row[1].as<std::string>());
        }
        return out;
      },
      TransactionMode::kSnapshotRead);
  if (!ids.ok()) return ids.status();
  domain::Page<AiWorkItem> page;
  page.has_more = static_cast<int>(ids->size()) > query.limit;
  if (page.has_more) ids->resize(static_cast<std::size_t>(query.limit));
  std::size_t bytes = 0;
  for (const auto& entry : *ids) {
    const std::string& id = entry.first;
    const std::string& tenant = entry.second;
    if (bytes >= query.max_bytes) {
      page.has_more = true;  // The rest on the next page.
      break;
    }
    auto item = transactions_.Run<std::optional<AiWorkItem>>(
        ctx.AsTenant(tenant),
        [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::optional<AiWorkItem>> {
          auto found =
              FirstRow<AiWorkItemReader>(Params(sql::kSelectAiWork).Set("id", id).Exec(tx));
          if (found) {
            found->message = FirstRow<MessageReader>(
                Params(sql::kSelectMessage).Set("id", found->message_id).Exec(tx));
          }
          return found;
        },
        TransactionMode::kSnapshotRead);
    if (!item.ok()) return item.status();
    if (!*item) continue;  // Gone since: completed or deleted.
    if ((*item)->message) bytes += domain::Footprint(*(*item)->message);
    page.items.push_back(**std::move(item));
  }
  if (page.has_more && page.items.empty()) page.has_more = false;
  return page;
}

absl::StatusOr<AiWorkItem> PgAiWorkRepository::Requeue(const domain::RequestContext& ctx,
                                                       const std::string& id) {
  domain::RequestContext tenant = ctx;
  if (ctx.is_worker()) {
    // Which tenant the item belongs to; a restricted worker only its own.
    auto located = transactions_.Run<std::string>(
        ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::string> {
          const auto r = Params(sql::kLocateAiWork).Set("id", id).Exec(tx);
          if (r.empty() || r[0][0].is_null()) return domain::NotFound("ai work item", id);
          return r[0][0].as<std::string>();
        });
    if (!located.ok()) return located.status();
    if (!ctx.distributor_id.empty() && *located != ctx.distributor_id) {
      return domain::NotFound("ai work item", id);
    }
    tenant = ctx.AsTenant(*located);
  }
  return Announced(transactions_.Run<AiWorkItem>(
      tenant, [&](pqxx::transaction_base& tx) -> absl::StatusOr<AiWorkItem> {
        auto item = FirstRow<AiWorkItemReader>(Params(sql::kRequeueAiWork).Set("id", id).Exec(tx));
        if (!item) return domain::NotFound("ai work item", id);
        // Its trigger sees the status move back to pending and resets the item again: harmless.
        Params(sql::kRequeueMessage).Set("message_id", item->message_id).Exec(tx);
        item->message = FirstRow<MessageReader>(
            Params(sql::kSelectMessage).Set("id", item->message_id).Exec(tx));
        return *std::move(item);
      }));
}

absl::StatusOr<std::optional<domain::Micros>> PgAiWorkRepository::NextAvailable(
    const domain::RequestContext& ctx) {
  return transactions_.Run<std::optional<domain::Micros>>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::optional<domain::Micros>> {
        const auto r =
            Params(sql::kNextAvailableAiWork).Set("only_distributor", ctx.distributor_id).Exec(tx);
        if (r.empty() || r[0][0].is_null()) return std::optional<domain::Micros>();
        return std::optional<domain::Micros>(r[0][0].as<domain::Micros>());
      });
}

absl::StatusOr<std::int64_t> PgAiWorkRepository::Prune(absl::Duration retention) {
  return transactions_.Run<std::int64_t>(
      domain::RequestContext(), [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::int64_t> {
        return Params(sql::kPruneAiWork)
            .Set("retention_s", absl::StrCat(absl::ToInt64Seconds(retention)))
            .Exec(tx)
            .at(0)[0]
            .as<std::int64_t>();
      });
}

absl::StatusOr<std::vector<std::pair<domain::AiWorkState, std::int64_t>>>
PgAiWorkRepository::Depth() {
  using Depths = std::vector<std::pair<domain::AiWorkState, std::int64_t>>;
  return transactions_.Run<Depths>(
      domain::RequestContext(), [&](pqxx::transaction_base& tx) -> absl::StatusOr<Depths> {
        Depths depths;
        for (const auto& row : Params(sql::kAiWorkDepth).Exec(tx)) {
          const auto state = domain::FromDb<domain::AiWorkState>(row[0].c_str());
          if (state) depths.emplace_back(*state, row[1].as<std::int64_t>());
        }
        return depths;
      });
}

}  // namespace messaging::repository
