#pragma once

// A private PostgreSQL cluster for tests that stop, crash and restart the
// database (the shared cluster at MESSAGING_TEST_ADMIN_URL must never be
// stopped). scripts/pg.sh does the work; the data directory lives under a
// fresh world-searchable directory in /tmp (the cluster runs as the postgres
// user when the tests run as root) and is stopped and deleted by the
// destructor, also when the test fails.

#include <sys/stat.h>

#include <cstdlib>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "migrate/migrator.h"
#include "support/server_process.h"
#include "support/subprocess.h"
#include "support/test_database.h"

#ifndef MESSAGING_SOURCE_DIR
#error "private_cluster.h needs MESSAGING_SOURCE_DIR (defined for tests/faults and integration)"
#endif

namespace messaging::testing {

class PrivateCluster {
 public:
  PrivateCluster() {
    char pattern[] = "/tmp/messaging-cluster-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    chmod(dir_.c_str(), 0755);  // The postgres user must reach data/ inside.
    data_ = dir_ + "/data";
    port_ = FreePort();
    try {
      Start();
    } catch (...) {
      Remove();
      throw;
    }
  }

  ~PrivateCluster() {
    Stop();
    Remove();
  }

  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  int port() const { return port_; }
  const std::string& data_dir() const { return data_; }

  // Connection URL as the superuser `postgres`.
  std::string Url(const std::string& database = "postgres") const {
    return absl::StrCat("postgresql://postgres@127.0.0.1:", port_, "/", database);
  }

  // (Re)starts the cluster on its port (initdb the first time). fsync is off:
  // the tests crash PostgreSQL, not the machine.
  void Start() {
    const auto r = RunCommand(absl::StrCat("PG_FSYNC=off bash ", ShellQuote(Script()), " start ",
                                           ShellQuote(data_), " ", port_));
    if (r.exit_code != 0) throw std::runtime_error("pg.sh start failed: " + r.output);
  }

  // Fast shutdown: sessions are terminated, then a checkpoint.
  void Stop() {
    RunCommand(absl::StrCat("bash ", ShellQuote(Script()), " stop ", ShellQuote(data_)));
  }

  // Like a crash of the postmaster: no checkpoint, recovery on the next start.
  void Crash() {
    RunCommand(absl::StrCat(AsDbUser(), PgBin(), "/pg_ctl -D ", ShellQuote(data_),
                            " -m immediate -w stop"));
  }

  // Sets a server setting that a reload applies (ALTER SYSTEM: it also holds
  // after a restart).
  void Configure(const std::string& setting, const std::string& value) {
    pqxx::connection admin(Url());
    pqxx::nontransaction tx(admin);
    tx.exec("ALTER SYSTEM SET " + admin.quote_name(setting) + " = " + admin.quote(value));
    tx.exec("SELECT pg_reload_conf()");
  }

  // A new database in this cluster with every migration applied; its URL.
  std::string CreateMigratedDatabase(const std::string& name) {
    pqxx::connection admin(Url());
    pqxx::nontransaction(admin).exec("CREATE DATABASE " + admin.quote_name(name));
    std::string url = Url(name);
    auto report = migrate::Migrate({url}, migrate::EmbeddedMigrations());
    if (!report.ok()) throw std::runtime_error(std::string(report.status().message()));
    EnsureServerLoginRole(Url());
    return url;
  }

  // URL of `database` as the servers' login role (see test_database.h).
  std::string ServerUrl(const std::string& database) const { return AsServerLogin(Url(database)); }

 private:
  static std::string Script() { return std::string(MESSAGING_SOURCE_DIR) + "/scripts/pg.sh"; }
  static std::string PgBin() {
    const char* bin = std::getenv("PG_BIN");
    return bin != nullptr && *bin != '\0' ? bin : "/usr/lib/postgresql/15/bin";
  }
  static std::string AsDbUser() { return getuid() == 0 ? "runuser -u postgres -- " : ""; }

  void Remove() {
    if (!dir_.empty()) RunCommand("rm -rf " + ShellQuote(dir_));
  }

  std::string dir_;
  std::string data_;
  int port_ = 0;
};

}  // namespace messaging::testing
