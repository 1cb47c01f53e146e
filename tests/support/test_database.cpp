#include "support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "migrate/migrator.h"

namespace messaging::testing {

std::string AdminUrl() {
  const char* url = std::getenv("MESSAGING_TEST_ADMIN_URL");
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        "MESSAGING_TEST_ADMIN_URL is not set: these tests need a PostgreSQL server "
        "(scripts/test.sh starts one)");
  }
  return url;
}

std::string WithDatabase(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return absl::StrCat(url, " dbname=", database);
  const auto slash = url.find('/', scheme + 3);
  const auto query = url.find('?', scheme + 3);
  const std::string base = url.substr(0, std::min(slash, query));
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  return absl::StrCat(base, "/", database, rest);
}

TestDatabase::TestDatabase(const std::string& prefix, bool migrate) {
  static std::atomic<int> counter{0};
  std::random_device random;
  name_ = absl::StrCat("t_", prefix, "_", getpid(), "_", counter++, "_", random() % 100000);
  pqxx::connection admin(AdminUrl());
  pqxx::nontransaction(admin).exec(absl::StrCat("CREATE DATABASE ", name_));
  url_ = WithDatabase(AdminUrl(), name_);
  if (migrate) {
    auto report = migrate::Migrate({url_}, migrate::EmbeddedMigrations());
    if (!report.ok()) throw std::runtime_error(std::string(report.status().message()));
  }
}

TestDatabase::~TestDatabase() {
  try {
    pqxx::connection admin(AdminUrl());
    pqxx::nontransaction(admin).exec(
        absl::StrCat("DROP DATABASE IF EXISTS ", name_, " WITH (FORCE)"));
  } catch (const std::exception&) {
    // Best effort: the throwaway cluster is deleted after the run anyway.
  }
}

pqxx::result TestDatabase::Exec(const std::string& sql) {
  pqxx::connection conn(url_);
  pqxx::work tx(conn);
  auto result = tx.exec(sql);
  tx.commit();
  return result;
}

long long TestDatabase::Scalar(const std::string& sql) {
  return Exec(sql).at(0).at(0).as<long long>();
}

std::string TestDatabase::NewDistributor() {
  return Exec("INSERT INTO distributors DEFAULT VALUES RETURNING id::text")
      .at(0)
      .at(0)
      .as<std::string>();
}

std::string TestDatabase::NewCustomer() {
  return Exec("INSERT INTO customers DEFAULT VALUES RETURNING id::text")
      .at(0)
      .at(0)
      .as<std::string>();
}

}  // namespace messaging::testing
