// ConnectionPool and TransactionRunner under many threads, against a real
// PostgreSQL and without gRPC in the way (scripts/test.sh also runs this file
// under ThreadSanitizer):
//
// * more threads than connections: every transaction commits exactly once,
//   as its own tenant, and the pool never opens more than its size;
// * an exhausted pool: waiters get DEADLINE_EXCEEDED at their deadline or
//   RESOURCE_EXHAUSTED after the pool's maximum wait, and get a connection
//   as soon as one is freed;
// * connections broken mid-use or while idle, and queries cancelled, while
//   the pool is under load: each call fails with a retryable code or
//   succeeds, no connection leaks, and the pool heals;
// * an opening statement (sent in BEGIN's round trip) runs as the tenant with
//   its values exactly as given, and when it fails nothing is written and the
//   connection serves the next call; the same for a one-statement write (one
//   implicit transaction), which also leaves no setting on the connection;
// * a one-statement write that may not be sent twice is moved off a
//   connection that died while idle, and fails as "outcome unknown" without
//   a resend when its connection breaks after the send.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "repository/connection_pool.h"
#include "repository/statement.h"
#include "repository/transaction.h"
#include "support/test_database.h"

namespace messaging::repository {
namespace {

using ::messaging::testing::TestDatabase;
using Lease = ConnectionPool::Lease;

// A generous deadline: ThreadSanitizer makes everything slower.
absl::Time Later() { return absl::Now() + absl::Seconds(60); }

domain::RequestContext AsTenant(const std::string& distributor_id) {
  return {distributor_id, Later()};
}

bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > until) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

void RaiseTo(std::atomic<int>& peak, int value) {
  int seen = peak.load();
  while (seen < value && !peak.compare_exchange_weak(seen, value)) {
  }
}

void JoinAll(std::vector<std::thread>& threads) {
  for (auto& t : threads) t.join();
}

class ConnectionPoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase("connection_pool");
    // What the transactions write: one row per committed unit of work.
    db_->Exec(
        "CREATE TABLE pool_hits (distributor_id uuid NOT NULL, worker int NOT NULL, "
        "n int NOT NULL); GRANT SELECT, INSERT ON pool_hits TO messaging_app");
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }
  void SetUp() override {
    db_->Exec("TRUNCATE pool_hits");
    static int tests = 0;
    application_name_ = absl::StrCat("connection_pool_test_", ++tests);
  }

  // A pool whose connections carry this test's application_name (connections
  // of earlier tests may still be on their way out), logged in as the servers'
  // role, like a server's pool.
  std::unique_ptr<ConnectionPool> Pool(int size, absl::Duration max_wait = absl::Seconds(30),
                                       std::vector<PreparedStatement> statements = {}) {
    const std::string url = db_->server_url();
    PoolOptions options;
    options.database_url = absl::StrCat(url, absl::StrContains(url, "?") ? "&" : "?",
                                        "application_name=", application_name_);
    options.size = size;
    options.max_wait = max_wait;
    return std::make_unique<ConnectionPool>(options, std::move(statements));
  }

  // Inserts (tenant, worker, n) as the transaction's tenant; fails unless the
  // transaction runs as messaging_app for `tenant`.
  static absl::StatusOr<int> Hit(pqxx::transaction_base& tx, const std::string& tenant, int worker,
                                 int n, const std::string& before = "") {
    if (!before.empty()) tx.exec(before);
    const pqxx::row row = tx.exec1(
        absl::StrCat("INSERT INTO pool_hits (distributor_id, worker, n) "
                     "SELECT current_setting('app.distributor_id')::uuid, ",
                     worker, ", ", n, " RETURNING current_user::text, distributor_id::text"));
    if (row[0].as<std::string>() != "messaging_app" || row[1].as<std::string>() != tenant) {
      return absl::InternalError(absl::StrCat("ran as ", row[0].as<std::string>(), " for ",
                                              row[1].as<std::string>(), ", not for ", tenant));
    }
    return 1;
  }

  // The n of kInsertHit's one returned row; fails unless the row was
  // inserted as messaging_app for `tenant`.
  static absl::StatusOr<int> InsertedN(const pqxx::result& rows, const std::string& tenant) {
    EXPECT_EQ(rows.size(), 1u);
    if (rows.size() != 1) return absl::InternalError("no row");
    EXPECT_EQ(rows[0]["role"].as<std::string>(), "messaging_app");
    EXPECT_EQ(rows[0]["distributor_id"].as<std::string>(), tenant);
    return rows[0]["n"].as<int>();
  }

  // Runs `insert` (a statement shaped like kInsertHit) in `mode` as `tenant`:
  // the n it inserted (InsertedN).
  static absl::StatusOr<int> InsertAs(TransactionRunner& runner, const std::string& tenant,
                                      const Params& insert, TransactionMode mode) {
    return runner.Run<int>(
        AsTenant(tenant), insert,
        [&](pqxx::transaction_base&, const pqxx::result& rows) { return InsertedN(rows, tenant); },
        mode);
  }

  // The connections of this test's pools.
  long long Backends() const {
    return db_->Scalar(
        absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE application_name = '",
                     application_name_, "'"));
  }

  // Terminates them; returns how many. (MATERIALIZED: the filter runs first.)
  long long TerminateBackends() const {
    return db_->Scalar(absl::StrCat(
        "WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = '",
        application_name_,
        "') SELECT count(*) FROM victims WHERE pg_terminate_backend(pid, 5000)"));
  }

  static std::unique_ptr<Lease> MustAcquire(ConnectionPool& pool, absl::Time deadline = Later()) {
    auto lease = pool.Acquire(deadline);
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.ok() ? std::make_unique<Lease>(*std::move(lease)) : nullptr;
  }

  static int BackendPid(Lease& lease) {
    return pqxx::nontransaction(lease.connection()).exec1("SELECT pg_backend_pid()")[0].as<int>();
  }

  static inline TestDatabase* db_ = nullptr;
  std::string application_name_;
};

