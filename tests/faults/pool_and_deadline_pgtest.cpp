// The connection pool and deadlines under stress, with the in-process server.
//
// * Pool exhausted (one connection, held by a call stuck on a row lock):
//   other callers wait up to their deadline, then get DEADLINE_EXCEEDED,
//   RESOURCE_EXHAUSTED or UNAVAILABLE; a caller without a deadline gets the
//   server's default one; nothing crashes or hangs, and the pool works again
//   once the connection is free. With more callers than connections and
//   enough time, every call succeeds. A caller with a long deadline waits at
//   most the pool's maximum (10 s), then gets RESOURCE_EXHAUSTED.
// * Isolation under pooling: with one pooled connection, a call of tenant B
//   right after tenant A's (on the very same PostgreSQL session) sees none of
//   A's rows through any method, also after A's transaction failed.
// * Deadlines reach PostgreSQL: a 50 ms deadline on a call stuck on a row
//   lock returns DEADLINE_EXCEEDED and nothing keeps running or waiting in
//   pg_stat_activity; the write is not applied after the lock goes.

#include <gtest/gtest.h>
#include <httplib.h>

#include <future>

#include "faults/fault_util.h"
#include "support/stream_collector.h"
#include "support/test_database.h"

namespace messaging::testing {
namespace {

using faults::WaitUntil;
using grpc::StatusCode;
using Stub = v1::MessagingService::Stub;

struct CallResult {
  grpc::Status status;
  absl::Duration elapsed;
};

// Calls `method` as `distributor` with `timeout` (none if zero).
template <typename Request, typename Response>
CallResult Timed(Stub& stub,
                 grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                 const std::string& distributor, const Request& request, absl::Duration timeout,
                 Response* response = nullptr) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + TokenFor(distributor));
  if (timeout > absl::ZeroDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  Response local;
  const absl::Time start = absl::Now();
  CallResult r;
  r.status = (stub.*method)(&context, request, response != nullptr ? response : &local);
  r.elapsed = absl::Now() - start;
  return r;
}

v1::UpdateConversationRequest Archive(const std::string& id) {
  v1::UpdateConversationRequest request;
  request.mutable_conversation()->set_id(id);
  request.mutable_conversation()->set_status(v1::CONVERSATION_STATUS_ARCHIVED);
  request.mutable_update_mask()->add_paths("status");
  return request;
}

bool IsPoolBusyCode(StatusCode code) {
  return code == StatusCode::DEADLINE_EXCEEDED || code == StatusCode::RESOURCE_EXHAUSTED ||
         code == StatusCode::UNAVAILABLE;
}

// ---------------------------------------------------------------------------
// Pool exhaustion.

TEST(PoolExhaustionTest, CallersWaitUpToTheirDeadlineThenGetARetryableCode) {
  TestDatabase db("pool_exhausted");
  const absl::Duration default_deadline = absl::Seconds(2);
  TestServer server(db.server_url(), [&](app::ServerConfig& c) {
    c.pool_size = 1;
    c.default_deadline = default_deadline;
  });
  const std::string distributor = db.NewDistributor();
  const std::string conversation =
      faults::InsertConversation(db.url(), distributor, db.NewCustomer());
  db.Exec("UPDATE conversations SET unread_count = 3 WHERE id = '" + conversation + "'");

  // The only connection: leased by a call (no client deadline) waiting for a
  // row lock we hold. The server's default deadline caps it.
  pqxx::connection locker(db.url());
  pqxx::work lock_tx(locker);
  lock_tx.exec("SELECT 1 FROM conversations WHERE id = '" + conversation + "' FOR UPDATE");
  auto holder = std::async(std::launch::async, [&] {
    return Timed(server.stub(), &Stub::UpdateConversation, distributor, Archive(conversation),
                 absl::ZeroDuration());
  });
  ASSERT_TRUE(
      WaitUntil([&] { return faults::BlockedBy(AdminUrl(), locker) == 1; }, absl::Seconds(5)));

  // 16 callers over several methods, 500 ms deadline each.
  const absl::Duration deadline = absl::Milliseconds(500);
  std::vector<std::future<CallResult>> callers;
  for (int i = 0; i < 16; ++i) {
    callers.push_back(std::async(std::launch::async, [&, i] {
      switch (i % 4) {
        case 0: {
          v1::GetConversationRequest r;
          r.set_id(conversation);
          return Timed(server.stub(), &Stub::GetConversation, distributor, r, deadline);
        }
        case 1: {
          v1::ListMessagesRequest r;
          r.set_conversation_id(conversation);
          return Timed(server.stub(), &Stub::ListMessages, distributor, r, deadline);
        }
        case 2: {
          v1::CreateMessageRequest r;
          r.mutable_message()->set_conversation_id(conversation);
          r.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
          r.mutable_message()->set_content("while the pool is exhausted");
          return Timed(server.stub(), &Stub::CreateMessage, distributor, r, deadline);
        }
        default: {
          v1::ListConversationsRequest r;
          return Timed(server.stub(), &Stub::ListConversations, distributor, r, deadline);
        }
      }
    }));
  }
  for (auto& f : callers) {
    const CallResult r = f.get();
    EXPECT_TRUE(IsPoolBusyCode(r.status.error_code()))
        << faults::CodeName(r.status.error_code()) << ": " << r.status.error_message();
    EXPECT_LT(r.elapsed, deadline + absl::Milliseconds(700)) << "waited past its deadline";
  }

  // Another call without a client deadline, queued behind the holder and then
  // stuck on the same lock: it too ends at the server's default deadline.
  auto no_deadline = std::async(std::launch::async, [&] {
    v1::MarkConversationReadRequest r;
    r.set_id(conversation);
    return Timed(server.stub(), &Stub::MarkConversationRead, distributor, r, absl::ZeroDuration());
  });
  for (auto* f : {&holder, &no_deadline}) {
    ASSERT_EQ(f->wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "a call without a deadline hung";
    const CallResult r = f->get();
    EXPECT_EQ(r.status.error_code(), StatusCode::DEADLINE_EXCEEDED) << r.status.error_message();
    EXPECT_GT(r.elapsed, default_deadline - absl::Milliseconds(300));
    EXPECT_LT(r.elapsed, default_deadline + absl::Seconds(1))
        << "the server's default deadline was not applied";
  }

  // Nothing of the failed calls was applied, and the pool serves again.
  lock_tx.commit();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM messages"), 0);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM conversations WHERE status = 'active' AND "
                      "unread_count = 3"),
            1);
  EXPECT_EQ(faults::CheckHealth(server.channel()), faults::HealthCheckResponse::SERVING);

