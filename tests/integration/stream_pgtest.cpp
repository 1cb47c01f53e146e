// StreamMessages end to end (docs/streaming.md): live delivery, cross-replica
// fan-out, gap-free resume (also when commits land out of sequence order),
// list-then-subscribe, filters and tenancy, cursor validation, slow consumers,
// writes made outside the server (plain SQL), database restarts and shutdown.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "domain/sealed_token.h"
#include "domain/stream_cursor_codec.h"
#include "support/api_test.h"
#include "support/server_process.h"
#include "support/stream_collector.h"

namespace messaging::testing {
namespace {

using grpc::StatusCode;

constexpr char kBinary[] = MESSAGING_SERVER_BINARY;

std::vector<std::string> CreatedIds(const std::vector<v1::MessageEvent>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) {
    if (e.type() == v1::MESSAGE_EVENT_TYPE_CREATED) ids.push_back(e.message().id());
  }
  return ids;
}

class StreamTest : public ApiTest {
 protected:
  void SetUp() override {
    distributor_ = db().NewDistributor();
    conversation_ = CreateConversation(distributor_, db().NewCustomer());
  }

  v1::StreamMessagesRequest Request(const std::string& conversation_id = "",
                                    const std::string& cursor = "") {
    v1::StreamMessagesRequest request;
    request.set_conversation_id(conversation_id);
    request.set_resume_cursor(cursor);
    return request;
  }

  // Event-log order of this distributor's events, as the database has it.
  std::vector<std::string> LogOrder(const std::string& event_type) {
    std::vector<std::string> ids;
    for (const auto& row :
         db().Exec("SELECT message_id::text FROM message_events WHERE "
                   "distributor_id = '" +
                   distributor_ + "' AND event_type = '" + event_type + "' ORDER BY xid, seq")) {
      ids.push_back(row[0].as<std::string>());
    }
    return ids;
  }

  std::string distributor_;
  v1::Conversation conversation_;
};

TEST_F(StreamTest, LiveStreamReceivesCreatesUpdatesAndDeletes) {
  StreamCollector stream(server().stub(), distributor_, Request());
  // A live stream starts at "now": give it a moment to register.
  ASSERT_TRUE(stream.WaitLive());
  const v1::Message m =
      CreateMessage(distributor_, conversation_.id(), "hello", v1::DIRECTION_OUTBOUND, "SMlive");
  // Events carry the state recorded with their change, so the next changes
  // need not wait for this event's delivery.
  v1::UpdateDeliveryStatusRequest delivered;
  delivered.set_id(m.id());
  delivered.set_delivery_status(v1::DELIVERY_STATUS_DELIVERED);
  v1::Message out;
  ASSERT_TRUE(Call(&Stub::UpdateDeliveryStatus, distributor_, delivered, &out).ok());
  v1::DeleteMessageRequest del;
  del.set_id(m.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(&Stub::DeleteMessage, distributor_, del, &empty).ok());

  ASSERT_TRUE(stream.WaitForChanges(3));
  const auto events = stream.Changes();
  ASSERT_EQ(events.size(), 3u);
  for (const auto& e : events) SCOPED_TRACE(e.DebugString());
  EXPECT_EQ(events[0].type(), v1::MESSAGE_EVENT_TYPE_CREATED) << events[0].DebugString();
  EXPECT_EQ(events[0].message().content(), "hello")
      << events[0].DebugString() << events[1].DebugString();
  EXPECT_EQ(events[0].message().SerializeAsString(), m.SerializeAsString());
  EXPECT_EQ(events[1].type(), v1::MESSAGE_EVENT_TYPE_UPDATED);
  EXPECT_EQ(events[1].message().SerializeAsString(), out.SerializeAsString());
  EXPECT_EQ(events[1].message().version(), 2);
  EXPECT_EQ(events[2].type(), v1::MESSAGE_EVENT_TYPE_DELETED);
  EXPECT_EQ(events[2].message().id(), m.id());
  EXPECT_EQ(events[2].message().conversation_id(), conversation_.id());
  EXPECT_EQ(events[2].message().distributor_id(), distributor_);
  EXPECT_EQ(events[2].message().version(), 2) << "DELETED carries the last state's version";
  for (const auto& e : events) EXPECT_FALSE(e.cursor().empty());
}

// A replay from a cursor yields exactly the events a live stream got, each with
// the message as its change left it, although the message changed again (and
// was deleted) before either stream delivered anything.
TEST_F(StreamTest, ReplayedEventsEqualTheLiveOnes) {
  v1::ListMessagesRequest list;
  list.set_conversation_id(conversation_.id());
  v1::ListMessagesResponse page;
  ASSERT_TRUE(Call(&Stub::ListMessages, distributor_, list, &page).ok());
  StreamCollector live(server().stub(), distributor_, Request());
  ASSERT_TRUE(live.WaitLive());

  const v1::Message created = CreateMessage(distributor_, conversation_.id(), "original",
                                            v1::DIRECTION_OUTBOUND, "SMreplay");
  v1::UpdateMessageRequest update;
  update.mutable_message()->set_id(created.id());
  update.mutable_message()->set_ai_summary("summarised");
  update.mutable_update_mask()->add_paths("ai_summary");
  v1::Message summarised;
  ASSERT_TRUE(Call(&Stub::UpdateMessage, distributor_, update, &summarised).ok());
  v1::UpdateDeliveryStatusRequest sent;
  sent.set_id(created.id());
  sent.set_delivery_status(v1::DELIVERY_STATUS_SENT);
  v1::Message delivered;
  ASSERT_TRUE(Call(&Stub::UpdateDeliveryStatus, distributor_, sent, &delivered).ok());
  v1::DeleteMessageRequest del;
  del.set_id(created.id());
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call(&Stub::DeleteMessage, distributor_, del, &empty).ok());

