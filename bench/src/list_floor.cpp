// The floor of a List call: what one ListConversations call costs on this
// machine with nothing but gRPC 1.51, libpq and protobuf. `floor-list-server`
// answers /messaging.v1.MessagingService/ListConversations on a bare async
// server (generic API, one completion queue per thread). Each serving thread
// owns one libpq connection and runs the call's database work itself, in the
// service's one round trip: the tenant settings and the server's own prepared
// page statement as one query string. It maps the rows to the response
// message and replies. The `list-conversations` mode of the load generator
// runs against it unchanged, so its rate against pgbench's is the ratio no
// server built on these libraries could beat here.
//
// What it leaves out that the service does: the token check (the tenant is a
// random distributor of the fixture, as pgbench picks one), request
// validation, the page token and stream cursor (two seals, about 1 us each),
// the worker pool, metrics and logs. It maps only the metadata the fixture
// holds ({}), and it serves with a fixed set of blocking threads: a slow call
// holds up the others on its thread, which a service could not accept.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <libpq-fe.h>
#include <sys/prctl.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bare_server.h"
#include "cli.h"
#include "fixture.h"
#include "messaging/v1/messaging.pb.h"
#include "modes.h"

namespace bench {
namespace {

namespace v1 = ::messaging::v1;

constexpr char kListConversations[] = "/messaging.v1.MessagingService/ListConversations";
constexpr char kStatement[] = "floor_list";

// Result columns of the server's conversation page statement, in order.
enum Column {
  kId,
  kDistributorId,
  kCustomerId,
  kChannel,
  kStatus,
  kAiContextSummary,
  kUnreadCount,
  kLastMessageAt,
  kLastMessagePreview,
  kMetadata,
  kCreatedAt,
  kUpdatedAt,
};

v1::Channel ChannelOf(const char* s) {
  const std::string v(s);
  if (v == "whatsapp") return v1::CHANNEL_WHATSAPP;
  if (v == "sms") return v1::CHANNEL_SMS;
  if (v == "email") return v1::CHANNEL_EMAIL;
  return v1::CHANNEL_UNSPECIFIED;
}

v1::ConversationStatus StatusOf(const char* s) {
  const std::string v(s);
  if (v == "active") return v1::CONVERSATION_STATUS_ACTIVE;
  if (v == "archived") return v1::CONVERSATION_STATUS_ARCHIVED;
  if (v == "closed") return v1::CONVERSATION_STATUS_CLOSED;
  return v1::CONVERSATION_STATUS_UNSPECIFIED;
}

void SetMicros(const char* micros, google::protobuf::Timestamp* to) {
  const int64_t us = std::strtoll(micros, nullptr, 10);
  to->set_seconds(us / 1000000);
  to->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

// One serving thread's database connection, with the page statement prepared.
class FloorDatabase {
 public:
  FloorDatabase(const std::string& url, const std::string& page_sql)
      : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK)
      Die(std::string("floor-list-server: ") + PQerrorMessage(conn_));
    PGresult* prepared = PQprepare(conn_, kStatement, page_sql.c_str(), 0, nullptr);
    const bool ok = PQresultStatus(prepared) == PGRES_COMMAND_OK;
    PQclear(prepared);
    if (!ok) Die(std::string("floor-list-server: PREPARE: ") + PQerrorMessage(conn_));
    CheckColumns();
  }
  ~FloorDatabase() { PQfinish(conn_); }
  FloorDatabase(const FloorDatabase&) = delete;
  FloorDatabase& operator=(const FloorDatabase&) = delete;