TEST_F(ConnectionPoolTest, ManyThreadsShareASmallPoolAndEachTransactionRunsAsItsTenant) {
  constexpr int kSize = 4;
  constexpr int kThreads = 12;
  constexpr int kPerThread = 40;
  auto pool = Pool(kSize);
  TransactionRunner runner(*pool, {});
  std::vector<std::string> tenants;
  for (int t = 0; t < kThreads; ++t) tenants.push_back(db_->NewDistributor());

  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kPerThread; ++n) {
        const auto result = runner.Run<int>(AsTenant(tenants[t]),
                                            [&](pqxx::transaction_base& tx) -> absl::StatusOr<int> {
                                              RaiseTo(peak, pool->in_use());
                                              return Hit(tx, tenants[t], t, n);
                                            });
        EXPECT_TRUE(result.ok()) << result.status();
      }
    });
  }
  JoinAll(threads);

  EXPECT_LE(peak.load(), kSize);
  EXPECT_EQ(pool->in_use(), 0);
  EXPECT_EQ(pool->waiting(), 0);
  EXPECT_LE(Backends(), kSize);
  // Every unit of work committed once: none lost, none repeated...
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pool_hits"), kThreads * kPerThread);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM (SELECT DISTINCT worker, n FROM pool_hits) d"),
            kThreads * kPerThread);
  // ...each as the tenant that asked for it, over shared connections.
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(db_->Scalar(absl::StrCat("SELECT count(*) FROM pool_hits WHERE worker = ", t,
                                       " AND distributor_id = '", tenants[t], "'")),
              kPerThread);
  }
}