  ASSERT_TRUE(live.WaitForChanges(4));
  StreamCollector replay(server().stub(), distributor_, Request("", page.stream_cursor()));
  ASSERT_TRUE(replay.WaitForChanges(4));
  const auto live_events = live.Changes();
  const auto replayed = replay.Changes();
  ASSERT_EQ(live_events.size(), 4u);
  ASSERT_EQ(replayed.size(), 4u);
  for (std::size_t i = 0; i < live_events.size(); ++i) {
    EXPECT_EQ(replayed[i].type(), live_events[i].type()) << i;
    EXPECT_EQ(replayed[i].message().SerializeAsString(),
              live_events[i].message().SerializeAsString())
        << i << ": replayed " << replayed[i].DebugString() << " live "
        << live_events[i].DebugString();
  }
  // Each event shows its own change, not the latest state.
  EXPECT_EQ(live_events[0].type(), v1::MESSAGE_EVENT_TYPE_CREATED);
  EXPECT_EQ(live_events[0].message().SerializeAsString(), created.SerializeAsString());
  EXPECT_EQ(live_events[0].message().version(), 1);
  EXPECT_EQ(live_events[0].message().content(), "original");
  EXPECT_TRUE(live_events[0].message().ai_summary().empty());
  EXPECT_EQ(live_events[1].message().SerializeAsString(), summarised.SerializeAsString());
  EXPECT_EQ(live_events[1].message().version(), 2);
  EXPECT_EQ(live_events[2].message().SerializeAsString(), delivered.SerializeAsString());
  EXPECT_EQ(live_events[2].message().version(), 3);
  EXPECT_EQ(live_events[3].type(), v1::MESSAGE_EVENT_TYPE_DELETED);
  EXPECT_EQ(live_events[3].message().version(), 3);
}

