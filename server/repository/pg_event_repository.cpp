#include "repository/pg_event_repository.h"

#include "absl/strings/str_cat.h"
#include "repository/row_mapping.h"
#include "repository/sql/event_sql.h"

namespace messaging::repository {

domain::EventHeads HeadsFromResult(const pqxx::result& r) {
  const ColumnIndex horizon = ColumnNumber(r, "horizon"), read_at = ColumnNumber(r, "read_at"),
                    distributor = ColumnNumber(r, "distributor_id"),
                    last_xid = ColumnNumber(r, "last_xid"), last_seq = ColumnNumber(r, "last_seq");
  domain::EventHeads heads;
  heads.horizon = r.at(0)[horizon].as<std::uint64_t>();
  heads.read_at = r.at(0)[read_at].as<domain::Micros>();
  for (const auto& row : r) {
    if (row[distributor].is_null()) break;  // The LEFT JOIN's "no distributor" row.
    heads.changed.push_back(
        {row[distributor].as<std::string>(),
         {row[last_xid].as<std::uint64_t>(), row[last_seq].as<std::int64_t>()}});
  }
  return heads;
}

std::vector<PreparedStatement> PgEventRepository::Statements() {
  return {
      sql::kReadEvents.Prepared(),   sql::kReadConversationEvents.Prepared(),
      sql::kEventHorizon.Prepared(), sql::kEventHeads.Prepared(),
      sql::kPruneEvents.Prepared(),
  };
}

absl::StatusOr<domain::EventBatch> PgEventRepository::Read(const domain::RequestContext& ctx,
                                                           const domain::EventQuery& q,
                                                           const std::string& conversation_id) {
  const bool by_conversation = !conversation_id.empty();
  Params params(by_conversation ? sql::kReadConversationEvents : sql::kReadEvents);
  params.Set("after_xid", absl::StrCat(q.after.position.xid))
      .Set("after_seq", absl::StrCat(q.after.position.seq))
      .Set("snapshot", q.after.snapshot)
      .Set("horizon_cap", absl::StrCat(q.horizon_cap))
      .Set("limit", absl::StrCat(q.limit))
      .Set("max_bytes", absl::StrCat(q.max_bytes));
  if (by_conversation) params.Set("conversation_id", conversation_id);
  // One statement, sent with the tenant setup: one round trip per read (a
  // group read runs on every wake-up that names the distributor), not three
  // (BEGIN and the tenant, the read, COMMIT).
  return transactions_.Run<domain::EventBatch>(
      ctx, params,
      [&](pqxx::transaction_base&, const pqxx::result& r) -> absl::StatusOr<domain::EventBatch> {
        domain::EventBatch batch;
        batch.horizon = r.at(0)[ColumnNumber(r, "horizon")].as<std::uint64_t>();
        batch.read_at = r.at(0)[ColumnNumber(r, "read_at")].as<domain::Micros>();
        batch.pruned_through = {r.at(0)[ColumnNumber(r, "pruned_xid")].as<std::uint64_t>(),
                                r.at(0)[ColumnNumber(r, "pruned_seq")].as<std::int64_t>()};
        const StreamEventReader read(r);
        const ColumnIndex bytes = ColumnNumber(r, "bytes_through");
        std::int64_t bytes_through = 0;
        for (const auto& row : r) {
          if (!read.HasEvent(row)) break;  // The LEFT JOIN's "no event" row.
          batch.events.push_back(read(row));
          bytes_through = row[bytes].as<std::int64_t>();
        }
        // Past the budget, later events may have been left out: not complete.
        batch.complete =
            static_cast<int>(batch.events.size()) < q.limit && bytes_through <= q.max_bytes;
        return batch;
      },
      TransactionMode::kOneStatementRead);
}

absl::StatusOr<std::uint64_t> PgEventRepository::Horizon(const domain::RequestContext& ctx) {
  return transactions_.RunDurableSnapshotRead<std::uint64_t>(
      ctx, Params(sql::kEventHorizon),
      [&](pqxx::transaction_base&, const pqxx::result& r) -> absl::StatusOr<std::uint64_t> {
        return r.at(0)[ColumnNumber(r, "horizon")].as<std::uint64_t>();
      });
}

absl::StatusOr<domain::EventHeads> PgEventRepository::Heads(std::uint64_t from_xid) {
  // No tenant: messaging_current_distributor_id() is NULL and RLS hides every
  // event; only the SECURITY DEFINER function reads the positions.
  domain::RequestContext ctx;
  ctx.deadline = absl::Now() + absl::Seconds(5);
  return transactions_.Run<domain::EventHeads>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<domain::EventHeads> {
        return HeadsFromResult(
            Params(sql::kEventHeads).Set("from_xid", absl::StrCat(from_xid)).Exec(tx));
      });
}

absl::StatusOr<std::int64_t> PgEventRepository::Prune(absl::Duration retention) {
  domain::RequestContext ctx;  // No tenant: the function prunes every tenant's old events.
  ctx.deadline = absl::Now() + absl::Minutes(1);
  return transactions_.Run<std::int64_t>(
      ctx, [&](pqxx::transaction_base& tx) -> absl::StatusOr<std::int64_t> {
        const pqxx::result r =
            Params(sql::kPruneEvents)
                .Set("retention", absl::StrCat(absl::ToInt64Seconds(retention), " seconds"))
                .Exec(tx);
        return r.at(0)[ColumnNumber(r, "pruned")].as<std::int64_t>();
      });
}

}  // namespace messaging::repository