TEST_F(ConnectionPoolTest, AnExhaustedPoolTimesWaitersOutThenServesThemOnceFreed) {
  constexpr absl::Duration kMaxWait = absl::Milliseconds(300);
  constexpr absl::Duration kShortDeadline = absl::Milliseconds(100);
  auto pool = Pool(2, kMaxWait);
  auto first = MustAcquire(*pool);
  auto second = MustAcquire(*pool);
  ASSERT_TRUE(first && second);

  struct Outcome {
    absl::StatusCode code;
    absl::Duration waited;
  };
  const auto wait_for_connection = [&](absl::Duration deadline) {
    const absl::Time start = absl::Now();
    const auto lease = pool->Acquire(start + deadline);
    return Outcome{lease.status().code(), absl::Now() - start};
  };
  std::vector<std::future<Outcome>> short_waits, long_waits;
  for (int i = 0; i < 4; ++i) {
    short_waits.push_back(std::async(std::launch::async, wait_for_connection, kShortDeadline));
    long_waits.push_back(std::async(std::launch::async, wait_for_connection, absl::Seconds(60)));
  }
  for (auto& f : short_waits) {
    const Outcome outcome = f.get();
    EXPECT_EQ(outcome.code, absl::StatusCode::kDeadlineExceeded);
    EXPECT_GE(outcome.waited, kShortDeadline - absl::Milliseconds(5));
    EXPECT_LT(outcome.waited, absl::Seconds(10));
  }
  for (auto& f : long_waits) {
    const Outcome outcome = f.get();
    EXPECT_EQ(outcome.code, absl::StatusCode::kResourceExhausted) << "waits at most max_wait";
    EXPECT_GE(outcome.waited, kMaxWait - absl::Milliseconds(5));
    EXPECT_LT(outcome.waited, absl::Seconds(10));
  }
  EXPECT_EQ(pool->in_use(), 2);
  EXPECT_EQ(pool->waiting(), 0);

  // Waiters with time to spare get the freed connections, one after another.
  auto patient = Pool(2);
  first = MustAcquire(*patient);
  second = MustAcquire(*patient);
  constexpr int kWaiters = 8;
  std::atomic<int> served{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      auto lease = patient->Acquire(Later());
      ASSERT_TRUE(lease.ok()) << lease.status();
      pqxx::nontransaction(lease->connection()).exec("SELECT 1");
      ++served;
    });
  }
  EXPECT_TRUE(WaitUntil([&] { return patient->waiting() == kWaiters; }, absl::Seconds(30)));
  EXPECT_EQ(served.load(), 0);
  first.reset();
  second.reset();
  JoinAll(waiters);
  EXPECT_EQ(served.load(), kWaiters);
  EXPECT_EQ(patient->in_use(), 0);
  EXPECT_EQ(patient->waiting(), 0);
}

TEST_F(ConnectionPoolTest, AConnectionBrokenMidTransactionIsDroppedAndReplaced) {
  constexpr int kSize = 2;
  auto pool = Pool(kSize);
  TransactionRunner runner(*pool, {});
  const std::string tenant = db_->NewDistributor();

  const auto broken =
      runner.Run<int>(AsTenant(tenant), [&](pqxx::transaction_base& tx) -> absl::StatusOr<int> {
        const int pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
        db_->Exec(absl::StrCat("SELECT pg_terminate_backend(", pid, ", 5000)"));
        return Hit(tx, tenant, 0, 0);
      });
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kUnavailable) << broken.status();
  EXPECT_EQ(pool->in_use(), 0);

  // The broken connection no longer counts: the pool still lends all of them.
  {
    auto a = MustAcquire(*pool);
    auto b = MustAcquire(*pool);
    ASSERT_TRUE(a && b);
    EXPECT_NE(BackendPid(*a), BackendPid(*b));
  }
  const auto healed = runner.Run<int>(
      AsTenant(tenant), [&](pqxx::transaction_base& tx) { return Hit(tx, tenant, 0, 1); });
  EXPECT_TRUE(healed.ok()) << healed.status();
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pool_hits"), 1) << "the broken one committed nothing";
}

