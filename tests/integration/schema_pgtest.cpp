// The schema and its runner: migrations apply (by the runner and by psql,
// twice), the tables, RLS and indexes are in place (scripts/verify.sql
// agrees), Row Level Security isolates tenants inside PostgreSQL even for a
// superuser login, and the runner is safe under concurrency and refuses
// edited migrations.

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "migrate/migrator.h"
#include "support/subprocess.h"
#include "support/test_database.h"

namespace messaging::testing {
namespace {

constexpr char kBinary[] = MESSAGING_SERVER_BINARY;
constexpr char kSourceDir[] = MESSAGING_SOURCE_DIR;

TEST(MigrationTest, ApplyOnEmptyDatabaseThenRerunIsNoOp) {
  TestDatabase db("migrate_rerun", /*migrate=*/false);
  auto first = migrate::Migrate({db.url()}, migrate::EmbeddedMigrations());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->applied.size(), migrate::EmbeddedMigrations().size());
  auto second = migrate::Migrate({db.url()}, migrate::EmbeddedMigrations());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->applied.empty());
  EXPECT_EQ(second->already_applied.size(), migrate::EmbeddedMigrations().size());
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM messaging_schema_migrations"),
            static_cast<long long>(migrate::EmbeddedMigrations().size()));
  // The recorded checksum is the file's sha256.
  const auto& first_file = migrate::EmbeddedMigrations().front();
  EXPECT_EQ(db.Exec("SELECT checksum FROM messaging_schema_migrations ORDER BY version LIMIT 1")
                .at(0)
                .at(0)
                .as<std::string>(),
            migrate::Sha256Hex(first_file.sql));
}

TEST(MigrationTest, FilesApplyTwiceByHandWithPsql) {
  TestDatabase db("migrate_psql", /*migrate=*/false);
  for (int run = 0; run < 2; ++run) {
    for (const auto& file : migrate::EmbeddedMigrations()) {
      const auto result =
          RunCommand(absl::StrCat("psql -X -q -v ON_ERROR_STOP=1 ", ShellQuote(db.url()), " -f ",
                                  kSourceDir, "/migrations/", file.name));
      EXPECT_EQ(result.exit_code, 0) << file.name << " run " << run << ": " << result.output;
    }
  }
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM pg_tables WHERE tablename IN "
                      "('conversations', 'messages') AND rowsecurity"),
            2);
}

TEST(MigrationTest, ChangedAppliedFileIsRefused) {
  TestDatabase db("migrate_changed");
  auto files = migrate::EmbeddedMigrations();
  files.back().sql += "\n-- edited after release\n";
  auto report = migrate::Migrate({db.url()}, files);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(report.status().message().find(files.back().name), std::string::npos);

  // And the binary exits non-zero with the reason.
  const std::string dir = absl::StrCat("/tmp/", db.name(), "_migrations");
  RunCommand("mkdir -p " + dir + " && cp " + kSourceDir + "/migrations/*.sql " + dir +
             " && echo '-- edited' >> " + dir + "/" + files.back().name);
  const auto result = RunCommand(absl::StrCat(kBinary, " migrate --log-format text --dir ", dir,
                                              " --database-url ", ShellQuote(db.url())));
  RunCommand("rm -rf " + dir);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("changed after it was applied"), std::string::npos) << result.output;
}

