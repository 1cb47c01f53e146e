// The change log as the repository reads it (migration 003): events carry the
// message state of their change, older events without one fall back to the
// current row, and Heads() tells which distributors have new events through
// the SECURITY DEFINER function messaging_event_heads(), with no tenant set,
// while Row Level Security still hides every event from messaging_app.
// Prune() (migration 004) deletes exactly the events older than the retention,
// of every tenant, refuses a retention below an hour, and raises the log's
// low-water mark, which every Read() returns. The repository logs in as the
// servers' login role (test_database.h), like a server.

#include <gtest/gtest.h>

#include <map>
#include <pqxx/pqxx>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "repository/connection_pool.h"
#include "repository/pg_event_repository.h"
#include "repository/transaction.h"
#include "support/test_database.h"

namespace messaging::testing {
namespace {

class EventLogTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase("event_log");
    std::vector<repository::PreparedStatement> statements = {
        repository::TransactionRunner::TenantSetupStatement()};
    for (auto& s : repository::PgEventRepository::Statements()) statements.push_back(s);
    repository::PoolOptions options;
    options.database_url = db_->server_url();
    options.size = 2;
    pool_ = new repository::ConnectionPool(options, statements);
    transactions_ = new repository::TransactionRunner(*pool_, repository::TransactionOptions{});
    events_ = new repository::PgEventRepository(*transactions_);
  }
  static void TearDownTestSuite() {
    delete events_;
    delete transactions_;
    delete pool_;
    delete db_;
  }

  // A distributor with one conversation; returns (distributor, conversation).
  static std::pair<std::string, std::string> NewTenant() {
    const std::string d = db_->NewDistributor();
    const std::string c =
        db_->Exec("INSERT INTO conversations (distributor_id, customer_id, channel) VALUES ('" + d +
                  "', '" + db_->NewCustomer() + "', 'sms') RETURNING id::text")
            .at(0)
            .at(0)
            .as<std::string>();
    return {d, c};
  }

  // Inserts a message in its own transaction (through the trigger, like any
  // writer); returns its id.
  static std::string Insert(const std::pair<std::string, std::string>& tenant,
                            const std::string& content) {
    return db_
        ->Exec(
            "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
            "delivery_status) VALUES ('" +
            tenant.second + "', '" + tenant.first + "', 'inbound', '" + content +
            "', 'received') RETURNING id::text")
        .at(0)
        .at(0)
        .as<std::string>();
  }