  // The first page of `distributor`'s inbox, `limit` conversations at most.
  v1::ListConversationsResponse Page(const std::string& distributor, int limit) {
    const std::string sql =
        "SELECT set_config('role', 'messaging_app', true), set_config('app.distributor_id', '" +
        distributor +
        "', true), set_config('statement_timeout', '10000', true), "
        "set_config('transaction_read_only', 'on', true); EXECUTE " +
        kStatement + "(" + std::to_string(limit + 1) + ", 1048576)";
    PGresult* rows = PQexec(conn_, sql.c_str());  // The last statement's result.
    if (PQresultStatus(rows) != PGRES_TUPLES_OK) {
      const std::string error = PQerrorMessage(conn_);
      PQclear(rows);
      Die("floor-list-server: " + error);
    }
    v1::ListConversationsResponse page;
    const int n = std::min(PQntuples(rows), limit);
    page.mutable_conversations()->Reserve(n);
    for (int r = 0; r < n; ++r) {
      if (PQgetisnull(rows, r, kId)) break;  // The page's LEFT JOIN: no row.
      v1::Conversation* c = page.add_conversations();
      c->set_id(PQgetvalue(rows, r, kId));
      c->set_distributor_id(PQgetvalue(rows, r, kDistributorId));
      c->set_customer_id(PQgetvalue(rows, r, kCustomerId));
      c->set_channel(ChannelOf(PQgetvalue(rows, r, kChannel)));
      c->set_status(StatusOf(PQgetvalue(rows, r, kStatus)));
      c->set_ai_context_summary(PQgetvalue(rows, r, kAiContextSummary));
      c->set_unread_count(std::atoi(PQgetvalue(rows, r, kUnreadCount)));
      if (!PQgetisnull(rows, r, kLastMessageAt)) {
        SetMicros(PQgetvalue(rows, r, kLastMessageAt), c->mutable_last_message_at());
      }
      c->set_last_message_preview(PQgetvalue(rows, r, kLastMessagePreview));
      if (std::string(PQgetvalue(rows, r, kMetadata)) != "{}") {
        Die("floor-list-server: maps only the fixture's metadata, {}");
      }
      c->mutable_metadata();
      SetMicros(PQgetvalue(rows, r, kCreatedAt), c->mutable_create_time());
      SetMicros(PQgetvalue(rows, r, kUpdatedAt), c->mutable_update_time());
    }
    PQclear(rows);
    return page;
  }

 private:
  // The rows are read by position (Column): a statement whose columns moved
  // stops the floor rather than mapping one field into another.
  void CheckColumns() {
    static constexpr const char* kNames[] = {
        "id",           "distributor_id",  "customer_id",
        "channel",      "status",          "ai_context_summary",
        "unread_count", "last_message_at", "last_message_preview",
        "metadata",     "created_at",      "updated_at"};
    PGresult* described = PQdescribePrepared(conn_, kStatement);
    std::string mismatch;
    for (int i = 0; i <= kUpdatedAt && mismatch.empty(); ++i) {
      if (i >= PQnfields(described) || std::string(PQfname(described, i)) != kNames[i]) {
        mismatch = std::string("column ") + std::to_string(i) + " is not " + kNames[i];
      }
    }
    PQclear(described);
    if (!mismatch.empty()) Die("floor-list-server: the page statement's " + mismatch);
  }

  PGconn* const conn_;
};

class ListFloorServer;

// One call: arrives, its request is read, its page is read and sent.
class ListFloorCall {
 public:
  ListFloorCall(ListFloorServer* server, grpc::ServerCompletionQueue* cq, FloorDatabase* db)
      : server_(server), cq_(cq), db_(db) {}
  grpc::GenericServerContext* context() { return &context_; }
  grpc::GenericServerAsyncReaderWriter* stream() { return &stream_; }
  void Proceed(bool ok);

 private:
  enum class State { kArriving, kReading, kReplying };

  ListFloorServer* const server_;
  grpc::ServerCompletionQueue* const cq_;
  FloorDatabase* const db_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  grpc::ByteBuffer request_;
  State state_ = State::kArriving;
};

class ListFloorServer {
 public:
  ListFloorServer(int port, int threads, const std::string& database_url,
                  const std::string& page_sql, std::vector<std::string> distributors)
      : distributors_(std::move(distributors)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureServerCredentials());
    builder.RegisterAsyncGenericService(&service_);
    for (int i = 0; i < threads; ++i) {
      cqs_.push_back(builder.AddCompletionQueue());
      databases_.push_back(std::make_unique<FloorDatabase>(database_url, page_sql));
    }
    server_ = builder.BuildAndStart();
    if (!server_) Die("floor-list-server: cannot listen on port " + std::to_string(port));
  }

