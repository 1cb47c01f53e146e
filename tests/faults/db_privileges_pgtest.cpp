// The database role every server transaction runs as (messaging_app, with a
// tenant set, exactly as repository/transaction.cpp sets it up) holds only
// the grants it needs.
//
// Proves: it cannot change the schema (ALTER, DROP, TRUNCATE, policies, RLS
// switches, the event heads function), create objects, grant itself more,
// become another role, rewrite the stream's change log, touch the host application's tables or any
// table it was not granted (the migrations bookkeeping, pg_authid, another schema's or another
// public table), or read and write server files; its attributes are the non-privileged ones and it
// owns nothing. Each refusal must be SQLSTATE 42501 (insufficient_privilege), so a statement that
// fails for another reason (a typo, a missing table) does not count as a pass. Also:
// messaging_event_reader, the owner of the SECURITY DEFINER function messaging_event_heads()
// (migration 003), has no powers either and reads nothing but event positions.

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "support/test_database.h"

namespace messaging::testing {
namespace {

class DbPrivilegesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase("db_privileges");
    distributor_ = db_->NewDistributor();
    const std::string customer = db_->NewCustomer();
    db_->Exec("INSERT INTO conversations (distributor_id, customer_id, channel) VALUES ('" +
              distributor_ + "', '" + customer + "', 'sms')");
    // Data the app role must never see, in another schema and in public.
    db_->Exec(
        "CREATE SCHEMA host_private; "
        "CREATE TABLE host_private.api_keys (k text); INSERT INTO host_private.api_keys "
        "VALUES ('secret'); "
        "CREATE TABLE public.host_secrets (k text); INSERT INTO public.host_secrets "
        "VALUES ('secret')");
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }

  // Runs `sql` as the server's transactions do (role messaging_app, a tenant
  // set) and returns the SQLSTATE it failed with, "" if it succeeded. Always
  // rolled back.
  static std::string AsApp(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::work tx(conn);
    tx.exec_params(
        "SELECT set_config('role', 'messaging_app', true), "
        "set_config('app.distributor_id', $1, true)",
        distributor_);
    try {
      tx.exec(sql);
    } catch (const pqxx::insufficient_privilege&) {
      return "42501";  // libpqxx 6.4 leaves sqlstate() empty for this one.
    } catch (const pqxx::sql_error& e) {
      return e.sqlstate() + " " + e.what();
    } catch (const std::exception& e) {
      return std::string("not an SQL error: ") + e.what();
    }
    tx.abort();
    return "";
  }

  static inline TestDatabase* db_ = nullptr;
  static inline std::string distributor_;
};

constexpr char kDenied[] = "42501";

TEST_F(DbPrivilegesTest, TheSetupReallyRunsAsTheAppRole) {
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);
  tx.exec_params(
      "SELECT set_config('role', 'messaging_app', true), "
      "set_config('app.distributor_id', $1, true)",
      distributor_);
  EXPECT_EQ(tx.exec("SELECT current_user").at(0).at(0).as<std::string>(), "messaging_app");
  // What it may do, it can: its tenant's rows, and only those.
  EXPECT_EQ(tx.exec("SELECT count(*) FROM conversations").at(0).at(0).as<int>(), 1);
  const std::string stranger = db_->NewDistributor();
  tx.exec_params("SELECT set_config('app.distributor_id', $1, true)", stranger);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM conversations").at(0).at(0).as<int>(), 0);
}