  // The first xid not yet assigned: every later transaction has one >= it.
  static std::uint64_t NextXid() {
    return static_cast<std::uint64_t>(
        db_->Scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"));
  }

  // Heads(from) once the horizon has passed every transaction committed so far
  // (other databases of the cluster may hold it back for a moment).
  static domain::EventHeads HeadsWhenFinal(std::uint64_t from) {
    const std::uint64_t committed = NextXid();
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (true) {
      auto heads = events_->Heads(from);
      EXPECT_TRUE(heads.ok()) << heads.status();
      if (!heads.ok() || heads->horizon >= committed || absl::Now() > deadline) {
        return heads.ok() ? *heads : domain::EventHeads{};
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  static domain::RequestContext As(const std::string& distributor) {
    domain::RequestContext ctx;
    ctx.distributor_id = distributor;
    ctx.deadline = absl::Now() + absl::Seconds(10);
    return ctx;
  }

  static inline TestDatabase* db_ = nullptr;
  static inline repository::ConnectionPool* pool_ = nullptr;
  static inline repository::TransactionRunner* transactions_ = nullptr;
  static inline repository::PgEventRepository* events_ = nullptr;
};

TEST_F(EventLogTest, HeadsNameExactlyTheDistributorsWithEventsInTheRangeAndTheirNewestPosition) {
  const auto before = NewTenant();  // Writes only before the range.
  const auto idle = NewTenant();    // Never writes.
  const auto a = NewTenant();
  const auto b = NewTenant();
  Insert(before, "before the range");
  const std::uint64_t from = NextXid();
  const std::string a1 = Insert(a, "a1");
  Insert(b, "b1");
  Insert(a, "a2");
  db_->Exec("UPDATE messages SET content = 'a1 edited' WHERE id = '" + a1 + "'");

  const domain::EventHeads heads = HeadsWhenFinal(from);
  ASSERT_GT(heads.horizon, from);
  EXPECT_GT(heads.read_at, 0);
  std::map<std::string, domain::StreamPosition> got;
  for (const auto& h : heads.changed) got[h.distributor_id] = h.last;
  // Expected, from the log itself (as the superuser).
  std::map<std::string, domain::StreamPosition> expected;
  for (const auto& row : db_->Exec(
           absl::StrCat("SELECT DISTINCT ON (distributor_id) distributor_id::text, xid::text, seq "
                        "FROM message_events WHERE xid >= '",
                        from, "'::xid8 AND xid < '", heads.horizon,
                        "'::xid8 ORDER BY distributor_id, xid DESC, seq DESC"))) {
    expected[row[0].as<std::string>()] = {row[1].as<std::uint64_t>(), row[2].as<std::int64_t>()};
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got.count(a.first), 1u);
  EXPECT_EQ(got.count(b.first), 1u);
  EXPECT_EQ(got.count(before.first), 0u) << "events before from_xid must not count";
  EXPECT_EQ(got.count(idle.first), 0u);
  // a's newest event is the UPDATE, its last write.
  EXPECT_EQ(
      got[a.first].seq,
      db_->Scalar("SELECT max(seq) FROM message_events WHERE distributor_id = '" + a.first + "'"));

  // Nothing new since: an empty range names nobody.
  const auto again = events_->Heads(heads.horizon);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->changed.empty());
  EXPECT_GE(again->horizon, heads.horizon);
}

// The function is what reads across tenants: messaging_app with no tenant
// still sees no event row, and the function hands out positions only.
TEST_F(EventLogTest, WithoutATenantTheAppRoleSeesNoEventButTheFunctionSeesPositions) {
  const auto t = NewTenant();
  const std::uint64_t from = NextXid();
  Insert(t, "secret content");
  HeadsWhenFinal(from);

  pqxx::connection conn(db_->url());  // The superuser: it may also become the reader below.
  pqxx::work tx(conn);
  tx.exec("SELECT set_config('role', 'messaging_app', true)");
  EXPECT_EQ(tx.exec("SELECT current_user").at(0).at(0).as<std::string>(), "messaging_app");
  EXPECT_EQ(tx.exec("SELECT count(*) FROM message_events").at(0).at(0).as<int>(), 0);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM messages").at(0).at(0).as<int>(), 0);
  const pqxx::result r = tx.exec(absl::StrCat("SELECT * FROM messaging_event_heads('", from,
                                              "', pg_snapshot_xmin(pg_current_snapshot()))"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["distributor_id"].as<std::string>(), t.first);
  std::set<std::string> columns;
  for (pqxx::row::size_type i = 0; i < r.columns(); ++i) columns.insert(r.column_name(i));
  EXPECT_EQ(columns, (std::set<std::string>{"distributor_id", "last_xid", "last_seq"}));
  tx.abort();

  // The owning role can read the positions but not the states.
  pqxx::work reader(conn);
  reader.exec("SET LOCAL ROLE messaging_event_reader");
  EXPECT_GE(reader.exec("SELECT count(*) FROM message_events").at(0).at(0).as<int>(), 1);
  EXPECT_THROW(reader.exec("SELECT message_state FROM message_events"),
               pqxx::insufficient_privilege);
}

TEST_F(EventLogTest, ReadReturnsTheRecordedStateAndFallsBackForEventsWithout) {
  const auto t = NewTenant();
  const std::uint64_t from = NextXid();
  const std::string kept = Insert(t, "first");
  db_->Exec("UPDATE messages SET content = 'second' WHERE id = '" + kept + "'");
  const std::string gone = Insert(t, "deleted later");
  db_->Exec("DELETE FROM messages WHERE id = '" + gone + "'");
  HeadsWhenFinal(from);

  domain::EventQuery query;
  query.after.position = {from, 0};
  auto batch = events_->Read(As(t.first), query, "");
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->events.size(), 4u);
  const auto& e = batch->events;
  EXPECT_EQ(e[0].type, domain::EventType::kCreated);
  EXPECT_EQ(e[0].message.content, "first");
  EXPECT_EQ(e[0].message.version, 1);
  EXPECT_EQ(e[1].type, domain::EventType::kUpdated);
  EXPECT_EQ(e[1].message.content, "second");
  EXPECT_EQ(e[1].message.version, 2);
  EXPECT_EQ(e[2].message.content, "deleted later");
  EXPECT_EQ(e[3].type, domain::EventType::kDeleted);
  EXPECT_EQ(e[3].message.id, gone);
  EXPECT_EQ(e[3].message.content, "deleted later") << "a DELETED event carries the last state";
  EXPECT_EQ(e[3].message.version, 1);
  EXPECT_EQ(e[3].message.conversation_id, t.second);
  EXPECT_EQ(e[3].message.distributor_id, t.first);
  // The recorded state decodes to exactly what the messages row reads as.
  EXPECT_EQ(e[1].message.updated_at,
            db_->Scalar("SELECT (extract(epoch FROM updated_at) * 1000000)::int8 FROM messages "
                        "WHERE id = '" +
                        kept + "'"));

  // Events from before migration 003 have no state: the current row, or ids.
  db_->Exec(absl::StrCat("UPDATE message_events SET message_state = NULL WHERE xid >= '", from,
                         "'::xid8 AND distributor_id = '", t.first, "'"));
  batch = events_->Read(As(t.first), query, "");
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->events.size(), 4u);
  EXPECT_EQ(batch->events[0].message.content, "second");
  EXPECT_EQ(batch->events[0].message.version, 2);
  EXPECT_EQ(batch->events[2].message.id, gone);
  EXPECT_EQ(batch->events[2].message.content, "");
  EXPECT_EQ(batch->events[3].message.conversation_id, t.second);
  EXPECT_EQ(batch->events[3].message.version, 0);

  // Another tenant reads none of it.
  EXPECT_TRUE(events_->Read(As(NewTenant().first), query, "")->events.empty());
}

// A read goes no further than the horizon it is given (the last one the
// event listener made durable), even where the database's own is further on.
TEST_F(EventLogTest, ReadStopsAtTheHorizonCap) {
  const auto t = NewTenant();
  const std::uint64_t from = NextXid();
  Insert(t, "before the cap");
  const std::uint64_t cap = NextXid();
  Insert(t, "after the cap");
  HeadsWhenFinal(cap);

  domain::EventQuery query;
  query.after.position = {from, 0};
  query.horizon_cap = cap;
  auto batch = events_->Read(As(t.first), query, "");
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->events.size(), 1u);
  EXPECT_EQ(batch->events[0].message.content, "before the cap");
  EXPECT_EQ(batch->horizon, cap);
  EXPECT_TRUE(batch->complete);

  query.horizon_cap = std::numeric_limits<std::uint64_t>::max();
  batch = events_->Read(As(t.first), query, "");
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->events.size(), 2u);
  EXPECT_GT(batch->horizon, cap);
}

