// Races the API is promised to win: concurrent GetOrCreate (and one that loses
// to another session's insert), racing delivery callbacks, webhook retries of
// one message, exact unread counts, and pagination while writers insert.

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "support/api_test.h"

namespace messaging::testing {
namespace {

void RunConcurrently(int threads, const std::function<void(int)>& body) {
  std::vector<std::thread> pool;
  std::atomic<bool> go{false};
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      body(i);
    });
  }
  go = true;
  for (auto& t : pool) t.join();
}

class ConcurrencyTest : public ApiTest {
 protected:
  void SetUp() override { distributor_ = db().NewDistributor(); }
  std::string distributor_;
};

TEST_F(ConcurrencyTest, FiftyGetOrCreateCallsYieldOneConversation) {
  const std::string customer = db().NewCustomer();
  std::vector<std::string> ids(50);
  std::atomic<int> failures{0};
  RunConcurrently(50, [&](int i) {
    v1::GetOrCreateConversationRequest request;
    request.set_customer_id(customer);
    request.set_channel(v1::CHANNEL_WHATSAPP);
    v1::Conversation out;
    const auto status = Call(&Stub::GetOrCreateConversation, distributor_, request, &out);
    if (!status.ok()) ++failures;
    ids[i] = out.id();
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_EQ(
      db().Scalar("SELECT count(*) FROM conversations WHERE customer_id = '" + customer + "'"), 1);
}

TEST_F(ConcurrencyTest, FiftyRetriesOfOneWebhookStoreOneMessage) {
  const v1::Conversation conversation = CreateConversation(distributor_, db().NewCustomer());
  std::vector<std::string> ids(50);
  std::atomic<int> failures{0};
  RunConcurrently(50, [&](int i) {
    v1::CreateMessageRequest request;
    request.mutable_message()->set_conversation_id(conversation.id());
    request.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
    request.mutable_message()->set_content("retry " + std::to_string(i));
    request.mutable_message()->set_external_message_id("SMrace");
    v1::Message out;
    if (!Call(&Stub::CreateMessage, distributor_, request, &out).ok()) ++failures;
    ids[i] = out.id();
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_EQ(db().Scalar("SELECT count(*) FROM messages WHERE conversation_id = '" +
                        conversation.id() + "'"),
            1);
  EXPECT_EQ(
      db().Scalar("SELECT unread_count FROM conversations WHERE id = '" + conversation.id() + "'"),
      1);
}

TEST_F(ConcurrencyTest, UnreadCountIsExactAfterConcurrentInboundMessages) {
  const v1::Conversation conversation = CreateConversation(distributor_, db().NewCustomer());
  std::atomic<int> failures{0};
  RunConcurrently(20, [&](int thread) {
    for (int i = 0; i < 10; ++i) {
      v1::CreateMessageRequest request;
      request.mutable_message()->set_conversation_id(conversation.id());
      request.mutable_message()->set_direction(v1::DIRECTION_INBOUND);
      request.mutable_message()->set_content("m" + std::to_string(thread * 10 + i));
      v1::Message out;
      if (!Call(&Stub::CreateMessage, distributor_, request, &out).ok()) ++failures;
    }
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(
      db().Scalar("SELECT unread_count FROM conversations WHERE id = '" + conversation.id() + "'"),
      200);
}

// A GetOrCreate whose insert loses to another session's: that insert is
// uncommitted when the call's statement starts, so the statement cannot see
// it; its own insert waits for it and does nothing once it commits, and the
// call answers with the other session's conversation (read after the race).
TEST_F(ConcurrencyTest, GetOrCreateThatLosesToAnUncommittedInsertReturnsTheWinner) {
  const std::string customer = db().NewCustomer();
  pqxx::connection other(db().url());
  pqxx::work held(other);
  const std::string winner =
      held.exec1("INSERT INTO conversations (distributor_id, customer_id, channel) VALUES ('" +
                 distributor_ + "', '" + customer + "', 'whatsapp') RETURNING id::text")[0]
          .as<std::string>();

  auto call = std::async(std::launch::async, [&] {
    v1::GetOrCreateConversationRequest request;
    request.set_customer_id(customer);
    request.set_channel(v1::CHANNEL_WHATSAPP);
    v1::Conversation out;
    const auto status = Call(&Stub::GetOrCreateConversation, distributor_, request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out.id();
  });
  // The call's statement waits for the held insert's lock.
  bool waiting = false;
  for (const absl::Time until = absl::Now() + absl::Seconds(30); !waiting && absl::Now() < until;
       absl::SleepFor(absl::Milliseconds(5))) {
    waiting = db().Scalar(
                  "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                  "AND query LIKE '%conversation_get_or_insert%'") == 1;
  }
  held.commit();
  EXPECT_TRUE(waiting) << "the call never waited for the other session's insert";
  EXPECT_EQ(call.get(), winner);
  EXPECT_EQ(
      db().Scalar("SELECT count(*) FROM conversations WHERE customer_id = '" + customer + "'"), 1);
}

// Status callbacks for one message race (Twilio sends sent, delivered and
// read close together, and retries them): each is applied only if the
// status it finds, after any concurrent callback committed, may become its
// own, so the message ends at read and changed at most once per state.
TEST_F(ConcurrencyTest, RacingDeliveryCallbacksOnlyMoveAMessageForward) {
  const v1::Conversation conversation = CreateConversation(distributor_, db().NewCustomer());
  const v1::Message message = CreateMessage(distributor_, conversation.id(), "order shipped",
                                            v1::DIRECTION_OUTBOUND, "SMcallbacks");
  const v1::DeliveryStatus statuses[] = {v1::DELIVERY_STATUS_SENT, v1::DELIVERY_STATUS_DELIVERED,
                                         v1::DELIVERY_STATUS_READ};
  std::atomic<int> failures{0};
  RunConcurrently(30, [&](int i) {
    v1::UpdateDeliveryStatusRequest request;
    request.set_external_message_id("SMcallbacks");
    request.set_delivery_status(statuses[i % 3]);
    v1::Message out;
    if (!Call(&Stub::UpdateDeliveryStatus, distributor_, request, &out).ok()) ++failures;
  });
  EXPECT_EQ(failures.load(), 0);
  const std::string where = "FROM messages WHERE id = '" + message.id() + "'";
  EXPECT_EQ(db().Scalar("SELECT count(*) " + where + " AND delivery_status = 'read'"), 1);
  // Created at version 1; queued -> (sent) -> (delivered) -> read.
  const long long version = db().Scalar("SELECT version " + where);
  EXPECT_GE(version, 2);
  EXPECT_LE(version, 4);
}

// 1,000 messages, read in pages of 7 in both orders while another thread
// keeps inserting: every original message appears exactly once.
TEST_F(ConcurrencyTest, PaginationIsStableWhileMessagesArrive) {
  const v1::Conversation conversation = CreateConversation(distributor_, db().NewCustomer());
  db().Exec(
      "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status, created_at) "
      "SELECT '" +
      conversation.id() + "', '" + distributor_ +
      "', 'inbound', 'bulk ' || g, "
      "'received', now() - interval '1 hour' + g * interval '1 millisecond' + "
      // Ties on created_at are broken by id: make some on purpose.
      "CASE WHEN g % 10 = 0 THEN interval '-1 millisecond' ELSE interval '0' END "
      "FROM generate_series(1, 1000) g");
  std::set<std::string> originals;
  for (const auto& row : db().Exec("SELECT id::text FROM messages WHERE conversation_id = '" +
                                   conversation.id() + "'")) {
    originals.insert(row[0].as<std::string>());
  }
  ASSERT_EQ(originals.size(), 1000u);

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 400; ++i) {
      CreateMessage(distributor_, conversation.id(), "live " + std::to_string(i));
    }
  });
  for (const char* order : {"create_time", "create_time desc"}) {
    SCOPED_TRACE(order);
    std::multiset<std::string> seen;
    v1::ListMessagesRequest request;
    request.set_conversation_id(conversation.id());
    request.set_page_size(7);
    request.set_order_by(order);
    int pages = 0;
    do {
      v1::ListMessagesResponse response;
      const auto status = Call(&Stub::ListMessages, distributor_, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_LE(response.messages_size(), 7);
      for (const auto& m : response.messages()) seen.insert(m.id());
      request.set_page_token(response.next_page_token());
      ++pages;
    } while (!request.page_token().empty() && pages < 2000);
    for (const auto& id : originals) EXPECT_EQ(seen.count(id), 1u) << id;
    for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u) << "duplicate " << id;
  }
  stop = true;
  writer.join();
}

}  // namespace
}  // namespace messaging::testing