  // Many more callers than connections, with time enough: all succeed.
  std::atomic<int> ok{0};
  std::map<std::string, int> failed;
  std::mutex mu;
  std::vector<std::thread> crowd;
  for (int t = 0; t < 24; ++t) {
    crowd.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        v1::GetConversationRequest r;
        r.set_id(conversation);
        const auto res =
            Timed(server.stub(), &Stub::GetConversation, distributor, r, absl::Seconds(10));
        if (res.status.ok()) {
          ++ok;
        } else {
          std::lock_guard<std::mutex> lock(mu);
          ++failed[faults::CodeName(res.status.error_code()) + " " + res.status.error_message()];
        }
      }
    });
  }
  for (auto& t : crowd) t.join();
  EXPECT_EQ(ok.load(), 240);
  for (const auto& [what, n] : failed) ADD_FAILURE() << n << " x " << what;
}

// A caller with a long deadline does not wait for a connection forever: after
// the pool's maximum wait (10 s) it gets RESOURCE_EXHAUSTED (retryable), as
// docs/operations.md documents. The caller is another distributor: the
// holder's own further calls wait in its queue (its share of a one-connection
// pool is one call), up to their deadline.
TEST(PoolExhaustionTest, LongDeadlinesWaitAtMostTheMaximumThenResourceExhausted) {
  TestDatabase db("pool_max_wait");
  TestServer server(db.server_url(), [](app::ServerConfig& c) { c.pool_size = 1; });
  const std::string distributor = db.NewDistributor();
  const std::string conversation =
      faults::InsertConversation(db.url(), distributor, db.NewCustomer());
  pqxx::connection locker(db.url());
  pqxx::work lock_tx(locker);
  lock_tx.exec("SELECT 1 FROM conversations WHERE id = '" + conversation + "' FOR UPDATE");
  auto holder = std::async(std::launch::async, [&] {
    return Timed(server.stub(), &Stub::UpdateConversation, distributor, Archive(conversation),
                 absl::Seconds(25));
  });
  ASSERT_TRUE(
      WaitUntil([&] { return faults::BlockedBy(AdminUrl(), locker) == 1; }, absl::Seconds(5)));
  const std::string other = db.NewDistributor();
  v1::GetConversationRequest get;
  get.set_id(faults::InsertConversation(db.url(), other, db.NewCustomer()));
  const CallResult r = Timed(server.stub(), &Stub::GetConversation, other, get, absl::Seconds(20));
  EXPECT_EQ(r.status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << r.status.error_message();
  EXPECT_GT(r.elapsed, absl::Seconds(9));
  EXPECT_LT(r.elapsed, absl::Seconds(13));
  lock_tx.commit();
  EXPECT_TRUE(holder.get().status.ok());
}

// ---------------------------------------------------------------------------
// Isolation when one PostgreSQL session serves every tenant in turn.

class PooledIsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>("pooled_isolation");
    server_ = std::make_unique<TestServer>(db_->server_url(),
                                           [](app::ServerConfig& c) { c.pool_size = 1; });
    a_ = db_->NewDistributor();
    b_ = db_->NewDistributor();
    customer_ = db_->NewCustomer();
  }

  template <typename Request, typename Response>
  grpc::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const std::string& distributor, const Request& request, Response* response) {
    return Timed(server_->stub(), method, distributor, request, absl::Seconds(10), response).status;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<TestServer> server_;
  std::string a_, b_, customer_;
};

