#pragma once

#include <string>
#include <vector>

namespace messaging::migrate {

struct MigrationFile {
  std::string name;  // e.g. "001_create_conversations_messages.sql"
  std::string sql;
};

// migrations/*.sql as compiled into the binary, in file-name order.
const std::vector<MigrationFile>& EmbeddedMigrations();

}  // namespace messaging::migrate
