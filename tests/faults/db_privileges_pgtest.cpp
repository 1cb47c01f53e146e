// The database role every server transaction runs as (messaging_app, with a
// tenant set, exactly as repository/transaction.cpp sets it up, from the
// servers' login role) holds only the grants it needs.
//
// Proves: it cannot change the schema (ALTER, DROP, TRUNCATE, policies, RLS
// switches, the event heads and prune functions), create objects, grant itself more,
// become another role, rewrite or delete from the stream's change log, touch the host application's
// tables or any table it was not granted (the migrations bookkeeping, the log's low-water mark,
// pg_authid, another schema's or another public table), or read and write server files; it can
// prune the log only through messaging_prune_events() and never with a retention below an hour;
// its attributes are the non-privileged ones and it owns nothing. Each refusal must be SQLSTATE
// 42501 (insufficient_privilege), so a statement that fails for another reason (a typo, a missing
// table) does not count as a pass. Also: messaging_event_reader and messaging_event_pruner, the
// owners of the SECURITY DEFINER functions (migrations 003 and 004), have no powers either and
// touch nothing but event positions (the pruner: deletes events older than an hour); PUBLIC and
// Supabase's anon/authenticated have no privilege on any messaging object; every messaging
// function has a fixed search_path; the login role can do nothing but become messaging_app.

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "migrate/embedded_migrations.h"
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
    pqxx::connection conn(db_->server_url());
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

  // The owner of SECURITY DEFINER functions: NOLOGIN and no other power, no
  // members, member of nothing, owns no table.
  static void ExpectPowerlessOwnerOfNoTable(const std::string& name) {
    const auto role = db_->Exec(
        "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb, rolreplication, "
        "rolinherit FROM pg_roles WHERE rolname = '" +
        name + "'");
    ASSERT_EQ(role.size(), 1u) << name;
    for (int i = 0; i < 7; ++i) {
      EXPECT_FALSE(role.at(0).at(i).as<bool>()) << name << " " << role.column_name(i);
    }
    EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_auth_members WHERE roleid = '" + name +
                          "'::regrole OR member = '" + name + "'::regrole"),
              0)
        << name;
    EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_class WHERE relowner = '" + name + "'::regrole"),
              0)
        << name;
  }

  static inline TestDatabase* db_ = nullptr;
  static inline std::string distributor_;
};

constexpr char kDenied[] = "42501";

TEST_F(DbPrivilegesTest, TheSetupReallyRunsAsTheAppRole) {
  pqxx::connection conn(db_->server_url());
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
  // Some statements are split over lines on purpose (adjacent literals).
  // NOLINTNEXTLINE(bugprone-suspicious-missing-comma)
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
      // One statement split over two lines, not a missing comma.
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma)
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
      "DROP POLICY message_events_prune ON message_events",
      "ALTER POLICY message_events_prune_read ON message_events USING (true)",
      "ALTER FUNCTION public.messaging_prune_events(messaging_event_retention) SECURITY INVOKER",
      "ALTER FUNCTION public.messaging_record_message_event() RESET search_path",
      "ALTER DOMAIN messaging_event_retention DROP CONSTRAINT messaging_event_retention_floor",
      "DROP DOMAIN messaging_event_retention CASCADE",
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
      // The change log is append-only for the app (the trigger writes it);
      // pruning goes through messaging_prune_events() only.
      "UPDATE message_events SET event_type = event_type",
      "DELETE FROM message_events",
      "DELETE FROM message_events WHERE created_at < now() - interval '1 day'",
      "SELECT * FROM message_events_low_water",
      "UPDATE message_events_low_water SET pruned_seq = 0",
      "INSERT INTO messaging_schema_migrations (version, checksum) VALUES ('999', 'x')",
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
  EXPECT_EQ(got, (std::vector<std::string>{"ai_work_completions:INSERT,SELECT,UPDATE",
                                           "ai_work_items:DELETE,INSERT,SELECT,UPDATE",
                                           "conversations:DELETE,INSERT,SELECT,UPDATE",
                                           "message_events:INSERT,SELECT",
                                           "messages:DELETE,INSERT,SELECT,UPDATE"}));
  // Functions: the AI work queue's cross-tenant steps (migration 005), the
  // tenant function, event heads, pruning and its mark.
  const auto functions = db_->Exec(
      "SELECT p.proname FROM pg_proc p, aclexplode(p.proacl) a "
      "WHERE a.grantee = 'messaging_app'::regrole ORDER BY 1");
  std::vector<std::string> executable;
  for (const auto& row : functions) executable.push_back(row.at(0).as<std::string>());
  EXPECT_EQ(executable,
            (std::vector<std::string>{"ai_work_claim", "ai_work_depth", "ai_work_list",
                                      "ai_work_locate", "ai_work_next_available", "ai_work_prune",
                                      "messaging_current_distributor_id", "messaging_event_heads",
                                      "messaging_event_low_water", "messaging_prune_events"}));
}

