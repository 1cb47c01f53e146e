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

class TestDatabase {
 public:
  // Creates a database named "<prefix>_<unique>"; migrates it unless told not to.
  explicit TestDatabase(const std::string& prefix, bool migrate = true);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // Connection URL as the admin (superuser: bypasses RLS, for assertions).
  const std::string& url() const { return url_; }

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
