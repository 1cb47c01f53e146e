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

void EnsureServerLoginRole(const std::string& admin_url) {
  // Parallel suites race to create it: a concurrent CREATE or GRANT shows up
  // as duplicate_object or unique_violation, and the role exists either way.
  const std::string sql = absl::StrCat(
      "DO $$ BEGIN "
      "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '",
      kServerLoginRole, "') THEN ", "BEGIN CREATE ROLE ", kServerLoginRole,
      " LOGIN NOINHERIT PASSWORD '", kServerLoginRole,
      "'; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END; END IF; ",
      "IF NOT pg_has_role('", kServerLoginRole, "', 'messaging_app', 'MEMBER') THEN ",
      "BEGIN GRANT messaging_app TO ", kServerLoginRole,
      "; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END; END IF; END $$");
  for (int attempt = 1;; ++attempt) {
    try {
      pqxx::connection admin(admin_url);
      pqxx::nontransaction(admin).exec(sql);
      return;
    } catch (const pqxx::sql_error&) {
      if (attempt == 3) throw;  // E.g. "tuple concurrently updated": try again.
    }
  }
}

std::string WithLogin(const std::string& url, const std::string& user,
                      const std::string& password) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) {
    // key=value: later keywords win.
    return absl::StrCat(url, " user=", user, " password=", password);
  }
  // Replace the URL's "user[:password]@", if any, before the host.
  const auto host = scheme + 3;
  const auto end = std::min(url.find('/', host), url.find('?', host));
  const auto at = url.rfind('@', end == std::string::npos ? url.size() : end);
  const auto host_start = at != std::string::npos && at >= host ? at + 1 : host;
  return absl::StrCat(url.substr(0, host), user, ":", password, "@", url.substr(host_start));
}

std::string AsServerLogin(const std::string& url) {
  return WithLogin(url, kServerLoginRole, kServerLoginRole);
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
    EnsureServerLoginRole(AdminUrl());
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
