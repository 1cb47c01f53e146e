#include "migrate/migrator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/logging.h"

namespace messaging::migrate {
namespace {

// Arbitrary, fixed: every runner of this schema takes the same lock.
constexpr long long kAdvisoryLockKey = 0x6d73675f6d6967;  // "msg_mig"

constexpr char kCreateBookkeeping[] =
    "CREATE TABLE IF NOT EXISTS messaging_schema_migrations ("
    "  version text PRIMARY KEY,"
    "  checksum text NOT NULL,"
    "  applied_at timestamptz NOT NULL DEFAULT now())";

std::string VersionOf(const std::string& file_name) {
  return std::string(absl::StripSuffix(file_name, ".sql"));
}

// Released migrations whose comments were later re-worded, statements
// untouched: the sha256 each was applied with, accepted as the same file (and
// replaced by the current one in the bookkeeping), and the sha256 of the
// re-worded file, so a later edit of it is refused everywhere. Never list a
// file whose statements changed: that needs a new migration.
struct Rewording {
  const char* released;
  const char* reworded;
};

const std::map<std::string, Rewording>& Rewordings() {
  // The header comments cited a document outside the repository.
  static const auto* rewordings = new std::map<std::string, Rewording>{
      {"001_create_conversations_messages",
       {"35ff8ab4431a14cc43da85d66347db42a901e6e9f3af762f4c4d06303809608f",
        "f9cba1a1fc103838d18c807371be5161a0243fced76beb70e7121261cc5f622e"}},
      {"002_message_events",
       {"980ed22bc90ca002010d545191524e09363193affa502626465b4d98838c0205",
        "f733f1b4a5989823f7621ac53a1bc47e32672dec32028755079bb5bd7cc98697"}},
  };
  return *rewordings;
}

// `recorded` is the released checksum of a file whose current text,
// `current`, is its listed re-wording.
bool IsRewording(const std::string& version, const std::string& recorded,
                 const std::string& current) {
  const auto it = Rewordings().find(version);
  return it != Rewordings().end() && recorded == it->second.released &&
         current == it->second.reworded;
}

}  // namespace

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

absl::StatusOr<std::vector<MigrationFile>> LoadMigrationDirectory(const std::string& dir) {
  std::error_code ec;
  std::vector<MigrationFile> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".sql") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (!in)
      return absl::FailedPreconditionError(absl::StrCat("cannot read ", entry.path().string()));
    files.push_back({entry.path().filename().string(), content.str()});
  }
  if (ec)
    return absl::NotFoundError(absl::StrCat("migrations directory ", dir, ": ", ec.message()));
  if (files.empty()) return absl::NotFoundError(absl::StrCat("no *.sql files in ", dir));
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return files;
}

absl::StatusOr<MigrationReport> Migrate(const MigratorOptions& options,
                                        std::vector<MigrationFile> files) {
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  MigrationReport report;
  try {
    pqxx::connection conn(options.database_url);
    pqxx::nontransaction session(conn);
    session.exec(
        absl::StrCat("SET lock_timeout = ", absl::ToInt64Milliseconds(options.lock_timeout)));
    session.exec(absl::StrCat("SELECT pg_advisory_lock(", kAdvisoryLockKey, ")"));
    // From here on the lock is ours until the session ends (also on error).
    session.exec(kCreateBookkeeping);
    std::map<std::string, std::string> applied;
    for (const auto& row :
         session.exec("SELECT version, checksum FROM messaging_schema_migrations")) {
      applied[row[0].as<std::string>()] = row[1].as<std::string>();
    }
    // Refuse a changed file before applying anything.
    std::vector<std::pair<std::string, std::string>> reworded;  // version, current sha256
    for (const auto& file : files) {
      const std::string version = VersionOf(file.name);
      const std::string checksum = Sha256Hex(file.sql);
      const auto it = applied.find(version);
      if (it != applied.end() && IsRewording(version, it->second, checksum)) {
        reworded.emplace_back(version, checksum);
      } else if (it != applied.end() && it->second != checksum) {
        return absl::FailedPreconditionError(absl::StrCat(
            "migration ", file.name, " was changed after it was applied (recorded sha256 ",
            it->second, ", file sha256 ", checksum,
            "); add a new migration instead of editing an applied one"));
      }
    }
    session.abort();
    for (const auto& [version, checksum] : reworded) {
      pqxx::work tx(conn);
      tx.exec_params("UPDATE messaging_schema_migrations SET checksum = $1 WHERE version = $2",
                     checksum, version);
      tx.commit();
    }
    for (const auto& file : files) {
      const std::string version = VersionOf(file.name);
      if (applied.count(version) != 0) {
        report.already_applied.push_back(file.name);
        continue;
      }
      pqxx::work tx(conn);
      tx.exec(file.sql);
      tx.exec_params("INSERT INTO messaging_schema_migrations (version, checksum) VALUES ($1, $2)",
                     version, Sha256Hex(file.sql));
      tx.commit();
      log::Info("applied migration {}", file.name);
      report.applied.push_back(file.name);
    }
    pqxx::nontransaction unlock(conn);
    unlock.exec(absl::StrCat("SELECT pg_advisory_unlock(", kAdvisoryLockKey, ")"));
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("cannot connect to the database: ", e.what()));
  } catch (const std::exception& e) {
    return absl::FailedPreconditionError(absl::StrCat("migration failed: ", e.what()));
  }
  return report;
}

}  // namespace messaging::migrate