// The app role may prune, but never with a retention below an hour (the
// function's argument domain refuses it: 23514), so it cannot empty the log
// under other tenants' live streams.
TEST_F(DbPrivilegesTest, PrunesOnlyThroughTheFunctionAndNeverBelowAnHour) {
  for (const char* sql :
       {"SELECT messaging_prune_events('59 minutes')", "SELECT messaging_prune_events('0')",
        "SELECT messaging_prune_events('-7 days')"}) {
    EXPECT_EQ(AsApp(sql).substr(0, 5), "23514") << sql;
  }
  EXPECT_EQ(AsApp("SELECT messaging_prune_events('1 hour')"), "");
  EXPECT_EQ(AsApp("SELECT * FROM messaging_event_low_water()"), "");
}

// The login role is a door to messaging_app and nothing else: without the
// switch it has no privilege of its own (NOINHERIT), and no other role.
TEST_F(DbPrivilegesTest, TheLoginRoleCanOnlyBecomeTheAppRole) {
  const auto role = db_->Exec(
      "SELECT rolsuper, rolbypassrls, rolinherit, rolcreaterole, rolcreatedb, rolreplication "
      "FROM pg_roles WHERE rolname = '" +
      std::string(kServerLoginRole) + "'");
  ASSERT_EQ(role.size(), 1u);
  for (int i = 0; i < 6; ++i) {
    EXPECT_FALSE(role.at(0).at(i).as<bool>()) << role.column_name(i);
  }
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_auth_members WHERE member = '" +
                        std::string(kServerLoginRole) +
                        "'::regrole AND roleid <> "
                        "'messaging_app'::regrole"),
            0);
  for (const char* sql :
       {"SELECT count(*) FROM messages", "SELECT count(*) FROM conversations",
        "SELECT count(*) FROM message_events", "SELECT messaging_current_distributor_id()",
        "SELECT messaging_prune_events('7 days')", "SET ROLE messaging_event_reader",
        "SET ROLE messaging_event_pruner", "SET ROLE postgres"}) {
    pqxx::connection conn(db_->server_url());
    pqxx::work tx(conn);
    EXPECT_THROW(tx.exec(sql), pqxx::insufficient_privilege) << sql;
  }
}