TEST_F(PooledIsolationTest, ACallRightAfterAnotherTenantsSeesNoneOfItsRows) {
  // A's data, made through the API.
  v1::GetOrCreateConversationRequest goc;
  goc.set_customer_id(customer_);
  goc.set_channel(v1::CHANNEL_WHATSAPP);
  v1::Conversation a_conv;
  ASSERT_TRUE(Call(&Stub::GetOrCreateConversation, a_, goc, &a_conv).ok());

  std::set<std::string> a_messages;
  const auto expect_not_found = [](const grpc::Status& s, const char* what) {
    EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND) << what << ": " << s.error_message();
  };

  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    // Tenant A works (a write that succeeds, or one that fails and rolls back)...
    v1::CreateMessageRequest create;
    create.mutable_message()->set_conversation_id(a_conv.id());
    create.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
    create.mutable_message()->set_content(absl::StrCat("A's secret ", round));
    create.mutable_message()->set_external_message_id(absl::StrCat("SM-A-", round));
    v1::Message a_msg;
    ASSERT_TRUE(Call(&Stub::CreateMessage, a_, create, &a_msg).ok());
    a_messages.insert(a_msg.id());
    if (round % 3 == 1) {
      // A failing transaction of A's (unique violation, rolled back).
      v1::CreateConversationRequest dup;
      dup.mutable_conversation()->set_customer_id(customer_);
      dup.mutable_conversation()->set_channel(v1::CHANNEL_WHATSAPP);
      v1::Conversation out;
      EXPECT_EQ(Call(&Stub::CreateConversation, a_, dup, &out).error_code(),
                StatusCode::ALREADY_EXISTS);
    } else if (round % 3 == 2) {
      v1::ListMessagesRequest list;
      list.set_conversation_id(a_conv.id());
      v1::ListMessagesResponse page;
      ASSERT_TRUE(Call(&Stub::ListMessages, a_, list, &page).ok());
      EXPECT_EQ(static_cast<std::size_t>(page.messages_size()), a_messages.size());
    }

    // ...and B comes right after, on the same pooled session.
    switch (round % 12) {
      case 0: {
        v1::ListConversationsRequest r;
        v1::ListConversationsResponse out;
        ASSERT_TRUE(Call(&Stub::ListConversations, b_, r, &out).ok());
        for (const auto& c : out.conversations()) {
          EXPECT_EQ(c.distributor_id(), b_) << "B listed a conversation of " << c.distributor_id();
        }
        break;
      }
      case 1: {
        v1::GetConversationRequest r;
        r.set_id(a_conv.id());
        v1::Conversation out;
        expect_not_found(Call(&Stub::GetConversation, b_, r, &out), "GetConversation");
        break;
      }
      case 2: {
        v1::ListMessagesRequest r;
        r.set_conversation_id(a_conv.id());
        v1::ListMessagesResponse out;
        const auto s = Call(&Stub::ListMessages, b_, r, &out);
        expect_not_found(s, "ListMessages");
        EXPECT_EQ(out.messages_size(), 0);
        break;
      }
      case 3: {
        v1::GetMessageRequest r;
        r.set_id(a_msg.id());
        v1::Message out;
        expect_not_found(Call(&Stub::GetMessage, b_, r, &out), "GetMessage");
        break;
      }
      case 4: {
        v1::UpdateDeliveryStatusRequest r;
        r.set_external_message_id(absl::StrCat("SM-A-", round));
        r.set_delivery_status(v1::DELIVERY_STATUS_READ);
        v1::Message out;
        expect_not_found(Call(&Stub::UpdateDeliveryStatus, b_, r, &out), "UpdateDeliveryStatus");
        break;
      }
      case 5: {
        v1::MarkConversationReadRequest r;
        r.set_id(a_conv.id());
        v1::Conversation out;
        expect_not_found(Call(&Stub::MarkConversationRead, b_, r, &out), "MarkConversationRead");
        break;
      }
      case 6: {
        v1::Conversation out;
        expect_not_found(Call(&Stub::UpdateConversation, b_, Archive(a_conv.id()), &out),
                         "UpdateConversation");
        break;
      }
      case 7: {
        v1::CreateMessageRequest r;
        r.mutable_message()->set_conversation_id(a_conv.id());
        r.mutable_message()->set_direction(v1::DIRECTION_OUTBOUND);
        r.mutable_message()->set_content("B writing into A's conversation");
        v1::Message out;
        expect_not_found(Call(&Stub::CreateMessage, b_, r, &out), "CreateMessage");
        break;
      }
      case 8: {
        v1::DeleteMessageRequest r;
        r.set_id(a_msg.id());
        google::protobuf::Empty out;
        expect_not_found(Call(&Stub::DeleteMessage, b_, r, &out), "DeleteMessage");
        break;
      }
      case 9: {
        v1::DeleteConversationRequest r;
        r.set_id(a_conv.id());
        google::protobuf::Empty out;
        expect_not_found(Call(&Stub::DeleteConversation, b_, r, &out), "DeleteConversation");
        break;
      }
      case 10: {
        // Same customer and channel: B gets its own conversation, not A's.
        v1::Conversation out;
        ASSERT_TRUE(Call(&Stub::GetOrCreateConversation, b_, goc, &out).ok());
        EXPECT_NE(out.id(), a_conv.id());
        EXPECT_EQ(out.distributor_id(), b_);
        EXPECT_EQ(out.unread_count(), 0);
        break;
      }
      default: {
        v1::StreamMessagesRequest r;
        r.set_conversation_id(a_conv.id());
        StreamCollector stream(server_->stub(), b_, r);
        expect_not_found(stream.WaitDone(), "StreamMessages");
        break;
      }
    }
  }

  // A distributor-wide stream and list of B's: only B's own conversation.
  v1::ListConversationsRequest all;
  v1::ListConversationsResponse b_list;
  ASSERT_TRUE(Call(&Stub::ListConversations, b_, all, &b_list).ok());
  ASSERT_EQ(b_list.conversations_size(), 1);
  EXPECT_NE(b_list.conversations(0).id(), a_conv.id());

  // Nothing of A's was changed by B's attempts.
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM messages WHERE distributor_id = '" + a_ + "'"), 12);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM messages WHERE distributor_id = '" + b_ + "'"), 0);
  EXPECT_EQ(db_->Scalar("SELECT unread_count FROM conversations WHERE id = '" + a_conv.id() + "'"),
            12);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM conversations WHERE id = '" + a_conv.id() +
                        "' AND status = 'active'"),
            1);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM messages WHERE distributor_id = '" + a_ +
                        "' AND delivery_status <> 'received'"),
            0);
}

