#include "repository/pg_conversation_repository.h"

#include "absl/strings/str_cat.h"
#include "domain/not_found.h"
#include "repository/row_mapping.h"
#include "repository/sql/conversation_sql.h"
#include "repository/sql/event_sql.h"

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

absl::StatusOr<Conversation> SingleConversation(const pqxx::result& r, const std::string& id) {
  if (r.empty()) return domain::NotFound("conversation", id);
  return RowToConversation(r[0]);
}

std::vector<sql::ConversationListShape> AllListShapes() {
  std::vector<sql::ConversationListShape> shapes;
  for (int bits = 0; bits < 16; ++bits) {
    shapes.push_back({(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, (bits & 8) != 0});
  }
  return shapes;
}

}  // namespace

std::vector<PreparedStatement> PgConversationRepository::Statements() {
  std::vector<PreparedStatement> statements = {
      {sql::kInsertConversation, sql::InsertConversationSql()},
      {sql::kInsertActiveConversationIfAbsent, sql::InsertActiveConversationIfAbsentSql()},
      {sql::kSelectActiveConversation, sql::SelectActiveConversationSql()},
      {sql::kSelectConversation, sql::SelectConversationSql()},
      {sql::kUpdateConversation, sql::UpdateConversationSql()},
      {sql::kDeleteConversation, sql::DeleteConversationSql()},
      {sql::kMarkConversationRead, sql::MarkConversationReadSql()},
  };
  // Names must outlive the pool: keep them in static storage.
  static const std::vector<std::string> list_names = [] {
    std::vector<std::string> names;
    for (const auto& shape : AllListShapes()) names.push_back(sql::ListConversationsName(shape));
    return names;
  }();
  const auto shapes = AllListShapes();
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    statements.push_back({list_names[i].c_str(), sql::ListConversationsSql(shapes[i])});
  }
  return statements;
}

absl::StatusOr<Conversation> PgConversationRepository::Create(const domain::RequestContext& ctx,
                                                              const domain::NewConversation& c) {
  return transactions_.Run<Conversation>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Conversation> {
        try {
          const auto r = tx.exec_prepared(
              sql::kInsertConversation, c.customer_id, std::string(ToDb(*c.channel)),
              std::string(ToDb(*c.status)), c.ai_context_summary, c.metadata_json);
          return RowToConversation(r.at(0));
        } catch (const pqxx::unique_violation&) {
          return ActiveConversationExists();
        } catch (const pqxx::foreign_key_violation&) {
          return CustomerNotFound(c.customer_id);
        }
      });
}

absl::StatusOr<Conversation> PgConversationRepository::GetOrCreate(
    const domain::RequestContext& ctx, const std::string& customer_id, domain::Channel channel) {
  const std::string channel_text(ToDb(channel));
  return transactions_.Run<Conversation>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Conversation> {
        try {
          auto r =
              tx.exec_prepared(sql::kInsertActiveConversationIfAbsent, customer_id, channel_text);
          if (!r.empty()) return RowToConversation(r[0]);
          // Another caller's conversation won the race and has committed.
          r = tx.exec_prepared(sql::kSelectActiveConversation, customer_id, channel_text);
          if (!r.empty()) return RowToConversation(r[0]);
          // It was archived in between: let the runner retry the whole transaction.
          return absl::AbortedError("conversation changed concurrently; retry");
        } catch (const pqxx::foreign_key_violation&) {
          return CustomerNotFound(customer_id);
        }
      });
}

absl::StatusOr<Conversation> PgConversationRepository::Get(const domain::RequestContext& ctx,
                                                           const std::string& id) {
  return transactions_.Run<Conversation>(ctx, [&](pqxx::transaction_base& tx) {
    return SingleConversation(tx.exec_prepared(sql::kSelectConversation, id), id);
  });
}

absl::StatusOr<domain::Page<Conversation>> PgConversationRepository::List(
    const domain::RequestContext& ctx, const domain::ConversationQuery& q) {
  const sql::ConversationListShape shape{q.filter.customer_id.has_value(),
                                         q.filter.channel.has_value(), q.filter.status.has_value(),
                                         q.after.has_value()};
  // Parameters in the order ListConversationsSql numbers them.
  std::vector<std::string> params = {absl::StrCat(q.limit + 1)};
  if (q.after) {
    params.push_back(MicrosToTimestampText(q.after->inbox_at));
    params.push_back(q.after->id);
  }
  if (q.filter.customer_id) params.push_back(*q.filter.customer_id);
  if (q.filter.channel) params.emplace_back(ToDb(*q.filter.channel));
  if (q.filter.status) params.emplace_back(ToDb(*q.filter.status));
  const std::string name = sql::ListConversationsName(shape);
  return transactions_.Run<domain::Page<Conversation>>(
      ctx,
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<domain::Page<Conversation>> {
        const auto r = tx.exec_prepared(name, pqxx::prepare::make_dynamic_params(params));
        return ToPage(r, q.limit, &RowToConversation,
                      tx.exec_prepared(sql::kCurrentSnapshot).at(0)[0].as<std::string>());
      },
      TransactionMode::kSnapshotRead);
}

absl::StatusOr<Conversation> PgConversationRepository::Update(const domain::RequestContext& ctx,
                                                              const std::string& id,
                                                              const domain::ConversationPatch& p) {
  return transactions_.Run<Conversation>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Conversation> {
        try {
          const auto r =
              tx.exec_prepared(sql::kUpdateConversation, id, p.status.has_value(),
                               std::string(p.status ? ToDb(*p.status) : "active"),
                               p.ai_context_summary.has_value(), p.ai_context_summary.value_or(""),
                               p.metadata_json.has_value(), p.metadata_json.value_or("{}"));
          return SingleConversation(r, id);
        } catch (const pqxx::unique_violation&) {
          return ActiveConversationExists();
        }
      });
}

absl::Status PgConversationRepository::Delete(const domain::RequestContext& ctx,
                                              const std::string& id) {
  return Announced(transactions_
                       .Run<bool>(ctx,
                                  [&](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
                                    if (tx.exec_prepared(sql::kDeleteConversation, id).empty()) {
                                      return domain::NotFound("conversation", id);
                                    }
                                    return true;
                                  })
                       .status());
}

absl::StatusOr<Conversation> PgConversationRepository::MarkRead(const domain::RequestContext& ctx,
                                                                const std::string& id) {
  return transactions_.Run<Conversation>(ctx, [&](pqxx::transaction_base& tx) {
    return SingleConversation(tx.exec_prepared(sql::kMarkConversationRead, id), id);
  });
}

}  // namespace messaging::repository