// 001 and 002 were re-worded in their header comments after release: a
// database that recorded their old checksums migrates on, and records the new
// ones. Any other recorded checksum is still refused.
TEST(MigrationTest, AFileRewordedInCommentsOnlyIsAcceptedUnderItsOldChecksum) {
  TestDatabase db("migrate_reworded");
  const auto& files = migrate::EmbeddedMigrations();
  const std::string first = "001_create_conversations_messages";
  const auto file = std::find_if(files.begin(), files.end(),
                                 [&](const auto& f) { return f.name == first + ".sql"; });
  ASSERT_NE(file, files.end());
  const std::string old_checksum =
      "35ff8ab4431a14cc43da85d66347db42a901e6e9f3af762f4c4d06303809608f";
  db.Exec("UPDATE messaging_schema_migrations SET checksum = '" + old_checksum +
          "' WHERE version = '" + first + "'");
  auto report = migrate::Migrate({db.url()}, files);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->applied.empty());
  EXPECT_EQ(
      db.Exec("SELECT checksum FROM messaging_schema_migrations WHERE version = '" + first + "'")
          .at(0)
          .at(0)
          .as<std::string>(),
      migrate::Sha256Hex(file->sql));

  db.Exec("UPDATE messaging_schema_migrations SET checksum = 'something else' WHERE version = '" +
          first + "'");
  report = migrate::Migrate({db.url()}, files);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);

  // The released checksum covers only the listed re-wording, not a later edit.
  db.Exec("UPDATE messaging_schema_migrations SET checksum = '" + old_checksum +
          "' WHERE version = '" + first + "'");
  auto edited = files;
  edited[static_cast<std::size_t>(file - files.begin())].sql += "\n-- edited again\n";
  report = migrate::Migrate({db.url()}, edited);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MigrationTest, ConcurrentRunnersApplyEachFileOnce) {
  TestDatabase db("migrate_concurrent", /*migrate=*/false);
  const std::string command =
      absl::StrCat(kBinary, " migrate --log-format text --database-url ", ShellQuote(db.url()));
  // Four processes started at once; the advisory lock serialises them and
  // every one of them must exit 0.
  const auto result = RunCommand(absl::StrCat(
      "s=0; ", command, " & p1=$!; ", command, " & p2=$!; ", command, " & p3=$!; ", command,
      " & p4=$!; for p in $p1 $p2 $p3 $p4; do wait $p || s=1; done; echo exit_status=$s"));
  EXPECT_NE(result.output.find("exit_status=0"), std::string::npos) << result.output;
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM messaging_schema_migrations"),
            static_cast<long long>(migrate::EmbeddedMigrations().size()));
}

// The tables, their RLS flag and every index exist, and scripts/verify.sql
// (which also checks policies, grants and the app role) passes.
TEST(SchemaTest, TablesRlsAndIndexesExistAndVerifyScriptPasses) {
  TestDatabase db("schema_verify");
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                      "'public' AND table_name IN ('conversations', 'messages')"),
            2);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM pg_tables WHERE tablename IN "
                      "('conversations', 'messages') AND rowsecurity"),
            2);
  std::set<std::string> indexes;
  for (const auto& row : db.Exec("SELECT indexname FROM pg_indexes WHERE tablename IN "
                                 "('conversations', 'messages')")) {
    indexes.insert(row[0].as<std::string>());
  }
  for (const char* expected :
       {"idx_conversations_inbox", "idx_conversations_customer", "idx_conversations_customer_fk",
        "idx_conversations_channel", "idx_conversations_status", "idx_conversations_unique_active",
        "idx_messages_conversation", "idx_messages_created_at", "idx_messages_ai_pending",
        "idx_messages_unique_external_id"}) {
    EXPECT_EQ(indexes.count(expected), 1u) << "missing index " << expected;
  }
  // scripts/verify.sql raises on anything missing.
  const auto result =
      RunCommand(absl::StrCat("psql -X -q -v ON_ERROR_STOP=1 ", ShellQuote(db.url()), " -f ",
                              kSourceDir, "/scripts/verify.sql"));
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(SchemaTest, CleanupScriptRemovesTheSchemaAndMigrationsRestoreIt) {
  TestDatabase db("schema_cleanup");
  const auto cleanup =
      RunCommand(absl::StrCat("psql -X -q -v ON_ERROR_STOP=1 ", ShellQuote(db.url()), " -f ",
                              kSourceDir, "/scripts/cleanup.sql"));
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.output;
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN "
                      "('conversations', 'messages')"),
            0);
  auto report = migrate::Migrate({db.url()}, migrate::EmbeddedMigrations());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM pg_tables WHERE tablename IN "
                      "('conversations', 'messages') AND rowsecurity"),
            2);
}

TEST(SchemaTest, AppRoleIsUnprivilegedAndRlsIsForced) {
  TestDatabase db("schema_role");
  const auto role = db.Exec(
      "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'messaging_app'");
  ASSERT_EQ(role.size(), 1u);
  EXPECT_FALSE(role[0][0].as<bool>());
  EXPECT_FALSE(role[0][1].as<bool>());
  EXPECT_FALSE(role[0][2].as<bool>());
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                      "WHERE r.rolname = 'messaging_app'"),
            0);
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM pg_class WHERE relname IN "
                      "('conversations', 'messages') AND relrowsecurity AND relforcerowsecurity"),
            2);
}

class RowLevelSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase("rls");
    a_ = db_->NewDistributor();
    b_ = db_->NewDistributor();
    const std::string customer = db_->NewCustomer();
    for (const auto& d : {a_, b_}) {
      db_->Exec("INSERT INTO conversations (distributor_id, customer_id, channel) VALUES ('" + d +
                "', '" + customer + "', 'sms')");
      db_->Exec(
          "INSERT INTO messages (conversation_id, distributor_id, direction, content, "
          "delivery_status) SELECT id, distributor_id, 'inbound', 'hi', 'received' "
          "FROM conversations WHERE distributor_id = '" +
          d + "'");
    }
  }
  static void TearDownTestSuite() { delete db_; }

  // Counts visible rows as the app role, the way the server's transactions run.
  static long long VisibleAs(pqxx::connection& conn, const char* setting, const char* table) {
    pqxx::work tx(conn);
    tx.exec("SET LOCAL ROLE messaging_app");
    if (setting != nullptr) {
      tx.exec_params("SELECT set_config('app.distributor_id', $1, true)", setting);
    }
    return tx.exec(std::string("SELECT count(*) FROM ") + table).at(0).at(0).as<long long>();
  }

  static inline TestDatabase* db_ = nullptr;
  static inline std::string a_, b_;
};

TEST_F(RowLevelSecurityTest, TenantSeesOnlyItsOwnRowsEvenWithASuperuserLogin) {
  pqxx::connection conn(db_->url());  // Logged in as a superuser.
  for (const char* table : {"conversations", "messages"}) {
    EXPECT_EQ(VisibleAs(conn, a_.c_str(), table), 1) << table;
    EXPECT_EQ(VisibleAs(conn, b_.c_str(), table), 1) << table;
  }
}

TEST_F(RowLevelSecurityTest, NoTenantSettingSeesNothingNullOrEmpty) {
  pqxx::connection conn(db_->url());
  // Fresh session: the setting is NULL.
  EXPECT_EQ(VisibleAs(conn, nullptr, "conversations"), 0);
  // After another tenant's transaction on the same (pooled) connection the
  // setting reads '' rather than NULL: still nothing.
  EXPECT_EQ(VisibleAs(conn, a_.c_str(), "conversations"), 1);
  EXPECT_EQ(VisibleAs(conn, nullptr, "conversations"), 0);
  EXPECT_EQ(VisibleAs(conn, "", "messages"), 0);
  EXPECT_EQ(VisibleAs(conn, "not-a-uuid", "messages"), 0);
}

TEST_F(RowLevelSecurityTest, CannotWriteAnotherTenantsRows) {
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  tx.exec("SET LOCAL ROLE messaging_app");
  tx.exec_params("SELECT set_config('app.distributor_id', $1, true)", a_);
  EXPECT_EQ(
      tx.exec("UPDATE conversations SET unread_count = 99 WHERE distributor_id = '" + b_ + "'")
          .affected_rows(),
      0u);
  EXPECT_EQ(tx.exec("DELETE FROM messages WHERE distributor_id = '" + b_ + "'").affected_rows(),
            0u);
  EXPECT_THROW(tx.exec("INSERT INTO conversations (distributor_id, customer_id, channel) "
                       "SELECT '" +
                       b_ + "', id, 'email' FROM customers LIMIT 1"),
               pqxx::sql_error);
}

TEST_F(RowLevelSecurityTest, SupabaseJwtClaimsSelectTheTenantAndMalformedClaimsSeeNothing) {
  pqxx::connection conn(db_->url());
  auto visible = [&](const std::string& claims) {
    pqxx::work tx(conn);
    tx.exec("SET LOCAL ROLE messaging_app");
    tx.exec_params("SELECT set_config('request.jwt.claims', $1, true)", claims);
    return tx.exec("SELECT count(*) FROM conversations").at(0).at(0).as<long long>();
  };
  EXPECT_EQ(visible(R"({"distributor_id":")" + a_ + R"(","role":"authenticated"})"), 1);
  EXPECT_EQ(visible("{not json"), 0);
  EXPECT_EQ(visible(R"({"distributor_id":"nope"})"), 0);
  EXPECT_EQ(visible(R"({"distributor_id":42})"), 0);
  EXPECT_EQ(visible(R"({"sub":"someone"})"), 0);
}

TEST_F(RowLevelSecurityTest, MessageDistributorMustMatchItsConversation) {
  EXPECT_THROW(db_->Exec("INSERT INTO messages (conversation_id, distributor_id, direction, "
                         "content, delivery_status) SELECT id, '" +
                         b_ +
                         "', 'inbound', 'x', "
                         "'received' FROM conversations WHERE distributor_id = '" +
                         a_ + "'"),
               pqxx::sql_error);
}

}  // namespace
}  // namespace messaging::testing
