#include "repository/database_probe.h"

#include <memory>
#include <pqxx/pqxx>

#include "common/logging.h"
#include "repository/connection_pool.h"

namespace messaging::repository {

DatabaseProbe::DatabaseProbe(const std::string& database_url, absl::Duration interval,
                             Listener on_change)
    : database_url_(WithConnectTimeout(database_url, absl::Seconds(2))),
      interval_(interval),
      on_change_(std::move(on_change)) {}

DatabaseProbe::~DatabaseProbe() { Stop(); }

bool DatabaseProbe::CheckOnce() {
  try {
    if (!conn_ || !conn_->is_open()) {
      conn_ = std::make_unique<pqxx::connection>(database_url_);
      pqxx::nontransaction(*conn_).exec("SET statement_timeout = 2000");
    }
    pqxx::nontransaction(*conn_).exec("SELECT 1");
    return true;
  } catch (const std::exception& e) {
    log::Debug("database probe failed: {}", e.what());
    conn_.reset();
    return false;
  }
}

void DatabaseProbe::Start() {
  const bool ok = CheckOnce();
  reachable_ = ok;
  on_change_(ok);
  checks_ = std::make_unique<PeriodicTask>(interval_, [this] { CheckAndReport(); });
}

void DatabaseProbe::Stop() {
  if (checks_) checks_->Stop();
}

void DatabaseProbe::CheckAndReport() {
  const bool ok = CheckOnce();
  if (ok == reachable_.exchange(ok)) return;
  if (ok) {
    log::Info("database reachable again");
  } else {
    log::Warn("database unreachable");
  }
  on_change_(ok);
}

}  // namespace messaging::repository