TEST_F(ConnectionPoolTest, AConnectionThatDiedWhileIdleIsReplacedTransparently) {
  auto pool = Pool(1);
  TransactionRunner runner(*pool, {});
  const std::string tenant = db_->NewDistributor();
  int idle_pid = 0;
  {
    auto lease = MustAcquire(*pool);
    ASSERT_TRUE(lease);
    idle_pid = BackendPid(*lease);
  }
  ASSERT_EQ(TerminateBackends(), 1);  // The pool's only connection, idle.

  int pid = 0;
  const auto result =
      runner.Run<int>(AsTenant(tenant), [&](pqxx::transaction_base& tx) -> absl::StatusOr<int> {
        pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
        return Hit(tx, tenant, 0, 0);
      });
  EXPECT_TRUE(result.ok()) << result.status();
  EXPECT_NE(pid, idle_pid);
  EXPECT_EQ(pool->in_use(), 0);
}

// What the opening-statement test runs (statements live as long as the program).
const Statement kInsertHit("pool_hit_insert", R"sql(
INSERT INTO pool_hits (distributor_id, worker, n)
SELECT current_setting('app.distributor_id')::uuid, :worker::int, :n::int
RETURNING current_user::text AS role, distributor_id::text AS distributor_id, n)sql");
const Statement kEcho("pool_echo", "SELECT :value::text AS value, :other::text AS other");
// kInsertHit after sleeping `seconds` (time to terminate its backend).
const Statement kSlowInsertHit("pool_hit_slow_insert", R"sql(
INSERT INTO pool_hits (distributor_id, worker, n)
SELECT current_setting('app.distributor_id')::uuid, :worker::int, :n::int
FROM pg_sleep(:seconds::float8)
RETURNING current_user::text AS role, distributor_id::text AS distributor_id, n)sql");

TEST_F(ConnectionPoolTest, AnOpeningStatementRunsAsTheTenantAndAFailedOneLeavesNothingBehind) {
  auto pool = Pool(1, absl::Seconds(30), {kInsertHit.Prepared(), kEcho.Prepared()});
  TransactionRunner runner(*pool, {});
  const std::string tenant = db_->NewDistributor();
  using Work = std::function<absl::StatusOr<int>(pqxx::transaction_base&, const pqxx::result&)>;

  int first_pid = 0;
  const Work hit = [&](pqxx::transaction_base& tx,
                       const pqxx::result& rows) -> absl::StatusOr<int> {
    first_pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
    return InsertedN(rows, tenant);
  };
  const auto inserted =
      runner.Run<int>(AsTenant(tenant), Params(kInsertHit).Set("worker", "1").Set("n", "7"), hit);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 7);

  // A value the statement refuses: the call fails before its work, and the
  // session's aborted transaction is ended, so the one connection serves on.
  bool worked = false;
  const auto refused =
      runner.Run<int>(AsTenant(tenant), Params(kInsertHit).Set("worker", "1").Set("n", "seven"),
                      [&](pqxx::transaction_base&, const pqxx::result&) -> absl::StatusOr<int> {
                        worked = true;
                        return 0;
                      });
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(worked);
  EXPECT_EQ(pool->in_use(), 0);

  // Values reach the statement exactly, quotes, backslashes and NULL included.
  const std::string tricky = "it's \\ a '); DROP TABLE pool_hits; -- \u00e9 \xc3\xa9";
  int echo_pid = 0;
  const auto echoed = runner.Run<int>(
      AsTenant(tenant),
      Params(kEcho).Set("value", tricky).Set("other", static_cast<const char*>(nullptr)),
      [&](pqxx::transaction_base& tx, const pqxx::result& rows) -> absl::StatusOr<int> {
        echo_pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
        EXPECT_EQ(rows.at(0)["value"].as<std::string>(), tricky);
        EXPECT_TRUE(rows.at(0)["other"].is_null());
        return 1;
      });
  EXPECT_TRUE(echoed.ok()) << echoed.status();
  EXPECT_EQ(echo_pid, first_pid) << "the failed call's connection was not reused";
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pool_hits"), 1) << "the failed insert wrote a row";
}

