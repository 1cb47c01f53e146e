// PostgreSQL goes away under write load, twice: a clean fast shutdown and an
// immediate stop (a crash: no checkpoint, recovery on restart), each followed
// by a restart. The server runs in-process against a private cluster that this
// test starts and deletes (scripts/pg.sh); the shared test cluster is never
// touched.
//
// Proves: while the database is down calls fail fast with UNAVAILABLE (never
// a hang until the deadline, never another code); health goes NOT_SERVING and
// back to SERVING; the pool and the LISTEN connection reconnect by themselves
// (writes succeed again, the open stream keeps delivering); no acknowledged
// write is lost and nothing unasked-for is stored; the stream that stayed open
// across both outages (resumed from its last cursor if it ever ended) holds
// every committed message exactly once, in log order. And after a restart
// during which nobody called, the first calls succeed (no stale pooled
// connection is handed out).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "faults/fault_util.h"
#include "repository/connection_pool.h"
#include "repository/event_listener.h"
#include "repository/pg_event_repository.h"
#include "repository/transaction.h"
#include "support/private_cluster.h"
#include "support/stream_collector.h"

namespace messaging::testing {
namespace {

using faults::HealthHistory;
using faults::WaitUntil;
using grpc::StatusCode;
using grpc::health::v1::HealthCheckResponse;

TEST(DatabaseRestartTest, WritesSurviveAndStreamsContinueAcrossRestartAndCrash) {
  PrivateCluster cluster;
  const std::string url = cluster.CreateMigratedDatabase("messaging");
  const std::string distributor = faults::InsertRow(url, "distributors");
  const std::string conversation =
      faults::InsertConversation(url, distributor, faults::InsertRow(url, "customers"));

  TestServer server(cluster.ServerUrl("messaging"), [](app::ServerConfig& c) {
    c.pool_size = 4;
    c.health_interval = absl::Milliseconds(200);
    c.stream_poll_interval = absl::Milliseconds(100);
  });
  auto channel = faults::Connect(server.address());
  auto stub = v1::MessagingService::NewStub(channel);
  faults::HealthRecorder health(channel);

  // A distributor-wide stream, open from before the load until the end.
  StreamCollector stream(*stub, distributor, v1::StreamMessagesRequest());
  ASSERT_TRUE(stream.WaitLive());

  const absl::Duration deadline = absl::Seconds(5);
  faults::WriteLoad::Options options;
  options.threads = 3;
  options.deadline = deadline;
  faults::WriteLoad load({stub.get()}, distributor, conversation, options);
  ASSERT_TRUE(WaitUntil([&] { return load.acknowledged_count() >= 30; }, absl::Seconds(20)))
      << "no write load before the fault";

  std::vector<absl::Time> faulted_at, serving_again;
  for (const bool crash : {false, true}) {
    SCOPED_TRACE(crash ? "immediate stop (crash)" : "fast shutdown");
    faulted_at.push_back(absl::Now());
    if (crash) {
      cluster.Crash();
    } else {
      cluster.Stop();
    }
    EXPECT_TRUE(
        WaitUntil([&] { return faults::CheckHealth(channel) == HealthCheckResponse::NOT_SERVING; },
                  absl::Seconds(5)))
        << "health did not report NOT_SERVING while the database was down";
    const int acked_when_down = load.acknowledged_count();
    // The load keeps hitting the dead database: every thread fails twice.
    const absl::Time down = absl::Now();
    EXPECT_TRUE(WaitUntil(
        [&] {
          int failed = 0;
          for (const auto& f : load.Failures()) failed += f.start > down;
          return failed >= 2 * options.threads;
        },
        absl::Seconds(15)))
        << "the load did not notice the database was down";
    EXPECT_LE(load.acknowledged_count(), acked_when_down + options.threads /* in flight */)
        << "writes were acknowledged while the database was down";
    cluster.Start();
    const absl::Time back = absl::Now();
    EXPECT_TRUE(
        WaitUntil([&] { return faults::CheckHealth(channel) == HealthCheckResponse::SERVING; },
                  absl::Seconds(10)))
        << "health did not return to SERVING";
    serving_again.push_back(absl::Now());
    // The pool reconnects by itself: writes are acknowledged again.
    EXPECT_TRUE(WaitUntil([&] { return load.AcknowledgedAfter(back) >= 20; }, absl::Seconds(15)))
        << "writes did not succeed again after the restart";
    // The LISTEN connection reconnects: the stream delivers what was written
    // since, before the next outage.
    const int acked = load.acknowledged_count();
    EXPECT_TRUE(stream.WaitForChanges(acked, std::chrono::seconds(15)))
        << "the open stream stalled after the restart: " << stream.Changes().size() << " of "
        << acked;
  }
  load.Stop();
  // Let the recorder see the final state before it stops.
  WaitUntil(
      [&] {
        return !health.Seen().empty() && health.Seen().back() == HealthCheckResponse::SERVING;
      },
      absl::Seconds(3));
  health.Stop();

  // Health went down and came back (twice).
  const auto seen = health.Seen();
  int downs = 0;
  for (std::size_t i = 1; i < seen.size(); ++i) {
    downs +=
        seen[i - 1] == HealthCheckResponse::SERVING && seen[i] == HealthCheckResponse::NOT_SERVING;
  }
  EXPECT_GE(downs, 2) << HealthHistory(seen);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), HealthCheckResponse::SERVING) << HealthHistory(seen);

