// messaging-bench-sql: prints the pgbench scripts and PREPARE statements for
// the benchmarks, built from the very statements the server prepares on every
// pooled connection (the repositories' Statements() lists), so the baseline
// can never drift from the service's SQL.
//
//   messaging-bench-sql pgbench create|list|list-conversations|heads|wakeup|ai-queue
//   messaging-bench-sql prepare        PREPARE ... for EXPLAIN (psql)
//   messaging-bench-sql show NAME      one statement's SQL
//
// pgbench variables cannot hold strings computed per transaction, so the UUID
// parameters are computed in SQL from pgbench integers (fixture UUIDs are
// '<prefix>-0000-4000-8000-<12-digit number>'), and the parameters the
// server sends as empty strings are the literal '' (pgbench has no empty
// variables). Every other parameter is a pgbench variable, i.e. a bind
// parameter of the prepared statement, as in the server.

#include <cctype>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "domain/validation.h"
#include "repository/pg_ai_work_repository.h"
#include "repository/pg_conversation_repository.h"
#include "repository/pg_event_repository.h"
#include "repository/pg_message_repository.h"
#include "repository/sql/ai_work_sql.h"
#include "repository/sql/conversation_sql.h"
#include "repository/sql/event_sql.h"
#include "repository/sql/message_sql.h"
#include "repository/transaction.h"

namespace {

using messaging::repository::PreparedStatement;

std::map<std::string, std::string> AllStatements() {
  std::vector<PreparedStatement> all = {
      messaging::repository::TransactionRunner::TenantSetupStatement()};
  for (auto& s : messaging::repository::PgConversationRepository::Statements()) all.push_back(s);
  for (auto& s : messaging::repository::PgMessageRepository::Statements()) all.push_back(s);
  for (auto& s : messaging::repository::PgEventRepository::Statements()) all.push_back(s);
  for (auto& s : messaging::repository::PgAiWorkRepository::Statements()) all.push_back(s);
  std::map<std::string, std::string> by_name;
  for (const auto& s : all) by_name[s.name] = s.sql;
  return by_name;
}

const std::string& Sql(const std::string& name) {
  static const auto all = AllStatements();
  const auto it = all.find(name);
  if (it == all.end()) {
    std::cerr << "messaging-bench-sql: the server prepares no statement named " << name << "\n";
    std::exit(2);
  }
  return it->second;
}

// Replaces $1..$N (whole numbers only: $1 never matches inside $17).
std::string Bind(const std::string& sql, const std::map<int, std::string>& params) {
  std::string out;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '$' && i + 1 < sql.size() &&
        std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      std::size_t j = i + 1;
      while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
      const int n = std::stoi(sql.substr(i + 1, j - i - 1));
      const auto it = params.find(n);
      if (it == params.end()) {
        std::cerr << "messaging-bench-sql: no binding for $" << n << " in: " << sql << "\n";
        std::exit(2);
      }
      out += it->second;
      i = j - 1;
    } else {
      out += sql[i];
    }
  }
  return out;
}

// Fixture UUIDs from pgbench integers (see bench/sql/seed.sql).
std::string Uuid(const std::string& prefix, const std::string& var) {
  return "('" + prefix + "-0000-4000-8000-' || lpad(:" + var + "::text, 12, '0'))";
}
const std::string kDistributor = Uuid("d0000000", "d");
const std::string kConversation = Uuid("a0000000", "n");

std::string TenantSetup() {
  return Bind(Sql("tenant_setup"), {{1, ":role"}, {2, kDistributor}, {3, ":timeout"}}) + ";\n";
}

// A random conversation n of the fixture and its distributor d.
const char kPickConversation[] =
    "\\set n random(1, :conversations)\n"
    "\\set d ((:n - 1) % :distributors) + 1\n";

// PgMessageRepository::Create: BEGIN; tenant setup; the CTE insert; COMMIT.
void PgbenchCreate() {
  std::cout << "-- CreateMessage (inbound): the server's transaction, statement for statement.\n"
            << kPickConversation << "\\set x random(1, 9000000000000000000)\n"
            << "BEGIN;\n"
            << TenantSetup()
            << Bind(Sql("message_insert"), {{1, kConversation},
                                            {2, ":direction"},
                                            {3, ":message_type"},
                                            {4, ":content"},
                                            {5, "''"},
                                            {6, "''"},
                                            {7, "('SM' || lpad(:x::text, 32, '0'))"},
                                            {8, ":delivery_status"},
                                            {9, "''"},
                                            {10, "''"},
                                            {11, ":ai_status"},
                                            {12, "''"},
                                            {13, "''"},
                                            {14, "''"},
                                            {15, "NULL"},
                                            {16, ":metadata"},
                                            {17, ":content"}})
            << ";\nCOMMIT;\n";
}

// A List's read-only transaction. The server sends the tenant statement and
// the page as one query string, which PostgreSQL runs as one implicit
// transaction (TransactionMode::kOneStatementRead); pgbench in prepared mode
// sends one statement per round trip, so it needs BEGIN and COMMIT to keep the
// tenant setting for the page.
constexpr char kBeginSnapshot[] = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n";

// The server's default byte budget of a List page.
std::string PageBytes() { return std::to_string(messaging::domain::Limits{}.max_page_bytes); }

// PgMessageRepository::List (first page, create_time order): read-only
// transaction; tenant; the page (with the visibility check and the snapshot
// for the cursor).
void PgbenchList() {
  std::cout << "-- ListMessages (first page): the server's transaction, statement for statement.\n"
            << kPickConversation << kBeginSnapshot << TenantSetup()
            << Bind(Sql("message_list_asc"), {{1, kConversation}, {2, ":limit"}, {3, PageBytes()}})
            << ";\nCOMMIT;\n";
}