// ---------------------------------------------------------------------------
// A deadline becomes the statement timeout inside PostgreSQL.

class DeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>("deadline");
    server_ = std::make_unique<TestServer>(db_->server_url(), [](app::ServerConfig& c) {
      c.pool_size = 2;
      c.metrics_listen = "127.0.0.1:0";
    });
    distributor_ = db_->NewDistributor();
    conversation_ = faults::InsertConversation(db_->url(), distributor_, db_->NewCustomer());
    db_->Exec("UPDATE conversations SET unread_count = 5 WHERE id = '" + conversation_ + "'");
  }

  // Server backends of the test database that still run, wait or hold a
  // transaction open for a call (the lock holder excluded).
  long long Lingering(int holder_pid) {
    pqxx::connection conn(AdminUrl());
    pqxx::nontransaction tx(conn);
    return tx
        .exec_params(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2 "
            "AND (wait_event_type = 'Lock' OR state LIKE 'idle in transaction%' "
            "     OR (state = 'active' AND query ILIKE '%conversations%'))",
            db_->name(), holder_pid)
        .at(0)
        .at(0)
        .as<long long>();
  }

  // Calls of `method` the server has finished (body returned, answer sent),
  // from its /metrics. A client's deadline ends the call for the client only.
  int Finished(const std::string& method) {
    httplib::Client http("127.0.0.1", server_->server().metrics_port());
    const auto response = http.Get("/metrics");
    if (!response || response->status != 200) return -1;
    const std::string prefix = "messaging_rpc_requests_total{method=\"" + method + "\",";
    int n = 0;
    for (std::size_t at = response->body.find(prefix); at != std::string::npos;
         at = response->body.find(prefix, at + 1)) {
      n += std::atoi(response->body.c_str() + response->body.find("} ", at) + 2);
    }
    return n;
  }

  // The write of a call that ended without applying it must not land later:
  // once the lock is gone and the server has finished the call, it cannot.
  void ExpectNotAppliedLater(const std::string& method, int calls) {
    EXPECT_TRUE(WaitUntil([&] { return Finished(method) >= calls; }, absl::Seconds(10)))
        << "the server never finished the call";
    EXPECT_EQ(Row(), "active/5") << "the cancelled call's write was applied after all";
  }

  std::string Row() {
    return db_
        ->Exec("SELECT status || '/' || unread_count FROM conversations WHERE id = '" +
               conversation_ + "'")
        .at(0)
        .at(0)
        .as<std::string>();
  }

  CallResult Slow(int which, absl::Duration deadline) {
    if (which == 0) {
      return Timed(server_->stub(), &Stub::UpdateConversation, distributor_, Archive(conversation_),
                   deadline);
    }
    v1::MarkConversationReadRequest r;
    r.set_id(conversation_);
    return Timed(server_->stub(), &Stub::MarkConversationRead, distributor_, r, deadline);
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<TestServer> server_;
  std::string distributor_, conversation_;
};