  // Failures were UNAVAILABLE (retryable) and fast: nobody waited for the
  // deadline on a database that was not there.
  const auto failures = load.Failures();
  EXPECT_GT(failures.size(), 0u) << "the load never hit the outage";
  std::map<std::string, int> codes;
  absl::Duration slowest;
  for (const auto& f : failures) {
    ++codes[faults::CodeName(f.code)];
    slowest = std::max(slowest, f.elapsed);
    EXPECT_EQ(f.code, StatusCode::UNAVAILABLE) << f.tag << ": " << f.error;
    EXPECT_LT(f.elapsed, absl::Seconds(2)) << f.tag << " failed slowly: " << f.error;
  }
  // Once health says SERVING again, calls should not keep failing (e.g. on
  // stale pooled connections).
  int failed_after_serving = 0;
  for (const auto& f : failures) {
    for (std::size_t i = 0; i < serving_again.size(); ++i) {
      const absl::Time next_fault =
          i + 1 < faulted_at.size() ? faulted_at[i + 1] : absl::InfiniteFuture();
      // Calls that ended before the next fault (one in flight when the
      // database went down again fails, and should).
      if (f.start > serving_again[i] && f.start + f.elapsed < next_fault) {
        ++failed_after_serving;
        ADD_FAILURE() << "failed " << absl::FormatDuration(f.start - serving_again[i])
                      << " after health was SERVING again: " << f.error;
      }
    }
  }
  std::string summary;
  for (const auto& [code, n] : codes) absl::StrAppend(&summary, " ", code, "=", n);
  std::printf(
      "acknowledged %d writes; failures:%s (%d after health was SERVING again); slowest failure "
      "%s; health %s\n",
      load.acknowledged_count(), summary.c_str(), failed_after_serving,
      absl::FormatDuration(slowest).c_str(), HealthHistory(seen).c_str());

  // No acknowledged write lost, nothing stored that nobody sent.
  const auto acked = load.Acknowledged();
  const auto tags = load.Tags();
  const auto stored = faults::StoredMessages(url, conversation);
  for (const auto& [tag, id] : acked) {
    const auto it = stored.find(tag);
    ASSERT_NE(it, stored.end()) << "acknowledged write lost: " << tag;
    EXPECT_EQ(it->second, id) << tag;
  }
  for (const auto& [content, id] : stored) {
    EXPECT_EQ(tags.count(content), 1u) << "stored but never sent: " << content;
  }
  EXPECT_GE(stored.size(), acked.size());

  // The stream: every committed message once, in log order, with no gap. If
  // the stream ended, a client resumes from its last cursor.
  auto log = faults::CreatedInLogOrder(url, distributor);
  ASSERT_EQ(log.size(), stored.size());
  // Written last: once a stream has it, a skipped or repeated event would
  // have shown before it.
  const std::string marker = faults::InsertMessage(url, distributor, conversation, "marker");
  log.push_back(marker);
  stream.WaitForMessage(marker, std::chrono::seconds(20));
  std::vector<std::string> streamed = faults::CreatedIds(stream.Changes());
  const grpc::Status ended = stream.WaitDone(std::chrono::milliseconds(1));
  if (ended.error_code() != StatusCode::DEADLINE_EXCEEDED /* still open */) {
    std::printf("stream ended (%s: %s); resuming from its last cursor\n",
                faults::CodeName(ended.error_code()).c_str(), ended.error_message().c_str());
    EXPECT_EQ(ended.error_code(), StatusCode::UNAVAILABLE) << "not a resumable status";
    v1::StreamMessagesRequest resume;
    resume.set_resume_cursor(stream.LastCursor());
    StreamCollector resumed(*stub, distributor, resume);
    EXPECT_TRUE(resumed.WaitForMessage(marker, std::chrono::seconds(20)));
    for (const auto& id : faults::CreatedIds(resumed.Changes())) streamed.push_back(id);
  }
  EXPECT_EQ(streamed.size(), log.size());
  EXPECT_EQ(streamed, log) << "the stream skipped, repeated or reordered events";

