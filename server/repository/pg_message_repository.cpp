#include "repository/pg_message_repository.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "domain/delivery_status.h"
#include "domain/not_found.h"
#include "repository/row_mapping.h"
#include "repository/sql/message_sql.h"

namespace messaging::repository {

using domain::Message;

namespace {

// Inserts tried by one CreateMessage whose external id keeps being stored and
// deleted between its insert and its read.
constexpr int kCreateAttempts = 3;

}  // namespace

std::vector<PreparedStatement> PgMessageRepository::Statements() {
  std::vector<PreparedStatement> statements = {
      sql::kInsertMessage.Prepared(),         sql::kSelectMessageByExternalId.Prepared(),
      sql::kSelectMessage.Prepared(),         sql::kUpdateMessage.Prepared(),
      sql::kAdvanceDeliveryStatus.Prepared(), sql::kAdvanceDeliveryStatusByExternalId.Prepared(),
      sql::kDeleteMessage.Prepared(),
  };
  for (const auto& list : sql::kListMessages) statements.push_back(list.Prepared());
  return statements;
}

absl::StatusOr<Message> PgMessageRepository::Create(const domain::RequestContext& ctx,
                                                    const domain::NewMessage& m,
                                                    const std::string& preview) {
  Params insert(sql::kInsertMessage);
  insert.Set("conversation_id", m.conversation_id)
      .Set("direction", *m.direction)
      .Set("message_type", *m.message_type)
      .Set("content", m.content)
      .Set("media_url", m.media_url)
      .Set("media_content_type", m.media_content_type)
      .Set("external_message_id", m.external_message_id)
      .Set("delivery_status", *m.delivery_status)
      .Set("error_code", m.error_code)
      .Set("error_message", m.error_message)
      .Set("ai_processing_status", *m.ai_processing_status)
      .Set("ai_summary", m.ai_summary)
      .Set("ai_intent", m.ai_intent)
      .Set("ai_sentiment", m.ai_sentiment)
      .Set("ai_extracted_data", m.ai_extracted_data_json)
      .Set("metadata", m.metadata_json)
      .Set("preview", preview);
  // The insert is one statement: one round trip. An external id that is
  // already stored makes it insert nothing; the stored message is then read
  // in a transaction of its own. If that message was deleted in between, the
  // insert is tried again. With an external id the insert is safe to send
  // again (a repeat finds the first one's message); without one it is sent
  // at most once.
  const TransactionMode mode = m.external_message_id.empty()
                                   ? TransactionMode::kOneStatementWrite
                                   : TransactionMode::kOneStatementIdempotentWrite;
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    auto inserted = transactions_.Run<std::optional<Message>>(
        ctx, insert,
        [&](pqxx::transaction_base&,
            const pqxx::result& r) -> absl::StatusOr<std::optional<Message>> {
          const pqxx::row row = r.at(0);
          if (!row["conversation_visible"].as<bool>()) {
            // Absent or another tenant's: the same answer.
            return domain::NotFound("conversation", m.conversation_id);
          }
          if (row["id"].is_null()) return std::nullopt;
          return MessageReader(r)(row);
        },
        mode);
    if (!inserted.ok()) return inserted.status();
    if (*inserted) return Announced(absl::StatusOr<Message>(**std::move(inserted)));
    // A webhook retry: the external id is already stored. Return it unchanged.
    auto stored = transactions_.Run<std::optional<Message>>(
        ctx,
        Params(sql::kSelectMessageByExternalId).Set("external_message_id", m.external_message_id),
        [](pqxx::transaction_base&, const pqxx::result& r) { return FirstRow<MessageReader>(r); },
        TransactionMode::kOneStatementRead);
    if (!stored.ok()) return stored.status();
    if (!*stored) continue;  // Deleted since the insert saw it.
    if ((*stored)->conversation_id != m.conversation_id) {
      return absl::AlreadyExistsError(
          "message.external_message_id: already used by a message in another conversation");
    }
    return **std::move(stored);
  }
  return absl::AbortedError("message changed concurrently; retry");
}

absl::StatusOr<Message> PgMessageRepository::Get(const domain::RequestContext& ctx,
                                                 const std::string& id) {
  return transactions_.Run<Message>(
      ctx, Params(sql::kSelectMessage).Set("id", id),
      [&](pqxx::transaction_base&, const pqxx::result& row) {
        return SingleRow<MessageReader>(row, "message", id);
      },
      TransactionMode::kOneStatementRead);
}