TEST_F(StreamTest, WebhookRetryAndStaleDeliveryCallbackRaiseNoEvent) {
  StreamCollector stream(server().stub(), distributor_, Request());
  ASSERT_TRUE(stream.WaitLive());
  CreateMessage(distributor_, conversation_.id(), "once", v1::DIRECTION_INBOUND, "SMonce");
  CreateMessage(distributor_, conversation_.id(), "twice?", v1::DIRECTION_INBOUND, "SMonce");
  const v1::Message marker = CreateMessage(distributor_, conversation_.id(), "marker");
  ASSERT_TRUE(stream.WaitFor([&](const auto& events) {
    return !events.empty() && events.back().message().id() == marker.id();
  }));
  EXPECT_EQ(stream.Changes().size(), 2u);
}

TEST_F(StreamTest, AWriteOnOneReplicaReachesASubscriberOnAnother) {
  ServerProcess replica_b(kBinary, db().server_url());
  auto channel_b = grpc::CreateChannel(replica_b.address(), grpc::InsecureChannelCredentials());
  auto stub_b = v1::MessagingService::NewStub(channel_b);
  StreamCollector stream(*stub_b, distributor_, Request());
  ASSERT_TRUE(stream.WaitLive());
  const v1::Message m = CreateMessage(distributor_, conversation_.id(), "via replica A");
  ASSERT_TRUE(stream.WaitForChanges(1));
  EXPECT_EQ(stream.Changes()[0].message().id(), m.id());
  stream.Cancel();
  EXPECT_EQ(replica_b.Terminate(), 0);
}

TEST_F(StreamTest, ResumeAfterDisconnectDeliversEveryEventOnceInOrder) {
  std::string cursor;
  {
    StreamCollector stream(server().stub(), distributor_, Request());
    ASSERT_TRUE(stream.WaitLive());
    CreateMessage(distributor_, conversation_.id(), "before the disconnect");
    ASSERT_TRUE(stream.WaitForChanges(1));
    cursor = stream.LastCursor();
  }
  // While nobody listens, four writers add 1,000 messages.
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 250; ++i) {
        CreateMessage(distributor_, conversation_.id(), absl::StrCat("w", w, "-", i));
      }
    });
  }
  for (auto& t : writers) t.join();

  // Written last, so anything extra would arrive before it.
  const v1::Message marker = CreateMessage(distributor_, conversation_.id(), "marker");

  StreamCollector resumed(server().stub(), distributor_, Request("", cursor));
  ASSERT_TRUE(resumed.WaitForMessage(marker.id(), std::chrono::seconds(60)));
  auto ids = CreatedIds(resumed.Changes());
  ASSERT_EQ(ids.back(), marker.id());
  ids.pop_back();
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1000u);
  auto log = LogOrder("created");
  log.erase(log.begin());  // The one seen before the disconnect.
  log.pop_back();          // The marker.
  EXPECT_EQ(ids, log) << "events must arrive in (xid, seq) order";
}

// Two transactions take sequence numbers s1 < s2, but the one holding s1
// commits last. A subscriber must still get both, exactly once.
TEST_F(StreamTest, OutOfOrderCommitsAreNeitherSkippedNorRepeated) {
  StreamCollector stream(server().stub(), distributor_, Request());
  ASSERT_TRUE(stream.WaitLive());
  const v1::Message first = CreateMessage(distributor_, conversation_.id(), "first");
  ASSERT_TRUE(stream.WaitForChanges(1));
  const std::string cursor_before = stream.LastCursor();

  auto insert_as_tenant = [&](pqxx::work& tx, const std::string& content) {
    tx.exec("SET LOCAL ROLE messaging_app");
    tx.exec_params("SELECT set_config('app.distributor_id', $1, true)", distributor_);
    return tx
        .exec_params(
            "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
            "delivery_status) VALUES ($1, $2, 'inbound', $3, 'received') RETURNING id::text",
            conversation_.id(), distributor_, content)
        .at(0)
        .at(0)
        .as<std::string>();
  };
  // T0 writes a marker before T1 and T2 (so its xid is lower than theirs) and
  // commits after T2: the stream delivers the marker while T1 is still open,
  // which proves it has looked past T2's commit.
  pqxx::connection c0(db().url()), c1(db().url()), c2(db().url());
  pqxx::work t0(c0), t1(c1), t2(c2);
  const std::string marker = insert_as_tenant(t0, "marker, lowest transaction id");
  const std::string low = insert_as_tenant(t1, "lower sequence, commits last");
  const std::string high = insert_as_tenant(t2, "higher sequence, commits first");
  t2.commit();
  t0.commit();
  // T1 is still open: T2's event must wait behind it, not overtake it.
  ASSERT_TRUE(stream.WaitForMessage(marker)) << "the marker, older than T1, never arrived";
  EXPECT_EQ(CreatedIds(stream.Changes()), (std::vector<std::string>{first.id(), marker}))
      << "an event overtook an uncommitted earlier one";
  t1.commit();
  ASSERT_TRUE(stream.WaitForChanges(4));
  EXPECT_EQ(CreatedIds(stream.Changes()),
            (std::vector<std::string>{first.id(), marker, low, high}));

  // Resuming from before both sees both, once; a last marker closes the
  // sequence, so a repeat would arrive before it.
  const v1::Message last = CreateMessage(distributor_, conversation_.id(), "last");
  StreamCollector resumed(server().stub(), distributor_, Request("", cursor_before));
  ASSERT_TRUE(resumed.WaitForMessage(last.id()));
  EXPECT_EQ(CreatedIds(resumed.Changes()),
            (std::vector<std::string>{marker, low, high, last.id()}));
}