  // Still healthy: a normal call works.
  v1::GetConversationRequest get;
  get.set_id(conversation);
  v1::Conversation out;
  auto context = faults::ContextFor(distributor, absl::Seconds(5));
  const auto status = stub->GetConversation(context.get(), get, &out);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(out.last_message_preview().empty(), stored.empty());
}

// Assigns `tx` an xid and returns it.
std::uint64_t CurrentXid(pqxx::transaction_base& tx) {
  return std::stoull(tx.exec1("SELECT pg_current_xact_id()::text")[0].as<std::string>());
}

// Puts everything so far on disk, then rolls back a transaction that had an
// xid (the abort record is not flushed) and returns that xid.
std::uint64_t CheckpointThenRollBack(const std::string& url) {
  pqxx::connection client(url);
  pqxx::nontransaction(client).exec("CHECKPOINT");
  pqxx::work tx(client);
  const std::uint64_t xid = CurrentXid(tx);
  tx.abort();
  return xid;
}

// Crashes `cluster`, restarts it and returns the first xid it hands out.
std::uint64_t FirstXidAfterACrash(PrivateCluster& cluster, const std::string& url) {
  cluster.Crash();
  cluster.Start();
  pqxx::connection after(url);
  pqxx::work tx(after);
  const std::uint64_t next = CurrentXid(tx);
  tx.commit();
  return next;
}

// A stream's position may pass an xid only if that xid can never be handed
// out again. PostgreSQL reuses an xid after a crash when the record that ended
// its transaction had not reached the disk: a rollback, an asynchronous
// commit, a transaction that wrote no WAL of its own (the replica's bare
// wake-up NOTIFY) all end without a flush. The horizon the event listener
// hands to the streams must therefore never be above the first xid handed
// out after a crash. The WAL writer is slowed down so that only the listener
// can have flushed what these transactions wrote.
class DurableHorizonTest : public ::testing::Test {
 protected:
  DurableHorizonTest() : DurableHorizonTest(absl::Milliseconds(20)) {}
  explicit DurableHorizonTest(absl::Duration poll_interval) {
    cluster_.Configure("autovacuum", "off");
    cluster_.Configure("wal_writer_delay", "10s");
    url_ = cluster_.CreateMigratedDatabase("messaging");
    repository::EventListenerOptions options;
    options.poll_interval = poll_interval;
    listener_ = std::make_unique<repository::EventListener>(
        cluster_.ServerUrl("messaging"), options,
        [this](const domain::EventHeads& heads, bool) {
          if (heads.horizon > published_) published_ = heads.horizon;
        },
        [this](const domain::EventHeads& heads, bool) {
          std::lock_guard<std::mutex> lock(news_mutex_);
          for (const auto& head : heads.changed) {
            news_.push_back({head.distributor_id, head.last.xid, published_.load()});
          }
        });
    listener_->Start();
  }

  bool WaitPublishedPast(std::uint64_t xid) {
    return WaitUntil([&] { return published_.load() > xid; }, absl::Seconds(10));
  }

  // Stops the listener, crashes the cluster, restarts it, and checks that the
  // first xid it hands out is not below any horizon the streams were given.
  void ExpectNoPublishedXidReusedAfterACrash() {
    listener_->Stop();
    const std::uint64_t published = published_.load();
    const std::uint64_t next = FirstXidAfterACrash(cluster_, url_);
    EXPECT_GE(next, published) << "after the crash PostgreSQL handed out xid " << next
                               << " again, below the horizon the streams were given";
  }

