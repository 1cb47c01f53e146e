#pragma once

// Applies SQL migrations in name order and records each (version, sha256,
// time) in messaging_schema_migrations. A PostgreSQL advisory lock serialises
// concurrent runners (replicas, Helm hook Jobs); an applied file whose content
// changed is refused before anything runs; a second run is a no-op.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "migrate/embedded_migrations.h"

namespace messaging::migrate {

struct MigrationReport {
  std::vector<std::string> applied;
  std::vector<std::string> already_applied;
};

struct MigratorOptions {
  std::string database_url;
  absl::Duration lock_timeout = absl::Minutes(5);
};

absl::StatusOr<MigrationReport> Migrate(const MigratorOptions& options,
                                        std::vector<MigrationFile> files);

// The *.sql files of a directory, in name order.
absl::StatusOr<std::vector<MigrationFile>> LoadMigrationDirectory(const std::string& dir);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(const std::string& data);

}  // namespace messaging::migrate
