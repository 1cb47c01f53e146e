#include "repository/login_role_check.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logging.h"
#include "repository/connection_pool.h"

namespace messaging::repository {
namespace {

// $1 the application role. One row for the session user.
constexpr char kInspectSql[] =
    "SELECT s.rolname, s.rolsuper, s.rolbypassrls, a.oid IS NOT NULL, "
    "coalesce(a.rolsuper OR a.rolbypassrls, false), "
    "a.oid IS NOT NULL AND pg_catalog.pg_has_role(s.oid, a.oid, 'MEMBER'), "
    "coalesce((SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_catalog.pg_class c "
    "WHERE c.relowner = s.oid AND c.oid IN (to_regclass('public.conversations'), "
    "to_regclass('public.messages'), to_regclass('public.message_events'))), ''), "
    "coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) "
    "FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid "
    "WHERE m.member = s.oid AND g.oid IS DISTINCT FROM a.oid), '') "
    "FROM pg_catalog.pg_roles s LEFT JOIN pg_catalog.pg_roles a ON a.rolname = $1 "
    "WHERE s.rolname = session_user";

std::vector<std::string> SplitNames(const std::string& joined) {
  return absl::StrSplit(joined, ',', absl::SkipEmpty());
}

}  // namespace

absl::StatusOr<LoginRole> InspectLoginRole(pqxx::connection& connection,
                                           const std::string& app_role) {
  try {
    pqxx::nontransaction tx(connection);
    const pqxx::result r = tx.exec_params(kInspectSql, app_role);
    if (r.empty()) return absl::InternalError("the session user is not in pg_roles");
    const pqxx::row row = r[0];
    LoginRole role;
    role.name = row[0].as<std::string>();
    role.superuser = row[1].as<bool>();
    role.bypass_rls = row[2].as<bool>();
    role.app_role_exists = row[3].as<bool>();
    role.app_role_privileged = row[4].as<bool>();
    role.can_become_app_role = row[5].as<bool>();
    role.owned_tables = SplitNames(row[6].as<std::string>());
    role.other_roles = SplitNames(row[7].as<std::string>());
    return role;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(e.what());
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("inspecting the database login role: ", e.what()));
  }
}

absl::Status RefuseUnsafeLoginRole(const LoginRole& role, const std::string& app_role) {
  const std::string hint = absl::StrCat(
      "; serve as a role that can only become ", app_role, " (CREATE ROLE <name> LOGIN NOINHERIT; ",
      "GRANT ", app_role, " TO <name>; see docs/operations.md, \"Database roles\"); only ",
      "`messaging-server migrate` needs the owner (MESSAGING_MIGRATE_DATABASE_URL)");
  if (role.superuser) {
    return absl::FailedPreconditionError(absl::StrCat("database login role ", role.name,
                                                      " is a superuser, which row level security "
                                                      "does not restrict",
                                                      hint));
  }
  if (role.bypass_rls) {
    return absl::FailedPreconditionError(
        absl::StrCat("database login role ", role.name, " has BYPASSRLS", hint));
  }
  if (!role.app_role_exists) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database role ", app_role, " does not exist; run `messaging-server migrate` first"));
  }
  if (role.app_role_privileged) {
    return absl::FailedPreconditionError(
        absl::StrCat("database role ", app_role,
                     " is SUPERUSER or BYPASSRLS, so row level security would not apply to it"));
  }
  if (!role.can_become_app_role) {
    return absl::FailedPreconditionError(
        absl::StrCat("database login role ", role.name, " cannot SET ROLE ", app_role,
                     "; run: GRANT ", app_role, " TO ", role.name));
  }
  return absl::OkStatus();
}

absl::Status CheckLoginRoleAtStart(const std::string& database_url, absl::Duration connect_timeout,
                                   const std::string& app_role) {
  std::unique_ptr<pqxx::connection> connection;
  try {
    connection =
        std::make_unique<pqxx::connection>(WithConnectTimeout(database_url, connect_timeout));
  } catch (const std::exception& e) {
    log::Warn("database unreachable at start ({}); the login role is checked on every connection",
              e.what());
    return absl::OkStatus();
  }
  const auto role = InspectLoginRole(*connection, app_role);
  if (!role.ok()) {
    if (absl::IsUnavailable(role.status())) return absl::OkStatus();
    return role.status();
  }
  if (auto refused = RefuseUnsafeLoginRole(*role, app_role); !refused.ok()) return refused;
  if (!role->owned_tables.empty()) {
    log::Warn(
        "database login role {} owns {}: it could alter or drop them; serve as a role that is "
        "only granted {}, and migrate as the owner",
        role->name, absl::StrJoin(role->owned_tables, ", "), app_role);
  }
  if (!role->other_roles.empty()) {
    log::Warn("database login role {} is also granted {}: it should only become {}", role->name,
              absl::StrJoin(role->other_roles, ", "), app_role);
  }
  return absl::OkStatus();
}

std::function<absl::Status(pqxx::connection&)> LoginRoleGuard(std::string app_role) {
  return [app_role = std::move(app_role)](pqxx::connection& connection) -> absl::Status {
    const auto role = InspectLoginRole(connection, app_role);
    if (!role.ok()) return role.status();
    return RefuseUnsafeLoginRole(*role, app_role);
  };
}

}  // namespace messaging::repository