// ListMessages' stream_cursor is taken in the page's snapshot: streaming from
// it while writers race yields exactly the messages the list did not show.
TEST_F(StreamTest, ListThenSubscribeMissesNothingAndRepeatsNothing) {
  for (int i = 0; i < 20; ++i) CreateMessage(distributor_, conversation_.id(), "old");
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> written;
  std::thread writer([&] {
    for (int i = 0; i < 300 && !stop; ++i) {
      const auto m = CreateMessage(distributor_, conversation_.id(), "racing");
      std::lock_guard<std::mutex> lock(mu);
      written.push_back(m.id());
    }
  });
  // List while the writer is under way.
  for (int i = 0; i < 2000; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (written.size() >= 5) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // Polling.
  }
  v1::ListMessagesRequest list;
  list.set_conversation_id(conversation_.id());
  list.set_page_size(500);
  v1::ListMessagesResponse page;
  ASSERT_TRUE(Call(&Stub::ListMessages, distributor_, list, &page).ok());
  ASSERT_FALSE(page.stream_cursor().empty());
  std::set<std::string> listed;
  for (const auto& m : page.messages()) listed.insert(m.id());

  StreamCollector stream(server().stub(), distributor_,
                         Request(conversation_.id(), page.stream_cursor()));
  writer.join();
  std::set<std::string> all;
  for (const auto& row : db().Exec("SELECT id::text FROM messages WHERE conversation_id = '" +
                                   conversation_.id() + "'")) {
    all.insert(row[0].as<std::string>());
  }
  const std::size_t expected = all.size() - listed.size();
  // Written last, so a repeat or an extra event would arrive before it.
  const v1::Message marker = CreateMessage(distributor_, conversation_.id(), "marker");
  ASSERT_TRUE(stream.WaitForMessage(marker.id(), std::chrono::seconds(30)));
  auto streamed = CreatedIds(stream.Changes());
  ASSERT_EQ(streamed.back(), marker.id());
  streamed.pop_back();
  EXPECT_EQ(streamed.size(), expected);
  for (const auto& id : streamed) {
    EXPECT_EQ(listed.count(id), 0u) << "repeated: " << id;
    EXPECT_EQ(all.count(id), 1u);
  }
  EXPECT_EQ(std::set<std::string>(streamed.begin(), streamed.end()).size(), streamed.size());
  stop = true;
}

