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

// Tries of one GetOrCreate whose active conversation keeps being archived
// between its statement and the read of the winner.
constexpr int kGetOrCreateAttempts = 3;

template <typename Error>
bool IsA(const pqxx::sql_error& e) {
  return dynamic_cast<const Error*>(&e) != nullptr;
}

absl::Status ActiveConversationExists() {
  return absl::AlreadyExistsError(
      "conversation: an active conversation already exists for this customer and channel");
}

}  // namespace

std::vector<PreparedStatement> PgConversationRepository::Statements() {
  std::vector<PreparedStatement> statements = {
      sql::kInsertConversation.Prepared(),       sql::kGetOrInsertActiveConversation.Prepared(),
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
      ctx,
      Params(sql::kInsertConversation)
          .Set("customer_id", c.customer_id)
          .Set("channel", *c.channel)
          .Set("status", *c.status)
          .Set("ai_context_summary", c.ai_context_summary)
          .Set("metadata", c.metadata_json),
      [](pqxx::transaction_base&, const pqxx::result& r) { return ConversationReader(r)(r.at(0)); },
      TransactionMode::kOneStatementWrite,
      [&](const pqxx::sql_error& e) -> std::optional<absl::Status> {
        if (IsA<pqxx::unique_violation>(e)) return ActiveConversationExists();
        if (IsA<pqxx::foreign_key_violation>(e)) return CustomerNotFound(c.customer_id);
        return std::nullopt;
      });
}

absl::StatusOr<Conversation> PgConversationRepository::GetOrCreate(
    const domain::RequestContext& ctx, const std::string& customer_id, domain::Channel channel) {
  const auto read = [](pqxx::transaction_base&, const pqxx::result& r) {
    return FirstRow<ConversationReader>(r);
  };
  const StatementErrors errors = [&](const pqxx::sql_error& e) -> std::optional<absl::Status> {
    if (IsA<pqxx::foreign_key_violation>(e)) return CustomerNotFound(customer_id);
    return std::nullopt;
  };
  for (int attempt = 0; attempt < kGetOrCreateAttempts; ++attempt) {
    // One statement (the active one, or a new one), safe to send again.
    auto found = transactions_.Run<std::optional<Conversation>>(
        ctx,
        Params(sql::kGetOrInsertActiveConversation)
            .Set("customer_id", customer_id)
            .Set("channel", channel),
        read, TransactionMode::kOneStatementIdempotentWrite, errors);
    if (!found.ok()) return found.status();
    if (*found) return **std::move(found);
    // Another caller's conversation won the race and has committed.
    auto winner =
        transactions_.Run<std::optional<Conversation>>(ctx,
                                                       Params(sql::kSelectActiveConversation)
                                                           .Set("customer_id", customer_id)
                                                           .Set("channel", channel),
                                                       read, TransactionMode::kOneStatementRead);
    if (!winner.ok()) return winner.status();
    if (*winner) return **std::move(winner);
    // It was archived in between: try again.
  }
  return absl::AbortedError("conversation changed concurrently; retry");
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
      ctx,
      Params(sql::kUpdateConversation)
          .Set("id", id)
          .Patch("status", p.status)
          .Patch("ai_context_summary", p.ai_context_summary)
          .Patch("metadata", p.metadata_json),
      [&](pqxx::transaction_base&, const pqxx::result& r) {
        return SingleRow<ConversationReader>(r, "conversation", id);
      },
      TransactionMode::kOneStatementWrite,
      [](const pqxx::sql_error& e) -> std::optional<absl::Status> {
        if (IsA<pqxx::unique_violation>(e)) return ActiveConversationExists();
        return std::nullopt;
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
      TransactionMode::kOneStatementIdempotentWrite);  // A repeat sets 0 again.
}

}  // namespace messaging::repository