  // A message in a new conversation of `distributor`, committed
  // asynchronously: its commit record stays in the WAL buffers (the WAL
  // writer is slowed). Returns its transaction's xid.
  std::uint64_t InsertMessageWithoutFlush(const std::string& distributor) {
    const std::string conversation =
        faults::InsertConversation(url_, distributor, faults::InsertRow(url_, "customers"));
    pqxx::connection client(url_);
    pqxx::work tx(client);
    tx.exec("SET LOCAL synchronous_commit = off");
    const std::uint64_t xid = CurrentXid(tx);
    tx.exec_params(
        "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
        "delivery_status) VALUES ($1, $2, 'inbound', 'async', 'received')",
        conversation, distributor);
    tx.commit();
    return xid;
  }

  struct News {
    std::string distributor;
    std::uint64_t last_xid;
    std::uint64_t published_then;  // The durable horizon when the news came.
  };
  std::optional<News> NewsOf(const std::string& distributor) {
    std::lock_guard<std::mutex> lock(news_mutex_);
    for (const auto& news : news_) {
      if (news.distributor == distributor) return news;
    }
    return std::nullopt;
  }

  PrivateCluster cluster_;
  std::string url_;
  std::atomic<std::uint64_t> published_{0};
  std::mutex news_mutex_;
  std::vector<News> news_;
  std::unique_ptr<repository::EventListener> listener_;
};

TEST_F(DurableHorizonTest, AfterTheWakeUpNotify) {
  ASSERT_TRUE(WaitPublishedPast(0)) << "the listener never read the heads";
  class Heard : public pqxx::notification_receiver {
   public:
    using pqxx::notification_receiver::notification_receiver;
    void operator()(const std::string&, int) override { heard = true; }
    bool heard = false;
  };
  pqxx::connection observer(url_);
  Heard heard(observer, "messaging_events");
  pqxx::nontransaction(observer).exec("LISTEN messaging_events");
  pqxx::nontransaction(observer).exec("CHECKPOINT");  // Everything so far is on disk.
  // The next xid is the wake-up's.
  const auto wake_up =
      std::stoull(pqxx::nontransaction(observer)
                      .exec1("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")[0]
                      .as<std::string>());
  listener_->Announce();
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (!heard.heard && absl::Now() < until) observer.await_notification(1, 0);
  ASSERT_TRUE(heard.heard) << "the wake-up NOTIFY never came";
  ASSERT_TRUE(WaitPublishedPast(wake_up)) << "the horizon never passed the wake-up " << wake_up;

  ExpectNoPublishedXidReusedAfterACrash();
}

TEST_F(DurableHorizonTest, AfterARollback) {
  ASSERT_TRUE(WaitPublishedPast(0)) << "the listener never read the heads";
  const std::uint64_t rolled_back = CheckpointThenRollBack(url_);
  ASSERT_TRUE(WaitPublishedPast(rolled_back))
      << "the horizon never passed the rolled-back transaction " << rolled_back;

  ExpectNoPublishedXidReusedAfterACrash();
}

// Waiting claims only need a hint that a distributor has new events (they
// look in the database themselves): the listener tells them at the read that
// finds the events, before the horizon passing them is durable. Here nothing
// flushes the WAL but the listener, a read later.
TEST_F(DurableHorizonTest, NewsOfAnEventComeBeforeItsHorizonIsDurable) {
  ASSERT_TRUE(WaitPublishedPast(0)) << "the listener never read the heads";
  const std::string distributor = faults::InsertRow(url_, "distributors");
  const std::uint64_t xid = InsertMessageWithoutFlush(distributor);
  ASSERT_TRUE(WaitUntil([&] { return NewsOf(distributor).has_value(); }, absl::Seconds(10)))
      << "the listener never told of the new event";
  const News news = *NewsOf(distributor);
  EXPECT_EQ(news.last_xid, xid);
  EXPECT_LE(news.published_then, xid) << "the news came only once the horizon had passed the event";
  EXPECT_TRUE(WaitPublishedPast(xid)) << "the horizon never passed the event";
}

// A read that must wait for the WAL flush is handed on as soon as someone
// else's commit has flushed the WAL, not at the listener's next read: here
// it never polls (60 s) and nothing announces after the one read.
class FlushCheckTest : public DurableHorizonTest {
 protected:
  FlushCheckTest() : DurableHorizonTest(absl::Seconds(60)) {}
};