// Every object the migrations create is closed to PUBLIC and, where they
// exist, Supabase's anon and authenticated, even after default privileges
// handed them everything (as in a Supabase project).
TEST_F(DbPrivilegesTest, NobodyElseHasAnyPrivilegeOnMessagingObjects) {
  db_->Exec(
      "DO $$ BEGIN "
      "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN "
      "BEGIN CREATE ROLE anon NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN "
      "NULL; END; END IF; "
      "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN "
      "BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN duplicate_object OR "
      "unique_violation THEN NULL; END; END IF; END $$");
  const std::string everyone = " TO PUBLIC, anon, authenticated; ";
  db_->Exec(
      "GRANT ALL ON TABLE conversations, messages, message_events, message_events_low_water, "
      "messaging_schema_migrations" +
      everyone + "GRANT ALL ON SEQUENCE message_events_seq_seq" + everyone +
      "GRANT ALL ON DOMAIN messaging_event_retention" + everyone +
      "GRANT ALL ON FUNCTION messaging_current_distributor_id(), "
      "messaging_touch_updated_at(), messaging_bump_version(), "
      "messaging_record_message_event(), messaging_event_heads(xid8, xid8), "
      "messaging_prune_events(messaging_event_retention), messaging_event_low_water()" +
      everyone);
  // Re-applying the migration (idempotent) takes it all back.
  for (const auto& file : migrate::EmbeddedMigrations()) {
    if (file.name == "004_least_privilege.sql") db_->Exec(file.sql);
  }
  const std::string objects =
      "SELECT c.oid, c.relacl AS acl, c.relname AS name FROM pg_class c "
      "WHERE c.relnamespace = 'public'::regnamespace AND (c.relname LIKE 'messag%' OR c.relname "
      "IN ('conversations', 'message_events_seq_seq')) AND c.relkind IN ('r', 'S') "
      "UNION ALL SELECT p.oid, p.proacl, p.proname FROM pg_proc p "
      "WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'messaging%' "
      "UNION ALL SELECT t.oid, t.typacl, t.typname FROM pg_type t "
      "WHERE t.typnamespace = 'public'::regnamespace AND t.typname = 'messaging_event_retention'";
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM (" + objects + ") o"), 14)
      << "5 tables, 1 sequence, 7 functions, 1 domain";
  const auto open = db_->Exec(
      "SELECT o.name || ' to ' || CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE "
      "a.grantee::regrole::text "
      "END FROM (" +
      objects +
      ") o, aclexplode(coalesce(o.acl, '{}')) a WHERE a.grantee = 0 "
      "OR a.grantee IN ('anon'::regrole, 'authenticated'::regrole)");
  for (const auto& row : open) ADD_FAILURE() << "granted: " << row.at(0).as<std::string>();
  // No ACL at all (NULL) means the defaults, which give functions and types
  // to PUBLIC: every messaging function and the domain have an explicit one.
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM (" + objects + ") o WHERE o.acl IS NULL"), 0);
}

// The policies call the tenant function as the querying role: another role
// given a messaging table (e.g. Supabase's authenticated, for PostgREST) also
// needs EXECUTE on it, or its queries fail rather than return rows.
TEST_F(DbPrivilegesTest, AnotherReaderNeedsTheTenantFunctionToo) {
  pqxx::connection conn(db_->url());
  pqxx::work tx(conn);  // Rolled back: the role and grants go with it.
  tx.exec(
      "CREATE ROLE t_privileges_reader NOLOGIN; "
      "GRANT SELECT ON messages TO t_privileges_reader");
  tx.exec_params("SELECT set_config('app.distributor_id', $1, true)", distributor_);
  {
    pqxx::subtransaction without(tx);
    without.exec("SET LOCAL ROLE t_privileges_reader");
    EXPECT_THROW(without.exec("SELECT count(*) FROM messages"), pqxx::insufficient_privilege);
  }
  tx.exec("GRANT EXECUTE ON FUNCTION messaging_current_distributor_id() TO t_privileges_reader");
  tx.exec("SET LOCAL ROLE t_privileges_reader");
  EXPECT_NO_THROW(tx.exec("SELECT count(*) FROM messages"));
}

TEST_F(DbPrivilegesTest, EveryMessagingFunctionHasAFixedSearchPath) {
  const auto functions = db_->Exec(
      "SELECT proname, coalesce(array_to_string(proconfig, ','), '') FROM pg_proc "
      "WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'messaging%' ORDER BY 1");
  EXPECT_EQ(functions.size(), 7u);
  for (const auto& row : functions) {
    EXPECT_EQ(row.at(1).as<std::string>(), "search_path=pg_catalog, pg_temp")
        << row.at(0).as<std::string>();
  }
}

// The owner of messaging_event_heads(): no powers, no members, owns that one
// function, and may read only the positions of events (a column grant plus
// its own policy), not their message states.
TEST_F(DbPrivilegesTest, TheEventReaderRoleReadsPositionsOnlyAndOwnsOneFunction) {
  ExpectPowerlessOwnerOfNoTable("messaging_event_reader");
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
  // Its policy lets only it read, and every row.
  const auto policy = db_->Exec(
      "SELECT cmd, roles::text, qual FROM pg_policies WHERE policyname = 'message_events_heads'");
  ASSERT_EQ(policy.size(), 1u);
  EXPECT_EQ(policy.at(0).at(0).as<std::string>(), "SELECT");
  EXPECT_EQ(policy.at(0).at(1).as<std::string>(), "{messaging_event_reader}");
}

