#include "repository/pg_message_repository.h"

#include "absl/strings/str_cat.h"
#include "domain/delivery_status.h"
#include "domain/not_found.h"
#include "repository/row_mapping.h"
#include "repository/sql/event_sql.h"
#include "repository/sql/message_sql.h"

namespace messaging::repository {
namespace {

using domain::Message;

absl::StatusOr<Message> SingleMessage(const pqxx::result& r, const std::string& id) {
  if (r.empty()) return domain::NotFound("message", id);
  return RowToMessage(r[0]);
}

std::string Text(absl::string_view s) { return std::string(s); }

}  // namespace

std::vector<PreparedStatement> PgMessageRepository::Statements() {
  static const std::string list_names[] = {
      sql::ListMessagesName(false, false), sql::ListMessagesName(false, true),
      sql::ListMessagesName(true, false), sql::ListMessagesName(true, true)};
  return {
      {sql::kInsertMessage, sql::InsertMessageSql()},
      {sql::kSelectMessageByExternalId, sql::SelectMessageByExternalIdSql()},
      {sql::kSelectMessage, sql::SelectMessageSql()},
      {sql::kLockMessage, sql::LockMessageSql()},
      {sql::kLockMessageByExternalId, sql::LockMessageByExternalIdSql()},
      {sql::kConversationVisible, sql::ConversationVisibleSql()},
      {sql::kUpdateMessage, sql::UpdateMessageSql()},
      {sql::kSetDeliveryStatus, sql::SetDeliveryStatusSql()},
      {sql::kDeleteMessage, sql::DeleteMessageSql()},
      {list_names[0].c_str(), sql::ListMessagesSql(false, false)},
      {list_names[1].c_str(), sql::ListMessagesSql(false, true)},
      {list_names[2].c_str(), sql::ListMessagesSql(true, false)},
      {list_names[3].c_str(), sql::ListMessagesSql(true, true)},
  };
}

absl::StatusOr<Message> PgMessageRepository::Create(const domain::RequestContext& ctx,
                                                    const domain::NewMessage& m,
                                                    const std::string& preview) {
  return Announced(
      transactions_.Run<Message>(ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Message> {
        pqxx::result r;
        try {
          r = tx.exec_prepared(
              sql::kInsertMessage, m.conversation_id, Text(ToDb(*m.direction)),
              Text(ToDb(*m.message_type)), m.content, m.media_url, m.media_content_type,
              m.external_message_id, Text(ToDb(*m.delivery_status)), m.error_code, m.error_message,
              Text(ToDb(*m.ai_processing_status)), m.ai_summary, m.ai_intent, m.ai_sentiment,
              NullableText(m.ai_extracted_data_json), m.metadata_json, preview);
        } catch (const pqxx::foreign_key_violation&) {
          // The composite key (conversation_id, distributor_id) found no
          // conversation of this tenant: absent or someone else's, same answer.
          return domain::NotFound("conversation", m.conversation_id);
        }
        if (!r.empty()) return RowToMessage(r[0]);
        // A webhook retry: the external id is already stored. Return it unchanged.
        r = tx.exec_prepared(sql::kSelectMessageByExternalId, m.external_message_id);
        if (r.empty()) return absl::AbortedError("message changed concurrently; retry");
        Message stored = RowToMessage(r[0]);
        if (stored.conversation_id != m.conversation_id) {
          return absl::AlreadyExistsError(
              "message.external_message_id: already used by a message in another conversation");
        }
        return stored;
      }));
}

absl::StatusOr<Message> PgMessageRepository::Get(const domain::RequestContext& ctx,
                                                 const std::string& id) {
  return transactions_.Run<Message>(ctx, [&](pqxx::transaction_base& tx) {
    return SingleMessage(tx.exec_prepared(sql::kSelectMessage, id), id);
  });
}

absl::StatusOr<domain::Page<Message>> PgMessageRepository::List(const domain::RequestContext& ctx,
                                                                const domain::MessageQuery& q) {
  const std::string name = sql::ListMessagesName(q.descending, q.after.has_value());
  const std::string limit = absl::StrCat(q.limit + 1);
  return transactions_.Run<domain::Page<Message>>(
      ctx,
      [&](pqxx::transaction_base& tx) -> absl::StatusOr<domain::Page<Message>> {
        if (tx.exec_prepared(sql::kConversationVisible, q.conversation_id).empty()) {
          return domain::NotFound("conversation", q.conversation_id);
        }
        const pqxx::result r =
            q.after ? tx.exec_prepared(name, q.conversation_id, limit,
                                       MicrosToTimestampText(q.after->created_at), q.after->id)
                    : tx.exec_prepared(name, q.conversation_id, limit);
        return ToPage(r, q.limit, &RowToMessage,
                      tx.exec_prepared(sql::kCurrentSnapshot).at(0)[0].as<std::string>());
      },
      TransactionMode::kSnapshotRead);
}

absl::StatusOr<Message> PgMessageRepository::Update(const domain::RequestContext& ctx,
                                                    const std::string& id,
                                                    const domain::MessagePatch& p) {
  const bool set_extracted = p.ai_extracted_data_json.has_value();
  const std::optional<std::string> extracted =
      set_extracted ? *p.ai_extracted_data_json : std::nullopt;
  return Announced(transactions_.Run<Message>(ctx, [&](pqxx::transaction_base& tx) {
    const auto r = tx.exec_prepared(
        sql::kUpdateMessage, id, p.delivery_status.has_value(),
        Text(p.delivery_status ? ToDb(*p.delivery_status) : ""), p.error_code.has_value(),
        p.error_code.value_or(""), p.error_message.has_value(), p.error_message.value_or(""),
        p.ai_processing_status.has_value(),
        Text(p.ai_processing_status ? ToDb(*p.ai_processing_status) : ""), p.ai_summary.has_value(),
        p.ai_summary.value_or(""), p.ai_intent.has_value(), p.ai_intent.value_or(""),
        p.ai_sentiment.has_value(), p.ai_sentiment.value_or(""), set_extracted,
        NullableText(extracted), p.metadata_json.has_value(), p.metadata_json.value_or("{}"));
    return SingleMessage(r, id);
  }));
}

absl::StatusOr<Message> PgMessageRepository::UpdateDeliveryStatus(
    const domain::RequestContext& ctx, const domain::DeliveryStatusUpdate& u) {
  return Announced(
      transactions_.Run<Message>(ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<Message> {
        // Lock the row so concurrent callbacks for one message apply one at a time.
        const bool by_id = !u.ref.id.empty();
        const auto locked =
            by_id ? tx.exec_prepared(sql::kLockMessage, u.ref.id)
                  : tx.exec_prepared(sql::kLockMessageByExternalId, u.ref.external_message_id);
        if (locked.empty()) {
          return by_id ? domain::NotFound("message", u.ref.id)
                       : domain::NotFoundBy("message", "external_message_id",
                                            u.ref.external_message_id);
        }
        Message current = RowToMessage(locked[0]);
        if (!domain::CanTransition(current.delivery_status, u.status)) return current;
        const auto r = tx.exec_prepared(sql::kSetDeliveryStatus, current.id, Text(ToDb(u.status)),
                                        u.error_code, u.error_message);
        return SingleMessage(r, current.id);
      }));
}

absl::Status PgMessageRepository::Delete(const domain::RequestContext& ctx, const std::string& id) {
  return Announced(transactions_
                       .Run<bool>(ctx,
                                  [&](pqxx::transaction_base& tx) -> absl::StatusOr<bool> {
                                    if (tx.exec_prepared(sql::kDeleteMessage, id).empty()) {
                                      return domain::NotFound("message", id);
                                    }
                                    return true;
                                  })
                       .status());
}

}  // namespace messaging::repository