TEST_F(FlushCheckTest, AReadWaitingForTheFlushIsHandedOnOnceAnotherCommitFlushes) {
  pqxx::connection other(url_);
  const auto flush = [&] {  // A synchronous commit: flushes all WAL before it.
    pqxx::nontransaction(other).exec("SELECT pg_logical_emit_message(true, 'test', '')");
  };
  flush();  // In case the listener's first read is waiting too: no poll will flush it.
  ASSERT_TRUE(WaitPublishedPast(0)) << "the listener never read the heads";
  const std::string distributor = faults::InsertRow(url_, "distributors");
  const std::uint64_t xid = InsertMessageWithoutFlush(distributor);
  listener_->Announce();  // One read, which finds the event.
  ASSERT_TRUE(WaitUntil([&] { return NewsOf(distributor).has_value(); }, absl::Seconds(10)))
      << "the listener never read the heads after the announce";
  // Nothing has flushed the event's commit yet, so the read is held.
  ASSERT_LE(published_.load(), xid) << "the read was handed on before the WAL was flushed";
  flush();
  EXPECT_TRUE(WaitPublishedPast(xid)) << "the event was not handed on after the flush";
}

// A List's stream cursor carries the page's snapshot, and a stream opened from
// it counts every transaction that snapshot saw as ended as seen. If a crash
// lets PostgreSQL hand out again the xid of a transaction that ended without
// a flush (here a rollback), the transaction that gets it would be skipped:
// the List must hand out its cursor only once the WAL is on disk up to its
// snapshot. The WAL writer is slowed and the listener polls rarely, so only
// the List itself can have flushed between the rollback and the crash.
TEST(DurableStartTest, AStreamFromAListCursorMissesNoTransactionAfterACrash) {
  PrivateCluster cluster;
  cluster.Configure("autovacuum", "off");
  cluster.Configure("wal_writer_delay", "10s");
  const std::string url = cluster.CreateMigratedDatabase("messaging");
  const std::string distributor = faults::InsertRow(url, "distributors");
  const std::string conversation =
      faults::InsertConversation(url, distributor, faults::InsertRow(url, "customers"));
  TestServer server(cluster.ServerUrl("messaging"), [](app::ServerConfig& c) {
    c.pool_size = 2;
    c.health_interval = absl::Milliseconds(200);
    // A held heads read is flushed only a poll interval after it was read.
    c.stream_poll_interval = absl::Milliseconds(500);
  });
  auto channel = faults::Connect(server.address());
  auto stub = v1::MessagingService::NewStub(channel);

  const std::uint64_t rolled_back = CheckpointThenRollBack(url);
  v1::ListMessagesRequest list;
  list.set_conversation_id(conversation);
  v1::ListMessagesResponse page;
  {
    auto context = faults::ContextFor(distributor, absl::Seconds(5));
    const auto status = stub->ListMessages(context.get(), list, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_FALSE(page.stream_cursor().empty());

  cluster.Crash();
  cluster.Start();
  // The first transaction after recovery, written by another client.
  std::uint64_t after_crash = 0;
  {
    pqxx::connection writer(url);
    pqxx::work tx(writer);
    after_crash = CurrentXid(tx);
    tx.exec_params(
        "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
        "delivery_status) VALUES ($1, $2, 'inbound', 'after the crash', 'received')",
        conversation, distributor);
    tx.commit();
  }
  EXPECT_GT(after_crash, rolled_back) << "after the crash PostgreSQL handed out xid " << after_crash
                                      << " again, which the List cursor's snapshot had seen end";

  ASSERT_TRUE(
      WaitUntil([&] { return faults::CheckHealth(channel) == HealthCheckResponse::SERVING; },
                absl::Seconds(10)));
  v1::StreamMessagesRequest resume;
  resume.set_resume_cursor(page.stream_cursor());
  StreamCollector stream(*stub, distributor, resume);
  EXPECT_TRUE(stream.WaitFor(
      [](const std::vector<v1::MessageEvent>& events) {
        return std::any_of(events.begin(), events.end(), [](const v1::MessageEvent& e) {
          return e.type() == v1::MESSAGE_EVENT_TYPE_CREATED &&
                 e.message().content() == "after the crash";
        });
      },
      std::chrono::seconds(10)))
      << "the stream from the List cursor never delivered the message written after the crash";
}

// A live stream that starts before this replica's listener has published a
// horizon starts at the database's (EventRepository::Horizon), which must be
// as durable as the listener's: no xid below it handed out again after a crash.
TEST(DurableStartTest, ALiveStartsHorizonIsNotHandedOutAgainAfterACrash) {
  PrivateCluster cluster;
  cluster.Configure("autovacuum", "off");
  cluster.Configure("wal_writer_delay", "10s");
  const std::string url = cluster.CreateMigratedDatabase("messaging");
  repository::PoolOptions options;
  options.database_url = cluster.ServerUrl("messaging");
  options.size = 1;
  repository::ConnectionPool pool(options, repository::PgEventRepository::Statements());
  repository::TransactionRunner transactions(pool, {});
  repository::PgEventRepository events(transactions);
  const domain::RequestContext ctx(faults::InsertRow(url, "distributors"),
                                   absl::Now() + absl::Seconds(10));

  const std::uint64_t rolled_back = CheckpointThenRollBack(url);
  const auto horizon = events.Horizon(ctx);
  ASSERT_TRUE(horizon.ok()) << horizon.status();
  ASSERT_GT(*horizon, rolled_back);

  const std::uint64_t next = FirstXidAfterACrash(cluster, url);
  EXPECT_GE(next, *horizon) << "after the crash PostgreSQL handed out xid " << next
                            << " again, below the horizon a live stream started at";
}

// A restart while nobody calls: every pooled connection is stale when the
// calls come back. Once health is SERVING again, calls must succeed at the
// first try (a broken idle connection has to be replaced, not handed to a
// caller who then gets UNAVAILABLE).
TEST(DatabaseRestartTest, FirstCallsAfterAnIdleRestartSucceed) {
  PrivateCluster cluster;
  const std::string url = cluster.CreateMigratedDatabase("messaging");
  const std::string distributor = faults::InsertRow(url, "distributors");
  const std::string conversation =
      faults::InsertConversation(url, distributor, faults::InsertRow(url, "customers"));
  constexpr int kPool = 4;
  TestServer server(cluster.ServerUrl("messaging"), [](app::ServerConfig& c) {
    c.pool_size = kPool;
    c.health_interval = absl::Milliseconds(200);
  });
  auto channel = faults::Connect(server.address());
  auto stub = v1::MessagingService::NewStub(channel);
  v1::GetConversationRequest get;
  get.set_id(conversation);
  // A write sent at most once (no external id): a stale connection must be
  // replaced before the send, not found broken after it.
  v1::CreateMessageRequest create;
  create.mutable_message()->set_conversation_id(conversation);
  create.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
  create.mutable_message()->set_content("after the restart");

  // Fill the pool: kPool concurrent calls open kPool connections. Each also
  // writes, so the connection released last has the insert prepared and the
  // first write after the restart finds it stale by its socket alone.
  std::vector<std::thread> threads;
  for (int i = 0; i < kPool; ++i) {
    threads.emplace_back([&] {
      v1::ListMessagesRequest list;
      list.set_conversation_id(conversation);
      v1::ListMessagesResponse page;
      auto c = faults::ContextFor(distributor, absl::Seconds(5));
      EXPECT_TRUE(stub->ListMessages(c.get(), list, &page).ok());
      v1::Message created;
      auto w = faults::ContextFor(distributor, absl::Seconds(5));
      EXPECT_TRUE(stub->CreateMessage(w.get(), create, &created).ok());
    });
  }
  for (auto& t : threads) t.join();

  cluster.Stop();
  EXPECT_TRUE(
      WaitUntil([&] { return faults::CheckHealth(channel) == HealthCheckResponse::NOT_SERVING; },
                absl::Seconds(5)));
  cluster.Start();
  EXPECT_TRUE(
      WaitUntil([&] { return faults::CheckHealth(channel) == HealthCheckResponse::SERVING; },
                absl::Seconds(10)));

  int failed = 0;
  for (int i = 0; i < 2 * kPool; ++i) {
    auto c = faults::ContextFor(distributor, absl::Seconds(5));
    v1::Conversation got;
    v1::Message created;
    const auto s = i % 2 == 0 ? stub->CreateMessage(c.get(), create, &created)
                              : stub->GetConversation(c.get(), get, &got);
    if (!s.ok()) {
      ++failed;
      ADD_FAILURE() << "call " << i
                    << " after an idle restart: " << faults::CodeName(s.error_code()) << " "
                    << s.error_message();
    }
  }
  std::printf("after a restart with no traffic: %d of the first %d calls failed\n", failed,
              2 * kPool);
}

}  // namespace
}  // namespace messaging::testing