TEST_F(DbPrivilegesTest, CannotChangeTheSchema) {
  const char* statements[] = {
      "ALTER TABLE conversations ADD COLUMN pwned int",
      "ALTER TABLE messages DROP COLUMN content",
      "ALTER TABLE messages DISABLE ROW LEVEL SECURITY",
      "ALTER TABLE conversations NO FORCE ROW LEVEL SECURITY",
      "DROP TABLE messages",
      "DROP TABLE conversations CASCADE",
      "DROP TABLE message_events",
      "TRUNCATE messages",
      "TRUNCATE conversations CASCADE",
      "TRUNCATE message_events",
      "CREATE POLICY open_door ON messages FOR SELECT USING (true)",
      "DROP POLICY IF EXISTS messages_tenant_select ON messages",
      "ALTER POLICY messages_tenant_delete ON messages USING (true)",
      "CREATE INDEX pwned ON messages (content)",
      "CREATE OR REPLACE FUNCTION public.messaging_current_distributor_id() RETURNS uuid "
      "LANGUAGE sql AS 'SELECT NULL::uuid'",
      "DROP FUNCTION public.messaging_current_distributor_id()",
      "CREATE TRIGGER pwned BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION "
      "suppress_redundant_updates_trigger()",
      "ALTER TABLE message_events DISABLE TRIGGER ALL",
      "ALTER TABLE messages DISABLE TRIGGER ALL",
      "DROP POLICY message_events_heads ON message_events",
      "CREATE POLICY open_door ON message_events FOR SELECT TO messaging_app USING (true)",
      "CREATE OR REPLACE FUNCTION public.messaging_event_heads(from_xid xid8, to_xid xid8) "
      "RETURNS TABLE (distributor_id uuid, last_xid xid8, last_seq bigint) LANGUAGE sql "
      "AS 'SELECT NULL::uuid, NULL::xid8, NULL::bigint'",
      "ALTER FUNCTION public.messaging_event_heads(xid8, xid8) SECURITY INVOKER",
      "DROP FUNCTION public.messaging_event_heads(xid8, xid8)",
      "DROP TRIGGER messages_bump_version ON messages",
  };
  for (const char* sql : statements) EXPECT_EQ(AsApp(sql), kDenied) << sql;
}

TEST_F(DbPrivilegesTest, CannotCreateObjectsOrGainPrivileges) {
  const char* statements[] = {
      "CREATE TABLE public.pwned (x int)",
      "CREATE TABLE pwned (x int)",
      "CREATE VIEW public.all_messages AS SELECT 1 AS x",
      "CREATE FUNCTION public.pwned() RETURNS int LANGUAGE sql AS 'SELECT 1'",
      "CREATE SCHEMA pwned",
      "CREATE ROLE pwned",
      "ALTER ROLE messaging_app BYPASSRLS",
      "ALTER ROLE messaging_app SUPERUSER",
      "GRANT SELECT ON host_secrets TO messaging_app",
      "GRANT messaging_event_reader TO messaging_app",
      "ALTER FUNCTION public.messaging_event_heads(xid8, xid8) OWNER TO messaging_app",
  };
  for (const char* sql : statements) EXPECT_EQ(AsApp(sql), kDenied) << sql;
}

TEST_F(DbPrivilegesTest, CannotReadOrWriteWhatItWasNotGranted) {
  const char* statements[] = {
      "SELECT * FROM messaging_schema_migrations",
      "DELETE FROM messaging_schema_migrations",
      "SELECT * FROM pg_authid",
      "SELECT rolpassword FROM pg_authid",
      "SELECT * FROM host_private.api_keys",
      "SELECT * FROM public.host_secrets",
      "SELECT * FROM distributors",
      "INSERT INTO distributors DEFAULT VALUES",
      "SELECT * FROM customers",
      "DELETE FROM customers",
      // The change log is append-only for the app (the trigger writes it).
      "UPDATE message_events SET event_type = event_type",
      "SELECT pg_read_file('/etc/passwd')",
      "COPY messages TO '/tmp/messaging_exfiltrated'",
      "COPY messages FROM PROGRAM 'true'",
      "SELECT lo_import('/etc/passwd')",
  };
  for (const char* sql : statements) EXPECT_EQ(AsApp(sql), kDenied) << sql;
}