// Pruning is the one statement that reaches every tenant's rows: it must
// delete exactly the events created before the retention, of every tenant,
// and nothing else (no younger event, no message, no conversation).
TEST_F(EventLogTest, PruneDeletesEveryTenantsOldEventsAndNothingElseAndRaisesTheMark) {
  const auto a = NewTenant();
  const auto b = NewTenant();
  const std::string a_old = Insert(a, "a old");
  const std::string b_old = Insert(b, "b old");
  db_->Exec("UPDATE messages SET content = 'b old, edited' WHERE id = '" + b_old + "'");
  const std::string a_recent = Insert(a, "a recent");
  const std::string b_new = Insert(b, "b new");
  const std::string old_ids = "('" + a_old + "', '" + b_old + "')";
  // Three events before the retention (7 days); one just inside it.
  db_->Exec(
      "UPDATE message_events SET created_at = now() - interval '8 days' WHERE message_id IN " +
      old_ids);
  db_->Exec(
      "UPDATE message_events SET created_at = now() - interval '6 days' WHERE message_id = '" +
      a_recent + "'");
  const long long events = db_->Scalar("SELECT count(*) FROM message_events");
  const long long messages = db_->Scalar("SELECT count(*) FROM messages");
  const long long conversations = db_->Scalar("SELECT count(*) FROM conversations");
  const pqxx::row newest_old =
      db_->Exec("SELECT xid::text, seq FROM message_events WHERE message_id IN " + old_ids +
                " ORDER BY xid DESC, seq DESC LIMIT 1")
          .at(0);
  const domain::StreamPosition expected_mark{newest_old[0].as<std::uint64_t>(),
                                             newest_old[1].as<std::int64_t>()};

  const auto pruned = events_->Prune(absl::Hours(24 * 7));
  ASSERT_TRUE(pruned.ok()) << pruned.status();
  EXPECT_EQ(*pruned, 3);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM message_events"), events - 3);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM message_events WHERE message_id IN " + old_ids), 0);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM message_events WHERE message_id IN ('" + a_recent +
                        "', '" + b_new + "')"),
            2)
      << "younger events of both tenants stay";
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM messages"), messages);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM conversations"), conversations);

  // The mark: the newest pruned position, recorded with its time, and handed
  // to every tenant's reads.
  const pqxx::row mark =
      db_->Exec(
             "SELECT pruned_xid::text, pruned_seq, pruned_at > now() - interval '1 minute' "
             "FROM message_events_low_water")
          .at(0);
  EXPECT_EQ((domain::StreamPosition{mark[0].as<std::uint64_t>(), mark[1].as<std::int64_t>()}),
            expected_mark);
  EXPECT_TRUE(mark[2].as<bool>());
  for (const auto& tenant : {a, b, NewTenant()}) {
    const auto batch = events_->Read(As(tenant.first), domain::EventQuery{}, "");
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_EQ(batch->pruned_through, expected_mark);
  }

  // Nothing left to prune: the mark stays.
  const auto again = events_->Prune(absl::Hours(24 * 7));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(db_->Scalar("SELECT pruned_seq FROM message_events_low_water"), expected_mark.seq);
}

TEST_F(EventLogTest, PruneRefusesARetentionBelowAnHour) {
  const auto t = NewTenant();
  Insert(t, "half an hour old");
  db_->Exec(
      "UPDATE message_events SET created_at = now() - interval '30 minutes' "
      "WHERE distributor_id = '" +
      t.first + "'");
  const long long events = db_->Scalar("SELECT count(*) FROM message_events");
  EXPECT_FALSE(events_->Prune(absl::Minutes(10)).ok());
  EXPECT_FALSE(events_->Prune(absl::Minutes(59)).ok());
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM message_events"), events);
}

}  // namespace
}  // namespace messaging::testing