// PgConversationRepository::List (first inbox page, no filters).
void PgbenchListConversations() {
  std::cout << "-- ListConversations (first page): the server's transaction.\n"
            << "\\set d random(1, :distributors)\n"
            << kBeginSnapshot << TenantSetup()
            << Bind(Sql("conversation_list_----"), {{1, ":limit"}, {2, PageBytes()}})
            << ";\nCOMMIT;\n";
}

// EventListener::ReadHeads: a replica's read of which distributors have new
// events, as the listener sends it: one statement outside a transaction, on a
// connection whose role is set once (run with PGOPTIONS="-c
// role=messaging_app"). The statement is wrapped in one aggregate so that
// pgbench's \gset (one row only) can carry its horizon into the next read's
// from_xid, as the server does; start with -D from_xid=<xid>.
void PgbenchHeads() {
  std::cout << "-- Event heads read (no tenant), as the server's listener sends it.\n"
            << "SELECT min(heads.horizon) AS from_xid FROM ("
            << Bind(Sql("events_heads"), {{1, ":from_xid"}}) << ") heads\n\\gset\n";
}

namespace sql = messaging::repository::sql;

void PgbenchWakeUp() {
  std::cout << "-- A replica's coalesced wake-up.\n" << sql::kNotifyEvents << ";\n";
}

// A Statement with its named parameters bound to pgbench expressions.
std::string BindNamed(const messaging::repository::Statement& statement,
                      const std::map<std::string, std::string>& values) {
  std::map<int, std::string> by_number;
  const auto& names = statement.parameters();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto it = values.find(names[i]);
    if (it == values.end()) {
      std::cerr << "messaging-bench-sql: no binding for :" << names[i] << " in " << statement.name()
                << "\n";
      std::exit(2);
    }
    by_number[static_cast<int>(i) + 1] = it->second;
  }
  return Bind(Sql(statement.name()), by_number);
}

std::string TenantSetupOf(const std::string& distributor) {
  return Bind(Sql("tenant_setup"), {{1, ":role"}, {2, distributor}, {3, ":timeout"}}) + ";\n";
}

// A worker's ClaimAiWork of one item, then its CompleteAiWork, as
// PgAiWorkRepository runs them: the claim (an unrestricted worker: no tenant);
// the item's message with its context and its conversation read as its
// tenant; then the completion. \gset and \aset carry the claimed item into
// the next statements, as the worker carries it from one call to the next.
// Start with -D worker=... -D max_items=1 -D lease_ms=... -D leased_cap=...
// -D max_attempts=...
void PgbenchAiQueue() {
  std::cout << "-- ClaimAiWork (1 item) + CompleteAiWork: the server's transactions.\n"
            << "BEGIN;\n"
            << TenantSetupOf("''")
            << "SELECT c.id AS item, c.distributor_id AS tenant, c.message_id AS message, "
               "c.lease_token AS fence FROM ("
            << BindNamed(sql::kClaimAiWork, {{"max_items", ":max_items"},
                                             {"lease_ms", ":lease_ms"},
                                             {"worker", ":worker"},
                                             {"only_distributor", "''"},
                                             {"leased_cap", ":leased_cap"},
                                             {"max_attempts", ":max_attempts"}})
            << ") c\n\\gset\nCOMMIT;\n"
            << kBeginSnapshot << TenantSetupOf("''")
            << BindNamed(sql::kEnterAiWorkTenant, {{"distributor_id", ":tenant"}})
            << ";\n"
            // Every row (the context and the message) has the conversation's id.
            << "SELECT m.conversation_id AS conversation FROM ("
            << BindNamed(sql::kAiWorkMessageWithContext, {{"message_id", ":message"}})
            << ") m\n\\aset\n"
            << BindNamed(sql::kSelectConversation, {{"id", ":conversation"}}) << ";\n"
            << "COMMIT;\n"
            << "BEGIN;\n"
            << TenantSetupOf(":tenant")
            << BindNamed(sql::kCompleteAiWork, {{"id", ":item"},
                                                {"fence", ":fence"},
                                                {"ai_summary", "'bench summary'"},
                                                {"ai_intent", "'bench'"},
                                                {"ai_sentiment", "'neutral'"},
                                                {"ai_extracted_data", "NULL"},
                                                {"set_summary", "false"},
                                                {"summary", "''"}})
            << ";\nCOMMIT;\n";
}

void Prepare() {
  for (const char* name :
       {"tenant_setup", "message_list_asc", "message_list_asc_k", "message_list_desc",
        "conversation_list_----", "conversation_list_---k", "message_insert"}) {
    std::cout << "PREPARE \"bench_" << name << "\" AS " << Sql(name) << ";\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  const std::string what = argc > 2 ? argv[2] : "";
  if (cmd == "pgbench" && what == "create") {
    PgbenchCreate();
  } else if (cmd == "pgbench" && what == "list") {
    PgbenchList();
  } else if (cmd == "pgbench" && what == "list-conversations") {
    PgbenchListConversations();
  } else if (cmd == "pgbench" && what == "heads") {
    PgbenchHeads();
  } else if (cmd == "pgbench" && what == "wakeup") {
    PgbenchWakeUp();
  } else if (cmd == "pgbench" && what == "ai-queue") {
    PgbenchAiQueue();
  } else if (cmd == "prepare") {
    Prepare();
  } else if (cmd == "show" && !what.empty()) {
    std::cout << Sql(what) << "\n";
  } else {
    std::cerr << "usage: messaging-bench-sql pgbench "
                 "create|list|list-conversations|heads|wakeup|ai-queue\n"
                 "       messaging-bench-sql prepare\n"
                 "       messaging-bench-sql show STATEMENT_NAME\n";
    return 2;
  }
  return 0;
}