TEST_F(DeadlineTest, FiftyMillisecondDeadlineLeavesNothingRunningInPostgres) {
  for (int which : {0, 1}) {
    SCOPED_TRACE(which == 0 ? "UpdateConversation" : "MarkConversationRead");
    pqxx::connection locker(db_->url());
    pqxx::work lock_tx(locker);
    lock_tx.exec("SELECT 1 FROM conversations WHERE id = '" + conversation_ + "' FOR UPDATE");

    const CallResult r = Slow(which, absl::Milliseconds(50));
    EXPECT_EQ(r.status.error_code(), StatusCode::DEADLINE_EXCEEDED) << r.status.error_message();
    EXPECT_LT(r.elapsed, absl::Milliseconds(500));
    // PostgreSQL cancelled the statement itself (statement_timeout from the
    // deadline): nothing of the call is left running, waiting or open.
    EXPECT_TRUE(WaitUntil([&] { return Lingering(locker.backendpid()) == 0; },
                          absl::Milliseconds(500), absl::Milliseconds(10)))
        << Lingering(locker.backendpid()) << " backend(s) still working for a call that ended";
    EXPECT_EQ(faults::BlockedBy(AdminUrl(), locker), 0);
    lock_tx.commit();
    ExpectNotAppliedLater(which == 0 ? "UpdateConversation" : "MarkConversationRead", 1);
  }

  // The pool's connections are clean and usable afterwards.
  v1::GetConversationRequest get;
  get.set_id(conversation_);
  v1::Conversation out;
  const auto ok =
      Timed(server_->stub(), &Stub::GetConversation, distributor_, get, absl::Seconds(5), &out);
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
}

// The same with a deadline long enough to watch: the call is visibly waiting
// in PostgreSQL while its deadline runs, and gone right after it.
TEST_F(DeadlineTest, TheBackendQueryIsCancelledWhenTheDeadlinePasses) {
  pqxx::connection locker(db_->url());
  pqxx::work lock_tx(locker);
  lock_tx.exec("SELECT 1 FROM conversations WHERE id = '" + conversation_ + "' FOR UPDATE");
  auto call = std::async(std::launch::async, [&] { return Slow(1, absl::Milliseconds(1500)); });
  EXPECT_TRUE(WaitUntil([&] { return faults::BlockedBy(AdminUrl(), locker) == 1; },
                        absl::Seconds(1), absl::Milliseconds(10)))
      << "the call never waited in PostgreSQL";
  const CallResult r = call.get();
  EXPECT_EQ(r.status.error_code(), StatusCode::DEADLINE_EXCEEDED) << r.status.error_message();
  EXPECT_TRUE(WaitUntil([&] { return Lingering(locker.backendpid()) == 0; },
                        absl::Milliseconds(500), absl::Milliseconds(10)));
  lock_tx.commit();
  ExpectNotAppliedLater("MarkConversationRead", 1);
}

}  // namespace
}  // namespace messaging::testing
