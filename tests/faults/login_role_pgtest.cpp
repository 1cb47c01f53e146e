// The server serves only as a login role that cannot get around row level
// security (repository/login_role_check.h), and migrates as the owner.
//
// Proves: `serve` refuses, with a clear message and a non-zero exit, a
// superuser, a BYPASSRLS role, a role that cannot become messaging_app, and
// an application role (MESSAGING_DB_ROLE) with those powers; it serves, with
// warnings, as the owner of the tables granted another role; a pool connection opened after the
// login role gained BYPASSRLS is refused (calls are UNAVAILABLE) until it
// loses it again. `migrate` prefers MESSAGING_MIGRATE_DATABASE_URL to
// DATABASE_URL and falls back to it.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <pqxx/pqxx>
#include <string>

#include "absl/strings/str_cat.h"
#include "app/server.h"
#include "migrate/embedded_migrations.h"
#include "support/subprocess.h"
#include "support/test_database.h"
#include "support/test_server.h"

namespace messaging::testing {
namespace {

constexpr char kBinary[] = MESSAGING_SERVER_BINARY;

// A cluster-wide role for one test, dropped afterwards (also on failure).
class ScratchRole {
 public:
  // `attributes` e.g. "LOGIN NOINHERIT BYPASSRLS"; `app_member`: granted messaging_app.
  ScratchRole(const std::string& attributes, bool app_member) {
    static std::atomic<int> counter{0};
    name_ = absl::StrCat("t_login_", getpid(), "_", counter++);
    Admin(absl::StrCat("CREATE ROLE ", name_, " ", attributes, " PASSWORD '", name_, "'"));
    if (app_member) Admin(absl::StrCat("GRANT messaging_app TO ", name_));
  }
  ~ScratchRole() {
    try {
      Admin(absl::StrCat("DROP ROLE IF EXISTS ", name_));
    } catch (const std::exception&) {
      // Best effort: the throwaway cluster goes away after the run.
    }
  }
  ScratchRole(const ScratchRole&) = delete;
  ScratchRole& operator=(const ScratchRole&) = delete;

  const std::string& name() const { return name_; }
  std::string UrlFor(const TestDatabase& db) const { return WithLogin(db.url(), name_, name_); }
  static void Admin(const std::string& sql) {
    pqxx::connection admin(AdminUrl());
    pqxx::nontransaction(admin).exec(sql);
  }

