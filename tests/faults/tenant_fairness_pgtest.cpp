// One distributor flooding the server cannot starve another.
//
// Distributor A's calls are made to block inside PostgreSQL (a row lock we
// hold), each holding a database connection for as long as we like. Without
// fairness A would take every worker thread and connection, and B's calls
// would wait behind A's backlog until they time out. With it, A runs at most
// its share at once (half the pool), at most MESSAGING_TENANT_QUEUE_LIMIT of
// its calls wait, the rest are refused at once with RESOURCE_EXHAUSTED, and B
// is served at once throughout. Once the lock goes, every accepted call of A
// completes.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

#include "faults/fault_util.h"
#include "support/test_database.h"

namespace messaging::testing {
namespace {

using faults::WaitUntil;
using grpc::StatusCode;
using Stub = v1::MessagingService::Stub;

grpc::Status MarkRead(Stub& stub, const std::string& distributor, const std::string& id,
                      absl::Duration timeout) {
  auto context = faults::ContextFor(distributor, timeout);
  v1::MarkConversationReadRequest request;
  request.set_id(id);
  v1::Conversation out;
  return stub.MarkConversationRead(context.get(), request, &out);
}

// Backends of this database waiting for a lock (A's calls behind ours, or
// behind each other on the same row).
long long WaitingOnLocks(const std::string& url) {
  return faults::AdminExec(url,
                           "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND datname = current_database()")
      .at(0)
      .at(0)
      .as<long long>();
}

TEST(TenantFairnessTest, AFloodingDistributorCannotStarveAnother) {
  constexpr int kPool = 4;        // A's share: 2 calls at once.
  constexpr int kQueueLimit = 6;  // A's calls allowed to wait.
  constexpr int kFlood = 20;      // A's concurrent calls.
  TestDatabase db("tenant_fairness");
  TestServer server(db.server_url(), [&](app::ServerConfig& c) {
    c.pool_size = kPool;
    c.worker_threads = 8;
    c.tenant_queue_limit = kQueueLimit;
  });
  const std::string a = db.NewDistributor();
  const std::string b = db.NewDistributor();
  const std::string a_conversation = faults::InsertConversation(db.url(), a, db.NewCustomer());
  const std::string b_conversation = faults::InsertConversation(db.url(), b, db.NewCustomer());

  pqxx::connection locker(db.url());
  pqxx::work lock_tx(locker);
  lock_tx.exec("SELECT 1 FROM conversations WHERE id = '" + a_conversation + "' FOR UPDATE");

  std::atomic<int> refused{0};
  std::vector<std::future<grpc::Status>> flood;
  const auto send = [&](int calls) {
    for (int i = 0; i < calls; ++i) {
      flood.push_back(std::async(std::launch::async, [&] {
        auto status = MarkRead(server.stub(), a, a_conversation, absl::Seconds(60));
        if (status.error_code() == StatusCode::RESOURCE_EXHAUSTED) ++refused;
        return status;
      }));
    }
  };
  // A's share first, so that the queue is empty when the rest arrive: calls
  // arriving before the workers take the first ones would all count as waiting.
  const int running = kPool / 2;
  send(running);
  ASSERT_TRUE(WaitUntil([&] { return WaitingOnLocks(db.url()) == running; }, absl::Seconds(10)));
  send(kFlood - running);
  // A holds its share of connections, blocked on our lock, and everything
  // beyond its share plus its queue has been refused.
  ASSERT_TRUE(WaitUntil([&] { return refused.load() == kFlood - running - kQueueLimit; },
                        absl::Seconds(10)))
      << "refused " << refused.load();

  // B is served at once, call after call, while A's backlog waits.
  for (int i = 0; i < 20; ++i) {
    SCOPED_TRACE(i);
    const auto status = MarkRead(server.stub(), b, b_conversation, absl::Seconds(3));
    ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  }
  EXPECT_EQ(WaitingOnLocks(db.url()), running) << "A never exceeded its share";

  lock_tx.abort();
  int ok = 0;
  for (auto& call : flood) {
    const auto status = call.get();
    if (status.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
      EXPECT_NE(status.error_message().find("waiting"), std::string::npos)
          << status.error_message();
    }
  }
  EXPECT_EQ(ok, running + kQueueLimit) << "every accepted call completes once the lock goes";
}

}  // namespace
}  // namespace messaging::testing
