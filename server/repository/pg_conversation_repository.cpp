#include "repository/pg_conversation_repository.h"

#include "absl/strings/str_cat.h"
#include "domain/not_found.h"
#include "repository/row_mapping.h"
#include "repository/sql/conversation_sql.h"

namespace messaging::repository {
namespace {

using domain::Conversation;

absl::Status CustomerNotFound(const std::string& customer_id) {
  return domain::ReferencedNotFound("customer_id", "customer", customer_id);
}

absl::Status ActiveConversationExists() {
  return absl::AlreadyExistsError(
      "conversation: an active conversation already exists for this customer and channel");
}

}  // namespace

std::vector<PreparedStatement> PgConversationRepository::Statements() {
  std::vector<PreparedStatement> statements = {
      sql::kInsertConversation.Prepared(),       sql::kInsertActiveConversationIfAbsent.Prepared(),
      sql::kSelectActiveConversation.Prepared(), sql::kSelectConversation.Prepared(),
      sql::kUpdateConversation.Prepared(),       sql::kDeleteConversation.Prepared(),
      sql::kMarkConversationRead.Prepared(),
  };
  for (const auto& list : sql::kListConversations) {
    statements.push_back(list.Prepared());
  }
  return statements;
}

absl::StatusOr<Conversation> PgConversationRepository::Create(const domain::RequestContext& ctx,
                                                              const domain::NewConversation& c) {
  return transactions_.Run<Conversation>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Conversation> {
        try {
          const auto r = Params(sql::kInsertConversation)
                             .Set("customer_id", c.customer_id)
                             .Set("channel", *c.channel)
                             .Set("status", *c.status)
                             .Set("ai_context_summary", c.ai_context_summary)
                             .Set("metadata", c.metadata_json)
                             .Exec(tx);
          return ConversationReader(r)(r.at(0));
        } catch (const pqxx::unique_violation&) {
          return ActiveConversationExists();
        } catch (const pqxx::foreign_key_violation&) {
          return CustomerNotFound(c.customer_id);
        }
      });
}

absl::StatusOr<Conversation> PgConversationRepository::GetOrCreate(
    const domain::RequestContext& ctx, const std::string& customer_id, domain::Channel channel) {
  return transactions_.Run<Conversation>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Conversation> {
        try {
          auto inserted =
              FirstRow<ConversationReader>(Params(sql::kInsertActiveConversationIfAbsent)
                                               .Set("customer_id", customer_id)
                                               .Set("channel", channel)
                                               .Exec(tx));
          if (inserted) return *std::move(inserted);
          // Another caller's conversation won the race and has committed.
          auto winner = FirstRow<ConversationReader>(Params(sql::kSelectActiveConversation)
                                                         .Set("customer_id", customer_id)
                                                         .Set("channel", channel)
                                                         .Exec(tx));
          if (winner) return *std::move(winner);
          // It was archived in between: let the runner retry the whole transaction.
          return absl::AbortedError("conversation changed concurrently; retry");
        } catch (const pqxx::foreign_key_violation&) {
          return CustomerNotFound(customer_id);
        }
      });
}

absl::StatusOr<Conversation> PgConversationRepository::Get(const domain::RequestContext& ctx,
                                                           const std::string& id) {
  return transactions_.Run<Conversation>(
      ctx, Params(sql::kSelectConversation).Set("id", id),
      [&](pqxx::transaction_base&, const pqxx::result& row) {
        return SingleRow<ConversationReader>(row, "conversation", id);
      },
      TransactionMode::kOneStatementRead);
}

absl::StatusOr<domain::Page<Conversation>> PgConversationRepository::List(
    const domain::RequestContext& ctx, const domain::ConversationQuery& q) {
  const sql::ConversationListShape shape{q.filter.customer_id.has_value(),
                                         q.filter.channel.has_value(), q.filter.status.has_value(),
                                         q.after.has_value()};
  Params page(sql::kListConversations[shape.Index()]);
  page.Set("limit", absl::StrCat(q.limit + 1)).Set("max_bytes", absl::StrCat(q.max_bytes));
  if (q.after) {
    page.Set("after_inbox_at", MicrosToTimestampText(q.after->inbox_at))
        .Set("after_id", q.after->id);
  }
  if (q.filter.customer_id) page.Set("customer_id", *q.filter.customer_id);
  if (q.filter.channel) page.Set("channel", *q.filter.channel);
  if (q.filter.status) page.Set("status", *q.filter.status);
  return transactions_.RunDurableSnapshotRead<domain::Page<Conversation>>(
      ctx, page, [&](pqxx::transaction_base&, const pqxx::result& rows) {
        return ToPage<ConversationReader>(rows, q.limit, q.max_bytes);
      });
}

absl::StatusOr<Conversation> PgConversationRepository::Update(const domain::RequestContext& ctx,
                                                              const std::string& id,
                                                              const domain::ConversationPatch& p) {
  return transactions_.Run<Conversation>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Conversation> {
        try {
          const auto r = Params(sql::kUpdateConversation)
                             .Set("id", id)
                             .Patch("status", p.status)
                             .Patch("ai_context_summary", p.ai_context_summary)
                             .Patch("metadata", p.metadata_json)
                             .Exec(tx);
          return SingleRow<ConversationReader>(r, "conversation", id);
        } catch (const pqxx::unique_violation&) {
          return ActiveConversationExists();
        }
      });
}

absl::Status PgConversationRepository::Delete(const domain::RequestContext& ctx,
                                              const std::string& id) {
  return AnnouncedDelete(ctx, sql::kDeleteConversation, "conversation", id);
}

absl::StatusOr<Conversation> PgConversationRepository::MarkRead(const domain::RequestContext& ctx,
                                                                const std::string& id) {
  return transactions_.Run<Conversation>(
      ctx, Params(sql::kMarkConversationRead).Set("id", id),
      [&](pqxx::transaction_base&, const pqxx::result& row) {
        return SingleRow<ConversationReader>(row, "conversation", id);
      },
      TransactionMode::kOneStatementWrite);
}

}  // namespace messaging::repository
