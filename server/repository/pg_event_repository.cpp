#include "repository/pg_event_repository.h"

#include "absl/strings/str_cat.h"
#include "repository/row_mapping.h"
#include "repository/sql/event_sql.h"

namespace messaging::repository {
namespace {

// Columns before the message columns in ReadEventsSql, and after them (the
// low-water mark).
constexpr int kMessageOffset = 9;
constexpr int kTrailing = 2;
constexpr char kPrunedXid[] = "pruned_xid";
constexpr char kPrunedSeq[] = "pruned_seq";

domain::EventType ParseEventType(const std::string& s) {
  if (s == "created") return domain::EventType::kCreated;
  if (s == "updated") return domain::EventType::kUpdated;
  return domain::EventType::kDeleted;
}

}  // namespace

domain::EventHeads HeadsFromResult(const pqxx::result& r) {
  domain::EventHeads heads;
  heads.horizon = r.at(0)[0].as<std::uint64_t>();
  heads.read_at = r.at(0)[1].as<domain::Micros>();
  for (const auto& row : r) {
    if (row[2].is_null()) break;  // The LEFT JOIN's "no distributor" row.
    heads.changed.push_back(
        {row[2].as<std::string>(), {row[3].as<std::uint64_t>(), row[4].as<std::int64_t>()}});
  }
  return heads;
}

std::vector<PreparedStatement> PgEventRepository::Statements() {
  return {
      {sql::kReadEvents, sql::ReadEventsSql(false)},
      {sql::kReadConversationEvents, sql::ReadEventsSql(true)},
      {sql::kEventHorizon, sql::EventHorizonSql()},
      {sql::kEventHeads, sql::EventHeadsSql()},
      {sql::kCurrentSnapshot, sql::CurrentSnapshotSql()},
      {sql::kPruneEvents, sql::PruneEventsSql()},
  };
}

absl::StatusOr<domain::EventBatch> PgEventRepository::Read(const domain::RequestContext& ctx,
                                                           const domain::EventQuery& q,
                                                           const std::string& conversation_id) {
  const std::string xid = absl::StrCat(q.after.position.xid);
  const std::string seq = absl::StrCat(q.after.position.seq);
  const std::string limit = absl::StrCat(q.limit);
  return transactions_.Run<domain::EventBatch>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<domain::EventBatch> {
        const pqxx::result r =
            conversation_id.empty()
                ? tx.exec_prepared(sql::kReadEvents, xid, seq, q.after.snapshot, limit)
                : tx.exec_prepared(sql::kReadConversationEvents, xid, seq, q.after.snapshot, limit,
                                   conversation_id);
        domain::EventBatch batch;
        batch.horizon = r.at(0)[0].as<std::uint64_t>();
        batch.read_at = r.at(0)[1].as<domain::Micros>();
        batch.pruned_through = {r.at(0)[kPrunedXid].as<std::uint64_t>(),
                                r.at(0)[kPrunedSeq].as<std::int64_t>()};
        for (const auto& row : r) {
          if (row[2].is_null()) break;  // The LEFT JOIN's "no event" row.
          domain::StreamEvent event;
          event.position = {row[2].as<std::uint64_t>(), row[3].as<std::int64_t>()};
          event.type = ParseEventType(row[4].as<std::string>());
          if (row[kMessageOffset - 1].as<bool>()) {
            // The recorded state (or, for events older than migration 003, the
            // current row), sliced to the columns RowToMessage expects.
            event.message = RowToMessage(row.slice(kMessageOffset, row.size() - kTrailing));
          } else {
            // An event without a recorded state whose message is gone.
            event.message.id = row[6].as<std::string>();
            event.message.conversation_id = row[5].as<std::string>();
            event.message.distributor_id = row[7].as<std::string>();
          }
          batch.events.push_back(std::move(event));
        }
        batch.complete = static_cast<int>(batch.events.size()) < q.limit;
        return batch;
      });
}

absl::StatusOr<std::uint64_t> PgEventRepository::Horizon(const domain::RequestContext& ctx) {
  return transactions_.Run<std::uint64_t>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::uint64_t> {
        return tx.exec_prepared(sql::kEventHorizon).at(0)[0].as<std::uint64_t>();
      });
}

absl::StatusOr<domain::EventHeads> PgEventRepository::Heads(std::uint64_t from_xid) {
  // No tenant: messaging_current_distributor_id() is NULL and RLS hides every
  // event; only the SECURITY DEFINER function reads the positions.
  domain::RequestContext ctx;
  ctx.deadline = absl::Now() + absl::Seconds(5);
  const std::string from = absl::StrCat(from_xid);
  return transactions_.Run<domain::EventHeads>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<domain::EventHeads> {
        return HeadsFromResult(tx.exec_prepared(sql::kEventHeads, from));
      });
}

absl::StatusOr<std::int64_t> PgEventRepository::Prune(absl::Duration retention) {
  domain::RequestContext ctx;  // No tenant: the function prunes every tenant's old events.
  ctx.deadline = absl::Now() + absl::Minutes(1);
  const std::string interval = absl::StrCat(absl::ToInt64Seconds(retention), " seconds");
  return transactions_.Run<std::int64_t>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::int64_t> {
        return tx.exec_prepared(sql::kPruneEvents, interval).at(0)[0].as<std::int64_t>();
      });
}

}  // namespace messaging::repository