absl::StatusOr<domain::Page<Message>> PgMessageRepository::List(const domain::RequestContext& ctx,
                                                                const domain::MessageQuery& q) {
  Params page(sql::ListMessages(q.descending, q.after.has_value()));
  page.Set("conversation_id", q.conversation_id)
      .Set("limit", absl::StrCat(q.limit + 1))
      .Set("max_bytes", absl::StrCat(q.max_bytes));
  if (q.after) {
    page.Set("after_created_at", MicrosToTimestampText(q.after->created_at))
        .Set("after_id", q.after->id);
  }
  return transactions_.RunDurableSnapshotRead<domain::Page<Message>>(
      ctx, page,
      [&](pqxx::transaction_base&,
          const pqxx::result& rows) -> absl::StatusOr<domain::Page<Message>> {
        // No row: the conversation is absent or another tenant's, same answer.
        if (rows.empty()) return domain::NotFound("conversation", q.conversation_id);
        return ToPage<MessageReader>(rows, q.limit, q.max_bytes);
      });
}

absl::StatusOr<Message> PgMessageRepository::Update(const domain::RequestContext& ctx,
                                                    const std::string& id,
                                                    const domain::MessagePatch& p) {
  Params update(sql::kUpdateMessage);
  update.Set("id", id)
      .Patch("delivery_status", p.delivery_status)
      .Patch("error_code", p.error_code)
      .Patch("error_message", p.error_message)
      .Patch("ai_processing_status", p.ai_processing_status)
      .Patch("ai_summary", p.ai_summary)
      .Patch("ai_intent", p.ai_intent)
      .Patch("ai_sentiment", p.ai_sentiment)
      .Patch("ai_extracted_data", p.ai_extracted_data_json)
      .Patch("metadata", p.metadata_json);
  return Announced(transactions_.Run<Message>(
      ctx, update,
      [&](pqxx::transaction_base&, const pqxx::result& r) {
        return SingleRow<MessageReader>(r, "message", id);
      },
      TransactionMode::kOneStatementWrite));
}

absl::StatusOr<Message> PgMessageRepository::UpdateDeliveryStatus(
    const domain::RequestContext& ctx, const domain::DeliveryStatusUpdate& u) {
  const bool by_id = !u.ref.id.empty();
  const auto find = [&](Params& params) -> Params& {
    return by_id ? params.Set("id", u.ref.id)
                 : params.Set("external_message_id", u.ref.external_message_id);
  };
  std::vector<absl::string_view> from_states;
  for (const auto state : domain::StatesThatMayBecome(u.status)) {
    from_states.push_back(domain::ToDb(state));
  }
  Params advance(by_id ? sql::kAdvanceDeliveryStatus : sql::kAdvanceDeliveryStatusByExternalId);
  find(advance)
      .Set("delivery_status", u.status)
      .Set("error_code", u.error_code)
      .Set("error_message", u.error_message)
      .Set("from_states", absl::StrCat("{", absl::StrJoin(from_states, ","), "}"));
  const auto read = [](pqxx::transaction_base&, const pqxx::result& r) {
    return FirstRow<MessageReader>(r);
  };
  // One statement, safe to send again: a repeat finds the status already
  // set, which is no transition, and changes nothing.
  auto advanced = transactions_.Run<std::optional<Message>>(
      ctx, advance, read, TransactionMode::kOneStatementIdempotentWrite);
  if (!advanced.ok()) return advanced.status();
  if (*advanced) return Announced(absl::StatusOr<Message>(**std::move(advanced)));
  // Nothing changed: the message is absent, or its status may not become
  // this one (a late or repeated callback), which answers with the message
  // as it is.
  Params current(by_id ? sql::kSelectMessage : sql::kSelectMessageByExternalId);
  auto stored = transactions_.Run<std::optional<Message>>(ctx, find(current), read,
                                                          TransactionMode::kOneStatementRead);
  if (!stored.ok()) return stored.status();
  if (!*stored) {
    return by_id ? domain::NotFound("message", u.ref.id)
                 : domain::NotFoundBy("message", "external_message_id", u.ref.external_message_id);
  }
  return **std::move(stored);
}

absl::Status PgMessageRepository::Delete(const domain::RequestContext& ctx, const std::string& id) {
  return AnnouncedDelete(ctx, sql::kDeleteMessage, "message", id);
}

}  // namespace messaging::repository