  // Serves until the process is killed or `max_runtime` has passed.
  [[noreturn]] void Run(std::chrono::seconds max_runtime) {
    for (std::size_t i = 0; i < cqs_.size(); ++i) {
      Listen(cqs_[i].get(), databases_[i].get());
      ServeDetached<ListFloorCall>(cqs_[i].get());
    }
    ExitAfter("floor-list-server", max_runtime);
  }

  void Listen(grpc::ServerCompletionQueue* cq, FloorDatabase* db) {
    auto* call = new ListFloorCall(this, cq, db);
    service_.RequestCall(call->context(), call->stream(), cq, cq, call);
  }

  // A distributor at random, as pgbench's script picks one (per thread: no lock).
  const std::string& AnyDistributor() {
    thread_local std::mt19937_64 rng(std::random_device{}());
    return distributors_[rng() % distributors_.size()];
  }

 private:
  const std::vector<std::string> distributors_;
  grpc::AsyncGenericService service_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs_;
  std::vector<std::unique_ptr<FloorDatabase>> databases_;  // One per queue.
  std::unique_ptr<grpc::Server> server_;
};

void ListFloorCall::Proceed(bool ok) {
  switch (state_) {
    case State::kArriving:
      if (!ok) {
        delete this;
        return;
      }
      server_->Listen(cq_, db_);
      state_ = State::kReading;
      stream_.Read(&request_, this);
      return;
    case State::kReading: {
      if (!ok) {
        delete this;
        return;
      }
      state_ = State::kReplying;
      if (context_.method() != kListConversations) {
        stream_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "only ListConversations"),
                       this);
        return;
      }
      v1::ListConversationsRequest request;
      grpc::Status parsed =
          grpc::GenericDeserialize<grpc::ProtoBufferReader, v1::ListConversationsRequest>(&request_,
                                                                                          &request);
      if (!parsed.ok()) {
        stream_.Finish(parsed, this);
        return;
      }
      const int limit = request.page_size() > 0 ? request.page_size() : 50;
      const v1::ListConversationsResponse page = db_->Page(server_->AnyDistributor(), limit);
      grpc::ByteBuffer reply;
      bool own_buffer = false;
      grpc::Status serialized = grpc::SerializationTraits<v1::ListConversationsResponse>::Serialize(
          page, &reply, &own_buffer);
      if (!serialized.ok()) Die("floor-list-server: cannot serialize a page");
      stream_.WriteAndFinish(reply, grpc::WriteOptions(), grpc::Status::OK, this);
      return;
    }
    case State::kReplying:
      delete this;
      return;
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die("floor-list-server: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int RunListFloorServer(Flags& flags) {
  const int port = static_cast<int>(flags.Int("port", 0));
  const int threads = static_cast<int>(flags.Int("threads", 8));
  const std::string database_url = flags.Str("database-url", "");
  const std::string statement_file = flags.Str("statement-file", "");
  const std::string fixture_file = flags.Str("fixture", "");
  const int max_seconds = static_cast<int>(flags.Int("max-seconds", 900));
  flags.CheckAllUsed();
  if (port <= 0) Die("floor-list-server: --port is required");
  if (database_url.empty()) Die("floor-list-server: --database-url is required");
  if (statement_file.empty()) Die("floor-list-server: --statement-file is required");
  if (max_seconds <= 0) Die("floor-list-server: --max-seconds must be positive");
  Fixture fixture = Fixture::Load(fixture_file);
  if (fixture.distributors.empty()) Die("floor-list-server: the fixture has no distributor");
  prctl(PR_SET_PDEATHSIG, SIGTERM);  // Ends with the script that started it.
  ListFloorServer server(port, std::max(1, threads), database_url, ReadFile(statement_file),
                         std::move(fixture.distributors));
  std::printf("floor-list-server: serving on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  server.Run(std::chrono::seconds(max_seconds));
}

}  // namespace bench