TEST_F(StreamTest, ConversationFilterAndTenantIsolation) {
  const v1::Conversation other = CreateConversation(distributor_, db().NewCustomer());
  const std::string stranger = db().NewDistributor();
  StreamCollector filtered(server().stub(), distributor_, Request(conversation_.id()));
  StreamCollector strangers(server().stub(), stranger, Request());
  ASSERT_TRUE(filtered.WaitLive());
  ASSERT_TRUE(strangers.WaitLive());
  CreateMessage(distributor_, other.id(), "other conversation");
  // Written after the other conversation's message: had that one leaked into
  // the filtered stream, it would have arrived first.
  const v1::Message mine = CreateMessage(distributor_, conversation_.id(), "this conversation");
  ASSERT_TRUE(filtered.WaitForMessage(mine.id()));
  ASSERT_EQ(filtered.Changes().size(), 1u);
  EXPECT_EQ(filtered.Changes()[0].message().id(), mine.id());
  // The stranger's own marker, written after both: a leaked event would be
  // older in the log and arrive before it.
  const v1::Conversation strangers_own = CreateConversation(stranger, db().NewCustomer());
  const v1::Message marker = CreateMessage(stranger, strangers_own.id(), "stranger's marker");
  ASSERT_TRUE(strangers.WaitForMessage(marker.id()));
  EXPECT_EQ(CreatedIds(strangers.Changes()), std::vector<std::string>{marker.id()})
      << "an event of another distributor leaked";

  // Another distributor's conversation is NOT_FOUND, like every other method.
  StreamCollector intruder(server().stub(), stranger, Request(conversation_.id()));
  EXPECT_EQ(intruder.WaitDone().error_code(), StatusCode::NOT_FOUND);
}

TEST_F(StreamTest, BadCursorsAreRejected) {
  StreamCollector forged(server().stub(), distributor_, Request("", "forged-cursor"));
  EXPECT_EQ(forged.WaitDone().error_code(), StatusCode::INVALID_ARGUMENT);

  // A real cursor of distributor A does not work for B.
  v1::ListMessagesRequest list;
  list.set_conversation_id(conversation_.id());
  v1::ListMessagesResponse page;
  ASSERT_TRUE(Call(&Stub::ListMessages, distributor_, list, &page).ok());
  StreamCollector foreign(server().stub(), db().NewDistributor(),
                          Request("", page.stream_cursor()));
  EXPECT_EQ(foreign.WaitDone().error_code(), StatusCode::INVALID_ARGUMENT);

  // A cursor older than the retention is OUT_OF_RANGE: its events may be gone.
  domain::TokenSealer sealer(kTestSecret);
  domain::StreamCursorCodec codec(sealer, absl::Hours(24 * 7));
  domain::StreamCursor old;
  old.position = {1, 1};
  old.issued_at = absl::ToUnixMicros(absl::Now() - absl::Hours(24 * 8));
  StreamCollector expired(server().stub(), distributor_,
                          Request("", codec.Encode(distributor_, old)));
  EXPECT_EQ(expired.WaitDone().error_code(), StatusCode::OUT_OF_RANGE);

  StreamCollector bad_filter(server().stub(), distributor_, Request("not-a-uuid"));
  EXPECT_EQ(bad_filter.WaitDone().error_code(), StatusCode::INVALID_ARGUMENT);

  // A cursor of a one-conversation stream cannot resume a wider stream.
  StreamCollector narrow(server().stub(), distributor_, Request(conversation_.id()));
  ASSERT_TRUE(narrow.WaitLive());
  CreateMessage(distributor_, conversation_.id(), "x");
  ASSERT_TRUE(narrow.WaitForChanges(1));
  StreamCollector wider(server().stub(), distributor_, Request("", narrow.LastCursor()));
  EXPECT_EQ(wider.WaitDone().error_code(), StatusCode::INVALID_ARGUMENT);
}

// Pruning (migration 004) records the highest log position it deleted. A
// cursor that had not seen the pruned events ends with OUT_OF_RANGE (list
// again) instead of silently skipping them; a cursor past them resumes as
// usual. Its own database: the mark belongs to the whole log.
class StreamPruneTest : public StreamTest {};