// The owner of messaging_prune_events() and messaging_event_low_water()
// (migration 004): no powers, no members, owns those two functions, may read
// event positions and times only, and deletes, even acting as itself, only
// events older than an hour.
TEST_F(DbPrivilegesTest, TheEventPrunerRoleDeletesOnlyOldEventsAndOwnsTwoFunctions) {
  ExpectPowerlessOwnerOfNoTable("messaging_event_pruner");
  const auto owned = db_->Exec(
      "SELECT proname, prosecdef, array_to_string(proconfig, ',') FROM pg_proc "
      "WHERE proowner = 'messaging_event_pruner'::regrole ORDER BY proname");
  ASSERT_EQ(owned.size(), 2u);
  EXPECT_EQ(owned.at(0).at(0).as<std::string>(), "messaging_event_low_water");
  EXPECT_EQ(owned.at(1).at(0).as<std::string>(), "messaging_prune_events");
  for (const auto& row : owned) {
    EXPECT_TRUE(row.at(1).as<bool>()) << "must be SECURITY DEFINER";
    EXPECT_EQ(row.at(2).as<std::string>(), "search_path=pg_catalog, pg_temp");
  }
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM pg_proc p, aclexplode(p.proacl) a WHERE p.proowner = "
                        "'messaging_event_pruner'::regrole AND a.grantee NOT IN "
                        "('messaging_app'::regrole, 'messaging_event_pruner'::regrole)"),
            0);
  const auto tables = db_->Exec(
      "SELECT string_agg(c.relname || ':' || a.privilege_type, ',' ORDER BY c.relname, "
      "a.privilege_type) FROM pg_class c, aclexplode(c.relacl) a "
      "WHERE a.grantee = 'messaging_event_pruner'::regrole");
  EXPECT_EQ(tables.at(0).at(0).as<std::string>(),
            "message_events:DELETE,message_events_low_water:SELECT,"
            "message_events_low_water:UPDATE");
  const auto columns = db_->Exec(
      "SELECT string_agg(attname || ':' || privilege_type, ',' ORDER BY attname) "
      "FROM pg_attribute, aclexplode(attacl) a WHERE a.grantee = "
      "'messaging_event_pruner'::regrole");
  EXPECT_EQ(columns.at(0).at(0).as<std::string>(), "created_at:SELECT,seq:SELECT,xid:SELECT");
  EXPECT_EQ(
      db_->Scalar("SELECT count(*) FROM pg_policies WHERE tablename = 'message_events' AND "
                  "roles = '{messaging_event_pruner}' AND qual LIKE '%now() - ''01:00:00''%' AND "
                  "((policyname = 'message_events_prune' AND cmd = 'DELETE') OR "
                  "(policyname = 'message_events_prune_read' AND cmd = 'SELECT'))"),
      2);

  // Acting as the pruner: a fresh event survives a bare DELETE, and message
  // states stay unreadable.
  db_->Exec(
      "INSERT INTO messages (conversation_id, distributor_id, direction, delivery_status) "
      "SELECT id, distributor_id, 'inbound', 'received' FROM conversations WHERE "
      "distributor_id = '" +
      distributor_ + "'");
  const long long events = db_->Scalar("SELECT count(*) FROM message_events");
  ASSERT_GT(events, 0);
  pqxx::connection conn(db_->url());
  {
    pqxx::work tx(conn);
    tx.exec("SET LOCAL ROLE messaging_event_pruner");
    EXPECT_EQ(tx.exec("DELETE FROM message_events").affected_rows(), 0u);
    tx.commit();
  }
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM message_events"), events);
  pqxx::work tx(conn);
  tx.exec("SET LOCAL ROLE messaging_event_pruner");
  EXPECT_THROW(tx.exec("SELECT message_state FROM message_events"), pqxx::insufficient_privilege);
}

}  // namespace
}  // namespace messaging::testing
