#pragma once

// The role the server logs in with must not be able to get around row level
// security: not a superuser, not BYPASSRLS, and able to become the
// application role that every transaction switches to (which must not have
// those powers either). The login role's own powers are what a statement
// outside the role switch, or a compromised process, would have; they must
// not exceed the application role's. Checked once at start (the server
// refuses to start) and on every new pool connection (the connection is
// refused), so a login role that changes, or a database that was unreachable
// at start, is caught too.

#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace messaging::repository {

// What PostgreSQL says about the login role (session_user).
struct LoginRole {
  std::string name;
  bool superuser = false;
  bool bypass_rls = false;
  bool app_role_exists = false;
  bool app_role_privileged = false;  // The application role is SUPERUSER or BYPASSRLS.
  bool can_become_app_role = false;
  std::vector<std::string> owned_tables;  // Messaging tables the login role owns.
  std::vector<std::string> other_roles;   // Roles besides the application role it is granted.
};

absl::StatusOr<LoginRole> InspectLoginRole(pqxx::connection& connection,
                                           const std::string& app_role);

// FAILED_PRECONDITION saying what is wrong and how to fix it, or OK.
absl::Status RefuseUnsafeLoginRole(const LoginRole& role, const std::string& app_role);

// At start: refuses an unsafe login role, warns when it owns the messaging
// tables or may become other roles. A database that cannot be reached is not
// an error here (the pool checks every connection it opens).
absl::Status CheckLoginRoleAtStart(const std::string& database_url, absl::Duration connect_timeout,
                                   const std::string& app_role);

// For PoolOptions::on_connect: the refusal part of the check, on each new
// connection.
std::function<absl::Status(pqxx::connection&)> LoginRoleGuard(std::string app_role);

}  // namespace messaging::repository