TEST_F(StreamPruneTest, ResumingBelowThePrunedMarkIsOutOfRangeAndAboveItDelivers) {
  v1::ListMessagesRequest list;
  list.set_conversation_id(conversation_.id());
  v1::ListMessagesResponse before;
  ASSERT_TRUE(Call(&Stub::ListMessages, distributor_, list, &before).ok());
  const v1::Message old = CreateMessage(distributor_, conversation_.id(), "pruned later");
  // The position right after `old`: its event's cursor. (A List's cursor can
  // sit lower: its position is the oldest transaction still open anywhere in
  // the cluster, e.g. another suite's, so it may not count `old` as seen.)
  std::string after_old;
  {
    StreamCollector live(server().stub(), distributor_, Request("", before.stream_cursor()));
    ASSERT_TRUE(live.WaitForChanges(1));
    ASSERT_EQ(live.Changes()[0].message().id(), old.id());
    after_old = live.Changes()[0].cursor();
  }
  const v1::Message kept = CreateMessage(distributor_, conversation_.id(), "kept");
  db().Exec(
      "UPDATE message_events SET created_at = now() - interval '8 days' WHERE message_id = '" +
      old.id() + "'");
  {
    // As a server prunes: from its login role, as messaging_app, through the function.
    pqxx::connection conn(db().server_url());
    pqxx::work tx(conn);
    tx.exec("SELECT set_config('role', 'messaging_app', true)");
    EXPECT_EQ(tx.exec("SELECT messaging_prune_events('7 days')").at(0).at(0).as<int>(), 1);
    tx.commit();
  }

  for (const std::string& filter : {std::string(), conversation_.id()}) {
    StreamCollector below(server().stub(), distributor_, Request(filter, before.stream_cursor()));
    const grpc::Status status = below.WaitDone();
    EXPECT_EQ(status.error_code(), StatusCode::OUT_OF_RANGE) << status.error_message();
    EXPECT_TRUE(below.Changes().empty());
  }

  StreamCollector above(server().stub(), distributor_, Request("", after_old));
  ASSERT_TRUE(above.WaitForChanges(1));
  EXPECT_EQ(above.Changes()[0].message().id(), kept.id());
  EXPECT_EQ(above.Changes().size(), 1u);
}

TEST_F(StreamTest, SlowConsumerGetsEverythingOnceWhenItReadsAgain) {
  // The client does not read while 2,000 events happen; the server's queue is
  // bounded, so it must fall back to reading the log and lose nothing.
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + TokenFor(distributor_));
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto reader = server().stub().StreamMessages(&context, Request());
  v1::MessageEvent event;
  while (reader->Read(&event) && event.type() != v1::MESSAGE_EVENT_TYPE_HEARTBEAT) {
  }  // Live once the first heartbeat arrives.
  // A stream of another conversation of the distributor shares its group (one
  // log read offers each batch to every member): its marker arriving proves
  // that all 2,000 events were offered to the stream that does not read.
  const v1::Conversation marker_conversation = CreateConversation(distributor_, db().NewCustomer());
  StreamCollector markers(server().stub(), distributor_, Request(marker_conversation.id()));
  ASSERT_TRUE(markers.WaitLive());
  db().Exec(
      "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status) SELECT '" +
      conversation_.id() + "', '" + distributor_ +
      "', 'inbound', "
      "repeat('x', 2000) || g, 'received' FROM generate_series(1, 2000) g");
  const v1::Message marker = CreateMessage(distributor_, marker_conversation.id(), "marker");
  ASSERT_TRUE(markers.WaitForMessage(marker.id(), std::chrono::seconds(60)));
  std::vector<std::string> ids;
  while (ids.size() < 2000 && reader->Read(&event)) {
    if (event.type() == v1::MESSAGE_EVENT_TYPE_CREATED) ids.push_back(event.message().id());
  }
  context.TryCancel();
  reader->Finish();
  EXPECT_EQ(ids.size(), 2000u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  auto log = LogOrder("created");
  log.pop_back();  // The marker.
  EXPECT_EQ(ids, log);
}