// kOneStatementIdempotentWrite: the tenant setup and the statement are one implicit
// transaction. It runs as the tenant, has committed when the call returns,
// leaves no setting on the pooled connection, and when it fails writes
// nothing and leaves the connection serving.
TEST_F(ConnectionPoolTest, AnIdempotentWriteCommitsAsTheTenantAndLeavesNothingOnTheConnection) {
  auto pool = Pool(1, absl::Seconds(30), {kInsertHit.Prepared()});
  TransactionRunner runner(*pool, {});
  const std::string tenant = db_->NewDistributor();
  const auto insert = [&](const std::string& worker, const std::string& n, TransactionMode mode) {
    return InsertAs(runner, tenant, Params(kInsertHit).Set("worker", worker).Set("n", n), mode);
  };

  const auto inserted = insert("1", "7", TransactionMode::kOneStatementIdempotentWrite);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 7);
  // Committed: another session sees it.
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pool_hits WHERE n = 7"), 1);

  // The one pooled connection is back outside any transaction, as its login
  // role, with no tenant.
  {
    auto lease = MustAcquire(*pool);
    ASSERT_NE(lease, nullptr);
    const pqxx::row row = pqxx::nontransaction(lease->connection())
                              .exec1(
                                  "SELECT current_user::text <> 'messaging_app', "
                                  "coalesce(current_setting('app.distributor_id', true), ''), "
                                  "current_setting('statement_timeout')");
    EXPECT_TRUE(row[0].as<bool>()) << "the role outlived the call";
    EXPECT_EQ(row[1].as<std::string>(), "") << "the tenant outlived the call";
    EXPECT_EQ(row[2].as<std::string>(), "0") << "the call's timeout outlived it";
  }

  // A value the statement refuses: nothing written, and the connection serves on.
  const auto refused = insert("1", "seven", TransactionMode::kOneStatementIdempotentWrite);
  EXPECT_FALSE(refused.ok());
  const auto refused_once = insert("1", "eight", TransactionMode::kOneStatementWrite);
  // PostgreSQL answered (an invalid integer is INTERNAL): not an unknown outcome.
  EXPECT_EQ(refused_once.status().code(), absl::StatusCode::kInternal) << refused_once.status();
  const auto again = insert("2", "8", TransactionMode::kOneStatementIdempotentWrite);
  EXPECT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pool_hits"), 2);
  EXPECT_EQ(pool->in_use(), 0);
}

// kOneStatementWrite sends its statement at most once: a pooled connection
// whose backend was terminated while idle is replaced before the send, and
// one that breaks after the send is an unknown outcome, not sent again.
TEST_F(ConnectionPoolTest, AOneStatementWriteGoesToAFreshConnectionIfTheIdleOneDied) {
  auto pool = Pool(1, absl::Seconds(30), {kInsertHit.Prepared()});
  TransactionRunner runner(*pool, {});
  const std::string tenant = db_->NewDistributor();
  const auto insert = [&](const std::string& n) {
    return InsertAs(runner, tenant, Params(kInsertHit).Set("worker", "1").Set("n", n),
                    TransactionMode::kOneStatementWrite);
  };
  // The pool's one connection, with the statement prepared, is idle when
  // its backend is terminated.
  ASSERT_TRUE(insert("2").ok());
  ASSERT_EQ(TerminateBackends(), 1);

  const auto inserted = insert("3");
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(*inserted, 3);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pool_hits"), 2);
  EXPECT_EQ(pool->in_use(), 0);
}