TEST_F(DbPrivilegesTest, TheAppRoleHasNoPowersOwnsNothingAndHoldsOnlyItsGrants) {
  const auto role = db_->Exec(
      "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb, rolreplication, "
      "rolinherit FROM pg_roles WHERE rolname = 'messaging_app'");
  ASSERT_EQ(role.size(), 1u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_FALSE(role.at(0).at(i).as<bool>()) << role.column_name(i);
  }
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_class WHERE relowner = 'messaging_app'::regrole"),
            0);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_proc WHERE proowner = 'messaging_app'::regrole"),
            0);
  EXPECT_EQ(
      db_->Scalar("SELECT count(*) FROM pg_namespace WHERE nspowner = 'messaging_app'::regrole"),
      0);
  // Member of nothing that could lend it privileges.
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_auth_members WHERE member = "
                        "'messaging_app'::regrole"),
            0);
  // Privileges on tables, views and sequences: exactly the data-manipulation
  // grants the server uses.
  const auto grants = db_->Exec(
      "SELECT c.relname || ':' || string_agg(a.privilege_type, ',' ORDER BY a.privilege_type) "
      "FROM pg_class c, aclexplode(c.relacl) a WHERE a.grantee = 'messaging_app'::regrole "
      "GROUP BY c.relname ORDER BY c.relname");
  std::vector<std::string> got;
  for (const auto& row : grants) got.push_back(row.at(0).as<std::string>());
  EXPECT_EQ(got, (std::vector<std::string>{"conversations:DELETE,INSERT,SELECT,UPDATE",
                                           "message_events:DELETE,INSERT,SELECT",
                                           "messages:DELETE,INSERT,SELECT,UPDATE"}));
  // Functions: besides PUBLIC's, only the event heads function.
  const auto functions = db_->Exec(
      "SELECT p.proname FROM pg_proc p, aclexplode(p.proacl) a "
      "WHERE a.grantee = 'messaging_app'::regrole ORDER BY 1");
  ASSERT_EQ(functions.size(), 1u);
  EXPECT_EQ(functions.at(0).at(0).as<std::string>(), "messaging_event_heads");
}

// The owner of messaging_event_heads(): no powers, no members, owns that one
// function, and may read only the positions of events (a column grant plus
// its own policy), not their message states.
TEST_F(DbPrivilegesTest, TheEventReaderRoleReadsPositionsOnlyAndOwnsOneFunction) {
  const auto role = db_->Exec(
      "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb, rolreplication, "
      "rolinherit FROM pg_roles WHERE rolname = 'messaging_event_reader'");
  ASSERT_EQ(role.size(), 1u);
  for (int i = 0; i < 7; ++i) {
    EXPECT_FALSE(role.at(0).at(i).as<bool>()) << role.column_name(i);
  }
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_auth_members WHERE roleid = "
                        "'messaging_event_reader'::regrole OR member = "
                        "'messaging_event_reader'::regrole"),
            0);
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_class WHERE relowner = "
                        "'messaging_event_reader'::regrole"),
            0);
  const auto owned = db_->Exec(
      "SELECT proname, prosecdef, array_to_string(proconfig, ',') FROM pg_proc "
      "WHERE proowner = 'messaging_event_reader'::regrole");
  ASSERT_EQ(owned.size(), 1u);
  EXPECT_EQ(owned.at(0).at(0).as<std::string>(), "messaging_event_heads");
  EXPECT_TRUE(owned.at(0).at(1).as<bool>()) << "must be SECURITY DEFINER";
  EXPECT_EQ(owned.at(0).at(2).as<std::string>(), "search_path=pg_catalog, pg_temp");
  // EXECUTE: the owner and messaging_app, not PUBLIC.
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_proc p, aclexplode(p.proacl) a WHERE p.oid = "
                        "'public.messaging_event_heads(xid8, xid8)'::regprocedure AND a.grantee "
                        "NOT IN ('messaging_app'::regrole, 'messaging_event_reader'::regrole)"),
            0);
  EXPECT_FALSE(db_->Exec("SELECT has_function_privilege('public', "
                         "'public.messaging_event_heads(xid8, xid8)', 'EXECUTE')")
                   .at(0)
                   .at(0)
                   .as<bool>());
  // No table privilege; SELECT on exactly three columns of message_events.
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a "
                        "WHERE a.grantee = 'messaging_event_reader'::regrole"),
            0);
  const auto columns = db_->Exec(
      "SELECT string_agg(attrelid::regclass || '.' || attname || ':' || privilege_type, ',' "
      "ORDER BY attname) FROM pg_attribute, aclexplode(attacl) a "
      "WHERE a.grantee = 'messaging_event_reader'::regrole");
  EXPECT_EQ(columns.at(0).at(0).as<std::string>(),
            "message_events.distributor_id:SELECT,message_events.seq:SELECT,"
            "message_events.xid:SELECT");
  // Its policy is the only one that is not a tenant or prune policy.
  const auto policy = db_->Exec(
      "SELECT cmd, roles::text, qual FROM pg_policies WHERE policyname = 'message_events_heads'");
  ASSERT_EQ(policy.size(), 1u);
  EXPECT_EQ(policy.at(0).at(0).as<std::string>(), "SELECT");
  EXPECT_EQ(policy.at(0).at(1).as<std::string>(), "{messaging_event_reader}");
}

}  // namespace
}  // namespace messaging::testing