TEST_F(StreamTest, StreamsCatchUpAfterTheDatabaseDropsEveryConnection) {
  StreamCollector stream(server().stub(), distributor_, Request());
  ASSERT_TRUE(stream.WaitLive());
  CreateMessage(distributor_, conversation_.id(), "before");
  ASSERT_TRUE(stream.WaitForChanges(1));
  // Like a restart: every connection to the database is terminated and new
  // ones are refused for a while; meanwhile nothing can be written.
  pqxx::connection admin(AdminUrl());
  pqxx::nontransaction(admin).exec(
      absl::StrCat("ALTER DATABASE ", db().name(), " ALLOW_CONNECTIONS false"));
  pqxx::nontransaction(admin).exec(
      absl::StrCat("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '",
                   db().name(), "' AND pid <> pg_backend_pid()"));
  // The outage lasts a while on purpose: the server's reconnects fail meanwhile.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  pqxx::nontransaction(admin).exec(
      absl::StrCat("ALTER DATABASE ", db().name(), " ALLOW_CONNECTIONS true"));
  // Written by another path (psql-like) right after the database is back.
  db().Exec(
      "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status) VALUES ('" +
      conversation_.id() + "', '" + distributor_ + "', 'inbound', 'after', 'received')");
  ASSERT_TRUE(stream.WaitForChanges(2, std::chrono::seconds(30)));
  EXPECT_EQ(stream.Changes()[1].message().content(), "after");
}

// Writes made outside the server (psql, PostgREST) announce nothing: no
// replica sends a NOTIFY for them. The heads poll alone must deliver them,
// within a small multiple of its interval.
class StreamSqlWriteTest : public StreamTest {
 protected:
  static constexpr absl::Duration kPoll = absl::Milliseconds(25);
  static constexpr std::chrono::milliseconds kBound{2000};

  static void SetUpTestSuite() {
    db_ = new TestDatabase("stream_sql_write");
    server_ = new TestServer(db_->server_url(),
                             [](app::ServerConfig& c) { c.stream_poll_interval = kPoll; });
  }

  // Plain SQL as the admin, in its own transaction; returns the first column.
  std::string SqlReturning(const std::string& sql) {
    return db().Exec(sql).at(0).at(0).as<std::string>();
  }

  // Waits until `stream` has `n` changes; the milliseconds it took from `since`.
  static double WaitChanges(StreamCollector& stream, std::size_t n, absl::Time since) {
    const bool arrived = stream.WaitForChanges(n, kBound);
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - since);
    EXPECT_TRUE(arrived) << "nothing within " << kBound.count() << " ms (poll interval "
                         << absl::FormatDuration(kPoll) << ")";
    return ms;
  }
};

TEST_F(StreamSqlWriteTest, AnInsertBySqlReachesWideAndFilteredStreamsWithinThePollBound) {
  StreamCollector wide(server().stub(), distributor_, Request());
  StreamCollector filtered(server().stub(), distributor_, Request(conversation_.id()));
  ASSERT_TRUE(wide.WaitLive());
  ASSERT_TRUE(filtered.WaitLive());

  // The distributor is set explicitly (no tenant context); the trigger
  // records the event in the same transaction.
  const std::string id = SqlReturning(
      "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status) VALUES ('" +
      conversation_.id() + "', '" + distributor_ +
      "', 'inbound', 'written by psql', 'received') RETURNING id::text");
  const absl::Time committed = absl::Now();
  const double wide_ms = WaitChanges(wide, 1, committed);
  const double filtered_ms = WaitChanges(filtered, 1, committed);
  std::printf(
      "[ latency  ] SQL insert -> distributor-wide stream %.1f ms, filtered %.1f ms "
      "(poll %s, bound %lld ms)\n",
      wide_ms, filtered_ms, absl::FormatDuration(kPoll).c_str(),
      static_cast<long long>(kBound.count()));

  for (auto* stream : {&wide, &filtered}) {
    const auto changes = stream->Changes();
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].type(), v1::MESSAGE_EVENT_TYPE_CREATED);
    EXPECT_EQ(changes[0].message().id(), id);
    EXPECT_EQ(changes[0].message().conversation_id(), conversation_.id());
    EXPECT_EQ(changes[0].message().content(), "written by psql");
    EXPECT_EQ(changes[0].message().version(), 1);
  }
}