TEST_F(ConnectionPoolTest, AOneStatementWriteThatBreaksAfterTheSendIsNotSentAgain) {
  auto pool = Pool(2, absl::Seconds(30), {kSlowInsertHit.Prepared()});
  TransactionRunner runner(*pool, {});
  const std::string tenant = db_->NewDistributor();
  // Terminates the backend once it sleeps inside the statement.
  auto terminated = std::async(std::launch::async, [&] {
    const bool sleeping = WaitUntil(
        [&] {
          return db_->Scalar(absl::StrCat("SELECT count(*) FROM pg_stat_activity WHERE "
                                          "application_name = '",
                                          application_name_, "' AND wait_event = 'PgSleep'")) == 1;
        },
        absl::Seconds(30));
    return sleeping ? TerminateBackends() : 0;
  });

  const auto broken = InsertAs(
      runner, tenant, Params(kSlowInsertHit).Set("worker", "1").Set("n", "4").Set("seconds", "5"),
      TransactionMode::kOneStatementWrite);
  ASSERT_EQ(terminated.get(), 1);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kUnavailable) << broken.status();
  EXPECT_TRUE(absl::StrContains(broken.status().message(), "outcome is unknown"))
      << broken.status();
  // Sent again, the insert would have slept and then committed its row.
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pool_hits"), 0);
  EXPECT_EQ(pool->in_use(), 0);
}

// Transactions on many threads while connections are killed and running
// queries cancelled under them: every call either commits or fails with a
// retryable code, nothing commits twice, and afterwards every call succeeds
// again on at most `size` connections.
TEST_F(ConnectionPoolTest, KilledAndCancelledConnectionsUnderLoadHeal) {
  constexpr int kSize = 3;
  constexpr int kThreads = 6;
  constexpr int kPerThread = 60;
  auto pool = Pool(kSize);
  TransactionRunner runner(*pool, {});
  std::vector<std::string> tenants;
  for (int t = 0; t < kThreads; ++t) tenants.push_back(db_->NewDistributor());

  std::atomic<bool> done{false};
  std::atomic<long long> killed{0};
  std::thread saboteur([&] {
    for (int round = 0; !done.load(); ++round) {
      absl::SleepFor(absl::Milliseconds(15));
      if (round % 2 == 0) {
        killed += TerminateBackends();
      } else {
        pool->CancelRunningQueries();
      }
    }
  });
  std::atomic<int> committed{0}, failed{0}, unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0; n < kPerThread; ++n) {
        const auto result = runner.Run<int>(AsTenant(tenants[t]), [&](pqxx::transaction_base& tx) {
          return Hit(tx, tenants[t], t, n, "SELECT pg_sleep(0.002)");
        });
        if (result.ok()) {
          ++committed;
        } else if (absl::IsUnavailable(result.status()) ||
                   absl::IsDeadlineExceeded(result.status())) {
          ++failed;  // Killed (UNAVAILABLE) or cancelled (DEADLINE_EXCEEDED).
        } else {
          ++unexpected;
          ADD_FAILURE() << result.status();
        }
      }
    });
  }
  JoinAll(threads);
  done = true;
  saboteur.join();

  EXPECT_GT(killed.load(), 0);
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(committed.load() + failed.load(), kThreads * kPerThread);
  // A commit whose answer was lost may have happened; nothing else did.
  const long long rows = db_->Scalar("SELECT count(*) FROM pool_hits");
  EXPECT_GE(rows, committed.load());
  EXPECT_LE(rows, committed.load() + failed.load());
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM (SELECT DISTINCT worker, n FROM pool_hits) d"), rows)
      << "a unit of work committed twice";
  EXPECT_EQ(pool->in_use(), 0);

  // Healed: everything succeeds, on no more connections than the pool's size.
  threads.clear();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = kPerThread; n < kPerThread + 5; ++n) {
        const auto result = runner.Run<int>(AsTenant(tenants[t]), [&](pqxx::transaction_base& tx) {
          return Hit(tx, tenants[t], t, n);
        });
        EXPECT_TRUE(result.ok()) << result.status();
      }
    });
  }
  JoinAll(threads);
  EXPECT_EQ(pool->in_use(), 0);
  EXPECT_LE(Backends(), kSize);
}

}  // namespace
}  // namespace messaging::repository
