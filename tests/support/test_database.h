#pragma once

// A throwaway PostgreSQL database per test suite: created from the admin URL
// in MESSAGING_TEST_ADMIN_URL, migrated with the migrations the binary embeds,
// dropped afterwards. Suites run in parallel without seeing each other's rows.
// A missing or unreachable server FAILS the test: these tests never skip.

#include <memory>
#include <pqxx/pqxx>
#include <string>

namespace messaging::testing {

// MESSAGING_TEST_ADMIN_URL, e.g. postgresql://postgres@127.0.0.1:55432/postgres.
std::string AdminUrl();

// `url` with its database name replaced by `database`.
std::string WithDatabase(const std::string& url, const std::string& database);

// The role servers under test log in as, like a production server's: LOGIN
// NOINHERIT, granted nothing but messaging_app. Roles are cluster-wide: it
// is created once per cluster, by whichever test gets there first.
inline constexpr char kServerLoginRole[] = "messaging_test_server";

// Creates kServerLoginRole in the cluster `admin_url` (a superuser) points at
// if it is missing, and grants it messaging_app (which the migrations create).
void EnsureServerLoginRole(const std::string& admin_url);

// `url` logging in as `user` with `password` instead of its own user.
std::string WithLogin(const std::string& url, const std::string& user, const std::string& password);

// `url` logging in as kServerLoginRole (its password is its name).
std::string AsServerLogin(const std::string& url);

class TestDatabase {
 public:
  // Creates a database named "<prefix>_<unique>"; migrates it (and makes sure
  // kServerLoginRole exists) unless told not to.
  explicit TestDatabase(const std::string& prefix, bool migrate = true);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // Connection URL as the admin (superuser: bypasses RLS, for assertions).
  const std::string& url() const { return url_; }
  // Connection URL as kServerLoginRole: what servers under test log in with.
  std::string server_url() const { return AsServerLogin(url_); }

  // Runs SQL as the admin in its own transaction.
  pqxx::result Exec(const std::string& sql);
  // A single integer result, e.g. Count("SELECT count(*) FROM messages").
  long long Scalar(const std::string& sql);

  // Rows the host application owns.
  std::string NewDistributor();
  std::string NewCustomer();

 private:
  std::string name_;
  std::string url_;
};

}  // namespace messaging::testing