TEST_F(StreamSqlWriteTest, AnUpdateBySqlArrivesAsUpdatedWithVersion2) {
  StreamCollector stream(server().stub(), distributor_, Request());
  ASSERT_TRUE(stream.WaitLive());
  const std::string id = SqlReturning(
      "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
      "delivery_status) VALUES ('" +
      conversation_.id() + "', '" + distributor_ +
      "', 'inbound', 'before', 'received') RETURNING id::text");
  WaitChanges(stream, 1, absl::Now());

  db().Exec("UPDATE messages SET content = 'after' WHERE id = '" + id + "'");
  const double ms = WaitChanges(stream, 2, absl::Now());
  std::printf("[ latency  ] SQL update -> stream %.1f ms\n", ms);

  const auto changes = stream.Changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].message().version(), 1);
  EXPECT_EQ(changes[1].type(), v1::MESSAGE_EVENT_TYPE_UPDATED);
  EXPECT_EQ(changes[1].message().id(), id);
  EXPECT_EQ(changes[1].message().content(), "after");
  EXPECT_EQ(changes[1].message().version(), 2);
}

TEST(StreamHeartbeatTest, IdleStreamsGetHeartbeatsWithAResumableCursor) {
  TestDatabase db("stream_heartbeat");
  TestServer server(db.server_url(),
                    [](app::ServerConfig& c) { c.heartbeat_interval = absl::Milliseconds(200); });
  const std::string distributor = db.NewDistributor();
  StreamCollector stream(server.stub(), distributor, v1::StreamMessagesRequest());
  ASSERT_TRUE(stream.WaitFor([](const auto& events) {
    return !events.empty() && events.back().type() == v1::MESSAGE_EVENT_TYPE_HEARTBEAT;
  }));
  v1::StreamMessagesRequest resume;
  resume.set_resume_cursor(stream.LastCursor());
  StreamCollector resumed(server.stub(), distributor, resume);
  EXPECT_TRUE(resumed.WaitFor([](const auto& events) { return !events.empty(); }));
  EXPECT_EQ(resumed.WaitDone(std::chrono::milliseconds(100)).error_code(),
            StatusCode::DEADLINE_EXCEEDED)
      << "the resumed stream should still be open";
}

// Max connection age sends GOAWAY so clients rebalance; a stream on that
// connection ends with a status a client retries, and resumes from its cursor.
TEST(StreamConnectionAgeTest, MaxConnectionAgeEndsStreamsResumably) {
  TestDatabase db("stream_age");
  TestServer server(db.server_url(), [](app::ServerConfig& c) {
    c.max_connection_age = absl::Seconds(1);
    c.drain_timeout = absl::Seconds(1);
  });
  const std::string distributor = db.NewDistributor();
  StreamCollector stream(server.stub(), distributor, v1::StreamMessagesRequest());
  const auto status = stream.WaitDone(std::chrono::seconds(15));
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
}

TEST(StreamShutdownTest, ShutdownEndsStreamsWithAResumableStatus) {
  TestDatabase db("stream_shutdown");
  auto server = std::make_unique<TestServer>(db.server_url());
  const std::string distributor = db.NewDistributor();
  v1::StreamMessagesRequest request;
  StreamCollector stream(server->stub(), distributor, request);
  ASSERT_TRUE(stream.WaitLive());
  const absl::Time start = absl::Now();
  server->server().Shutdown(absl::Seconds(5));
  EXPECT_LT(absl::Now() - start, absl::Seconds(4)) << "shutdown waited for the stream";
  const auto status = stream.WaitDone();
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE) << status.error_message();
}

}  // namespace
}  // namespace messaging::testing