 private:
  std::string name_;
};

// Starts (and stops again) a server logging in with `url`; its start status.
absl::Status Start(const std::string& url, const std::string& app_role = "messaging_app") {
  app::ServerConfig config;
  config.database_url = url;
  config.app_role = app_role;
  config.listen = "127.0.0.1:0";
  config.jwt.secret = kTestSecret;
  config.pool_size = 2;
  auto server = app::MessagingServer::Start(config);
  if (!server.ok()) return server.status();
  (*server)->Shutdown(absl::ZeroDuration());
  return absl::OkStatus();
}

void ExpectRefused(const absl::Status& status, const std::string& reason) {
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_NE(status.message().find(reason), std::string::npos) << status;
}

TEST(LoginRoleTest, ServeRefusesASuperuser) {
  TestDatabase db("login_superuser");
  ExpectRefused(Start(db.url()), "is a superuser");

  const auto result = RunCommand(absl::StrCat(
      "DATABASE_URL=", ShellQuote(db.url()), " MESSAGING_JWT_SECRET=", ShellQuote(kTestSecret), " ",
      kBinary, " serve --listen 127.0.0.1:0 --log-format text"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("is a superuser"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("GRANT"), std::string::npos)
      << "names the fix: a role granted messaging_app\n"
      << result.output;
}

TEST(LoginRoleTest, ServeRefusesBypassRlsAndRolesThatCannotBecomeTheAppRole) {
  TestDatabase db("login_refused");
  const ScratchRole bypass("LOGIN NOINHERIT BYPASSRLS", /*app_member=*/true);
  ExpectRefused(Start(bypass.UrlFor(db)), "has BYPASSRLS");

  const ScratchRole outsider("LOGIN NOINHERIT", /*app_member=*/false);
  ExpectRefused(Start(outsider.UrlFor(db)), "cannot SET ROLE messaging_app");

  // The role every transaction switches to must not bypass RLS either.
  const ScratchRole powerful("NOLOGIN BYPASSRLS", /*app_member=*/false);
  const ScratchRole login("LOGIN NOINHERIT", /*app_member=*/false);
  ScratchRole::Admin(absl::StrCat("GRANT ", powerful.name(), " TO ", login.name()));
  ExpectRefused(Start(login.UrlFor(db), powerful.name()), "is SUPERUSER or BYPASSRLS");

  ExpectRefused(Start(db.server_url(), "no_such_role"), "does not exist");
  EXPECT_TRUE(Start(db.server_url()).ok()) << "the servers' login role is the model";
}

// A login role that owns the tables could alter or drop them, but row level
// security (forced) still applies to it: a warning, not a refusal.
TEST(LoginRoleTest, ServeWarnsWhenItLogsInAsTheOwner) {
  const ScratchRole owner("LOGIN CREATEROLE", /*app_member=*/false);
  TestDatabase db("login_owner", /*migrate=*/false);
  ScratchRole::Admin(absl::StrCat("ALTER DATABASE ", db.name(), " OWNER TO ", owner.name()));
  const std::string owner_url = owner.UrlFor(db);
  const auto migrated =
      RunCommand(absl::StrCat("MESSAGING_MIGRATE_DATABASE_URL=", ShellQuote(owner_url), " ",
                              kBinary, " migrate --log-format text"));
  ASSERT_EQ(migrated.exit_code, 0) << migrated.output;
  const ScratchRole extra("NOLOGIN", /*app_member=*/false);
  ScratchRole::Admin(absl::StrCat("GRANT ", extra.name(), " TO ", owner.name()));

  const auto result = RunCommand(absl::StrCat(
      "DATABASE_URL=", ShellQuote(owner_url), " MESSAGING_JWT_SECRET=", ShellQuote(kTestSecret),
      " MESSAGING_DRAIN_TIMEOUT_SECONDS=1 ", kBinary,
      " serve --listen 127.0.0.1:0 --log-format text & pid=$!; sleep 1; kill -TERM $pid; "
      "wait $pid; echo exit_code=$?"));
  EXPECT_NE(result.output.find("exit_code=0"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(absl::StrCat("database login role ", owner.name(),
                                            " owns conversations, message_events, messages")),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find(absl::StrCat("is also granted ", extra.name())), std::string::npos)
      << result.output;
}  // The database is dropped before its owner (declared first).

// Every connection the pool opens is checked: a login role that gains
// BYPASSRLS while the server runs gets no new connection.
TEST(LoginRoleTest, PoolRefusesConnectionsWhileTheLoginRoleBypassesRls) {
  TestDatabase db("login_pool");
  const ScratchRole login("LOGIN NOINHERIT", /*app_member=*/true);
  TestServer server(login.UrlFor(db), [](app::ServerConfig& c) { c.pool_size = 1; });
  const auto call = [&] {
    v1::GetConversationRequest request;
    request.set_id("1d1d1d1d-0000-4000-8000-000000000000");
    v1::Conversation out;
    auto context = server.Context("2e2e2e2e-0000-4000-8000-000000000000");
    return server.stub().GetConversation(context.get(), request, &out).error_code();
  };
  const auto reconnect = [&] {
    ScratchRole::Admin(
        absl::StrCat("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '",
                     login.name(), "'"));
  };
  ASSERT_EQ(call(), grpc::StatusCode::NOT_FOUND);

  ScratchRole::Admin(absl::StrCat("ALTER ROLE ", login.name(), " BYPASSRLS"));
  reconnect();
  EXPECT_EQ(call(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(call(), grpc::StatusCode::UNAVAILABLE);

  ScratchRole::Admin(absl::StrCat("ALTER ROLE ", login.name(), " NOBYPASSRLS"));
  EXPECT_EQ(call(), grpc::StatusCode::NOT_FOUND);
}

// `migrate` connects with MESSAGING_MIGRATE_DATABASE_URL when it is set, and
// with DATABASE_URL otherwise.
TEST(LoginRoleTest, MigratePrefersTheMigrateUrlAndFallsBackToDatabaseUrl) {
  TestDatabase db("login_migrate", /*migrate=*/false);
  const std::string unreachable = "postgresql://nobody@127.0.0.1:1/nowhere?connect_timeout=1";
  const auto migrate = [&](const std::string& env) {
    return RunCommand(absl::StrCat("env -u DATABASE_URL -u MESSAGING_MIGRATE_DATABASE_URL ", env,
                                   " ", kBinary, " migrate --log-format text"));
  };
  auto result = migrate(absl::StrCat("MESSAGING_MIGRATE_DATABASE_URL=", ShellQuote(unreachable),
                                     " DATABASE_URL=", ShellQuote(db.url())));
  EXPECT_NE(result.exit_code, 0) << "the migrate URL wins\n" << result.output;

  result = migrate(absl::StrCat("MESSAGING_MIGRATE_DATABASE_URL=", ShellQuote(db.url()),
                                " DATABASE_URL=", ShellQuote(unreachable)));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM messaging_schema_migrations"),
            static_cast<long long>(migrate::EmbeddedMigrations().size()));

  result = migrate(absl::StrCat("DATABASE_URL=", ShellQuote(db.url())));
  EXPECT_EQ(result.exit_code, 0) << "falls back to DATABASE_URL\n" << result.output;

  result = migrate("");
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("MESSAGING_MIGRATE_DATABASE_URL"), std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace messaging::testing
